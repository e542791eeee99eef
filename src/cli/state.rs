//! `cityform state list|show|rm|mv|migrate`: read and edit what the state records, and copy
//! it to another backend, without calling the service. Every subcommand takes the state's
//! lock; `rm` and `mv` write through the journal and then compact, which (on the local
//! backend) replaces `state.json` atomically and keeps the previous version as
//! `state.json.backup`.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::backend::{self, BackendArgs, BackendChoice};
use super::settings::{DEFAULT_STATE_PATH, StateArgs, process_environment};
use super::{Outcome, output};
use crate::manifest::Input;
use crate::model::Address;
use crate::provenance::RunContext;
use crate::render;
use crate::state::HistorySelection;
use crate::state::edit::{self, Forgotten, StateEditError};
use crate::state::{
    AnyBackend, Backend as _, LockOptions, MigrateOutcome, MigrateReport, Recovered, State, migrate,
};

/// Arguments of `cityform state`.
#[derive(Debug, Args)]
pub struct StateCommandArgs {
    #[command(subcommand)]
    command: StateCommand,
}

#[derive(Debug, Subcommand)]
enum StateCommand {
    /// List the job groups the state records, with their ids.
    List(ListArgs),
    /// Show everything the state records about one job group.
    Show(ShowArgs),
    /// Forget job groups without deleting them: cityform no longer manages them.
    ///
    /// The groups stay in the service as they are. Remove their documents from the manifests
    /// too: a group the manifests still declare is planned as a create again.
    /// `cityform import` adopts a forgotten group back. The history records each as `forget`.
    Rm(RemoveArgs),
    /// Record a job group under a new address in the same instance.
    ///
    /// The next apply renames the group to the new name (`ModifyJobGroup`) instead of
    /// deleting and creating it. Refused when NEW is already recorded, or in another region or
    /// instance. Move first, then rename the manifest entry. The history records the move
    /// under both addresses.
    Mv(MoveArgs),
    /// Copy the state to another backend, every group and unfinished call included.
    ///
    /// The source is the state the usual settings choose (`--backend`, `--state`,
    /// `--workspace`); the destination is `--to`. Both are locked during the copy, and the
    /// source is left as it was. A destination without a state gets the source's, lineage
    /// included; one with an older version of the same lineage is brought up to it; one
    /// with another lineage, or with changes the source lacks, is refused and left as it was.
    Migrate(MigrateArgs),
}

#[derive(Debug, Args)]
struct ListArgs {
    #[command(flatten)]
    state: StateArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = StateFormat::Text)]
    format: StateFormat,
}

#[derive(Debug, Args)]
struct ShowArgs {
    /// The job group, `regionId/instanceId/name`.
    #[arg(value_name = "ADDRESS")]
    address: Address,
    #[command(flatten)]
    state: StateArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = StateFormat::Text)]
    format: StateFormat,
}

#[derive(Debug, Args)]
struct RemoveArgs {
    /// The job groups to forget, `regionId/instanceId/name`.
    #[arg(value_name = "ADDRESS", required = true)]
    addresses: Vec<Address>,
    #[command(flatten)]
    state: StateArgs,
}

#[derive(Debug, Args)]
struct MoveArgs {
    /// The address the state records the group under.
    #[arg(value_name = "OLD")]
    source: Address,
    /// The new address, in the same region and instance.
    #[arg(value_name = "NEW")]
    destination: Address,
    #[command(flatten)]
    state: StateArgs,
}

#[derive(Debug, Args)]
struct MigrateArgs {
    #[command(flatten)]
    state: StateArgs,
    /// The destination: `local` (the file `--to-state` names) or a PostgreSQL connection
    /// string.
    #[arg(long = "to", value_name = "BACKEND")]
    to: String,
    /// The destination file when `--to local`.
    #[arg(long = "to-state", value_name = "PATH", default_value = DEFAULT_STATE_PATH)]
    to_state: PathBuf,
    /// The destination workspace when `--to` is PostgreSQL (default `default`).
    #[arg(long = "to-workspace", value_name = "NAME")]
    to_workspace: Option<String>,
}

/// How `state list` and `state show` print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StateFormat {
    /// Human-readable text.
    Text,
    /// JSON (`docs/state.md`).
    Json,
}

/// Why a state command refused; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum StateCommandError {
    /// `migrate` with the same state on both sides.
    #[error("`--to` names the state being copied, `{location}`: name another backend or workspace")]
    SameState {
        /// The state.
        location: String,
    },
}

