//! The software TEE (`sample`): evidence shaped like trustee's `sample` format
//! (`{"svn","report_data"}`), plus a measurement of what the software enclave loaded and an explicit
//! label. There is **no hardware isolation and no confidentiality**: anyone can forge this evidence.
//! A [`SampleVerifier`] can only be built with [`crate::danger::AcceptSoftwareTee`], and its claims
//! always say `hardware: false`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::{danger, report_data, Attester, Claims, Error, Evidence, Expected, Tee, Verifier};

/// Size of the software TEE's report-data field (same as TDX/SGX/SNP).
pub const REPORT_DATA_LEN: usize = 64;

/// The label carried in every software-TEE evidence and claim set.
pub const NOTICE: &str = "software TEE: no hardware isolation, no confidentiality; development only";

/// Wire form of software-TEE evidence. Unknown members are ignored (forward compatible);
/// `svn` and `report_data` are the members trustee's sample verifier reads.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SampleEvidence {
    pub svn: String,
    /// Base64 (standard alphabet) of the report data, at most [`REPORT_DATA_LEN`] bytes. Produced
    /// unpadded: trustee's `sample` verifier (deps/verifier/src/sample/mod.rs at 78962cd4) compares
    /// the decoded bytes with the expected value exactly, and guest-components' sample attester
    /// sends the value as given.
    pub report_data: String,
    /// Hex SHA-384 of what the software enclave loaded, if the producer measured anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measurement: Option<String>,
    /// Always [`NOTICE`] when produced by this crate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
}

/// Produces software-TEE evidence.
#[derive(Debug, Clone, Default)]
pub struct SampleAttester {
    svn: u32,
    measurement: Option<String>,
}

impl SampleAttester {
    pub fn new() -> Self {
        SampleAttester { svn: 1, measurement: None }
    }

    /// Records the measurement (hex SHA-384) of what the software enclave loaded.
    pub fn with_measurement(mut self, measurement_hex: impl Into<String>) -> Self {
        self.measurement = Some(measurement_hex.into());
        self
    }
}

impl Attester for SampleAttester {
    fn tee(&self) -> Tee {
        Tee::Sample
    }

    fn evidence(&self, rd: &[u8]) -> Result<Evidence, Error> {
        // Not padded: the software TEE has no fixed-size field, and trustee's sample verifier
        // rejects a padded value ("REPORT_DATA is different from that in Sample Quote").
        if rd.len() > REPORT_DATA_LEN {
            return Err(Error::ReportDataTooLong { tee: Tee::Sample, len: rd.len(), max: REPORT_DATA_LEN });
        }
        let ev = SampleEvidence {
            svn: self.svn.to_string(),
            report_data: STANDARD.encode(rd),
            measurement: self.measurement.clone(),
            notice: Some(NOTICE.to_string()),
        };
        let bytes = serde_json::to_vec(&ev).map_err(|e| Error::Io(e.to_string()))?;
        Ok(Evidence { tee: Tee::Sample, bytes })
    }
}

/// Verifies software-TEE evidence: only checks its shape and binding (there is nothing to check a
/// signature against).
#[derive(Debug)]
pub struct SampleVerifier {
    _opt_in: danger::AcceptSoftwareTee,
}

impl SampleVerifier {
    pub fn new(opt_in: danger::AcceptSoftwareTee) -> Self {
        SampleVerifier { _opt_in: opt_in }
    }
}

fn malformed(reason: impl Into<String>) -> Error {
    Error::Malformed { tee: Tee::Sample, reason: reason.into() }
}

impl Verifier for SampleVerifier {
    fn tee(&self) -> Tee {
        Tee::Sample
    }

