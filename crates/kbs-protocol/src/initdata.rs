//! Init-data documents (Confidential Containers): TOML with `version = "0.1.0"`,
//! `algorithm = "sha256" | "sha384" | "sha512"` and a `[data]` table of strings. The digest is the
//! named hash over the whole document as bytes; the host binds it at launch into the TEE's
//! host-data field (SNP HOST_DATA, TDX MRCONFIGID, SGX CONFIGID), zero-padded to the field's size.
//! The KBS (checking evidence) and the attestation agent (checking its own launch) both parse
//! documents here, so they agree on what a document and its digest are.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::binding::HashAlg;

/// The only init-data version defined so far.
pub const VERSION: &str = "0.1.0";

/// What is wrong with an init-data document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InitDataError {
    /// RCAR's `init-data.format` is not `toml`.
    #[error("init-data format {0:?} is not supported (only \"toml\")")]
    Format(String),
    /// Not TOML, a missing or unknown key, or a value of the wrong type (named by the TOML parser).
    #[error("init-data is not a valid document: {0}")]
    Toml(String),
    #[error("init-data version {0:?} is not supported (expected \"0.1.0\")")]
    Version(String),
    #[error("init-data algorithm {0:?} is not supported (sha256, sha384 or sha512)")]
    Algorithm(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Toml {
    version: String,
    algorithm: String,
    #[serde(default)]
    data: BTreeMap<String, String>,
}

/// A parsed init-data document and its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitDataDoc {
    pub algorithm: HashAlg,
    /// The named hash over the document's bytes.
    pub digest: Vec<u8>,
    pub data: BTreeMap<String, String>,
}

/// Parses a TOML init-data document and computes its digest.
pub fn parse_toml(body: &str) -> Result<InitDataDoc, InitDataError> {
    let t: Toml = toml::from_str(body).map_err(|e| InitDataError::Toml(e.to_string().trim_end().to_string()))?;
    if t.version != VERSION {
        return Err(InitDataError::Version(t.version));
    }
    // Exact names (the spec's spelling), not HashAlg::parse's case-insensitive match.
    let algorithm = match t.algorithm.as_str() {
        "sha256" => HashAlg::Sha256,
        "sha384" => HashAlg::Sha384,
        "sha512" => HashAlg::Sha512,
        _ => return Err(InitDataError::Algorithm(t.algorithm)),
    };
    Ok(InitDataDoc { digest: algorithm.digest(body.as_bytes()), algorithm, data: t.data })
}

/// Parses RCAR's `init-data` member (`{"format":"toml","body":...}`).
pub fn parse(i: &crate::types::InitData) -> Result<InitDataDoc, InitDataError> {
    if i.format != "toml" {
        return Err(InitDataError::Format(i.format.clone()));
    }
    parse_toml(&i.body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::InitData;

    const DOC: &str = "version = \"0.1.0\"\nalgorithm = \"sha384\"\n[data]\n\"aa.toml\" = \"x\"\n";

    #[test]
    fn digest_is_the_named_hash_over_the_whole_document() {
        let d = parse_toml(DOC).unwrap();
        assert_eq!(d.algorithm, HashAlg::Sha384);
        assert_eq!(d.digest, HashAlg::Sha384.digest(DOC.as_bytes()));
        assert_eq!(d.data["aa.toml"], "x");
        // a byte more (a trailing newline) is another digest
        assert_ne!(parse_toml(&format!("{DOC}\n")).unwrap().digest, d.digest);
        for (alg, len) in [("sha256", 32), ("sha512", 64)] {
            let doc = DOC.replace("sha384", alg);
            assert_eq!(parse_toml(&doc).unwrap().digest.len(), len, "{alg}");
        }
        // [data] is optional
        assert!(parse_toml("version = \"0.1.0\"\nalgorithm = \"sha256\"\n").unwrap().data.is_empty());
    }

    #[test]
    fn bad_documents_say_what_is_wrong() {
        assert_eq!(parse_toml(&DOC.replace("0.1.0", "9")), Err(InitDataError::Version("9".into())));
        assert_eq!(parse_toml(&DOC.replace("sha384", "md5")), Err(InitDataError::Algorithm("md5".into())));
        assert_eq!(parse_toml(&DOC.replace("sha384", "SHA384")), Err(InitDataError::Algorithm("SHA384".into())));
        let e = parse_toml("version = \"0.1.0\"\n").unwrap_err().to_string();
        assert!(e.contains("algorithm"), "{e}");
        let e = parse_toml(&format!("{DOC}extra = 1\n")).unwrap_err().to_string();
        assert!(e.contains("extra"), "{e}");
        let e = parse_toml(&DOC.replace("\"x\"", "1")).unwrap_err();
        assert!(matches!(e, InitDataError::Toml(_)), "{e}");
        assert!(matches!(parse_toml("version = "), Err(InitDataError::Toml(_))));
        let i = InitData { format: "json".into(), body: DOC.into() };
        assert_eq!(parse(&i), Err(InitDataError::Format("json".into())));
        assert_eq!(parse(&InitData { format: "toml".into(), body: DOC.into() }), parse_toml(DOC));
    }
}
