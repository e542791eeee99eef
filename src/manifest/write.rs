//! Writing manifest documents: the `JobGroup` document of a live group and the `Import` and
//! `Moved` documents a plan suggests, as YAML the reader accepts back unchanged.
//!
//! Values go through the YAML serializer, so names and ids that YAML would read as something
//! else (`"17"`, `yes`, `a: b`) come out quoted, and then through the canonical form
//! (`cityform fmt`), so that what cityform writes is what `fmt --check` accepts.

use serde::Serialize;

use super::format::API_VERSION;
use crate::model::{Address, JobGroupSpec, ParamKey, Status, validate_job_group_name};

/// Why a document could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write a manifest document: {0}")]
pub struct WriteError(#[from] serde_yaml::Error);

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<M: Serialize, S: Serialize> {
    api_version: &'static str,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<M>,
    spec: S,
}

#[derive(Serialize)]
struct Metadata<'a> {
    name: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JobGroupFields<'a> {
    region_id: &'a str,
    instance_id: &'a str,
    algo_lib_id: &'a str,
    resource_profile_id: &'a str,
    planed_job_count: u32,
    stream_per_job: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    job_count: Option<u32>,
    #[serde(skip_serializing_if = "serde_yaml::Mapping::is_empty")]
    params: serde_yaml::Mapping,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
}

#[derive(Serialize)]
struct ImportFields<'a> {
    address: String,
    id: &'a str,
}

#[derive(Serialize)]
struct MovedFields {
    from: String,
    to: String,
}

fn document<S: Serialize>(kind: &'static str, spec: S) -> Result<String, WriteError> {
    let document: Document<(), S> = Document {
        api_version: API_VERSION,
        kind,
        metadata: None,
        spec,
    };
    Ok(in_canonical_form(serde_yaml::to_string(&document)?))
}

/// `text` as `cityform fmt` writes it (ids double-quoted, fields in the format's order), so
/// that what cityform writes never shows up as a change in review.
fn in_canonical_form(text: String) -> String {
    super::canonical::canonical(&text).unwrap_or(text)
}

/// The `Import` document that adopts the live group `id` as `address`.
pub fn import_document(address: &Address, id: &str) -> Result<String, WriteError> {
    document(
        "Import",
        ImportFields {
            address: address.to_string(),
            id,
        },
    )
}

/// The `Moved` document that renames the group recorded as `from` to `to` in place.
pub fn moved_document(from: &Address, to: &Address) -> Result<String, WriteError> {
    document(
        "Moved",
        MovedFields {
            from: from.to_string(),
            to: to.to_string(),
        },
    )
}

/// A `JobGroup` document declaring `spec` at `address`, with `status` when given. Params
/// cityform does not know are left out (and so left alone): their keys are returned, for the
/// caller to report.
pub fn job_group_document(
    address: &Address,
    spec: &JobGroupSpec,
    status: Option<Status>,
) -> Result<(String, Vec<String>), WriteError> {
    let mut params = serde_yaml::Mapping::new();
    let mut unknown = Vec::new();
    for (key, value) in spec.params.iter() {
        if key.parse::<ParamKey>().is_err() {
            unknown.push(key.clone());
            continue;
        }
        let value = match value.as_str() {
            "True" => serde_yaml::Value::Bool(true),
            "False" => serde_yaml::Value::Bool(false),
            other => serde_yaml::Value::String(other.to_owned()),
        };
        params.insert(serde_yaml::Value::String(key.clone()), value);
    }
    let document = Document {
        api_version: API_VERSION,
        kind: "JobGroup",
        metadata: Some(Metadata {
            name: &address.name,
        }),
        spec: JobGroupFields {
            region_id: &address.region_id,
            instance_id: &address.instance_id,
            algo_lib_id: &spec.algo_lib_id,
            resource_profile_id: &spec.resource_profile_id,
            planed_job_count: spec.planed_job_count,
            stream_per_job: spec.stream_per_job,
            job_count: spec.job_count,
            params,
            status: status.map(Status::as_str),
        },
    };
    Ok((
        in_canonical_form(serde_yaml::to_string(&document)?),
        unknown,
    ))
}

/// A live group to write documents for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveDocument {
    /// Where it lives, by its live name.
    pub address: Address,
    /// Its id.
    pub job_group_id: String,
    /// Its live spec, in canonical form.
    pub spec: JobGroupSpec,
    /// Its status, when settled (`Running` or `Stopped`).
    pub status: Option<Status>,
}

/// The documents that adopt a set of live groups: one file per group with its `JobGroup`
/// document, and one file with every `Import` document, to delete once applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Generated {
    /// `(file name, contents)` of each group's file, in address order.
    pub files: Vec<(String, String)>,
    /// The `Import` documents, one per group.
    pub imports: String,
    /// Params left out because cityform does not know them: `(group, key)`.
    pub unknown_params: Vec<(Address, String)>,
    /// Groups left out because a manifest cannot declare their names: `(group, why)`.
    pub skipped: Vec<(Address, String)>,
}

