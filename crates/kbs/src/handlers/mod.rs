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

/// Reads the body, refusing more than `limit` bytes.
pub async fn read_body(body: Body, limit: usize) -> Result<bytes::Bytes, Error> {
    axum::body::to_bytes(body, limit).await.map_err(|_| Error::BodyTooLarge { limit })
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
