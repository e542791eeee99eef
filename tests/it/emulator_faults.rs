//! Fault injection: the create whose answer is lost after commit, seeded throttling and
//! service errors at the configured rates, and added latency.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::emulator_support;

use std::time::{Duration, Instant};

use cityform::emulator::{EmulatorConfig, EmulatorHandle, Faults};
use emulator_support::{Call, emulator_with, raw_exchange};

async fn with_faults(faults: Faults) -> EmulatorHandle {
    emulator_with(EmulatorConfig {
        faults,
        ..EmulatorConfig::default()
    })
    .await
}

fn raw_request(emulator: &EmulatorHandle, call: &Call) -> Vec<u8> {
    let (query, body) = call.encoded();
    format!(
        "POST /?{query} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        emulator.address(),
        body.len()
    )
    .into_bytes()
}

#[tokio::test]
async fn the_nth_create_commits_then_closes_the_connection_without_an_answer() {
    let emulator = with_faults(Faults {
        drop_after_commit: Some(2),
        ..Faults::default()
    })
    .await;
    let first = raw_exchange(&emulator, &raw_request(&emulator, &Call::create("first"))).await;
    assert!(
        first.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&first)
    );

    // Raw TCP: the connection ends and not one byte of an HTTP answer was written.
    let second = raw_exchange(&emulator, &raw_request(&emulator, &Call::create("second"))).await;
    assert_eq!(second, b"", "{}", String::from_utf8_lossy(&second));
    let state = emulator.state();
    let committed = state
        .job_group_named("cityvisual-Instance", "second")
        .unwrap();
    assert_eq!(committed.job_group_id, 2);

    // An HTTP client sees a closed connection, not a response.
    let emulator = with_faults(Faults {
        drop_after_commit: Some(1),
        ..Faults::default()
    })
    .await;
    let (query, body) = Call::create("lost-answer").encoded();
    let outcome = emulator_support::http()
        .post(format!("{}?{query}", emulator.endpoint()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await;
    let error = outcome.expect_err("a dropped answer must not arrive");
    assert!(error.status().is_none(), "{error:?}");
    assert!(error.is_request(), "{error:?}");
    assert!(
        emulator
            .state()
            .job_group_named("cityvisual-Instance", "lost-answer")
            .is_some()
    );

    // It happens once; the next create is answered, and the lost one is found by describing.
    let next = Call::create("answered").send(&emulator).await;
    assert_eq!(next.ok()["JobGroupId"], "2");
    let described = Call::describe().send(&emulator).await.ok();
    assert_eq!(
        described["JobGroups"]["JobGroup"][0]["JobGroupName"],
        "lost-answer"
    );
}

#[tokio::test]
async fn refused_creates_do_not_count_towards_the_drop() {
    let emulator = with_faults(Faults {
        drop_after_commit: Some(1),
        ..Faults::default()
    })
    .await;
    let refused = Call::create("9-not-a-name").send(&emulator).await;
    assert_eq!(refused.error(), (400, "InvalidName.Malformed".into()));
    let dropped = raw_exchange(&emulator, &raw_request(&emulator, &Call::create("ok-name"))).await;
    assert!(dropped.is_empty());
}

/// Sends `count` describes and returns the (status, code) of each, `None` for a 200.
async fn outcomes(emulator: &EmulatorHandle, count: usize) -> Vec<Option<(u16, String)>> {
    let mut outcomes = Vec::with_capacity(count);
    for _ in 0..count {
        let answer = Call::describe().send(emulator).await;
        outcomes.push((answer.status != 200).then(|| answer.error()));
    }
    outcomes
}

#[tokio::test]
async fn throttling_happens_at_the_configured_rate_and_repeats_with_the_seed() {
    let faults = Faults {
        throttle_rate: 0.3,
        seed: 7,
        ..Faults::default()
    };
    let emulator = with_faults(faults.clone()).await;
    let first = outcomes(&emulator, 1000).await;
    let throttled = first.iter().filter(|outcome| outcome.is_some()).count();
    assert!(
        first
            .iter()
            .flatten()
            .all(|outcome| *outcome == (400, "Throttling.User".to_owned()))
    );
    // 1000 draws at p = 0.3: sigma is 14.5, so ±50 is more than 3 sigma.
    assert!((250..=350).contains(&throttled), "{throttled} of 1000");
    assert_eq!(emulator.request_count("DescribeJobGroups"), 1000);

    let again = with_faults(faults).await;
    assert_eq!(outcomes(&again, 1000).await, first);
}

#[tokio::test]
async fn service_errors_happen_at_the_configured_rate() {
    let emulator = with_faults(Faults {
        error_rate: 0.1,
        seed: 11,
        ..Faults::default()
    })
    .await;
    let outcomes = outcomes(&emulator, 1000).await;
    let failed: Vec<&(u16, String)> = outcomes.iter().flatten().collect();
    assert!(
        failed
            .iter()
            .all(|outcome| **outcome == (503, "ServiceUnavailable".to_owned()))
    );
    // sigma is 9.5 at p = 0.1.
    assert!(
        (70..=130).contains(&failed.len()),
        "{} of 1000",
        failed.len()
    );
}

#[tokio::test]
async fn latency_is_added_to_every_answer() {
    let emulator = with_faults(Faults {
        latency: Duration::from_millis(150),
        ..Faults::default()
    })
    .await;
    for call in [Call::describe(), Call::create("1-bad-name")] {
        let started = Instant::now();
        call.send(&emulator).await;
        assert!(started.elapsed() >= Duration::from_millis(150));
    }
}

#[tokio::test]
async fn the_flow_limit_throttles_every_action_beyond_its_bucket() {
    // One token a second: the first request passes, the next ones within the second do not.
    let emulator = emulator_with(EmulatorConfig {
        qps: Some(1),
        ..EmulatorConfig::default()
    })
    .await;
    Call::describe().send(&emulator).await.ok();
    for call in [Call::create("traffic-east"), Call::describe()] {
        let answer = call.send(&emulator).await;
        assert_eq!(answer.error(), (400, "Throttling.User".to_owned()));
        let body = answer.json();
        assert_eq!(
            body["Message"],
            "Request was denied due to user flow control."
        );
        assert!(body["RequestId"].is_string() && body["HostId"].is_string());
    }
    assert!(emulator.state().job_groups.is_empty());
    assert_eq!(emulator.request_count("DescribeJobGroups"), 2);
    assert_eq!(emulator.request_count("CreateJobGroup"), 1);
}
