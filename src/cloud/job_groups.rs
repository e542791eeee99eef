//! The job-group actions' parameters and answers, without any I/O.
//!
//! Requests are turned into ordered parameter lists exactly as the SDK models name them
//! (`JobGroupParams.N.Key` / `.Value` numbered from 1 in the spec's params order).
//!
//! Answers are read liberally, because the SDK models and the service's reference pages
//! disagree on their shape and the service may answer either way (see "What the reference pages
//! say" in the API notes):
//! - JSON or XML bodies alike ([`AnswerBody`]);
//! - a described group's name as `JobGroupName` (SDK model) or `Name` (reference examples);
//! - numbers as JSON numbers or as strings, ids as strings or as numbers;
//! - every list (`JobGroups`, `JobGroupParams`, `ComputeJobs`) wrapped
//!   (`{"JobGroup": [...]}`), bare (`[...]`), or as a single object where a list is expected;
//!   an absent or empty list is empty;
//! - `Status` kept as sent: interpreting it is the caller's business.
//!
//! They are read strictly where the caller depends on a field (`JobGroupId`), and a value of
//! the wrong shape is malformed, with its path in the reason.

use serde_json::Value;

use super::answer::AnswerBody;
use super::error::text_field;
use crate::model::{
    JobGroupParams, JobGroupSpec, ParamKey, Status, normalize_param_value, printable,
};

/// `CreateJobGroup`.
pub const CREATE_JOB_GROUP: &str = "CreateJobGroup";
/// `DescribeJobGroups`.
pub const DESCRIBE_JOB_GROUPS: &str = "DescribeJobGroups";
/// `ModifyJobGroup`.
pub const MODIFY_JOB_GROUP: &str = "ModifyJobGroup";
/// `DeleteJobGroup`.
pub const DELETE_JOB_GROUP: &str = "DeleteJobGroup";
/// `StartJobGroup`.
pub const START_JOB_GROUP: &str = "StartJobGroup";
/// `StopJobGroup`.
pub const STOP_JOB_GROUP: &str = "StopJobGroup";

/// The largest `PageSize` `DescribeJobGroups` accepts.
pub const MAX_PAGE_SIZE: u32 = 100;

/// One page of `DescribeJobGroups`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeJobGroupsRequest {
    /// `RegionId`.
    pub region_id: String,
    /// `InstanceId`.
    pub instance_id: String,
    /// `JobGroupId`, to describe one group only.
    pub job_group_id: Option<String>,
    /// `PageNumber`, from 1.
    pub page_number: u32,
    /// `PageSize`, at most [`MAX_PAGE_SIZE`].
    pub page_size: u32,
}

impl DescribeJobGroupsRequest {
    /// The first page of an instance, at the largest page size.
    pub fn first_page(region_id: impl Into<String>, instance_id: impl Into<String>) -> Self {
        Self {
            region_id: region_id.into(),
            instance_id: instance_id.into(),
            job_group_id: None,
            page_number: 1,
            page_size: MAX_PAGE_SIZE,
        }
    }

    /// The action's parameters.
    pub fn parameters(&self) -> Vec<(String, String)> {
        let mut parameters = vec![("InstanceId".to_owned(), self.instance_id.clone())];
        if let Some(id) = &self.job_group_id {
            parameters.push(("JobGroupId".to_owned(), id.clone()));
        }
        parameters.push(("PageNumber".to_owned(), self.page_number.to_string()));
        parameters.push(("PageSize".to_owned(), self.page_size.to_string()));
        parameters
    }
}

/// `ModifyJobGroup`: the fields that are `Some` are changed, the others left as they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModifyJobGroupRequest {
    /// `RegionId`.
    pub region_id: String,
    /// `InstanceId`.
    pub instance_id: String,
    /// `JobGroupId` of the group to change.
    pub job_group_id: String,
    /// A new `JobGroupName`.
    pub name: Option<String>,
    /// A new `AlgoLibId`.
    pub algo_lib_id: Option<String>,
    /// A new `ResourceProfileId`.
    pub resource_profile_id: Option<String>,
    /// A new `PlanedJobCount`.
    pub planed_job_count: Option<u32>,
    /// A new `StreamPerJob`.
    pub stream_per_job: Option<u32>,
    /// A new `JobCount`.
    pub job_count: Option<u32>,
    /// A new `Status`.
    pub status: Option<Status>,
    /// New `JobGroupParams`. An empty map sends nothing, as the SDK does: the API has no way
    /// to remove params.
    pub params: Option<JobGroupParams>,
}

impl ModifyJobGroupRequest {
    /// A request that changes nothing yet.
    pub fn new(
        region_id: impl Into<String>,
        instance_id: impl Into<String>,
        job_group_id: impl Into<String>,
    ) -> Self {
        Self {
            region_id: region_id.into(),
            instance_id: instance_id.into(),
            job_group_id: job_group_id.into(),
            name: None,
            algo_lib_id: None,
            resource_profile_id: None,
            planed_job_count: None,
            stream_per_job: None,
            job_count: None,
            status: None,
            params: None,
        }
    }

    /// The same request setting every field of `spec` (`JobCount` only when the spec has one).
    pub fn with_spec(mut self, spec: &JobGroupSpec) -> Self {
        self.algo_lib_id = Some(spec.algo_lib_id.clone());
        self.resource_profile_id = Some(spec.resource_profile_id.clone());
        self.planed_job_count = Some(spec.planed_job_count);
        self.stream_per_job = Some(spec.stream_per_job);
        self.job_count = spec.job_count;
        self.params = Some(spec.params.clone());
        self
    }

    /// The same request renaming the group.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The same request setting the status.
    pub fn with_status(mut self, status: Status) -> Self {
        self.status = Some(status);
        self
    }

    /// The action's parameters.
    pub fn parameters(&self) -> Vec<(String, String)> {
        let mut parameters = vec![
            ("InstanceId".to_owned(), self.instance_id.clone()),
            ("JobGroupId".to_owned(), self.job_group_id.clone()),
        ];
        let mut optional = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                parameters.push((name.to_owned(), value));
            }
        };
        optional("JobGroupName", self.name.clone());
        optional("AlgoLibId", self.algo_lib_id.clone());
        optional("ResourceProfileId", self.resource_profile_id.clone());
        optional(
            "PlanedJobCount",
            self.planed_job_count.map(|count| count.to_string()),
        );
        optional(
            "StreamPerJob",
            self.stream_per_job.map(|count| count.to_string()),
        );
        optional("JobCount", self.job_count.map(|count| count.to_string()));
        optional(
            "Status",
            self.status.map(|status| status.as_str().to_owned()),
        );
        if let Some(params) = &self.params {
            parameters.extend(job_group_params(params));
        }
        parameters
    }
}

