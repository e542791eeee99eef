//! The two ways the emulator can shape a `DescribeJobGroups` answer: as the official SDK's
//! models expect it, or as the examples on the service's own reference page show it. A client
//! must accept both, because the service may answer either way (see
//! `docs/emulator.md`, "Dialects").
//!
//! Only `DescribeJobGroups` differs; every other answer is the same in both dialects.

use std::str::FromStr;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::api_error::ApiError;
use super::document::Value;
use super::store::{ComputeJob, JobGroup, Page, Phase};

/// How `DescribeJobGroups` answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Dialect {
    /// As the SDK models (`alibabacloud-cityvisual20181030`) read it: `JobGroupName`,
    /// capitalised statuses, typed numbers, `ComputeJobs.ComputeJob[]`.
    #[default]
    Sdk,
    /// As the reference pages' JSON and XML examples show it: `Name`, lower-case statuses,
    /// counts as strings (as the `DescribeStreams` page's example writes `"TotalCount":"1"`),
    /// `ComputeJobs` as a bare list of jobs with numeric ids and names.
    Reference,
}

/// A dialect name that is neither `sdk` nor `reference`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown dialect `{0}`: expected `sdk` or `reference`")]
pub struct UnknownDialect(pub String);

impl FromStr for Dialect {
    type Err = UnknownDialect;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "sdk" => Ok(Dialect::Sdk),
            "reference" => Ok(Dialect::Reference),
            _ => Err(UnknownDialect(name.to_owned())),
        }
    }
}

impl Dialect {
    /// Every dialect's name, as `--dialect` takes it.
    pub const NAMES: [&'static str; 2] = ["sdk", "reference"];

    /// How a status is spelled: `Starting` in the SDK dialect, `starting` in the reference's.
    pub fn status(self, phase: Phase) -> &'static str {
        match (self, phase) {
            (Dialect::Sdk, Phase::Starting) => "Starting",
            (Dialect::Sdk, Phase::Running) => "Running",
            (Dialect::Sdk, Phase::Stopping) => "Stopping",
            (Dialect::Sdk, Phase::Stopped) => "Stopped",
            (Dialect::Reference, Phase::Starting) => "starting",
            (Dialect::Reference, Phase::Running) => "running",
            (Dialect::Reference, Phase::Stopping) => "stopping",
            (Dialect::Reference, Phase::Stopped) => "stopped",
        }
    }

    /// A count: a number for the SDK, a string in the reference dialect. The reference pages
    /// differ among themselves (`DescribeJobGroups`' example writes `"PageNumber":1`,
    /// `DescribeStreams`' `"PageNumber":"1"`), and a client must read both; the SDK dialect
    /// sends numbers, so the reference dialect sends strings.
    fn count(self, count: impl Into<i64>) -> Value {
        let count = count.into();
        match self {
            Dialect::Sdk => Value::Integer(count),
            Dialect::Reference => Value::text(count.to_string()),
        }
    }

    /// The members of a `DescribeJobGroups` answer for `page`, as seen at `now`.
    pub(crate) fn describe_answer(
        self,
        page: &Page,
        page_number: u32,
        page_size: u32,
        now: OffsetDateTime,
    ) -> Result<Vec<(&'static str, Value)>, ApiError> {
        let groups = page
            .job_groups
            .iter()
            .map(|group| self.describe_group(group, now))
            .collect::<Result<Vec<_>, _>>()?;
        let total_count = self.count(i64::try_from(page.total_count).unwrap_or(i64::MAX));
        let job_groups = Value::Object(vec![("JobGroup", Value::List(groups))]);
        Ok(match self {
            Dialect::Sdk => vec![
                ("TotalCount", total_count),
                ("PageNumber", Value::Integer(page_number.into())),
                ("PageSize", Value::Integer(page_size.into())),
                ("JobGroups", job_groups),
            ],
            // The order of the page's XML example; its JSON example has no meaningful order.
            Dialect::Reference => vec![
                ("JobGroups", job_groups),
                ("PageNumber", self.count(page_number)),
                ("PageSize", self.count(page_size)),
                ("TotalCount", total_count),
            ],
        })
    }

