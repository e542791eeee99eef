//! `cityform watch`: the continuous reconcile on the command line. Flags into a
//! [`watch::Settings`] and a round (manifests read afresh, the state opened and closed around
//! it), events as JSON lines on standard output, SIGTERM and Ctrl-C into a stop.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use tokio::sync::watch as channel;

use super::Outcome;
use super::connect::manifest_options;
use super::interaction::into_anyhow;
use super::provenance_args::ProvenanceArgs;
use super::settings::{CloudArgs, ManifestArgs, PlanningArgs, StateArgs, process_environment};
use crate::apply::ApplyOptions;
use crate::cloud::Connection;
use crate::manifest;
use crate::reconcile::StopSignal;
use crate::watch::{self, Ended, Event, Finished, Metrics, Mode};

/// Arguments of `cityform watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    manifests: ManifestArgs,
    #[command(flatten)]
    state: StateArgs,
    #[command(flatten)]
    cloud: CloudArgs,
    #[command(flatten)]
    planning: PlanningArgs,
    #[command(flatten)]
    provenance: ProvenanceArgs,
    /// How long to wait between rounds, such as `30s` or `5m`; after a failed round the next
    /// one is retried sooner, the wait doubling from 1s up to this.
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse_duration)]
    interval: Duration,
    /// What each round does.
    #[arg(long, value_enum, default_value_t = WatchMode::Detect)]
    mode: WatchMode,
    /// Serve `/metrics` (Prometheus), `/healthz` and `/readyz` on this address, such as
    /// `127.0.0.1:9464`.
    ///
    /// `/readyz` answers 200 when the last successful round ended within three intervals, 503
    /// otherwise.
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<std::net::SocketAddr>,
    /// Run one round and exit: 0 when nothing is pending (or the apply succeeded), 2 when
    /// `detect` finds changes pending, 1 on error.
    #[arg(long)]
    once: bool,
}

/// What each round does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum WatchMode {
    /// Plan with a refresh and report what would change; nothing is changed.
    Detect,
    /// Apply what the plan finds, without asking, with every rule `apply` has.
    Apply,
}

impl From<WatchMode> for Mode {
    fn from(mode: WatchMode) -> Self {
        match mode {
            WatchMode::Detect => Mode::Detect,
            WatchMode::Apply => Mode::Apply,
        }
    }
}

pub(super) async fn run(args: WatchArgs) -> anyhow::Result<Outcome> {
    if args.interval.is_zero() {
        bail!("`--interval 0` would poll without pause: give a duration such as `30s`");
    }
    let stop = install_stop();
    let environment = process_environment();
    let connection = super::connect::open(&args.cloud, &environment)?;
    let settings = watch::Settings {
        interval: args.interval,
        mode: args.mode.into(),
        once: args.once,
    };
    let metrics = Arc::new(Metrics::default());
    if let Some(address) = args.metrics_listen {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("could not listen on `{address}` (`--metrics-listen`)"))?;
        let served = Arc::clone(&metrics);
        let interval = args.interval;
        tokio::spawn(async move {
            if let Err(error) = watch::serve(listener, served, interval).await {
                tracing::error!(%error, "the metrics endpoint stopped");
            }
        });
    }
    let ended = watch::run(
        settings,
        |signal| {
            let (args, connection, environment) = (&args, &connection, &environment);
            async move {
                round(args, connection, environment, signal)
                    .await
                    .map_err(|error| format!("{error:#}"))
            }
        },
        print_event,
        stop,
        &metrics,
    )
    .await;
    match ended {
        Ended::Stopped | Ended::Clean => Ok(Outcome::Success),
        Ended::ChangesPending => Ok(Outcome::ChangesPresent),
        Ended::Failed(error) => bail!(error),
    }
}

/// One round: the manifests read, the state opened, the reconcile, the state closed.
async fn round(
    args: &WatchArgs,
    connection: &Connection,
    environment: &BTreeMap<String, String>,
    stop: StopSignal,
) -> anyhow::Result<Finished> {
    let inputs = args.manifests.inputs();
    let desired = manifest::load_with(
        &inputs,
        &manifest_options(args.cloud.profile.clone(), environment),
    )?;
    super::output::report_warnings(&desired.warnings);
    let options = ApplyOptions {
        provenance: Some(args.provenance.collect(&inputs, environment)?),
        ..ApplyOptions::default()
    };
    let backend = super::backend::open_state(&args.state, "cityform watch", environment).await?;
    let finished = watch::round::run(
        &backend,
        connection,
        desired,
        args.mode.into(),
        args.planning.request(false),
        options,
        stop,
    )
    .await;
    backend.close().await?;
    finished.map_err(into_anyhow)
}

/// Prints `event` as one JSON line.
fn print_event(event: &Event) {
    match serde_json::to_string(event) {
        Ok(line) => {
            // A reader that went away is no reason to stop reconciling.
            let _ = super::output::print(&format!("{line}\n"));
        }
        Err(error) => tracing::error!(%error, "could not serialize a watch event"),
    }
}

/// The first SIGTERM or Ctrl-C turns the returned flag true; a second one exits at once.
fn install_stop() -> channel::Receiver<bool> {
    let (sender, receiver) = channel::channel(false);
    tokio::spawn(async move {
        super::apply::wait_for_signal().await;
        eprintln!(
            "\nStopping: no new round starts, and a round applying starts no new actions. Press Ctrl-C again to exit at once."
        );
        let _ = sender.send(true);
        super::apply::wait_for_signal().await;
        eprintln!("Interrupted again: exiting now.");
        std::process::exit(130);
    });
    receiver
}
