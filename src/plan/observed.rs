//! What a refresh saw: the live job groups of the instances it listed.
//!
//! The planner matches recorded groups to live ones by `JobGroupId`, not by name, so a
//! group renamed outside cityform (or after `state mv`) is still the same group.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{JobGroupSpec, LiveStatus};

/// One live job group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveGroup {
    /// Its id.
    pub job_group_id: String,
    /// Its live name.
    pub name: String,
    /// Its live spec, in canonical form.
    pub spec: JobGroupSpec,
    /// Its live status, when the listing said.
    pub status: Option<LiveStatus>,
}

/// The live groups of every instance a refresh listed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    instances: BTreeSet<(String, String)>,
    groups: BTreeMap<(String, String, String), LiveGroup>,
}

impl Observed {
    /// Records the complete listing of one instance.
    pub fn add_instance(
        &mut self,
        region_id: &str,
        instance_id: &str,
        groups: impl IntoIterator<Item = LiveGroup>,
    ) {
        self.instances
            .insert((region_id.to_owned(), instance_id.to_owned()));
        for group in groups {
            self.groups.insert(
                (
                    region_id.to_owned(),
                    instance_id.to_owned(),
                    group.job_group_id.clone(),
                ),
                group,
            );
        }
    }

    /// Whether the instance was listed, so that a group missing from it is really gone.
    pub fn was_listed(&self, region_id: &str, instance_id: &str) -> bool {
        self.instances
            .contains(&(region_id.to_owned(), instance_id.to_owned()))
    }

    /// The live group with `job_group_id` in the instance.
    pub fn get(
        &self,
        region_id: &str,
        instance_id: &str,
        job_group_id: &str,
    ) -> Option<&LiveGroup> {
        self.groups.get(&(
            region_id.to_owned(),
            instance_id.to_owned(),
            job_group_id.to_owned(),
        ))
    }

    /// Every live group with its region and instance, in (region, instance, id) order.
    pub fn groups(&self) -> impl Iterator<Item = (&str, &str, &LiveGroup)> {
        self.groups
            .iter()
            .map(|((region, instance, _), group)| (region.as_str(), instance.as_str(), group))
    }

    /// How many instances were listed.
    pub fn instance_count(&self) -> usize {
        self.instances.len()
    }
}
