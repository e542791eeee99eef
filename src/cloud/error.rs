//! `CloudError`: what went wrong with a call, and the one classification every caller uses.
//!
//! Each failure is classified once, where it is understood:
//! - [`ErrorClass::Retryable`]: the service did not act (throttled, unavailable, internal
//!   error, any other 5xx of a read) or the request never left (connection refused, DNS,
//!   connect timeout). Sending it again is safe.
//! - [`ErrorClass::Ambiguous`]: the request may have reached the service and the answer was
//!   lost (timeout or reset after sending, a body that could not be read, a success without the
//!   id it should carry, and for a change a 5xx that is not the service's own error document:
//!   a proxy in front of it may have passed the request on before failing). A create in this
//!   state must be resolved by looking the name up, never by sending it again.
//! - [`ErrorClass::Terminal`]: the service refused the request (other 4xx) or the client
//!   cannot send it; trying again gives the same answer.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

use super::answer::AnswerBody;
use super::endpoint::EndpointError;
use super::redact::{Redactor, excerpt};
use crate::model::printable;

/// What a caller may do after a failure. Serialized in lower case, as it displays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorClass {
    /// Nothing happened on the service; the same request may be sent again.
    Retryable,
    /// The service may or may not have acted; find out before sending anything again.
    Ambiguous,
    /// The service refused, or the request cannot be made; sending it again will not help.
    Terminal,
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorClass::Retryable => "retryable",
            ErrorClass::Ambiguous => "ambiguous",
            ErrorClass::Terminal => "terminal",
        })
    }
}

/// An error answer in Alibaba Cloud's format, `{"Code", "Message", "RequestId", ...}` in JSON
/// or `<Error><Code>…</Code>…</Error>` in XML.
///
/// `Message` and `Recommend` have been scrubbed of the credentials' secret values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError {
    /// HTTP status.
    pub status: u16,
    /// `Code`, e.g. `InvalidName.Duplicate`.
    pub code: String,
    /// `Message`.
    pub message: String,
    /// `RequestId`, the reference support asks for.
    pub request_id: Option<String>,
    /// `Recommend`, usually a link to the diagnosis page.
    pub recommend: Option<String>,
    /// `HostId`, the endpoint that answered.
    pub host_id: Option<String>,
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.code, self.status)?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(request_id) = &self.request_id {
            write!(f, " [RequestId {request_id}]")?;
        }
        Ok(())
    }
}

/// Error codes that mean "too many requests, slow down".
pub const THROTTLING_CODES: [&str; 4] = [
    "Throttling",
    "Throttling.User",
    "Throttling.Api",
    "ServiceUnavailable",
];

/// Error codes that mean "the service failed; the same request may succeed later".
pub const RETRYABLE_CODES: [&str; 1] = ["InternalError"];

impl ServiceError {
    /// Whether the service asked to slow down: a throttling code (any `Throttling.*`
    /// included) or HTTP 429.
    pub fn is_throttling(&self) -> bool {
        is_throttling(self.status, &self.code)
    }

    /// The class of this answer: see [`classify_service_error`].
    pub fn class(&self) -> ErrorClass {
        classify_service_error(self.status, &self.code)
    }
}

/// Whether `(status, code)` is a throttling answer.
pub fn is_throttling(status: u16, code: &str) -> bool {
    status == 429 || THROTTLING_CODES.contains(&code) || code.starts_with("Throttling.")
}

/// The class of an error answer: throttling codes, `InternalError`, HTTP 429 and every 5xx are
/// retryable; everything else is terminal. An error answer is never ambiguous: the service
/// answered, and an error means it did not act.
pub fn classify_service_error(status: u16, code: &str) -> ErrorClass {
    if is_throttling(status, code) || RETRYABLE_CODES.contains(&code) || status >= 500 {
        ErrorClass::Retryable
    } else {
        ErrorClass::Terminal
    }
}

/// The class of an error answer whose body could not be understood, from its status alone.
pub fn classify_status(status: u16) -> ErrorClass {
    if status == 429 || status >= 500 {
        ErrorClass::Retryable
    } else {
        ErrorClass::Terminal
    }
}

