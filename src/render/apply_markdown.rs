//! What an apply did, as Markdown for the CI step summary: a headline with the counts, then
//! one row per group that was created, updated, started or stopped, protected, deleted,
//! recovered, failed, left alone or not started. Every kind of row the table has is counted
//! in the headline.

use std::fmt::Write as _;

use super::apply_text::{self, done};
use crate::apply::{ActionFailure, ApplyReport, NotAppliedKind};

/// Rows listed per section before the rest is only counted: GitHub shows at most 1 MiB of
/// summary per step.
const MAX_ROWS: usize = 200;

/// What an apply did, as Markdown: a headline with the counts, then one row per group.
pub fn render(report: &ApplyReport) -> String {
    let mut out = String::from("### cityform apply\n\n");
    if report.dry_run {
        let changed = if report.would_change.is_empty() {
            String::new()
        } else {
            format!(", {} would be changed", report.would_change.len())
        };
        let _ = writeln!(
            out,
            "**Dry run:** {} would be created{changed}. Nothing was sent and the state was not written.\n",
            plural(report.would_create.len(), "job group")
        );
        let created = report.would_create.iter().map(|address| {
            (
                "+".to_owned(),
                address.to_string(),
                "would be created".to_owned(),
            )
        });
        let changed = report.would_change.iter().map(|change| {
            (
                "~".to_owned(),
                change.address.to_string(),
                format!("would be {}", done(change.action)),
            )
        });
        table(&mut out, created.chain(changed));
        return out;
    }
    let counts = headline_counts(report);
    let headline = if report.interrupted {
        format!("**Apply interrupted:** {counts}. Run apply again to finish.")
    } else if report.failed.is_empty() {
        format!("**Apply complete:** {counts}.")
    } else {
        format!(
            "**Apply finished with failures:** {counts}. Everything that succeeded is recorded; running apply again retries the rest."
        )
    };
    let _ = writeln!(out, "{headline}\n");
    let created = report.created.iter().map(|group| {
        (
            "+".to_owned(),
            group.address.to_string(),
            format!("created, id `{}`", group.job_group_id),
        )
    });
    let recovered = report.recovered.iter().map(|group| {
        (
            "+".to_owned(),
            group.address.to_string(),
            format!("recovered, id `{}` ({})", group.job_group_id, group.reason),
        )
    });
    let failed = report.failed.iter().map(|failure| {
        (
            "!".to_owned(),
            failure.address.to_string(),
            failure_cell(failure),
        )
    });
    let updated = report.updated.iter().map(|group| {
        (
            "~".to_owned(),
            group.address.to_string(),
            format!("updated ({})", group.attributes.join(", ")),
        )
    });
    let status_changed = report.status_changed.iter().map(|change| {
        (
            "~".to_owned(),
            change.address.to_string(),
            format!("status set to {}", change.status),
        )
    });
    let protected = report.protected.iter().map(|change| {
        (
            "~".to_owned(),
            change.address.to_string(),
            format!("preventDestroy recorded as {}", change.prevent_destroy),
        )
    });
    let deleted = report.deleted.iter().map(|group| {
        let what = if group.already_gone {
            "forgotten (already deleted)"
        } else {
            "deleted"
        };
        ("-".to_owned(), group.address.to_string(), what.to_owned())
    });
    let not_applied = report.not_applied.iter().map(|group| {
        let what = match group.kind {
            NotAppliedKind::Orphan => "orphaned, left alone",
        };
        ("-".to_owned(), group.address.to_string(), what.to_owned())
    });
    let not_started = report.not_started.iter().map(|address| {
        (
            " ".to_owned(),
            address.to_string(),
            "not started".to_owned(),
        )
    });
    table(
        &mut out,
        created
            .chain(updated)
            .chain(status_changed)
            .chain(protected)
            .chain(deleted)
            .chain(recovered)
            .chain(failed)
            .chain(not_applied)
            .chain(not_started),
    );
    out
}

