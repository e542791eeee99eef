//! The plan as JSON: a stable, versioned document for programs (`docs/json-output.md`).
//!
//! The document is the plan's own serialisation plus what a program would otherwise have to
//! compute: the `summary` counts, and for an update with drift, `drift_diff`, the unified
//! diff the text and Markdown show.

use std::io::Write;

use serde::Serialize;

use super::{LastApplied, drift_diff};
use crate::model::Address;
use crate::plan::{Action, NameConflict, Plan, StateBinding, Summary, UnmanagedGroup};
use crate::provenance::Provenance;

/// The JSON output format version; bumped on any incompatible change.
pub const FORMAT_VERSION: u32 = 2;

#[derive(Serialize)]
struct PlanDocument<'a> {
    format_version: u32,
    kind: &'static str,
    state: Option<&'a StateBinding>,
    refreshed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_skipped_reason: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    targets: &'a [Address],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    excludes: &'a [Address],
    summary: Summary,
    actions: Vec<ActionDocument<'a>>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    conflicts: &'a [NameConflict],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    unmanaged: &'a [UnmanagedGroup],
}

/// An action as the plan serialises it, with `drift_diff` after its fields when it drifted.
#[derive(Serialize)]
struct ActionDocument<'a> {
    #[serde(flatten)]
    action: &'a Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    drift_diff: Option<String>,
    /// For an update or orphan: where the group was last applied from, when the state's
    /// history knows (`docs/provenance.md`).
    #[serde(skip_serializing_if = "Option::is_none")]
    last_applied: Option<&'a Provenance>,
    /// `true` when that spec is the one `cityform import` found: no manifest was applied
    /// to the group since.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    last_applied_by_import: bool,
}

/// Renders a plan as pretty-printed JSON followed by a newline.
pub fn render_plan(plan: &Plan) -> Result<String, serde_json::Error> {
    let mut bytes = Vec::new();
    write_plan(plan, &mut bytes)?;
    // serde_json writes only valid UTF-8.
    String::from_utf8(bytes).map_err(|error| serde::ser::Error::custom(error.to_string()))
}

/// Writes what [`render_plan`] returns to `writer` as it is produced, so that a large plan is
/// never held in memory a second time as text. Give it a buffered writer.
pub fn write_plan(plan: &Plan, writer: impl Write) -> Result<(), serde_json::Error> {
    write_plan_with(plan, &LastApplied::default(), writer)
}

/// [`write_plan`], with a `last_applied` object in each update and orphan that
/// `last_applied` knows.
pub fn write_plan_with(
    plan: &Plan,
    last_applied: &LastApplied,
    mut writer: impl Write,
) -> Result<(), serde_json::Error> {
    let actions = plan
        .actions
        .iter()
        .map(|action| ActionDocument {
            action,
            drift_diff: match action {
                Action::Update { drift, .. } if !drift.is_empty() => Some(drift_diff(drift)),
                _ => None,
            },
            last_applied: last_applied
                .for_action(action)
                .map(|quote| quote.provenance),
            last_applied_by_import: last_applied
                .for_action(action)
                .is_some_and(|quote| quote.imported),
        })
        .collect();
    let document = PlanDocument {
        format_version: FORMAT_VERSION,
        kind: "plan",
        state: plan.state.as_ref(),
        refreshed: plan.refreshed,
        refresh_skipped_reason: plan.refresh_skipped_reason.as_deref(),
        targets: &plan.targets,
        excludes: &plan.excludes,
        summary: plan.summary(),
        actions,
        conflicts: &plan.conflicts,
        unmanaged: &plan.unmanaged,
    };
    serde_json::to_writer_pretty(&mut writer, &document)?;
    writer.write_all(b"\n").map_err(serde_json::Error::io)
}
