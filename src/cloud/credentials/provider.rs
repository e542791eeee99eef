//! [`CredentialsProvider`]: the credentials of one source, obtained when first needed and
//! renewed ahead of their expiry while calls go on.
//!
//! Every attempt of the client asks [`CredentialsProvider::current`]. Credentials far from
//! their expiry are handed out as they are. Once they are due for renewal but still valid,
//! exactly one caller renews them while the others go on with the valid ones; only when they
//! have expired does everyone wait for the renewal. A service that still finds the token
//! expired makes the client call [`CredentialsProvider::expire`] and try once more.

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::{Mutex, RwLock};

use super::sts::{self, StsEndpoint};
use super::{CredentialError, CredentialSource, Credentials, ecs, process, uri};
use crate::cloud::redact::Redactor;

/// The longest time ahead of expiry that credentials are renewed.
const LONGEST_MARGIN: Duration = Duration::from_secs(180);

/// Credentials as a source handed them out, with their expiry.
pub struct Issued {
    /// The key, token included.
    pub credentials: Credentials,
    /// When they stop working; `None` for a long-term key.
    pub expiration: Option<OffsetDateTime>,
    obtained_at: OffsetDateTime,
    redactor: Redactor,
}

impl fmt::Debug for Issued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issued")
            .field("credentials", &self.credentials)
            .field("expiration", &self.expiration)
            .finish_non_exhaustive()
    }
}

impl Issued {
    /// Credentials obtained now.
    pub fn new(credentials: Credentials, expiration: Option<OffsetDateTime>) -> Self {
        Self {
            redactor: Redactor::new(&credentials),
            credentials,
            expiration,
            obtained_at: OffsetDateTime::now_utc(),
        }
    }

    /// Scrubs these credentials' secret and token from text read from the network.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// When to renew them: a quarter of their lifetime ahead of expiry, at most three
    /// minutes, so that 4-second and 12-hour credentials are both renewed in time.
    fn renew_at(&self) -> Option<OffsetDateTime> {
        let expiration = self.expiration?;
        let lifetime = (expiration - self.obtained_at).max(time::Duration::ZERO);
        let longest: time::Duration = time::Duration::try_from(LONGEST_MARGIN).ok()?;
        let margin = (lifetime / 4_i32).min(longest);
        Some(expiration - margin)
    }

    fn is_due(&self, now: OffsetDateTime) -> bool {
        self.renew_at().is_some_and(|moment| now >= moment)
    }

    fn has_expired(&self, now: OffsetDateTime) -> bool {
        self.expiration.is_some_and(|moment| now >= moment)
    }
}

/// A role to assume at STS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RoleRequest {
    /// `RoleArn`.
    pub role_arn: String,
    /// `RoleSessionName`.
    pub session_name: String,
    /// `DurationSeconds`.
    pub duration_seconds: u32,
    /// `Policy`, narrowing the role's permissions.
    pub policy: Option<String>,
    /// `ExternalId`.
    pub external_id: Option<String>,
    /// Where STS is.
    pub sts: StsEndpoint,
}

/// How one source obtains credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Supplier {
    /// A key that never changes.
    Fixed(Credentials),
    /// `AssumeRole`, signed with what `signer` supplies.
    AssumeRole {
        signer: Box<Supplier>,
        role: RoleRequest,
    },
    /// `AssumeRoleWithOIDC` with the token in `token_file`, read at every renewal.
    Oidc {
        role: RoleRequest,
        provider_arn: String,
        token_file: PathBuf,
    },
    /// The ECS metadata service.
    EcsRole(ecs::EcsSettings),
    /// A URL answering credentials as JSON.
    Uri(String),
    /// A command printing credentials as JSON.
    Process(String),
}

/// What fetching needs besides the supplier: the HTTP client.
#[derive(Debug, Clone)]
pub(crate) struct Fetcher {
    pub http: reqwest::Client,
}

type Fetching<'a> = Pin<Box<dyn Future<Output = Result<Issued, CredentialError>> + Send + 'a>>;

impl Supplier {
    /// The STS endpoint this supplier assumes its role at, if it assumes one.
    pub(crate) fn sts_endpoint(&self) -> Option<&StsEndpoint> {
        match self {
            Supplier::AssumeRole { role, .. } | Supplier::Oidc { role, .. } => Some(&role.sts),
            _ => None,
        }
    }

    /// Obtains credentials; `source` names the source in errors.
    pub(crate) fn obtain<'a>(&'a self, fetcher: &'a Fetcher, source: &'a str) -> Fetching<'a> {
        Box::pin(async move {
            match self {
                Supplier::Fixed(credentials) => Ok(Issued::new(credentials.clone(), None)),
                Supplier::AssumeRole { signer, role } => {
                    let signing = signer.obtain(fetcher, source).await?;
                    sts::assume_role(&fetcher.http, &signing.credentials, role)
                        .await
                        .map_err(|failure| failure.into_error(source))
                }
                Supplier::Oidc {
                    role,
                    provider_arn,
                    token_file,
                } => {
                    let token = sts::read_token_file(token_file, source)?;
                    sts::assume_role_with_oidc(&fetcher.http, role, provider_arn, &token)
                        .await
                        .map_err(|failure| failure.into_error(source))
                }
                Supplier::EcsRole(settings) => ecs::obtain(&fetcher.http, settings, source).await,
                Supplier::Uri(url) => uri::obtain(&fetcher.http, url, source).await,
                Supplier::Process(command) => process::obtain(command, source).await,
            }
        })
    }
}

/// The credentials of one source, renewed ahead of expiry. Shared by the client behind an
/// `Arc`.
pub struct CredentialsProvider {
    source: CredentialSource,
    supplier: Supplier,
    fetcher: Option<Fetcher>,
    current: RwLock<Option<Arc<Issued>>>,
    renewing: Mutex<()>,
    obtained: AtomicU64,
}

