//! The six job-group actions: read an action's parameters, apply it to the [`Store`], and
//! shape the answer as the official SDK's models expect it.

use super::api_error::ApiError;
use super::config::DEFAULT_REGION_ID;
use super::document::Value;
use super::parameters::Parameters;
use super::store::{JobGroup, JobGroupChanges, NewJobGroup, Scope, Status, Store, parse_status};

/// `PageSize` when a request has none.
pub(crate) const DEFAULT_PAGE_SIZE: u32 = 10;
/// The largest `PageSize`; more is `InvalidParameter`.
pub(crate) const MAX_PAGE_SIZE: u32 = 100;

/// An action the emulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// `CreateJobGroup`.
    Create,
    /// `DescribeJobGroups`.
    Describe,
    /// `ModifyJobGroup`.
    Modify,
    /// `DeleteJobGroup`.
    Delete,
    /// `StartJobGroup`.
    Start,
    /// `StopJobGroup`.
    Stop,
}

impl Action {
    const ALL: [Action; 6] = [
        Action::Create,
        Action::Describe,
        Action::Modify,
        Action::Delete,
        Action::Start,
        Action::Stop,
    ];

    /// The action named `name` (exact spelling), if the emulator serves it.
    pub fn from_name(name: &str) -> Option<Action> {
        Self::ALL.into_iter().find(|action| action.name() == name)
    }

    /// The `Action` parameter's value.
    pub fn name(self) -> &'static str {
        match self {
            Action::Create => "CreateJobGroup",
            Action::Describe => "DescribeJobGroups",
            Action::Modify => "ModifyJobGroup",
            Action::Delete => "DeleteJobGroup",
            Action::Start => "StartJobGroup",
            Action::Stop => "StopJobGroup",
        }
    }
}

/// What a successful action answers, before the `RequestId` is added.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// Members of the answer.
    pub members: Vec<(&'static str, Value)>,
    /// Whether a group was created (the moment a dropped answer is injected).
    pub created: bool,
}

impl Outcome {
    fn members(members: Vec<(&'static str, Value)>) -> Self {
        Self {
            members,
            created: false,
        }
    }
}

/// Runs `action` against `store`.
pub(crate) fn perform(
    action: Action,
    parameters: &Parameters,
    store: &mut Store,
) -> Result<Outcome, ApiError> {
    let scope = scope(parameters)?;
    match action {
        Action::Create => create(parameters, scope, store),
        Action::Describe => describe(parameters, &scope, store),
        Action::Modify => modify(parameters, &scope, store),
        Action::Delete => {
            let job_group_id = parameters.required("JobGroupId")?;
            store.check_instance(&scope.instance_id)?;
            store.delete(&scope, job_group_id)?;
            Ok(Outcome::members(Vec::new()))
        }
        Action::Start | Action::Stop => {
            let job_group_id = parameters.required("JobGroupId")?;
            store.check_instance(&scope.instance_id)?;
            let status = if action == Action::Start {
                Status::Running
            } else {
                Status::Stopped
            };
            store.set_status(&scope, job_group_id, status)?;
            Ok(Outcome::members(Vec::new()))
        }
    }
}

fn scope(parameters: &Parameters) -> Result<Scope, ApiError> {
    Ok(Scope {
        region_id: parameters
            .optional("RegionId")
            .unwrap_or(DEFAULT_REGION_ID)
            .to_owned(),
        instance_id: parameters.required("InstanceId")?.to_owned(),
    })
}

fn create(parameters: &Parameters, scope: Scope, store: &mut Store) -> Result<Outcome, ApiError> {
    let name = parameters.required("JobGroupName")?;
    let algo_lib_id = parameters.required("AlgoLibId")?;
    let resource_profile_id = parameters.required("ResourceProfileId")?;
    let planed_job_count = parameters.required_integer("PlanedJobCount")?;
    let stream_per_job = parameters.required_integer("StreamPerJob")?;
    let job_count = parameters.optional_integer("JobCount")?;
    let params = parameters.job_group_params()?;
    let job_group_id = store.create(NewJobGroup {
        scope,
        name: name.to_owned(),
        status: Status::Stopped,
        algo_lib_id: algo_lib_id.to_owned(),
        resource_profile_id: resource_profile_id.to_owned(),
        planed_job_count,
        stream_per_job,
        job_count,
        params,
    })?;
    Ok(Outcome {
        members: vec![("JobGroupId", Value::text(job_group_id.to_string()))],
        created: true,
    })
}

fn describe(parameters: &Parameters, scope: &Scope, store: &Store) -> Result<Outcome, ApiError> {
    let page_number = parameters.optional_integer("PageNumber")?.unwrap_or(1);
    if page_number < 1 {
        return Err(ApiError::invalid_parameter(
            "The parameter \"PageNumber\" must be 1 or more.",
        ));
    }
    let page_size = parameters
        .optional_integer("PageSize")?
        .unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
        return Err(ApiError::invalid_parameter(format!(
            "The parameter \"PageSize\" must be from 1 to {MAX_PAGE_SIZE}, not {page_size}."
        )));
    }
    store.check_instance(&scope.instance_id)?;
    let page = store.page(
        scope,
        parameters.optional("JobGroupId"),
        page_number as usize,
        page_size as usize,
    );
    Ok(Outcome::members(vec![
        ("TotalCount", integer(page.total_count)),
        ("PageNumber", Value::Integer(page_number.into())),
        ("PageSize", Value::Integer(page_size.into())),
        (
            "JobGroups",
            Value::Object(vec![(
                "JobGroup",
                Value::List(page.job_groups.iter().map(describe_group).collect()),
            )]),
        ),
    ]))
}

