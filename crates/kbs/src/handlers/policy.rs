//! `POST /kbs/v0/attestation-policy`, `POST|GET /kbs/v0/resource-policy` (admin).

use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{read_body, AppState};
use crate::Error;

pub async fn set_attestation(State(kbs): State<AppState>, body: Body) -> Result<Response, Error> {
    let body = read_body(body, kbs.limits.max_body).await?;
    kbs.set_attestation_policy(&body)?;
    Ok(StatusCode::OK.into_response())
}

pub async fn set_resource(State(kbs): State<AppState>, body: Body) -> Result<Response, Error> {
    let body = read_body(body, kbs.limits.max_body).await?;
    kbs.set_resource_policy(&body)?;
    Ok(StatusCode::OK.into_response())
}

pub async fn get_resource(State(kbs): State<AppState>) -> Result<Response, Error> {
    Ok(kbs.resource_policy_source().into_response())
}
