//! The Alibaba Cloud OpenAPI client for CityVisual job groups: signing, transport,
//! credentials, error classification and typed calls.

pub mod signer;