fn integer(count: usize) -> Value {
    Value::Integer(i64::try_from(count).unwrap_or(i64::MAX))
}

/// One group as `DescribeJobGroups` shows it. `JobCount` is left out when it was never set.
fn describe_group(group: &JobGroup) -> Value {
    let mut members = vec![
        ("JobGroupId", Value::text(group.job_group_id.to_string())),
        ("JobGroupName", Value::text(&group.name)),
        ("Status", Value::text(group.status.as_str())),
        ("AlgoLibId", Value::text(&group.algo_lib_id)),
        ("ResourceProfileId", Value::text(&group.resource_profile_id)),
        (
            "PlanedJobCount",
            Value::Integer(group.planed_job_count.into()),
        ),
        ("StreamPerJob", Value::Integer(group.stream_per_job.into())),
    ];
    if let Some(job_count) = group.job_count {
        members.push(("JobCount", Value::Integer(job_count.into())));
    }
    members.push((
        "JobGroupParams",
        Value::Object(vec![(
            "JobGroupParam",
            Value::List(
                group
                    .params
                    .iter()
                    .map(|(key, value)| {
                        Value::Object(vec![
                            ("Key", Value::text(key)),
                            ("Value", Value::text(value)),
                        ])
                    })
                    .collect(),
            ),
        )]),
    ));
    members.push((
        "ComputeJobs",
        Value::Object(vec![("ComputeJob", Value::List(Vec::new()))]),
    ));
    Value::Object(members)
}

fn modify(parameters: &Parameters, scope: &Scope, store: &mut Store) -> Result<Outcome, ApiError> {
    let job_group_id = parameters.required("JobGroupId")?;
    let params = parameters.job_group_params()?;
    let changes = JobGroupChanges {
        name: parameters.optional("JobGroupName").map(str::to_owned),
        status: parameters
            .optional("Status")
            .map(parse_status)
            .transpose()?,
        algo_lib_id: parameters.optional("AlgoLibId").map(str::to_owned),
        resource_profile_id: parameters.optional("ResourceProfileId").map(str::to_owned),
        planed_job_count: parameters.optional_integer("PlanedJobCount")?,
        stream_per_job: parameters.optional_integer("StreamPerJob")?,
        job_count: parameters.optional_integer("JobCount")?,
        params: (!params.is_empty()).then_some(params),
    };
    store.check_instance(&scope.instance_id)?;
    store.modify(scope, job_group_id, changes)?;
    Ok(Outcome::members(Vec::new()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn store() -> Store {
        Store::with_built_ins()
    }

    fn run(store: &mut Store, action: Action, query: &str) -> Result<Outcome, ApiError> {
        let mut parameters = Parameters::default();
        parameters.append_encoded(query).unwrap();
        perform(action, &parameters, store)
    }

    const CREATE: &str = "InstanceId=cityvisual-Instance&JobGroupName=east&AlgoLibId=3\
                          &ResourceProfileId=6&PlanedJobCount=10&StreamPerJob=5";

    #[test]
    fn action_names_round_trip() {
        for action in Action::ALL {
            assert_eq!(Action::from_name(action.name()), Some(action));
        }
        assert_eq!(Action::from_name("createjobgroup"), None);
    }

    #[test]
    fn every_required_create_parameter_is_named_when_missing() {
        for missing in [
            "InstanceId",
            "JobGroupName",
            "AlgoLibId",
            "ResourceProfileId",
            "PlanedJobCount",
            "StreamPerJob",
        ] {
            let query: Vec<&str> = CREATE
                .split('&')
                .filter(|pair| !pair.starts_with(&format!("{missing}=")))
                .collect();
            let error = run(&mut store(), Action::Create, &query.join("&")).unwrap_err();
            assert_eq!(
                (error.status.as_u16(), error.code),
                (403, "MissingParameter")
            );
            assert!(error.message.contains(missing), "{}", error.message);
        }
    }

    #[test]
    fn modify_refuses_other_statuses_and_keeps_the_group() {
        let mut store = store();
        run(&mut store, Action::Create, CREATE).unwrap();
        let error = run(
            &mut store,
            Action::Modify,
            "InstanceId=cityvisual-Instance&JobGroupId=1&Status=Paused&PlanedJobCount=1",
        )
        .unwrap_err();
        assert_eq!(
            (error.status.as_u16(), error.code),
            (400, "InvalidStatus.ValueNotSupported")
        );
        assert_eq!(store.job_groups().next().unwrap().planed_job_count, 10);
    }

    #[test]
    fn page_size_is_bounded() {
        let mut store = store();
        for query in ["PageSize=101", "PageSize=0", "PageNumber=0", "PageSize=x"] {
            let error = run(
                &mut store,
                Action::Describe,
                &format!("InstanceId=cityvisual-Instance&{query}"),
            )
            .unwrap_err();
            assert_eq!(error.code, "InvalidParameter", "{query}");
        }
        let outcome = run(
            &mut store,
            Action::Describe,
            "InstanceId=cityvisual-Instance&PageSize=100",
        )
        .unwrap();
        assert_eq!(outcome.members[2], ("PageSize", Value::Integer(100)));
    }

    #[test]
    fn unknown_instances_are_refused_by_every_action() {
        for action in Action::ALL {
            let error = run(
                &mut store(),
                action,
                &CREATE
                    .replace("cityvisual-Instance", "nowhere")
                    .replace("JobGroupName", "JobGroupId=1&JobGroupName"),
            )
            .unwrap_err();
            assert_eq!(error.code, "InvalidInstanceId.NotFound", "{action:?}");
        }
    }
}
