//! `POST /kbs/v0/attest`: evidence bound to the session nonce → attestation token.

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use kbs_protocol::types::AttestResponse;

use super::{read_body, session_cookie, set_cookie, AppState};
use crate::Error;

pub async fn post(State(kbs): State<AppState>, headers: HeaderMap, body: Body) -> Result<Response, Error> {
    let body = read_body(body, kbs.limits.max_body).await?;
    let out = kbs.attest(session_cookie(&headers).as_deref(), &body)?;
    Ok(([("set-cookie", set_cookie(&out.session_id, out.expires))], Json(AttestResponse { token: out.token }))
        .into_response())
}
