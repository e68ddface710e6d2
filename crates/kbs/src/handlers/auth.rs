//! `POST /kbs/v0/auth`: RCAR Request → Challenge + session cookie.

use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::{read_body, set_cookie, AppState};
use crate::Error;

pub async fn post(State(kbs): State<AppState>, body: Body) -> Result<Response, Error> {
    let body = read_body(body, kbs.limits.max_body).await?;
    let out = kbs.auth(&body)?;
    Ok(([("set-cookie", set_cookie(&out.session_id, out.expires))], Json(out.challenge)).into_response())
}
