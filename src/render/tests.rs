//! Snapshot tests of every renderer: a plan that holds every kind of action, a refreshed
//! plan with drift and the lifecycle actions, a targeted plan that was not refreshed, and
//! plans with nothing to do.

use std::collections::BTreeMap;

use crate::manifest::SourceLocation;
use crate::model::{Address, JobGroupSpec, Status, printable};
use crate::plan::{
    Action, AttributeChange, NameConflict, Plan, RenameHint, StateBinding, UnmanagedGroup,
};

use super::plan_text::Color;

fn address(name: &str) -> Address {
    Address::new("cn-shanghai", "cityvisual-Instance", name)
}

fn source(line: usize) -> SourceLocation {
    SourceLocation {
        file: "manifests/traffic.yaml".into(),
        line,
        column: 1,
    }
}

fn change(attribute: &str, before: Option<&str>, after: Option<&str>) -> AttributeChange {
    AttributeChange {
        attribute: attribute.into(),
        before: before.map(Into::into),
        after: after.map(Into::into),
    }
}

fn every_kind() -> Plan {
    let mut created = JobGroupSpec::example()
        .with_param("ES_ENABLE", "True")
        .with_param("SCHEDULE_FLOW_START_TIME", "Latest");
    created.job_count = Some(3);
    Plan {
        state: Some(StateBinding {
            lineage: "8c4d6f0e-5b7a-4f3e-9a51-2d0c7e1b9f42".into(),
            serial: 7,
        }),
        actions: vec![
            Action::Create {
                address: address("traffic-east"),
                spec: created,
                source: source(14),
                replaces_id: None,
                prevent_destroy: false,
            },
            Action::Orphan {
                address: address("traffic-old"),
                job_group_id: "12".into(),
                spec: JobGroupSpec::example(),
                renamed_to: None,
            },
            Action::Update {
                address: address("traffic-west"),
                job_group_id: "445".into(),
                changes: vec![
                    change("planedJobCount", Some("10"), Some("12")),
                    change("params.ES_ENABLE", None, Some("True")),
                    change("params.RDS_ENABLE", Some("True"), Some("False")),
                ],
                drift: Vec::new(),
                spec: JobGroupSpec::example().with_planed_jobs(12),
                source: source(40),
                prevent_destroy: false,
            },
        ],
        unchanged: 4,
        refreshed: false,
        conflicts: Vec::new(),
        unmanaged: Vec::new(),
        targets: Vec::new(),
        excludes: Vec::new(),
        refresh_skipped_reason: None,
    }
}

/// Refreshed, and nothing to do.
fn no_changes() -> Plan {
    Plan {
        state: binding(),
        actions: Vec::new(),
        unchanged: 6,
        refreshed: true,
        conflicts: Vec::new(),
        unmanaged: Vec::new(),
        targets: Vec::new(),
        excludes: Vec::new(),
        refresh_skipped_reason: None,
    }
}

fn binding() -> Option<StateBinding> {
    Some(StateBinding {
        lineage: "8c4d6f0e-5b7a-4f3e-9a51-2d0c7e1b9f42".into(),
        serial: 12,
    })
}

fn drift() -> Vec<AttributeChange> {
    vec![
        change("planedJobCount", Some("10"), Some("99")),
        change("jobCount", None, Some("4")),
        change("params.ES_ENABLE", Some("True"), Some("False")),
        change("params.RDS_ENABLE", Some("True"), None),
    ]
}

