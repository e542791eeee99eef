//! The desired (or recorded) configuration of one job group.

use serde::{Deserialize, Serialize};

/// What a job group should look like, with every value in canonical API form.
///
/// Region, instance and name are not here: they are the group's [`super::Address`]. `params`
/// is keyed by the API key (`ES_ENABLE`) and holds normalised values (`True`), so two specs
/// are equal exactly when the service would see the same group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    #[serde(
        default,
        skip_serializing_if = "JobGroupParams::is_empty",
        with = "params_map"
    )]
    pub params: JobGroupParams,
}

/// A job group's parameters by key, in key order. A sorted list rather than a `BTreeMap`:
/// a group has a handful of parameters at most, and a `BTreeMap` takes a 544-byte node for
/// the first one, which at 100,000 groups was a quarter of `plan`'s memory.
pub type JobGroupParams = litemap::LiteMap<String, String>;

/// [`JobGroupParams`] in serde as a map of keys to values, empty or not: `#[serde(with =
/// "params_map")]` on every field that holds them (`litemap`'s own form writes an empty map
/// as a list).
pub mod params_map {
    use std::fmt;

    use serde::de::{MapAccess, Visitor};
    use serde::{Deserializer, Serializer};

    use super::JobGroupParams;

    /// Writes `params` as a map, in key order.
    pub fn serialize<S: Serializer>(
        params: &JobGroupParams,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_map(params.iter())
    }

    /// Reads a map of strings to strings; a key given twice keeps its last value.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<JobGroupParams, D::Error> {
        deserializer.deserialize_map(ParamsVisitor)
    }

    struct ParamsVisitor;

    impl<'de> Visitor<'de> for ParamsVisitor {
        type Value = JobGroupParams;

        fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
            formatter.write_str("a map")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<JobGroupParams, A::Error> {
            let mut params = JobGroupParams::new();
            while let Some((key, value)) = entries.next_entry::<String, String>()? {
                params.insert(key, value);
            }
            Ok(params)
        }
    }
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

#[cfg(test)]
pub(crate) mod fixtures {
    //! Builders for specs in tests.
    use super::JobGroupSpec;

    impl JobGroupSpec {
        /// A valid spec using the reference's own example values.
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
