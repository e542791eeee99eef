//! The statements behind each operation on a workspace's rows, and the conversion between
//! rows and the state model.
//!
//! Every write checks the workspace row's lock token under a row lock in the same
//! statement or transaction (see `lock`), so a run that has lost its lock writes nothing.

use std::collections::BTreeSet;

use tokio_postgres::types::Type;
use tokio_postgres::{Client, Transaction};

use super::failure::Failure;
use crate::model::Address;
use crate::state::history::{DEFAULT_RETAIN_PER_GROUP, History, HistoryEntry, HistorySelection};
use crate::state::journal::{Intent, JournalRecord};
use crate::state::{FORMAT_VERSION, JournalError, PostgresError, State, StateEntry, StateError};

/// Names what a statement works on, for messages.
#[derive(Debug, Clone, Copy)]
pub(super) struct Target<'a> {
    /// The workspace's name.
    pub workspace: &'a str,
    /// The lock token this holder's writes must find.
    pub token: &'a str,
    /// The database and workspace as messages show them.
    pub location: &'a str,
}

impl Target<'_> {
    fn unreadable(&self, what: String, reason: impl ToString) -> StateError {
        PostgresError::StoredStateUnreadable {
            location: self.location.to_owned(),
            what,
            reason: reason.to_string(),
        }
        .into()
    }

    fn lock_lost(&self) -> StateError {
        PostgresError::LockLost {
            location: self.location.to_owned(),
        }
        .into()
    }
}

/// A workspace's rows: the state as of the last compaction, and what was appended since.
#[derive(Debug, Clone)]
pub(super) struct Stored {
    /// The compacted state, with the serial stored in the workspace row.
    pub base: State,
    /// The records appended since, in order.
    pub records: Vec<JournalRecord>,
}

/// Reads the workspace's rows; `None` when it has no state yet. With `for_update`, the
/// workspace row stays locked until `transaction` ends, so no append can slip in.
pub(super) async fn read(
    transaction: &Transaction<'_>,
    target: Target<'_>,
    for_update: bool,
) -> Result<Option<Stored>, Failure> {
    let header = format!(
        "SELECT format_version, lineage, serial, lock_token, history_retention FROM cityform_workspaces WHERE name = $1{}",
        if for_update { " FOR UPDATE" } else { "" }
    );
    let Some(row) = transaction.query_opt(&header, &[&target.workspace]).await? else {
        return Err(target.lock_lost().into());
    };
    if row.get::<_, Option<String>>(3).as_deref() != Some(target.token) {
        return Err(target.lock_lost().into());
    }
    let Some(lineage) = row.get::<_, Option<String>>(1) else {
        return Ok(None);
    };
    let format_version = row.get::<_, Option<i32>>(0).unwrap_or(0);
    let format_version = u32::try_from(format_version)
        .ok()
        .filter(|version| *version == FORMAT_VERSION)
        .ok_or_else(|| {
            let reason = if i64::from(format_version) > i64::from(FORMAT_VERSION) {
                format!(
                    "state format {format_version} was written by a newer cityform (this build reads {FORMAT_VERSION}); upgrade cityform"
                )
            } else {
                format!("state format {format_version} is not one any cityform writes")
            };
            target.unreadable("workspace row".to_owned(), reason)
        })?;
    let serial = row
        .get::<_, Option<i64>>(2)
        .and_then(|serial| u64::try_from(serial).ok())
        .ok_or_else(|| {
            target.unreadable(
                "workspace row".to_owned(),
                "its serial is missing or negative",
            )
        })?;

    let retain_per_group = row
        .get::<_, Option<i32>>(4)
        .and_then(|retain| usize::try_from(retain).ok())
        .unwrap_or(DEFAULT_RETAIN_PER_GROUP);

    let mut base = State::new(lineage);
    base.format_version = format_version;
    base.serial = serial;
    base.history_retention = retain_per_group;
    for row in transaction
        .query(
            "SELECT address, entry::text FROM cityform_job_groups WHERE workspace = $1",
            &[&target.workspace],
        )
        .await?
    {
        let address_text: String = row.get(0);
        let what = || format!("job group row `{address_text}`");
        let address: Address = address_text
            .parse()
            .map_err(|error| target.unreadable(what(), error))?;
        let entry: StateEntry = serde_json::from_str(row.get::<_, &str>(1))
            .map_err(|error| target.unreadable(what(), error))?;
        base.job_groups.insert(address, entry);
    }

    let mut records = Vec::new();
    for row in transaction
        .query(
            "SELECT batch, position, record::text FROM cityform_journal
             WHERE workspace = $1 ORDER BY batch, position",
            &[&target.workspace],
        )
        .await?
    {
        records.push(journal_record(target, &row)?);
    }
    Ok(Some(Stored { base, records }))
}

