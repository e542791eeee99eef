//! Readers for the values of a `lifecycle:` block: `preventDestroy` (a boolean) and
//! `ignoreChanges` (a list of attribute names, each checked against the attributes a plan
//! compares, `format::ignorable_attributes`). Which fields the block takes is
//! `format.rs`'s business.

use super::diagnostic::Problem;
use super::format::ignorable_attributes;
use super::suggest;
use super::values::{Field, describe, no_value, wrong_kind};
use super::yaml::{Entry, Node};
use crate::model::ParamKey;

/// `lifecycle.preventDestroy`: a YAML boolean.
pub(crate) fn prevent_destroy(entry: Entry, problems: &mut Vec<Problem>) -> Field<bool> {
    const PATH: &str = "lifecycle.preventDestroy";
    const EXPECTED: &str = "`true` or `false`";
    let problem = match &entry.value {
        Node::Bool(value) => return Field::Given(*value),
        Node::Null => no_value(&entry, PATH, EXPECTED),
        Node::String(text)
            if text.trim().eq_ignore_ascii_case("true")
                || text.trim().eq_ignore_ascii_case("false") =>
        {
            wrong_kind(&entry, PATH, EXPECTED).with_hint(format!(
                "remove the quotes: `preventDestroy: {}`",
                text.trim().to_ascii_lowercase()
            ))
        }
        _ => wrong_kind(&entry, PATH, EXPECTED).with_hint(
            "`true` forbids deleting the job group; `false` lifts a protection recorded earlier",
        ),
    };
    problems.push(problem);
    Field::Invalid
}

