//! Readers for the values of manifest fields: counts, ids, address parts, the job-group
//! name, the run status and `params`. Each turns one YAML entry into a [`Field`] and reports what is wrong
//! with it where it was written.

use std::borrow::Cow;
use std::fmt;

use super::diagnostic::Problem;
use super::format::{MAX_COUNT, Part, STATUSES};
use super::suggest;
use super::yaml::{Entry, MAX_DEPTH, Mapping, Node};
use crate::model::{
    Address, JobGroupParams, NameRuleSource, ParamKey, Status, normalize_param_value, printable,
    single_rule_characters, validate_job_group_name,
};

/// A field as one document gives it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum Field<T> {
    /// Not written.
    #[default]
    Absent,
    /// Written, but wrong; the problem is already reported, so it is neither used nor
    /// reported again as missing.
    Invalid,
    /// Written and valid.
    Given(T),
}

impl<T> Field<T> {
    /// The value, when it is written and valid.
    pub fn given(self) -> Option<T> {
        match self {
            Field::Given(value) => Some(value),
            Field::Absent | Field::Invalid => None,
        }
    }

    /// Whether the field is not written at all.
    pub fn is_absent(&self) -> bool {
        matches!(self, Field::Absent)
    }

    /// This field, or `fallback` when this one is not written at all.
    pub fn or(self, fallback: Field<T>) -> Field<T> {
        match self {
            Field::Absent => fallback,
            written => written,
        }
    }
}

/// `params` as one document gives them: at most one canonical value per supported key,
/// held without allocating (a manifest set may have 100,000 of these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Params([Option<&'static str>; ParamKey::ALL.len()]);

impl Params {
    fn slot(key: ParamKey) -> usize {
        ParamKey::ALL
            .iter()
            .position(|known| *known == key)
            .unwrap_or_default()
    }

    /// Sets `key` to `value` (a canonical value).
    pub fn insert(&mut self, key: ParamKey, value: &'static str) {
        self.0[Self::slot(key)] = Some(value);
    }

    /// The value of `key`, if set.
    #[cfg(test)]
    pub fn get(&self, key: ParamKey) -> Option<&'static str> {
        self.0[Self::slot(key)]
    }

    /// These params over `defaults`, key by key: a key set here wins.
    pub fn over(self, defaults: Params) -> Params {
        let mut merged = defaults;
        for (slot, value) in self.0.into_iter().enumerate() {
            if value.is_some() {
                merged.0[slot] = value;
            }
        }
        merged
    }

    /// The params as the domain model holds them: API keys to canonical values.
    pub fn into_map(self) -> JobGroupParams {
        ParamKey::ALL
            .iter()
            .zip(self.0)
            .filter_map(|(key, value)| Some((key.as_str().to_owned(), value?.to_owned())))
            .collect()
    }
}

/// Where a field is written, as messages name it (`spec.regionId`); spelt out only when a
/// problem needs it, because every field of every document is read with one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FieldPath {
    part: Part,
    name: &'static str,
}

impl FieldPath {
    /// The field `name` of `part`.
    pub fn new(part: Part, name: &'static str) -> Self {
        Self { part, name }
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.part.path() {
            Some(part) => write!(formatter, "{part}.{}", self.name),
            None => formatter.write_str(self.name),
        }
    }
}

/// The name rule, as a hint (see `model::validate_job_group_name`).
pub(crate) const NAME_RULE: &str = "a job group name has 2 to 128 characters: ASCII letters (`a`-`z`, `A`-`Z`), digits, CJK characters, `:`, `.`, `_` and `-`, starts with an ASCII letter or a CJK character, and does not start with `http://` or `https://`";

/// What to do about a character only one of the documented name rules allows.
pub(crate) const SINGLE_RULE_HINT: &str = "the service may refuse the name with `InvalidName.Malformed`; ASCII letters, digits, CJK characters, `_` and `-` are allowed by both rules";

