//! The emulator's job-group actions over HTTP: every action, every documented error code,
//! answer shapes in JSON and XML, GET and POST, pagination, regions, seed data, the state
//! dump and the handle's behind-the-back helpers; the reference dialect, start and stop
//! transitions, and compute jobs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::emulator_support;

use std::time::Duration;

use cityform::emulator::{Dialect, EmulatorConfig, Seed, SeedJobGroup, Status};
use emulator_support::{Call, Placement, create, emulator, emulator_with, http};
use serde_json::json;

fn without_request_id(mut value: serde_json::Value) -> serde_json::Value {
    let request_id = value["RequestId"].as_str().unwrap().to_owned();
    assert_eq!(request_id.len(), 36, "{request_id}");
    value.as_object_mut().unwrap().remove("RequestId");
    value
}

#[tokio::test]
async fn create_answers_an_increasing_id_and_describe_shows_the_group_as_the_sdk_models_it() {
    let emulator = emulator().await;
    let first = Call::create("traffic-east")
        .param("JobCount", "3")
        .param("JobGroupParams.1.Key", "ES_ENABLE")
        .param("JobGroupParams.1.Value", "true")
        .param("JobGroupParams.2.Key", "SCHEDULE_FLOW_START_TIME")
        .param("JobGroupParams.2.Value", "Oldest")
        .send(&emulator)
        .await;
    assert_eq!(without_request_id(first.ok()), json!({"JobGroupId": "1"}));
    assert!(first.content_type.starts_with("application/json"));
    assert_eq!(create(&emulator, "traffic-west").await, "2");

    let described = Call::describe().send(&emulator).await.ok();
    assert_eq!(
        without_request_id(described),
        json!({
            "TotalCount": 2,
            "PageNumber": 1,
            "PageSize": 10,
            "JobGroups": {"JobGroup": [
                {
                    "JobGroupId": "1",
                    "JobGroupName": "traffic-east",
                    "Status": "Stopped",
                    "AlgoLibId": "3",
                    "ResourceProfileId": "6",
                    "PlanedJobCount": 10,
                    "StreamPerJob": 5,
                    "JobCount": 3,
                    "JobGroupParams": {"JobGroupParam": [
                        {"Key": "ES_ENABLE", "Value": "True"},
                        {"Key": "SCHEDULE_FLOW_START_TIME", "Value": "Oldest"}
                    ]},
                    "ComputeJobs": {"ComputeJob": []}
                },
                {
                    "JobGroupId": "2",
                    "JobGroupName": "traffic-west",
                    "Status": "Stopped",
                    "AlgoLibId": "3",
                    "ResourceProfileId": "6",
                    "PlanedJobCount": 10,
                    "StreamPerJob": 5,
                    "JobGroupParams": {"JobGroupParam": []},
                    "ComputeJobs": {"ComputeJob": []}
                }
            ]}
        })
    );
    assert_eq!(emulator.request_count("CreateJobGroup"), 2);
    assert_eq!(emulator.request_count("DescribeJobGroups"), 1);
}

