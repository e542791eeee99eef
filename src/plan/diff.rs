//! The planner: a pure function from (desired, state) to a [`Plan`].
//!
//! Both inputs are maps ordered by address, so one merge walk visits each group once and the
//! actions come out in address order: same inputs, same plan, byte for byte.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashSet, btree_map};
use std::iter::Peekable;

use super::action::{Action, AttributeChange, Plan, StateBinding, UnmanagedGroup};
use super::declared::{self, DeclarationError, DeclarationErrors};
use super::observed::Observed;
use crate::manifest::{Desired, DesiredGroup};
use crate::model::{Address, JobGroupSpec, LiveStatus, Status};
use crate::state::{State, StateEntry};

/// What the user asked of a plan beyond its inputs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// Plan `DeleteJobGroup` for groups in the state that no manifest declares.
    pub prune: bool,
    /// List live groups that no state records.
    pub show_unmanaged: bool,
    /// Limit the plan to these groups; empty means every group.
    pub targets: BTreeSet<Address>,
    /// Leave these groups out of the plan (applied after `targets`).
    pub excludes: BTreeSet<Address>,
}

impl PlanOptions {
    /// Whether the plan considers the group at `address`: targeted (or no targets), and not
    /// excluded.
    pub fn considers(&self, address: &Address) -> bool {
        (self.targets.is_empty() || self.targets.contains(address))
            && !self.excludes.contains(address)
    }
}

/// Compares the desired groups with the state and says what should happen to each, without
/// a refresh and with default options.
pub fn compute(desired: &Desired, state: Option<&State>) -> Plan {
    compute_with(desired, state, None, &PlanOptions::default())
}

/// Compares the desired groups with the state and, when given, the live groups of a
/// refresh, and says what should happen to each.
///
/// Without a refresh the recorded spec stands for the live one. With one, a recorded group
/// is looked up by id in its instance's listing: missing means deleted outside cityform (the
/// plan creates it again), different means drift (the plan updates it back).
pub fn compute_with(
    desired: &Desired,
    state: Option<&State>,
    observed: Option<&Observed>,
    options: &PlanOptions,
) -> Plan {
    compute_owned(desired.clone(), state, observed, options)
}

/// [`compute_with`] for a caller that has no further use for `desired`: the groups that need
/// an action are moved into the plan instead of copied, which matters at 100,000 groups.
///
/// A `Moved`, `Import` or `Removed` document that cannot be carried out (see
/// [`compute_checked`]) is left out of the plan.
pub fn compute_owned(
    desired: Desired,
    state: Option<&State>,
    observed: Option<&Observed>,
    options: &PlanOptions,
) -> Plan {
    compute_declared(desired, state, observed, options).0
}

/// [`compute_owned`], refusing the plan when a `Moved`, `Import` or `Removed` document
/// cannot be carried out: a move onto an address the state records, an import whose group
/// is not found (or found twice, or recorded already elsewhere), an import without the live
/// groups of its instance.
pub fn compute_checked(
    desired: Desired,
    state: Option<&State>,
    observed: Option<&Observed>,
    options: &PlanOptions,
) -> Result<Plan, DeclarationErrors> {
    let (plan, errors) = compute_declared(desired, state, observed, options);
    if errors.is_empty() {
        Ok(plan)
    } else {
        Err(DeclarationErrors(errors))
    }
}