/// A value described for a message: `the string "ten"`, `the integer 5`, `a sequence`.
pub(crate) fn describe(node: &Node) -> String {
    match node {
        Node::Null => "null".to_owned(),
        Node::Bool(value) => format!("the boolean `{value}`"),
        Node::Integer(value) => format!("the integer `{value}`"),
        Node::Float(value) => format!("the number `{value:?}`"),
        Node::String(value) => format!("the string `{value:?}`"),
        Node::LeadingZeroDigits(value) => format!("the number `{value}` with a leading zero"),
        Node::Sequence(_) => "a sequence".to_owned(),
        Node::Mapping(_) => "a mapping".to_owned(),
        Node::Tagged(tag) => format!("a value tagged `!{tag}`"),
        Node::TooDeep => format!("a value nested more than {MAX_DEPTH} levels deep"),
    }
}

/// The problem for a field written with no value (`planedJobCount:`).
pub(crate) fn no_value(entry: &Entry, path: impl fmt::Display, expected: &str) -> Problem {
    Problem::new(entry.position(), format!("`{path}` has no value"))
        .with_hint(format!("write {expected}, or remove the line"))
}

/// The problem for a value of the wrong kind.
pub(crate) fn wrong_kind(entry: &Entry, path: impl fmt::Display, expected: &str) -> Problem {
    Problem::new(
        entry.position(),
        format!(
            "`{path}` must be {expected}, not {}",
            describe(&entry.value)
        ),
    )
}

/// A count (`planedJobCount`, `streamPerJob`, `jobCount`): an integer from 1 to
/// [`MAX_COUNT`], written as a YAML integer.
pub(crate) fn count(
    entry: Entry,
    path: impl fmt::Display,
    problems: &mut Vec<Problem>,
) -> Field<u32> {
    let expected = || format!("a whole number from 1 to {MAX_COUNT}");
    let position = entry.position();
    let problem = match &entry.value {
        Node::Integer(integer)
            if !integer.negative && (1..=u128::from(MAX_COUNT)).contains(&integer.magnitude) =>
        {
            return match u32::try_from(integer.magnitude) {
                Ok(count) => Field::Given(count),
                // Unreachable by the range check; kept so no value can slip through a cast.
                Err(_) => Field::Invalid,
            };
        }
        Node::Integer(integer) if integer.negative || integer.magnitude == 0 => Problem::new(
            position,
            format!("`{path}` must be at least 1, not `{integer}`"),
        ),
        Node::Integer(integer) => Problem::new(
            position,
            format!("`{path}` must be at most {MAX_COUNT}, not `{integer}`"),
        )
        .with_hint("counts are 32-bit integers in the API"),
        Node::Float(number) => Problem::new(
            position,
            format!("`{path}` must be a whole number, not `{number:?}`"),
        ),
        Node::LeadingZeroDigits(text) => Problem::new(
            position,
            format!("`{path}` must be written without leading zeros, not `{text}`"),
        )
        .with_hint(match text.parse::<i128>() {
            Ok(number) => format!("write `{}: {number}`", entry.key),
            Err(_) => format!("write {}", expected()),
        }),
        Node::String(text) => {
            let problem = wrong_kind(&entry, &path, "a number");
            if text.trim().parse::<i128>().is_ok() {
                problem.with_hint(format!(
                    "remove the quotes: `{}: {}`",
                    entry.key,
                    text.trim()
                ))
            } else {
                problem.with_hint(format!("write {}", expected()))
            }
        }
        Node::Null => no_value(&entry, path, &expected()),
        _ => wrong_kind(&entry, path, "a number"),
    };
    problems.push(problem);
    Field::Invalid
}

/// An id the API takes as a string (`algoLibId`, `resourceProfileId`). A YAML integer is
/// accepted too, because users write `algoLibId: 3`; it becomes its decimal text. Unquoted
/// digits with a leading zero (`03`) are kept as written, with a warning: other YAML
/// readers take them for the number 3.
pub(crate) fn identifier(
    entry: Entry,
    path: impl fmt::Display,
    problems: &mut Vec<Problem>,
) -> Field<String> {
    const EXPECTED: &str = "a string or a non-negative integer";
    let position = entry.position();
    let problem = match entry.value {
        Node::String(text) if !text.trim().is_empty() => return Field::Given(text),
        Node::LeadingZeroDigits(text) => {
            let number = text
                .parse::<i128>()
                .map_or_else(|_| "a number".to_owned(), |number| format!("`{number}`"));
            problems.push(
                Problem::warning(
                    position,
                    format!(
                        "`{path}` is the unquoted number `{text}`: cityform sends the id `{text}` as written, but YAML 1.2 reads {number}"
                    ),
                )
                .with_hint(format!(
                    "quote it if the id is `{text}`: `{key}: \"{text}\"`; write `{key}: {}` if it is {number}",
                    text.parse::<i128>().map_or_else(|_| text.clone(), |number| number.to_string()),
                    key = entry.key
                )),
            );
            return Field::Given(text);
        }
        Node::Integer(integer) if !integer.negative => return Field::Given(integer.to_string()),
        Node::String(_) => Problem::new(position, format!("`{path}` must not be empty")),
        Node::Float(number) => Problem::new(
            position,
            format!("`{path}` must be {EXPECTED}, not the number `{number:?}`"),
        )
        .with_hint(format!(
            "quote it if that is really the id: `{}: \"{number:?}\"`",
            entry.key
        )),
        Node::Null => no_value(&entry, path, EXPECTED),
        _ => wrong_kind(&entry, path, EXPECTED),
    };
    problems.push(problem);
    Field::Invalid
}

