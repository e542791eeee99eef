//! `CloudClient`: typed job-group calls over HTTPS, with retries and error classification.
//!
//! Every call goes through one loop: sign with a fresh nonce and timestamp, send, read at most
//! `max_response_bytes`, classify. Retryable failures are retried with backoff on every action;
//! ambiguous ones only on reads, because sending a create again after a lost answer could
//! create the group twice (the applier resolves those by name). An optional shared
//! [`Throttle`] hears about every throttled and successful attempt, and an optional shared
//! [`RunHealth`] hears about every attempt's outcome: once it says the run is stopping, no
//! retry is sent and every retry wait ends at once.
//!
//! TLS is rustls with the `ring` provider. Server certificates are checked against the system's
//! trust store (through `rustls-platform-verifier`) merged with the Mozilla roots compiled in
//! from `webpki-root-certs`, so the client also works in minimal containers that have no CA
//! bundle, and without any system library.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{StatusCode, Url};

use super::answer::AnswerBody;
use super::credentials::{Credentials, CredentialsProvider, Issued};
use super::endpoint::Endpoints;
use super::error::{CloudError, CloudErrorKind, ErrorClass, error_from_answer, human_duration};
use super::health::{ClockSkew, EXPIRED_TIMESTAMP_CODE, RunHealth};
use super::job_groups::{
    self, Acknowledged, AnswerProblem, CreatedJobGroup, DescribeJobGroupsRequest, JobGroupPage,
    ModifyJobGroupRequest, ObservedJobGroup, Retries,
};
use super::redact::Redactor;
use super::request::{self, FORM_CONTENT_TYPE, RpcRequest};
use super::retry::RetryPolicy;
use super::throttle::Throttle;
use crate::model::JobGroupSpec;

/// Connection and retry settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// How long establishing a connection (TCP and TLS) may take.
    pub connect_timeout: Duration,
    /// How long one attempt may take, from connecting to the last byte of the answer.
    pub request_timeout: Duration,
    /// Retries of retryable failures.
    pub retry: RetryPolicy,
    /// Answers larger than this are refused unread.
    pub max_response_bytes: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            max_response_bytes: 8 * 1024 * 1024,
        }
    }
}

/// Why a client cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientBuildError {
    /// The HTTP stack could not be set up (TLS configuration, usually).
    #[error("cannot set up the HTTPS client: {detail}")]
    Http {
        /// What failed.
        detail: String,
    },
}

/// Whether an action may be sent again after an ambiguous failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Safety {
    /// Reads: sending again changes nothing.
    Read,
    /// Changes: the first request may have acted; the caller must find out first.
    Mutation,
}

/// One call: the request plus what errors should say about it.
struct Call {
    request: RpcRequest,
    subject: String,
    safety: Safety,
}

/// A success answer as it arrived.
struct Received {
    body: Vec<u8>,
    /// `Content-Type`, when the answer had one that is text.
    content_type: Option<String>,
}

impl Received {
    fn answer(&self) -> AnswerBody<'_> {
        AnswerBody::new(&self.body).with_content_type(self.content_type.as_deref())
    }
}

/// The client for CityVisual's job-group actions. Cheap to clone; clones share connections.
#[derive(Clone)]
pub struct CloudClient {
    http: reqwest::Client,
    provider: Arc<CredentialsProvider>,
    endpoints: Endpoints,
    options: ClientOptions,
    throttle: Option<Arc<dyn Throttle>>,
    health: Option<Arc<RunHealth>>,
    /// Added to the local clock when signing: see [`CLOCK_OFFSET_VARIABLE`].
    clock_offset: time::Duration,
}

/// The header in which the service (and the emulator) repeat an answer's `RequestId`.
const REQUEST_ID_HEADER: &str = "x-acs-request-id";

/// Shifts the time requests are signed with by this many seconds (negative: back). A testing
/// aid that simulates a machine whose clock is off; never set it for real work.
pub const CLOCK_OFFSET_VARIABLE: &str = "CITYFORM_TEST_CLOCK_OFFSET_SECONDS";

