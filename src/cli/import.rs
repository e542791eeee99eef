//! `cityform import ADDRESS [--id JOB_GROUP_ID]`: adopt an existing job group into the state
//! on purpose, after checking that the manifests declare it.

use clap::Args;

use super::connect::manifest_options;
use super::provenance_args::ProvenanceArgs;
use super::settings::{CloudArgs, ManifestArgs, StateArgs, process_environment};
use super::{Outcome, output};
use crate::apply::import::import;
use crate::manifest;
use crate::model::Address;

/// Arguments of `cityform import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Where the manifests declare the group, `regionId/instanceId/name`.
    #[arg(value_name = "ADDRESS")]
    address: Address,
    /// The id of the group to adopt.
    ///
    /// Without it, the group named as in ADDRESS is looked up in its instance. With it, the
    /// group may have another name: the next plan renames it to the one in ADDRESS.
    #[arg(long = "id", value_name = "JOB_GROUP_ID")]
    job_group_id: Option<String>,
    #[command(flatten)]
    manifests: ManifestArgs,
    #[command(flatten)]
    state: StateArgs,
    #[command(flatten)]
    cloud: CloudArgs,
    #[command(flatten)]
    provenance: ProvenanceArgs,
}

pub(super) async fn run(args: ImportArgs) -> anyhow::Result<Outcome> {
    let environment = process_environment();
    let provenance = args
        .provenance
        .collect(&args.manifests.inputs(), &environment)?;
    let desired = manifest::load_with(
        &args.manifests.inputs(),
        &manifest_options(args.cloud.profile.clone(), &environment),
    )?;
    output::report_warnings(&desired.warnings);
    let connection = super::connect::open(&args.cloud, &environment)?;
    let client = connection.client().await?;
    let backend = super::backend::open_state(&args.state, "cityform import", &environment).await?;
    let imported = import(
        &backend,
        client,
        &desired,
        &args.address,
        args.job_group_id.as_deref(),
        Some(&provenance),
    )
    .await?;
    backend.close().await?;
    let mut text = format!(
        "Imported `{}` [id={}] into the state, as it lives; nothing was sent to it.\n",
        imported.address, imported.job_group_id
    );
    if imported.live_name != imported.address.name {
        text.push_str(&format!(
            "It is named `{}` in the service: the next apply renames it to `{}`.\n",
            imported.live_name, imported.address.name
        ));
    }
    text.push_str("Run `cityform plan` to see how it differs from the manifests.\n");
    output::print(&text)?;
    Ok(Outcome::Success)
}
