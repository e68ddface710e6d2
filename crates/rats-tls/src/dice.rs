//! The TCG DICE evidence extension as written by the current C rats-tls.
//!
//! Extension `2.23.133.5.4.9` (non-critical) holds `tag(T)([bstr raw_evidence, bstr claims_buffer])`;
//! `claims_buffer` is a CBOR map `{"pubkey-hash": bstr(CBOR [hash_alg_id, bstr hash]), name: bstr, ...}`
//! and the TEE's report data is `SHA-256(claims_buffer)` (zero-padded to the TEE's field).
//!
//! Decoding is tolerant the way the C peer is: bytes after the CBOR item (an extension or claims
//! buffer sized by its allocation, seen with Debian's libcbor 0.8) are ignored, and the report-data
//! hash covers the claims buffer exactly as received.

use std::collections::BTreeMap;

use ciborium::Value;
use sha2::{Digest, Sha256, Sha384, Sha512};
use tee::Tee;

use crate::Error;

/// OID of the TCG DICE tagged-evidence extension.
pub const OID_TAGGED_EVIDENCE: &[u64] = &[2, 23, 133, 5, 4, 9];
/// OID of the TCG DICE endorsement-manifest extension (collateral; never written by default).
pub const OID_ENDORSEMENT_MANIFEST: &[u64] = &[2, 23, 133, 5, 4, 2];

/// CBOR tags of the C rats-tls (`OCBR_TAG_EVIDENCE_*`).
pub mod tag {
    /// Intel TEE quote: SGX ECDSA v3/v4 or TDX v4, told apart by the quote header.
    pub const INTEL_TEE_QUOTE: u64 = 60000;
    /// Intel TEE report (TDX report / SGX report type 2): defined, never produced or accepted by C.
    pub const INTEL_TEE_REPORT: u64 = 60001;
    /// SGX EREPORT (local attestation).
    pub const SGX_LEGACY_REPORT: u64 = 60002;
    pub const SEV_SNP: u64 = 0x1a7504;
    pub const SEV: u64 = 0x1a7505;
    pub const CSV: u64 = 0x1a7506;
    /// Software-TEE (`sample`) evidence. The C rats-tls has no software evidence (its null attester
    /// sends no extension), so this tag is ours: outside the C range 60000..=0x1a7506, which a C peer
    /// refuses as "invalid cbor tag" instead of mistaking it for hardware evidence, and distinct from
    /// every hardware tag above.
    pub const SOFTWARE_TEE: u64 = 0x1a75ff;
}

/// Named-information hash algorithm ids (IANA) used in `pubkey-hash`.
pub mod hash_alg {
    pub const SHA256: u64 = 1;
    pub const SHA384: u64 = 7;
    pub const SHA512: u64 = 8;
}

pub const CLAIM_PUBKEY_HASH: &str = "pubkey-hash";

/// The CBOR tag this crate writes for a TEE's evidence.
pub fn tag_for_tee(tee: Tee) -> Option<u64> {
    match tee {
        Tee::Sgx | Tee::Tdx => Some(tag::INTEL_TEE_QUOTE),
        Tee::Snp => Some(tag::SEV_SNP),
        Tee::Csv => Some(tag::CSV),
        Tee::Sample => Some(tag::SOFTWARE_TEE),
        _ => None,
    }
}

/// Which TEE produced evidence with this tag. Tag 60000 is decided by the quote header, as the C
/// peer does: version 3 with key type 2/3, or version 4 with TEE type 0, is SGX; version 4 with TEE
/// type 0x81 is TDX.
pub fn tee_for_tag(tag_value: u64, raw: &[u8]) -> Result<Tee, Error> {
    let unsupported = |what: &str| Error::NoVerifierForTag { tag: tag_value, what: what.to_string() };
    match tag_value {
        tag::INTEL_TEE_QUOTE => {
            if raw.len() < 8 {
                return Err(Error::MalformedEvidence(format!(
                    "Intel quote is {} bytes, shorter than its header",
                    raw.len()
                )));
            }
            let version = u16::from_le_bytes([raw[0], raw[1]]);
            let key_type = u16::from_le_bytes([raw[2], raw[3]]);
            let tee_type = u32::from_le_bytes([raw[4], raw[5], raw[6], raw[7]]);
            match (version, key_type, tee_type) {
                (3, 2 | 3, _) | (4, _, 0) => Ok(Tee::Sgx),
                (4, _, 0x81) => Ok(Tee::Tdx),
                (2, _, _) | (3, 0, _) => Err(unsupported("SGX EPID quote")),
                _ => Err(unsupported(&format!(
                    "Intel quote version {version} key type {key_type} TEE type {tee_type:#x}"
                ))),
            }
        }
        tag::INTEL_TEE_REPORT => Err(unsupported("Intel TEE report (not remotely verifiable)")),
        tag::SGX_LEGACY_REPORT => Err(unsupported("SGX EREPORT (local attestation only)")),
        tag::SEV_SNP => Ok(Tee::Snp),
        tag::SEV => Err(unsupported("AMD SEV (legacy) report")),
        tag::CSV => Ok(Tee::Csv),
        tag::SOFTWARE_TEE => Ok(Tee::Sample),
        other => Err(Error::NoVerifierForTag { tag: other, what: "unknown CBOR tag".into() }),
    }
}

