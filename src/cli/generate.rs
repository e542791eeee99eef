//! `cityform generate --instance REGION/INSTANCE [--out DIR]`: writes the `JobGroup` and
//! `Import` documents that adopt every live group of an instance the state does not manage,
//! so that adopting an existing instance is one reviewed pull request.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::Context as _;
use clap::Args;

use super::settings::{CloudArgs, StateArgs, process_environment};
use super::{Outcome, output};
use crate::manifest::write::{self, Generated, IMPORTS_FILE, LiveDocument};
use crate::model::{Address, LiveStatus, printable};
use crate::state::Backend as _;

/// Arguments of `cityform generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The instance whose groups to write, `regionId/instanceId`.
    #[arg(long, value_name = "REGION/INSTANCE")]
    instance: InstanceArg,
    /// Write one file per group and `imports.yaml` into DIR (created when missing; no file
    /// in it is ever replaced). Without it, every document is printed to standard output.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    #[command(flatten)]
    state: StateArgs,
    #[command(flatten)]
    cloud: CloudArgs,
}

/// `regionId/instanceId`, as `--instance` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct InstanceArg {
    region_id: String,
    instance_id: String,
}

impl FromStr for InstanceArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let part_ok = |part: &str| {
            !part.is_empty() && !part.contains('/') && !part.chars().any(char::is_whitespace)
        };
        match text.split_once('/') {
            Some((region, instance))
                if part_ok(region) && part_ok(instance) && printable(text) == text =>
            {
                Ok(Self {
                    region_id: region.to_owned(),
                    instance_id: instance.to_owned(),
                })
            }
            _ => Err(format!(
                "`{}` is not `regionId/instanceId` (for example `cn-shanghai/cityvisual-Instance`)",
                printable(text)
            )),
        }
    }
}

impl fmt::Display for InstanceArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.region_id, self.instance_id)
    }
}

pub(super) async fn run(args: GenerateArgs) -> anyhow::Result<Outcome> {
    let environment = process_environment();
    let instance = &args.instance;
    if let Some(out) = &args.out {
        // Before any call: a directory that cannot take the files is not worth listing for.
        if out.exists() && !out.is_dir() {
            anyhow::bail!("`{}` is not a directory", out.display());
        }
    }
    let backend =
        super::backend::open_state(&args.state, "cityform generate", &environment).await?;
    let recovered = backend.load().await?;
    backend.close().await?;
    let managed: std::collections::BTreeSet<String> = recovered
        .state
        .iter()
        .flat_map(|state| state.job_groups.iter())
        .filter(|(address, _)| {
            address.region_id == instance.region_id && address.instance_id == instance.instance_id
        })
        .map(|(_, entry)| entry.job_group_id.clone())
        .collect();
    let connection = super::connect::open(&args.cloud, &environment)?;
    let client = connection.client().await?;
    let live = client
        .list_all_job_groups(&instance.region_id, &instance.instance_id)
        .await
        .with_context(|| format!("cannot list the job groups of instance `{instance}`"))?;
    let listed = live.len();
    let mut groups: Vec<LiveDocument> = live
        .into_iter()
        .filter(|group| !managed.contains(&group.job_group_id))
        .map(|group| LiveDocument {
            address: Address::new(&instance.region_id, &instance.instance_id, &group.name),
            spec: group.to_spec(),
            status: match LiveStatus::parse(&group.status) {
                Some(LiveStatus::Settled(status)) => Some(status),
                _ => None,
            },
            job_group_id: group.job_group_id,
        })
        .collect();
    groups.sort_by(|left, right| left.address.cmp(&right.address));
    let generated = write::generated(&groups)?;
    for (address, key) in &generated.unknown_params {
        eprintln!(
            "warning: `{address}`: param `{}` is not one cityform knows; it was left out, and stays as it is",
            printable(key)
        );
    }
    for (address, why) in &generated.skipped {
        eprintln!("warning: `{address}` was left out: {why}");
    }
    let written = generated.files.len();
    let left_alone = listed - groups.len();
    if written == 0 {
        output::print(&format!(
            "Nothing to generate: instance `{instance}` has {listed} job group(s), {left_alone} managed by this state.\n"
        ))?;
        return Ok(Outcome::Success);
    }
    let summary = format!(
        "{written} job group(s) of `{instance}` that this state does not manage ({left_alone} it manages were left out)"
    );
    match &args.out {
        Some(out) => {
            write_files(out, &generated)?;
            output::print(&format!(
                "Wrote {summary} to `{}`: a file per group and `{IMPORTS_FILE}`.\n\
                 Review them, then `cityform plan` shows {written} import(s) and nothing to create; \
                 delete `{IMPORTS_FILE}` once they are applied.\n",
                out.display()
            ))?;
        }
        None => {
            output::print(&stream(&generated))?;
            eprintln!("Printed {summary}.");
        }
    }
    Ok(Outcome::Success)
}

/// Every document as one YAML stream: each group's `JobGroup`, then the `Import`s.
fn stream(generated: &Generated) -> String {
    let mut documents: Vec<&str> = generated
        .files
        .iter()
        .map(|(_, text)| text.as_str())
        .collect();
    documents.push(&generated.imports);
    documents.join("---\n")
}

/// Writes every file into `out`, creating it when missing. A file that already exists is
/// never replaced: when any does, nothing is written.
fn write_files(out: &Path, generated: &Generated) -> anyhow::Result<()> {
    let files: Vec<(PathBuf, &str)> = generated
        .files
        .iter()
        .map(|(name, text)| (out.join(name), text.as_str()))
        .chain(std::iter::once((
            out.join(IMPORTS_FILE),
            generated.imports.as_str(),
        )))
        .collect();
    let existing: Vec<String> = files
        .iter()
        .filter(|(path, _)| path.exists())
        .map(|(path, _)| format!("`{}`", path.display()))
        .collect();
    if !existing.is_empty() {
        anyhow::bail!(
            "not replacing {} file(s) that already exist: {}; nothing was written. Choose another --out directory, or move them away",
            existing.len(),
            existing.join(", ")
        );
    }
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create the directory `{}`", out.display()))?;
    for (path, text) in files {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .with_context(|| format!("cannot create `{}`", path.display()))?;
        file.write_all(text.as_bytes())
            .with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn an_instance_is_two_parts_and_nothing_else() {
        let parsed: InstanceArg = "cn-shanghai/cityvisual-Instance".parse().unwrap();
        assert_eq!(parsed.to_string(), "cn-shanghai/cityvisual-Instance");
        for wrong in ["cn-shanghai", "/x", "x/", "a/b/c", "a /b", "a/b\u{1b}"] {
            let error = wrong.parse::<InstanceArg>().unwrap_err();
            assert!(error.contains("is not `regionId/instanceId`"), "{error}");
        }
    }
}