/// The name of the file holding the import documents.
pub const IMPORTS_FILE: &str = "imports.yaml";

/// Writes the documents that adopt `groups`: a `JobGroup` per group, in a file named after
/// it (characters other than letters, digits, `.`, `_` and `-` become `_`; a name that
/// collides, or the imports file's, gets its id appended), and an `Import` by id for each.
/// A group whose live name no manifest may declare is left out, with the reason.
pub fn generated(groups: &[LiveDocument]) -> Result<Generated, WriteError> {
    let mut generated = Generated::default();
    let mut taken = std::collections::BTreeSet::from([IMPORTS_FILE.to_owned()]);
    let mut imports = Vec::new();
    for group in groups {
        if let Err(error) = validate_job_group_name(&group.address.name) {
            generated
                .skipped
                .push((group.address.clone(), error.to_string()));
            continue;
        }
        let (document, unknown) = job_group_document(&group.address, &group.spec, group.status)?;
        generated
            .unknown_params
            .extend(unknown.into_iter().map(|key| (group.address.clone(), key)));
        let stem = file_stem(&group.address.name);
        let mut name = format!("{stem}.yaml");
        if !taken.insert(name.clone()) {
            name = format!("{stem}-{}.yaml", file_stem(&group.job_group_id));
            taken.insert(name.clone());
        }
        let header = format!(
            "# Job group {} of {}/{}, as it was live when generated.\n",
            group.job_group_id, group.address.region_id, group.address.instance_id
        );
        generated.files.push((name, header + &document));
        imports.push(import_document(&group.address, &group.job_group_id)?);
    }
    generated.imports = format!(
        "# Adopts the groups declared beside this file into the state at the next apply.\n\
         # Once applied, these documents do nothing: delete this file in a later change.\n{}",
        imports.join("---\n")
    );
    Ok(generated)
}

/// `name` as a file name: letters (CJK too), digits, `.`, `_` and `-` kept, anything else
/// `_`, never empty or hidden.
fn file_stem(name: &str) -> String {
    let stem: String = name
        .chars()
        .map(|character| {
            if character.is_alphanumeric() || matches!(character, '.' | '_' | '-') {
                character
            } else {
                '_'
            }
        })
        .collect();
    match stem.strip_prefix('.') {
        Some(rest) => format!("_{rest}"),
        None if stem.is_empty() => "_".to_owned(),
        None => stem,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::manifest::{Source, load_sources};

    fn address(name: &str) -> Address {
        Address::new("cn-shanghai", "cityvisual-Instance", name)
    }

    #[test]
    fn a_written_job_group_reads_back_as_the_same_group() {
        let mut spec = JobGroupSpec::example();
        spec.job_count = Some(3);
        spec.params.insert("ES_ENABLE".into(), "True".into());
        spec.params
            .insert("SCHEDULE_FLOW_START_TIME".into(), "Latest".into());
        spec.params.insert("SOMETHING_NEW".into(), "1".into());
        let name = address("yes");
        let (text, unknown) = job_group_document(&name, &spec, Some(Status::Running)).unwrap();
        assert_eq!(unknown, ["SOMETHING_NEW"]);
        insta::assert_snapshot!(text);
        let desired = load_sources(vec![Source {
            name: "generated.yaml".into(),
            bytes: text.into_bytes(),
        }])
        .unwrap();
        let group = desired.groups.get(&name).unwrap();
        spec.params.remove("SOMETHING_NEW");
        assert_eq!(group.spec, spec);
        assert_eq!(group.status, Some(Status::Running));
    }

    #[test]
    fn generated_files_are_named_after_their_groups_and_never_collide() {
        let group = |name: &str, id: &str| LiveDocument {
            address: address(name),
            job_group_id: id.into(),
            spec: JobGroupSpec::example(),
            status: Some(Status::Stopped),
        };
        let generated = generated(&[
            group("cams:east", "1"),
            group("cams_east", "2"),
            group("imports", "3"),
            group("路口-7", "4"),
            group("cams east", "5"),
        ])
        .unwrap();
        assert_eq!(generated.skipped.len(), 1);
        assert_eq!(generated.skipped[0].0, address("cams east"));
        let names: Vec<&str> = generated
            .files
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "cams_east.yaml",
                "cams_east-2.yaml",
                "imports-3.yaml",
                "路口-7.yaml"
            ]
        );
        assert_eq!(generated.imports.matches("kind: Import").count(), 4);
        insta::assert_snapshot!(generated.imports);
        let sources: Vec<Source> = generated
            .files
            .iter()
            .map(|(name, text)| Source {
                name: name.clone(),
                bytes: text.clone().into_bytes(),
            })
            .collect();
        let desired = load_sources(sources).unwrap();
        assert_eq!(desired.groups.len(), 4);
    }

    #[test]
    fn suggested_documents_quote_what_yaml_would_misread() {
        insta::assert_snapshot!(import_document(&address("17"), "17").unwrap());
        insta::assert_snapshot!(moved_document(&address("night-market"), &address("no")).unwrap());
    }
}
