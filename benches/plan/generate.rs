//! The bench's inputs: a manifest set of `size` job groups and a state holding half of them.
//!
//! The manifests look like a real repository's: a `Defaults` document in its own file, the
//! groups spread over several files, some groups overriding the region or instance, some
//! writing ids as integers, some with `jobCount`, some with params of their own on top of
//! the default ones. The state is written with the crate's own `write_state_file`, with
//! every even-numbered group in it; every fifth of those records another `planedJobCount`,
//! so the plan has creates, updates and unchanged groups, and the expected counts are known
//! here without asking cityform. Each recorded group has the history an apply from CI leaves
//! (its create, with the commit, manifest line, CI job and RequestId), in the history file
//! beside the state, as cityform keeps it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use cityform::manifest::SourceLocation;
use cityform::model::{Address, JobGroupParams, JobGroupSpec};
use cityform::provenance::RunContext;
use cityform::state::{History, HistoryAction, HistoryEntry};
use cityform::state::{State, StateEntry, write_state_file};

/// How many files the job groups are spread over (besides the defaults file).
const GROUP_FILES: usize = 10;

/// What the plan over the generated inputs must say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    pub create: usize,
    pub update: usize,
    pub unchanged: usize,
}

/// The generated inputs of one size.
#[derive(Debug)]
pub struct Inputs {
    pub size: usize,
    pub manifests: PathBuf,
    pub state: PathBuf,
    pub manifest_bytes: u64,
    pub state_bytes: u64,
    pub expected: Expected,
}

/// One generated group: its address, the spec the manifests mean after defaults, and the
/// YAML document that says so.
struct Group {
    address: Address,
    spec: JobGroupSpec,
    document: String,
}

/// Writes the manifests of `size` groups into `manifests` (which must exist), the groups for
/// which `changed` is true with a `planedJobCount` one higher; returns their size in bytes.
#[allow(dead_code)] // the scale bench's; this file is shared with it
pub fn write_manifests(
    manifests: &Path,
    size: usize,
    changed: &dyn Fn(usize) -> bool,
) -> anyhow::Result<u64> {
    let defaults_file = manifests.join("00-defaults.yaml");
    fs::write(&defaults_file, DEFAULTS)
        .with_context(|| format!("could not write `{}`", defaults_file.display()))?;
    let mut bytes = DEFAULTS.len() as u64;
    let per_file = size.div_ceil(GROUP_FILES).max(1);
    for file_index in 0..GROUP_FILES {
        let first = file_index * per_file;
        let last = size.min(first + per_file);
        if first >= last {
            break;
        }
        let mut text = format!(
            "# Job groups {first} to {} of the generated city.\n",
            last - 1
        );
        for index in first..last {
            if index > first {
                text.push_str("---\n");
            }
            text.push_str(&group(index, u32::from(changed(index))).document);
        }
        let path = manifests.join(format!("groups-{file_index:02}.yaml"));
        fs::write(&path, &text).with_context(|| format!("could not write `{}`", path.display()))?;
        bytes += text.len() as u64;
    }
    Ok(bytes)
}

