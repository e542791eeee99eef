//! The meaning of one manifest document: `apiVersion`, `kind`, `metadata`, `spec` and
//! `lifecycle` read from a YAML tree into a [`ManifestDocument`], with a problem for everything that is not
//! what the format says. Nothing here looks at other documents; defaults, required fields
//! and duplicates are the set's business (`set.rs`).
//!
//! The fields each part takes, and the rule each value follows, come from the tables of
//! `format.rs`; this module reads them and says what is wrong where it is written.

use super::declaration::{DeclarationDocument, read_declaration};
use super::diagnostic::{Position, Problem};
use super::format::{API_VERSION, FieldSpec, KINDS, Kind, Part, Rule};
use super::lifecycle;
use super::suggest;
use super::values::{self, Field, FieldPath, Params, describe};
use super::yaml::{Document, Entry, Mapping, Node};
use crate::model::{Lifecycle, Status};

/// What one document declares.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ManifestDocument {
    /// `kind: JobGroup`.
    JobGroup(JobGroupDocument),
    /// `kind: Defaults`.
    Defaults(DefaultsDocument),
    /// `kind: Moved`, `Import` or `Removed`: a change of what the state records.
    Declaration(DeclarationDocument),
}

/// A `JobGroup` document, before defaults.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JobGroupDocument {
    /// Where the document starts.
    pub position: Position,
    /// `metadata.name`.
    pub name: Field<String>,
    /// `spec` as written.
    pub spec: PartialSpec,
    /// Where to point when the spec, with defaults, still lacks a field: its `spec` key,
    /// or the document when there is none.
    pub spec_position: Position,
    /// `lifecycle`, the valid parts of it.
    pub lifecycle: Lifecycle,
}

/// A `Defaults` document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DefaultsDocument {
    /// Where the document starts.
    pub position: Position,
    /// The defaults.
    pub spec: PartialSpec,
}

/// A `spec` in which every field may be left out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct PartialSpec {
    /// `regionId`.
    pub region_id: Field<String>,
    /// `instanceId`.
    pub instance_id: Field<String>,
    /// `algoLibId`.
    pub algo_lib_id: Field<String>,
    /// `resourceProfileId`.
    pub resource_profile_id: Field<String>,
    /// `planedJobCount`.
    pub planed_job_count: Field<u32>,
    /// `streamPerJob`.
    pub stream_per_job: Field<u32>,
    /// `jobCount`.
    pub job_count: Field<u32>,
    /// `params`, the valid entries, canonical values.
    pub params: Params,
    /// `status`.
    pub status: Field<Status>,
}

impl PartialSpec {
    /// A spec that could not be read at all: every field is already reported.
    fn unreadable() -> Self {
        Self {
            region_id: Field::Invalid,
            instance_id: Field::Invalid,
            algo_lib_id: Field::Invalid,
            resource_profile_id: Field::Invalid,
            planed_job_count: Field::Invalid,
            stream_per_job: Field::Invalid,
            job_count: Field::Invalid,
            params: Params::default(),
            status: Field::Invalid,
        }
    }

    /// Reads the `spec` field `field` from `entry`, with the check its rule names.
    fn read(&mut self, field: &FieldSpec, entry: Entry, problems: &mut Vec<Problem>) {
        let path = FieldPath::new(Part::Spec, field.name);
        match field.rule {
            Rule::AddressPart(slot) => {
                *slot.write(self) = values::address_part(entry, path, problems)
            }
            Rule::Identifier(slot) => *slot.write(self) = values::identifier(entry, path, problems),
            Rule::Count(slot) => *slot.write(self) = values::count(entry, path, problems),
            Rule::Status(slot) => *slot.write(self) = values::status(entry, problems),
            Rule::Params => self.params = values::params(entry, problems),
            // No job group `spec` field follows these.
            Rule::ApiVersion
            | Rule::Kind
            | Rule::Part(_)
            | Rule::Name
            | Rule::Boolean
            | Rule::AttributeNames
            | Rule::Address
            | Rule::JobGroupId => {}
        }
    }

    /// Whether the `spec` field `field` is not written at all (`params` always is: it
    /// merges key by key).
    pub fn is_absent(&self, field: &FieldSpec) -> bool {
        match field.rule {
            Rule::AddressPart(slot) | Rule::Identifier(slot) => slot.read(self).is_absent(),
            Rule::Count(slot) => slot.read(self).is_absent(),
            Rule::Status(slot) => slot.read(self).is_absent(),
            Rule::Params
            | Rule::ApiVersion
            | Rule::Kind
            | Rule::Part(_)
            | Rule::Name
            | Rule::Boolean
            | Rule::AttributeNames
            | Rule::Address
            | Rule::JobGroupId => false,
        }
    }

