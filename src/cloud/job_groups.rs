//! The job-group actions' parameters and answers, without any I/O.
//!
//! Requests are turned into ordered parameter lists exactly as the SDK models name them
//! (`JobGroupParams.N.Key` / `.Value` numbered from 1 in the spec's params order). Answers are
//! parsed leniently where the SDK models are (numbers may arrive as numbers or as strings,
//! absent lists are empty) and strictly where the caller depends on a field (`JobGroupId`).

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use super::error::text_field;
use crate::model::{JobGroupParams, JobGroupSpec, ParamKey, normalize_param_value, printable};

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

/// A job group's run state as `ModifyJobGroup` sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobGroupStatus {
    /// `Running`.
    Running,
    /// `Stopped`, the state of a new group.
    Stopped,
}

impl JobGroupStatus {
    /// The value as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            JobGroupStatus::Running => "Running",
            JobGroupStatus::Stopped => "Stopped",
        }
    }
}

impl fmt::Display for JobGroupStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a status is not one the API accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported job group status `{0}`: expected `Running` or `Stopped`")]
pub struct StatusParseError(pub String);

impl FromStr for JobGroupStatus {
    type Err = StatusParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "Running" => Ok(JobGroupStatus::Running),
            "Stopped" => Ok(JobGroupStatus::Stopped),
            other => Err(StatusParseError(other.to_owned())),
        }
    }
}

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
    pub status: Option<JobGroupStatus>,
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
    pub fn with_status(mut self, status: JobGroupStatus) -> Self {
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
}

/// The answer of an action that returns only a `RequestId` (modify, delete, start, stop).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledged {
    /// `RequestId` (empty when the answer had none).
    pub request_id: String,
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
    /// `JobGroupName`.
    pub name: String,
    /// `Status`, as the service spells it (`Running`, `Stopped`, or a value this client does
    /// not know).
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
pub fn parse_created(body: &[u8]) -> Result<CreatedJobGroup, AnswerProblem> {
    let document = parse_object(body)?;
    let request_id = request_id_of(&document);
    match text_field(&document, "JobGroupId").filter(|id| !id.is_empty()) {
        Some(job_group_id) if !is_plain(&job_group_id) => Err(AnswerProblem::Malformed {
            reason: CONTROL_IN_ID.to_owned(),
            request_id,
        }),
        Some(job_group_id) => Ok(CreatedJobGroup {
            job_group_id,
            request_id: request_id.unwrap_or_default(),
        }),
        None => Err(AnswerProblem::MissingField {
            field: "JobGroupId",
            request_id,
        }),
    }
}

/// Parses the answer of an action that returns only a `RequestId`.
pub fn parse_acknowledged(body: &[u8]) -> Result<Acknowledged, AnswerProblem> {
    let document = parse_object(body)?;
    Ok(Acknowledged {
        request_id: request_id_of(&document).unwrap_or_default(),
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

/// Parses `DescribeJobGroups`' answer.
pub fn parse_page(body: &[u8]) -> Result<JobGroupPage, AnswerProblem> {
    let document = parse_object(body)?;
    let request_id = request_id_of(&document);
    let malformed = |reason: String| AnswerProblem::Malformed {
        reason,
        request_id: request_id.clone(),
    };
    let groups = nested_list(&document, "JobGroups", "JobGroup").map_err(&malformed)?;
    let job_groups = groups
        .iter()
        .enumerate()
        .map(|(index, group)| {
            parse_group(group)
                .map_err(|reason| malformed(format!("`JobGroups.JobGroup[{index}]`: {reason}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(JobGroupPage {
        total_count: number_field(&document, "TotalCount")
            .map_err(&malformed)?
            .unwrap_or(job_groups.len() as u64),
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
    for (index, param) in nested_list(group, "JobGroupParams", "JobGroupParam")?
        .iter()
        .enumerate()
    {
        let key = text_field(param, "Key")
            .ok_or_else(|| format!("`JobGroupParams.JobGroupParam[{index}].Key` is missing"))?;
        let value = text_field(param, "Value").unwrap_or_default();
        params.insert(key, value);
    }
    let job_group_id = required_text("JobGroupId")?;
    if !is_plain(&job_group_id) {
        return Err(CONTROL_IN_ID.to_owned());
    }
    Ok(ObservedJobGroup {
        job_group_id,
        name: required_text("JobGroupName")?,
        status: text_field(group, "Status").unwrap_or_default(),
        algo_lib_id: required_text("AlgoLibId")?,
        resource_profile_id: required_text("ResourceProfileId")?,
        planed_job_count: required_number("PlanedJobCount")?,
        stream_per_job: required_number("StreamPerJob")?,
        job_count: small_number_field(group, "JobCount")?,
        params,
    })
}

fn parse_object(body: &[u8]) -> Result<Value, AnswerProblem> {
    match serde_json::from_slice::<Value>(body) {
        Ok(document) if document.is_object() => Ok(document),
        Ok(_) => Err(AnswerProblem::Malformed {
            reason: "the body is not a JSON object".to_owned(),
            request_id: None,
        }),
        Err(error) => Err(AnswerProblem::Malformed {
            reason: format!("the body is not JSON ({error})"),
            request_id: None,
        }),
    }
}

/// `{"Outer": {"Inner": [...]}}` → the list; an absent or null level is an empty list, and a
/// bare list in place of the wrapper object is accepted too.
fn nested_list<'a>(document: &'a Value, outer: &str, inner: &str) -> Result<&'a [Value], String> {
    let wrapper = match document.get(outer) {
        None | Some(Value::Null) => return Ok(&[]),
        Some(Value::Array(items)) => return Ok(items),
        Some(wrapper @ Value::Object(_)) => wrapper,
        Some(_) => return Err(format!("`{outer}` is neither an object nor a list")),
    };
    match wrapper.get(inner) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        // XML-to-JSON gateways turn a one-element list into the element itself.
        Some(item @ Value::Object(_)) => Ok(std::slice::from_ref(item)),
        Some(_) => Err(format!("`{outer}.{inner}` is not a list")),
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
            .with_status(JobGroupStatus::Running);
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
        for status in [JobGroupStatus::Running, JobGroupStatus::Stopped] {
            assert_eq!(status.as_str().parse::<JobGroupStatus>(), Ok(status));
        }
        assert!("running".parse::<JobGroupStatus>().is_err());
    }

    #[test]
    fn parses_a_create_answer_and_refuses_one_without_an_id() {
        assert_eq!(
            parse_created(br#"{"JobGroupId":"4","RequestId":"E175"}"#),
            Ok(CreatedJobGroup {
                job_group_id: "4".into(),
                request_id: "E175".into()
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
            parse_created(b"<CreateJobGroupResponse/>"),
            Err(AnswerProblem::Malformed { .. })
        ));
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
                request_id: "R-9".into()
            })
        );
        assert!(parse_acknowledged(b"ok").is_err());
    }
}
