//! The manifest format, written down once: every field of every part of a document, the
//! kinds of document that take it, whether it must be written, the rule its value follows
//! and what it means.
//!
//! The reader (`document.rs`) takes from these tables the fields each part knows, the
//! candidates of its "did you mean" suggestions and which check reads each value; the JSON
//! Schema (`schema.rs`) takes its properties, their requiredness and their descriptions.
//! Adding a field is one row here, plus a slot in `PartialSpec` for a `spec` field.

use super::document::PartialSpec;
use super::values::Field;
use crate::model::{ParamKey, Status};

/// The only `apiVersion` this build reads.
pub(crate) const API_VERSION: &str = "cityform/v1";

/// The largest count the API takes: counts are 32-bit signed integers there (Java
/// `Integer`).
pub(crate) const MAX_COUNT: u32 = 2_147_483_647;

/// A kind of document, as written in `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// One job group.
    JobGroup,
    /// The defaults of every job group of the set.
    Defaults,
    /// A group recorded under one address that is now declared under another.
    Moved,
    /// An existing group that the state is to record, adopted without being created.
    Import,
    /// A recorded group the state is to forget, leaving it running in the service.
    Removed,
}

impl Kind {
    /// Every kind, in the order hints list them.
    pub const ALL: [Kind; 5] = [
        Kind::JobGroup,
        Kind::Defaults,
        Kind::Moved,
        Kind::Import,
        Kind::Removed,
    ];

    /// The kind as `kind` spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::JobGroup => "JobGroup",
            Kind::Defaults => "Defaults",
            Kind::Moved => "Moved",
            Kind::Import => "Import",
            Kind::Removed => "Removed",
        }
    }

    /// The part that holds this kind's `spec`.
    pub const fn spec_part(self) -> Part {
        match self {
            Kind::JobGroup | Kind::Defaults => Part::Spec,
            Kind::Moved => Part::Moved,
            Kind::Import => Part::Import,
            Kind::Removed => Part::Removed,
        }
    }

    /// What a document of this kind is.
    pub fn description(self) -> &'static str {
        match self {
            Kind::JobGroup => {
                "One job group: its name, and the spec that `CreateJobGroup` receives."
            }
            Kind::Defaults => {
                "Values for every job group of the manifest set that leaves a field out; `params` \
                 merge key by key. At most one per set."
            }
            Kind::Moved => {
                "A job group the state records under `from` that is now declared under `to`: \
                 the plan renames it in place, keeping its id, instead of deleting and \
                 creating it. Once applied, it changes nothing and may stay."
            }
            Kind::Import => {
                "An existing job group for the state to record at `address`, found by `id` or \
                 by name: nothing is created. Once applied, it changes nothing and may stay."
            }
            Kind::Removed => {
                "A job group for the state to forget: cityform stops managing it, and it keeps \
                 running in the service. Once applied, it changes nothing and may stay."
            }
        }
    }
}

/// The kinds as `kind` spells them, for suggestions and hints.
pub(crate) const KINDS: [&str; 5] = [
    Kind::JobGroup.as_str(),
    Kind::Defaults.as_str(),
    Kind::Moved.as_str(),
    Kind::Import.as_str(),
    Kind::Removed.as_str(),
];

/// A part of a document: a mapping with fields of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// The top level.
    Document,
    /// `metadata`.
    Metadata,
    /// `spec`.
    Spec,
    /// `lifecycle`.
    Lifecycle,
    /// The `spec` of a `Moved` document.
    Moved,
    /// The `spec` of an `Import` document.
    Import,
    /// The `spec` of a `Removed` document.
    Removed,
}

impl Part {
    /// The parts below the top level, each with the kind of document whose fields it
    /// describes.
    pub const NESTED: [(Part, Kind); 6] = [
        (Part::Metadata, Kind::JobGroup),
        (Part::Spec, Kind::JobGroup),
        (Part::Lifecycle, Kind::JobGroup),
        (Part::Moved, Kind::Moved),
        (Part::Import, Kind::Import),
        (Part::Removed, Kind::Removed),
    ];