fn compute_declared(
    mut desired: Desired,
    state: Option<&State>,
    observed: Option<&Observed>,
    options: &PlanOptions,
) -> (Plan, Vec<DeclarationError>) {
    let empty = std::collections::BTreeMap::new();
    let resolved = declared::resolve(
        &desired,
        state.map_or(&empty, |state| &state.job_groups),
        observed,
        options,
    );
    desired.moves.clear();
    desired.imports.clear();
    desired.removals.clear();
    let recorded = &*resolved.recorded;
    let recorded_names = &resolved.recorded_names;
    let mut plan = Plan::empty(state.map(|state| StateBinding {
        lineage: state.lineage.clone(),
        serial: state.serial,
    }));
    plan.refreshed = observed.is_some();
    plan.targets = options.targets.iter().cloned().collect();
    plan.excludes = options.excludes.iter().cloned().collect();
    let targeted = |address: &Address| options.considers(address);
    let mut wanted = desired.groups.into_iter().peekable();
    let mut known = recorded.iter().peekable();
    loop {
        match next_pair(&mut wanted, &mut known) {
            Pair::Both(address, group, entry) if targeted(&address) => {
                let before = plan.actions.len();
                let recorded_name = recorded_names
                    .get(&address)
                    .cloned()
                    .unwrap_or_else(|| address.name.clone());
                plan_managed(
                    &mut plan.actions,
                    address,
                    group,
                    entry,
                    &recorded_name,
                    observed,
                );
                if plan.actions.len() == before {
                    plan.unchanged += 1;
                }
            }
            Pair::DesiredOnly(address, group) if targeted(&address) => {
                plan_create(&mut plan.actions, address, group, None);
            }
            Pair::StateOnly(address, entry) if targeted(address) => {
                plan.actions
                    .push(plan_orphan(address, entry, options.prune));
            }
            Pair::Done => break,
            _ => {}
        }
    }
    super::names::check(&mut plan, observed, recorded);
    if options.show_unmanaged
        && let Some(observed) = observed
    {
        plan.unmanaged = unmanaged(observed, recorded);
    }
    if !resolved.actions.is_empty() {
        // Before the actions of their group; stable, so each group keeps its order.
        let mut actions = resolved.actions;
        actions.append(&mut plan.actions);
        actions.sort_by(|left, right| left.address().cmp(right.address()));
        plan.actions = actions;
    }
    (plan, resolved.errors)
}

/// The live state of a recorded group: from the refresh, or the record itself.
struct Current<'a> {
    name: &'a str,
    spec: &'a JobGroupSpec,
    /// The status it has or is on its way to.
    status: Option<Status>,
    /// The live status as reported, when it is not a settled one.
    unsettled: Option<&'a LiveStatus>,
}

/// The actions a declared group the state records needs. `recorded_name` is the name the
/// state knew it by (its old name when a `Moved` document brings it to `address`).
fn plan_managed(
    actions: &mut Vec<Action>,
    address: Address,
    group: DesiredGroup,
    entry: &StateEntry,
    recorded_name: &str,
    observed: Option<&Observed>,
) {
    let listed =
        observed.filter(|observed| observed.was_listed(&address.region_id, &address.instance_id));
    let current = match listed {
        Some(observed) => {
            match observed.get(
                &address.region_id,
                &address.instance_id,
                &entry.job_group_id,
            ) {
                Some(live) => Current {
                    name: &live.name,
                    spec: &live.spec,
                    status: live.status.as_ref().and_then(LiveStatus::heading_to),
                    unsettled: live
                        .status
                        .as_ref()
                        .filter(|status| !matches!(status, LiveStatus::Settled(_))),
                },
                None => {
                    plan_create(actions, address, group, Some(entry));
                    return;
                }
            }
        }
        None => Current {
            name: recorded_name,
            spec: &entry.spec,
            status: entry.status,
            unsettled: None,
        },
    };
    let lifecycle = &group.lifecycle;
    let mut changes = Vec::new();
    if current.name != address.name {
        changes.push(AttributeChange {
            attribute: "name".to_owned(),
            before: Some(current.name.to_owned()),
            after: Some(address.name.clone()),
        });
    }
    let status_change = group
        .status
        .filter(|wanted| !group.lifecycle.ignores("status") && current.status != Some(*wanted))
        .map(|wanted| Action::SetStatus {
            address: address.clone(),
            job_group_id: Some(entry.job_group_id.clone()),
            from: current.status,
            observed: current.unsettled.map(ToString::to_string),
            to: wanted,
            source: Some(group.source.clone()),
        });
    if *current.spec != group.spec {
        changes.extend(
            attribute_changes(current.spec, &group.spec)
                .into_iter()
                .filter(|change| !lifecycle.ignores(&change.attribute)),
        );
    }
    let prevent_destroy = lifecycle.prevent_destroy.unwrap_or(entry.prevent_destroy);
    if !changes.is_empty() {
        let drift = if listed.is_some() && *current.spec != entry.spec {
            full_changes(&entry.spec, current.spec)
                .into_iter()
                .filter(|change| !lifecycle.ignores(&change.attribute))
                .collect()
        } else {
            Vec::new()
        };
        actions.push(Action::Update {
            address,
            job_group_id: entry.job_group_id.clone(),
            changes,
            drift,
            spec: group.spec,
            source: group.source,
            prevent_destroy,
        });
    } else if prevent_destroy != entry.prevent_destroy {
        actions.push(Action::Protect {
            address,
            job_group_id: entry.job_group_id.clone(),
            prevent_destroy,
            source: Some(group.source),
        });
    }
    actions.extend(status_change);
}

