//! The plan as JSON: a stable, versioned document for programs (`docs/json-output.md`).

use std::io::Write;

use serde::Serialize;

use crate::plan::{Action, Plan, StateBinding, Summary};

/// The JSON output format version; bumped on any incompatible change.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Serialize)]
struct PlanDocument<'a> {
    format_version: u32,
    kind: &'static str,
    state: Option<&'a StateBinding>,
    summary: Summary,
    actions: &'a [Action],
}

/// Renders a plan as pretty-printed JSON followed by a newline.
pub fn render_plan(plan: &Plan) -> Result<String, serde_json::Error> {
    let mut bytes = Vec::new();
    write_plan(plan, &mut bytes)?;
    // serde_json writes only valid UTF-8.
    String::from_utf8(bytes).map_err(|error| serde::ser::Error::custom(error.to_string()))
}

/// Writes what [`render_plan`] returns to `writer` as it is produced, so that a large plan
/// is never held twice in memory. Give it a buffered writer.
pub fn write_plan(plan: &Plan, mut writer: impl Write) -> Result<(), serde_json::Error> {
    let document = PlanDocument {
        format_version: FORMAT_VERSION,
        kind: "plan",
        state: plan.state.as_ref(),
        summary: plan.summary(),
        actions: &plan.actions,
    };
    serde_json::to_writer_pretty(&mut writer, &document)?;
    writer.write_all(b"\n").map_err(serde_json::Error::io)
}
