//! The plan as terminal text, in the shape Terraform users already read at a glance.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};

use super::{
    LastApplied, conflict_advice, display_value, plural, refresh_note, rename_advice,
    set_after_create, shown_status, shown_with_create, summary_line, targeted_note,
    unmanaged_sentence,
};
use crate::manifest::SourceLocation;
use crate::model::{Address, JobGroupSpec, Status, printable};
use crate::plan::{Action, AttributeChange, Plan, RenameHint};
use crate::render::Quote;
use crate::render::history::last_applied_text;

/// Whether to colour the output; decided by the caller from the terminal and `NO_COLOR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    /// ANSI colours.
    Always,
    /// Plain text.
    Never,
}

struct Painter {
    color: Color,
}

impl Painter {
    fn paint(&self, color: AnsiColor, text: &str) -> String {
        match self.color {
            Color::Never => text.to_owned(),
            Color::Always => {
                let style = Style::new().fg_color(Some(color.into()));
                format!("{style}{text}{style:#}")
            }
        }
    }

    fn bold(&self, text: &str) -> String {
        match self.color {
            Color::Never => text.to_owned(),
            Color::Always => {
                let style = Style::new().bold();
                format!("{style}{text}{style:#}")
            }
        }
    }
}

/// Renders a plan: a targeted plan's warning, drift, the actions, unmanaged groups, whether
/// the live groups were read, then the summary as the last line. With nothing to do, the
/// plan starts with `No changes.` instead of the actions (after the warning and drift).
pub fn render_plan(plan: &Plan, color: Color) -> String {
    render_plan_with(plan, color, &LastApplied::default())
}

/// [`render_plan`], with a `# last applied from …` line under each update and orphan whose
/// last applied commit `last_applied` knows.
pub fn render_plan_with(plan: &Plan, color: Color, last_applied: &LastApplied) -> String {
    let shown = super::printable_plan(plan);
    let plan: &Plan = &shown;
    let painter = Painter { color };
    let mut out = String::new();
    if let Some(note) = targeted_note(plan) {
        let _ = writeln!(out, "{}\n", painter.bold(&note));
    }
    render_drift(&mut out, plan, &painter);
    // Not having read the live groups qualifies the conclusion, so it is said next to it.
    let refresh_note = refresh_note(plan).map(|note| format!("\n{note}\n"));
    if plan.is_empty() {
        let _ = writeln!(
            out,
            "{} The job groups match the manifests ({} unchanged).",
            painter.bold("No changes."),
            plan.unchanged
        );
        render_unmanaged(&mut out, plan, &painter);
        out.push_str(refresh_note.as_deref().unwrap_or_default());
        return out;
    }
    if !plan.actions.is_empty() {
        out.push_str("cityform will perform the following actions:\n");
    }
    let set_after_create = set_after_create(plan);
    for action in &plan.actions {
        if shown_with_create(action) {
            continue;
        }
        out.push('\n');
        let then = set_after_create.get(action.address()).copied();
        render_action(
            &mut out,
            action,
            &painter,
            last_applied.for_action(action),
            then,
        );
    }
    render_conflicts(&mut out, plan, &painter);
    render_unmanaged(&mut out, plan, &painter);
    out.push_str(refresh_note.as_deref().unwrap_or_default());
    let summary = plan.summary();
    if summary.blocked > 0 {
        let _ = writeln!(
            out,
            "\n{} preventDestroy refuses {} (marked `!` above).",
            painter.paint(AnsiColor::Red, "This plan cannot be applied:"),
            plural(summary.blocked, "deletion")
        );
    }
    if summary.conflict > 0 {
        let _ = writeln!(
            out,
            "\n{} the service would refuse {}: the names exist (marked `!` above).",
            painter.paint(AnsiColor::Red, "This plan cannot be applied:"),
            plural(summary.conflict, "create")
        );
    }
    let _ = writeln!(
        out,
        "\n{} {} unchanged.",
        painter.bold(&summary_line(plan)),
        summary.unchanged
    );
    out
}

