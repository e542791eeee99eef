//! The manifest format as serde and schemars types, for the JSON Schema that
//! `cityform schema` prints and editors use (`docs/schema/cityform-v1.json`).
//!
//! The loader reads manifests by hand, to locate every problem; these types mirror its
//! documents field for field so that the schema says what the loader accepts. Where JSON
//! Schema cannot follow a rule (a field that a `Defaults` document may supply, a duplicate
//! address), the schema is the more permissive of the two: it never refuses a manifest the
//! loader accepts. The loader stays the authority.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

use super::lifecycle::IGNORABLE_ATTRIBUTES;
use crate::model::ParamKey;

/// The largest count the API takes: its integers are 32-bit (Java `Integer`).
pub const MAX_COUNT: u32 = 2_147_483_647;

/// The JSON Schema of one manifest document, as `cityform schema` prints it.
///
/// It is draft-07, the newest draft that every common editor integration
/// (yaml-language-server among them) validates completely.
pub fn manifest_schema() -> Schema {
    let mut schema = SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<ManifestDocument>();
    schema.insert(
        "title".to_owned(),
        "cityform manifest document (cityform/v1)".into(),
    );
    schema.insert(
        "description".to_owned(),
        "One YAML document of a cityform manifest: a `JobGroup` or the `Defaults` for every \
         job group of the set. Reference: docs/manifest.md."
            .into(),
    );
    schema
}

/// [`manifest_schema`] as the pretty-printed JSON `cityform schema` prints, ending in a
/// newline.
pub fn manifest_schema_json() -> String {
    let mut text =
        serde_json::to_string_pretty(&manifest_schema()).unwrap_or_else(|_| String::from("{}"));
    text.push('\n');
    text
}

/// One manifest document, told apart by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", deny_unknown_fields)]
pub enum ManifestDocument {
    /// One job group: its name, and the spec that `CreateJobGroup` receives.
    JobGroup {
        /// The manifest format version.
        #[serde(rename = "apiVersion")]
        api_version: ApiVersion,
        /// The job group's identity.
        metadata: Metadata,
        /// The job group's settings. A field left out here is taken from the `Defaults`
        /// document; after defaults, `regionId`, `instanceId`, `algoLibId`,
        /// `resourceProfileId`, `planedJobCount` and `streamPerJob` are required.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(with = "Spec")]
        spec: Option<Spec>,
        /// How cityform treats this job group over its life.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(with = "Lifecycle")]
        lifecycle: Option<Lifecycle>,
    },
    /// Values for every job group of the manifest set that leaves a field out; `params`
    /// merge key by key. At most one per set.
    Defaults {
        /// The manifest format version.
        #[serde(rename = "apiVersion")]
        api_version: ApiVersion,
        /// Any job-group `spec` field, all optional.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(with = "Spec")]
        spec: Option<Spec>,
    },
}

/// The manifest format version: `cityform/v1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ApiVersion {
    /// The first and only version.
    #[serde(rename = "cityform/v1")]
    V1,
}

/// `metadata` of a job group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    /// The `JobGroupName`, unique within an instance: 2 to 128 characters, the first an
    /// ASCII letter or a CJK character, the rest ASCII letters, digits, CJK characters,
    /// `:`, `.`, `_` or `-`, not starting with `http://` or `https://`. `:` and `.` are each
    /// allowed by only one of the service's two documented rules: cityform warns about them.
    #[schemars(schema_with = "name_schema")]
    pub name: String,
}

/// A job group's `spec`, every field optional in the document itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Spec {
    /// `RegionId`, e.g. `cn-shanghai`: the first part of the address
    /// `regionId/instanceId/name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "address_part_schema")]
    pub region_id: Option<String>,
    /// `InstanceId`, e.g. `cityvisual-Instance`: the CityVisual instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "address_part_schema")]
    pub instance_id: Option<String>,
    /// `AlgoLibId`: the algorithm library. A string; an integer becomes its decimal text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "identifier_schema")]
    pub algo_lib_id: Option<Identifier>,
    /// `ResourceProfileId`: the resource profile. A string; an integer becomes its
    /// decimal text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "identifier_schema")]
    pub resource_profile_id: Option<Identifier>,
    /// `PlanedJobCount` (the API's spelling): how many jobs the group is planned to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "count_schema")]
    pub planed_job_count: Option<u32>,
    /// `StreamPerJob`: video streams each job analyses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "count_schema")]
    pub stream_per_job: Option<u32>,
    /// `JobCount`: jobs to start now. Left unset when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "count_schema")]
    pub job_count: Option<u32>,
    /// `JobGroupParams`: output switches and where scheduling starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Params")]
    pub params: Option<Params>,
    /// Whether the job group's jobs should run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Status")]
    pub status: Option<Status>,
}

