//! The init-data document this guest was launched with, checked against the TEE before use.
//!
//! The host binds the document's digest at launch into a TEE field the guest cannot change (SNP
//! HOST_DATA, 32 bytes; TDX MRCONFIGID, 48 bytes): the digest, zero-padded to the field (the rule
//! the KBS applies to evidence, [`tee::report_data::check`]). The agent reads that field from a
//! report of its own TEE and refuses to start when the file's digest is not in it: the host
//! launched the guest with other init-data than the file claims, and anything the file configures
//! would be unattested. Documents are parsed by `kbs_protocol::initdata`, as the KBS does.
//!
//! The software TEE has no such field: nothing binds a document to it, so the agent refuses
//! init-data there too rather than present it as bound ([`HostData::NoField`]). TEEs whose field
//! this agent does not read yet (SGX CONFIGID, CCA, vTPM PCR 8) are not checked locally
//! ([`HostData::NotRead`]); the KBS still checks the evidence's field against the document.

use std::path::Path;

use kbs_protocol::initdata::{parse_toml, InitDataDoc};
use tee::{Attester, Tee};

use crate::Error;

/// An init-data document as read from its file: the bytes (sent in RCAR) and what they say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitData {
    pub body: String,
    pub doc: InitDataDoc,
}

impl InitData {
    /// Parses a document (its digest is over exactly these bytes).
    pub fn from_toml(body: String) -> Result<Self, Error> {
        let doc = parse_toml(&body)?;
        Ok(InitData { body, doc })
    }

    /// Reads and parses the document at `path`.
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        let body = std::fs::read_to_string(path)
            .map_err(|e| Error::InitDataFile { path: path.to_path_buf(), reason: e.to_string() })?;
        Self::from_toml(body).map_err(|e| match e {
            Error::InitData(e) => Error::InitDataFile { path: path.to_path_buf(), reason: e.to_string() },
            other => other,
        })
    }
}

/// The TEE's launch-time host-data field, as far as this agent can read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostData {
    /// The field's name and its value in a fresh report.
    Field { name: &'static str, value: Vec<u8> },
    /// The TEE has no such field (the software TEE).
    NoField,
    /// The TEE has a field this agent does not read; only the KBS checks it.
    NotRead,
}

/// Reads the host-data field from a fresh report of `attester`'s TEE (report data all zero).
pub fn host_data(attester: &dyn Attester) -> Result<HostData, Error> {
    let tee = attester.tee();
    match tee {
        Tee::Snp => {
            let ev = attester.evidence(&[])?;
            let ev: tee::snp::SnpEvidence =
                serde_json::from_slice(&ev.bytes).map_err(|e| Error::json("SNP evidence", e))?;
            Ok(HostData::Field { name: "SNP HOST_DATA", value: ev.attestation_report.host_data.to_vec() })
        }
        Tee::Tdx => {
            let ev = attester.evidence(&[])?;
            let (raw, _) = tee::tdx::decode_evidence(&ev.bytes)?;
            let quote = tee::dcap::parse_quote(Tee::Tdx, &raw)?;
            let td = quote
                .report
                .as_td10()
                .ok_or_else(|| tee::Error::malformed(Tee::Tdx, "quote does not carry a TD report"))?;
            Ok(HostData::Field { name: "TDX MRCONFIGID", value: td.mr_config_id.to_vec() })
        }
        Tee::Sample => Ok(HostData::NoField),
        _ => Ok(HostData::NotRead),
    }
}

/// Checks that `host` binds `init`: the digest zero-padded to the field. Errors name the field
/// and both values.
pub fn check(tee: Tee, init: &InitData, host: &HostData) -> Result<(), Error> {
    match host {
        HostData::Field { name, value } => {
            tee::report_data::check(&init.doc.digest, value).map_err(|_| Error::InitDataMismatch {
                field: name,
                file_digest: hex::encode(&init.doc.digest),
                field_value: hex::encode(value),
            })
        }
        HostData::NoField => Err(Error::InitDataUnbound(tee)),
        HostData::NotRead => {
            tracing::warn!(%tee, "init-data: this agent does not read the TEE's host-data field; only the KBS checks it");
            Ok(())
        }
    }
}