/// A refreshed plan with `--prune` and `--show-unmanaged`: drift, a rename, a group deleted
/// outside cityform, starts and stops, protections, a delete and a refused delete.
fn lifecycle() -> Plan {
    let mut created = JobGroupSpec::example().with_param("ES_ENABLE", "True");
    created.job_count = Some(2);
    let drifted = JobGroupSpec::example().with_param("ES_ENABLE", "True");
    Plan {
        state: binding(),
        actions: vec![
            Action::Orphan {
                address: address("night-market"),
                job_group_id: "18".into(),
                spec: JobGroupSpec::example(),
                renamed_to: Some(RenameHint {
                    to: address("night-bazaar"),
                    source: source(60),
                    same_live_name: true,
                }),
            },
            Action::Create {
                address: address("parking-north"),
                spec: created,
                source: source(3),
                replaces_id: Some("31".into()),
                prevent_destroy: true,
            },
            Action::SetStatus {
                address: address("parking-north"),
                job_group_id: None,
                from: Some(Status::Stopped),
                observed: None,
                to: Status::Running,
                source: Some(source(3)),
            },
            Action::Update {
                address: address("parking-south"),
                job_group_id: "32".into(),
                changes: vec![change("name", Some("parking-s"), Some("parking-south"))],
                drift: Vec::new(),
                spec: JobGroupSpec::example(),
                source: source(17),
                prevent_destroy: false,
            },
            Action::Delete {
                address: address("retired"),
                job_group_id: "12".into(),
                spec: JobGroupSpec::example().with_param("OUT_MQ_ENABLE", "True"),
            },
            Action::BlockedDelete {
                address: address("retired-protected"),
                job_group_id: "13".into(),
            },
            Action::Protect {
                address: address("safety-stations"),
                job_group_id: "40".into(),
                prevent_destroy: true,
                source: Some(source(21)),
            },
            Action::SetStatus {
                address: address("safety-stations"),
                job_group_id: Some("40".into()),
                from: Some(Status::Running),
                observed: Some("starting".into()),
                to: Status::Stopped,
                source: Some(source(21)),
            },
            Action::Protect {
                address: address("safety-tunnels"),
                job_group_id: "41".into(),
                prevent_destroy: false,
                source: Some(source(29)),
            },
            Action::Update {
                address: address("traffic-west"),
                job_group_id: "445".into(),
                changes: vec![
                    change("planedJobCount", Some("99"), Some("10")),
                    change("params.ES_ENABLE", Some("False"), Some("True")),
                ],
                drift: drift(),
                spec: drifted,
                source: source(40),
                prevent_destroy: false,
            },
        ],
        unchanged: 3,
        refreshed: true,
        conflicts: vec![
            NameConflict {
                address: address("legacy-cams"),
                source: source(52),
                live_job_group_id: "17".into(),
                managed_as: None,
            },
            NameConflict {
                address: address("night-bazaar"),
                source: source(60),
                live_job_group_id: "18".into(),
                managed_as: Some(address("night-market")),
            },
        ],
        unmanaged: vec![
            UnmanagedGroup {
                address: address("by-hand"),
                job_group_id: "7".into(),
            },
            UnmanagedGroup {
                address: address("experiment"),
                job_group_id: "8".into(),
            },
        ],
        targets: Vec::new(),
        excludes: Vec::new(),
        refresh_skipped_reason: None,
    }
}

/// `--target` one group and `--refresh=false`.
fn targeted_without_refresh() -> Plan {
    Plan {
        state: binding(),
        actions: vec![Action::Update {
            address: address("traffic-west"),
            job_group_id: "445".into(),
            changes: vec![change("streamPerJob", Some("5"), Some("6"))],
            drift: Vec::new(),
            spec: JobGroupSpec::example(),
            source: source(40),
            prevent_destroy: false,
        }],
        unchanged: 0,
        refreshed: false,
        conflicts: Vec::new(),
        unmanaged: Vec::new(),
        targets: vec![address("traffic-west")],
        excludes: Vec::new(),
        refresh_skipped_reason: None,
    }
}

