//! Names a plan must not promise: a create whose name a live group already has, and an
//! orphan that looks like a group renamed in the manifests.
//!
//! The service refuses a second group with a name its instance already has
//! (`InvalidName.Duplicate`), so a plan that creates one would promise what apply cannot do.
//! With the live groups of the instance at hand (a refresh), such a create is not planned: the
//! plan lists it as a [`NameConflict`], which makes the plan impossible to apply, and says
//! which document to add instead. Without them, nothing can be checked here; the renderers
//! say so.

use std::collections::HashMap;

use super::action::{Action, NameConflict, Plan, RenameHint};
use super::observed::Observed;
use crate::model::{Address, JobGroupSpec};
use crate::state::StateEntry;

type Recorded = std::collections::BTreeMap<Address, StateEntry>;

/// Moves every create whose name a live group of its instance already has out of the
/// actions into `plan.conflicts`, with its start, and points each orphan that is likely the
/// same group under a new name at the address it should move to.
pub(super) fn check(plan: &mut Plan, observed: Option<&Observed>, recorded: &Recorded) {
    if let Some(observed) = observed {
        take_conflicts(plan, observed, recorded);
    }
    hint_renames(plan, observed);
}

/// Which live group of an instance has each name: `(region, instance, name)` to ids.
struct LiveNames<'a> {
    ids: HashMap<(&'a str, &'a str, &'a str), Vec<&'a str>>,
}

impl<'a> LiveNames<'a> {
    fn of(observed: &'a Observed) -> Self {
        let mut ids: HashMap<_, Vec<&str>> = HashMap::new();
        for (region, instance, live) in observed.groups() {
            ids.entry((region, instance, live.name.as_str()))
                .or_default()
                .push(live.job_group_id.as_str());
        }
        Self { ids }
    }

    /// The id of a live group named as `address` other than `replaced`.
    fn other_than(&self, address: &Address, replaced: Option<&str>) -> Option<String> {
        let key = (
            address.region_id.as_str(),
            address.instance_id.as_str(),
            address.name.as_str(),
        );
        self.ids
            .get(&key)?
            .iter()
            .find(|id| replaced != Some(**id))
            .map(|id| (*id).to_owned())
    }
}

fn take_conflicts(plan: &mut Plan, observed: &Observed, recorded: &Recorded) {
    let creates_in_listed_instances = plan.actions.iter().any(|action| {
        matches!(action, Action::Create { address, .. }
            if observed.was_listed(&address.region_id, &address.instance_id))
    });
    if !creates_in_listed_instances {
        return;
    }
    let names = LiveNames::of(observed);
    // The address each recorded id is managed under, to tell a renamed managed group (a
    // `Moved` is the fix) from one nobody manages (an `Import` is).
    let managed: HashMap<(&str, &str, &str), &Address> = recorded
        .iter()
        .map(|(address, entry)| {
            (
                (
                    address.region_id.as_str(),
                    address.instance_id.as_str(),
                    entry.job_group_id.as_str(),
                ),
                address,
            )
        })
        .collect();
    let mut conflicts = Vec::new();
    for action in &plan.actions {
        let Action::Create {
            address,
            source,
            replaces_id,
            ..
        } = action
        else {
            continue;
        };
        let Some(id) = names.other_than(address, replaces_id.as_deref()) else {
            continue;
        };
        let managed_as = managed
            .get(&(
                address.region_id.as_str(),
                address.instance_id.as_str(),
                id.as_str(),
            ))
            .map(|managed| (*managed).clone());
        conflicts.push(NameConflict {
            address: address.clone(),
            source: source.clone(),
            live_job_group_id: id,
            managed_as,
        });
    }
    if conflicts.is_empty() {
        return;
    }
    let conflicting: std::collections::HashSet<&Address> =
        conflicts.iter().map(|conflict| &conflict.address).collect();
    // The start that follows a create goes with it: there is no group to start.
    plan.actions.retain(|action| match action {
        Action::Create { address, .. } => !conflicting.contains(address),
        Action::SetStatus {
            address,
            job_group_id: None,
            ..
        } => !conflicting.contains(address),
        _ => true,
    });
    plan.conflicts = conflicts;
}

