//! Rego policy deciding who gets which key.
//!
//! The decision is `data.policy.allow` over an input built from the requester:
//! * an RA-TLS client (verified evidence): `{"attested": true, "mrEnclave", "mrSigner", "productId",
//!   "svn", "tee", "hardware"}`, plus `"kid"` and `"op"` (`"Get KEK"`, `"Decrypt"`, `"keywrap"`,
//!   `"keyunwrap"`) for a key request. Without `kid` the question is whether the client may connect.
//! * the unauthenticated key-provider endpoints (gRPC, the `keyprovider` command):
//!   `{"attested": false, "kid", "op"}`.
//!
//! `data.reference` is the operator's reference file ([`Policy::new`]); without one it is `{}` and
//! the default policy allows nothing. The default policy ([`DEFAULT_POLICY`]):
//! * a *reference set* is an object with `mrEnclave` and/or `mrSigner` lists (at least one of them;
//!   an omitted list is not checked, an **empty list matches nothing**), optional minimum
//!   `productId` / `svn`, and `softwareTee: true` to accept the software TEE;
//! * the file's top level is the default set; `"keys": {"KID": SET}` binds a key to its own set,
//!   which then replaces the default set for that key;
//! * a client may connect when it matches the default set or any key's set, and gets a key when it
//!   matches that key's set (or the default set for keys without one);
//! * `"unattestedKeys": ["KID", ...]` lists the keys the unauthenticated key-provider endpoints may
//!   wrap and unwrap (image encryption on the operator's host); no other key is served there.
//!
//! Policies are Rego v1 (`rego.v1`), read by the same regorus version and builtins as the KBS's. A
//! policy in pre-1.0 syntax (rule bodies without `if`, multi-value rules without `contains`) is
//! refused with [`Error::PolicyRegoV0`], which says what to change; `opa fmt --v0-v1` rewrites
//! such a file. Policies that already used `if` (with `import future.keywords...`) load unchanged.

use serde_json::{json, Value};

use crate::measurements::Measurements;
use crate::Error;

pub const DEFAULT_POLICY: &str = r#"package policy

import rego.v1

default allow := false

# May connect: matches the default reference set or the set of any key.
allow if {
    input.attested == true
    not has_kid
    some r in reference_sets
    matches(r)
}

# A key request from an attested client: the key's own set, else the default set.
allow if {
    input.attested == true
    has_kid
    matches(key_set)
}

# The unauthenticated key-provider endpoints: only keys the operator listed for them.
allow if {
    input.attested == false
    has_kid
    input.kid in data.reference.unattestedKeys
}

has_kid if { _ = input.kid }

reference_sets contains data.reference
reference_sets contains r if { some r in data.reference.keys }

key_set = data.reference.keys[input.kid]
key_set = data.reference if { not has_key_set }

has_key_set if { _ = data.reference.keys[input.kid] }

# A set names at least one measurement list; an empty list matches nothing.
matches(r) if {
    names_a_measurement(r)
    enclave_ok(r)
    signer_ok(r)
    input.productId >= object.get(r, "productId", 0)
    input.svn >= object.get(r, "svn", 0)
    tee_ok(r)
}

names_a_measurement(r) if { _ = r.mrEnclave }
names_a_measurement(r) if { _ = r.mrSigner }

enclave_ok(r) if { not has_field(r, "mrEnclave") }
enclave_ok(r) if { input.mrEnclave in r.mrEnclave }

signer_ok(r) if { not has_field(r, "mrSigner") }
signer_ok(r) if { input.mrSigner in r.mrSigner }

has_field(r, f) if { _ = r[f] }

tee_ok(r) if { input.hardware == true }
tee_ok(r) if { r.softwareTee == true }
"#;

/// What a key is requested for (the Rego input's `op`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOp {
    /// verdictd `Get KEK`: the key itself is handed out.
    GetKek,
    /// verdictd `Decrypt`: blobs are decrypted with the key.
    Decrypt,
    /// key-provider `keywrap`.
    WrapKey,
    /// key-provider `keyunwrap`.
    UnWrapKey,
}

impl KeyOp {
    pub fn name(self) -> &'static str {
        match self {
            KeyOp::GetKek => "Get KEK",
            KeyOp::Decrypt => "Decrypt",
            KeyOp::WrapKey => "keywrap",
            KeyOp::UnWrapKey => "keyunwrap",
        }
    }
}

/// A compiled policy with its reference data.
#[derive(Clone)]
pub struct Policy {
    engine: regorus::Engine,
    has_reference: bool,
}

