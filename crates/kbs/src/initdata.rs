//! Init-data (TOML `version`, `algorithm`, `[data]`): digest over the file bytes, claims from `[data]`.

use std::collections::BTreeMap;

use kbs_protocol::binding::HashAlg;
use kbs_protocol::types::InitData;
use serde::Deserialize;

use crate::Error;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Toml {
    version: String,
    algorithm: String,
    #[serde(default)]
    data: BTreeMap<String, String>,
}

/// A parsed init-data document.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub digest: Vec<u8>,
    pub algorithm: HashAlg,
    pub data: BTreeMap<String, String>,
}

pub fn parse(i: &InitData) -> Result<Parsed, Error> {
    if i.format != "toml" {
        return Err(Error::InitData(format!("format {:?} is not supported (only toml)", i.format)));
    }
    let t: Toml = toml::from_str(&i.body).map_err(|e| Error::InitData(format!("bad TOML: {e}")))?;
    if t.version != "0.1.0" {
        return Err(Error::InitData(format!("version {:?} (expected 0.1.0)", t.version)));
    }
    let algorithm =
        HashAlg::parse(&t.algorithm).map_err(|_| Error::InitData(format!("algorithm {:?}", t.algorithm)))?;
    Ok(Parsed { digest: algorithm.digest(i.body.as_bytes()), algorithm, data: t.data })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_digests() {
        let body = "version = \"0.1.0\"\nalgorithm = \"sha384\"\n[data]\n\"aa.toml\" = \"x\"\n";
        let p = parse(&InitData { format: "toml".into(), body: body.into() }).unwrap();
        assert_eq!(p.digest, HashAlg::Sha384.digest(body.as_bytes()));
        assert_eq!(p.data["aa.toml"], "x");
        assert!(parse(&InitData { format: "json".into(), body: body.into() }).is_err());
        assert!(
            parse(&InitData { format: "toml".into(), body: "version = \"9\"\nalgorithm=\"sha256\"".into() }).is_err()
        );
        assert!(
            parse(&InitData { format: "toml".into(), body: "version = \"0.1.0\"\nalgorithm=\"md5\"".into() }).is_err()
        );
    }
}
