//! The plan as Markdown, ready to paste (or post) as a pull-request comment.
//!
//! Notes come first (a targeted plan, a plan that did not read the live groups), then the
//! summary and a table for the overview; the attribute-level details, drift included, sit in
//! a collapsed `diff` block, and unmanaged groups in a list at the end. GitHub refuses
//! comments over 65,536 characters, so past [`MAX_LENGTH`] the details are cut with a note
//! that says how many actions were left out.

use std::fmt::Write as _;

use super::plan_text::ORPHAN_SIGN;
use super::{
    LastApplied, conflict_advice, display_value, plural, refresh_note, rename_advice,
    set_after_create, shown_status, shown_with_create, summary_line, targeted_note,
    unmanaged_sentence,
};
use crate::model::{JobGroupSpec, Status, printable};
use crate::plan::{Action, AttributeChange, Plan, UnmanagedGroup};
use crate::render::history::last_applied_markdown;

/// The longest comment this renderer produces.
pub const MAX_LENGTH: usize = 60_000;

/// How many unmanaged groups a comment lists; the rest are counted.
const MAX_UNMANAGED: usize = 50;

/// Renders a plan as Markdown.
pub fn render_plan(plan: &Plan) -> String {
    render_plan_with(plan, &LastApplied::default())
}

/// [`render_plan`], each update and orphan saying which commit last applied it (linked
/// when the repository is known), as far as `last_applied` knows.
pub fn render_plan_with(plan: &Plan, last_applied: &LastApplied) -> String {
    render_plan_within(plan, last_applied, MAX_LENGTH)
}

/// [`render_plan_with`], cut past `max_length` bytes instead of [`MAX_LENGTH`]: with
/// `usize::MAX`, whole, for a caller that splits it into several comments itself.
pub fn render_plan_within(plan: &Plan, last_applied: &LastApplied, max_length: usize) -> String {
    let shown = super::printable_plan(plan);
    let plan: &Plan = &shown;
    let mut out = String::from("### cityform plan\n\n");
    for note in [targeted_note(plan), refresh_note(plan)]
        .into_iter()
        .flatten()
    {
        let _ = writeln!(out, "> {note}\n");
    }
    let drifted = plan
        .actions
        .iter()
        .filter(|action| matches!(action, Action::Update { drift, .. } if !drift.is_empty()))
        .count();
    if drifted > 0 {
        let _ = writeln!(
            out,
            "> **Changed outside cityform:** {} drifted since the last apply (see the details); the updates below set {} back to what the manifests say.\n",
            plural(drifted, "job group"),
            if drifted == 1 { "it" } else { "them" }
        );
    }
    let unmanaged = unmanaged(plan);
    if plan.is_empty() {
        let _ = writeln!(
            out,
            "**No changes.** The job groups match the manifests ({} unchanged).",
            plan.unchanged
        );
        out.push_str(&unmanaged);
        return out;
    }
    let summary = plan.summary();
    let _ = writeln!(
        out,
        "**{}** {} unchanged.\n",
        summary_line(plan),
        summary.unchanged
    );
    if summary.blocked > 0 {
        let _ = writeln!(
            out,
            "**This plan cannot be applied:** preventDestroy refuses {} (marked `!`).\n",
            plural(summary.blocked, "deletion")
        );
    }
    out.push_str(&conflicts(plan));
    if plan.actions.is_empty() {
        out.push_str(&unmanaged);
        return out;
    }
    out.push_str("| | Job group | Action |\n|---|---|---|\n");
    let mut table = String::new();
    let set_after_create = set_after_create(plan);
    for action in plan
        .actions
        .iter()
        .filter(|action| !shown_with_create(action))
    {
        let (sign, mut what) = table_row(action);
        if let Some(to) = set_after_create.get(action.address()) {
            let _ = write!(what, ", then {}", status_verb(*to));
        }
        if let Some(quote) = last_applied.for_action(action) {
            what.push_str("; ");
            what.push_str(&last_applied_markdown(quote));
        }
        let _ = writeln!(table, "| `{sign}` | `{}` | {what} |", action.address());
    }
    let details = details(plan);
    let closing = "```\n\n</details>\n";
    let opening = "\n<details><summary>Show attribute changes</summary>\n\n```diff\n";
    let budget = max_length
        .saturating_sub(out.len() + opening.len() + closing.len() + unmanaged.len() + 200);
    if table.len() > budget {
        let (kept, shown) = cut(&table, budget / 2);
        out.push_str(kept);
        let _ = writeln!(
            out,
            "\n_The plan is too long for one comment: {} of {} actions shown. Run `cityform plan` for the rest._",
            shown,
            table.lines().count()
        );
        out.push_str(&unmanaged);
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
    out.push_str(&unmanaged);
    out
}

/// The creates refused because live groups have their names: a paragraph saying the plan
/// cannot be applied, and each group with the document to add.
fn conflicts(plan: &Plan) -> String {
    let mut out = String::new();
    if plan.conflicts.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "**This plan cannot be applied:** the service would refuse {}: the names exist.\n",
        plural(plan.conflicts.len(), "create")
    );
    for conflict in &plan.conflicts {
        let (sentence, document) = conflict_advice(conflict);
        let _ = writeln!(
            out,
            "- `{}` (`{}`){sentence}:\n\n  ```yaml",
            conflict.address, conflict.source
        );
        for line in document.lines() {
            let _ = writeln!(out, "  {line}");
        }
        out.push_str("  ```\n");
    }
    out.push('\n');
    out
}

