//! Every rendering cityform prints, for people and programs: pure functions from values to
//! strings, one file per thing rendered.
//!
//! - a plan: [`plan_text`] (the terminal), [`plan_json`] (the versioned schema),
//!   [`plan_markdown`] (a pull-request comment or CI step summary);
//! - an apply as it runs and its result: [`apply_text`] (lines and summary, JSON lines),
//!   [`apply_markdown`] (the CI step summary);
//! - [`history`]: `cityform history` and the "last applied from" notes;
//! - [`state`]: `cityform state list` and `state show`;
//! - [`refresh`]: what `cityform refresh` found.

pub mod apply_markdown;
pub mod apply_text;
pub mod comment;
pub mod history;
pub mod plan_json;
pub mod plan_markdown;
pub mod plan_text;
pub mod refresh;
pub mod state;
pub mod validation;

use std::collections::{BTreeMap, BTreeSet};

use crate::manifest::write;
use crate::model::{Address, Status, printable};
use crate::plan::{Action, AttributeChange, NameConflict, Plan, RenameHint, UnmanagedGroup};
use crate::provenance::Provenance;
use crate::state::{History, HistoryAction};

/// Where each group a plan updates or orphans was last applied from: what the renderers
/// quote as "last applied from 3f2a9c1 by ci/run 8812". Read from the history before
/// rendering (`reconcile::last_applied`), so that rendering stays pure; empty when nothing is
/// known.
///
/// A group whose last applied spec is the one `cityform import` found is quoted as imported:
/// no manifest was applied to it yet.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(from = "LastAppliedForm")]
pub struct LastApplied {
    by_address: BTreeMap<Address, Provenance>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    imported: BTreeSet<Address>,
}

/// What a saved plan may hold as [`LastApplied`]: the map alone, as plans saved before
/// imports were told apart hold it, or the whole value.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum LastAppliedForm {
    Whole {
        by_address: BTreeMap<Address, Provenance>,
        #[serde(default)]
        imported: BTreeSet<Address>,
    },
    Map(BTreeMap<Address, Provenance>),
}

impl From<LastAppliedForm> for LastApplied {
    fn from(form: LastAppliedForm) -> Self {
        match form {
            LastAppliedForm::Whole {
                by_address,
                imported,
            } => Self {
                by_address,
                imported,
            },
            LastAppliedForm::Map(by_address) => Self {
                by_address,
                imported: BTreeSet::new(),
            },
        }
    }
}

/// What a plan quotes about one group: the provenance of its last applied spec, and
/// whether that was an import rather than an apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote<'a> {
    /// Where, when and by whom.
    pub provenance: &'a Provenance,
    /// The spec is the one `cityform import` recorded.
    pub imported: bool,
}

impl LastApplied {
    /// The groups whose last applied provenance a plan shows: those `plan` updates or
    /// orphans. Reading the history of only these keeps most plans from touching it.
    pub fn quoted_by(plan: &Plan) -> std::collections::BTreeSet<Address> {
        plan.actions
            .iter()
            .filter(|action| quotes_last_applied(action))
            .map(|action| action.address().clone())
            .collect()
    }

    /// The provenance of the last action that applied a spec
    /// ([`History::last_applied`]) to each group `plan` updates or orphans.
    pub fn from_history(history: &History, plan: &Plan) -> Self {
        let mut quoted = Self::default();
        for action in plan
            .actions
            .iter()
            .filter(|action| quotes_last_applied(action))
        {
            let address = action.address();
            let Some(entry) = history.last_applied(address) else {
                continue;
            };
            if entry.action == HistoryAction::Import {
                quoted.imported.insert(address.clone());
            }
            quoted
                .by_address
                .insert(address.clone(), entry.provenance.clone());
        }
        quoted
    }

    /// What is known about `action`'s group, when it is an update or an orphan.
    pub fn for_action(&self, action: &Action) -> Option<Quote<'_>> {
        match action {
            Action::Update { .. } | Action::Orphan { .. } => {
                let address = action.address();
                self.by_address.get(address).map(|provenance| Quote {
                    provenance,
                    imported: self.imported.contains(address),
                })
            }
            _ => None,
        }
    }
}

/// Whether a plan shows where `action`'s group was last applied from.
fn quotes_last_applied(action: &Action) -> bool {
    matches!(action, Action::Update { .. } | Action::Orphan { .. })
}