/// Writes the manifests and the state for `size` groups below `directory`.
pub fn generate(directory: &Path, size: usize) -> anyhow::Result<Inputs> {
    let manifests = directory.join("manifests");
    fs::create_dir_all(&manifests)
        .with_context(|| format!("could not create `{}`", manifests.display()))?;
    let state_path = directory.join(".cityform").join("state.json");

    let defaults_file = manifests.join("00-defaults.yaml");
    fs::write(&defaults_file, DEFAULTS)
        .with_context(|| format!("could not write `{}`", defaults_file.display()))?;
    let mut manifest_bytes = DEFAULTS.len() as u64;

    let mut state = State::new("5a3e0c8e-61a4-4f0c-9b8e-0d7c2f4b1a90");
    let mut history = History::default();
    let applied_from_ci = RunContext::without_git(
        Some("3f2a9c1e0b7d4a5f6c8e9d0a1b2c3d4e5f6a7b8c"),
        &BTreeMap::from(
            [
                ("GITHUB_SERVER_URL", "https://github.com"),
                ("GITHUB_REPOSITORY", "city/traffic-deployments"),
                ("GITHUB_RUN_ID", "8812"),
            ]
            .map(|(name, value)| (name.to_owned(), value.to_owned())),
        ),
        "ci-runner",
    );
    let applied_at = time::macros::datetime!(2026-11-27 08:00 UTC);
    let mut expected = Expected {
        create: 0,
        update: 0,
        unchanged: 0,
    };
    let per_file = size.div_ceil(GROUP_FILES).max(1);
    for file_index in 0..GROUP_FILES {
        let first = file_index * per_file;
        let last = size.min(first + per_file);
        if first >= last {
            break;
        }
        let mut text = format!(
            "# Job groups {first} to {} of the generated city.\n",
            last - 1
        );
        for index in first..last {
            let group = group(index, 0);
            if index > first {
                text.push_str("---\n");
            }
            text.push_str(&group.document);
            if index.is_multiple_of(2) {
                let mut recorded = group.spec.clone();
                if index.is_multiple_of(10) {
                    recorded.planed_job_count += 1;
                    expected.update += 1;
                } else {
                    expected.unchanged += 1;
                }
                let request_id = format!("7C1E6A0B-0000-4000-8000-{index:012X}");
                let source = SourceLocation {
                    file: format!("manifests/groups-{file_index:02}.yaml"),
                    line: 2 + 10 * (index - first),
                    column: 1,
                };
                history.push(HistoryEntry {
                    address: group.address.clone(),
                    action: HistoryAction::Create,
                    job_group_id: format!("jg-{index:08x}"),
                    provenance: applied_from_ci.for_group_at(
                        Some(&source),
                        Some(&request_id),
                        applied_at,
                    ),
                    moved: None,
                });
                state.job_groups.insert(
                    group.address,
                    StateEntry::new(
                        format!("jg-{index:08x}"),
                        recorded,
                        request_id,
                        "2026-11-27T08:00:00Z",
                    ),
                );
            } else {
                expected.create += 1;
            }
        }
        let path = manifests.join(format!("groups-{file_index:02}.yaml"));
        fs::write(&path, &text).with_context(|| format!("could not write `{}`", path.display()))?;
        manifest_bytes += text.len() as u64;
    }

    let history_path = state_path.with_extension("json.history");
    cityform::state::history::file::write_whole(&history_path, &state.lineage, history)
        .with_context(|| format!("could not write `{}`", history_path.display()))?;
    write_state_file(&state_path, state)
        .with_context(|| format!("could not write `{}`", state_path.display()))?;
    let state_bytes = fs::metadata(&state_path)
        .with_context(|| format!("could not read `{}`", state_path.display()))?
        .len();
    Ok(Inputs {
        size,
        manifests,
        state: state_path,
        manifest_bytes,
        state_bytes,
        expected,
    })
}

const DEFAULTS: &str = "\
# Defaults for every generated job group.
apiVersion: cityform/v1
kind: Defaults
spec:
  regionId: cn-shanghai
  instanceId: cityvisual-Instance
  algoLibId: \"3\"
  params:
    ES_ENABLE: true
";

/// Group `index`, varied by small periods so that every kind of document occurs often;
/// `planedJobCount` raised by `bump`.
fn group(index: usize, bump: u32) -> Group {
    let name = format!("camera-{index:06}");
    let mut document =
        format!("apiVersion: cityform/v1\nkind: JobGroup\nmetadata:\n  name: {name}\nspec:\n");
    let region = if index.is_multiple_of(7) {
        document.push_str("  regionId: cn-beijing\n");
        "cn-beijing"
    } else {
        "cn-shanghai"
    };
    let instance = if index.is_multiple_of(4) {
        document.push_str("  instanceId: cityvisual-north\n");
        "cityvisual-north"
    } else {
        "cityvisual-Instance"
    };
    let algo_lib_id = if index.is_multiple_of(5) {
        document.push_str("  algoLibId: 12\n");
        "12"
    } else {
        "3"
    };
    let resource_profile_id = (index % 8 + 1).to_string();
    let planed_job_count = (index % 50 + 1) as u32 + bump;
    let stream_per_job = (index % 16 + 1) as u32;
    let _ = write!(
        document,
        "  resourceProfileId: \"{resource_profile_id}\"\n  planedJobCount: {planed_job_count}\n  streamPerJob: {stream_per_job}\n"
    );
    let job_count = index.is_multiple_of(3).then(|| {
        let count = (index % 10 + 1) as u32;
        let _ = writeln!(document, "  jobCount: {count}");
        count
    });
    let mut params = JobGroupParams::from_iter([("ES_ENABLE".to_owned(), "True".to_owned())]);
    if index % 3 == 1 {
        document
            .push_str("  params:\n    RDS_ENABLE: false\n    SCHEDULE_FLOW_START_TIME: oldest\n");
        params.insert("RDS_ENABLE".to_owned(), "False".to_owned());
        params.insert("SCHEDULE_FLOW_START_TIME".to_owned(), "Oldest".to_owned());
    } else if index % 6 == 2 {
        document.push_str("  params:\n    ES_ENABLE: \"False\"\n    OUT_MQ_ENABLE: true\n");
        params.insert("ES_ENABLE".to_owned(), "False".to_owned());
        params.insert("OUT_MQ_ENABLE".to_owned(), "True".to_owned());
    }
    Group {
        address: Address::new(region, instance, name),
        spec: JobGroupSpec {
            algo_lib_id: algo_lib_id.to_owned(),
            resource_profile_id,
            planed_job_count,
            stream_per_job,
            job_count,
            params,
        },
        document,
    }
}
