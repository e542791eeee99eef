//! How the emulator authenticates and what it refuses before any action runs: signatures,
//! access keys, timestamps, nonces, common parameters, oversized and undecodable requests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::emulator_support;

use cityform::emulator::{Credentials, EmulatorConfig};
use emulator_support::{Call, emulator, emulator_with, raw_exchange, send_raw};
use time::{Duration, OffsetDateTime};

#[tokio::test]
async fn a_wrong_secret_is_answered_with_the_server_string_to_sign() {
    let emulator = emulator().await;
    let call = Call::create("east").secret("not-the-secret");
    let answer = call.send(&emulator).await;
    assert_eq!(answer.error(), (400, "SignatureDoesNotMatch".into()));
    let message = answer.json()["Message"].as_str().unwrap().to_owned();
    let (_, server_string_to_sign) = message.split_once("server string to sign is:").unwrap();
    assert_eq!(server_string_to_sign, call.string_to_sign());
    // Exactly one colon, so that the core SDK's `split(':')[1]` finds the string.
    assert_eq!(message.matches(':').count(), 1);
    assert!(emulator.state().job_groups.is_empty());
}

#[tokio::test]
async fn a_request_changed_after_signing_does_not_match() {
    let emulator = emulator().await;
    let call = Call::create("east");
    let (query, body) = call.encoded();
    let tampered = body.replace("PlanedJobCount=10", "PlanedJobCount=11");
    assert_ne!(body, tampered);
    let answer = send_raw(&emulator, reqwest::Method::POST, &query, tampered).await;
    assert_eq!(answer.error(), (400, "SignatureDoesNotMatch".into()));
    // The method is signed too: a request signed for GET does not pass as POST.
    let (query, _) = Call::describe().get().encoded();
    let answer = send_raw(&emulator, reqwest::Method::POST, &query, "").await;
    assert_eq!(answer.error(), (400, "SignatureDoesNotMatch".into()));
}

#[tokio::test]
async fn credentials_are_the_configured_pair() {
    let emulator = emulator_with(EmulatorConfig {
        credentials: Credentials::new("ci-key", "ci-secret"),
        ..EmulatorConfig::default()
    })
    .await;
    let dev = Call::describe().send(&emulator).await;
    assert_eq!(dev.error(), (404, "InvalidAccessKeyId.NotFound".into()));
    let configured = Call::describe().access_key_id("ci-key").secret("ci-secret");
    assert_eq!(configured.send(&emulator).await.status, 200);
    let wrong_secret = Call::describe()
        .access_key_id("ci-key")
        .secret("cityform-dev-secret");
    assert_eq!(
        wrong_secret.send(&emulator).await.error(),
        (400, "SignatureDoesNotMatch".into())
    );
}