impl fmt::Debug for CloudClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudClient")
            .field("credentials", &self.provider)
            .field("endpoints", &self.endpoints)
            .field("options", &self.options)
            .field("throttle", &self.throttle.is_some())
            .field("health", &self.health.is_some())
            .field("clock_offset", &self.clock_offset)
            .finish_non_exhaustive()
    }
}

impl CloudClient {
    /// A client signing with `credentials` and sending to `endpoints`.
    pub fn new(
        credentials: Credentials,
        endpoints: Endpoints,
        options: ClientOptions,
    ) -> Result<Self, ClientBuildError> {
        Self::with_provider(
            Arc::new(CredentialsProvider::fixed(credentials)),
            endpoints,
            options,
        )
    }

    /// A client signing with whatever `provider` holds at the moment of each attempt, so
    /// temporary credentials are renewed during a long run.
    pub fn with_provider(
        provider: Arc<CredentialsProvider>,
        endpoints: Endpoints,
        options: ClientOptions,
    ) -> Result<Self, ClientBuildError> {
        let http = http_client(options.connect_timeout, options.request_timeout)?;
        Ok(Self {
            http,
            provider,
            endpoints,
            options,
            throttle: None,
            health: None,
            clock_offset: time::Duration::ZERO,
        })
    }

    /// Where the credentials come from.
    pub fn credentials_provider(&self) -> &Arc<CredentialsProvider> {
        &self.provider
    }

    /// The same client reporting to (and paced by) a throttle shared with other clients or
    /// workers.
    pub fn with_throttle(mut self, throttle: Arc<dyn Throttle>) -> Self {
        self.throttle = Some(throttle);
        self
    }

    /// The same client reporting every attempt's outcome to `health`, and sending no retry
    /// once it says the run is stopping.
    pub fn with_health(mut self, health: Arc<RunHealth>) -> Self {
        self.health = Some(health);
        self
    }

    /// The same client signing with the local clock shifted by `offset` (a testing aid: see
    /// [`CLOCK_OFFSET_VARIABLE`]).
    pub fn with_clock_offset(mut self, offset: time::Duration) -> Self {
        self.clock_offset = offset;
        self
    }

    /// The options in force.
    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// `CreateJobGroup`. Never sent twice after an ambiguous failure: such an error is returned
    /// at once, and the caller must look `name` up before trying again.
    pub async fn create_job_group(
        &self,
        region_id: &str,
        instance_id: &str,
        name: &str,
        spec: &JobGroupSpec,
    ) -> Result<CreatedJobGroup, CloudError> {
        let call = Call {
            request: RpcRequest {
                action: job_groups::CREATE_JOB_GROUP,
                region_id: region_id.to_owned(),
                parameters: job_groups::create_parameters(instance_id, name, spec),
            },
            subject: name.to_owned(),
            safety: Safety::Mutation,
        };
        let (received, retries) = self.execute(&call).await?;
        let mut created = job_groups::parse_created(received.answer())
            .map_err(|problem| answer_error(&call, problem, retries.retried + 1))?;
        created.retries = retries;
        Ok(created)
    }

    /// One page of `DescribeJobGroups`.
    pub async fn describe_job_groups(
        &self,
        request: &DescribeJobGroupsRequest,
    ) -> Result<JobGroupPage, CloudError> {
        let subject = match &request.job_group_id {
            Some(id) => format!("{} {id}", request.instance_id),
            None => format!("{} page {}", request.instance_id, request.page_number),
        };
        let call = Call {
            request: RpcRequest {
                action: job_groups::DESCRIBE_JOB_GROUPS,
                region_id: request.region_id.clone(),
                parameters: request.parameters(),
            },
            subject,
            safety: Safety::Read,
        };
        let (received, retries) = self.execute(&call).await?;
        job_groups::parse_page(received.answer())
            .map_err(|problem| answer_error(&call, problem, retries.retried + 1))
    }