/// Points an orphan at the address it was most likely renamed to: the conflict whose name
/// its live self already has, or else the one create of its instance with exactly its spec
/// when no other orphan there has that spec.
fn hint_renames(plan: &mut Plan, observed: Option<&Observed>) {
    let has_orphans = plan
        .actions
        .iter()
        .any(|action| matches!(action, Action::Orphan { .. }));
    if !has_orphans {
        return;
    }
    let renamed_live: HashMap<&Address, RenameHint> = plan
        .conflicts
        .iter()
        .filter_map(|conflict| {
            conflict.managed_as.as_ref().map(|from| {
                (
                    from,
                    RenameHint {
                        to: conflict.address.clone(),
                        source: conflict.source.clone(),
                        same_live_name: true,
                    },
                )
            })
        })
        .collect();
    let by_spec = creates_by_spec(&plan.actions);
    let mut orphans_by_spec: HashMap<(&str, &str, &JobGroupSpec), usize> = HashMap::new();
    for action in &plan.actions {
        if let Action::Orphan { address, spec, .. } = action {
            *orphans_by_spec
                .entry((
                    address.region_id.as_str(),
                    address.instance_id.as_str(),
                    spec,
                ))
                .or_default() += 1;
        }
    }
    let hints: Vec<Option<RenameHint>> = plan
        .actions
        .iter()
        .map(|action| {
            let Action::Orphan {
                address,
                job_group_id,
                spec,
                ..
            } = action
            else {
                return None;
            };
            if let Some(hint) = renamed_live.get(address) {
                return Some(hint.clone());
            }
            let live_name_unchanged = observed
                .and_then(|observed| {
                    observed.get(&address.region_id, &address.instance_id, job_group_id)
                })
                .is_none_or(|live| live.name == address.name);
            if !live_name_unchanged {
                return None;
            }
            let key = (
                address.region_id.as_str(),
                address.instance_id.as_str(),
                spec,
            );
            // Only a pair that is one of a kind on both sides says "rename"; two orphans
            // with the spec of one new document are a guess.
            match (by_spec.get(&key), orphans_by_spec.get(&key)) {
                (Some(candidates), Some(1)) if candidates.len() == 1 => Some(candidates[0].clone()),
                _ => None,
            }
        })
        .collect();
    for (action, hint) in plan.actions.iter_mut().zip(hints) {
        if let Action::Orphan { renamed_to, .. } = action {
            *renamed_to = hint;
        }
    }
}