/// The output formats every command that prints a plan or a result accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Human-readable text, coloured on a terminal.
    #[default]
    Text,
    /// Machine-readable JSON with a versioned schema (`docs/json-output.md`).
    Json,
    /// Markdown for a pull-request comment.
    Markdown,
}

/// The attributes whose values are numbers, shown without quotes.
fn is_numeric_attribute(attribute: &str) -> bool {
    matches!(attribute, "planedJobCount" | "streamPerJob" | "jobCount")
}

/// A value as the text and Markdown renderers show it: numbers bare, everything else quoted.
fn display_value(attribute: &str, value: &str) -> String {
    if is_numeric_attribute(attribute) {
        printable(value).into_owned()
    } else {
        format!("{value:?}")
    }
}

/// `Plan: 2 to create, 1 to update, 1 to start, 0 to stop, 0 to delete. 1 orphan left alone.`:
/// the summary line all formats share, of one shape whatever the counts. Two sentences follow
/// only when they have something to say: what changes in the state only
/// (`In the state only: 1 to move, 1 to import, 1 to forget, 2 protections to record.`) and
/// what the plan refuses (`Refused: 1 deletion (preventDestroy), 2 creates (the name exists).`).
fn summary_line(plan: &Plan) -> String {
    let summary = plan.summary();
    let (start, stop) = plan
        .actions
        .iter()
        .fold((0, 0), |(start, stop), action| match action {
            Action::SetStatus {
                to: Status::Running,
                ..
            } => (start + 1, stop),
            Action::SetStatus {
                to: Status::Stopped,
                ..
            } => (start, stop + 1),
            _ => (start, stop),
        });
    let mut line = format!(
        "Plan: {} to create, {} to update, {start} to start, {stop} to stop, {} to delete. {} left alone.",
        summary.create,
        summary.update,
        summary.delete,
        plural(summary.orphan, "orphan")
    );
    let mut state_only: Vec<String> = [
        (summary.moved, "to move"),
        (summary.imported, "to import"),
        (summary.forgotten, "to forget"),
    ]
    .into_iter()
    .filter(|(count, _)| *count > 0)
    .map(|(count, what)| format!("{count} {what}"))
    .collect();
    if summary.protect > 0 {
        state_only.push(format!(
            "{} to record",
            plural(summary.protect, "protection")
        ));
    }
    if !state_only.is_empty() {
        line.push_str(&format!(" In the state only: {}.", state_only.join(", ")));
    }
    let mut refused = Vec::new();
    if summary.blocked > 0 {
        refused.push(format!(
            "{} (preventDestroy)",
            plural(summary.blocked, "deletion")
        ));
    }
    if summary.conflict > 0 {
        refused.push(format!(
            "{} (the name exists)",
            plural(summary.conflict, "create")
        ));
    }
    if !refused.is_empty() {
        line.push_str(&format!(" Refused: {}.", refused.join(", ")));
    }
    line
}

/// The groups this plan creates and then starts, with the status each is given: their
/// create and their start are shown as one.
fn set_after_create(plan: &Plan) -> BTreeMap<&Address, Status> {
    plan.actions
        .iter()
        .filter_map(|action| match action {
            Action::SetStatus {
                address,
                job_group_id: None,
                to,
                ..
            } => Some((address, *to)),
            _ => None,
        })
        .collect()
}

/// Whether `action` is shown with its group's create rather than on its own.
fn shown_with_create(action: &Action) -> bool {
    matches!(
        action,
        Action::SetStatus {
            job_group_id: None,
            ..
        }
    )
}