    /// Counts the field `field` as written, when it is not: a misspelling of it was
    /// reported already, so its absence must not be reported too.
    fn mark_reported(&mut self, field: &FieldSpec) {
        fn mark<T>(value: &mut Field<T>) {
            if value.is_absent() {
                *value = Field::Invalid;
            }
        }
        match field.rule {
            Rule::AddressPart(slot) | Rule::Identifier(slot) => mark(slot.write(self)),
            Rule::Count(slot) => mark(slot.write(self)),
            Rule::Status(slot) => mark(slot.write(self)),
            // `params` is never missing: it merges key by key.
            Rule::Params
            | Rule::ApiVersion
            | Rule::Kind
            | Rule::Part(_)
            | Rule::Name
            | Rule::Boolean
            | Rule::AttributeNames
            | Rule::Address
            | Rule::JobGroupId => {}
        }
    }

    /// This spec with `defaults` filling what it leaves out; `params` merge key by key,
    /// this spec's keys winning.
    pub fn with_defaults(self, defaults: &PartialSpec) -> PartialSpec {
        PartialSpec {
            region_id: self.region_id.or(defaults.region_id.clone()),
            instance_id: self.instance_id.or(defaults.instance_id.clone()),
            algo_lib_id: self.algo_lib_id.or(defaults.algo_lib_id.clone()),
            resource_profile_id: self
                .resource_profile_id
                .or(defaults.resource_profile_id.clone()),
            planed_job_count: self.planed_job_count.or(defaults.planed_job_count.clone()),
            stream_per_job: self.stream_per_job.or(defaults.stream_per_job.clone()),
            job_count: self.job_count.or(defaults.job_count.clone()),
            params: self.params.over(defaults.params),
            status: self.status.or(defaults.status.clone()),
        }
    }
}

/// Reads one document. `None` for an empty document (`---` alone, or `null`), and for one
/// too broken to say what it declares; its problems are in `problems`.
pub(crate) fn read_document(
    document: Document,
    problems: &mut Vec<Problem>,
) -> Option<ManifestDocument> {
    let position = document.position;
    let root = match document.root {
        Node::Mapping(mapping) => mapping,
        Node::Null => return None,
        other => {
            problems.push(
                Problem::new(
                    position,
                    format!(
                        "a manifest document must be a mapping, not {}",
                        describe(&other)
                    ),
                )
                .with_hint(format!(
                    "each document starts with `apiVersion: {API_VERSION}` and `kind: JobGroup`"
                )),
            );
            return None;
        }
    };
    if !api_version_is_readable(&root, position, problems) {
        return None;
    }
    match kind(&root, position, problems)? {
        Kind::JobGroup => Some(ManifestDocument::JobGroup(read_job_group(
            root, position, problems,
        ))),
        Kind::Defaults => Some(ManifestDocument::Defaults(read_defaults(
            root, position, problems,
        ))),
        kind @ (Kind::Moved | Kind::Import | Kind::Removed) => {
            read_declaration(root, kind, position, problems).map(ManifestDocument::Declaration)
        }
    }
}

/// Checks `apiVersion`. A missing one is reported and the document still read as
/// `cityform/v1`, so that its other problems show too; any other version stops here,
/// because its fields may mean something else.
fn api_version_is_readable(
    root: &Mapping,
    position: Position,
    problems: &mut Vec<Problem>,
) -> bool {
    let Some(entry) = root.get("apiVersion") else {
        problems.push(
            Problem::new(position, "missing `apiVersion`")
                .with_hint(format!("add `apiVersion: {API_VERSION}`")),
        );
        return true;
    };
    match &entry.value {
        Node::String(version) if version == API_VERSION => true,
        Node::String(version) => {
            problems.push(
                Problem::new(
                    entry.position(),
                    format!("unsupported apiVersion `{version}`"),
                )
                .with_hint(format!("this version of cityform reads `{API_VERSION}`")),
            );
            false
        }
        other => {
            problems.push(
                Problem::new(
                    entry.position(),
                    format!("`apiVersion` must be a string, not {}", describe(other)),
                )
                .with_hint(format!("write `apiVersion: {API_VERSION}`")),
            );
            false
        }
    }
}

