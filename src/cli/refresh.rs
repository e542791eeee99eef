//! `cityform refresh`: bring the state up to date with the live job groups, changing nothing
//! in the service.

use clap::{Args, ValueEnum};

use super::interaction::{NoticesOnly, into_anyhow};
use super::settings::{CloudArgs, StateArgs, process_environment};
use super::{Outcome, output};
use crate::apply::refresh::Finding;
use crate::reconcile;
use crate::render;

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
    let refreshed = reconcile::refresh_state(&backend, &connection, &mut NoticesOnly)
        .await
        .map_err(into_anyhow)?;
    backend.close().await?;
    print(
        &args,
        refreshed.instances,
        refreshed.unchanged,
        &refreshed.findings,
    )
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
