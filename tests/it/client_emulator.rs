//! The real `CloudClient` against the in-process emulator: proof that the two speak the same
//! protocol. Every action round-trips, every documented error code reaches the caller typed
//! and classified, signatures and replays are refused as the service refuses them, and
//! retries behave under injected throttling, service errors and a lost answer.
//!
//! Requests are counted by the emulator, so "retried" and "not resent" are checked on the
//! server's side, not inferred from the client's own bookkeeping.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use cityform::apply::refresh::{Finding, Instance, observe, refresh_state};

use cityform::cloud::error::{CloudErrorKind, error_from_answer};
use cityform::cloud::redact::Redactor;
use cityform::cloud::request::{self, FORM_CONTENT_TYPE, RpcRequest, SignedRequest};
use cityform::cloud::signer;
use cityform::cloud::{
    ClientOptions, CloudClient, CloudError, Credentials, DescribeJobGroupsRequest, Endpoints,
    ErrorClass, ModifyJobGroupRequest, ObservedJobGroup, RetryPolicy,
};
use cityform::emulator::{
    BUILT_IN_ALGO_LIB_ID, BUILT_IN_INSTANCE_ID, BUILT_IN_RESOURCE_PROFILE_ID, BetweenPages,
    EmulatorConfig, EmulatorHandle, Faults, Seed, SeedJobGroup, Status,
};
use cityform::model::{Address, JobGroupParams, JobGroupSpec};
use cityform::state::{State, StateEntry};

const REGION: &str = "cn-shanghai";
const INSTANCE: &str = BUILT_IN_INSTANCE_ID;

/// Every scenario must finish well within this; a hang is a failure, not a stuck build.
async fn within<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), future)
        .await
        .expect("scenario took longer than 60 s")
}

/// Retries with waits of a millisecond or two, and enough attempts that a seeded fault rate of
/// one half cannot exhaust them.
fn fast_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(4),
        max_elapsed: Duration::from_secs(30),
    }
}

async fn emulator_with(config: EmulatorConfig) -> EmulatorHandle {
    cityform::emulator::start(config).await.unwrap()
}

async fn emulator_with_faults(faults: Faults) -> EmulatorHandle {
    emulator_with(EmulatorConfig {
        faults,
        ..EmulatorConfig::default()
    })
    .await
}

/// The emulator's own key pair, as the client holds credentials.
fn credentials_of(emulator: &EmulatorHandle) -> Credentials {
    let accepted = emulator.credentials();
    Credentials::new(accepted.access_key_id.clone(), accepted.access_key_secret())
}

fn client_with(
    emulator: &EmulatorHandle,
    credentials: Credentials,
    retry: RetryPolicy,
) -> CloudClient {
    CloudClient::new(
        credentials,
        Endpoints::with_override(&emulator.endpoint()).unwrap(),
        ClientOptions {
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(10),
            retry,
            ..ClientOptions::default()
        },
    )
    .unwrap()
}

fn client_for(emulator: &EmulatorHandle, retry: RetryPolicy) -> CloudClient {
    client_with(emulator, credentials_of(emulator), retry)
}

fn spec() -> JobGroupSpec {
    JobGroupSpec {
        algo_lib_id: BUILT_IN_ALGO_LIB_ID.into(),
        resource_profile_id: BUILT_IN_RESOURCE_PROFILE_ID.into(),
        planed_job_count: 10,
        stream_per_job: 5,
        job_count: None,
        params: Default::default(),
    }
}

fn params(pairs: &[(&str, &str)]) -> JobGroupParams {
    pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect()
}

/// The one group with `job_group_id`, described through a filtered `DescribeJobGroups`.
async fn describe_one(client: &CloudClient, job_group_id: &str) -> Option<ObservedJobGroup> {
    let mut request = DescribeJobGroupsRequest::first_page(REGION, INSTANCE);
    request.job_group_id = Some(job_group_id.to_owned());
    let page = client.describe_job_groups(&request).await.unwrap();
    assert!(page.job_groups.len() <= 1, "{page:?}");
    assert_eq!(page.total_count, page.job_groups.len() as u64, "{page:?}");
    page.job_groups.into_iter().next()
}

fn seeded_group(index: usize) -> SeedJobGroup {
    SeedJobGroup {
        region_id: None,
        instance_id: INSTANCE.into(),
        name: format!("seeded-{index:04}"),
        algo_lib_id: BUILT_IN_ALGO_LIB_ID.into(),
        resource_profile_id: BUILT_IN_RESOURCE_PROFILE_ID.into(),
        planed_job_count: 1,
        stream_per_job: 1,
        job_count: None,
        status: None,
        params: Default::default(),
    }
}

