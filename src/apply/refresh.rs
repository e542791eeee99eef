//! The refresh: reading the live job groups before planning, and bringing the state up to
//! date with them (`cityform refresh`).
//!
//! `DescribeJobGroups` has no name filter and no way to ask for many ids at once, so a
//! refresh lists whole instances: one paged listing per instance, whatever the number of
//! groups in it, never one call per group. Listings of different instances run
//! concurrently.

use std::collections::BTreeSet;
use std::fmt;

use futures_util::stream::{self, StreamExt as _, TryStreamExt as _};
use serde::Serialize;

use super::resolve::group_by_id;
use crate::cloud::{CloudClient, CloudError, ObservedJobGroup};
use crate::manifest::Desired;
use crate::model::{Address, LiveStatus, Status};
use crate::plan::{AttributeChange, LiveGroup, Observed, PlanOptions, full_changes};
use crate::state::journal::{JournalRecord, Put, Remove};
use crate::state::{State, StateEntry};

/// Instances listed at once.
pub const CONCURRENT_LISTINGS: usize = 8;

/// One instance in one region: the unit a refresh lists.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Instance {
    /// The region.
    pub region_id: String,
    /// The instance.
    pub instance_id: String,
}

impl Instance {
    /// The instance `address` lives in.
    pub fn of(address: &Address) -> Self {
        Self {
            region_id: address.region_id.clone(),
            instance_id: address.instance_id.clone(),
        }
    }
}

impl fmt::Display for Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.region_id, self.instance_id)
    }
}

/// Why a refresh could not read the live groups.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// Listing the groups of one instance failed (after the client's retries).
    #[error("cannot read the live job groups of instance `{instance}`: {source}")]
    List {
        /// The instance.
        instance: Instance,
        /// The listing's error.
        source: Box<CloudError>,
    },
}

/// The instances a plan needs listed: every instance the manifests declare a group in (of
/// the groups the plan considers: targeted, not excluded), and those of the recorded groups
/// `Moved` documents move and of the groups `Import` documents adopt. A group the state
/// records is compared with its live self; a group to create is checked against the live
/// names of its instance, since the service refuses a second group of one name
/// (`InvalidName.Duplicate`) and a plan must not promise that create. Groups only the state
/// records are orphans whatever their live selves look like, and need no listing of their
/// own. Empty when the manifests declare nothing the plan considers.
pub fn instances_to_list(
    desired: &Desired,
    state: Option<&State>,
    options: &PlanOptions,
) -> BTreeSet<Instance> {
    let mut instances: BTreeSet<Instance> = desired
        .groups
        .keys()
        .filter(|address| options.considers(address))
        .map(Instance::of)
        .collect();
    instances.extend(declared_instances(desired, state, options));
    instances
}

/// Of [`instances_to_list`], those without whose listing a plan cannot be made: where the
/// state records a group the manifests declare (compared with its live self), and those
/// `Moved` and `Import` documents need. The others only check the names of creates, which a
/// plan without credentials can do without, saying so.
pub fn instances_to_compare(
    desired: &Desired,
    state: Option<&State>,
    options: &PlanOptions,
) -> BTreeSet<Instance> {
    let mut instances: BTreeSet<Instance> = state
        .into_iter()
        .flat_map(|state| state.job_groups.keys())
        .filter(|address| options.considers(address) && desired.groups.contains_key(*address))
        .map(Instance::of)
        .collect();
    instances.extend(declared_instances(desired, state, options));
    instances
}

/// The instances of the recorded groups `Moved` documents bring to a considered address (its
/// instance is the same at both ends), and of the groups `Import` documents adopt, which are
/// looked up among the live ones.
fn declared_instances<'a>(
    desired: &'a Desired,
    state: Option<&'a State>,
    options: &'a PlanOptions,
) -> impl Iterator<Item = Instance> + 'a {
    let is_recorded =
        move |address: &Address| state.is_some_and(|state| state.job_groups.contains_key(address));
    let moved = desired
        .moves
        .iter()
        .filter(move |moved| is_recorded(&moved.from) && options.considers(&moved.to))
        .map(|moved| Instance::of(&moved.from));
    let imported = desired
        .imports
        .iter()
        .filter(move |import| !is_recorded(&import.address) && options.considers(&import.address))
        .map(|import| Instance::of(&import.address));
    moved.chain(imported)
}

