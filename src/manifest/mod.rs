//! Manifests: the desired job groups, read from YAML files, validated, with every problem
//! located as `file:line:column`.
//!
//! [`load`] is the I/O edge (files, directories, standard input); [`load_sources`] is the
//! pure core it calls, which tests call directly. Every problem of the whole set is
//! reported at once, as [`Diagnostics`].
//!
//! Reading happens in layers, each in its own module: `discover` finds and reads files,
//! `source` checks a file's bytes, `yaml` (the one door for YAML) parses documents into
//! trees that know where each value was written, `document` and `values` give a document
//! its meaning, and `set` applies defaults and checks the set as a whole.

mod desired;
mod diagnostic;
mod discover;
mod document;
mod set;
mod source;
mod suggest;
mod values;
mod yaml;

pub use desired::{Desired, DesiredGroup, SourceLocation};
pub use diagnostic::{Diagnostic, Diagnostics};
pub use discover::{Input, LoadOptions};
pub use source::Source;

use std::collections::BTreeSet;
use std::io::Read;

use diagnostic::Position;
use discover::Found;
use source::{SourceRead, read_source};
use yaml::Detail;

/// Loads the manifests `inputs` name, with the default [`LoadOptions`].
///
/// A directory contributes every `*.yaml` and `*.yml` file below it; [`Input::Stdin`] reads
/// standard input, named `-` in locations. An empty `inputs` is an empty set: choosing a
/// default directory is the caller's business.
pub fn load(inputs: &[Input]) -> Result<Desired, Diagnostics> {
    load_with(inputs, &LoadOptions::default())
}

/// Loads the manifests `inputs` name, within `options`' limits.
pub fn load_with(inputs: &[Input], options: &LoadOptions) -> Result<Desired, Diagnostics> {
    load_from(inputs, options, &mut std::io::stdin().lock())
}

/// [`load_with`], reading `-` from `stdin`.
fn load_from(
    inputs: &[Input],
    options: &LoadOptions,
    stdin: &mut dyn Read,
) -> Result<Desired, Diagnostics> {
    load_found(discover::discover(inputs, options, stdin))
}

/// Reads, validates and assembles manifest texts: the pure core of [`load`].
///
/// `sources` are in the order problems are reported in; a name is only used in messages.
pub fn load_sources(sources: Vec<Source>) -> Result<Desired, Diagnostics> {
    load_found(sources.into_iter().map(Found::Source).collect())
}

/// A diagnostic and where it sorts: the index of what it is about, then its position.
type Sorted = (usize, Position, Diagnostic);

fn load_found(found: Vec<Found>) -> Result<Desired, Diagnostics> {
    let mut diagnostics: Vec<Sorted> = Vec::new();
    let mut sources = Vec::new();
    // For each source, its index among everything found, which is its place in the report.
    let mut order = Vec::new();
    for (index, found) in found.into_iter().enumerate() {
        match found {
            Found::Source(source) => {
                sources.push(source);
                order.push(index);
            }
            Found::Problem(diagnostic) => {
                diagnostics.push((index, Position::UNKNOWN, diagnostic));
            }
        }
    }
    let names: Vec<&str> = sources.iter().map(|source| source.name.as_str()).collect();

    // Positions of keys and values are looked up only for files that have something to
    // report: a file is read quickly first, and again in detail when needed.
    let mut reads: Vec<SourceRead> = sources
        .iter()
        .map(|source| read_source(source, Detail::DocumentsOnly))
        .collect();
    let (mut desired, mut set_problems) = set::assemble(&reads, &names);
    let mut to_reread: BTreeSet<usize> = set_problems.iter().map(|(index, _)| *index).collect();
    to_reread.extend(
        reads
            .iter()
            .enumerate()
            .filter(|(_, read)| !read.problems.is_empty())
            .map(|(index, _)| index),
    );
    if !to_reread.is_empty() {
        let problems_before = count_problems(&reads, &set_problems);
        for &index in &to_reread {
            reads[index] = read_source(&sources[index], Detail::Everything);
        }
        (desired, set_problems) = set::assemble(&reads, &names);
        debug_assert_eq!(
            problems_before,
            count_problems(&reads, &set_problems),
            "reading in detail must find the same problems"
        );
    }

    for (index, read) in reads.into_iter().enumerate() {
        for problem in read.problems {
            diagnostics.push((order[index], problem.position, problem.locate(names[index])));
        }
    }
    for (index, problem) in set_problems {
        diagnostics.push((order[index], problem.position, problem.locate(names[index])));
    }
    if diagnostics.is_empty() {
        return Ok(desired);
    }
    diagnostics.sort_by_key(|(index, position, _)| (*index, *position));
    Err(Diagnostics::new(
        diagnostics
            .into_iter()
            .map(|(_, _, diagnostic)| diagnostic)
            .collect(),
    ))
}

fn count_problems(reads: &[SourceRead], set_problems: &[set::SetProblem]) -> usize {
    reads.iter().map(|read| read.problems.len()).sum::<usize>() + set_problems.len()
}
