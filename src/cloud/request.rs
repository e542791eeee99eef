//! One RPC request as the official SDK sends it: `POST /`, common parameters and `Signature`
//! in the query string, action parameters in an `application/x-www-form-urlencoded` body, all
//! of them signed together (signature version 1.0, HMAC-SHA1).
//!
//! Building is pure: the nonce and the timestamp are arguments, so tests can check the exact
//! query and body. The client calls [`sign_request`] once per attempt with a fresh nonce and
//! the current time, because the service refuses a reused nonce and a stale timestamp.

use time::OffsetDateTime;
use time::macros::format_description;

use super::credentials::Credentials;
use super::signer;

/// The CityVisual API version every request names.
pub const API_VERSION: &str = "2018-10-30";
/// The HTTP method the SDK uses for every action.
pub const METHOD: &str = "POST";
/// The body's content type.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// An action with its parameters, before common parameters and signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcRequest {
    /// `Action`, e.g. `CreateJobGroup`.
    pub action: &'static str,
    /// `RegionId`, sent with the common parameters.
    pub region_id: String,
    /// The action's own parameters, in the order they are written to the body.
    pub parameters: Vec<(String, String)>,
}

/// A request ready to send: the query string's pairs (the signature last) and the form body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    /// Common parameters, then `Signature`.
    pub query: Vec<(String, String)>,
    /// The action parameters, form-encoded with RFC 3986 percent-encoding.
    pub body: String,
}

impl SignedRequest {
    /// The query string, RFC 3986 percent-encoded, without the leading `?`.
    pub fn query_string(&self) -> String {
        encode_pairs(&self.query)
    }
}

/// Adds the common parameters to `request` and signs query and body parameters together.
///
/// `nonce` must be new for every attempt; `timestamp` is UTC as [`format_timestamp`] writes it.
pub fn sign_request(
    request: &RpcRequest,
    credentials: &Credentials,
    nonce: &str,
    timestamp: &str,
) -> SignedRequest {
    sign_versioned_request(request, API_VERSION, credentials, nonce, timestamp)
}

/// [`sign_request`] for another API `version` of the same RPC style (STS is `2015-04-01`).
pub fn sign_versioned_request(
    request: &RpcRequest,
    version: &str,
    credentials: &Credentials,
    nonce: &str,
    timestamp: &str,
) -> SignedRequest {
    let mut query: Vec<(String, String)> = vec![
        ("Action".into(), request.action.into()),
        ("Version".into(), version.into()),
        ("Format".into(), "JSON".into()),
        ("AccessKeyId".into(), credentials.access_key_id.clone()),
        ("SignatureMethod".into(), "HMAC-SHA1".into()),
        ("SignatureVersion".into(), "1.0".into()),
        ("SignatureNonce".into(), nonce.into()),
        ("Timestamp".into(), timestamp.into()),
        ("RegionId".into(), request.region_id.clone()),
    ];
    if let Some(token) = &credentials.security_token {
        query.push(("SecurityToken".into(), token.expose().to_owned()));
    }
    let signed_pairs = query
        .iter()
        .chain(&request.parameters)
        .map(|(name, value)| (name.as_str(), value.as_str()));
    let string_to_sign = signer::string_to_sign(METHOD, signed_pairs);
    let signature = signer::sign(credentials.access_key_secret.expose(), &string_to_sign);
    query.push(("Signature".into(), signature));
    SignedRequest {
        query,
        body: encode_pairs(&request.parameters),
    }
}

/// A request sent without any key, as STS `AssumeRoleWithOIDC` is: the common parameters
/// but `AccessKeyId` and everything about a signature.
pub fn unsigned_request(
    request: &RpcRequest,
    version: &str,
    nonce: &str,
    timestamp: &str,
) -> SignedRequest {
    let query: Vec<(String, String)> = vec![
        ("Action".into(), request.action.into()),
        ("Version".into(), version.into()),
        ("Format".into(), "JSON".into()),
        ("SignatureNonce".into(), nonce.into()),
        ("Timestamp".into(), timestamp.into()),
        ("RegionId".into(), request.region_id.clone()),
    ];
    SignedRequest {
        query,
        body: encode_pairs(&request.parameters),
    }
}

/// `name=value&...`, each name and value percent-encoded per RFC 3986 (space as `%20`).
pub fn encode_pairs(pairs: &[(String, String)]) -> String {
    let mut encoded = String::new();
    for (index, (name, value)) in pairs.iter().enumerate() {
        if index > 0 {
            encoded.push('&');
        }
        encoded.push_str(&signer::percent_encode(name));
        encoded.push('=');
        encoded.push_str(&signer::percent_encode(value));
    }
    encoded
}