    fn verify(&self, evidence: &[u8], expected: &Expected<'_>) -> Result<Claims, Error> {
        let ev: SampleEvidence =
            serde_json::from_slice(evidence).map_err(|e| malformed(format!("not sample evidence JSON: {e}")))?;
        let field = STANDARD
            .decode(ev.report_data.as_bytes())
            .map_err(|e| malformed(format!("report_data is not base64: {e}")))?;
        if field.len() > REPORT_DATA_LEN {
            return Err(malformed(format!("report_data is {} bytes, max {REPORT_DATA_LEN}", field.len())));
        }
        // Accepts the exact value and, for evidence from our attester before it stopped padding, the
        // value zero-padded to 64 bytes: the tail must be zero, so padding carries no information
        // and accepting it does not loosen the binding.
        if let Some(exp) = expected.bound_report_data() {
            report_data::check(exp, &field)?;
        }
        if expected.init_data_digest.is_some() {
            // The software TEE has no launch-time config field to bind init-data to.
            return Err(Error::InitDataMismatch {
                expected: "a bound init-data digest".into(),
                found: "none (software TEE has no init-data field)".into(),
            });
        }
        let mut fields = std::collections::BTreeMap::new();
        fields.insert("svn".into(), serde_json::Value::String(ev.svn));
        if let Some(m) = ev.measurement {
            fields.insert("measurement".into(), serde_json::Value::String(m));
        }
        fields.insert("software_tee".into(), serde_json::Value::Bool(true));
        fields.insert("notice".into(), serde_json::Value::String(NOTICE.into()));
        Ok(Claims { tee: Tee::Sample, hardware: false, report_data: field, init_data: None, fields })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::VerifierSet;

    #[test]
    fn roundtrip_and_refused_by_default() {
        let ev = SampleAttester::new().with_measurement("ab").evidence(&[7; 48]).unwrap();
        let exp = Expected::new(&[7; 48]);
        assert_eq!(
            VerifierSet::hardware_only().verify(Tee::Sample, &ev.bytes, &exp),
            Err(Error::VerifierNotEnabled(Tee::Sample))
        );
        let set = VerifierSet::hardware_only().accept_software_tee(danger::AcceptSoftwareTee);
        let c = set.verify(Tee::Sample, &ev.bytes, &exp).unwrap();
        assert!(!c.hardware);
        assert_eq!(c.fields["measurement"], "ab");
        let wrong = Expected::new(&[8; 48]);
        assert!(matches!(set.verify(Tee::Sample, &ev.bytes, &wrong), Err(Error::ReportDataMismatch { .. })));
    }

    #[test]
    fn report_data_is_not_padded() {
        // trustee's sample verifier compares the decoded report_data with the 48-byte binding
        // hash exactly; a padded value is refused there.
        let ev = SampleAttester::new().evidence(&[7; 48]).unwrap();
        let parsed: SampleEvidence = serde_json::from_slice(&ev.bytes).unwrap();
        assert_eq!(STANDARD.decode(parsed.report_data).unwrap(), vec![7u8; 48]);
        assert_eq!(
            SampleAttester::new().evidence(&[7; 65]).map(|_| ()),
            Err(Error::ReportDataTooLong { tee: Tee::Sample, len: 65, max: REPORT_DATA_LEN })
        );
    }

    #[test]
    fn accepts_unpadded_and_zero_padded_report_data() {
        let v = SampleVerifier::new(danger::AcceptSoftwareTee);
        let exp = Expected::new(&[7; 48]);
        for (field, ok) in [
            (vec![7u8; 48], true),
            ([vec![7u8; 48], vec![0; 16]].concat(), true),
            ([vec![7u8; 48], vec![1; 16]].concat(), false),
        ] {
            let j = format!(r#"{{"svn":"1","report_data":"{}"}}"#, STANDARD.encode(&field));
            let r = v.verify(j.as_bytes(), &exp);
            assert_eq!(r.is_ok(), ok, "{r:?}");
            if let Ok(c) = r {
                assert_eq!(c.report_data, field);
            }
        }
    }

    #[test]
    fn reads_trustee_shape() {
        let rd = STANDARD.encode([1u8; 64]);
        let j = format!(r#"{{"svn":"1","report_data":"{rd}"}}"#);
        let c = SampleVerifier::new(danger::AcceptSoftwareTee).verify(j.as_bytes(), &Expected::new(&[1; 64])).unwrap();
        assert_eq!(c.report_data, vec![1; 64]);
    }
}
