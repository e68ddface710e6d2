//! Rego policies (regorus), compiled once when set and evaluated per request without re-parsing.

use std::sync::Arc;

use std::collections::BTreeMap;

use regorus::{CompiledPolicy, Engine, Value};
use serde::Deserialize;

use crate::Error;

/// Function that answers `query_reference_value(id)` inside attestation policies.
pub type ReferenceLookup = Arc<dyn Fn(&str) -> Vec<serde_json::Value> + Send + Sync>;

/// A compiled Rego policy with one entry point.
#[derive(Clone)]
pub struct Policy {
    compiled: CompiledPolicy,
    source: Arc<str>,
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy").field("len", &self.source.len()).finish()
    }
}

fn perr(e: impl std::fmt::Display) -> Error {
    Error::PolicyInvalid(e.to_string())
}

/// Resource policies read `data.plugin`, `data["resource-path"]` and `data.query` (trustee's
/// contract). A compiled policy has fixed data, so a small entry module rebinds those per request
/// with `with`, reading them from a reserved input member.
const RESOURCE_ENTRY: &str = r#"package kbs_resource_entry
import rego.v1
allow := x if {
    x := data.policy.allow with input as input["kbs-claims"] with data.plugin as input["kbs-request"].plugin with data["resource-path"] as input["kbs-request"]["resource-path"] with data.query as input["kbs-request"].query
}
"#;

/// Adds an operator's policy in Rego v1; a policy that is valid pre-1.0 Rego gets the error that
/// says so (and how to rewrite it) instead of a bare parse error.
fn add_v1_policy(e: &mut Engine, name: &str, source: &str) -> Result<(), Error> {
    e.set_rego_v0(false);
    if let Err(err) = e.add_policy(name.into(), source.into()) {
        let mut v0 = Engine::new();
        v0.set_rego_v0(true);
        return Err(if v0.add_policy(name.into(), source.into()).is_ok() {
            Error::PolicyRegoV0(err.to_string())
        } else {
            perr(err)
        });
    }
    Ok(())
}

impl Policy {
    /// Compiles an attestation policy; its entry point is `data.policy.trust_claims`.
    pub fn attestation(source: &str, lookup: ReferenceLookup) -> Result<Self, Error> {
        let mut e = Engine::new();
        add_v1_policy(&mut e, "attestation.rego", source)?;
        let l = lookup.clone();
        e.add_extension(
            "query_reference_value".into(),
            1,
            Box::new(move |args: Vec<Value>| {
                let id = args.first().and_then(|a| a.as_string().ok()).map(|s| s.to_string()).unwrap_or_default();
                let vals: Vec<Value> = l(&id).into_iter().map(Value::from).collect();
                Ok(Value::from(vals))
            }),
        )
        .map_err(perr)?;
        let compiled = e.compile_with_entrypoint(&"data.policy.trust_claims".into()).map_err(perr)?;
        Ok(Policy { compiled, source: source.into() })
    }

    /// Compiles a resource policy; its entry point is `data.policy.allow` (default deny).
    pub fn resource(source: &str) -> Result<Self, Error> {
        let mut e = Engine::new();
        add_v1_policy(&mut e, "resource.rego", source)?;
        e.add_policy("kbs_entry.rego".into(), RESOURCE_ENTRY.into()).map_err(perr)?;
        let compiled = e.compile_with_entrypoint(&"data.kbs_resource_entry.allow".into()).map_err(perr)?;
        Ok(Policy { compiled, source: source.into() })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates the attestation policy: returns the `trust_claims` object.
    pub fn trust_claims(&self, input: &serde_json::Value) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
        self.trust_claims_value(to_policy_value(input)?)
    }

