//! A small pool of connections for reads and appends: at most `size` at once, opened when
//! first needed, kept while they work, dropped once closed.
//!
//! Small on purpose: the backend needs a fixed bound, lazy opening and the discarding of
//! dead connections, nothing more, so a general pool crate would add code but no behaviour.

use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

use tokio::sync::{Semaphore, SemaphorePermit};
use tokio_postgres::Client;

use super::libpq::ConnectionSettings;

/// Connections to one database.
#[derive(Debug)]
pub(super) struct Pool {
    settings: ConnectionSettings,
    idle: Mutex<Vec<Client>>,
    permits: Semaphore,
}

impl Pool {
    /// A pool of at most `size` connections, none open yet.
    pub fn new(settings: ConnectionSettings, size: usize) -> Self {
        Self {
            settings,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(size.max(1)),
        }
    }

    /// A connection for the caller's use: an idle one that is still open, else a new one.
    /// Waits while `size` are in use.
    pub async fn get(&self) -> Result<Pooled<'_>, tokio_postgres::Error> {
        // The semaphore is never closed, so acquiring only waits.
        let permit = self.permits.acquire().await.ok();
        while let Some(client) = self.take_idle() {
            if !client.is_closed() {
                return Ok(Pooled {
                    client: Some(client),
                    pool: self,
                    _permit: permit,
                });
            }
        }
        let client = self.settings.connect().await?;
        Ok(Pooled {
            client: Some(client),
            pool: self,
            _permit: permit,
        })
    }

    fn take_idle(&self) -> Option<Client> {
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop()
    }

    fn give_back(&self, client: Client) {
        if !client.is_closed() {
            self.idle
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(client);
        }
    }
}

/// A connection taken from the pool; it goes back when dropped, unless it is closed.
pub(super) struct Pooled<'pool> {
    client: Option<Client>,
    pool: &'pool Pool,
    _permit: Option<SemaphorePermit<'pool>>,
}

impl Deref for Pooled<'_> {
    type Target = Client;

    fn deref(&self) -> &Client {
        // Only `drop` takes the client out.
        self.client
            .as_ref()
            .unwrap_or_else(|| unreachable!("a pooled connection is present until dropped"))
    }
}

impl DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        self.client
            .as_mut()
            .unwrap_or_else(|| unreachable!("a pooled connection is present until dropped"))
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            self.pool.give_back(client);
        }
    }
}
