//! `cityform plan`: compare the manifests with the state and show what apply would do.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::PathBuf;

use clap::Args;

use super::connect::manifest_options;
use super::interaction::{NoticesOnly, into_anyhow};
use super::settings::{
    CloudArgs, ManifestArgs, OutputArgs, PlanningArgs, StateArgs, process_environment,
};
use super::{Outcome, output, output_file};
use crate::manifest;
use crate::plan::{self, Plan};
use crate::reconcile::{self, Planned};
use crate::render::{self, Format, LastApplied};
use crate::state::AnyBackend;

/// What `--out` writes, as messages name it.
const SAVED_PLAN: &str = "saved plan";

/// Arguments of `cityform plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    manifests: ManifestArgs,
    #[command(flatten)]
    state: StateArgs,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    planning: PlanningArgs,
    #[command(flatten)]
    cloud: CloudArgs,
    /// Also list the live job groups that no state records.
    ///
    /// They are found in the instances the manifests use, which the refresh lists anyway.
    /// The groups listed are never changed; an `Import` document (or `cityform import`)
    /// adopts one.
    #[arg(long)]
    show_unmanaged: bool,
    /// Write the plan to FILE, for `cityform apply FILE` to carry out exactly.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Exit 2 when `apply` with the same flags would call the service or change the state, 0
    /// when it would not, 1 on error.
    ///
    /// Orphans left alone (no `--prune`) are listed but are not changes: a plan of orphans
    /// only exits 0.
    #[arg(long)]
    detailed_exitcode: bool,
}

pub(super) async fn run(args: PlanArgs) -> anyhow::Result<Outcome> {
    let environment = process_environment();
    let desired = manifest::load_with(
        &args.manifests.inputs(),
        &manifest_options(args.cloud.profile.clone(), &environment),
    )?;
    output::report_warnings(&desired.warnings);
    let backend = super::backend::open_state(&args.state, "cityform plan", &environment).await?;
    let state_files = match &backend {
        AnyBackend::Local(local) => Some(local.paths().clone()),
        AnyBackend::Postgres(_) => None,
    };
    if let Some(out) = &args.out {
        // Before any work: a plan that cannot be saved is not worth computing.
        output_file::check_target(out, SAVED_PLAN, state_files.as_ref())?;
    }
    let connection = super::connect::open(&args.cloud, &environment)?;
    let planned = reconcile::plan(
        &backend,
        &connection,
        desired,
        &args.planning.request(args.show_unmanaged),
        &mut NoticesOnly,
    )
    .await
    .map_err(into_anyhow)?;
    // Released at once, so that a command run right after does not find it held.
    backend.close().await?;
    let Planned { plan, last_applied } = planned;
    print_plan(&plan, &args.output, &last_applied, &environment)?;
    super::step_summary::publish(&environment, || {
        render::plan_markdown::render_plan_with(&plan, &last_applied)
    });
    reconcile::refuse_unappliable(&plan)?;
    if let Some(out) = &args.out {
        // With the notes printed beside it, so that `cityform show` prints it as it was shown.
        let bytes = plan::saved::to_bytes_with_shown(&plan, &last_applied)?;
        output_file::write_output_file(out, SAVED_PLAN, &bytes, state_files.as_ref())?;
        if args.output.format == Format::Text {
            output::print(&format!(
                "\nSaved the plan to `{}`. Apply exactly this plan with: cityform apply {}\n",
                out.display(),
                out.display()
            ))?;
        }
    }
    if args.detailed_exitcode && plan.actions.iter().any(reconcile::changes_something) {
        return Ok(Outcome::ChangesPresent);
    }
    Ok(Outcome::Success)
}

/// Prints a plan to standard output in the requested format.
/// `last_applied` says where each update and orphan was last applied from; `environment`
/// decides colour (`NO_COLOR`).
pub(super) fn print_plan(
    plan: &Plan,
    output: &OutputArgs,
    last_applied: &LastApplied,
    environment: &BTreeMap<String, String>,
) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let text = match output.format {
        Format::Text => {
            let color = output.color(stdout.is_terminal(), environment);
            render::plan_text::render_plan_with(plan, color, last_applied)
        }
        Format::Json => return output::print_json_plan(plan, last_applied),
        Format::Markdown => render::plan_markdown::render_plan_with(plan, last_applied),
    };
    output::print(&text)?;
    Ok(())
}
