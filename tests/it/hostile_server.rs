//! The client, and the applier above it, against a server that answers badly on purpose:
//! malformed JSON, bodies past the 8 MiB limit, a trickle that never ends, the wrong content
//! type, a proxy's HTML page, error documents and missing ids in a 200, truncated bodies,
//! connections reset halfway, garbage in place of HTTP, endless headers, redirects.
//!
//! Each case is a few raw bytes written by a tokio `TcpListener` in this file. Every case
//! must end in a classified `CloudError` within a bounded time, without a panic; a create
//! stays ambiguous wherever the request may have been processed. Through
//! `cityform::apply::execute`, the state must lose nothing: groups recorded before are still
//! there, and an ambiguous create leaves an unresolved intent, not a record.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cityform::apply::{ApplyOptions, FailureReason, execute};
use cityform::cloud::error::CloudErrorKind;
use cityform::cloud::{
    ClientOptions, CloudClient, CloudError, Credentials, DescribeJobGroupsRequest, Endpoints,
    ErrorClass, RetryPolicy,
};
use cityform::manifest::{Desired, DesiredGroup, SourceLocation};
use cityform::model::{Address, JobGroupSpec};
use cityform::plan;
use cityform::state::journal::{JournalRecord, Operation, Put};
use cityform::state::{Backend, LocalBackend, LockOptions, State, StateEntry};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

const REGION: &str = "cn-shanghai";
const INSTANCE: &str = "cityvisual-Instance";
/// The client's default answer limit.
const LIMIT: usize = 8 * 1024 * 1024;
/// The request timeout in these tests: short, so that a trickle is cut off quickly.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);
/// Every case ends well within this, or the test fails instead of hanging.
const BOUND: Duration = Duration::from_secs(20);

async fn within<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(BOUND, future)
        .await
        .unwrap_or_else(|_| panic!("no result within {BOUND:?}"))
}

// ---------------------------------------------------------------------------------------------
// The hostile server

/// What the server does once it has read a request whole.
#[derive(Clone)]
enum Reply {
    /// Write these bytes, then close.
    Bytes(Vec<u8>),
    /// Write the head, then one byte of body per `every`, never finishing.
    Trickle { head: Vec<u8>, every: Duration },
    /// Write these bytes, then reset the connection (RST, not FIN).
    ThenReset(Vec<u8>),
    /// Send a response head, then `total` bytes of body in 64 KiB pieces, without stopping
    /// when the client goes away.
    Flood { head: Vec<u8>, total: usize },
    /// Accept, read, and say nothing at all.
    Silence,
}

/// A server playing `reply` to every `CreateJobGroup` and `describe` to every
/// `DescribeJobGroups`; counts requests per action.
struct Server {
    url: String,
    creates: Arc<AtomicUsize>,
    describes: Arc<AtomicUsize>,
}

async fn server(create: Reply, describe: Reply) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let creates = Arc::new(AtomicUsize::new(0));
    let describes = Arc::new(AtomicUsize::new(0));
    let (create_count, describe_count) = (creates.clone(), describes.clone());
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (create, describe) = (create.clone(), describe.clone());
            let (create_count, describe_count) = (create_count.clone(), describe_count.clone());
            tokio::spawn(async move {
                let mut socket = socket;
                let Some(head) = read_request(&mut socket).await else {
                    return;
                };
                let reply = if head.contains("Action=CreateJobGroup") {
                    create_count.fetch_add(1, Ordering::SeqCst);
                    create
                } else {
                    describe_count.fetch_add(1, Ordering::SeqCst);
                    describe
                };
                play(socket, reply).await;
            });
        }
    });
    Server {
        url,
        creates,
        describes,
    }
}