/// `CreateJobGroup`'s parameters for a group named `name` in `instance_id`.
pub fn create_parameters(
    instance_id: &str,
    name: &str,
    spec: &JobGroupSpec,
) -> Vec<(String, String)> {
    let mut parameters = vec![
        ("InstanceId".to_owned(), instance_id.to_owned()),
        ("JobGroupName".to_owned(), name.to_owned()),
        ("AlgoLibId".to_owned(), spec.algo_lib_id.clone()),
        (
            "ResourceProfileId".to_owned(),
            spec.resource_profile_id.clone(),
        ),
        (
            "PlanedJobCount".to_owned(),
            spec.planed_job_count.to_string(),
        ),
        ("StreamPerJob".to_owned(), spec.stream_per_job.to_string()),
    ];
    if let Some(job_count) = spec.job_count {
        parameters.push(("JobCount".to_owned(), job_count.to_string()));
    }
    parameters.extend(job_group_params(&spec.params));
    parameters
}

/// The parameters of actions that name one group: `InstanceId`, `JobGroupId`.
pub fn group_parameters(instance_id: &str, job_group_id: &str) -> Vec<(String, String)> {
    vec![
        ("InstanceId".to_owned(), instance_id.to_owned()),
        ("JobGroupId".to_owned(), job_group_id.to_owned()),
    ]
}

/// `JobGroupParams.N.Key` / `.Value`, N from 1, in the map's order.
fn job_group_params(params: &JobGroupParams) -> Vec<(String, String)> {
    params
        .iter()
        .enumerate()
        .flat_map(|(index, (key, value))| {
            let number = index + 1;
            [
                (format!("JobGroupParams.{number}.Key"), key.clone()),
                (format!("JobGroupParams.{number}.Value"), value.clone()),
            ]
        })
        .collect()
}

/// `CreateJobGroup`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedJobGroup {
    /// `JobGroupId` of the new group.
    pub job_group_id: String,
    /// `RequestId` (empty when the answer had none).
    pub request_id: String,
    /// The attempts it took before this answer.
    pub retries: Retries,
}

/// The answer of an action that returns only a `RequestId` (modify, delete, start, stop).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledged {
    /// `RequestId` (empty when the answer had none).
    pub request_id: String,
    /// The attempts it took before this answer.
    pub retries: Retries,
}

/// The attempts a call made before the one that succeeded, so that a result can say it was
/// retried or throttled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retries {
    /// Attempts sent again after a failure (a throttled one included).
    pub retried: u32,
    /// Of those, the attempts the service refused as throttled.
    pub throttled: u32,
}

/// One page of `DescribeJobGroups`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobGroupPage {
    /// `TotalCount`: groups in the instance (or matching the filter), all pages together.
    pub total_count: u64,
    /// `PageNumber`.
    pub page_number: u32,
    /// `PageSize`.
    pub page_size: u32,
    /// `RequestId` (empty when the answer had none).
    pub request_id: String,
    /// `JobGroups.JobGroup[]`.
    pub job_groups: Vec<ObservedJobGroup>,
}

/// A job group as the service describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedJobGroup {
    /// `JobGroupId`.
    pub job_group_id: String,
    /// `JobGroupName`, or `Name` as the reference pages' examples call it.
    pub name: String,
    /// `Status`, exactly as the service sent it (`Running`, `running`, `starting`, or a value
    /// this client does not know).
    pub status: String,
    /// `AlgoLibId`.
    pub algo_lib_id: String,
    /// `ResourceProfileId`.
    pub resource_profile_id: String,
    /// `PlanedJobCount`.
    pub planed_job_count: u32,
    /// `StreamPerJob`.
    pub stream_per_job: u32,
    /// `JobCount`, when the service reports one.
    pub job_count: Option<u32>,
    /// `JobGroupParams.JobGroupParam[]`, by key, values as the service sent them.
    pub params: JobGroupParams,
    /// `ComputeJobs.ComputeJob[]`, in the order sent.
    pub compute_jobs: Vec<ObservedComputeJob>,
}

/// A compute job of a group, as the service describes it. Every field is as sent, and absent
/// when the answer has none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedComputeJob {
    /// `ComputeJobId` (a string or a number in answers).
    pub id: Option<String>,
    /// `ComputeJobName`.
    pub name: Option<String>,
    /// `ComputeJobStatus` (`Running`, `Stopped`).
    pub status: Option<String>,
    /// `StartTime`, e.g. `2018-10-10T10:20:30Z`.
    pub start_time: Option<String>,
    /// `EndTime`.
    pub end_time: Option<String>,
    /// `Duration`, how long the job has run (the unit is not documented).
    pub duration: Option<u64>,
}

impl ObservedJobGroup {
    /// The group as a spec, comparable with a desired one. Known params keys get their values'
    /// canonical spelling (`true` → `True`); anything else is kept as sent, so the planner
    /// shows it instead of hiding it.
    pub fn to_spec(&self) -> JobGroupSpec {
        let params = self
            .params
            .iter()
            .map(|(key, value)| {
                let canonical = key
                    .parse::<ParamKey>()
                    .ok()
                    .and_then(|parsed| normalize_param_value(parsed, value).ok());
                (
                    key.clone(),
                    canonical.map_or_else(|| value.clone(), str::to_owned),
                )
            })
            .collect();
        JobGroupSpec {
            algo_lib_id: self.algo_lib_id.clone(),
            resource_profile_id: self.resource_profile_id.clone(),
            planed_job_count: self.planed_job_count,
            stream_per_job: self.stream_per_job,
            job_count: self.job_count,
            params,
        }
    }
}

/// Why a success answer cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerProblem {
    /// The body is not what the action returns.
    Malformed {
        /// What is wrong.
        reason: String,
        /// `RequestId`, when the body had one.
        request_id: Option<String>,
    },
    /// The body lacks a field the caller cannot do without.
    MissingField {
        /// The field.
        field: &'static str,
        /// `RequestId`, when the body had one.
        request_id: Option<String>,
    },
}

/// Parses `CreateJobGroup`'s answer.
pub fn parse_created<'a>(
    body: impl Into<AnswerBody<'a>>,
) -> Result<CreatedJobGroup, AnswerProblem> {
    let document = parse_object(body.into())?;
    let request_id = request_id_of(&document);
    match text_field(&document, "JobGroupId").filter(|id| !id.is_empty()) {
        Some(job_group_id) if !is_plain(&job_group_id) => Err(AnswerProblem::Malformed {
            reason: CONTROL_IN_ID.to_owned(),
            request_id,
        }),
        Some(job_group_id) => Ok(CreatedJobGroup {
            job_group_id,
            request_id: request_id.unwrap_or_default(),
            retries: Retries::default(),
        }),
        None => Err(AnswerProblem::MissingField {
            field: "JobGroupId",
            request_id,
        }),
    }
}

