//! The `Moved`, `Import` and `Removed` documents against the state and the live groups:
//! which of them still change what the state records, the actions that do it, and the
//! recorded groups as the rest of the plan compares them (moves made, imports added,
//! removals taken out). Pure, like the rest of the planner.
//!
//! A declaration already carried out changes nothing: a move whose `from` the state no
//! longer records, an import whose address it records with that id, a removal of an
//! address it does not record. That is what lets the documents stay in the repository.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use super::action::Action;
use super::diff::PlanOptions;
use super::observed::Observed;
use crate::manifest::{Desired, MoveDeclaration, SourceLocation};
use crate::model::{Address, LiveStatus};
use crate::state::StateEntry;

/// A declaration the plan cannot carry out, at the document that declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclarationError {
    /// Where the document starts.
    pub source: SourceLocation,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub hint: String,
}

impl fmt::Display for DeclarationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: error: {}\n  hint: {}",
            self.source, self.message, self.hint
        )
    }
}

/// Every declaration of a plan that cannot be carried out: the plan is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DeclarationErrors(pub Vec<DeclarationError>);

impl fmt::Display for DeclarationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for error in &self.0 {
            writeln!(f, "{error}")?;
        }
        let count = self.0.len();
        write!(
            f,
            "{count} {} cannot be planned",
            if count == 1 { "document" } else { "documents" }
        )
    }
}

/// What the declarations come to against one state and refresh.
#[derive(Debug)]
pub(super) struct Resolved<'s> {
    /// The recorded groups as the plan compares them; borrowed when no declaration changes
    /// anything.
    pub recorded: Cow<'s, BTreeMap<Address, StateEntry>>,
    /// For each group a move brings to a new address, the name the state recorded it
    /// under: without a refresh, its live name as far as cityform knows.
    pub recorded_names: BTreeMap<Address, String>,
    /// The moves, imports and removals to carry out.
    pub actions: Vec<Action>,
    /// What cannot be carried out.
    pub errors: Vec<DeclarationError>,
}

/// Resolves `desired`'s declarations against `recorded` and, for imports, `observed`.
pub(super) fn resolve<'s>(
    desired: &Desired,
    recorded: &'s BTreeMap<Address, StateEntry>,
    observed: Option<&Observed>,
    options: &PlanOptions,
) -> Resolved<'s> {
    let mut resolved = Resolved {
        recorded: Cow::Borrowed(recorded),
        recorded_names: BTreeMap::new(),
        actions: Vec::new(),
        errors: Vec::new(),
    };
    if desired.moves.is_empty() && desired.imports.is_empty() && desired.removals.is_empty() {
        return resolved;
    }
    resolve_moves(desired, recorded, options, &mut resolved);
    resolve_imports(desired, observed, options, &mut resolved);
    for removal in &desired.removals {
        if !options.considers(&removal.address) {
            continue;
        }
        let Some(entry) = resolved.recorded.to_mut().remove(&removal.address) else {
            continue;
        };
        resolved.actions.push(Action::Forget {
            address: removal.address.clone(),
            job_group_id: entry.job_group_id,
            source: removal.source.clone(),
        });
    }
    resolved
}

/// Each recorded group a chain of moves leaves is moved to the chain's end.
fn resolve_moves(
    desired: &Desired,
    recorded: &BTreeMap<Address, StateEntry>,
    options: &PlanOptions,
    resolved: &mut Resolved<'_>,
) {
    let by_from: BTreeMap<&Address, &MoveDeclaration> = desired
        .moves
        .iter()
        .map(|moved| (&moved.from, moved))
        .collect();
    // The destination of each move made, and the document that made it.
    let mut destinations: BTreeMap<Address, (&Address, &SourceLocation)> = BTreeMap::new();
    for (from, first) in &by_from {
        let Some(entry) = recorded.get(*from) else {
            continue;
        };
        let mut to = &first.to;
        // The set refuses cycles; the bound only keeps a bad input from looping.
        for _ in 0..by_from.len() {
            match by_from.get(to) {
                Some(next) => to = &next.to,
                None => break,
            }
        }
        if !options.considers(to) {
            continue;
        }
        if let Some(taken) = recorded.get(to) {
            resolved.errors.push(DeclarationError {
                source: first.source.clone(),
                message: format!(
                    "cannot move `{from}` to `{to}`: the state records both (ids `{}` and `{}`)",
                    entry.job_group_id, taken.job_group_id
                ),
                hint: format!(
                    "forget one of them with a `Removed` document (or `cityform state rm {to}`), or remove this document"
                ),
            });
            continue;
        }
        if let Some((other, at)) = destinations.get(to) {
            resolved.errors.push(DeclarationError {
                source: first.source.clone(),
                message: format!(
                    "cannot move `{from}` to `{to}`: the state records `{other}` too, which the `Moved` document at {at} moves there"
                ),
                hint: "forget one of them with a `Removed` document, or end the chains at different addresses".to_owned(),
            });
            continue;
        }
        destinations.insert(to.clone(), (from, &first.source));
        let map = resolved.recorded.to_mut();
        if let Some(entry) = map.remove(*from) {
            map.insert(to.clone(), entry);
        }
        resolved
            .recorded_names
            .insert(to.clone(), from.name.clone());
        resolved.actions.push(Action::Move {
            address: to.clone(),
            from: (*from).clone(),
            job_group_id: entry.job_group_id.clone(),
            source: first.source.clone(),
        });
    }
}

