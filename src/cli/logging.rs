//! Diagnostic logs: `-v`/`-vv`/`-vvv` or the `CITYFORM_LOG` filter turn on `tracing` output
//! on standard error. Off by default, so that results and errors stay the only output.
//!
//! Only cityform's own events are logged below `warn`. Libraries underneath (the HTTP client,
//! the TLS stack) may log whole request lines at `debug` and `trace`, and a request line can
//! carry a `SecurityToken`; their detail is therefore never enabled, whatever the filter says.
//! cityform's own events never carry a secret (`docs/credentials.md`).

use std::collections::BTreeMap;
use std::io::IsTerminal as _;

use clap::{ArgAction, Args};
use tracing::Level;
use tracing_subscriber::filter::{EnvFilter, FilterExt as _, filter_fn};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{Layer as _, fmt};

/// The environment variable that holds a log filter, e.g. `debug` or `cityform::cloud=trace`.
pub const LOG_VARIABLE: &str = "CITYFORM_LOG";

/// The flags every command takes for logging.
#[derive(Debug, Clone, Default, Args)]
pub struct LoggingArgs {
    /// Log what cityform does on standard error: `-v` info, `-vv` debug, `-vvv` trace.
    /// Overrides `CITYFORM_LOG`.
    #[arg(short = 'v', long = "verbose", action = ArgAction::Count, global = true)]
    pub verbose: u8,
}

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    /// `CITYFORM_LOG` is not a filter `tracing` understands.
    #[error(
        "`{LOG_VARIABLE}` is not a valid log filter (`{value}`): {detail}; use a level such as \
         `debug`, or directives such as `cityform::cloud=trace,info`"
    )]
    InvalidFilter {
        /// The variable's value.
        value: String,
        /// What the filter parser said.
        detail: String,
    },
}

/// The filter that `verbose` and the environment ask for; `None` leaves logging off.
pub fn filter_directives(
    args: &LoggingArgs,
    environment: &BTreeMap<String, String>,
) -> Option<String> {
    let level = match args.verbose {
        0 => None,
        1 => Some("info"),
        2 => Some("debug"),
        _ => Some("trace"),
    };
    if let Some(level) = level {
        return Some(format!("cityform={level}"));
    }
    environment
        .get(LOG_VARIABLE)
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// Whether an event of `target` at `level` may be logged at all: cityform's at any level,
/// other crates' at `warn` and `error` only.
pub fn is_loggable(target: &str, level: &Level) -> bool {
    let own = target == "cityform" || target.starts_with("cityform::");
    own || *level <= Level::WARN
}

/// Installs the logger the flags and environment ask for, writing to standard error.
/// Does nothing when neither asks for logs.
pub fn init(
    args: &LoggingArgs,
    environment: &BTreeMap<String, String>,
) -> Result<(), LoggingError> {
    let Some(directives) = filter_directives(args, environment) else {
        return Ok(());
    };
    let filter =
        EnvFilter::builder()
            .parse(&directives)
            .map_err(|error| LoggingError::InvalidFilter {
                value: directives.clone(),
                detail: error.to_string(),
            })?;
    let color = std::io::stderr().is_terminal()
        && environment
            .get("NO_COLOR")
            .is_none_or(|value| value.is_empty());
    let layer = fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .with_filter(filter.and(filter_fn(|metadata| {
            is_loggable(metadata.target(), metadata.level())
        })));
    // A logger installed already (a test harness, a program embedding the CLI) stays.
    let _ = tracing_subscriber::registry().with(layer).try_init();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::environment;

    fn verbose(count: u8) -> LoggingArgs {
        LoggingArgs { verbose: count }
    }

    #[test]
    fn off_unless_asked() {
        assert_eq!(filter_directives(&verbose(0), &environment(&[])), None);
        assert_eq!(
            filter_directives(&verbose(0), &environment(&[("CITYFORM_LOG", "  ")])),
            None
        );
    }

    #[test]
    fn each_v_raises_cityforms_level() {
        let none = environment(&[]);
        assert_eq!(
            filter_directives(&verbose(1), &none).as_deref(),
            Some("cityform=info")
        );
        assert_eq!(
            filter_directives(&verbose(2), &none).as_deref(),
            Some("cityform=debug")
        );
        assert_eq!(
            filter_directives(&verbose(7), &none).as_deref(),
            Some("cityform=trace")
        );
    }

    #[test]
    fn the_environment_filter_applies_when_no_flag_is_given() {
        let set = environment(&[("CITYFORM_LOG", "cityform::cloud=trace")]);
        assert_eq!(
            filter_directives(&verbose(0), &set).as_deref(),
            Some("cityform::cloud=trace")
        );
        assert_eq!(
            filter_directives(&verbose(1), &set).as_deref(),
            Some("cityform=info")
        );
    }

    #[test]
    fn other_crates_log_warnings_only() {
        assert!(is_loggable("cityform", &Level::TRACE));
        assert!(is_loggable("cityform::cloud::client", &Level::TRACE));
        assert!(!is_loggable("reqwest::connect", &Level::DEBUG));
        assert!(!is_loggable("cityformer", &Level::INFO));
        assert!(is_loggable("hyper_util", &Level::WARN));
        assert!(is_loggable("rustls", &Level::ERROR));
    }

    #[test]
    fn a_filter_that_does_not_parse_is_an_error_that_names_the_variable() {
        let error = init(
            &verbose(0),
            &environment(&[("CITYFORM_LOG", "cityform=loud")]),
        )
        .err()
        .map(|error| error.to_string())
        .unwrap_or_default();
        assert!(
            error.starts_with("`CITYFORM_LOG` is not a valid log filter (`cityform=loud`): "),
            "{error}"
        );
    }
}
