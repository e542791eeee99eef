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

/// A `Moved` document: the group the state records at `from` is declared at `to` now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveDeclaration {
    /// The address the state records it under.
    pub from: Address,
    /// The address it is declared under now.
    pub to: Address,
    /// Where the document starts.
    pub source: SourceLocation,
}

/// An `Import` document: the existing group for the state to record at `address`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportDeclaration {
    /// Where to record it; a `JobGroup` document declares it.
    pub address: Address,
    /// Its id; `None` to find it by the address's name in its instance.
    pub job_group_id: Option<String>,
    /// Where the document starts.
    pub source: SourceLocation,
}

/// A `Removed` document: the group for the state to forget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovalDeclaration {
    /// The address the state records it under; no `JobGroup` document declares it.
    pub address: Address,
    /// Where the document starts.
    pub source: SourceLocation,
}

/// Every desired job group of a manifest set, by address, and the changes of what the
/// state records that the set declares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Desired {
    /// The groups, in address order.
    pub groups: BTreeMap<Address, DesiredGroup>,
    /// The `Moved` documents, in the order read; no two share a `from` or a `to`, and they
    /// form no cycle.
    pub moves: Vec<MoveDeclaration>,
    /// The `Import` documents, in the order read; each address once, each declared by a
    /// `JobGroup` document.
    pub imports: Vec<ImportDeclaration>,
    /// The `Removed` documents, in the order read; each address once, none declared by a
    /// `JobGroup` document.
    pub removals: Vec<RemovalDeclaration>,
    /// What the manifests say that loads but deserves a look (each a
    /// [`Severity::Warning`](super::Severity::Warning)), in the order errors would be shown.
    pub warnings: Vec<Diagnostic>,
}
