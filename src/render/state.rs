//! What the state records, for people and programs: `cityform state list` (one line per
//! group, or JSON) and `cityform state show` (every recorded field of one group and its last
//! recorded change).

use std::fmt::Write as _;

use serde::Serialize;

use crate::model::{Address, JobGroupSpec, Status};
use crate::state::HistoryEntry;
use crate::state::{State, StateEntry};

/// One line per group, `ADDRESS  ID`, the ids aligned; nothing for an empty state.
pub fn list_text(state: Option<&State>) -> String {
    let Some(state) = state else {
        return String::new();
    };
    let width = state
        .job_groups
        .keys()
        .map(|address| address.to_string().len())
        .max()
        .unwrap_or(0);
    let mut text = String::new();
    for (address, entry) in &state.job_groups {
        let _ = writeln!(
            text,
            "{:<width$}  {}",
            address.to_string(),
            entry.job_group_id
        );
    }
    text
}

#[derive(Serialize)]
struct ListDocument<'a> {
    format_version: u32,
    kind: &'static str,
    lineage: Option<&'a str>,
    serial: Option<u64>,
    job_groups: Vec<Listed<'a>>,
}

#[derive(Serialize)]
struct Listed<'a> {
    address: &'a Address,
    job_group_id: &'a str,
}

/// `state list --format json`: the lineage, the serial and every group with its id.
pub fn list_json(state: Option<&State>) -> serde_json::Result<String> {
    let document = ListDocument {
        format_version: 1,
        kind: "state_list",
        lineage: state.map(|state| state.lineage.as_str()),
        serial: state.map(|state| state.serial),
        job_groups: state
            .into_iter()
            .flat_map(|state| &state.job_groups)
            .map(|(address, entry)| Listed {
                address,
                job_group_id: &entry.job_group_id,
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&document)?;
    text.push('\n');
    Ok(text)
}

/// `state show`: `name = value` lines, aligned, then the last recorded change, when known.
pub fn entry_text(
    address: &Address,
    entry: &StateEntry,
    last_change: Option<&HistoryEntry>,
) -> String {
    let mut lines = entry_lines(address, entry);
    if let Some(change) = last_change {
        lines.extend(
            super::history::last_change_lines(change)
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value)),
        );
    }
    // One column for every line, the last change's included.
    let width = lines.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    let mut text = String::new();
    for (name, value) in lines {
        let _ = writeln!(text, "{name:<width$} = {value}");
    }
    text
}

/// `state show --format json`: every field, always, and the last recorded change, when known.
pub fn entry_json(
    address: &Address,
    entry: &StateEntry,
    last_change: Option<&HistoryEntry>,
) -> serde_json::Result<String> {
    let mut shown = serde_json::to_value(Shown::new(address, entry))?;
    if let (Some(change), Some(object)) = (last_change, shown.as_object_mut()) {
        object.insert("last_change".to_owned(), serde_json::to_value(change)?);
    }
    let mut text = serde_json::to_string_pretty(&shown)?;
    text.push('\n');
    Ok(text)
}

/// One recorded group as `state show --format json` prints it: every field, always.
#[derive(Serialize)]
struct Shown<'a> {
    format_version: u32,
    kind: &'static str,
    address: &'a Address,
    job_group_id: &'a str,
    spec: &'a JobGroupSpec,
    status: Option<Status>,
    prevent_destroy: bool,
    request_id: &'a str,
    applied_at: &'a str,
}

impl<'a> Shown<'a> {
    fn new(address: &'a Address, entry: &'a StateEntry) -> Self {
        Self {
            format_version: 1,
            kind: "state_entry",
            address,
            job_group_id: &entry.job_group_id,
            spec: &entry.spec,
            status: entry.status,
            prevent_destroy: entry.prevent_destroy,
            request_id: &entry.request_id,
            applied_at: &entry.applied_at,
        }
    }
}

