//! The emulator's world: which instances, algorithm libraries and resource profiles exist,
//! and the job groups, with every rule a change must obey. No I/O and no HTTP here: the
//! actions call these methods and render what they return.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use time::OffsetDateTime;

use super::api_error::ApiError;
use super::seed::{BUILT_IN_ALGO_LIB_ID, BUILT_IN_INSTANCE_ID, BUILT_IN_RESOURCE_PROFILE_ID};
pub use crate::model::Status;
use crate::model::{JobGroupParams, ParamKey, normalize_param_value, validate_job_group_name};

/// Where a job group lives: a region and an instance in it. Every instance the emulator knows
/// exists in every region, but groups in different regions are different groups.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Scope {
    /// `RegionId`; the emulator's default region when a request has none.
    pub region_id: String,
    /// `InstanceId`.
    pub instance_id: String,
}

/// The API spelling exactly; anything else is `InvalidStatus.ValueNotSupported`.
pub(crate) fn parse_status(text: &str) -> Result<Status, ApiError> {
    text.parse()
        .map_err(|_unsupported| ApiError::unsupported_status(text))
}

/// The most compute jobs a running group lists, whatever its `JobCount`: anyone who can reach
/// the emulator chooses that number, and answers must stay small.
pub const MAX_COMPUTE_JOBS: u32 = 100;

/// What a group shows as its status at a given moment: its [`Status`] once the last start or
/// stop has settled, the way there before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Started, not yet running.
    Starting,
    /// Running, with its compute jobs.
    Running,
    /// Stopped, not yet stopped.
    Stopping,
    /// Stopped, or never started.
    Stopped,
}

/// One compute job of a running group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ComputeJob {
    /// `ComputeJobId` (and `ComputeJobName`): `JobGroupId × 100 + n`, n from 1.
    pub id: u64,
    /// `StartTime`: when the group became running.
    pub started_at: OffsetDateTime,
}

/// One job group as the emulator holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobGroup {
    /// `JobGroupId`: increasing numbers, as strings on the wire.
    #[serde(serialize_with = "serialize_as_string")]
    pub job_group_id: u64,
    /// Region and instance.
    #[serde(flatten)]
    pub scope: Scope,
    /// `JobGroupName`.
    pub name: String,
    /// `Status`.
    pub status: Status,
    /// `AlgoLibId`.
    pub algo_lib_id: String,
    /// `ResourceProfileId`.
    pub resource_profile_id: String,
    /// `PlanedJobCount`.
    pub planed_job_count: u32,
    /// `StreamPerJob`.
    pub stream_per_job: u32,
    /// `JobCount`, when it was given.
    pub job_count: Option<u32>,
    /// `JobGroupParams`, keys and values in canonical API spelling.
    pub params: JobGroupParams,
    /// When the last change of `status` settles or settled; until then the group shows
    /// [`Phase::Starting`] or [`Phase::Stopping`]. A group made with its status, by a create
    /// or a seed, is settled from the start.
    #[serde(skip)]
    pub settles_at: OffsetDateTime,
}

impl JobGroup {
    /// The status the group shows at `now`.
    pub fn phase(&self, now: OffsetDateTime) -> Phase {
        let settled = now >= self.settles_at;
        match (self.status, settled) {
            (Status::Running, true) => Phase::Running,
            (Status::Running, false) => Phase::Starting,
            (Status::Stopped, true) => Phase::Stopped,
            (Status::Stopped, false) => Phase::Stopping,
        }
    }

    /// The compute jobs at `now`: `JobCount` of them (`PlanedJobCount` when `JobCount` was
    /// never set, at most [`MAX_COMPUTE_JOBS`]) while the group shows running, none otherwise.
    pub(crate) fn compute_jobs(&self, now: OffsetDateTime) -> Vec<ComputeJob> {
        if self.phase(now) != Phase::Running {
            return Vec::new();
        }
        let count = self
            .job_count
            .unwrap_or(self.planed_job_count)
            .min(MAX_COMPUTE_JOBS);
        let first = self
            .job_group_id
            .saturating_mul(u64::from(MAX_COMPUTE_JOBS));
        (1..=u64::from(count))
            .map(|number| ComputeJob {
                id: first.saturating_add(number),
                started_at: self.settles_at,
            })
            .collect()
    }
}

fn serialize_as_string<S: serde::Serializer>(id: &u64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(id)
}