#[tokio::test]
async fn a_replayed_request_is_refused_and_changes_nothing() {
    let emulator = emulator().await;
    let call = Call::create("east");
    assert_eq!(call.send(&emulator).await.status, 200);
    let replay = call.send(&emulator).await;
    assert_eq!(replay.error(), (400, "SignatureNonceUsed".into()));
    assert_eq!(emulator.state().job_groups.len(), 1);
    // The same nonce is refused on any action.
    let other = Call::describe().nonce(&call.nonce).send(&emulator).await;
    assert_eq!(other.error(), (400, "SignatureNonceUsed".into()));
    // A request that failed its signature does not use up its nonce.
    let forged = Call::describe()
        .nonce("fresh-nonce")
        .secret("wrong")
        .send(&emulator)
        .await;
    assert_eq!(forged.error(), (400, "SignatureDoesNotMatch".into()));
    assert_eq!(
        Call::describe()
            .nonce("fresh-nonce")
            .send(&emulator)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn timestamps_more_than_fifteen_minutes_away_are_expired() {
    let emulator = emulator().await;
    let now = OffsetDateTime::now_utc();
    for offset in [
        Duration::minutes(-16),
        Duration::minutes(16),
        Duration::days(-1),
    ] {
        let answer = Call::describe()
            .timestamp(now + offset)
            .send(&emulator)
            .await;
        assert_eq!(
            answer.error(),
            (400, "InvalidTimeStamp.Expired".into()),
            "{offset}"
        );
    }
    for offset in [Duration::minutes(-14), Duration::minutes(14)] {
        let answer = Call::describe()
            .timestamp(now + offset)
            .send(&emulator)
            .await;
        assert_eq!(answer.status, 200, "{offset}: {}", answer.text);
    }
    let mut garbled = Call::describe();
    garbled.timestamp = "27/11/2026 10:00".into();
    assert_eq!(
        garbled.send(&emulator).await.error(),
        (400, "InvalidTimeStamp.Format".into())
    );
}

#[tokio::test]
async fn each_missing_common_parameter_is_a_400_that_names_it() {
    let emulator = emulator().await;
    for name in [
        "Action",
        "Version",
        "AccessKeyId",
        "SignatureMethod",
        "SignatureVersion",
        "SignatureNonce",
        "Timestamp",
        "Signature",
    ] {
        let answer = Call::describe().omit(name).send(&emulator).await;
        assert_eq!(answer.error(), (400, "MissingParameter".into()), "{name}");
        assert!(
            answer.json()["Message"].as_str().unwrap().contains(name),
            "{name}: {}",
            answer.text
        );
    }
    let mut old_version = Call::describe();
    old_version = old_version.omit("Version");
    let (query, body) = old_version.encoded();
    let answer = send_raw(
        &emulator,
        reqwest::Method::POST,
        &format!("{query}&Version=2017-01-01"),
        body,
    )
    .await;
    assert_eq!(answer.error(), (400, "InvalidVersion".into()));
}

#[tokio::test]
async fn any_security_token_is_accepted_and_extra_parameters_are_signed_and_ignored() {
    let emulator = emulator().await;
    let answer = Call::create("east")
        .param("SecurityToken", "sts-token-of-any-kind")
        .param("SignatureType", "")
        .send(&emulator)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

#[tokio::test]
async fn oversized_bodies_are_refused_and_the_emulator_keeps_serving() {
    let emulator = emulator().await;
    let (query, body) = Call::create("east")
        .param("Padding", &"x".repeat(1024 * 1024))
        .encoded();
    let answer = send_raw(&emulator, reqwest::Method::POST, &query, body).await;
    assert_eq!(answer.error(), (413, "RequestTooLarge".into()));
    // Without a declared length (chunked), the limit holds too.
    let (query, _) = Call::describe().encoded();
    let mut request = format!(
        "POST /?{query} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        emulator.address()
    )
    .into_bytes();
    for _ in 0..20 {
        request.extend_from_slice(format!("{:x}\r\n", 100 * 1024).as_bytes());
        request.extend(std::iter::repeat_n(b'a', 100 * 1024));
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let answer = String::from_utf8(raw_exchange(&emulator, &request).await).unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"Code\":\"RequestTooLarge\""), "{answer}");
    assert_eq!(Call::describe().send(&emulator).await.status, 200);
}

#[tokio::test]
async fn undecodable_parameters_are_invalid_and_the_emulator_keeps_serving() {
    let emulator = emulator().await;
    let (query, body) = Call::create("east").encoded();
    for (what, query, body) in [
        (
            "bad escape in query",
            format!("{query}&Bad=%zz"),
            body.clone(),
        ),
        (
            "bad escape in body",
            query.clone(),
            format!("{body}&Bad=%4"),
        ),
        ("not UTF-8", format!("{query}&Bad=%FF%FE"), body.clone()),
        ("a name twice", query.clone(), format!("{body}&AlgoLibId=3")),
    ] {
        let answer = send_raw(&emulator, reqwest::Method::POST, &query, body).await;
        assert_eq!(
            answer.error(),
            (400, "InvalidParameter".into()),
            "{what}: {}",
            answer.text
        );
    }
    let raw_bytes = send_raw(
        &emulator,
        reqwest::Method::POST,
        &query,
        vec![b'A', b'=', 0xFF],
    )
    .await;
    assert_eq!(raw_bytes.error(), (400, "InvalidParameter".into()));
    let put = send_raw(&emulator, reqwest::Method::PUT, &query, body.clone()).await;
    assert_eq!(put.error(), (405, "UnsupportedHTTPMethod".into()));
    assert_eq!(Call::create("east").send(&emulator).await.status, 200);
}
