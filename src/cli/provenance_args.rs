//! The flags that say where a run comes from (`--commit`, `--require-clean`) and how much
//! history to keep (`--history-retention`), and the run's provenance collected from them
//! once per command (`docs/provenance.md`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;

use crate::manifest::Input;
use crate::provenance::{RunContext, parse_commit};

/// Provenance flags of the commands that record actions (`apply`, `import`).
#[derive(Debug, Clone, Args)]
pub struct ProvenanceArgs {
    /// The commit of the manifests, recorded with every action. Default: `GITHUB_SHA`, else
    /// `CI_COMMIT_SHA`, else the `HEAD` of the git repository the manifests are in.
    #[arg(long, value_name = "SHA", value_parser = commit_argument)]
    pub commit: Option<String>,
    /// Refuse to run, sending and writing nothing, when the manifest files have uncommitted
    /// changes (or git cannot tell): for CI, so that every recorded action names a commit
    /// that holds what was applied.
    #[arg(long)]
    pub require_clean: bool,
}

/// How many recorded actions the history keeps (`apply` only: it compacts the state).
#[derive(Debug, Clone, Args)]
pub struct RetentionArgs {
    /// How many recorded actions the state's history keeps per job group; older ones are
    /// dropped at the next compaction. Default: what the state keeps (1000 when never set).
    #[arg(
        long = "history-retention",
        value_name = "N",
        env = "CITYFORM_HISTORY_RETENTION"
    )]
    pub history_retention: Option<usize>,
}

fn commit_argument(text: &str) -> Result<String, String> {
    parse_commit(text).map_err(|error| error.to_string())
}

impl ProvenanceArgs {
    /// Collects the run's context for manifests read from `inputs` (git runs in the first
    /// path's directory), and refuses a dirty tree under `--require-clean`.
    pub fn collect(
        &self,
        inputs: &[Input],
        environment: &BTreeMap<String, String>,
    ) -> anyhow::Result<RunContext> {
        let context = RunContext::collect_inputs(inputs, self.commit.as_deref(), environment);
        if self.require_clean {
            context.require_clean()?;
        }
        Ok(context)
    }

    /// [`ProvenanceArgs::collect`] for a saved plan's apply: git runs in the current
    /// directory, and the manifest files are the `*.yaml` and `*.yml` files below it.
    pub fn collect_here(
        &self,
        environment: &BTreeMap<String, String>,
    ) -> anyhow::Result<RunContext> {
        self.collect(&[Input::Path(PathBuf::from("."))], environment)
    }
}
