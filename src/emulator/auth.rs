//! Authentication of a request the way Alibaba Cloud's RPC gateway does it: the common
//! parameters, the access key, the signature (through [`crate::cloud::signer`], over every
//! parameter but `Signature`), the timestamp window and single-use nonces.

use std::collections::{BTreeSet, HashSet};

use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::api_error::ApiError;
use super::config::Credentials;
use super::parameters::Parameters;
use crate::cloud::signer;

/// The API version every action belongs to.
pub(crate) const API_VERSION: &str = "2018-10-30";

/// Common parameters every request must carry (`Format`, `RegionId` and `SecurityToken` are
/// optional). Checked in this order, so the first missing one is named.
const REQUIRED_COMMON: [&str; 8] = [
    "Action",
    "Version",
    "AccessKeyId",
    "SignatureMethod",
    "SignatureVersion",
    "SignatureNonce",
    "Timestamp",
    "Signature",
];

/// Refuses a request that lacks a common parameter (400 `MissingParameter`) or names another
/// API version.
pub(crate) fn check_common_parameters(parameters: &Parameters) -> Result<(), ApiError> {
    check_required_common(parameters)?;
    let version = parameters.get("Version").unwrap_or_default();
    if version != API_VERSION {
        return Err(ApiError::invalid_version(version));
    }
    Ok(())
}

/// Refuses a request that lacks a common parameter (400 `MissingParameter`), whatever its
/// API version.
pub(crate) fn check_required_common(parameters: &Parameters) -> Result<(), ApiError> {
    for name in REQUIRED_COMMON {
        if parameters.optional(name).is_none() {
            return Err(ApiError::missing_common_parameter(name));
        }
    }
    Ok(())
}

/// Checks access key, signature method, signature, timestamp and nonce, in that order. A
/// nonce is remembered only once the request has proven it holds the secret.
/// `SecurityToken` is accepted whatever it is.
pub(crate) fn authenticate(
    parameters: &Parameters,
    method: &str,
    credentials: &Credentials,
    nonces: &mut NonceCache,
    now: OffsetDateTime,
) -> Result<(), ApiError> {
    let value = |name: &str| parameters.get(name).unwrap_or_default();
    if value("AccessKeyId") != credentials.access_key_id {
        return Err(ApiError::unknown_access_key_id());
    }
    if value("SignatureMethod") != "HMAC-SHA1" {
        return Err(ApiError::invalid_parameter(format!(
            "The SignatureMethod \"{}\" is not supported: use HMAC-SHA1.",
            value("SignatureMethod")
        )));
    }
    if value("SignatureVersion") != "1.0" {
        return Err(ApiError::invalid_parameter(format!(
            "The SignatureVersion \"{}\" is not supported: use 1.0.",
            value("SignatureVersion")
        )));
    }
    let string_to_sign = signer::string_to_sign(method, parameters.pairs());
    if !signer::verify(
        credentials.access_key_secret(),
        &string_to_sign,
        value("Signature"),
    ) {
        return Err(ApiError::signature_mismatch(&string_to_sign));
    }
    let timestamp_text = value("Timestamp");
    let timestamp = OffsetDateTime::parse(timestamp_text, &Rfc3339)
        .map_err(|_| ApiError::timestamp_format(timestamp_text))?;
    if (timestamp - now).abs() > nonces.window {
        let server_time = now.format(&Rfc3339).unwrap_or_default();
        return Err(ApiError::timestamp_expired(timestamp_text, &server_time));
    }
    let nonce = value("SignatureNonce");
    if !nonces.remember(nonce, timestamp, now) {
        return Err(ApiError::nonce_used(nonce));
    }
    Ok(())
}

/// The nonces seen while their requests could still be replayed.
///
/// A request is accepted only while its timestamp is within `window` of the clock, so its
/// nonce need be kept only until `timestamp + window`; that bounds memory by the request rate.
/// A hard `capacity` bounds it absolutely: past it the nonce closest to expiry is forgotten.
#[derive(Debug)]
pub(crate) struct NonceCache {
    window: Duration,
    capacity: usize,
    seen: HashSet<String>,
    by_expiry: BTreeSet<(OffsetDateTime, String)>,
}

impl NonceCache {
    /// An empty cache for requests accepted within `window`.
    pub fn new(window: Duration, capacity: usize) -> Self {
        Self {
            window,
            capacity: capacity.max(1),
            seen: HashSet::new(),
            by_expiry: BTreeSet::new(),
        }
    }

    /// Records `nonce`; false when it is already known.
    pub fn remember(
        &mut self,
        nonce: &str,
        timestamp: OffsetDateTime,
        now: OffsetDateTime,
    ) -> bool {
        while let Some((expiry, _)) = self.by_expiry.first()
            && *expiry < now
        {
            self.forget_first();
        }
        if self.seen.contains(nonce) {
            return false;
        }
        while self.seen.len() >= self.capacity {
            self.forget_first();
        }
        self.seen.insert(nonce.to_owned());
        self.by_expiry
            .insert((timestamp + self.window, nonce.to_owned()));
        true
    }

    /// How many nonces are held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    fn forget_first(&mut self) {
        if let Some((_, nonce)) = self.by_expiry.pop_first() {
            self.seen.remove(&nonce);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        time::macros::datetime!(2026-11-27 10:00:00 UTC)
    }