/// Changes made outside cityform, before the actions that undo them (as Terraform shows
/// "Objects have changed outside of Terraform"), in the attribute style of an update: what
/// cityform recorded `->` what the service has now.
fn render_drift(out: &mut String, plan: &Plan, painter: &Painter) {
    let drifted: Vec<(&Address, &str, &[AttributeChange])> = plan
        .actions
        .iter()
        .filter_map(|action| match action {
            Action::Update {
                address,
                job_group_id,
                drift,
                ..
            } if !drift.is_empty() => Some((address, job_group_id.as_str(), drift.as_slice())),
            _ => None,
        })
        .collect();
    if drifted.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "{} job groups changed outside cityform since the last apply:",
        painter.bold("Note:")
    );
    for (address, job_group_id, drift) in drifted {
        let _ = writeln!(
            out,
            "\n  # {} has drifted: recorded by cityform -> live",
            painter.bold(&address.to_string())
        );
        let _ = writeln!(
            out,
            "  {} job_group \"{address}\" {{",
            painter.paint(AnsiColor::Yellow, "~")
        );
        let width = padded_width(
            std::iter::once("id").chain(drift.iter().map(|change| change.attribute.as_str())),
        );
        let _ = writeln!(out, "        {:<width$} = {job_group_id:?}", "id");
        render_changes(out, drift, &[], width, painter);
        out.push_str("    }\n");
    }
    out.push_str(
        "\nThe updates below set these attributes back to what the manifests say. To keep a change\nmade outside cityform, write it into the manifest, or list the attribute in\n`lifecycle.ignoreChanges`.\n\n",
    );
}

/// Creates the plan refused because live groups have their names, each with the document
/// that fixes it.
fn render_conflicts(out: &mut String, plan: &Plan, painter: &Painter) {
    if plan.conflicts.is_empty() {
        return;
    }
    if !plan.actions.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "{}",
        painter.bold(&format!(
            "cityform cannot create {}: the names already exist in the service:",
            plural(plan.conflicts.len(), "job group")
        ))
    );
    for conflict in &plan.conflicts {
        let (sentence, document) = conflict_advice(conflict);
        let located = painter.paint(AnsiColor::BrightBlack, &format!("({})", conflict.source));
        let _ = writeln!(
            out,
            "\n  # {}{sentence} {located}",
            painter.bold(&conflict.address.to_string())
        );
        let _ = writeln!(
            out,
            "  {} job_group \"{}\" {{ id = {:?} }}",
            painter.paint(AnsiColor::Red, "!"),
            conflict.address,
            conflict.live_job_group_id
        );
        render_document(out, &document);
    }
}

/// A manifest document to add, as comment lines under a block.
fn render_document(out: &mut String, document: &str) {
    for line in document.lines() {
        let _ = writeln!(out, "    #   {line}");
    }
}

/// Live groups that no state records, when `--show-unmanaged` asked for them.
fn render_unmanaged(out: &mut String, plan: &Plan, painter: &Painter) {
    if plan.unmanaged.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n{}\n",
        painter.bold(&format!(
            "{} in the refreshed instances that no state records (--show-unmanaged):",
            plural(plan.unmanaged.len(), "job group")
        ))
    );
    for group in &plan.unmanaged {
        let _ = writeln!(out, "  # {}", unmanaged_sentence(group));
    }
}

/// One action's block; `then` is the status a created group is given right after.
fn render_action(
    out: &mut String,
    action: &Action,
    painter: &Painter,
    last_applied: Option<Quote<'_>>,
    then: Option<Status>,
) {
    let mut block = Block {
        out,
        painter,
        last_applied,
    };
    match action {
        Action::Create {
            address,
            spec,
            source,
            replaces_id,
            prevent_destroy,
        } => block.create(
            address,
            spec,
            source,
            replaces_id.as_deref(),
            *prevent_destroy,
            then,
        ),
        Action::Update {
            address,
            job_group_id,
            changes,
            drift,
            source,
            ..
        } => block.update(address, job_group_id, changes, drift, source),
        Action::Orphan {
            address,
            job_group_id,
            renamed_to,
            ..
        } => block.orphan(address, job_group_id, renamed_to.as_ref()),
        Action::SetStatus {
            address,
            job_group_id,
            from,
            observed,
            to,
            source,
        } => block.set_status(
            address,
            job_group_id.as_deref(),
            *from,
            observed.as_deref(),
            *to,
            source.as_ref(),
        ),
        Action::Protect {
            address,
            job_group_id,
            prevent_destroy,
            ..
        } => block.protect(address, job_group_id, *prevent_destroy),
        Action::Delete {
            address,
            job_group_id,
            spec,
        } => block.delete(address, job_group_id, spec),
        Action::BlockedDelete {
            address,
            job_group_id,
        } => block.blocked_delete(address, job_group_id),
        Action::Move {
            address,
            from,
            job_group_id,
            source,
        } => block.moved(address, from, job_group_id, source),
        Action::Import {
            address,
            job_group_id,
            live_name,
            spec,
            status,
            source,
        } => block.import(address, job_group_id, live_name, spec, *status, source),
        Action::Forget {
            address,
            job_group_id,
            source,
        } => block.forget(address, job_group_id, source),
    }
}

