//! A job group's `lifecycle:` block: how cityform may treat it, beyond what the API sees.

use serde::{Deserialize, Serialize};

/// The `lifecycle:` block of a JobGroup document (a sibling of `spec`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Lifecycle {
    /// `true` forbids deleting the group; `false` lifts a protection recorded earlier. Left
    /// out, the recorded protection stays as it is: removing the whole document never
    /// lifts it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prevent_destroy: Option<bool>,
    /// Attributes someone else manages: differences in them are neither drift nor updates.
    /// Names as [`super::JobGroupSpec::attributes`] lists them (`planedJobCount`,
    /// `params.ES_ENABLE`), `params` for every param, or `status`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_changes: Vec<String>,
}

impl Lifecycle {
    /// Whether differences in `attribute` are to be ignored.
    pub fn ignores(&self, attribute: &str) -> bool {
        self.ignore_changes.iter().any(|ignored| {
            ignored == attribute || (ignored == "params" && attribute.starts_with("params."))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_ignores_every_param() {
        let lifecycle = Lifecycle {
            prevent_destroy: None,
            ignore_changes: vec!["params".into(), "jobCount".into()],
        };
        assert!(lifecycle.ignores("params.ES_ENABLE"));
        assert!(lifecycle.ignores("jobCount"));
        assert!(!lifecycle.ignores("planedJobCount"));
    }
}