/// A copy of everything an emulator holds, as `GET /_emulator/state` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EmulatorState {
    /// Known instances (each exists in every region).
    pub instances: Vec<String>,
    /// Known algorithm libraries.
    pub algo_libs: Vec<String>,
    /// Known resource profiles.
    pub resource_profiles: Vec<String>,
    /// Every job group, in id order.
    pub job_groups: Vec<JobGroup>,
}

impl EmulatorState {
    /// The group called `name` in `instance_id`, in any region.
    pub fn job_group_named(&self, instance_id: &str, name: &str) -> Option<&JobGroup> {
        self.job_groups
            .iter()
            .find(|group| group.scope.instance_id == instance_id && group.name == name)
    }
}

/// Everything a create needs, already parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewJobGroup {
    pub scope: Scope,
    pub name: String,
    pub status: Status,
    pub algo_lib_id: String,
    pub resource_profile_id: String,
    pub planed_job_count: u32,
    pub stream_per_job: u32,
    pub job_count: Option<u32>,
    /// As sent: keys and values are checked and normalised by the store.
    pub params: Vec<(String, String)>,
    /// When the group is made; its status is settled from then.
    pub created_at: OffsetDateTime,
}

/// The fields a modify may change; `None` leaves a field as it is. Params, when given,
/// replace the whole set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct JobGroupChanges {
    pub name: Option<String>,
    pub status: Option<Status>,
    pub algo_lib_id: Option<String>,
    pub resource_profile_id: Option<String>,
    pub planed_job_count: Option<u32>,
    pub stream_per_job: Option<u32>,
    pub job_count: Option<u32>,
    pub params: Option<Vec<(String, String)>>,
}

/// Instances, libraries, profiles and groups.
#[derive(Debug, Clone, Default)]
pub(crate) struct Store {
    instances: BTreeSet<String>,
    algo_libs: BTreeSet<String>,
    resource_profiles: BTreeSet<String>,
    /// Keyed by id, so iteration is the stable numeric order `DescribeJobGroups` pages in.
    job_groups: BTreeMap<u64, JobGroup>,
    /// The id of each name in its scope: names are checked for uniqueness at every create
    /// and rename, and a scan of every group there made a bulk run quadratic.
    ids_by_name: HashMap<(Scope, String), u64>,
    last_job_group_id: u64,
}

/// A page of a scope's groups and how many the scope holds in all.
pub(crate) struct Page {
    pub total_count: usize,
    pub job_groups: Vec<JobGroup>,
}

impl Store {
    /// A store with what exists without any seed: instance `cityvisual-Instance`,
    /// algorithm library `3` and resource profile `6`.
    pub fn with_built_ins() -> Self {
        let mut store = Store::default();
        store.add_instance(BUILT_IN_INSTANCE_ID);
        store.add_algo_lib(BUILT_IN_ALGO_LIB_ID);
        store.add_resource_profile(BUILT_IN_RESOURCE_PROFILE_ID);
        store
    }

    /// Makes `instance_id` exist in every region.
    pub fn add_instance(&mut self, instance_id: &str) {
        self.instances.insert(instance_id.to_owned());
    }

    /// Makes algorithm library `algo_lib_id` exist.
    pub fn add_algo_lib(&mut self, algo_lib_id: &str) {
        self.algo_libs.insert(algo_lib_id.to_owned());
    }

    /// Makes resource profile `resource_profile_id` exist.
    pub fn add_resource_profile(&mut self, resource_profile_id: &str) {
        self.resource_profiles
            .insert(resource_profile_id.to_owned());
    }

    /// Every group, by id.
    #[cfg(test)]
    pub fn job_groups(&self) -> impl Iterator<Item = &JobGroup> {
        self.job_groups.values()
    }

    /// A copy of everything held.
    pub fn snapshot(&self) -> EmulatorState {
        EmulatorState {
            instances: self.instances.iter().cloned().collect(),
            algo_libs: self.algo_libs.iter().cloned().collect(),
            resource_profiles: self.resource_profiles.iter().cloned().collect(),
            job_groups: self.job_groups.values().cloned().collect(),
        }
    }

    /// Refuses an instance the emulator does not know.
    pub fn check_instance(&self, instance_id: &str) -> Result<(), ApiError> {
        if self.instances.contains(instance_id) {
            Ok(())
        } else {
            Err(ApiError::unknown_instance(instance_id))
        }
    }

