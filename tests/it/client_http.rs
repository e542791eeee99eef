//! The cloud client against purpose-built HTTP servers on loopback: what goes over the wire,
//! how answers and failures are classified, and which failures are retried.
//!
//! Each test starts its own server on 127.0.0.1:0 that plays a fixed script and records what
//! it received, so that the number of requests the client really sent is counted server-side.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use cityform::cloud::error::CloudErrorKind;
use cityform::cloud::signer;
use cityform::cloud::{
    ClientOptions, CloudClient, Credentials, DescribeJobGroupsRequest, Endpoints, ErrorClass,
    ModifyJobGroupRequest, RetryPolicy, Throttle,
};
use cityform::model::JobGroupSpec;

const ACCESS_KEY_ID: &str = "LTAItestaccesskey";
const SECRET: &str = "test-secret-9f2c";
const TOKEN: &str = "CAIS/test+token=";
const REGION: &str = "cn-shanghai";
const INSTANCE: &str = "cityvisual-Instance";

/// Every scenario must finish well within this; a hang is a failure, not a stuck build.
async fn within<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), future)
        .await
        .expect("scenario took longer than 20 s")
}

fn spec() -> JobGroupSpec {
    JobGroupSpec {
        algo_lib_id: "3".into(),
        resource_profile_id: "6".into(),
        planed_job_count: 10,
        stream_per_job: 5,
        job_count: Some(3),
        params: [
            ("ES_ENABLE".to_owned(), "True".to_owned()),
            ("SCHEDULE_FLOW_START_TIME".to_owned(), "Latest".to_owned()),
        ]
        .into_iter()
        .collect(),
    }
}

fn fast_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_elapsed: Duration::from_secs(10),
    }
}

fn client(url: &str, retry: RetryPolicy) -> CloudClient {
    client_with_timeout(url, retry, Duration::from_secs(5))
}

fn client_with_timeout(url: &str, retry: RetryPolicy, request_timeout: Duration) -> CloudClient {
    CloudClient::new(
        Credentials::new(ACCESS_KEY_ID, SECRET).with_security_token(TOKEN),
        Endpoints::with_override(url).unwrap(),
        ClientOptions {
            connect_timeout: Duration::from_secs(2),
            request_timeout,
            retry,
            max_response_bytes: 1024 * 1024,
        },
    )
    .unwrap()
}

/// What the scripted server saw of one request.
#[derive(Debug, Clone)]
struct Received {
    method: Method,
    path: String,
    content_type: String,
    query: Vec<(String, String)>,
    body: Vec<(String, String)>,
    raw_body: String,
    signature_valid: bool,
}

impl Received {
    fn query_value(&self, name: &str) -> Option<&str> {
        lookup(&self.query, name)
    }

    fn body_value(&self, name: &str) -> Option<&str> {
        lookup(&self.body, name)
    }
}

fn lookup<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// What the scripted server answers.
struct Reply {
    status: u16,
    content_type: &'static str,
    body: String,
    delay: Duration,
}

fn json(status: u16, body: impl Into<String>) -> Reply {
    Reply {
        status,
        content_type: "application/json;charset=utf-8",
        body: body.into(),
        delay: Duration::ZERO,
    }
}

fn throttled(request_id: &str) -> Reply {
    json(
        400,
        format!(
            r#"{{"Code":"Throttling.User","Message":"Request was denied due to user flow control.","RequestId":"{request_id}","HostId":"cityvisual.cn-shanghai.aliyuncs.com"}}"#
        ),
    )
}

type Script = dyn Fn(&Received, usize) -> Reply + Send + Sync;

struct ServerState {
    script: Box<Script>,
    received: Mutex<Vec<Received>>,
}

struct TestServer {
    url: String,
    state: Arc<ServerState>,
}

impl TestServer {
    fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    fn count(&self) -> usize {
        self.state.received.lock().unwrap().len()
    }
}

