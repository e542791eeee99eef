//! The six job-group actions: read an action's parameters, apply it to the [`Store`], and
//! shape the answer in the emulator's [`Dialect`].

use std::time::Duration;

use time::OffsetDateTime;

use super::api_error::ApiError;
use super::config::DEFAULT_REGION_ID;
use super::dialect::Dialect;
use super::document::Value;
use super::parameters::Parameters;
use super::store::{JobGroupChanges, NewJobGroup, Scope, Status, Store, parse_status};

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
pub(crate) struct Answered {
    /// Members of the answer.
    pub members: Vec<(&'static str, Value)>,
    /// Whether a group was created (the moment a dropped answer is injected).
    pub created: bool,
}

impl Answered {
    fn members(members: Vec<(&'static str, Value)>) -> Self {
        Self {
            members,
            created: false,
        }
    }
}

/// What an action needs beyond its parameters and the store.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context {
    /// How `DescribeJobGroups` answers.
    pub dialect: Dialect,
    /// How long a start or stop shows `starting` or `stopping`.
    pub transition: Duration,
    /// The moment the request is served.
    pub now: OffsetDateTime,
}

impl Context {
    /// When a status change made now settles.
    fn settles_at(&self) -> OffsetDateTime {
        let transition = time::Duration::try_from(self.transition).unwrap_or(time::Duration::MAX);
        self.now.saturating_add(transition)
    }
}

/// Runs `action` against `store`.
pub(crate) fn perform(
    action: Action,
    parameters: &Parameters,
    store: &mut Store,
    context: Context,
) -> Result<Answered, ApiError> {
    let scope = scope(parameters)?;
    match action {
        Action::Create => create(parameters, scope, store, context.now),
        Action::Describe => describe(parameters, &scope, store, context),
        Action::Modify => modify(parameters, &scope, store, context),
        Action::Delete => {
            let job_group_id = parameters.required("JobGroupId")?;
            store.check_instance(&scope.instance_id)?;
            store.delete(&scope, job_group_id)?;
            Ok(Answered::members(Vec::new()))
        }
        Action::Start | Action::Stop => {
            let job_group_id = parameters.required("JobGroupId")?;
            store.check_instance(&scope.instance_id)?;
            let status = if action == Action::Start {
                Status::Running
            } else {
                Status::Stopped
            };
            store.set_status(&scope, job_group_id, status, context.settles_at())?;
            Ok(Answered::members(Vec::new()))
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

fn create(
    parameters: &Parameters,
    scope: Scope,
    store: &mut Store,
    now: OffsetDateTime,
) -> Result<Answered, ApiError> {
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
        created_at: now,
    })?;
    Ok(Answered {
        members: vec![("JobGroupId", Value::text(job_group_id.to_string()))],
        created: true,
    })
}

fn describe(
    parameters: &Parameters,
    scope: &Scope,
    store: &Store,
    context: Context,
) -> Result<Answered, ApiError> {
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
    Ok(Answered::members(context.dialect.describe_answer(
        &page,
        page_number,
        page_size,
        context.now,
    )?))
}

fn modify(
    parameters: &Parameters,
    scope: &Scope,
    store: &mut Store,
    context: Context,
) -> Result<Answered, ApiError> {
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
    store.modify(scope, job_group_id, changes, context.settles_at())?;
    Ok(Answered::members(Vec::new()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn store() -> Store {
        Store::with_built_ins()
    }

    fn run(store: &mut Store, action: Action, query: &str) -> Result<Answered, ApiError> {
        let mut parameters = Parameters::default();
        parameters.append_encoded(query).unwrap();
        perform(action, &parameters, store, context(Duration::ZERO))
    }

    fn context(transition: Duration) -> Context {
        Context {
            dialect: Dialect::Sdk,
            transition,
            now: OffsetDateTime::UNIX_EPOCH,
        }
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

    #[test]
    fn start_and_stop_show_their_transition_for_the_configured_time() {
        let mut store = store();
        run(&mut store, Action::Create, CREATE).unwrap();
        let at = |milliseconds: i64| Context {
            now: OffsetDateTime::UNIX_EPOCH + time::Duration::milliseconds(milliseconds),
            ..context(Duration::from_millis(200))
        };
        let perform_at = |store: &mut Store, action, query: &str, milliseconds| {
            let mut parameters = Parameters::default();
            parameters.append_encoded(query).unwrap();
            perform(action, &parameters, store, at(milliseconds)).unwrap()
        };
        let status = |store: &mut Store, milliseconds| {
            let outcome = perform_at(
                store,
                Action::Describe,
                "InstanceId=cityvisual-Instance",
                milliseconds,
            );
            let Value::Object(members) = &outcome.members[3].1 else {
                panic!("{outcome:?}")
            };
            let Value::List(groups) = &members[0].1 else {
                panic!("{outcome:?}")
            };
            let Value::Object(group) = &groups[0] else {
                panic!("{outcome:?}")
            };
            group[2].1.clone()
        };
        let on_group = "InstanceId=cityvisual-Instance&JobGroupId=1";
        perform_at(&mut store, Action::Start, on_group, 1000);
        assert_eq!(status(&mut store, 1199), Value::text("Starting"));
        assert_eq!(status(&mut store, 1200), Value::text("Running"));
        perform_at(
            &mut store,
            Action::Modify,
            &format!("{on_group}&Status=Stopped"),
            2000,
        );
        assert_eq!(status(&mut store, 2100), Value::text("Stopping"));
        perform_at(&mut store, Action::Stop, on_group, 2100);
        assert_eq!(status(&mut store, 2200), Value::text("Stopped"));
    }
}
