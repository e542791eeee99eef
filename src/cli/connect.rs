//! The client every command that talks to the service uses, and the refresh before a plan:
//! which instances to list, and whether there are credentials to list them with.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::Context as _;

use super::settings::{CloudArgs, PlanningArgs};
use crate::apply::refresh::{self, Instance};
use tokio::sync::OnceCell;

use crate::cloud::client::CLOCK_OFFSET_VARIABLE;
use crate::cloud::{
    Chain, ClientOptions, CloudClient, CredentialError, Credentials, Endpoints, RetryPolicy,
};
use crate::manifest::{Desired, LoadOptions};
use crate::plan::{self, Observed, Plan, PlanOptions};
use crate::state::State;

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
        cloud_args: &CloudArgs,
        environment: &BTreeMap<String, String>,
    ) -> anyhow::Result<Self> {
        let endpoints = match &cloud_args.endpoint {
            Some(url) => Endpoints::with_override(url)?,
            None => Endpoints::regional(),
        };
        let options = ClientOptions {
            retry: RetryPolicy::default().with_environment(environment)?,
            ..ClientOptions::default()
        };
        let chain = chain_for(cloud_args.profile.clone(), environment);
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
fn clock_offset(environment: &BTreeMap<String, String>) -> anyhow::Result<time::Duration> {
    let Some(value) = environment.get(CLOCK_OFFSET_VARIABLE) else {
        return Ok(time::Duration::ZERO);
    };
    let seconds: i64 = value.trim().parse().ok().filter(|seconds: &i64| seconds.unsigned_abs() <= 10 * 365 * 86_400).with_context(|| {
        format!("`{CLOCK_OFFSET_VARIABLE}` is `{value}`: expected a whole number of seconds, like `-3600`; it is a testing aid, unset it for real work")
    })?;
    Ok(time::Duration::seconds(seconds))
}

/// The credential chain for `--profile` and `environment`.
pub fn chain_for(profile: Option<String>, environment: &BTreeMap<String, String>) -> Chain {
    let home = environment.get("HOME").map(PathBuf::from);
    Chain::new(environment.clone(), home, profile)
}

/// How to read the manifests of a command that uses `profile`: the `region_id` of the
/// profile the credential chain settles on is the region of every job group for which
/// neither its manifest nor `Defaults` gives one. Reading files only, never the network.
pub fn manifest_options(
    profile: Option<String>,
    environment: &BTreeMap<String, String>,
) -> LoadOptions {
    let default_region_id = chain_for(profile, environment).region_id();
    if let Some(region) = &default_region_id {
        tracing::debug!(region = %region, "the profile's region_id is the default region");
    }
    LoadOptions {
        default_region_id,
        ..LoadOptions::default()
    }
}

/// What the refresh before a plan found: the live groups, or why they were not read.
#[derive(Debug)]
pub enum Refresh {
    /// The live groups of every instance the plan needs.
    Observed(Observed),
    /// `--refresh=false`: the plan compares the manifests with the state, and says so.
    TurnedOff,
    /// The refresh was asked for but skipped: why, as the sentence the plan prints
    /// ([`Plan::refresh_skipped_reason`]).
    Skipped(String),
}

impl Refresh {
    /// The live groups, when they were read.
    pub fn observed(&self) -> Option<&Observed> {
        match self {
            Refresh::Observed(observed) => Some(observed),
            Refresh::TurnedOff | Refresh::Skipped(_) => None,
        }
    }

    /// The plan of `desired` against `state` and what was read, saying why the live groups
    /// were not read when the refresh was skipped.
    pub fn plan(&self, desired: Desired, state: Option<&State>, options: &PlanOptions) -> Plan {
        let mut plan = plan::compute_owned(desired, state, self.observed(), options);
        if let Refresh::Skipped(reason) = self {
            plan.refresh_skipped_reason = Some(reason.clone());
        }
        plan
    }
}

/// Why a refresh with nothing to list was skipped: no group the plan compares is recorded.
fn nothing_recorded_reason(state: Option<&State>, targeted: bool) -> String {
    let why = if state.is_none() {
        "there is no state yet".to_owned()
    } else {
        format!(
            "the state records none of the {}job groups the manifests declare",
            if targeted { "targeted " } else { "" }
        )
    };
    format!(
        "Note: the live job groups were not read: {why}, so there was nothing to compare them with."
    )
}

/// Why a dry run without credentials did not refresh.
const NO_CREDENTIALS_REASON: &str = "Note: the live job groups were not read: there are no credentials, so this dry run compares the manifests with the state only.";

/// Reads the live groups a plan of `desired` against `state` needs, per `planning`. Nothing
/// is read when the refresh is turned off, or when nothing needs listing (no recorded group
/// in any instance the plan touches, and no `--show-unmanaged`), which needs no credentials.
///
/// `offline_ok` (a dry run): without credentials, skip the refresh and say so instead of
/// failing.
pub async fn refresh_for_plan(
    connection: &Connection,
    planning: &PlanningArgs,
    show_unmanaged: bool,
    desired: &Desired,
    state: Option<&State>,
    offline_ok: bool,
) -> anyhow::Result<Refresh> {
    if !planning.refresh {
        return Ok(Refresh::TurnedOff);
    }
    let targets = planning.target_set();
    let instances: BTreeSet<Instance> =
        refresh::instances_to_list(desired, state, &targets, show_unmanaged);
    if instances.is_empty() {
        return Ok(Refresh::Skipped(nothing_recorded_reason(
            state,
            !targets.is_empty(),
        )));
    }
    let client = match connection.client().await {
        Ok(client) => client,
        Err(error) if offline_ok => {
            eprintln!(
                "note: not refreshing: {error}; the dry run plans from the state alone, which may not match the live job groups"
            );
            return Ok(Refresh::Skipped(NO_CREDENTIALS_REASON.to_owned()));
        }
        Err(error) => {
            return Err(anyhow::Error::new(error).context(
                "cannot refresh: reading the live job groups needs credentials; to plan from the \
                 state alone, pass `--refresh=false`",
            ));
        }
    };
    let observed = refresh::observe(client, &instances, state)
        .await
        .context("cannot refresh; to plan from the state alone, pass `--refresh=false`")?;
    Ok(Refresh::Observed(observed))
}