fn to_cbor(v: &Value) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(v, &mut out).map_err(|e| Error::Generate(format!("CBOR encoding: {e}")))?;
    Ok(out)
}

/// Reads one CBOR item from the front of `bytes`; whatever follows it is ignored (C quirk).
fn from_cbor_prefix(bytes: &[u8], what: &str) -> Result<Value, Error> {
    let mut r = bytes;
    ciborium::de::from_reader::<Value, _>(&mut r)
        .map_err(|e| Error::MalformedEvidence(format!("{what} is not CBOR: {e}")))
}

/// Hash of `data` with a named-information algorithm id.
pub fn hash_with(alg: u64, data: &[u8]) -> Result<Vec<u8>, Error> {
    Ok(match alg {
        hash_alg::SHA256 => Sha256::digest(data).to_vec(),
        hash_alg::SHA384 => Sha384::digest(data).to_vec(),
        hash_alg::SHA512 => Sha512::digest(data).to_vec(),
        other => return Err(Error::MalformedEvidence(format!("unsupported pubkey-hash algorithm id {other}"))),
    })
}

/// Builds the claims buffer: `pubkey-hash` first, then the custom claims in the given order.
pub fn claims_buffer(spki_der: &[u8], custom: &[(String, Vec<u8>)]) -> Result<Vec<u8>, Error> {
    let hash_entry = to_cbor(&Value::Array(vec![
        Value::Integer(hash_alg::SHA256.into()),
        Value::Bytes(Sha256::digest(spki_der).to_vec()),
    ]))?;
    let mut map = vec![(Value::Text(CLAIM_PUBKEY_HASH.into()), Value::Bytes(hash_entry))];
    for (k, v) in custom {
        map.push((Value::Text(k.clone()), Value::Bytes(v.clone())));
    }
    to_cbor(&Value::Map(map))
}

/// Builds the extension content `tag([raw, claims_buffer])`.
pub fn evidence_buffer(tag_value: u64, raw: &[u8], claims_buffer: &[u8]) -> Result<Vec<u8>, Error> {
    to_cbor(&Value::Tag(
        tag_value,
        Box::new(Value::Array(vec![Value::Bytes(raw.to_vec()), Value::Bytes(claims_buffer.to_vec())])),
    ))
}

/// A decoded evidence extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggedEvidence {
    pub tag: u64,
    pub raw: Vec<u8>,
    /// The claims buffer exactly as received (the report-data hash covers all of it).
    pub claims_buffer: Vec<u8>,
}

/// Decodes the extension content.
pub fn parse_evidence_buffer(ext: &[u8]) -> Result<TaggedEvidence, Error> {
    let v = from_cbor_prefix(ext, "evidence extension")?;
    let (tag_value, inner) = match v {
        Value::Tag(t, inner) => (t, *inner),
        _ => return Err(Error::MalformedEvidence("evidence extension is not a CBOR tag".into())),
    };
    let mut items = match inner {
        Value::Array(a) if a.len() == 2 => a.into_iter(),
        Value::Array(a) => {
            return Err(Error::MalformedEvidence(format!("evidence array has {} entries, expected 2", a.len())))
        }
        _ => return Err(Error::MalformedEvidence("tagged evidence is not an array".into())),
    };
    let (Some(Value::Bytes(raw)), Some(Value::Bytes(claims_buffer))) = (items.next(), items.next()) else {
        return Err(Error::MalformedEvidence("evidence array entries are not byte strings".into()));
    };
    Ok(TaggedEvidence { tag: tag_value, raw, claims_buffer })
}

/// The decoded claims buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimsBuffer {
    pub pubkey_hash_alg: u64,
    pub pubkey_hash: Vec<u8>,
    /// Custom claims (everything but `pubkey-hash`).
    pub custom: BTreeMap<String, Vec<u8>>,
}

