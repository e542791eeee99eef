//! The JSON Schema of a manifest document, which `cityform schema` prints and editors use
//! (`docs/schema/cityform-v1.json`), built from the format's tables (`format.rs`): every
//! field the reader knows is a property here, with the rule and the description written
//! there.
//!
//! Where JSON Schema cannot follow a rule (a field that a `Defaults` document may supply, a
//! duplicate address), the schema is the more permissive of the two: it never refuses a
//! manifest the loader accepts. The loader stays the authority.
//!
//! The kinds of document are told apart with `if`/`then` on `kind`, one branch per
//! [`Kind::ALL`], rather than `oneOf`: a validator then reports the mistake inside the
//! document of the kind it names (`spec.planedJobCont` is not a property), not that the
//! document matches none of the kinds. An unknown `kind` or `apiVersion` fails an `enum`,
//! whose message lists the ones this version knows.

use schemars::generate::SchemaSettings;
use schemars::{Schema, json_schema};
use serde_json::{Map, Value, json};

use super::format::{
    API_VERSION, FieldSpec, Kind, MAX_COUNT, PARAMS_DESCRIPTION, Part, Presence, Rule,
    STATUS_DESCRIPTION, STATUSES, ignorable_attributes, param_description, required_after_defaults,
};
use super::suggest;
use crate::model::ParamKey;