/// The journal record of a `batch, position, record::text` row.
fn journal_record(
    target: Target<'_>,
    row: &tokio_postgres::Row,
) -> Result<JournalRecord, StateError> {
    serde_json::from_str(row.get::<_, &str>(2)).map_err(|error| {
        target.unreadable(
            format!(
                "journal record (batch {}, position {})",
                row.get::<_, i64>(0),
                row.get::<_, i32>(1)
            ),
            error,
        )
    })
}

/// Writes `state` as the workspace's first state, serial bumped; refuses when it has one.
pub(super) async fn create(
    transaction: &Transaction<'_>,
    target: Target<'_>,
    state: &State,
) -> Result<State, Failure> {
    let row = transaction
        .query_opt(
            "SELECT lineage IS NOT NULL, lock_token FROM cityform_workspaces WHERE name = $1 FOR UPDATE",
            &[&target.workspace],
        )
        .await?
        .ok_or_else(|| target.lock_lost())?;
    if row.get::<_, Option<String>>(1).as_deref() != Some(target.token) {
        return Err(target.lock_lost().into());
    }
    if row.get::<_, bool>(0) {
        return Err(PostgresError::WorkspaceExists {
            location: target.location.to_owned(),
        }
        .into());
    }
    let mut written = state.clone();
    written.serial += 1;
    transaction
        .execute(
            "UPDATE cityform_workspaces
             SET format_version = $2, lineage = $3, serial = $4, updated_at = now()
             WHERE name = $1",
            &[
                &target.workspace,
                &i32::try_from(written.format_version).unwrap_or(i32::MAX),
                &written.lineage,
                &serial_column(written.serial, target)?,
            ],
        )
        .await?;
    let groups: Vec<(String, StateEntry)> = written
        .job_groups
        .iter()
        .map(|(address, entry)| (address.to_string(), entry.clone()))
        .collect();
    upsert_groups(transaction, target, &groups).await?;
    store_retention(transaction, target, written.history_retention).await?;
    Ok(written)
}

/// The workspace's recorded actions that `selection` asks for, oldest first: the rows of
/// `cityform_history`, then the `history` records of the journal not folded in yet, each
/// group trimmed to `retain_per_group`.
pub(super) async fn read_history(
    transaction: &Transaction<'_>,
    target: Target<'_>,
    selection: HistorySelection<'_>,
    retain_per_group: usize,
) -> Result<History, Failure> {
    let addresses: Option<Vec<String>> = match selection {
        HistorySelection::All => None,
        HistorySelection::Groups(addresses) => {
            Some(addresses.iter().map(ToString::to_string).collect())
        }
    };
    let mut history = History::new(usize::MAX);
    for row in transaction
        .query(
            "SELECT seq, entry::text FROM cityform_history
             WHERE workspace = $1 AND ($2::text[] IS NULL OR address = ANY($2))
             ORDER BY seq",
            &[&target.workspace, &addresses],
        )
        .await?
    {
        let entry: HistoryEntry = serde_json::from_str(row.get::<_, &str>(1)).map_err(|error| {
            target.unreadable(format!("history row {}", row.get::<_, i64>(0)), error)
        })?;
        history.push(entry);
    }
    for row in transaction
        .query(
            "SELECT batch, position, record::text FROM cityform_journal
             WHERE workspace = $1 AND record->>'kind' = 'history'
               AND ($2::text[] IS NULL OR record->>'address' = ANY($2))
             ORDER BY batch, position",
            &[&target.workspace, &addresses],
        )
        .await?
    {
        let record = journal_record(target, &row)?;
        if let JournalRecord::History(entry) = record
            && !history.contains(&entry)
        {
            history.push(entry);
        }
    }
    history.compact(retain_per_group);
    Ok(history)
}