/// Parses the answer of an action that returns only a `RequestId`.
pub fn parse_acknowledged<'a>(
    body: impl Into<AnswerBody<'a>>,
) -> Result<Acknowledged, AnswerProblem> {
    let document = parse_object(body.into())?;
    Ok(Acknowledged {
        request_id: request_id_of(&document).unwrap_or_default(),
        retries: Retries::default(),
    })
}

/// Why an id is refused: it is recorded in the state and shown to people as it is.
const CONTROL_IN_ID: &str = "`JobGroupId` holds a control character";

/// Whether `text` has no control (or bidirectional formatting) character.
fn is_plain(text: &str) -> bool {
    matches!(printable(text), std::borrow::Cow::Borrowed(_))
}

/// `RequestId`, with any control character escaped: it is only recorded and shown.
fn request_id_of(document: &Value) -> Option<String> {
    text_field(document, "RequestId").map(|id| printable(&id).into_owned())
}

/// The `RequestId` of any answer, success or error, when its body has one: for the logs.
pub fn request_id<'a>(body: impl Into<AnswerBody<'a>>) -> Option<String> {
    request_id_of(&body.into().document().ok()?)
}

/// Parses `DescribeJobGroups`' answer.
pub fn parse_page<'a>(body: impl Into<AnswerBody<'a>>) -> Result<JobGroupPage, AnswerProblem> {
    let document = parse_object(body.into())?;
    let request_id = request_id_of(&document);
    let malformed = |reason: String| AnswerProblem::Malformed {
        reason,
        request_id: request_id.clone(),
    };
    let groups = nested_list(&document, "JobGroups", "JobGroup").map_err(&malformed)?;
    let job_groups = groups
        .items
        .iter()
        .enumerate()
        .map(|(index, group)| {
            parse_group(group)
                .map_err(|reason| malformed(format!("`{}[{index}]`: {reason}", groups.path)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    // Without a total, nobody can tell whether the listing is complete: an answer of `{}`
    // would read as "no groups" and every recorded group as deleted outside cityform.
    let total_count = number_field(&document, "TotalCount")
        .map_err(&malformed)?
        .ok_or_else(|| {
            malformed(
                "`TotalCount` is missing, so the listing cannot be known to be complete".to_owned(),
            )
        })?;
    Ok(JobGroupPage {
        total_count,
        page_number: small_number_field(&document, "PageNumber")
            .map_err(&malformed)?
            .unwrap_or(0),
        page_size: small_number_field(&document, "PageSize")
            .map_err(&malformed)?
            .unwrap_or(0),
        request_id: request_id.clone().unwrap_or_default(),
        job_groups,
    })
}

fn parse_group(group: &Value) -> Result<ObservedJobGroup, String> {
    if !group.is_object() {
        return Err("is not an object".to_owned());
    }
    let required_text = |name: &str| {
        text_field(group, name)
            .filter(|text| !text.is_empty())
            .ok_or_else(|| format!("`{name}` is missing"))
    };
    let required_number =
        |name: &str| small_number_field(group, name)?.ok_or_else(|| format!("`{name}` is missing"));
    let mut params = JobGroupParams::new();
    let listed = nested_list(group, "JobGroupParams", "JobGroupParam")?;
    for (index, param) in listed.items.iter().enumerate() {
        let key = text_field(param, "Key")
            .ok_or_else(|| format!("`{}[{index}].Key` is missing", listed.path))?;
        let value = text_field(param, "Value").unwrap_or_default();
        params.insert(key, value);
    }
    let listed = nested_list(group, "ComputeJobs", "ComputeJob")?;
    let compute_jobs = listed
        .items
        .iter()
        .enumerate()
        .map(|(index, job)| parse_compute_job(job, &format!("{}[{index}]", listed.path)))
        .collect::<Result<Vec<_>, _>>()?;
    let job_group_id = required_text("JobGroupId")?;
    if !is_plain(&job_group_id) {
        return Err(CONTROL_IN_ID.to_owned());
    }
    let name = ["JobGroupName", "Name"]
        .into_iter()
        .find_map(|field| text_field(group, field).filter(|name| !name.is_empty()))
        .ok_or_else(|| "neither `JobGroupName` nor `Name` is present".to_owned())?;
    Ok(ObservedJobGroup {
        job_group_id,
        name,
        status: text_field(group, "Status").unwrap_or_default(),
        algo_lib_id: required_text("AlgoLibId")?,
        resource_profile_id: required_text("ResourceProfileId")?,
        planed_job_count: required_number("PlanedJobCount")?,
        stream_per_job: required_number("StreamPerJob")?,
        job_count: small_number_field(group, "JobCount")?,
        params,
        compute_jobs,
    })
}

/// One of `ComputeJobs`; `path` says where it is, for the reason of a malformed one.
fn parse_compute_job(job: &Value, path: &str) -> Result<ObservedComputeJob, String> {
    if !job.is_object() {
        return Err(format!("`{path}` is not an object"));
    }
    let text = |name: &str| match job.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => text_field(job, name)
            .map(Some)
            .ok_or_else(|| format!("`{path}.{name}` is not text")),
    };
    Ok(ObservedComputeJob {
        id: text("ComputeJobId")?,
        name: text("ComputeJobName")?,
        status: text("ComputeJobStatus")?,
        start_time: text("StartTime")?,
        end_time: text("EndTime")?,
        duration: number_field(job, "Duration").map_err(|reason| format!("`{path}`: {reason}"))?,
    })
}

fn parse_object(body: AnswerBody<'_>) -> Result<Value, AnswerProblem> {
    let malformed = |reason: String| AnswerProblem::Malformed {
        reason,
        request_id: None,
    };
    match body.document() {
        Ok(document) if document.is_object() => Ok(document),
        Ok(_) if body.is_xml() => Err(malformed(
            "the XML body's root element holds no elements".to_owned(),
        )),
        Ok(_) => Err(malformed("the body is not a JSON object".to_owned())),
        Err(error) => Err(malformed(error.to_string())),
    }
}

/// The items of a list in an answer, and its path for messages (`JobGroups.JobGroup` when
/// wrapped, `ComputeJobs` when bare).
struct Listed<'a> {
    items: &'a [Value],
    path: String,
}

/// The list `outer` of `document`, in any of the shapes answers use:
/// - wrapped, `{"Outer": {"Inner": [...]}}` (the SDK models);
/// - bare, `{"Outer": [...]}` (the reference pages' JSON examples);
/// - a single object where a list is expected, wrapped (`{"Outer": {"Inner": {...}}}`) or
///   bare (`{"Outer": {...}}` without `Inner`): that is how XML writes a one-element list;
/// - absent, null, `{}` or blank text (an empty XML element) is an empty list.
fn nested_list<'a>(document: &'a Value, outer: &str, inner: &str) -> Result<Listed<'a>, String> {
    let listed = |items, path: String| Ok(Listed { items, path });
    let wrapper = match document.get(outer) {
        None | Some(Value::Null) => return listed(&[], outer.to_owned()),
        Some(Value::String(text)) if text.trim().is_empty() => {
            return listed(&[], outer.to_owned());
        }
        Some(Value::Array(items)) => return listed(items, outer.to_owned()),
        Some(Value::Object(fields)) if fields.is_empty() => return listed(&[], outer.to_owned()),
        Some(wrapper @ Value::Object(_)) => wrapper,
        Some(_) => return Err(format!("`{outer}` is neither an object nor a list")),
    };
    let path = format!("{outer}.{inner}");
    match wrapper.get(inner) {
        // An object without the inner name is itself the one item of a bare list.
        None => listed(std::slice::from_ref(wrapper), outer.to_owned()),
        Some(Value::Null) => listed(&[], path),
        Some(Value::String(text)) if text.trim().is_empty() => listed(&[], path),
        Some(Value::Array(items)) => listed(items, path),
        Some(item @ Value::Object(_)) => listed(std::slice::from_ref(item), path),
        Some(_) => Err(format!("`{path}` is not a list")),
    }
}

