//! `cityform show PLANFILE`: print a saved plan exactly as `plan` printed it when it was
//! saved, in any format, so that a CI job can post the plan it is about to apply.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;

use super::Outcome;
use super::plan::print_plan;
use super::settings::{OutputArgs, process_environment};
use crate::plan::{self, Plan};
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
    let (plan, last_applied) = read_saved_plan(&args.plan_file)?;
    print_plan(&plan, &args.output, &last_applied, &process_environment())?;
    Ok(Outcome::Success)
}

/// A saved plan and the notes `plan` printed beside it, checksum verified.
pub(super) fn read_saved_plan(file: &Path) -> anyhow::Result<(Plan, LastApplied)> {
    let bytes = std::fs::read(file)
        .with_context(|| format!("could not read the saved plan `{}`", file.display()))?;
    let (plan, last_applied) =
        plan::saved::from_bytes_with_shown::<LastApplied>(&file.display().to_string(), &bytes)?;
    // A plan saved by a build that did not keep the notes is shown without them.
    Ok((plan, last_applied.unwrap_or_default()))
}