/// Refreshed, nothing to do, one group nobody manages.
fn no_changes_but_unmanaged() -> Plan {
    Plan {
        state: binding(),
        actions: Vec::new(),
        unchanged: 5,
        refreshed: true,
        conflicts: Vec::new(),
        unmanaged: vec![UnmanagedGroup {
            address: address("by-hand"),
            job_group_id: "7".into(),
        }],
        targets: Vec::new(),
        excludes: Vec::new(),
        refresh_skipped_reason: None,
    }
}

/// What `Moved`, `Import` and `Removed` documents plan: a move and the rename that follows
/// it, an import and the update that makes the group what its manifest says, a removal.
fn declared() -> Plan {
    let documents = |line| SourceLocation {
        file: "manifests/changes.yaml".into(),
        line,
        column: 1,
    };
    Plan {
        state: binding(),
        actions: vec![
            Action::Import {
                address: address("legacy-cams"),
                job_group_id: "17".into(),
                live_name: "legacy-cams".into(),
                spec: JobGroupSpec::example().with_planed_jobs(3),
                status: Some(Status::Running),
                source: documents(7),
            },
            Action::Update {
                address: address("legacy-cams"),
                job_group_id: "17".into(),
                changes: vec![change("planedJobCount", Some("3"), Some("10"))],
                drift: Vec::new(),
                spec: JobGroupSpec::example(),
                source: source(60),
                prevent_destroy: false,
            },
            Action::Move {
                address: address("night-bazaar"),
                from: address("night-market"),
                job_group_id: "9".into(),
                source: documents(1),
            },
            Action::Update {
                address: address("night-bazaar"),
                job_group_id: "9".into(),
                changes: vec![
                    change("name", Some("night-market"), Some("night-bazaar")),
                    change("streamPerJob", Some("5"), Some("6")),
                ],
                drift: Vec::new(),
                spec: JobGroupSpec::example(),
                source: source(30),
                prevent_destroy: false,
            },
            Action::Forget {
                address: address("retired-group"),
                job_group_id: "4".into(),
                source: documents(13),
            },
        ],
        unchanged: 2,
        refreshed: true,
        conflicts: Vec::new(),
        unmanaged: Vec::new(),
        targets: Vec::new(),
        excludes: Vec::new(),
        refresh_skipped_reason: None,
    }
}

#[test]
fn text_declared_plan() {
    insta::assert_snapshot!(super::plan_text::render_plan(&declared(), Color::Never));
}

#[test]
fn markdown_declared_plan() {
    insta::assert_snapshot!(super::plan_markdown::render_plan(&declared()));
}

#[test]
fn json_declared_plan() -> Result<(), serde_json::Error> {
    insta::assert_snapshot!(super::plan_json::render_plan(&declared())?);
    Ok(())
}

#[test]
fn text_plan_with_every_action_kind() {
    insta::assert_snapshot!(super::plan_text::render_plan(&every_kind(), Color::Never));
}

#[test]
fn text_plan_in_colour_marks_signs() {
    let coloured = super::plan_text::render_plan(&every_kind(), Color::Always);
    assert!(coloured.contains("\u{1b}[32m+\u{1b}[0m"), "{coloured}");
    let plain = super::plan_text::render_plan(&every_kind(), Color::Never);
    assert!(!plain.contains('\u{1b}'));
}

#[test]
fn text_no_changes() {
    insta::assert_snapshot!(super::plan_text::render_plan(&no_changes(), Color::Never));
}

#[test]
fn json_plan_with_every_action_kind() -> Result<(), serde_json::Error> {
    insta::assert_snapshot!(super::plan_json::render_plan(&every_kind())?);
    Ok(())
}

#[test]
fn markdown_plan_with_every_action_kind() {
    insta::assert_snapshot!(super::plan_markdown::render_plan(&every_kind()));
}

#[test]
fn markdown_no_changes() {
    insta::assert_snapshot!(super::plan_markdown::render_plan(&no_changes()));
}

#[test]
fn text_lifecycle_plan() {
    insta::assert_snapshot!(super::plan_text::render_plan(&lifecycle(), Color::Never));
}