/// One action's block of the plan: a `#` header saying what happens (and where the group was
/// last applied from), then the group's attributes.
struct Block<'a> {
    out: &'a mut String,
    painter: &'a Painter,
    last_applied: Option<Quote<'a>>,
}

impl Block<'_> {
    fn header(&mut self, address: &Address, what: &str) {
        let _ = writeln!(
            self.out,
            "  # {}{what}",
            self.painter.bold(&address.to_string())
        );
        if let Some(quote) = self.last_applied {
            let note = format!("# {}", last_applied_text(quote));
            let _ = writeln!(
                self.out,
                "  {}",
                self.painter.paint(AnsiColor::BrightBlack, &note)
            );
        }
    }

    fn opening(&mut self, sign: &str, color: AnsiColor, address: &Address) {
        let _ = writeln!(
            self.out,
            "  {} job_group \"{address}\" {{",
            self.painter.paint(color, sign)
        );
    }

    fn located(&self, source: &SourceLocation) -> String {
        self.painter
            .paint(AnsiColor::BrightBlack, &format!("({source})"))
    }

    fn create(
        &mut self,
        address: &Address,
        spec: &JobGroupSpec,
        source: &SourceLocation,
        replaces_id: Option<&str>,
        prevent_destroy: bool,
        then: Option<Status>,
    ) {
        let mut what = match replaces_id {
            Some(id) => format!(
                " was deleted outside cityform (id {id} no longer exists) and will be created again"
            ),
            None => " will be created".to_owned(),
        };
        if let Some(to) = then {
            let _ = write!(what, ", then {} ({})", status_verb(to), to.setting_action());
        }
        let located = self.located(source);
        self.header(address, &format!("{what} {located}"));
        self.opening("+", AnsiColor::Green, address);
        let mut attributes = spec_attributes(spec);
        if let Some(to) = then {
            // The service creates groups stopped: the status is set by a call of its own.
            attributes.push((
                "status".to_owned(),
                format!("{:?} (once created)", to.as_str()),
            ));
        }
        render_listing(self.out, &attributes, "+", AnsiColor::Green, self.painter);
        if prevent_destroy {
            self.out
                .push_str("      # preventDestroy: deleting it will be refused\n");
        }
        self.out.push_str("    }\n");
    }

    fn update(
        &mut self,
        address: &Address,
        job_group_id: &str,
        changes: &[AttributeChange],
        drift: &[AttributeChange],
        source: &SourceLocation,
    ) {
        let renamed = changes
            .iter()
            .find(|change| change.attribute == "name")
            .and_then(|change| change.before.as_ref())
            .map_or(String::new(), |old| format!(": renamed from {old:?}"));
        let located = self.located(source);
        self.header(
            address,
            &format!(" will be updated in place{renamed} {located}"),
        );
        self.opening("~", AnsiColor::Yellow, address);
        let width = padded_width(
            std::iter::once("id").chain(changes.iter().map(|change| change.attribute.as_str())),
        );
        let _ = writeln!(self.out, "        {:<width$} = {job_group_id:?}", "id");
        render_changes(self.out, changes, drift, width, self.painter);
        self.out.push_str("    }\n");
    }

    fn orphan(&mut self, address: &Address, job_group_id: &str, renamed_to: Option<&RenameHint>) {
        self.header(
            address,
            " is orphaned: it is in the state but in no manifest, and is left alone",
        );
        let _ = writeln!(
            self.out,
            "  {} job_group \"{address}\" {{ id = {job_group_id:?} }}",
            self.painter.paint(AnsiColor::Magenta, ORPHAN_SIGN)
        );
        match renamed_to {
            Some(hint) => {
                let (sentence, document) = rename_advice(address, hint);
                let _ = writeln!(self.out, "    # {sentence}:");
                render_document(self.out, &document);
            }
            None => self.out.push_str(
                "    # delete it with --prune, or forget it with a `Removed` document (or `cityform state rm`)\n",
            ),
        }
    }

    fn set_status(
        &mut self,
        address: &Address,
        job_group_id: Option<&str>,
        from: Option<Status>,
        observed: Option<&str>,
        to: Status,
        source: Option<&SourceLocation>,
    ) {
        let verb = status_verb(to);
        let call = to.setting_action();
        let after_create = if job_group_id.is_none() {
            " once created"
        } else {
            ""
        };
        let located = source.map_or(String::new(), |source| format!(" {}", self.located(source)));
        self.header(
            address,
            &format!(" will be {verb}{after_create} ({call}){located}"),
        );
        self.opening("~", AnsiColor::Yellow, address);
        let id = job_group_id.map_or("(known after create)".to_owned(), |id| format!("{id:?}"));
        let from = shown_status(from, observed, |text| format!("{text:?}"));
        let _ = writeln!(self.out, "        id     = {id}");
        let _ = writeln!(
            self.out,
            "      {} status = {from} -> {:?}",
            self.painter.paint(AnsiColor::Yellow, "~"),
            to.as_str()
        );
        self.out.push_str("    }\n");
    }

    fn protect(&mut self, address: &Address, job_group_id: &str, prevent_destroy: bool) {
        let what = if prevent_destroy {
            ": its protection will be recorded in the state, so that deleting it is refused (nothing is sent)"
        } else {
            ": its protection will be lifted in the state, so that --prune may delete it (nothing is sent)"
        };
        self.header(address, what);
        self.opening("~", AnsiColor::Yellow, address);
        let _ = writeln!(
            self.out,
            "        id                       = {job_group_id:?}"
        );
        let _ = writeln!(
            self.out,
            "      {} lifecycle.preventDestroy = {} -> {prevent_destroy}",
            self.painter.paint(AnsiColor::Yellow, "~"),
            !prevent_destroy
        );
        self.out.push_str("    }\n");
    }

    fn delete(&mut self, address: &Address, job_group_id: &str, spec: &JobGroupSpec) {
        let deleted = self.painter.paint(AnsiColor::Red, "deleted");
        self.header(
            address,
            &format!(" will be {deleted}: it is in no manifest and --prune was given"),
        );
        self.opening("-", AnsiColor::Red, address);
        let mut attributes = vec![("id".to_owned(), format!("{job_group_id:?}"))];
        attributes.extend(spec.attributes().into_iter().map(|(name, value)| {
            let shown = display_value(&name, &value);
            (name, shown)
        }));
        render_listing(self.out, &attributes, "-", AnsiColor::Red, self.painter);
        self.out.push_str("    }\n");
    }

    fn moved(
        &mut self,
        address: &Address,
        from: &Address,
        job_group_id: &str,
        source: &SourceLocation,
    ) {
        let located = self.located(source);
        self.header(
            address,
            &format!(" will be moved in the state from {from} (nothing is sent) {located}"),
        );
        let _ = writeln!(
            self.out,
            "  {} job_group \"{from}\" -> \"{address}\" {{ id = {job_group_id:?} }}",
            self.painter.paint(AnsiColor::Cyan, ">")
        );
    }

    fn import(
        &mut self,
        address: &Address,
        job_group_id: &str,
        live_name: &str,
        spec: &JobGroupSpec,
        status: Option<Status>,
        source: &SourceLocation,
    ) {
        let located = self.located(source);
        self.header(
            address,
            &format!(" will be imported: the state records the existing group, nothing is created {located}"),
        );
        self.opening("<", AnsiColor::Cyan, address);
        let mut attributes = vec![
            ("id".to_owned(), format!("{job_group_id:?}")),
            ("name".to_owned(), format!("{live_name:?}")),
        ];
        attributes.extend(spec.attributes().into_iter().map(|(name, value)| {
            let shown = display_value(&name, &value);
            (name, shown)
        }));
        if let Some(status) = status {
            attributes.push(("status".to_owned(), format!("{:?}", status.as_str())));
        }
        render_listing(self.out, &attributes, " ", AnsiColor::Cyan, self.painter);
        self.out.push_str("    }\n");
    }

    fn forget(&mut self, address: &Address, job_group_id: &str, source: &SourceLocation) {
        let located = self.located(source);
        self.header(
            address,
            &format!(
                " will be forgotten: the state stops managing it, and it keeps running {located}"
            ),
        );
        let _ = writeln!(
            self.out,
            "  {} job_group \"{address}\" {{ id = {job_group_id:?} }}",
            self.painter.paint(AnsiColor::Cyan, "#")
        );
    }

    fn blocked_delete(&mut self, address: &Address, job_group_id: &str) {
        let refused = self.painter.paint(AnsiColor::Red, "cannot be deleted");
        self.header(
            address,
            &format!(
                " {refused}: it is in no manifest, but the state records preventDestroy for it"
            ),
        );
        let _ = writeln!(
            self.out,
            "  {} job_group \"{address}\" {{ id = {job_group_id:?} }}",
            self.painter.paint(AnsiColor::Red, "!")
        );
        self.out.push_str(
            "    # to keep it, declare it again or plan without --prune; to delete it, declare it\n    # again with `lifecycle.preventDestroy: false`, apply, then remove it\n",
        );
    }
}

