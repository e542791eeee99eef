//! `cityform show PLANFILE`: print a saved plan exactly as `plan` printed it when it was
//! saved, in any format, so that a CI job can post the plan it is about to apply.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use super::Outcome;
use super::plan::print_plan;
use super::settings::{OutputArgs, process_environment};
use crate::plan;
use crate::render::LastApplied;

/// Arguments of `cityform show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan saved by `cityform plan --out FILE`.
    #[arg(value_name = "PLANFILE")]
    plan_file: PathBuf,
    #[command(flatten)]
    output: OutputArgs,
}

pub(super) fn run(args: &ShowArgs) -> anyhow::Result<Outcome> {
    let file = &args.plan_file;
    let bytes = std::fs::read(file)
        .with_context(|| format!("could not read the saved plan `{}`", file.display()))?;
    let (plan, last_applied) =
        plan::saved::from_bytes_with_shown::<LastApplied>(&file.display().to_string(), &bytes)?;
    // A plan saved by a build that did not keep the notes is shown without them.
    let last_applied = last_applied.unwrap_or_default();
    print_plan(&plan, &args.output, &last_applied, &process_environment())?;
    Ok(Outcome::Success)
}
