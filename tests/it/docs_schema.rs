//! The manifest JSON Schema, `docs/schema/cityform-v1.json`: the committed file is what
//! `cityform schema` prints, every document of every example manifest validates against it,
//! and snippets get the verdict from the schema that they get from the loader (or a more
//! permissive one, where JSON Schema cannot follow a rule; each such case says why).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::cli_support;
use crate::generated_support;

use std::path::Path;

use cityform::manifest::{self, Source};
use cli_support::{Cityform, example_manifests};
use generated_support::{check_generated, repository};
use serde::Deserialize as _;
use serde_json::Value;

const SCHEMA_PATH: &str = "docs/schema/cityform-v1.json";

/// The modeline each example document starts with, relative to `manifests/`.
const MODELINE: &str = "# yaml-language-server: $schema=../docs/schema/cityform-v1.json";

fn validator() -> jsonschema::Validator {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(repository().join(SCHEMA_PATH)).unwrap())
            .unwrap();
    assert!(
        jsonschema::draft7::meta::is_valid(&schema),
        "not a draft-07 schema"
    );
    jsonschema::draft7::new(&schema).unwrap()
}

/// Every YAML document of `text` as JSON, skipping empty ones as the loader does.
fn documents(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|document| Value::deserialize(document).unwrap())
        .filter(|value| !value.is_null())
        .collect()
}

fn errors(validator: &jsonschema::Validator, document: &Value) -> Vec<String> {
    validator
        .iter_errors(document)
        .map(|error| format!("{} at `{}`", error, error.instance_path()))
        .collect()
}

#[test]
fn the_committed_schema_is_what_cityform_schema_prints() {
    let run = Cityform::new().arg("schema").run();
    run.success();
    check_generated(
        SCHEMA_PATH,
        &run.stdout,
        "CITYFORM_UPDATE_DOCS=1 cargo test --test it docs_schema::",
    );
    let explicit = Cityform::new().args(["schema", "manifest"]).run();
    assert_eq!(explicit.stdout, run.stdout);
}

#[test]
fn every_example_document_validates_and_carries_the_modeline() {
    let validator = validator();
    let mut checked = 0;
    for entry in std::fs::read_dir(example_manifests()).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // yaml-language-server reads a modeline per document, so each document has one.
        for (index, document) in text.split("\n---\n").enumerate() {
            assert!(
                document.starts_with(MODELINE),
                "{name}: document {} does not start with the modeline",
                index + 1
            );
        }
        for document in documents(&text) {
            let problems = errors(&validator, &document);
            assert!(problems.is_empty(), "{name}: {problems:#?}");
            checked += 1;
        }
    }
    assert!(
        checked >= 6,
        "only {checked} example documents found in `manifests/`"
    );
    // The modeline's relative path leads to the schema.
    let target = example_manifests().join("../docs/schema/cityform-v1.json");
    assert!(Path::new(&target).is_file());
}

/// A complete job group, with every field set once.
const JOB_GROUP: &str = "\
apiVersion: cityform/v1
kind: JobGroup
metadata:
  name: traffic-east
spec:
  regionId: cn-shanghai
  instanceId: cityvisual-Instance
  algoLibId: \"3\"
  resourceProfileId: 6
  planedJobCount: 10
  streamPerJob: 5
  jobCount: 3
  params:
    ES_ENABLE: true
    RDS_ENABLE: \"False\"
    SCHEDULE_FLOW_START_TIME: oldest
";

/// `JOB_GROUP` with the line starting with `from` replaced by `to` (removed when empty).
fn edited(from: &str, to: &str) -> String {
    let mut found = false;
    let lines: Vec<String> = JOB_GROUP
        .lines()
        .filter_map(|line| {
            if !found && line.trim_start().starts_with(from) {
                found = true;
                return (!to.is_empty()).then(|| {
                    let indent = &line[..line.len() - line.trim_start().len()];
                    format!("{indent}{to}")
                });
            }
            Some(line.to_owned())
        })
        .collect();
    assert!(found, "no line starts with `{from}`");
    lines.join("\n") + "\n"
}

/// The verdicts on one snippet.
struct Case {
    name: &'static str,
    yaml: String,
    schema_accepts: bool,
    loader_accepts: bool,
}

fn case(name: &'static str, yaml: impl Into<String>, accepted: bool) -> Case {
    Case {
        name,
        yaml: yaml.into(),
        schema_accepts: accepted,
        loader_accepts: accepted,
    }
}

/// Accepted by the schema, refused by the loader.
fn only_schema(name: &'static str, yaml: impl Into<String>) -> Case {
    Case {
        name,
        yaml: yaml.into(),
        schema_accepts: true,
        loader_accepts: false,
    }
}

