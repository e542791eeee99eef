//! Seed data: the instances, algorithm libraries, resource profiles and pre-existing job
//! groups an emulator starts with, in addition to the built-in `cityvisual-Instance`, `3`
//! and `6`. Read from a YAML file (`--seed FILE`) or built in code by tests.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::store::Status;
use crate::model::JobGroupParams;

/// The instance that exists without any seed file.
pub const BUILT_IN_INSTANCE_ID: &str = "cityvisual-Instance";
/// The algorithm library that exists without any seed file.
pub const BUILT_IN_ALGO_LIB_ID: &str = "3";
/// The resource profile that exists without any seed file.
pub const BUILT_IN_RESOURCE_PROFILE_ID: &str = "6";

/// What a seed file adds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Seed {
    /// Further instances (each exists in every region).
    #[serde(default)]
    pub instances: Vec<String>,
    /// Further algorithm libraries.
    #[serde(default)]
    pub algo_libs: Vec<String>,
    /// Further resource profiles.
    #[serde(default)]
    pub resource_profiles: Vec<String>,
    /// Job groups that exist before any request, as if created by hand; they get ids 1, 2, …
    /// in the order listed and obey the same rules as a `CreateJobGroup`.
    #[serde(default)]
    pub job_groups: Vec<SeedJobGroup>,
}

/// A pre-existing job group.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedJobGroup {
    /// Region; the default region when absent.
    #[serde(default)]
    pub region_id: Option<String>,
    /// Instance.
    pub instance_id: String,
    /// `JobGroupName`.
    pub name: String,
    /// `AlgoLibId`.
    pub algo_lib_id: String,
    /// `ResourceProfileId`.
    pub resource_profile_id: String,
    /// `PlanedJobCount`.
    pub planed_job_count: u32,
    /// `StreamPerJob`.
    pub stream_per_job: u32,
    /// `JobCount`.
    #[serde(default)]
    pub job_count: Option<u32>,
    /// `Running` or `Stopped` (the default).
    #[serde(default)]
    pub status: Option<Status>,
    /// `JobGroupParams`, e.g. `ES_ENABLE: "True"`.
    #[serde(default)]
    pub params: JobGroupParams,
}

/// Why a seed file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The file cannot be read.
    #[error("cannot read seed file `{path}`: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a seed document.
    #[error("seed file `{path}` is not valid: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser said, with line and column.
        source: serde_yaml::Error,
    },
}

impl Seed {
    /// Reads a seed file.
    pub fn load(path: &Path) -> Result<Seed, SeedError> {
        let text = std::fs::read_to_string(path).map_err(|source| SeedError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text).map_err(|source| SeedError::Parse {
            path: path.to_owned(),
            source,
        })
    }

    /// Parses seed YAML; an empty document is an empty seed.
    pub fn parse(text: &str) -> Result<Seed, serde_yaml::Error> {
        if text.trim().is_empty() {
            return Ok(Seed::default());
        }
        serde_yaml::from_str(text)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_field() {
        let seed = Seed::parse(
            r#"
instances: [other-Instance]
algoLibs: ["7"]
resourceProfiles: ["8"]
jobGroups:
  - instanceId: cityvisual-Instance
    name: made-by-hand
    algoLibId: "3"
    resourceProfileId: "6"
    planedJobCount: 10
    streamPerJob: 5
    jobCount: 3
    status: Running
    params: {ES_ENABLE: "True"}
  - regionId: cn-beijing
    instanceId: other-Instance
    name: second
    algoLibId: "7"
    resourceProfileId: "8"
    planedJobCount: 1
    streamPerJob: 1
"#,
        )
        .unwrap();
        assert_eq!(seed.instances, ["other-Instance"]);
        assert_eq!(seed.algo_libs, ["7"]);
        assert_eq!(seed.resource_profiles, ["8"]);
        assert_eq!(seed.job_groups.len(), 2);
        assert_eq!(seed.job_groups[0].status, Some(Status::Running));
        assert_eq!(seed.job_groups[0].params.get("ES_ENABLE").unwrap(), "True");
        assert_eq!(seed.job_groups[1].region_id.as_deref(), Some("cn-beijing"));
        assert_eq!(seed.job_groups[1].status, None);
    }

    #[test]
    fn refuses_unknown_fields_with_a_location() {
        let error = Seed::parse("instances: [a]\nalgolibs: [b]\n").unwrap_err();
        let text = error.to_string();
        assert!(text.contains("algolibs"), "{text}");
        assert!(text.contains("line 2"), "{text}");
    }

    #[test]
    fn an_empty_file_is_an_empty_seed() {
        assert_eq!(Seed::parse("\n").unwrap(), Seed::default());
    }

    #[test]
    fn a_missing_file_names_its_path() {
        let error = Seed::load(Path::new("/nonexistent/seed.yaml")).unwrap_err();
        assert!(error.to_string().contains("/nonexistent/seed.yaml"));
    }
}