/// An init-data document that passed [`load_and_check`]: the only kind the agent sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedInitData(InitData);

impl CheckedInitData {
    pub fn get(&self) -> &InitData {
        &self.0
    }
}

/// Loads the document, reads the host-data field through `attester` and checks the binding.
pub fn load_and_check(path: &Path, attester: &dyn Attester) -> Result<CheckedInitData, Error> {
    let init = InitData::from_file(path)?;
    let host = host_data(attester)?;
    check(attester.tee(), &init, &host)?;
    if let HostData::Field { name, .. } = &host {
        tracing::info!(
            field = name,
            digest = %hex::encode(&init.doc.digest),
            algorithm = ?init.doc.algorithm,
            "init-data matches the TEE's host-data field"
        );
    }
    Ok(CheckedInitData(init))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use kbs_protocol::binding::HashAlg;
    use tee::attest::tsm::Tsm;

    use super::*;

    const DOC: &str =
        "version = \"0.1.0\"\nalgorithm = \"sha256\"\n[data]\n\"policy.rego\" = \"package agent_policy\"\n";
    /// HOST_DATA in an SNP report (AMD SEV-SNP ABI, ATTESTATION_REPORT: offset 0xC0, 32 bytes).
    const SNP_HOST_DATA: usize = 0xC0;
    /// MRCONFIGID in a TDX v4 quote: 48-byte header, then TDREPORT fields (tee_tcb_svn 16, mr_seam
    /// 48, mr_signer_seam 48, seam/td attributes and xfam 3x8, mr_td 48) before it (Intel TDX DCAP
    /// quote layout); the test checks the offset by parsing.
    const TDX_MRCONFIGID: usize = 48 + 16 + 48 + 48 + 3 * 8 + 48;

    fn data(rel: &str) -> Vec<u8> {
        let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/tee").join(rel);
        std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    /// A faked configfs-tsm entry `fixed` under `dir` whose outblob is `outblob`.
    fn fake_tsm(dir: &Path, provider: &str, outblob: &[u8]) -> Tsm {
        let e = dir.join("fixed");
        std::fs::create_dir_all(&e).unwrap();
        std::fs::write(e.join("provider"), format!("{provider}\n")).unwrap();
        std::fs::write(e.join("generation"), "1\n").unwrap();
        std::fs::write(e.join("inblob"), b"").unwrap();
        std::fs::write(e.join("outblob"), outblob).unwrap();
        Tsm::new(dir.to_path_buf()).with_entry("fixed")
    }

    fn snp_with_host_data(dir: &Path, host_data: &[u8]) -> tee::snp::attester::SnpAttester {
        let mut r = data("snp/test-report.bin");
        r[SNP_HOST_DATA..SNP_HOST_DATA + 32].fill(0);
        r[SNP_HOST_DATA..SNP_HOST_DATA + host_data.len()].copy_from_slice(host_data);
        tee::snp::attester::SnpAttester::new(fake_tsm(dir, "sev_guest", &r))
    }

    fn tdx_with_mrconfigid(dir: &Path, value: &[u8]) -> tee::tdx::attester::TdxAttester {
        let mut q = data("dcap/tdx_quote_v4.bin");
        q[TDX_MRCONFIGID..TDX_MRCONFIGID + 48].fill(0);
        q[TDX_MRCONFIGID..TDX_MRCONFIGID + value.len()].copy_from_slice(value);
        tee::tdx::attester::TdxAttester::new(fake_tsm(dir, "tdx_guest", &q), None)
    }

    #[test]
    fn parse_and_digest_over_the_file_bytes() {
        let i = InitData::from_toml(DOC.into()).unwrap();
        assert_eq!(i.doc.digest, HashAlg::Sha256.digest(DOC.as_bytes()));
        assert_eq!(i.doc.data["policy.rego"], "package agent_policy");
        assert_eq!(i.body, DOC);
        let e = InitData::from_toml(DOC.replace("0.1.0", "0.2.0")).unwrap_err();
        assert!(e.to_string().contains("version \"0.2.0\""), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("init.toml");
        std::fs::write(&p, "version = \"0.1.0\"\nalgorithm = \"sha1\"\n").unwrap();
        let e = InitData::from_file(&p).unwrap_err().to_string();
        assert!(e.contains("init.toml") && e.contains("algorithm \"sha1\""), "{e}");
        let e = InitData::from_file(&dir.path().join("absent.toml")).unwrap_err();
        assert!(matches!(e, Error::InitDataFile { .. }), "{e}");
    }

    #[test]
    fn snp_host_data_binds_the_padded_digest() {
        let i = InitData::from_toml(DOC.into()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let a = snp_with_host_data(dir.path(), &i.doc.digest);
        let h = host_data(&a).unwrap();
        assert_eq!(h, HostData::Field { name: "SNP HOST_DATA", value: i.doc.digest.clone() });
        check(Tee::Snp, &i, &h).unwrap();
        // another document: refused, naming the field and both values
        let other = InitData::from_toml(format!("{DOC}\"x\" = \"y\"\n")).unwrap();
        let e = check(Tee::Snp, &other, &h).unwrap_err();
        assert_eq!(
            e,
            Error::InitDataMismatch {
                field: "SNP HOST_DATA",
                file_digest: hex::encode(&other.doc.digest),
                field_value: hex::encode(&i.doc.digest),
            }
        );
        // a sha384 digest does not fit 32 bytes: never truncated into a match
        let big = InitData::from_toml(DOC.replace("sha256", "sha384")).unwrap();
        let a = snp_with_host_data(dir.path(), &big.doc.digest[..32]);
        assert!(matches!(check(Tee::Snp, &big, &host_data(&a).unwrap()), Err(Error::InitDataMismatch { .. })));
    }

    #[test]
    fn tdx_mrconfigid_binds_the_padded_digest() {
        let i = InitData::from_toml(DOC.replace("sha256", "sha384")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let a = tdx_with_mrconfigid(dir.path(), &i.doc.digest);
        let h = host_data(&a).unwrap();
        assert_eq!(h, HostData::Field { name: "TDX MRCONFIGID", value: i.doc.digest.clone() });
        check(Tee::Tdx, &i, &h).unwrap();
        // a sha256 digest is zero-padded to 48 bytes
        let small = InitData::from_toml(DOC.into()).unwrap();
        let a = tdx_with_mrconfigid(dir.path(), &small.doc.digest);
        check(Tee::Tdx, &small, &host_data(&a).unwrap()).unwrap();
        // non-zero padding is not a match
        let mut v = small.doc.digest.clone();
        v.push(1);
        let a = tdx_with_mrconfigid(dir.path(), &v);
        let e = check(Tee::Tdx, &small, &host_data(&a).unwrap()).unwrap_err();
        assert!(matches!(e, Error::InitDataMismatch { field: "TDX MRCONFIGID", .. }), "{e}");
        // an all-zero field (launched without init-data) does not match any document
        let a = tdx_with_mrconfigid(dir.path(), &[]);
        let e = load_and_check_str(&i, &a).unwrap_err().to_string();
        assert!(e.contains("TDX MRCONFIGID is 000000") && e.contains(&hex::encode(&i.doc.digest)), "{e}");
    }

    fn load_and_check_str(i: &InitData, a: &dyn Attester) -> Result<(), Error> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("init.toml");
        std::fs::write(&p, &i.body).unwrap();
        load_and_check(&p, a).map(|_| ())
    }

    #[test]
    fn software_tee_init_data_is_refused_as_unbound() {
        let i = InitData::from_toml(DOC.into()).unwrap();
        let a = tee::sample::SampleAttester::new();
        assert_eq!(host_data(&a).unwrap(), HostData::NoField);
        assert_eq!(load_and_check_str(&i, &a), Err(Error::InitDataUnbound(Tee::Sample)));
        // TEEs whose field is not read here: not refused (the KBS checks the evidence)
        check(Tee::Sgx, &i, &HostData::NotRead).unwrap();
    }
}