#[tokio::test]
async fn modify_start_stop_and_delete_change_what_describe_shows() {
    let emulator = emulator().await;
    let id = create(&emulator, "east").await;
    create(&emulator, "west").await;
    let group = |answer: serde_json::Value| answer["JobGroups"]["JobGroup"][0].clone();
    let describe_one = || Call::describe().param("JobGroupId", &id);

    let modified = Call::on_group("ModifyJobGroup", &id)
        .param("JobGroupName", "east-renamed")
        .param("AlgoLibId", "3")
        .param("PlanedJobCount", "20")
        .param("StreamPerJob", "2")
        .param("JobCount", "4")
        .param("JobGroupParams.1.Key", "RDS_ENABLE")
        .param("JobGroupParams.1.Value", "False")
        .send(&emulator)
        .await
        .ok();
    assert_eq!(
        modified.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["RequestId"]
    );
    let after = group(describe_one().send(&emulator).await.ok());
    assert_eq!(after["JobGroupName"], "east-renamed");
    assert_eq!(after["PlanedJobCount"], 20);
    assert_eq!(after["StreamPerJob"], 2);
    assert_eq!(after["JobCount"], 4);
    assert_eq!(
        after["JobGroupParams"]["JobGroupParam"],
        json!([{"Key": "RDS_ENABLE", "Value": "False"}])
    );

    let renamed_to_taken = Call::on_group("ModifyJobGroup", &id)
        .param("JobGroupName", "west")
        .send(&emulator)
        .await;
    assert_eq!(
        renamed_to_taken.error(),
        (400, "InvalidName.Duplicate".into())
    );

    Call::on_group("StartJobGroup", &id)
        .send(&emulator)
        .await
        .ok();
    assert_eq!(
        group(describe_one().send(&emulator).await.ok())["Status"],
        "Running"
    );
    Call::on_group("StopJobGroup", &id)
        .send(&emulator)
        .await
        .ok();
    assert_eq!(
        group(describe_one().send(&emulator).await.ok())["Status"],
        "Stopped"
    );
    Call::on_group("ModifyJobGroup", &id)
        .param("Status", "Running")
        .send(&emulator)
        .await
        .ok();
    assert_eq!(
        group(describe_one().send(&emulator).await.ok())["Status"],
        "Running"
    );

    Call::on_group("DeleteJobGroup", &id)
        .send(&emulator)
        .await
        .ok();
    let gone = describe_one().send(&emulator).await.ok();
    assert_eq!(
        (
            gone["TotalCount"].clone(),
            gone["JobGroups"]["JobGroup"].clone()
        ),
        (json!(0), json!([]))
    );
    let again = Call::on_group("DeleteJobGroup", &id).send(&emulator).await;
    assert_eq!(again.error(), (404, "InvalidJobGroupId.NotFound".into()));
    // The id of a deleted group is never given again.
    assert_eq!(create(&emulator, "east").await, "3");
}

