//! The GPU's device certificate chain (leaf first): attestation certificate ("GSP FMC LF") ->
//! device certificate ("GSP BROM") -> provisioner ICA -> architecture identity CA -> NVIDIA
//! Device Identity CA (root). Verified to a **pinned** root; a root in the evidence is only used
//! when it is byte-identical to a pinned one.
//!
//! Per link: issuer name = subject name, ECDSA P-384/SHA-384 signature by the issuer (aws-lc-rs),
//! issuer is a CA (basicConstraints cA, keyCertSign when key usage is present, path length),
//! key identifiers match when both are present. Every certificate (root included) must be valid
//! at the verification time; unrecognised critical extensions are refused. The leaf must allow
//! digitalSignature and carry a P-384 key. X.509 parsing: x509-parser. Revocation (NVIDIA OCSP)
//! is not checked: it needs the network.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use sha2::{Digest, Sha256};

use aws_lc_rs::signature;
use x509_parser::asn1_rs::{Any, Class, FromDer, Tag};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;

use super::Arch;
use crate::{Error, Tee};

/// NVIDIA Device Identity CA (self-signed, P-384), from NVIDIA nvtrust
/// `guest_tools/gpu_verifiers/local_gpu_verifier/src/verifier/certs/verifier_device_root.pem`
/// (identical to trustee's `nvidia_device_root.pem`).
pub const NVIDIA_DEVICE_IDENTITY_CA_PEM: &str = include_str!("nvidia_device_identity_ca.pem");

const OID_ECDSA_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03];
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_SECP384R1: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_SHA384: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02];
/// TCG DICE tcg-dice-TcbInfo (2.23.133.5.4.1): Hopper's FWID extension (NVIDIA legacy layout).
const OID_DICE_TCB_INFO: &[u8] = &[0x67, 0x81, 0x05, 0x05, 0x04, 0x01];
/// 2.23.133.5.4.1.1 (TcbInfo alias): Blackwell's DiceTcbInfo.
const OID_DICE_TCB_INFO_ALIAS: &[u8] = &[0x67, 0x81, 0x05, 0x05, 0x04, 0x01, 0x01];
/// Longest chain accepted (the real ones have 5 certificates).
pub const MAX_CHAIN: usize = 8;

fn untrusted(reason: impl Into<String>) -> Error {
    Error::UntrustedChain { tee: Tee::Nvidia, reason: reason.into() }
}

fn bad(reason: impl Into<String>) -> Error {
    Error::malformed(Tee::Nvidia, reason)
}

/// Trusted NVIDIA roots (DER). [`NvidiaRoots::builtin`] is the NVIDIA Device Identity CA.
#[derive(Debug, Clone)]
pub struct NvidiaRoots {
    roots: Vec<Vec<u8>>,
}

impl NvidiaRoots {
    pub fn builtin() -> Self {
        static ROOT: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
        let roots = ROOT.get_or_init(|| split_chain(NVIDIA_DEVICE_IDENTITY_CA_PEM.as_bytes()).unwrap_or_default());
        NvidiaRoots { roots: roots.clone() }
    }

    /// Roots from PEM or DER certificates (each must parse).
    pub fn from_certs(bytes: &[u8]) -> Result<Self, Error> {
        let roots = split_chain(bytes)?;
        for r in &roots {
            parse(r, "root")?;
        }
        Ok(NvidiaRoots { roots })
    }

    pub fn ders(&self) -> &[Vec<u8>] {
        &self.roots
    }
}

impl Default for NvidiaRoots {
    fn default() -> Self {
        NvidiaRoots::builtin()
    }
}

