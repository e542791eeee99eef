//! Properties of planning, over generated manifest sets and states:
//!
//! - applying a plan to the state it was made from (every create and update written into the
//!   state as the applier writes it) gives a state whose next plan creates and updates
//!   nothing, and leaves the same orphans alone;
//! - the plan, as text, JSON and Markdown, does not depend on the order the manifest files
//!   are given in.
//!
//! Manifests are generated as YAML text and read through `manifest::load_sources`, so these
//! properties hold for what a user writes, defaults and spelling variants included.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

use std::fmt::Write as _;

use cityform::manifest::{Desired, Source, load_sources};
use cityform::model::{Address, JobGroupSpec, ParamKey};
use cityform::plan::{self, Action, Plan};
use cityform::render;
use cityform::state::{State, StateEntry};
use proptest::prelude::*;

const REGIONS: [&str; 2] = ["cn-shanghai", "cn-beijing"];
const INSTANCES: [&str; 2] = ["cityvisual-Instance", "inst-b"];

/// One job group as a manifest declares it; fields left to the defaults are `None`.
#[derive(Debug, Clone)]
struct GroupText {
    name: String,
    region: Option<&'static str>,
    instance: &'static str,
    algo_lib_id: Option<String>,
    resource_profile_id: String,
    planed_job_count: u32,
    stream_per_job: Option<u32>,
    job_count: Option<u32>,
    /// Params keys and values, values in any accepted spelling.
    params: Vec<(ParamKey, String)>,
}

/// The `Defaults` of a set: region, algorithm library, streams per job, and one param.
#[derive(Debug, Clone)]
struct DefaultsText {
    region: &'static str,
    algo_lib_id: String,
    stream_per_job: u32,
    es_enable: bool,
}

/// A manifest set: files of groups, and the file (by index) that holds the defaults.
#[derive(Debug, Clone)]
struct SetText {
    files: Vec<Vec<GroupText>>,
    defaults: DefaultsText,
    defaults_file: usize,
}

fn spelling(key: ParamKey) -> impl Strategy<Value = String> {
    let spellings: Vec<&'static str> = match key {
        ParamKey::ScheduleFlowStartTime => vec!["Latest", "latest", "Oldest", "OLDEST"],
        _ => vec!["true", "false", "True", "\"False\"", "TRUE"],
    };
    prop::sample::select(spellings).prop_map(str::to_owned)
}

fn params() -> impl Strategy<Value = Vec<(ParamKey, String)>> {
    prop::sample::subsequence(ParamKey::ALL.to_vec(), 0..=ParamKey::ALL.len()).prop_flat_map(
        |keys| {
            keys.into_iter()
                .map(|key| spelling(key).prop_map(move |value| (key, value)))
                .collect::<Vec<_>>()
        },
    )
}

fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("3".to_owned()),
        Just("7".to_owned()),
        "[1-9][0-9]{0,3}"
    ]
}

fn group(name: String) -> impl Strategy<Value = GroupText> {
    (
        prop::option::of(prop::sample::select(REGIONS.to_vec())),
        prop::sample::select(INSTANCES.to_vec()),
        prop::option::of(id()),
        id(),
        1..50_u32,
        prop::option::of(1..8_u32),
        prop::option::of(1..5_u32),
        params(),
    )
        .prop_map(
            move |(
                region,
                instance,
                algo_lib_id,
                resource_profile_id,
                planed_job_count,
                stream_per_job,
                job_count,
                params,
            )| GroupText {
                name: name.clone(),
                region,
                instance,
                algo_lib_id,
                resource_profile_id,
                planed_job_count,
                stream_per_job,
                job_count,
                params,
            },
        )
}

fn set() -> impl Strategy<Value = SetText> {
    let names = prop::collection::btree_set("[a-z][a-z0-9-]{1,8}", 0..12);
    let defaults = (
        prop::sample::select(REGIONS.to_vec()),
        id(),
        1..8_u32,
        any::<bool>(),
    )
        .prop_map(
            |(region, algo_lib_id, stream_per_job, es_enable)| DefaultsText {
                region,
                algo_lib_id,
                stream_per_job,
                es_enable,
            },
        );
    (names, defaults, 1..5_usize)
        .prop_flat_map(|(names, defaults, file_count)| {
            let groups: Vec<_> = names.into_iter().map(group).collect();
            (
                groups,
                Just(defaults),
                prop::collection::vec(0..file_count, 0..=12),
                0..file_count,
                Just(file_count),
            )
        })
        .prop_map(|(groups, defaults, placement, defaults_file, file_count)| {
            let mut files = vec![Vec::new(); file_count];
            for (index, group) in groups.into_iter().enumerate() {
                let file = placement.get(index).copied().unwrap_or(0);
                files[file].push(group);
            }
            SetText {
                files,
                defaults,
                defaults_file,
            }
        })
}