/// `regionId` or `instanceId`: a part of the job group's address `regionId/instanceId/name`.
pub(crate) fn address_part(
    entry: Entry,
    path: impl fmt::Display,
    problems: &mut Vec<Problem>,
) -> Field<String> {
    let position = entry.position();
    let problem = match entry.value {
        Node::String(text) | Node::LeadingZeroDigits(text) => match text.chars().find(|character| {
            *character == '/' || character.is_whitespace() || character.is_control()
        }) {
            None if !text.is_empty() => return Field::Given(text),
            None => Problem::new(position, format!("`{path}` must not be empty")),
            Some('/') => Problem::new(position, format!("`{path}` must not contain `/`"))
                .with_hint(
                    "`/` separates the parts of a job group's address `regionId/instanceId/name`",
                ),
            Some(character) => {
                Problem::new(position, format!("`{path}` must not contain {character:?}"))
            }
        },
        Node::Null => no_value(&entry, path, "a string"),
        _ => wrong_kind(&entry, path, "a string"),
    };
    problems.push(problem);
    Field::Invalid
}

/// An address written as one string, `regionId/instanceId/name` (`spec.from`,
/// `spec.address`): three parts, none empty, the first two without whitespace or control
/// characters, the name following the name rule.
pub(crate) fn address(
    entry: Entry,
    path: impl fmt::Display,
    problems: &mut Vec<Problem>,
) -> Field<Address> {
    const EXPECTED: &str = "an address `regionId/instanceId/name`";
    let position = entry.position();
    let text = match entry.value {
        Node::String(text) => text,
        Node::Null => {
            problems.push(no_value(&entry, path, EXPECTED));
            return Field::Invalid;
        }
        _ => {
            problems.push(wrong_kind(&entry, path, EXPECTED));
            return Field::Invalid;
        }
    };
    let parts: Vec<&str> = text.split('/').collect();
    let [region, instance, name] = parts.as_slice() else {
        problems.push(
            Problem::new(
                position,
                format!(
                    "`{path}` must be {EXPECTED}, not `{}`",
                    printable(&text)
                ),
            )
            .with_hint(format!(
                "`{text}` has {} part{}; write three, e.g. `cn-shanghai/cityvisual-Instance/traffic-east`",
                parts.len(),
                if parts.len() == 1 { "" } else { "s" },
                text = printable(&text)
            )),
        );
        return Field::Invalid;
    };
    for (part, what) in [(region, "regionId"), (instance, "instanceId")] {
        let wrong = if part.is_empty() {
            Some("is empty".to_owned())
        } else {
            part.chars()
                .find(|character| character.is_whitespace() || character.is_control())
                .map(|character| format!("contains {character:?}"))
        };
        if let Some(wrong) = wrong {
            problems.push(Problem::new(
                position,
                format!("the {what} of `{path}` {wrong}"),
            ));
            return Field::Invalid;
        }
    }
    if let Err(error) = validate_job_group_name(name) {
        problems.push(
            Problem::new(
                position,
                format!(
                    "invalid job group name `{}` in `{path}`: {error}",
                    printable(name)
                ),
            )
            .with_hint(NAME_RULE),
        );
        return Field::Invalid;
    }
    Field::Given(Address::new(*region, *instance, *name))
}