pub(super) async fn run(args: StateCommandArgs) -> anyhow::Result<Outcome> {
    match args.command {
        StateCommand::List(args) => list(args).await,
        StateCommand::Show(args) => show(args).await,
        StateCommand::Rm(args) => remove(args).await,
        StateCommand::Mv(args) => move_group(args).await,
        StateCommand::Migrate(args) => migrate_state(args).await,
    }
}

async fn open(state: &StateArgs, command: &str) -> anyhow::Result<AnyBackend> {
    backend::open_state(state, command, &process_environment()).await
}

/// The state, for a command that only reads it.
async fn load(backend: &AnyBackend) -> anyhow::Result<Option<State>> {
    Ok(announced(backend.load().await?))
}

fn announced(recovered: Recovered) -> Option<State> {
    for warning in &recovered.warnings {
        eprintln!("warning: {warning}");
    }
    recovered.state
}

/// Records a state edit with who makes it, from where and at which commit: git runs in the
/// current directory, where the manifests usually are. Collected before the state is
/// locked, as for apply; no manifest line and no call are behind an edit.
fn edit_provenance() -> RunContext {
    RunContext::collect_inputs(
        &[Input::Path(PathBuf::from("."))],
        None,
        &process_environment(),
    )
}

fn no_state(backend: &AnyBackend) -> StateEditError {
    StateEditError::NoState {
        path: backend.location(),
    }
}

async fn list(args: ListArgs) -> anyhow::Result<Outcome> {
    let backend = open(&args.state, "cityform state list").await?;
    let state = load(&backend).await?;
    backend.close().await?;
    let text = match args.format {
        StateFormat::Text => render::state::list_text(state.as_ref()),
        StateFormat::Json => render::state::list_json(state.as_ref())?,
    };
    output::print(&text)?;
    Ok(Outcome::Success)
}

async fn show(args: ShowArgs) -> anyhow::Result<Outcome> {
    let backend = open(&args.state, "cityform state show").await?;
    let state = load(&backend).await?.ok_or_else(|| no_state(&backend))?;
    let this_group = std::collections::BTreeSet::from([args.address.clone()]);
    let history = backend
        .history(&state, HistorySelection::Groups(&this_group))
        .await?;
    backend.close().await?;
    let entry = state
        .job_groups
        .get(&args.address)
        .ok_or_else(|| StateEditError::NotRecorded {
            address: args.address.clone(),
        })?;
    // The last recorded change and where it came from (`docs/provenance.md`).
    let last_change = history.latest(&args.address);
    let text = match args.format {
        StateFormat::Text => render::state::entry_text(&args.address, entry, last_change),
        StateFormat::Json => render::state::entry_json(&args.address, entry, last_change)?,
    };
    output::print(&text)?;
    Ok(Outcome::Success)
}

async fn remove(args: RemoveArgs) -> anyhow::Result<Outcome> {
    let provenance = edit_provenance();
    let backend = open(&args.state, "cityform state rm").await?;
    let forgotten = edit::forget(
        &backend,
        &args.addresses,
        Some(&provenance),
        &mut |warning| eprintln!("warning: {warning}"),
    )
    .await?;
    backend.close().await?;
    let mut text = String::new();
    for Forgotten {
        address,
        job_group_id,
    } in forgotten
    {
        let _ = writeln!(
            text,
            "Removed `{address}` (id {job_group_id}) from the state. The job group itself was not deleted, and cityform no longer manages it."
        );
    }
    output::print(&text)?;
    Ok(Outcome::Success)
}

async fn move_group(args: MoveArgs) -> anyhow::Result<Outcome> {
    let (source, destination) = (&args.source, &args.destination);
    let provenance = edit_provenance();
    let backend = open(&args.state, "cityform state mv").await?;
    let job_group_id = edit::move_group(
        &backend,
        source,
        destination,
        Some(&provenance),
        &mut |warning| eprintln!("warning: {warning}"),
    )
    .await?;
    backend.close().await?;
    output::print(&format!(
        "Moved `{source}` to `{destination}` (id {job_group_id}). The job group is still named `{}` in the service: the next apply renames it to `{}`.\n",
        source.name, destination.name
    ))?;
    Ok(Outcome::Success)
}