    /// [`Policy::trust_claims`] on an input already converted with [`to_policy_value`].
    pub fn trust_claims_value(&self, input: Value) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
        let out = self.compiled.eval_with_input(input).map_err(|e| Error::PolicyEval(e.to_string()))?;
        match serde_json::to_value(&out) {
            Ok(serde_json::Value::Object(m)) => Ok(m),
            Ok(other) => Err(Error::PolicyEval(format!("trust_claims is not an object: {other}"))),
            Err(e) => Err(Error::PolicyEval(format!("trust_claims: {e}"))),
        }
    }

    /// Evaluates the resource policy; anything but `true` is a deny.
    pub fn allows(&self, claims: &serde_json::Value, plugin: &str, path: &str, query: &str) -> Result<bool, Error> {
        self.allows_value(&to_policy_value(claims)?, plugin, path, query)
    }

    /// [`Policy::allows`] with the token claims already converted (once per session, at attest
    /// time): only the small request object is built per call, the claims are shared.
    pub fn allows_value(&self, claims: &Value, plugin: &str, path: &str, query: &str) -> Result<bool, Error> {
        let mut request = BTreeMap::new();
        request.insert(Value::from("plugin"), Value::from(plugin));
        request.insert(Value::from("resource-path"), Value::from(path));
        request.insert(Value::from("query"), Value::from(query));
        let mut input = BTreeMap::new();
        input.insert(Value::from("kbs-claims"), claims.clone());
        input.insert(Value::from("kbs-request"), Value::from(request));
        let out = self.compiled.eval_with_input(Value::from(input)).map_err(|e| Error::PolicyEval(e.to_string()))?;
        Ok(out == Value::from(true))
    }
}

/// JSON to a Rego value, read through a reference (no intermediate copy of the JSON tree).
pub fn to_policy_value(v: &serde_json::Value) -> Result<Value, Error> {
    Value::deserialize(v).map_err(|e| Error::PolicyEval(format!("policy input: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_policy_sees_data_and_input() {
        let p = Policy::resource(
            r#"package policy
import rego.v1
default allow := false
allow if {
    data.plugin == "resource"
    data["resource-path"] == "default/key/1"
    input.tee == "x"
}"#,
        )
        .unwrap();
        let c = serde_json::json!({"tee": "x"});
        assert!(p.allows(&c, "resource", "default/key/1", "").unwrap());
        assert!(!p.allows(&c, "resource", "default/key/2", "").unwrap());
        assert!(!p.allows(&serde_json::json!({"tee": "y"}), "resource", "default/key/1", "").unwrap());
        assert!(!p.allows(&serde_json::json!({}), "resource", "default/key/1", "").unwrap());
    }

    #[test]
    fn attestation_policy_queries_reference_values() {
        let lookup: ReferenceLookup =
            Arc::new(|id: &str| if id == "m" { vec![serde_json::json!("abc")] } else { vec![] });
        let p = Policy::attestation(
            r#"package policy
import rego.v1
default executables := 33
executables := 3 if { input.sample.measurement in query_reference_value("m") }
trust_claims := {"executables": executables}
"#,
            lookup,
        )
        .unwrap();
        let ok = p.trust_claims(&serde_json::json!({"sample": {"measurement": "abc"}})).unwrap();
        assert_eq!(ok["executables"], 3);
        let bad = p.trust_claims(&serde_json::json!({"sample": {"measurement": "zzz"}})).unwrap();
        assert_eq!(bad["executables"], 33);
    }

    #[test]
    fn bad_policy_is_refused() {
        assert!(matches!(Policy::resource("package policy\nallow if {"), Err(Error::PolicyInvalid(_))));
    }

    /// A pre-1.0 policy (body without `if`) is refused with the error that names the dialect.
    #[test]
    fn rego_v0_policy_is_refused_naming_the_dialect() {
        let v0 = "package policy\ndefault allow = false\nallow {\n    input.submods.cpu0[\"ear.status\"] == \"affirming\"\n}\n";
        let e = Policy::resource(v0).unwrap_err();
        assert!(matches!(e, Error::PolicyRegoV0(_)), "{e:?}");
        assert!(e.to_string().contains("opa fmt --v0-v1"), "{e}");
        assert_eq!(e.type_name(), "ParsePolicyError");
        let e = Policy::attestation("package policy\ntrust_claims = {\"x\": 1} { true }\n", Arc::new(|_: &str| vec![]));
        assert!(matches!(e, Err(Error::PolicyRegoV0(_))), "{e:?}");
    }
}
