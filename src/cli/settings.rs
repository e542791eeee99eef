//! Flags and environment resolved into typed settings: the one place that knows both.
//!
//! Commands share argument groups (manifests, state, output); each group resolves into a
//! settings value through a pure function over the parsed flags and an environment map, so
//! the rules are unit-tested without a process.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args};

use crate::manifest::Input;
use crate::model::Address;
use crate::plan::PlanOptions;
use crate::reconcile::PlanRequest;
use crate::render::Format;
use crate::render::plan_text::Color;

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
            return vec![Input::DefaultDirectory(PathBuf::from(
                DEFAULT_MANIFEST_DIRECTORY,
            ))];
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

/// Where the state is (the file, or the backend `--backend` chooses) and how long to wait for
/// its lock.
#[derive(Debug, Clone, Args)]
pub struct StateArgs {
    /// The state file.
    #[arg(long = "state", value_name = "PATH", env = "CITYFORM_STATE", default_value = DEFAULT_STATE_PATH)]
    pub state: PathBuf,
    /// How long to wait for the state lock held by another cityform: `0` fails at once,
    /// otherwise a duration such as `30s`, `5m` or `1h30m`.
    #[arg(long = "lock-timeout", value_name = "DURATION", default_value = "0", value_parser = crate::duration::parse_duration)]
    pub lock_timeout: Duration,
    /// Which backend holds the state.
    #[command(flatten)]
    pub backend: super::backend::BackendArgs,
}

/// Where the CityVisual API is and whose credentials to use.
#[derive(Debug, Clone, Args)]
pub struct CloudArgs {
    /// Send every request to this URL instead of the region's CityVisual endpoint.
    ///
    /// The default is `https://cityvisual.<region>.aliyuncs.com/`. Plain `http://` is accepted
    /// only for loopback addresses, such as a local `cityform emulator`.
    #[arg(long, value_name = "URL", env = "CITYFORM_ENDPOINT")]
    pub endpoint: Option<String>,
    /// The aliyun CLI profile (`~/.aliyun/config.json`), or else the section of
    /// `~/.alibabacloud/credentials`, to take credentials from.
    ///
    /// Without it, cityform follows the official credential chain: an access key in the
    /// environment, OIDC (`ALIBABA_CLOUD_ROLE_ARN`...), the aliyun CLI's profile
    /// (`ALIBABA_CLOUD_PROFILE`, the file's current one, or `default`), the shared credentials
    /// file, the ECS instance RAM role, then `ALIBABA_CLOUD_CREDENTIALS_URI`. Naming a profile
    /// here reads the files only (`docs/credentials.md`).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

/// How a plan is made: after a refresh or not, with deletions or not, for which groups.
#[derive(Debug, Clone, Args)]
pub struct PlanningArgs {
    /// Read the live job groups before planning (`--refresh=false`: the state alone).
    ///
    /// The refresh lists each instance the manifests declare a group in
    /// (`DescribeJobGroups`), to see groups changed or deleted outside cityform, and names a
    /// new group would take that a live group already has (the plan refuses those creates).
    /// `plan` without credentials, when no group it compares is recorded, skips it and says
    /// that the new names were not checked.
    /// `--refresh=false` plans from the state alone: the plan cannot see drift, deletions,
    /// renames made outside cityform or names already taken, and says so.
    #[arg(
        long,
        value_name = "BOOL",
        default_value_t = true,
        action = ArgAction::Set,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true"
    )]
    pub refresh: bool,
    /// Delete the job groups the state records and no manifest declares.
    ///
    /// Without it such groups are orphans, listed and left alone. Give it with the whole
    /// manifest set, not one file of it. A group whose state records `preventDestroy` is never
    /// deleted: a plan that would delete one cannot be applied.
    #[arg(long)]
    pub prune: bool,
    /// Limit the plan to this job group, `regionId/instanceId/name`. Repeatable.
    ///
    /// Only the groups named are compared; the rest of the manifests and the state are not
    /// looked at. A target may be a group only the state records, to prune just that one.
    #[arg(long = "target", value_name = "ADDRESS")]
    pub targets: Vec<Address>,
    /// Leave this job group out of the plan, `regionId/instanceId/name`. Repeatable; the
    /// opposite of `--target`.
    ///
    /// The group is neither compared nor changed, whatever the manifests and the state say
    /// of it; the plan names the groups left out.
    #[arg(long = "exclude", value_name = "ADDRESS")]
    pub excludes: Vec<Address>,
}

impl PlanningArgs {
    /// The planner's options.
    pub fn options(&self, show_unmanaged: bool) -> PlanOptions {
        PlanOptions {
            prune: self.prune,
            show_unmanaged,
            targets: self.targets.iter().cloned().collect(),
            excludes: self.excludes.iter().cloned().collect(),
        }
    }

    /// How a reconcile plans, per these flags.
    pub fn request(&self, show_unmanaged: bool) -> PlanRequest {
        PlanRequest {
            refresh: self.refresh,
            options: self.options(show_unmanaged),
        }
    }
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

    #[derive(Debug, clap::Parser)]
    struct Planning {
        #[command(flatten)]
        planning: PlanningArgs,
    }

    fn planning(arguments: &[&str]) -> Result<PlanningArgs, clap::Error> {
        use clap::Parser as _;
        Planning::try_parse_from(std::iter::once("plan").chain(arguments.iter().copied()))
            .map(|parsed| parsed.planning)
    }

    #[test]
    fn refresh_is_on_unless_turned_off_explicitly() {
        assert!(planning(&[]).unwrap().refresh);
        assert!(planning(&["--refresh"]).unwrap().refresh);
        assert!(planning(&["--refresh=true"]).unwrap().refresh);
        assert!(!planning(&["--refresh=false"]).unwrap().refresh);
        assert!(planning(&["--refresh=maybe"]).is_err());
    }

    #[test]
    fn targets_are_addresses_and_become_the_plan_options() {
        let parsed = planning(&[
            "--prune",
            "--target",
            "cn-shanghai/i/a",
            "--target=cn-shanghai/i/b",
        ])
        .unwrap();
        let options = parsed.options(true);
        assert!(options.prune && options.show_unmanaged);
        assert_eq!(
            options.targets.into_iter().collect::<Vec<_>>(),
            [
                Address::new("cn-shanghai", "i", "a"),
                Address::new("cn-shanghai", "i", "b")
            ]
        );
        let error = planning(&["--target", "not-an-address"]).unwrap_err();
        assert!(error.to_string().contains("not an address"), "{error}");
    }

    #[test]
    fn manifests_default_to_the_manifests_directory() {
        let args = ManifestArgs { files: vec![] };
        assert_eq!(
            args.inputs(),
            vec![Input::DefaultDirectory(PathBuf::from("manifests"))]
        );
        let args = ManifestArgs {
            files: vec!["a.yaml".into(), "-".into()],
        };
        assert_eq!(
            args.inputs(),
            vec![Input::Path(PathBuf::from("a.yaml")), Input::Stdin]
        );
    }
}