/// Splits a certificate chain given as concatenated PEM blocks or concatenated DER.
pub fn split_chain(bytes: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    let mut out = Vec::new();
    if bytes.first() == Some(&0x30) {
        let mut rest = bytes;
        while !rest.is_empty() {
            let (r, _) = Any::from_der(rest).map_err(|e| bad(format!("certificate chain DER: {e}")))?;
            let n = rest.len() - r.len();
            out.push(rest[..n].to_vec());
            rest = r;
        }
    } else {
        for pem in x509_parser::pem::Pem::iter_from_buffer(bytes) {
            let pem = pem.map_err(|e| bad(format!("certificate chain PEM: {e}")))?;
            if pem.label != "CERTIFICATE" {
                return Err(bad(format!("certificate chain has a {:?} PEM block", pem.label)));
            }
            out.push(pem.contents);
        }
    }
    if out.is_empty() {
        return Err(bad("certificate chain is empty"));
    }
    if out.len() > MAX_CHAIN + 1 {
        return Err(bad(format!(
            "certificate chain has {} certificates, at most {} accepted",
            out.len(),
            MAX_CHAIN + 1
        )));
    }
    Ok(out)
}

fn parse<'a>(der: &'a [u8], what: &str) -> Result<X509Certificate<'a>, Error> {
    let (rest, c) = x509_parser::parse_x509_certificate(der).map_err(|e| bad(format!("{what} certificate: {e}")))?;
    if !rest.is_empty() {
        return Err(bad(format!("{what} certificate: {} bytes after the certificate", rest.len())));
    }
    Ok(c)
}

fn cn(c: &X509Certificate<'_>) -> String {
    c.subject().iter_common_name().next().and_then(|a| a.as_str().ok()).unwrap_or("").to_string()
}

/// Uncompressed P-384 point of a certificate's key, or an error naming the certificate.
fn p384_point<'a>(c: &'a X509Certificate<'_>, role: &str) -> Result<&'a [u8], Error> {
    let spki = c.public_key();
    let curve = spki.algorithm.parameters.as_ref().map(|p| p.data);
    if spki.algorithm.algorithm.as_bytes() != OID_EC_PUBLIC_KEY || curve != Some(OID_SECP384R1) {
        return Err(Error::Unsupported {
            tee: Tee::Nvidia,
            reason: format!("{role} {:?} key is not an ECDSA P-384 key", cn(c)),
        });
    }
    Ok(spki.subject_public_key.data.as_ref())
}

fn check_signed_by(child: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> Result<(), Error> {
    if child.issuer().as_raw() != issuer.subject().as_raw() {
        return Err(untrusted(format!("{:?} is issued by {}, not by {}", cn(child), child.issuer(), issuer.subject())));
    }
    if child.signature_algorithm.algorithm.as_bytes() != OID_ECDSA_SHA384 {
        return Err(untrusted(format!("{:?} is not signed with ecdsa-with-SHA384", cn(child))));
    }
    let key = p384_point(issuer, "issuer").map_err(|e| untrusted(e.to_string()))?;
    signature::UnparsedPublicKey::new(&signature::ECDSA_P384_SHA384_ASN1, key)
        .verify(child.tbs_certificate.as_ref(), child.signature_value.data.as_ref())
        .map_err(|_| {
            untrusted(format!("signature on {:?} does not verify with the key of {:?}", cn(child), cn(issuer)))
        })?;
    let ski = issuer.extensions().iter().find_map(|e| match e.parsed_extension() {
        ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0),
        _ => None,
    });
    let aki = child.extensions().iter().find_map(|e| match e.parsed_extension() {
        ParsedExtension::AuthorityKeyIdentifier(a) => a.key_identifier.as_ref().map(|k| k.0),
        _ => None,
    });
    if let (Some(s), Some(a)) = (ski, aki) {
        if s != a {
            return Err(untrusted(format!(
                "authority key id of {:?} differs from the subject key id of {:?}",
                cn(child),
                cn(issuer)
            )));
        }
    }
    Ok(())
}

