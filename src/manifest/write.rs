//! Writing manifest documents: the `JobGroup` document of a live group and the `Import` and
//! `Moved` documents a plan suggests, as YAML the reader accepts back unchanged.
//!
//! Values go through the YAML serializer, so names and ids that YAML would read as something
//! else (`"17"`, `yes`, `a: b`) come out quoted.

use serde::Serialize;

use super::format::API_VERSION;
use crate::model::{Address, JobGroupSpec, ParamKey, Status};

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
    Ok(serde_yaml::to_string(&document)?)
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
    Ok((serde_yaml::to_string(&document)?, unknown))
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
    fn suggested_documents_quote_what_yaml_would_misread() {
        insta::assert_snapshot!(import_document(&address("17"), "17").unwrap());
        insta::assert_snapshot!(moved_document(&address("night-market"), &address("no")).unwrap());
    }
}
