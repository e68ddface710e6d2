//! Rego policy over a client's verified measurements. Input
//! `{"mrEnclave","mrSigner","productId","svn","tee","hardware"}`; the decision is
//! `data.policy.allow`, which the default policy leaves false unless the measurements are in the
//! reference lists (an empty list accepts any), productId/svn reach the reference values, and the
//! evidence is from hardware (or the reference data sets `"softwareTee": true`).

use serde_json::json;

use crate::measurements::Measurements;
use crate::Error;

pub const DEFAULT_POLICY: &str = r#"package policy

import future.keywords.if
import future.keywords.in

default allow = false

allow if {
    mr_enclave_ok
    mr_signer_ok
    input.productId >= data.reference.productId
    input.svn >= data.reference.svn
    tee_ok
}

mr_enclave_ok if { count(data.reference.mrEnclave) == 0 }
mr_enclave_ok if { input.mrEnclave in data.reference.mrEnclave }

mr_signer_ok if { count(data.reference.mrSigner) == 0 }
mr_signer_ok if { input.mrSigner in data.reference.mrSigner }

tee_ok if { input.hardware == true }
tee_ok if { data.reference.softwareTee == true }
"#;

/// Reference values when none are configured: any measurement, hardware only.
pub const DEFAULT_REFERENCE: &str = r#"{"mrEnclave":[],"mrSigner":[],"productId":0,"svn":0,"softwareTee":false}"#;

/// A compiled policy with its reference data.
#[derive(Clone)]
pub struct Policy {
    engine: regorus::Engine,
}

fn pol<E: std::fmt::Display>(e: E) -> Error {
    Error::Policy(e.to_string())
}

impl Policy {
    pub fn new(rego: &str, reference_json: &str) -> Result<Self, Error> {
        let mut engine = regorus::Engine::new();
        engine.add_policy("policy.rego".to_string(), rego.to_string()).map_err(pol)?;
        let reference: serde_json::Value = serde_json::from_str(reference_json).map_err(pol)?;
        let data = regorus::Value::from_json_str(&json!({"reference": reference}).to_string()).map_err(pol)?;
        engine.add_data(data).map_err(pol)?;
        Ok(Policy { engine })
    }

    pub fn input(m: &Measurements) -> serde_json::Value {
        json!({
            "mrEnclave": m.mr_enclave,
            "mrSigner": m.mr_signer,
            "productId": m.product_id,
            "svn": m.svn,
            "tee": m.tee,
            "hardware": m.hardware,
        })
    }

    /// `Ok(())` only when `data.policy.allow` is exactly `true`.
    pub fn allows(&self, m: &Measurements) -> Result<(), Error> {
        let mut engine = self.engine.clone();
        engine.set_input(regorus::Value::from_json_str(&Self::input(m).to_string()).map_err(pol)?);
        let v = engine.eval_rule("data.policy.allow".to_string()).map_err(pol)?;
        if v == regorus::Value::from(true) {
            Ok(())
        } else {
            Err(Error::Policy(format!("denied: mrEnclave {} mrSigner {} productId {} svn {} tee {}", m.mr_enclave, m.mr_signer, m.product_id, m.svn, m.tee)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(hw: bool, enclave: &str, svn: u64) -> Measurements {
        Measurements { tee: "sgx".into(), hardware: hw, mr_enclave: enclave.into(), mr_signer: "bb".into(), product_id: 1, svn }
    }

    #[test]
    fn default_denies_software_allows_hardware() {
        let p = Policy::new(DEFAULT_POLICY, DEFAULT_REFERENCE).unwrap();
        assert!(p.allows(&m(true, "aa", 0)).is_ok());
        assert!(matches!(p.allows(&m(false, "aa", 0)), Err(Error::Policy(_))));
    }

    #[test]
    fn reference_lists_and_svn() {
        let p = Policy::new(DEFAULT_POLICY, r#"{"mrEnclave":["aa"],"mrSigner":[],"productId":1,"svn":3,"softwareTee":true}"#).unwrap();
        assert!(p.allows(&m(false, "aa", 3)).is_ok());
        assert!(p.allows(&m(false, "aa", 2)).is_err());
        assert!(p.allows(&m(false, "cc", 9)).is_err());
    }

    #[test]
    fn broken_policy_is_an_error_and_undefined_is_deny() {
        assert!(Policy::new("package policy\nallow if {", DEFAULT_REFERENCE).is_err());
        let p = Policy::new("package policy\n", DEFAULT_REFERENCE).unwrap();
        assert!(p.allows(&m(true, "aa", 0)).is_err());
    }
}