/// An axum server answering request number `n` (from 0) with `script(&request, n)`.
async fn serve(script: impl Fn(&Received, usize) -> Reply + Send + Sync + 'static) -> TestServer {
    let state = Arc::new(ServerState {
        script: Box::new(script),
        received: Mutex::new(Vec::new()),
    });
    let router = axum::Router::new()
        .fallback(answer)
        .with_state(state.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    TestServer {
        url: format!("http://{address}/"),
        state,
    }
}

async fn answer(
    State(state): State<Arc<ServerState>>,
    method: Method,
    uri: Uri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query = parse_pairs(query.as_deref().unwrap_or(""));
    let raw_body = String::from_utf8_lossy(&body).into_owned();
    let body_pairs = parse_pairs(&raw_body);
    let signature = lookup(&query, "Signature").unwrap_or("").to_owned();
    let signed = query
        .iter()
        .chain(&body_pairs)
        .map(|(name, value)| (name.as_str(), value.as_str()));
    let string_to_sign = signer::string_to_sign(method.as_str(), signed);
    let received = Received {
        method,
        path: uri.path().to_owned(),
        content_type: headers
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_owned(),
        signature_valid: signer::verify(SECRET, &string_to_sign, &signature),
        query,
        body: body_pairs,
        raw_body,
    };
    let number = {
        let mut all = state.received.lock().unwrap();
        all.push(received.clone());
        all.len() - 1
    };
    let reply = (state.script)(&received, number);
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    (
        StatusCode::from_u16(reply.status).unwrap(),
        [("content-type", reply.content_type)],
        reply.body,
    )
        .into_response()
}

fn parse_pairs(text: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(text.as_bytes())
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

/// What the raw TCP server does with one request.
#[derive(Clone)]
enum RawReply {
    /// Read the whole request, then close the connection without a word.
    CloseAfterReading,
    /// Send these exact bytes, then close.
    Bytes(Vec<u8>),
}

fn raw_json(body: &str) -> RawReply {
    RawReply::Bytes(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

/// A server below HTTP: reads each request whole, then follows `plan` (the last entry repeats).
async fn raw_server(plan: Vec<RawReply>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let counter = counter.clone();
            let plan = plan.clone();
            tokio::spawn(async move {
                if !read_request(&mut socket).await {
                    return;
                }
                let number = counter.fetch_add(1, Ordering::SeqCst);
                let reply = plan[number.min(plan.len() - 1)].clone();
                match reply {
                    RawReply::CloseAfterReading => drop(socket),
                    RawReply::Bytes(bytes) => {
                        let _ = socket.write_all(&bytes).await;
                        let _ = socket.shutdown().await;
                    }
                }
            });
        }
    });
    (format!("http://{address}/"), requests)
}

/// Reads one HTTP/1.1 request with a `Content-Length` body; false if the peer went away first.
async fn read_request(socket: &mut tokio::net::TcpStream) -> bool {
    let mut buffer = Vec::new();
    let mut chunk = [0_u8; 4096];
    loop {
        if let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|value| value.trim().parse().ok())
                .unwrap_or(0);
            if buffer.len() >= end + 4 + length {
                return true;
            }
        }
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(read) => buffer.extend_from_slice(&chunk[..read]),
        }
    }
}

#[derive(Default)]
struct CountingThrottle {
    throttled: AtomicUsize,
    succeeded: AtomicUsize,
    asked: AtomicUsize,
}

impl Throttle for CountingThrottle {
    fn delay_before_request(&self) -> Duration {
        self.asked.fetch_add(1, Ordering::SeqCst);
        Duration::ZERO
    }

    fn on_throttled(&self) {
        self.throttled.fetch_add(1, Ordering::SeqCst);
    }

    fn on_success(&self) {
        self.succeeded.fetch_add(1, Ordering::SeqCst);
    }
}

// ---------------------------------------------------------------------------------------------
// What goes over the wire

