//! `cityform apply`: refresh, plan, confirm, then create, update, start or stop, and (with
//! `--prune`) delete job groups, recording every result.
//!
//! The order matters and is the executor's contract: open the state (lock) → load → check a
//! saved plan's binding → resolve calls an earlier run left unfinished → refresh → plan and
//! confirm → execute. Output: a progress bar on a terminal, one line per action otherwise, or JSON
//! lines with `--format json`.

use std::collections::BTreeMap;
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use tokio::sync::mpsc;

use super::Outcome;
use super::backend::{self, BackendChoice};
use super::interaction::{into_anyhow, print_notice};
use super::output::Advice;
use super::plan::print_plan;
use super::provenance_args::{ProvenanceArgs, RetentionArgs};
use super::settings::{
    CloudArgs, ManifestArgs, OutputArgs, PlanningArgs, StateArgs, process_environment,
};
use super::step_summary;
use crate::apply::{self, ApplyOptions, ApplyReport};
use crate::cloud::{ClientOptions, CloudClient, Connection, Credentials, Endpoints};
use crate::emulator::{self, EmulatorConfig, EmulatorHandle};
use crate::manifest;
use crate::plan::{self, Plan};
use crate::reconcile::{
    self, CallerError, Interaction, Notice, ReconcileError, Reconciled, Source, StopSignal,
};
use crate::render::{self, Format, LastApplied};
use crate::state::LockOptions;

mod progress;

/// Arguments of `cityform apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved by `cityform plan --out FILE`: applied exactly as saved, without a
    /// question, without reading the manifests and without another refresh.
    #[arg(
        value_name = "PLANFILE",
        conflicts_with_all = ["files", "targets", "excludes", "prune", "refresh"]
    )]
    plan_file: Option<PathBuf>,
    #[command(flatten)]
    manifests: ManifestArgs,
    #[command(flatten)]
    state: StateArgs,
    #[command(flatten)]
    output: ApplyOutputArgs,
    #[command(flatten)]
    cloud: CloudArgs,
    #[command(flatten)]
    planning: PlanningArgs,
    #[command(flatten)]
    provenance: ProvenanceArgs,
    #[command(flatten)]
    retention: RetentionArgs,
    /// Apply without asking for confirmation.
    #[arg(long)]
    auto_approve: bool,
    /// Do everything except calling the API and writing the state, and say so loudly.
    #[arg(long)]
    dry_run: bool,
    /// How many API calls may be in flight at once.
    #[arg(long, value_name = "N", default_value_t = 10)]
    parallelism: usize,
    /// Start at most R API calls per second.
    #[arg(long, value_name = "R")]
    max_rps: Option<f64>,
    /// How long to wait for started and stopped groups to be reported running or stopped; a
    /// group that does not get there in time is a failure.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = crate::duration::parse_duration)]
    wait_timeout: std::time::Duration,
    /// Return as soon as the service has answered each start and stop, without waiting for
    /// the groups to get there.
    #[arg(long, conflicts_with = "wait_timeout")]
    no_wait: bool,
    /// Run against a CityVisual emulator started for this run only, with a state in a
    /// temporary directory, so that a demo can never touch a real state or account.
    #[arg(long, conflicts_with_all = ["endpoint", "profile", "state", "backend", "workspace"])]
    emulator: bool,
}

/// How apply prints: `--format` offers only what apply prints (Markdown is for plans,
/// `plan --format markdown`), with the colour switch every command has.
#[derive(Debug, Clone, Args)]
struct ApplyOutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ApplyFormat::Text)]
    format: ApplyFormat,
    /// Never colour the output (colour is used only on a terminal, and never when `NO_COLOR` is set).
    #[arg(long)]
    no_color: bool,
}

/// The formats apply prints in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ApplyFormat {
    /// Human-readable text: the plan, then a line per action, coloured on a terminal.
    Text,
    /// One JSON object per line: each event, then the summary (`docs/json-output.md`).
    Json,
}

