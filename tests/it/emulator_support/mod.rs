//! Shared by the `emulator_*` integration tests: raw signed requests built with
//! `cityform::cloud::signer` and sent with reqwest, independent of the cloud client.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use cityform::cloud::signer;
use cityform::emulator::{
    DEV_ACCESS_KEY_ID, DEV_ACCESS_KEY_SECRET, EmulatorConfig, EmulatorHandle,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Starts an in-process emulator with the default configuration.
pub async fn emulator() -> EmulatorHandle {
    emulator_with(EmulatorConfig::default()).await
}

/// Starts an in-process emulator.
pub async fn emulator_with(config: EmulatorConfig) -> EmulatorHandle {
    cityform::emulator::start(config).await.unwrap()
}

/// A reqwest client with the ring TLS provider installed (reqwest is built without one).
/// Building one loads the system's root certificates, which is slow, so each test thread
/// (each `#[tokio::test]` runtime) keeps one.
pub fn http() -> reqwest::Client {
    thread_local! {
        static CLIENT: reqwest::Client = {
            let _already_installed = rustls::crypto::ring::default_provider().install_default();
            reqwest::Client::builder().build().unwrap()
        };
    }
    CLIENT.with(Clone::clone)
}

/// Where the parameters travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// As the generated SDK does: common parameters in the query, action parameters in a
    /// form body (POST only).
    Split,
    /// Everything in the query string.
    Query,
    /// Everything in the form body (POST only).
    Body,
}

/// Parameter pairs in sending order.
pub type Pairs = Vec<(String, String)>;

/// One signed API call.
#[derive(Debug, Clone)]
pub struct Call {
    pub action: String,
    pub params: Vec<(String, String)>,
    pub method: reqwest::Method,
    pub placement: Placement,
    pub format: Option<String>,
    pub access_key_id: String,
    pub secret: String,
    pub timestamp: String,
    pub nonce: String,
    pub omitted: Vec<String>,
}

fn now_text() -> String {
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    now.format(&Rfc3339).unwrap()
}

impl Call {
    /// A POST of `action` as the generated SDK sends it, answered in JSON, signed with the
    /// development pair, a fresh nonce and the current time.
    pub fn new(action: &str) -> Self {
        Self {
            action: action.to_owned(),
            params: Vec::new(),
            method: reqwest::Method::POST,
            placement: Placement::Split,
            format: Some("json".to_owned()),
            access_key_id: DEV_ACCESS_KEY_ID.to_owned(),
            secret: DEV_ACCESS_KEY_SECRET.to_owned(),
            timestamp: now_text(),
            nonce: uuid::Uuid::new_v4().to_string(),
            omitted: Vec::new(),
        }
    }

    /// A valid CreateJobGroup for `name` in the built-in instance.
    pub fn create(name: &str) -> Self {
        Self::new("CreateJobGroup")
            .param("InstanceId", "cityvisual-Instance")
            .param("JobGroupName", name)
            .param("AlgoLibId", "3")
            .param("ResourceProfileId", "6")
            .param("PlanedJobCount", "10")
            .param("StreamPerJob", "5")
    }

    /// DescribeJobGroups of the built-in instance.
    pub fn describe() -> Self {
        Self::new("DescribeJobGroups").param("InstanceId", "cityvisual-Instance")
    }

    /// `action` on group `id` of the built-in instance.
    pub fn on_group(action: &str, id: &str) -> Self {
        Self::new(action)
            .param("InstanceId", "cityvisual-Instance")
            .param("JobGroupId", id)
    }

