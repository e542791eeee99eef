//! `cityform history [ADDRESS] [--since TIME] [--limit N] [--format text|json]`: the actions
//! recorded beside the state, newest first, with their provenance. Reads the state store only
//! (of the history, only the group asked for); never calls the service.

use std::collections::BTreeSet;

use clap::{Args, ValueEnum};
use time::OffsetDateTime;

use super::settings::StateArgs;
use super::{Outcome, output};
use crate::model::Address;
use crate::state::Backend as _;
use crate::state::{History, HistorySelection, InvalidSince, parse_since};

/// Arguments of `cityform history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Only the actions on this job group, `regionId/instanceId/name`.
    #[arg(value_name = "ADDRESS")]
    address: Option<Address>,
    /// Only the actions recorded at or after this time: an RFC 3339 time
    /// (`2026-11-27T08:00:00Z`), a date (`2026-11-01`, midnight UTC) or a duration ago
    /// (`90m`, `24h`, `7d`, `2w`).
    #[arg(long, value_name = "TIME", value_parser = since_argument)]
    since: Option<OffsetDateTime>,
    /// At most this many actions, the newest.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = HistoryFormat::Text)]
    format: HistoryFormat,
    #[command(flatten)]
    state: StateArgs,
}

/// How `history` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum HistoryFormat {
    /// A table, one action per line.
    Text,
    /// JSON (`docs/provenance.md`).
    Json,
}

/// Reads `--since` as the arguments are parsed (before the state is locked, so that a typo
/// costs no wait); a duration counts back from now.
fn since_argument(text: &str) -> Result<OffsetDateTime, InvalidSince> {
    parse_since(text, OffsetDateTime::now_utc())
}

pub(super) async fn run(args: HistoryArgs) -> anyhow::Result<Outcome> {
    let backend = super::backend::open_state(
        &args.state,
        "cityform history",
        &super::settings::process_environment(),
    )
    .await?;
    let recovered = backend.load().await?;
    for warning in &recovered.warnings {
        eprintln!("warning: {warning}");
    }
    let history = match &recovered.state {
        Some(state) => {
            let selected;
            let selection = match &args.address {
                Some(address) => {
                    selected = BTreeSet::from([address.clone()]);
                    HistorySelection::Groups(&selected)
                }
                None => HistorySelection::All,
            };
            backend.history(state, selection).await?
        }
        None => History::default(),
    };
    backend.close().await?;
    let mut entries = history.select(args.address.as_ref(), args.since);
    if let Some(limit) = args.limit {
        entries.truncate(limit);
    }
    let text = match args.format {
        HistoryFormat::Text => crate::render::history::render_text(&entries),
        HistoryFormat::Json => crate::render::history::render_json(&entries)?,
    };
    output::print(&text)?;
    Ok(Outcome::Success)
}