/// Adds `entries` after the workspace's recorded history, in the order given.
async fn insert_history<'e>(
    transaction: &Transaction<'_>,
    target: Target<'_>,
    entries: impl Iterator<Item = &'e HistoryEntry>,
) -> Result<(), Failure> {
    let mut addresses = Vec::new();
    let mut encoded = Vec::new();
    for entry in entries {
        addresses.push(entry.address.to_string());
        encoded
            .push(serde_json::to_string(entry).map_err(|source| JournalError::Encode { source })?);
    }
    if encoded.is_empty() {
        return Ok(());
    }
    let last: i64 = transaction
        .query_one(
            "SELECT coalesce(max(seq), 0) FROM cityform_history WHERE workspace = $1",
            &[&target.workspace],
        )
        .await?
        .get(0);
    transaction
        .execute(
            "INSERT INTO cityform_history (workspace, seq, address, entry)
             SELECT $1, $2 + h.position, h.address, h.entry::jsonb
             FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS h (address, entry, position)",
            &[&target.workspace, &last, &addresses, &encoded],
        )
        .await?;
    Ok(())
}

/// Stores the history's retention, and drops each group's actions beyond it.
async fn store_retention(
    transaction: &Transaction<'_>,
    target: Target<'_>,
    retain_per_group: usize,
) -> Result<(), Failure> {
    let stored = (retain_per_group != DEFAULT_RETAIN_PER_GROUP)
        .then(|| i32::try_from(retain_per_group).unwrap_or(i32::MAX));
    transaction
        .execute(
            "UPDATE cityform_workspaces SET history_retention = $2 WHERE name = $1",
            &[&target.workspace, &stored],
        )
        .await?;
    let kept = i64::try_from(retain_per_group).unwrap_or(i64::MAX);
    transaction
        .execute(
            "DELETE FROM cityform_history AS h USING (
                 SELECT seq, row_number() OVER (PARTITION BY address ORDER BY seq DESC) AS rank
                 FROM cityform_history WHERE workspace = $1
             ) AS ranked
             WHERE h.workspace = $1 AND h.seq = ranked.seq AND ranked.rank > $2",
            &[&target.workspace, &kept],
        )
        .await?;
    Ok(())
}

/// Appends `records` (each already encoded as JSON) as one batch, in one statement: they
/// are committed together or not at all.
pub(super) async fn append(
    client: &Client,
    target: Target<'_>,
    records: &[String],
) -> Result<(), Failure> {
    let inserted = client
        .execute_typed(
            "WITH workspace AS MATERIALIZED (
                 SELECT name FROM cityform_workspaces
                 WHERE name = $1 AND lock_token = $2 AND lineage IS NOT NULL
                 FOR SHARE
             ), batch AS MATERIALIZED (
                 SELECT nextval('cityform_journal_batch') AS number
             )
             INSERT INTO cityform_journal (workspace, batch, position, record)
             SELECT workspace.name, batch.number, record.position::integer, record.value::jsonb
             FROM workspace, batch, unnest($3::text[]) WITH ORDINALITY AS record (value, position)",
            &[
                (&target.workspace, Type::TEXT),
                (&target.token, Type::TEXT),
                (&records, Type::TEXT_ARRAY),
            ],
        )
        .await?;
    if inserted == records.len() as u64 {
        return Ok(());
    }
    // Nothing was inserted: say why.
    let row = client
        .query_opt(
            "SELECT lineage IS NOT NULL, lock_token IS NOT DISTINCT FROM $2
             FROM cityform_workspaces WHERE name = $1",
            &[&target.workspace, &target.token],
        )
        .await?;
    Err(match row {
        Some(row) if row.get::<_, bool>(1) && !row.get::<_, bool>(0) => {
            PostgresError::NoWorkspaceState {
                location: target.location.to_owned(),
            }
            .into()
        }
        _ => target.lock_lost(),
    }
    .into())
}

