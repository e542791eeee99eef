//! The Alibaba Cloud OpenAPI client for CityVisual job groups: signing, transport,
//! credentials, error classification and typed calls.
//!
//! - [`credentials`] finds the credentials along the official chain and renews them; [`secret`] keeps it out of every output.
//! - [`endpoint`] chooses the URL for a region; [`request`] builds and signs one request with
//!   [`signer`].
//! - [`client`] sends requests, retries per [`retry`], paces through [`throttle`] and classifies
//!   failures into an [`error::CloudError`]; [`job_groups`] holds the actions' parameters and
//!   answers; [`redact`] scrubs text that came from the network; [`health`] tells the calls
//!   of one run when to stop retrying (Ctrl-C, a dead endpoint, a clock that is off).
//! - [`connection`] holds the client a command uses, its credential chain settled only when a
//!   request must be sent.
//! - [`answer`] reads a body, JSON or XML, into one document shape; [`xml_answer`] converts
//!   XML to it.

pub mod answer;
pub mod client;
pub mod connection;
pub mod credentials;
pub mod endpoint;
pub mod error;
pub mod health;
pub mod job_groups;
pub mod redact;
pub mod request;
pub mod retry;
pub mod secret;
pub mod signer;
pub mod throttle;
pub mod xml_answer;

pub use client::{ClientBuildError, ClientOptions, CloudClient};
pub use connection::{Connection, ConnectionError};
pub use credentials::{
    CallerIdentity, Chain, CredentialError, CredentialSource, Credentials, CredentialsProvider,
    Issued, Resolved, StsEndpoint,
};
pub use endpoint::{EndpointError, Endpoints};
pub use error::{CloudError, CloudErrorKind, ErrorClass, ServiceError};
pub use health::{Halt, RunHealth};
pub use job_groups::{
    Acknowledged, CreatedJobGroup, DescribeJobGroupsRequest, JobGroupPage, ModifyJobGroupRequest,
    ObservedComputeJob, ObservedJobGroup, Retries,
};
pub use retry::RetryPolicy;
pub use secret::Secret;
pub use throttle::Throttle;