fn cases() -> Vec<Case> {
    vec![
        case("a complete job group", JOB_GROUP, true),
        case(
            "a defaults document",
            "apiVersion: cityform/v1\nkind: Defaults\nspec:\n  regionId: cn-shanghai\n  params: {ES_ENABLE: false}\n",
            true,
        ),
        case(
            "an id written as an integer",
            edited("algoLibId", "algoLibId: 3"),
            true,
        ),
        case("a CJK name", edited("name:", "name: 交通东区"), true),
        case(
            "a name with `:` (the reference page's rule; a warning)",
            edited("name:", "name: \"cam:east-01\""),
            true,
        ),
        case(
            "a name with `.` (the SDK model's rule; a warning)",
            edited("name:", "name: v1.2"),
            true,
        ),
        case(
            "a name that starts like a URL",
            edited("name:", "name: \"http://x\""),
            false,
        ),
        case(
            "the longest name",
            edited("name:", &format!("name: {}", "a".repeat(128))),
            true,
        ),
        case(
            "the largest count",
            edited("planedJobCount", "planedJobCount: 2147483647"),
            true,
        ),
        case(
            "params values in any case",
            edited("ES_ENABLE", "ES_ENABLE: TRUE"),
            true,
        ),
        case("no apiVersion", edited("apiVersion", ""), false),
        case(
            "another apiVersion",
            edited("apiVersion", "apiVersion: cityform/v2"),
            false,
        ),
        case("an unknown kind", edited("kind", "kind: Job"), false),
        case(
            "no metadata",
            edited("metadata", "").replace("  name: traffic-east\n", ""),
            false,
        ),
        case(
            "a misspelt spec field",
            edited("planedJobCount", "planedJobCont: 10"),
            false,
        ),
        case(
            "an unknown top-level field",
            format!("{JOB_GROUP}labels: {{}}\n"),
            false,
        ),
        case(
            "metadata in a defaults document",
            "apiVersion: cityform/v1\nkind: Defaults\nmetadata: {name: ab}\nspec: {}\n",
            false,
        ),
        case(
            "a name starting with a digit",
            edited("name:", "name: 1st-traffic"),
            false,
        ),
        case(
            "a name with a space",
            edited("name:", "name: traffic east"),
            false,
        ),
        case("a one-character name", edited("name:", "name: a"), false),
        case(
            "a name too long",
            edited("name:", &format!("name: {}", "a".repeat(129))),
            false,
        ),
        case(
            "a count of zero",
            edited("planedJobCount", "planedJobCount: 0"),
            false,
        ),
        case(
            "a count past 32 bits",
            edited("streamPerJob", "streamPerJob: 2147483648"),
            false,
        ),
        case(
            "a quoted count",
            edited("jobCount", "jobCount: \"3\""),
            false,
        ),
        case("a negative id", edited("algoLibId", "algoLibId: -3"), false),
        case("an empty id", edited("algoLibId", "algoLibId: \"\""), false),
        case(
            "a region with a slash",
            edited("regionId", "regionId: cn/shanghai"),
            false,
        ),
        case(
            "an unknown params key",
            edited("RDS_ENABLE", "RDS_ENABLED: true"),
            false,
        ),
        case(
            "a switch set to yes",
            edited("ES_ENABLE", "ES_ENABLE: yes"),
            false,
        ),
        case(
            "a switch set to 1",
            edited("ES_ENABLE", "ES_ENABLE: 1"),
            false,
        ),
        case(
            "a start time that is not one",
            edited(
                "SCHEDULE_FLOW_START_TIME",
                "SCHEDULE_FLOW_START_TIME: Newest",
            ),
            false,
        ),
        case(
            "a start time written as a boolean",
            edited("SCHEDULE_FLOW_START_TIME", "SCHEDULE_FLOW_START_TIME: true"),
            false,
        ),
        case(
            "an unknown status",
            format!("{JOB_GROUP}  status: Paused\n"),
            false,
        ),
        // The schema cannot see the rest of the set: the fields may come from `Defaults`.
        only_schema(
            "a job group without required spec fields",
            edited("algoLibId", ""),
        ),
        // JSON Schema counts a number with a zero fraction as an integer (draft 6 onwards).
        only_schema("a decimal count", edited("jobCount", "jobCount: 3.0")),
        case(
            "a lifecycle block",
            format!(
                "{JOB_GROUP}lifecycle:\n  preventDestroy: true\n  ignoreChanges: [jobCount, params, params.ES_ENABLE, status]\n"
            ),
            true,
        ),
        case("a status", format!("{JOB_GROUP}  status: Running\n"), true),
        case(
            "a status in a defaults document",
            "apiVersion: cityform/v1\nkind: Defaults\nspec: {status: Stopped}\n",
            true,
        ),
        case(
            "a status in lower case",
            format!("{JOB_GROUP}  status: running\n"),
            false,
        ),
        case(
            "a quoted preventDestroy",
            format!("{JOB_GROUP}lifecycle:\n  preventDestroy: \"true\"\n"),
            false,
        ),
        case(
            "a misspelt attribute in ignoreChanges",
            format!("{JOB_GROUP}lifecycle:\n  ignoreChanges: [planedJobCnt]\n"),
            false,
        ),
        case(
            "an unknown param in ignoreChanges",
            format!("{JOB_GROUP}lifecycle:\n  ignoreChanges: [params.ES_ENABLED]\n"),
            false,
        ),
        case(
            "ignoreChanges written as one name",
            format!("{JOB_GROUP}lifecycle:\n  ignoreChanges: jobCount\n"),
            false,
        ),
        case(
            "an unknown lifecycle field",
            format!("{JOB_GROUP}lifecycle:\n  createBeforeDestroy: true\n"),
            false,
        ),
        case(
            "a lifecycle block in a defaults document",
            "apiVersion: cityform/v1\nkind: Defaults\nspec: {}\nlifecycle: {preventDestroy: true}\n",
            false,
        ),
    ]
}