/// The counts of the headline: those of the text summary, and the groups left alone and
/// not started, which the table lists too.
fn headline_counts(report: &ApplyReport) -> String {
    let mut counts = apply_text::counts(report);
    if !report.not_applied.is_empty() {
        let _ = write!(counts, ", {} left alone", report.not_applied.len());
    }
    if report.interrupted || !report.not_started.is_empty() {
        let _ = write!(counts, ", {} not started", report.not_started.len());
    }
    counts
}

/// A failure in one table cell: the message, the service's code, the request id and the hint.
fn failure_cell(failure: &ActionFailure) -> String {
    let mut cell = format!("failed: {}", failure.message);
    if let Some(request_id) = &failure.request_id {
        let _ = write!(cell, " (RequestId `{request_id}`)");
    }
    if let Some(hint) = &failure.hint {
        let _ = write!(cell, "<br>hint: {hint}");
    }
    cell
}

/// A `| | Job group | Result |` table of `rows`, cut after [`MAX_ROWS`].
fn table(out: &mut String, rows: impl Iterator<Item = (String, String, String)>) {
    let mut written = 0;
    let mut left_out = 0;
    for (sign, address, result) in rows {
        if written == 0 {
            out.push_str("| | Job group | Result |\n|---|---|---|\n");
        }
        if written == MAX_ROWS {
            left_out += 1;
            continue;
        }
        let _ = writeln!(
            out,
            "| `{sign}` | `{}` | {} |",
            cell(&address),
            cell(&result)
        );
        written += 1;
    }
    if left_out > 0 {
        let _ = writeln!(
            out,
            "\n_{} more not shown; the job log has every line._",
            left_out
        );
    }
}