/// Every instance the state records a group in.
pub fn recorded_instances(state: &State) -> BTreeSet<Instance> {
    state.job_groups.keys().map(Instance::of).collect()
}

/// Lists every group of each of `instances`, [`CONCURRENT_LISTINGS`] instances at a time.
///
/// A group that `recorded` has in a listed instance and that its listing lacks is looked up
/// by its id before it is taken for gone: pages are by offset, and a group deleted between
/// two pages shifts the next page past one that still exists.
pub async fn observe(
    client: &CloudClient,
    instances: &BTreeSet<Instance>,
    recorded: Option<&State>,
) -> Result<Observed, RefreshError> {
    // Owned instances: a closure over borrowed ones makes the future not `Send` for every
    // lifetime, which a caller that spawns the refresh (the continuous reconcile) needs.
    let listings: Vec<(Instance, Vec<ObservedJobGroup>)> = stream::iter(instances.iter().cloned())
        .map(|instance: Instance| {
            let ids = recorded_ids(recorded, &instance);
            async move {
                match list_confirming(client, &instance, ids).await {
                    Ok(groups) => Ok((instance, groups)),
                    Err(source) => Err(RefreshError::List {
                        instance,
                        source: Box::new(source),
                    }),
                }
            }
        })
        .buffer_unordered(CONCURRENT_LISTINGS)
        .try_collect()
        .await?;
    let mut observed = Observed::default();
    for (instance, groups) in listings {
        observed.add_instance(
            &instance.region_id,
            &instance.instance_id,
            groups.into_iter().map(live_group),
        );
    }
    Ok(observed)
}

/// The ids `state` records in `instance`.
fn recorded_ids(state: Option<&State>, instance: &Instance) -> Vec<String> {
    state
        .into_iter()
        .flat_map(|state| state.job_groups.iter())
        .filter(|(address, _)| {
            address.region_id == instance.region_id && address.instance_id == instance.instance_id
        })
        .map(|(_, entry)| entry.job_group_id.clone())
        .collect()
}

/// The groups of `instance`, with every one of `ids` that the listing lacks looked up by id
/// and added when the service still has it.
async fn list_confirming(
    client: &CloudClient,
    instance: &Instance,
    ids: Vec<String>,
) -> Result<Vec<ObservedJobGroup>, CloudError> {
    let mut groups = client
        .list_all_job_groups(&instance.region_id, &instance.instance_id)
        .await?;
    let listed: BTreeSet<String> = groups
        .iter()
        .map(|group| group.job_group_id.clone())
        .collect();
    for id in ids.iter().filter(|id| !listed.contains(*id)) {
        if let Some(found) =
            group_by_id(client, &instance.region_id, &instance.instance_id, id).await?
        {
            groups.push(found);
        }
    }
    Ok(groups)
}

/// A listed group as the planner compares it: canonical spec, status read in any of the
/// service's spellings.
pub fn live_group(group: ObservedJobGroup) -> LiveGroup {
    LiveGroup {
        spec: group.to_spec(),
        status: LiveStatus::parse(&group.status),
        job_group_id: group.job_group_id,
        name: group.name,
    }
}

/// What `cityform refresh` found about one recorded group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "finding", rename_all = "snake_case")]
pub enum Finding {
    /// The live group differs from the record (spec or status): the state now records it
    /// as it is.
    Changed {
        /// The group.
        address: Address,
        /// Its id.
        job_group_id: String,
        /// Every attribute that differs, from the recorded value to the live one.
        changes: Vec<AttributeChange>,
        /// The recorded status, when the status changed.
        #[serde(skip_serializing_if = "Option::is_none")]
        status_before: Option<Status>,
        /// The live status, when the status changed.
        #[serde(skip_serializing_if = "Option::is_none")]
        status_after: Option<Status>,
    },
    /// The group no longer exists: deleted outside cityform. It is removed from the state.
    Gone {
        /// The group.
        address: Address,
        /// The id it had.
        job_group_id: String,
    },
    /// The group was renamed outside cityform. The state keeps its address (the name the
    /// manifests manage): the next apply renames it back, or `state mv` adopts the new name.
    Renamed {
        /// The group, by the name the state records.
        address: Address,
        /// Its id.
        job_group_id: String,
        /// Its live name.
        live_name: String,
    },
}

