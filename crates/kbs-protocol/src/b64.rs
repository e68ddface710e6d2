//! Base64 helpers: JOSE uses URL-safe without padding; nonces and sample evidence use standard.
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

use crate::Error;

pub fn url(data: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

pub fn url_decode(what: &'static str, s: &str) -> Result<Vec<u8>, Error> {
    URL_SAFE_NO_PAD.decode(s.as_bytes()).map_err(|e| Error::Base64 { what, reason: e.to_string() })
}

pub fn std(data: impl AsRef<[u8]>) -> String {
    STANDARD.encode(data)
}

pub fn std_decode(what: &'static str, s: &str) -> Result<Vec<u8>, Error> {
    STANDARD.decode(s.as_bytes()).map_err(|e| Error::Base64 { what, reason: e.to_string() })
}
