//! The connection every command that talks to the service uses: the endpoints, the retry
//! policy from the environment, and a client whose credential chain settles only when the
//! first request must be sent, so that a run that sends nothing needs no credentials.

use std::collections::BTreeMap;
use std::path::PathBuf;

use tokio::sync::OnceCell;

use super::client::CLOCK_OFFSET_VARIABLE;
use super::retry::RetryPolicyError;
use super::{
    Chain, ClientBuildError, ClientOptions, CloudClient, CredentialError, Credentials,
    EndpointError, Endpoints, RetryPolicy,
};

/// Why a connection could not be set up (before anything is sent).
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// The endpoint override is not a usable URL.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// The retry settings in the environment are wrong.
    #[error(transparent)]
    Retry(#[from] RetryPolicyError),
    /// The HTTP client could not be built.
    #[error(transparent)]
    Client(#[from] ClientBuildError),
    /// The testing aid that shifts the signing clock holds no usable number.
    #[error(
        "`{CLOCK_OFFSET_VARIABLE}` is `{value}`: expected a whole number of seconds, like `-3600`; it is a testing aid, unset it for real work"
    )]
    ClockOffset {
        /// The variable's value.
        value: String,
    },
}

/// A client, and the credential chain it signs with: the chain settles on a source the first
/// time a command must send something, so a run that sends nothing needs no credentials (a
/// dry run hands a client to the executor that never sends anything).
pub struct Connection {
    offline: CloudClient,
    chain: Option<ChainClient>,
    resolved: OnceCell<Result<CloudClient, CredentialError>>,
}

/// What builds the client once the chain has settled.
struct ChainClient {
    chain: Chain,
    endpoints: Endpoints,
    options: ClientOptions,
    clock_offset: time::Duration,
}

impl Connection {
    /// The connection `cloud_args` and `environment` describe. Missing credentials are not
    /// an error yet: only a command that must send something fails, through [`Self::client`].
    pub fn open(
        endpoint: Option<&str>,
        profile: Option<String>,
        environment: &BTreeMap<String, String>,
    ) -> Result<Self, ConnectionError> {
        let endpoints = match endpoint {
            Some(url) => Endpoints::with_override(url)?,
            None => Endpoints::regional(),
        };
        let options = ClientOptions {
            retry: RetryPolicy::default().with_environment(environment)?,
            ..ClientOptions::default()
        };
        tracing::info!("requests go to {endpoints}");
        let chain = chain_for(profile, environment);
        let clock_offset = clock_offset(environment)?;
        Ok(Self {
            offline: CloudClient::new(
                Credentials::new("", ""),
                endpoints.clone(),
                options.clone(),
            )?
            .with_clock_offset(clock_offset),
            chain: Some(ChainClient {
                chain,
                endpoints,
                options,
                clock_offset,
            }),
            resolved: OnceCell::new(),
        })
    }

    /// A connection with a client of known credentials (the `--emulator` demo).
    pub fn with_client(client: CloudClient) -> Self {
        Self {
            offline: client.clone(),
            chain: None,
            resolved: OnceCell::new_with(Some(Ok(client))),
        }
    }

    /// The client, for a command about to send requests: its first use settles the chain
    /// and obtains credentials (an error when there are none, or its source fails).
    pub async fn client(&self) -> Result<&CloudClient, CredentialError> {
        let resolved = self
            .resolved
            .get_or_init(|| async {
                let Some(chain) = &self.chain else {
                    return Ok(self.offline.clone());
                };
                let resolved = chain.chain.resolve().await?;
                let provider = resolved.provider;
                tracing::info!(source = %provider.source().label(), "using credentials from {}", provider.source());
                CloudClient::with_provider(provider, chain.endpoints.clone(), chain.options.clone())
                    .map(|client| client.with_clock_offset(chain.clock_offset))
                    .map_err(|error| CredentialError::Failed {
                        source_name: "the credential chain".to_owned(),
                        problem: error.to_string(),
                        fix: "check the TLS set-up of this machine".to_owned(),
                    })
            })
            .await;
        resolved.as_ref().map_err(Clone::clone)
    }

    /// The client whether or not it has credentials, for a run that sends nothing.
    pub fn offline_client(&self) -> &CloudClient {
        match self.resolved.get() {
            Some(Ok(client)) => client,
            _ => &self.offline,
        }
    }
}

/// The shift of the signing clock that `CITYFORM_TEST_CLOCK_OFFSET_SECONDS` asks for (a
/// testing aid); none when it is unset.
fn clock_offset(environment: &BTreeMap<String, String>) -> Result<time::Duration, ConnectionError> {
    let Some(value) = environment.get(CLOCK_OFFSET_VARIABLE) else {
        return Ok(time::Duration::ZERO);
    };
    let seconds: i64 = value
        .trim()
        .parse()
        .ok()
        .filter(|seconds: &i64| seconds.unsigned_abs() <= 10 * 365 * 86_400)
        .ok_or_else(|| ConnectionError::ClockOffset {
            value: value.clone(),
        })?;
    Ok(time::Duration::seconds(seconds))
}

/// The credential chain for `--profile` and `environment`.
pub fn chain_for(profile: Option<String>, environment: &BTreeMap<String, String>) -> Chain {
    let home = environment.get("HOME").map(PathBuf::from);
    Chain::new(environment.clone(), home, profile)
}