/// A non-negative whole number sent as a number or as a string; absent or null is `None`.
fn number_field(document: &Value, name: &str) -> Result<Option<u64>, String> {
    let not_a_count = || format!("`{name}` is not a non-negative whole number");
    match document.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => number.as_u64().map(Some).ok_or_else(not_a_count),
        Some(Value::String(text)) if text.trim().is_empty() => Ok(None),
        Some(Value::String(text)) => text.trim().parse().map(Some).map_err(|_| not_a_count()),
        Some(_) => Err(not_a_count()),
    }
}

fn small_number_field(document: &Value, name: &str) -> Result<Option<u32>, String> {
    match number_field(document, name)? {
        None => Ok(None),
        Some(number) => u32::try_from(number)
            .map(Some)
            .map_err(|_| format!("`{name}` is too large: {number}")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn create_parameters_follow_the_sdk_model() {
        let spec = JobGroupSpec::example()
            .with_param("SCHEDULE_FLOW_START_TIME", "Latest")
            .with_param("ES_ENABLE", "True");
        assert_eq!(
            create_parameters("cityvisual-Instance", "traffic-east", &spec),
            pairs(&[
                ("InstanceId", "cityvisual-Instance"),
                ("JobGroupName", "traffic-east"),
                ("AlgoLibId", "3"),
                ("ResourceProfileId", "6"),
                ("PlanedJobCount", "10"),
                ("StreamPerJob", "5"),
                ("JobGroupParams.1.Key", "ES_ENABLE"),
                ("JobGroupParams.1.Value", "True"),
                ("JobGroupParams.2.Key", "SCHEDULE_FLOW_START_TIME"),
                ("JobGroupParams.2.Value", "Latest"),
            ])
        );
        let mut with_jobs = JobGroupSpec::example();
        with_jobs.job_count = Some(3);
        assert!(create_parameters("i", "n", &with_jobs).contains(&("JobCount".into(), "3".into())));
    }

    #[test]
    fn modify_sends_only_what_changes() {
        let request = ModifyJobGroupRequest::new("cn-shanghai", "inst", "42")
            .with_name("renamed")
            .with_status(Status::Running);
        assert_eq!(
            request.parameters(),
            pairs(&[
                ("InstanceId", "inst"),
                ("JobGroupId", "42"),
                ("JobGroupName", "renamed"),
                ("Status", "Running"),
            ])
        );
        let request = ModifyJobGroupRequest::new("cn-shanghai", "inst", "42").with_spec(
            &JobGroupSpec::example()
                .with_planed_jobs(12)
                .with_param("RDS_ENABLE", "False"),
        );
        assert_eq!(
            request.parameters(),
            pairs(&[
                ("InstanceId", "inst"),
                ("JobGroupId", "42"),
                ("AlgoLibId", "3"),
                ("ResourceProfileId", "6"),
                ("PlanedJobCount", "12"),
                ("StreamPerJob", "5"),
                ("JobGroupParams.1.Key", "RDS_ENABLE"),
                ("JobGroupParams.1.Value", "False"),
            ])
        );
    }

    #[test]
    fn describe_parameters_include_the_optional_filter() {
        let mut request = DescribeJobGroupsRequest::first_page("cn-shanghai", "inst");
        assert_eq!(
            request.parameters(),
            pairs(&[
                ("InstanceId", "inst"),
                ("PageNumber", "1"),
                ("PageSize", "100")
            ])
        );
        request.job_group_id = Some("7".into());
        request.page_number = 3;
        assert_eq!(
            request.parameters(),
            pairs(&[
                ("InstanceId", "inst"),
                ("JobGroupId", "7"),
                ("PageNumber", "3"),
                ("PageSize", "100")
            ])
        );
    }

    #[test]
    fn statuses_round_trip() {
        for status in [Status::Running, Status::Stopped] {
            assert_eq!(status.as_str().parse::<Status>(), Ok(status));
        }
        assert!("running".parse::<Status>().is_err());
    }

    #[test]
    fn parses_a_create_answer_and_refuses_one_without_an_id() {
        assert_eq!(
            parse_created(br#"{"JobGroupId":"4","RequestId":"E175"}"#),
            Ok(CreatedJobGroup {
                job_group_id: "4".into(),
                request_id: "E175".into(),
                retries: Retries::default(),
            })
        );
        assert_eq!(
            parse_created(br#"{"JobGroupId":445,"RequestId":"E175"}"#).map(|c| c.job_group_id),
            Ok("445".into())
        );
        for body in [
            &br#"{"RequestId":"E175"}"#[..],
            br#"{"JobGroupId":"","RequestId":"E175"}"#,
        ] {
            assert_eq!(
                parse_created(body),
                Err(AnswerProblem::MissingField {
                    field: "JobGroupId",
                    request_id: Some("E175".into())
                })
            );
        }
        assert!(matches!(
            parse_created(b"<CreateJobGroupResponse><JobGroupId>4"),
            Err(AnswerProblem::Malformed { .. })
        ));
        assert_eq!(
            parse_created(b"<CreateJobGroupResponse/>"),
            Err(AnswerProblem::MissingField {
                field: "JobGroupId",
                request_id: None
            })
        );
    }

    const PAGE: &str = r#"{
        "TotalCount": "2", "PageNumber": 1, "PageSize": "10", "RequestId": "R-1",
        "JobGroups": {"JobGroup": [
            {"JobGroupId": "4", "JobGroupName": "traffic-east", "Status": "Running",
             "AlgoLibId": "3", "ResourceProfileId": 6, "PlanedJobCount": "10",
             "StreamPerJob": 5, "JobCount": 3,
             "JobGroupParams": {"JobGroupParam": [
                {"Key": "ES_ENABLE", "Value": "true"},
                {"Key": "SCHEDULE_FLOW_START_TIME", "Value": "Oldest"}]},
             "ComputeJobs": {"ComputeJob": [{"ComputeJobId": "c1"}]}},
            {"JobGroupId": "5", "JobGroupName": "traffic-west", "Status": "Stopped",
             "AlgoLibId": "3", "ResourceProfileId": "6", "PlanedJobCount": 1,
             "StreamPerJob": 1, "JobCount": null, "JobGroupParams": {}}
        ]}
    }"#;

    #[test]
    fn parses_a_page_with_numbers_as_numbers_or_strings() {
        let page = parse_page(PAGE.as_bytes()).unwrap();
        assert_eq!(
            (
                page.total_count,
                page.page_number,
                page.page_size,
                page.request_id.as_str()
            ),
            (2, 1, 10, "R-1")
        );
        assert_eq!(page.job_groups.len(), 2);
        let east = &page.job_groups[0];
        assert_eq!(
            east,
            &ObservedJobGroup {
                job_group_id: "4".into(),
                name: "traffic-east".into(),
                status: "Running".into(),
                algo_lib_id: "3".into(),
                resource_profile_id: "6".into(),
                planed_job_count: 10,
                stream_per_job: 5,
                job_count: Some(3),
                params: [
                    ("ES_ENABLE".to_owned(), "true".to_owned()),
                    ("SCHEDULE_FLOW_START_TIME".to_owned(), "Oldest".to_owned())
                ]
                .into_iter()
                .collect(),
                compute_jobs: vec![ObservedComputeJob {
                    id: Some("c1".into()),
                    ..ObservedComputeJob::default()
                }],
            }
        );
        assert_eq!(page.job_groups[1].job_count, None);
        assert!(page.job_groups[1].params.is_empty());
    }

    #[test]
    fn an_empty_page_has_no_groups() {
        for body in [
            &br#"{"TotalCount":0,"PageNumber":3,"PageSize":10,"RequestId":"R"}"#[..],
            br#"{"TotalCount":0,"JobGroups":{},"RequestId":"R"}"#,
            br#"{"TotalCount":0,"JobGroups":{"JobGroup":[]},"RequestId":"R"}"#,
        ] {
            let page = parse_page(body).unwrap();
            assert!(page.job_groups.is_empty());
            assert_eq!(page.total_count, 0);
        }
    }

    #[test]
    fn a_broken_page_says_which_group_and_field() {
        let body = br#"{"RequestId":"R","TotalCount":1,"JobGroups":{"JobGroup":[
            {"JobGroupId":"4","JobGroupName":"n","AlgoLibId":"3","ResourceProfileId":"6",
             "PlanedJobCount":"ten","StreamPerJob":1}]}}"#;
        assert_eq!(
            parse_page(body),
            Err(AnswerProblem::Malformed {
                reason:
                    "`JobGroups.JobGroup[0]`: `PlanedJobCount` is not a non-negative whole number"
                        .into(),
                request_id: Some("R".into())
            })
        );
        let body = br#"{"JobGroups":{"JobGroup":[{"JobGroupName":"n"}]}}"#;
        assert!(matches!(
            parse_page(body),
            Err(AnswerProblem::Malformed { reason, .. }) if reason.contains("`JobGroupId` is missing")
        ));
        assert!(matches!(
            parse_page(br#"{"TotalCount":-1}"#),
            Err(AnswerProblem::Malformed { .. })
        ));
        assert!(matches!(
            parse_page(br#"{"PageSize":99999999999}"#),
            Err(AnswerProblem::Malformed { .. })
        ));
    }

    #[test]
    fn an_observed_group_becomes_a_canonical_spec() {
        let page = parse_page(PAGE.as_bytes()).unwrap();
        let spec = page.job_groups[0].to_spec();
        let mut expected = JobGroupSpec::example()
            .with_param("ES_ENABLE", "True")
            .with_param("SCHEDULE_FLOW_START_TIME", "Oldest");
        expected.job_count = Some(3);
        assert_eq!(spec, expected);

        let mut odd = page.job_groups[1].clone();
        odd.params.insert("NEW_KEY".into(), "x".into());
        odd.params.insert("RDS_ENABLE".into(), "maybe".into());
        let spec = odd.to_spec();
        assert_eq!(spec.params.get("NEW_KEY").unwrap(), "x");
        assert_eq!(spec.params.get("RDS_ENABLE").unwrap(), "maybe");
    }

    // The answer examples of the DescribeJobGroups reference page (`hglakfs/cityvisual`,
    // `cn.zh-CN/API参考/计算工作组/DescribeJobGroups.md`), as printed there.
    const REFERENCE_JSON_PAGE: &str = "{
\t\"PageNumber\":1,
\t\"TotalCount\":2,
\t\"JobGroups\":{
\t\t\"JobGroup\":[
\t\t\t{
\t\t\t\t\"Name\":\"视频任务\",
\t\t\t\t\"Status\":\"running\",
\t\t\t\t\"AlgoLibId\":\"xxxxx\",
\t\t\t\t\"ComputeJobs\":[
\t\t\t\t\t{
\t\t\t\t\t\t\"ComputeJobName\":101,
\t\t\t\t\t\t\"ComputeJobId\":101,
\t\t\t\t\t\t\"Duration\":600,
\t\t\t\t\t\t\"EndTime\":\"2018-10-10T10:30:30Z\",
\t\t\t\t\t\t\"StartTime\":\"2018-10-10T10:20:30Z\",
\t\t\t\t\t\t\"ComputeJobStatus\":\"Running\"
\t\t\t\t\t}
\t\t\t\t],
\t\t\t\t\"StreamPerJob\":20,
\t\t\t\t\"JobGroupParams\":{
\t\t\t\t\t\"JobGroupParam\":[
\t\t\t\t\t\t{
\t\t\t\t\t\t\t\"Value\":\"True\",
\t\t\t\t\t\t\t\"Key\":\"ES_ENABLE\"
\t\t\t\t\t\t},
\t\t\t\t\t\t{
\t\t\t\t\t\t\t\"Value\":\"True\",
\t\t\t\t\t\t\t\"Key\":\"RDS_ENABLE\"
\t\t\t\t\t\t}
\t\t\t\t\t]
\t\t\t\t},
\t\t\t\t\"JobGroupId\":\"xxxxx\",
\t\t\t\t\"JobCount\":1,
\t\t\t\t\"ResourceProfileId\":\"xxxxx\",
\t\t\t\t\"PlanedJobCount\":1
\t\t\t}
\t\t]
\t},
\t\"PageSize\":10,
\t\"RequestId\":\"04F0F334-1335-436C-A1D7-6C044FE73368\"
}";

    const REFERENCE_XML_PAGE: &str = "<DescribeJobGroupsResponse>
      <JobGroups>
            <JobGroup>
                  <JobGroupId>xxxx</JobGroupId>
                  <Name>视频任务</Name>
                  <AlgoLibId>xxxxx</AlgoLibId>
                  <ResourceProfileId>xxxxx</ResourceProfileId>
                  <PlanedJobCount>10</PlanedJobCount>
                  <StreamPerJob>20</StreamPerJob>
                  <Status>running</Status>
                  <JobCount>10</JobCount>
                  <JobGroupParams>\t\t
                        <JobGroupParam>
                              <Key>ES_ENABLE</Key>
                              <Value>True</Value>
                        </JobGroupParam>
                        <JobGroupParam>
                              <Key>RDS_ENABLE</Key>
                              <Value>True</Value>
                        </JobGroupParam>
                  </JobGroupParams>
                  <ComputeJobs>\t\t
                        <ComputeJobId>101</ComputeJobId>
                        <ComputeJobName>101</ComputeJobName>
                        <ComputeJobStatus>Running</ComputeJobStatus>
                        <StartTime>2018-10-10T10:20:20Z</StartTime>
                        <EndTime>2018-10-10T10:20:30Z</EndTime>
                        <Duration>600</Duration>
                  </ComputeJobs>
            </JobGroup>
      </JobGroups>
      <PageNumber>1</PageNumber>     
      <PageSize>10</PageSize>     
      <TotalCount>1</TotalCount>
      <RequestId>04F0F334-1335-436C-A1D7-6C044FE73368</RequestId>