/// `below` = number of CA certificates between this issuer and the leaf.
fn check_ca(c: &X509Certificate<'_>, below: usize) -> Result<(), Error> {
    let bc = c.basic_constraints().map_err(|e| untrusted(format!("{:?} basicConstraints: {e}", cn(c))))?;
    match bc {
        Some(b) if b.value.ca => {
            if let Some(len) = b.value.path_len_constraint {
                if below > len as usize {
                    return Err(untrusted(format!("{:?} path length {len} exceeded ({below} CAs below it)", cn(c))));
                }
            }
        }
        _ => return Err(untrusted(format!("{:?} issues certificates but is not a CA", cn(c)))),
    }
    if let Some(ku) = c.key_usage().map_err(|e| untrusted(format!("{:?} keyUsage: {e}", cn(c))))? {
        if !ku.value.key_cert_sign() {
            return Err(untrusted(format!("{:?} key usage does not allow certificate signing", cn(c))));
        }
    }
    Ok(())
}

fn check_extensions(c: &X509Certificate<'_>) -> Result<(), Error> {
    for e in c.extensions() {
        let known = e.oid.as_bytes() == OID_DICE_TCB_INFO || e.oid.as_bytes() == OID_DICE_TCB_INFO_ALIAS;
        if e.critical && !known {
            if let ParsedExtension::UnsupportedExtension { .. } = e.parsed_extension() {
                return Err(untrusted(format!("{:?} has an unrecognised critical extension {}", cn(c), e.oid)));
            }
        }
        if let ParsedExtension::ParseError { error } = e.parsed_extension() {
            return Err(untrusted(format!("{:?} extension {}: {error}", cn(c), e.oid)));
        }
    }
    Ok(())
}

/// Validity window of one certificate of a verified chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validity {
    pub common_name: String,
    pub not_before: i64,
    pub not_after: i64,
}

fn validity(c: &X509Certificate<'_>) -> Validity {
    Validity {
        common_name: cn(c),
        not_before: c.validity().not_before.timestamp(),
        not_after: c.validity().not_after.timestamp(),
    }
}

/// Every certificate of the chain must be valid at `now`.
pub fn check_times(windows: &[Validity], now: u64) -> Result<(), Error> {
    let now_i = i64::try_from(now).unwrap_or(i64::MAX);
    for v in windows {
        if now_i < v.not_before || now_i > v.not_after {
            return Err(Error::CollateralExpired {
                tee: Tee::Nvidia,
                at: now,
                reason: format!(
                    "certificate {:?} is valid from unix {} to {}",
                    v.common_name, v.not_before, v.not_after
                ),
            });
        }
    }
    Ok(())
}

/// What a verified chain tells about the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedChain {
    /// The attestation key: uncompressed P-384 point of the leaf.
    pub leaf_key: Vec<u8>,
    /// Leaf serial number in decimal (NVIDIA's UEID).
    pub ueid: String,
    /// Common names, leaf first, ending with the pinned root.
    pub common_names: Vec<String>,
    /// FWID the leaf certifies (48-byte SHA-384).
    pub fwid: Vec<u8>,
    /// DiceTcbInfo model (Blackwell), e.g. "GB20X A01 GSP".
    pub dice_model: Option<String>,
    /// Validity of every certificate, root included (checked at each verification).
    pub validity: Vec<Validity>,
}