/// The document's `kind`, when it is one cityform knows.
fn kind(root: &Mapping, position: Position, problems: &mut Vec<Problem>) -> Option<Kind> {
    // Built only for a problem: this runs for every document of the set.
    let hint = || format!("the kinds are {}", suggest::list(&KINDS));
    let Some(entry) = root.get("kind") else {
        problems.push(
            Problem::new(position, "missing `kind`")
                .with_hint("add `kind: JobGroup`, or `kind: Defaults` for defaults"),
        );
        return None;
    };
    let Node::String(kind) = &entry.value else {
        problems.push(
            Problem::new(
                entry.position(),
                format!("`kind` must be a string, not {}", describe(&entry.value)),
            )
            .with_hint(hint()),
        );
        return None;
    };
    if let Some(known) = Kind::ALL.into_iter().find(|known| known.as_str() == kind) {
        return Some(known);
    }
    let mut message = format!("unknown kind `{kind}`");
    if let Some(suggestion) = suggest::closest(kind, &KINDS) {
        message.push_str(&format!(", did you mean `{suggestion}`?"));
    }
    problems.push(Problem::new(entry.position(), message).with_hint(hint()));
    None
}

fn read_job_group(
    root: Mapping,
    position: Position,
    problems: &mut Vec<Problem>,
) -> JobGroupDocument {
    let mut document = JobGroupDocument {
        position,
        name: Field::Absent,
        spec: PartialSpec::default(),
        spec_position: position,
        lifecycle: Lifecycle::default(),
    };
    let mut has_metadata = false;
    let mut has_spec = false;
    let mut suggested = Vec::new();
    for entry in root.entries {
        let field = Part::Document.field(Kind::JobGroup, &entry.key);
        match field.map(|field| field.rule) {
            Some(Rule::ApiVersion | Rule::Kind) => {}
            Some(Rule::Part(Part::Metadata)) => {
                has_metadata = true;
                document.name = read_metadata(entry, problems);
            }
            Some(Rule::Part(Part::Spec)) => {
                has_spec = true;
                document.spec_position = entry.key_position;
                document.spec = read_spec(entry, Kind::JobGroup, problems);
            }
            Some(Rule::Part(Part::Lifecycle)) => {
                document.lifecycle = read_lifecycle(entry, problems);
            }
            _ => suggested.extend(unknown_field(
                &entry,
                Part::Document,
                Kind::JobGroup,
                problems,
            )),
        }
    }
    // A misspelt `metadata` or `spec` is already reported; its absence is not news.
    if !has_metadata {
        if !suggested.iter().any(|field| is_part(field, Part::Metadata)) {
            problems.push(
                Problem::new(position, "missing `metadata`")
                    .with_hint("add `metadata:` with the job group's `name`"),
            );
        }
        document.name = Field::Invalid;
    }
    if !has_spec && suggested.iter().any(|field| is_part(field, Part::Spec)) {
        document.spec = PartialSpec::unreadable();
    }
    document
}

fn read_defaults(
    root: Mapping,
    position: Position,
    problems: &mut Vec<Problem>,
) -> DefaultsDocument {
    let mut document = DefaultsDocument {
        position,
        spec: PartialSpec::default(),
    };
    for entry in root.entries {
        // The fields of a job group are known here too, to say why they do not belong.
        let field = Part::Document
            .field(Kind::Defaults, &entry.key)
            .or_else(|| Part::Document.field(Kind::JobGroup, &entry.key));
        match field.map(|field| field.rule) {
            Some(Rule::ApiVersion | Rule::Kind) => {}
            Some(Rule::Part(Part::Spec)) => {
                document.spec = read_spec(entry, Kind::Defaults, problems);
            }
            Some(Rule::Part(Part::Metadata)) => problems.push(
                Problem::new(entry.key_position, "unknown field `metadata`")
                    .with_hint("a `Defaults` document has no name; remove `metadata`"),
            ),
            Some(Rule::Part(Part::Lifecycle)) => problems.push(
                Problem::new(
                    entry.key_position,
                    "`lifecycle` is not allowed in a `Defaults` document",
                )
                .with_hint(
                    "protection and ignored changes are decided group by group: write `lifecycle` in each `JobGroup` document that needs it",
                ),
            ),
            _ => {
                unknown_field(&entry, Part::Document, Kind::Defaults, problems);
            }
        }
    }
    document
}

