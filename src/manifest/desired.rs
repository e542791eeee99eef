//! The validated result of loading a manifest set.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::diagnostic::Diagnostic;
use crate::model::{Address, JobGroupSpec, Lifecycle, Status, printable};

/// Where something was declared: a file (or `-` for stdin) and a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SourceLocation {
    /// The file as the user named it (relative paths stay relative).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A file's name is chosen by whoever added it.
        write!(f, "{}:{}:{}", printable(&self.file), self.line, self.column)
    }
}

/// One desired job group, defaults already applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredGroup {
    /// What the group should look like.
    pub spec: JobGroupSpec,
    /// Where its document starts.
    pub source: SourceLocation,
    /// The `spec.status` the manifests ask for; `None` leaves the status alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// The document's `lifecycle:` block.
    #[serde(default)]
    pub lifecycle: Lifecycle,
}

impl DesiredGroup {
    /// A group with no status wish and an empty lifecycle block.
    pub fn new(spec: JobGroupSpec, source: SourceLocation) -> Self {
        Self {
            spec,
            source,
            status: None,
            lifecycle: Lifecycle::default(),
        }
    }
}

/// Every desired job group of a manifest set, by address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Desired {
    /// The groups, in address order.
    pub groups: BTreeMap<Address, DesiredGroup>,
    /// What the manifests say that loads but deserves a look (each a
    /// [`Severity::Warning`](super::Severity::Warning)), in the order errors would be shown.
    pub warnings: Vec<Diagnostic>,
}
