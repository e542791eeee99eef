//! The tables: created on first use, versioned, and a newer version refused.
//!
//! `cityform_schema_version` holds one row: the version of the tables below. A build
//! creates the tables when they are missing, upgrades an older version in place (1 → 2
//! adds the history, under the same set-up lock as creation), and refuses a database whose
//! version is newer than its own, so an older cityform never misreads or damages a newer
//! layout. Checking
//! an existing schema needs only `SELECT`; `CREATE` on the schema is needed only the first
//! time.

use tokio_postgres::{Client, GenericClient};

use super::failure;
use crate::state::PostgresError;
use crate::state::StateError;

/// The version of the tables this build creates and reads.
pub const SCHEMA_VERSION: i32 = 2;

/// Key of the advisory lock that serialises first-time set-up, so that two runs starting
/// at once on an empty database do not both create the tables. (A single 64-bit key: a
/// separate key space from the two-part workspace locks.)
const SETUP_LOCK_KEY: i64 = 0x6369_7479_666f_726d; // "cityform"

/// Version 1.
///
/// - `cityform_workspaces`: one row per workspace, made when it is first locked. `lineage`,
///   `serial` and `format_version` are null until a state is created. The `lock_*` columns
///   describe the current (or last) holder of the workspace's advisory lock; `lock_token`
///   fences writes, so that a run that lost its lock can write nothing more.
/// - `cityform_job_groups`: the state as of the last compaction, one row per group.
/// - `cityform_journal`: records appended since then, in `(batch, position)` order: one
///   batch per append, numbered from `cityform_journal_batch`.
const VERSION_1: &str = "
CREATE TABLE cityform_workspaces (
    name text PRIMARY KEY,
    format_version integer,
    lineage text,
    serial bigint,
    lock_token text,
    lock_backend_pid integer,
    lock_pid bigint,
    lock_host text,
    lock_since text,
    lock_command text,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE cityform_job_groups (
    workspace text NOT NULL REFERENCES cityform_workspaces (name) ON DELETE CASCADE,
    address text NOT NULL,
    entry jsonb NOT NULL,
    PRIMARY KEY (workspace, address)
);
CREATE SEQUENCE cityform_journal_batch;
CREATE TABLE cityform_journal (
    workspace text NOT NULL REFERENCES cityform_workspaces (name) ON DELETE CASCADE,
    batch bigint NOT NULL,
    position integer NOT NULL,
    record jsonb NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace, batch, position)
);
";

/// Version 2: the history of recorded actions (`docs/provenance.md`).
///
/// - `cityform_history`: one row per recorded action, `seq` numbering them in the order
///   they were recorded within the workspace; written when the journal is folded in, and
///   trimmed to the retention per group then.
/// - `cityform_workspaces.history_retention`: the actions kept per group; null is the
///   default (1,000).
const VERSION_2: &str = "
ALTER TABLE cityform_workspaces ADD COLUMN history_retention integer;
CREATE TABLE cityform_history (
    workspace text NOT NULL REFERENCES cityform_workspaces (name) ON DELETE CASCADE,
    seq bigint NOT NULL,
    address text NOT NULL,
    entry jsonb NOT NULL,
    PRIMARY KEY (workspace, seq)
);
CREATE INDEX cityform_history_by_address ON cityform_history (workspace, address, seq);
UPDATE cityform_schema_version SET version = 2;
";

/// Makes sure the tables exist in this build's layout, creating them when the database has
/// none and upgrading an older layout (version 1) in place; refuses a newer layout.
pub(super) async fn ensure(client: &mut Client, location: &str) -> Result<(), StateError> {
    let failed = |error: tokio_postgres::Error| failure::failed(location, "set up", &error);
    if let Some(version) = installed_version(client).await.map_err(failed)?
        && version != 1
    {
        return check(version, location);
    }
    // A session lock taken before the transaction starts: the check after it must see
    // tables another run committed while this one waited (inside a transaction, the
    // catalog lookup may not).
    client
        .execute("SELECT pg_advisory_lock($1)", &[&SETUP_LOCK_KEY])
        .await
        .map_err(failed)?;
    let created = create_if_missing(client).await;
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&SETUP_LOCK_KEY])
        .await;
    if let Some(version) = created.map_err(failed)? {
        check(version, location)?;
    }
    unlocked.map(drop).map_err(failed)
}

/// Creates the tables unless they exist, and upgrades version 1 to this build's; returns the
/// version found when it is neither missing nor 1.
async fn create_if_missing(client: &mut Client) -> Result<Option<i32>, tokio_postgres::Error> {
    let installed = installed_version(client).await?;
    let script = match installed {
        None => format!(
            "CREATE TABLE cityform_schema_version (version integer NOT NULL);
             INSERT INTO cityform_schema_version (version) VALUES (1);
             {VERSION_1}
             {VERSION_2}"
        ),
        Some(1) => VERSION_2.to_owned(),
        Some(version) => return Ok(Some(version)),
    };
    let transaction = client.transaction().await?;
    transaction.batch_execute(&script).await?;
    transaction.commit().await?;
    Ok(None)
}

/// The version recorded in the database, or `None` when there are no cityform tables.
async fn installed_version(
    client: &impl GenericClient,
) -> Result<Option<i32>, tokio_postgres::Error> {
    let exists: bool = client
        .query_one(
            "SELECT to_regclass('cityform_schema_version') IS NOT NULL",
            &[],
        )
        .await?
        .get(0);
    if !exists {
        return Ok(None);
    }
    let row = client
        .query_one("SELECT max(version) FROM cityform_schema_version", &[])
        .await?;
    Ok(row.get::<_, Option<i32>>(0).or(Some(0)))
}

fn check(version: i32, location: &str) -> Result<(), StateError> {
    if version > SCHEMA_VERSION {
        return Err(PostgresError::NewerSchema {
            location: location.to_owned(),
            found: version,
            supported: SCHEMA_VERSION,
        }
        .into());
    }
    if version < SCHEMA_VERSION {
        // Version 1 is upgraded before this check; below it, a table without its version
        // row is damaged.
        return Err(PostgresError::StoredStateUnreadable {
            location: location.to_owned(),
            what: "`cityform_schema_version` table".to_owned(),
            reason: format!("it names version {version}, which no cityform wrote"),
        }
        .into());
    }
    Ok(())
}
