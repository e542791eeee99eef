//! Group commit: many tasks append records, one thread writes them, one `sync_data` per
//! batch.
//!
//! An fsync costs about as much as a whole API round trip on a slow disk, so at 32 calls in
//! flight one fsync per record would be the bottleneck. Instead every caller hands its
//! records to a single writer thread over a bounded channel and waits. The thread takes
//! everything that is waiting, encodes it into one buffer, writes it in one `write_all`,
//! calls `sync_data` once, and only then releases every caller of that batch. Encoding
//! there rather than in the callers keeps that work off the tasks that drive the calls.
//! While it syncs, the next batch gathers. A failed write or sync fails its whole batch and
//! every later append: after a failure nobody can know how much of the batch reached the
//! disk.
//!
//! The thread can also keep a [`Replayed`] state current: each batch, once synced, is
//! applied to it in the order it went to the file. Closing the writer hands it back, so
//! that compaction does not have to read and parse the journal it just wrote.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use tokio::sync::{mpsc, oneshot};

use super::record::{JournalRecord, encode_line_into};
use super::replay::Replayed;
use crate::state::JournalError;
use crate::state::StateError;

/// How many appends may wait for the writer before callers wait to hand theirs over.
const CHANNEL_CAPACITY: usize = 1024;

/// One caller's records and the way to tell it they are durable.
struct Submission {
    records: Vec<JournalRecord>,
    done: oneshot::Sender<Result<(), Failure>>,
}

/// Why a submission did not reach the disk.
#[derive(Debug)]
enum Failure {
    /// A record could not be encoded; nothing of this submission was written.
    Encode(serde_json::Error),
    /// Writing or syncing its batch failed.
    Write(Arc<io::Error>),
}

/// Appends journal records from any number of tasks, durably, sharing fsyncs.
///
/// Dropping the writer lets it finish what it was handed and waits for its thread.
#[derive(Debug)]
pub struct JournalWriter {
    path: PathBuf,
    sender: Option<mpsc::Sender<Submission>>,
    thread: Option<JoinHandle<Option<Replayed>>>,
    flushes: Arc<AtomicU64>,
}

/// How the writer thread makes a batch durable; tests measure the cost of the sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Durability {
    /// `sync_data` after every batch: the only mode the program uses.
    Sync,
    /// No sync at all, to measure what syncing costs.
    #[cfg(test)]
    NoSync,
}

impl JournalWriter {
    /// Starts a writer appending to `file` (opened for appending, positioned at its end).
    /// `path` names the journal in errors.
    pub fn start(file: File, path: PathBuf) -> Self {
        Self::start_with(file, path, Durability::Sync, None, None)
    }

    /// Starts a writer that also keeps `replayed` (what the journal so far replays to)
    /// current with every batch it syncs; [`JournalWriter::finish`] returns it.
    pub fn start_replaying(file: File, path: PathBuf, replayed: Replayed) -> Self {
        Self::start_with(file, path, Durability::Sync, None, Some(replayed))
    }

    pub(crate) fn start_with(
        file: File,
        path: PathBuf,
        durability: Durability,
        gate: Option<std::sync::mpsc::Receiver<()>>,
        replayed: Option<Replayed>,
    ) -> Self {
        let (sender, receiver) = mpsc::channel(CHANNEL_CAPACITY);
        let flushes = Arc::new(AtomicU64::new(0));
        let thread_flushes = Arc::clone(&flushes);
        let thread = std::thread::Builder::new()
            .name("journal-writer".to_owned())
            .spawn(move || {
                if let Some(gate) = gate {
                    // Tests hold the writer here until every append is queued.
                    let _ = gate.recv();
                }
                write_batches(file, receiver, durability, &thread_flushes, replayed)
            });
        // Without a thread the sender is dropped with the receiver and every append reports
        // a stopped writer.
        let (sender, thread) = match thread {
            Ok(thread) => (Some(sender), Some(thread)),
            Err(_) => (None, None),
        };
        Self {
            path,
            sender,
            thread,
            flushes,
        }
    }

    /// Appends `records` and returns once they are on disk (written and synced), or with
    /// the error that kept them from it. Records of one call are written together, in order.
    pub async fn append(&self, records: &[JournalRecord]) -> Result<(), StateError> {
        if records.is_empty() {
            return Ok(());
        }
        let stopped = || JournalError::Stopped {
            path: self.path.clone(),
        };
        let sender = self.sender.as_ref().ok_or_else(stopped)?;
        let (done, finished) = oneshot::channel();
        sender
            .send(Submission {
                records: records.to_vec(),
                done,
            })
            .await
            .map_err(|_| stopped())?;
        match finished.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(Failure::Encode(source))) => Err(JournalError::Encode { source }.into()),
            Ok(Err(Failure::Write(source))) => Err(JournalError::Write {
                path: self.path.clone(),
                source,
            }
            .into()),
            Err(_) => Err(stopped().into()),
        }
    }

    /// How many batches were written and synced so far.
    pub fn flushes(&self) -> u64 {
        self.flushes.load(Ordering::Relaxed)
    }

    /// Lets the thread write what it holds, waits for it, and returns the replayed state
    /// it kept: `None` when it kept none, or when a write failed (then only reading the
    /// files can tell what they hold).
    pub fn finish(mut self) -> Option<Replayed> {
        self.close()
    }

    fn close(&mut self) -> Option<Replayed> {
        // Closing the channel ends the thread once it has written what it holds.
        drop(self.sender.take());
        self.thread
            .take()
            .and_then(|thread| thread.join().ok().flatten())
    }
}