/// Each import the state does not record yet is looked up among the live groups.
fn resolve_imports(
    desired: &Desired,
    observed: Option<&Observed>,
    options: &PlanOptions,
    resolved: &mut Resolved<'_>,
) {
    for import in &desired.imports {
        let address = &import.address;
        if !options.considers(address) {
            continue;
        }
        let error = |message: String, hint: &str| DeclarationError {
            source: import.source.clone(),
            message,
            hint: hint.to_owned(),
        };
        if let Some(entry) = resolved.recorded.get(address) {
            match &import.job_group_id {
                Some(id) if *id != entry.job_group_id => resolved.errors.push(error(
                    format!(
                        "cannot import job group `{id}` as `{address}`: the state records `{address}` with id `{}`",
                        entry.job_group_id
                    ),
                    "forget the recorded group first with a `Removed` document of another address, or `cityform state rm`; or remove this document",
                )),
                // Imported already.
                _ => {}
            }
            continue;
        }
        let instance = format!("{}/{}", address.region_id, address.instance_id);
        let Some(observed) = observed
            .filter(|observed| observed.was_listed(&address.region_id, &address.instance_id))
        else {
            resolved.errors.push(error(
                format!(
                    "cannot import `{address}`: the live job groups of instance `{instance}` were not read"
                ),
                "an import is planned from the live groups: plan without `--refresh=false`, with credentials",
            ));
            continue;
        };
        let live = match &import.job_group_id {
            Some(id) => match observed.get(&address.region_id, &address.instance_id, id) {
                Some(live) => live,
                None => {
                    resolved.errors.push(error(
                        format!("cannot import `{address}`: there is no job group with id `{id}` in instance `{instance}`"),
                        "check the id with the console or `DescribeJobGroups`",
                    ));
                    continue;
                }
            },
            None => {
                let named: Vec<_> = observed
                    .groups()
                    .filter(|(region, instance_id, live)| {
                        *region == address.region_id
                            && *instance_id == address.instance_id
                            && live.name == address.name
                    })
                    .map(|(_, _, live)| live)
                    .collect();
                match named.as_slice() {
                    [live] => *live,
                    [] => {
                        resolved.errors.push(error(
                            format!(
                                "cannot import `{address}`: there is no job group named `{}` in instance `{instance}`",
                                address.name
                            ),
                            "to import a group of another name, give its `id`",
                        ));
                        continue;
                    }
                    several => {
                        let ids: Vec<String> = several
                            .iter()
                            .map(|live| format!("`{}`", live.job_group_id))
                            .collect();
                        resolved.errors.push(error(
                            format!(
                                "cannot import `{address}`: {} job groups are named `{}` in instance `{instance}` (ids {})",
                                several.len(),
                                address.name,
                                ids.join(", ")
                            ),
                            "say which one with `id`",
                        ));
                        continue;
                    }
                }
            }
        };
        if let Some((other, _)) = resolved.recorded.iter().find(|(other, entry)| {
            other.region_id == address.region_id
                && other.instance_id == address.instance_id
                && entry.job_group_id == live.job_group_id
        }) {
            resolved.errors.push(error(
                format!(
                    "cannot import job group `{}` as `{address}`: the state records it as `{other}` already",
                    live.job_group_id
                ),
                "to give it the new address, use a `Moved` document instead",
            ));
            continue;
        }
        let status = live.status.as_ref().and_then(LiveStatus::heading_to);
        let entry = StateEntry {
            status,
            ..StateEntry::new(live.job_group_id.clone(), live.spec.clone(), "", "")
        };
        resolved.recorded.to_mut().insert(address.clone(), entry);
        resolved.actions.push(Action::Import {
            address: address.clone(),
            job_group_id: live.job_group_id.clone(),
            live_name: live.name.clone(),
            spec: live.spec.clone(),
            status,
            source: import.source.clone(),
        });
    }
}
