//! The HTTP side: accepting connections, turning a request into parameters, the order of
//! checks (decode, common parameters, action, faults, authentication, action), answering in
//! the asked format, counting and logging.
//!
//! Connections are served with hyper directly rather than `axum::serve` because one fault,
//! "drop after commit", must close a connection without writing a single byte of answer:
//! each connection has an abort signal that the handler can fire, and the connection task
//! then drops the socket.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::config::BetweenPages;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use super::actions::{self, Action};
use super::api_error::ApiError;
use super::auth::{self, NonceCache};
use super::config::{Credentials, EmulatorConfig};
use super::dialect::Dialect;
use super::document::{Document, Format, Value};
use super::faults::FaultInjector;
use super::flow_limit::FlowLimit;
use super::parameters::Parameters;
use super::store::Store;
use crate::model::printable;

/// Everything the requests share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub credentials: Credentials,
    pub max_body_bytes: usize,
    pub log_requests: bool,
    pub store: Mutex<Store>,
    pub nonces: Mutex<NonceCache>,
    pub faults: FaultInjector,
    pub flow_limit: Option<FlowLimit>,
    pub request_counts: Mutex<BTreeMap<String, u64>>,
    pub dialect: Dialect,
    pub transition: Duration,
    pub between_pages: Option<BetweenPages>,
    pub sts: super::sts::Issuer,
    /// The ECS metadata service, with `--metadata`.
    pub metadata: Option<super::metadata::MetadataService>,
}

impl Shared {
    pub fn new(config: &EmulatorConfig, store: Store) -> Self {
        let window = time::Duration::try_from(config.timestamp_window)
            .unwrap_or(time::Duration::minutes(15));
        Self {
            credentials: config.credentials.clone(),
            max_body_bytes: config.max_body_bytes,
            log_requests: config.log_requests,
            store: Mutex::new(store),
            nonces: Mutex::new(NonceCache::new(window, config.nonce_capacity)),
            faults: FaultInjector::new(config.faults.clone()),
            flow_limit: config.qps.map(|qps| FlowLimit::new(qps, Instant::now())),
            request_counts: Mutex::new(BTreeMap::new()),
            dialect: config.dialect,
            transition: config.transition,
            between_pages: config.between_pages.clone(),
            sts: super::sts::Issuer::new(config.sts_duration, config.oidc_token.clone()),
            metadata: config.metadata.then(super::metadata::MetadataService::new),
        }
    }

    pub fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }
}

/// A poisoned lock only means another request panicked; the data is still consistent
/// because every change is made after all checks pass.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a handler knows about the connection it serves.
#[derive(Clone)]
pub(crate) struct Connection {
    pub(crate) shared: Arc<Shared>,
    abort: Arc<Notify>,
}

/// Accepts connections until `shutdown` changes or its sender is dropped, then lets open
/// connections finish the request in hand.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<()>,
) {
    let mut routes: Router<Connection> = Router::new().route("/_emulator/state", get(state_dump));
    if shared.metadata.is_some() {
        routes = routes.merge(super::metadata::routes());
    }
    let routes = routes.fallback(api);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Typically out of file descriptors: wait a little rather than spin.
                eprintln!("cityform emulator: cannot accept a connection: {error}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let connection = Connection {
            shared: Arc::clone(&shared),
            abort: Arc::new(Notify::new()),
        };
        let abort = Arc::clone(&connection.abort);
        let service = TowerToHyperService::new(routes.clone().with_state(connection));
        let mut shutdown = shutdown.clone();
        tokio::spawn(async move {
            let served = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(served);
            // Dropping `served` in the abort branches closes the socket without an answer.
            tokio::select! {
                _ = served.as_mut() => {}
                () = abort.notified() => {}
                _ = shutdown.changed() => {
                    served.as_mut().graceful_shutdown();
                    tokio::select! {
                        _ = served.as_mut() => {}
                        () = abort.notified() => {}
                    }
                }
            }
        });
    }
}