/// What went wrong, without the action and subject that [`CloudError`] adds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloudErrorKind {
    /// The service answered with an error in its own format.
    #[error("{0}")]
    Service(ServiceError),
    /// The service refused the request's timestamp (`InvalidTimeStamp.Expired`): the local
    /// clock is off.
    #[error("{service}; {}: synchronise it (NTP) and try again", clock_off(.skew))]
    ClockOff {
        /// The answer.
        service: ServiceError,
        /// Scheme, host and port of the endpoint that answered.
        endpoint: String,
        /// How far the local clock is from the service's, when the answer had a `Date`.
        skew: Option<super::health::ClockSkew>,
    },
    /// An error status with a body that is not an Alibaba Cloud error (a proxy's HTML page).
    #[error("HTTP {status} with a body that is not an Alibaba Cloud error: {}", quoted_or_empty(.excerpt))]
    UnexpectedErrorBody {
        /// HTTP status.
        status: u16,
        /// The body's first characters, printable and scrubbed.
        excerpt: String,
    },
    /// A success status with a body that cannot be understood.
    #[error("HTTP {status} answer cannot be understood: {reason}{}", request_id_suffix(.request_id))]
    MalformedResponse {
        /// HTTP status.
        status: u16,
        /// What is wrong with it.
        reason: String,
        /// `RequestId`, when the body had one.
        request_id: Option<String>,
    },
    /// The groups of an instance changed between the pages of every listing taken.
    #[error(
        "the job groups of the instance kept changing while they were listed: `TotalCount` went from {changes} in {attempts} listings; run again when the instance is quieter"
    )]
    UnsettledListing {
        /// How many listings were taken.
        attempts: u32,
        /// `TotalCount`'s changes, one per listing (`150 to 149, 149 to 148`).
        changes: String,
    },
    /// A success answer that lacks the one field the caller needs (`JobGroupId`).
    #[error(
        "the answer has no `{field}`{}: the service may have acted; look the job group up by name before sending anything again",
        request_id_suffix(.request_id)
    )]
    MissingField {
        /// The field, as the API spells it.
        field: &'static str,
        /// `RequestId`, when the body had one.
        request_id: Option<String>,
    },
    /// The answer is larger than the client reads.
    #[error("HTTP {status} answer is larger than the {limit} bytes this client reads")]
    ResponseTooLarge {
        /// HTTP status.
        status: u16,
        /// The limit, in bytes.
        limit: usize,
    },
    /// No connection could be made; nothing was sent.
    #[error("cannot connect to `{endpoint}`: {detail}")]
    Connect {
        /// Scheme, host and port.
        endpoint: String,
        /// The underlying failure.
        detail: String,
    },
    /// The TLS handshake failed (an untrusted or mismatched certificate, usually).
    #[error("TLS handshake with `{endpoint}` failed: {detail}")]
    Tls {
        /// Scheme, host and port.
        endpoint: String,
        /// The underlying failure.
        detail: String,
    },
    /// No complete answer arrived in time.
    #[error(
        "no complete answer within {}; the request may have reached the service",
        human_duration(*.after)
    )]
    Timeout {
        /// The request timeout in force.
        after: Duration,
    },
    /// The connection broke after the request was (perhaps partly) sent.
    #[error(
        "the connection broke after the request was sent ({detail}); the request may have reached the service"
    )]
    ConnectionLost {
        /// The underlying failure.
        detail: String,
    },
    /// The answer's body could not be read to the end.
    #[error(
        "HTTP {status} answer could not be read ({detail}); the request may have reached the service"
    )]
    BodyUnreadable {
        /// HTTP status.
        status: u16,
        /// The underlying failure.
        detail: String,
    },
    /// The region or endpoint cannot be used.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// The request could not be built or sent for another reason.
    #[error("the request could not be sent: {detail}")]
    Request {
        /// The underlying failure.
        detail: String,
    },
}

fn clock_off(skew: &Option<super::health::ClockSkew>) -> String {
    skew.map_or_else(
        || "this machine's clock is off by more than the service allows".to_owned(),
        |skew| skew.to_string(),
    )
}

fn quoted_or_empty(text: &str) -> String {
    if text.is_empty() {
        "the body is empty".to_owned()
    } else {
        format!("`{text}`")
    }
}

fn request_id_suffix(request_id: &Option<String>) -> String {
    request_id
        .as_ref()
        .map(|id| format!(" [RequestId {id}]"))
        .unwrap_or_default()
}

