//! The plan as JSON: a stable, versioned document for programs (`docs/json-output.md`).

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
    let document = PlanDocument {
        format_version: FORMAT_VERSION,
        kind: "plan",
        state: plan.state.as_ref(),
        summary: plan.summary(),
        actions: &plan.actions,
    };
    let mut text = serde_json::to_string_pretty(&document)?;
    text.push('\n');
    Ok(text)
}
