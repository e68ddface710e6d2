//! TPM 2.0 attester producing trustee `tpm` evidence, as guest-components' tpm attester does:
//! report data zero-padded to 32 bytes is the quote's qualifyingData (extraData); the quote covers
//! SHA-256 PCRs 0-23, is signed RSASSA-SHA256 by the AK; `pcrs` are the 24 PCR values (hex) read
//! after the quote; `ak_public` is the AK as a SubjectPublicKeyInfo (DER, base64).
//!
//! The AK: guest-components uses a provisioned persistent key (default handle 0x81010002). Here
//! [`AkSource::Auto`] uses that handle if it holds a key and otherwise creates the AK as a primary
//! key under the endorsement hierarchy from a fixed template (so the same TPM always yields the
//! same AK, which a policy can pin by `ak_sha256`); it is flushed after the quote.
//!
//! Report data longer than 32 bytes is refused (the crate's rule: never truncated) unless the
//! attester is built with [`TpmAttester::bind_first_32_bytes`]: guest-components' rule, which
//! the KBS protocol needs (its runtime-data digest is 48 bytes of SHA-384) and which the `tpm`
//! verifier accepts ([`super::check_report_data`]).

use std::path::PathBuf;
use std::sync::Mutex;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::cmd::{self, RsaPublic};
use super::transport::{DeviceTransport, Transport};
use super::{TpmEvidence, TpmQuoteJson};
use crate::{report_data, Attester, Error, Evidence, Tee};

/// guest-components' default persistent AK handle (`AA_TPM_AK_HANDLE`).
pub const DEFAULT_AK_HANDLE: u32 = 0x8101_0002;
/// Size of the report data bound into the quote (guest-components' `TPM_REPORT_DATA_SIZE`).
pub const REPORT_DATA_SIZE: usize = super::REPORT_DATA_SIZE;

/// Which key signs the quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AkSource {
    /// A persistent AK at this handle (must exist).
    Persistent(u32),
    /// A primary AK created under this hierarchy (`cmd::TPM_RH_ENDORSEMENT` / `TPM_RH_OWNER`).
    Primary(u32),
    /// `Persistent(DEFAULT_AK_HANDLE)` if present, else `Primary(TPM_RH_ENDORSEMENT)`.
    Auto,
}

pub struct TpmAttester {
    transport: Mutex<Box<dyn Transport>>,
    ak: AkSource,
    first_32: bool,
    /// AK certificate first, then issuing CAs (DER), carried as `ak_cert_chain`.
    ak_cert_chain: Vec<Vec<u8>>,
}

/// The TPM device to use on this machine: `/dev/tpmrm0` (kernel resource manager) if present,
/// else `/dev/tpm0`.
pub fn default_device(root: &std::path::Path) -> Option<PathBuf> {
    ["dev/tpmrm0", "dev/tpm0"].iter().map(|p| root.join(p)).find(|p| p.exists())
}

impl TpmAttester {
    pub fn new(transport: Box<dyn Transport>, ak: AkSource) -> Self {
        TpmAttester { transport: Mutex::new(transport), ak, first_32: false, ak_cert_chain: Vec::new() }
    }

    /// Carries this AK certificate chain (AK certificate first, then issuing CAs; DER) in the
    /// evidence, so a verifier configured with the chain's root counts the evidence as hardware.
    /// The AK certificate is issued by the platform's EK/AK CA after credential activation; this
    /// attester does not check that it certifies the AK it quotes with (the verifier does).
    pub fn with_ak_cert_chain(mut self, chain: Vec<Vec<u8>>) -> Self {
        self.ak_cert_chain = chain;
        self
    }

    /// Binds the first 32 bytes of longer report data instead of refusing it, as guest-components'
    /// TPM attester does (and trustee's verifier expects). Needed for the KBS protocol, whose
    /// runtime-data digest is SHA-384 (48 bytes).
    pub fn bind_first_32_bytes(mut self) -> Self {
        self.first_32 = true;
        self
    }

    /// The system TPM (`/dev/tpmrm0`, else `/dev/tpm0`) with [`AkSource::Auto`].
    pub fn system() -> Result<Self, Error> {
        let dev = default_device(std::path::Path::new("/"))
            .ok_or_else(|| Error::NotAvailable { tee: Tee::Tpm, reason: "no /dev/tpmrm0 or /dev/tpm0".into() })?;
        Ok(Self::new(Box::new(DeviceTransport::open(dev)?), AkSource::Auto))
    }

    /// Extends SHA-256 PCR `index` with `digest` (guest-components binds init data to PCR 8 this way).
    pub fn extend_pcr(&self, index: usize, digest: &[u8; 32]) -> Result<(), Error> {
        let mut t = self.transport.lock().map_err(|_| Error::Io("TPM transport lock poisoned".into()))?;
        cmd::extend_pcr(t.as_mut(), index, digest)
    }