/// `metadata.name`: the `JobGroupName`, checked against the name rule.
pub(crate) fn name(entry: Entry, problems: &mut Vec<Problem>) -> Field<String> {
    let position = entry.position();
    let problem = match entry.value {
        Node::String(text) => match validate_job_group_name(&text) {
            Ok(()) => {
                for single in single_rule_characters(&text) {
                    let refused_by = match single.allowed_by {
                        NameRuleSource::ReferencePage => NameRuleSource::SdkModel,
                        NameRuleSource::SdkModel => NameRuleSource::ReferencePage,
                    };
                    problems.push(
                        Problem::warning(
                            position,
                            format!(
                                "job group name `{text}` contains `{}`, which {} allows but {refused_by} does not",
                                single.character, single.allowed_by
                            ),
                        )
                        .with_hint(SINGLE_RULE_HINT),
                    );
                }
                return Field::Given(text);
            }
            Err(error) => Problem::new(
                position,
                format!("invalid job group name `{text}`: {error}"),
            )
            .with_hint(NAME_RULE),
        },
        Node::Null => no_value(&entry, "metadata.name", "the job group's name"),
        _ => wrong_kind(&entry, "metadata.name", "a string").with_hint(NAME_RULE),
    };
    problems.push(problem);
    Field::Invalid
}

/// `spec.status`: `Running` or `Stopped`, exactly as the API spells them, because that is
/// how `DescribeJobGroups` shows them back.
pub(crate) fn status(entry: Entry, problems: &mut Vec<Problem>) -> Field<Status> {
    const PATH: &str = "spec.status";
    const EXPECTED: &str = "`Running` or `Stopped`";
    let position = entry.position();
    let problem = match &entry.value {
        Node::String(text) => match text.parse::<Status>() {
            Ok(status) => return Field::Given(status),
            Err(_) => {
                let problem = Problem::new(
                    position,
                    format!("`{PATH}` must be {EXPECTED}, not `{text}`"),
                );
                // Only a difference of case is suggested: `started` is close to `Stopped`
                // in spelling but means the opposite.
                let same_word = STATUSES
                    .into_iter()
                    .map(|(status, _)| status.as_str())
                    .find(|spelling| spelling.eq_ignore_ascii_case(text.trim()));
                match same_word {
                    Some(spelling) => problem.with_hint(format!(
                        "write it as the API spells it: `status: {spelling}`"
                    )),
                    None => problem.with_hint(
                        "`Running` starts the job group (`StartJobGroup`), `Stopped` stops it; leave `status` out to leave it as it is",
                    ),
                }
            }
        },
        Node::Null => no_value(&entry, PATH, EXPECTED),
        _ => wrong_kind(&entry, PATH, EXPECTED),
    };
    problems.push(problem);
    Field::Invalid
}