#[test]
fn snippets_get_the_same_verdict_from_the_schema_and_the_loader() {
    let validator = validator();
    let mut disagreements = Vec::new();
    for case in cases() {
        let documents = documents(&case.yaml);
        let schema_accepts = documents
            .iter()
            .all(|document| validator.is_valid(document));
        let loaded = manifest::load_sources(vec![Source {
            name: "snippet.yaml".to_owned(),
            bytes: case.yaml.clone().into_bytes(),
        }]);
        if schema_accepts != case.schema_accepts {
            let reasons: Vec<String> = documents
                .iter()
                .flat_map(|document| errors(&validator, document))
                .collect();
            disagreements.push(format!(
                "{}: the schema {} it {reasons:?}",
                case.name,
                if schema_accepts { "accepts" } else { "refuses" }
            ));
        }
        if loaded.is_ok() != case.loader_accepts {
            disagreements.push(format!(
                "{}: the loader {} it: {:?}",
                case.name,
                if loaded.is_ok() { "accepts" } else { "refuses" },
                loaded.err().map(|diagnostics| diagnostics.to_string())
            ));
        }
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}

/// The `Defaults` document every example set opens with.
const DEFAULTS: &str = "\
apiVersion: cityform/v1
kind: Defaults
spec:
  regionId: cn-shanghai
  planedJobCount: 4
";

/// A wrong document, and where a validator's first error must point: the instance path,
/// the keyword that failed, and words the message must hold.
struct Mistake {
    name: &'static str,
    yaml: String,
    path: &'static str,
    keyword: &'static str,
    says: &'static [&'static str],
}

fn mistake(
    name: &'static str,
    yaml: impl Into<String>,
    path: &'static str,
    keyword: &'static str,
    says: &'static [&'static str],
) -> Mistake {
    Mistake {
        name,
        yaml: yaml.into(),
        path,
        keyword,
        says,
    }
}

/// An editor shows the first error a validator reports: it must be the mistake made, in the
/// document of the kind written, not "this document is none of the kinds".
#[test]
fn the_first_error_points_at_the_mistake() {
    let validator = validator();
    let mistakes = [
        mistake(
            "a misspelt spec field of a job group",
            edited("planedJobCount:", "planedJobCont: 10"),
            "/spec",
            "additionalProperties",
            &["planedJobCont"],
        ),
        mistake(
            "a misspelt spec field of the defaults",
            DEFAULTS.replace("planedJobCount", "planedJobCont"),
            "/spec",
            "additionalProperties",
            &["planedJobCont"],
        ),
        mistake(
            "a misspelt metadata field",
            edited("name:", "nmae: traffic-east"),
            "/metadata",
            "additionalProperties",
            &["nmae"],
        ),
        mistake(
            "a misspelt top-level field",
            edited("spec:", "spce:"),
            "",
            "additionalProperties",
            &["spce"],
        ),
        mistake(
            "metadata in the defaults",
            format!("{DEFAULTS}metadata:\n  name: traffic-east\n"),
            "",
            "additionalProperties",
            &["metadata"],
        ),
        mistake(
            "a count written as a word",
            edited("planedJobCount:", "planedJobCount: ten"),
            "/spec/planedJobCount",
            "type",
            &["integer"],
        ),
        mistake(
            "a job group without metadata",
            edited("metadata:", "").replace("  name: traffic-east\n", ""),
            "",
            "required",
            &["metadata"],
        ),
        mistake(
            "an unknown apiVersion",
            edited("apiVersion:", "apiVersion: cityform/v2"),
            "/apiVersion",
            "enum",
            &["cityform/v2", "cityform/v1"],
        ),
        mistake(
            "an unknown kind",
            edited("kind:", "kind: JobGrup"),
            "/kind",
            "enum",
            &["JobGrup", "JobGroup", "Defaults"],
        ),
        mistake("no kind", edited("kind:", ""), "", "required", &["kind"]),
    ];
    let mut wrong = Vec::new();
    for mistake in &mistakes {
        let document = documents(&mistake.yaml).remove(0);
        let Some(first) = validator.iter_errors(&document).next() else {
            wrong.push(format!("{}: accepted\n{}", mistake.name, mistake.yaml));
            continue;
        };
        let path = first.instance_path().to_string();
        let keyword = first.kind().keyword();
        let message = first.to_string();
        if path != mistake.path
            || keyword != mistake.keyword
            || !mistake.says.iter().all(|word| message.contains(word))
        {
            wrong.push(format!(
                "{}: `{keyword}` at `{path}`: {message}; expected `{}` at `{}` saying {:?}",
                mistake.name, mistake.keyword, mistake.path, mistake.says
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
