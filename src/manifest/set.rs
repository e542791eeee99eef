//! The manifest set as a whole: applies the `Defaults` document, checks that every job group
//! is complete and that no address is declared twice, and produces [`Desired`].
//!
//! Linear in the number of documents: duplicates are found through the address map that
//! becomes the result.

use std::collections::BTreeMap;
use std::collections::btree_map;

use super::declared;
use super::desired::{Desired, DesiredGroup, SourceLocation};
use super::diagnostic::Problem;
use super::document::{DefaultsDocument, JobGroupDocument, ManifestDocument, PartialSpec};
use super::format::required_after_defaults;
use super::suggest;
use super::values::Field;
use crate::model::{Address, JobGroupSpec, Lifecycle, Status};

/// A problem, and the index of the source it belongs to.
pub(crate) type SetProblem = (usize, Problem);

/// Builds the desired job groups from every source's documents (`documents[index]` are
/// those of source `index`), consuming them so that their strings move into the result.
/// `names` are the sources' names, for messages that point at another file.
/// `default_region_id` is the region of a group that neither it nor `Defaults` gives.
/// `defaults_elsewhere` names the files that hold a `Defaults` document but are not in the
/// set; it is asked only when a group misses fields and the set has no `Defaults`.
pub(crate) fn assemble(
    documents: Vec<Vec<ManifestDocument>>,
    names: &[&str],
    default_region_id: Option<&str>,
    defaults_elsewhere: &mut dyn FnMut() -> Vec<String>,
) -> (Desired, Vec<SetProblem>) {
    let mut problems = Vec::new();
    let found_defaults = find_defaults(&documents, names, &mut problems);
    let has_defaults = found_defaults.is_some();
    let mut defaults = found_defaults.unwrap_or_default();
    // The places in `problems` of the groups that miss required fields.
    let mut incomplete = Vec::new();
    if let Some(region) = default_region_id {
        defaults.region_id = defaults.region_id.or(Field::Given(region.to_owned()));
    }
    let mut groups: BTreeMap<Address, DesiredGroup> = BTreeMap::new();
    let mut declarations = Vec::new();
    for (index, documents) in documents.into_iter().enumerate() {
        for document in documents {
            let group = match document {
                ManifestDocument::JobGroup(group) => group,
                ManifestDocument::Declaration(declaration) => {
                    declarations.push((index, declaration));
                    continue;
                }
                ManifestDocument::Defaults(_) => continue,
            };
            let position = group.position;
            let before = problems.len();
            let completed = complete(group, &defaults, index, &mut problems);
            incomplete.extend(before..problems.len());
            let Some((address, spec, status, lifecycle)) = completed else {
                continue;
            };
            match groups.entry(address) {
                btree_map::Entry::Vacant(vacant) => {
                    let source = SourceLocation {
                        file: names[index].to_owned(),
                        line: position.line,
                        column: position.column,
                    };
                    vacant.insert(DesiredGroup {
                        spec,
                        source,
                        status,
                        lifecycle,
                    });
                }
                btree_map::Entry::Occupied(occupied) => problems.push((
                    index,
                    Problem::new(
                        position,
                        format!(
                            "duplicate job group `{}`; first declared at {}",
                            occupied.key(),
                            occupied.get().source
                        ),
                    )
                    .with_hint("a name is unique within an instance; rename or remove one of them"),
                )),
            }
        }
    }
    if !incomplete.is_empty() && !has_defaults {
        let elsewhere = defaults_elsewhere();
        if let Some(unread) = unread_defaults_hint(&elsewhere) {
            for place in incomplete {
                let problem = &mut problems[place].1;
                problem.hint = problem.hint.take().map(|hint| format!("{hint}; {unread}"));
            }
        }
    }
    let (declared, declared_problems) = declared::check(declarations, &groups, names);
    problems.extend(declared_problems);
    (
        Desired {
            groups,
            moves: declared.moves,
            imports: declared.imports,
            removals: declared.removals,
            warnings: Vec::new(),
        },
        problems,
    )
}