impl fmt::Debug for CredentialsProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = match &self.supplier {
            Supplier::Fixed(credentials) => format!("{credentials:?}"),
            _ => self.source.label(),
        };
        f.debug_struct("CredentialsProvider")
            .field("source", &shown)
            .finish_non_exhaustive()
    }
}

impl CredentialsProvider {
    /// A provider of one key that never changes.
    pub fn fixed(credentials: Credentials) -> Self {
        let issued = Arc::new(Issued::new(credentials.clone(), None));
        Self {
            source: CredentialSource::Given,
            supplier: Supplier::Fixed(credentials),
            fetcher: None,
            current: RwLock::new(Some(issued)),
            renewing: Mutex::new(()),
            obtained: AtomicU64::new(1),
        }
    }

    pub(crate) fn new(source: CredentialSource, supplier: Supplier, fetcher: Fetcher) -> Self {
        Self {
            source,
            supplier,
            fetcher: Some(fetcher),
            current: RwLock::new(None),
            renewing: Mutex::new(()),
            obtained: AtomicU64::new(0),
        }
    }

    /// Where the credentials come from.
    pub fn source(&self) -> &CredentialSource {
        &self.source
    }

    /// How many times credentials have been obtained from the source.
    pub fn times_obtained(&self) -> u64 {
        self.obtained.load(Ordering::Relaxed)
    }

    /// Credentials valid now, renewed first when they are due.
    pub async fn current(&self) -> Result<Arc<Issued>, CredentialError> {
        let held = self.current.read().await.clone();
        if let Some(issued) = &held {
            let now = OffsetDateTime::now_utc();
            if !issued.is_due(now) {
                return Ok(Arc::clone(issued));
            }
            if !issued.has_expired(now) {
                // Still valid: one caller renews them, the others go on with these.
                let Ok(_renewing) = self.renewing.try_lock() else {
                    return Ok(Arc::clone(issued));
                };
                return match self.obtain().await {
                    Ok(fresh) => Ok(fresh),
                    Err(error) => {
                        tracing::warn!(
                            "cannot renew the credentials yet, using the current ones until they expire: {error}"
                        );
                        Ok(Arc::clone(issued))
                    }
                };
            }
        }
        let _renewing = self.renewing.lock().await;
        // Someone else may have renewed them while this caller waited.
        if let Some(issued) = self.current.read().await.as_ref() {
            let now = OffsetDateTime::now_utc();
            if !issued.has_expired(now) && !issued.is_due(now) {
                return Ok(Arc::clone(issued));
            }
        }
        self.obtain().await
    }

    /// Forgets `used` (the service found them expired), so that the next call obtains new
    /// ones. Credentials renewed meanwhile are kept.
    pub async fn expire(&self, used: &Arc<Issued>) {
        if matches!(self.supplier, Supplier::Fixed(_)) {
            return;
        }
        let mut current = self.current.write().await;
        if current
            .as_ref()
            .is_some_and(|issued| Arc::ptr_eq(issued, used))
        {
            *current = None;
        }
    }

    async fn obtain(&self) -> Result<Arc<Issued>, CredentialError> {
        let fresh = match (&self.supplier, &self.fetcher) {
            (Supplier::Fixed(credentials), _) => Issued::new(credentials.clone(), None),
            (supplier, Some(fetcher)) => supplier.obtain(fetcher, &self.source.to_string()).await?,
            (_, None) => {
                return Err(CredentialError::Failed {
                    source_name: self.source.to_string(),
                    problem: "there is no HTTP client to ask with".to_owned(),
                    fix: "this is a bug in cityform; please report it".to_owned(),
                });
            }
        };
        let count = self.obtained.fetch_add(1, Ordering::Relaxed) + 1;
        match fresh.expiration {
            Some(expiration) => tracing::info!(
                source = %self.source.label(),
                access_key_id = %fresh.credentials.access_key_id,
                %expiration,
                count,
                "obtained temporary credentials"
            ),
            None => {
                tracing::info!(source = %self.source.label(), access_key_id = %fresh.credentials.access_key_id, "obtained credentials")
            }
        }
        let fresh = Arc::new(fresh);
        *self.current.write().await = Some(Arc::clone(&fresh));
        Ok(fresh)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn issued_for(lifetime: time::Duration) -> Issued {
        let mut issued = Issued::new(Credentials::new("STS.a", "s"), None);
        issued.expiration = Some(issued.obtained_at + lifetime);
        issued
    }

    #[test]
    fn short_credentials_are_renewed_a_quarter_ahead_and_long_ones_three_minutes_ahead() {
        let short = issued_for(time::Duration::seconds(4));
        assert_eq!(
            short.renew_at().unwrap(),
            short.obtained_at + time::Duration::seconds(3)
        );
        let long = issued_for(time::Duration::minutes(15));
        assert_eq!(
            long.renew_at().unwrap(),
            long.obtained_at + time::Duration::minutes(12)
        );
        assert!(long.is_due(long.obtained_at + time::Duration::minutes(13)));
        assert!(!long.has_expired(long.obtained_at + time::Duration::minutes(13)));
        let fixed = Issued::new(Credentials::new("LTAI", "s"), None);
        assert_eq!(fixed.renew_at(), None);
    }

    #[tokio::test]
    async fn a_fixed_key_is_always_current_and_never_forgotten() {
        let provider = CredentialsProvider::fixed(Credentials::new("LTAI", "secret-x"));
        let first = provider.current().await.unwrap();
        provider.expire(&first).await;
        let second = provider.current().await.unwrap();
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(provider.times_obtained(), 1);
        assert!(!format!("{provider:?}").contains("secret-x"));
    }
}