#[tokio::test]
async fn every_documented_error_code_with_its_status() {
    let emulator = emulator().await;
    let id = create(&emulator, "taken").await;
    let cases: Vec<(&str, Call, u16, &str)> = vec![
        (
            "malformed name",
            Call::create("1-starts-with-digit"),
            400,
            "InvalidName.Malformed",
        ),
        (
            "name with a space",
            Call::create("has space"),
            400,
            "InvalidName.Malformed",
        ),
        (
            "duplicate name",
            Call::create("taken"),
            400,
            "InvalidName.Duplicate",
        ),
        (
            "unknown algo lib",
            Call::create("fresh").param("AlgoLibId", "999"),
            404,
            "InvalidAlgoLibId.NotFound",
        ),
        (
            "unknown resource profile",
            Call::create("fresh").param("ResourceProfileId", "999"),
            404,
            "InvalidResourceProfileId.NotFound",
        ),
        (
            "unsupported status",
            Call::on_group("ModifyJobGroup", &id).param("Status", "Paused"),
            400,
            "InvalidStatus.ValueNotSupported",
        ),
        (
            "unsupported params key",
            Call::create("fresh")
                .param("JobGroupParams.1.Key", "KAFKA_ENABLE")
                .param("JobGroupParams.1.Value", "True"),
            403,
            "InvalidParameter.KeyNotSupported",
        ),
        (
            "unsupported params value",
            Call::create("fresh")
                .param("JobGroupParams.1.Key", "ES_ENABLE")
                .param("JobGroupParams.1.Value", "Maybe"),
            400,
            "InvalidParameter",
        ),
        (
            "missing action parameter",
            Call::create("fresh").without_param("StreamPerJob"),
            403,
            "MissingParameter",
        ),
        (
            "empty action parameter",
            Call::create("fresh").param("AlgoLibId", ""),
            403,
            "MissingParameter",
        ),
        (
            "missing common parameter",
            Call::create("fresh").omit("SignatureNonce"),
            400,
            "MissingParameter",
        ),
        (
            "not an integer",
            Call::create("fresh").param("PlanedJobCount", "ten"),
            400,
            "InvalidParameter",
        ),
        (
            "negative integer",
            Call::create("fresh").param("StreamPerJob", "-1"),
            400,
            "InvalidParameter",
        ),
        (
            "integer too large",
            Call::create("fresh").param("JobCount", "2147483648"),
            400,
            "InvalidParameter",
        ),
        (
            "unknown instance",
            Call::create("fresh").param("InstanceId", "no-such-instance"),
            404,
            "InvalidInstanceId.NotFound",
        ),
        (
            "unknown job group",
            Call::on_group("StartJobGroup", "404"),
            404,
            "InvalidJobGroupId.NotFound",
        ),
        (
            "job group id not a number",
            Call::on_group("StopJobGroup", "abc"),
            404,
            "InvalidJobGroupId.NotFound",
        ),
        (
            "modify without id",
            Call::new("ModifyJobGroup").param("InstanceId", "cityvisual-Instance"),
            403,
            "MissingParameter",
        ),
        (
            "describe without instance",
            Call::new("DescribeJobGroups"),
            403,
            "MissingParameter",
        ),
        (
            "unknown action",
            Call::new("CreateJobGroups"),
            404,
            "InvalidAction.NotFound",
        ),
        (
            "page size over 100",
            Call::describe().param("PageSize", "101"),
            400,
            "InvalidParameter",
        ),
        (
            "page number 0",
            Call::describe().param("PageNumber", "0"),
            400,
            "InvalidParameter",
        ),
    ];
    for (what, call, status, code) in cases {
        let answer = call.send(&emulator).await;
        assert_eq!(
            answer.error(),
            (status, code.to_owned()),
            "{what}: {}",
            answer.text
        );
    }
    // None of the refused creates left anything behind.
    assert_eq!(emulator.state().job_groups.len(), 1);
}

#[tokio::test]
async fn error_bodies_carry_the_five_alibaba_fields() {
    let emulator = emulator().await;
    let answer = Call::create("x").send(&emulator).await;
    let body = answer.json();
    let mut keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["Code", "HostId", "Message", "Recommend", "RequestId"]
    );
    assert_eq!(body["Code"], "InvalidName.Malformed");
    assert_eq!(body["HostId"], emulator.address().to_string());
    assert!(body["Message"].as_str().unwrap().contains("\"x\""));
}

#[tokio::test]
async fn answers_xml_when_format_is_absent_or_xml_in_any_case() {
    let emulator = emulator().await;
    let created = Call::create("east").format(None).send(&emulator).await;
    assert_eq!(created.status, 200);
    assert!(
        created.content_type.starts_with("text/xml"),
        "{}",
        created.content_type
    );
    let request_id = created
        .text
        .split("<RequestId>")
        .nth(1)
        .unwrap()
        .split("</RequestId>")
        .next()
        .unwrap();
    assert_eq!(
        created.text,
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><CreateJobGroupResponse><JobGroupId>1</JobGroupId>\
             <RequestId>{request_id}</RequestId></CreateJobGroupResponse>"
        )
    );
    Call::create("west")
        .param("JobGroupParams.1.Key", "ES_ENABLE")
        .param("JobGroupParams.1.Value", "True")
        .param("JobGroupParams.2.Key", "RDS_ENABLE")
        .param("JobGroupParams.2.Value", "False")
        .send(&emulator)
        .await
        .ok();
    let described = Call::describe()
        .param("JobGroupId", "2")
        .format(Some("Xml"))
        .send(&emulator)
        .await;
    assert_eq!(described.status, 200);
    let body = described.text;
    assert!(body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?><DescribeJobGroupsResponse><TotalCount>1</TotalCount>"), "{body}");
    assert!(
        body.contains(
            "<JobGroups><JobGroup><JobGroupId>2</JobGroupId><JobGroupName>west</JobGroupName><Status>Stopped</Status>\
             <AlgoLibId>3</AlgoLibId><ResourceProfileId>6</ResourceProfileId><PlanedJobCount>10</PlanedJobCount>\
             <StreamPerJob>5</StreamPerJob><JobGroupParams><JobGroupParam><Key>ES_ENABLE</Key><Value>True</Value></JobGroupParam>\
             <JobGroupParam><Key>RDS_ENABLE</Key><Value>False</Value></JobGroupParam></JobGroupParams>\
             <ComputeJobs></ComputeJobs></JobGroup></JobGroups>"
        ),
        "{body}"
    );
    let error = Call::create("east")
        .format(Some("XML"))
        .send(&emulator)
        .await;
    assert_eq!(error.status, 400);
    assert!(error.text.contains("<Error><RequestId>"), "{}", error.text);
    assert!(
        error.text.contains("<Code>InvalidName.Duplicate</Code>"),
        "{}",
        error.text
    );
    let unsupported = Call::describe().format(Some("yaml")).send(&emulator).await;
    assert_eq!(unsupported.status, 400);
    assert!(
        unsupported.text.contains("<Code>InvalidParameter</Code>"),
        "{}",
        unsupported.text
    );
}