/// The sign and the words of an action's row in the table.
fn table_row(action: &Action) -> (&'static str, String) {
    match action {
        Action::Create {
            replaces_id: Some(id),
            ..
        } => (
            "+",
            format!("create again: deleted outside cityform (id {id} no longer exists)"),
        ),
        Action::Create { .. } => ("+", "create".to_owned()),
        Action::Update { changes, drift, .. } => {
            let mut what = format!("update ({})", plural(changes.len(), "attribute"));
            if changes.iter().any(|change| change.attribute == "name") {
                what.push_str(", renamed");
            }
            if !drift.is_empty() {
                what.push_str("; **drifted**: changed outside cityform");
            }
            ("~", what)
        }
        Action::Orphan {
            renamed_to: Some(hint),
            ..
        } => (
            ORPHAN_SIGN,
            format!(
                "orphaned, left alone; renamed to `{}`? add a `Moved` document (see the details)",
                hint.to
            ),
        ),
        Action::Orphan { .. } => (ORPHAN_SIGN, "orphaned, left alone".to_owned()),
        Action::SetStatus {
            job_group_id,
            from,
            observed,
            to,
            ..
        } => {
            let verb = match to {
                Status::Running => "start",
                Status::Stopped => "stop",
            };
            let after_create = if job_group_id.is_none() {
                " once created"
            } else {
                ""
            };
            let from = shown_status(*from, observed.as_deref(), str::to_owned);
            ("~", format!("{verb}{after_create} ({from} → {to})"))
        }
        Action::Protect {
            prevent_destroy: true,
            ..
        } => (
            "~",
            "record preventDestroy: deleting it will be refused".to_owned(),
        ),
        Action::Protect { .. } => (
            "~",
            "lift preventDestroy: `--prune` may delete it".to_owned(),
        ),
        Action::Delete { .. } => (
            "-",
            "**delete**: in no manifest, and `--prune` was given".to_owned(),
        ),
        Action::BlockedDelete { .. } => (
            "!",
            "**cannot be deleted**: in no manifest, but preventDestroy is recorded".to_owned(),
        ),
        Action::Move { from, source, .. } => (
            ">",
            format!("move in the state from `{from}` (`Moved` at {source})"),
        ),
        Action::Import { source, .. } => (
            "<",
            format!("import: record the existing group, create nothing (`Import` at {source})"),
        ),
        Action::Forget { source, .. } => (
            "#",
            format!(
                "forget: the state stops managing it, it keeps running (`Removed` at {source})"
            ),
        ),
    }
}

/// The unmanaged groups as a list after everything else; empty when there are none.
fn unmanaged(plan: &Plan) -> String {
    if plan.unmanaged.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "\n**{} in the refreshed instances that no state records:**\n\n",
        plural(plan.unmanaged.len(), "job group")
    );
    for group in plan.unmanaged.iter().take(MAX_UNMANAGED) {
        let _ = writeln!(out, "- {}", unmanaged_item(group));
    }
    if plan.unmanaged.len() > MAX_UNMANAGED {
        let _ = writeln!(
            out,
            "- _and {} more; run `cityform plan --show-unmanaged` for all_",
            plan.unmanaged.len() - MAX_UNMANAGED
        );
    }
    out
}

/// The sentence about an unmanaged group, with its address in code style.
fn unmanaged_item(group: &UnmanagedGroup) -> String {
    let address = group.address.to_string();
    unmanaged_sentence(group).replacen(&address, &format!("`{address}`"), 1)
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

/// `start`, `stop`.
fn status_verb(to: Status) -> &'static str {
    match to {
        Status::Running => "start",
        Status::Stopped => "stop",
    }
}

/// The body of the `diff` block: per action, a header line (`+` create, `-` delete, `!`
/// change, `#` remark) and its attribute lines.
fn details(plan: &Plan) -> String {
    let mut out = String::new();
    let set_after_create = set_after_create(plan);
    for action in plan
        .actions
        .iter()
        .filter(|action| !shown_with_create(action))
    {
        let then = set_after_create.get(action.address()).copied();
        action_details(&mut out, action, then);
    }
    out
}