/// `name = value` lines: the address and id, every spec attribute, then what the state
/// knows besides.
/// `state show`'s lines of the recorded group itself, names and values as shown.
fn entry_lines(address: &Address, entry: &StateEntry) -> Vec<(String, String)> {
    let mut lines: Vec<(String, String)> = vec![
        ("address".into(), address.to_string()),
        ("id".into(), format!("{:?}", entry.job_group_id)),
    ];
    for (attribute, value) in entry.spec.attributes() {
        let shown = super::display_value(&attribute, &value);
        lines.push((attribute, shown));
    }
    lines.push((
        "status".into(),
        entry.status.map_or_else(
            || "(unknown)".to_owned(),
            |status| format!("{:?}", status.as_str()),
        ),
    ));
    lines.push(("preventDestroy".into(), entry.prevent_destroy.to_string()));
    lines.push(("requestId".into(), format!("{:?}", entry.request_id)));
    lines.push(("appliedAt".into(), format!("{:?}", entry.applied_at)));
    lines
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn state() -> State {
        let mut state = State::new("lineage-1");
        let mut entry = StateEntry::new(
            "7",
            JobGroupSpec::example().with_param("ES_ENABLE", "True"),
            "R-1",
            "2026-11-27T08:00:00Z",
        );
        entry.status = Some(Status::Running);
        state.job_groups.insert(
            Address::new("cn-shanghai", "cityvisual-Instance", "traffic-east"),
            entry,
        );
        state.job_groups.insert(
            Address::new("cn-shanghai", "cityvisual-Instance", "b"),
            StateEntry::new("12", JobGroupSpec::example(), "R-2", "2026-11-27T08:00:00Z"),
        );
        state
    }

    #[test]
    fn list_aligns_the_ids_and_is_empty_without_a_state() {
        insta::assert_snapshot!(list_text(Some(&state())), @r"
        cn-shanghai/cityvisual-Instance/b             12
        cn-shanghai/cityvisual-Instance/traffic-east  7
        ");
        assert_eq!(list_text(None), "");
    }

    #[test]
    fn list_as_json_names_every_group_and_the_state() {
        let json: serde_json::Value =
            serde_json::from_str(&list_json(Some(&state())).unwrap()).unwrap();
        assert_eq!(json["kind"], "state_list");
        assert_eq!(json["lineage"], "lineage-1");
        assert_eq!(
            json["job_groups"][1],
            serde_json::json!({
                "address": "cn-shanghai/cityvisual-Instance/traffic-east",
                "job_group_id": "7"
            })
        );
        let empty: serde_json::Value = serde_json::from_str(&list_json(None).unwrap()).unwrap();
        assert_eq!(empty["job_groups"], serde_json::json!([]));
        assert_eq!(empty["lineage"], serde_json::Value::Null);
    }

    #[test]
    fn show_prints_every_recorded_field() {
        let state = state();
        let (address, entry) = state.job_groups.iter().nth(1).unwrap();
        insta::assert_snapshot!(entry_text(address, entry, None), @r#"
        address           = cn-shanghai/cityvisual-Instance/traffic-east
        id                = "7"
        algoLibId         = "3"
        resourceProfileId = "6"
        planedJobCount    = 10
        streamPerJob      = 5
        params.ES_ENABLE  = "True"
        status            = "Running"
        preventDestroy    = false
        requestId         = "R-1"
        appliedAt         = "2026-11-27T08:00:00Z"
        "#);
        let json = serde_json::to_value(Shown::new(address, entry)).unwrap();
        assert_eq!(json["status"], "Running");
        assert_eq!(json["prevent_destroy"], false);
        assert_eq!(json["spec"]["params"]["ES_ENABLE"], "True");
    }

    #[test]
    fn show_aligns_the_last_change_with_the_rest() {
        use crate::provenance::RunContext;
        use crate::state::HistoryAction;
        let address = Address::example("traffic-east");
        let entry = StateEntry::new(
            "7",
            JobGroupSpec::example().with_param("SCHEDULE_FLOW_START_TIME", "Latest"),
            "R-1",
            "2026-11-27T08:00:00Z",
        );
        let change = HistoryEntry {
            address: address.clone(),
            action: HistoryAction::Update,
            job_group_id: "7".into(),
            provenance: RunContext::without_git(None, &std::collections::BTreeMap::new(), "host")
                .for_group(None, Some("R-1")),
            moved: None,
        };
        let text = entry_text(&address, &entry, Some(&change));
        let columns: std::collections::BTreeSet<usize> =
            text.lines().map(|line| line.find(" = ").unwrap()).collect();
        assert_eq!(columns.len(), 1, "{text}");
        assert!(text.contains("lastChange"), "{text}");
    }
}