    /// The fields of this part, in the order hints list them.
    pub fn fields(self) -> &'static [FieldSpec] {
        match self {
            Part::Document => DOCUMENT_FIELDS,
            Part::Metadata => METADATA_FIELDS,
            Part::Spec => SPEC_FIELDS,
            Part::Lifecycle => LIFECYCLE_FIELDS,
            Part::Moved => MOVED_FIELDS,
            Part::Import => IMPORT_FIELDS,
            Part::Removed => REMOVED_FIELDS,
        }
    }

    /// The names of the fields of this part that a document of `kind` takes, once each, in
    /// the order hints list them.
    pub fn names(self, kind: Kind) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = Vec::new();
        for field in self
            .fields()
            .iter()
            .filter(|field| field.kinds.contains(&kind))
        {
            if !names.contains(&field.name) {
                names.push(field.name);
            }
        }
        names
    }

    /// The field `name` of this part, as a document of `kind` takes it.
    pub fn field(self, kind: Kind, name: &str) -> Option<&'static FieldSpec> {
        self.fields()
            .iter()
            .find(|field| field.name == name && field.kinds.contains(&kind))
    }

    /// Where this part is written, as messages name it: `None` for the top level.
    pub fn path(self) -> Option<&'static str> {
        match self {
            Part::Document => None,
            Part::Metadata => Some("metadata"),
            Part::Spec | Part::Moved | Part::Import | Part::Removed => Some("spec"),
            Part::Lifecycle => Some("lifecycle"),
        }
    }

    /// What the mapping of this part is.
    pub fn description(self) -> &'static str {
        match self {
            Part::Document => {
                "One YAML document of a cityform manifest: a `JobGroup`, the `Defaults` for every \
                 job group of the set, or a change of what the state records (`Moved`, `Import`, \
                 `Removed`). Reference: docs/manifest.md."
            }
            Part::Metadata => "`metadata` of a job group.",
            Part::Spec => "A job group's `spec`, every field optional in the document itself.",
            Part::Lifecycle => "`lifecycle`: how cityform treats the job group over its life.",
            Part::Moved => {
                "The `spec` of a `Moved` document: where the group was, and where it is now."
            }
            Part::Import => "The `spec` of an `Import` document: the group to adopt, and where.",
            Part::Removed => "The `spec` of a `Removed` document: the group to forget.",
        }
    }
}

/// Whether a field must be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presence {
    /// In the document itself.
    Required,
    /// In the job group's `spec` or in the `Defaults` document: the set checks it.
    RequiredAfterDefaults,
    /// Never.
    Optional,
}

/// Where the reader keeps a `spec` field's value: a field of [`PartialSpec`].
pub(crate) struct Slot<T: 'static> {
    read: fn(&PartialSpec) -> &Field<T>,
    write: fn(&mut PartialSpec) -> &mut Field<T>,
}

impl<T> Slot<T> {
    /// The value in `spec`.
    pub fn read(self, spec: &PartialSpec) -> &Field<T> {
        (self.read)(spec)
    }

    /// The value in `spec`, to set.
    pub fn write(self, spec: &mut PartialSpec) -> &mut Field<T> {
        (self.write)(spec)
    }
}

// Not derived: a derive would ask `T` to be `Copy` too.
impl<T> Clone for Slot<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Slot<T> {}

/// The [`Slot`] of the `PartialSpec` field `$field`.
macro_rules! slot {
    ($field:ident) => {
        Slot {
            read: |spec| &spec.$field,
            write: |spec| &mut spec.$field,
        }
    };
}

/// The rule a field's value follows; each names the check that reads it.
#[derive(Clone, Copy)]
pub(crate) enum Rule {
    /// [`API_VERSION`].
    ApiVersion,
    /// One of the [`Kind`]s; it tells the documents apart.
    Kind,
    /// A mapping of the fields of another part.
    Part(Part),
    /// The job group name rule (`values::name`).
    Name,
    /// A part of the address `regionId/instanceId/name`: a non-empty string without `/`,
    /// whitespace or control characters (`values::address_part`).
    AddressPart(Slot<String>),
    /// An id the API takes as a string: a non-blank string, or a non-negative integer that
    /// becomes its decimal text (`values::identifier`).
    Identifier(Slot<String>),
    /// An integer from 1 to [`MAX_COUNT`] (`values::count`).
    Count(Slot<u32>),
    /// A [`Status`], as the API spells it (`values::status`).
    Status(Slot<Status>),
    /// `JobGroupParams`: each [`ParamKey`] to one of its values (`values::params`).
    Params,
    /// A YAML boolean (`lifecycle::prevent_destroy`).
    Boolean,
    /// A list of the attributes a plan compares (`lifecycle::ignore_changes`).
    AttributeNames,
    /// A job group's address `regionId/instanceId/name`, written as one string, its name
    /// following the name rule (`values::address`).
    Address,
    /// A `JobGroupId`: a non-blank string, or a non-negative integer that becomes its
    /// decimal text (`values::identifier`).
    JobGroupId,
}

