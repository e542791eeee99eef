//! `cityform fmt`: rewrite manifest files in canonical form (`docs/manifest.md`, "Canonical
//! form"), or with `--check` list those that are not. A file is written only when it
//! changes, atomically, and only when the whole set, read again with the new texts,
//! declares exactly what it declared before.

use std::fs;
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, bail};
use clap::Args;

use super::connect::manifest_options;
use super::settings::{ManifestArgs, process_environment};
use super::{Outcome, output};
use crate::manifest::{self, Desired, Input, Source, canonical};

/// Arguments of `cityform fmt`.
#[derive(Debug, Args)]
pub struct FmtArgs {
    #[command(flatten)]
    manifests: ManifestArgs,
    /// Change nothing: list the files that are not in canonical form, and exit 1 if there
    /// are any.
    #[arg(long)]
    check: bool,
}

pub(super) fn run(args: FmtArgs) -> anyhow::Result<Outcome> {
    let inputs = args.manifests.inputs();
    if inputs.contains(&Input::Stdin) {
        bail!("`fmt` rewrites files, and `-` (standard input) is not one: name the files");
    }
    let options = manifest_options(None, &process_environment());
    let sources = manifest::read_inputs(&inputs, &options)?;
    // A set that does not load is reported as `validate` reports it, and nothing is written.
    let before = meaning(&manifest::load_sources_of(
        sources.clone(),
        &inputs,
        &options,
    )?);
    let mut refusals = Vec::new();
    let mut changes: Vec<(usize, String)> = Vec::new();
    for (index, source) in sources.iter().enumerate() {
        let text = String::from_utf8_lossy(&source.bytes);
        match canonical::canonical(&text) {
            Ok(formatted) if formatted != text => changes.push((index, formatted)),
            Ok(_) => {}
            Err(refusal) => refusals.push(format!("{}:{refusal}", source.name)),
        }
    }
    let reads_the_same = |changes: &[(usize, String)]| {
        let mut changed = sources.clone();
        for (index, text) in changes {
            changed[*index].bytes = text.clone().into_bytes();
        }
        manifest::load_sources_of(changed, &inputs, &options)
            .is_ok_and(|after| meaning(&after) == before)
    };
    let (kept, different) = keep_same_meaning(changes, reads_the_same);
    changes = kept;
    for index in different {
        refusals.push(format!(
            "{}:1: not formatted: its canonical form would not declare the same job groups",
            sources[index].name
        ));
    }
    for refusal in &refusals {
        eprintln!("{refusal}");
    }
    let mut listed = String::new();
    for (index, text) in &changes {
        let source = &sources[*index];
        if !args.check {
            write_atomically(source, text)?;
        }
        listed.push_str(&source.name);
        listed.push('\n');
    }
    output::print(&listed)?;
    if args.check && !changes.is_empty() {
        bail!(
            "{} {} not in canonical form: run `cityform fmt`",
            files(changes.len()),
            if changes.len() == 1 { "is" } else { "are" }
        );
    }
    if !refusals.is_empty() {
        bail!("{} could not be formatted", files(refusals.len()));
    }
    Ok(Outcome::Success)
}

/// The changes that keep what the set declares, and the indexes of the files whose change
/// does not (all of them when the changes only differ together).
fn keep_same_meaning(
    changes: Vec<(usize, String)>,
    reads_the_same: impl Fn(&[(usize, String)]) -> bool,
) -> (Vec<(usize, String)>, Vec<usize>) {
    if reads_the_same(&changes) {
        return (changes, Vec::new());
    }
    let (mut same, different): (Vec<_>, Vec<_>) = changes
        .into_iter()
        .partition(|change| reads_the_same(std::slice::from_ref(change)));
    let mut different: Vec<usize> = different.into_iter().map(|(index, _)| index).collect();
    if !reads_the_same(&same) {
        different.extend(same.drain(..).map(|(index, _)| index));
    }
    different.sort_unstable();
    (same, different)
}

fn files(count: usize) -> String {
    if count == 1 {
        "1 file".to_owned()
    } else {
        format!("{count} files")
    }
}