fn pol<E: std::fmt::Display>(e: E) -> Error {
    Error::Policy(e.to_string())
}

impl Policy {
    /// `reference_json`: the operator's reference values; `None` leaves `data.reference` empty, so
    /// the default policy refuses every client and every key.
    pub fn new(rego: &str, reference_json: Option<&str>) -> Result<Self, Error> {
        let mut engine = regorus::Engine::new();
        engine.set_rego_v0(false);
        if let Err(e) = engine.add_policy("policy.rego".to_string(), rego.to_string()) {
            return Err(Self::syntax_error(rego, e));
        }
        let reference: Value = match reference_json {
            Some(r) => {
                serde_json::from_str(r).map_err(|e| Error::Policy(format!("reference values are not JSON: {e}")))?
            }
            None => json!({}),
        };
        if !reference.is_object() {
            return Err(Error::Policy("reference values must be a JSON object".into()));
        }
        let data = regorus::Value::from_json_str(&json!({"reference": reference}).to_string()).map_err(pol)?;
        engine.add_data(data).map_err(pol)?;
        Ok(Policy { engine, has_reference: reference_json.is_some() })
    }

    /// A policy that is not Rego v1: say so when it is valid pre-1.0 Rego, so the operator knows
    /// what to change rather than puzzling over a parse error at an `{`.
    fn syntax_error(rego: &str, v1_error: impl std::fmt::Display) -> Error {
        let mut v0 = regorus::Engine::new();
        v0.set_rego_v0(true);
        let detail = v1_error.to_string();
        if v0.add_policy("policy.rego".to_string(), rego.to_string()).is_ok() {
            Error::PolicyRegoV0 { detail }
        } else {
            Error::Policy(detail)
        }
    }

    /// Whether the operator gave reference values at all.
    pub fn has_reference(&self) -> bool {
        self.has_reference
    }

    fn measurements_input(m: &Measurements) -> Value {
        json!({
            "attested": true,
            "mrEnclave": m.mr_enclave,
            "mrSigner": m.mr_signer,
            "productId": m.product_id,
            "svn": m.svn,
            "tee": m.tee,
            "hardware": m.hardware,
        })
    }

    /// The input for a key request by `client` (`None`: an unauthenticated key-provider caller).
    pub fn key_input(client: Option<&Measurements>, kid: &str, op: KeyOp) -> Value {
        let mut v = client.map_or_else(|| json!({"attested": false}), Self::measurements_input);
        if let Some(o) = v.as_object_mut() {
            o.insert("kid".into(), kid.into());
            o.insert("op".into(), op.name().into());
        }
        v
    }

    fn eval(&self, input: &Value) -> Result<bool, Error> {
        let mut engine = self.engine.clone();
        engine.set_input(regorus::Value::from_json_str(&input.to_string()).map_err(pol)?);
        let v = engine.eval_rule("data.policy.allow".to_string()).map_err(pol)?;
        Ok(v == regorus::Value::from(true))
    }

    /// May this attested client connect at all? `Ok(())` only when `data.policy.allow` is `true`.
    pub fn admits(&self, m: &Measurements) -> Result<(), Error> {
        if self.eval(&Self::measurements_input(m))? {
            Ok(())
        } else {
            Err(Error::Policy(format!(
                "denied: mrEnclave {} mrSigner {} productId {} svn {} tee {}",
                m.mr_enclave, m.mr_signer, m.product_id, m.svn, m.tee
            )))
        }
    }