/// The mapping a part of a document (`metadata`, `spec`, `lifecycle`) holds, or what to say
/// when it holds something else.
pub(super) fn part_mapping(name: &str, value: Node) -> Result<Mapping, String> {
    match value {
        Node::Mapping(mapping) => Ok(mapping),
        Node::Null => Err(format!("`{name}` has no value")),
        other => Err(format!(
            "`{name}` must be a mapping, not {}",
            describe(&other)
        )),
    }
}

/// `metadata`, which holds the name; `Invalid` when the name is missing or wrong.
fn read_metadata(entry: Entry, problems: &mut Vec<Problem>) -> Field<String> {
    let key_position = entry.key_position;
    let position = entry.position();
    let mapping = match part_mapping("metadata", entry.value) {
        Ok(mapping) => mapping,
        Err(message) => {
            problems.push(
                Problem::new(position, message)
                    .with_hint("write `metadata:` with `name: ...` under it"),
            );
            return Field::Invalid;
        }
    };
    let mut name = Field::Absent;
    let mut suggested = Vec::new();
    for entry in mapping.entries {
        let field = Part::Metadata.field(Kind::JobGroup, &entry.key);
        match field.map(|field| field.rule) {
            Some(Rule::Name) => name = values::name(entry, problems),
            _ => suggested.extend(unknown_field(
                &entry,
                Part::Metadata,
                Kind::JobGroup,
                problems,
            )),
        }
    }
    if name == Field::Absent
        && suggested
            .iter()
            .any(|field| matches!(field.rule, Rule::Name))
    {
        return Field::Invalid;
    }
    if name == Field::Absent {
        problems.push(
            Problem::new(key_position, "missing `metadata.name`")
                .with_hint("add `name: ...` under `metadata`; it becomes the `JobGroupName`"),
        );
        return Field::Invalid;
    }
    name
}

/// `spec`, as far as it can be read.
fn read_spec(entry: Entry, kind: Kind, problems: &mut Vec<Problem>) -> PartialSpec {
    let position = entry.position();
    let mapping = match part_mapping("spec", entry.value) {
        Ok(mapping) => mapping,
        Err(message) => {
            problems.push(Problem::new(position, message).with_hint(format!(
                "`spec` takes {}",
                suggest::list(&Part::Spec.names(kind))
            )));
            return PartialSpec::unreadable();
        }
    };
    let mut spec = PartialSpec::default();
    let mut suggested = Vec::new();
    for entry in mapping.entries {
        match Part::Spec.field(kind, &entry.key) {
            Some(field) => spec.read(field, entry, problems),
            None => {
                // Fields a merge key may have brought are unknowable: none is reported missing.
                if entry.key == "<<" {
                    suggested.extend(Part::Spec.fields());
                }
                suggested.extend(unknown_field(&entry, Part::Spec, kind, problems));
            }
        }
    }
    // A misspelt field is already reported; it is not reported again as missing.
    for field in suggested {
        spec.mark_reported(field);
    }
    spec
}

/// `lifecycle`, as far as it can be read.
fn read_lifecycle(entry: Entry, problems: &mut Vec<Problem>) -> Lifecycle {
    let position = entry.position();
    let mapping = match part_mapping("lifecycle", entry.value) {
        Ok(mapping) => mapping,
        Err(message) => {
            problems.push(Problem::new(position, message).with_hint(format!(
                "`lifecycle` takes {}; remove it when neither is needed",
                suggest::list(&Part::Lifecycle.names(Kind::JobGroup))
            )));
            return Lifecycle::default();
        }
    };
    let mut read = Lifecycle::default();
    for entry in mapping.entries {
        let field = Part::Lifecycle.field(Kind::JobGroup, &entry.key);
        match field.map(|field| field.rule) {
            Some(Rule::Boolean) => {
                if let Field::Given(value) = lifecycle::prevent_destroy(entry, problems) {
                    read.prevent_destroy = Some(value);
                }
            }
            Some(Rule::AttributeNames) => {
                read.ignore_changes = lifecycle::ignore_changes(entry, problems);
            }
            _ => {
                unknown_field(&entry, Part::Lifecycle, Kind::JobGroup, problems);
            }
        }
    }
    read
}

/// Whether `field` holds the part `part`.
pub(super) fn is_part(field: &FieldSpec, part: Part) -> bool {
    matches!(field.rule, Rule::Part(held) if held == part)
}

