//! The desired (or recorded) configuration of one job group.

use serde::{Deserialize, Serialize};

use super::JobGroupParams;

/// What a job group should look like, with every value in canonical API form.
///
/// Region, instance and name are not here: they are the group's [`super::Address`]. `params`
/// is keyed by the API key (`ES_ENABLE`) and holds normalised values (`True`), so two specs
/// are equal exactly when the service would see the same group.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobGroupSpec {
    /// `AlgoLibId`.
    pub algo_lib_id: String,
    /// `ResourceProfileId`.
    pub resource_profile_id: String,
    /// `PlanedJobCount` (the API's spelling).
    pub planed_job_count: u32,
    /// `StreamPerJob`.
    pub stream_per_job: u32,
    /// `JobCount`, when the manifest sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_count: Option<u32>,
    /// `JobGroupParams`, canonical keys and values.
    #[serde(default, skip_serializing_if = "JobGroupParams::is_empty")]
    pub params: JobGroupParams,
}

impl JobGroupSpec {
    /// The spec as a flat, ordered list of `(attribute, value)` pairs, the unit of a plan's
    /// attribute-level diff. Params appear as `params.KEY`.
    pub fn attributes(&self) -> Vec<(String, String)> {
        let mut attributes = vec![
            ("algoLibId".to_owned(), self.algo_lib_id.clone()),
            (
                "resourceProfileId".to_owned(),
                self.resource_profile_id.clone(),
            ),
            (
                "planedJobCount".to_owned(),
                self.planed_job_count.to_string(),
            ),
            ("streamPerJob".to_owned(), self.stream_per_job.to_string()),
        ];
        if let Some(job_count) = self.job_count {
            attributes.push(("jobCount".to_owned(), job_count.to_string()));
        }
        for (key, value) in &self.params {
            attributes.push((format!("params.{key}"), value.clone()));
        }
        attributes
    }
}

mod fixtures {
    //! Builders of example specs, for documentation, tests and benchmarks.
    use super::JobGroupSpec;

    impl JobGroupSpec {
        /// A valid spec using the reference's own example values (algorithm library 3,
        /// resource profile 6, 10 jobs of 5 streams), which the emulator accepts.
        pub fn example() -> Self {
            Self {
                algo_lib_id: "3".into(),
                resource_profile_id: "6".into(),
                planed_job_count: 10,
                stream_per_job: 5,
                job_count: None,
                params: Default::default(),
            }
        }

        /// The same spec with `planedJobCount` set.
        pub fn with_planed_jobs(mut self, count: u32) -> Self {
            self.planed_job_count = count;
            self
        }

        /// The same spec with one param set (canonical key and value).
        pub fn with_param(mut self, key: &str, value: &str) -> Self {
            self.params.insert(key.into(), value.into());
            self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_list_optional_fields_only_when_set() {
        let spec = JobGroupSpec::example().with_param("ES_ENABLE", "True");
        let names: Vec<String> = spec
            .attributes()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(
            names,
            [
                "algoLibId",
                "resourceProfileId",
                "planedJobCount",
                "streamPerJob",
                "params.ES_ENABLE"
            ]
        );
    }
}