#[tokio::test]
async fn parameters_may_come_by_get_or_post_in_query_body_or_both() {
    let emulator = emulator().await;
    let ways = [
        ("get", Call::create("by-get").get()),
        (
            "post query",
            Call::create("by-post-query").post(Placement::Query),
        ),
        (
            "post body",
            Call::create("by-post-body").post(Placement::Body),
        ),
        (
            "post split",
            Call::create("by-post-split").post(Placement::Split),
        ),
    ];
    for (what, call) in ways {
        let answer = call.send(&emulator).await;
        assert_eq!(answer.status, 200, "{what}: {}", answer.text);
    }
    let names: Vec<String> = emulator
        .state()
        .job_groups
        .into_iter()
        .map(|group| group.name)
        .collect();
    assert_eq!(
        names,
        ["by-get", "by-post-query", "by-post-body", "by-post-split"]
    );
    let described = Call::describe().get().send(&emulator).await.ok();
    assert_eq!(described["TotalCount"], 4);
}

#[tokio::test]
async fn describe_pages_in_numeric_id_order() {
    let emulator = emulator().await;
    for index in 1..=25 {
        create(&emulator, &format!("group-{index:02}")).await;
    }
    let ids = |answer: &serde_json::Value| -> Vec<String> {
        answer["JobGroups"]["JobGroup"]
            .as_array()
            .unwrap()
            .iter()
            .map(|group| group["JobGroupId"].as_str().unwrap().to_owned())
            .collect()
    };
    let expected = |range: std::ops::RangeInclusive<u32>| -> Vec<String> {
        range.map(|id| id.to_string()).collect()
    };

    let first = Call::describe().send(&emulator).await.ok();
    assert_eq!(
        (
            first["PageNumber"].clone(),
            first["PageSize"].clone(),
            first["TotalCount"].clone()
        ),
        (json!(1), json!(10), json!(25))
    );
    // Numeric, not text order: 9 comes before 10.
    assert_eq!(ids(&first), expected(1..=10));
    let third = Call::describe()
        .param("PageNumber", "3")
        .send(&emulator)
        .await
        .ok();
    assert_eq!(ids(&third), expected(21..=25));
    let past = Call::describe()
        .param("PageNumber", "4")
        .send(&emulator)
        .await
        .ok();
    assert_eq!(
        (past["TotalCount"].clone(), ids(&past)),
        (json!(25), Vec::<String>::new())
    );
    let whole = Call::describe()
        .param("PageSize", "100")
        .send(&emulator)
        .await
        .ok();
    assert_eq!(ids(&whole), expected(1..=25));
    let sevens = Call::describe()
        .param("PageSize", "7")
        .param("PageNumber", "2")
        .send(&emulator)
        .await
        .ok();
    assert_eq!(ids(&sevens), expected(8..=14));
    let filtered = Call::describe()
        .param("JobGroupId", "12")
        .send(&emulator)
        .await
        .ok();
    assert_eq!(
        (filtered["TotalCount"].clone(), ids(&filtered)),
        (json!(1), vec!["12".to_owned()])
    );
    let missing = Call::describe()
        .param("JobGroupId", "99")
        .send(&emulator)
        .await
        .ok();
    assert_eq!(missing["TotalCount"], 0);
}

