//! TPM 2.0 structures a verifier reads: `TPMS_ATTEST` (quote) and `TPMT_SIGNATURE`.
//! Big-endian, size-prefixed; every read is bounds-checked.

use crate::{Error, Tee};

pub const TPM_GENERATED_VALUE: u32 = 0xff54_4347;
pub const TPM_ST_ATTEST_QUOTE: u16 = 0x8018;
pub const TPM_ALG_RSASSA: u16 = 0x0014;
pub const TPM_ALG_ECDSA: u16 = 0x0018;
pub const TPM_ALG_SHA256: u16 = 0x000B;

struct Rd<'a> {
    b: &'a [u8],
    tee: Tee,
}

impl<'a> Rd<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], Error> {
        if self.b.len() < n {
            return Err(Error::malformed(self.tee, format!("TPM structure truncated in {what}")));
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Ok(h)
    }
    fn u8(&mut self, w: &str) -> Result<u8, Error> {
        Ok(self.take(1, w)?[0])
    }
    fn u16(&mut self, w: &str) -> Result<u16, Error> {
        let s = self.take(2, w)?;
        Ok(u16::from_be_bytes([s[0], s[1]]))
    }
    fn u32(&mut self, w: &str) -> Result<u32, Error> {
        let s = self.take(4, w)?;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn u64(&mut self, w: &str) -> Result<u64, Error> {
        let s = self.take(8, w)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(u64::from_be_bytes(a))
    }
    fn tpm2b(&mut self, w: &str) -> Result<&'a [u8], Error> {
        let n = self.u16(w)? as usize;
        self.take(n, w)
    }
}

/// One `TPMS_PCR_SELECTION`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcrSelection {
    pub hash_alg: u16,
    /// PCR indices selected, ascending.
    pub pcrs: Vec<u32>,
}

/// A parsed `TPMS_ATTEST` of type quote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteInfo {
    pub qualified_signer: Vec<u8>,
    /// `extraData`: the nonce / report data the quote is bound to.
    pub extra_data: Vec<u8>,
    pub clock: u64,
    pub reset_count: u32,
    pub restart_count: u32,
    pub safe: bool,
    pub firmware_version: u64,
    pub selections: Vec<PcrSelection>,
    pub pcr_digest: Vec<u8>,
}

/// Parses a `TPMS_ATTEST` that must be a quote.
pub fn parse_quote_info(tee: Tee, b: &[u8]) -> Result<QuoteInfo, Error> {
    let mut r = Rd { b, tee };
    let magic = r.u32("magic")?;
    if magic != TPM_GENERATED_VALUE {
        return Err(Error::malformed(tee, format!("TPMS_ATTEST magic {magic:#x}, expected TPM_GENERATED_VALUE")));
    }
    let ty = r.u16("type")?;
    if ty != TPM_ST_ATTEST_QUOTE {
        return Err(Error::malformed(tee, format!("TPMS_ATTEST type {ty:#x} is not a quote")));
    }
    let qualified_signer = r.tpm2b("qualifiedSigner")?.to_vec();
    let extra_data = r.tpm2b("extraData")?.to_vec();
    let clock = r.u64("clock")?;
    let reset_count = r.u32("resetCount")?;
    let restart_count = r.u32("restartCount")?;
    let safe = r.u8("safe")? != 0;
    let firmware_version = r.u64("firmwareVersion")?;
    let count = r.u32("pcrSelect.count")?;
    if count > 16 {
        return Err(Error::malformed(tee, format!("{count} PCR selections")));
    }
    let mut selections = Vec::new();
    for _ in 0..count {
        let hash_alg = r.u16("pcrSelect.hash")?;
        let n = r.u8("sizeofSelect")? as usize;
        let bits = r.take(n, "pcrSelect")?;
        let mut pcrs = Vec::new();
        for (i, byte) in bits.iter().enumerate() {
            for bit in 0..8u32 {
                if byte & (1 << bit) != 0 {
                    let pcr = i as u32 * 8 + bit;
                    // A bank has 24 PCRs: a selection beyond them is no real TPM's.
                    if pcr as usize >= super::MAX_PCRS {
                        return Err(Error::PcrOutOfRange { tee, pcr, max: super::MAX_PCRS as u32 });
                    }
                    pcrs.push(pcr);
                }
            }
        }
        selections.push(PcrSelection { hash_alg, pcrs });
    }
    let pcr_digest = r.tpm2b("pcrDigest")?.to_vec();
    if !r.b.is_empty() {
        return Err(Error::malformed(tee, format!("{} trailing bytes after TPMS_ATTEST", r.b.len())));
    }
    Ok(QuoteInfo {
        qualified_signer,
        extra_data,
        clock,
        reset_count,
        restart_count,
        safe,
        firmware_version,
        selections,
        pcr_digest,
    })
}

/// A parsed `TPMT_SIGNATURE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TpmSignature {
    pub sig_alg: u16,
    pub hash_alg: u16,
    /// RSASSA: the signature. ECDSA: r then s (each TPM2B).
    pub sig: Vec<u8>,
}

pub fn parse_signature(tee: Tee, b: &[u8]) -> Result<TpmSignature, Error> {
    let mut r = Rd { b, tee };
    let sig_alg = r.u16("sigAlg")?;
    let hash_alg = r.u16("hash")?;
    let sig = match sig_alg {
        TPM_ALG_RSASSA => r.tpm2b("signature")?.to_vec(),
        TPM_ALG_ECDSA => {
            let a = r.tpm2b("signatureR")?.to_vec();
            let s = r.tpm2b("signatureS")?;
            [a, s.to_vec()].concat()
        }
        other => return Err(Error::Unsupported { tee, reason: format!("TPM signature algorithm {other:#x}") }),
    };
    Ok(TpmSignature { sig_alg, hash_alg, sig })
}