impl From<ApplyOutputArgs> for OutputArgs {
    fn from(output: ApplyOutputArgs) -> Self {
        OutputArgs {
            format: match output.format {
                ApplyFormat::Text => Format::Text,
                ApplyFormat::Json => Format::Json,
            },
            no_color: output.no_color,
        }
    }
}

pub(super) async fn run(args: ApplyArgs) -> anyhow::Result<Outcome> {
    // Installed first, so that Ctrl-C at any moment ends the run with 130, not a bare signal.
    let interruption = Interruption::install();
    let environment = process_environment();
    let output = OutputArgs::from(args.output.clone());
    let source = match &args.plan_file {
        Some(file) => {
            if file.is_dir() {
                bail!(manifests_given_as_plan(file));
            }
            let bytes = std::fs::read(file)
                .with_context(|| format!("could not read the saved plan `{}`", file.display()))?;
            let plan = match plan::saved::from_bytes(&file.display().to_string(), &bytes) {
                Ok(plan) => plan,
                Err(_) if looks_like_manifest(file, &bytes) => {
                    bail!(manifests_given_as_plan(file))
                }
                Err(error) => return Err(error.into()),
            };
            Source::Saved {
                file: file.clone(),
                plan,
            }
        }
        None => {
            // Refuse before anything is read or locked: without a terminal nobody can answer.
            if !args.auto_approve && !args.dry_run && !std::io::stdin().is_terminal() {
                bail!(NoConfirmation);
            }
            let desired = manifest::load_with(
                &args.manifests.inputs(),
                &super::connect::manifest_options(args.cloud.profile.clone(), &environment),
            )?;
            super::output::report_warnings(&desired.warnings);
            Source::Manifests {
                desired,
                planning: args.planning.request(false),
            }
        }
    };
    // Collected once, before anything is locked, sent or written: `--require-clean`
    // stops here. A saved plan's apply is from the current directory's commit.
    let provenance = match &source {
        Source::Saved { .. } => args.provenance.collect_here(&environment)?,
        Source::Manifests { .. } => args
            .provenance
            .collect(&args.manifests.inputs(), &environment)?,
    };
    let options = ApplyOptions {
        parallelism: args.parallelism,
        max_rps: args.max_rps,
        dry_run: args.dry_run,
        provenance: Some(provenance.clone()),
        history_retention: args.retention.history_retention,
        wait_timeout: (!args.no_wait).then_some(args.wait_timeout),
        ..ApplyOptions::default()
    };
    options.validate()?;

    let demo = if args.emulator {
        Some(Demo::start().await?)
    } else {
        None
    };
    let connection = match &demo {
        Some(demo) => Connection::with_client(demo.client()?),
        None => super::connect::open(&args.cloud, &environment)?,
    };
    if !args.dry_run {
        // A dry run sends nothing, so it needs no credentials: a pull-request job can run it.
        connection.client().await?;
    }

    let json = output.format == Format::Json;
    if args.dry_run && !json {
        eprintln!("{}", render::apply_text::dry_run_banner());
    }
    let backend = match &demo {
        // A demo never touches a real state, whatever the settings say.
        Some(demo) => {
            let choice = BackendChoice::Local {
                path: demo.state_path(),
            };
            let options = LockOptions::new("cityform apply").with_timeout(args.state.lock_timeout);
            backend::open(&choice, &options).await?
        }
        None => backend::open_state(&args.state, "cityform apply", &environment).await?,
    };

    let renderer = progress::Renderer::new(output.format);
    let (sender, receiver) = mpsc::channel(1024);
    let printer = tokio::spawn(renderer.clone().consume(receiver));
    let (acting, stop) = interruption.parts();
    let request = reconcile::Request {
        backend: &backend,
        connection: &connection,
        source,
        options,
        auto_approve: args.auto_approve,
        events: sender,
        stop,
    };
    let mut interaction = Terminal {
        output: &output,
        environment: &environment,
        renderer: renderer.clone(),
        acting,
    };
    let reconciled = reconcile::run(request, &mut interaction).await;
    // Every event is printed before the summary.
    let _ = printer.await;
    let report = match reconciled {
        Ok(Reconciled::Applied { report, .. }) => report,
        Ok(Reconciled::Cancelled) => {
            backend.close().await?;
            bail!(Cancelled);
        }
        Ok(Reconciled::NothingToApply { plan, report }) => {
            if !plan.plan.is_empty() && !json {
                println!("\nNothing to apply: orphans are left alone; `--prune` deletes them.");
            }
            // A JSON reader always gets its `summary` line, even for a run with nothing
            // to do; printed under the lock, like everything else the run prints.
            let finished = if json {
                renderer.finish(&report)
            } else {
                Ok(())
            };
            backend.close().await?;
            finished?;
            step_summary::publish(&environment, || {
                render::plan_markdown::render_plan_with(&plan.plan, &plan.last_applied)
            });
            return Ok(Outcome::Success);
        }
        Err(ReconcileError::Apply(apply::ApplyError::Halted { halt, report })) => {
            // A run that stopped itself still says what it did, then its one error; the
            // summary is printed before the lock is let go, so that the output of a run
            // that was waiting for the lock never mixes with this one's.
            let finished = renderer.finish(&report);
            backend.close().await?;
            finished?;
            return Err(apply::ApplyError::Halted { halt, report }.into());
        }
        Err(error) => return Err(into_anyhow(error)),
    };
    // Printed before the lock is let go, as above.
    let finished = renderer.finish(&report);
    backend.close().await?;
    finished?;
    step_summary::publish(&environment, || render::apply_markdown::render(&report));
    if let Some(demo) = demo {
        demo.finish(&report);
    }
    outcome(&report)
}