#[tokio::test]
async fn regions_hold_separate_groups_and_the_default_region_is_cn_shanghai() {
    let emulator = emulator().await;
    create(&emulator, "same-name").await;
    let beijing = Call::create("same-name")
        .param("RegionId", "cn-beijing")
        .send(&emulator)
        .await
        .ok();
    assert_eq!(beijing["JobGroupId"], "2");
    let shanghai = Call::describe()
        .param("RegionId", "cn-shanghai")
        .send(&emulator)
        .await
        .ok();
    assert_eq!(shanghai["JobGroups"]["JobGroup"][0]["JobGroupId"], "1");
    assert_eq!(shanghai["TotalCount"], 1);
    let wrong_region = Call::on_group("DeleteJobGroup", "2")
        .param("RegionId", "cn-hangzhou")
        .send(&emulator)
        .await;
    assert_eq!(
        wrong_region.error(),
        (404, "InvalidJobGroupId.NotFound".into())
    );
}

#[tokio::test]
async fn seed_data_adds_instances_libraries_profiles_and_groups_made_by_hand() {
    let seed = Seed {
        instances: vec!["second-Instance".into()],
        algo_libs: vec!["7".into()],
        resource_profiles: vec!["8".into()],
        job_groups: vec![SeedJobGroup {
            region_id: None,
            instance_id: "second-Instance".into(),
            name: "made-by-hand".into(),
            algo_lib_id: "7".into(),
            resource_profile_id: "8".into(),
            planed_job_count: 2,
            stream_per_job: 1,
            job_count: None,
            status: Some(Status::Running),
            params: [("OUT_MQ_ENABLE".to_owned(), "True".to_owned())]
                .into_iter()
                .collect(),
        }],
    };
    let emulator = emulator_with(EmulatorConfig {
        seed,
        ..EmulatorConfig::default()
    })
    .await;
    let described = Call::describe()
        .param("InstanceId", "second-Instance")
        .send(&emulator)
        .await
        .ok();
    let group = &described["JobGroups"]["JobGroup"][0];
    assert_eq!(
        (
            group["JobGroupId"].clone(),
            group["JobGroupName"].clone(),
            group["Status"].clone()
        ),
        (json!("1"), json!("made-by-hand"), json!("Running"))
    );
    let duplicate = Call::create("made-by-hand")
        .param("InstanceId", "second-Instance")
        .param("AlgoLibId", "7")
        .param("ResourceProfileId", "8")
        .send(&emulator)
        .await;
    assert_eq!(duplicate.error(), (400, "InvalidName.Duplicate".into()));
    // The built-in library and profile are still there.
    assert_eq!(create(&emulator, "built-in").await, "2");
}