/// The creates of each instance, by spec.
fn creates_by_spec(actions: &[Action]) -> HashMap<(&str, &str, &JobGroupSpec), Vec<RenameHint>> {
    let mut creates: HashMap<_, Vec<RenameHint>> = HashMap::new();
    for action in actions {
        if let Action::Create {
            address,
            spec,
            source,
            replaces_id: None,
            ..
        } = action
        {
            creates
                .entry((
                    address.region_id.as_str(),
                    address.instance_id.as_str(),
                    spec,
                ))
                .or_default()
                .push(RenameHint {
                    to: address.clone(),
                    source: source.clone(),
                    same_live_name: false,
                });
        }
    }
    creates
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{Desired, DesiredGroup, SourceLocation};
    use crate::model::Status;
    use crate::plan::{LiveGroup, PlanOptions, compute_with};
    use crate::state::State;

    fn address(name: &str) -> Address {
        Address::new("cn-shanghai", "inst", name)
    }

    fn source(line: usize) -> SourceLocation {
        SourceLocation {
            file: "city.yaml".into(),
            line,
            column: 1,
        }
    }

    fn desired(groups: &[(&str, JobGroupSpec, Option<Status>)]) -> Desired {
        let mut desired = Desired::default();
        for (line, (name, spec, status)) in groups.iter().enumerate() {
            let mut group = DesiredGroup::new(spec.clone(), source(line + 1));
            group.status = *status;
            desired.groups.insert(address(name), group);
        }
        desired
    }

    fn state(groups: &[(&str, &str, JobGroupSpec)]) -> State {
        let mut state = State::new("lineage");
        for (name, id, spec) in groups {
            state.job_groups.insert(
                address(name),
                StateEntry::new(*id, spec.clone(), "request", "2026-12-01T00:00:00Z"),
            );
        }
        state
    }

    fn live(groups: &[(&str, &str)]) -> Observed {
        let mut observed = Observed::default();
        observed.add_instance(
            "cn-shanghai",
            "inst",
            groups.iter().map(|(id, name)| LiveGroup {
                job_group_id: (*id).into(),
                name: (*name).into(),
                spec: JobGroupSpec::example(),
                status: None,
            }),
        );
        observed
    }

    fn plan(desired: &Desired, state: &State, observed: Option<&Observed>) -> Plan {
        compute_with(desired, Some(state), observed, &PlanOptions::default())
    }

    fn renamed_to(plan: &Plan) -> Vec<(String, Option<RenameHint>)> {
        plan.actions
            .iter()
            .filter_map(|action| match action {
                Action::Orphan {
                    address,
                    renamed_to,
                    ..
                } => Some((address.name.clone(), renamed_to.clone())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_create_whose_name_an_unmanaged_live_group_has_is_a_conflict_with_its_start() {
        let spec = JobGroupSpec::example();
        let desired = desired(&[
            ("legacy", spec.clone(), Some(Status::Running)),
            ("fresh", spec.clone(), None),
        ]);
        let plan = plan(&desired, &state(&[]), Some(&live(&[("17", "legacy")])));
        assert_eq!(
            plan.conflicts,
            [NameConflict {
                address: address("legacy"),
                source: source(1),
                live_job_group_id: "17".into(),
                managed_as: None,
            }]
        );
        assert!(
            plan.actions
                .iter()
                .all(|action| action.address() == &address("fresh")),
            "{plan:?}"
        );
        assert_eq!(plan.actions.len(), 1);
        assert!(!plan.is_empty());
        assert_eq!(plan.summary().conflict, 1);
    }

    #[test]
    fn without_a_refresh_or_in_an_instance_not_listed_nothing_is_a_conflict() {
        let desired = desired(&[("legacy", JobGroupSpec::example(), None)]);
        assert!(plan(&desired, &state(&[]), None).conflicts.is_empty());
        let mut elsewhere = Observed::default();
        elsewhere.add_instance(
            "cn-beijing",
            "inst",
            live(&[("17", "legacy")])
                .groups()
                .map(|(_, _, group)| group.clone()),
        );
        assert!(
            plan(&desired, &state(&[]), Some(&elsewhere))
                .conflicts
                .is_empty()
        );
    }

    #[test]
    fn a_group_renamed_live_conflicts_with_its_new_document_and_points_its_orphan_there() {
        let spec = JobGroupSpec::example();
        let desired = desired(&[("night-bazaar", spec.clone(), None)]);
        let state = state(&[("night-market", "18", spec)]);
        let plan = plan(&desired, &state, Some(&live(&[("18", "night-bazaar")])));
        assert_eq!(plan.conflicts.len(), 1);
        assert_eq!(plan.conflicts[0].managed_as, Some(address("night-market")));
        assert_eq!(
            renamed_to(&plan),
            [(
                "night-market".to_owned(),
                Some(RenameHint {
                    to: address("night-bazaar"),
                    source: source(1),
                    same_live_name: true,
                })
            )]
        );
    }

    #[test]
    fn a_group_recreated_after_a_delete_outside_cityform_conflicts_with_the_new_live_one() {
        let spec = JobGroupSpec::example();
        let desired = desired(&[("cams", spec.clone(), None)]);
        let state = state(&[("cams", "5", spec)]);
        let plan = plan(&desired, &state, Some(&live(&[("9", "cams")])));
        assert_eq!(plan.conflicts.len(), 1);
        assert_eq!(plan.conflicts[0].live_job_group_id, "9");
        assert_eq!(plan.conflicts[0].managed_as, None);
    }

    #[test]
    fn an_orphan_is_pointed_at_the_one_new_document_with_exactly_its_spec() {
        let spec = JobGroupSpec::example();
        let other = JobGroupSpec::example().with_planed_jobs(3);
        let state = state(&[("night-market", "18", spec.clone())]);
        let renamed = desired(&[("night-bazaar", spec.clone(), None), ("x", other, None)]);
        for observed in [None, Some(live(&[("18", "night-market")]))] {
            let plan = plan(&renamed, &state, observed.as_ref());
            assert_eq!(
                renamed_to(&plan),
                [(
                    "night-market".to_owned(),
                    Some(RenameHint {
                        to: address("night-bazaar"),
                        source: source(1),
                        same_live_name: false,
                    })
                )]
            );
        }
        let two = desired(&[("a", spec.clone(), None), ("b", spec.clone(), None)]);
        assert_eq!(
            renamed_to(&plan(&two, &state, None)),
            [("night-market".to_owned(), None)]
        );
        let two_orphans = self::state(&[
            ("night-market", "18", spec.clone()),
            ("day-market", "19", spec.clone()),
        ]);
        let one = desired(&[("night-bazaar", spec.clone(), None)]);
        assert_eq!(
            renamed_to(&plan(&one, &two_orphans, None)),
            [
                ("day-market".to_owned(), None),
                ("night-market".to_owned(), None)
            ]
        );
        let changed = desired(&[("a", spec.with_planed_jobs(7), None)]);
        assert_eq!(
            renamed_to(&plan(&changed, &state, None)),
            [("night-market".to_owned(), None)]
        );
    }
}
