//! The ECS instance metadata service, served on the emulator's listener with `--metadata`:
//! an IMDSv2 session token (`PUT /latest/api/token`), the instance RAM role's name and its
//! credentials, issued by the emulator's STS (so they sign CityVisual calls and expire like
//! any other issued key). Reads without a session token are answered too (IMDSv1), as an
//! instance not hardened to IMDSv2 answers them; a token that is sent must be a valid one.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use time::OffsetDateTime;

use super::server::Connection;
use crate::cloud::Secret;
use crate::cloud::request::format_timestamp;

/// The instance RAM role the metadata service reports.
pub const METADATA_ROLE_NAME: &str = "cityform-emulator-ecs-role";
const TOKEN_TTL_HEADER: &str = "X-aliyun-ecs-metadata-token-ttl-seconds";
const TOKEN_HEADER: &str = "X-aliyun-ecs-metadata-token";
const ROLE_PATH: &str = "/latest/meta-data/ram/security-credentials/";

/// The metadata service's own state: the session token it hands out.
#[derive(Debug)]
pub(crate) struct MetadataService {
    session_token: Secret,
}

impl MetadataService {
    pub fn new() -> Self {
        Self {
            session_token: Secret::new(format!("imds-{}", uuid::Uuid::new_v4().simple())),
        }
    }
}

/// The metadata paths, to merge into the emulator's routes.
pub(crate) fn routes() -> Router<Connection> {
    Router::new()
        .route("/latest/api/token", put(session_token))
        .route(ROLE_PATH, get(role_name))
        .route(&format!("{ROLE_PATH}{{role}}"), get(role_credentials))
}

fn service(connection: &Connection) -> Option<&MetadataService> {
    connection.shared.metadata.as_ref()
}

async fn session_token(State(connection): State<Connection>, headers: HeaderMap) -> Response {
    let Some(service) = service(&connection) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let ttl = headers
        .get(TOKEN_TTL_HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u32>().ok());
    match ttl {
        Some(1..=21600) => service.session_token.expose().to_owned().into_response(),
        _ => (
            StatusCode::BAD_REQUEST,
            format!("{TOKEN_TTL_HEADER} must be between 1 and 21600"),
        )
            .into_response(),
    }
}

/// `None` when the read may go on; the refusal otherwise.
fn refuse_bad_token(service: &MetadataService, headers: &HeaderMap) -> Option<Response> {
    let token = headers.get(TOKEN_HEADER)?;
    (token.as_bytes() != service.session_token.expose().as_bytes())
        .then(|| StatusCode::UNAUTHORIZED.into_response())
}

async fn role_name(State(connection): State<Connection>, headers: HeaderMap) -> Response {
    let Some(service) = service(&connection) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if let Some(refusal) = refuse_bad_token(service, &headers) {
        return refusal;
    }
    METADATA_ROLE_NAME.into_response()
}

async fn role_credentials(
    State(connection): State<Connection>,
    Path(role): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(service) = service(&connection) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if let Some(refusal) = refuse_bad_token(service, &headers) {
        return refusal;
    }
    if role != METADATA_ROLE_NAME {
        return StatusCode::NOT_FOUND.into_response();
    }
    let now = OffsetDateTime::now_utc();
    let issued = connection
        .shared
        .sts
        .issue(METADATA_ROLE_NAME, "ecs-instance", now);
    let body = serde_json::json!({
        "Code": "Success",
        "AccessKeyId": issued.access_key_id,
        "AccessKeySecret": issued.access_key_secret.expose(),
        "SecurityToken": issued.security_token.expose(),
        "Expiration": format_timestamp(issued.expiration),
        "LastUpdated": format_timestamp(now),
    });
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}
