//! The planner: a pure function from (desired, state) to a [`Plan`].
//!
//! Both inputs are maps ordered by address, so one merge walk visits each group once and the
//! actions come out in address order: same inputs, same plan, byte for byte.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use super::action::{Action, AttributeChange, Plan, StateBinding};
use crate::manifest::{Desired, DesiredGroup};
use crate::model::{Address, JobGroupSpec};
use crate::state::State;

/// Compares the desired groups with the state and says what should happen to each.
pub fn compute(desired: &Desired, state: Option<&State>) -> Plan {
    walk(desired.groups.iter(), state)
}

/// The same plan as [`compute`], made by moving the desired groups into the actions instead
/// of copying them: for a caller that has no use for `desired` afterwards, this halves the
/// memory a large plan needs.
pub fn compute_owned(desired: Desired, state: Option<&State>) -> Plan {
    walk(desired.groups.into_iter(), state)
}

/// A desired group as the walk meets it: borrowed (copied into an action that needs it) or
/// owned (moved there).
trait Wanted {
    fn address(&self) -> &Address;
    fn group(&self) -> &DesiredGroup;
    fn into_parts(self) -> (Address, DesiredGroup);
}

impl Wanted for (&Address, &DesiredGroup) {
    fn address(&self) -> &Address {
        self.0
    }

    fn group(&self) -> &DesiredGroup {
        self.1
    }

    fn into_parts(self) -> (Address, DesiredGroup) {
        (self.0.clone(), self.1.clone())
    }
}

impl Wanted for (Address, DesiredGroup) {
    fn address(&self) -> &Address {
        &self.0
    }

    fn group(&self) -> &DesiredGroup {
        &self.1
    }

    fn into_parts(self) -> (Address, DesiredGroup) {
        self
    }
}

/// One merge walk over the desired groups and the state, both in address order.
fn walk<W: Wanted>(wanted: impl Iterator<Item = W>, state: Option<&State>) -> Plan {
    let empty = BTreeMap::new();
    let recorded = state.map_or(&empty, |state| &state.job_groups);
    let mut plan = Plan {
        state: state.map(|state| StateBinding {
            lineage: state.lineage.clone(),
            serial: state.serial,
        }),
        actions: Vec::new(),
        unchanged: 0,
    };
    let mut wanted = wanted.peekable();
    let mut known = recorded.iter().peekable();
    loop {
        let order = match (wanted.peek(), known.peek()) {
            (None, None) => return plan,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(left), Some((right, _))) => left.address().cmp(right),
        };
        match order {
            Ordering::Less => {
                if let Some(wanted) = wanted.next() {
                    let (address, group) = wanted.into_parts();
                    plan.actions.push(Action::Create {
                        address,
                        spec: group.spec,
                        source: group.source,
                    });
                }
            }
            Ordering::Greater => {
                if let Some((address, entry)) = known.next() {
                    plan.actions.push(Action::Orphan {
                        address: address.clone(),
                        job_group_id: entry.job_group_id.clone(),
                        spec: entry.spec.clone(),
                    });
                }
            }
            Ordering::Equal => {
                let (Some(wanted), Some((_, entry))) = (wanted.next(), known.next()) else {
                    continue;
                };
                // Most groups match; equal specs have no changes, and need no allocation to
                // find that out.
                if entry.spec == wanted.group().spec {
                    plan.unchanged += 1;
                    continue;
                }
                let changes = attribute_changes(&entry.spec, &wanted.group().spec);
                if changes.is_empty() {
                    plan.unchanged += 1;
                    continue;
                }
                let (address, group) = wanted.into_parts();
                plan.actions.push(Action::Update {
                    address,
                    job_group_id: entry.job_group_id.clone(),
                    changes,
                    spec: group.spec,
                    source: group.source,
                });
            }
        }
    }
}