/// Replaces the journal by its fold: writes the groups the records touched as `folded` has
/// them, keeps only `unresolved` in the journal, and stores the serial `folded` has plus
/// one. `transaction` must hold the workspace row (see [`read`]).
pub(super) async fn write_compacted(
    transaction: &Transaction<'_>,
    target: Target<'_>,
    records: &[JournalRecord],
    folded: &State,
    unresolved: &[Intent],
) -> Result<(), Failure> {
    let touched: BTreeSet<&Address> = records
        .iter()
        .filter_map(|record| match record {
            JournalRecord::Put(put) => Some(&put.address),
            JournalRecord::Remove(remove) => Some(&remove.address),
            JournalRecord::Intent(_)
            | JournalRecord::Settle(_)
            | JournalRecord::History(_)
            | JournalRecord::Retention(_) => None,
        })
        .collect();
    let mut kept = Vec::new();
    let mut removed = Vec::new();
    for address in touched {
        match folded.job_groups.get(address) {
            Some(entry) => kept.push((address.to_string(), entry.clone())),
            None => removed.push(address.to_string()),
        }
    }
    upsert_groups(transaction, target, &kept).await?;
    if !removed.is_empty() {
        transaction
            .execute(
                "DELETE FROM cityform_job_groups WHERE workspace = $1 AND address = ANY($2)",
                &[&target.workspace, &removed],
            )
            .await?;
    }
    let recorded = records.iter().filter_map(|record| match record {
        JournalRecord::History(entry) => Some(entry),
        _ => None,
    });
    insert_history(transaction, target, recorded).await?;
    store_retention(transaction, target, folded.history_retention).await?;
    transaction
        .execute(
            "DELETE FROM cityform_journal WHERE workspace = $1",
            &[&target.workspace],
        )
        .await?;
    if !unresolved.is_empty() {
        let intents = unresolved
            .iter()
            .map(|intent| serde_json::to_string(&JournalRecord::Intent(intent.clone())))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| JournalError::Encode { source })?;
        transaction
            .execute(
                "WITH batch AS MATERIALIZED (SELECT nextval('cityform_journal_batch') AS number)
                 INSERT INTO cityform_journal (workspace, batch, position, record)
                 SELECT $1, batch.number, record.position::integer, record.value::jsonb
                 FROM batch, unnest($2::text[]) WITH ORDINALITY AS record (value, position)",
                &[&target.workspace, &intents],
            )
            .await?;
    }
    transaction
        .execute(
            "UPDATE cityform_workspaces SET serial = $2, updated_at = now() WHERE name = $1",
            &[
                &target.workspace,
                &serial_column(folded.serial + 1, target)?,
            ],
        )
        .await?;
    Ok(())
}

async fn upsert_groups(
    transaction: &Transaction<'_>,
    target: Target<'_>,
    groups: &[(String, StateEntry)],
) -> Result<(), Failure> {
    if groups.is_empty() {
        return Ok(());
    }
    let addresses: Vec<&str> = groups.iter().map(|(address, _)| address.as_str()).collect();
    let entries = groups
        .iter()
        .map(|(_, entry)| serde_json::to_string(entry))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| JournalError::Encode { source })?;
    transaction
        .execute(
            "INSERT INTO cityform_job_groups (workspace, address, entry)
             SELECT $1, address, entry::jsonb FROM unnest($2::text[], $3::text[]) AS g (address, entry)
             ON CONFLICT (workspace, address) DO UPDATE SET entry = EXCLUDED.entry",
            &[&target.workspace, &addresses, &entries],
        )
        .await?;
    Ok(())
}

fn serial_column(serial: u64, target: Target<'_>) -> Result<i64, StateError> {
    i64::try_from(serial).map_err(|_| {
        target.unreadable(
            "workspace row".to_owned(),
            format!("serial {serial} does not fit a PostgreSQL bigint"),
        )
    })
}
