//! `cityform validate`: load the manifests and report every problem, changing nothing.

use clap::Args;

use super::connect::manifest_options;
use super::settings::{ManifestArgs, process_environment};
use super::{Outcome, output};
use crate::manifest;

/// Arguments of `cityform validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    manifests: ManifestArgs,
}

pub(super) fn run(args: ValidateArgs) -> anyhow::Result<Outcome> {
    let environment = process_environment();
    let desired = manifest::load_with(
        &args.manifests.inputs(),
        &manifest_options(None, &environment),
    )?;
    output::report_warnings(&desired.warnings);
    let count = desired.groups.len();
    let noun = if count == 1 {
        "job group"
    } else {
        "job groups"
    };
    output::print(&format!("The manifests are valid: {count} {noun}.\n"))?;
    Ok(Outcome::Success)
}