/// A create, and the start that follows when the manifests want the new group running
/// (the service creates groups stopped).
///
/// A group that replaces one deleted outside cityform keeps the protection recorded for
/// it unless the manifests say otherwise.
fn plan_create(
    actions: &mut Vec<Action>,
    address: Address,
    group: DesiredGroup,
    replaces: Option<&StateEntry>,
) {
    let recorded_protection = replaces.is_some_and(|entry| entry.prevent_destroy);
    let start = (group.status == Some(Status::Running)).then(|| Action::SetStatus {
        address: address.clone(),
        job_group_id: None,
        from: Some(Status::Stopped),
        observed: None,
        to: Status::Running,
        source: Some(group.source.clone()),
    });
    actions.push(Action::Create {
        address,
        spec: group.spec,
        source: group.source,
        replaces_id: replaces.map(|entry| entry.job_group_id.clone()),
        prevent_destroy: group
            .lifecycle
            .prevent_destroy
            .unwrap_or(recorded_protection),
    });
    actions.extend(start);
}

fn plan_orphan(address: &Address, entry: &StateEntry, prune: bool) -> Action {
    let address = address.clone();
    let job_group_id = entry.job_group_id.clone();
    match (prune, entry.prevent_destroy) {
        (false, _) => Action::Orphan {
            address,
            job_group_id,
            spec: entry.spec.clone(),
            renamed_to: None,
        },
        (true, true) => Action::BlockedDelete {
            address,
            job_group_id,
        },
        (true, false) => Action::Delete {
            address,
            job_group_id,
            spec: entry.spec.clone(),
        },
    }
}

/// Live groups in the listed instances whose ids no state entry records.
fn unmanaged(
    observed: &Observed,
    recorded: &std::collections::BTreeMap<Address, StateEntry>,
) -> Vec<UnmanagedGroup> {
    let known: HashSet<(&str, &str, &str)> = recorded
        .iter()
        .map(|(address, entry)| {
            (
                address.region_id.as_str(),
                address.instance_id.as_str(),
                entry.job_group_id.as_str(),
            )
        })
        .collect();
    let mut groups: Vec<UnmanagedGroup> = observed
        .groups()
        .filter(|(region, instance, live)| {
            !known.contains(&(*region, *instance, live.job_group_id.as_str()))
        })
        .map(|(region, instance, live)| UnmanagedGroup {
            address: Address::new(region, instance, live.name.clone()),
            job_group_id: live.job_group_id.clone(),
        })
        .collect();
    groups.sort_by(|left, right| left.address.cmp(&right.address));
    groups
}

enum Pair<'a> {
    Both(Address, DesiredGroup, &'a StateEntry),
    DesiredOnly(Address, DesiredGroup),
    StateOnly(&'a Address, &'a StateEntry),
    Done,
}

