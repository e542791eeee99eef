//! A local CityVisual endpoint, like LocalStack for the six job-group actions: it verifies
//! signatures, validates as the API reference says, answers in JSON or XML, and injects
//! faults on request. Used by cityform's own tests, by `cityform emulator`, and by users'
//! CI. What it does and every choice it makes where the reference is silent is written down
//! in `docs/emulator.md`.
//!
//! Start one in-process with [`start`]:
//!
//! ```no_run
//! # async fn example() -> Result<(), cityform::emulator::EmulatorError> {
//! use cityform::emulator::{EmulatorConfig, start};
//! let emulator = start(EmulatorConfig::default()).await?;
//! println!("point the client at {}", emulator.endpoint());
//! # Ok(()) }
//! ```

mod actions;
mod api_error;
mod auth;
pub mod cli;
mod config;
mod dialect;
mod document;
mod faults;
mod flow_limit;
mod metadata;
pub mod offline;
mod parameters;
mod seed;
mod server;
mod store;
mod sts;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use cli::{EmulatorArgs, run};
pub use config::{
    BetweenPages, Credentials, DEFAULT_REGION_ID, DEV_ACCESS_KEY_ID, DEV_ACCESS_KEY_SECRET,
    EmulatorConfig, Faults,
};
pub use dialect::{Dialect, UnknownDialect};
pub use metadata::METADATA_ROLE_NAME;
pub use seed::{
    BUILT_IN_ALGO_LIB_ID, BUILT_IN_INSTANCE_ID, BUILT_IN_RESOURCE_PROFILE_ID, Seed, SeedError,
    SeedJobGroup,
};
pub use store::{EmulatorState, JobGroup, MAX_COMPUTE_JOBS, Phase, Scope, Status};
pub use sts::{EMULATOR_ACCOUNT_ID, IssuedCredentials};

use server::Shared;
use store::{NewJobGroup, Store};

/// Why an emulator cannot start or run.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The listen address cannot be bound (in use, not local, no permission).
    #[error("cannot listen on `{address}`: {source}; choose another address with `--listen`")]
    Bind {
        /// The address asked for.
        address: SocketAddr,
        /// Why binding failed.
        source: std::io::Error,
    },
    /// The seed file cannot be read or parsed.
    #[error(transparent)]
    Seed(#[from] SeedError),
    /// A seed job group breaks a rule a `CreateJobGroup` would have to obey.
    #[error("seed job group `{name}` is refused with `{code}`: {message}")]
    SeedJobGroup {
        /// The group's name.
        name: String,
        /// The error code a create would have answered.
        code: &'static str,
        /// The message a create would have answered.
        message: String,
    },
    /// Only one half of an access key pair was given.
    #[error(
        "`--access-key-id` and `--access-key-secret` must be given together (or neither, for the development pair)"
    )]
    IncompleteCredentials,
    /// A fault rate is not a probability.
    #[error("`{flag}` must be a number from 0 to 1, not `{value}`")]
    InvalidRate {
        /// The flag.
        flag: &'static str,
        /// The value given.
        value: f64,
    },
    /// Waiting for Ctrl-C or SIGTERM failed.
    #[error("cannot wait for a stop signal: {0}")]
    Signal(std::io::Error),
}

/// A running emulator. Dropping it shuts the server down: it stops accepting and lets open
/// connections finish the request in hand.
#[derive(Debug)]
pub struct EmulatorHandle {
    address: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Sender<()>,
    task: Option<JoinHandle<()>>,
}

/// Starts an emulator on `config.listen` (by default `127.0.0.1:0`, a free port) with the
/// built-in instance, algorithm library and resource profile plus `config.seed`.
///
/// Must be called inside a Tokio runtime; the server runs on it until the handle is dropped.
pub async fn start(config: EmulatorConfig) -> Result<EmulatorHandle, EmulatorError> {
    if !(0.0..=1.0).contains(&config.faults.throttle_rate) {
        return Err(EmulatorError::InvalidRate {
            flag: "--throttle-rate",
            value: config.faults.throttle_rate,
        });
    }
    if !(0.0..=1.0).contains(&config.faults.error_rate) {
        return Err(EmulatorError::InvalidRate {
            flag: "--error-rate",
            value: config.faults.error_rate,
        });
    }
    let store = seeded_store(&config.seed)?;
    let bind_error = |source| EmulatorError::Bind {
        address: config.listen,
        source,
    };
    let listener = TcpListener::bind(config.listen).await.map_err(bind_error)?;
    let address = listener.local_addr().map_err(bind_error)?;
    let shared = Arc::new(Shared::new(&config, store));
    let (shutdown, shutdown_receiver) = watch::channel(());
    let task = tokio::spawn(server::serve(
        listener,
        Arc::clone(&shared),
        shutdown_receiver,
    ));
    Ok(EmulatorHandle {
        address,
        shared,
        shutdown,
        task: Some(task),
    })
}