/// `lifecycle.ignoreChanges`: a list of attribute names, in the order written, each once.
/// Names that are wrong are reported where they are written and left out.
pub(crate) fn ignore_changes(entry: Entry, problems: &mut Vec<Problem>) -> Vec<String> {
    const PATH: &str = "lifecycle.ignoreChanges";
    const EXPECTED: &str = "a list of attribute names";
    let fallback = entry.position();
    let sequence = match entry.value {
        Node::Sequence(sequence) => sequence,
        Node::Null => {
            problems.push(no_value(
                &entry,
                PATH,
                "a list such as `[jobCount, params.ES_ENABLE]`",
            ));
            return Vec::new();
        }
        Node::String(ref text) if is_ignorable(text) => {
            let hint = format!("write a list, even of one name: `ignoreChanges: [{text}]`");
            problems.push(wrong_kind(&entry, PATH, EXPECTED).with_hint(hint));
            return Vec::new();
        }
        _ => {
            problems.push(
                wrong_kind(&entry, PATH, EXPECTED)
                    .with_hint("for example `ignoreChanges: [jobCount, params.ES_ENABLE]`"),
            );
            return Vec::new();
        }
    };
    let mut names: Vec<String> = Vec::new();
    for (item, position) in sequence.located_items() {
        let position = position.unwrap_or(fallback);
        let Node::String(name) = item else {
            problems.push(
                Problem::new(
                    position,
                    format!("`{PATH}` holds attribute names, not {}", describe(&item)),
                )
                .with_hint(attributes_hint()),
            );
            continue;
        };
        if !is_ignorable(&name) {
            problems.push(unknown_attribute(&name, position));
            continue;
        }
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// Whether `name` is an attribute `ignoreChanges` may name.
fn is_ignorable(name: &str) -> bool {
    match name.strip_prefix("params.") {
        Some(key) => ParamKey::ALL.iter().any(|param| param.as_str() == key),
        None => ignorable_attributes().any(|attribute| attribute == name),
    }
}

/// The problem for a name that is no attribute, with the closest one when there is one.
fn unknown_attribute(name: &str, position: super::diagnostic::Position) -> Problem {
    let mut message = format!("unknown attribute `{name}` in `lifecycle.ignoreChanges`");
    // A param key is compared with the keys alone: compared whole, every `params.` name
    // would look alike.
    let suggestion = match name.strip_prefix("params.") {
        Some(key) => {
            let keys: Vec<&str> = ParamKey::ALL.iter().map(|param| param.as_str()).collect();
            suggest::closest(key, &keys).map(|key| format!("params.{key}"))
        }
        None => {
            let attributes: Vec<&str> = ignorable_attributes().collect();
            suggest::closest(name, &attributes).map(str::to_owned)
        }
    };
    match suggestion {
        Some(suggestion) => {
            message.push_str(&format!(", did you mean `{suggestion}`?"));
            Problem::new(position, message)
        }
        None => Problem::new(position, message).with_hint(attributes_hint()),
    }
}

fn attributes_hint() -> String {
    let keys: Vec<&str> = ParamKey::ALL.iter().map(|param| param.as_str()).collect();
    let attributes: Vec<&str> = ignorable_attributes().collect();
    format!(
        "the attributes are {}, and `params.KEY` for one of {}",
        suggest::list(&attributes),
        suggest::list(&keys)
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::diagnostic::Position;
    use super::super::yaml::Sequence;
    use super::*;

    fn at(line: usize, column: usize) -> Position {
        Position { line, column }
    }

    fn entry(key: &str, value: Node) -> Entry {
        Entry {
            key: key.into(),
            key_position: at(7, 3),
            value,
            value_position: Some(at(7, 20)),
        }
    }

    fn list(items: Vec<Node>) -> Node {
        let item_positions = (0..items.len())
            .map(|index| Some(at(8 + index, 7)))
            .collect();
        Node::Sequence(Sequence {
            items,
            item_positions,
            position: Some(at(8, 7)),
        })
    }

    fn names(names: &[&str]) -> Node {
        list(
            names
                .iter()
                .map(|name| Node::String((*name).into()))
                .collect(),
        )
    }

    fn rendered(problems: &[Problem]) -> Vec<String> {
        problems
            .iter()
            .map(|problem| format!("{}: {}", problem.position, problem.message))
            .collect()
    }

    #[test]
    fn prevent_destroy_is_a_boolean() {
        let mut problems = Vec::new();
        let mut read = |value| prevent_destroy(entry("preventDestroy", value), &mut problems);
        assert_eq!(read(Node::Bool(true)), Field::Given(true));
        assert_eq!(read(Node::Bool(false)), Field::Given(false));
        assert_eq!(read(Node::String("True".into())), Field::Invalid);
        assert_eq!(read(Node::String("yes".into())), Field::Invalid);
        assert_eq!(read(Node::Null), Field::Invalid);
        assert_eq!(
            rendered(&problems),
            [
                "7:20: `lifecycle.preventDestroy` must be `true` or `false`, not the string `\"True\"`",
                "7:20: `lifecycle.preventDestroy` must be `true` or `false`, not the string `\"yes\"`",
                "7:20: `lifecycle.preventDestroy` has no value",
            ]
        );
        assert_eq!(
            problems[0].hint.as_deref(),
            Some("remove the quotes: `preventDestroy: true`")
        );
    }

    #[test]
    fn ignore_changes_takes_attribute_names_once_each() {
        let mut problems = Vec::new();
        let read = ignore_changes(
            entry(
                "ignoreChanges",
                names(&[
                    "planedJobCount",
                    "params.ES_ENABLE",
                    "status",
                    "params",
                    "planedJobCount",
                ]),
            ),
            &mut problems,
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            read,
            ["planedJobCount", "params.ES_ENABLE", "status", "params"]
        );
    }

    #[test]
    fn unknown_attributes_are_reported_where_written_with_a_suggestion() {
        let mut problems = Vec::new();
        let read = ignore_changes(
            entry(
                "ignoreChanges",
                list(vec![
                    Node::String("planedJobCont".into()),
                    Node::String("jobCount".into()),
                    Node::String("params.ES_ENABLED".into()),
                    Node::String("name".into()),
                    Node::Integer(super::super::yaml::Integer {
                        negative: false,
                        magnitude: 3,
                    }),
                    Node::String("Status".into()),
                ]),
            ),
            &mut problems,
        );
        assert_eq!(read, ["jobCount"]);
        assert_eq!(
            rendered(&problems),
            [
                "8:7: unknown attribute `planedJobCont` in `lifecycle.ignoreChanges`, did you mean `planedJobCount`?",
                "10:7: unknown attribute `params.ES_ENABLED` in `lifecycle.ignoreChanges`, did you mean `params.ES_ENABLE`?",
                "11:7: unknown attribute `name` in `lifecycle.ignoreChanges`",
                "12:7: `lifecycle.ignoreChanges` holds attribute names, not the integer `3`",
                "13:7: unknown attribute `Status` in `lifecycle.ignoreChanges`, did you mean `status`?",
            ]
        );
        assert_eq!(
            problems[2].hint.as_deref(),
            Some(
                "the attributes are `algoLibId`, `resourceProfileId`, `planedJobCount`, `streamPerJob`, `jobCount`, `params` and `status`, and `params.KEY` for one of `ES_ENABLE`, `RDS_ENABLE`, `OUT_MQ_ENABLE`, `DATAHUB_ENABLE` and `SCHEDULE_FLOW_START_TIME`"
            )
        );
    }

    #[test]
    fn ignore_changes_must_be_a_list() {
        let mut problems = Vec::new();
        assert!(
            ignore_changes(
                entry("ignoreChanges", Node::String("jobCount".into())),
                &mut problems
            )
            .is_empty()
        );
        assert!(ignore_changes(entry("ignoreChanges", Node::Bool(true)), &mut problems).is_empty());
        assert!(ignore_changes(entry("ignoreChanges", Node::Null), &mut problems).is_empty());
        assert_eq!(
            rendered(&problems),
            [
                "7:20: `lifecycle.ignoreChanges` must be a list of attribute names, not the string `\"jobCount\"`",
                "7:20: `lifecycle.ignoreChanges` must be a list of attribute names, not the boolean `true`",
                "7:20: `lifecycle.ignoreChanges` has no value",
            ]
        );
        assert_eq!(
            problems[0].hint.as_deref(),
            Some("write a list, even of one name: `ignoreChanges: [jobCount]`")
        );
    }
}