/// What to say of `Defaults` documents that were not read with the set: most often the
/// manifests' directory holds one and a single file of it was named.
fn unread_defaults_hint(files: &[String]) -> Option<String> {
    let first = files.first()?;
    let directory = match std::path::Path::new(first).parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.display().to_string(),
        _ => ".".to_owned(),
    };
    let names: Vec<&str> = files.iter().map(String::as_str).collect();
    Some(if names.len() == 1 {
        format!(
            "`{first}` beside it holds a `Defaults` document, which applies only when it is \
             read too: name the directory, `-f {directory}`, or add `-f {first}`"
        )
    } else {
        format!(
            "{} beside it hold `Defaults` documents, which apply only when read too: name the \
             directory, `-f {directory}`, or add the one meant with `-f`",
            suggest::list(&names)
        )
    })
}

/// The spec of the first `Defaults` document (`None` when there is none); every later one
/// is a problem.
fn find_defaults(
    documents: &[Vec<ManifestDocument>],
    names: &[&str],
    problems: &mut Vec<SetProblem>,
) -> Option<PartialSpec> {
    let mut first: Option<(&DefaultsDocument, usize)> = None;
    for (index, documents) in documents.iter().enumerate() {
        for document in documents {
            let ManifestDocument::Defaults(defaults) = document else {
                continue;
            };
            match first {
                None => first = Some((defaults, index)),
                Some((earlier, earlier_index)) => problems.push((
                    index,
                    Problem::new(
                        defaults.position,
                        format!(
                            "more than one `Defaults` document; the first is at {}:{}",
                            names[earlier_index], earlier.position
                        ),
                    )
                    .with_hint("a manifest set has at most one `Defaults`; merge them"),
                )),
            }
        }
    }
    first.map(|(defaults, _)| defaults.spec.clone())
}

/// A complete job group: its address, spec, status wish and lifecycle block.
type Completed = (Address, JobGroupSpec, Option<Status>, Lifecycle);

/// The group's address, spec and status with defaults applied, and its lifecycle block; or
/// `None` when something is missing (reported here) or wrong (reported when the document
/// was read).
fn complete(
    group: JobGroupDocument,
    defaults: &PartialSpec,
    index: usize,
    problems: &mut Vec<SetProblem>,
) -> Option<Completed> {
    let spec = group.spec.with_defaults(defaults);
    let missing: Vec<&str> = required_after_defaults()
        .filter(|field| spec.is_absent(field))
        .map(|field| field.name)
        .collect();
    if !missing.is_empty() {
        let named = match &group.name {
            Field::Given(name) => format!("job group `{name}`"),
            _ => "this job group".to_owned(),
        };
        let fields: Vec<String> = missing
            .iter()
            .map(|field| format!("spec.{field}"))
            .collect();
        let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
        let plural = if missing.len() == 1 { "" } else { "s" };
        problems.push((
            index,
            Problem::new(
                group.spec_position,
                format!(
                    "{named} is missing required field{plural} {}",
                    suggest::list(&fields)
                ),
            )
            .with_hint(format!(
                "set {} in the job group's `spec`, or for every job group in the `Defaults` document",
                if missing.len() == 1 { "it" } else { "them" }
            )),
        ));
    }
    let job_count = optional(spec.job_count)?;
    let status = optional(spec.status)?;
    let Field::Given(name) = group.name else {
        return None;
    };
    // A required field that is not given was reported: missing just now, or wrong when
    // its document was read.
    let address = Address::new(spec.region_id.given()?, spec.instance_id.given()?, name);
    let spec = JobGroupSpec {
        algo_lib_id: spec.algo_lib_id.given()?,
        resource_profile_id: spec.resource_profile_id.given()?,
        planed_job_count: spec.planed_job_count.given()?,
        stream_per_job: spec.stream_per_job.given()?,
        job_count,
        params: spec.params.into_map(),
    };
    Some((address, spec, status, group.lifecycle))
}

