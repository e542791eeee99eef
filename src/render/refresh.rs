//! What `cityform refresh` found, for people (one paragraph per finding and a count) and
//! programs (versioned JSON).

use std::fmt::Write as _;

use serde::Serialize;

use crate::apply::refresh::Finding;

#[derive(Serialize)]
struct RefreshDocument<'a> {
    format_version: u32,
    kind: &'static str,
    instances: usize,
    unchanged: usize,
    findings: &'a [Finding],
}

/// `refresh --format json`: how many instances were read, how many groups are as recorded,
/// and every finding.
pub fn json(
    instances: usize,
    unchanged: usize,
    findings: &[Finding],
) -> serde_json::Result<String> {
    let mut text = serde_json::to_string_pretty(&RefreshDocument {
        format_version: 1,
        kind: "refresh",
        instances,
        unchanged,
        findings,
    })?;
    text.push('\n');
    Ok(text)
}

/// `refresh`: each finding, then a count.
pub fn text(instances: usize, unchanged: usize, findings: &[Finding]) -> String {
    let mut text = String::new();
    for finding in findings {
        match finding {
            Finding::Changed {
                address,
                job_group_id,
                changes,
                status_before,
                status_after,
            } => {
                let _ = writeln!(
                    text,
                    "{address} [id={job_group_id}]: changed outside cityform; the state now records it as it is"
                );
                for change in changes {
                    let _ = writeln!(
                        text,
                        "    {} = {} -> {}",
                        change.attribute,
                        change.before.as_deref().unwrap_or("(unset)"),
                        change.after.as_deref().unwrap_or("(unset)")
                    );
                }
                if status_before != status_after {
                    let name = |status: &Option<crate::model::Status>| {
                        status.map_or("(unknown)", |status| status.as_str())
                    };
                    let _ = writeln!(
                        text,
                        "    status = {} -> {}",
                        name(status_before),
                        name(status_after)
                    );
                }
            }
            Finding::Gone {
                address,
                job_group_id,
            } => {
                let _ = writeln!(
                    text,
                    "{address} [id={job_group_id}]: no longer exists (deleted outside cityform); removed from the state"
                );
            }
            Finding::Renamed {
                address,
                job_group_id,
                live_name,
            } => {
                let _ = writeln!(
                    text,
                    "{address} [id={job_group_id}]: renamed outside cityform to `{live_name}`; the state keeps its address, so the next apply renames it back (or `cityform state mv` adopts the new name)"
                );
            }
        }
    }
    if !findings.is_empty() {
        text.push('\n');
    }
    let _ = writeln!(
        text,
        "Refreshed {instances} instance(s): {} finding(s), {unchanged} job group(s) as recorded.",
        findings.len()
    );
    text
}