/// Whether a file that is not a saved plan is a manifest: named `*.yaml` or `*.yml`, or
/// with a line that starts a manifest document (`apiVersion:`, `kind:`). A saved plan is
/// JSON, whose lines never start so.
fn looks_like_manifest(file: &Path, bytes: &[u8]) -> bool {
    let by_name = matches!(
        file.extension().and_then(|extension| extension.to_str()),
        Some("yaml" | "yml")
    );
    by_name
        || String::from_utf8_lossy(bytes)
            .lines()
            .any(|line| line.starts_with("apiVersion:") || line.starts_with("kind:"))
}

/// The error for `apply manifests/` or `apply x.yaml`, as `kubectl apply` is written:
/// manifests are named with `-f`; the positional argument is a saved plan.
fn manifests_given_as_plan(file: &Path) -> Advice {
    let shown = file.display();
    let what = if file.is_dir() {
        "a directory"
    } else {
        "a manifest"
    };
    Advice::new(
        format!("`{shown}` is {what}, not a saved plan"),
        format!(
            "name manifests with `-f`: `cityform apply -f {shown}`; the argument without a flag \
             is a plan saved by `cityform plan --out FILE`"
        ),
    )
}

/// The command line's side of an apply: notices and the plan printed, the question asked
/// at the terminal, the progress started and Ctrl-C armed when actions start.
struct Terminal<'a> {
    output: &'a OutputArgs,
    environment: &'a BTreeMap<String, String>,
    renderer: progress::Renderer,
    acting: Arc<AtomicBool>,
}

impl Interaction for Terminal<'_> {
    fn notice(&mut self, notice: Notice) {
        print_notice(&notice);
    }

    fn plan_ready(&mut self, plan: &Plan, last_applied: &LastApplied) -> Result<(), CallerError> {
        if self.output.format != Format::Json {
            print_plan(plan, self.output, last_applied, self.environment)?;
        }
        Ok(())
    }

    fn confirm(&mut self, _: &Plan) -> Result<bool, CallerError> {
        Ok(confirm()?)
    }

    fn actions_starting(&mut self, count: usize) {
        self.renderer.start(count);
        self.acting.store(true, Ordering::SeqCst);
    }
}

/// The exit status a finished run earns.
fn outcome(report: &ApplyReport) -> anyhow::Result<Outcome> {
    if report.interrupted {
        return Ok(Outcome::Interrupted);
    }
    if !report.failed.is_empty() {
        bail!(
            "apply finished with {} failed action(s); everything that succeeded is recorded in the state, and running apply again retries the rest",
            report.failed.len()
        );
    }
    Ok(Outcome::Success)
}

