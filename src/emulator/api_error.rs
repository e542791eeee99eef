//! The errors the emulator answers with: an HTTP status, an Alibaba Cloud error `Code` and a
//! `Message`, one constructor per code so that every code has exactly one status.
//!
//! Codes and statuses follow the CreateJobGroup reference and the choices written down in
//! `docs/emulator.md`; messages read like Alibaba Cloud's own.

use axum::http::StatusCode;

/// One error answer, before it is rendered as JSON or XML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    /// HTTP status of the answer.
    pub status: StatusCode,
    /// The Alibaba Cloud error code, e.g. `InvalidName.Duplicate`.
    pub code: &'static str,
    /// What went wrong, for a person.
    pub message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// Any other error: STS's codes, which have one status each too.
    pub fn other(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self::new(status, code, message)
    }

    /// A common (system) parameter such as `Timestamp` is missing: 400.
    pub fn missing_common_parameter(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "MissingParameter",
            format!(
                "The input parameter \"{name}\" that is mandatory for processing this request is not supplied."
            ),
        )
    }

    /// A required action parameter is missing: 403, as the CreateJobGroup reference says.
    pub fn missing_action_parameter(name: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "MissingParameter",
            format!(
                "You must specify the required resource parameters: \"{name}\" is not supplied."
            ),
        )
    }

    /// A value of the wrong type, out of range, or a request that cannot be decoded: 400.
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "InvalidParameter", message)
    }

    /// `Version` is not `2018-10-30`: 400.
    pub fn invalid_version(version: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidVersion",
            format!(
                "Specified parameter Version \"{version}\" is not valid: this API version is 2018-10-30."
            ),
        )
    }

    /// The `Action` is not one of the job-group actions: 404.
    pub fn unknown_action(action: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "InvalidAction.NotFound",
            format!("Specified api \"{action}\" is not found, please check your url and method."),
        )
    }

    /// The `AccessKeyId` is not the emulator's: 404.
    pub fn unknown_access_key_id() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        )
    }

    /// The signature does not match. Alibaba Cloud ends the message with the server's
    /// string-to-sign after the only colon; the core SDK compares it with its own to tell a
    /// wrong secret from a wrong canonicalisation.
    pub fn signature_mismatch(server_string_to_sign: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "SignatureDoesNotMatch",
            format!(
                "Specified signature is not matched with our calculation. server string to sign is:{server_string_to_sign}"
            ),
        )
    }

    /// `Timestamp` cannot be parsed: 400.
    pub fn timestamp_format(timestamp: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidTimeStamp.Format",
            format!(
                "Specified time stamp \"{timestamp}\" does not match the format YYYY-MM-DDThh:mm:ssZ (UTC)."
            ),
        )
    }

    /// `Timestamp` is more than the allowed window away from the emulator's clock: 400.
    pub fn timestamp_expired(timestamp: &str, server_time: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidTimeStamp.Expired",
            format!(
                "Specified time stamp \"{timestamp}\" or date is expired: the server time is {server_time} and requests must be signed within 15 minutes of it."
            ),
        )
    }

    /// `SignatureNonce` was used before within the window: 400.
    pub fn nonce_used(nonce: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "SignatureNonceUsed",
            format!(
                "Specified signature nonce \"{nonce}\" was used already: every request needs a new one."
            ),
        )
    }

    /// `JobGroupName` breaks the name rule: 400.
    pub fn malformed_name(name: &str, reason: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidName.Malformed",
            format!("The specified Name \"{name}\" is incorrectly formatted: it {reason}."),
        )
    }

    /// `JobGroupName` already exists in the instance: 400.
    pub fn duplicate_name(name: &str, instance_id: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidName.Duplicate",
            format!("The specified name \"{name}\" already exists in instance \"{instance_id}\"."),
        )
    }

    /// The `InstanceId` is not known: 404 (the emulator's choice; the reference is silent).
    pub fn unknown_instance(instance_id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "InvalidInstanceId.NotFound",
            format!("The specified instance \"{instance_id}\" does not exist."),
        )
    }

    /// The `AlgoLibId` is not known: 404.
    pub fn unknown_algo_lib(algo_lib_id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "InvalidAlgoLibId.NotFound",
            format!("The specified algorithm library \"{algo_lib_id}\" does not exist."),
        )
    }

    /// The `ResourceProfileId` is not known: 404.
    pub fn unknown_resource_profile(resource_profile_id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "InvalidResourceProfileId.NotFound",
            format!("The specified resource profile \"{resource_profile_id}\" does not exist."),
        )
    }

    /// The `JobGroupId` is not a group of this instance: 404.
    pub fn unknown_job_group(job_group_id: &str, instance_id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "InvalidJobGroupId.NotFound",
            format!(
                "The specified job group \"{job_group_id}\" does not exist in instance \"{instance_id}\"."
            ),
        )
    }

    /// `Status` is neither `Running` nor `Stopped`: 400.
    pub fn unsupported_status(status: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidStatus.ValueNotSupported",
            format!("The specified status \"{status}\" is invalid: use Running or Stopped."),
        )
    }

    /// A `JobGroupParams` key is not supported: 403.
    pub fn unsupported_param_key(key: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "InvalidParameter.KeyNotSupported",
            format!(
                "One or more parameter keys are not supported: \"{key}\" is not one of ES_ENABLE, RDS_ENABLE, OUT_MQ_ENABLE, DATAHUB_ENABLE, SCHEDULE_FLOW_START_TIME."
            ),
        )
    }

    /// Fault injection: the caller is throttled. 400, as Alibaba Cloud answers `Throttling.User`.
    pub fn throttled() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "Throttling.User",
            "Request was denied due to user flow control.",
        )
    }

    /// Fault injection: a transient service failure, 503.
    pub fn service_unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "The request has failed due to a temporary failure of the server.",
        )
    }

    /// The request body is larger than the emulator accepts: 413.
    pub fn body_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestTooLarge",
            format!("The request body is larger than {limit} bytes."),
        )
    }

    /// The HTTP method is neither GET nor POST: 405.
    pub fn unsupported_method(method: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "UnsupportedHTTPMethod",
            format!("The HTTP method \"{method}\" is not supported: use GET or POST."),
        )
    }

    /// Something the emulator did not expect: 500.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", message)
    }
}