    /// One group. `JobCount` is left out when it was never set.
    fn describe_group(self, group: &JobGroup, now: OffsetDateTime) -> Result<Value, ApiError> {
        let id = Value::text(group.job_group_id.to_string());
        let name = Value::text(&group.name);
        let status = Value::text(self.status(group.phase(now)));
        let algo_lib_id = Value::text(&group.algo_lib_id);
        let resource_profile_id = Value::text(&group.resource_profile_id);
        let planed_job_count = self.count(group.planed_job_count);
        let stream_per_job = self.count(group.stream_per_job);
        let job_count = group.job_count.map(|count| ("JobCount", self.count(count)));
        let params = Value::Object(vec![(
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
        )]);
        let jobs = group
            .compute_jobs(now)
            .iter()
            .map(|job| self.compute_job(job))
            .collect::<Result<Vec<_>, _>>()?;
        let members = match self {
            Dialect::Sdk => [
                Some(("JobGroupId", id)),
                Some(("JobGroupName", name)),
                Some(("Status", status)),
                Some(("AlgoLibId", algo_lib_id)),
                Some(("ResourceProfileId", resource_profile_id)),
                Some(("PlanedJobCount", planed_job_count)),
                Some(("StreamPerJob", stream_per_job)),
                job_count,
                Some(("JobGroupParams", params)),
                Some((
                    "ComputeJobs",
                    Value::Object(vec![("ComputeJob", Value::List(jobs))]),
                )),
            ],
            // In XML a list repeats its element, so each job is one `<ComputeJobs>` element
            // holding the job's fields, exactly as the page's XML example shows a single job.
            Dialect::Reference => [
                Some(("JobGroupId", id)),
                Some(("Name", name)),
                Some(("AlgoLibId", algo_lib_id)),
                Some(("ResourceProfileId", resource_profile_id)),
                Some(("PlanedJobCount", planed_job_count)),
                Some(("StreamPerJob", stream_per_job)),
                Some(("Status", status)),
                job_count,
                Some(("JobGroupParams", params)),
                Some(("ComputeJobs", Value::List(jobs))),
            ],
        };
        Ok(Value::Object(members.into_iter().flatten().collect()))
    }