#[tokio::test]
async fn create_sends_a_signed_form_post_as_the_sdk_does() {
    within(async {
        let server =
            serve(|_, _| json(200, r#"{"JobGroupId":"445","RequestId":"E175B041"}"#)).await;
        let created = client(&server.url, fast_retries(1))
            .create_job_group(REGION, INSTANCE, "traffic-east", &spec())
            .await
            .unwrap();
        assert_eq!(created.job_group_id, "445");
        assert_eq!(created.request_id, "E175B041");

        let received = server.received();
        assert_eq!(received.len(), 1);
        let request = &received[0];
        assert_eq!(request.method, Method::POST);
        assert_eq!(request.path, "/");
        assert_eq!(request.content_type, "application/x-www-form-urlencoded");
        assert!(request.signature_valid, "the signature does not verify");
        assert_eq!(
            request.raw_body,
            "InstanceId=cityvisual-Instance&JobGroupName=traffic-east&AlgoLibId=3\
             &ResourceProfileId=6&PlanedJobCount=10&StreamPerJob=5&JobCount=3\
             &JobGroupParams.1.Key=ES_ENABLE&JobGroupParams.1.Value=True\
             &JobGroupParams.2.Key=SCHEDULE_FLOW_START_TIME&JobGroupParams.2.Value=Latest"
        );
        let names: Vec<&str> = request
            .query
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "Action",
                "Version",
                "Format",
                "AccessKeyId",
                "SignatureMethod",
                "SignatureVersion",
                "SignatureNonce",
                "Timestamp",
                "RegionId",
                "SecurityToken",
                "Signature"
            ]
        );
        for (name, value) in [
            ("Action", "CreateJobGroup"),
            ("Version", "2018-10-30"),
            ("Format", "JSON"),
            ("AccessKeyId", ACCESS_KEY_ID),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
            ("RegionId", REGION),
            ("SecurityToken", TOKEN),
        ] {
            assert_eq!(request.query_value(name), Some(value), "{name}");
        }
        let timestamp = request.query_value("Timestamp").unwrap();
        assert!(
            time::PrimitiveDateTime::parse(
                timestamp,
                time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z")
            )
            .is_ok(),
            "{timestamp}"
        );
        assert!(request.body_value("Signature").is_none());
        assert!(!request.raw_body.contains(SECRET));
    })
    .await;
}