    /// Adds (or replaces) an action parameter.
    pub fn param(mut self, name: &str, value: &str) -> Self {
        self.params.retain(|(existing, _)| existing != name);
        self.params.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Removes an action parameter.
    pub fn without_param(mut self, name: &str) -> Self {
        self.params.retain(|(existing, _)| existing != name);
        self
    }

    /// Leaves out a common parameter (such as `Timestamp`).
    pub fn omit(mut self, name: &str) -> Self {
        self.omitted.push(name.to_owned());
        self
    }

    /// Sends everything in the query string with GET.
    pub fn get(mut self) -> Self {
        self.method = reqwest::Method::GET;
        self.placement = Placement::Query;
        self
    }

    /// POST with the given placement.
    pub fn post(mut self, placement: Placement) -> Self {
        self.method = reqwest::Method::POST;
        self.placement = placement;
        self
    }

    /// Sets `Format` (`None` leaves it out).
    pub fn format(mut self, format: Option<&str>) -> Self {
        self.format = format.map(str::to_owned);
        self
    }

    /// Signs with another secret.
    pub fn secret(mut self, secret: &str) -> Self {
        self.secret = secret.to_owned();
        self
    }

    /// Uses another AccessKeyId.
    pub fn access_key_id(mut self, id: &str) -> Self {
        self.access_key_id = id.to_owned();
        self
    }

    /// Uses another timestamp.
    pub fn timestamp(mut self, timestamp: OffsetDateTime) -> Self {
        self.timestamp = timestamp
            .replace_nanosecond(0)
            .unwrap()
            .format(&Rfc3339)
            .unwrap();
        self
    }

    /// Uses a given nonce.
    pub fn nonce(mut self, nonce: &str) -> Self {
        self.nonce = nonce.to_owned();
        self
    }

    /// The common parameters, before signing.
    pub fn common(&self) -> Vec<(String, String)> {
        let mut common = vec![
            ("Action".to_owned(), self.action.clone()),
            ("Version".to_owned(), "2018-10-30".to_owned()),
            ("AccessKeyId".to_owned(), self.access_key_id.clone()),
            ("SignatureMethod".to_owned(), "HMAC-SHA1".to_owned()),
            ("SignatureVersion".to_owned(), "1.0".to_owned()),
            ("SignatureNonce".to_owned(), self.nonce.clone()),
            ("Timestamp".to_owned(), self.timestamp.clone()),
        ];
        if let Some(format) = &self.format {
            common.push(("Format".to_owned(), format.clone()));
        }
        common.retain(|(name, _)| !self.omitted.contains(name));
        common
    }

    /// The string to sign over every parameter.
    pub fn string_to_sign(&self) -> String {
        let all: Vec<(String, String)> = self
            .common()
            .into_iter()
            .chain(self.params.clone())
            .collect();
        signer::string_to_sign(
            self.method.as_str(),
            all.iter()
                .map(|(name, value)| (name.as_str(), value.as_str())),
        )
    }

    /// The query string and the form body this call sends.
    pub fn encoded(&self) -> (String, String) {
        let mut common = self.common();
        if !self.omitted.iter().any(|name| name == "Signature") {
            let signature = signer::sign(&self.secret, &self.string_to_sign());
            common.push(("Signature".to_owned(), signature));
        }
        let (query, body): (Pairs, Pairs) = match self.placement {
            Placement::Split => (common, self.params.clone()),
            Placement::Query => (
                common.into_iter().chain(self.params.clone()).collect(),
                Vec::new(),
            ),
            Placement::Body => (
                Vec::new(),
                common.into_iter().chain(self.params.clone()).collect(),
            ),
        };
        (encode(&query), encode(&body))
    }

    /// Sends the call.
    pub async fn send(&self, emulator: &EmulatorHandle) -> Answer {
        let (query, body) = self.encoded();
        send_raw(emulator, self.method.clone(), &query, body).await
    }
}

/// `name=value&…` with RFC 3986 encoding.
pub fn encode(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| {
            format!(
                "{}={}",
                signer::percent_encode(name),
                signer::percent_encode(value)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Sends a request with the given query and form body as they are.
pub async fn send_raw(
    emulator: &EmulatorHandle,
    method: reqwest::Method,
    query: &str,
    body: impl Into<reqwest::Body>,
) -> Answer {
    let url = format!("{}?{query}", emulator.endpoint());
    let response = http()
        .request(method, url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = response.text().await.unwrap();
    Answer {
        status,
        content_type,
        text,
    }
}

/// What came back.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub text: String,
}

impl Answer {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.text))
    }

    /// `(status, Code)` of an error answer in JSON.
    pub fn error(&self) -> (u16, String) {
        let code = self.json()["Code"]
            .as_str()
            .unwrap_or_else(|| panic!("no Code: {}", self.text))
            .to_owned();
        (self.status, code)
    }

    /// Asserts a 200 and returns the JSON body.
    pub fn ok(&self) -> serde_json::Value {
        assert_eq!(self.status, 200, "{}", self.text);
        self.json()
    }
}

/// Creates `name` and returns its JobGroupId.
pub async fn create(emulator: &EmulatorHandle, name: &str) -> String {
    let answer = Call::create(name).send(emulator).await.ok();
    answer["JobGroupId"].as_str().unwrap().to_owned()
}

/// Writes `request` on a fresh TCP connection and reads until the server closes it. Write
/// errors are ignored: a server may answer and close before the whole request is sent.
pub async fn raw_exchange(emulator: &EmulatorHandle, request: &[u8]) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(emulator.address())
        .await
        .unwrap();
    let (mut reader, mut writer) = stream.split();
    let write = async {
        let _ = writer.write_all(request).await;
    };
    let read = async {
        let mut received = Vec::new();
        let _ = reader.read_to_end(&mut received).await;
        received
    };
    let ((), received) = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        tokio::join!(write, read)
    })
    .await
    .expect("the server neither answered nor closed within 10 s");
    received
}
