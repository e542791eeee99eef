//! The domain types every layer shares: a job group's address and its desired specification.
//!
//! Nothing here does I/O. The manifest loader produces these types, the state stores them,
//! the planner compares them and the cloud client turns them into API parameters.

mod address;
mod job_group_params;
mod lifecycle;
mod name;
mod params;
mod printable;
mod spec;
mod status;

pub use address::Address;
pub use job_group_params::JobGroupParams;
pub use lifecycle::Lifecycle;
pub use name::{
    NameError, NameRuleSource, SingleRuleCharacter, single_rule_characters, validate_job_group_name,
};
pub use params::{ParamError, ParamKey, normalize_param_value};
pub use printable::printable;
pub use spec::JobGroupSpec;
pub use status::{LiveStatus, Status, StatusParseError};