    /// Every job group of an instance, paging through `DescribeJobGroups` at the largest page
    /// size until `TotalCount` groups have been seen. A group seen twice is kept once.
    ///
    /// The pages are by offset, so a group created or deleted between two pages shifts the
    /// ones after it: a listing whose `TotalCount` changes between its pages is taken again
    /// from the first page, [`LISTING_ATTEMPTS`] times at most, and then fails rather than
    /// guess. A page that brings nothing new while fewer groups than `TotalCount` have been
    /// seen is a malformed answer. A shift that leaves `TotalCount` as it was (one group
    /// deleted, another created) can still skip a group: a caller must look a group up by
    /// its id before it takes it for gone.
    pub async fn list_all_job_groups(
        &self,
        region_id: &str,
        instance_id: &str,
    ) -> Result<Vec<ObservedJobGroup>, CloudError> {
        let mut totals = Vec::new();
        for _ in 0..LISTING_ATTEMPTS {
            match self.list_once(region_id, instance_id).await? {
                Listing::Complete(groups) => return Ok(groups),
                Listing::Shifted { first, then } => totals.push((first, then)),
            }
        }
        let changes = totals
            .iter()
            .map(|(first, then)| format!("{first} to {then}"))
            .collect::<Vec<_>>()
            .join(", ");
        Err(CloudError {
            action: job_groups::DESCRIBE_JOB_GROUPS,
            subject: instance_id.to_owned(),
            kind: CloudErrorKind::UnsettledListing {
                attempts: LISTING_ATTEMPTS,
                changes,
            },
            class: ErrorClass::Retryable,
            attempts: LISTING_ATTEMPTS,
        })
    }

    /// One pass over the pages of an instance.
    async fn list_once(&self, region_id: &str, instance_id: &str) -> Result<Listing, CloudError> {
        let mut request = DescribeJobGroupsRequest::first_page(region_id, instance_id);
        let mut groups: Vec<ObservedJobGroup> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut total = None;
        loop {
            let page = self.describe_job_groups(&request).await?;
            let first = *total.get_or_insert(page.total_count);
            if page.total_count != first {
                return Ok(Listing::Shifted {
                    first,
                    then: page.total_count,
                });
            }
            let before = groups.len();
            for group in page.job_groups {
                if seen.insert(group.job_group_id.clone()) {
                    groups.push(group);
                }
            }
            if groups.len() as u64 >= first {
                return Ok(Listing::Complete(groups));
            }
            let next = request.page_number.checked_add(1);
            if groups.len() == before || next.is_none() {
                let request_id = Some(page.request_id).filter(|id| !id.is_empty());
                return Err(CloudError {
                    action: job_groups::DESCRIBE_JOB_GROUPS,
                    subject: format!("{instance_id} page {}", request.page_number),
                    kind: CloudErrorKind::MalformedResponse {
                        status: 200,
                        reason: format!(
                            "`TotalCount` promises {first} job groups, but the listing ends after {} with a page that brings none new",
                            groups.len()
                        ),
                        request_id,
                    },
                    class: ErrorClass::Terminal,
                    attempts: 1,
                });
            }
            request.page_number = next.unwrap_or(request.page_number);
        }
    }

    /// `ModifyJobGroup`.
    pub async fn modify_job_group(
        &self,
        request: &ModifyJobGroupRequest,
    ) -> Result<Acknowledged, CloudError> {
        self.group_action(
            job_groups::MODIFY_JOB_GROUP,
            &request.region_id,
            request.parameters(),
            &request.job_group_id,
        )
        .await
    }

    /// `DeleteJobGroup`.
    pub async fn delete_job_group(
        &self,
        region_id: &str,
        instance_id: &str,
        job_group_id: &str,
    ) -> Result<Acknowledged, CloudError> {
        self.group_action(
            job_groups::DELETE_JOB_GROUP,
            region_id,
            job_groups::group_parameters(instance_id, job_group_id),
            job_group_id,
        )
        .await
    }

    /// `StartJobGroup`.
    pub async fn start_job_group(
        &self,
        region_id: &str,
        instance_id: &str,
        job_group_id: &str,
    ) -> Result<Acknowledged, CloudError> {
        self.group_action(
            job_groups::START_JOB_GROUP,
            region_id,
            job_groups::group_parameters(instance_id, job_group_id),
            job_group_id,
        )
        .await
    }