/// FWID from the leaf: Hopper's 2.23.133.5.4.1 (SEQUENCE { version, SubjectPublicKeyInfo,
/// FWID }) or Blackwell's DiceTcbInfo 2.23.133.5.4.1.1 (`fwids [6]`, first entry).
fn fwid_of(c: &X509Certificate<'_>, arch: Arch) -> Result<(Vec<u8>, Option<String>), Error> {
    let oid = match arch {
        Arch::Hopper => OID_DICE_TCB_INFO,
        Arch::Blackwell => OID_DICE_TCB_INFO_ALIAS,
    };
    let ext = c.extensions().iter().find(|e| e.oid.as_bytes() == oid).ok_or_else(|| Error::BindingMismatch {
        tee: Tee::Nvidia,
        reason: format!("the attestation certificate {:?} has no {} FWID extension", cn(c), arch.as_str()),
    })?;
    let fwid_bad = |r: &str| bad(format!("{} FWID extension: {r}", arch.as_str()));
    let (rest, seq) = Any::from_der(ext.value).map_err(|e| fwid_bad(&e.to_string()))?;
    if !rest.is_empty() || seq.tag() != Tag::Sequence {
        return Err(fwid_bad("not one SEQUENCE"));
    }
    let items = children(seq.data).map_err(|e| fwid_bad(&e))?;
    match arch {
        Arch::Hopper => {
            let fwids: Vec<Vec<u8>> =
                items.iter().filter(|a| a.tag() == Tag::Sequence).filter_map(|a| sha384_fwid(a.data).ok()).collect();
            match fwids.as_slice() {
                [one] => Ok((one.clone(), None)),
                _ => Err(fwid_bad(&format!("{} SHA-384 FWIDs, want exactly 1", fwids.len()))),
            }
        }
        Arch::Blackwell => {
            let ctx = |n: u32| items.iter().filter(move |a| a.class() == Class::ContextSpecific && a.tag() == Tag(n));
            if ctx(6).count() != 1 {
                return Err(fwid_bad("want exactly one fwids [6] field"));
            }
            let list = ctx(6).next().ok_or_else(|| fwid_bad("no fwids"))?;
            if !list.header.is_constructed() {
                return Err(fwid_bad("fwids is not constructed"));
            }
            let entries = children(list.data).map_err(|e| fwid_bad(&e))?;
            let first = entries.first().ok_or_else(|| fwid_bad("fwids is empty"))?;
            if first.tag() != Tag::Sequence {
                return Err(fwid_bad("fwids[0] is not a SEQUENCE"));
            }
            let fwid = sha384_fwid(first.data).map_err(|e| fwid_bad(&format!("fwids[0]: {e}")))?;
            let model = ctx(1).next().and_then(|m| std::str::from_utf8(m.data).ok()).map(str::to_string);
            Ok((fwid, model))
        }
    }
}

/// Parses one certificate and extracts the FWID (and DICE model) for `arch`, without any chain
/// check (inspection, mutation tests).
pub fn leaf_fwid(der: &[u8], arch: Arch) -> Result<(Vec<u8>, Option<String>), Error> {
    let c = parse(der, "attestation")?;
    check_extensions(&c)?;
    fwid_of(&c, arch)
}

fn children<'a>(mut b: &'a [u8]) -> Result<Vec<Any<'a>>, String> {
    let mut v = Vec::new();
    while !b.is_empty() {
        let (r, a) = Any::from_der(b).map_err(|e| e.to_string())?;
        v.push(a);
        b = r;
    }
    Ok(v)
}

/// `FWID ::= SEQUENCE { hashAlg OID, digest OCTET STRING }` with SHA-384 and 48 bytes.
fn sha384_fwid(content: &[u8]) -> Result<Vec<u8>, String> {
    let f = children(content)?;
    match f.as_slice() {
        [alg, dig] if alg.tag() == Tag::Oid && dig.tag() == Tag::OctetString => {
            if alg.data != OID_SHA384 {
                return Err("hash algorithm is not SHA-384".into());
            }
            if dig.data.len() != 48 {
                return Err(format!("digest is {} bytes, want 48", dig.data.len()));
            }
            Ok(dig.data.to_vec())
        }
        _ => Err("not SEQUENCE { OID, OCTET STRING }".into()),
    }
}

/// Verifies `chain` (DER, leaf first; the root may be included or left out) to one of `roots`
/// at `now`, and extracts the leaf's attestation key and FWID for `arch`.
pub fn verify_chain(chain: &[Vec<u8>], roots: &NvidiaRoots, arch: Arch, now: u64) -> Result<VerifiedChain, Error> {
    let v = verify_chain_signatures(chain, roots, arch)?;
    check_times(&v.validity, now)?;
    Ok(v)
}

