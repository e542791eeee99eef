//! The phases of a command as the logs show them: loading the manifests, loading the state,
//! refreshing, planning, applying, compacting. Each phase is logged at `info` when it ends,
//! with its name, how long it took and whether it failed, so that `-v` tells where a slow or
//! failing run spends its time.

use std::future::Future;
use std::time::{Duration, Instant};

/// Reading and checking the manifests.
pub const LOAD_MANIFESTS: &str = "load manifests";
/// Reading the state (and replaying its journal).
pub const LOAD_STATE: &str = "load state";
/// Reading the live job groups from the service.
pub const REFRESH: &str = "refresh";
/// Computing the plan.
pub const PLAN: &str = "plan";
/// Finding out what calls an earlier run left unfinished did.
pub const RESOLVE: &str = "resolve";
/// Carrying the plan out.
pub const APPLY: &str = "apply";
/// Folding the journal into the state.
pub const COMPACT: &str = "compact";

/// Runs `work` as the phase `name` and logs its end.
pub async fn timed<T, E>(
    name: &'static str,
    work: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let started = Instant::now();
    let result = work.await;
    log_end(name, started.elapsed(), result.is_ok());
    result
}

/// [`timed`] for a phase that does not wait on anything.
pub fn timed_sync<T, E>(name: &'static str, work: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    let started = Instant::now();
    let result = work();
    log_end(name, started.elapsed(), result.is_ok());
    result
}

fn log_end(name: &'static str, elapsed: Duration, succeeded: bool) {
    let elapsed = milliseconds(elapsed);
    if succeeded {
        tracing::info!("{name}: done in {elapsed}");
    } else {
        tracing::info!("{name}: failed after {elapsed}");
    }
}

/// A duration as the logs show it: milliseconds with one decimal, `12.3ms`.
pub fn milliseconds(duration: Duration) -> String {
    format!("{:.1}ms", duration.as_secs_f64() * 1000.0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Everything logged while `work` runs, as text.
    fn logged(work: impl FnOnce()) -> String {
        #[derive(Clone, Default)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl Write for Buffer {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .without_time()
            .finish();
        tracing::subscriber::with_default(subscriber, work);
        String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn a_phase_is_logged_with_its_duration_and_outcome() {
        let text = logged(|| {
            timed_sync(LOAD_MANIFESTS, || Ok::<_, ()>(())).unwrap();
            timed_sync(PLAN, || Err::<(), _>("no")).unwrap_err();
        });
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].contains("INFO"), "{text}");
        assert!(lines[0].contains("load manifests: done in "), "{text}");
        assert!(lines[1].contains("plan: failed after "), "{text}");
    }

    #[test]
    fn an_awaited_phase_is_logged_when_it_ends() {
        let text = logged(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            runtime
                .block_on(timed(COMPACT, async { Ok::<_, ()>(()) }))
                .unwrap();
        });
        assert!(text.contains("compact: done in "), "{text}");
    }

    #[test]
    fn durations_are_milliseconds_with_one_decimal() {
        assert_eq!(milliseconds(Duration::from_micros(12_345)), "12.3ms");
        assert_eq!(milliseconds(Duration::ZERO), "0.0ms");
        assert_eq!(milliseconds(Duration::from_secs(2)), "2000.0ms");
    }
}