/// The attributes the manifests set to a value other than the recorded one, in the order
/// [`JobGroupSpec::attributes`] lists them.
///
/// An attribute the manifests leave out is not a change, even when the state recorded a
/// value for it: the API cannot unset `JobCount` or a param, and a field left out is one
/// cityform does not manage (`docs/manifest.md`). To turn a param off, set it to `false`.
pub(crate) fn attribute_changes(
    recorded: &JobGroupSpec,
    desired: &JobGroupSpec,
) -> Vec<AttributeChange> {
    let before = recorded.attributes();
    desired
        .attributes()
        .into_iter()
        .filter_map(|(name, value)| {
            let old = before
                .iter()
                .find(|(attribute, _)| *attribute == name)
                .map(|(_, value)| value.clone());
            (old.as_deref() != Some(value.as_str())).then_some(AttributeChange {
                attribute: name,
                before: old,
                after: Some(value),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::SourceLocation;
    use crate::state::StateEntry;

    fn address(name: &str) -> Address {
        Address::new("cn-shanghai", "cityvisual-Instance", name)
    }

    fn desired(groups: &[(&str, JobGroupSpec)]) -> Desired {
        let mut desired = Desired::default();
        for (line, (name, spec)) in groups.iter().enumerate() {
            desired.groups.insert(
                address(name),
                DesiredGroup {
                    spec: spec.clone(),
                    source: SourceLocation {
                        file: "manifests/city.yaml".into(),
                        line: line + 1,
                        column: 1,
                    },
                },
            );
        }
        desired
    }

    fn state(groups: &[(&str, &str, JobGroupSpec)]) -> State {
        let mut state = State::new("lineage-1");
        state.serial = 4;
        for (name, id, spec) in groups {
            state.job_groups.insert(
                address(name),
                StateEntry {
                    job_group_id: (*id).into(),
                    spec: spec.clone(),
                    request_id: "request".into(),
                    applied_at: "2026-11-27T08:00:00Z".into(),
                },
            );
        }
        state
    }

    fn kinds(plan: &Plan) -> Vec<(String, &'static str)> {
        plan.actions
            .iter()
            .map(|action| {
                let kind = match action {
                    Action::Create { .. } => "create",
                    Action::Update { .. } => "update",
                    Action::Orphan { .. } => "orphan",
                };
                (action.address().name.clone(), kind)
            })
            .collect()
    }

    #[test]
    fn without_state_everything_is_created() {
        let plan = compute(
            &desired(&[
                ("b", JobGroupSpec::example()),
                ("a", JobGroupSpec::example()),
            ]),
            None,
        );
        assert_eq!(
            kinds(&plan),
            [("a".into(), "create"), ("b".into(), "create")]
        );
        assert_eq!(plan.state, None);
        assert!(!plan.is_empty());
    }

    #[test]
    fn every_action_kind_in_address_order() {
        let desired = desired(&[
            ("create-me", JobGroupSpec::example()),
            ("keep-me", JobGroupSpec::example()),
            ("update-me", JobGroupSpec::example().with_planed_jobs(12)),
        ]);
        let state = state(&[
            ("keep-me", "1", JobGroupSpec::example()),
            ("orphan-me", "2", JobGroupSpec::example()),
            ("update-me", "3", JobGroupSpec::example()),
        ]);
        let plan = compute(&desired, Some(&state));
        assert_eq!(
            kinds(&plan),
            [
                ("create-me".into(), "create"),
                ("orphan-me".into(), "orphan"),
                ("update-me".into(), "update"),
            ]
        );
        assert_eq!(plan.unchanged, 1);
        assert_eq!(
            plan.state,
            Some(StateBinding {
                lineage: "lineage-1".into(),
                serial: 4
            })
        );
        let summary = plan.summary();
        assert_eq!(
            (
                summary.create,
                summary.update,
                summary.orphan,
                summary.unchanged
            ),
            (1, 1, 1, 1)
        );
    }

    #[test]
    fn moving_the_desired_groups_makes_the_same_plan_as_copying_them() {
        let desired = desired(&[
            ("create-me", JobGroupSpec::example()),
            ("keep-me", JobGroupSpec::example()),
            (
                "update-me",
                JobGroupSpec::example().with_param("ES_ENABLE", "False"),
            ),
        ]);
        let state = state(&[
            ("keep-me", "1", JobGroupSpec::example()),
            ("orphan-me", "2", JobGroupSpec::example()),
            (
                "update-me",
                "3",
                JobGroupSpec::example().with_param("ES_ENABLE", "True"),
            ),
        ]);
        let copied = compute(&desired, Some(&state));
        assert_eq!(copied.actions.len(), 3);
        assert_eq!(compute_owned(desired.clone(), Some(&state)), copied);
        assert_eq!(
            compute_owned(desired.clone(), None),
            compute(&desired, None)
        );
    }

    #[test]
    fn update_lists_changed_and_added_attributes_but_not_left_out_ones() {
        let recorded = JobGroupSpec::example().with_param("RDS_ENABLE", "True");
        let wanted = JobGroupSpec::example()
            .with_planed_jobs(12)
            .with_param("ES_ENABLE", "False");
        let changes = attribute_changes(&recorded, &wanted);
        let rendered: Vec<_> = changes
            .iter()
            .map(|change| {
                (
                    change.attribute.as_str(),
                    change.before.as_deref(),
                    change.after.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            rendered,
            [
                ("planedJobCount", Some("10"), Some("12")),
                ("params.ES_ENABLE", None, Some("False")),
            ]
        );
    }

    #[test]
    fn identical_specs_are_unchanged() {
        let spec = JobGroupSpec::example().with_param("ES_ENABLE", "True");
        let plan = compute(
            &desired(&[("same", spec.clone())]),
            Some(&state(&[("same", "1", spec)])),
        );
        assert!(plan.actions.is_empty());
        assert_eq!(plan.unchanged, 1);
        assert!(plan.is_empty());
    }

    #[test]
    fn groups_only_in_the_state_are_orphans() {
        let plan = compute(
            &Desired::default(),
            Some(&state(&[("gone", "7", JobGroupSpec::example())])),
        );
        assert_eq!(kinds(&plan), [("gone".into(), "orphan")]);
        assert!(!plan.is_empty());
    }
}