    /// One compute job: ids and names are strings for the SDK, numbers as in the reference
    /// page's JSON example (`"ComputeJobId":101`).
    fn compute_job(self, job: &ComputeJob) -> Result<Value, ApiError> {
        let started = job
            .started_at
            .to_offset(time::UtcOffset::UTC)
            .replace_nanosecond(0)
            .ok()
            .and_then(|moment| moment.format(&Rfc3339).ok())
            .ok_or_else(|| ApiError::internal("a compute job's start time cannot be written"))?;
        let id = match self {
            Dialect::Sdk => Value::text(job.id.to_string()),
            Dialect::Reference => Value::Integer(i64::try_from(job.id).unwrap_or(i64::MAX)),
        };
        Ok(Value::Object(vec![
            ("ComputeJobId", id.clone()),
            ("ComputeJobName", id),
            ("ComputeJobStatus", Value::text("Running")),
            ("StartTime", Value::text(started)),
        ]))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::emulator::document::{Document, Format};
    use crate::emulator::store::{Scope, Status};
    use crate::model::JobGroupParams;

    fn group(status: Status, settles_at: OffsetDateTime) -> JobGroup {
        JobGroup {
            job_group_id: 1,
            scope: Scope {
                region_id: "cn-shanghai".into(),
                instance_id: "cityvisual-Instance".into(),
            },
            name: "视频任务".into(),
            status,
            algo_lib_id: "3".into(),
            resource_profile_id: "6".into(),
            planed_job_count: 10,
            stream_per_job: 20,
            job_count: Some(1),
            params: JobGroupParams::from_iter([("ES_ENABLE".to_owned(), "True".to_owned())]),
            settles_at,
        }
    }

    fn answer(dialect: Dialect, group: JobGroup, now: OffsetDateTime, format: Format) -> String {
        let page = Page {
            total_count: 1,
            job_groups: vec![group],
        };
        Document {
            root: "DescribeJobGroupsResponse".into(),
            members: dialect.describe_answer(&page, 1, 10, now).unwrap(),
        }
        .render(format)
    }

    const STARTED: OffsetDateTime = datetime!(2018-10-10 10:20:30.25 UTC);

    #[test]
    fn names_parse_exactly() {
        let parsed: Vec<Dialect> = Dialect::NAMES
            .iter()
            .map(|name| name.parse().unwrap())
            .collect();
        assert_eq!(parsed, [Dialect::Sdk, Dialect::Reference]);
        assert_eq!(
            "Reference".parse::<Dialect>(),
            Err(UnknownDialect("Reference".into()))
        );
    }

    #[test]
    fn reference_json_has_name_lower_case_status_and_a_bare_list_of_jobs() {
        let json = answer(
            Dialect::Reference,
            group(Status::Running, STARTED),
            datetime!(2018-10-10 10:30:30 UTC),
            Format::Json,
        );
        assert_eq!(
            json,
            r#"{"JobGroups":{"JobGroup":[{"JobGroupId":"1","Name":"视频任务","AlgoLibId":"3","ResourceProfileId":"6","PlanedJobCount":"10","StreamPerJob":"20","Status":"running","JobCount":"1","JobGroupParams":{"JobGroupParam":[{"Key":"ES_ENABLE","Value":"True"}]},"ComputeJobs":[{"ComputeJobId":101,"ComputeJobName":101,"ComputeJobStatus":"Running","StartTime":"2018-10-10T10:20:30Z"}]}]},"PageNumber":"1","PageSize":"10","TotalCount":"1"}"#
        );
    }

    #[test]
    fn reference_xml_puts_each_job_in_its_own_compute_jobs_element() {
        let xml = answer(
            Dialect::Reference,
            group(Status::Running, STARTED),
            datetime!(2018-10-10 10:30:30 UTC),
            Format::Xml,
        );
        assert!(
            xml.contains(
                "<Status>running</Status><JobCount>1</JobCount><JobGroupParams><JobGroupParam>\
                 <Key>ES_ENABLE</Key><Value>True</Value></JobGroupParam></JobGroupParams>\
                 <ComputeJobs><ComputeJobId>101</ComputeJobId><ComputeJobName>101</ComputeJobName>\
                 <ComputeJobStatus>Running</ComputeJobStatus><StartTime>2018-10-10T10:20:30Z</StartTime>\
                 </ComputeJobs></JobGroup></JobGroups><PageNumber>1</PageNumber>"
            ),
            "{xml}"
        );
    }

    #[test]
    fn the_sdk_dialect_keeps_its_shape_with_jobs_inside_compute_job() {
        let json = answer(
            Dialect::Sdk,
            group(Status::Running, STARTED),
            datetime!(2018-10-10 10:30:30 UTC),
            Format::Json,
        );
        assert_eq!(
            json,
            r#"{"TotalCount":1,"PageNumber":1,"PageSize":10,"JobGroups":{"JobGroup":[{"JobGroupId":"1","JobGroupName":"视频任务","Status":"Running","AlgoLibId":"3","ResourceProfileId":"6","PlanedJobCount":10,"StreamPerJob":20,"JobCount":1,"JobGroupParams":{"JobGroupParam":[{"Key":"ES_ENABLE","Value":"True"}]},"ComputeJobs":{"ComputeJob":[{"ComputeJobId":"101","ComputeJobName":"101","ComputeJobStatus":"Running","StartTime":"2018-10-10T10:20:30Z"}]}}]}}"#
        );
    }

    #[test]
    fn statuses_are_spelled_per_dialect_and_transitions_have_no_jobs() {
        let before = datetime!(2018-10-10 10:20:30 UTC);
        for (dialect, status, shown) in [
            (Dialect::Sdk, Status::Running, "\"Status\":\"Starting\""),
            (Dialect::Sdk, Status::Stopped, "\"Status\":\"Stopping\""),
            (
                Dialect::Reference,
                Status::Running,
                "\"Status\":\"starting\"",
            ),
            (
                Dialect::Reference,
                Status::Stopped,
                "\"Status\":\"stopping\"",
            ),
        ] {
            let json = answer(dialect, group(status, STARTED), before, Format::Json);
            assert!(json.contains(shown), "{json}");
            assert!(!json.contains("ComputeJobId"), "{json}");
        }
        let stopped = answer(
            Dialect::Reference,
            group(Status::Stopped, STARTED),
            datetime!(2018-10-10 10:30:30 UTC),
            Format::Xml,
        );
        assert!(stopped.contains("<Status>stopped</Status>"), "{stopped}");
        assert!(!stopped.contains("<ComputeJobs>"), "{stopped}");
    }
}
