//! `GET /kbs/v0/resource/<repo>/<type>/<tag>` (attested caller) and
//! `POST|DELETE` on the same path (admin).

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};

use super::{read_body, AppState};
use crate::core::Caller;
use crate::Error;

/// guest-components builds `/kbs/v0/resource//repo/type/tag` when given a resource path with a
/// leading `/` (its `ResourceUri::new` keeps the empty first segment), and trustee accepts it. So a
/// leading run of `/` is dropped; every remaining segment is still validated.
fn normalise(path: &str) -> &str {
    path.trim_start_matches('/')
}

pub async fn get(
    State(kbs): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(path): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, Error> {
    Ok(Json(kbs.get_resource(&caller, "resource", normalise(&path), q.as_deref().unwrap_or(""))?).into_response())
}

pub async fn post(State(kbs): State<AppState>, Path(path): Path<String>, body: Body) -> Result<Response, Error> {
    let body = read_body(body, kbs.limits.max_body).await?;
    kbs.set_resource(normalise(&path), &body)?;
    Ok(StatusCode::OK.into_response())
}

pub async fn delete(State(kbs): State<AppState>, Path(path): Path<String>) -> Result<Response, Error> {
    kbs.delete_resource(normalise(&path))?;
    Ok(StatusCode::OK.into_response())
}