/// One field of the format.
pub(crate) struct FieldSpec {
    /// The field's name, as written.
    pub name: &'static str,
    /// The kinds of document in which it may be written. A field of a part that only one
    /// kind has lists that kind alone.
    pub kinds: &'static [Kind],
    /// Whether it must be written.
    pub presence: Presence,
    /// The rule its value follows.
    pub rule: Rule,
    /// What it means, for the schema; empty for `kind`, whose value says it all.
    pub description: &'static str,
}

const EVERY_KIND: &[Kind] = &Kind::ALL;
/// The kinds whose `spec` is a job group's.
const GROUP_KINDS: &[Kind] = &[Kind::JobGroup, Kind::Defaults];
const JOB_GROUP_ONLY: &[Kind] = &[Kind::JobGroup];
const DEFAULTS_ONLY: &[Kind] = &[Kind::Defaults];
const MOVED_ONLY: &[Kind] = &[Kind::Moved];
const IMPORT_ONLY: &[Kind] = &[Kind::Import];
const REMOVED_ONLY: &[Kind] = &[Kind::Removed];

/// The top-level fields. `spec` has a row per kind, because it means something different
/// in each.
const DOCUMENT_FIELDS: &[FieldSpec] = &[
    FieldSpec {
        name: "apiVersion",
        kinds: EVERY_KIND,
        presence: Presence::Required,
        rule: Rule::ApiVersion,
        description: "The manifest format version.",
    },
    FieldSpec {
        name: "kind",
        kinds: EVERY_KIND,
        presence: Presence::Required,
        rule: Rule::Kind,
        description: "",
    },
    FieldSpec {
        name: "metadata",
        kinds: JOB_GROUP_ONLY,
        presence: Presence::Required,
        rule: Rule::Part(Part::Metadata),
        description: "The job group's identity.",
    },
    FieldSpec {
        name: "spec",
        kinds: JOB_GROUP_ONLY,
        presence: Presence::Optional,
        rule: Rule::Part(Part::Spec),
        // The schema adds which fields are required after defaults.
        description: "The job group's settings. A field left out here is taken from the \
                      `Defaults` document.",
    },
    FieldSpec {
        name: "spec",
        kinds: DEFAULTS_ONLY,
        presence: Presence::Optional,
        rule: Rule::Part(Part::Spec),
        description: "Any job-group `spec` field, all optional.",
    },
    FieldSpec {
        name: "spec",
        kinds: MOVED_ONLY,
        presence: Presence::Required,
        rule: Rule::Part(Part::Moved),
        description: "The move: `from` and `to`.",
    },
    FieldSpec {
        name: "spec",
        kinds: IMPORT_ONLY,
        presence: Presence::Required,
        rule: Rule::Part(Part::Import),
        description: "The import: `address`, and `id` when the group is not found by name.",
    },
    FieldSpec {
        name: "spec",
        kinds: REMOVED_ONLY,
        presence: Presence::Required,
        rule: Rule::Part(Part::Removed),
        description: "The removal: `address`.",
    },
    FieldSpec {
        name: "lifecycle",
        kinds: JOB_GROUP_ONLY,
        presence: Presence::Optional,
        rule: Rule::Part(Part::Lifecycle),
        description: "How cityform treats this job group over its life.",
    },
];

/// The fields of `metadata`.
const METADATA_FIELDS: &[FieldSpec] = &[FieldSpec {
    name: "name",
    kinds: JOB_GROUP_ONLY,
    presence: Presence::Required,
    rule: Rule::Name,
    description: "The `JobGroupName`, unique within an instance: 2 to 128 characters, the first an \
                  ASCII letter or a CJK character, the rest ASCII letters, digits, CJK characters, \
                  `:`, `.`, `_` or `-`, not starting with `http://` or `https://`. `:` and `.` are each \
                  allowed by only one of the service's two documented rules: cityform warns about them.",
}];

