//! AMD root certificates (ARK, ASK, ASVK per processor generation) and endorsement-key (VCEK /
//! VLEK) certificate checks, with a cache of certificates already verified.
//!
//! The PEM bundles are AMD's public KDS `cert_chain` outputs (ASK, ARK) plus the ASVK, as committed
//! in confidential-containers/trustee `deps/verifier/src/snp/*_ask_ark_asvk.pem`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use sev::certs::snp::{ca, Certificate, Chain, Verifiable};
use sha2::{Digest, Sha256};
use x509_parser::prelude::*;

use crate::{Error, Tee};

/// Processor generation (selects the AMD root).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Generation {
    Milan,
    Genoa,
    Turin,
}

impl Generation {
    pub fn as_str(self) -> &'static str {
        match self {
            Generation::Milan => "Milan",
            Generation::Genoa => "Genoa",
            Generation::Turin => "Turin",
        }
    }
}

/// VCEK (per chip) or VLEK (per cloud provider, signed by the ASVK).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VekKind {
    Vcek,
    Vlek,
}

/// ARK, ASK and ASVK of one generation.
#[derive(Debug, Clone)]
pub struct GenerationRoots {
    pub ark: Certificate,
    pub ask: Certificate,
    pub asvk: Certificate,
}

/// The AMD roots a verifier trusts.
#[derive(Debug, Clone)]
pub struct AmdRoots {
    roots: HashMap<Generation, GenerationRoots>,
}

fn split_pem(tee: Tee, pem: &[u8]) -> Result<Vec<Certificate>, Error> {
    let text = std::str::from_utf8(pem).map_err(|_| Error::malformed(tee, "PEM bundle is not UTF-8"))?;
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
        let end_marker = "-----END CERTIFICATE-----";
        let Some(end) = rest[start..].find(end_marker) else { break };
        let block = &rest[start..start + end + end_marker.len()];
        out.push(
            Certificate::from_pem(block.as_bytes())
                .map_err(|e| Error::malformed(tee, format!("PEM certificate: {e}")))?,
        );
        rest = &rest[start + end + end_marker.len()..];
    }
    Ok(out)
}

impl AmdRoots {
    /// The built-in AMD roots for Milan, Genoa and Turin.
    pub fn builtin() -> Self {
        let mut roots = HashMap::new();
        for (g, pem) in [
            (Generation::Milan, &include_bytes!("milan_ask_ark_asvk.pem")[..]),
            (Generation::Genoa, &include_bytes!("genoa_ask_ark_asvk.pem")[..]),
            (Generation::Turin, &include_bytes!("turin_ask_ark_asvk.pem")[..]),
        ] {
            if let Ok(r) = Self::roots_from_bundle(pem) {
                roots.insert(g, r);
            }
        }
        AmdRoots { roots }
    }

    /// Parses a KDS-style bundle: ASK, ARK, then optionally ASVK.
    pub fn roots_from_bundle(pem: &[u8]) -> Result<GenerationRoots, Error> {
        let c = split_pem(Tee::Snp, pem)?;
        match c.as_slice() {
            [ask, ark, asvk, ..] => Ok(GenerationRoots { ark: ark.clone(), ask: ask.clone(), asvk: asvk.clone() }),
            [ask, ark] => Ok(GenerationRoots { ark: ark.clone(), ask: ask.clone(), asvk: ask.clone() }),
            _ => Err(Error::malformed(Tee::Snp, "root bundle needs ASK and ARK")),
        }
    }

    /// Replaces the roots for one generation (tests: a wrong root must be refused).
    pub fn with_generation(mut self, g: Generation, r: GenerationRoots) -> Self {
        self.roots.insert(g, r);
        self
    }

    pub fn get(&self, g: Generation) -> Option<&GenerationRoots> {
        self.roots.get(&g)
    }
}

/// What a verified endorsement-key certificate says.
#[derive(Debug, Clone)]
pub struct VerifiedVek {
    pub kind: VekKind,
    pub generation: Generation,
    /// Uncompressed SEC1 P-384 point.
    pub public_key: Vec<u8>,
    pub not_before: i64,
    pub not_after: i64,
    pub bl_spl: Option<u64>,
    pub tee_spl: Option<u64>,
    pub snp_spl: Option<u64>,
    pub ucode_spl: Option<u64>,
    pub fmc_spl: Option<u64>,
    /// hwID (chip id) for VCEKs; absent for VLEKs.
    pub hw_id: Option<Vec<u8>>,
}

const OID_BL: &str = "1.3.6.1.4.1.3704.1.3.1";
const OID_TEE: &str = "1.3.6.1.4.1.3704.1.3.2";
const OID_SNP: &str = "1.3.6.1.4.1.3704.1.3.3";
const OID_UCODE: &str = "1.3.6.1.4.1.3704.1.3.8";
const OID_FMC: &str = "1.3.6.1.4.1.3704.1.3.9";
const OID_HWID: &str = "1.3.6.1.4.1.3704.1.4";