/// `250ms`, `3s`, `1.5s`.
pub(crate) fn human_duration(duration: Duration) -> String {
    if duration < Duration::from_secs(1) {
        format!("{}ms", duration.as_millis())
    } else if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{:.1}s", duration.as_secs_f64())
    }
}

/// A failed call: which action on what, what went wrong, and what the caller may do next.
///
/// Displays as `CreateJobGroup traffic-east: InvalidAlgoLibId.NotFound (404): The specified
/// algorithm library does not exist. [RequestId E175...]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{action} {subject}: {kind}{}", attempts_suffix(*.attempts))]
pub struct CloudError {
    /// The API action, e.g. `CreateJobGroup`.
    pub action: &'static str,
    /// What the action was about: a job group's name or id, or an instance.
    pub subject: String,
    /// What went wrong.
    pub kind: CloudErrorKind,
    /// What the caller may do next.
    pub class: ErrorClass,
    /// How many attempts were made before this error was returned.
    pub attempts: u32,
}

fn attempts_suffix(attempts: u32) -> String {
    if attempts > 1 {
        format!(" (gave up after {attempts} attempts)")
    } else {
        String::new()
    }
}

impl CloudError {
    /// The class: retryable, ambiguous or terminal.
    pub fn class(&self) -> ErrorClass {
        self.class
    }

    /// Whether the same request may be sent again.
    pub fn is_retryable(&self) -> bool {
        self.class == ErrorClass::Retryable
    }

    /// Whether the service may have acted although no success was seen.
    pub fn is_ambiguous(&self) -> bool {
        self.class == ErrorClass::Ambiguous
    }

    /// The service's error answer, when there was one.
    pub fn service_error(&self) -> Option<&ServiceError> {
        match &self.kind {
            CloudErrorKind::Service(error) | CloudErrorKind::ClockOff { service: error, .. } => {
                Some(error)
            }
            _ => None,
        }
    }

    /// The service's `Code`, e.g. `InvalidName.Duplicate`.
    pub fn code(&self) -> Option<&str> {
        self.service_error().map(|error| error.code.as_str())
    }

