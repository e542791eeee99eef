//! The HTTP side of a watch (`--metrics-listen`): `/metrics`, `/healthz` (200 while the
//! process is up) and `/readyz` (200 when the last successful round ended within three
//! intervals, 503 otherwise).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;

use super::metrics::Metrics;

#[derive(Clone)]
struct Served {
    metrics: Arc<Metrics>,
    interval: Duration,
}

/// Serves `metrics` on `listener` until the process ends.
pub async fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    interval: Duration,
) -> std::io::Result<()> {
    let routes = Router::new()
        .route("/metrics", get(exposition))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readiness))
        .with_state(Served { metrics, interval });
    axum::serve(listener, routes).await
}

async fn exposition(State(served): State<Served>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        served.metrics.render(),
    )
}

async fn readiness(State(served): State<Served>) -> impl IntoResponse {
    if served.metrics.ready(served.interval) {
        (StatusCode::OK, "ready\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "no successful round within three intervals\n",
        )
    }
}