/// `algoLibId` or `resourceProfileId` as written: a string, or a non-negative integer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Identifier {
    /// `"3"`.
    Text(String),
    /// `3`, the same as `"3"`.
    Integer(u64),
}

/// `JobGroupParams`, by the key the API spells. Values are matched without regard to case
/// and sent in the API's spelling (`True`, `False`, `Latest`, `Oldest`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Output results to Elasticsearch.
    #[serde(rename = "ES_ENABLE", default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "switch_schema")]
    pub es_enable: Option<ParamValue>,
    /// Output results to RDS.
    #[serde(
        rename = "RDS_ENABLE",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "switch_schema")]
    pub rds_enable: Option<ParamValue>,
    /// Output results to MQ.
    #[serde(
        rename = "OUT_MQ_ENABLE",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "switch_schema")]
    pub out_mq_enable: Option<ParamValue>,
    /// Output results to DataHub.
    #[serde(
        rename = "DATAHUB_ENABLE",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "switch_schema")]
    pub datahub_enable: Option<ParamValue>,
    /// Where scheduling starts in the stream: at the live edge (`Latest`) or at the oldest
    /// retained video (`Oldest`).
    #[serde(
        rename = "SCHEDULE_FLOW_START_TIME",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "start_time_schema")]
    pub schedule_flow_start_time: Option<ParamValue>,
}

/// A params value as written: a YAML boolean (`*_ENABLE` keys) or a string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ParamValue {
    /// `true` or `false`.
    Boolean(bool),
    /// `"True"`, `Latest`, ...
    Text(String),
}

/// The status a job group should have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Status {
    /// Its jobs run.
    Running,
    /// Its jobs are stopped (the status of a new job group).
    Stopped,
}

/// `lifecycle`: how cityform treats the job group over its life.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Lifecycle {
    /// Refuse to delete this job group, even when its manifest entry is removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "bool")]
    pub prevent_destroy: Option<bool>,
    /// Attributes whose differences plans ignore, e.g. `jobCount` or `params.ES_ENABLE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "ignore_changes_schema")]
    pub ignore_changes: Option<Vec<String>>,
}

/// `^` + the name rule of `model::validate_job_group_name` + `$` (a `http://` or `https://`
/// prefix needs no pattern of its own: `/` is never allowed). CJK Extension B is
/// written as literal characters: an escape for a character beyond U+FFFF is written
/// differently in ECMAScript and in Rust regular expressions, a literal means the same in
/// both.
const NAME_PATTERN: &str = concat!(
    "^[A-Za-z\\u3400-\\u4DBF\\u4E00-\\u9FFF\\uF900-\\uFAFF\u{20000}-\u{2A6DF}]",
    "[A-Za-z0-9:._\\-\\u3400-\\u4DBF\\u4E00-\\u9FFF\\uF900-\\uFAFF\u{20000}-\u{2A6DF}]*$"
);

fn name_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "minLength": 2,
        "maxLength": 128,
        "pattern": NAME_PATTERN,
        "examples": ["traffic-east"],
    })
}

fn address_part_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "minLength": 1,
        // No `/` (it separates the parts of an address), whitespace or control character.
        "pattern": "^[^/\\s\\u0000-\\u001F\\u007F-\\u009F]+$",
    })
}

fn identifier_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "anyOf": [
            { "type": "string", "pattern": "\\S" },
            { "type": "integer", "minimum": 0 },
        ],
    })
}

fn count_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "integer",
        "minimum": 1,
        "maximum": MAX_COUNT,
    })
}

/// The attribute names `lifecycle.ignoreChanges` takes: exactly the ones the loader accepts,
/// so that editors offer them and a misspelt one is flagged before a plan refuses it.
fn ignore_changes_schema(_: &mut SchemaGenerator) -> Schema {
    let names: Vec<String> = IGNORABLE_ATTRIBUTES
        .iter()
        .map(|name| (*name).to_owned())
        .chain(
            ParamKey::ALL
                .iter()
                .map(|key| format!("params.{}", key.as_str())),
        )
        .collect();
    json_schema!({
        "type": "array",
        "items": { "type": "string", "enum": names },
    })
}

