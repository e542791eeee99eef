//! Snapshot tests of every renderer on a plan that holds every kind of action.

use crate::manifest::SourceLocation;
use crate::model::{Address, JobGroupSpec};
use crate::plan::{Action, AttributeChange, Plan, StateBinding};

use super::text::Color;

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
        unmanaged: Vec::new(),
        targets: Vec::new(),
    }
}

fn no_changes() -> Plan {
    Plan {
        state: None,
        actions: Vec::new(),
        unchanged: 6,
        refreshed: false,
        unmanaged: Vec::new(),
        targets: Vec::new(),
    }
}

#[test]
fn text_plan_with_every_action_kind() {
    insta::assert_snapshot!(super::text::render_plan(&every_kind(), Color::Never));
}

#[test]
fn text_plan_in_colour_marks_signs() {
    let coloured = super::text::render_plan(&every_kind(), Color::Always);
    assert!(coloured.contains("\u{1b}[32m+\u{1b}[0m"), "{coloured}");
    let plain = super::text::render_plan(&every_kind(), Color::Never);
    assert!(!plain.contains('\u{1b}'));
}

#[test]
fn text_no_changes() {
    insta::assert_snapshot!(super::text::render_plan(&no_changes(), Color::Never));
}

#[test]
fn json_plan_with_every_action_kind() -> Result<(), serde_json::Error> {
    insta::assert_snapshot!(super::json::render_plan(&every_kind())?);
    Ok(())
}

#[test]
fn markdown_plan_with_every_action_kind() {
    insta::assert_snapshot!(super::markdown::render_plan(&every_kind()));
}

#[test]
fn markdown_no_changes() {
    insta::assert_snapshot!(super::markdown::render_plan(&no_changes()));
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
    let markdown = super::markdown::render_plan(&plan);
    assert!(
        markdown.len() <= super::markdown::MAX_LENGTH,
        "{}",
        markdown.len()
    );
    assert!(markdown.contains("too long for one comment"), "{markdown}");

    plan.actions.truncate(300);
    let markdown = super::markdown::render_plan(&plan);
    assert!(
        markdown.len() <= super::markdown::MAX_LENGTH,
        "{}",
        markdown.len()
    );
    assert!(markdown.contains("| `+` | `cn-shanghai/cityvisual-Instance/group-00299` |"));
    assert!(markdown.contains("truncated: details of"), "{markdown}");
    assert!(markdown.ends_with("</details>\n"));
}