/// `params`: `JobGroupParams` keys and values, normalised to the API's spelling
/// (`ES_ENABLE: true` and `ES_ENABLE: "True"` both become `True`). Entries that are wrong
/// are reported and left out.
pub(crate) fn params(entry: Entry, problems: &mut Vec<Problem>) -> Params {
    let mut params = Params::default();
    let mapping: Mapping = match entry.value {
        Node::Mapping(mapping) => mapping,
        Node::Null => {
            problems.push(no_value(
                &entry,
                "spec.params",
                "keys such as `ES_ENABLE: true`",
            ));
            return params;
        }
        _ => {
            problems.push(wrong_kind(&entry, "spec.params", "a mapping"));
            return params;
        }
    };
    for param in mapping.entries {
        let Ok(key) = param.key.parse::<ParamKey>() else {
            let names: Vec<&str> = ParamKey::ALL.iter().map(|key| key.as_str()).collect();
            let mut message = format!("unsupported params key `{}`", param.key);
            if let Some(suggestion) = suggest::closest(&param.key, &names) {
                message.push_str(&format!(", did you mean `{suggestion}`?"));
            }
            problems.push(
                Problem::new(param.key_position, message)
                    .with_hint(format!("supported keys are {}", suggest::list(&names))),
            );
            continue;
        };
        let written: Cow<'_, str> = match &param.value {
            Node::Bool(true) => "true".into(),
            Node::Bool(false) => "false".into(),
            Node::String(text) | Node::LeadingZeroDigits(text) => text.as_str().into(),
            Node::Integer(integer) => integer.to_string().into(),
            Node::Float(number) => format!("{number:?}").into(),
            Node::Null => {
                let path = format!("spec.params.{key}");
                problems.push(no_value(&param, &path, key.expected()));
                continue;
            }
            other => {
                problems.push(Problem::new(
                    param.position(),
                    format!(
                        "`spec.params.{key}` must be {}, not {}",
                        key.expected(),
                        describe(other)
                    ),
                ));
                continue;
            }
        };
        match normalize_param_value(key, &written) {
            Ok(value) => params.insert(key, value),
            Err(error) => problems.push(Problem::new(param.position(), error.to_string())),
        }
    }
    params
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::diagnostic::Position;
    use super::super::yaml::Integer;
    use super::*;

    fn entry(key: &str, value: Node) -> Entry {
        Entry {
            key: key.into(),
            key_position: Position { line: 4, column: 3 },
            value,
            value_position: Some(Position {
                line: 4,
                column: 10,
            }),
        }
    }

    fn integer(value: i128) -> Node {
        Node::Integer(Integer {
            negative: value < 0,
            magnitude: value.unsigned_abs(),
        })
    }

    fn messages(problems: &[Problem]) -> Vec<&str> {
        problems
            .iter()
            .map(|problem| problem.message.as_str())
            .collect()
    }

    #[test]
    fn counts_take_integers_from_one_to_the_largest_32_bit_value() {
        let mut problems = Vec::new();
        let read = |value, problems: &mut Vec<Problem>| {
            count(
                entry("planedJobCount", value),
                "spec.planedJobCount",
                problems,
            )
        };
        assert_eq!(read(integer(1), &mut problems), Field::Given(1));
        assert_eq!(
            read(integer(2_147_483_647), &mut problems),
            Field::Given(2_147_483_647)
        );
        assert!(problems.is_empty());
        for value in [
            integer(0),
            integer(-3),
            integer(2_147_483_648),
            Node::Integer(Integer {
                negative: false,
                magnitude: 99_999_999_999_999_999_999,
            }),
            Node::Float(2.5),
            Node::String("10".into()),
            Node::String("ten".into()),
            Node::Null,
            Node::Bool(true),
        ] {
            assert_eq!(read(value, &mut problems), Field::Invalid);
        }
        assert_eq!(
            messages(&problems),
            [
                "`spec.planedJobCount` must be at least 1, not `0`",
                "`spec.planedJobCount` must be at least 1, not `-3`",
                "`spec.planedJobCount` must be at most 2147483647, not `2147483648`",
                "`spec.planedJobCount` must be at most 2147483647, not `99999999999999999999`",
                "`spec.planedJobCount` must be a whole number, not `2.5`",
                "`spec.planedJobCount` must be a number, not the string `\"10\"`",
                "`spec.planedJobCount` must be a number, not the string `\"ten\"`",
                "`spec.planedJobCount` has no value",
                "`spec.planedJobCount` must be a number, not the boolean `true`",
            ]
        );
        assert_eq!(
            problems[5].hint.as_deref(),
            Some("remove the quotes: `planedJobCount: 10`")
        );
        assert!(problems.iter().all(|problem| problem.position
            == Position {
                line: 4,
                column: 10
            }));
    }

    #[test]
    fn ids_take_strings_and_integers_written_as_decimal_text() {
        let mut problems = Vec::new();
        let mut read =
            |value| identifier(entry("algoLibId", value), "spec.algoLibId", &mut problems);
        assert_eq!(read(integer(3)), Field::Given("3".to_owned()));
        assert_eq!(read(Node::String("3".into())), Field::Given("3".to_owned()));
        assert_eq!(
            read(Node::String("lib-7".into())),
            Field::Given("lib-7".to_owned())
        );
        assert_eq!(read(integer(-3)), Field::Invalid);
        assert_eq!(read(Node::String("  ".into())), Field::Invalid);
        assert_eq!(read(Node::Float(3.5)), Field::Invalid);
        assert_eq!(
            messages(&problems),
            [
                "`spec.algoLibId` must be a string or a non-negative integer, not the integer `-3`",
                "`spec.algoLibId` must not be empty",
                "`spec.algoLibId` must be a string or a non-negative integer, not the number `3.5`",
            ]
        );
    }

    #[test]
    fn status_takes_only_the_api_spelling() {
        let mut problems = Vec::new();
        let mut read = |value| status(entry("status", value), &mut problems);
        assert_eq!(
            read(Node::String("Running".into())),
            Field::Given(Status::Running)
        );
        assert_eq!(
            read(Node::String("Stopped".into())),
            Field::Given(Status::Stopped)
        );
        assert_eq!(read(Node::String("running".into())), Field::Invalid);
        assert_eq!(read(Node::String("started".into())), Field::Invalid);
        assert_eq!(read(Node::Bool(true)), Field::Invalid);
        assert_eq!(read(Node::Null), Field::Invalid);
        assert_eq!(
            messages(&problems),
            [
                "`spec.status` must be `Running` or `Stopped`, not `running`",
                "`spec.status` must be `Running` or `Stopped`, not `started`",
                "`spec.status` must be `Running` or `Stopped`, not the boolean `true`",
                "`spec.status` has no value",
            ]
        );
        assert_eq!(
            problems[0].hint.as_deref(),
            Some("write it as the API spells it: `status: Running`")
        );
        assert!(
            problems[1]
                .hint
                .as_deref()
                .is_some_and(|hint| hint.contains("leave `status` out")),
            "{:?}",
            problems[1].hint
        );
    }

    #[test]
    fn address_parts_are_non_empty_strings_without_slashes_or_spaces() {
        let mut problems = Vec::new();
        let mut read =
            |value| address_part(entry("regionId", value), "spec.regionId", &mut problems);
        assert_eq!(
            read(Node::String("cn-shanghai".into())),
            Field::Given("cn-shanghai".to_owned())
        );
        for text in ["", "cn/shanghai", "cn shanghai"] {
            assert_eq!(read(Node::String(text.into())), Field::Invalid);
        }
        assert_eq!(read(integer(5)), Field::Invalid);
        assert_eq!(
            messages(&problems),
            [
                "`spec.regionId` must not be empty",
                "`spec.regionId` must not contain `/`",
                "`spec.regionId` must not contain ' '",
                "`spec.regionId` must be a string, not the integer `5`",
            ]
        );
    }

    #[test]
    fn names_follow_the_name_rule() {
        let mut problems = Vec::new();
        assert_eq!(
            name(
                entry("name", Node::String("traffic-east".into())),
                &mut problems
            ),
            Field::Given("traffic-east".to_owned())
        );
        for bad in ["1abc", "ab c", &"a".repeat(129)] {
            assert_eq!(
                name(entry("name", Node::String(bad.into())), &mut problems),
                Field::Invalid
            );
        }
        assert_eq!(
            messages(&problems),
            [
                "invalid job group name `1abc`: must start with an ASCII letter or a CJK character, not `1`",
                "invalid job group name `ab c`: may contain only ASCII letters, digits, CJK characters, `:`, `.`, `_` and `-`, not ` `",
                &format!(
                    "invalid job group name `{}`: must be 2 to 128 characters long, not 129",
                    "a".repeat(129)
                ),
            ]
        );
        assert!(
            problems
                .iter()
                .all(|problem| problem.hint.as_deref() == Some(NAME_RULE))
        );
    }

    /// `:` is in the reference page's rule only, `.` in the SDK model's only: both load, with
    /// a warning each; a URL-like name is refused.
    #[test]
    fn a_character_only_one_rule_allows_is_a_warning() {
        let mut problems = Vec::new();
        for (text, given) in [("cam:east-01", true), ("v1.2", true), ("http://x", false)] {
            let field = name(entry("name", Node::String(text.into())), &mut problems);
            assert_eq!(field == Field::Given(text.to_owned()), given, "{text}");
        }
        assert_eq!(
            messages(&problems),
            [
                "job group name `cam:east-01` contains `:`, which the ModifyJobGroup reference page allows but the SDK model's rule does not",
                "job group name `v1.2` contains `.`, which the SDK model's rule allows but the ModifyJobGroup reference page does not",
                "invalid job group name `http://x`: must not start with `http://`",
            ]
        );
        assert_eq!(
            problems.iter().map(Problem::is_error).collect::<Vec<_>>(),
            [false, false, true]
        );
        assert_eq!(problems[0].hint.as_deref(), Some(SINGLE_RULE_HINT));
    }

    fn params_entry(pairs: Vec<(&str, Node)>) -> Entry {
        let entries = pairs
            .into_iter()
            .enumerate()
            .map(|(index, (key, value))| Entry {
                key: key.into(),
                key_position: Position {
                    line: 10 + index,
                    column: 5,
                },
                value,
                value_position: Some(Position {
                    line: 10 + index,
                    column: 20,
                }),
            })
            .collect();
        entry(
            "params",
            Node::Mapping(Mapping {
                entries,
                position: None,
            }),
        )
    }

    #[test]
    fn params_merge_key_by_key_and_the_own_value_wins() {
        let mut defaults = Params::default();
        defaults.insert(ParamKey::EsEnable, "True");
        defaults.insert(ParamKey::RdsEnable, "False");
        let mut own = Params::default();
        own.insert(ParamKey::EsEnable, "False");
        own.insert(ParamKey::ScheduleFlowStartTime, "Oldest");
        let merged = own.over(defaults);
        assert_eq!(merged.get(ParamKey::EsEnable), Some("False"));
        assert_eq!(merged.get(ParamKey::RdsEnable), Some("False"));
        assert_eq!(merged.get(ParamKey::ScheduleFlowStartTime), Some("Oldest"));
        assert_eq!(merged.get(ParamKey::DatahubEnable), None);
        assert_eq!(
            merged.into_map().keys().collect::<Vec<_>>(),
            ["ES_ENABLE", "RDS_ENABLE", "SCHEDULE_FLOW_START_TIME"]
        );
    }

    #[test]
    fn param_values_normalise_to_the_api_spelling() {
        let mut problems = Vec::new();
        let read = params(
            params_entry(vec![
                ("ES_ENABLE", Node::Bool(true)),
                ("RDS_ENABLE", Node::String("True".into())),
                ("OUT_MQ_ENABLE", Node::String("false".into())),
                ("DATAHUB_ENABLE", Node::Bool(false)),
                ("SCHEDULE_FLOW_START_TIME", Node::String("oldest".into())),
            ]),
            &mut problems,
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(read.get(ParamKey::EsEnable), Some("True"));
        let expected: JobGroupParams = [
            ("ES_ENABLE", "True"),
            ("RDS_ENABLE", "True"),
            ("OUT_MQ_ENABLE", "False"),
            ("DATAHUB_ENABLE", "False"),
            ("SCHEDULE_FLOW_START_TIME", "Oldest"),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect();
        assert_eq!(read.into_map(), expected);
    }

    #[test]
    fn unsupported_param_keys_and_values_are_reported_where_written() {
        let mut problems = Vec::new();
        let read = params(
            params_entry(vec![
                ("ES_ENABLED", Node::Bool(true)),
                ("COLOUR", Node::String("red".into())),
                ("RDS_ENABLE", Node::String("yes".into())),
                ("SCHEDULE_FLOW_START_TIME", Node::Bool(true)),
                ("DATAHUB_ENABLE", Node::Null),
                (
                    "OUT_MQ_ENABLE",
                    Node::Sequence(super::super::yaml::Sequence {
                        items: Vec::new(),
                        item_positions: Vec::new(),
                        position: None,
                    }),
                ),
                ("ES_ENABLE", Node::Bool(true)),
            ]),
            &mut problems,
        );
        assert_eq!(read.into_map().len(), 1);
        assert_eq!(
            messages(&problems),
            [
                "unsupported params key `ES_ENABLED`, did you mean `ES_ENABLE`?",
                "unsupported params key `COLOUR`",
                "unsupported value `yes` for params key `RDS_ENABLE`: expected `true` or `false`",
                "unsupported value `true` for params key `SCHEDULE_FLOW_START_TIME`: expected `Latest` or `Oldest`",
                "`spec.params.DATAHUB_ENABLE` has no value",
                "`spec.params.OUT_MQ_ENABLE` must be `true` or `false`, not a sequence",
            ]
        );
        let positions: Vec<Position> = problems.iter().map(|problem| problem.position).collect();
        assert_eq!(
            positions,
            [
                Position {
                    line: 10,
                    column: 5
                },
                Position {
                    line: 11,
                    column: 5
                },
                Position {
                    line: 12,
                    column: 20
                },
                Position {
                    line: 13,
                    column: 20
                },
                Position {
                    line: 14,
                    column: 20
                },
                Position {
                    line: 15,
                    column: 20
                },
            ]
        );
    }
}