    /// `StopJobGroup`.
    pub async fn stop_job_group(
        &self,
        region_id: &str,
        instance_id: &str,
        job_group_id: &str,
    ) -> Result<Acknowledged, CloudError> {
        self.group_action(
            job_groups::STOP_JOB_GROUP,
            region_id,
            job_groups::group_parameters(instance_id, job_group_id),
            job_group_id,
        )
        .await
    }

    async fn group_action(
        &self,
        action: &'static str,
        region_id: &str,
        parameters: Vec<(String, String)>,
        job_group_id: &str,
    ) -> Result<Acknowledged, CloudError> {
        let call = Call {
            request: RpcRequest {
                action,
                region_id: region_id.to_owned(),
                parameters,
            },
            subject: job_group_id.to_owned(),
            safety: Safety::Mutation,
        };
        let (received, retries) = self.execute(&call).await?;
        let mut acknowledged = job_groups::parse_acknowledged(received.answer())
            .map_err(|problem| answer_error(&call, problem, retries.retried + 1))?;
        acknowledged.retries = retries;
        Ok(acknowledged)
    }

    /// Sends `call` until it succeeds or may not be retried; returns the success answer and the
    /// attempts made before it.
    async fn execute(&self, call: &Call) -> Result<(Received, Retries), CloudError> {
        let started = Instant::now();
        let mut attempts = 0_u32;
        let mut throttled = 0_u32;
        // Under a run-wide throttle, a flow-control refusal (`Throttling.User`) is the run's
        // pacing signal, not this call's failure: the service did not act, and the throttle
        // already slows every call down. Such attempts are bounded by the policy's time only,
        // not by its count, so that a busy account does not make calls give up that would
        // have gone through. `ServiceUnavailable` still counts: it may not pass.
        let mut paced = 0_u32;
        let mut renewed_expired = false;
        // Set when the throttle's pause before this attempt was already taken with the wait.
        let mut skip_pause = false;
        loop {
            if let Some(throttle) = &self.throttle
                && !std::mem::take(&mut skip_pause)
            {
                let pause = throttle.delay_before_request();
                if !pause.is_zero() {
                    tokio::time::sleep(pause).await;
                }
            }
            attempts += 1;
            let issued = match self.provider.current().await {
                Ok(issued) => issued,
                Err(error) => {
                    return Err(CloudError {
                        action: call.request.action,
                        subject: call.subject.clone(),
                        kind: CloudErrorKind::Request {
                            detail: error.to_string(),
                        },
                        class: ErrorClass::Terminal,
                        attempts,
                    });
                }
            };
            let failure = match self.attempt(call, &issued).await {
                Ok(received) => {
                    if let Some(throttle) = &self.throttle {
                        throttle.on_success();
                    }
                    if let Some(health) = &self.health {
                        health.on_answer();
                    }
                    let retries = Retries {
                        retried: attempts - 1,
                        throttled,
                    };
                    return Ok((received, retries));
                }
                Err(failure) => failure,
            };
            if let Some(health) = &self.health {
                report_health(health, &failure.0);
            }
            let (kind, mut class) = failure;
            // The token expired between the provider's check and the service's: the service
            // refused the request without acting, so it is sent again once with fresh ones.
            if !renewed_expired && is_expired_token(&kind) {
                renewed_expired = true;
                tracing::info!(action = call.request.action, subject = %call.subject, "the security token expired: sending again with fresh credentials");
                self.provider.expire(&issued).await;
                continue;
            }
            if call.safety == Safety::Mutation && may_have_been_passed_on(&kind) {
                class = ErrorClass::Ambiguous;
            }
            let error = CloudError {
                action: call.request.action,
                subject: call.subject.clone(),
                kind,
                class,
                attempts,
            };
            if error.is_throttling() {
                throttled += 1;
            }
            if error.is_throttling()
                && let Some(throttle) = &self.throttle
            {
                throttle.on_throttled();
                if error.is_flow_control() {
                    paced += 1;
                }
            }
            let may_retry = match error.class {
                ErrorClass::Retryable => true,
                ErrorClass::Ambiguous => call.safety == Safety::Read,
                ErrorClass::Terminal => false,
            };
            let delay = may_retry
                .then(|| {
                    self.options.retry.next_delay(
                        attempts - paced,
                        started.elapsed(),
                        fastrand::f64(),
                    )
                })
                .flatten();
            let Some(delay) = delay else {
                tracing::debug!(action = call.request.action, subject = %call.subject, attempts, class = %error.class, "giving up: {}", error.kind);
                return Err(error);
            };
            if let Some(health) = &self.health
                && health.is_stopped()
            {
                tracing::info!(action = call.request.action, subject = %call.subject, attempts, "not retried: the run is stopping: {}", error.kind);
                return Err(error);
            }
            tracing::warn!(
                action = call.request.action,
                subject = %call.subject,
                attempt = attempts,
                class = %error.class,
                "retrying in {}: {}",
                human_duration(delay),
                error.kind
            );
            let Some(health) = &self.health else {
                tokio::time::sleep(delay).await;
                continue;
            };
            // A retry wait, and the throttle's pause before the retry, end when the run
            // stops: the retry is abandoned, and the caller gets the last failure.
            let waited = async {
                tokio::time::sleep(delay).await;
                if let Some(throttle) = &self.throttle {
                    let pause = throttle.delay_before_request();
                    if !pause.is_zero() {
                        tokio::time::sleep(pause).await;
                    }
                }
            };
            tokio::select! {
                () = waited => {}
                () = health.stopped() => {
                    tracing::info!(action = call.request.action, subject = %call.subject, attempts, "not retried: the run is stopping: {}", error.kind);
                    return Err(error);
                }
            }
            skip_pause = true;
        }
    }