#[test]
fn markdown_lifecycle_plan() {
    insta::assert_snapshot!(super::plan_markdown::render_plan(&lifecycle()));
}

#[test]
fn json_lifecycle_plan() -> Result<(), serde_json::Error> {
    insta::assert_snapshot!(super::plan_json::render_plan(&lifecycle())?);
    Ok(())
}

#[test]
fn text_targeted_plan_without_refresh() {
    insta::assert_snapshot!(super::plan_text::render_plan(
        &targeted_without_refresh(),
        Color::Never
    ));
}

#[test]
fn markdown_targeted_plan_without_refresh() {
    insta::assert_snapshot!(super::plan_markdown::render_plan(
        &targeted_without_refresh()
    ));
}

#[test]
fn json_targeted_plan_without_refresh() -> Result<(), serde_json::Error> {
    insta::assert_snapshot!(super::plan_json::render_plan(&targeted_without_refresh())?);
    Ok(())
}

#[test]
fn text_no_changes_but_unmanaged() {
    insta::assert_snapshot!(super::plan_text::render_plan(
        &no_changes_but_unmanaged(),
        Color::Never
    ));
}

#[test]
fn markdown_no_changes_but_unmanaged() {
    insta::assert_snapshot!(super::plan_markdown::render_plan(
        &no_changes_but_unmanaged()
    ));
}

#[test]
fn json_no_changes_but_unmanaged() -> Result<(), serde_json::Error> {
    insta::assert_snapshot!(super::plan_json::render_plan(&no_changes_but_unmanaged())?);
    Ok(())
}

#[test]
fn drift_is_a_unified_diff_of_recorded_and_live_listings() {
    assert_eq!(
        super::drift_diff(&drift()),
        "\
--- recorded by cityform
+++ live
@@ -1,3 +1,3 @@
-planedJobCount = 10
-params.ES_ENABLE = \"True\"
-params.RDS_ENABLE = \"True\"
+planedJobCount = 99
+jobCount = 4
+params.ES_ENABLE = \"False\"
"
    );
}