/// The value of an optional field: `Some(None)` when absent, `None` when written wrongly.
fn optional<T>(field: Field<T>) -> Option<Option<T>> {
    match field {
        Field::Given(value) => Some(Some(value)),
        Field::Absent => Some(None),
        Field::Invalid => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::diagnostic::Position;
    use super::super::source::{Source, SourceRead, read_source};
    use super::super::yaml::Detail;
    use super::*;

    fn sort_key(problem: &SetProblem) -> (usize, Position) {
        (problem.0, problem.1.position)
    }

    fn reads(files: &[(&str, &str)]) -> (Desired, Vec<String>) {
        reads_in_region(files, None)
    }

    fn reads_in_region(files: &[(&str, &str)], region: Option<&str>) -> (Desired, Vec<String>) {
        let reads: Vec<SourceRead> = files
            .iter()
            .map(|(name, text)| {
                let read = read_source(
                    &Source {
                        name: (*name).into(),
                        bytes: text.as_bytes().to_vec(),
                    },
                    Detail::Everything,
                );
                assert!(read.problems.is_empty(), "{:?}", read.problems);
                read
            })
            .collect();
        let names: Vec<&str> = files.iter().map(|(name, _)| *name).collect();
        let documents = reads.into_iter().map(|read| read.documents).collect();
        let (desired, mut problems) = assemble(documents, &names, region, &mut Vec::new);
        problems.sort_by_key(sort_key);
        let rendered = problems
            .into_iter()
            .map(|(index, problem)| {
                format!("{}:{}: {}", names[index], problem.position, problem.message)
            })
            .collect();
        (desired, rendered)
    }

    fn group(name: &str, spec: &str) -> String {
        format!(
            "---\napiVersion: cityform/v1\nkind: JobGroup\nmetadata:\n  name: {name}\nspec:\n{spec}"
        )
    }

    const FULL: &str = "  regionId: cn-shanghai\n  instanceId: inst\n  algoLibId: 3\n  resourceProfileId: 6\n  planedJobCount: 10\n  streamPerJob: 5\n";

    #[test]
    fn complete_groups_become_desired_groups_at_their_document() {
        let text = group("alpha", FULL) + &group("beta", FULL);
        let (desired, problems) = reads(&[("a.yaml", &text)]);
        assert!(problems.is_empty(), "{problems:?}");
        let addresses: Vec<String> = desired.groups.keys().map(ToString::to_string).collect();
        assert_eq!(
            addresses,
            ["cn-shanghai/inst/alpha", "cn-shanghai/inst/beta"]
        );
        let beta = &desired.groups[&"cn-shanghai/inst/beta".parse().unwrap()];
        assert_eq!(beta.source.to_string(), "a.yaml:14:1");
        assert_eq!(beta.spec, JobGroupSpec::example());
    }

    #[test]
    fn a_group_missing_fields_is_told_of_defaults_files_left_unread() {
        let text = group("alpha", "  algoLibId: 3\n");
        let names = ["dir/a.yaml"];
        let read = read_source(
            &Source {
                name: names[0].into(),
                bytes: text.as_bytes().to_vec(),
            },
            Detail::Everything,
        );
        let hints = |elsewhere: Vec<String>| {
            let mut asked = 0;
            let (_, problems) = assemble(vec![read.documents.clone()], &names, None, &mut || {
                asked += 1;
                elsewhere.clone()
            });
            assert_eq!(asked, 1);
            problems
                .into_iter()
                .map(|(_, problem)| problem.hint.unwrap_or_default())
                .collect::<Vec<_>>()
        };
        let one = hints(vec!["dir/00-defaults.yaml".into()]);
        assert_eq!(one.len(), 1);
        assert!(
            one[0].ends_with(
                "`dir/00-defaults.yaml` beside it holds a `Defaults` document, which applies \
                 only when it is read too: name the directory, `-f dir`, or add \
                 `-f dir/00-defaults.yaml`"
            ),
            "{one:?}"
        );
        let two = hints(vec!["dir/a-defaults.yaml".into(), "dir/b.yaml".into()]);
        assert!(
            two[0].contains("`dir/a-defaults.yaml` and `dir/b.yaml` beside it hold `Defaults`"),
            "{two:?}"
        );
        let none = hints(Vec::new());
        assert!(!none[0].contains("beside it"), "{none:?}");
    }

    #[test]
    fn defaults_from_any_file_fill_every_group() {
        let defaults = "apiVersion: cityform/v1\nkind: Defaults\nspec:\n  regionId: cn-shanghai\n  instanceId: inst\n  algoLibId: \"3\"\n  resourceProfileId: \"6\"\n  streamPerJob: 5\n  params:\n    ES_ENABLE: true\n    RDS_ENABLE: false\n";
        let groups = group(
            "alpha",
            "  planedJobCount: 10\n  params:\n    RDS_ENABLE: true\n",
        ) + &group("beta", "  planedJobCount: 10\n  streamPerJob: 7\n");
        let (desired, problems) = reads(&[("groups.yaml", &groups), ("z-defaults.yaml", defaults)]);
        assert!(problems.is_empty(), "{problems:?}");
        let alpha = &desired.groups[&"cn-shanghai/inst/alpha".parse().unwrap()].spec;
        assert_eq!(
            alpha,
            &JobGroupSpec::example()
                .with_param("ES_ENABLE", "True")
                .with_param("RDS_ENABLE", "True")
        );
        let beta = &desired.groups[&"cn-shanghai/inst/beta".parse().unwrap()].spec;
        assert_eq!(beta.stream_per_job, 7);
        assert_eq!(beta.params.get("RDS_ENABLE").unwrap(), "False");
    }

    #[test]
    fn status_comes_from_the_group_or_the_defaults_and_lifecycle_from_the_group() {
        let defaults =
            format!("apiVersion: cityform/v1\nkind: Defaults\nspec:\n{FULL}  status: Running\n");
        let groups = group("alpha", "  status: Stopped\n")
            + "lifecycle:\n  preventDestroy: true\n  ignoreChanges: [params]\n"
            + &group("beta", "  jobCount: 2\n");
        let (desired, problems) = reads(&[("defaults.yaml", &defaults), ("groups.yaml", &groups)]);
        assert!(problems.is_empty(), "{problems:?}");
        let alpha = &desired.groups[&"cn-shanghai/inst/alpha".parse().unwrap()];
        assert_eq!(alpha.status, Some(Status::Stopped));
        assert_eq!(alpha.lifecycle.prevent_destroy, Some(true));
        assert_eq!(alpha.lifecycle.ignore_changes, ["params"]);
        let beta = &desired.groups[&"cn-shanghai/inst/beta".parse().unwrap()];
        assert_eq!(beta.status, Some(Status::Running));
        assert_eq!(beta.lifecycle, Lifecycle::default());

        let (desired, problems) = reads(&[("a.yaml", &group("gamma", FULL))]);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(desired.groups.values().next().unwrap().status, None);
    }

    #[test]
    fn missing_fields_are_listed_at_the_spec_key() {
        let text = group("alpha", "  regionId: cn-shanghai\n  algoLibId: 3\n");
        let (desired, problems) = reads(&[("a.yaml", &text)]);
        assert!(desired.groups.is_empty());
        assert_eq!(
            problems,
            [
                "a.yaml:6:1: job group `alpha` is missing required fields `spec.instanceId`, `spec.resourceProfileId`, `spec.planedJobCount` and `spec.streamPerJob`"
            ]
        );
    }

    /// Every field of a group's `spec` left out in turn: the set either reports it missing,
    /// by the name the format gives it, or builds the group without it. A group is never
    /// dropped without a word.
    #[test]
    fn a_field_left_out_is_reported_missing_or_not_needed() {
        let full =
            format!("{FULL}  jobCount: 2\n  params:\n    ES_ENABLE: true\n  status: Running\n");
        let names: Vec<&str> = full
            .lines()
            .filter(|line| line.starts_with("  ") && !line.starts_with("    "))
            .map(|line| line.trim().split(':').next().unwrap())
            .collect();
        let mut required = Vec::new();
        for name in &names {
            let without: String = full
                .split_inclusive('\n')
                .scan(false, |inside, line| {
                    let top = line.starts_with("  ") && !line.starts_with("    ");
                    if top {
                        *inside = line.trim_start().starts_with(&format!("{name}:"));
                    }
                    Some(if *inside { "" } else { line })
                })
                .collect();
            let (desired, problems) = reads(&[("a.yaml", &group("alpha", &without))]);
            match problems.as_slice() {
                [] => assert_eq!(desired.groups.len(), 1, "{name}"),
                [problem] => {
                    assert!(desired.groups.is_empty(), "{name}");
                    assert_eq!(
                        problem,
                        &format!(
                            "a.yaml:6:1: job group `alpha` is missing required field `spec.{name}`"
                        )
                    );
                    required.push(*name);
                }
                more => panic!("{name}: {more:?}"),
            }
        }
        assert_eq!(
            required,
            [
                "regionId",
                "instanceId",
                "algoLibId",
                "resourceProfileId",
                "planedJobCount",
                "streamPerJob"
            ]
        );
    }

    #[test]
    fn the_profile_region_fills_only_a_region_nobody_wrote() {
        let without = FULL.replace("  regionId: cn-shanghai\n", "");
        let text = group("alpha", &without) + &group("beta", FULL);
        let (desired, problems) = reads_in_region(&[("a.yaml", &text)], Some("cn-beijing"));
        assert!(problems.is_empty(), "{problems:?}");
        let addresses: Vec<String> = desired.groups.keys().map(ToString::to_string).collect();
        assert_eq!(
            addresses,
            ["cn-beijing/inst/alpha", "cn-shanghai/inst/beta"]
        );

        let defaults = "apiVersion: cityform/v1\nkind: Defaults\nspec:\n  regionId: cn-hangzhou\n";
        let (desired, _) = reads_in_region(
            &[("d.yaml", defaults), ("a.yaml", &group("alpha", &without))],
            Some("cn-beijing"),
        );
        let addresses: Vec<String> = desired.groups.keys().map(ToString::to_string).collect();
        assert_eq!(addresses, ["cn-hangzhou/inst/alpha"]);
    }

    #[test]
    fn a_second_defaults_document_is_refused() {
        let defaults = "apiVersion: cityform/v1\nkind: Defaults\n";
        let (_, problems) = reads(&[("a.yaml", defaults), ("b.yaml", &format!("\n{defaults}"))]);
        assert_eq!(
            problems,
            ["b.yaml:2:1: more than one `Defaults` document; the first is at a.yaml:1:1"]
        );
    }

    #[test]
    fn duplicate_addresses_name_the_first_declaration() {
        let (desired, problems) = reads(&[
            ("a.yaml", &group("alpha", FULL)),
            ("b.yaml", &(group("beta", FULL) + &group("alpha", FULL))),
        ]);
        assert_eq!(desired.groups.len(), 2);
        assert_eq!(
            problems,
            [
                "b.yaml:14:1: duplicate job group `cn-shanghai/inst/alpha`; first declared at a.yaml:2:1"
            ]
        );
    }

    #[test]
    fn the_same_name_in_another_instance_is_another_group() {
        let other = FULL.replace("instanceId: inst", "instanceId: other");
        let text = group("alpha", FULL) + &group("alpha", &other);
        let (desired, problems) = reads(&[("a.yaml", &text)]);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(desired.groups.len(), 2);
    }

    fn moved(from: &str, to: &str) -> String {
        format!(
            "---\napiVersion: cityform/v1\nkind: Moved\nspec:\n  from: cn-shanghai/inst/{from}\n  to: {to}\n"
        )
    }

    fn declared(kind: &str, name: &str) -> String {
        format!(
            "---\napiVersion: cityform/v1\nkind: {kind}\nspec:\n  address: cn-shanghai/inst/{name}\n"
        )
    }

    #[test]
    fn moves_imports_and_removals_are_carried_with_their_documents() {
        let text = group("bazaar", FULL)
            + &moved("market", "cn-shanghai/inst/bazaar")
            + &group("legacy", FULL)
            + &declared("Import", "legacy")
            + "  id: \"17\"\n"
            + &declared("Removed", "retired");
        let (desired, problems) = reads(&[("a.yaml", &text)]);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(desired.moves.len(), 1);
        assert_eq!(desired.moves[0].from.name, "market");
        assert_eq!(desired.moves[0].to.name, "bazaar");
        assert_eq!(desired.moves[0].source.to_string(), "a.yaml:14:1");
        assert_eq!(desired.imports[0].job_group_id.as_deref(), Some("17"));
        assert_eq!(desired.imports[0].source.to_string(), "a.yaml:32:1");
        assert_eq!(desired.removals[0].address.name, "retired");
        assert_eq!(desired.groups.len(), 2);
    }

    #[test]
    fn a_chain_of_moves_is_kept_and_a_cycle_is_refused_naming_every_document() {
        let chain =
            moved("alpha", "cn-shanghai/inst/beta") + &moved("beta", "cn-shanghai/inst/gamma");
        let (desired, problems) = reads(&[("a.yaml", &chain)]);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(desired.moves.len(), 2);

        let cycle = moved("alpha", "cn-shanghai/inst/beta");
        let (desired, problems) = reads(&[
            ("a.yaml", &cycle),
            ("b.yaml", &moved("beta", "cn-shanghai/inst/alpha")),
        ]);
        assert!(desired.moves.is_empty());
        assert_eq!(
            problems,
            [
                "a.yaml:2:1: these `Moved` documents form a cycle: `alpha` to `beta` at a.yaml:2:1, `beta` to `alpha` at b.yaml:2:1"
            ]
        );
    }

    #[test]
    fn conflicting_declarations_are_refused_naming_both_documents() {
        let (_, problems) = reads(&[(
            "a.yaml",
            &(moved("alpha", "cn-shanghai/inst/gamma") + &moved("beta", "cn-shanghai/inst/gamma")),
        )]);
        assert_eq!(
            problems,
            [
                "a.yaml:8:1: two moves to one address: `cn-shanghai/inst/gamma` is already the destination of the `Moved` document at a.yaml:2:1"
            ]
        );

        let (_, problems) = reads(&[(
            "a.yaml",
            &(group("gamma", FULL) + &moved("alpha", "cn-beijing/inst/gamma")),
        )]);
        assert_eq!(
            problems,
            [
                "a.yaml:14:1: cannot move `cn-shanghai/inst/alpha` to `cn-beijing/inst/gamma`: a job group cannot change region or instance, only its name"
            ]
        );
        let other_instance = FULL.replace("instanceId: inst", "instanceId: other");
        let (_, problems) = reads(&[(
            "a.yaml",
            &(group("gamma", &other_instance) + &moved("alpha", "cn-shanghai/other/gamma")),
        )]);
        assert_eq!(
            problems,
            [
                "a.yaml:14:1: cannot move `cn-shanghai/inst/alpha` to `cn-shanghai/other/gamma`: a job group cannot change region or instance, only its name; `cn-shanghai/other/gamma` is declared at a.yaml:2:1"
            ]
        );

        let (desired, problems) = reads(&[
            ("groups.yaml", &group("kept", FULL)),
            ("removed.yaml", &declared("Removed", "kept")),
        ]);
        assert!(desired.removals.is_empty());
        assert_eq!(
            problems,
            [
                "groups.yaml:2:1: `cn-shanghai/inst/kept` is declared here but removed by the `Removed` document at removed.yaml:2:1: one or the other",
                "removed.yaml:2:1: `cn-shanghai/inst/kept` is removed here but declared by the `JobGroup` document at groups.yaml:2:1: one or the other",
            ]
        );

        let (_, problems) = reads(&[("a.yaml", &declared("Import", "nobody"))]);
        assert_eq!(
            problems,
            [
                "a.yaml:2:1: no `JobGroup` document declares `cn-shanghai/inst/nobody`, which this `Import` adopts"
            ]
        );

        let (_, problems) = reads(&[(
            "a.yaml",
            &(group("alpha", FULL) + &moved("alpha", "cn-shanghai/inst/beta")),
        )]);
        assert_eq!(
            problems,
            [
                "a.yaml:14:1: `cn-shanghai/inst/alpha` is moved away, but the `JobGroup` document at a.yaml:2:1 still declares it"
            ]
        );

        let (_, problems) = reads(&[(
            "a.yaml",
            &(declared("Removed", "xray")
                + &declared("Removed", "xray")
                + &moved("xray", "cn-shanghai/inst/yankee")),
        )]);
        assert_eq!(
            problems,
            [
                "a.yaml:7:1: `cn-shanghai/inst/xray` is removed twice; the first is at a.yaml:2:1",
                "a.yaml:12:1: `cn-shanghai/inst/xray` is also removed by the `Removed` document at a.yaml:2:1: one or the other",
            ]
        );
    }
}
