//! Reading several manifest files at once: one worker per core, results in input order.
//!
//! Parsing YAML is most of the cost of loading a large manifest set, and files are
//! independent until the set is assembled, so each file is read on whichever worker is free.
//! The caller's iterator is consumed on the calling thread (it reads the files, and may hold
//! standard input, which cannot leave that thread); at most a few files wait for a worker,
//! so memory stays bounded by what is being parsed, not by the size of the set.

use std::num::NonZeroUsize;
use std::sync::{Mutex, mpsc};
use std::thread;

/// More workers than this rarely help: past a few, the files are read faster than parsed.
const MAX_WORKERS: usize = 8;

/// How many workers to use on this machine.
pub(crate) fn worker_count() -> usize {
    thread::available_parallelism()
        .map_or(1, NonZeroUsize::get)
        .min(MAX_WORKERS)
}

/// Applies `work` to every item on up to `workers` threads, and returns the results in the
/// order of `items`. With one worker (or one item) everything runs on the calling thread.
pub(crate) fn map_in_order<T, U>(
    items: impl IntoIterator<Item = T>,
    workers: usize,
    work: impl Fn(T) -> U + Sync,
) -> Vec<U>
where
    T: Send,
    U: Send,
{
    let mut items = items.into_iter().peekable();
    let first = items.next();
    if workers <= 1 || items.peek().is_none() {
        return first.into_iter().chain(items).map(work).collect();
    }
    let mut results: Vec<Option<U>> = Vec::new();
    // Bounded, so that the calling thread reads ahead of the workers by a few items only.
    let (item_sender, item_receiver) = mpsc::sync_channel::<(usize, T)>(workers);
    let item_receiver = Mutex::new(item_receiver);
    let (result_sender, result_receiver) = mpsc::channel::<(usize, U)>();
    thread::scope(|scope| {
        for _ in 0..workers {
            let result_sender = result_sender.clone();
            let (item_receiver, work) = (&item_receiver, &work);
            scope.spawn(move || {
                loop {
                    // The guard is dropped before the work starts, so workers wait for items
                    // one at a time but work in parallel.
                    let next = match item_receiver.lock() {
                        Ok(receiver) => receiver.recv(),
                        Err(_) => return,
                    };
                    let Ok((index, item)) = next else { return };
                    if result_sender.send((index, work(item))).is_err() {
                        return;
                    }
                }
            });
        }
        drop(result_sender);
        for (index, item) in first.into_iter().chain(items).enumerate() {
            // Fails only when every worker has stopped, which only a panic in `work` does;
            // the scope then passes that panic on.
            if item_sender.send((index, item)).is_err() {
                break;
            }
            results.push(None);
        }
        drop(item_sender);
        for (index, result) in result_receiver {
            if let Some(slot) = results.get_mut(index) {
                *slot = Some(result);
            }
        }
    });
    // Every index sent was answered: a worker that stopped early did so by panicking, and
    // the scope would not have returned.
    results.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_order_of_the_items_whatever_the_workers_finish_first() {
        // Early items take longest, so with several workers they finish last.
        let items: Vec<u64> = (0..40).collect();
        for workers in [1, 2, 3, 8] {
            let results = map_in_order(items.iter().copied(), workers, |item| {
                thread::sleep(std::time::Duration::from_micros((40 - item) * 50));
                item * 10
            });
            let expected: Vec<u64> = items.iter().map(|item| item * 10).collect();
            assert_eq!(results, expected, "with {workers} workers");
        }
    }

    #[test]
    fn work_runs_on_several_threads_when_there_are_several_workers() {
        let results = map_in_order(0..16, 4, |_| {
            thread::sleep(std::time::Duration::from_millis(5));
            thread::current().id()
        });
        let mut threads = results.clone();
        threads.sort_by_key(|id| format!("{id:?}"));
        threads.dedup();
        assert!(threads.len() > 1, "all work ran on {threads:?}");
        assert!(!results.contains(&thread::current().id()));
    }

    #[test]
    fn no_items_or_one_item_needs_no_thread() {
        let none: Vec<u8> = map_in_order(Vec::<u8>::new(), 4, |item| item);
        assert!(none.is_empty());
        let one = map_in_order([7], 4, |_| thread::current().id());
        assert_eq!(one, [thread::current().id()]);
    }
}
