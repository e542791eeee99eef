//! The GitHub Actions job summary: when `GITHUB_STEP_SUMMARY` names a file, `plan` appends
//! its Markdown render and `apply` a short Markdown account of what it did
//! ([`crate::render::apply_markdown`]), so that a run's result shows on its summary page
//! without reading the log.
//!
//! The summary is a courtesy: a file that cannot be written is a warning, never the reason
//! a plan or an apply fails (an apply that already changed the cloud must still say so).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The variable GitHub Actions sets to the file a step appends its summary to.
pub const VARIABLE: &str = "GITHUB_STEP_SUMMARY";

/// The summary file the environment names, if any.
pub fn target(environment: &BTreeMap<String, String>) -> Option<PathBuf> {
    environment
        .get(VARIABLE)
        .filter(|path| !path.is_empty())
        .map(PathBuf::from)
}

/// Appends the Markdown `render` makes to the summary file the environment names, followed
/// by a blank line so that the next step's summary starts a new block. Nothing is rendered
/// when no file is named. Failures are printed as a warning.
pub fn publish(environment: &BTreeMap<String, String>, render: impl FnOnce() -> String) {
    let Some(path) = target(environment) else {
        return;
    };
    if let Err(error) = append(&path, &render()) {
        eprintln!(
            "warning: could not append the summary to `{}` (`{VARIABLE}`): {error}",
            path.display()
        );
    }
}

/// Appends `markdown` and a blank line to `path`, creating the file when it is missing.
pub fn append(path: &Path, markdown: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    let mut text = markdown.to_owned();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push('\n');
    file.write_all(text.as_bytes())?;
    file.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_variable_or_an_empty_one_means_no_summary() {
        assert_eq!(target(&BTreeMap::new()), None);
        let empty = BTreeMap::from([(VARIABLE.to_owned(), String::new())]);
        assert_eq!(target(&empty), None);
        let set = BTreeMap::from([(VARIABLE.to_owned(), "/tmp/summary.md".to_owned())]);
        assert_eq!(target(&set), Some(PathBuf::from("/tmp/summary.md")));
    }

    #[test]
    fn appending_keeps_what_earlier_steps_wrote() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("summary.md");
        std::fs::write(&path, "earlier step\n").unwrap();
        append(&path, "### cityform plan").unwrap();
        append(&path, "second\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "earlier step\n### cityform plan\n\nsecond\n\n"
        );
    }
}