fn group_yaml(group: &GroupText) -> String {
    let mut text = format!(
        "apiVersion: cityform/v1\nkind: JobGroup\nmetadata:\n  name: {}\nspec:\n",
        group.name
    );
    if let Some(region) = group.region {
        let _ = writeln!(text, "  regionId: {region}");
    }
    let _ = writeln!(text, "  instanceId: {}", group.instance);
    if let Some(id) = &group.algo_lib_id {
        let _ = writeln!(text, "  algoLibId: \"{id}\"");
    }
    // Written as an integer: the loader takes `6` and `"6"` alike.
    let _ = writeln!(text, "  resourceProfileId: {}", group.resource_profile_id);
    let _ = writeln!(text, "  planedJobCount: {}", group.planed_job_count);
    if let Some(count) = group.stream_per_job {
        let _ = writeln!(text, "  streamPerJob: {count}");
    }
    if let Some(count) = group.job_count {
        let _ = writeln!(text, "  jobCount: {count}");
    }
    if !group.params.is_empty() {
        text.push_str("  params:\n");
        for (key, value) in &group.params {
            let _ = writeln!(text, "    {key}: {value}");
        }
    }
    text
}

fn defaults_yaml(defaults: &DefaultsText) -> String {
    format!(
        "apiVersion: cityform/v1\nkind: Defaults\nspec:\n  regionId: {}\n  algoLibId: \"{}\"\n  streamPerJob: {}\n  params:\n    ES_ENABLE: {}\n",
        defaults.region, defaults.algo_lib_id, defaults.stream_per_job, defaults.es_enable
    )
}

/// The set as files named `manifests/N.yaml`, in order.
fn sources(set: &SetText) -> Vec<Source> {
    set.files
        .iter()
        .enumerate()
        .map(|(index, groups)| {
            let mut documents: Vec<String> = groups.iter().map(group_yaml).collect();
            if index == set.defaults_file {
                documents.insert(0, defaults_yaml(&set.defaults));
            }
            if documents.is_empty() {
                documents.push(String::new());
            }
            Source {
                name: format!("manifests/{index}.yaml"),
                bytes: format!("---\n{}", documents.join("---\n")).into_bytes(),
            }
        })
        .collect()
}

fn load(sources: Vec<Source>) -> Desired {
    load_sources(sources)
        .unwrap_or_else(|diagnostics| panic!("a generated set is valid: {diagnostics}"))
}

/// A state that records some of the desired groups (as they are, or with another spec) and
/// some groups no manifest declares.
fn state_for(desired: &Desired) -> impl Strategy<Value = State> + use<> {
    let known: Vec<(Address, JobGroupSpec)> = desired
        .groups
        .iter()
        .map(|(address, group)| (address.clone(), group.spec.clone()))
        .collect();
    let count = known.len();
    (
        prop::collection::vec(0..3_u8, count),
        prop::collection::btree_map(
            "[a-z][a-z0-9]{1,6}",
            (1..9_u32, prop::option::of(1..4_u32)),
            0..4,
        ),
        0..1000_u64,
    )
        .prop_map(move |(choices, orphans, serial)| {
            let mut state = State::new("lineage-properties");
            state.serial = serial;
            for (index, ((address, spec), choice)) in known.iter().zip(choices).enumerate() {
                let recorded = match choice {
                    0 => continue,
                    1 => spec.clone(),
                    _ => JobGroupSpec {
                        planed_job_count: spec.planed_job_count + 1,
                        job_count: None,
                        params: Default::default(),
                        ..spec.clone()
                    },
                };
                state
                    .job_groups
                    .insert(address.clone(), entry(index, recorded));
            }
            for (index, (name, (planed, job_count))) in orphans.into_iter().enumerate() {
                let spec = JobGroupSpec {
                    algo_lib_id: "3".into(),
                    resource_profile_id: "6".into(),
                    planed_job_count: planed,
                    stream_per_job: 1,
                    job_count,
                    params: Default::default(),
                };
                // No manifest declares a group in this region.
                let address = Address::new("cn-hangzhou", "cityvisual-Instance", name);
                state.job_groups.insert(address, entry(1000 + index, spec));
            }
            state
        })
}

fn entry(index: usize, spec: JobGroupSpec) -> StateEntry {
    StateEntry {
        job_group_id: format!("{index}"),
        spec,
        request_id: format!("request-{index}"),
        applied_at: "2026-11-27T08:00:00Z".into(),
        status: None,
        prevent_destroy: false,
    }
}