fn seeded_store(seed: &Seed) -> Result<Store, EmulatorError> {
    let created_at = OffsetDateTime::now_utc();
    let mut store = Store::with_built_ins();
    seed.instances.iter().for_each(|id| store.add_instance(id));
    seed.algo_libs.iter().for_each(|id| store.add_algo_lib(id));
    seed.resource_profiles
        .iter()
        .for_each(|id| store.add_resource_profile(id));
    for group in &seed.job_groups {
        store
            .create(NewJobGroup {
                scope: Scope {
                    region_id: group
                        .region_id
                        .clone()
                        .unwrap_or_else(|| DEFAULT_REGION_ID.to_owned()),
                    instance_id: group.instance_id.clone(),
                },
                name: group.name.clone(),
                status: group.status.unwrap_or(Status::Stopped),
                algo_lib_id: group.algo_lib_id.clone(),
                resource_profile_id: group.resource_profile_id.clone(),
                planed_job_count: group.planed_job_count,
                stream_per_job: group.stream_per_job,
                job_count: group.job_count,
                params: group
                    .params
                    .iter()
                    .map(|(key, value)| (key.clone(), value.clone()))
                    .collect(),
                created_at,
            })
            .map_err(|error| EmulatorError::SeedJobGroup {
                name: group.name.clone(),
                code: error.code,
                message: error.message,
            })?;
    }
    Ok(store)
}

impl EmulatorHandle {
    /// The address the emulator listens on, with the real port.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The endpoint URL, `http://127.0.0.1:PORT/`.
    pub fn endpoint(&self) -> String {
        format!("http://{}/", self.address)
    }

    /// The access key pair the emulator accepts.
    pub fn credentials(&self) -> &Credentials {
        &self.shared.credentials
    }

    /// A copy of everything the emulator holds.
    pub fn state(&self) -> EmulatorState {
        self.shared.store().snapshot()
    }

    /// How many requests named `action` arrived, whatever their answer (faults and
    /// authentication failures count too).
    pub fn request_count(&self, action: &str) -> u64 {
        server::lock(&self.shared.request_counts)
            .get(action)
            .copied()
            .unwrap_or(0)
    }

    /// Requests received per `Action` value.
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        server::lock(&self.shared.request_counts).clone()
    }

    /// Changes a job group behind the clients' back, as someone in the console would (for
    /// drift tests). No rule is checked. False when there is no group `job_group_id`.
    pub fn update_job_group(&self, job_group_id: &str, change: impl FnOnce(&mut JobGroup)) -> bool {
        job_group_id
            .parse()
            .is_ok_and(|id| self.shared.store().update_directly(id, change))
    }

    /// Deletes a job group behind the clients' back. False when there is none.
    pub fn delete_job_group(&self, job_group_id: &str) -> bool {
        job_group_id
            .parse()
            .is_ok_and(|id| self.shared.store().delete_directly(id))
    }

    /// Temporary credentials for `role_name`, as STS would issue them (for a test's own
    /// metadata or credentials server).
    pub fn issue_role_credentials(&self, role_name: &str) -> IssuedCredentials {
        self.shared
            .sts
            .issue(role_name, "cityform", time::OffsetDateTime::now_utc())
    }

    /// Shuts down and waits until the server has stopped accepting.
    pub async fn shutdown(mut self) {
        self.shutdown.send_replace(());
        if let Some(task) = self.task.take() {
            // The serving task never panics on purpose; if it did, there is nothing left to stop.
            let _ = task.await;
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        self.shutdown.send_replace(());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::model::JobGroupParams;

    #[test]
    fn seed_groups_obey_the_create_rules() {
        let group = SeedJobGroup {
            region_id: None,
            instance_id: BUILT_IN_INSTANCE_ID.into(),
            name: "by-hand".into(),
            algo_lib_id: "77".into(),
            resource_profile_id: "6".into(),
            planed_job_count: 1,
            stream_per_job: 1,
            job_count: None,
            status: Some(Status::Running),
            params: JobGroupParams::new(),
        };
        let refused = seeded_store(&Seed {
            job_groups: vec![group.clone()],
            ..Seed::default()
        })
        .unwrap_err();
        assert!(matches!(
            refused,
            EmulatorError::SeedJobGroup {
                code: "InvalidAlgoLibId.NotFound",
                ..
            }
        ));
        let store = seeded_store(&Seed {
            algo_libs: vec!["77".into()],
            job_groups: vec![group],
            ..Seed::default()
        })
        .unwrap();
        let state = store.snapshot();
        let seeded = state
            .job_group_named(BUILT_IN_INSTANCE_ID, "by-hand")
            .unwrap();
        assert_eq!(seeded.status, Status::Running);
        assert_eq!(seeded.scope.region_id, DEFAULT_REGION_ID);
        assert_eq!(state.algo_libs, ["3", "77"]);
    }
}