// ---------------------------------------------------------------------------------------------
// Every action
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_action_round_trips_and_describes_what_was_created() {
    within(async {
        let emulator = emulator_with(EmulatorConfig {
            seed: Seed {
                algo_libs: vec!["7".into()],
                resource_profiles: vec!["8".into()],
                ..Seed::default()
            },
            ..EmulatorConfig::default()
        })
        .await;
        let client = client_for(&emulator, fast_retries(3));

        // Create, params in any case: the emulator stores them canonically and the observed
        // group converts back to the spec with canonical values.
        let created_spec = JobGroupSpec {
            job_count: Some(3),
            params: params(&[
                ("ES_ENABLE", "true"),
                ("DATAHUB_ENABLE", "FALSE"),
                ("SCHEDULE_FLOW_START_TIME", "oldest"),
            ]),
            ..spec()
        };
        let created = client
            .create_job_group(REGION, INSTANCE, "traffic-east", &created_spec)
            .await
            .unwrap();
        assert!(!created.job_group_id.is_empty());
        assert!(!created.request_id.is_empty());
        let plain = client
            .create_job_group(REGION, INSTANCE, "traffic-west", &spec())
            .await
            .unwrap();
        assert_ne!(plain.job_group_id, created.job_group_id);

        let stored = emulator.state();
        let east = stored.job_group_named(INSTANCE, "traffic-east").unwrap();
        assert_eq!(east.job_group_id.to_string(), created.job_group_id);
        assert_eq!(
            east.params,
            params(&[
                ("DATAHUB_ENABLE", "False"),
                ("ES_ENABLE", "True"),
                ("SCHEDULE_FLOW_START_TIME", "Oldest"),
            ])
        );

        let observed = describe_one(&client, &created.job_group_id).await.unwrap();
        assert_eq!(observed.job_group_id, created.job_group_id);
        assert_eq!(observed.name, "traffic-east");
        assert_eq!(observed.status, "Stopped");
        let normalised = JobGroupSpec {
            params: params(&[
                ("ES_ENABLE", "True"),
                ("DATAHUB_ENABLE", "False"),
                ("SCHEDULE_FLOW_START_TIME", "Oldest"),
            ]),
            ..created_spec.clone()
        };
        assert_eq!(observed.to_spec(), normalised);
        let observed_plain = describe_one(&client, &plain.job_group_id).await.unwrap();
        assert_eq!(observed_plain.to_spec(), spec());
        assert_eq!(observed_plain.job_count, None);

        // Modify every spec field, the name and the status in one request.
        let changed_spec = JobGroupSpec {
            algo_lib_id: "7".into(),
            resource_profile_id: "8".into(),
            planed_job_count: 40,
            stream_per_job: 2,
            job_count: Some(9),
            params: params(&[("RDS_ENABLE", "True"), ("OUT_MQ_ENABLE", "False")]),
        };
        let acknowledged = client
            .modify_job_group(
                &ModifyJobGroupRequest::new(REGION, INSTANCE, &created.job_group_id)
                    .with_spec(&changed_spec)
                    .with_name("traffic-east-2")
                    .with_status(Status::Running),
            )
            .await
            .unwrap();
        assert!(!acknowledged.request_id.is_empty());
        let observed = describe_one(&client, &created.job_group_id).await.unwrap();
        assert_eq!(observed.name, "traffic-east-2");
        assert_eq!(observed.status, "Running");
        // Params given to a modify replace the whole set.
        assert_eq!(observed.to_spec(), changed_spec);

        // Status alone, through modify.
        client
            .modify_job_group(
                &ModifyJobGroupRequest::new(REGION, INSTANCE, &created.job_group_id)
                    .with_status(Status::Stopped),
            )
            .await
            .unwrap();
        let observed = describe_one(&client, &created.job_group_id).await.unwrap();
        assert_eq!(observed.status, "Stopped");
        assert_eq!(
            observed.to_spec(),
            changed_spec,
            "a status change keeps the spec"
        );

        // Start and stop.
        let started = client
            .start_job_group(REGION, INSTANCE, &created.job_group_id)
            .await
            .unwrap();
        assert!(!started.request_id.is_empty());
        assert_eq!(
            describe_one(&client, &created.job_group_id)
                .await
                .unwrap()
                .status,
            "Running"
        );
        client
            .stop_job_group(REGION, INSTANCE, &created.job_group_id)
            .await
            .unwrap();
        assert_eq!(
            describe_one(&client, &created.job_group_id)
                .await
                .unwrap()
                .status,
            "Stopped"
        );
        let group_id: u64 = created.job_group_id.parse().unwrap();
        let stored = emulator.state();
        let stored_group = stored
            .job_groups
            .iter()
            .find(|group| group.job_group_id == group_id)
            .unwrap();
        assert_eq!(stored_group.status, Status::Stopped);
        assert_eq!(stored_group.name, "traffic-east-2");

        // Delete.
        let deleted = client
            .delete_job_group(REGION, INSTANCE, &created.job_group_id)
            .await
            .unwrap();
        assert!(!deleted.request_id.is_empty());
        assert_eq!(describe_one(&client, &created.job_group_id).await, None);
        let remaining: Vec<String> = client
            .list_all_job_groups(REGION, INSTANCE)
            .await
            .unwrap()
            .into_iter()
            .map(|group| group.name)
            .collect();
        assert_eq!(remaining, ["traffic-west"]);

        // Each call was one request: nothing retried, nothing sent twice.
        let counts = emulator.request_counts();
        let expected: BTreeMap<String, u64> = [
            ("CreateJobGroup", 2),
            ("DescribeJobGroups", 8),
            ("ModifyJobGroup", 2),
            ("StartJobGroup", 1),
            ("StopJobGroup", 1),
            ("DeleteJobGroup", 1),
        ]
        .into_iter()
        .map(|(action, count)| (action.to_owned(), count))
        .collect();
        assert_eq!(counts, expected);
    })
    .await;
}

