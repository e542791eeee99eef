//! Manifests: the desired job groups, read from YAML files, validated, with every problem
//! located as `file:line:column`.

mod desired;

pub use desired::{Desired, DesiredGroup, SourceLocation};
