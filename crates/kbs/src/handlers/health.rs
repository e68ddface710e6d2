//! `GET /healthz` and `GET /metrics` (unauthenticated).

use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::AppState;

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn metrics(State(kbs): State<AppState>) -> Response {
    ([("content-type", "text/plain; version=0.0.4")], kbs.metrics.render(kbs.sessions.len())).into_response()
}