/// The fields of `spec`, in the order of the API reference, then `status`.
const SPEC_FIELDS: &[FieldSpec] = &[
    FieldSpec {
        name: "regionId",
        kinds: GROUP_KINDS,
        presence: Presence::RequiredAfterDefaults,
        rule: Rule::AddressPart(slot!(region_id)),
        description: "`RegionId`, e.g. `cn-shanghai`: the first part of the address \
                      `regionId/instanceId/name`.",
    },
    FieldSpec {
        name: "instanceId",
        kinds: GROUP_KINDS,
        presence: Presence::RequiredAfterDefaults,
        rule: Rule::AddressPart(slot!(instance_id)),
        description: "`InstanceId`, e.g. `cityvisual-Instance`: the CityVisual instance.",
    },
    FieldSpec {
        name: "algoLibId",
        kinds: GROUP_KINDS,
        presence: Presence::RequiredAfterDefaults,
        rule: Rule::Identifier(slot!(algo_lib_id)),
        description: "`AlgoLibId`: the algorithm library. A string; an integer becomes its decimal text.",
    },
    FieldSpec {
        name: "resourceProfileId",
        kinds: GROUP_KINDS,
        presence: Presence::RequiredAfterDefaults,
        rule: Rule::Identifier(slot!(resource_profile_id)),
        description: "`ResourceProfileId`: the resource profile. A string; an integer becomes its \
                      decimal text.",
    },
    FieldSpec {
        name: "planedJobCount",
        kinds: GROUP_KINDS,
        presence: Presence::RequiredAfterDefaults,
        rule: Rule::Count(slot!(planed_job_count)),
        description: "`PlanedJobCount` (the API's spelling): how many jobs the group is planned to run.",
    },
    FieldSpec {
        name: "streamPerJob",
        kinds: GROUP_KINDS,
        presence: Presence::RequiredAfterDefaults,
        rule: Rule::Count(slot!(stream_per_job)),
        description: "`StreamPerJob`: video streams each job analyses.",
    },
    FieldSpec {
        name: "jobCount",
        kinds: GROUP_KINDS,
        presence: Presence::Optional,
        rule: Rule::Count(slot!(job_count)),
        description: "`JobCount`: jobs to start now. Left unset when absent.",
    },
    FieldSpec {
        name: "params",
        kinds: GROUP_KINDS,
        presence: Presence::Optional,
        rule: Rule::Params,
        description: "`JobGroupParams`: output switches and where scheduling starts.",
    },
    FieldSpec {
        name: "status",
        kinds: GROUP_KINDS,
        presence: Presence::Optional,
        rule: Rule::Status(slot!(status)),
        description: "Whether the job group's jobs should run.",
    },
];

/// The fields of `lifecycle`.
const LIFECYCLE_FIELDS: &[FieldSpec] = &[
    FieldSpec {
        name: "preventDestroy",
        kinds: JOB_GROUP_ONLY,
        presence: Presence::Optional,
        rule: Rule::Boolean,
        description: "Refuse to delete this job group, even when its manifest entry is removed.",
    },
    FieldSpec {
        name: "ignoreChanges",
        kinds: JOB_GROUP_ONLY,
        presence: Presence::Optional,
        rule: Rule::AttributeNames,
        description: "Attributes whose differences plans ignore, e.g. `jobCount` or `params.ES_ENABLE`.",
    },
];

/// The fields of a `Moved` document's `spec`.
const MOVED_FIELDS: &[FieldSpec] = &[
    FieldSpec {
        name: "from",
        kinds: MOVED_ONLY,
        presence: Presence::Required,
        rule: Rule::Address,
        description: "The address `regionId/instanceId/name` the state records the group under.",
    },
    FieldSpec {
        name: "to",
        kinds: MOVED_ONLY,
        presence: Presence::Required,
        rule: Rule::Address,
        description: "The address the group is declared under now: same region and instance, \
                      the new name. A chain of moves (`a` to `b`, `b` to `c`) is followed to \
                      its end.",
    },
];

/// The fields of an `Import` document's `spec`.
const IMPORT_FIELDS: &[FieldSpec] = &[
    FieldSpec {
        name: "address",
        kinds: IMPORT_ONLY,
        presence: Presence::Required,
        rule: Rule::Address,
        description: "The address `regionId/instanceId/name` of the `JobGroup` document that \
                      describes the group.",
    },
    FieldSpec {
        name: "id",
        kinds: IMPORT_ONLY,
        presence: Presence::Optional,
        rule: Rule::JobGroupId,
        description: "The group's `JobGroupId`. Without it, the group is the one of the \
                      address's name in its instance. A string; an integer becomes its decimal \
                      text.",
    },
];