    fn quote(&self, t: &mut dyn Transport, qualifying: &[u8]) -> Result<(RsaPublic, Vec<u8>, Vec<u8>), Error> {
        let persistent = |t: &mut dyn Transport, h: u32| -> Result<Option<RsaPublic>, Error> {
            match cmd::read_public(t, h)? {
                Ok(p) => Ok(Some(p)),
                Err(rc) if rc.is_bad_handle() => Ok(None),
                Err(rc) => {
                    Err(Error::Io(format!("TPM2_ReadPublic of AK {h:#x} failed with response code {:#x}", rc.0)))
                }
            }
        };
        let with_persistent = |t: &mut dyn Transport, h: u32, p: RsaPublic| {
            let (m, s) = cmd::quote(t, h, qualifying)?;
            Ok((p, m, s))
        };
        let with_primary = |t: &mut dyn Transport, hierarchy: u32| {
            let (h, p) = cmd::create_primary_ak(t, hierarchy)?;
            let r = cmd::quote(t, h, qualifying);
            let flushed = cmd::flush_context(t, h);
            let (m, s) = r?;
            flushed?;
            Ok((p, m, s))
        };
        match self.ak {
            AkSource::Persistent(h) => match persistent(t, h)? {
                Some(p) => with_persistent(t, h, p),
                None => {
                    Err(Error::NotAvailable { tee: Tee::Tpm, reason: format!("no AK at persistent handle {h:#x}") })
                }
            },
            AkSource::Primary(hier) => with_primary(t, hier),
            AkSource::Auto => match persistent(t, DEFAULT_AK_HANDLE)? {
                Some(p) => with_persistent(t, DEFAULT_AK_HANDLE, p),
                None => with_primary(t, cmd::TPM_RH_ENDORSEMENT),
            },
        }
    }
}

impl Attester for TpmAttester {
    fn tee(&self) -> Tee {
        Tee::Tpm
    }

    fn evidence(&self, rd: &[u8]) -> Result<Evidence, Error> {
        let rd = if self.first_32 && rd.len() > REPORT_DATA_SIZE { &rd[..REPORT_DATA_SIZE] } else { rd };
        let qualifying = report_data::pad(Tee::Tpm, rd, REPORT_DATA_SIZE)?;
        let mut guard = self.transport.lock().map_err(|_| Error::Io("TPM transport lock poisoned".into()))?;
        let t = guard.as_mut();
        let (ak, message, signature) = self.quote(t, &qualifying)?;
        let pcrs = cmd::read_pcrs(t)?;
        let ev = TpmEvidence {
            ak_public: STANDARD.encode(rsa_spki_der(&ak.modulus, ak.exponent)),
            tpm_quote: TpmQuoteJson {
                signature: STANDARD.encode(signature),
                message: STANDARD.encode(message),
                pcrs: pcrs.iter().map(hex::encode).collect(),
            },
            ak_cert_chain: if self.ak_cert_chain.is_empty() {
                None
            } else {
                Some(self.ak_cert_chain.iter().map(|c| STANDARD.encode(c)).collect())
            },
        };
        Ok(Evidence { tee: Tee::Tpm, bytes: serde_json::to_vec(&ev).map_err(|e| Error::Io(e.to_string()))? })
    }
}

fn der(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    let n = body.len();
    if n < 0x80 {
        v.push(n as u8);
    } else {
        let len = n.to_be_bytes();
        let skip = len.iter().take_while(|b| **b == 0).count();
        v.push(0x80 | (len.len() - skip) as u8);
        v.extend_from_slice(&len[skip..]);
    }
    v.extend_from_slice(body);
    v
}

fn der_uint(be: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = be.iter().copied().skip_while(|b| *b == 0).collect();
    let mut body = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
        body.push(0);
    }
    body.extend_from_slice(&trimmed);
    der(0x02, &body)
}

/// RSA SubjectPublicKeyInfo (rsaEncryption, NULL parameters) in DER.
pub fn rsa_spki_der(modulus: &[u8], exponent: u32) -> Vec<u8> {
    // 1.2.840.113549.1.1.1
    const RSA_OID: [u8; 11] = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    let alg = der(0x30, &[&RSA_OID[..], &[0x05, 0x00]].concat());
    let key = der(0x30, &[der_uint(modulus), der_uint(&exponent.to_be_bytes())].concat());
    let bits = der(0x03, &[&[0u8][..], &key].concat());
    der(0x30, &[alg, bits].concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spki_round_trips_through_the_verifier_parser() {
        let mut n = vec![0xc5u8; 256];
        n[255] = 0x01;
        let der = rsa_spki_der(&n, 65537);
        let k = crate::tpm::RsaKey::from_spki_der(Tee::Tpm, &der).unwrap();
        assert_eq!(k.n, n);
        assert_eq!(k.e, vec![1, 0, 1]);
    }
}