/// One action's lines of the `diff` block; `then` is the status a created group is given
/// right after.
fn action_details(out: &mut String, action: &Action, then: Option<Status>) {
    match action {
        Action::Create {
            address,
            spec,
            replaces_id,
            prevent_destroy,
            ..
        } => {
            let and_then = then.map_or(String::new(), |to| {
                format!(", then {}", to.setting_action())
            });
            match replaces_id {
                Some(id) => {
                    let _ = writeln!(
                        out,
                        "+ {address} (create again: id {id} was deleted outside cityform{and_then})"
                    );
                }
                None => {
                    let _ = writeln!(out, "+ {address} (create{and_then})");
                }
            }
            attribute_lines(out, '+', spec);
            if let Some(to) = then {
                let _ = writeln!(out, "+     status = {to}");
            }
            if *prevent_destroy {
                let _ = writeln!(out, "#     preventDestroy: deleting it will be refused");
            }
        }
        Action::Update {
            address,
            job_group_id,
            changes,
            drift,
            ..
        } => {
            if !drift.is_empty() {
                let _ = writeln!(
                    out,
                    "# {address} has drifted: changed outside cityform since the last apply (recorded by cityform, then live)"
                );
                change_lines(out, drift, &[]);
            }
            let _ = writeln!(out, "! {address} (update, id {job_group_id})");
            change_lines(out, changes, drift);
        }
        Action::Orphan {
            address,
            job_group_id,
            renamed_to,
            ..
        } => {
            let _ = writeln!(
                out,
                "# {address} (orphaned, id {job_group_id}): in no manifest, left alone"
            );
            if let Some(hint) = renamed_to {
                let (sentence, document) = rename_advice(address, hint);
                let _ = writeln!(out, "# {sentence}:");
                for line in document.lines() {
                    let _ = writeln!(out, "#   {line}");
                }
            }
        }
        Action::SetStatus {
            address,
            job_group_id,
            from,
            observed,
            to,
            ..
        } => {
            let call = to.setting_action();
            let id = job_group_id
                .as_ref()
                .map_or("known after create".to_owned(), |id| format!("id {id}"));
            let from = shown_status(*from, observed.as_deref(), str::to_owned);
            let _ = writeln!(out, "! {address} ({call}, {id})");
            let _ = writeln!(out, "-     status = {from}");
            let _ = writeln!(out, "+     status = {to}");
        }
        Action::Protect {
            address,
            job_group_id,
            prevent_destroy,
            ..
        } => {
            let _ = writeln!(
                out,
                "! {address} (id {job_group_id}: recorded in the state, nothing is sent)"
            );
            let _ = writeln!(out, "-     lifecycle.preventDestroy = {}", !prevent_destroy);
            let _ = writeln!(out, "+     lifecycle.preventDestroy = {prevent_destroy}");
        }
        Action::Delete {
            address,
            job_group_id,
            spec,
        } => {
            let _ = writeln!(out, "- {address} (delete, id {job_group_id})");
            attribute_lines(out, '-', spec);
        }
        Action::BlockedDelete {
            address,
            job_group_id,
        } => {
            let _ = writeln!(
                out,
                "! {address} (id {job_group_id}): cannot be deleted, preventDestroy is recorded"
            );
        }
        Action::Move {
            address,
            from,
            job_group_id,
            source,
        } => {
            let _ = writeln!(
                out,
                "# {address} (id {job_group_id}): moved in the state from {from}, nothing is sent ({source})"
            );
        }
        Action::Import {
            address,
            job_group_id,
            live_name,
            source,
            ..
        } => {
            let _ = writeln!(
                out,
                "# {address} (id {job_group_id}): imported into the state, live name {}, nothing is created ({source})",
                printable(live_name)
            );
        }
        Action::Forget {
            address,
            job_group_id,
            source,
        } => {
            let _ = writeln!(
                out,
                "# {address} (id {job_group_id}): forgotten by the state, it keeps running ({source})"
            );
        }
    }
}

/// Every attribute of `spec`, one `sign     name = value` line each.
fn attribute_lines(out: &mut String, sign: char, spec: &JobGroupSpec) {
    for (name, value) in spec.attributes() {
        let _ = writeln!(
            out,
            "{sign}     {} = {}",
            printable(&name),
            display_value(&name, &value)
        );
    }
}

/// Each change as the value it had (`-`) and the value it gets (`+`); the value of an
/// attribute in `drift` is said to have been changed outside cityform.
fn change_lines(out: &mut String, changes: &[AttributeChange], drift: &[AttributeChange]) {
    for change in changes {
        let name = &change.attribute;
        let outside = if drift.iter().any(|drifted| drifted.attribute == *name) {
            " (changed outside cityform)"
        } else {
            ""
        };
        for (sign, value, note) in [('-', &change.before, outside), ('+', &change.after, "")] {
            if let Some(value) = value {
                let _ = writeln!(
                    out,
                    "{sign}     {} = {}{note}",
                    printable(name),
                    display_value(name, value)
                );
            }
        }
    }
}