/// `YYYY-MM-DDThh:mm:ssZ` in UTC, the `Timestamp` format.
pub fn format_timestamp(moment: OffsetDateTime) -> String {
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    let utc = moment.to_offset(time::UtcOffset::UTC);
    // Formatting a complete UTC date-time with this description cannot fail; the fallback is
    // the same text written by hand.
    utc.format(&format).unwrap_or_else(|_| {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            utc.year(),
            u8::from(utc.month()),
            utc.day(),
            utc.hour(),
            utc.minute(),
            utc.second()
        )
    })
}

/// A fresh `SignatureNonce`: a random UUID (version 4).
pub fn fresh_nonce() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn request() -> RpcRequest {
        RpcRequest {
            action: "CreateJobGroup",
            region_id: "cn-shanghai".into(),
            parameters: vec![
                ("InstanceId".into(), "cityvisual-Instance".into()),
                ("JobGroupName".into(), "交通 east*".into()),
                ("AlgoLibId".into(), "3".into()),
            ],
        }
    }

    fn pairs_of(query: &[(String, String)], body: &str) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = query
            .iter()
            .filter(|(name, _)| name != "Signature")
            .cloned()
            .collect();
        pairs.extend(
            form_urlencoded::parse(body.as_bytes())
                .map(|(name, value)| (name.into_owned(), value.into_owned())),
        );
        pairs
    }

    #[test]
    fn builds_the_exact_query_and_body() {
        let credentials = Credentials::new("testid", "testsecret");
        let signed = sign_request(
            &request(),
            &credentials,
            "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
            "2026-01-02T03:04:05Z",
        );
        assert_eq!(
            signed.body,
            "InstanceId=cityvisual-Instance&JobGroupName=%E4%BA%A4%E9%80%9A%20east%2A&AlgoLibId=3"
        );
        let query = signed.query_string();
        let (unsigned, signature) = query.rsplit_once("&Signature=").unwrap();
        assert_eq!(
            unsigned,
            "Action=CreateJobGroup&Version=2018-10-30&Format=JSON&AccessKeyId=testid\
             &SignatureMethod=HMAC-SHA1&SignatureVersion=1.0\
             &SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf\
             &Timestamp=2026-01-02T03%3A04%3A05Z&RegionId=cn-shanghai"
        );
        assert!(!signature.is_empty() && !signature.contains(['+', '/', '=']));
    }

    #[test]
    fn the_signature_covers_query_and_body_together() {
        let credentials = Credentials::new("testid", "testsecret");
        let signed = sign_request(&request(), &credentials, "n-1", "2026-01-02T03:04:05Z");
        let signature = &signed.query.last().unwrap().1;
        let pairs = pairs_of(&signed.query, &signed.body);
        let to_sign = signer::string_to_sign(
            METHOD,
            pairs
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str())),
        );
        assert!(signer::verify("testsecret", &to_sign, signature));
        assert!(!signer::verify("othersecret", &to_sign, signature));

        let query_only = signer::string_to_sign(
            METHOD,
            signed
                .query
                .iter()
                .filter(|(name, _)| name != "Signature")
                .map(|(name, value)| (name.as_str(), value.as_str())),
        );
        assert!(!signer::verify("testsecret", &query_only, signature));
    }

    #[test]
    fn a_security_token_is_sent_and_signed() {
        let credentials = Credentials::new("STS.id", "secret").with_security_token("tok+en");
        let signed = sign_request(&request(), &credentials, "n-2", "2026-01-02T03:04:05Z");
        assert!(signed.query_string().contains("&SecurityToken=tok%2Ben&"));
        let pairs = pairs_of(&signed.query, &signed.body);
        let to_sign = signer::string_to_sign(
            METHOD,
            pairs
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str())),
        );
        assert!(signer::verify(
            "secret",
            &to_sign,
            &signed.query.last().unwrap().1
        ));
    }

    #[test]
    fn nonces_and_signatures_differ_per_attempt() {
        let credentials = Credentials::new("testid", "testsecret");
        let first = fresh_nonce();
        let second = fresh_nonce();
        assert_ne!(first, second);
        assert_eq!(uuid::Uuid::parse_str(&first).unwrap().get_version_num(), 4);
        let one = sign_request(&request(), &credentials, &first, "2026-01-02T03:04:05Z");
        let two = sign_request(&request(), &credentials, &second, "2026-01-02T03:04:05Z");
        assert_ne!(one.query.last(), two.query.last());
    }

    #[test]
    fn timestamps_are_utc_with_a_z() {
        let moment = time::macros::datetime!(2026-11-27 23:59:07 +08:00);
        assert_eq!(format_timestamp(moment), "2026-11-27T15:59:07Z");
    }
}