/// Writes every create and update of `plan` into `state`, as the applier records them: a
/// create's entry holds the id the service returned and the spec sent, an update's the spec
/// sent. Each record is one write of the state.
fn apply(plan: &Plan, state: Option<&State>) -> State {
    let mut state = state
        .cloned()
        .unwrap_or_else(|| State::new("lineage-born-at-apply"));
    for (index, action) in plan.actions.iter().enumerate() {
        match action {
            Action::Create { address, spec, .. } => {
                state
                    .job_groups
                    .insert(address.clone(), entry(5000 + index, spec.clone()));
                state.serial += 1;
            }
            Action::Update { address, spec, .. } => {
                let recorded = state
                    .job_groups
                    .get_mut(address)
                    .expect("an update is of a recorded group");
                recorded.spec = spec.clone();
                state.serial += 1;
            }
            Action::SetStatus { address, to, .. } => {
                if let Some(recorded) = state.job_groups.get_mut(address) {
                    recorded.status = Some(*to);
                    state.serial += 1;
                }
            }
            Action::Protect {
                address,
                prevent_destroy,
                ..
            } => {
                if let Some(recorded) = state.job_groups.get_mut(address) {
                    recorded.prevent_destroy = *prevent_destroy;
                    state.serial += 1;
                }
            }
            Action::Delete { address, .. } => {
                state.job_groups.remove(address);
                state.serial += 1;
            }
            Action::Move { address, from, .. } => {
                if let Some(entry) = state.job_groups.remove(from) {
                    state.job_groups.insert(address.clone(), entry);
                    state.serial += 1;
                }
            }
            Action::Import {
                address,
                job_group_id,
                spec,
                ..
            } => {
                state.job_groups.insert(
                    address.clone(),
                    StateEntry::new(job_group_id.clone(), spec.clone(), "", ""),
                );
                state.serial += 1;
            }
            Action::Forget { address, .. } => {
                state.job_groups.remove(address);
                state.serial += 1;
            }
            Action::Orphan { .. } | Action::BlockedDelete { .. } => {}
        }
    }
    state
}

fn orphans(plan: &Plan) -> Vec<&Address> {
    plan.actions
        .iter()
        .filter(|action| matches!(action, Action::Orphan { .. }))
        .map(Action::address)
        .collect()
}

fn rendered(plan: &Plan) -> [String; 3] {
    [
        render::plan_text::render_plan(plan, render::plan_text::Color::Never),
        render::plan_json::render_plan(plan).unwrap(),
        render::plan_markdown::render_plan(plan),
    ]
}

fn set_and_state() -> impl Strategy<Value = (SetText, Option<State>)> {
    set().prop_flat_map(|set| {
        let desired = load(sources(&set));
        (Just(set), prop::option::of(state_for(&desired)))
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn after_applying_a_plan_the_next_plan_changes_nothing((set, state) in set_and_state()) {
        let desired = load(sources(&set));
        let first = plan::compute(&desired, state.as_ref());
        let after = apply(&first, state.as_ref());
        let next = plan::compute(&desired, Some(&after));

        let changes: Vec<&Action> = next
            .actions
            .iter()
            .filter(|action| !matches!(action, Action::Orphan { .. }))
            .collect();
        prop_assert!(changes.is_empty(), "still to do: {:?}", changes);
        prop_assert_eq!(orphans(&next), orphans(&first));
        prop_assert_eq!(next.unchanged, desired.groups.len());
        prop_assert_eq!(
            next.state.as_ref().map(|binding| binding.serial),
            Some(after.serial)
        );
        // Only orphans left means empty exactly when the state has no group of its own.
        prop_assert_eq!(next.is_empty(), orphans(&first).is_empty());
    }

    #[test]
    fn the_plan_does_not_depend_on_the_order_of_the_files(
        (set, state) in set_and_state(),
        order in any::<prop::sample::Index>(),
        rotation in any::<prop::sample::Index>(),
    ) {
        let files = sources(&set);
        let mut permuted = files.clone();
        // A shuffle built from two choices: swap one file to the front, then rotate.
        let count = permuted.len();
        permuted.swap(0, order.index(count));
        permuted.rotate_left(rotation.index(count));

        let plan = plan::compute(&load(files), state.as_ref());
        let permuted_plan = plan::compute(&load(permuted.clone()), state.as_ref());
        prop_assert_eq!(&plan, &permuted_plan);
        prop_assert_eq!(rendered(&plan), rendered(&permuted_plan));
        permuted.reverse();
        let reversed_plan = plan::compute(&load(permuted), state.as_ref());
        prop_assert_eq!(rendered(&plan), rendered(&reversed_plan));
    }
}

#[test]
fn the_generator_covers_every_kind_of_action() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let mut seen = [false; 3];
    for _ in 0..200 {
        let (set, state) = set_and_state().new_tree(&mut runner).unwrap().current();
        let plan = plan::compute(&load(sources(&set)), state.as_ref());
        for action in &plan.actions {
            let kind = match action {
                Action::Create { .. } => 0,
                Action::Update { .. } => 1,
                Action::Orphan { .. } => 2,
                other => panic!("a plan without status, protection or --prune has no {other:?}"),
            };
            seen[kind] = true;
        }
    }
    assert_eq!(seen, [true; 3], "create, update, orphan");
}