async fn state_dump(State(connection): State<Connection>) -> Response {
    let snapshot = connection.shared.store().snapshot();
    match serde_json::to_string_pretty(&snapshot) {
        Ok(text) => (
            [(header::CONTENT_TYPE, "application/json;charset=utf-8")],
            text,
        )
            .into_response(),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}

/// What became of one API request, for the answer and the log line.
pub(crate) struct Verdict {
    format: Format,
    action: Option<String>,
    result: Result<Vec<(&'static str, Value)>, ApiError>,
    /// A group was committed by this request.
    created: bool,
}

async fn api(
    State(connection): State<Connection>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let shared = &connection.shared;
    let verdict = handle(shared, &method, &uri, &headers, body).await;
    let action = verdict.action.clone().unwrap_or_else(|| "-".to_owned());
    let action = action.as_str();
    if verdict.created && shared.faults.drop_after_this_commit() {
        log(shared, &method, action, "dropped after commit", started);
        connection.abort.notify_one();
        // The connection task drops this future together with the socket.
        return std::future::pending().await;
    }
    let latency = shared.faults.faults().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let host_id = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or("cityvisual.emulator");
    let answer = verdict.answer(host_id);
    log(
        shared,
        &method,
        action,
        &format!("{} {}", answer.status.as_u16(), answer.code.unwrap_or("OK")),
        started,
    );
    let mut response = (answer.status, answer.body).into_response();
    let response_headers = response.headers_mut();
    response_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(answer.content_type),
    );
    if let Some(request_id) = answer.request_id
        && let Ok(value) = HeaderValue::from_str(&request_id)
    {
        response_headers.insert("x-acs-request-id", value);
    }
    response
}

/// An answer, rendered.
pub(crate) struct Answer {
    pub status: StatusCode,
    /// The error code; `None` for a success.
    pub code: Option<&'static str>,
    pub content_type: &'static str,
    pub body: String,
    pub request_id: Option<String>,
}

impl Verdict {
    /// The answer in the format asked for; `host_id` is the `HostId` of an error answer.
    pub(crate) fn answer(self, host_id: &str) -> Answer {
        let action = self.action.as_deref().unwrap_or("-");
        let (status, code, document) = match self.result {
            Ok(members) => (StatusCode::OK, None, success_document(action, members)),
            Err(error) => (
                error.status,
                Some(error.code),
                error_document(&error, host_id),
            ),
        };
        let request_id = match document.member("RequestId") {
            Some(Value::Text(request_id)) => Some(request_id.clone()),
            _ => None,
        };
        Answer {
            status,
            code,
            content_type: self.format.content_type(),
            body: document.render(self.format),
            request_id,
        }
    }
}

fn new_request_id() -> Value {
    Value::text(uuid::Uuid::new_v4().to_string().to_uppercase())
}

/// `<ActionResponse>` with the action's members, then `RequestId`.
fn success_document(action: &str, mut members: Vec<(&'static str, Value)>) -> Document {
    members.push(("RequestId", new_request_id()));
    Document {
        root: format!("{action}Response").into(),
        members,
    }
}

/// Alibaba Cloud's error body: `RequestId`, `HostId`, `Code`, `Message`, `Recommend`.
fn error_document(error: &ApiError, host_id: &str) -> Document {
    Document {
        root: "Error".into(),
        members: vec![
            ("RequestId", new_request_id()),
            ("HostId", Value::text(host_id)),
            ("Code", Value::text(error.code)),
            ("Message", Value::text(&error.message)),
            (
                "Recommend",
                Value::text(format!(
                    "https://api.aliyun.com/troubleshoot?q={}&product=cityvisual",
                    error.code
                )),
            ),
        ],
    }
}

async fn handle(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> Verdict {
    let query = uri.query().unwrap_or_default();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok());
    // A method that carries no parameters is refused before its body is read.
    let bytes = if supported_method(method.as_str()) {
        read_body(shared, headers, body).await
    } else {
        Ok(axum::body::Bytes::new())
    };
    decide(
        shared,
        method.as_str(),
        query,
        content_type,
        bytes.as_deref().map_err(Clone::clone),
        OffsetDateTime::now_utc(),
    )
}

/// Everything the server decides about a request once its body is read (or could not be):
/// decoding, the common checks, faults, authentication at `now`, and the action.
pub(crate) fn decide(
    shared: &Shared,
    method: &str,
    query: &str,
    content_type: Option<&str>,
    body: Result<&[u8], ApiError>,
    now: OffsetDateTime,
) -> Verdict {
    let mut verdict = Verdict {
        format: sniff_format(query),
        action: None,
        result: Ok(Vec::new()),
        created: false,
    };
    let parameters =
        match body.and_then(|bytes| decode_parameters(method, query, content_type, bytes)) {
            Ok(parameters) => parameters,
            Err(error) => {
                verdict.result = Err(error);
                return verdict;
            }
        };
    if let Some(action) = parameters.optional("Action") {
        verdict.action = Some(action.to_owned());
        count_request(shared, action);
    }
    match Format::from_parameter(parameters.optional("Format")) {
        Some(format) => verdict.format = format,
        None => {
            verdict.result = Err(ApiError::invalid_parameter(format!(
                "The Format \"{}\" is not supported: use JSON or XML.",
                parameters.get("Format").unwrap_or_default()
            )));
            return verdict;
        }
    }
    match respond(shared, method, &parameters, now) {
        Ok(outcome) => {
            verdict.created = outcome.created;
            verdict.result = Ok(outcome.members);
        }
        Err(error) => verdict.result = Err(error),
    }
    verdict
}

/// Unknown actions counted under their own name, at most; later ones count as
/// [`OTHER_ACTIONS`].
const MAX_COUNTED_NAMES: usize = 100;
/// The longest unknown action name counted under its own name.
const MAX_COUNTED_NAME_LENGTH: usize = 64;
/// Where requests with an unknown action are counted once there are too many such names.
pub(crate) const OTHER_ACTIONS: &str = "(other actions)";

/// Counts a request under its `Action`. Anyone who can reach the emulator chooses that name,
/// so unknown names are counted one by one only while they are few and short: the counts
/// must not grow without bound.
fn count_request(shared: &Shared, action: &str) {
    let mut counts = lock(&shared.request_counts);
    let own_name = Action::from_name(action).is_some()
        || counts.contains_key(action)
        || (action.len() <= MAX_COUNTED_NAME_LENGTH && counts.len() < MAX_COUNTED_NAMES);
    let name = if own_name { action } else { OTHER_ACTIONS };
    *counts.entry(name.to_owned()).or_default() += 1;
}

/// The checks after decoding, in the order the real gateway makes them.
fn respond(
    shared: &Shared,
    method: &str,
    parameters: &Parameters,
    now: OffsetDateTime,
) -> Result<actions::Answered, ApiError> {
    if parameters.get("Version") == Some(super::sts::STS_VERSION) {
        return super::sts::respond(shared, method, parameters, now);
    }
    auth::check_common_parameters(parameters)?;
    let name = parameters.get("Action").unwrap_or_default();
    let action = Action::from_name(name).ok_or_else(|| ApiError::unknown_action(name))?;
    if let Some(fault) = shared.faults.random_fault() {
        return Err(fault);
    }
    auth::authenticate(
        parameters,
        method,
        &super::sts::signing_key(shared, parameters, now)?,
        &mut lock(&shared.nonces),
        now,
    )?;
    if let Some(flow_limit) = &shared.flow_limit {
        flow_limit.admit(Instant::now())?;
    }
    let context = actions::Context {
        dialect: shared.dialect,
        transition: shared.transition,
        now,
    };
    let mut store = shared.store();
    let outcome = actions::perform(action, parameters, &mut store, context);
    if let Some(hook) = &shared.between_pages
        && action == Action::Describe
        && parameters.optional("JobGroupId").is_none()
        && outcome.is_ok()
    {
        let page_number = parameters
            .optional_integer("PageNumber")
            .ok()
            .flatten()
            .unwrap_or(1);
        for id in hook.deletes_after(page_number) {
            store.delete_directly(id);
        }
    }
    outcome
}

/// Whether requests with `method` carry parameters (GET and POST); others are refused unread.
pub(crate) fn supported_method(method: &str) -> bool {
    method == Method::GET.as_str() || method == Method::POST.as_str()
}

/// Reads a body within the size limit.
async fn read_body(
    shared: &Shared,
    headers: &HeaderMap,
    body: Body,
) -> Result<axum::body::Bytes, ApiError> {
    let declared_length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared_length.is_some_and(|length| length > shared.max_body_bytes as u64) {
        return Err(ApiError::body_too_large(shared.max_body_bytes));
    }
    axum::body::to_bytes(body, shared.max_body_bytes)
        .await
        .map_err(|error| {
            if error.into_inner().is::<http_body_util::LengthLimitError>() {
                ApiError::body_too_large(shared.max_body_bytes)
            } else {
                ApiError::invalid_parameter("The request body could not be read.")
            }
        })
}

/// The parameters of a request: the query's, then the form body's.
fn decode_parameters(
    method: &str,
    query: &str,
    content_type: Option<&str>,
    bytes: &[u8],
) -> Result<Parameters, ApiError> {
    if !supported_method(method) {
        return Err(ApiError::unsupported_method(method));
    }
    let mut parameters = Parameters::default();
    parameters.append_encoded(query)?;
    if bytes.is_empty() {
        return Ok(parameters);
    }
    let content_type = content_type.unwrap_or("application/x-www-form-urlencoded");
    if !content_type
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        return Err(ApiError::invalid_parameter(format!(
            "The Content-Type \"{content_type}\" is not supported: send parameters in the query or as application/x-www-form-urlencoded."
        )));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ApiError::invalid_parameter("The request body is not valid UTF-8."))?;
    parameters.append_encoded(text)?;
    Ok(parameters)
}

/// The format to answer in when the request cannot be decoded: whatever a lenient read of
/// the query says, else XML.
fn sniff_format(query: &str) -> Format {
    form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "Format")
        .and_then(|(_, value)| Format::from_parameter(Some(&value)))
        .unwrap_or(Format::Xml)
}

fn log(shared: &Shared, method: &Method, action: &str, outcome: &str, started: Instant) {
    if shared.log_requests {
        // The action is whatever the client sent: shown short, and escaped.
        let shown: String = action.chars().take(MAX_COUNTED_NAME_LENGTH).collect();
        let cut = if shown.len() < action.len() {
            "…"
        } else {
            ""
        };
        eprintln!(
            "cityform emulator: {method} {}{cut} -> {outcome} in {:.1} ms",
            printable(&shown),
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
}
