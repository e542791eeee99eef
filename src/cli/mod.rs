//! The command line: clap definitions (one file per command), settings resolution, and the
//! mapping from results to exit codes. Nothing past [`settings`] sees clap types.

mod apply;
pub mod backend;
mod comment;
mod completions;
mod connect;
pub mod core_dumps;
mod fmt;
mod force_unlock;
mod generate;
mod history;
mod import;
mod init;
mod interaction;
pub mod logging;
mod output;
mod output_file;
mod plan;
mod provenance_args;
mod refresh;
mod schema;
pub mod settings;
mod show;
mod state;
pub mod step_summary;
mod usage;
mod validate;
mod watch;
mod whoami;

use std::process::ExitCode;

use clap::{CommandFactory as _, Parser, Subcommand};

pub use output::report_error;

/// Keep CityVisual job groups equal to what YAML manifests declare.
#[derive(Debug, Parser)]
#[command(name = "cityform", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    logging: logging::LoggingArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start a project: an example manifest, a `.gitignore` and, with `--ci`, a CI recipe.
    ///
    /// Writes `manifests/example.yaml` (a `Defaults` and a `JobGroup` document, commented),
    /// a `.gitignore` that keeps the state's lock, temporary and backup files out of git
    /// (the state itself is committed) and, with `--ci`, the recipe of `docs/ci/`. Never
    /// overwrites anything: when `manifests/` or any file it would write exists, it writes
    /// nothing, names them and exits 1.
    Init(init::InitArgs),
    /// Check the manifests and report every problem at once.
    Validate(validate::ValidateArgs),
    /// Rewrite manifest files in canonical form, keeping their comments; with `--check`,
    /// list those that are not and exit 1.
    ///
    /// Orders the keys as the format lists them (`params` sorted), indents by two spaces and
    /// writes ids as quoted strings and counts as bare numbers. A file this cannot rewrite
    /// safely (flow style, anchors, multi-line scalars, tabs) is left as it is and reported.
    /// Nothing is written unless the manifests, read again, declare exactly the same.
    Fmt(fmt::FmtArgs),
    /// Show what apply would change, without changing anything.
    Plan(plan::PlanArgs),
    /// Make the job groups what the manifests declare: create, update, start or stop, and
    /// with `--prune` delete.
    Apply(apply::ApplyArgs),
    /// Print a saved plan exactly as `plan --out` printed it, in any format.
    ///
    /// Reads the file only (its checksum is verified): no manifests, no state, no service.
    /// A CI job shows with it the plan it is about to apply.
    Show(show::ShowArgs),
    /// Post a saved plan on the pull request a CI job runs for, updating it in place.
    ///
    /// One comment per plan key, found again by a hidden marker and edited on every push
    /// instead of adding a new one; a plan too long for one comment is posted whole in
    /// several, in order, each saying which part it is. Uses the platform's REST API with
    /// the job's token (`GITHUB_TOKEN`, or `CITYFORM_GITLAB_TOKEN` on GitLab).
    Comment(comment::CommentArgs),
    /// Record the live job groups in the state, changing nothing in the service.
    ///
    /// Lists every instance the state records a group in, records the live spec, name and
    /// status of each recorded group, and reports the groups that no longer exist. Plans then
    /// show no drift for those changes, but still the updates the manifests ask for.
    Refresh(refresh::RefreshArgs),
    /// Adopt an existing job group into the state.
    ///
    /// The manifests must declare ADDRESS, and the state must record neither the address nor
    /// the group. The group is recorded as it lives and nothing is sent to it: the next plan
    /// shows how it differs from its manifest.
    Import(import::ImportArgs),
    /// Write manifests for the live job groups of an instance that the state does not manage.
    ///
    /// Lists the instance (`DescribeJobGroups`, every page) and writes a `JobGroup` document
    /// for each group the state does not record, as it lives, plus an `Import` document for
    /// each: committed and applied, they adopt the groups and create nothing. Groups whose
    /// names no manifest may declare, and params cityform does not know, are left out and
    /// reported.
    Generate(generate::GenerateArgs),
    /// List, show, forget or move what the state records.
    ///
    /// These commands never call the service. `rm` and `mv` take the state's lock, record
    /// their change durably and keep the previous state file as `state.json.backup`.
    State(state::StateCommandArgs),
    /// List the actions recorded in the state, newest first, and where each came from.
    ///
    /// Reads the state store only, never the service: which commit, manifest line, person
    /// or CI job, time and RequestId each create, update, start, stop, delete, import,
    /// recovery, `state rm` (forget) and `state mv` (move) had (`docs/provenance.md`).
    History(history::HistoryArgs),
    /// Free a local state held by a cityform that does not finish: stop it (SIGTERM) as
    /// Ctrl-C would, and with `--kill` kill it.
    ///
    /// PID is the holder the lock message names. A local lock is released whenever its
    /// process ends, so there is never a lock to delete; a PostgreSQL lock is released by
    /// the server when its holder's connection ends, so it needs no force-unlock.
    ForceUnlock(force_unlock::ForceUnlockArgs),
    /// Reconcile continuously: a round every interval, reporting drift as JSON lines, and
    /// with `--mode apply` restoring it.
    ///
    /// Each round reads the manifests and the state afresh, plans with a refresh (`detect`,
    /// changing nothing) or applies without asking (`apply`). Rounds never overlap; a failed
    /// round is reported and retried. SIGTERM or Ctrl-C stops it with exit 0, after the
    /// round in progress stops starting actions; a second one exits at once (130).
    Watch(watch::WatchArgs),
    /// Show which credentials are used: their source, the identity STS reports for them and
    /// when they expire (never a secret).
    Whoami(whoami::WhoamiArgs),
    /// Run a local CityVisual endpoint for tests, demos and CI.
    // A flag given twice takes its last value, so that a script (or a test harness) can add
    // to a command line it was handed.
    #[command(args_override_self = true)]
    Emulator(crate::emulator::cli::EmulatorArgs),
    /// Print the JSON Schema of the manifests, of `plan --format json` or of apply's events.
    Schema(schema::SchemaArgs),
    /// Print a shell completion script.
    Completions(completions::CompletionsArgs),
}

