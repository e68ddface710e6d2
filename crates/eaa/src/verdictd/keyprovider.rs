//! ocicrypt key-provider protocol (the JSON carried by `keyprovider.KeyProviderService` WrapKey /
//! UnWrapKey and by ocicrypt's command key providers): the image's layer key options (`optsdata`)
//! are wrapped with AES-256-GCM under a KEK from the store; the annotation names the KEK.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tee::rng::Rng;

use super::keystore::KeyStore;
use super::policy::KeyOp;
use super::service::{aes_gcm_open, aes_gcm_seal};
use crate::Error;

/// The annotation stored in the image for this key provider.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Annotation {
    pub kid: String,
    pub algorithm: String,
    pub key_length: u32,
    pub iv: String,
    pub wrapped_data: String,
}

fn bad(s: impl Into<String>) -> Error {
    Error::BadMessage(s.into())
}

/// `EncryptConfig.Parameters` entries ocicrypt fills for its built-in key wrappers (not providers).
const BUILTIN_PARAMETERS: [&str; 6] =
    ["pubkeys", "x509s", "gpg-recipients", "gpg-pubkeyring", "pkcs11-pubkeys", "pkcs11-yamls"];

/// The KEK id from `keywrapparams.ec.Parameters`: ocicrypt's `provider:NAME:KID` puts base64(KID)
/// under NAME. The `verdictd` entry is used, else the only key-provider entry.
fn kid_from_params(ec: &Value) -> Result<String, Error> {
    let params =
        ec.get("Parameters").and_then(Value::as_object).ok_or_else(|| bad("keywrapparams.ec.Parameters missing"))?;
    let entry = match params.get("verdictd") {
        Some(v) => v,
        None => {
            let mut providers = params.iter().filter(|(k, _)| !BUILTIN_PARAMETERS.contains(&k.as_str()));
            match (providers.next(), providers.next()) {
                (Some((_, v)), None) => v,
                (None, _) => return Err(bad("no key-provider entry in keywrapparams.ec.Parameters")),
                (Some(_), Some(_)) => {
                    return Err(bad("several key-provider entries in Parameters and none named \"verdictd\""))
                }
            }
        }
    };
    let list = entry.as_array().ok_or_else(|| bad("key-provider parameter is not a list"))?;
    if list.len() != 1 {
        return Err(bad(format!("expected one key id for the provider, got {}", list.len())));
    }
    let first = list[0].as_str().ok_or_else(|| bad("key id is not a string"))?;
    // Parameters values are base64 ([]byte in Go's JSON); accept plain ids as well.
    Ok(STANDARD.decode(first).ok().and_then(|b| String::from_utf8(b).ok()).unwrap_or_else(|| first.to_string()))
}

/// Asked before a key is used: `Ok(())` lets the operation go on (see [`super::policy::Policy::allows_key`]).
pub type Authorize<'a> = &'a dyn Fn(&str, KeyOp) -> Result<(), Error>;

/// Handles one key-provider request (`{"op":"keywrap"|"keyunwrap",...}`); `authorize` is asked
/// with the key id before the key is read.
pub fn handle(store: &KeyStore, rng: &dyn Rng, req: &Value, authorize: Authorize<'_>) -> Result<Value, Error> {
    match req.get("op").and_then(Value::as_str) {
        Some("keywrap") => {
            let p = req.get("keywrapparams").ok_or_else(|| bad("keywrapparams missing"))?;
            let kid = kid_from_params(p.get("ec").unwrap_or(&Value::Null))?;
            let opts = STANDARD
                .decode(p.get("optsdata").and_then(Value::as_str).ok_or_else(|| bad("optsdata missing"))?)
                .map_err(|e| bad(format!("optsdata: {e}")))?;
            authorize(&kid, KeyOp::WrapKey)?;
            let key = store.get(&kid)?;
            let mut iv = [0u8; 12];
            rng.fill(&mut iv)?;
            let wrapped = aes_gcm_seal(&key, &iv, &opts)?;
            let ann = Annotation {
                kid,
                algorithm: "AES".into(),
                key_length: 256,
                iv: STANDARD.encode(iv),
                wrapped_data: STANDARD.encode(wrapped),
            };
            let ann = serde_json::to_vec(&ann).map_err(|e| bad(e.to_string()))?;
            Ok(json!({"keywrapresults": {"annotation": STANDARD.encode(ann)}}))
        }
        Some("keyunwrap") => {
            let p = req.get("keyunwrapparams").ok_or_else(|| bad("keyunwrapparams missing"))?;
            let ann = STANDARD
                .decode(p.get("annotation").and_then(Value::as_str).ok_or_else(|| bad("annotation missing"))?)
                .map_err(|e| bad(format!("annotation: {e}")))?;
            let ann: Annotation = serde_json::from_slice(&ann).map_err(|e| bad(format!("annotation: {e}")))?;
            authorize(&ann.kid, KeyOp::UnWrapKey)?;
            let key = store.get(&ann.kid)?;
            let iv = STANDARD.decode(&ann.iv).map_err(|e| bad(format!("iv: {e}")))?;
            let ct = STANDARD.decode(&ann.wrapped_data).map_err(|e| bad(format!("wrapped_data: {e}")))?;
            let opts = aes_gcm_open(&key, &iv, &ct)?;
            Ok(json!({"keyunwrapresults": {"optsdata": STANDARD.encode(opts)}}))
        }
        other => Err(bad(format!("unknown key-provider op {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_id_from_parameters() {
        let p = |v: Value| kid_from_params(&json!({ "Parameters": v }));
        assert_eq!(p(json!({"verdictd": [STANDARD.encode("k1")]})).unwrap(), "k1");
        // another provider name, next to a built-in recipient entry
        assert_eq!(p(json!({"mykms": [STANDARD.encode("k2")], "pubkeys": ["xx"]})).unwrap(), "k2");
        assert!(p(json!({"a": [STANDARD.encode("k")], "b": [STANDARD.encode("k")]})).is_err());
        assert!(p(json!({"pubkeys": ["xx"]})).is_err());
        assert!(p(json!({"verdictd": []})).is_err());
        assert!(p(json!({"verdictd": [STANDARD.encode("a"), STANDARD.encode("b")]})).is_err());
        assert!(kid_from_params(&Value::Null).is_err());
    }
}
