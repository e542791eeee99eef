//! What an emulator is started with: address, credentials, seed data, faults, limits, and how
//! it answers (dialect, transitions).
//! Plain data, no clap: the command line turns its flags into an [`EmulatorConfig`].

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use super::dialect::Dialect;
use super::seed::Seed;

/// The development access key id used when no credentials are given. It is public.
pub const DEV_ACCESS_KEY_ID: &str = "cityform-dev";
/// The development access key secret used when no credentials are given. It is public.
pub const DEV_ACCESS_KEY_SECRET: &str = "cityform-dev-secret";
/// The region a request without `RegionId` is served in.
pub const DEFAULT_REGION_ID: &str = "cn-shanghai";

/// The one access key pair the emulator accepts. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `AccessKeyId`.
    pub access_key_id: String,
    access_key_secret: String,
}

impl Credentials {
    /// A key pair.
    pub fn new(access_key_id: impl Into<String>, access_key_secret: impl Into<String>) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            access_key_secret: access_key_secret.into(),
        }
    }

    /// The public development pair, `cityform-dev` / `cityform-dev-secret`.
    pub fn development() -> Self {
        Self::new(DEV_ACCESS_KEY_ID, DEV_ACCESS_KEY_SECRET)
    }

    /// Whether this is the public development pair (whose secret may be printed).
    pub fn is_development(&self) -> bool {
        *self == Self::development()
    }

    /// The secret, for verifying signatures.
    pub fn access_key_secret(&self) -> &str {
        &self.access_key_secret
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"<redacted>")
            .finish()
    }
}

/// Faults to inject, all off by default. Random faults draw from a generator seeded with
/// `seed`, so the same requests in the same order meet the same faults.
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// Added before every API answer.
    pub latency: Duration,
    /// Probability (0–1) that a request is answered 400 `Throttling.User`.
    pub throttle_rate: f64,
    /// Probability (0–1) that a request is answered 503 `ServiceUnavailable`.
    pub error_rate: f64,
    /// The Nth successful `CreateJobGroup` (from 1) creates its group and then closes the
    /// connection without answering. Happens once.
    pub drop_after_commit: Option<u64>,
    /// Seed of the fault generator.
    pub seed: u64,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            latency: Duration::ZERO,
            throttle_rate: 0.0,
            error_rate: 0.0,
            drop_after_commit: None,
            seed: 1,
        }
    }
}

/// Everything [`super::start`] needs.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Where to listen; the default `127.0.0.1:0` takes a free port.
    pub listen: SocketAddr,
    /// The accepted key pair.
    pub credentials: Credentials,
    /// Instances, libraries, profiles and groups beyond the built-in ones.
    pub seed: Seed,
    /// Faults to inject.
    pub faults: Faults,
    /// The account's flow limit: at most this many requests a second (a token bucket
    /// holding as many), beyond which requests are answered 400 `Throttling.User`.
    /// `None`: no limit.
    pub qps: Option<u32>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// How far a request's `Timestamp` may be from the emulator's clock.
    pub timestamp_window: Duration,
    /// Most nonces remembered at once.
    pub nonce_capacity: usize,
    /// Print one line per request to stderr.
    pub log_requests: bool,
    /// How `DescribeJobGroups` answers.
    pub dialect: Dialect,
    /// How long a group shows `starting` or `stopping` after a status change; zero for none.
    pub transition: Duration,
    /// A test's hook into paging (in-process only; no flag).
    pub between_pages: Option<BetweenPages>,
    /// How long the credentials STS issues last.
    pub sts_duration: Duration,
    /// The one OIDC token `AssumeRoleWithOIDC` accepts; any non-empty one when `None`.
    pub oidc_token: Option<crate::cloud::Secret>,
    /// Also serve the ECS instance metadata paths (the instance RAM role's credentials).
    pub metadata: bool,
}

/// A test's hook into a listing: called after each `DescribeJobGroups` page without a
/// `JobGroupId` filter is answered, with its page number; the ids it returns are deleted at
/// once, as another client deleting groups between two pages would.
#[derive(Clone)]
pub struct BetweenPages(pub Arc<dyn Fn(u32) -> Vec<u64> + Send + Sync>);

impl BetweenPages {
    /// The ids to delete after page `page_number` was answered.
    pub fn deletes_after(&self, page_number: u32) -> Vec<u64> {
        (self.0)(page_number)
    }
}

impl fmt::Debug for BetweenPages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BetweenPages(..)")
    }
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            credentials: Credentials::development(),
            seed: Seed::default(),
            faults: Faults::default(),
            qps: None,
            max_body_bytes: 1024 * 1024,
            timestamp_window: Duration::from_secs(15 * 60),
            nonce_capacity: 1_000_000,
            log_requests: false,
            dialect: Dialect::Sdk,
            transition: Duration::ZERO,
            between_pages: None,
            sts_duration: Duration::from_secs(3600),
            oidc_token: None,
            metadata: false,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let credentials = Credentials::new("id", "very-secret-value");
        let shown = format!("{credentials:?}");
        assert!(shown.contains("id"));
        assert!(!shown.contains("very-secret-value"));
        let config = EmulatorConfig {
            credentials,
            ..EmulatorConfig::default()
        };
        assert!(!format!("{config:?}").contains("very-secret-value"));
    }

    #[test]
    fn only_the_development_pair_counts_as_development() {
        assert!(Credentials::development().is_development());
        assert!(!Credentials::new(DEV_ACCESS_KEY_ID, "other").is_development());
    }
}