/// The fields of a `Removed` document's `spec`.
const REMOVED_FIELDS: &[FieldSpec] = &[FieldSpec {
    name: "address",
    kinds: REMOVED_ONLY,
    presence: Presence::Required,
    rule: Rule::Address,
    description: "The address `regionId/instanceId/name` the state records the group under; \
                  no `JobGroup` document may declare it.",
}];

/// The `spec` fields that a job group, with defaults, must have.
pub(crate) fn required_after_defaults() -> impl Iterator<Item = &'static FieldSpec> {
    SPEC_FIELDS
        .iter()
        .filter(|field| field.presence == Presence::RequiredAfterDefaults)
}

/// The attributes `lifecycle.ignoreChanges` may name, besides `params.<KEY>` for a
/// supported key: the `spec` fields a plan compares (all but the parts of the address,
/// which tell groups apart), `params` for every param, and `status`.
pub(crate) fn ignorable_attributes() -> impl Iterator<Item = &'static str> {
    SPEC_FIELDS
        .iter()
        .filter(|field| !matches!(field.rule, Rule::AddressPart(_)))
        .map(|field| field.name)
}

/// What `JobGroupParams` are, for the schema.
pub(crate) const PARAMS_DESCRIPTION: &str = "`JobGroupParams`, by the key the API spells. Values are matched without regard to case \
     and sent in the API's spelling (`True`, `False`, `Latest`, `Oldest`).";

/// What a param does.
pub(crate) fn param_description(key: ParamKey) -> &'static str {
    match key {
        ParamKey::EsEnable => "Output results to Elasticsearch.",
        ParamKey::RdsEnable => "Output results to RDS.",
        ParamKey::OutMqEnable => "Output results to MQ.",
        ParamKey::DatahubEnable => "Output results to DataHub.",
        ParamKey::ScheduleFlowStartTime => {
            "Where scheduling starts in the stream: at the live edge (`Latest`) or at the oldest \
             retained video (`Oldest`)."
        }
    }
}

/// What `status` is, for the schema.
pub(crate) const STATUS_DESCRIPTION: &str = "The status a job group should have.";

/// The statuses `status` takes, in the order hints list them, with what each means.
pub(crate) const STATUSES: [(Status, &str); 2] = [
    (Status::Running, "Its jobs run."),
    (
        Status::Stopped,
        "Its jobs are stopped (the status of a new job group).",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_takes_its_own_top_level_fields() {
        assert_eq!(
            Part::Document.names(Kind::JobGroup),
            ["apiVersion", "kind", "metadata", "spec", "lifecycle"]
        );
        assert_eq!(
            Part::Document.names(Kind::Defaults),
            ["apiVersion", "kind", "spec"]
        );
        assert!(Part::Document.field(Kind::Defaults, "lifecycle").is_none());
        assert!(Part::Document.field(Kind::JobGroup, "lifecycle").is_some());
        for kind in [Kind::Moved, Kind::Import, Kind::Removed] {
            assert_eq!(Part::Document.names(kind), ["apiVersion", "kind", "spec"]);
        }
    }

    #[test]
    fn each_state_change_kind_has_its_own_spec() {
        assert_eq!(Part::Moved.names(Kind::Moved), ["from", "to"]);
        assert_eq!(Part::Import.names(Kind::Import), ["address", "id"]);
        assert_eq!(Part::Removed.names(Kind::Removed), ["address"]);
        for kind in [Kind::Moved, Kind::Import, Kind::Removed] {
            assert!(Part::Spec.names(kind).is_empty(), "{kind:?}");
            let spec = Part::Document.field(kind, "spec").map(|field| field.rule);
            assert!(
                matches!(spec, Some(Rule::Part(part)) if part == kind.spec_part()),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn field_names_are_unique_within_a_part_and_kind() {
        for part in std::iter::once(Part::Document).chain(Part::NESTED.map(|(part, _)| part)) {
            for kind in Kind::ALL {
                let rows = part
                    .fields()
                    .iter()
                    .filter(|field| field.kinds.contains(&kind))
                    .count();
                assert_eq!(part.names(kind).len(), rows, "{part:?} in {kind:?}");
            }
        }
    }

    #[test]
    fn the_address_parts_are_not_ignorable() {
        assert_eq!(
            ignorable_attributes().collect::<Vec<_>>(),
            [
                "algoLibId",
                "resourceProfileId",
                "planedJobCount",
                "streamPerJob",
                "jobCount",
                "params",
                "status"
            ]
        );
    }
}
