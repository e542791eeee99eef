//! `cityform plan`: compare the manifests with the state and show what apply would do.

use std::io::{BufWriter, IsTerminal as _, Write as _};
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use super::Outcome;
use super::settings::{ManifestArgs, OutputArgs, StateArgs, process_environment};
use crate::manifest;
use crate::plan::{self, Plan};
use crate::render::{self, Format};
use crate::state::atomic::replace_file;
use crate::state::{Backend as _, LocalBackend, LockOptions};

/// Arguments of `cityform plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    manifests: ManifestArgs,
    #[command(flatten)]
    state: StateArgs,
    #[command(flatten)]
    output: OutputArgs,
    /// Write the plan to FILE, for `cityform apply FILE` to carry out exactly.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    detailed_exitcode: bool,
}

pub(super) async fn run(args: PlanArgs) -> anyhow::Result<Outcome> {
    let desired = manifest::load(&args.manifests.inputs())?;
    let backend = LocalBackend::open(
        &args.state.state,
        &LockOptions::new("cityform plan").with_timeout(args.state.lock_timeout),
    )?;
    let recovered = backend.load().await?;
    for warning in &recovered.warnings {
        eprintln!("warning: {warning}");
    }
    let plan = plan::compute_owned(desired, recovered.state.as_ref());
    print_plan(&plan, &args.output)?;
    if let Some(out) = &args.out {
        let bytes = plan::saved::to_bytes(&plan)?;
        replace_file(out, &bytes)
            .with_context(|| format!("could not write the saved plan `{}`", out.display()))?;
        if args.output.format == Format::Text {
            println!(
                "\nSaved the plan to `{}`. Apply exactly this plan with: cityform apply {}",
                out.display(),
                out.display()
            );
        }
    }
    if args.detailed_exitcode && !plan.is_empty() {
        return Ok(Outcome::ChangesPresent);
    }
    Ok(Outcome::Success)
}

/// Prints a plan to standard output in the requested format.
pub(super) fn print_plan(plan: &Plan, output: &OutputArgs) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let text = match output.format {
        Format::Text => {
            let color = output.color(stdout.is_terminal(), &process_environment());
            render::text::render_plan(plan, color)
        }
        Format::Json => {
            // Streamed: a plan of 100,000 groups is tens of megabytes of JSON.
            let mut writer = BufWriter::new(stdout.lock());
            render::json::write_plan(plan, &mut writer)?;
            writer.flush()?;
            return Ok(());
        }
        Format::Markdown => render::markdown::render_plan(plan),
    };
    let mut lock = stdout.lock();
    lock.write_all(text.as_bytes())?;
    lock.flush()?;
    Ok(())
}
