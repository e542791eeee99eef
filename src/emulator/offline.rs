//! The emulator without sockets: one request in, the answer the server would give out.
//!
//! This exists for fuzzing and property tests of everything the server does once a request's
//! bytes are read: decoding the query and form body, the common-parameter checks, signature,
//! timestamp and nonce verification, and the actions themselves, against a store that lives
//! as long as the [`OfflineEmulator`]. The clock is the caller's, so results are repeatable.
//! Faults, latency and the request log are off.

use time::OffsetDateTime;

use super::api_error::ApiError;
use super::config::EmulatorConfig;
use super::server::{self, Shared};
use super::{EmulatorError, seeded_store};

/// An emulator store and its checks, answering requests handed over as bytes.
#[derive(Debug)]
pub struct OfflineEmulator {
    shared: Shared,
}

/// One request as the server sees it after reading it.
#[derive(Debug, Clone, Copy)]
pub struct OfflineRequest<'a> {
    /// The HTTP method, e.g. `POST`.
    pub method: &'a str,
    /// The query string, without `?`.
    pub query: &'a str,
    /// The `Content-Type` header, if any.
    pub content_type: Option<&'a str>,
    /// The body.
    pub body: &'a [u8],
}

/// What the emulator answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineAnswer {
    /// HTTP status.
    pub status: u16,
    /// The error `Code`, or `None` for a success.
    pub code: Option<&'static str>,
    /// The `Content-Type` of the answer.
    pub content_type: &'static str,
    /// The answer's body, JSON or XML.
    pub body: String,
}

impl OfflineEmulator {
    /// An emulator with `config`'s credentials, seed, body limit, timestamp window and nonce
    /// capacity. Faults are turned off whatever `config` says.
    pub fn new(config: &EmulatorConfig) -> Result<Self, EmulatorError> {
        let config = EmulatorConfig {
            faults: super::Faults::default(),
            qps: None,
            log_requests: false,
            ..config.clone()
        };
        let store = seeded_store(&config.seed)?;
        Ok(Self {
            shared: Shared::new(&config, store),
        })
    }

    /// Answers `request` as the server would at `now`.
    pub fn answer(&self, request: &OfflineRequest<'_>, now: OffsetDateTime) -> OfflineAnswer {
        // As the server does: a body is only read (and measured) for GET and POST.
        let limit = self.shared.max_body_bytes;
        let body = if server::supported_method(request.method) && request.body.len() > limit {
            Err(ApiError::body_too_large(limit))
        } else {
            Ok(request.body)
        };
        let verdict = server::decide(
            &self.shared,
            request.method,
            request.query,
            request.content_type,
            body,
            now,
        );
        let answer = verdict.answer("cityvisual.emulator");
        OfflineAnswer {
            status: answer.status.as_u16(),
            code: answer.code,
            content_type: answer.content_type,
            body: answer.body,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::cloud::signer;

    fn now() -> OffsetDateTime {
        time::macros::datetime!(2026-11-27 10:00:00 UTC)
    }

    fn signed_query(secret: &str, nonce: &str) -> String {
        let pairs = [
            ("Action", "DescribeJobGroups"),
            ("Version", "2018-10-30"),
            ("AccessKeyId", "cityform-dev"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
            ("SignatureNonce", nonce),
            ("Timestamp", "2026-11-27T10:00:00Z"),
            ("Format", "JSON"),
            ("InstanceId", "cityvisual-Instance"),
        ];
        let signature = signer::sign(secret, &signer::string_to_sign("POST", pairs));
        let mut query: Vec<String> = pairs
            .iter()
            .map(|(name, value)| format!("{name}={}", signer::percent_encode(value)))
            .collect();
        query.push(format!("Signature={}", signer::percent_encode(&signature)));
        query.join("&")
    }

    fn post(query: &str) -> OfflineRequest<'_> {
        OfflineRequest {
            method: "POST",
            query,
            content_type: None,
            body: b"",
        }
    }

    #[test]
    fn answers_a_signed_request_and_refuses_a_replay_and_a_wrong_secret() {
        let emulator = OfflineEmulator::new(&EmulatorConfig::default()).unwrap();
        let query = signed_query("cityform-dev-secret", "n-1");
        let answer = emulator.answer(&post(&query), now());
        assert_eq!((answer.status, answer.code), (200, None), "{}", answer.body);
        assert!(answer.body.contains("\"TotalCount\":0"), "{}", answer.body);
        let replay = emulator.answer(&post(&query), now());
        assert_eq!(replay.code, Some("SignatureNonceUsed"));
        let forged = emulator.answer(&post(&signed_query("guess", "n-2")), now());
        assert_eq!(
            (forged.status, forged.code),
            (400, Some("SignatureDoesNotMatch"))
        );
    }

    /// Every distinct `Action` a client sent was kept as a counter name for as long as the
    /// emulator ran: a client could grow its memory without bound.
    #[test]
    fn unknown_action_names_are_counted_without_growing_without_bound() {
        let emulator = OfflineEmulator::new(&EmulatorConfig::default()).unwrap();
        for index in 0..1_000 {
            let query = format!("Action={index}{}", "x".repeat(1024));
            emulator.answer(&post(&query), now());
        }
        emulator.answer(&post("Action=Short"), now());
        emulator.answer(&post(&signed_query("cityform-dev-secret", "n-1")), now());
        let counts = server::lock(&emulator.shared.request_counts).clone();
        assert_eq!(counts.values().sum::<u64>(), 1_002);
        assert_eq!(counts[server::OTHER_ACTIONS], 1_000);
        assert_eq!(counts["Short"], 1);
        assert_eq!(counts["DescribeJobGroups"], 1);
    }

    #[test]
    fn oversized_bodies_and_other_methods_are_refused_as_the_server_does() {
        let config = EmulatorConfig {
            max_body_bytes: 8,
            ..EmulatorConfig::default()
        };
        let emulator = OfflineEmulator::new(&config).unwrap();
        let request = OfflineRequest {
            body: b"Action=CreateJobGroup",
            ..post("")
        };
        let answer = emulator.answer(&request, now());
        assert_eq!((answer.status, answer.code), (413, Some("RequestTooLarge")));
        let answer = emulator.answer(
            &OfflineRequest {
                method: "DELETE",
                ..request
            },
            now(),
        );
        assert_eq!(answer.status, 405);
        assert_eq!(answer.content_type, "text/xml;charset=utf-8");
    }
}
