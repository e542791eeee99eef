//! `cityform validate`: load the manifests and report every problem, changing nothing: for
//! people on standard error, and with `--format` for programs and CI systems on standard
//! output (JSON, GitHub annotations, a GitLab code-quality report). Exit 1 when there are
//! errors, whatever the format.

use clap::{Args, ValueEnum};

use super::connect::manifest_options;
use super::settings::{ManifestArgs, process_environment};
use super::{Outcome, output};
use crate::manifest::{self, Diagnostic};
use crate::render::validation;

/// Arguments of `cityform validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    manifests: ManifestArgs,
    /// What to print on standard output; the problems are also written for people on
    /// standard error, as with `text`.
    #[arg(long, value_enum, default_value_t = ValidateFormat::Text)]
    format: ValidateFormat,
}

/// How `validate` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ValidateFormat {
    /// For people: problems on standard error, a line saying the manifests are valid.
    Text,
    /// A versioned JSON document of every problem (`docs/json-output.md`).
    Json,
    /// GitHub Actions workflow commands: each problem as an annotation on its line.
    Github,
    /// A GitLab code-quality report, for `artifacts:reports:codequality`.
    Gitlab,
}

pub(super) fn run(args: ValidateArgs) -> anyhow::Result<Outcome> {
    let environment = process_environment();
    let loaded = manifest::load_with(
        &args.manifests.inputs(),
        &manifest_options(None, &environment),
    );
    let (problems, job_groups): (Vec<Diagnostic>, _) = match &loaded {
        Ok(desired) => (desired.warnings.clone(), Some(desired.groups.len())),
        Err(diagnostics) => (diagnostics.iter().cloned().collect(), None),
    };
    let document = match args.format {
        ValidateFormat::Text => None,
        ValidateFormat::Json => Some(validation::render_json(&problems, job_groups)?),
        ValidateFormat::Github => Some(validation::render_github(&problems)),
        ValidateFormat::Gitlab => Some(validation::render_gitlab(&problems)?),
    };
    if let Some(document) = &document {
        output::print(document)?;
    }
    let desired = loaded?;
    output::report_warnings(&desired.warnings);
    let count = desired.groups.len();
    let noun = if count == 1 {
        "job group"
    } else {
        "job groups"
    };
    let valid = format!("The manifests are valid: {count} {noun}.\n");
    if document.is_some() {
        // Standard output holds the document alone.
        eprint!("{valid}");
    } else {
        output::print(&valid)?;
    }
    Ok(Outcome::Success)
}