/// Where a field that is unknown in one part belongs instead, for the hint.
fn belongs_elsewhere(key: &str) -> Option<String> {
    let known = |part: Part| part.fields().iter().any(|field| field.name == key);
    if let Some(part) = [
        Part::Spec,
        Part::Metadata,
        Part::Lifecycle,
        Part::Moved,
        Part::Import,
        Part::Removed,
    ]
    .into_iter()
    .find(|part| known(*part))
    {
        part.path().map(|path| format!("`{path}`"))
    } else if crate::model::ParamKey::ALL
        .iter()
        .any(|param| param.as_str() == key)
    {
        Some("`spec.params`".to_owned())
    } else if known(Part::Document) {
        Some("the top level of the document".to_owned())
    } else {
        None
    }
}

/// Reports a key that `part` of a document of `kind` does not take, and returns the field
/// it is probably a misspelling of.
pub(super) fn unknown_field(
    entry: &Entry,
    part: Part,
    kind: Kind,
    problems: &mut Vec<Problem>,
) -> Option<&'static FieldSpec> {
    let key = entry.key.as_str();
    if key == "<<" {
        problems.push(
            Problem::new(entry.key_position, "merge keys (`<<`) are not supported")
                .with_hint("write the fields out, or share them through the `Defaults` document"),
        );
        return None;
    }
    let mut message = match part.path() {
        Some(path) => format!("unknown field `{key}` in `{path}`"),
        None => format!("unknown field `{key}`"),
    };
    let known = part.names(kind);
    let suggestion = suggest::closest(key, &known);
    if let Some(suggestion) = suggestion {
        message.push_str(&format!(", did you mean `{suggestion}`?"));
    }
    let problem = Problem::new(entry.key_position, message);
    problems.push(match belongs_elsewhere(key) {
        Some(place) if suggestion.is_none() => {
            problem.with_hint(format!("`{key}` belongs in {place}"))
        }
        _ if suggestion.is_some() => problem,
        _ => problem.with_hint(format!(
            "{} takes {}",
            part.path()
                .map_or_else(|| "a document".to_owned(), |path| format!("`{path}`")),
            suggest::list(&known)
        )),
    });
    suggestion.and_then(|name| part.field(kind, name))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(super) mod tests {
    use super::super::yaml::{Detail, Item, parse_stream};
    use super::*;
    use crate::model::ParamKey;

    /// Reads the first document of `text`, with every position located.
    pub(in crate::manifest) fn read(text: &str) -> (Option<ManifestDocument>, Vec<Problem>) {
        let mut documents = Vec::new();
        let mut problems = Vec::new();
        parse_stream(text, Detail::Everything, |item| match item {
            Item::Document(document, found) => {
                problems.extend(found);
                documents.push(document);
            }
            other => panic!("unexpected {other:?}"),
        });
        let document = documents.into_iter().next().expect("one document");
        let read = read_document(document, &mut problems);
        (read, problems)
    }

    fn rendered(problems: &[Problem]) -> Vec<String> {
        problems
            .iter()
            .map(|problem| format!("{}: {}", problem.position, problem.message))
            .collect()
    }

    const GROUP: &str = "\
apiVersion: cityform/v1
kind: JobGroup
metadata:
  name: traffic-east
spec:
  regionId: cn-shanghai
  instanceId: cityvisual-Instance
  algoLibId: 3
  resourceProfileId: \"6\"
  planedJobCount: 10
  streamPerJob: 5
  jobCount: 3
  params:
    ES_ENABLE: true
    SCHEDULE_FLOW_START_TIME: latest
";

    #[test]
    fn reads_a_complete_job_group() {
        let (document, problems) = read(GROUP);
        assert!(problems.is_empty(), "{problems:?}");
        let Some(ManifestDocument::JobGroup(group)) = document else {
            panic!("{document:?}");
        };
        assert_eq!(group.position, Position::START);
        assert_eq!(group.name, Field::Given("traffic-east".to_owned()));
        assert_eq!(group.spec_position, Position { line: 5, column: 1 });
        let spec = group.spec;
        assert_eq!(spec.region_id, Field::Given("cn-shanghai".to_owned()));
        assert_eq!(spec.algo_lib_id, Field::Given("3".to_owned()));
        assert_eq!(spec.resource_profile_id, Field::Given("6".to_owned()));
        assert_eq!(spec.planed_job_count, Field::Given(10));
        assert_eq!(spec.job_count, Field::Given(3));
        assert_eq!(spec.params.get(ParamKey::EsEnable), Some("True"));
        assert_eq!(
            spec.params.get(ParamKey::ScheduleFlowStartTime),
            Some("Latest")
        );
    }

    /// `algoLibId: 03` was taken as the id `03` without a word; YAML 1.2 reads the number 3.
    #[test]
    fn an_id_written_as_a_number_with_a_leading_zero_is_kept_with_a_warning() {
        let text = GROUP.replace("algoLibId: 3", "algoLibId: 03");
        let (document, problems) = read(&text);
        let Some(ManifestDocument::JobGroup(group)) = document else {
            panic!("{document:?}");
        };
        assert_eq!(group.spec.algo_lib_id, Field::Given("03".to_owned()));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(!problems[0].is_error());
        assert_eq!(
            problems[0].position,
            Position {
                line: 8,
                column: 14
            }
        );
        assert_eq!(
            problems[0].message,
            "`spec.algoLibId` is the unquoted number `03`: cityform sends the id `03` as written, but YAML 1.2 reads `3`"
        );
        assert_eq!(
            problems[0].hint.as_deref(),
            Some(
                "quote it if the id is `03`: `algoLibId: \"03\"`; write `algoLibId: 3` if it is `3`"
            )
        );
        // Quoted, or tagged as a string, it is text on purpose.
        for written in ["\"03\"", "'03'", "!!str 03"] {
            let (_, problems) =
                read(&GROUP.replace("algoLibId: 3", &format!("algoLibId: {written}")));
            assert!(problems.is_empty(), "{written}: {problems:?}");
        }
    }

    #[test]
    fn ids_written_as_integers_become_their_decimal_text() {
        for (written, expected) in [
            ("3", "3"),
            ("\"3\"", "3"),
            ("0x1F", "31"),
            ("\"007\"", "007"),
        ] {
            let text = GROUP.replace("algoLibId: 3", &format!("algoLibId: {written}"));
            let (document, problems) = read(&text);
            assert!(problems.is_empty(), "{problems:?}");
            let Some(ManifestDocument::JobGroup(group)) = document else {
                panic!("{document:?}");
            };
            assert_eq!(
                group.spec.algo_lib_id,
                Field::Given(expected.to_owned()),
                "{written}"
            );
        }
    }

    #[test]
    fn reports_every_problem_of_a_document() {
        let text = "\
apiVersion: cityform/v1
kind: JobGroup
metadata:
  name: 1abc
  labels: x
spec:
  regionId: cn/shanghai
  planedJobCont: 10
  streamPerJob: \"5\"
  jobCount: 0
  name: oops
status: Running
";
        let (document, problems) = read(text);
        assert!(matches!(document, Some(ManifestDocument::JobGroup(_))));
        assert_eq!(
            rendered(&problems),
            [
                "4:9: invalid job group name `1abc`: must start with an ASCII letter or a CJK character, not `1`",
                "5:3: unknown field `labels` in `metadata`",
                "7:13: `spec.regionId` must not contain `/`",
                "8:3: unknown field `planedJobCont` in `spec`, did you mean `planedJobCount`?",
                "9:17: `spec.streamPerJob` must be a number, not the string `\"5\"`",
                "10:13: `spec.jobCount` must be at least 1, not `0`",
                "11:3: unknown field `name` in `spec`",
                "12:1: unknown field `status`",
            ]
        );
        assert_eq!(
            problems[6].hint.as_deref(),
            Some("`name` belongs in `metadata`")
        );
        assert_eq!(
            problems[7].hint.as_deref(),
            Some("`status` belongs in `spec`")
        );
    }

    /// `GROUP` with `more` added at the end (top-level fields, or more of `params`).
    fn group_with(more: &str) -> (Option<ManifestDocument>, Vec<Problem>) {
        read(&format!("{GROUP}{more}"))
    }

    fn job_group(document: Option<ManifestDocument>) -> JobGroupDocument {
        match document {
            Some(ManifestDocument::JobGroup(group)) => group,
            other => panic!("expected a job group: {other:?}"),
        }
    }

    #[test]
    fn reads_the_lifecycle_block_and_the_status() {
        let (document, problems) = read(
            &(GROUP.replace("  params:\n", "  status: Running\n  params:\n")
                + "lifecycle:\n  preventDestroy: true\n  ignoreChanges: [jobCount, params.ES_ENABLE, status]\n"),
        );
        assert!(problems.is_empty(), "{problems:?}");
        let group = job_group(document);
        assert_eq!(group.spec.status, Field::Given(Status::Running));
        assert_eq!(group.lifecycle.prevent_destroy, Some(true));
        assert_eq!(
            group.lifecycle.ignore_changes,
            ["jobCount", "params.ES_ENABLE", "status"]
        );
    }

    #[test]
    fn a_group_without_lifecycle_or_status_leaves_both_alone() {
        let (document, problems) = read(GROUP);
        assert!(problems.is_empty(), "{problems:?}");
        let group = job_group(document);
        assert_eq!(group.spec.status, Field::Absent);
        assert_eq!(group.lifecycle, Lifecycle::default());
        let (document, problems) = group_with("lifecycle: {}\n");
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(job_group(document).lifecycle, Lifecycle::default());
    }

    #[test]
    fn reports_every_problem_of_a_lifecycle_block() {
        let (document, problems) = group_with(
            "lifecycle:\n  preventDestroy: \"yes\"\n  ignoreChanges:\n    - planedJobCont\n    - streamPerJob\n  ignoreChange: [x]\n",
        );
        assert_eq!(
            rendered(&problems),
            [
                "17:19: `lifecycle.preventDestroy` must be `true` or `false`, not the string `\"yes\"`",
                "19:7: unknown attribute `planedJobCont` in `lifecycle.ignoreChanges`, did you mean `planedJobCount`?",
                "21:3: unknown field `ignoreChange` in `lifecycle`, did you mean `ignoreChanges`?",
            ]
        );
        let group = job_group(document);
        assert_eq!(group.lifecycle.prevent_destroy, None);
        assert_eq!(group.lifecycle.ignore_changes, ["streamPerJob"]);

        let (_, problems) = group_with("lifecycle: true\n");
        assert_eq!(
            rendered(&problems),
            ["16:12: `lifecycle` must be a mapping, not the boolean `true`"]
        );
        let (_, problems) = group_with("lifecycle:\n  colour: blue\n");
        assert_eq!(
            problems[0].hint.as_deref(),
            Some("`lifecycle` takes `preventDestroy` and `ignoreChanges`")
        );
    }

    #[test]
    fn lifecycle_fields_written_elsewhere_are_pointed_to_their_place() {
        let (_, problems) = read(
            &(GROUP.replace(
                "  params:\n",
                "  preventDestroy: true\n  lifecycle: {}\n  params:\n",
            ) + "ignoreChanges: [jobCount]\n"),
        );
        let hints: Vec<Option<&str>> = problems
            .iter()
            .map(|problem| problem.hint.as_deref())
            .collect();
        assert_eq!(
            rendered(&problems),
            [
                "13:3: unknown field `preventDestroy` in `spec`",
                "14:3: unknown field `lifecycle` in `spec`",
                "18:1: unknown field `ignoreChanges`",
            ]
        );
        assert_eq!(
            hints,
            [
                Some("`preventDestroy` belongs in `lifecycle`"),
                Some("`lifecycle` belongs in the top level of the document"),
                Some("`ignoreChanges` belongs in `lifecycle`"),
            ]
        );
    }

    #[test]
    fn defaults_take_a_status_but_no_lifecycle() {
        let (document, problems) = read(
            "apiVersion: cityform/v1\nkind: Defaults\nspec:\n  status: Stopped\nlifecycle:\n  preventDestroy: true\n",
        );
        assert_eq!(
            rendered(&problems),
            ["5:1: `lifecycle` is not allowed in a `Defaults` document"]
        );
        let Some(ManifestDocument::Defaults(defaults)) = document else {
            panic!("{document:?}");
        };
        assert_eq!(defaults.spec.status, Field::Given(Status::Stopped));
    }

    #[test]
    fn a_group_status_wins_over_the_default_and_a_wrong_one_is_not_replaced() {
        let defaults = PartialSpec {
            status: Field::Given(Status::Running),
            ..PartialSpec::default()
        };
        let own = PartialSpec {
            status: Field::Given(Status::Stopped),
            ..PartialSpec::default()
        };
        assert_eq!(
            own.with_defaults(&defaults).status,
            Field::Given(Status::Stopped)
        );
        assert_eq!(
            PartialSpec::default().with_defaults(&defaults).status,
            Field::Given(Status::Running)
        );
        let wrong = PartialSpec {
            status: Field::Invalid,
            ..PartialSpec::default()
        };
        assert_eq!(wrong.with_defaults(&defaults).status, Field::Invalid);
    }

    #[test]
    fn api_version_and_kind_decide_whether_the_rest_is_read() {
        let (document, problems) = read("apiVersion: cityform/v2\nkind: JobGroup\nbogus: 1\n");
        assert!(document.is_none());
        assert_eq!(
            rendered(&problems),
            ["1:13: unsupported apiVersion `cityform/v2`"]
        );

        let (document, problems) = read("apiVersion: cityform/v1\nkind: Jobgroup\nbogus: 1\n");
        assert!(document.is_none());
        assert_eq!(
            rendered(&problems),
            ["2:7: unknown kind `Jobgroup`, did you mean `JobGroup`?"]
        );

        let (document, problems) = read("kind: Defaults\nspec:\n  jobCount: 2\n");
        assert!(matches!(document, Some(ManifestDocument::Defaults(_))));
        assert_eq!(rendered(&problems), ["1:1: missing `apiVersion`"]);

        let (document, problems) = read("apiVersion: cityform/v1\n");
        assert!(document.is_none());
        assert_eq!(rendered(&problems), ["1:1: missing `kind`"]);
    }

    #[test]
    fn names_are_required_and_defaults_have_none() {
        let (_, problems) = read("apiVersion: cityform/v1\nkind: JobGroup\nspec: {}\n");
        assert_eq!(rendered(&problems), ["1:1: missing `metadata`"]);

        let (_, problems) = read("apiVersion: cityform/v1\nkind: JobGroup\nmetadata:\n  nam: x\n");
        assert_eq!(
            rendered(&problems),
            ["4:3: unknown field `nam` in `metadata`, did you mean `name`?"]
        );

        let (document, problems) =
            read("apiVersion: cityform/v1\nkind: Defaults\nmetadata:\n  name: x\n");
        assert!(matches!(document, Some(ManifestDocument::Defaults(_))));
        assert_eq!(rendered(&problems), ["3:1: unknown field `metadata`"]);
    }

    #[test]
    fn documents_that_are_not_mappings_are_refused() {
        let (document, problems) = read("- apiVersion: cityform/v1\n");
        assert!(document.is_none());
        assert_eq!(
            rendered(&problems),
            ["1:1: a manifest document must be a mapping, not a sequence"]
        );
        let (document, problems) = read("--- ~\n");
        assert!(document.is_none());
        assert!(problems.is_empty());
    }

    #[test]
    fn a_spec_that_cannot_be_read_reports_once_and_claims_no_missing_fields() {
        let (document, problems) =
            read("apiVersion: cityform/v1\nkind: JobGroup\nmetadata: {name: ab}\nspec: 5\n");
        assert_eq!(
            rendered(&problems),
            ["4:7: `spec` must be a mapping, not the integer `5`"]
        );
        let Some(ManifestDocument::JobGroup(group)) = document else {
            panic!("{document:?}");
        };
        assert_eq!(group.spec, PartialSpec::unreadable());
    }

    #[test]
    fn defaults_fill_what_a_group_leaves_out_and_params_merge_key_by_key() {
        let mut default_params = Params::default();
        default_params.insert(ParamKey::EsEnable, "True");
        default_params.insert(ParamKey::RdsEnable, "False");
        let defaults = PartialSpec {
            region_id: Field::Given("cn-shanghai".into()),
            planed_job_count: Field::Given(10),
            job_count: Field::Given(2),
            params: default_params,
            ..PartialSpec::default()
        };
        let mut own_params = Params::default();
        own_params.insert(ParamKey::EsEnable, "False");
        let group = PartialSpec {
            planed_job_count: Field::Given(3),
            job_count: Field::Invalid,
            params: own_params,
            ..PartialSpec::default()
        };
        let merged = group.with_defaults(&defaults);
        assert_eq!(merged.region_id, Field::Given("cn-shanghai".to_owned()));
        assert_eq!(merged.planed_job_count, Field::Given(3));
        assert_eq!(merged.job_count, Field::Invalid);
        assert_eq!(merged.instance_id, Field::Absent);
        assert_eq!(merged.params.get(ParamKey::EsEnable), Some("False"));
        assert_eq!(merged.params.get(ParamKey::RdsEnable), Some("False"));
    }
}