    /// One attempt: the success answer, or what went wrong and its class.
    async fn attempt(
        &self,
        call: &Call,
        issued: &Issued,
    ) -> Result<Received, (CloudErrorKind, ErrorClass)> {
        let mut url = self
            .endpoints
            .url_for(&call.request.region_id)
            .map_err(|error| (CloudErrorKind::Endpoint(error), ErrorClass::Terminal))?;
        let endpoint = origin(&url);
        let signed_at = time::OffsetDateTime::now_utc() + self.clock_offset;
        let timestamp = request::format_timestamp(signed_at);
        let signed = request::sign_request(
            &call.request,
            &issued.credentials,
            &request::fresh_nonce(),
            &timestamp,
        );
        url.set_query(Some(&signed.query_string()));
        tracing::debug!(action = call.request.action, subject = %call.subject, %endpoint, "sending");
        let sent = Instant::now();
        let mut response = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, FORM_CONTENT_TYPE)
            .body(signed.body)
            .send()
            .await
            .map_err(|error| self.transport_failure(error, &endpoint, None, issued.redactor()))?;
        let status = response.status();
        let answered_at = response
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|value| value.to_str().ok())
            .and_then(parse_http_date);
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let request_id_header = response
            .headers()
            .get(REQUEST_ID_HEADER)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let limit = self.options.max_response_bytes;
        let too_large = |status: StatusCode| {
            (
                CloudErrorKind::ResponseTooLarge {
                    status: status.as_u16(),
                    limit,
                },
                class_of_unread_answer(status),
            )
        };
        if response
            .content_length()
            .is_some_and(|length| length > limit as u64)
        {
            return Err(too_large(status));
        }
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > limit {
                        return Err(too_large(status));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(error) => {
                    return Err(self.transport_failure(
                        error,
                        &endpoint,
                        Some(status),
                        issued.redactor(),
                    ));
                }
            }
        }
        let received = Received { body, content_type };
        if tracing::enabled!(tracing::Level::DEBUG) {
            let request_id = request_id_header
                .or_else(|| job_groups::request_id(received.answer()))
                .unwrap_or_else(|| "none".to_owned());
            let elapsed = format!("{:.1}ms", sent.elapsed().as_secs_f64() * 1000.0);
            tracing::debug!(
                action = call.request.action,
                subject = %call.subject,
                status = status.as_u16(),
                %request_id,
                %elapsed,
                bytes = received.body.len(),
                "answered"
            );
        }
        if status.is_success() {
            return Ok(received);
        }
        let (kind, class) =
            error_from_answer(status.as_u16(), received.answer(), issued.redactor());
        let kind = match kind {
            CloudErrorKind::Service(service) if service.code == EXPIRED_TIMESTAMP_CODE => {
                CloudErrorKind::ClockOff {
                    endpoint,
                    skew: answered_at.map(|answered| ClockSkew::between(signed_at, answered)),
                    service,
                }
            }
            kind => kind,
        };
        Err((kind, class))
    }

    /// Classifies a failure of the HTTP stack. `status` is set when the failure happened while
    /// reading the body of an answer with that status.
    fn transport_failure(
        &self,
        error: reqwest::Error,
        endpoint: &str,
        status: Option<StatusCode>,
        redactor: &Redactor,
    ) -> (CloudErrorKind, ErrorClass) {
        // The URL carries the signed query, security token included: never let it through.
        let error = error.without_url();
        let detail = redactor.redact(&error_chain(&error));
        if let Some(status) = status {
            let class = class_of_unread_answer(status);
            if error.is_timeout() && class == ErrorClass::Ambiguous {
                return (
                    CloudErrorKind::Timeout {
                        after: self.options.request_timeout,
                    },
                    class,
                );
            }
            return (
                CloudErrorKind::BodyUnreadable {
                    status: status.as_u16(),
                    detail,
                },
                class,
            );
        }
        if error.is_connect() {
            if has_tls_error(&error) {
                return (
                    CloudErrorKind::Tls {
                        endpoint: endpoint.to_owned(),
                        detail,
                    },
                    ErrorClass::Terminal,
                );
            }
            // Refused, unresolvable or timed out while connecting: nothing was sent.
            return (
                CloudErrorKind::Connect {
                    endpoint: endpoint.to_owned(),
                    detail,
                },
                ErrorClass::Retryable,
            );
        }
        if error.is_timeout() {
            return (
                CloudErrorKind::Timeout {
                    after: self.options.request_timeout,
                },
                ErrorClass::Ambiguous,
            );
        }
        if error.is_builder() {
            return (CloudErrorKind::Request { detail }, ErrorClass::Terminal);
        }
        (
            CloudErrorKind::ConnectionLost { detail },
            ErrorClass::Ambiguous,
        )
    }
}