impl Cli {
    /// Parses the process's command line. A usage error that clap would word from a flag
    /// nobody typed (set by its environment variable), or from `--flag value` where the
    /// flag takes `--flag=value`, says what was given instead.
    pub fn parse_command_line() -> Result<Self, clap::Error> {
        let arguments: Vec<std::ffi::OsString> = std::env::args_os().collect();
        Self::try_parse_from(&arguments).map_err(|error| {
            usage::reword(
                error,
                &arguments,
                &settings::process_environment(),
                &Self::command(),
            )
        })
    }
}

/// How a successful command ended; errors are exit code 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done; nothing more to say.
    Success,
    /// The plan has changes and `--detailed-exitcode` asked to be told (exit 2).
    ChangesPresent,
    /// Stopped by Ctrl-C or SIGTERM (exit 130).
    Interrupted,
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Success => ExitCode::SUCCESS,
            Outcome::ChangesPresent => ExitCode::from(2),
            Outcome::Interrupted => ExitCode::from(130),
        }
    }
}

/// Runs the command the user asked for.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    logging::init(&cli.logging, &settings::process_environment())?;
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "cityform starting");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Init(args) => init::run(&args),
            Command::Validate(args) => validate::run(args),
            Command::Fmt(args) => fmt::run(args),
            Command::Plan(args) => plan::run(args).await,
            Command::Apply(args) => apply::run(args).await,
            Command::Show(args) => show::run(&args),
            Command::Comment(args) => comment::run(args).await,
            Command::Refresh(args) => refresh::run(args).await,
            Command::Import(args) => import::run(args).await,
            Command::Generate(args) => generate::run(args).await,
            Command::Watch(args) => watch::run(args).await,
            Command::Whoami(args) => whoami::run(args).await,
            Command::State(args) => state::run(args).await,
            Command::History(args) => history::run(args).await,
            Command::ForceUnlock(args) => force_unlock::run(args).await,
            Command::Emulator(args) => {
                crate::emulator::cli::run(args).await?;
                Ok(Outcome::Success)
            }
            Command::Schema(args) => schema::run(&args),
            Command::Completions(args) => completions::run(&args),
        }
    })
}
