//! 10,000 creates through `apply::execute` against the in-process emulator (no latency),
//! with the state in PostgreSQL and in local files, in one run; prints the medians and
//! their ratio. Then the state's share alone: the same 20,000 records (an intent and a
//! result per create) appended by 10 concurrent tasks, with no HTTP at all. Method and
//! results: `docs/performance-backends.md`.
//!
//! `cargo bench --bench state_backends`; `CITYFORM_BENCH_CREATES` (default 10000) and
//! `CITYFORM_BENCH_ROUNDS` (default 3) change the size. PostgreSQL is the throw-away
//! cluster of the tests (or `CITYFORM_TEST_POSTGRES_URL`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/it/apply_support/mod.rs"]
mod apply_support;
#[path = "../tests/it/support_postgres/mod.rs"]
mod support_postgres;

use std::time::{Duration, Instant};

use apply_support::{client_for, collect, desired, options};
use cityform::apply::execute;
use cityform::emulator::EmulatorConfig;
use cityform::model::Address;
use cityform::plan::compute;
use cityform::state::journal::{Intent, IntentId, JournalRecord, Operation, Put};
use cityform::state::{Backend, LocalBackend, LockOptions, PostgresBackend, State, StateEntry};
use tokio::sync::mpsc;

const PARALLELISM: usize = 10;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// One apply of `count` creates into an empty state on `backend`; the time from the start
/// of `execute` to its end (final compaction included).
async fn apply_all(backend: &impl Backend, count: usize) -> Duration {
    let emulator = cityform::emulator::start(EmulatorConfig::default())
        .await
        .unwrap();
    let client = client_for(&emulator.endpoint(), &emulator, 6);
    let names: Vec<String> = (0..count)
        .map(|index| format!("group-{index:05}"))
        .collect();
    let plan = compute(&desired(&names), None);
    let (sender, receiver) = mpsc::channel(1024);
    let collector = tokio::spawn(collect(receiver));
    let started = Instant::now();
    let report = execute(
        backend,
        &client,
        &plan,
        &options(PARALLELISM),
        sender,
        std::future::pending(),
    )
    .await
    .unwrap();
    let elapsed = started.elapsed();
    collector.await.unwrap();
    assert_eq!(report.created.len(), count, "every create landed");
    let recovered = backend.load().await.unwrap();
    assert_eq!(recovered.state.unwrap().job_groups.len(), count);
    emulator.shutdown().await;
    elapsed
}

/// `count` creates' worth of records (intent, then result) appended by `PARALLELISM`
/// concurrent tasks into a new state, then one compaction; the time of it all.
async fn append_all(backend: &impl Backend, count: usize) -> Duration {
    backend.create(State::new("bench")).await.unwrap();
    let spec = apply_support::spec();
    let started = Instant::now();
    let workers = (0..PARALLELISM).map(|worker| {
        let spec = spec.clone();
        async move {
            for index in (worker..count).step_by(PARALLELISM) {
                let address = Address::new("cn-shanghai", "instance", format!("group-{index:05}"));
                let id = IntentId::random();
                let intent = JournalRecord::Intent(Intent {
                    id: id.clone(),
                    address: address.clone(),
                    operation: Operation::Create,
                    spec: Some(spec.clone()),
                });
                backend.append(&[intent]).await.unwrap();
                let put = JournalRecord::Put(Put {
                    address,
                    entry: StateEntry::new(
                        format!("jg-{index}"),
                        spec.clone(),
                        "request",
                        "2026-11-27T08:00:00Z",
                    ),
                    intent: Some(id),
                });
                backend.append(&[put]).await.unwrap();
            }
        }
    });
    futures_util::future::join_all(workers).await;
    let compacted = backend.compact().await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(compacted.state.unwrap().job_groups.len(), count);
    elapsed
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

/// Where each round's state lives.
#[derive(Clone, Copy)]
enum Kind {
    Apply,
    AppendOnly,
}

async fn round(kind: Kind, count: usize, postgres: bool) -> Option<Duration> {
    if postgres {
        let database = support_postgres::database().await?;
        let backend = PostgresBackend::open(&database.url, "default", &LockOptions::new("bench"))
            .await
            .unwrap();
        let time = match kind {
            Kind::Apply => apply_all(&backend, count).await,
            Kind::AppendOnly => append_all(&backend, count).await,
        };
        backend.close().await.unwrap();
        Some(time)
    } else {
        let directory = tempfile::tempdir().unwrap();
        let backend = LocalBackend::open(
            directory.path().join("state.json"),
            &LockOptions::new("bench"),
        )
        .unwrap();
        Some(match kind {
            Kind::Apply => apply_all(&backend, count).await,
            Kind::AppendOnly => append_all(&backend, count).await,
        })
    }
}

fn main() {
    let count = setting("CITYFORM_BENCH_CREATES", 10_000);
    let rounds = setting("CITYFORM_BENCH_ROUNDS", 3).max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        for (kind, title) in [
            (Kind::Apply, "apply::execute against the emulator"),
            (Kind::AppendOnly, "appends only (2 records per create), then a compaction"),
        ] {
            let mut file_times = Vec::new();
            let mut postgres_times = Vec::new();
            for number in 1..=rounds {
                // Alternating, so that both meet the same background load.
                if let Some(time) = round(kind, count, false).await {
                    println!("{title}, round {number}: file       {time:>10.2?}");
                    file_times.push(time);
                }
                if let Some(time) = round(kind, count, true).await {
                    println!("{title}, round {number}: postgresql {time:>10.2?}");
                    postgres_times.push(time);
                }
            }
            let per_second = |time: Duration| count as f64 / time.as_secs_f64();
            let file = median(file_times);
            println!(
                "\n{title}: median of {rounds}, {count} creates, {PARALLELISM} at once\n  file:       {file:>10.2?} ({:>7.0} creates/s)",
                per_second(file)
            );
            if postgres_times.is_empty() {
                println!("  postgresql: SKIPPED (not installed)\n");
                continue;
            }
            let postgres = median(postgres_times);
            println!(
                "  postgresql: {postgres:>10.2?} ({:>7.0} creates/s)\n  ratio postgresql / file: {:.2}\n",
                per_second(postgres),
                postgres.as_secs_f64() / file.as_secs_f64()
            );
        }
    });
}
