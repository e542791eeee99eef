//! The workspace lock: a session-level advisory lock, held on a connection of its own for as
//! long as the backend lives, plus a row saying who holds it.
//!
//! The server releases a session lock when the session ends, however it ends: a killed
//! process, a dropped network connection and `pg_terminate_backend` all free it, and there
//! is never anything to clean up. The lock is the truth; the holder columns of the
//! workspace row are information only. They are shown only when the session that wrote
//! them is the one the server says holds the lock, so a row left by a dead holder neither
//! blocks nor misleads.
//!
//! Taking the lock also writes a new random *token* into the workspace row, and every write
//! checks it under a row lock (see `store`). A run whose lock connection died, and whose
//! lock another run has taken since, therefore cannot write anything more: its writes find
//! another token and fail.

use std::time::{Duration, Instant};

use tokio_postgres::Client;

use super::failure;
use crate::state::lock::{HOLDER_READ_INTERVAL, HOLDER_READS};
use crate::state::{LockHolder, LockOptions, PostgresError, StateError};

/// The first half of the two-part advisory lock key of every workspace lock ("city"); the
/// second half is `hashtext(workspace)`. Two workspace names with the same hash share a
/// lock: rare, and costing only waiting, never safety.
pub(super) const LOCK_CLASS: i32 = 0x6369_7479;

/// How often a waiting run retries the lock.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// A held workspace lock; dropping it closes its connection, which releases the lock.
#[derive(Debug)]
pub(super) struct WorkspaceLock {
    client: Client,
    workspace: String,
    token: String,
}

impl WorkspaceLock {
    /// Takes the lock of `workspace` on `client` (a connection used for nothing else),
    /// retrying until `options.timeout`, and records this process as its holder.
    pub async fn acquire(
        client: Client,
        workspace: &str,
        options: &LockOptions,
        location: &str,
    ) -> Result<Self, StateError> {
        let failed = |error: tokio_postgres::Error| failure::failed(location, "lock", &error);
        let started = Instant::now();
        let try_lock = format!("SELECT pg_try_advisory_lock({LOCK_CLASS}, hashtext($1))");
        loop {
            let locked: bool = client
                .query_one(&try_lock, &[&workspace])
                .await
                .map_err(failed)?
                .get(0);
            if locked {
                break;
            }
            let waited = started.elapsed();
            if waited >= options.timeout {
                // The holder writes its row just after taking the lock: read it again for
                // a short while before saying it cannot be told.
                let mut found = None;
                for _ in 0..HOLDER_READS {
                    found = holder(&client, workspace).await.unwrap_or(None);
                    if found.is_some() {
                        break;
                    }
                    tokio::time::sleep(HOLDER_READ_INTERVAL).await;
                }
                return Err(PostgresError::WorkspaceLocked {
                    location: location.to_owned(),
                    holder: found.map(Box::new),
                    waited: options.timeout,
                }
                .into());
            }
            tokio::time::sleep(POLL_INTERVAL.min(options.timeout - waited)).await;
        }
        let token = uuid::Uuid::new_v4().to_string();
        let me = LockHolder::current(&options.command);
        client
            .execute(
                "INSERT INTO cityform_workspaces AS w
                     (name, lock_token, lock_backend_pid, lock_pid, lock_host, lock_since, lock_command)
                 VALUES ($1, $2, pg_backend_pid(), $3, $4, $5, $6)
                 ON CONFLICT (name) DO UPDATE SET
                     lock_token = EXCLUDED.lock_token,
                     lock_backend_pid = EXCLUDED.lock_backend_pid,
                     lock_pid = EXCLUDED.lock_pid,
                     lock_host = EXCLUDED.lock_host,
                     lock_since = EXCLUDED.lock_since,
                     lock_command = EXCLUDED.lock_command,
                     updated_at = now()",
                &[
                    &workspace,
                    &token,
                    &i64::from(me.pid),
                    &me.host,
                    &me.since,
                    &me.command,
                ],
            )
            .await
            .map_err(failed)?;
        Ok(Self {
            client,
            workspace: workspace.to_owned(),
            token,
        })
    }

    /// The token that this holder's writes must find in the workspace row.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Clears the holder columns (when they are still this holder's) and releases the lock
    /// now, rather than when the server notices the closed connection.
    pub async fn release(self) -> Result<(), tokio_postgres::Error> {
        self.client
            .execute(
                "UPDATE cityform_workspaces SET lock_token = NULL, lock_backend_pid = NULL,
                     lock_pid = NULL, lock_host = NULL, lock_since = NULL, lock_command = NULL,
                     updated_at = now()
                 WHERE name = $1 AND lock_token = $2",
                &[&self.workspace, &self.token],
            )
            .await?;
        self.client
            .execute(
                &format!("SELECT pg_advisory_unlock({LOCK_CLASS}, hashtext($1))"),
                &[&self.workspace],
            )
            .await?;
        Ok(())
    }
}

/// Who holds the lock of `workspace`, when the holder columns were written by the session
/// that holds it; `None` when no holder row matches (a holder that has not written its row
/// yet, or rows left by dead holders).
async fn holder(
    client: &Client,
    workspace: &str,
) -> Result<Option<LockHolder>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            &format!(
                "SELECT w.lock_pid, w.lock_host, w.lock_since, w.lock_command
                 FROM cityform_workspaces w
                 JOIN pg_locks l
                   ON l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
                  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND l.classid = {LOCK_CLASS}::oid
                  AND l.objid = hashtext(w.name)::oid
                  AND l.pid = w.lock_backend_pid
                 WHERE w.name = $1"
            ),
            &[&workspace],
        )
        .await?;
    Ok(row.and_then(|row| {
        Some(LockHolder {
            pid: u32::try_from(row.get::<_, Option<i64>>(0)?).ok()?,
            host: row.get::<_, Option<String>>(1)?,
            since: row.get::<_, Option<String>>(2)?,
            command: row.get::<_, Option<String>>(3)?,
        })
    }))
}