/// `1 group`, `2 groups`.
/// A start's or stop's status before it, for display: the live value as the service spelled
/// it when that was not a settled one (quoted by `quote`, and said to be unknown when it is
/// none cityform knows), else the settled or recorded status, else `(unknown)`.
fn shown_status(
    from: Option<crate::model::Status>,
    observed: Option<&str>,
    quote: impl Fn(&str) -> String,
) -> String {
    match (observed, from) {
        (Some(text), Some(_)) => quote(text),
        (Some(text), None) => format!("{} (a status cityform does not know)", quote(text)),
        (None, Some(status)) => quote(status.as_str()),
        (None, None) => "(unknown)".to_owned(),
    }
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// The warning that `--target` or `--exclude` limited the plan, when one did.
fn targeted_note(plan: &Plan) -> Option<String> {
    let targeted = (!plan.targets.is_empty()).then(|| {
        format!(
            "Targeted plan: only {} considered; the rest of the manifests and state were not compared.",
            plural(plan.targets.len(), "group")
        )
    });
    let excluded = (!plan.excludes.is_empty()).then(|| {
        let listed: Vec<String> = plan
            .excludes
            .iter()
            .map(|address| format!("`{address}`"))
            .collect();
        format!(
            "Excluded from the plan ({}): {}; they were not compared.",
            plural(plan.excludes.len(), "group"),
            listed.join(", ")
        )
    });
    match (targeted, excluded) {
        (Some(targeted), Some(excluded)) => Some(format!("{targeted} {excluded}")),
        (one, other) => one.or(other),
    }
}

/// The note that the plan did not read the live groups, or the reason the refresh was
/// skipped, as given. `None` for a refreshed plan, and for one that is about no recorded
/// group (a first plan): reading the live groups could not have changed it, and the JSON
/// plan still tells programs why it was not refreshed.
fn refresh_note(plan: &Plan) -> Option<String> {
    if plan.refreshed || !reads_live_groups(plan) {
        return None;
    }
    match &plan.refresh_skipped_reason {
        Some(reason) => Some(reason.clone()),
        None if creates_any(plan) => Some(
            "Note: the live job groups were not read (--refresh=false); this plan compares the manifests with the state only, and cannot tell whether the job groups it creates already exist in the service."
                .to_owned(),
        ),
        None => Some(
            "Note: the live job groups were not read (--refresh=false); this plan compares the manifests with the state only."
                .to_owned(),
        ),
    }
}

/// Whether the plan creates a group.
fn creates_any(plan: &Plan) -> bool {
    plan.actions
        .iter()
        .any(|action| matches!(action, Action::Create { .. }))
}

/// Whether a refresh reads anything this plan depends on: the live self of a group the state
/// records, or the live names a create must not take. A plan with neither (only orphans) is
/// the same with or without one.
fn reads_live_groups(plan: &Plan) -> bool {
    plan.unchanged > 0
        || !plan.conflicts.is_empty()
        || plan.actions.iter().any(|action| match action {
            Action::SetStatus { job_group_id, .. } => job_group_id.is_some(),
            Action::Create { .. }
            | Action::Update { .. }
            | Action::Protect { .. }
            | Action::Delete { .. }
            | Action::BlockedDelete { .. }
            | Action::Move { .. } => true,
            // A refresh found it: the plan read the live groups.
            Action::Import { .. } => false,
            Action::Orphan { .. } | Action::Forget { .. } => false,
        })
}

/// What a plan says of a create it refused because a live group has the name: the sentence
/// (without the address) and the document to add instead.
fn conflict_advice(conflict: &NameConflict) -> (String, String) {
    let id = &conflict.live_job_group_id;
    match &conflict.managed_as {
        Some(from) => (
            format!(
                " cannot be created: job group {id} already has this name, and the state records it as `{from}`: it was renamed; add this document to rename it in place, keeping its id"
            ),
            written(write::moved_document(from, &conflict.address)),
        ),
        None => (
            format!(
                " cannot be created: job group {id} already has this name in the service, and no state records it; add this document to manage the existing group"
            ),
            written(write::import_document(&conflict.address, id)),
        ),
    }
}

/// What a plan says of an orphan that is probably `hint.to` renamed: the sentence and the
/// `Moved` document that keeps it (and its id) under the new name.
fn rename_advice(from: &Address, hint: &RenameHint) -> (String, String) {
    let sentence = if hint.same_live_name {
        format!(
            "its live name is already `{}`, which the manifests declare ({}): add this document so that it is renamed in place, keeping its id",
            hint.to.name, hint.source
        )
    } else {
        format!(
            "`{}` ({}) is new in its instance with exactly its spec: if it was renamed, add this document so that it is renamed in place instead of created again",
            hint.to, hint.source
        )
    };
    (sentence, written(write::moved_document(from, &hint.to)))
}

/// A written document, or why it could not be (never expected: the values are plain strings).
fn written(document: Result<String, write::WriteError>) -> String {
    document.unwrap_or_else(|error| format!("# {error}\n"))
}

/// How the live group differs from what cityform recorded, as a unified diff of two
/// `attribute = value` listings: the recorded values (`---`) and the live ones (`+++`).
/// Only the drifted attributes are listed; an attribute set on one side only is a line on
/// that side only.
pub fn drift_diff(drift: &[AttributeChange]) -> String {
    let listing = |value: fn(&AttributeChange) -> Option<&String>| -> String {
        drift
            .iter()
            .filter_map(|change| {
                value(change).map(|value| {
                    format!(
                        "{} = {}\n",
                        printable(&change.attribute),
                        display_value(&change.attribute, value)
                    )
                })
            })
            .collect()
    };
    let recorded = listing(|change| change.before.as_ref());
    let live = listing(|change| change.after.as_ref());
    similar::TextDiff::from_lines(&recorded, &live)
        .unified_diff()
        .header("recorded by cityform", "live")
        .to_string()
}

/// The sentence about one live group that no state records.
fn unmanaged_sentence(group: &UnmanagedGroup) -> String {
    format!(
        "{address} [id={id}] exists but no state records it; adopt it with `cityform import {address}` or delete it",
        address = group.address,
        id = group.job_group_id
    )
}

#[cfg(test)]
mod tests;

/// The plan with every text in it made printable, for the text and Markdown renderers: ids,
/// names and values come from state files, saved plans and answers, and an escape sequence in
/// one must not reach a terminal or a pull-request comment. Borrowed when nothing needs it.
fn printable_plan(plan: &Plan) -> std::borrow::Cow<'_, Plan> {
    fn escape(value: &mut serde_json::Value) -> bool {
        match value {
            serde_json::Value::String(text) => match printable(text) {
                std::borrow::Cow::Borrowed(_) => false,
                std::borrow::Cow::Owned(shown) => {
                    *text = shown;
                    true
                }
            },
            serde_json::Value::Array(items) => items
                .iter_mut()
                .fold(false, |changed, item| escape(item) | changed),
            serde_json::Value::Object(members) => {
                let mut changed = false;
                let keys: Vec<String> = members.keys().cloned().collect();
                for key in keys {
                    if let Some(mut member) = members.remove(&key) {
                        changed |= escape(&mut member);
                        let shown = printable(&key).into_owned();
                        changed |= shown != key;
                        members.insert(shown, member);
                    }
                }
                changed
            }
            _ => false,
        }
    }
    if !has_unprintable_text(plan) {
        return std::borrow::Cow::Borrowed(plan);
    }
    let Ok(mut value) = serde_json::to_value(plan) else {
        return std::borrow::Cow::Borrowed(plan);
    };
    if !escape(&mut value) {
        return std::borrow::Cow::Borrowed(plan);
    }
    serde_json::from_value(value).map_or(std::borrow::Cow::Borrowed(plan), std::borrow::Cow::Owned)
}