#[tokio::test]
async fn every_action_sends_its_own_parameters() {
    within(async {
        let server = serve(|request, _| match request.query_value("Action") {
            Some("DescribeJobGroups") => json(
                200,
                r#"{"TotalCount":0,"PageNumber":2,"PageSize":10,"RequestId":"R-d"}"#,
            ),
            _ => json(200, r#"{"RequestId":"R-x"}"#),
        })
        .await;
        let client = client(&server.url, fast_retries(1));
        let mut describe = DescribeJobGroupsRequest::first_page(REGION, INSTANCE);
        describe.page_number = 2;
        describe.page_size = 10;
        describe.job_group_id = Some("9".into());
        let page = client.describe_job_groups(&describe).await.unwrap();
        assert_eq!((page.page_number, page.page_size), (2, 10));
        let modify = ModifyJobGroupRequest::new(REGION, INSTANCE, "9")
            .with_name("traffic-north")
            .with_status(cityform::model::Status::Running);
        assert_eq!(
            client.modify_job_group(&modify).await.unwrap().request_id,
            "R-x"
        );
        client.start_job_group(REGION, INSTANCE, "9").await.unwrap();
        client.stop_job_group(REGION, INSTANCE, "9").await.unwrap();
        client.delete_job_group(REGION, INSTANCE, "9").await.unwrap();

        let received = server.received();
        let seen: Vec<(&str, &str)> = received
            .iter()
            .map(|request| {
                (
                    request.query_value("Action").unwrap(),
                    request.raw_body.as_str(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                (
                    "DescribeJobGroups",
                    "InstanceId=cityvisual-Instance&JobGroupId=9&PageNumber=2&PageSize=10"
                ),
                (
                    "ModifyJobGroup",
                    "InstanceId=cityvisual-Instance&JobGroupId=9&JobGroupName=traffic-north&Status=Running"
                ),
                ("StartJobGroup", "InstanceId=cityvisual-Instance&JobGroupId=9"),
                ("StopJobGroup", "InstanceId=cityvisual-Instance&JobGroupId=9"),
                ("DeleteJobGroup", "InstanceId=cityvisual-Instance&JobGroupId=9"),
            ]
        );
        assert!(received.iter().all(|request| request.signature_valid));
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Retries

#[tokio::test]
async fn retries_succeed_after_throttling_with_a_fresh_nonce_each_time() {
    within(async {
        let server = serve(|_, number| {
            if number < 3 {
                throttled(&format!("R-{number}"))
            } else {
                json(200, r#"{"JobGroupId":"7","RequestId":"R-ok"}"#)
            }
        })
        .await;
        let throttle = Arc::new(CountingThrottle::default());
        let client = client(&server.url, fast_retries(5)).with_throttle(throttle.clone());
        let created = client
            .create_job_group(REGION, INSTANCE, "traffic-east", &spec())
            .await
            .unwrap();
        assert_eq!(created.job_group_id, "7");

        let received = server.received();
        assert_eq!(received.len(), 4);
        let mut nonces: Vec<&str> = received
            .iter()
            .map(|request| request.query_value("SignatureNonce").unwrap())
            .collect();
        nonces.sort_unstable();
        nonces.dedup();
        assert_eq!(nonces.len(), 4, "a nonce was reused");
        assert!(received.iter().all(|request| request.signature_valid));
        assert_eq!(throttle.throttled.load(Ordering::SeqCst), 3);
        assert_eq!(throttle.succeeded.load(Ordering::SeqCst), 1);
        assert_eq!(throttle.asked.load(Ordering::SeqCst), 4);
    })
    .await;
}

#[tokio::test]
async fn gives_up_after_max_attempts_with_the_last_error() {
    within(async {
        let server = serve(|_, number| {
            json(
                503,
                format!(
                    r#"{{"Code":"ServiceUnavailable","Message":"The request has failed due to a temporary failure of the server.","RequestId":"R-{number}"}}"#
                ),
            )
        })
        .await;
        let error = client(&server.url, fast_retries(4))
            .delete_job_group(REGION, INSTANCE, "12")
            .await
            .unwrap_err();
        assert_eq!(server.count(), 4);
        assert_eq!(error.class(), ErrorClass::Retryable);
        assert_eq!(error.attempts, 4);
        assert_eq!(error.request_id(), Some("R-3"));
        assert_eq!(
            error.to_string(),
            "DeleteJobGroup 12: ServiceUnavailable (503): The request has failed due to a temporary failure of the server. [RequestId R-3] (gave up after 4 attempts)"
        );
    })
    .await;
}

#[tokio::test]
async fn terminal_errors_are_returned_at_once() {
    within(async {
        let server = serve(|_, _| {
            json(
                404,
                r#"{"Code":"InvalidAlgoLibId.NotFound","Message":"The specified algorithm library does not exist.","RequestId":"E175B041-75A2-4335-B3AC-0FD008F93627"}"#,
            )
        })
        .await;
        let error = client(&server.url, fast_retries(5))
            .create_job_group(REGION, INSTANCE, "traffic-east", &spec())
            .await
            .unwrap_err();
        assert_eq!(server.count(), 1);
        assert_eq!(error.class(), ErrorClass::Terminal);
        assert_eq!(
            error.to_string(),
            "CreateJobGroup traffic-east: InvalidAlgoLibId.NotFound (404): The specified algorithm library does not exist. [RequestId E175B041-75A2-4335-B3AC-0FD008F93627]"
        );
    })
    .await;
}

#[tokio::test]
async fn max_elapsed_bounds_the_total_time() {
    within(async {
        let server = serve(|_, number| throttled(&format!("R-{number}"))).await;
        let policy = RetryPolicy {
            max_attempts: 1_000,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(20),
            max_elapsed: Duration::from_millis(300),
        };
        let started = std::time::Instant::now();
        let error = client(&server.url, policy)
            .describe_job_groups(&DescribeJobGroupsRequest::first_page(REGION, INSTANCE))
            .await
            .unwrap_err();
        assert!(error.is_retryable());
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(server.count() < 1_000);
        assert_eq!(error.attempts as usize, server.count());
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Lost answers

#[tokio::test]
async fn a_connection_closed_after_the_request_is_ambiguous_and_never_resent_for_create() {
    within(async {
        let (url, requests) = raw_server(vec![RawReply::CloseAfterReading]).await;
        let error = client(&url, fast_retries(5))
            .create_job_group(REGION, INSTANCE, "traffic-east", &spec())
            .await
            .unwrap_err();
        assert_eq!(error.class(), ErrorClass::Ambiguous, "{error}");
        assert!(
            matches!(error.kind, CloudErrorKind::ConnectionLost { .. }),
            "{error:?}"
        );
        assert_eq!(error.attempts, 1);
        // Give a wrongly retrying client the chance to be caught.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(requests.load(Ordering::SeqCst), 1);
    })
    .await;
}

#[tokio::test]
async fn a_connection_closed_after_the_request_is_retried_for_describe() {
    within(async {
        let page = r#"{"TotalCount":0,"PageNumber":1,"PageSize":100,"RequestId":"R-2"}"#;
        let (url, requests) = raw_server(vec![
            RawReply::CloseAfterReading,
            RawReply::CloseAfterReading,
            raw_json(page),
        ])
        .await;
        let page = client(&url, fast_retries(5))
            .describe_job_groups(&DescribeJobGroupsRequest::first_page(REGION, INSTANCE))
            .await
            .unwrap();
        assert_eq!(page.request_id, "R-2");
        assert_eq!(requests.load(Ordering::SeqCst), 3);
    })
    .await;
}

#[tokio::test]
async fn a_timeout_is_ambiguous() {
    within(async {
        let server = serve(|_, _| Reply {
            delay: Duration::from_secs(3),
            ..json(200, r#"{"JobGroupId":"1","RequestId":"late"}"#)
        })
        .await;
        let error = client_with_timeout(&server.url, fast_retries(5), Duration::from_millis(300))
            .create_job_group(REGION, INSTANCE, "traffic-east", &spec())
            .await
            .unwrap_err();
        assert_eq!(error.class(), ErrorClass::Ambiguous);
        assert!(matches!(error.kind, CloudErrorKind::Timeout { .. }), "{error:?}");
        assert_eq!(
            error.to_string(),
            "CreateJobGroup traffic-east: no complete answer within 300ms; the request may have reached the service"
        );
        assert_eq!(server.count(), 1);

        let error = client_with_timeout(&server.url, fast_retries(2), Duration::from_millis(300))
            .describe_job_groups(&DescribeJobGroupsRequest::first_page(REGION, INSTANCE))
            .await
            .unwrap_err();
        assert_eq!(error.class(), ErrorClass::Ambiguous);
        assert_eq!(error.attempts, 2);
        assert_eq!(server.count(), 3);
    })
    .await;
}

#[tokio::test]
async fn a_success_without_job_group_id_is_ambiguous() {
    within(async {
        let server = serve(|_, _| json(200, r#"{"RequestId":"R-lost"}"#)).await;
        let error = client(&server.url, fast_retries(5))
            .create_job_group(REGION, INSTANCE, "traffic-east", &spec())
            .await
            .unwrap_err();
        assert_eq!(error.class(), ErrorClass::Ambiguous);
        assert_eq!(error.request_id(), Some("R-lost"));
        assert_eq!(server.count(), 1);
        assert!(error.to_string().contains("has no `JobGroupId`"), "{error}");
    })
    .await;
}

#[tokio::test]
async fn an_oversized_answer_is_refused_unread() {
    within(async {
        let huge = format!(r#"{{"RequestId":"R","Padding":"{}"}}"#, "x".repeat(2 * 1024 * 1024));
        let server = serve(move |_, _| json(200, huge.clone())).await;
        let error = client(&server.url, fast_retries(5))
            .create_job_group(REGION, INSTANCE, "traffic-east", &spec())
            .await
            .unwrap_err();
        assert!(
            matches!(error.kind, CloudErrorKind::ResponseTooLarge { limit: 1_048_576, .. }),
            "{error:?}"
        );
        assert_eq!(error.class(), ErrorClass::Ambiguous);
        assert_eq!(server.count(), 1);

        // Without a Content-Length the limit is enforced while reading.
        let mut chunked = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
        for _ in 0..40 {
            chunked.extend_from_slice(format!("{:x}\r\n", 65_536).as_bytes());
            chunked.extend(std::iter::repeat_n(b' ', 65_536));
            chunked.extend_from_slice(b"\r\n");
        }
        chunked.extend_from_slice(b"0\r\n\r\n");
        let (url, requests) = raw_server(vec![RawReply::Bytes(chunked)]).await;
        let error = client(&url, fast_retries(5))
            .create_job_group(REGION, INSTANCE, "traffic-east", &spec())
            .await
            .unwrap_err();
        assert!(
            matches!(error.kind, CloudErrorKind::ResponseTooLarge { .. }),
            "{error:?}"
        );
        assert_eq!(requests.load(Ordering::SeqCst), 1);
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Nothing sent

#[tokio::test]
async fn connection_refused_is_retryable() {
    within(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        let error = client(&format!("http://{address}/"), fast_retries(3))
            .create_job_group(REGION, INSTANCE, "traffic-east", &spec())
            .await
            .unwrap_err();
        assert_eq!(error.class(), ErrorClass::Retryable, "{error}");
        assert!(
            matches!(error.kind, CloudErrorKind::Connect { .. }),
            "{error:?}"
        );
        assert_eq!(error.attempts, 3);
        let text = error.to_string();
        assert!(
            text.starts_with(&format!(
                "CreateJobGroup traffic-east: cannot connect to `http://{address}`"
            )),
            "{text}"
        );
        assert!(
            !text.contains("Signature") && !text.contains("SecurityToken"),
            "{text}"
        );
    })
    .await;
}

#[tokio::test]
async fn an_html_502_page_is_retryable_with_a_readable_message() {
    within(async {
        let server = serve(|_, _| Reply {
            status: 502,
            content_type: "text/html",
            body: "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n".into(),
            delay: Duration::ZERO,
        })
        .await;
        let error = client(&server.url, fast_retries(2))
            .describe_job_groups(&DescribeJobGroupsRequest::first_page(REGION, INSTANCE))
            .await
            .unwrap_err();
        assert_eq!(error.class(), ErrorClass::Retryable);
        assert_eq!(server.count(), 2);
        assert_eq!(error.http_status(), Some(502));
        assert_eq!(
            error.to_string(),
            "DescribeJobGroups cityvisual-Instance page 1: HTTP 502 with a body that is not an Alibaba Cloud error: `502 Bad Gateway 502 Bad Gateway nginx` (gave up after 2 attempts)"
        );
    })
    .await;
}

#[tokio::test]
async fn an_echoed_security_token_never_reaches_the_error() {
    within(async {
        let server = serve(|request, _| {
            let echoed: Vec<String> = request
                .query
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            json(
                400,
                format!(
                    r#"{{"Code":"SignatureDoesNotMatch","Message":"server string to sign is:{}","RequestId":"R-sig"}}"#,
                    signer::percent_encode(&echoed.join("&"))
                ),
            )
        })
        .await;
        let error = client(&server.url, fast_retries(1))
            .start_job_group(REGION, INSTANCE, "1")
            .await
            .unwrap_err();
        let encoded_once = signer::percent_encode(TOKEN);
        let encoded_twice = signer::percent_encode(&encoded_once);
        for text in [error.to_string(), format!("{error:?}")] {
            assert!(text.contains("SignatureDoesNotMatch"), "{text}");
            for leaked in [TOKEN, encoded_once.as_str(), encoded_twice.as_str(), SECRET] {
                assert!(!text.contains(leaked), "{leaked} in {text}");
            }
        }
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Paging

fn group_json(index: usize) -> String {
    format!(
        r#"{{"JobGroupId":"{index}","JobGroupName":"group-{index}","Status":"Stopped","AlgoLibId":"3","ResourceProfileId":"6","PlanedJobCount":{index},"StreamPerJob":"1","JobGroupParams":{{"JobGroupParam":[]}}}}"#
    )
}

/// A server holding `total` groups that pages them as `DescribeJobGroups` does.
async fn paging_server(total: usize) -> TestServer {
    serve(move |request, _| {
        let page_number: usize = request.body_value("PageNumber").unwrap().parse().unwrap();
        let page_size: usize = request.body_value("PageSize").unwrap().parse().unwrap();
        let start = ((page_number - 1) * page_size).min(total);
        let end = (start + page_size).min(total);
        let groups: Vec<String> = (start..end).map(group_json).collect();
        json(
            200,
            format!(
                r#"{{"TotalCount":{total},"PageNumber":{page_number},"PageSize":{page_size},"RequestId":"R-{page_number}","JobGroups":{{"JobGroup":[{}]}}}}"#,
                groups.join(",")
            ),
        )
    })
    .await
}

#[tokio::test]
async fn the_paging_helper_fetches_ceil_n_over_page_size_pages() {
    within(async {
        for (total, pages) in [(0, 1), (1, 1), (100, 1), (101, 2), (250, 3)] {
            let server = paging_server(total).await;
            let groups = client(&server.url, fast_retries(1))
                .list_all_job_groups(REGION, INSTANCE)
                .await
                .unwrap();
            assert_eq!(groups.len(), total);
            let ids: Vec<String> = groups
                .iter()
                .map(|group| group.job_group_id.clone())
                .collect();
            let expected: Vec<String> = (0..total).map(|index| index.to_string()).collect();
            assert_eq!(ids, expected);
            let received = server.received();
            assert_eq!(received.len(), pages, "{total} groups");
            let numbers: Vec<&str> = received
                .iter()
                .map(|request| request.body_value("PageNumber").unwrap())
                .collect();
            let expected: Vec<String> = (1..=pages).map(|page| page.to_string()).collect();
            assert_eq!(numbers, expected);
            assert!(
                received
                    .iter()
                    .all(|request| request.body_value("PageSize") == Some("100"))
            );
        }
    })
    .await;
}

/// A service that ignores `PageNumber` answers the first page again: the listing can never
/// reach `TotalCount`, and is malformed rather than taken as complete.
#[tokio::test]
async fn a_listing_that_ignores_page_number_is_malformed_not_complete() {
    within(async {
        let server = serve(|_, _| {
            json(
                200,
                format!(
                    r#"{{"TotalCount":500,"PageNumber":1,"PageSize":2,"RequestId":"R","JobGroups":{{"JobGroup":[{},{}]}}}}"#,
                    group_json(0),
                    group_json(1)
                ),
            )
        })
        .await;
        let error = client(&server.url, fast_retries(1))
            .list_all_job_groups(REGION, INSTANCE)
            .await
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("`TotalCount` promises 500 job groups, but the listing ends after 2"),
            "{error}"
        );
        assert_eq!(server.count(), 2);
    })
    .await;
}

#[tokio::test]
async fn a_malformed_page_is_terminal_and_names_the_field() {
    within(async {
        let server = serve(|_, _| {
            json(
                200,
                r#"{"TotalCount":1,"RequestId":"R-bad","JobGroups":{"JobGroup":[{"JobGroupName":"x"}]}}"#,
            )
        })
        .await;
        let error = client(&server.url, fast_retries(3))
            .list_all_job_groups(REGION, INSTANCE)
            .await
            .unwrap_err();
        assert_eq!(error.class(), ErrorClass::Terminal);
        assert_eq!(server.count(), 1);
        assert_eq!(
            error.to_string(),
            "DescribeJobGroups cityvisual-Instance page 1: HTTP 200 answer cannot be understood: `JobGroups.JobGroup[0]`: `JobGroupId` is missing [RequestId R-bad]"
        );
    })
    .await;
}

#[test]
fn retry_delays_can_come_from_the_environment_map() {
    let environment: BTreeMap<String, String> = [(
        cityform::cloud::retry::RETRY_BASE_MS_VARIABLE.to_owned(),
        "0".to_owned(),
    )]
    .into();
    let policy = RetryPolicy::default()
        .with_environment(&environment)
        .unwrap();
    assert_eq!(policy.delay(5, 0.99), Duration::ZERO);
}

// ---------------------------------------------------------------------------------------------
// Logs

#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn log_lines_at_every_level_carry_no_secret() {
    let buffer = LogBuffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // tracing caches each callsite's interest when the callsite is first hit. While one
    // dispatcher is registered, a callsite first hit on another test's thread is judged by
    // that thread's default (none) alone and cached as "never" for every thread; with two
    // registered, every registered dispatcher is asked. So keep a second one alive.
    let _second_dispatcher = tracing::Dispatch::new(tracing_subscriber::registry());
    // A current-thread test runtime: the guard covers the client and the server alike.
    let _guard = tracing::subscriber::set_default(subscriber);
    within(async {
        let server = serve(|request, number| {
            if number < 2 {
                let echoed: Vec<String> = request
                    .query
                    .iter()
                    .map(|(name, value)| format!("{name}={value}"))
                    .collect();
                json(
                    400,
                    format!(
                        r#"{{"Code":"Throttling","Message":"slow down; you sent {}","RequestId":"R-{number}"}}"#,
                        signer::percent_encode(&echoed.join("&"))
                    ),
                )
            } else {
                json(200, r#"{"JobGroupId":"8","RequestId":"R-ok"}"#)
            }
        })
        .await;
        client(&server.url, fast_retries(5))
            .create_job_group(REGION, INSTANCE, "traffic-east", &spec())
            .await
            .unwrap();
    })
    .await;
    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("retrying"), "{logs}");
    let encoded_once = signer::percent_encode(TOKEN);
    let encoded_twice = signer::percent_encode(&encoded_once);
    for leaked in [TOKEN, encoded_once.as_str(), encoded_twice.as_str(), SECRET] {
        assert!(!logs.contains(leaked), "{leaked} in {logs}");
    }
}