fn next_pair<'a>(
    wanted: &mut Peekable<btree_map::IntoIter<Address, DesiredGroup>>,
    known: &mut Peekable<btree_map::Iter<'a, Address, StateEntry>>,
) -> Pair<'a> {
    let order = match (wanted.peek(), known.peek()) {
        (None, None) => return Pair::Done,
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (Some((left, _)), Some((right, _))) => left.cmp(right),
    };
    match order {
        Ordering::Less => wanted.next().map_or(Pair::Done, |(address, group)| {
            Pair::DesiredOnly(address, group)
        }),
        Ordering::Greater => known.next().map_or(Pair::Done, |(address, entry)| {
            Pair::StateOnly(address, entry)
        }),
        Ordering::Equal => match (wanted.next(), known.next()) {
            (Some((address, group)), Some((_, entry))) => Pair::Both(address, group, entry),
            _ => Pair::Done,
        },
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

/// Every attribute that differs between two specs, including ones only `before` sets.
pub(crate) fn full_changes(before: &JobGroupSpec, after: &JobGroupSpec) -> Vec<AttributeChange> {
    let mut changes = attribute_changes(before, after);
    let after_attributes = after.attributes();
    for (name, value) in before.attributes() {
        if !after_attributes
            .iter()
            .any(|(attribute, _)| *attribute == name)
        {
            changes.push(AttributeChange {
                attribute: name,
                before: Some(value),
                after: None,
            });
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::SourceLocation;
    use crate::plan::{LiveGroup, Observed};

    fn address(name: &str) -> Address {
        Address::new("cn-shanghai", "cityvisual-Instance", name)
    }

    fn desired(groups: &[(&str, JobGroupSpec)]) -> Desired {
        let mut desired = Desired::default();
        for (line, (name, spec)) in groups.iter().enumerate() {
            desired.groups.insert(
                address(name),
                DesiredGroup::new(
                    spec.clone(),
                    SourceLocation {
                        file: "manifests/city.yaml".into(),
                        line: line + 1,
                        column: 1,
                    },
                ),
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
                StateEntry::new(*id, spec.clone(), "request", "2026-11-27T08:00:00Z"),
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
                    Action::SetStatus { .. } => "status",
                    Action::Protect { .. } => "protect",
                    Action::Delete { .. } => "delete",
                    Action::BlockedDelete { .. } => "blocked",
                    Action::Move { .. } => "move",
                    Action::Import { .. } => "import",
                    Action::Forget { .. } => "forget",
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

    fn live(id: &str, name: &str, spec: JobGroupSpec, status: Option<Status>) -> LiveGroup {
        LiveGroup {
            job_group_id: id.into(),
            name: name.into(),
            spec,
            status: status.map(LiveStatus::Settled),
        }
    }

    fn observed(groups: Vec<LiveGroup>) -> Observed {
        let mut observed = Observed::default();
        observed.add_instance("cn-shanghai", "cityvisual-Instance", groups);
        observed
    }

    fn refreshed_plan(desired: &Desired, state: &State, observed: &Observed) -> Plan {
        compute_with(
            desired,
            Some(state),
            Some(observed),
            &PlanOptions::default(),
        )
    }

    #[test]
    fn drift_is_planned_as_an_update_back_to_the_manifest() {
        let spec = JobGroupSpec::example();
        let plan = refreshed_plan(
            &desired(&[("g", spec.clone())]),
            &state(&[("g", "1", spec.clone())]),
            &observed(vec![live("1", "g", spec.with_planed_jobs(99), None)]),
        );
        let Some(Action::Update { changes, drift, .. }) = plan.actions.first() else {
            panic!("expected an update: {plan:?}");
        };
        assert_eq!(changes[0].before.as_deref(), Some("99"));
        assert_eq!(changes[0].after.as_deref(), Some("10"));
        assert_eq!(drift[0].attribute, "planedJobCount");
        assert_eq!(drift[0].after.as_deref(), Some("99"));
        assert!(plan.refreshed);
    }

    #[test]
    fn a_group_deleted_outside_is_created_again_keeping_its_protection() {
        let spec = JobGroupSpec::example();
        let mut recorded = state(&[("g", "1", spec.clone())]);
        if let Some(entry) = recorded.job_groups.values_mut().next() {
            entry.prevent_destroy = true;
        }
        let plan = refreshed_plan(&desired(&[("g", spec)]), &recorded, &observed(vec![]));
        assert!(matches!(
            plan.actions.as_slice(),
            [Action::Create { replaces_id: Some(id), prevent_destroy: true, .. }] if id == "1"
        ));
    }

    #[test]
    fn a_value_the_manifest_leaves_out_or_ignores_is_not_drift() {
        let mut wanted = desired(&[("g", JobGroupSpec::example())]);
        if let Some(group) = wanted.groups.values_mut().next() {
            group.lifecycle.ignore_changes = vec!["streamPerJob".into()];
        }
        let mut live_spec = JobGroupSpec::example().with_param("RDS_ENABLE", "True");
        live_spec.job_count = Some(4);
        live_spec.stream_per_job = 9;
        let plan = refreshed_plan(
            &wanted,
            &state(&[("g", "1", JobGroupSpec::example())]),
            &observed(vec![live("1", "g", live_spec, None)]),
        );
        assert!(plan.is_empty(), "{plan:?}");
        assert_eq!(plan.unchanged, 1);
    }

    #[test]
    fn a_renamed_address_is_an_update_of_the_name() {
        let spec = JobGroupSpec::example();
        let plan = refreshed_plan(
            &desired(&[("new-name", spec.clone())]),
            &state(&[("new-name", "1", spec.clone())]),
            &observed(vec![live("1", "old-name", spec, None)]),
        );
        let Some(Action::Update { changes, .. }) = plan.actions.first() else {
            panic!("expected an update: {plan:?}");
        };
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].attribute, "name");
        assert_eq!(changes[0].before.as_deref(), Some("old-name"));
    }

    #[test]
    fn status_changes_follow_creates_and_updates() {
        let mut wanted = desired(&[
            ("new", JobGroupSpec::example()),
            ("old", JobGroupSpec::example().with_planed_jobs(3)),
        ]);
        for group in wanted.groups.values_mut() {
            group.status = Some(Status::Running);
        }
        let plan = refreshed_plan(
            &wanted,
            &state(&[("old", "1", JobGroupSpec::example())]),
            &observed(vec![live(
                "1",
                "old",
                JobGroupSpec::example(),
                Some(Status::Stopped),
            )]),
        );
        assert_eq!(
            kinds(&plan),
            [
                ("new".into(), "create"),
                ("new".into(), "status"),
                ("old".into(), "update"),
                ("old".into(), "status"),
            ]
        );
    }

    /// The service answers `starting`/`stopping` while a group changes, in any case, and may
    /// answer a value nobody documented.
    #[test]
    fn a_transitional_status_is_not_drift_and_an_unknown_one_is_not_taken_as_settled() {
        let mut wanted = desired(&[("g", JobGroupSpec::example())]);
        for group in wanted.groups.values_mut() {
            group.status = Some(Status::Running);
        }
        let recorded = state(&[("g", "1", JobGroupSpec::example())]);
        let plan_with = |status: &str| {
            let mut group = live("1", "g", JobGroupSpec::example(), None);
            group.status = LiveStatus::parse(status);
            refreshed_plan(&wanted, &recorded, &observed(vec![group]))
        };
        for heading_to_running in ["starting", "running", "Running", "RUNNING"] {
            assert!(
                plan_with(heading_to_running).is_empty(),
                "{heading_to_running}"
            );
        }
        for (status, from, observed) in [
            ("stopped", Some(Status::Stopped), None),
            ("stopping", Some(Status::Stopped), Some("stopping")),
            ("Paused", None, Some("Paused")),
        ] {
            let plan = plan_with(status);
            assert_eq!(
                plan.actions,
                [Action::SetStatus {
                    address: address("g"),
                    job_group_id: Some("1".into()),
                    from,
                    observed: observed.map(str::to_owned),
                    to: Status::Running,
                    source: Some(wanted.groups[&address("g")].source.clone()),
                }],
                "{status}"
            );
        }
    }

    #[test]
    fn prune_deletes_orphans_unless_protected() {
        let mut recorded = state(&[
            ("free", "1", JobGroupSpec::example()),
            ("kept", "2", JobGroupSpec::example()),
        ]);
        if let Some(entry) = recorded.job_groups.get_mut(&address("kept")) {
            entry.prevent_destroy = true;
        }
        let options = PlanOptions {
            prune: true,
            ..PlanOptions::default()
        };
        let plan = compute_with(&Desired::default(), Some(&recorded), None, &options);
        assert_eq!(
            kinds(&plan),
            [("free".into(), "delete"), ("kept".into(), "blocked")]
        );
        assert_eq!(plan.blocked_deletes().count(), 1);
        let without_prune = compute(&Desired::default(), Some(&recorded));
        assert_eq!(
            kinds(&without_prune),
            [("free".into(), "orphan"), ("kept".into(), "orphan")]
        );
    }

    #[test]
    fn protection_is_recorded_and_only_lifted_explicitly() {
        let mut wanted = desired(&[("g", JobGroupSpec::example())]);
        let mut recorded = state(&[("g", "1", JobGroupSpec::example())]);
        if let Some(group) = wanted.groups.values_mut().next() {
            group.lifecycle.prevent_destroy = Some(true);
        }
        assert_eq!(
            kinds(&compute(&wanted, Some(&recorded))),
            [("g".into(), "protect")]
        );
        if let Some(entry) = recorded.job_groups.values_mut().next() {
            entry.prevent_destroy = true;
        }
        assert!(compute(&wanted, Some(&recorded)).is_empty());
        if let Some(group) = wanted.groups.values_mut().next() {
            group.lifecycle.prevent_destroy = None;
        }
        assert!(compute(&wanted, Some(&recorded)).is_empty());
        if let Some(group) = wanted.groups.values_mut().next() {
            group.lifecycle.prevent_destroy = Some(false);
        }
        assert_eq!(
            kinds(&compute(&wanted, Some(&recorded))),
            [("g".into(), "protect")]
        );
    }

    #[test]
    fn unmanaged_groups_are_listed_when_asked() {
        let spec = JobGroupSpec::example();
        let options = PlanOptions {
            show_unmanaged: true,
            ..PlanOptions::default()
        };
        let plan = compute_with(
            &desired(&[("g", spec.clone())]),
            Some(&state(&[("g", "1", spec.clone())])),
            Some(&observed(vec![
                live("1", "g", spec.clone(), None),
                live("7", "by-hand", spec, None),
            ])),
            &options,
        );
        assert_eq!(plan.unmanaged.len(), 1);
        assert_eq!(plan.unmanaged[0].address, address("by-hand"));
        assert_eq!(plan.unmanaged[0].job_group_id, "7");
    }

    #[test]
    fn targets_limit_the_plan() {
        let options = PlanOptions {
            targets: [address("b")].into_iter().collect(),
            ..PlanOptions::default()
        };
        let plan = compute_with(
            &desired(&[
                ("a", JobGroupSpec::example()),
                ("b", JobGroupSpec::example()),
            ]),
            Some(&state(&[("c", "3", JobGroupSpec::example())])),
            None,
            &options,
        );
        assert_eq!(kinds(&plan), [("b".into(), "create")]);
        assert_eq!(plan.targets, vec![address("b")]);
    }

    #[test]
    fn excluded_groups_are_left_out_of_the_plan_even_when_targeted() {
        let options = PlanOptions {
            prune: true,
            targets: [address("a"), address("b")].into_iter().collect(),
            excludes: [address("b"), address("c")].into_iter().collect(),
            ..PlanOptions::default()
        };
        let plan = compute_with(
            &desired(&[
                ("a", JobGroupSpec::example()),
                ("b", JobGroupSpec::example()),
            ]),
            Some(&state(&[("c", "3", JobGroupSpec::example())])),
            None,
            &options,
        );
        assert_eq!(kinds(&plan), [("a".into(), "create")]);
        assert_eq!(plan.excludes, vec![address("b"), address("c")]);
    }

    fn location(line: usize) -> SourceLocation {
        SourceLocation {
            file: "manifests/changes.yaml".into(),
            line,
            column: 1,
        }
    }

    fn moving(mut desired: Desired, from: &str, to: &str) -> Desired {
        let line = desired.moves.len() * 6 + 1;
        desired.moves.push(crate::manifest::MoveDeclaration {
            from: address(from),
            to: address(to),
            source: location(line),
        });
        desired
    }

    fn importing(mut desired: Desired, name: &str, id: Option<&str>) -> Desired {
        desired.imports.push(crate::manifest::ImportDeclaration {
            address: address(name),
            job_group_id: id.map(str::to_owned),
            source: location(40),
        });
        desired
    }

    fn removing(mut desired: Desired, name: &str) -> Desired {
        desired.removals.push(crate::manifest::RemovalDeclaration {
            address: address(name),
            source: location(50),
        });
        desired
    }

    #[test]
    fn a_move_renames_the_group_in_place_with_its_spec_changes_in_the_same_update() {
        let spec = JobGroupSpec::example();
        let wanted = moving(
            desired(&[("bazaar", spec.clone().with_planed_jobs(12))]),
            "market",
            "bazaar",
        );
        let recorded = state(&[("market", "7", spec.clone())]);
        for observed in [
            None,
            Some(observed(vec![live("7", "market", spec.clone(), None)])),
        ] {
            let plan = compute_checked(
                wanted.clone(),
                Some(&recorded),
                observed.as_ref(),
                &PlanOptions::default(),
            )
            .unwrap();
            assert_eq!(
                kinds(&plan),
                [("bazaar".into(), "move"), ("bazaar".into(), "update")]
            );
            let [
                Action::Move {
                    from,
                    job_group_id,
                    source,
                    ..
                },
                Action::Update {
                    job_group_id: updated,
                    changes,
                    ..
                },
            ] = plan.actions.as_slice()
            else {
                panic!("{plan:?}");
            };
            assert_eq!((from, job_group_id.as_str()), (&address("market"), "7"));
            assert_eq!(source.line, 1);
            assert_eq!(updated, "7");
            let changed: Vec<_> = changes
                .iter()
                .map(|change| (change.attribute.as_str(), change.after.as_deref()))
                .collect();
            assert_eq!(
                changed,
                [("name", Some("bazaar")), ("planedJobCount", Some("12"))]
            );
            assert_eq!(plan.summary().moved, 1);
        }
    }

    #[test]
    fn a_move_already_made_plans_nothing_and_a_chain_lands_at_its_end() {
        let spec = JobGroupSpec::example();
        let wanted = moving(desired(&[("bazaar", spec.clone())]), "market", "bazaar");
        let done = state(&[("bazaar", "7", spec.clone())]);
        let plan =
            compute_checked(wanted.clone(), Some(&done), None, &PlanOptions::default()).unwrap();
        assert!(plan.is_empty(), "{plan:?}");
        let refreshed = compute_checked(
            wanted,
            Some(&done),
            Some(&observed(vec![live("7", "bazaar", spec.clone(), None)])),
            &PlanOptions::default(),
        )
        .unwrap();
        assert!(refreshed.is_empty(), "{refreshed:?}");

        let chain = moving(
            moving(desired(&[("harbour", spec.clone())]), "market", "bazaar"),
            "bazaar",
            "harbour",
        );
        for recorded_as in ["market", "bazaar"] {
            let plan = compute_checked(
                chain.clone(),
                Some(&state(&[(recorded_as, "7", spec.clone())])),
                None,
                &PlanOptions::default(),
            )
            .unwrap();
            assert!(
                matches!(
                    plan.actions.as_slice(),
                    [Action::Move { address, from, .. }, Action::Update { .. }]
                        if address.name == "harbour" && from.name == recorded_as
                ),
                "{plan:?}"
            );
        }
    }

    #[test]
    fn a_move_onto_a_recorded_address_is_refused_at_its_document() {
        let spec = JobGroupSpec::example();
        let wanted = moving(desired(&[("bazaar", spec.clone())]), "market", "bazaar");
        let both = state(&[("market", "7", spec.clone()), ("bazaar", "8", spec)]);
        let errors =
            compute_checked(wanted, Some(&both), None, &PlanOptions::default()).unwrap_err();
        assert_eq!(
            errors.to_string(),
            "manifests/changes.yaml:1:1: error: cannot move `cn-shanghai/cityvisual-Instance/market` to `cn-shanghai/cityvisual-Instance/bazaar`: the state records both (ids `7` and `8`)\n  hint: forget one of them with a `Removed` document (or `cityform state rm cn-shanghai/cityvisual-Instance/bazaar`), or remove this document\n1 document cannot be planned"
        );
    }

    #[test]
    fn an_import_records_the_live_group_by_id_or_name_and_updates_it_to_the_manifest() {
        let spec = JobGroupSpec::example();
        let live_groups = observed(vec![
            live(
                "17",
                "legacy-cams",
                spec.clone().with_planed_jobs(3),
                Some(Status::Running),
            ),
            live("18", "twin", spec.clone(), None),
            live("19", "twin", spec.clone(), None),
        ]);
        for id in [Some("17"), None] {
            let wanted = importing(desired(&[("legacy-cams", spec.clone())]), "legacy-cams", id);
            let plan =
                compute_checked(wanted, None, Some(&live_groups), &PlanOptions::default()).unwrap();
            let [
                Action::Import {
                    job_group_id,
                    spec: recorded,
                    status,
                    ..
                },
                Action::Update {
                    job_group_id: updated,
                    changes,
                    ..
                },
            ] = plan.actions.as_slice()
            else {
                panic!("{plan:?}");
            };
            assert_eq!((job_group_id.as_str(), updated.as_str()), ("17", "17"));
            assert_eq!(recorded.planed_job_count, 3);
            assert_eq!(*status, Some(Status::Running));
            assert_eq!(changes.len(), 1, "{changes:?}");
            assert_eq!(changes[0].attribute, "planedJobCount");
            assert_eq!(plan.summary().create, 0);
        }
        // Imported already: nothing to do.
        let wanted = importing(
            desired(&[("legacy-cams", spec.clone())]),
            "legacy-cams",
            Some("17"),
        );
        let done = state(&[("legacy-cams", "17", spec.clone())]);
        let plan =
            compute_checked(wanted.clone(), Some(&done), None, &PlanOptions::default()).unwrap();
        assert!(plan.is_empty(), "{plan:?}");
        let other = state(&[("legacy-cams", "5", spec.clone())]);
        assert!(compute_checked(wanted, Some(&other), None, &PlanOptions::default()).is_err());
    }

    #[test]
    fn an_import_whose_group_is_not_found_once_is_refused_at_its_document() {
        let spec = JobGroupSpec::example();
        let live_groups = observed(vec![
            live("18", "twin", spec.clone(), None),
            live("19", "twin", spec.clone(), None),
        ]);
        let refused = |name: &str, id: Option<&str>, observed: Option<&Observed>| {
            let wanted = importing(desired(&[(name, spec.clone())]), name, id);
            compute_checked(wanted, None, observed, &PlanOptions::default())
                .unwrap_err()
                .0
                .into_iter()
                .map(|error| format!("{}: {}", error.source, error.message))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            refused("legacy-cams", Some("99"), Some(&live_groups)),
            [
                "manifests/changes.yaml:40:1: cannot import `cn-shanghai/cityvisual-Instance/legacy-cams`: there is no job group with id `99` in instance `cn-shanghai/cityvisual-Instance`"
            ]
        );
        assert_eq!(
            refused("legacy-cams", None, Some(&live_groups)),
            [
                "manifests/changes.yaml:40:1: cannot import `cn-shanghai/cityvisual-Instance/legacy-cams`: there is no job group named `legacy-cams` in instance `cn-shanghai/cityvisual-Instance`"
            ]
        );
        assert_eq!(
            refused("twin", None, Some(&live_groups)),
            [
                "manifests/changes.yaml:40:1: cannot import `cn-shanghai/cityvisual-Instance/twin`: 2 job groups are named `twin` in instance `cn-shanghai/cityvisual-Instance` (ids `18`, `19`)"
            ]
        );
        assert_eq!(
            refused("twin", Some("18"), None),
            [
                "manifests/changes.yaml:40:1: cannot import `cn-shanghai/cityvisual-Instance/twin`: the live job groups of instance `cn-shanghai/cityvisual-Instance` were not read"
            ]
        );
        // The plan without the check leaves the import out rather than guess, and does not
        // promise the create either: the name is taken.
        let wanted = importing(desired(&[("twin", spec.clone())]), "twin", None);
        let plan = compute_owned(wanted, None, Some(&live_groups), &PlanOptions::default());
        assert!(kinds(&plan).is_empty(), "{plan:?}");
        assert_eq!(plan.conflicts.len(), 1);
    }

    #[test]
    fn a_removal_forgets_a_recorded_group_instead_of_orphaning_it() {
        let spec = JobGroupSpec::example();
        let wanted = removing(Desired::default(), "retired");
        let recorded = state(&[("retired", "4", spec.clone())]);
        let plan = compute_checked(
            wanted.clone(),
            Some(&recorded),
            None,
            &PlanOptions::default(),
        )
        .unwrap();
        assert_eq!(kinds(&plan), [("retired".into(), "forget")]);
        assert_eq!(plan.summary().orphan, 0);
        let pruned = compute_checked(
            wanted.clone(),
            Some(&recorded),
            None,
            &PlanOptions {
                prune: true,
                ..PlanOptions::default()
            },
        )
        .unwrap();
        assert_eq!(kinds(&pruned), [("retired".into(), "forget")]);
        let plan =
            compute_checked(wanted, Some(&state(&[])), None, &PlanOptions::default()).unwrap();
        assert!(plan.is_empty(), "{plan:?}");
    }
}
