//! One file per endpoint. Handlers only translate HTTP to [`crate::core::Kbs`] calls; who may call
//! them is declared in the route table (`crate::server::routes`).

pub mod attest;
pub mod attestation_service;
pub mod auth;
pub mod health;
pub mod policy;
pub mod reference_value;
pub mod resource;

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use axum::http::HeaderMap;
use kbs_protocol::SESSION_COOKIE;

use crate::core::Kbs;
use crate::Error;

pub type AppState = Arc<Kbs>;

/// Reads the body, refusing more than `limit` bytes. An oversize body is drained (up to a bound)
/// before the 413 is sent, so that clients still sending see the answer rather than a reset.
pub async fn read_body(body: Body, limit: usize) -> Result<bytes::Bytes, Error> {
    use http_body_util::BodyExt;
    const DRAIN_MAX: usize = 16 << 20;
    let mut body = body;
    let mut buf = bytes::BytesMut::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Error::MalformedRequest { what: "body", reason: e.to_string() })?;
        if let Ok(data) = frame.into_data() {
            seen += data.len();
            if seen > limit {
                if seen > DRAIN_MAX {
                    break;
                }
                continue;
            }
            buf.extend_from_slice(&data);
        }
    }
    if seen > limit {
        return Err(Error::BodyTooLarge { limit });
    }
    Ok(buf.freeze())
}

/// The `kbs-session-id` cookie, if any.
pub fn session_cookie(h: &HeaderMap) -> Option<String> {
    h.get_all("cookie").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == SESSION_COOKIE).then(|| v.trim().to_string())
    })
}

pub fn set_cookie(id: &str, expires: SystemTime) -> String {
    format!("{SESSION_COOKIE}={id}; Expires={}", httpdate::fmt_http_date(expires))
}

pub fn authorization(h: &HeaderMap) -> Option<String> {
    h.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string)
}