/// Everything of [`verify_chain`] except the validity times.
fn verify_chain_signatures(chain: &[Vec<u8>], roots: &NvidiaRoots, arch: Arch) -> Result<VerifiedChain, Error> {
    let mut ders: &[Vec<u8>] = chain;
    // A trailing copy of a pinned root is dropped; any other top certificate must be issued by
    // a pinned root.
    if let Some((last, rest)) = ders.split_last() {
        if !rest.is_empty() && roots.roots.iter().any(|r| r == last) {
            ders = rest;
        }
    }
    if ders.is_empty() {
        return Err(bad("certificate chain has no attestation certificate"));
    }
    if ders.len() > MAX_CHAIN {
        return Err(bad(format!("certificate chain has {} certificates, at most {MAX_CHAIN} accepted", ders.len())));
    }
    let certs: Vec<X509Certificate<'_>> =
        ders.iter().enumerate().map(|(i, d)| parse(d, &format!("chain[{i}]"))).collect::<Result<_, _>>()?;
    for c in &certs {
        check_extensions(c)?;
    }
    for (i, pair) in certs.windows(2).enumerate() {
        check_signed_by(&pair[0], &pair[1])?;
        check_ca(&pair[1], i)?;
    }
    let top = certs.last().ok_or_else(|| bad("empty chain"))?;
    let mut anchored = None;
    let mut why = Vec::new();
    for r in &roots.roots {
        let root = parse(r, "pinned root")?;
        match check_signed_by(top, &root).and_then(|_| check_ca(&root, certs.len() - 1)) {
            Ok(()) => {
                anchored = Some(root);
                break;
            }
            Err(e) => why.push(e.to_string()),
        }
    }
    let root = anchored.ok_or_else(|| {
        untrusted(format!("{:?} is not issued by a pinned NVIDIA root ({})", cn(top), why.join("; ")))
    })?;
    let leaf = &certs[0];
    match leaf.key_usage().map_err(|e| untrusted(format!("leaf keyUsage: {e}")))? {
        Some(ku) if ku.value.digital_signature() => {}
        _ => return Err(untrusted(format!("attestation certificate {:?} does not allow digitalSignature", cn(leaf)))),
    }
    let leaf_key = p384_point(leaf, "attestation certificate")?.to_vec();
    let (fwid, dice_model) = fwid_of(leaf, arch)?;
    let mut common_names: Vec<String> = certs.iter().map(cn).collect();
    common_names.push(cn(&root));
    let validity = certs.iter().chain(std::iter::once(&root)).map(validity).collect();
    Ok(VerifiedChain { leaf_key, ueid: leaf.serial.to_string(), common_names, fwid, dice_model, validity })
}

/// Chains that verified (signatures, names, CA rules, FWID), keyed by SHA-256 over the roots,
/// the architecture and the chain's DER; validity times are still checked at every call. Only
/// verified chains are stored, at most [`ChainCache::MAX`] (then the cache starts over).
#[derive(Debug, Default)]
pub struct ChainCache {
    map: RwLock<HashMap<[u8; 32], Arc<VerifiedChain>>>,
}

impl ChainCache {
    pub const MAX: usize = 4096;

    pub fn new() -> Self {
        ChainCache::default()
    }

    pub fn len(&self) -> usize {
        self.map.read().map(|m| m.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// [`verify_chain`], reusing an earlier verification of the same chain.
    pub fn verify(
        &self,
        chain: &[Vec<u8>],
        roots: &NvidiaRoots,
        arch: Arch,
        now: u64,
    ) -> Result<Arc<VerifiedChain>, Error> {
        let mut h = Sha256::new();
        for (tag, ders) in [(0u8, roots.ders()), (1u8, chain)] {
            for d in ders {
                h.update([tag]);
                h.update((d.len() as u64).to_le_bytes());
                h.update(d);
            }
        }
        h.update(arch.as_str().as_bytes());
        let key: [u8; 32] = h.finalize().into();
        let cached = self.map.read().ok().and_then(|m| m.get(&key).cloned());
        let v = match cached {
            Some(v) => v,
            None => {
                let v = Arc::new(verify_chain_signatures(chain, roots, arch)?);
                if let Ok(mut m) = self.map.write() {
                    if m.len() >= Self::MAX {
                        m.clear();
                    }
                    m.insert(key, v.clone());
                }
                v
            }
        };
        check_times(&v.validity, now)?;
        Ok(v)
    }
}