#[tokio::test]
async fn unusual_names_tokens_and_integer_limits_cross_the_wire() {
    within(async {
        let emulator = emulator_with(EmulatorConfig::default()).await;
        // A temporary (STS) key: the token is sent and signed, and the emulator accepts it.
        let credentials = credentials_of(&emulator).with_security_token("STS.tok/en+=");
        let client = client_with(&emulator, credentials, fast_retries(3));

        // Names that need percent-encoding in the body: CJK characters, `.`, `_`, `-`.
        let name = "交通.东区_camera-01";
        let largest = JobGroupSpec {
            planed_job_count: 2_147_483_647,
            stream_per_job: 0,
            job_count: Some(2_147_483_647),
            ..spec()
        };
        let created = client
            .create_job_group(REGION, INSTANCE, name, &largest)
            .await
            .unwrap();
        let observed = describe_one(&client, &created.job_group_id).await.unwrap();
        assert_eq!(observed.name, name);
        assert_eq!(observed.to_spec(), largest);
        assert!(emulator.state().job_group_named(INSTANCE, name).is_some());

        // One past a Java `Integer` is a value the client can hold but the API refuses.
        let error = client
            .create_job_group(
                REGION,
                INSTANCE,
                "too-many-jobs",
                &JobGroupSpec {
                    planed_job_count: 2_147_483_648,
                    ..spec()
                },
            )
            .await
            .unwrap_err();
        assert_service_error(
            &error,
            "CreateJobGroup",
            "too-many-jobs",
            "InvalidParameter",
            400,
            "PlanedJobCount",
        );

        // An empty params map sends nothing: the group keeps the params it has.
        let with_params = JobGroupSpec {
            params: params(&[("ES_ENABLE", "True")]),
            ..spec()
        };
        let kept = client
            .create_job_group(REGION, INSTANCE, "keeps-params", &with_params)
            .await
            .unwrap();
        client
            .modify_job_group(
                &ModifyJobGroupRequest::new(REGION, INSTANCE, &kept.job_group_id)
                    .with_spec(&spec()),
            )
            .await
            .unwrap();
        let observed = describe_one(&client, &kept.job_group_id).await.unwrap();
        assert_eq!(observed.to_spec(), with_params);
    })
    .await;
}

#[tokio::test]
async fn one_page_at_a_time_and_past_the_end() {
    within(async {
        let emulator = emulator_with(EmulatorConfig {
            seed: Seed {
                job_groups: (0..25).map(seeded_group).collect(),
                ..Seed::default()
            },
            ..EmulatorConfig::default()
        })
        .await;
        let client = client_for(&emulator, fast_retries(3));
        let mut request = DescribeJobGroupsRequest::first_page(REGION, INSTANCE);
        request.page_size = 10;
        let mut names = Vec::new();
        for (page_number, expected_len) in [(1, 10), (2, 10), (3, 5), (4, 0)] {
            request.page_number = page_number;
            let page = client.describe_job_groups(&request).await.unwrap();
            assert_eq!(page.total_count, 25);
            assert_eq!(page.page_number, page_number);
            assert_eq!(page.page_size, 10);
            assert!(!page.request_id.is_empty());
            assert_eq!(page.job_groups.len(), expected_len, "page {page_number}");
            names.extend(page.job_groups.into_iter().map(|group| group.name));
        }
        let expected: Vec<String> = (0..25).map(|index| seeded_group(index).name).collect();
        assert_eq!(
            names, expected,
            "pages in id order, none skipped or repeated"
        );
        assert_eq!(emulator.request_count("DescribeJobGroups"), 4);
    })
    .await;
}