/// Whether any text in `plan` (a value or a key) needs escaping: one pass over its strings
/// through serde, building nothing, so that a plan without such text (nearly every plan) is
/// not copied into a JSON tree and back.
fn has_unprintable_text<T: serde::Serialize>(plan: &T) -> bool {
    /// Sees every string fragment and escape serde_json would write, and writes nothing.
    struct Detector<'a> {
        found: &'a mut bool,
    }
    impl serde_json::ser::Formatter for Detector<'_> {
        fn write_string_fragment<W: ?Sized + std::io::Write>(
            &mut self,
            _writer: &mut W,
            fragment: &str,
        ) -> std::io::Result<()> {
            *self.found |= matches!(printable(fragment), std::borrow::Cow::Owned(_));
            Ok(())
        }
        fn write_char_escape<W: ?Sized + std::io::Write>(
            &mut self,
            _writer: &mut W,
            escape: serde_json::ser::CharEscape,
        ) -> std::io::Result<()> {
            // JSON escapes quotes and backslashes, which are printable, and control
            // characters, which are not.
            use serde_json::ser::CharEscape;
            *self.found |= !matches!(
                escape,
                CharEscape::Quote | CharEscape::ReverseSolidus | CharEscape::Solidus
            );
            Ok(())
        }
    }
    let mut found = false;
    let mut serializer =
        serde_json::Serializer::with_formatter(std::io::sink(), Detector { found: &mut found });
    // A value that does not serialize is rendered as it is, as before.
    let serialized = plan.serialize(&mut serializer).is_ok();
    serialized && found
}