fn switch_schema(_: &mut SchemaGenerator) -> Schema {
    param_value_schema(ParamKey::EsEnable, true)
}

fn start_time_schema(_: &mut SchemaGenerator) -> Schema {
    param_value_schema(ParamKey::ScheduleFlowStartTime, false)
}

/// The values `key` takes: its canonical spellings (offered by editors), any other case of
/// them, and for switches the YAML booleans.
fn param_value_schema(key: ParamKey, boolean: bool) -> Schema {
    let values = key.allowed_values();
    let pattern = format!(
        "^({})$",
        values
            .iter()
            .map(|value| case_insensitive(value))
            .collect::<Vec<_>>()
            .join("|")
    );
    let mut choices = Vec::new();
    if boolean {
        choices.push(json_schema!({ "type": "boolean" }));
    }
    choices.push(json_schema!({ "enum": values }));
    choices.push(json_schema!({ "type": "string", "pattern": pattern }));
    json_schema!({ "anyOf": choices })
}

/// A regular expression that matches `text` in any case, for both ECMAScript and Rust
/// (which share no case-insensitive flag inside a pattern).
fn case_insensitive(text: &str) -> String {
    text.chars()
        .map(|character| {
            let lower = character.to_ascii_lowercase();
            let upper = character.to_ascii_uppercase();
            if lower == upper {
                character.to_string()
            } else {
                format!("[{upper}{lower}]")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn schema() -> Value {
        serde_json::to_value(manifest_schema()).unwrap_or(Value::Null)
    }

    #[test]
    fn params_properties_are_exactly_the_supported_keys() {
        let schema = schema();
        let properties = &schema["definitions"]["Params"]["properties"];
        let mut keys: Vec<&str> = properties
            .as_object()
            .map(|object| object.keys().map(String::as_str).collect())
            .unwrap_or_default();
        keys.sort_unstable();
        let mut expected: Vec<&str> = ParamKey::ALL.iter().map(|key| key.as_str()).collect();
        expected.sort_unstable();
        assert_eq!(keys, expected);
        for key in ParamKey::ALL {
            let property = &properties[key.as_str()];
            let offered = property["anyOf"]
                .as_array()
                .and_then(|choices| choices.iter().find_map(|choice| choice.get("enum")))
                .cloned();
            assert_eq!(
                offered,
                Some(serde_json::json!(key.allowed_values())),
                "{key}"
            );
        }
    }

    #[test]
    fn the_spec_has_every_field_the_loader_reads() {
        let schema = schema();
        let properties = schema["definitions"]["Spec"]["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let mut fields: Vec<&str> = properties.keys().map(String::as_str).collect();
        fields.sort_unstable();
        let mut expected: Vec<&str> = crate::manifest::document::SPEC_FIELDS.to_vec();
        expected.sort_unstable();
        assert_eq!(fields, expected);
    }

    #[test]
    fn documents_are_told_apart_by_kind() {
        let schema = schema();
        let kinds: Vec<Value> = schema["oneOf"]
            .as_array()
            .map(|variants| {
                variants
                    .iter()
                    .map(|variant| variant["properties"]["kind"].clone())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(
            kinds,
            vec![
                serde_json::json!({"type": "string", "const": "JobGroup"}),
                serde_json::json!({"type": "string", "const": "Defaults"}),
            ]
        );
    }

    #[test]
    fn case_insensitive_patterns_spell_out_both_cases() {
        assert_eq!(case_insensitive("True"), "[Tt][Rr][Uu][Ee]");
        assert_eq!(case_insensitive("a_1"), "[Aa]_1");
    }

    #[test]
    fn the_mirror_types_read_an_example_document() {
        let document: ManifestDocument = serde_json::from_value(serde_json::json!({
            "apiVersion": "cityform/v1",
            "kind": "JobGroup",
            "metadata": {"name": "traffic-east"},
            "spec": {"algoLibId": 3, "planedJobCount": 10, "params": {"ES_ENABLE": true}},
        }))
        .unwrap_or_else(|error| panic!("{error}"));
        let ManifestDocument::JobGroup { metadata, spec, .. } = document else {
            panic!("not a job group");
        };
        assert_eq!(metadata.name, "traffic-east");
        let spec = spec.unwrap_or_default();
        assert_eq!(spec.algo_lib_id, Some(Identifier::Integer(3)));
        assert_eq!(
            spec.params.and_then(|params| params.es_enable),
            Some(ParamValue::Boolean(true))
        );
    }
}