async fn play(mut socket: TcpStream, reply: Reply) {
    match reply {
        Reply::Bytes(bytes) => {
            let _ = socket.write_all(&bytes).await;
            let _ = socket.shutdown().await;
        }
        Reply::Trickle { head, every } => {
            if socket.write_all(&head).await.is_err() {
                return;
            }
            loop {
                tokio::time::sleep(every).await;
                if socket.write_all(b" ").await.is_err() {
                    return;
                }
            }
        }
        Reply::ThenReset(bytes) => {
            let _ = socket.write_all(&bytes).await;
            let _ = socket.flush().await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            // A zero linger turns the close into a reset.
            let _ = socket.set_zero_linger();
            drop(socket);
        }
        Reply::Flood { head, total } => {
            if socket.write_all(&head).await.is_err() {
                return;
            }
            let piece = vec![b'x'; 64 * 1024];
            let mut sent = 0;
            while sent < total {
                if socket.write_all(&piece).await.is_err() {
                    return;
                }
                sent += piece.len();
            }
            let _ = socket.shutdown().await;
        }
        Reply::Silence => {
            tokio::time::sleep(BOUND).await;
        }
    }
}

/// Reads one request (head and `Content-Length` body); returns the head, or `None` if the
/// client went away first.
async fn read_request(socket: &mut TcpStream) -> Option<String> {
    let mut buffer = Vec::new();
    let mut chunk = [0_u8; 8192];
    loop {
        if let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
            let length: usize = head
                .to_ascii_lowercase()
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|value| value.trim().parse().ok())
                .unwrap_or(0);
            if buffer.len() >= end + 4 + length {
                return Some(head);
            }
        }
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(read) => buffer.extend_from_slice(&chunk[..read]),
        }
    }
}