    /// The `RequestId` of the answer, when one was read.
    pub fn request_id(&self) -> Option<&str> {
        match &self.kind {
            CloudErrorKind::Service(error) | CloudErrorKind::ClockOff { service: error, .. } => {
                error.request_id.as_deref()
            }
            CloudErrorKind::MalformedResponse { request_id, .. }
            | CloudErrorKind::MissingField { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// The HTTP status of the answer, when one arrived.
    pub fn http_status(&self) -> Option<u16> {
        match &self.kind {
            CloudErrorKind::Service(error) | CloudErrorKind::ClockOff { service: error, .. } => {
                Some(error.status)
            }
            CloudErrorKind::UnexpectedErrorBody { status, .. }
            | CloudErrorKind::MalformedResponse { status, .. }
            | CloudErrorKind::ResponseTooLarge { status, .. }
            | CloudErrorKind::BodyUnreadable { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the service asked to slow down.
    pub fn is_throttling(&self) -> bool {
        match &self.kind {
            CloudErrorKind::Service(error) => error.is_throttling(),
            CloudErrorKind::UnexpectedErrorBody { status, .. } => *status == 429,
            _ => false,
        }
    }

    /// Whether the service refused the request for the account's request rate
    /// (`Throttling`, `Throttling.*`, HTTP 429), as opposed to being unavailable: a refusal
    /// that only a slower pace cures.
    pub fn is_flow_control(&self) -> bool {
        match &self.kind {
            CloudErrorKind::Service(error) => {
                error.status == 429
                    || error.code == "Throttling"
                    || error.code.starts_with("Throttling.")
            }
            CloudErrorKind::UnexpectedErrorBody { status, .. } => *status == 429,
            _ => false,
        }
    }
}

/// Turns an error answer (status ≥ 300), JSON or XML, into a kind and its class. Never panics,
/// whatever the body; text taken from the body is scrubbed by `redactor`.
pub fn error_from_answer<'a>(
    status: u16,
    body: impl Into<AnswerBody<'a>>,
    redactor: &Redactor,
) -> (CloudErrorKind, ErrorClass) {
    let body = body.into();
    match parse_service_error(status, body, redactor) {
        Some(error) => {
            let class = error.class();
            (CloudErrorKind::Service(error), class)
        }
        None => (
            CloudErrorKind::UnexpectedErrorBody {
                status,
                // Scrubbed before it is cut short, so that no secret survives in part, and
                // after, in case removing tags and spaces put one back together.
                excerpt: shown(
                    redactor,
                    &excerpt(
                        redactor
                            .redact(&String::from_utf8_lossy(body.bytes()))
                            .as_bytes(),
                    ),
                ),
            },
            classify_status(status),
        ),
    }
}

fn parse_service_error(
    status: u16,
    body: AnswerBody<'_>,
    redactor: &Redactor,
) -> Option<ServiceError> {
    let document = body.document().ok()?;
    let code = text_field(&document, "Code").filter(|code| !code.is_empty())?;
    let scrubbed = |name: &str| text_field(&document, name).map(|text| shown(redactor, &text));
    Some(ServiceError {
        status,
        code: shown(redactor, &code),
        message: scrubbed("Message").unwrap_or_default(),
        request_id: scrubbed("RequestId"),
        recommend: scrubbed("Recommend"),
        host_id: scrubbed("HostId"),
    })
}

/// Text from an answer as an error may show it: without the credentials' secrets, and with
/// control characters escaped, so that an answer cannot rewrite what a terminal shows.
pub(crate) fn shown(redactor: &Redactor, text: &str) -> String {
    printable(&redactor.redact(text)).into_owned()
}

/// A field that should be a string; some services send numbers, which are taken as written.
pub(crate) fn text_field(document: &Value, name: &str) -> Option<String> {
    match document.get(name)? {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::cloud::credentials::Credentials;

    fn no_secrets() -> Redactor {
        Redactor::default()
    }

    #[test]
    fn classification_table() {
        let table: [(u16, &str, ErrorClass); 14] = [
            (400, "Throttling", ErrorClass::Retryable),
            (503, "Throttling", ErrorClass::Retryable),
            (400, "Throttling.User", ErrorClass::Retryable),
            (400, "Throttling.Api", ErrorClass::Retryable),
            (400, "Throttling.Concurrent", ErrorClass::Retryable),
            (503, "ServiceUnavailable", ErrorClass::Retryable),
            (500, "InternalError", ErrorClass::Retryable),
            (502, "BadGateway", ErrorClass::Retryable),
            (429, "TooManyRequests", ErrorClass::Retryable),
            (400, "InvalidName.Duplicate", ErrorClass::Terminal),
            (404, "InvalidAlgoLibId.NotFound", ErrorClass::Terminal),
            (403, "MissingParameter", ErrorClass::Terminal),
            (400, "SignatureDoesNotMatch", ErrorClass::Terminal),
            (404, "InvalidJobGroupId.NotFound", ErrorClass::Terminal),
        ];
        for (status, code, class) in table {
            assert_eq!(
                classify_service_error(status, code),
                class,
                "{status} {code}"
            );
        }
        assert_eq!(classify_status(502), ErrorClass::Retryable);
        assert_eq!(classify_status(429), ErrorClass::Retryable);
        assert_eq!(classify_status(404), ErrorClass::Terminal);
        assert_eq!(classify_status(302), ErrorClass::Terminal);
    }

    #[test]
    fn parses_an_alibaba_error_body() {
        let body = br#"{"RequestId":"E175B041-75A2-4335-B3AC-0FD008F93627","HostId":"cityvisual.cn-shanghai.aliyuncs.com","Code":"InvalidAlgoLibId.NotFound","Message":"The specified algorithm library does not exist.","Recommend":"https://next.api.aliyun.com/troubleshoot?q=InvalidAlgoLibId.NotFound"}"#;
        let (kind, class) = error_from_answer(404, body, &no_secrets());
        assert_eq!(class, ErrorClass::Terminal);
        assert_eq!(
            kind,
            CloudErrorKind::Service(ServiceError {
                status: 404,
                code: "InvalidAlgoLibId.NotFound".into(),
                message: "The specified algorithm library does not exist.".into(),
                request_id: Some("E175B041-75A2-4335-B3AC-0FD008F93627".into()),
                recommend: Some(
                    "https://next.api.aliyun.com/troubleshoot?q=InvalidAlgoLibId.NotFound".into()
                ),
                host_id: Some("cityvisual.cn-shanghai.aliyuncs.com".into()),
            })
        );
        let error = CloudError {
            action: "CreateJobGroup",
            subject: "traffic-east".into(),
            kind,
            class,
            attempts: 1,
        };
        assert_eq!(
            error.to_string(),
            "CreateJobGroup traffic-east: InvalidAlgoLibId.NotFound (404): The specified algorithm library does not exist. [RequestId E175B041-75A2-4335-B3AC-0FD008F93627]"
        );
        assert_eq!(error.code(), Some("InvalidAlgoLibId.NotFound"));
        assert_eq!(
            error.request_id(),
            Some("E175B041-75A2-4335-B3AC-0FD008F93627")
        );
        assert_eq!(error.http_status(), Some(404));
    }

    #[test]
    fn a_throttling_body_is_retryable_and_says_so() {
        let body = br#"{"Code":"Throttling.User","Message":"Request was denied due to user flow control.","RequestId":"R1"}"#;
        let (kind, class) = error_from_answer(400, body, &no_secrets());
        let error = CloudError {
            action: "DescribeJobGroups",
            subject: "cityvisual-Instance".into(),
            kind,
            class,
            attempts: 6,
        };
        assert!(error.is_retryable());
        assert!(error.is_throttling());
        assert_eq!(
            error.to_string(),
            "DescribeJobGroups cityvisual-Instance: Throttling.User (400): Request was denied due to user flow control. [RequestId R1] (gave up after 6 attempts)"
        );
    }

    #[test]
    fn bodies_that_are_not_alibaba_errors_are_classified_by_status() {
        let page = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>";
        let (kind, class) = error_from_answer(502, page, &no_secrets());
        assert_eq!(class, ErrorClass::Retryable);
        assert_eq!(
            kind.to_string(),
            "HTTP 502 with a body that is not an Alibaba Cloud error: `502 Bad Gateway 502 Bad Gateway`"
        );
        for body in [
            &b""[..],
            b"null",
            b"[]",
            b"{\"Message\":\"no code\"}",
            b"{\"Code\":\"\"}",
            b"{\"Code\":{}}",
            b"\xff\xfe\x00",
        ] {
            let (kind, class) = error_from_answer(403, body, &no_secrets());
            assert_eq!(class, ErrorClass::Terminal, "{body:?}");
            assert!(
                matches!(
                    kind,
                    CloudErrorKind::UnexpectedErrorBody { status: 403, .. }
                ),
                "{body:?}"
            );
        }
        let (kind, _) = error_from_answer(500, b"", &no_secrets());
        assert_eq!(
            kind.to_string(),
            "HTTP 500 with a body that is not an Alibaba Cloud error: the body is empty"
        );
    }

    /// Alibaba Cloud's XML error document, with the code and message of the ModifyJobGroup
    /// reference page: it was taken for a proxy's page, without its code.
    #[test]
    fn parses_an_xml_error_body() {
        let body = b"<?xml version='1.0' encoding='UTF-8'?><Error><RequestId>E175B041-75A2-4335-B3AC-0FD008F93627</RequestId><HostId>cityvisual.cn-shanghai.aliyuncs.com</HostId><Code>InvalidJobGroupId.NotFound</Code><Message>The specified job group does not exist.</Message><Recommend><![CDATA[https://next.api.aliyun.com/troubleshoot?q=InvalidJobGroupId.NotFound&product=cityvisual]]></Recommend></Error>";
        let (kind, class) = error_from_answer(404, body, &no_secrets());
        assert_eq!(class, ErrorClass::Terminal);
        assert_eq!(
            kind,
            CloudErrorKind::Service(ServiceError {
                status: 404,
                code: "InvalidJobGroupId.NotFound".into(),
                message: "The specified job group does not exist.".into(),
                request_id: Some("E175B041-75A2-4335-B3AC-0FD008F93627".into()),
                recommend: Some(
                    "https://next.api.aliyun.com/troubleshoot?q=InvalidJobGroupId.NotFound&product=cityvisual"
                        .into()
                ),
                host_id: Some("cityvisual.cn-shanghai.aliyuncs.com".into()),
            })
        );
        let throttled = "\n  <Error>\n    <Code>Throttling.User</Code>\n    <Message>Request was denied due to user flow control.</Message>\n  </Error>\n";
        let (kind, class) = error_from_answer(400, throttled.as_bytes(), &no_secrets());
        assert_eq!(class, ErrorClass::Retryable);
        assert_eq!(
            kind.to_string(),
            "Throttling.User (400): Request was denied due to user flow control."
        );
        let declared = AnswerBody::new(b"<Error><Code>InternalError</Code></Error>")
            .with_content_type(Some("text/xml;charset=UTF-8"));
        let (kind, class) = error_from_answer(500, declared, &no_secrets());
        assert_eq!(class, ErrorClass::Retryable);
        assert_eq!(kind.to_string(), "InternalError (500)");
        for page in [
            &b"<Error><Message>no code</Message></Error>"[..],
            b"<Error><Code></Code></Error>",
            b"<Error><Code><A/></Code></Error>",
            b"<Error><Code>Truncated",
        ] {
            let (kind, _) = error_from_answer(403, page, &no_secrets());
            assert!(
                matches!(
                    kind,
                    CloudErrorKind::UnexpectedErrorBody { status: 403, .. }
                ),
                "{kind:?}"
            );
        }
    }

    /// An error answer's text reached the terminal with its escape sequences.
    #[test]
    fn control_characters_in_an_error_answer_are_shown_escaped() {
        let body = "{\"Code\":\"Bad\\u001b[2K\",\"Message\":\"line\\rover\\u202ewritten\",\"RequestId\":\"R\\u0007\"}";
        let (kind, _) = error_from_answer(400, body.as_bytes(), &no_secrets());
        assert_eq!(
            kind.to_string(),
            "Bad\\u{1b}[2K (400): line\\rover\\u{202e}written [RequestId R\\u{7}]"
        );
        let (kind, _) = error_from_answer(502, "<p>a\u{202e}b</p>".as_bytes(), &no_secrets());
        assert!(!kind.to_string().contains('\u{202e}'), "{kind}");
    }

    #[test]
    fn numeric_codes_are_taken_as_written() {
        let (kind, _) = error_from_answer(400, br#"{"Code":400,"Message":"x"}"#, &no_secrets());
        assert!(
            matches!(kind, CloudErrorKind::Service(ServiceError { ref code, .. }) if code == "400")
        );
    }

    #[test]
    fn echoed_tokens_are_scrubbed_from_service_messages() {
        let credentials = Credentials::new("LTAIid", "the-secret").with_security_token("tok/en+1");
        let redactor = Redactor::new(&credentials);
        let twice =
            crate::cloud::signer::percent_encode(&crate::cloud::signer::percent_encode("tok/en+1"));
        let body = format!(
            r#"{{"Code":"SignatureDoesNotMatch","Message":"server string to sign is:POST&%2F&SecurityToken%3D{twice}"}}"#
        );
        let (kind, _) = error_from_answer(400, body.as_bytes(), &redactor);
        let text = kind.to_string();
        assert!(!text.contains(&twice), "{text}");
        assert!(text.contains("SecurityToken%3D***"), "{text}");
    }

    /// A proxy page that echoes the request URL, security token included, near the length
    /// an excerpt is cut at: the cut left the first part of the token in the message.
    #[test]
    fn a_token_cut_short_by_the_excerpt_is_still_scrubbed() {
        let token = "CAISsecurityTokenThatIsMuchLongerThanTheRestOfTheExcerpt0123456789";
        let redactor =
            Redactor::new(&Credentials::new("LTAIid", "secret-1").with_security_token(token));
        for padding in 150..super::super::redact::EXCERPT_CHARACTERS {
            let page = format!(
                "<html><body><p>{} /?SecurityToken={token}&Signature=x</p></body></html>",
                "x".repeat(padding)
            );
            let (kind, _) = error_from_answer(400, page.as_bytes(), &redactor);
            let text = kind.to_string();
            assert!(!text.contains(&token[..8]), "{text}");
        }
    }

    proptest::proptest! {
        #[test]
        fn no_error_body_makes_classification_panic(
            status in 300_u16..1000,
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..1024),
        ) {
            let (kind, class) = error_from_answer(status, &body, &no_secrets());
            let _ = kind.to_string();
            proptest::prop_assert!(status < 500 || class == ErrorClass::Retryable);
        }
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(human_duration(Duration::from_secs(30)), "30s");
        assert_eq!(human_duration(Duration::from_millis(1_500)), "1.5s");
    }
}