/// The sign of an orphan, which is left alone: neither a change nor a delete.
pub const ORPHAN_SIGN: &str = "?";

/// `started`, `stopped`.
fn status_verb(to: Status) -> &'static str {
    match to {
        Status::Running => "started",
        Status::Stopped => "stopped",
    }
}

fn padded_width<'a>(names: impl Iterator<Item = &'a str>) -> usize {
    names.map(str::len).max().unwrap_or(0)
}

/// Every attribute of `spec` with its value as shown.
fn spec_attributes(spec: &JobGroupSpec) -> Vec<(String, String)> {
    spec.attributes()
        .into_iter()
        .map(|(name, value)| {
            let shown = display_value(&name, &value);
            (name, shown)
        })
        .collect()
}

/// `name = value` lines, names padded to one width, values already as shown.
fn render_listing(
    out: &mut String,
    attributes: &[(String, String)],
    sign: &str,
    color: AnsiColor,
    painter: &Painter,
) {
    let width = padded_width(attributes.iter().map(|(name, _)| name.as_str()));
    for (name, value) in attributes {
        let name = printable(name);
        let _ = writeln!(
            out,
            "      {} {name:<width$} = {value}",
            painter.paint(color, sign)
        );
    }
}

/// The lines of attribute changes, names padded to `width`; a change of an attribute in
/// `drift` says it was changed outside cityform.
fn render_changes(
    out: &mut String,
    changes: &[AttributeChange],
    drift: &[AttributeChange],
    width: usize,
    painter: &Painter,
) {
    for change in changes {
        let name = &change.attribute;
        let (sign, color, value) = match (&change.before, &change.after) {
            (Some(before), Some(after)) => (
                "~",
                AnsiColor::Yellow,
                format!(
                    "{} -> {}",
                    display_value(name, before),
                    display_value(name, after)
                ),
            ),
            (None, Some(after)) => ("+", AnsiColor::Green, display_value(name, after)),
            (Some(before), None) => (
                "-",
                AnsiColor::Red,
                format!("{} -> (unset)", display_value(name, before)),
            ),
            (None, None) => continue,
        };
        let outside = if drift.iter().any(|drifted| drifted.attribute == *name) {
            " (changed outside cityform)"
        } else {
            ""
        };
        let name = printable(name);
        let _ = writeln!(
            out,
            "      {} {name:<width$} = {value}{outside}",
            painter.paint(color, sign)
        );
    }
}
