//! `POST /kbs/v0/reference-value` (RVPS message) and `GET /kbs/v0/reference-value/<id>` (admin).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::{read_body, AppState};
use crate::Error;

pub async fn register(State(kbs): State<AppState>, body: Body) -> Result<Response, Error> {
    let body = read_body(body, kbs.limits.max_body).await?;
    let names = kbs.register_reference_value(&body)?;
    Ok(Json(serde_json::json!({ "registered": names })).into_response())
}

pub async fn query(State(kbs): State<AppState>, Path(id): Path<String>) -> Result<Response, Error> {
    Ok(Json(kbs.query_reference_value(&id)?).into_response())
}
