//! The Attestation Service on its own: `POST /attestation/v0/attest` (evidence → EAR token) and
//! `GET /attestation/v0/jwks` (the token verification key).

use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::{read_body, AppState};
use crate::Error;

pub async fn attest(State(kbs): State<AppState>, body: Body) -> Result<Response, Error> {
    let body = read_body(body, kbs.limits.max_body).await?;
    Ok(kbs.as_attest(&body)?.into_response())
}

pub async fn jwks(State(kbs): State<AppState>) -> Response {
    Json(serde_json::json!({ "keys": [kbs.attestation.signer.jwk()] })).into_response()
}