impl Drop for JournalWriter {
    fn drop(&mut self) {
        self.close();
    }
}

fn write_batches(
    mut file: File,
    mut receiver: mpsc::Receiver<Submission>,
    durability: Durability,
    flushes: &AtomicU64,
    mut replayed: Option<Replayed>,
) -> Option<Replayed> {
    let mut failure: Option<Arc<io::Error>> = None;
    let mut batch = Vec::new();
    let mut buffer = Vec::new();
    while let Some(first) = receiver.blocking_recv() {
        batch.push(first);
        while batch.len() < CHANNEL_CAPACITY {
            match receiver.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        buffer.clear();
        let mut written = Vec::with_capacity(batch.len());
        for submission in batch.drain(..) {
            match encode_all(&mut buffer, &submission.records) {
                Ok(()) => written.push(submission),
                Err(error) => {
                    let _ = submission.done.send(Err(Failure::Encode(error)));
                }
            }
        }
        if written.is_empty() {
            continue;
        }
        let result = match &failure {
            Some(error) => Err(Arc::clone(error)),
            None => {
                let outcome = file.write_all(&buffer).and_then(|()| match durability {
                    Durability::Sync => file.sync_data(),
                    #[cfg(test)]
                    Durability::NoSync => Ok(()),
                });
                if outcome.is_ok() {
                    flushes.fetch_add(1, Ordering::Relaxed);
                }
                outcome.map_err(Arc::new)
            }
        };
        if let Err(error) = &result {
            failure = Some(Arc::clone(error));
            replayed = None;
        }
        let synced: Vec<Vec<JournalRecord>> = written
            .into_iter()
            .map(|Submission { records, done }| {
                // A caller that stopped waiting does not need to hear back.
                let _ = done.send(result.clone().map_err(Failure::Write));
                records
            })
            .collect();
        // Applied after every caller of the batch is released: nobody waits for this.
        if let Some(replayed) = &mut replayed {
            replayed.apply_owned(synced.into_iter().flatten());
        }
    }
    replayed
}

/// Appends every record of one submission to `buffer`, or none of them.
fn encode_all(buffer: &mut Vec<u8>, records: &[JournalRecord]) -> Result<(), serde_json::Error> {
    let start = buffer.len();
    for record in records {
        if let Err(error) = encode_line_into(buffer, record) {
            buffer.truncate(start);
            return Err(error);
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::fs::OpenOptions;
    use std::path::Path;
    use std::time::Instant;

    use super::super::record::{IntentId, JournalHeader, Settle, encode_line};
    use super::super::replay::parse_journal;
    use super::*;
    use crate::state::fixtures;

    fn open_journal(path: &Path) -> File {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        file.write_all(&encode_line(&JournalHeader::new("lineage-1")).unwrap())
            .unwrap();
        file
    }

    fn put(index: usize) -> JournalRecord {
        fixtures::put(&format!("group-{index:05}"), &format!("jg-{index}"), None)
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build()
            .unwrap()
    }

    /// Appends `count` records from `appenders` concurrent tasks, one record per call.
    async fn append_concurrently(writer: Arc<JournalWriter>, appenders: usize, count: usize) {
        let mut tasks = tokio::task::JoinSet::new();
        for appender in 0..appenders {
            let writer = Arc::clone(&writer);
            tasks.spawn(async move {
                for index in (appender..count).step_by(appenders) {
                    writer.append(&[put(index)]).await.unwrap();
                }
            });
        }
        while let Some(result) = tasks.join_next().await {
            result.unwrap();
        }
    }

    #[test]
    fn concurrent_appends_share_flushes_and_all_reach_the_file() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("state.json.journal");
        let writer = Arc::new(JournalWriter::start(open_journal(&path), path.clone()));

        runtime().block_on(append_concurrently(Arc::clone(&writer), 32, 2000));

        let flushes = writer.flushes();
        assert!(flushes > 0);
        assert!(flushes < 2000, "{flushes} flushes for 2000 records");
        drop(writer);
        let parsed = parse_journal(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(parsed.damaged_tail, None);
        let mut records = parsed.records;
        records.sort_by_key(|record| match record {
            JournalRecord::Put(put) => put.address.clone(),
            _ => unreachable!(),
        });
        assert_eq!(records, (0..2000).map(put).collect::<Vec<_>>());
    }

    #[test]
    fn appends_queued_while_the_writer_is_busy_go_out_in_one_flush() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("state.json.journal");
        let (open_gate, gate) = std::sync::mpsc::channel();
        let writer = Arc::new(JournalWriter::start_with(
            open_journal(&path),
            path.clone(),
            Durability::Sync,
            Some(gate),
            None,
        ));
        let runtime = runtime();

        let appends: Vec<_> = (0..100)
            .map(|index| {
                let writer = Arc::clone(&writer);
                runtime.spawn(async move { writer.append(&[put(index)]).await })
            })
            .collect();
        let sender = writer.sender.clone().unwrap();
        while sender.capacity() > CHANNEL_CAPACITY - 100 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(
            writer.flushes(),
            0,
            "nothing is written before the gate opens"
        );
        drop(sender);
        open_gate.send(()).unwrap();
        for append in appends {
            runtime.block_on(append).unwrap().unwrap();
        }

        assert_eq!(writer.flushes(), 1);
        let parsed = parse_journal(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(parsed.records.len(), 100);
    }

    #[test]
    fn an_append_returns_only_after_its_records_are_in_the_file() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("state.json.journal");
        let writer = JournalWriter::start(open_journal(&path), path.clone());
        let records = [
            put(1),
            JournalRecord::Settle(Settle {
                id: IntentId("i-1".into()),
            }),
        ];

        runtime().block_on(writer.append(&records)).unwrap();

        let parsed = parse_journal(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(parsed.records, records);
        assert_eq!(writer.flushes(), 1);
    }

    #[test]
    fn a_failed_write_fails_every_waiter_and_every_later_append() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("state.json.journal");
        drop(open_journal(&path));
        // Opened read-only: every write fails.
        let file = File::open(&path).unwrap();
        let writer = Arc::new(JournalWriter::start(file, path.clone()));
        let runtime = runtime();

        let results: Vec<_> = runtime.block_on(async {
            let tasks: Vec<_> = (0..8)
                .map(|index| {
                    let writer = Arc::clone(&writer);
                    tokio::spawn(async move { writer.append(&[put(index)]).await })
                })
                .collect();
            let mut results = Vec::new();
            for task in tasks {
                results.push(task.await.unwrap());
            }
            results
        });
        let later = runtime.block_on(writer.append(&[put(9)]));

        for result in results.into_iter().chain([later]) {
            let error = result.unwrap_err();
            assert!(
                matches!(error, StateError::Journal(JournalError::Write { .. })),
                "{error:?}"
            );
            assert!(
                error
                    .to_string()
                    .starts_with(&format!("cannot append to journal `{}`: ", path.display())),
                "{error}"
            );
        }
    }

    #[test]
    fn a_replaying_writer_hands_back_what_its_journal_replays_to_unless_a_write_failed() {
        use crate::state::State;
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("state.json.journal");
        let base = Replayed::new(State::new("lineage-1"), Vec::new());
        let writer =
            JournalWriter::start_replaying(open_journal(&path), path.clone(), base.clone());
        let runtime = runtime();
        let records = [
            fixtures::intent("i-1", "a"),
            put(1),
            fixtures::put("a", "jg-a", Some("i-1")),
        ];
        for record in &records {
            runtime
                .block_on(writer.append(std::slice::from_ref(record)))
                .unwrap();
        }

        let replayed = writer.finish().unwrap();

        let (state, unresolved) = super::super::replay::replay(base.state.clone(), &records);
        assert_eq!(replayed, Replayed::new(state, unresolved));
        assert_eq!(replayed.state.job_groups.len(), 2);

        // Opened read-only: the write fails, and what the file holds is unknown.
        let writer = JournalWriter::start_replaying(File::open(&path).unwrap(), path, base);
        runtime.block_on(writer.append(&[put(2)])).unwrap_err();
        assert_eq!(writer.finish(), None);
    }

    #[test]
    fn an_empty_append_writes_nothing() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("state.json.journal");
        let writer = JournalWriter::start(open_journal(&path), path.clone());
        runtime().block_on(writer.append(&[])).unwrap();
        assert_eq!(writer.flushes(), 0);
    }

    /// The cost of durability: `cargo test --release --lib measure_group_commit -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement; run it on purpose, in release"]
    fn measure_group_commit() {
        const RECORDS: usize = 10_000;
        const APPENDERS: usize = 32;
        for durability in [Durability::Sync, Durability::NoSync] {
            let mut walls = Vec::new();
            let mut flush_counts = Vec::new();
            for _ in 0..5 {
                let directory = tempfile::tempdir().unwrap();
                let path = directory.path().join("state.json.journal");
                let writer = Arc::new(JournalWriter::start_with(
                    open_journal(&path),
                    path.clone(),
                    durability,
                    None,
                    None,
                ));
                let runtime = runtime();
                let started = Instant::now();
                runtime.block_on(append_concurrently(Arc::clone(&writer), APPENDERS, RECORDS));
                walls.push(started.elapsed());
                flush_counts.push(writer.flushes());
                assert!(writer.flushes() < RECORDS as u64);
            }
            walls.sort();
            flush_counts.sort();
            println!(
                "{durability:?}: {RECORDS} puts, {APPENDERS} appenders: wall median {:?} (min {:?}, max {:?}), flushes median {} (min {}, max {})",
                walls[2], walls[0], walls[4], flush_counts[2], flush_counts[0], flush_counts[4]
            );
        }
    }
}
