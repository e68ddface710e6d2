//! ocicrypt key-provider protocol (the JSON carried by `keyprovider.KeyProviderService` WrapKey /
//! UnWrapKey and by ocicrypt's command key providers): the image's layer key options (`optsdata`)
//! are wrapped with AES-256-GCM under a KEK from the store; the annotation names the KEK.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::service::{aes_gcm_open, aes_gcm_seal, Rng};
use super::keystore::KeyStore;
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

/// The KEK id from `keywrapparams.ec.Parameters`: the `verdictd` entry, else the first entry.
fn kid_from_params(ec: &Value) -> Result<String, Error> {
    let params = ec.get("Parameters").and_then(Value::as_object).ok_or_else(|| bad("keywrapparams.ec.Parameters missing"))?;
    let list = params.get("verdictd").or_else(|| params.values().next()).and_then(Value::as_array).ok_or_else(|| bad("no key id in Parameters"))?;
    let first = list.first().and_then(Value::as_str).ok_or_else(|| bad("empty key id list"))?;
    // Parameters values are base64 in ocicrypt; accept plain ids as well.
    Ok(STANDARD.decode(first).ok().and_then(|b| String::from_utf8(b).ok()).unwrap_or_else(|| first.to_string()))
}

/// Handles one key-provider request (`{"op":"keywrap"|"keyunwrap",...}`).
pub fn handle(store: &KeyStore, rng: &dyn Rng, req: &Value) -> Result<Value, Error> {
    match req.get("op").and_then(Value::as_str) {
        Some("keywrap") => {
            let p = req.get("keywrapparams").ok_or_else(|| bad("keywrapparams missing"))?;
            let kid = kid_from_params(p.get("ec").unwrap_or(&Value::Null))?;
            let opts = STANDARD.decode(p.get("optsdata").and_then(Value::as_str).ok_or_else(|| bad("optsdata missing"))?).map_err(|e| bad(format!("optsdata: {e}")))?;
            let key = store.get(&kid)?;
            let mut iv = [0u8; 12];
            rng.fill(&mut iv)?;
            let wrapped = aes_gcm_seal(&key, &iv, &opts)?;
            let ann = Annotation { kid, algorithm: "AES".into(), key_length: 256, iv: STANDARD.encode(iv), wrapped_data: STANDARD.encode(wrapped) };
            let ann = serde_json::to_vec(&ann).map_err(|e| bad(e.to_string()))?;
            Ok(json!({"keywrapresults": {"annotation": STANDARD.encode(ann)}}))
        }
        Some("keyunwrap") => {
            let p = req.get("keyunwrapparams").ok_or_else(|| bad("keyunwrapparams missing"))?;
            let ann = STANDARD.decode(p.get("annotation").and_then(Value::as_str).ok_or_else(|| bad("annotation missing"))?).map_err(|e| bad(format!("annotation: {e}")))?;
            let ann: Annotation = serde_json::from_slice(&ann).map_err(|e| bad(format!("annotation: {e}")))?;
            let key = store.get(&ann.kid)?;
            let iv = STANDARD.decode(&ann.iv).map_err(|e| bad(format!("iv: {e}")))?;
            let ct = STANDARD.decode(&ann.wrapped_data).map_err(|e| bad(format!("wrapped_data: {e}")))?;
            let opts = aes_gcm_open(&key, &iv, &ct)?;
            Ok(json!({"keyunwrapresults": {"optsdata": STANDARD.encode(opts)}}))
        }
        other => Err(bad(format!("unknown key-provider op {other:?}"))),
    }
}