/// The JSON Schema of one manifest document, as `cityform schema` prints it.
///
/// It is draft-07, the newest draft that every common editor integration
/// (yaml-language-server among them) validates completely.
pub fn manifest_schema() -> Schema {
    let mut schema = json_schema!({});
    if let Some(meta_schema) = SchemaSettings::draft07().meta_schema {
        schema.insert("$schema".to_owned(), meta_schema.into());
    }
    schema.insert(
        "title".to_owned(),
        format!("cityform manifest document ({API_VERSION})").into(),
    );
    schema.insert(
        "description".to_owned(),
        Part::Document.description().into(),
    );
    schema.insert("type".to_owned(), "object".into());
    schema.insert("required".to_owned(), json!(["kind"]));
    let kinds: Vec<&str> = Kind::ALL.into_iter().map(Kind::as_str).collect();
    schema.insert(
        "properties".to_owned(),
        json!({
            "apiVersion": reference("ApiVersion"),
            "kind": {
                "description": format!(
                    "What the document declares, one of: {}.",
                    kinds
                        .iter()
                        .map(|kind| format!("`{kind}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                "type": "string",
                "enum": kinds,
            },
        }),
    );
    let branches: Vec<Value> = Kind::ALL
        .into_iter()
        .map(|kind| {
            json!({
                "if": {
                    "properties": { "kind": { "const": kind.as_str() } },
                    "required": ["kind"],
                },
                "then": document_schema(kind),
            })
        })
        .collect();
    schema.insert("allOf".to_owned(), branches.into());
    schema.insert("definitions".to_owned(), definitions().into());
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

/// A document of `kind`: its top-level fields, `kind` first among the required ones
/// because it tells the documents apart.
fn document_schema(kind: Kind) -> Value {
    let mut schema = part_schema(Part::Document, kind);
    if let Some(required) = schema.get_mut("required").and_then(Value::as_array_mut) {
        required.retain(|name| name != "kind");
        required.insert(0, "kind".into());
    }
    schema.insert("description".to_owned(), kind.description().into());
    schema.into()
}

/// The definitions that properties refer to, by name.
fn definitions() -> Map<String, Value> {
    let mut definitions = Map::new();
    definitions.insert(
        "ApiVersion".to_owned(),
        json!({
            "description": format!(
                "The manifest format version: `{API_VERSION}`, the first and only one."
            ),
            "type": "string",
            "enum": [API_VERSION],
        }),
    );
    for (part, kind) in Part::NESTED {
        let mut schema = part_schema(part, kind);
        schema.insert("description".to_owned(), part.description().into());
        definitions.insert(definition_name(part).to_owned(), schema.into());
    }
    let params: Map<String, Value> = ParamKey::ALL
        .into_iter()
        .map(|key| {
            let mut schema = param_value_schema(key);
            schema.insert("description".to_owned(), param_description(key).into());
            (key.as_str().to_owned(), schema.to_value())
        })
        .collect();
    definitions.insert(
        "Params".to_owned(),
        json!({
            "description": PARAMS_DESCRIPTION,
            "type": "object",
            "properties": params,
            "additionalProperties": false,
        }),
    );
    let statuses: Vec<Value> = STATUSES
        .iter()
        .map(|(status, description)| {
            json!({ "description": description, "type": "string", "const": status.as_str() })
        })
        .collect();
    definitions.insert(
        "Status".to_owned(),
        json!({ "description": STATUS_DESCRIPTION, "oneOf": statuses }),
    );
    definitions
}

/// The name of the definition of `part`'s mapping.
fn definition_name(part: Part) -> &'static str {
    match part {
        Part::Document => "ManifestDocument",
        Part::Metadata => "Metadata",
        Part::Spec => "Spec",
        Part::Lifecycle => "Lifecycle",
        Part::Moved => "MovedSpec",
        Part::Import => "ImportSpec",
        Part::Removed => "RemovedSpec",
    }
}

/// A reference to the definition `name`, in the form draft-07 allows a description beside.
fn reference(name: &str) -> Schema {
    json_schema!({ "allOf": [{ "$ref": format!("#/definitions/{name}") }] })
}

/// The mapping of `part` as a document of `kind` has it: no other field, and the fields
/// it requires.
fn part_schema(part: Part, kind: Kind) -> Map<String, Value> {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for field in part
        .fields()
        .iter()
        .filter(|field| field.kinds.contains(&kind))
    {
        properties.insert(field.name.to_owned(), field_schema(field, kind));
        if field.presence == Presence::Required {
            required.push(Value::from(field.name));
        }
    }
    let mut schema = Map::new();
    schema.insert("type".to_owned(), "object".into());
    schema.insert("properties".to_owned(), properties.into());
    schema.insert("additionalProperties".to_owned(), false.into());
    if !required.is_empty() {
        schema.insert("required".to_owned(), required.into());
    }
    schema
}

/// The property of `field` in a document of `kind`: the schema of its rule, with its
/// description.
fn field_schema(field: &FieldSpec, kind: Kind) -> Value {
    let mut schema = match field.rule {
        Rule::ApiVersion => reference("ApiVersion"),
        Rule::Kind => json_schema!({ "type": "string", "const": kind.as_str() }),
        Rule::Part(part) => reference(definition_name(part)),
        Rule::Name => name_schema(),
        Rule::AddressPart(_) => address_part_schema(),
        Rule::Identifier(_) => identifier_schema(),
        Rule::Count(_) => count_schema(),
        Rule::Status(_) => reference("Status"),
        Rule::Params => reference("Params"),
        Rule::Boolean => json_schema!({ "type": "boolean" }),
        Rule::AttributeNames => ignore_changes_schema(),
        Rule::Address => address_schema(),
        Rule::JobGroupId => identifier_schema(),
    };
    let mut description = field.description.to_owned();
    // The schema cannot require these: the `Defaults` document may give them.
    if matches!(field.rule, Rule::Part(Part::Spec)) && kind == Kind::JobGroup {
        let required: Vec<&str> = required_after_defaults().map(|field| field.name).collect();
        description.push_str(&format!(
            " After defaults, {} {} required.",
            suggest::list(&required),
            if required.len() == 1 { "is" } else { "are" }
        ));
    }
    if !description.is_empty() {
        schema.insert("description".to_owned(), description.into());
    }
    schema.to_value()
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

fn name_schema() -> Schema {
    json_schema!({
        "type": "string",
        "minLength": 2,
        "maxLength": 128,
        "pattern": NAME_PATTERN,
        "examples": ["traffic-east"],
    })
}

fn address_part_schema() -> Schema {
    json_schema!({
        "type": "string",
        "minLength": 1,
        // No `/` (it separates the parts of an address), whitespace or control character.
        "pattern": "^[^/\\s\\u0000-\\u001F\\u007F-\\u009F]+$",
    })
}

/// `regionId/instanceId/name`: the parts as `address_part_schema` and `name_schema` allow
/// them, the name's pattern without its anchors.
fn address_schema() -> Schema {
    let name = NAME_PATTERN.trim_start_matches('^').trim_end_matches('$');
    json_schema!({
        "type": "string",
        "pattern": format!("^[^/\\s\\u0000-\\u001F\\u007F-\\u009F]+/[^/\\s\\u0000-\\u001F\\u007F-\\u009F]+/{name}$"),
        "examples": ["cn-shanghai/cityvisual-Instance/traffic-east"],
    })
}

fn identifier_schema() -> Schema {
    json_schema!({
        "anyOf": [
            { "type": "string", "pattern": "\\S" },
            { "type": "integer", "minimum": 0 },
        ],
    })
}

fn count_schema() -> Schema {
    json_schema!({
        "type": "integer",
        "minimum": 1,
        "maximum": MAX_COUNT,
    })
}

/// The attribute names `lifecycle.ignoreChanges` takes: exactly the ones the loader accepts,
/// so that editors offer them and a misspelt one is flagged before a plan refuses it.
fn ignore_changes_schema() -> Schema {
    let names: Vec<String> = ignorable_attributes()
        .map(str::to_owned)
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

/// The values `key` takes: its canonical spellings (offered by editors), any other case of
/// them, and for switches the YAML booleans.
fn param_value_schema(key: ParamKey) -> Schema {
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
    if key.is_switch() {
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
    use super::super::format::KINDS;
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
    fn documents_are_told_apart_by_kind() {
        let schema = schema();
        let branches = schema["allOf"].as_array().cloned().unwrap_or_default();
        let kinds: Vec<(Value, Value)> = branches
            .iter()
            .map(|branch| {
                (
                    branch["if"]["properties"]["kind"].clone(),
                    branch["then"]["properties"]["kind"].clone(),
                )
            })
            .collect();
        let expected: Vec<(Value, Value)> = Kind::ALL
            .into_iter()
            .map(|kind| {
                (
                    serde_json::json!({"const": kind.as_str()}),
                    serde_json::json!({"type": "string", "const": kind.as_str()}),
                )
            })
            .collect();
        assert_eq!(kinds, expected);
        assert_eq!(
            schema["properties"]["kind"]["enum"],
            serde_json::json!(KINDS)
        );
    }

    #[test]
    fn state_change_documents_have_their_own_spec() {
        let schema = schema();
        for (kind, definition, required) in [
            ("Moved", "MovedSpec", vec!["from", "to"]),
            ("Import", "ImportSpec", vec!["address"]),
            ("Removed", "RemovedSpec", vec!["address"]),
        ] {
            let document = schema["allOf"]
                .as_array()
                .and_then(|branches| {
                    branches
                        .iter()
                        .find(|branch| branch["if"]["properties"]["kind"]["const"] == kind)
                })
                .map(|branch| branch["then"].clone())
                .unwrap_or_default();
            assert_eq!(
                document["properties"]["spec"]["allOf"][0]["$ref"],
                format!("#/definitions/{definition}"),
                "{kind}"
            );
            assert_eq!(
                document["required"],
                serde_json::json!(["kind", "apiVersion", "spec"]),
                "{kind}"
            );
            assert_eq!(
                schema["definitions"][definition]["required"],
                serde_json::json!(required),
                "{kind}"
            );
        }
        let Ok(validator) = jsonschema::draft7::new(&schema) else {
            panic!("the schema does not compile");
        };
        let moved = |to: &str| {
            serde_json::json!({
                "apiVersion": "cityform/v1",
                "kind": "Moved",
                "spec": {"from": "cn-shanghai/cityvisual-Instance/night-market", "to": to},
            })
        };
        assert!(validator.is_valid(&moved("cn-shanghai/cityvisual-Instance/night-bazaar")));
        for wrong in [
            "cn-shanghai/night-bazaar",
            "cn-shanghai/i/1bad",
            "a b/i/name",
        ] {
            assert!(!validator.is_valid(&moved(wrong)), "{wrong}");
        }
    }

    #[test]
    fn a_job_group_spec_names_the_fields_required_after_defaults() {
        let schema = schema();
        let description = |variant: usize| {
            schema["allOf"][variant]["then"]["properties"]["spec"]["description"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        assert!(
            description(0).ends_with(
                "After defaults, `regionId`, `instanceId`, `algoLibId`, `resourceProfileId`, \
                 `planedJobCount` and `streamPerJob` are required."
            ),
            "{}",
            description(0)
        );
        assert_eq!(description(1), "Any job-group `spec` field, all optional.");
    }

    /// Editors show a description as it is: a line break inside a sentence shows too.
    #[test]
    fn descriptions_are_paragraphs_without_line_breaks() {
        fn descriptions<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
            match value {
                Value::Object(object) => {
                    for (key, value) in object {
                        match (key.as_str(), value) {
                            ("description", Value::String(text)) => found.push(text),
                            _ => descriptions(value, found),
                        }
                    }
                }
                Value::Array(items) => items.iter().for_each(|item| descriptions(item, found)),
                _ => {}
            }
        }
        let schema = schema();
        let mut found = Vec::new();
        descriptions(&schema, &mut found);
        assert!(found.len() > 20, "{found:?}");
        let broken: Vec<&&str> = found.iter().filter(|text| text.contains('\n')).collect();
        assert!(broken.is_empty(), "{broken:#?}");
    }

    #[test]
    fn case_insensitive_patterns_spell_out_both_cases() {
        assert_eq!(case_insensitive("True"), "[Tt][Rr][Uu][Ee]");
        assert_eq!(case_insensitive("a_1"), "[Aa]_1");
    }
}