/// What a set declares, without where: formatting moves lines.
type Meaning = (
    Vec<(
        crate::model::Address,
        crate::model::JobGroupSpec,
        Option<crate::model::Status>,
        crate::model::Lifecycle,
    )>,
    Vec<(crate::model::Address, crate::model::Address)>,
    Vec<(crate::model::Address, Option<String>)>,
    Vec<crate::model::Address>,
);

fn meaning(desired: &Desired) -> Meaning {
    (
        desired
            .groups
            .iter()
            .map(|(address, group)| {
                (
                    address.clone(),
                    group.spec.clone(),
                    group.status,
                    group.lifecycle.clone(),
                )
            })
            .collect(),
        desired
            .moves
            .iter()
            .map(|moved| (moved.from.clone(), moved.to.clone()))
            .collect(),
        desired
            .imports
            .iter()
            .map(|import| (import.address.clone(), import.job_group_id.clone()))
            .collect(),
        desired
            .removals
            .iter()
            .map(|removal| removal.address.clone())
            .collect(),
    )
}

/// Replaces `source`'s file with `text`: a temporary file beside it, renamed over it, so that
/// the file is whole at every moment. Through a symbolic link, the file it leads to.
fn write_atomically(source: &Source, text: &str) -> anyhow::Result<()> {
    let name = &source.name;
    let target =
        fs::canonicalize(Path::new(name)).with_context(|| format!("cannot write `{name}`"))?;
    // A name that is not the file read (not UTF-8, or changed since) is left alone.
    let current = fs::read(&target).with_context(|| format!("cannot read `{name}` again"))?;
    if current != source.bytes {
        bail!("`{name}` changed while it was formatted; it is left as it is");
    }
    let directory = target
        .parent()
        .with_context(|| format!("`{name}` has no directory"))?;
    let permissions = fs::metadata(&target)
        .with_context(|| format!("cannot read `{name}`'s permissions"))?
        .permissions();
    let write = || -> std::io::Result<()> {
        let mut temporary = tempfile::NamedTempFile::new_in(directory)?;
        temporary.write_all(text.as_bytes())?;
        temporary.as_file().sync_all()?;
        fs::set_permissions(temporary.path(), permissions)?;
        temporary.persist(&target).map_err(|error| error.error)?;
        Ok(())
    };
    write().with_context(|| format!("cannot write `{name}`; it is left as it was"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const GROUP: &str = "apiVersion: cityform/v1\nkind: JobGroup\nmetadata:\n  name: traffic-east\nspec:\n  regionId: cn-shanghai\n  instanceId: cityvisual-Instance\n  algoLibId: \"3\"\n  resourceProfileId: \"6\"\n  planedJobCount: 10\n  streamPerJob: 5\n";

    /// The safety net: a rewrite that would change what the set declares is not kept.
    #[test]
    fn a_change_that_reads_differently_is_refused_and_one_that_reads_the_same_is_kept() {
        let sources = vec![
            Source {
                name: "a.yaml".into(),
                bytes: GROUP.into(),
            },
            Source {
                name: "b.yaml".into(),
                bytes: GROUP.replace("traffic-east", "traffic-west").into_bytes(),
            },
        ];
        let options = manifest::LoadOptions::default();
        let before = meaning(&manifest::load_sources_of(sources.clone(), &[], &options).unwrap());
        let reads_the_same = |changes: &[(usize, String)]| {
            let mut changed = sources.clone();
            for (index, text) in changes {
                changed[*index].bytes = text.clone().into_bytes();
            }
            manifest::load_sources_of(changed, &[], &options)
                .is_ok_and(|after| meaning(&after) == before)
        };
        let harmless = (0, format!("# a comment\n{GROUP}"));
        let harmful = (
            1,
            GROUP
                .replace("traffic-east", "traffic-west")
                .replace("10", "11"),
        );
        let (kept, refused) = keep_same_meaning(vec![harmless.clone(), harmful], reads_the_same);
        assert_eq!(kept, [harmless]);
        assert_eq!(refused, [1]);
    }
}