/// The destination of `state migrate`, chosen as `--backend` would be but from `--to`.
fn destination(args: &MigrateArgs) -> anyhow::Result<BackendChoice> {
    let destination = StateArgs {
        state: args.to_state.clone(),
        lock_timeout: args.state.lock_timeout,
        backend: BackendArgs {
            backend: Some(args.to.clone()),
            workspace: args.to_workspace.clone(),
        },
    };
    // Only `--to*` count: the environment and `cityform.yaml` describe the source.
    Ok(backend::resolve(
        &destination,
        &std::collections::BTreeMap::new(),
        None,
    )?)
}

async fn migrate_state(args: MigrateArgs) -> anyhow::Result<Outcome> {
    let source = backend::choose(&args.state, &process_environment())?;
    let target = destination(&args)?;
    if source == target {
        return Err(StateCommandError::SameState {
            location: target.shown(),
        }
        .into());
    }
    let options = LockOptions::new("cityform state migrate").with_timeout(args.state.lock_timeout);
    let from = backend::open(&source, &options).await?;
    let to = backend::open(&target, &options).await?;
    let report = migrate(&from, &to).await?;
    let (from_location, to_location) = (from.location(), to.location());
    to.close().await?;
    from.close().await?;
    output::print(&describe_migration(&report, &from_location, &to_location))?;
    Ok(Outcome::Success)
}

/// What `state migrate` did, in one sentence.
fn describe_migration(report: &MigrateReport, from: &str, to: &str) -> String {
    let lineage = report.lineage.as_deref().unwrap_or_default();
    let serial = report.serial.unwrap_or_default();
    let unresolved = match report.unresolved {
        0 => String::new(),
        count => format!(", {count} call(s) of unknown outcome"),
    };
    match report.outcome {
        MigrateOutcome::NothingToCopy => {
            format!("`{from}` holds no state: nothing was copied to `{to}`.\n")
        }
        MigrateOutcome::Created => format!(
            "Copied state lineage `{lineage}` ({} job group(s){unresolved}) from `{from}` to `{to}`, where it is at serial {serial}.\n",
            report.job_groups
        ),
        MigrateOutcome::Updated { records: 0 } => format!(
            "`{to}` already holds what `{from}` holds: state lineage `{lineage}`, {} job group(s){unresolved}, serial {serial}; nothing was changed.\n",
            report.job_groups
        ),
        MigrateOutcome::Updated { records } => format!(
            "Brought `{to}` up to `{from}` with {records} change(s): state lineage `{lineage}`, {} job group(s){unresolved}, serial {serial}.\n",
            report.job_groups
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_migration_says_what_it_did() {
        let report = |outcome, job_groups, unresolved| MigrateReport {
            outcome,
            lineage: Some("3f1c".to_owned()),
            job_groups,
            unresolved,
            serial: Some(12),
        };
        let (from, to) = (".cityform/state.json", "postgres://app@db/cityform#default");
        let text = [
            describe_migration(&report(MigrateOutcome::Created, 57, 0), from, to),
            describe_migration(&report(MigrateOutcome::Created, 3, 1), from, to),
            describe_migration(
                &report(MigrateOutcome::Updated { records: 0 }, 57, 0),
                from,
                to,
            ),
            describe_migration(
                &report(MigrateOutcome::Updated { records: 4 }, 55, 0),
                to,
                from,
            ),
            describe_migration(
                &MigrateReport {
                    outcome: MigrateOutcome::NothingToCopy,
                    lineage: None,
                    job_groups: 0,
                    unresolved: 0,
                    serial: None,
                },
                from,
                to,
            ),
        ]
        .concat();
        insta::assert_snapshot!(text, @r"
        Copied state lineage `3f1c` (57 job group(s)) from `.cityform/state.json` to `postgres://app@db/cityform#default`, where it is at serial 12.
        Copied state lineage `3f1c` (3 job group(s), 1 call(s) of unknown outcome) from `.cityform/state.json` to `postgres://app@db/cityform#default`, where it is at serial 12.
        `postgres://app@db/cityform#default` already holds what `.cityform/state.json` holds: state lineage `3f1c`, 57 job group(s), serial 12; nothing was changed.
        Brought `.cityform/state.json` up to `postgres://app@db/cityform#default` with 4 change(s): state lineage `3f1c`, 55 job group(s), serial 12.
        `.cityform/state.json` holds no state: nothing was copied to `postgres://app@db/cityform#default`.
        ");
    }
}