    fn credentials() -> Credentials {
        Credentials::new("key", "secret")
    }

    fn signed(secret: &str, timestamp: &str, nonce: &str) -> Parameters {
        let mut parameters = Parameters::default();
        let query = format!(
            "Action=DescribeJobGroups&Version=2018-10-30&AccessKeyId=key&SignatureMethod=HMAC-SHA1\
             &SignatureVersion=1.0&SignatureNonce={nonce}&Timestamp={timestamp}&Format=JSON"
        );
        parameters.append_encoded(&query).unwrap();
        let signature = signer::sign(secret, &signer::string_to_sign("POST", parameters.pairs()));
        parameters
            .append_encoded(&format!("Signature={}", signer::percent_encode(&signature)))
            .unwrap();
        parameters
    }

    fn check(parameters: &Parameters, nonces: &mut NonceCache) -> Result<(), &'static str> {
        check_common_parameters(parameters).map_err(|error| error.code)?;
        authenticate(parameters, "POST", &credentials(), nonces, now()).map_err(|error| error.code)
    }

    fn cache() -> NonceCache {
        NonceCache::new(Duration::minutes(15), 1000)
    }

    #[test]
    fn accepts_a_good_request_once() {
        let mut nonces = cache();
        let request = signed("secret", "2026-11-27T10:14:00Z", "n-1");
        assert_eq!(check(&request, &mut nonces), Ok(()));
        assert_eq!(check(&request, &mut nonces), Err("SignatureNonceUsed"));
    }

    #[test]
    fn refuses_wrong_secret_with_the_server_string_to_sign() {
        let request = signed("other", "2026-11-27T10:00:00Z", "n-1");
        let error =
            authenticate(&request, "POST", &credentials(), &mut cache(), now()).unwrap_err();
        assert_eq!(error.code, "SignatureDoesNotMatch");
        let expected = signer::string_to_sign("POST", request.pairs());
        assert_eq!(error.message.split_once(':').unwrap().1, expected);
        // The method is part of what is signed.
        let good = signed("secret", "2026-11-27T10:00:00Z", "n-2");
        let error = authenticate(&good, "GET", &credentials(), &mut cache(), now()).unwrap_err();
        assert_eq!(error.code, "SignatureDoesNotMatch");
    }

    #[test]
    fn refuses_timestamps_outside_fifteen_minutes() {
        let mut nonces = cache();
        for (timestamp, verdict) in [
            ("2026-11-27T09:44:59Z", Err("InvalidTimeStamp.Expired")),
            ("2026-11-27T10:15:01Z", Err("InvalidTimeStamp.Expired")),
            ("2026-11-27T09:45:00Z", Ok(())),
            ("yesterday", Err("InvalidTimeStamp.Format")),
        ] {
            let request = signed("secret", timestamp, timestamp);
            assert_eq!(check(&request, &mut nonces), verdict, "{timestamp}");
        }
    }

    #[test]
    fn names_the_first_missing_common_parameter() {
        let mut parameters = Parameters::default();
        parameters
            .append_encoded("Action=CreateJobGroup&Version=2018-10-30&AccessKeyId=key")
            .unwrap();
        let error = check_common_parameters(&parameters).unwrap_err();
        assert_eq!(
            (error.status.as_u16(), error.code),
            (400, "MissingParameter")
        );
        assert!(error.message.contains("SignatureMethod"));
    }

    #[test]
    fn unknown_key_and_version_are_refused() {
        let mut parameters = Parameters::default();
        parameters
            .append_encoded(
                "Action=A&Version=2018-10-30&AccessKeyId=nobody&SignatureMethod=HMAC-SHA1\
                 &SignatureVersion=1.0&SignatureNonce=n&Timestamp=t&Signature=s",
            )
            .unwrap();
        let error =
            authenticate(&parameters, "GET", &credentials(), &mut cache(), now()).unwrap_err();
        assert_eq!(error.code, "InvalidAccessKeyId.NotFound");
        let mut old = Parameters::default();
        old.append_encoded(
            "Action=A&Version=2017-01-01&AccessKeyId=key&SignatureMethod=HMAC-SHA1\
             &SignatureVersion=1.0&SignatureNonce=n&Timestamp=t&Signature=s",
        )
        .unwrap();
        assert_eq!(
            check_common_parameters(&old).unwrap_err().code,
            "InvalidVersion"
        );
    }

    #[test]
    fn nonces_expire_with_their_window_and_memory_is_capped() {
        let mut nonces = NonceCache::new(Duration::minutes(15), 3);
        let at = now();
        assert!(nonces.remember("a", at, at));
        assert!(!nonces.remember("a", at, at + Duration::minutes(14)));
        // Once the request itself would be expired, its nonce can go.
        assert!(nonces.remember("b", at, at + Duration::minutes(16)));
        assert_eq!(nonces.len(), 1);
        for nonce in ["c", "d", "e", "f"] {
            assert!(nonces.remember(
                nonce,
                at + Duration::minutes(16),
                at + Duration::minutes(16)
            ));
        }
        assert_eq!(nonces.len(), 3);
    }
}
