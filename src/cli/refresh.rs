//! `cityform refresh`: bring the state up to date with the live job groups, changing nothing
//! in the service.

use std::fmt::Write as _;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use serde::Serialize;

use super::settings::{CloudArgs, StateArgs, process_environment};
use super::{Outcome, output};
use crate::apply::refresh::{Finding, observe, recorded_instances, refresh_state};
use crate::state::Backend as _;

/// Arguments of `cityform refresh`.
#[derive(Debug, Args)]
pub struct RefreshArgs {
    #[command(flatten)]
    state: StateArgs,
    #[command(flatten)]
    cloud: CloudArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RefreshFormat::Text)]
    format: RefreshFormat,
}

/// How `refresh` prints what it found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum RefreshFormat {
    /// Human-readable text.
    Text,
    /// JSON.
    Json,
}

#[derive(Serialize)]
struct RefreshDocument<'a> {
    format_version: u32,
    kind: &'static str,
    instances: usize,
    unchanged: usize,
    findings: &'a [Finding],
}

pub(super) async fn run(args: RefreshArgs) -> anyhow::Result<Outcome> {
    let environment = process_environment();
    let connection = super::connect::open(&args.cloud, &environment)?;
    let backend = super::backend::open_state(&args.state, "cityform refresh", &environment).await?;
    let recovered = backend.load_to_change().await?;
    for warning in &recovered.warnings {
        eprintln!("warning: {warning}");
    }
    let Some(state) = recovered.state else {
        backend.close().await?;
        return print(&args, 0, 0, &[]);
    };
    let instances = recorded_instances(&state);
    let observed = if instances.is_empty() {
        crate::plan::Observed::default()
    } else {
        observe(connection.client().await?, &instances, Some(&state))
            .await
            .context("cannot refresh; the state was not changed")?
    };
    let refresh = refresh_state(&state, &observed);
    if !refresh.records.is_empty() {
        backend.append(&refresh.records).await?;
        backend.compact().await?;
    }
    backend.close().await?;
    print(&args, instances.len(), refresh.unchanged, &refresh.findings)
}

fn print(
    args: &RefreshArgs,
    instances: usize,
    unchanged: usize,
    findings: &[Finding],
) -> anyhow::Result<Outcome> {
    let text = match args.format {
        RefreshFormat::Json => {
            let mut text = serde_json::to_string_pretty(&RefreshDocument {
                format_version: 1,
                kind: "refresh",
                instances,
                unchanged,
                findings,
            })?;
            text.push('\n');
            text
        }
        RefreshFormat::Text => render(instances, unchanged, findings),
    };
    output::print(&text)?;
    Ok(Outcome::Success)
}

fn render(instances: usize, unchanged: usize, findings: &[Finding]) -> String {
    let mut text = String::new();
    for finding in findings {
        match finding {
            Finding::Changed {
                address,
                job_group_id,
                changes,
                status_before,
                status_after,
            } => {
                let _ = writeln!(
                    text,
                    "{address} [id={job_group_id}]: changed outside cityform; the state now records it as it is"
                );
                for change in changes {
                    let _ = writeln!(
                        text,
                        "    {} = {} -> {}",
                        change.attribute,
                        change.before.as_deref().unwrap_or("(unset)"),
                        change.after.as_deref().unwrap_or("(unset)")
                    );
                }
                if status_before != status_after {
                    let name = |status: &Option<crate::model::Status>| {
                        status.map_or("(unknown)", |status| status.as_str())
                    };
                    let _ = writeln!(
                        text,
                        "    status = {} -> {}",
                        name(status_before),
                        name(status_after)
                    );
                }
            }
            Finding::Gone {
                address,
                job_group_id,
            } => {
                let _ = writeln!(
                    text,
                    "{address} [id={job_group_id}]: no longer exists (deleted outside cityform); removed from the state"
                );
            }
            Finding::Renamed {
                address,
                job_group_id,
                live_name,
            } => {
                let _ = writeln!(
                    text,
                    "{address} [id={job_group_id}]: renamed outside cityform to `{live_name}`; the state keeps its address, so the next apply renames it back (or `cityform state mv` adopts the new name)"
                );
            }
        }
    }
    if !findings.is_empty() {
        text.push('\n');
    }
    let _ = writeln!(
        text,
        "Refreshed {instances} instance(s): {} finding(s), {unchanged} job group(s) as recorded.",
        findings.len()
    );
    text
}
