//! Adopting an existing job group into the state, on purpose (`cityform import`).
//!
//! Apply never adopts a group it did not create (a name taken by someone else is a
//! conflict); import is how a user says "this one is the group my manifest describes". The
//! group is recorded as it lives, with nothing sent to it: the next plan shows how it
//! differs from the manifest.

use super::refresh::Instance;
use super::resolve::{group_by_id, now_rfc3339};
use crate::cloud::{CloudClient, CloudError, ObservedJobGroup};
use crate::manifest::Desired;
use crate::model::{Address, JobGroupSpec, LiveStatus, Status};
use crate::provenance::RunContext;
use crate::state::journal::{JournalRecord, Put};
use crate::state::{Backend, State, StateEntry, StateError};
use crate::state::{HistoryAction, HistoryEntry};

/// Why a group could not be imported. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// No manifest declares the address: an imported group would only be an orphan.
    #[error(
        "no manifest declares `{address}`; declare the job group in a manifest first, so that \
         cityform knows what it should look like"
    )]
    NotDeclared {
        /// The address asked for.
        address: Address,
    },
    /// The state already records the address.
    #[error(
        "`{address}` is already in the state (id `{job_group_id}`); to import another group \
         there, first forget this one with `cityform state rm {address}`"
    )]
    AlreadyRecorded {
        /// The address.
        address: Address,
        /// The id recorded for it.
        job_group_id: String,
    },
    /// The group found is already recorded under another address.
    #[error(
        "job group `{job_group_id}` is already in the state as `{recorded}`; one group cannot \
         be managed twice; to give it the new address, use `cityform state mv {recorded} \
         {address}`"
    )]
    IdAlreadyRecorded {
        /// The id.
        job_group_id: String,
        /// Where the state records it.
        recorded: Address,
        /// The address asked for.
        address: Address,
    },
    /// An earlier apply left a call about the address unfinished.
    #[error(
        "an earlier apply left a call about `{address}` unfinished; run `cityform apply` first \
         to resolve it"
    )]
    Unfinished {
        /// The address.
        address: Address,
    },
    /// No group with that id exists in the address's instance.
    #[error("there is no job group with id `{job_group_id}` in instance `{instance}`")]
    NoSuchId {
        /// The id asked for.
        job_group_id: String,
        /// Where it was looked for.
        instance: Instance,
    },
    /// No group with the address's name exists in its instance.
    #[error(
        "there is no job group named `{}` in instance `{}`; to import a group by another name, \
         give its id with `--id`",
        address.name,
        Instance::of(address)
    )]
    NoSuchName {
        /// The address asked for.
        address: Address,
    },
    /// The instance could not be read.
    #[error("cannot look the job group up in instance `{instance}`: {source}")]
    Lookup {
        /// The instance.
        instance: Instance,
        /// The service's error.
        source: Box<CloudError>,
    },
    /// The state could not be read or written.
    #[error(transparent)]
    State(#[from] StateError),
}

/// A group adopted into the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// Where it is recorded.
    pub address: Address,
    /// Its id.
    pub job_group_id: String,
    /// Its live name (differs from the address's after `--id` with a group of another name:
    /// the next apply renames it).
    pub live_name: String,
    /// Its live spec, as recorded.
    pub spec: JobGroupSpec,
    /// Its live status, as recorded.
    pub status: Option<Status>,
}

/// Records the live group at `address`, found by `job_group_id` or, without one, by the
/// address's name, after checking that the manifests declare `address` and that the state
/// records neither the address nor the group. Creates the state when there is none.
///
/// The import is recorded in the history with `provenance` (its manifest line is the one
/// that declares `address`) when there is one.
pub async fn import<B: Backend>(
    backend: &B,
    client: &CloudClient,
    desired: &Desired,
    address: &Address,
    job_group_id: Option<&str>,
    provenance: Option<&RunContext>,
) -> Result<Imported, ImportError> {
    let Some(declared) = desired.groups.get(address) else {
        return Err(ImportError::NotDeclared {
            address: address.clone(),
        });
    };
    let recovered = backend.load().await?;
    if let Some(entry) = recovered
        .state
        .as_ref()
        .and_then(|state| state.job_groups.get(address))
    {
        return Err(ImportError::AlreadyRecorded {
            address: address.clone(),
            job_group_id: entry.job_group_id.clone(),
        });
    }
    if recovered
        .unresolved
        .iter()
        .any(|intent| intent.address == *address)
    {
        return Err(ImportError::Unfinished {
            address: address.clone(),
        });
    }
    let found = find(client, address, job_group_id).await?;
    let instance = Instance::of(address);
    if let Some((recorded, _)) = recovered.state.as_ref().and_then(|state| {
        state.job_groups.iter().find(|(other, entry)| {
            Instance::of(other) == instance && entry.job_group_id == found.job_group_id
        })
    }) {
        return Err(ImportError::IdAlreadyRecorded {
            job_group_id: found.job_group_id,
            recorded: recorded.clone(),
            address: address.clone(),
        });
    }
    if recovered.state.is_none() {
        backend
            .create(State::new(uuid::Uuid::new_v4().to_string()))
            .await?;
    }
    let imported = Imported {
        address: address.clone(),
        job_group_id: found.job_group_id.clone(),
        spec: found.to_spec(),
        status: LiveStatus::heading_to_of(&found.status),
        live_name: found.name,
    };
    let entry = StateEntry {
        status: imported.status,
        ..StateEntry::new(
            imported.job_group_id.clone(),
            imported.spec.clone(),
            "",
            now_rfc3339(),
        )
    };
    let mut records = vec![JournalRecord::Put(Put {
        address: address.clone(),
        entry,
        intent: None,
    })];
    if let Some(context) = provenance {
        records.push(JournalRecord::History(HistoryEntry {
            address: address.clone(),
            action: HistoryAction::Import,
            job_group_id: imported.job_group_id.clone(),
            provenance: context.for_group(Some(&declared.source), None),
            moved: None,
        }));
    }
    backend.append(&records).await?;
    backend.compact().await?;
    Ok(imported)
}

/// The live group: by id with the `JobGroupId` filter, or by name through the whole listing.
async fn find(
    client: &CloudClient,
    address: &Address,
    job_group_id: Option<&str>,
) -> Result<ObservedJobGroup, ImportError> {
    let instance = Instance::of(address);
    let lookup = |source: CloudError| ImportError::Lookup {
        instance: instance.clone(),
        source: Box::new(source),
    };
    match job_group_id {
        Some(id) => group_by_id(client, &address.region_id, &address.instance_id, id)
            .await
            .map_err(lookup)?
            .ok_or_else(|| ImportError::NoSuchId {
                job_group_id: id.to_owned(),
                instance: instance.clone(),
            }),
        None => client
            .list_all_job_groups(&address.region_id, &address.instance_id)
            .await
            .map_err(lookup)?
            .into_iter()
            .find(|group| group.name == address.name)
            .ok_or_else(|| ImportError::NoSuchName {
                address: address.clone(),
            }),
    }
}