    /// Creates a group and returns its new id.
    pub fn create(&mut self, new: NewJobGroup) -> Result<u64, ApiError> {
        let params = normalize_params(&new.params)?;
        check_name(&new.name)?;
        self.check_instance(&new.scope.instance_id)?;
        self.check_algo_lib(&new.algo_lib_id)?;
        self.check_resource_profile(&new.resource_profile_id)?;
        self.check_unique_name(&new.scope, &new.name, None)?;
        self.last_job_group_id += 1;
        let job_group_id = self.last_job_group_id;
        self.ids_by_name
            .insert((new.scope.clone(), new.name.clone()), job_group_id);
        self.job_groups.insert(
            job_group_id,
            JobGroup {
                job_group_id,
                scope: new.scope,
                name: new.name,
                status: new.status,
                algo_lib_id: new.algo_lib_id,
                resource_profile_id: new.resource_profile_id,
                planed_job_count: new.planed_job_count,
                stream_per_job: new.stream_per_job,
                job_count: new.job_count,
                params,
                settles_at: new.created_at,
            },
        );
        Ok(job_group_id)
    }

    /// Applies `changes` to a group, all or nothing. A change of status settles at
    /// `settles_at`; a status the group already has (settled or on its way) changes nothing,
    /// while the other status turns the group around, starting a new transition.
    pub fn modify(
        &mut self,
        scope: &Scope,
        job_group_id: &str,
        changes: JobGroupChanges,
        settles_at: OffsetDateTime,
    ) -> Result<(), ApiError> {
        let id = self.find(scope, job_group_id)?;
        let params = changes
            .params
            .as_deref()
            .map(normalize_params)
            .transpose()?;
        if let Some(name) = &changes.name {
            check_name(name)?;
            self.check_unique_name(scope, name, Some(id))?;
        }
        if let Some(algo_lib_id) = &changes.algo_lib_id {
            self.check_algo_lib(algo_lib_id)?;
        }
        if let Some(resource_profile_id) = &changes.resource_profile_id {
            self.check_resource_profile(resource_profile_id)?;
        }
        let group = self
            .job_groups
            .get_mut(&id)
            .ok_or_else(|| ApiError::internal("a group vanished while it was being modified"))?;
        if let Some(name) = changes.name {
            self.ids_by_name
                .remove(&(group.scope.clone(), std::mem::take(&mut group.name)));
            self.ids_by_name
                .insert((group.scope.clone(), name.clone()), id);
            group.name = name;
        }
        if let Some(status) = changes.status
            && status != group.status
        {
            group.status = status;
            group.settles_at = settles_at;
        }
        if let Some(algo_lib_id) = changes.algo_lib_id {
            group.algo_lib_id = algo_lib_id;
        }
        if let Some(resource_profile_id) = changes.resource_profile_id {
            group.resource_profile_id = resource_profile_id;
        }
        if let Some(planed_job_count) = changes.planed_job_count {
            group.planed_job_count = planed_job_count;
        }
        if let Some(stream_per_job) = changes.stream_per_job {
            group.stream_per_job = stream_per_job;
        }
        if let Some(job_count) = changes.job_count {
            group.job_count = Some(job_count);
        }
        if let Some(params) = params {
            group.params = params;
        }
        Ok(())
    }

    /// Sets a group's status, settling at `settles_at`; setting the status it already has is
    /// not an error and changes nothing.
    pub fn set_status(
        &mut self,
        scope: &Scope,
        job_group_id: &str,
        status: Status,
        settles_at: OffsetDateTime,
    ) -> Result<(), ApiError> {
        self.modify(
            scope,
            job_group_id,
            JobGroupChanges {
                status: Some(status),
                ..JobGroupChanges::default()
            },
            settles_at,
        )
    }

    /// Deletes a group, whatever its status.
    pub fn delete(&mut self, scope: &Scope, job_group_id: &str) -> Result<(), ApiError> {
        let id = self.find(scope, job_group_id)?;
        self.remove(id);
        Ok(())
    }

    /// One page of a scope's groups in id order, optionally only the group `job_group_id`.
    /// `page_number` counts from 1; a page past the end is empty.
    pub fn page(
        &self,
        scope: &Scope,
        job_group_id: Option<&str>,
        page_number: usize,
        page_size: usize,
    ) -> Page {
        let wanted = job_group_id.map(|id| id.parse::<u64>().ok());
        let matching: Vec<&JobGroup> = self
            .job_groups
            .values()
            .filter(|group| group.scope == *scope)
            .filter(|group| match wanted {
                None => true,
                Some(id) => id == Some(group.job_group_id),
            })
            .collect();
        let skip = page_number.saturating_sub(1).saturating_mul(page_size);
        Page {
            total_count: matching.len(),
            job_groups: matching
                .into_iter()
                .skip(skip)
                .take(page_size)
                .cloned()
                .collect(),
        }
    }