/// The HTTP client every call of cityform's uses, the STS and metadata calls included: TLS
/// with the bundled roots merged in, no redirects.
pub(crate) fn http_client(
    connect_timeout: Duration,
    request_timeout: Duration,
) -> Result<reqwest::Client, ClientBuildError> {
    // Another part of the program may have installed a provider already; either way one
    // is installed afterwards, which is all that matters.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let bundled_roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .filter_map(|certificate| reqwest::Certificate::from_der(certificate).ok());
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .timeout(request_timeout)
        // A redirect would resend the signed request somewhere else.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("cityform/", env!("CARGO_PKG_VERSION")))
        .tls_certs_merge(bundled_roots)
        .build()
        .map_err(|error| ClientBuildError::Http {
            detail: error_chain(&error),
        })
}

/// Tells `health` what one failed attempt says about the endpoint and the clock: a failure
/// to connect counts towards halting, an answer refusing the timestamp too, and any other
/// answer says the endpoint is alive. A failure after connecting says neither.
fn report_health(health: &RunHealth, kind: &CloudErrorKind) {
    match kind {
        CloudErrorKind::Connect { endpoint, detail } => {
            health.on_connect_failure(endpoint, detail);
        }
        CloudErrorKind::ClockOff { endpoint, skew, .. } => {
            health.on_clock_refused(endpoint, *skew);
        }
        CloudErrorKind::Service(_)
        | CloudErrorKind::UnexpectedErrorBody { .. }
        | CloudErrorKind::MalformedResponse { .. }
        | CloudErrorKind::MissingField { .. }
        | CloudErrorKind::ResponseTooLarge { .. } => health.on_answer(),
        _ => {}
    }
}

/// An HTTP `Date` (`Tue, 15 Nov 1994 08:12:31 GMT`); `None` for anything else.
fn parse_http_date(text: &str) -> Option<time::OffsetDateTime> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::PrimitiveDateTime::parse(text.trim(), &format)
        .ok()
        .map(time::PrimitiveDateTime::assume_utc)
}

