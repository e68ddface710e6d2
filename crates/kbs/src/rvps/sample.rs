//! `sample` extractor: payload is base64 of `{"<name>": <value or list of values>}`.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::Value;

use crate::Error;

pub fn extract(payload: &str) -> Result<Vec<(String, Vec<Value>)>, Error> {
    let raw = STANDARD
        .decode(payload.trim())
        .or_else(|_| URL_SAFE_NO_PAD.decode(payload.trim()))
        .map_err(|e| Error::Rvps(format!("sample payload is not base64: {e}")))?;
    let v: Value = serde_json::from_slice(&raw).map_err(|e| Error::Rvps(format!("sample payload is not JSON: {e}")))?;
    let m = v.as_object().ok_or_else(|| Error::Rvps("sample payload must be a JSON object".into()))?;
    let mut out = Vec::new();
    for (k, v) in m {
        if k.is_empty() || k.len() > 256 {
            return Err(Error::Rvps(format!("bad reference value name {k:?}")));
        }
        let vals = match v {
            Value::Array(a) => a.clone(),
            other => vec![other.clone()],
        };
        out.push((k.clone(), vals));
    }
    Ok(out)
}