    /// Changes a group behind the callers' back (for drift tests); false if there is none.
    pub fn update_directly(
        &mut self,
        job_group_id: u64,
        change: impl FnOnce(&mut JobGroup),
    ) -> bool {
        match self.job_groups.get_mut(&job_group_id) {
            Some(group) => {
                self.ids_by_name
                    .remove(&(group.scope.clone(), group.name.clone()));
                change(group);
                self.ids_by_name
                    .insert((group.scope.clone(), group.name.clone()), job_group_id);
                true
            }
            None => false,
        }
    }

    /// Removes a group behind the callers' back; false if there is none.
    pub fn delete_directly(&mut self, job_group_id: u64) -> bool {
        self.remove(job_group_id)
    }

    fn remove(&mut self, job_group_id: u64) -> bool {
        match self.job_groups.remove(&job_group_id) {
            Some(group) => {
                self.ids_by_name.remove(&(group.scope, group.name));
                true
            }
            None => false,
        }
    }

    fn find(&self, scope: &Scope, job_group_id: &str) -> Result<u64, ApiError> {
        job_group_id
            .parse::<u64>()
            .ok()
            .filter(|id| {
                self.job_groups
                    .get(id)
                    .is_some_and(|group| group.scope == *scope)
            })
            .ok_or_else(|| ApiError::unknown_job_group(job_group_id, &scope.instance_id))
    }

    fn check_algo_lib(&self, algo_lib_id: &str) -> Result<(), ApiError> {
        if self.algo_libs.contains(algo_lib_id) {
            Ok(())
        } else {
            Err(ApiError::unknown_algo_lib(algo_lib_id))
        }
    }

    fn check_resource_profile(&self, resource_profile_id: &str) -> Result<(), ApiError> {
        if self.resource_profiles.contains(resource_profile_id) {
            Ok(())
        } else {
            Err(ApiError::unknown_resource_profile(resource_profile_id))
        }
    }

    fn check_unique_name(
        &self,
        scope: &Scope,
        name: &str,
        except: Option<u64>,
    ) -> Result<(), ApiError> {
        let holder = self.ids_by_name.get(&(scope.clone(), name.to_owned()));
        if holder.is_some_and(|id| Some(*id) != except) {
            Err(ApiError::duplicate_name(name, &scope.instance_id))
        } else {
            Ok(())
        }
    }
}

fn check_name(name: &str) -> Result<(), ApiError> {
    validate_job_group_name(name)
        .map_err(|error| ApiError::malformed_name(name, &error.to_string()))
}

