//! The plan as Markdown, ready to paste (or post) as a pull-request comment.
//!
//! A table gives the overview; the attribute-level details sit in a collapsed `diff` block.
//! GitHub refuses comments over 65,536 characters, so past [`MAX_LENGTH`] the details are
//! cut with a note that says how many actions were left out.

use std::fmt::Write as _;

use super::{display_attribute, display_value, summary_line};
use crate::model::printable;
use crate::plan::{Action, Plan};

/// The longest comment this renderer produces.
pub const MAX_LENGTH: usize = 60_000;

/// Renders a plan as Markdown.
pub fn render_plan(plan: &Plan) -> String {
    let mut out = String::from("### cityform plan\n\n");
    if plan.is_empty() {
        let _ = writeln!(
            out,
            "**No changes.** The job groups match the manifests ({} unchanged).",
            plan.unchanged
        );
        return out;
    }
    let summary = plan.summary();
    let _ = writeln!(
        out,
        "**{}** {} unchanged.\n",
        summary_line(&summary),
        summary.unchanged
    );
    out.push_str("| | Job group | Action |\n|---|---|---|\n");
    let mut table = String::new();
    for action in &plan.actions {
        let (sign, what) = match action {
            Action::Create { .. } => ("+", "create".to_owned()),
            Action::Update { changes, .. } => (
                "~",
                format!("update ({})", plural(changes.len(), "attribute")),
            ),
            Action::Orphan { .. } => ("-", "orphaned, left alone".to_owned()),
        };
        let _ = writeln!(table, "| `{sign}` | `{}` | {what} |", action.address());
    }
    let details = details(plan);
    let closing = "```\n\n</details>\n";
    let opening = "\n<details><summary>Show attribute changes</summary>\n\n```diff\n";
    let budget = MAX_LENGTH.saturating_sub(out.len() + opening.len() + closing.len() + 200);
    if table.len() > budget {
        let (kept, shown) = cut(&table, budget / 2);
        out.push_str(kept);
        let _ = writeln!(
            out,
            "\n_The plan is too long for one comment: {} of {} actions shown. Run `cityform plan` for the rest._",
            shown,
            plan.actions.len()
        );
        return out;
    }
    out.push_str(&table);
    out.push_str(opening);
    let remaining = budget - table.len();
    if details.len() > remaining {
        let (kept, shown) = cut(&details, remaining);
        out.push_str(kept);
        let _ = writeln!(
            out,
            "# ... truncated: details of {} more lines not shown; run `cityform plan` for all",
            details.lines().count() - shown
        );
    } else {
        out.push_str(&details);
    }
    out.push_str(closing);
    out
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// The longest prefix of whole lines within `budget` bytes, and how many lines it holds.
fn cut(text: &str, budget: usize) -> (&str, usize) {
    let mut end = 0;
    let mut lines = 0;
    for line in text.split_inclusive('\n') {
        if end + line.len() > budget {
            break;
        }
        end += line.len();
        lines += 1;
    }
    (&text[..end], lines)
}

fn details(plan: &Plan) -> String {
    let mut out = String::new();
    for action in &plan.actions {
        match action {
            Action::Create { address, spec, .. } => {
                let _ = writeln!(out, "+ {address} (create)");
                for (name, value) in spec.attributes() {
                    let shown = display_attribute(&name);
                    let _ = writeln!(out, "+     {shown} = {}", display_value(&name, &value));
                }
            }
            Action::Update {
                address,
                job_group_id,
                changes,
                ..
            } => {
                let job_group_id = printable(job_group_id);
                let _ = writeln!(out, "! {address} (update, id {job_group_id})");
                for change in changes {
                    let name = &change.attribute;
                    let shown = display_attribute(name);
                    if let Some(before) = &change.before {
                        let _ = writeln!(out, "-     {shown} = {}", display_value(name, before));
                    }
                    if let Some(after) = &change.after {
                        let _ = writeln!(out, "+     {shown} = {}", display_value(name, after));
                    }
                }
            }
            Action::Orphan {
                address,
                job_group_id,
                ..
            } => {
                let job_group_id = printable(job_group_id);
                let _ = writeln!(out, "# {address} (orphaned, id {job_group_id}): left alone");
            }
        }
    }
    out
}