#[tokio::test]
async fn the_state_endpoint_and_the_handle_show_and_change_groups_behind_the_back() {
    let emulator = emulator().await;
    let id = create(&emulator, "drifting").await;
    let dump_text = http()
        .get(format!("{}_emulator/state", emulator.endpoint()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let dump: serde_json::Value = serde_json::from_str(&dump_text).unwrap();
    assert_eq!(
        dump,
        json!({
            "instances": ["cityvisual-Instance"],
            "algoLibs": ["3"],
            "resourceProfiles": ["6"],
            "jobGroups": [{
                "jobGroupId": "1",
                "regionId": "cn-shanghai",
                "instanceId": "cityvisual-Instance",
                "name": "drifting",
                "status": "Stopped",
                "algoLibId": "3",
                "resourceProfileId": "6",
                "planedJobCount": 10,
                "streamPerJob": 5,
                "jobCount": null,
                "params": {}
            }]
        })
    );
    assert!(emulator.update_job_group(&id, |group| group.planed_job_count = 99));
    let described = Call::describe().send(&emulator).await.ok();
    assert_eq!(described["JobGroups"]["JobGroup"][0]["PlanedJobCount"], 99);
    assert!(emulator.delete_job_group(&id));
    assert!(!emulator.delete_job_group(&id));
    assert!(!emulator.update_job_group("nope", |_| {}));
    assert_eq!(Call::describe().send(&emulator).await.ok()["TotalCount"], 0);
    // The state endpoint is not an API action and is not counted as one.
    assert_eq!(
        emulator.request_counts().keys().collect::<Vec<_>>(),
        ["CreateJobGroup", "DescribeJobGroups"]
    );
}

#[tokio::test]
async fn shutting_down_stops_accepting() {
    let emulator = emulator().await;
    let endpoint = emulator.endpoint();
    create(&emulator, "before").await;
    emulator.shutdown().await;
    let after = http()
        .get(format!("{endpoint}_emulator/state"))
        .send()
        .await;
    assert!(after.is_err(), "{after:?}");
}

/// Request ids and start times change from run to run.
fn reference_filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}",
            "[request-id]",
        ),
        (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", "[time]"),
    ]
}

/// A reference-dialect emulator holding the page's example group, running, and a stopped one.
async fn reference_emulator_with_the_example_group() -> cityform::emulator::EmulatorHandle {
    let emulator = emulator_with(EmulatorConfig {
        dialect: Dialect::Reference,
        ..EmulatorConfig::default()
    })
    .await;
    let id = Call::create("视频任务")
        .param("PlanedJobCount", "10")
        .param("StreamPerJob", "20")
        .param("JobCount", "1")
        .param("JobGroupParams.1.Key", "ES_ENABLE")
        .param("JobGroupParams.1.Value", "True")
        .param("JobGroupParams.2.Key", "RDS_ENABLE")
        .param("JobGroupParams.2.Value", "True")
        .send(&emulator)
        .await
        .ok()["JobGroupId"]
        .as_str()
        .unwrap()
        .to_owned();
    Call::on_group("StartJobGroup", &id)
        .send(&emulator)
        .await
        .ok();
    create(&emulator, "stopped-group").await;
    emulator
}

#[tokio::test]
async fn the_reference_dialect_answers_json_as_the_page_example() {
    let emulator = reference_emulator_with_the_example_group().await;
    let answer = Call::describe().send(&emulator).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let body = answer.json();
    let group = &body["JobGroups"]["JobGroup"][0];
    assert_eq!(group["Name"], "视频任务");
    assert!(group.get("JobGroupName").is_none(), "{group}");
    assert_eq!(group["Status"], "running");
    assert_eq!(group["ComputeJobs"][0]["ComputeJobId"], 101);
    assert_eq!(body["JobGroups"]["JobGroup"][1]["Status"], "stopped");
    assert_eq!(body["JobGroups"]["JobGroup"][1]["ComputeJobs"], json!([]));
    insta::with_settings!({filters => reference_filters()}, {
        insta::assert_snapshot!(answer.text);
    });
}

#[tokio::test]
async fn the_reference_dialect_answers_xml_as_the_page_example() {
    let emulator = reference_emulator_with_the_example_group().await;
    let answer = Call::describe()
        .param("JobGroupId", "1")
        .format(None)
        .send(&emulator)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(answer.content_type.starts_with("text/xml"));
    insta::with_settings!({filters => reference_filters()}, {
        insta::assert_snapshot!(answer.text);
    });
}