/// The service's answer to a request whose security token has expired.
pub(crate) const EXPIRED_TOKEN_CODE: &str = "InvalidSecurityToken.Expired";

fn is_expired_token(kind: &CloudErrorKind) -> bool {
    matches!(kind, CloudErrorKind::Service(service) if service.code == EXPIRED_TOKEN_CODE)
}

/// An answer that could not be read whole: a success may have acted, so it is ambiguous; an
/// error status says the service did not act, so it is classified by that status.
fn class_of_unread_answer(status: StatusCode) -> ErrorClass {
    if status.is_success() {
        ErrorClass::Ambiguous
    } else {
        super::error::classify_status(status.as_u16())
    }
}

/// Whether a server error may have come from a proxy or gateway in front of the service after
/// it passed the request on: a 5xx whose body is not the service's own error document (an
/// HTML page, or one that could not be read). nginx answers 502 when the service closed the
/// connection after reading the request, and 504 when it did not answer in time; either way
/// the service may have acted. The service's own 5xx errors (`ServiceUnavailable`,
/// `InternalError`) say it did not.
fn may_have_been_passed_on(kind: &CloudErrorKind) -> bool {
    matches!(
        kind,
        CloudErrorKind::UnexpectedErrorBody { status, .. }
            | CloudErrorKind::BodyUnreadable { status, .. } if *status >= 500
    )
}

/// A success answer that cannot be used: ambiguous for changes (the service acted, and the
/// caller cannot tell how), terminal for reads.
fn answer_error(call: &Call, problem: AnswerProblem, attempts: u32) -> CloudError {
    let class = match call.safety {
        Safety::Mutation => ErrorClass::Ambiguous,
        Safety::Read => ErrorClass::Terminal,
    };
    let kind = match problem {
        AnswerProblem::Malformed { reason, request_id } => CloudErrorKind::MalformedResponse {
            status: 200,
            reason,
            request_id,
        },
        AnswerProblem::MissingField { field, request_id } => {
            CloudErrorKind::MissingField { field, request_id }
        }
    };
    CloudError {
        action: call.request.action,
        subject: call.subject.clone(),
        kind,
        class,
        attempts,
    }
}

/// Most times a listing is taken from its first page because `TotalCount` changed between
/// its pages.
pub const LISTING_ATTEMPTS: u32 = 3;

/// What one pass over an instance's pages found.
enum Listing {
    /// Every group, `TotalCount` the same on every page.
    Complete(Vec<ObservedJobGroup>),
    /// `TotalCount` changed from `first` to `then` between two pages.
    Shifted { first: u64, then: u64 },
}

/// `scheme://host:port`, for messages: never the path or the query.
fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// The error and its sources, joined with `: `, each message once.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut messages: Vec<String> = Vec::new();
    let mut current = Some(error);
    while let Some(error) = current {
        let message = error.to_string();
        if !messages.iter().any(|seen| seen.contains(&message)) {
            messages.push(message);
        }
        current = error.source();
    }
    messages.join(": ")
}

