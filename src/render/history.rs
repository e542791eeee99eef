//! Provenance for people and programs: `cityform history` as a text table or versioned
//! JSON, and the "last applied from …" note plans show for an update or an orphan. Pure
//! functions from values to strings.

use std::fmt::Write as _;

use serde::Serialize;
use time::UtcOffset;
use time::macros::format_description;

use super::Quote;
use crate::provenance::Provenance;
use crate::state::HistoryEntry;

/// The format version of `history --format json`; bumped on any incompatible change.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Serialize)]
struct HistoryDocument<'a> {
    format_version: u32,
    kind: &'static str,
    entries: &'a [&'a HistoryEntry],
}

/// `history --format json`: `{"format_version": 1, "kind": "history", "entries": [...]}`
/// with the entries in the order given (newest first), pretty-printed, ending in a newline.
pub fn render_json(entries: &[&HistoryEntry]) -> Result<String, serde_json::Error> {
    let document = HistoryDocument {
        format_version: FORMAT_VERSION,
        kind: "history",
        entries,
    };
    let mut text = serde_json::to_string_pretty(&document)?;
    text.push('\n');
    Ok(text)
}

/// `history` as a text table, one action per line in the order given (newest first):
/// time (UTC, to the second), action, address, commit, who, the manifest line that declared
/// the group, and the `RequestId`.
pub fn render_text(entries: &[&HistoryEntry]) -> String {
    if entries.is_empty() {
        return "No recorded actions.\n".to_owned();
    }
    let header = [
        "TIME",
        "ACTION",
        "ADDRESS",
        "COMMIT",
        "BY",
        "SOURCE",
        "REQUEST ID",
    ]
    .map(str::to_owned);
    let rows: Vec<[String; 7]> = entries
        .iter()
        .map(|entry| {
            let provenance = &entry.provenance;
            [
                time_text(provenance),
                printable(&action_text(entry)),
                printable(&entry.address.to_string()),
                printable(&provenance.commit_label()),
                printable(&provenance.actor.short()),
                source_text(provenance),
                provenance
                    .request_id
                    .as_deref()
                    .map_or_else(|| "-".to_owned(), printable),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|cell| cell.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (index, cell) in row.iter().enumerate() {
            if index + 1 == row.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<width$}  ", width = widths[index]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The action, and for a move the other address: `move to …` under the address the group
/// left, `move from …` under the one it went to; just its name when it is in the same
/// instance, as `state mv` requires.
fn action_text(entry: &HistoryEntry) -> String {
    let Some(moved) = &entry.moved else {
        return entry.action.to_string();
    };
    let (direction, other) = if moved.from == entry.address {
        ("to", &moved.to)
    } else {
        ("from", &moved.from)
    };
    let same_instance = (&other.region_id, &other.instance_id)
        == (&entry.address.region_id, &entry.address.instance_id);
    let other = if same_instance {
        other.name.clone()
    } else {
        other.to_string()
    };
    format!("{} {direction} {other}", entry.action)
}

/// `manifests/traffic.yaml:12`, or `-` when no manifest line asked for the action.
fn source_text(provenance: &Provenance) -> String {
    provenance.source.as_ref().map_or_else(
        || "-".to_owned(),
        |source| printable(&format!("{}:{}", source.file, source.line)),
    )
}

/// What `state show` adds about a group's last recorded change, as names and quoted values:
/// `lastChange` (`"update 2026-11-27T08:00:00Z"`), `lastCommit`, `lastBy`, `lastSource`.
pub fn last_change_lines(entry: &HistoryEntry) -> Vec<(&'static str, String)> {
    let provenance = &entry.provenance;
    let lines = [
        (
            "lastChange",
            format!("{} {}", entry.action, time_text(provenance)),
        ),
        (
            "lastCommit",
            provenance.commit.as_deref().map_or_else(
                || provenance.commit_label(),
                |commit| {
                    if provenance.dirty == Some(true) {
                        format!("{commit} (dirty)")
                    } else {
                        commit.to_owned()
                    }
                },
            ),
        ),
        ("lastBy", provenance.actor.short()),
        ("lastSource", source_text(provenance)),
    ];
    lines
        .into_iter()
        .map(|(name, value)| (name, format!("{:?}", printable(&value))))
        .collect()
}

/// `2026-11-27T08:00:00Z`.
fn time_text(provenance: &Provenance) -> String {
    provenance
        .at
        .to_offset(UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
        ))
        .unwrap_or_else(|_| "-".to_owned())
}

/// Text without control characters, which could move a terminal's cursor or change its
/// colours: a user name or host name is whatever the environment says.
fn printable(text: &str) -> String {
    text.chars()
        .map(|character| {
            if character.is_control() {
                '?'
            } else {
                character
            }
        })
        .collect()
}

/// The note a plan shows for an update or orphan: `last applied from 3f2a9c1 by ci/run 8812`,
/// or for a group whose spec is the one an import found, `imported at 3f2a9c1 by ...`.
pub fn last_applied_text(quote: Quote<'_>) -> String {
    let provenance = quote.provenance;
    if quote.imported {
        return printable(&format!(
            "imported at {} by {}, not applied from the manifests since",
            provenance.commit_label(),
            provenance.actor.short()
        ));
    }
    printable(&format!("last applied from {}", provenance.short()))
}

/// [`last_applied_text`] for Markdown: the commit links to its page and a CI actor to its
/// job when the addresses are known; safe inside a table cell.
pub fn last_applied_markdown(quote: Quote<'_>) -> String {
    let provenance = quote.provenance;
    let commit = match (provenance.short_commit(), provenance.commit_url()) {
        (Some(short), Some(url)) => format!("[`{short}`]({url})"),
        (Some(short), None) => format!("`{short}`"),
        (None, _) => "an unknown commit".to_owned(),
    };
    let dirty = if provenance.dirty == Some(true) {
        " (dirty)"
    } else {
        ""
    };
    let actor = match &provenance.actor {
        crate::provenance::Actor::Ci { url, .. } => {
            format!("[{}]({url})", escape_markdown(&provenance.actor.short()))
        }
        actor @ crate::provenance::Actor::User { .. } => escape_markdown(&actor.short()),
    };
    if quote.imported {
        return format!(
            "imported at {commit}{dirty} by {actor}, not applied from the manifests since"
        );
    }
    format!("last applied from {commit}{dirty} by {actor}")
}

/// Text that Markdown shows as it is, also inside a table cell.
fn escape_markdown(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in printable(text).chars() {
        if matches!(
            character,
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '<' | '>' | '#' | '|' | '!' | '~'
        ) {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::manifest::SourceLocation;
    use crate::model::Address;
    use crate::provenance::{Actor, Forge};
    use crate::state::{History, HistoryAction, Moved};

    const COMMIT: &str = "3f2a9c1e5b7d9f0a1c3e5b7d9f0a1c3e5b7d9f0a";
    const OTHER: &str = "9c0ffee5b7d9f0a1c3e5b7d9f0a1c3e5b7d9f0a1";

    fn github_run(number: u32) -> Actor {
        Actor::Ci {
            url: format!("https://github.com/acme/city/actions/runs/{number}"),
            system: Forge::Github,
        }
    }

    fn alice() -> Actor {
        Actor::User {
            user: "alice".to_owned(),
            host: "laptop".to_owned(),
        }
    }

    fn provenance(
        commit: Option<&str>,
        dirty: Option<bool>,
        actor: Actor,
        minute: u8,
    ) -> Provenance {
        Provenance {
            commit: commit.map(str::to_owned),
            dirty,
            source: Some(SourceLocation {
                file: "manifests/traffic.yaml".to_owned(),
                line: 1,
                column: 1,
            }),
            actor,
            at: datetime!(2026-11-27 08:00:00.250 UTC) + time::Duration::minutes(minute.into()),
            request_id: Some(format!("2F2B1C7E-6A1D-4F0B-9E57-3C8D0A4B5E{minute:02}")),
            repository_url: Some("https://github.com/acme/city".to_owned()),
            forge: Some(Forge::Github),
        }
    }

    fn history() -> History {
        let east = Address::new("cn-shanghai", "cityvisual-Instance", "traffic-east");
        let west = Address::new("cn-shanghai", "cityvisual-Instance", "parks-west");
        let mut history = History::default();
        for (address, action, id, provenance) in [
            (
                &east,
                HistoryAction::Create,
                "jg-7f3a",
                provenance(Some(COMMIT), Some(false), github_run(8801), 0),
            ),
            (
                &west,
                HistoryAction::Import,
                "jg-11b2",
                provenance(Some(COMMIT), Some(false), alice(), 5),
            ),
            (
                &east,
                HistoryAction::Update,
                "jg-7f3a",
                provenance(Some(OTHER), Some(true), alice(), 30),
            ),
            (
                &east,
                HistoryAction::Stop,
                "jg-7f3a",
                provenance(None, None, alice(), 45),
            ),
            (
                &west,
                HistoryAction::Delete,
                "jg-11b2",
                Provenance {
                    source: None,
                    request_id: None,
                    ..provenance(Some(OTHER), Some(false), github_run(8812), 61)
                },
            ),
        ] {
            history.push(HistoryEntry {
                address: address.clone(),
                action,
                job_group_id: id.to_owned(),
                provenance,
                moved: None,
            });
        }
        history
    }

    #[test]
    fn text_history() {
        let history = history();
        insta::assert_snapshot!(render_text(&history.select(None, None)));
    }

    #[test]
    fn text_history_of_one_group() {
        let history = history();
        let east = Address::new("cn-shanghai", "cityvisual-Instance", "traffic-east");
        let text = render_text(&history.select(Some(&east), None));
        assert_eq!(text.lines().count(), 4, "{text}");
        assert!(!text.contains("parks-west"), "{text}");
        assert!(
            text.lines()
                .nth(1)
                .unwrap()
                .starts_with("2026-11-27T08:45:00Z  stop "),
            "{text}"
        );
    }

    /// `state mv` of traffic-east to traffic-north (an entry under each address), then
    /// `state rm` of traffic-north.
    fn edited_history() -> History {
        let east = Address::new("cn-shanghai", "cityvisual-Instance", "traffic-east");
        let north = Address::new("cn-shanghai", "cityvisual-Instance", "traffic-north");
        let edit = |minute| Provenance {
            source: None,
            request_id: None,
            ..provenance(Some(COMMIT), Some(false), alice(), minute)
        };
        let moved = Moved {
            from: east.clone(),
            to: north.clone(),
        };
        let mut history = History::default();
        for (address, action, moved, minute) in [
            (&east, HistoryAction::Move, Some(moved.clone()), 10),
            (&north, HistoryAction::Move, Some(moved), 10),
            (&north, HistoryAction::Forget, None, 20),
        ] {
            history.push(HistoryEntry {
                address: address.clone(),
                action,
                job_group_id: "jg-7f3a".to_owned(),
                provenance: edit(minute),
                moved,
            });
        }
        history
    }

    #[test]
    fn text_history_of_state_edits() {
        insta::assert_snapshot!(render_text(&edited_history().select(None, None)));
    }

    #[test]
    fn json_history_of_state_edits() {
        insta::assert_snapshot!(render_json(&edited_history().select(None, None)).unwrap());
    }

    #[test]
    fn text_history_with_nothing_recorded() {
        assert_eq!(render_text(&[]), "No recorded actions.\n");
    }

    #[test]
    fn json_history() {
        let history = history();
        insta::assert_snapshot!(render_json(&history.select(None, None)).unwrap());
    }

    #[test]
    fn json_history_is_versioned_and_newest_first() {
        let history = history();
        let json: serde_json::Value =
            serde_json::from_str(&render_json(&history.select(None, None)).unwrap()).unwrap();
        assert_eq!(json["format_version"], FORMAT_VERSION);
        assert_eq!(json["kind"], "history");
        assert_eq!(json["entries"][0]["action"], "delete");
        assert_eq!(json["entries"][4]["action"], "create");
        assert_eq!(
            json["entries"][0]["provenance"]["at"],
            "2026-11-27T09:01:00.25Z"
        );
        let empty: serde_json::Value = serde_json::from_str(&render_json(&[]).unwrap()).unwrap();
        assert_eq!(empty["entries"], serde_json::json!([]));
    }

    #[test]
    fn last_applied_notes() {
        let ci = provenance(Some(COMMIT), Some(false), github_run(8812), 0);
        assert_eq!(
            last_applied_text(applied(&ci)),
            "last applied from 3f2a9c1 by ci/run 8812"
        );
        assert_eq!(
            last_applied_markdown(applied(&ci)),
            format!(
                "last applied from [`3f2a9c1`](https://github.com/acme/city/commit/{COMMIT}) \
                 by [ci/run 8812](https://github.com/acme/city/actions/runs/8812)"
            )
        );
        let local = Provenance {
            repository_url: None,
            ..provenance(Some(COMMIT), Some(true), alice(), 0)
        };
        assert_eq!(
            last_applied_text(applied(&local)),
            "last applied from 3f2a9c1 (dirty) by alice@laptop"
        );
        assert_eq!(
            last_applied_markdown(applied(&local)),
            "last applied from `3f2a9c1` (dirty) by alice@laptop"
        );
        let unknown = provenance(None, None, alice(), 0);
        assert_eq!(
            last_applied_text(applied(&unknown)),
            "last applied from unknown commit by alice@laptop"
        );
        assert_eq!(
            last_applied_markdown(applied(&unknown)),
            "last applied from an unknown commit by alice@laptop"
        );
        let imported = Quote {
            provenance: &local,
            imported: true,
        };
        assert_eq!(
            last_applied_text(imported),
            "imported at 3f2a9c1 (dirty) by alice@laptop, not applied from the manifests since"
        );
        assert_eq!(
            last_applied_markdown(imported),
            "imported at `3f2a9c1` (dirty) by alice@laptop, not applied from the manifests since"
        );
    }

    fn applied(provenance: &Provenance) -> Quote<'_> {
        Quote {
            provenance,
            imported: false,
        }
    }

    #[test]
    fn names_from_the_environment_cannot_break_the_output() {
        let odd = provenance(
            Some(COMMIT),
            Some(false),
            Actor::User {
                user: "eve|*[x](y)\u{1b}[31m".to_owned(),
                host: "host\nname".to_owned(),
            },
            0,
        );
        let markdown = last_applied_markdown(applied(&odd));
        assert!(
            markdown.ends_with(r"by eve\|\*\[x\]\(y\)?\[31m@host?name"),
            "{markdown}"
        );
        let text = last_applied_text(applied(&odd));
        assert!(!text.contains('\u{1b}') && !text.contains('\n'), "{text:?}");
        let entry = HistoryEntry {
            address: Address::new("cn-shanghai", "cityvisual-Instance", "traffic-east"),
            action: HistoryAction::Update,
            job_group_id: "jg-7f3a".to_owned(),
            provenance: odd,
            moved: None,
        };
        let table = render_text(&[&entry]);
        assert_eq!(table.lines().count(), 2, "{table}");
        assert!(!table.contains('\u{1b}'), "{table:?}");
    }
}