fn response(status: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut bytes = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn json(body: &str) -> Reply {
    Reply::Bytes(response(
        "200 OK",
        "application/json;charset=utf-8",
        body.as_bytes(),
    ))
}

const PROXY_PAGE: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

const EMPTY_PAGE: &str = r#"{"TotalCount":0,"PageNumber":1,"PageSize":100,"RequestId":"R-page","JobGroups":{"JobGroup":[]}}"#;

// ---------------------------------------------------------------------------------------------
// The client

fn client(url: &str) -> CloudClient {
    CloudClient::new(
        Credentials::new("LTAIhostile", "hostile-secret"),
        Endpoints::with_override(url).unwrap(),
        ClientOptions {
            connect_timeout: Duration::from_secs(2),
            request_timeout: REQUEST_TIMEOUT,
            retry: RetryPolicy {
                max_attempts: 3,
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(5),
                max_elapsed: Duration::from_secs(10),
            },
            ..ClientOptions::default()
        },
    )
    .unwrap()
}

/// Sends one create to a server answering it with `reply`; returns the error, how long it
/// took, and how many creates the server received.
async fn create_against(reply: Reply) -> (CloudError, Duration, usize) {
    let server = server(reply, json(EMPTY_PAGE)).await;
    let started = Instant::now();
    let result = within(client(&server.url).create_job_group(
        REGION,
        INSTANCE,
        "traffic-east",
        &JobGroupSpec::example(),
    ))
    .await;
    let elapsed = started.elapsed();
    let error = match result {
        Ok(created) => panic!("a hostile answer was taken as a success: {created:?}"),
        Err(error) => error,
    };
    // Give a client that wrongly sends again the time to be caught.
    tokio::time::sleep(Duration::from_millis(100)).await;
    (error, elapsed, server.creates.load(Ordering::SeqCst))
}

/// A create that may have been processed: ambiguous, sent once, never again.
fn assert_ambiguous_once(error: &CloudError, creates: usize) {
    assert_eq!(error.class(), ErrorClass::Ambiguous, "{error} / {error:?}");
    assert_eq!(creates, 1, "an ambiguous create was sent again: {error}");
    assert_eq!(error.attempts, 1, "{error}");
}

// ---------------------------------------------------------------------------------------------
// One create, each bad answer

#[tokio::test]
async fn malformed_json_in_a_200_is_ambiguous() {
    let (error, _, creates) = create_against(json(r#"{"JobGroupId": "4", "RequestId": "#)).await;
    assert_ambiguous_once(&error, creates);
    assert!(
        matches!(&error.kind, CloudErrorKind::MalformedResponse { status: 200, reason, .. } if reason.contains("not JSON")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_body_over_the_limit_with_its_length_declared_is_refused_unread() {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        LIMIT + 1
    )
    .into_bytes();
    let (error, _, creates) = create_against(Reply::Flood {
        head,
        total: LIMIT + 1,
    })
    .await;
    assert_ambiguous_once(&error, creates);
    assert!(
        matches!(
            error.kind,
            CloudErrorKind::ResponseTooLarge {
                status: 200,
                limit: LIMIT
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_body_over_the_limit_without_a_length_is_cut_off_at_the_limit() {
    // No Content-Length: the body ends when the connection closes, 9 MiB later.
    let head =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n".to_vec();
    let (error, _, creates) = create_against(Reply::Flood {
        head,
        total: LIMIT + 1024 * 1024,
    })
    .await;
    assert_ambiguous_once(&error, creates);
    assert!(
        matches!(
            error.kind,
            CloudErrorKind::ResponseTooLarge {
                status: 200,
                limit: LIMIT
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_trickle_after_the_headers_hits_the_request_timeout() {
    let head =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
            .to_vec();
    let (error, elapsed, creates) = create_against(Reply::Trickle {
        head,
        every: Duration::from_millis(100),
    })
    .await;
    assert_ambiguous_once(&error, creates);
    assert!(
        matches!(error.kind, CloudErrorKind::Timeout { after } if after == REQUEST_TIMEOUT),
        "{error:?}"
    );
    assert!(elapsed < 3 * REQUEST_TIMEOUT, "took {elapsed:?}");
}

#[tokio::test]
async fn silence_after_the_request_hits_the_request_timeout() {
    let (error, elapsed, creates) = create_against(Reply::Silence).await;
    assert_ambiguous_once(&error, creates);
    assert!(
        matches!(error.kind, CloudErrorKind::Timeout { .. }),
        "{error:?}"
    );
    assert!(elapsed < 3 * REQUEST_TIMEOUT, "took {elapsed:?}");
}

#[tokio::test]
async fn a_captive_portal_page_with_the_wrong_content_type_is_ambiguous() {
    let page = "<!DOCTYPE html><html><body><form action=\"/login\">Sign in to the network</form></body></html>";
    let (error, _, creates) = create_against(Reply::Bytes(response(
        "200 OK",
        "text/html; charset=utf-8",
        page.as_bytes(),
    )))
    .await;
    assert_ambiguous_once(&error, creates);
    assert!(
        matches!(
            error.kind,
            CloudErrorKind::MalformedResponse { status: 200, .. }
        ),
        "{error:?}"
    );
}

/// The service answers XML by default and a gateway may ignore `Format=JSON`: an XML answer
/// is read like a JSON one (docs/emulator.md, "Dialects"); one without the id stays ambiguous.
#[tokio::test]
async fn an_xml_answer_where_json_was_asked_for_is_read_the_same() {
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?><CreateJobGroupResponse><JobGroupId>4</JobGroupId><RequestId>R</RequestId></CreateJobGroupResponse>"#;
    let server = server(
        Reply::Bytes(response("200 OK", "text/xml", xml.as_bytes())),
        json(EMPTY_PAGE),
    )
    .await;
    let created = within(client(&server.url).create_job_group(
        REGION,
        INSTANCE,
        "traffic-east",
        &JobGroupSpec::example(),
    ))
    .await
    .unwrap();
    assert_eq!(
        (created.job_group_id.as_str(), created.request_id.as_str()),
        ("4", "R")
    );
    let without_id = r#"<?xml version="1.0" encoding="UTF-8"?><CreateJobGroupResponse><RequestId>R</RequestId></CreateJobGroupResponse>"#;
    let (error, _, creates) = create_against(Reply::Bytes(response(
        "200 OK",
        "text/xml",
        without_id.as_bytes(),
    )))
    .await;
    assert_ambiguous_once(&error, creates);
}

#[tokio::test]
async fn a_proxys_502_page_on_a_create_is_ambiguous_and_not_resent() {
    let (error, _, creates) = create_against(Reply::Bytes(response(
        "502 Bad Gateway",
        "text/html",
        PROXY_PAGE.as_bytes(),
    )))
    .await;
    assert_ambiguous_once(&error, creates);
    assert_eq!(error.http_status(), Some(502));
    assert_eq!(
        error.to_string(),
        "CreateJobGroup traffic-east: HTTP 502 with a body that is not an Alibaba Cloud error: `502 Bad Gateway 502 Bad Gateway nginx`"
    );
}

#[tokio::test]
async fn a_proxys_502_page_on_a_read_is_retried() {
    let server = server(
        json("{}"),
        Reply::Bytes(response(
            "502 Bad Gateway",
            "text/html",
            PROXY_PAGE.as_bytes(),
        )),
    )
    .await;
    let error = within(
        client(&server.url)
            .describe_job_groups(&DescribeJobGroupsRequest::first_page(REGION, INSTANCE)),
    )
    .await
    .unwrap_err();
    assert_eq!(error.class(), ErrorClass::Retryable, "{error}");
    assert_eq!(error.attempts, 3);
    assert_eq!(server.describes.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn an_error_document_in_a_200_is_ambiguous() {
    let (error, _, creates) = create_against(json(
        r#"{"Code":"InternalError","Message":"The request processing has failed.","RequestId":"R-200-error"}"#,
    ))
    .await;
    assert_ambiguous_once(&error, creates);
    assert!(
        matches!(
            error.kind,
            CloudErrorKind::MissingField {
                field: "JobGroupId",
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.request_id(), Some("R-200-error"));
}

#[tokio::test]
async fn a_200_create_without_a_job_group_id_is_ambiguous() {
    for body in [
        r#"{"RequestId":"R-no-id"}"#,
        r#"{"RequestId":"R-no-id","JobGroupId":""}"#,
        r#"{"RequestId":"R-no-id","JobGroupId":null}"#,
        r#"{"RequestId":"R-no-id","JobGroupId":{"Id":"4"}}"#,
    ] {
        let (error, _, creates) = create_against(json(body)).await;
        assert_ambiguous_once(&error, creates);
        assert!(
            matches!(error.kind, CloudErrorKind::MissingField { .. }),
            "{body}: {error:?}"
        );
        assert_eq!(error.request_id(), Some("R-no-id"), "{body}");
    }
}

#[tokio::test]
async fn a_truncated_body_is_ambiguous() {
    let body = br#"{"JobGroupId":"4","RequestId":"R-truncated"}"#;
    let mut bytes = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len() + 100
    )
    .into_bytes();
    bytes.extend_from_slice(body);
    let (error, _, creates) = create_against(Reply::Bytes(bytes)).await;
    assert_ambiguous_once(&error, creates);
    assert!(
        matches!(
            error.kind,
            CloudErrorKind::BodyUnreadable { status: 200, .. }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_connection_reset_halfway_through_the_body_is_ambiguous() {
    let mut bytes = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{\"JobGroupId\":\"4\",".to_vec();
    bytes.extend(std::iter::repeat_n(b' ', 100));
    let (error, _, creates) = create_against(Reply::ThenReset(bytes)).await;
    assert_ambiguous_once(&error, creates);
    assert!(
        matches!(
            error.kind,
            CloudErrorKind::BodyUnreadable { status: 200, .. }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_connection_reset_before_any_answer_is_ambiguous() {
    let (error, _, creates) = create_against(Reply::ThenReset(Vec::new())).await;
    assert_ambiguous_once(&error, creates);
    assert!(
        matches!(error.kind, CloudErrorKind::ConnectionLost { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn garbage_instead_of_http_is_ambiguous() {
    let (error, _, creates) = create_against(Reply::Bytes(
        b"SSH-2.0-OpenSSH_9.6\r\n\r\n\0\x01\x02".to_vec(),
    ))
    .await;
    assert_ambiguous_once(&error, creates);
}

#[tokio::test]
async fn endless_headers_are_refused_in_bounded_time() {
    let mut head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n".to_vec();
    for index in 0..20_000 {
        head.extend_from_slice(format!("X-Padding-{index}: {}\r\n", "y".repeat(64)).as_bytes());
    }
    let (error, elapsed, creates) = create_against(Reply::Trickle {
        head,
        every: Duration::from_millis(50),
    })
    .await;
    assert_ambiguous_once(&error, creates);
    assert!(elapsed < 3 * REQUEST_TIMEOUT, "took {elapsed:?}");
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let elsewhere = server(
        json(r#"{"JobGroupId":"9","RequestId":"R"}"#),
        json(EMPTY_PAGE),
    )
    .await;
    let redirect = format!(
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        elsewhere.url
    );
    let (error, _, creates) = create_against(Reply::Bytes(redirect.into_bytes())).await;
    assert_eq!(error.class(), ErrorClass::Terminal, "{error}");
    assert_eq!(creates, 1);
    assert_eq!(
        elsewhere.creates.load(Ordering::SeqCst),
        0,
        "the signed request was sent elsewhere"
    );
}

// ---------------------------------------------------------------------------------------------
// Through the applier: the state loses nothing

fn desired(names: &[&str]) -> Desired {
    let mut desired = Desired::default();
    for (line, name) in names.iter().enumerate() {
        desired.groups.insert(
            Address::example(*name),
            DesiredGroup::new(
                JobGroupSpec::example(),
                SourceLocation {
                    file: "manifests/city.yaml".into(),
                    line: line + 1,
                    column: 1,
                },
            ),
        );
    }
    desired
}

/// A state in `directory` that already records `kept`.
async fn state_with_kept_group(directory: &std::path::Path) -> LocalBackend {
    let backend =
        LocalBackend::open(directory.join("state.json"), &LockOptions::new("hostile")).unwrap();
    backend.create(State::new("lineage-hostile")).await.unwrap();
    backend
        .append(&[JournalRecord::Put(Put {
            address: Address::example("kept"),
            entry: StateEntry {
                job_group_id: "41".into(),
                spec: JobGroupSpec::example(),
                request_id: "R-kept".into(),
                applied_at: "2026-11-27T08:00:00Z".into(),
                status: None,
                prevent_destroy: false,
            },
            intent: None,
        })])
        .await
        .unwrap();
    backend.compact().await.unwrap();
    backend
}

/// Applies a plan creating `kept` (already recorded) and `new-one` against a server playing
/// `create` and `describe`; returns the report and what the state holds afterwards.
async fn apply_against(
    create: Reply,
    describe: Reply,
) -> (cityform::apply::ApplyReport, cityform::state::Recovered) {
    let directory = tempfile::tempdir().unwrap();
    let backend = state_with_kept_group(directory.path()).await;
    let server = server(create, describe).await;
    let loaded = backend.load().await.unwrap();
    let plan = plan::compute(&desired(&["kept", "new-one"]), loaded.state.as_ref());
    let (sender, mut receiver) = mpsc::channel(64);
    let events = tokio::spawn(async move { while receiver.recv().await.is_some() {} });
    let report = within(execute(
        &backend,
        &client(&server.url),
        &plan,
        &ApplyOptions::default(),
        sender,
        std::future::pending(),
    ))
    .await
    .unwrap();
    events.await.unwrap();
    drop(backend);
    let reopened = LocalBackend::open(
        directory.path().join("state.json"),
        &LockOptions::new("check"),
    )
    .unwrap();
    let recovered = reopened.load().await.unwrap();
    (report, recovered)
}

#[tokio::test]
async fn an_ambiguous_create_whose_lookup_fails_too_leaves_an_intent_and_loses_nothing() {
    // The create's answer is cut off; looking the name up meets a proxy's 502 every time.
    let truncated = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"JobGroupId\":".to_vec();
    let (report, recovered) = apply_against(
        Reply::Bytes(truncated),
        Reply::Bytes(response(
            "502 Bad Gateway",
            "text/html",
            PROXY_PAGE.as_bytes(),
        )),
    )
    .await;

    assert_eq!(report.failed.len(), 1, "{report:?}");
    let failure = &report.failed[0];
    assert_eq!(failure.address, Address::example("new-one"));
    assert_eq!(failure.reason, FailureReason::OutcomeUnknown);
    assert_eq!(failure.class, ErrorClass::Ambiguous);

    let state = recovered.state.unwrap();
    assert_eq!(
        state.job_groups[&Address::example("kept")].job_group_id,
        "41"
    );
    assert!(!state.job_groups.contains_key(&Address::example("new-one")));
    assert_eq!(recovered.unresolved.len(), 1, "{:?}", recovered.unresolved);
    let intent = &recovered.unresolved[0];
    assert_eq!(
        (&intent.address, intent.operation),
        (&Address::example("new-one"), Operation::Create)
    );
}

#[tokio::test]
async fn malformed_answers_everywhere_leave_an_intent_and_lose_nothing() {
    let (report, recovered) = apply_against(
        json(r#"{"JobGroupId": 4, "RequestId": "#),
        json(r#"{"TotalCount": "lots", "JobGroups": 7}"#),
    )
    .await;
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(report.failed[0].reason, FailureReason::OutcomeUnknown);
    let state = recovered.state.unwrap();
    assert_eq!(
        state.job_groups.keys().collect::<Vec<_>>(),
        [&Address::example("kept")]
    );
    assert_eq!(recovered.unresolved.len(), 1);
}

#[tokio::test]
async fn a_create_lost_to_a_reset_and_found_by_name_is_recorded_with_the_id_found() {
    // The create's connection is reset; the group turns out to exist when looked up.
    let listing = r#"{"TotalCount":1,"PageNumber":1,"PageSize":100,"RequestId":"R-list","JobGroups":{"JobGroup":[{"JobGroupId":"77","JobGroupName":"new-one","Status":"Stopped","AlgoLibId":"3","ResourceProfileId":"6","PlanedJobCount":10,"StreamPerJob":5}]}}"#;
    let (report, recovered) = apply_against(Reply::ThenReset(Vec::new()), json(listing)).await;
    assert!(report.failed.is_empty(), "{report:?}");
    let state = recovered.state.unwrap();
    assert_eq!(
        state.job_groups[&Address::example("kept")].job_group_id,
        "41"
    );
    assert_eq!(
        state.job_groups[&Address::example("new-one")].job_group_id,
        "77"
    );
    assert!(recovered.unresolved.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Listings that cannot be complete

/// `{}` and an empty page that promises groups were both read as "no groups": a plan then
/// said every recorded group had been deleted outside cityform and would be created again.
#[tokio::test]
async fn a_listing_that_cannot_be_complete_is_malformed_not_empty() {
    for (body, says) in [
        ("{}", "`TotalCount` is missing"),
        (
            r#"{"RequestId":"R-total","JobGroups":{"JobGroup":[]}}"#,
            "`TotalCount` is missing",
        ),
        (
            r#"{"TotalCount":2147483647,"PageNumber":1,"PageSize":100,"RequestId":"R-total","JobGroups":{"JobGroup":[]}}"#,
            "`TotalCount` promises 2147483647 job groups, but the listing ends after 0",
        ),
    ] {
        let server = server(json(EMPTY_PAGE), json(body)).await;
        let error = within(client(&server.url).list_all_job_groups(REGION, INSTANCE))
            .await
            .unwrap_err();
        assert!(
            matches!(error.kind, CloudErrorKind::MalformedResponse { .. }),
            "{body}: {error}"
        );
        let shown = error.to_string();
        assert!(shown.contains(says), "{body}: {shown}");
        assert!(shown.starts_with("DescribeJobGroups "), "{shown}");
        if body.contains("R-total") {
            assert!(shown.contains("R-total"), "the RequestId is named: {shown}");
        }
    }
}
