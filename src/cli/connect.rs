//! From flags to a connection to the service, and to the options of reading manifests that
//! depend on the credential chain's profile.

use std::collections::BTreeMap;

use super::settings::CloudArgs;
use crate::cloud::Connection;
use crate::cloud::connection::chain_for;
use crate::manifest::LoadOptions;

/// The connection `--endpoint`, `--profile` and the environment describe. Missing
/// credentials are not an error yet: only a command that must send something fails.
pub fn open(
    cloud_args: &CloudArgs,
    environment: &BTreeMap<String, String>,
) -> anyhow::Result<Connection> {
    Ok(Connection::open(
        cloud_args.endpoint.as_deref(),
        cloud_args.profile.clone(),
        environment,
    )?)
}

/// How to read the manifests of a command that uses `profile`: the `region_id` of the
/// profile the credential chain settles on is the region of every job group for which
/// neither its manifest nor `Defaults` gives one. Reading files only, never the network.
pub fn manifest_options(
    profile: Option<String>,
    environment: &BTreeMap<String, String>,
) -> LoadOptions {
    let default_region_id = chain_for(profile, environment).region_id();
    if let Some(region) = &default_region_id {
        tracing::debug!(region = %region, "the profile's region_id is the default region");
    }
    LoadOptions {
        default_region_id,
        ..LoadOptions::default()
    }
}