#[tokio::test]
async fn listing_pages_through_more_than_a_hundred_groups_with_the_fewest_requests() {
    within(async {
        for count in [100_usize, 101, 200, 250] {
            let mut groups: Vec<SeedJobGroup> = (0..count).map(seeded_group).collect();
            // Groups of another instance and another region are not listed.
            groups.push(SeedJobGroup {
                instance_id: "other-Instance".into(),
                ..seeded_group(9_000)
            });
            groups.push(SeedJobGroup {
                region_id: Some("cn-beijing".into()),
                ..seeded_group(9_001)
            });
            let emulator = emulator_with(EmulatorConfig {
                seed: Seed {
                    instances: vec!["other-Instance".into()],
                    job_groups: groups,
                    ..Seed::default()
                },
                ..EmulatorConfig::default()
            })
            .await;
            let client = client_for(&emulator, fast_retries(3));
            let listed = client.list_all_job_groups(REGION, INSTANCE).await.unwrap();
            let names: BTreeSet<String> = listed.iter().map(|group| group.name.clone()).collect();
            let expected: BTreeSet<String> =
                (0..count).map(|index| seeded_group(index).name).collect();
            assert_eq!(listed.len(), count);
            assert_eq!(names, expected, "{count} groups");
            let ids: BTreeSet<&str> = listed
                .iter()
                .map(|group| group.job_group_id.as_str())
                .collect();
            assert_eq!(ids.len(), count, "no group listed twice");
            assert_eq!(
                emulator.request_count("DescribeJobGroups"),
                count.div_ceil(100) as u64,
                "{count} groups take ceil({count}/100) pages"
            );
        }
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Error codes
// ---------------------------------------------------------------------------------------------

/// Checks an error the client returned for a service error answer: code, status, class,
/// one attempt, and the documented Display form with the emulator's message and RequestId.
fn assert_service_error(
    error: &CloudError,
    action: &str,
    subject: &str,
    code: &str,
    status: u16,
    message_mentions: &str,
) {
    assert_eq!(error.code(), Some(code), "{error}");
    assert_eq!(error.http_status(), Some(status), "{error}");
    assert_eq!(error.class(), ErrorClass::Terminal, "{error}");
    assert!(!error.is_retryable() && !error.is_ambiguous(), "{error}");
    assert_eq!(
        error.attempts, 1,
        "a terminal error is not retried: {error}"
    );
    let service = error.service_error().unwrap();
    assert!(
        service.message.contains(message_mentions),
        "message should mention `{message_mentions}`: {error}"
    );
    let request_id = error.request_id().unwrap();
    assert!(uuid::Uuid::parse_str(request_id).is_ok(), "{error}");
    assert_eq!(
        error.to_string(),
        format!(
            "{action} {subject}: {code} ({status}): {} [RequestId {request_id}]",
            service.message
        )
    );
}

/// Sends a signed request without the client: for requests the typed calls cannot express.
async fn send_signed(emulator: &EmulatorHandle, signed: &SignedRequest) -> (u16, Vec<u8>) {
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
    let response = reqwest::Client::new()
        .post(format!("{}?{}", emulator.endpoint(), signed.query_string()))
        .header(reqwest::header::CONTENT_TYPE, FORM_CONTENT_TYPE)
        .body(signed.body.clone())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap().to_vec())
}

fn sign_now(emulator: &EmulatorHandle, rpc: &RpcRequest) -> SignedRequest {
    request::sign_request(
        rpc,
        &credentials_of(emulator),
        &request::fresh_nonce(),
        &request::format_timestamp(time::OffsetDateTime::now_utc()),
    )
}

/// An error answer read the way the client reads one, as the client would report it.
fn as_client_error(
    emulator: &EmulatorHandle,
    action: &'static str,
    subject: &str,
    status: u16,
    body: &[u8],
) -> CloudError {
    let (kind, class) = error_from_answer(status, body, &Redactor::new(&credentials_of(emulator)));
    CloudError {
        action,
        subject: subject.to_owned(),
        kind,
        class,
        attempts: 1,
    }
}

#[tokio::test]
async fn every_documented_error_code_reaches_the_caller_typed_and_terminal() {
    within(async {
        let emulator = emulator_with(EmulatorConfig::default()).await;
        // Many attempts allowed: a terminal error must still be sent once only.
        let client = client_for(&emulator, fast_retries(10));
        let existing = client
            .create_job_group(REGION, INSTANCE, "traffic-east", &spec())
            .await
            .unwrap();
        let other = client
            .create_job_group(REGION, INSTANCE, "traffic-west", &spec())
            .await
            .unwrap();
        let sent_before =
            |emulator: &EmulatorHandle| -> u64 { emulator.request_counts().values().sum() };

        // InvalidName.Malformed
        let before = sent_before(&emulator);
        let error = client
            .create_job_group(REGION, INSTANCE, "9-starts-with-a-digit", &spec())
            .await
            .unwrap_err();
        assert_service_error(
            &error,
            "CreateJobGroup",
            "9-starts-with-a-digit",
            "InvalidName.Malformed",
            400,
            "9-starts-with-a-digit",
        );
        assert_eq!(sent_before(&emulator), before + 1);

        // InvalidName.Duplicate, on create and on a rename by modify.
        let error = client
            .create_job_group(REGION, INSTANCE, "traffic-east", &spec())
            .await
            .unwrap_err();
        assert_service_error(
            &error,
            "CreateJobGroup",
            "traffic-east",
            "InvalidName.Duplicate",
            400,
            "traffic-east",
        );
        let error = client
            .modify_job_group(
                &ModifyJobGroupRequest::new(REGION, INSTANCE, &other.job_group_id)
                    .with_name("traffic-east"),
            )
            .await
            .unwrap_err();
        assert_service_error(
            &error,
            "ModifyJobGroup",
            &other.job_group_id,
            "InvalidName.Duplicate",
            400,
            "traffic-east",
        );

        // InvalidAlgoLibId.NotFound
        let error = client
            .create_job_group(
                REGION,
                INSTANCE,
                "traffic-east-2",
                &JobGroupSpec {
                    algo_lib_id: "404".into(),
                    ..spec()
                },
            )
            .await
            .unwrap_err();
        assert_service_error(
            &error,
            "CreateJobGroup",
            "traffic-east-2",
            "InvalidAlgoLibId.NotFound",
            404,
            "\"404\"",
        );

        // InvalidResourceProfileId.NotFound
        let error = client
            .create_job_group(
                REGION,
                INSTANCE,
                "traffic-east-2",
                &JobGroupSpec {
                    resource_profile_id: "606".into(),
                    ..spec()
                },
            )
            .await
            .unwrap_err();
        assert_service_error(
            &error,
            "CreateJobGroup",
            "traffic-east-2",
            "InvalidResourceProfileId.NotFound",
            404,
            "\"606\"",
        );

        // InvalidParameter.KeyNotSupported: the client passes an unknown key through.
        let error = client
            .create_job_group(
                REGION,
                INSTANCE,
                "traffic-east-2",
                &JobGroupSpec {
                    params: params(&[("ES_ENABLE", "True"), ("KAFKA_ENABLE", "True")]),
                    ..spec()
                },
            )
            .await
            .unwrap_err();
        assert_service_error(
            &error,
            "CreateJobGroup",
            "traffic-east-2",
            "InvalidParameter.KeyNotSupported",
            403,
            "KAFKA_ENABLE",
        );

        // InvalidJobGroupId.NotFound, for each action that names a group.
        let missing_id = "987654";
        for (action, outcome) in [
            (
                "ModifyJobGroup",
                client
                    .modify_job_group(
                        &ModifyJobGroupRequest::new(REGION, INSTANCE, missing_id)
                            .with_status(Status::Running),
                    )
                    .await,
            ),
            (
                "DeleteJobGroup",
                client.delete_job_group(REGION, INSTANCE, missing_id).await,
            ),
            (
                "StartJobGroup",
                client.start_job_group(REGION, INSTANCE, missing_id).await,
            ),
            (
                "StopJobGroup",
                client.stop_job_group(REGION, INSTANCE, missing_id).await,
            ),
        ] {
            assert_service_error(
                &outcome.unwrap_err(),
                action,
                missing_id,
                "InvalidJobGroupId.NotFound",
                404,
                missing_id,
            );
        }
        // A group is found only in its own region.
        let error = client
            .start_job_group("cn-beijing", INSTANCE, &existing.job_group_id)
            .await
            .unwrap_err();
        assert_eq!(error.code(), Some("InvalidJobGroupId.NotFound"), "{error}");

        // InvalidInstanceId.NotFound, on a create and on a listing.
        let error = client
            .create_job_group(REGION, "no-such-Instance", "traffic-east-2", &spec())
            .await
            .unwrap_err();
        assert_service_error(
            &error,
            "CreateJobGroup",
            "traffic-east-2",
            "InvalidInstanceId.NotFound",
            404,
            "no-such-Instance",
        );
        let error = client
            .list_all_job_groups(REGION, "no-such-Instance")
            .await
            .unwrap_err();
        assert_service_error(
            &error,
            "DescribeJobGroups",
            "no-such-Instance page 1",
            "InvalidInstanceId.NotFound",
            404,
            "no-such-Instance",
        );

        // Every refusal was sent exactly once: 2 creates + 13 refused calls.
        assert_eq!(sent_before(&emulator), 2 + 13);
        // And none of them changed anything.
        let names: BTreeSet<String> = emulator
            .state()
            .job_groups
            .into_iter()
            .map(|group| group.name)
            .collect();
        assert_eq!(
            names,
            BTreeSet::from(["traffic-east".into(), "traffic-west".into()])
        );
    })
    .await;
}

#[tokio::test]
async fn requests_the_typed_calls_cannot_express_are_refused_with_the_documented_codes() {
    within(async {
        let emulator = emulator_with(EmulatorConfig::default()).await;
        let client = client_for(&emulator, fast_retries(3));
        let created = client
            .create_job_group(REGION, INSTANCE, "traffic-east", &spec())
            .await
            .unwrap();

        // MissingParameter (403): the create parameters without `AlgoLibId`.
        let parameters: Vec<(String, String)> =
            cityform::cloud::job_groups::create_parameters(INSTANCE, "traffic-north", &spec())
                .into_iter()
                .filter(|(name, _)| name != "AlgoLibId")
                .collect();
        assert_eq!(parameters.len(), 5, "exactly one parameter left out");
        let signed = sign_now(
            &emulator,
            &RpcRequest {
                action: "CreateJobGroup",
                region_id: REGION.into(),
                parameters,
            },
        );
        let (status, body) = send_signed(&emulator, &signed).await;
        let error = as_client_error(&emulator, "CreateJobGroup", "traffic-north", status, &body);
        assert_service_error(
            &error,
            "CreateJobGroup",
            "traffic-north",
            "MissingParameter",
            403,
            "AlgoLibId",
        );
        assert!(
            emulator
                .state()
                .job_group_named(INSTANCE, "traffic-north")
                .is_none()
        );

        // InvalidStatus.ValueNotSupported (400): `Status` has no third value.
        let mut parameters = ModifyJobGroupRequest::new(REGION, INSTANCE, &created.job_group_id)
            .with_status(Status::Running)
            .parameters();
        for (name, value) in &mut parameters {
            if name == "Status" {
                *value = "Paused".into();
            }
        }
        let signed = sign_now(
            &emulator,
            &RpcRequest {
                action: "ModifyJobGroup",
                region_id: REGION.into(),
                parameters,
            },
        );
        let (status, body) = send_signed(&emulator, &signed).await;
        let error = as_client_error(
            &emulator,
            "ModifyJobGroup",
            &created.job_group_id,
            status,
            &body,
        );
        assert_service_error(
            &error,
            "ModifyJobGroup",
            &created.job_group_id,
            "InvalidStatus.ValueNotSupported",
            400,
            "Paused",
        );
        assert_eq!(
            emulator.state().job_groups[0].status,
            Status::Stopped,
            "a refused modify changes nothing"
        );
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Signatures
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_wrong_secret_is_refused_terminally_and_never_shown() {
    within(async {
        let emulator = emulator_with(EmulatorConfig::default()).await;
        let wrong_secret = "wrong-secret/Zq9+never=shown";
        let token = "STS.token/with+odd=chars";
        let credentials =
            Credentials::new(emulator.credentials().access_key_id.clone(), wrong_secret)
                .with_security_token(token);
        let client = client_with(&emulator, credentials, fast_retries(5));

        let error = client
            .create_job_group(REGION, INSTANCE, "traffic-east", &spec())
            .await
            .unwrap_err();
        assert_eq!(error.code(), Some("SignatureDoesNotMatch"), "{error}");
        assert_eq!(error.http_status(), Some(400));
        assert_eq!(error.class(), ErrorClass::Terminal);
        assert_eq!(error.attempts, 1);
        assert_eq!(emulator.request_count("CreateJobGroup"), 1, "not retried");
        assert!(emulator.state().job_groups.is_empty());
        // The emulator echoes its string-to-sign, which holds the token; the client scrubs it.
        let message = &error.service_error().unwrap().message;
        assert!(
            message.contains("server string to sign is:POST&%2F&"),
            "{message}"
        );
        assert!(message.contains("SecurityToken%3D***"), "{message}");

        let once = signer::percent_encode(token);
        let twice = signer::percent_encode(&once);
        let secret_once = signer::percent_encode(wrong_secret);
        for text in [
            error.to_string(),
            format!("{error:?}"),
            format!("{error:#?}"),
        ] {
            for needle in [wrong_secret, secret_once.as_str(), token, &once, &twice] {
                assert!(!text.contains(needle), "`{needle}` in {text}");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn a_replayed_request_is_refused_as_a_used_nonce() {
    within(async {
        let emulator = emulator_with(EmulatorConfig::default()).await;
        let signed = sign_now(
            &emulator,
            &RpcRequest {
                action: "CreateJobGroup",
                region_id: REGION.into(),
                parameters: cityform::cloud::job_groups::create_parameters(
                    INSTANCE,
                    "traffic-east",
                    &spec(),
                ),
            },
        );
        let (status, body) = send_signed(&emulator, &signed).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let created = cityform::cloud::job_groups::parse_created(&body).unwrap();

        let (status, body) = send_signed(&emulator, &signed).await;
        let error = as_client_error(&emulator, "CreateJobGroup", "traffic-east", status, &body);
        let nonce = &signed
            .query
            .iter()
            .find(|(name, _)| name == "SignatureNonce")
            .unwrap()
            .1;
        assert_service_error(
            &error,
            "CreateJobGroup",
            "traffic-east",
            "SignatureNonceUsed",
            400,
            nonce,
        );
        // The replay created nothing: one group, the first one.
        let state = emulator.state();
        assert_eq!(state.job_groups.len(), 1);
        assert_eq!(
            state.job_groups[0].job_group_id.to_string(),
            created.job_group_id
        );
        assert_eq!(emulator.request_count("CreateJobGroup"), 2);
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Retries under faults
// ---------------------------------------------------------------------------------------------

/// Creates `count` groups one after another (so that the seeded faults fall the same way on
/// every run) and checks that each succeeded once and that the emulator holds exactly them.
async fn create_many_under_faults(emulator: &EmulatorHandle, count: usize) {
    let client = client_for(emulator, fast_retries(30));
    let mut ids = BTreeSet::new();
    for index in 0..count {
        let name = format!("group-{index:03}");
        let created = client
            .create_job_group(REGION, INSTANCE, &name, &spec())
            .await
            .unwrap_or_else(|error| panic!("create {name}: {error}"));
        assert!(ids.insert(created.job_group_id), "ids are unique");
    }
    let state = emulator.state();
    assert_eq!(state.job_groups.len(), count, "no duplicates, none missing");
    let stored_names: BTreeSet<String> = state
        .job_groups
        .iter()
        .map(|group| group.name.clone())
        .collect();
    assert_eq!(stored_names.len(), count);
    let stored_ids: BTreeSet<String> = state
        .job_groups
        .iter()
        .map(|group| group.job_group_id.to_string())
        .collect();
    assert_eq!(stored_ids, ids);
    assert!(
        emulator.request_count("CreateJobGroup") > count as u64,
        "retries happened: {:?}",
        emulator.request_counts()
    );

    // Reads are retried too: the listing still finds every group.
    let listed = client.list_all_job_groups(REGION, INSTANCE).await.unwrap();
    assert_eq!(listed.len(), count);
}

#[tokio::test]
async fn throttled_creates_are_retried_until_each_succeeds_once() {
    within(async {
        let emulator = emulator_with_faults(Faults {
            throttle_rate: 0.5,
            seed: 7,
            ..Faults::default()
        })
        .await;
        create_many_under_faults(&emulator, 50).await;
    })
    .await;
}

#[tokio::test]
async fn unavailable_service_answers_are_retried_until_each_succeeds_once() {
    within(async {
        let emulator = emulator_with_faults(Faults {
            error_rate: 0.5,
            seed: 11,
            ..Faults::default()
        })
        .await;
        create_many_under_faults(&emulator, 50).await;
    })
    .await;
}

#[tokio::test]
async fn a_fault_that_never_ends_gives_up_retryable_after_the_allowed_attempts() {
    within(async {
        for (faults, code, status) in [
            (
                Faults {
                    throttle_rate: 1.0,
                    ..Faults::default()
                },
                "Throttling.User",
                400,
            ),
            (
                Faults {
                    error_rate: 1.0,
                    ..Faults::default()
                },
                "ServiceUnavailable",
                503,
            ),
        ] {
            let emulator = emulator_with_faults(faults).await;
            let client = client_for(&emulator, fast_retries(4));
            let error = client
                .create_job_group(REGION, INSTANCE, "traffic-east", &spec())
                .await
                .unwrap_err();
            assert_eq!(error.code(), Some(code), "{error}");
            assert_eq!(error.http_status(), Some(status), "{error}");
            assert_eq!(error.class(), ErrorClass::Retryable, "{error}");
            assert_eq!(error.attempts, 4, "{error}");
            assert!(
                error.to_string().ends_with(" (gave up after 4 attempts)"),
                "{error}"
            );
            assert_eq!(emulator.request_count("CreateJobGroup"), 4);
            assert!(emulator.state().job_groups.is_empty());
        }
    })
    .await;
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_is_ambiguous_and_not_sent_again() {
    within(async {
        // Lost on the first create (a fresh connection) and on the second, whose request
        // travels on the connection the first one left in the pool: there an HTTP stack might
        // be tempted to resend on its own.
        for lost_create in [1_u64, 2] {
            let emulator = emulator_with_faults(Faults {
                drop_after_commit: Some(lost_create),
                ..Faults::default()
            })
            .await;
            let client = client_for(&emulator, fast_retries(10));
            for index in 1..lost_create {
                client
                    .create_job_group(REGION, INSTANCE, &format!("answered-{index}"), &spec())
                    .await
                    .unwrap();
            }

            let error = client
                .create_job_group(REGION, INSTANCE, "lost-answer", &spec())
                .await
                .unwrap_err();
            assert_eq!(error.class(), ErrorClass::Ambiguous, "{error}");
            assert!(error.is_ambiguous());
            assert_eq!(error.attempts, 1, "{error}");
            assert!(
                matches!(
                    error.kind,
                    CloudErrorKind::ConnectionLost { .. } | CloudErrorKind::BodyUnreadable { .. }
                ),
                "{error:?}"
            );
            assert_eq!(error.code(), None);
            assert_eq!(
                emulator.request_count("CreateJobGroup"),
                lost_create,
                "the lost create was sent once"
            );

            // It was committed, exactly once, and a listing finds it by name.
            let state = emulator.state();
            let lost: Vec<_> = state
                .job_groups
                .iter()
                .filter(|group| group.name == "lost-answer")
                .collect();
            assert_eq!(lost.len(), 1);
            let listed = client.list_all_job_groups(REGION, INSTANCE).await.unwrap();
            let found = listed
                .iter()
                .find(|group| group.name == "lost-answer")
                .expect("the committed group is listed");
            assert_eq!(found.job_group_id, lost[0].job_group_id.to_string());
            assert_eq!(found.to_spec(), spec());

            // The fault happens once: the next create is answered.
            client
                .create_job_group(REGION, INSTANCE, "after", &spec())
                .await
                .unwrap();
            assert_eq!(emulator.request_count("CreateJobGroup"), lost_create + 1);
        }
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Listings that shift under the client
// ---------------------------------------------------------------------------------------------

/// An emulator holding `count` seeded groups whose `hook` deletes groups after the pages of
/// a listing, as another client would.
async fn emulator_deleting_between_pages(
    count: usize,
    hook: impl Fn(u32) -> Vec<u64> + Send + Sync + 'static,
) -> EmulatorHandle {
    emulator_with(EmulatorConfig {
        seed: Seed {
            job_groups: (0..count).map(seeded_group).collect(),
            ..Seed::default()
        },
        between_pages: Some(BetweenPages(Arc::new(hook))),
        ..EmulatorConfig::default()
    })
    .await
}

/// Pages are by offset: a delete between two pages moved the next page past a group that
/// still existed, and the listing came back without it.
#[tokio::test]
async fn a_listing_shifted_by_a_delete_between_pages_is_taken_again() {
    within(async {
        let deleted = Arc::new(AtomicBool::new(false));
        let once = Arc::clone(&deleted);
        let emulator = emulator_deleting_between_pages(150, move |page| {
            if page == 1 && !once.swap(true, Ordering::SeqCst) {
                vec![5]
            } else {
                Vec::new()
            }
        })
        .await;
        let client = client_for(&emulator, fast_retries(3));
        let listed = client.list_all_job_groups(REGION, INSTANCE).await.unwrap();
        let ids: BTreeSet<u64> = listed
            .iter()
            .map(|group| group.job_group_id.parse().unwrap())
            .collect();
        let expected: BTreeSet<u64> = (1..=150).filter(|id| *id != 5).collect();
        assert_eq!(ids, expected, "group 101 must not be skipped");
        assert_eq!(
            emulator.request_count("DescribeJobGroups"),
            4,
            "two pages, then both again"
        );
    })
    .await;
}

#[tokio::test]
async fn a_listing_that_never_settles_fails_rather_than_guess() {
    within(async {
        let next = Arc::new(AtomicU64::new(1));
        let emulator = emulator_deleting_between_pages(150, move |page| {
            if page == 1 {
                vec![next.fetch_add(1, Ordering::SeqCst)]
            } else {
                Vec::new()
            }
        })
        .await;
        let client = client_for(&emulator, fast_retries(3));
        let error = client
            .list_all_job_groups(REGION, INSTANCE)
            .await
            .unwrap_err();
        assert!(
            matches!(
                error.kind,
                CloudErrorKind::UnsettledListing { attempts: 3, .. }
            ),
            "{error}"
        );
        assert!(
            error.to_string().contains(
                "`TotalCount` went from 150 to 149, 149 to 148, 148 to 147 in 3 listings"
            ),
            "{error}"
        );
    })
    .await;
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 24, ..Default::default() })]

    /// Whatever another client deletes between the pages of a refresh, no group that still
    /// exists is removed from the state: it is either listed, looked up by its id, or the
    /// refresh fails.
    #[test]
    fn deletes_between_pages_never_make_a_refresh_forget_a_live_group(
        count in 101_usize..260,
        deletes in proptest::collection::vec((0_usize..8, 1_u64..260), 0..12),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let calls = Arc::new(AtomicUsize::new(0));
            let schedule = deletes.clone();
            let emulator = emulator_deleting_between_pages(count, move |_page| {
                let call = calls.fetch_add(1, Ordering::SeqCst);
                schedule
                    .iter()
                    .filter(|(at, _)| *at == call)
                    .map(|(_, id)| *id)
                    .collect()
            })
            .await;
            let client = client_for(&emulator, fast_retries(3));
            let mut state = State::new("lineage".to_owned());
            for group in emulator.state().job_groups {
                state.job_groups.insert(
                    Address::new(REGION, INSTANCE, &group.name),
                    StateEntry::new(group.job_group_id.to_string(), spec(), "R", "2026-12-01T00:00:00Z"),
                );
            }
            let instances = BTreeSet::from([Instance {
                region_id: REGION.into(),
                instance_id: INSTANCE.into(),
            }]);
            let Ok(observed) = observe(&client, &instances, Some(&state)).await else {
                return;
            };
            let live: BTreeSet<String> = emulator
                .state()
                .job_groups
                .iter()
                .map(|group| group.job_group_id.to_string())
                .collect();
            for finding in refresh_state(&state, &observed).findings {
                if let Finding::Gone { job_group_id, address } = finding {
                    assert!(
                        !live.contains(&job_group_id),
                        "{address} (id {job_group_id}) still exists but was taken for gone"
                    );
                }
            }
        });
    }
}