/// `text` made safe for one Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::apply::{
        ChangeKind, CreatedGroup, DeletedGroup, FailureReason, NotApplied, ProtectionChange,
        RecoveredGroup, RecoveryReason, StatusChange, UpdatedGroup,
    };
    use crate::cloud::ErrorClass;
    use crate::model::{Address, Status};

    fn address(name: &str) -> Address {
        Address::new("cn-shanghai", "cityvisual-Instance", name)
    }

    #[test]
    fn an_apply_summary_lists_creations_and_failures() {
        let report = ApplyReport {
            created: vec![CreatedGroup {
                address: address("traffic-east"),
                job_group_id: "4".into(),
                request_id: "R-1".into(),
                elapsed: Duration::from_millis(12),
            }],
            failed: vec![ActionFailure {
                address: address("traffic-west"),
                action: ChangeKind::Create,
                reason: FailureReason::Refused,
                class: ErrorClass::Terminal,
                code: Some("InvalidAlgoLibId.NotFound".into()),
                message: "CreateJobGroup traffic-west: refused | 404".into(),
                request_id: Some("R-2".into()),
                hint: None,
            }],
            ..ApplyReport::default()
        };
        insta::assert_snapshot!(render(&report), @r"
        ### cityform apply

        **Apply finished with failures:** 1 created, 0 recovered, 1 failed. Everything that succeeded is recorded; running apply again retries the rest.

        | | Job group | Result |
        |---|---|---|
        | `+` | `cn-shanghai/cityvisual-Instance/traffic-east` | created, id `4` |
        | `!` | `cn-shanghai/cityvisual-Instance/traffic-west` | failed: CreateJobGroup traffic-west: refused \| 404 (RequestId `R-2`) |
        ");
    }

    #[test]
    fn updates_alone_are_counted() {
        let updated = |name: &str| UpdatedGroup {
            address: address(name),
            job_group_id: "7".into(),
            attributes: vec!["planedJobCount".into()],
            request_id: "R".into(),
            elapsed: Duration::from_millis(3),
        };
        let report = ApplyReport {
            updated: vec![updated("traffic-east"), updated("traffic-west")],
            ..ApplyReport::default()
        };
        insta::assert_snapshot!(render(&report), @r"
        ### cityform apply

        **Apply complete:** 0 created, 2 updated, 0 recovered, 0 failed.

        | | Job group | Result |
        |---|---|---|
        | `~` | `cn-shanghai/cityvisual-Instance/traffic-east` | updated (planedJobCount) |
        | `~` | `cn-shanghai/cityvisual-Instance/traffic-west` | updated (planedJobCount) |
        ");
    }

    /// Each kind of row twice (so that no count is the 1 of another kind), and the
    /// headline counts every one of them.
    #[test]
    fn every_kind_of_row_is_counted_in_the_headline() {
        let twice = |name: &str| [address(&format!("{name}-1")), address(&format!("{name}-2"))];
        let report = ApplyReport {
            created: twice("created")
                .map(|address| CreatedGroup {
                    address,
                    job_group_id: "1".into(),
                    request_id: "R".into(),
                    elapsed: Duration::ZERO,
                })
                .into(),
            updated: twice("updated")
                .map(|address| UpdatedGroup {
                    address,
                    job_group_id: "2".into(),
                    attributes: vec!["streamPerJob".into()],
                    request_id: "R".into(),
                    elapsed: Duration::ZERO,
                })
                .into(),
            status_changed: twice("stopped")
                .map(|address| StatusChange {
                    address,
                    job_group_id: "3".into(),
                    status: Status::Stopped,
                    request_id: "R".into(),
                })
                .into(),
            protected: twice("protected")
                .map(|address| ProtectionChange {
                    address,
                    job_group_id: "4".into(),
                    prevent_destroy: true,
                })
                .into(),
            deleted: twice("deleted")
                .map(|address| DeletedGroup {
                    address,
                    job_group_id: "5".into(),
                    request_id: "R".into(),
                    already_gone: false,
                })
                .into(),
            recovered: twice("recovered")
                .map(|address| RecoveredGroup {
                    address,
                    job_group_id: "6".into(),
                    reason: RecoveryReason::LostAnswer,
                })
                .into(),
            not_applied: twice("orphan")
                .map(|address| NotApplied {
                    address,
                    job_group_id: "7".into(),
                    kind: NotAppliedKind::Orphan,
                })
                .into(),
            not_started: twice("waiting").into(),
            interrupted: true,
            ..ApplyReport::default()
        };
        let markdown = render(&report);
        assert!(
            markdown.contains(
                "**Apply interrupted:** 2 created, 2 updated, 2 started or stopped, 2 \
                 protection(s) recorded, 2 deleted, 2 recovered, 0 failed, 2 left alone, 2 not \
                 started. Run apply again to finish."
            ),
            "{markdown}"
        );
        assert_eq!(markdown.matches("\n| `").count(), 16, "{markdown}");
    }

    #[test]
    fn a_dry_run_summary_says_nothing_was_sent() {
        let report = ApplyReport {
            would_create: vec![address("traffic-east")],
            would_change: vec![crate::apply::PlannedChange {
                address: address("traffic-west"),
                action: ChangeKind::Update,
            }],
            dry_run: true,
            ..ApplyReport::default()
        };
        let markdown = render(&report);
        assert!(
            markdown.contains("**Dry run:** 1 job group would be created, 1 would be changed."),
            "{markdown}"
        );
        assert!(
            markdown.contains(
                "| `~` | `cn-shanghai/cityvisual-Instance/traffic-west` | would be updated in place |"
            ),
            "{markdown}"
        );
        assert!(markdown.contains(
            "| `+` | `cn-shanghai/cityvisual-Instance/traffic-east` | would be created |"
        ));
    }

    #[test]
    fn long_tables_are_cut() {
        let report = ApplyReport {
            not_started: (0..MAX_ROWS + 5)
                .map(|index| address(&format!("group-{index:04}")))
                .collect(),
            interrupted: true,
            ..ApplyReport::default()
        };
        let markdown = render(&report);
        assert_eq!(markdown.matches("not started |").count(), MAX_ROWS);
        assert!(markdown.contains("_5 more not shown; the job log has every line._"));
    }
}