#[test]
fn the_json_keeps_the_drift_diff_and_text_and_markdown_show_attributes()
-> Result<(), serde_json::Error> {
    let plan = lifecycle();
    let json: serde_json::Value = serde_json::from_str(&super::plan_json::render_plan(&plan)?)?;
    let with_diff: Vec<&serde_json::Value> = json["actions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|action| action.get("drift_diff").is_some())
        .collect();
    assert_eq!(with_diff.len(), 1);
    let diff = with_diff[0]["drift_diff"].as_str().unwrap_or_default();
    assert_eq!(diff, super::drift_diff(&drift()));
    assert_eq!(with_diff[0]["drift"].as_array().map(Vec::len), Some(4));
    // People read drift in the attribute style of the rest of the plan.
    let text = super::plan_text::render_plan(&plan, Color::Never);
    let markdown = super::plan_markdown::render_plan(&plan);
    for shown in [&text, &markdown] {
        assert!(!shown.contains("@@"), "{shown}");
        assert!(!shown.contains("+++ live"), "{shown}");
    }
    assert!(
        text.contains("      ~ planedJobCount    = 10 -> 99\n"),
        "{text}"
    );
    assert!(
        text.contains("      ~ planedJobCount   = 99 -> 10 (changed outside cityform)\n"),
        "{text}"
    );
    assert!(
        markdown.contains("-     planedJobCount = 99 (changed outside cityform)\n"),
        "{markdown}"
    );
    Ok(())
}

#[test]
fn drift_is_coloured_on_a_terminal() {
    let coloured = super::plan_text::render_plan(&lifecycle(), Color::Always);
    assert!(
        coloured.contains("\u{1b}[33m~\u{1b}[0m planedJobCount    = 10 -> 99\n"),
        "{coloured}"
    );
    assert!(coloured.contains("\u{1b}[32m+\u{1b}[0m jobCount          = 4\n"));
    assert!(coloured.contains("\u{1b}[31m-\u{1b}[0m params.RDS_ENABLE = \"True\" -> (unset)\n"));
}

#[test]
fn a_skipped_refresh_is_explained_in_its_own_words() {
    let reason = "Note: the live job groups were not read: the state records no job group in these instances.";
    let mut plan = targeted_without_refresh();
    plan.targets.clear();
    plan.refresh_skipped_reason = Some(reason.into());
    let text = super::plan_text::render_plan(&plan, Color::Never);
    assert!(
        text.ends_with(&format!(
            "\n\n{reason}\n\nPlan: 0 to create, 1 to update, 0 to start, 0 to stop, 0 to delete. 0 orphans left alone. 0 unchanged.\n"
        )),
        "{text}"
    );
    assert!(!text.contains("--refresh=false"), "{text}");
    let markdown = super::plan_markdown::render_plan(&plan);
    assert!(markdown.contains(&format!("> {reason}\n")), "{markdown}");
    assert!(!markdown.contains("--refresh=false"), "{markdown}");
}

#[test]
fn a_plan_of_orphans_alone_needs_no_refresh_note() {
    let mut plan = every_kind();
    plan.actions
        .retain(|action| matches!(action, Action::Orphan { .. }));
    plan.unchanged = 0;
    for state in [None, binding()] {
        plan.state = state;
        for reason in [
            None,
            Some("Note: the live job groups were not read: no reason."),
        ] {
            plan.refresh_skipped_reason = reason.map(str::to_owned);
            let text = super::plan_text::render_plan(&plan, Color::Never);
            assert!(!text.contains("Note:"), "{text}");
            assert!(!super::plan_markdown::render_plan(&plan).contains("Note:"));
        }
    }
    plan.refresh_skipped_reason = None;
    plan.unchanged = 1;
    let text = super::plan_text::render_plan(&plan, Color::Never);
    assert!(text.contains("--refresh=false"), "{text}");
}

#[test]
fn creates_without_a_refresh_say_once_that_their_names_were_not_checked() {
    let mut plan = every_kind();
    plan.actions
        .retain(|action| matches!(action, Action::Create { .. }));
    plan.unchanged = 0;
    let unchecked = "cannot tell whether the job groups it creates already exist";
    for text in [
        super::plan_text::render_plan(&plan, Color::Never),
        super::plan_markdown::render_plan(&plan),
    ] {
        assert_eq!(text.matches(unchecked).count(), 1, "{text}");
    }
    plan.refreshed = true;
    assert!(!super::plan_text::render_plan(&plan, Color::Never).contains("Note:"));
}

#[test]
fn no_changes_without_a_refresh_says_what_it_compared() {
    let mut plan = no_changes();
    plan.refreshed = false;
    assert_eq!(
        super::plan_text::render_plan(&plan, Color::Never),
        "No changes. The job groups match the manifests (6 unchanged).\n\nNote: the live job groups were not read (--refresh=false); this plan compares the manifests with the state only.\n"
    );
}

#[test]
fn the_summary_keeps_its_shape_and_adds_what_only_some_plans_have() {
    assert_eq!(
        super::summary_line(&lifecycle()),
        "Plan: 1 to create, 2 to update, 1 to start, 1 to stop, 1 to delete. 1 orphan left alone. In the state only: 2 protections to record. Refused: 1 deletion (preventDestroy), 2 creates (the name exists)."
    );
    assert_eq!(
        super::summary_line(&every_kind()),
        "Plan: 1 to create, 1 to update, 0 to start, 0 to stop, 0 to delete. 1 orphan left alone."
    );
    assert_eq!(
        super::summary_line(&no_changes()),
        "Plan: 0 to create, 0 to update, 0 to start, 0 to stop, 0 to delete. 0 orphans left alone."
    );
}

#[test]
fn markdown_of_a_huge_plan_fits_one_comment() {
    let mut plan = every_kind();
    let template = plan.actions[0].clone();
    plan.actions = (0..5_000)
        .map(|index| match &template {
            Action::Create { spec, source, .. } => Action::Create {
                address: address(&format!("group-{index:05}")),
                spec: spec.clone(),
                source: source.clone(),
                replaces_id: None,
                prevent_destroy: false,
            },
            other => other.clone(),
        })
        .collect();
    let markdown = super::plan_markdown::render_plan(&plan);
    assert!(
        markdown.len() <= super::plan_markdown::MAX_LENGTH,
        "{}",
        markdown.len()
    );
    assert!(markdown.contains("too long for one comment"), "{markdown}");

    plan.actions.truncate(300);
    let markdown = super::plan_markdown::render_plan(&plan);
    assert!(
        markdown.len() <= super::plan_markdown::MAX_LENGTH,
        "{}",
        markdown.len()
    );
    assert!(markdown.contains("| `+` | `cn-shanghai/cityvisual-Instance/group-00299` |"));
    assert!(markdown.contains("truncated: details of"), "{markdown}");
    assert!(markdown.ends_with("</details>\n"));
}

#[test]
fn the_printable_check_finds_exactly_the_text_printable_escapes() {
    let samples = [
        "traffic-east",
        "交通-东",
        "a \"quoted\" \\ `value` / slash",
        "",
        "bell\u{7}",
        "line\nbreak",
        "tab\there",
        "escape\u{1b}[31m",
        "delete\u{7f}",
        "c1\u{85}",
        "arabic mark\u{61c}",
        "lrm\u{200e}",
        "override\u{202e}",
        "isolate\u{2066}",
    ];
    for text in samples {
        let needs = matches!(printable(text), std::borrow::Cow::Owned(_));
        let as_value = BTreeMap::from([("key", text)]);
        assert_eq!(
            super::has_unprintable_text(&as_value),
            needs,
            "value {text:?}"
        );
        let as_key = BTreeMap::from([(text, "value")]);
        assert_eq!(super::has_unprintable_text(&as_key), needs, "key {text:?}");
    }
}

/// `cityform show` reads what a saved plan holds beside the plan: a plan saved before
/// imports were told apart holds the bare map of provenances, and still reads, with no
/// group taken for imported.
#[test]
fn last_applied_saved_by_an_older_cityform_still_reads() {
    use crate::state::{History, HistoryAction, HistoryEntry};

    let context = crate::provenance::RunContext::without_git(
        Some("3f2a9c1e5b7d9f0a1c3e5b7d9f0a1c3e5b7d9f0a"),
        &BTreeMap::new(),
        "laptop",
    );
    let plan = lifecycle();
    let updated = plan
        .actions
        .iter()
        .find(|action| matches!(action, Action::Update { .. }))
        .unwrap()
        .address()
        .clone();
    let mut history = History::new(10);
    history.push(HistoryEntry {
        address: updated.clone(),
        action: HistoryAction::Import,
        job_group_id: "1".into(),
        provenance: context.for_group(Some(&source(3)), None),
        moved: None,
    });
    let quoted = super::LastApplied::from_history(&history, &plan);
    let update = plan
        .actions
        .iter()
        .find(|action| action.address() == &updated)
        .unwrap();
    assert!(quoted.for_action(update).unwrap().imported);
    let saved = serde_json::to_value(&quoted).unwrap();
    let read: super::LastApplied = serde_json::from_value(saved.clone()).unwrap();
    assert_eq!(read, quoted);
    let older: super::LastApplied = serde_json::from_value(saved["by_address"].clone()).unwrap();
    let quote = older.for_action(update).unwrap();
    assert!(!quote.imported);
    assert_eq!(
        quote.provenance,
        quoted.for_action(update).unwrap().provenance
    );
}