/// DER INTEGER (small, non-negative) -> u64.
fn der_uint(v: &[u8]) -> Option<u64> {
    let (&tag, rest) = v.split_first()?;
    let (&len, body) = rest.split_first()?;
    if tag != 0x02 || len as usize != body.len() || body.is_empty() || body.len() > 9 {
        return None;
    }
    let mut n: u64 = 0;
    for b in body {
        n = n.checked_shl(8)? | u64::from(*b);
    }
    Some(n)
}

fn der_octets(v: &[u8]) -> Vec<u8> {
    // Either a DER OCTET STRING or the raw bytes (both are seen in the wild).
    if v.len() >= 2 && v[0] == 0x04 && v[1] as usize == v.len() - 2 {
        v[2..].to_vec()
    } else {
        v.to_vec()
    }
}

/// Reads what we need from an endorsement-key certificate (no signature checks).
pub fn inspect_vek(der: &[u8]) -> Result<VerifiedVek, Error> {
    let (_, cert) =
        X509Certificate::from_der(der).map_err(|e| Error::malformed(Tee::Snp, format!("VEK certificate: {e}")))?;
    let cn = cert.subject().iter_common_name().next().and_then(|c| c.as_str().ok()).unwrap_or("");
    let issuer = cert.issuer().iter_common_name().next().and_then(|c| c.as_str().ok()).unwrap_or("").to_string();
    let kind = if cn == "VLEK" || issuer.contains("VLEK") { VekKind::Vlek } else { VekKind::Vcek };
    let generation = if issuer.contains("Milan") {
        Generation::Milan
    } else if issuer.contains("Genoa") {
        Generation::Genoa
    } else if issuer.contains("Turin") {
        Generation::Turin
    } else {
        return Err(Error::Unsupported {
            tee: Tee::Snp,
            reason: format!("VEK issuer {issuer:?} names no known generation"),
        });
    };
    let mut v = VerifiedVek {
        kind,
        generation,
        public_key: cert.public_key().subject_public_key.data.to_vec(),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        bl_spl: None,
        tee_spl: None,
        snp_spl: None,
        ucode_spl: None,
        fmc_spl: None,
        hw_id: None,
    };
    for ext in cert.extensions() {
        let oid = ext.oid.to_id_string();
        match oid.as_str() {
            OID_BL => v.bl_spl = der_uint(ext.value),
            OID_TEE => v.tee_spl = der_uint(ext.value),
            OID_SNP => v.snp_spl = der_uint(ext.value),
            OID_UCODE => v.ucode_spl = der_uint(ext.value),
            OID_FMC => v.fmc_spl = der_uint(ext.value),
            OID_HWID => v.hw_id = Some(der_octets(ext.value)),
            _ => {}
        }
    }
    Ok(v)
}

/// Verifies VEK certificates against the AMD roots, caching successes keyed by
/// SHA-256(VEK DER) and the generation whose roots signed it. Validity at the verification time is
/// checked on every call (it is not part of the cached result).
#[derive(Debug)]
pub struct VekCache {
    roots: AmdRoots,
    cache: RwLock<HashMap<[u8; 32], Arc<VerifiedVek>>>,
}

impl VekCache {
    pub fn new(roots: AmdRoots) -> Self {
        VekCache { roots, cache: RwLock::new(HashMap::new()) }
    }

    pub fn clear(&self) {
        if let Ok(mut c) = self.cache.write() {
            c.clear();
        }
    }

    /// Checks `vek_der` chains to the AMD root of its generation and is valid at `now`.
    pub fn verify(&self, vek_der: &[u8], now: u64) -> Result<Arc<VerifiedVek>, Error> {
        let key: [u8; 32] = Sha256::digest(vek_der).into();
        let cached = self.cache.read().ok().and_then(|c| c.get(&key).cloned());
        let v = match cached {
            Some(v) => v,
            None => {
                let info = inspect_vek(vek_der)?;
                let roots = self.roots.get(info.generation).ok_or_else(|| Error::UntrustedChain {
                    tee: Tee::Snp,
                    reason: format!("no AMD root configured for {}", info.generation.as_str()),
                })?;
                let vek = Certificate::from_der(vek_der)
                    .map_err(|e| Error::malformed(Tee::Snp, format!("VEK certificate: {e}")))?;
                let chain = Chain {
                    ca: ca::Chain {
                        ark: roots.ark.clone(),
                        ask: match info.kind {
                            VekKind::Vcek => roots.ask.clone(),
                            VekKind::Vlek => roots.asvk.clone(),
                        },
                    },
                    vek,
                };
                (&chain).verify().map_err(|e| Error::UntrustedChain {
                    tee: Tee::Snp,
                    reason: format!("{:?} does not chain to the AMD {} root: {e}", info.kind, info.generation.as_str()),
                })?;
                let v = Arc::new(info);
                if let Ok(mut c) = self.cache.write() {
                    c.insert(key, v.clone());
                }
                v
            }
        };
        let now_i = i64::try_from(now).unwrap_or(i64::MAX);
        if now_i < v.not_before || now_i > v.not_after {
            return Err(Error::CollateralExpired {
                tee: Tee::Snp,
                at: now,
                reason: format!("{:?} certificate valid from {} to {}", v.kind, v.not_before, v.not_after),
            });
        }
        Ok(v)
    }
}