/// The `Status` of group `id` and the ids of its compute jobs, in either dialect.
async fn status_and_jobs(
    emulator: &cityform::emulator::EmulatorHandle,
    id: &str,
) -> (String, Vec<String>) {
    let described = Call::describe()
        .param("JobGroupId", id)
        .send(emulator)
        .await
        .ok();
    let group = &described["JobGroups"]["JobGroup"][0];
    let jobs = match &group["ComputeJobs"] {
        serde_json::Value::Array(jobs) => jobs.clone(),
        wrapped => wrapped["ComputeJob"].as_array().unwrap().clone(),
    };
    let ids = jobs
        .iter()
        .map(|job| match &job["ComputeJobId"] {
            serde_json::Value::String(text) => text.clone(),
            number => number.to_string(),
        })
        .collect();
    (group["Status"].as_str().unwrap().to_owned(), ids)
}

const TRANSITION: Duration = Duration::from_millis(1000);

async fn settle() {
    tokio::time::sleep(TRANSITION + Duration::from_millis(100)).await;
}

#[tokio::test]
async fn start_and_stop_show_starting_and_stopping_then_settle_in_the_sdk_dialect() {
    let emulator = emulator_with(EmulatorConfig {
        transition: TRANSITION,
        ..EmulatorConfig::default()
    })
    .await;
    let id = create(&emulator, "east").await;
    let none = Vec::<String>::new();
    assert_eq!(
        status_and_jobs(&emulator, &id).await,
        ("Stopped".into(), none.clone())
    );

    Call::on_group("StartJobGroup", &id)
        .send(&emulator)
        .await
        .ok();
    assert_eq!(
        status_and_jobs(&emulator, &id).await,
        ("Starting".into(), none.clone())
    );
    settle().await;
    let (status, jobs) = status_and_jobs(&emulator, &id).await;
    assert_eq!(status, "Running");
    // No JobCount: as many compute jobs as PlanedJobCount.
    assert_eq!(
        jobs,
        (101..=110).map(|id| id.to_string()).collect::<Vec<_>>()
    );

    Call::on_group("ModifyJobGroup", &id)
        .param("Status", "Stopped")
        .send(&emulator)
        .await
        .ok();
    assert_eq!(
        status_and_jobs(&emulator, &id).await,
        ("Stopping".into(), none.clone())
    );
    // Starting while stopping turns the group around.
    Call::on_group("StartJobGroup", &id)
        .send(&emulator)
        .await
        .ok();
    assert_eq!(
        status_and_jobs(&emulator, &id).await,
        ("Starting".into(), none.clone())
    );
    settle().await;
    assert_eq!(status_and_jobs(&emulator, &id).await.0, "Running");
    // The state dump shows where the group is going, not the transition.
    assert_eq!(emulator.state().job_groups[0].status, Status::Running);
}

#[tokio::test]
async fn transitions_are_lower_case_in_the_reference_dialect() {
    let emulator = emulator_with(EmulatorConfig {
        dialect: Dialect::Reference,
        transition: TRANSITION,
        ..EmulatorConfig::default()
    })
    .await;
    let id = Call::create("east")
        .param("JobCount", "2")
        .send(&emulator)
        .await
        .ok()["JobGroupId"]
        .as_str()
        .unwrap()
        .to_owned();
    Call::on_group("StartJobGroup", &id)
        .send(&emulator)
        .await
        .ok();
    assert_eq!(status_and_jobs(&emulator, &id).await.0, "starting");
    settle().await;
    assert_eq!(
        status_and_jobs(&emulator, &id).await,
        ("running".into(), vec!["101".into(), "102".into()])
    );
    Call::on_group("StopJobGroup", &id)
        .send(&emulator)
        .await
        .ok();
    assert_eq!(
        status_and_jobs(&emulator, &id).await,
        ("stopping".into(), Vec::new())
    );
    settle().await;
    assert_eq!(
        status_and_jobs(&emulator, &id).await,
        ("stopped".into(), Vec::new())
    );
}