</DescribeJobGroupsResponse>";

    fn params(pairs: &[(&str, &str)]) -> JobGroupParams {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    }

    fn compute_job(id: &str, start: &str, end: &str) -> ObservedComputeJob {
        ObservedComputeJob {
            id: Some(id.into()),
            name: Some(id.into()),
            status: Some("Running".into()),
            start_time: Some(start.into()),
            end_time: Some(end.into()),
            duration: Some(600),
        }
    }

    /// The reference page's JSON example calls the name `Name`, sends `ComputeJobs` as a bare
    /// list and `ComputeJobId` as a number; it was refused with "`JobGroupName` is missing".
    #[test]
    fn reads_the_reference_pages_json_example() {
        let page = parse_page(REFERENCE_JSON_PAGE.as_bytes()).unwrap();
        assert_eq!(
            (page.total_count, page.page_number, page.page_size),
            (2, 1, 10)
        );
        assert_eq!(page.request_id, "04F0F334-1335-436C-A1D7-6C044FE73368");
        assert_eq!(
            page.job_groups,
            vec![ObservedJobGroup {
                job_group_id: "xxxxx".into(),
                name: "视频任务".into(),
                status: "running".into(),
                algo_lib_id: "xxxxx".into(),
                resource_profile_id: "xxxxx".into(),
                planed_job_count: 1,
                stream_per_job: 20,
                job_count: Some(1),
                params: params(&[("ES_ENABLE", "True"), ("RDS_ENABLE", "True")]),
                compute_jobs: vec![compute_job(
                    "101",
                    "2018-10-10T10:20:30Z",
                    "2018-10-10T10:30:30Z"
                )],
            }]
        );
    }

    /// An answer of `{}` was read as "no groups": every recorded group would have been
    /// planned as deleted outside cityform.
    #[test]
    fn a_page_without_a_total_cannot_be_known_complete() {
        for body in [
            &b"{}"[..],
            br#"{"RequestId":"R-7","JobGroups":{"JobGroup":[]}}"#,
            b"<DescribeJobGroupsResponse><RequestId>R-7</RequestId></DescribeJobGroupsResponse>",
        ] {
            let problem = parse_page(body).unwrap_err();
            assert!(
                matches!(&problem, AnswerProblem::Malformed { reason, .. } if reason.contains("`TotalCount` is missing")),
                "{problem:?}"
            );
        }
        assert!(matches!(
            parse_page(br#"{"RequestId":"R-7"}"#),
            Err(AnswerProblem::Malformed { request_id: Some(id), .. }) if id == "R-7"
        ));
    }

    #[test]
    fn a_group_is_named_by_job_group_name_or_name_and_needs_one() {
        let group = |fields: &str| {
            format!(
                r#"{{"TotalCount":1,"JobGroups":[{{"JobGroupId":"4",{fields}"AlgoLibId":"3","ResourceProfileId":"6","PlanedJobCount":1,"StreamPerJob":1}}]}}"#
            )
        };
        let name_of = |fields: &str| {
            parse_page(group(fields).as_bytes()).map(|page| page.job_groups[0].name.clone())
        };
        assert_eq!(
            name_of(r#""JobGroupName":"sdk-name","#),
            Ok("sdk-name".into())
        );
        assert_eq!(name_of(r#""Name":"page-name","#), Ok("page-name".into()));
        assert_eq!(
            name_of(r#""JobGroupName":"sdk-name","Name":"page-name","#),
            Ok("sdk-name".into())
        );
        assert_eq!(
            name_of(r#""JobGroupName":"","Name":"page-name","#),
            Ok("page-name".into())
        );
        for fields in ["", r#""Name":"","#, r#""JobGroupName":null,"#] {
            assert_eq!(
                name_of(fields),
                Err(AnswerProblem::Malformed {
                    reason: "`JobGroups[0]`: neither `JobGroupName` nor `Name` is present".into(),
                    request_id: None
                }),
                "{fields}"
            );
        }
    }

    /// Every numeric field, and every id, as a string and as a number: the reference pages'
    /// examples send `"PageNumber":"1"` and `"ComputeJobId":101`.
    #[test]
    fn every_number_may_be_a_string_and_every_id_a_number() {
        let as_strings = r#"{"TotalCount":"1","PageNumber":"2","PageSize":"10","RequestId":"R",
            "JobGroups":{"JobGroup":[{"JobGroupId":"4","JobGroupName":"n","Status":"stopped",
             "AlgoLibId":"3","ResourceProfileId":"6","PlanedJobCount":"7","StreamPerJob":"5",
             "JobCount":"3","ComputeJobs":[{"ComputeJobId":"101","ComputeJobName":"j",
             "Duration":"600"}]}]}}"#;
        let as_numbers = r#"{"TotalCount":1,"PageNumber":2,"PageSize":10,"RequestId":"R",
            "JobGroups":{"JobGroup":[{"JobGroupId":4,"JobGroupName":"n","Status":"stopped",
             "AlgoLibId":3,"ResourceProfileId":6,"PlanedJobCount":7,"StreamPerJob":5,
             "JobCount":3,"ComputeJobs":[{"ComputeJobId":101,"ComputeJobName":"j",
             "Duration":600}]}]}}"#;
        let pages = [as_strings, as_numbers].map(|body| parse_page(body.as_bytes()).unwrap());
        assert_eq!(pages[0], pages[1]);
        let page = &pages[0];
        assert_eq!(
            (page.total_count, page.page_number, page.page_size),
            (1, 2, 10)
        );
        let group = &page.job_groups[0];
        assert_eq!(
            (
                group.job_group_id.as_str(),
                group.algo_lib_id.as_str(),
                group.resource_profile_id.as_str(),
                group.planed_job_count,
                group.stream_per_job,
                group.job_count
            ),
            ("4", "3", "6", 7, 5, Some(3))
        );
        assert_eq!(group.compute_jobs[0].id.as_deref(), Some("101"));
        assert_eq!(group.compute_jobs[0].duration, Some(600));
        assert_eq!(
            parse_created(br#"{"JobGroupId":445,"RequestId":7}"#),
            Ok(CreatedJobGroup {
                job_group_id: "445".into(),
                request_id: "7".into(),
                retries: Retries::default(),
            })
        );
        assert!(matches!(
            parse_page(br#"{"JobGroups":[{"JobGroupId":"4","Name":"n","AlgoLibId":"3","ResourceProfileId":"6","PlanedJobCount":1,"StreamPerJob":1,"ComputeJobs":[{"Duration":"long"}]}]}"#),
            Err(AnswerProblem::Malformed { reason, .. })
                if reason == "`JobGroups[0]`: `ComputeJobs[0]`: `Duration` is not a non-negative whole number"
        ));
    }

    /// Each list wrapped, bare, or as one object where a list is expected.
    #[test]
    fn every_list_may_be_wrapped_bare_or_a_single_object() {
        let group = |param_list: &str, jobs: &str| {
            format!(
                r#"{{"JobGroupId":"4","Name":"n","AlgoLibId":"3","ResourceProfileId":"6","PlanedJobCount":1,"StreamPerJob":1,"JobGroupParams":{param_list},"ComputeJobs":{jobs}}}"#
            )
        };
        let param = r#"{"Key":"ES_ENABLE","Value":"True"}"#;
        let job = r#"{"ComputeJobId":"101","ComputeJobStatus":"Running"}"#;
        let shapes = |item: &str, inner: &str| {
            [
                format!(r#"{{"{inner}":[{item}]}}"#),
                format!("[{item}]"),
                format!(r#"{{"{inner}":{item}}}"#),
                item.to_owned(),
            ]
        };
        let groups = |group: String| {
            [
                format!(r#"{{"TotalCount":1,"JobGroups":{{"JobGroup":[{group}]}}}}"#),
                format!(r#"{{"TotalCount":1,"JobGroups":[{group}]}}"#),
                format!(r#"{{"TotalCount":1,"JobGroups":{{"JobGroup":{group}}}}}"#),
                format!(r#"{{"TotalCount":1,"JobGroups":{group}}}"#),
            ]
        };
        for listed_params in shapes(param, "JobGroupParam") {
            for listed_jobs in shapes(job, "ComputeJob") {
                for body in groups(group(&listed_params, &listed_jobs)) {
                    let page = parse_page(body.as_bytes()).unwrap();
                    assert_eq!(page.job_groups.len(), 1, "{body}");
                    let group = &page.job_groups[0];
                    assert_eq!(group.params, params(&[("ES_ENABLE", "True")]), "{body}");
                    assert_eq!(
                        group.compute_jobs,
                        vec![ObservedComputeJob {
                            id: Some("101".into()),
                            status: Some("Running".into()),
                            ..ObservedComputeJob::default()
                        }],
                        "{body}"
                    );
                }
            }
        }
        for empty in [
            "null",
            "{}",
            "[]",
            r#""""#,
            r#"{"ComputeJob":[]}"#,
            r#"{"ComputeJob":null}"#,
        ] {
            let page = parse_page(
                format!(r#"{{"TotalCount":1,"JobGroups":[{}]}}"#, group("[]", empty)).as_bytes(),
            )
            .unwrap();
            assert!(page.job_groups[0].compute_jobs.is_empty(), "{empty}");
        }
    }

    #[test]
    fn a_compute_job_of_the_wrong_shape_is_malformed_with_its_path() {
        let with_jobs = |jobs: &str| {
            format!(
                r#"{{"RequestId":"R","TotalCount":1,"JobGroups":{{"JobGroup":[{{"JobGroupId":"4","Name":"n","AlgoLibId":"3","ResourceProfileId":"6","PlanedJobCount":1,"StreamPerJob":1,"ComputeJobs":{jobs}}}]}}}}"#
            )
        };
        for (jobs, reason) in [
            (
                r#"{"ComputeJob":[{"ComputeJobId":"1"},"x"]}"#,
                "`JobGroups.JobGroup[0]`: `ComputeJobs.ComputeJob[1]` is not an object",
            ),
            (
                r#"[{"ComputeJobName":{"a":1}}]"#,
                "`JobGroups.JobGroup[0]`: `ComputeJobs[0].ComputeJobName` is not text",
            ),
            (
                "7",
                "`JobGroups.JobGroup[0]`: `ComputeJobs` is neither an object nor a list",
            ),
            (
                r#"{"ComputeJob":"x"}"#,
                "`JobGroups.JobGroup[0]`: `ComputeJobs.ComputeJob` is not a list",
            ),
        ] {
            assert_eq!(
                parse_page(with_jobs(jobs).as_bytes()),
                Err(AnswerProblem::Malformed {
                    reason: reason.into(),
                    request_id: Some("R".into())
                }),
                "{jobs}"
            );
        }
    }

    /// The reference page's XML example: one group, its `ComputeJobs` a single job written
    /// without a `ComputeJob` element, every number as text.
    #[test]
    fn reads_the_reference_pages_xml_example() {
        let page = parse_page(REFERENCE_XML_PAGE.as_bytes()).unwrap();
        assert_eq!(
            (page.total_count, page.page_number, page.page_size),
            (1, 1, 10)
        );
        assert_eq!(page.request_id, "04F0F334-1335-436C-A1D7-6C044FE73368");
        assert_eq!(
            page.job_groups,
            vec![ObservedJobGroup {
                job_group_id: "xxxx".into(),
                name: "视频任务".into(),
                status: "running".into(),
                algo_lib_id: "xxxxx".into(),
                resource_profile_id: "xxxxx".into(),
                planed_job_count: 10,
                stream_per_job: 20,
                job_count: Some(10),
                params: params(&[("ES_ENABLE", "True"), ("RDS_ENABLE", "True")]),
                compute_jobs: vec![compute_job(
                    "101",
                    "2018-10-10T10:20:20Z",
                    "2018-10-10T10:20:30Z"
                )],
            }]
        );
    }

    /// Several groups, as the service writes XML: repeated `JobGroup`, `JobGroupParam` and
    /// `ComputeJobs` elements; a group without params or jobs; a declaration, a byte order mark
    /// and escaped text.
    #[test]
    fn reads_an_xml_page_with_several_groups() {
        let body = "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>
<DescribeJobGroupsResponse>
  <RequestId>R-2</RequestId><TotalCount>2</TotalCount><PageNumber>1</PageNumber><PageSize>10</PageSize>
  <JobGroups>
    <JobGroup>
      <JobGroupId>4</JobGroupId><JobGroupName>traffic-east</JobGroupName><Status>Running</Status>
      <AlgoLibId>3</AlgoLibId><ResourceProfileId>6</ResourceProfileId>
      <PlanedJobCount>10</PlanedJobCount><StreamPerJob>5</StreamPerJob>
      <JobGroupParams><JobGroupParam><Key>ES_ENABLE</Key><Value>True</Value></JobGroupParam></JobGroupParams>
      <ComputeJobs><ComputeJobId>101</ComputeJobId><ComputeJobName>101</ComputeJobName><ComputeJobStatus>Running</ComputeJobStatus><StartTime>2018-10-10T10:20:20Z</StartTime><EndTime>2018-10-10T10:20:30Z</EndTime><Duration>600</Duration></ComputeJobs>
      <ComputeJobs><ComputeJobId>102</ComputeJobId><ComputeJobName>102</ComputeJobName><ComputeJobStatus>Running</ComputeJobStatus><StartTime>2018-10-10T10:20:20Z</StartTime><EndTime>2018-10-10T10:20:30Z</EndTime><Duration>600</Duration></ComputeJobs>
    </JobGroup>
    <JobGroup>
      <JobGroupId>5</JobGroupId><Name>east &amp; west</Name><Status>stopping</Status>
      <AlgoLibId>3</AlgoLibId><ResourceProfileId>6</ResourceProfileId>
      <PlanedJobCount>1</PlanedJobCount><StreamPerJob>1</StreamPerJob><JobCount></JobCount>
      <JobGroupParams/>
      <ComputeJobs>
      </ComputeJobs>
    </JobGroup>
  </JobGroups>
</DescribeJobGroupsResponse>";
        let page = parse_page(body.as_bytes()).unwrap();
        assert_eq!((page.total_count, page.request_id.as_str()), (2, "R-2"));
        let [east, west] = page.job_groups.as_slice() else {
            panic!("two groups expected: {page:?}");
        };
        assert_eq!(
            (east.name.as_str(), east.status.as_str(), east.job_count),
            ("traffic-east", "Running", None)
        );
        assert_eq!(east.params, params(&[("ES_ENABLE", "True")]));
        assert_eq!(
            east.compute_jobs,
            vec![
                compute_job("101", "2018-10-10T10:20:20Z", "2018-10-10T10:20:30Z"),
                compute_job("102", "2018-10-10T10:20:20Z", "2018-10-10T10:20:30Z"),
            ]
        );
        assert_eq!(
            (
                west.job_group_id.as_str(),
                west.name.as_str(),
                west.status.as_str()
            ),
            ("5", "east & west", "stopping")
        );
        assert!(west.params.is_empty() && west.compute_jobs.is_empty() && west.job_count.is_none());
    }

    /// The XML examples of the CreateJobGroup and ModifyJobGroup reference pages.
    #[test]
    fn reads_xml_create_and_acknowledgement_answers() {
        let created = "<CreateJobGroupResponse>
      <JobGroupId>4</JobGroupId>
      <RequestId>E175B041-75A2-4335-B3AC-0FD008F93627</RequestId>
</CreateJobGroupResponse>";
        assert_eq!(
            parse_created(created.as_bytes()),
            Ok(CreatedJobGroup {
                job_group_id: "4".into(),
                request_id: "E175B041-75A2-4335-B3AC-0FD008F93627".into(),
                retries: Retries::default(),
            })
        );
        let modified = "<ModifyJobGroupResponse>
      <RequestId>E175B041-75A2-4335-B3AC-0FD008F93627</RequestId>
</ModifyJobGroupResponse>";
        assert_eq!(
            parse_acknowledged(modified.as_bytes()),
            Ok(Acknowledged {
                request_id: "E175B041-75A2-4335-B3AC-0FD008F93627".into(),
                retries: Retries::default(),
            })
        );
        assert!(matches!(
            parse_acknowledged(b"<ModifyJobGroupResponse><RequestId>R</Wrong></ModifyJobGroupResponse>"),
            Err(AnswerProblem::Malformed { reason, .. }) if reason.starts_with("the body is not XML")
        ));
        assert_eq!(
            parse_created(AnswerBody::new(b"JobGroupId=4").with_content_type(Some("text/xml"))),
            Err(AnswerProblem::Malformed {
                reason: "the body is not XML (content outside the root element)".into(),
                request_id: None
            })
        );
    }

    proptest::proptest! {
        #[test]
        fn no_body_makes_a_parser_panic(body in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = parse_created(&body);
            let _ = parse_page(&body);
            let _ = parse_acknowledged(&body);
        }

        #[test]
        fn no_json_shape_makes_the_page_parser_panic(
            total in proptest::prelude::any::<i64>(),
            number in "[0-9a-z-]{0,12}",
            key in proptest::option::of("[A-Za-z_]{0,8}"),
        ) {
            let key = key.map_or("null".to_owned(), |key| format!("\"{key}\""));
            let body = format!(
                r#"{{"TotalCount":{total},"JobGroups":{{"JobGroup":[{{"JobGroupId":"{number}","JobGroupName":"{number}","AlgoLibId":{total},"ResourceProfileId":"{number}","PlanedJobCount":"{number}","StreamPerJob":{total},"JobGroupParams":{{"JobGroupParam":[{{"Key":{key},"Value":{total}}}]}}}}]}}}}"#
            );
            let _ = parse_page(body.as_bytes());
        }
    }

    /// An id with an escape sequence would have been recorded in the state and shown as it is.
    #[test]
    fn ids_with_control_characters_are_malformed_and_request_ids_are_escaped() {
        let created = br#"{"JobGroupId":"4\u001b[2K","RequestId":"R\r"}"#;
        assert_eq!(
            parse_created(created),
            Err(AnswerProblem::Malformed {
                reason: CONTROL_IN_ID.into(),
                request_id: Some("R\\r".into()),
            })
        );
        let page = br#"{"JobGroups":{"JobGroup":[{"JobGroupId":"1\u202e","JobGroupName":"n","AlgoLibId":"3","ResourceProfileId":"6","PlanedJobCount":1,"StreamPerJob":1}]}}"#;
        assert!(
            matches!(parse_page(page), Err(AnswerProblem::Malformed { reason, .. }) if reason.ends_with(CONTROL_IN_ID))
        );
        let acknowledged = parse_acknowledged(br#"{"RequestId":"R\u0007"}"#).unwrap();
        assert_eq!(acknowledged.request_id, "R\\u{7}");
    }

    #[test]
    fn acknowledgements_need_only_be_json_objects() {
        assert_eq!(
            parse_acknowledged(br#"{"RequestId":"R-9"}"#),
            Ok(Acknowledged {
                request_id: "R-9".into(),
                retries: Retries::default(),
            })
        );
        assert!(parse_acknowledged(b"ok").is_err());
    }
}
