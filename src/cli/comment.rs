//! `cityform comment github|gitlab PLANFILE`: post a saved plan on the pull (or merge)
//! request the CI job runs for, as one comment updated in place on every push, or as
//! several in order when it is too long for one.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use super::settings::process_environment;
use super::{Outcome, output};
use crate::forge::{Platform, Thread};
use crate::render::comment::{MAX_BODY, comment_bodies};
use crate::render::plan_markdown::render_plan_within;

/// Arguments of `cityform comment`.
#[derive(Debug, Args)]
pub struct CommentArgs {
    /// Where the pull request lives: `github` (pull request comments) or `gitlab` (merge
    /// request notes).
    #[arg(value_name = "PLATFORM")]
    platform: Platform,
    /// A plan saved by `cityform plan --out FILE`.
    #[arg(value_name = "PLANFILE")]
    plan_file: PathBuf,
    /// Which plan comment to keep up to date: one per key, so that plans of several
    /// directories or workspaces each keep their own.
    #[arg(long, value_name = "KEY", default_value = "default")]
    key: String,
    /// The pull (merge) request; by default the one the CI job runs for.
    #[arg(long, value_name = "NUMBER")]
    number: Option<u64>,
}

pub(super) async fn run(args: CommentArgs) -> anyhow::Result<Outcome> {
    if args.key.is_empty()
        || !args
            .key
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || "._-/".contains(character))
    {
        anyhow::bail!(
            "--key `{}`: use letters, digits, `.`, `_`, `-` and `/` only",
            crate::model::printable(&args.key)
        );
    }
    let environment = process_environment();
    let thread = Thread::from_environment(args.platform, &environment, args.number)?;
    let (plan, last_applied) = super::show::read_saved_plan(&args.plan_file)?;
    let markdown = render_plan_within(&plan, &last_applied, usize::MAX);
    let bodies = comment_bodies(&markdown, &args.key, MAX_BODY);
    let published = thread
        .publish(&args.key, &bodies)
        .await
        .with_context(|| format!("could not post the plan on {}", thread.name))?;
    let parts = bodies.len();
    let mut text = if parts == 1 {
        format!("The plan is on {}", thread.name)
    } else {
        format!(
            "The plan is on {} in {parts} comments: it is longer than one comment can hold",
            thread.name
        )
    };
    text.push_str(&format!(
        " ({} created, {} updated, {} unchanged, {} deleted).\n",
        published.created, published.updated, published.unchanged, published.deleted
    ));
    output::print(&text)?;
    Ok(Outcome::Success)
}