#[tokio::test]
async fn a_running_group_lists_job_count_compute_jobs_and_a_stopped_one_none() {
    let emulator = emulator().await;
    let id = Call::create("east")
        .param("JobCount", "3")
        .send(&emulator)
        .await
        .ok()["JobGroupId"]
        .as_str()
        .unwrap()
        .to_owned();
    Call::on_group("StartJobGroup", &id)
        .send(&emulator)
        .await
        .ok();
    let described = Call::describe().send(&emulator).await.ok();
    let jobs = &described["JobGroups"]["JobGroup"][0]["ComputeJobs"]["ComputeJob"];
    assert_eq!(jobs.as_array().unwrap().len(), 3);
    let first = &jobs[0];
    assert_eq!(
        (
            first["ComputeJobId"].clone(),
            first["ComputeJobName"].clone(),
            first["ComputeJobStatus"].clone()
        ),
        (json!("101"), json!("101"), json!("Running"))
    );
    let started = first["StartTime"].as_str().unwrap();
    assert!(
        time::OffsetDateTime::parse(started, &time::format_description::well_known::Rfc3339)
            .is_ok(),
        "{started}"
    );
    Call::on_group("StopJobGroup", &id)
        .send(&emulator)
        .await
        .ok();
    assert_eq!(
        status_and_jobs(&emulator, &id).await,
        ("Stopped".into(), Vec::new())
    );
}

/// Names that only one of the two documented rules allows (`:` on the reference page, `.` in
/// the SDK model) are accepted; one that starts like a URL is not.
#[tokio::test]
async fn names_either_documented_rule_allows_are_accepted() {
    let emulator = emulator().await;
    assert_eq!(create(&emulator, "cam:east-01").await, "1");
    assert_eq!(create(&emulator, "a.b").await, "2");
    for name in ["http://x", "HTTPS://camera", "cam east"] {
        let refused = Call::create(name).send(&emulator).await;
        assert_eq!(
            refused.error(),
            (400, "InvalidName.Malformed".into()),
            "{name}"
        );
    }
}

/// The client's parsers read the emulator's XML answers as they read its JSON ones.
#[tokio::test]
async fn the_clients_parsers_read_xml_answers_as_json_ones() {
    use cityform::cloud::answer::AnswerBody;
    use cityform::cloud::error::error_from_answer;
    use cityform::cloud::job_groups::{parse_created, parse_page};
    use cityform::cloud::redact::Redactor;

    let emulator = emulator().await;
    let created = Call::create("east")
        .format(Some("XML"))
        .send(&emulator)
        .await;
    assert_eq!(
        parse_created(created.text.as_bytes()).unwrap().job_group_id,
        "1"
    );
    Call::create("west")
        .param("JobGroupParams.1.Key", "ES_ENABLE")
        .param("JobGroupParams.1.Value", "True")
        .send(&emulator)
        .await
        .ok();
    let [xml, json] = [Some("XML"), Some("json")].map(|format| Call::describe().format(format));
    let xml = xml.send(&emulator).await;
    let json = json.send(&emulator).await;
    let from_xml =
        parse_page(AnswerBody::new(xml.text.as_bytes()).with_content_type(Some(&xml.content_type)))
            .unwrap();
    let from_json = parse_page(json.text.as_bytes()).unwrap();
    assert_eq!(from_xml.job_groups, from_json.job_groups);
    assert_eq!(from_xml.job_groups.len(), 2);
    assert_eq!(from_xml.total_count, 2);

    let refused = Call::create("east")
        .format(Some("XML"))
        .send(&emulator)
        .await;
    let (kind, _) = error_from_answer(
        refused.status,
        refused.text.as_bytes(),
        &Redactor::default(),
    );
    assert!(
        kind.to_string()
            .starts_with("InvalidName.Duplicate (400): "),
        "{kind}"
    );
}
