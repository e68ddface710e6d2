//! Init-data (TOML `version`, `algorithm`, `[data]`): parsed by `kbs_protocol::initdata`, which the
//! attestation agent shares; here only the mapping to this crate's error.

use kbs_protocol::types::InitData;

use crate::Error;

pub use kbs_protocol::initdata::InitDataDoc as Parsed;

pub fn parse(i: &InitData) -> Result<Parsed, Error> {
    kbs_protocol::initdata::parse(i).map_err(|e| Error::InitData(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kbs_protocol::binding::HashAlg;

    #[test]
    fn parses_and_digests() {
        let body = "version = \"0.1.0\"\nalgorithm = \"sha384\"\n[data]\n\"aa.toml\" = \"x\"\n";
        let p = parse(&InitData { format: "toml".into(), body: body.into() }).unwrap();
        assert_eq!(p.digest, HashAlg::Sha384.digest(body.as_bytes()));
        assert_eq!(p.data["aa.toml"], "x");
        let e = parse(&InitData { format: "json".into(), body: body.into() }).unwrap_err();
        assert!(matches!(&e, Error::InitData(m) if m.contains("json")), "{e}");
        assert!(
            parse(&InitData { format: "toml".into(), body: "version = \"9\"\nalgorithm=\"sha256\"".into() }).is_err()
        );
        assert!(
            parse(&InitData { format: "toml".into(), body: "version = \"0.1.0\"\nalgorithm=\"md5\"".into() }).is_err()
        );
    }
}
