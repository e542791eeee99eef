//! `cityform refresh`: bring the state up to date with the live job groups, changing nothing
//! in the service.

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use super::settings::{CloudArgs, StateArgs, process_environment};
use super::{Outcome, output};
use crate::apply::refresh::{Finding, observe, recorded_instances, refresh_state};
use crate::render;
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
        RefreshFormat::Json => render::refresh::json(instances, unchanged, findings)?,
        RefreshFormat::Text => render::refresh::text(instances, unchanged, findings),
    };
    output::print(&text)?;
    Ok(Outcome::Success)
}