    /// May `client` (`None`: unauthenticated key-provider caller) use key `kid` for `op`?
    pub fn allows_key(&self, client: Option<&Measurements>, kid: &str, op: KeyOp) -> Result<(), Error> {
        if self.eval(&Self::key_input(client, kid, op))? {
            Ok(())
        } else {
            Err(Error::KeyDenied { kid: kid.to_string(), op: op.name() })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(hw: bool, enclave: &str, svn: u64) -> Measurements {
        Measurements {
            tee: "sgx".into(),
            hardware: hw,
            mr_enclave: enclave.into(),
            mr_signer: "bb".into(),
            product_id: 1,
            svn,
        }
    }

    const ALLOW_AA: &str = r#"{"mrEnclave":["aa"],"mrSigner":["bb"],"productId":0,"svn":0}"#;

    #[test]
    fn no_reference_values_refuse_every_key() {
        let p = Policy::new(DEFAULT_POLICY, None).unwrap();
        assert!(!p.has_reference());
        assert!(p.admits(&m(true, "aa", 0)).is_err());
        for op in [KeyOp::GetKek, KeyOp::Decrypt, KeyOp::WrapKey, KeyOp::UnWrapKey] {
            assert_eq!(
                p.allows_key(Some(&m(true, "aa", 0)), "k1", op),
                Err(Error::KeyDenied { kid: "k1".into(), op: op.name() })
            );
            assert!(p.allows_key(None, "k1", op).is_err());
        }
    }

    #[test]
    fn empty_reference_list_matches_nothing() {
        // before: an empty list meant "any measurement" and every hardware TEE got every key
        let p = Policy::new(
            DEFAULT_POLICY,
            Some(r#"{"mrEnclave":[],"mrSigner":[],"productId":0,"svn":0,"softwareTee":false}"#),
        )
        .unwrap();
        assert!(p.admits(&m(true, "aa", 0)).is_err());
        assert!(p.allows_key(Some(&m(true, "aa", 0)), "k1", KeyOp::GetKek).is_err());
        // a set that names no measurement at all matches nothing either
        let p = Policy::new(DEFAULT_POLICY, Some(r#"{"productId":0,"svn":0}"#)).unwrap();
        assert!(p.admits(&m(true, "aa", 0)).is_err());
        // an omitted list is not checked when the other one is given (trust by signer)
        let p = Policy::new(DEFAULT_POLICY, Some(r#"{"mrSigner":["bb"]}"#)).unwrap();
        assert!(p.admits(&m(true, "zz", 0)).is_ok());
    }

    #[test]
    fn default_denies_software_allows_registered_hardware() {
        let p = Policy::new(DEFAULT_POLICY, Some(ALLOW_AA)).unwrap();
        assert!(p.admits(&m(true, "aa", 0)).is_ok());
        assert!(p.allows_key(Some(&m(true, "aa", 0)), "k1", KeyOp::GetKek).is_ok());
        assert!(p.admits(&m(true, "cc", 0)).is_err());
        assert!(p.admits(&m(false, "aa", 0)).is_err());
    }

    #[test]
    fn reference_lists_and_svn() {
        let p = Policy::new(
            DEFAULT_POLICY,
            Some(r#"{"mrEnclave":["aa"],"mrSigner":[],"productId":1,"svn":3,"softwareTee":true}"#),
        )
        .unwrap();
        // mrSigner [] matches nothing
        assert!(p.admits(&m(false, "aa", 3)).is_err());
        let p = Policy::new(
            DEFAULT_POLICY,
            Some(r#"{"mrEnclave":["aa"],"mrSigner":["bb"],"productId":1,"svn":3,"softwareTee":true}"#),
        )
        .unwrap();
        assert!(p.admits(&m(false, "aa", 3)).is_ok());
        assert!(p.admits(&m(false, "aa", 2)).is_err());
        assert!(p.admits(&m(false, "cc", 9)).is_err());
    }

    #[test]
    fn keys_bound_to_their_own_reference_set() {
        let p = Policy::new(
            DEFAULT_POLICY,
            Some(r#"{"mrEnclave":["aa"],"mrSigner":["bb"],"keys":{"k2":{"mrEnclave":["cc"],"mrSigner":["bb"]},"k3":{"mrEnclave":[]}}}"#),
        )
        .unwrap();
        let (aa, cc) = (m(true, "aa", 0), m(true, "cc", 0));
        // both may connect
        assert!(p.admits(&aa).is_ok() && p.admits(&cc).is_ok());
        // k1 has no set of its own: the default set; k2 only for cc; k3 for nobody
        assert!(p.allows_key(Some(&aa), "k1", KeyOp::GetKek).is_ok());
        assert!(p.allows_key(Some(&cc), "k1", KeyOp::GetKek).is_err());
        assert!(p.allows_key(Some(&cc), "k2", KeyOp::UnWrapKey).is_ok());
        assert!(p.allows_key(Some(&aa), "k2", KeyOp::UnWrapKey).is_err());
        assert!(p.allows_key(Some(&aa), "k3", KeyOp::Decrypt).is_err());
        assert!(p.allows_key(Some(&cc), "k3", KeyOp::Decrypt).is_err());
    }

    #[test]
    fn rego_input_carries_the_kid_and_op() {
        let rego = "package policy\nimport future.keywords.if\ndefault allow = false\nallow if { input.kid == \"k1\"; input.op == \"Get KEK\"; input.attested }\n";
        let p = Policy::new(rego, Some("{}")).unwrap();
        assert!(p.allows_key(Some(&m(true, "aa", 0)), "k1", KeyOp::GetKek).is_ok());
        assert!(p.allows_key(Some(&m(true, "aa", 0)), "k2", KeyOp::GetKek).is_err());
        assert!(p.allows_key(Some(&m(true, "aa", 0)), "k1", KeyOp::Decrypt).is_err());
        assert!(p.allows_key(None, "k1", KeyOp::GetKek).is_err());
        let input = Policy::key_input(Some(&m(true, "aa", 0)), "k9", KeyOp::UnWrapKey);
        assert_eq!(input["kid"], "k9");
        assert_eq!(input["op"], "keyunwrap");
        assert_eq!(input["mrEnclave"], "aa");
    }

    #[test]
    fn unattested_key_provider_only_for_listed_keys() {
        let p = Policy::new(DEFAULT_POLICY, Some(r#"{"unattestedKeys":["k1"]}"#)).unwrap();
        assert!(p.allows_key(None, "k1", KeyOp::WrapKey).is_ok());
        assert!(p.allows_key(None, "k1", KeyOp::UnWrapKey).is_ok());
        assert!(p.allows_key(None, "k2", KeyOp::UnWrapKey).is_err());
        // it is not a reference set for attested clients
        assert!(p.admits(&m(true, "aa", 0)).is_err());
        let p = Policy::new(DEFAULT_POLICY, Some(r#"{"unattestedKeys":[]}"#)).unwrap();
        assert!(p.allows_key(None, "k1", KeyOp::WrapKey).is_err());
    }

    /// The built-in policy of earlier releases (`future.keywords` imports, `if` everywhere) still
    /// loads under Rego v1 and decides as before.
    #[test]
    fn future_keywords_policy_of_earlier_releases_still_works() {
        let old = DEFAULT_POLICY.replace("import rego.v1\n", "import future.keywords.if\nimport future.keywords.in\n");
        assert!(old.contains("import future.keywords.if") && !old.contains("rego.v1"));
        let p = Policy::new(&old, Some(ALLOW_AA)).unwrap();
        assert!(p.admits(&m(true, "aa", 0)).is_ok());
        assert!(p.admits(&m(true, "cc", 0)).is_err());
        assert!(p.allows_key(Some(&m(true, "aa", 0)), "k1", KeyOp::GetKek).is_ok());
    }

    /// A policy in the pre-1.0 style of the original verdictd (bodies without `if`, a partial set
    /// without `contains`) is refused with an error that names the dialect and the fix.
    #[test]
    fn rego_v0_policy_is_refused_with_a_clear_error() {
        let v0 = "package policy\n\ndefault allow = false\n\nallow {\n    input.mrEnclave == data.reference.mrEnclave[_]\n}\n";
        let e = Policy::new(v0, Some(ALLOW_AA)).err().unwrap();
        assert!(matches!(e, Error::PolicyRegoV0 { .. }), "{e:?}");
        let msg = e.to_string();
        assert!(msg.contains("Rego v0") && msg.contains("`if`") && msg.contains("opa fmt --v0-v1"), "{msg}");
        let set = "package policy\nimport future.keywords.if\ndenied[msg] { msg := \"x\" }\nallow if { count(denied) == 0 }\n";
        assert!(matches!(Policy::new(set, None), Err(Error::PolicyRegoV0 { .. })));
        // the same policy in v1 syntax loads and decides
        let v1 = "package policy\nimport rego.v1\ndefault allow := false\nallow if input.mrEnclave in data.reference.mrEnclave\n";
        let p = Policy::new(v1, Some(ALLOW_AA)).unwrap();
        assert!(p.admits(&m(true, "aa", 0)).is_ok());
        assert!(p.admits(&m(true, "cc", 0)).is_err());
        // not Rego in any dialect: a plain policy error, not the dialect hint
        assert!(matches!(Policy::new("package policy\nallow if {", None), Err(Error::Policy(_))));
    }

    #[test]
    fn broken_policy_is_an_error_and_undefined_is_deny() {
        assert!(Policy::new("package policy\nallow if {", None).is_err());
        assert!(Policy::new(DEFAULT_POLICY, Some("not json")).is_err());
        let p = Policy::new("package policy\n", Some(ALLOW_AA)).unwrap();
        assert!(p.admits(&m(true, "aa", 0)).is_err());
    }
}