/// The answer to the question was not `yes`: exit 1, as Terraform does, so that a script
/// that piped an answer in does not take a refusal for a success.
#[derive(Debug, thiserror::Error)]
#[error("apply cancelled: nothing was changed")]
struct Cancelled;

/// The error for an apply that cannot ask.
#[derive(Debug, thiserror::Error)]
#[error(
    "refusing to apply without confirmation: standard input is not a terminal; pass `--auto-approve` to apply, or `--dry-run` to preview"
)]
struct NoConfirmation;

fn confirm() -> anyhow::Result<bool> {
    let mut stderr = std::io::stderr();
    write!(
        stderr,
        "\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: "
    )?;
    stderr.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

/// Resolves when the run should stop starting new actions: the first Ctrl-C or SIGTERM. A
/// second one exits at once; the journal tolerates that at any instant.
/// Ctrl-C and SIGTERM during an apply.
///
/// Before any action starts (loading, resolving, planning, the question), the first signal
/// ends the run at once: every record written so far is durable, a record cut short is
/// recovered at the next start, and the lock is released by the operating system. Once
/// actions run, the first signal stops new ones from starting and lets those in flight be
/// recorded; a second one exits at once.
struct Interruption {
    acting: Arc<AtomicBool>,
    stopped: tokio::sync::oneshot::Receiver<()>,
}

impl Interruption {
    fn install() -> Self {
        let acting = Arc::new(AtomicBool::new(false));
        let (first, stopped) = tokio::sync::oneshot::channel::<()>();
        let watched = Arc::clone(&acting);
        tokio::spawn(async move {
            wait_for_signal().await;
            if !watched.load(Ordering::SeqCst) {
                eprintln!("\nInterrupted before any action started: exiting.");
                std::process::exit(130);
            }
            eprintln!(
                "\nInterrupted: no new actions start and no call is retried; waiting for those in flight to be recorded. Press Ctrl-C again to exit at once."
            );
            let _ = first.send(());
            wait_for_signal().await;
            eprintln!("Interrupted again: exiting now.");
            std::process::exit(130);
        });
        Self { acting, stopped }
    }

    /// The flag to set when actions start (from then on the first signal stops new ones
    /// instead of exiting), and what resolves when they are to stop.
    fn parts(self) -> (Arc<AtomicBool>, StopSignal) {
        let stopped = self.stopped;
        (
            self.acting,
            Box::pin(async move {
                let _ = stopped.await;
            }),
        )
    }
}

pub(super) async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The `--emulator` demo: an in-process emulator and a throw-away state directory.
struct Demo {
    emulator: EmulatorHandle,
    directory: tempfile::TempDir,
}

impl Demo {
    async fn start() -> anyhow::Result<Self> {
        let emulator = emulator::start(EmulatorConfig::default())
            .await
            .context("could not start the emulator")?;
        let directory = tempfile::Builder::new()
            .prefix("cityform-demo-")
            .tempdir()?;
        eprintln!(
            "Using an emulator started for this run at {} and a temporary state in `{}`.",
            emulator.endpoint(),
            directory.path().display()
        );
        Ok(Self {
            emulator,
            directory,
        })
    }

    fn state_path(&self) -> PathBuf {
        self.directory.path().join("state.json")
    }

    fn client(&self) -> anyhow::Result<CloudClient> {
        let credentials = self.emulator.credentials();
        let credentials = Credentials::new(
            credentials.access_key_id.clone(),
            credentials.access_key_secret().to_owned(),
        );
        let endpoints = Endpoints::with_override(&self.emulator.endpoint())?;
        Ok(CloudClient::new(
            credentials,
            endpoints,
            ClientOptions::default(),
        )?)
    }

    fn finish(self, report: &ApplyReport) {
        let groups = self.emulator.state().job_groups.len();
        if !report.dry_run {
            eprintln!(
                "The emulator now holds {groups} job group(s); it stops with this run, and its temporary state is removed."
            );
        }
    }
}
