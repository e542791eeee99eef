//! Flags and environment resolved into typed settings: the one place that knows both.
//!
//! Commands share argument groups (manifests, state, output); each group resolves into a
//! settings value through a pure function over the parsed flags and an environment map, so
//! the rules are unit-tested without a process.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::manifest::Input;
use crate::render::Format;
use crate::render::text::Color;

/// The manifests default to this directory when no `-f` is given.
pub const DEFAULT_MANIFEST_DIRECTORY: &str = "manifests";
/// The state file when no `--state` is given.
pub const DEFAULT_STATE_PATH: &str = ".cityform/state.json";

/// Which manifests to read.
#[derive(Debug, Clone, Args)]
pub struct ManifestArgs {
    /// A manifest file, a directory (every *.yaml and *.yml below it, in sorted order), or `-`
    /// for standard input. Repeatable. Default: ./manifests
    #[arg(short = 'f', long = "file", value_name = "PATH")]
    pub files: Vec<String>,
}

impl ManifestArgs {
    /// The inputs to load, in the order given.
    pub fn inputs(&self) -> Vec<Input> {
        if self.files.is_empty() {
            return vec![Input::Path(PathBuf::from(DEFAULT_MANIFEST_DIRECTORY))];
        }
        self.files
            .iter()
            .map(|file| {
                if file == "-" {
                    Input::Stdin
                } else {
                    Input::Path(PathBuf::from(file))
                }
            })
            .collect()
    }
}

/// Where the state is and how long to wait for its lock.
#[derive(Debug, Clone, Args)]
pub struct StateArgs {
    /// The state file.
    #[arg(long = "state", value_name = "PATH", env = "CITYFORM_STATE", default_value = DEFAULT_STATE_PATH)]
    pub state: PathBuf,
    /// How long to wait for the state lock held by another cityform: `0` fails at once,
    /// otherwise e.g. `30s`, `5m`.
    #[arg(long = "lock-timeout", value_name = "DURATION", default_value = "0", value_parser = super::duration::parse_duration)]
    pub lock_timeout: Duration,
}

/// How to print results.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Never colour the output (colour is used only on a terminal, and never when `NO_COLOR` is set).
    #[arg(long)]
    pub no_color: bool,
}

impl OutputArgs {
    /// Whether to colour text written to a stream that is (or is not) a terminal.
    pub fn color(&self, is_terminal: bool, environment: &BTreeMap<String, String>) -> Color {
        let disabled = self.no_color
            || environment
                .get("NO_COLOR")
                .is_some_and(|value| !value.is_empty());
        if is_terminal && !disabled {
            Color::Always
        } else {
            Color::Never
        }
    }
}

/// The process environment as a map, read once at the command boundary.
pub fn process_environment() -> BTreeMap<String, String> {
    std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(no_color: bool) -> OutputArgs {
        OutputArgs {
            format: Format::Text,
            no_color,
        }
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        let empty = BTreeMap::new();
        let no_color = BTreeMap::from([("NO_COLOR".to_owned(), "1".to_owned())]);
        assert_eq!(output(false).color(true, &empty), Color::Always);
        assert_eq!(output(false).color(false, &empty), Color::Never);
        assert_eq!(output(false).color(true, &no_color), Color::Never);
        assert_eq!(output(true).color(true, &empty), Color::Never);
    }

    #[test]
    fn manifests_default_to_the_manifests_directory() {
        let args = ManifestArgs { files: vec![] };
        assert_eq!(args.inputs(), vec![Input::Path(PathBuf::from("manifests"))]);
        let args = ManifestArgs {
            files: vec!["a.yaml".into(), "-".into()],
        };
        assert_eq!(
            args.inputs(),
            vec![Input::Path(PathBuf::from("a.yaml")), Input::Stdin]
        );
    }
}