/// Checks keys (403 when unsupported) and values (400), and returns the canonical spelling.
fn normalize_params(params: &[(String, String)]) -> Result<JobGroupParams, ApiError> {
    let mut normalized = JobGroupParams::new();
    for (key, value) in params {
        let parsed: ParamKey = key
            .parse()
            .map_err(|_| ApiError::unsupported_param_key(key))?;
        let canonical = normalize_param_value(parsed, value).map_err(|_| {
            ApiError::invalid_parameter(format!(
                "The value \"{value}\" is not valid for JobGroupParams key \"{key}\": use one of {}.",
                parsed.allowed_values().join(", ")
            ))
        })?;
        if normalized
            .insert(parsed.as_str().to_owned(), canonical.to_owned())
            .is_some()
        {
            return Err(ApiError::invalid_parameter(format!(
                "The JobGroupParams key \"{key}\" is given more than once."
            )));
        }
    }
    Ok(normalized)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const CREATED: OffsetDateTime = datetime!(2018-10-10 10:00:00 UTC);

    fn scope() -> Scope {
        Scope {
            region_id: "cn-shanghai".into(),
            instance_id: "cityvisual-Instance".into(),
        }
    }

    fn store() -> Store {
        Store::with_built_ins()
    }

    fn new_group(name: &str) -> NewJobGroup {
        NewJobGroup {
            scope: scope(),
            name: name.into(),
            status: Status::Stopped,
            algo_lib_id: "3".into(),
            resource_profile_id: "6".into(),
            planed_job_count: 10,
            stream_per_job: 5,
            job_count: None,
            params: vec![("ES_ENABLE".into(), "true".into())],
            created_at: CREATED,
        }
    }

    #[test]
    fn ids_increase_and_params_are_canonical() {
        let mut store = store();
        assert_eq!(store.create(new_group("first")), Ok(1));
        assert_eq!(store.create(new_group("second")), Ok(2));
        store.delete(&scope(), "2").unwrap();
        assert_eq!(store.create(new_group("third")), Ok(3));
        let group = store.job_groups().next().unwrap();
        assert_eq!(group.params.get("ES_ENABLE").unwrap(), "True");
        assert_eq!(group.status, Status::Stopped);
    }

    #[test]
    fn create_checks_in_documented_order() {
        let mut store = store();
        store.create(new_group("taken")).unwrap();
        let cases: Vec<(NewJobGroup, &str)> = vec![
            (
                NewJobGroup {
                    params: vec![("NOPE".into(), "True".into())],
                    ..new_group("1bad")
                },
                "InvalidParameter.KeyNotSupported",
            ),
            (new_group("1bad"), "InvalidName.Malformed"),
            (
                NewJobGroup {
                    scope: Scope {
                        instance_id: "other".into(),
                        ..scope()
                    },
                    ..new_group("ok-name")
                },
                "InvalidInstanceId.NotFound",
            ),
            (
                NewJobGroup {
                    algo_lib_id: "9".into(),
                    ..new_group("ok-name")
                },
                "InvalidAlgoLibId.NotFound",
            ),
            (
                NewJobGroup {
                    resource_profile_id: "9".into(),
                    ..new_group("ok-name")
                },
                "InvalidResourceProfileId.NotFound",
            ),
            (new_group("taken"), "InvalidName.Duplicate"),
            (
                NewJobGroup {
                    params: vec![("ES_ENABLE".into(), "Oldest".into())],
                    ..new_group("ok-name")
                },
                "InvalidParameter",
            ),
            (
                NewJobGroup {
                    params: vec![
                        ("ES_ENABLE".into(), "True".into()),
                        ("ES_ENABLE".into(), "False".into()),
                    ],
                    ..new_group("ok-name")
                },
                "InvalidParameter",
            ),
        ];
        for (new, code) in cases {
            assert_eq!(store.create(new).unwrap_err().code, code);
        }
        assert_eq!(store.job_groups().count(), 1);
    }

    #[test]
    fn same_name_is_fine_in_another_region() {
        let mut store = store();
        store.create(new_group("shared")).unwrap();
        let elsewhere = NewJobGroup {
            scope: Scope {
                region_id: "cn-beijing".into(),
                ..scope()
            },
            ..new_group("shared")
        };
        assert_eq!(store.create(elsewhere), Ok(2));
        assert_eq!(
            store.delete(&scope(), "2").unwrap_err().code,
            "InvalidJobGroupId.NotFound"
        );
    }

    #[test]
    fn modify_renames_with_a_duplicate_check_and_replaces_params() {
        let mut store = store();
        store.create(new_group("one")).unwrap();
        store.create(new_group("two")).unwrap();
        let rename = |name: &str| JobGroupChanges {
            name: Some(name.into()),
            ..JobGroupChanges::default()
        };
        assert_eq!(
            store
                .modify(&scope(), "2", rename("one"), CREATED)
                .unwrap_err()
                .code,
            "InvalidName.Duplicate"
        );
        store.modify(&scope(), "2", rename("two"), CREATED).unwrap();
        store
            .modify(
                &scope(),
                "2",
                JobGroupChanges {
                    params: Some(vec![("RDS_ENABLE".into(), "FALSE".into())]),
                    planed_job_count: Some(3),
                    ..rename("renamed")
                },
                CREATED,
            )
            .unwrap();
        let page = store.page(&scope(), Some("2"), 1, 10);
        let group = &page.job_groups[0];
        assert_eq!(group.name, "renamed");
        assert_eq!(group.planed_job_count, 3);
        assert_eq!(
            group.params,
            JobGroupParams::from_iter([("RDS_ENABLE".to_owned(), "False".to_owned())])
        );
    }

    #[test]
    fn a_failed_modify_changes_nothing() {
        let mut store = store();
        store.create(new_group("one")).unwrap();
        let before: Vec<JobGroup> = store.job_groups().cloned().collect();
        let error = store
            .modify(
                &scope(),
                "1",
                JobGroupChanges {
                    name: Some("new-name".into()),
                    algo_lib_id: Some("404".into()),
                    ..JobGroupChanges::default()
                },
                CREATED,
            )
            .unwrap_err();
        assert_eq!(error.code, "InvalidAlgoLibId.NotFound");
        let after: Vec<JobGroup> = store.job_groups().cloned().collect();
        assert_eq!(before, after);
    }

    #[test]
    fn pages_in_id_order_with_a_total() {
        let mut store = store();
        for index in 0..25 {
            store.create(new_group(&format!("group-{index}"))).unwrap();
        }
        let ids =
            |page: &Page| -> Vec<u64> { page.job_groups.iter().map(|g| g.job_group_id).collect() };
        let third = store.page(&scope(), None, 3, 10);
        assert_eq!((third.total_count, ids(&third)), (25, (21..=25).collect()));
        let past = store.page(&scope(), None, 4, 10);
        assert_eq!((past.total_count, past.job_groups.len()), (25, 0));
        let one = store.page(&scope(), Some("7"), 1, 10);
        assert_eq!((one.total_count, ids(&one)), (1, vec![7]));
        let none = store.page(&scope(), Some("x"), 1, 10);
        assert_eq!(none.total_count, 0);
    }

    #[test]
    fn a_status_change_shows_its_transition_until_it_settles() {
        let mut store = store();
        store.create(new_group("one")).unwrap();
        let phase = |store: &Store, now| store.job_groups().next().unwrap().phase(now);
        assert_eq!(phase(&store, CREATED), Phase::Stopped);
        let settles = datetime!(2018-10-10 10:00:02 UTC);
        store
            .set_status(&scope(), "1", Status::Running, settles)
            .unwrap();
        assert_eq!(
            phase(&store, datetime!(2018-10-10 10:00:01 UTC)),
            Phase::Starting
        );
        assert_eq!(phase(&store, settles), Phase::Running);
        // Starting again while starting changes nothing: the transition keeps its end.
        store
            .set_status(
                &scope(),
                "1",
                Status::Running,
                datetime!(2018-10-10 10:00:09 UTC),
            )
            .unwrap();
        assert_eq!(phase(&store, settles), Phase::Running);
    }

    #[test]
    fn stopping_while_starting_turns_the_group_around() {
        let mut store = store();
        store.create(new_group("one")).unwrap();
        store
            .set_status(
                &scope(),
                "1",
                Status::Running,
                datetime!(2018-10-10 10:00:02 UTC),
            )
            .unwrap();
        let turned = datetime!(2018-10-10 10:00:03 UTC);
        store
            .modify(
                &scope(),
                "1",
                JobGroupChanges {
                    status: Some(Status::Stopped),
                    ..JobGroupChanges::default()
                },
                turned,
            )
            .unwrap();
        let group = store.job_groups().next().unwrap();
        assert_eq!(
            group.phase(datetime!(2018-10-10 10:00:02 UTC)),
            Phase::Stopping
        );
        assert_eq!(group.phase(turned), Phase::Stopped);
    }

    #[test]
    fn a_running_group_has_job_count_compute_jobs_else_planed_job_count_at_most_a_hundred() {
        let mut store = store();
        store
            .create(NewJobGroup {
                job_count: Some(3),
                status: Status::Running,
                ..new_group("counted")
            })
            .unwrap();
        store
            .create(NewJobGroup {
                status: Status::Running,
                ..new_group("planned")
            })
            .unwrap();
        store
            .create(NewJobGroup {
                job_count: Some(1_000_000),
                status: Status::Running,
                ..new_group("huge")
            })
            .unwrap();
        store.create(new_group("stopped")).unwrap();
        let jobs: Vec<Vec<ComputeJob>> = store
            .job_groups()
            .map(|group| group.compute_jobs(CREATED))
            .collect();
        let ids = |jobs: &[ComputeJob]| jobs.iter().map(|job| job.id).collect::<Vec<_>>();
        assert_eq!(ids(&jobs[0]), [101, 102, 103]);
        assert!(jobs[0].iter().all(|job| job.started_at == CREATED));
        assert_eq!(ids(&jobs[1]), (201..=210).collect::<Vec<_>>());
        assert_eq!(ids(&jobs[2]), (301..=400).collect::<Vec<_>>());
        assert!(jobs[3].is_empty());
    }
}