/// Whether a rustls error is among the sources (an `io::Error` hides its inner error from
/// `source()`, so those are opened too).
fn has_tls_error(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(error) = current {
        if error.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        if let Some(io) = error.downcast_ref::<std::io::Error>()
            && io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
        {
            return true;
        }
        current = error.source();
    }
    false
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::cloud::endpoint::EndpointError;

    fn client() -> CloudClient {
        CloudClient::new(
            Credentials::new("LTAIexample", "SECRET-never-printed")
                .with_security_token("TOKEN-never-printed"),
            Endpoints::regional(),
            ClientOptions::default(),
        )
        .unwrap()
    }

    #[test]
    fn debug_shows_no_secret() {
        let text = format!("{:?}", client());
        assert!(text.contains("LTAIexample"), "{text}");
        assert!(!text.contains("SECRET-never-printed"), "{text}");
        assert!(!text.contains("TOKEN-never-printed"), "{text}");
    }

    #[test]
    fn no_error_variant_carries_a_secret() {
        let secret = "SECRET-never-printed";
        let token = "TOKEN-never-printed";
        let redactor =
            Redactor::new(&Credentials::new("LTAIexample", secret).with_security_token(token));
        let echoed = format!(
            r#"{{"Code":"SignatureDoesNotMatch","Message":"{secret} {token} {}","RequestId":"{token}","Recommend":"{token}","HostId":"{token}"}}"#,
            crate::cloud::signer::percent_encode(&crate::cloud::signer::percent_encode(token))
        );
        let (service, _) = error_from_answer(400, echoed.as_bytes(), &redactor);
        let (page, _) = error_from_answer(502, format!("<p>{token}</p>").as_bytes(), &redactor);
        let kinds = vec![
            service,
            page,
            CloudErrorKind::MalformedResponse {
                status: 200,
                reason: "r".into(),
                request_id: Some("R".into()),
            },
            CloudErrorKind::MissingField {
                field: "JobGroupId",
                request_id: None,
            },
            CloudErrorKind::ResponseTooLarge {
                status: 200,
                limit: 8,
            },
            CloudErrorKind::Connect {
                endpoint: "https://h".into(),
                detail: redactor.redact(&format!("refused {token}")),
            },
            CloudErrorKind::Tls {
                endpoint: "https://h".into(),
                detail: "bad certificate".into(),
            },
            CloudErrorKind::Timeout {
                after: Duration::from_secs(1),
            },
            CloudErrorKind::ConnectionLost {
                detail: redactor.redact(secret),
            },
            CloudErrorKind::BodyUnreadable {
                status: 200,
                detail: "reset".into(),
            },
            CloudErrorKind::Endpoint(EndpointError::InvalidRegion {
                region: "x y".into(),
            }),
            CloudErrorKind::Request { detail: "d".into() },
        ];
        for kind in kinds {
            let error = CloudError {
                action: "CreateJobGroup",
                subject: "traffic-east".into(),
                kind,
                class: ErrorClass::Terminal,
                attempts: 2,
            };
            for text in [
                error.to_string(),
                format!("{error:?}"),
                format!("{error:#?}"),
            ] {
                assert!(!text.contains(secret), "{text}");
                assert!(!text.contains(token), "{text}");
            }
        }
        let build = ClientBuildError::Http {
            detail: "no roots".into(),
        };
        assert!(!format!("{build} {build:?}").contains(secret));
    }

    #[test]
    fn error_chains_name_each_cause_once() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("error sending request")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let error = Outer(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "connection refused",
        ));
        assert_eq!(
            error_chain(&error),
            "error sending request: connection refused"
        );
        assert!(!has_tls_error(&error));
        let tls = Outer(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        ));
        assert!(has_tls_error(&tls));
    }

    #[test]
    fn only_server_errors_without_the_services_own_document_may_have_been_passed_on() {
        let page = |status| CloudErrorKind::UnexpectedErrorBody {
            status,
            excerpt: "502 Bad Gateway".into(),
        };
        assert!(may_have_been_passed_on(&page(502)));
        assert!(may_have_been_passed_on(&page(504)));
        assert!(may_have_been_passed_on(&CloudErrorKind::BodyUnreadable {
            status: 503,
            detail: "reset".into(),
        }));
        assert!(!may_have_been_passed_on(&page(429)));
        assert!(!may_have_been_passed_on(&page(404)));
        let (service, _) = error_from_answer(
            503,
            br#"{"Code":"ServiceUnavailable","Message":"later"}"#,
            &Redactor::default(),
        );
        assert!(!may_have_been_passed_on(&service));
    }

    #[test]
    fn unread_answers_are_ambiguous_only_on_success() {
        assert_eq!(
            class_of_unread_answer(StatusCode::OK),
            ErrorClass::Ambiguous
        );
        assert_eq!(
            class_of_unread_answer(StatusCode::BAD_GATEWAY),
            ErrorClass::Retryable
        );
        assert_eq!(
            class_of_unread_answer(StatusCode::NOT_FOUND),
            ErrorClass::Terminal
        );
    }
}