pub fn parse_claims_buffer(buf: &[u8]) -> Result<ClaimsBuffer, Error> {
    let Value::Map(map) = from_cbor_prefix(buf, "claims buffer")? else {
        return Err(Error::MalformedEvidence("claims buffer is not a CBOR map".into()));
    };
    let mut pubkey = None;
    let mut custom = BTreeMap::new();
    for (k, v) in map {
        let (Value::Text(k), Value::Bytes(v)) = (k, v) else {
            return Err(Error::MalformedEvidence("claims must be text names with byte-string values".into()));
        };
        if k == CLAIM_PUBKEY_HASH {
            let Value::Array(entry) = from_cbor_prefix(&v, "pubkey-hash value")? else {
                return Err(Error::MalformedEvidence("pubkey-hash is not a CBOR array".into()));
            };
            match entry.as_slice() {
                [Value::Integer(alg), Value::Bytes(h)] => {
                    let alg = u64::try_from(*alg)
                        .map_err(|_| Error::MalformedEvidence("negative pubkey-hash algorithm".into()))?;
                    pubkey = Some((alg, h.clone()));
                }
                _ => return Err(Error::MalformedEvidence("pubkey-hash must be [alg, bstr]".into())),
            }
        } else {
            custom.insert(k, v);
        }
    }
    let (pubkey_hash_alg, pubkey_hash) =
        pubkey.ok_or_else(|| Error::MalformedEvidence("claims buffer has no pubkey-hash".into()))?;
    Ok(ClaimsBuffer { pubkey_hash_alg, pubkey_hash, custom })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_exact_bytes() {
        let cb = claims_buffer(b"spki", &[("key_0".into(), b"value_0\0".to_vec())]).unwrap();
        // a2 (map 2) 6b "pubkey-hash" 58 24 (bstr 36) 82 01 58 20 <32>
        assert_eq!(&cb[..13], b"\xa2\x6bpubkey-hash");
        assert_eq!(&cb[13..18], b"\x58\x24\x82\x01\x58");
        let parsed = parse_claims_buffer(&cb).unwrap();
        assert_eq!(parsed.pubkey_hash, Sha256::digest(b"spki").to_vec());
        assert_eq!(parsed.custom["key_0"], b"value_0\0");
        let ev = evidence_buffer(tag::INTEL_TEE_QUOTE, b"raw", &cb).unwrap();
        // tag 60000 = d9 ea 60
        assert_eq!(&ev[..4], b"\xd9\xea\x60\x82");
        let te = parse_evidence_buffer(&ev).unwrap();
        assert_eq!((te.tag, te.raw.as_slice(), te.claims_buffer.as_slice()), (60000, &b"raw"[..], cb.as_slice()));
    }

    #[test]
    fn trailing_bytes_tolerated() {
        let mut cb = claims_buffer(b"k", &[]).unwrap();
        cb.extend_from_slice(&[0u8; 19]);
        assert!(parse_claims_buffer(&cb).is_ok());
        let mut ev = evidence_buffer(tag::SOFTWARE_TEE, b"r", &cb).unwrap();
        ev.resize(1024, 0);
        let te = parse_evidence_buffer(&ev).unwrap();
        assert_eq!(te.claims_buffer, cb, "claims buffer kept as received, trailing bytes included");
    }

    #[test]
    fn malformed_is_an_error_not_a_panic() {
        for bad in [&b""[..], b"\xff", b"\xd9\xea\x60\x81\x40", b"\xd9\xea\x60\x82\x40\x01", b"\x82\x40\x40"] {
            assert!(matches!(parse_evidence_buffer(bad), Err(Error::MalformedEvidence(_))), "{bad:?}");
        }
        assert!(matches!(parse_claims_buffer(b"\xa0"), Err(Error::MalformedEvidence(_))));
    }

    #[test]
    fn intel_quote_header_dispatch() {
        let mut q = vec![0u8; 48];
        q[0] = 3;
        q[2] = 2;
        assert_eq!(tee_for_tag(tag::INTEL_TEE_QUOTE, &q).unwrap(), Tee::Sgx);
        q[0] = 4;
        q[4] = 0x81;
        assert_eq!(tee_for_tag(tag::INTEL_TEE_QUOTE, &q).unwrap(), Tee::Tdx);
        q[0] = 2;
        assert!(matches!(tee_for_tag(tag::INTEL_TEE_QUOTE, &q), Err(Error::NoVerifierForTag { .. })));
        assert!(matches!(tee_for_tag(tag::INTEL_TEE_QUOTE, &q[..3]), Err(Error::MalformedEvidence(_))));
    }
}