/// The records that bring a state up to date with a refresh, and what they mean.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateRefresh {
    /// `put` for each changed group, `remove` for each group gone, in address order.
    pub records: Vec<JournalRecord>,
    /// What was found, in address order.
    pub findings: Vec<Finding>,
    /// Recorded groups compared and found as recorded.
    pub unchanged: usize,
}

/// Compares every group `state` records in a listed instance with its live self, by id.
///
/// A changed group is recorded with its live spec and status (its `RequestId`, time and
/// protection kept); a group gone is removed. Names are never recorded: a group renamed
/// outside keeps its address and is reported. Groups in instances `observed` did not list
/// are left alone.
pub fn refresh_state(state: &State, observed: &Observed) -> StateRefresh {
    let mut refresh = StateRefresh::default();
    for (address, entry) in &state.job_groups {
        if !observed.was_listed(&address.region_id, &address.instance_id) {
            continue;
        }
        let Some(live) = observed.get(
            &address.region_id,
            &address.instance_id,
            &entry.job_group_id,
        ) else {
            refresh.records.push(JournalRecord::Remove(Remove {
                address: address.clone(),
                intent: None,
            }));
            refresh.findings.push(Finding::Gone {
                address: address.clone(),
                job_group_id: entry.job_group_id.clone(),
            });
            continue;
        };
        let mut same = true;
        if live.name != address.name {
            same = false;
            refresh.findings.push(Finding::Renamed {
                address: address.clone(),
                job_group_id: entry.job_group_id.clone(),
                live_name: live.name.clone(),
            });
        }
        // A transitional status is recorded as the one it is heading to; an unknown live
        // status says nothing new: keep the recorded one.
        let status = live
            .status
            .as_ref()
            .and_then(LiveStatus::heading_to)
            .or(entry.status);
        if live.spec != entry.spec || status != entry.status {
            same = false;
            let status_changed = status != entry.status;
            refresh.findings.push(Finding::Changed {
                address: address.clone(),
                job_group_id: entry.job_group_id.clone(),
                changes: full_changes(&entry.spec, &live.spec),
                status_before: entry.status.filter(|_| status_changed),
                status_after: status.filter(|_| status_changed),
            });
            refresh.records.push(JournalRecord::Put(Put {
                address: address.clone(),
                entry: StateEntry {
                    spec: live.spec.clone(),
                    status,
                    ..entry.clone()
                },
                intent: None,
            }));
        }
        if same {
            refresh.unchanged += 1;
        }
    }
    refresh
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{DesiredGroup, SourceLocation};
    use crate::model::JobGroupSpec;

    fn address(instance: &str, name: &str) -> Address {
        Address::new("cn-shanghai", instance, name)
    }

    fn state(groups: &[(&str, &str, &str)]) -> State {
        let mut state = State::new("lineage-1");
        for (instance, name, id) in groups {
            state.job_groups.insert(
                address(instance, name),
                StateEntry {
                    status: Some(Status::Stopped),
                    ..StateEntry::new(*id, JobGroupSpec::example(), "R-1", "2026-11-27T08:00:00Z")
                },
            );
        }
        state
    }

    fn desired(groups: &[(&str, &str)]) -> Desired {
        let mut desired = Desired::default();
        for (instance, name) in groups {
            desired.groups.insert(
                address(instance, name),
                DesiredGroup::new(
                    JobGroupSpec::example(),
                    SourceLocation {
                        file: "a.yaml".into(),
                        line: 1,
                        column: 1,
                    },
                ),
            );
        }
        desired
    }

    fn instance(id: &str) -> Instance {
        Instance {
            region_id: "cn-shanghai".into(),
            instance_id: id.into(),
        }
    }

    fn live(id: &str, name: &str, spec: JobGroupSpec, status: Option<Status>) -> LiveGroup {
        LiveGroup {
            job_group_id: id.into(),
            name: name.into(),
            spec,
            status: status.map(LiveStatus::Settled),
        }
    }

    #[test]
    fn every_declared_instance_is_listed_and_those_with_recorded_groups_are_compared() {
        let desired = desired(&[("a", "x"), ("b", "y"), ("c", "z")]);
        let state = state(&[("a", "x", "1"), ("a", "w", "2"), ("b", "y", "3")]);
        let targeting = |targets: &[Address]| PlanOptions {
            targets: targets.iter().cloned().collect(),
            ..PlanOptions::default()
        };
        let all = PlanOptions::default();
        assert_eq!(
            instances_to_list(&desired, None, &all),
            BTreeSet::from([instance("a"), instance("b"), instance("c")])
        );
        assert_eq!(
            instances_to_compare(&desired, Some(&state), &all),
            BTreeSet::from([instance("a"), instance("b")])
        );
        assert!(instances_to_compare(&desired, None, &all).is_empty());
        let orphans_only = self::state(&[("c", "gone", "9")]);
        assert!(instances_to_compare(&desired, Some(&orphans_only), &all).is_empty());
        let only_b = targeting(&[address("b", "y")]);
        assert_eq!(
            instances_to_list(&desired, None, &only_b),
            BTreeSet::from([instance("b")])
        );
        let excluding_a = PlanOptions {
            excludes: BTreeSet::from([address("a", "x")]),
            ..PlanOptions::default()
        };
        assert_eq!(
            instances_to_list(&desired, Some(&state), &excluding_a),
            BTreeSet::from([instance("b"), instance("c")])
        );
        assert_eq!(
            instances_to_compare(&desired, Some(&state), &excluding_a),
            BTreeSet::from([instance("b")])
        );
    }

    #[test]
    fn a_listed_group_is_compared_in_canonical_form() {
        let group = ObservedJobGroup {
            job_group_id: "7".into(),
            name: "g".into(),
            status: "Paused".into(),
            algo_lib_id: "3".into(),
            resource_profile_id: "6".into(),
            planed_job_count: 10,
            stream_per_job: 5,
            job_count: None,
            params: [("ES_ENABLE".to_owned(), "true".to_owned())]
                .into_iter()
                .collect(),
            compute_jobs: Vec::new(),
        };
        let live = live_group(group);
        assert_eq!(
            live.spec,
            JobGroupSpec::example().with_param("ES_ENABLE", "True")
        );
        assert_eq!(live.status, Some(LiveStatus::Unknown("Paused".into())));
        assert_eq!((live.job_group_id.as_str(), live.name.as_str()), ("7", "g"));
    }

    #[test]
    fn refresh_records_changes_removes_the_gone_and_reports_renames() {
        let state = state(&[
            ("a", "changed", "1"),
            ("a", "gone", "2"),
            ("a", "renamed", "3"),
            ("a", "same", "4"),
            ("b", "unlisted", "5"),
        ]);
        let mut observed = Observed::default();
        observed.add_instance(
            "cn-shanghai",
            "a",
            vec![
                live(
                    "1",
                    "changed",
                    JobGroupSpec::example().with_planed_jobs(99),
                    Some(Status::Running),
                ),
                live(
                    "3",
                    "by-hand",
                    JobGroupSpec::example(),
                    Some(Status::Stopped),
                ),
                live("4", "same", JobGroupSpec::example(), None),
                live("9", "unmanaged", JobGroupSpec::example(), None),
            ],
        );
        let refresh = refresh_state(&state, &observed);
        assert_eq!(refresh.unchanged, 1);
        assert_eq!(
            refresh.findings,
            [
                Finding::Changed {
                    address: address("a", "changed"),
                    job_group_id: "1".into(),
                    changes: vec![AttributeChange {
                        attribute: "planedJobCount".into(),
                        before: Some("10".into()),
                        after: Some("99".into()),
                    }],
                    status_before: Some(Status::Stopped),
                    status_after: Some(Status::Running),
                },
                Finding::Gone {
                    address: address("a", "gone"),
                    job_group_id: "2".into(),
                },
                Finding::Renamed {
                    address: address("a", "renamed"),
                    job_group_id: "3".into(),
                    live_name: "by-hand".into(),
                },
            ]
        );
        let Some(JournalRecord::Put(put)) = refresh.records.first() else {
            panic!("expected a put: {:?}", refresh.records);
        };
        assert_eq!(put.entry.spec.planed_job_count, 99);
        assert_eq!(put.entry.status, Some(Status::Running));
        assert_eq!(put.entry.request_id, "R-1", "the last call's id is kept");
        assert!(matches!(
            refresh.records.as_slice(),
            [JournalRecord::Put(_), JournalRecord::Remove(Remove { address: gone, .. })]
                if *gone == address("a", "gone")
        ));
    }
}
