//! One create, exactly once: intent on disk, then the call, then the result on disk.
//!
//! When the answer is lost the call is never sent again blindly: the name is looked up
//! first. Found, the group is recorded; not found, the create is tried again, at most
//! [`MAX_CREATE_ROUNDS`] times in all. An intent whose outcome is not known stays open until
//! the address is recorded: the create it stands for may still land, so a later create of
//! the same name that the service refuses as a duplicate is looked up and the group
//! adopted, never reported as a conflict. Only a duplicate with no create of that address
//! ever recorded is a conflict. If even the look-up fails, the intents stay unresolved in
//! the state and the next run resolves them before sending anything.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::history::HistoryRecorder;
use super::report::{
    ActionFailure, ChangeKind, CreatedGroup, DUPLICATE_NAME_CODE, FailureReason, RecoveredGroup,
    RecoveryReason,
};
use super::resolve::{common_spec, found_entry, groups_by_name, now_rfc3339};
use super::slots::RequestSlots;
use super::work::ActionOutcome;
use crate::cloud::{CloudClient, CloudError};
use crate::model::{Address, JobGroupSpec, Status};
use crate::state::HistoryAction;
use crate::state::journal::{Intent, IntentId, JournalRecord, Operation, Put, Settle};
use crate::state::{Backend, StateEntry, StateError};

/// Creates sent for one group in one run, at most: the first, and one more after each lost
/// answer whose group was then not found.
pub const MAX_CREATE_ROUNDS: u32 = 3;

/// What the actions of one run share.
pub(crate) struct ActionContext<'a, B> {
    pub backend: &'a B,
    /// Paced by the run's shared pacer.
    pub client: CloudClient,
    /// The calls in hand at once, and the moment each action starts.
    pub slots: RequestSlots,
    /// Creates of earlier runs still open at the start of this one (their names were not
    /// listed), by address: they may land late.
    pub open_creates: BTreeMap<Address, Vec<Intent>>,
    /// Makes the `history` record of each recorded action.
    pub history: HistoryRecorder<'a>,
}

/// Creates `address` with `spec`, and records it with `prevent_destroy`.
pub(crate) async fn create<B: Backend>(
    context: &ActionContext<'_, B>,
    address: Address,
    spec: JobGroupSpec,
    prevent_destroy: bool,
) -> Result<ActionOutcome, StateError> {
    let started = Instant::now();
    let backend = context.backend;
    // The creates of this address whose outcome is not known, oldest first: earlier runs',
    // then this run's lost answers. They stay open until the address is recorded.
    let mut earlier: Vec<Intent> = context
        .open_creates
        .get(&address)
        .cloned()
        .unwrap_or_default();
    let mut lost_answer_here = false;
    let mut round = 0;
    let mut slot = None;
    loop {
        round += 1;
        let intent = Intent {
            id: IntentId::random(),
            address: address.clone(),
            operation: Operation::Create,
            spec: Some(spec.clone()),
        };
        backend
            .append(&[JournalRecord::Intent(intent.clone())])
            .await?;
        if slot.is_none() {
            slot = context.slots.start(&address, ChangeKind::Create).await;
            if slot.is_none() {
                backend.append(&[settle(intent.id)]).await?;
                return Ok(ActionOutcome::NotStarted(address));
            }
        }

        let error = match context
            .client
            .create_job_group(
                &address.region_id,
                &address.instance_id,
                &address.name,
                &spec,
            )
            .await
        {
            Ok(created) => {
                let history = context.history.record(
                    HistoryAction::Create,
                    &address,
                    &created.job_group_id,
                    &created.request_id,
                );
                let entry = StateEntry {
                    // The service creates groups stopped.
                    status: Some(Status::Stopped),
                    prevent_destroy,
                    ..StateEntry::new(
                        created.job_group_id.clone(),
                        spec,
                        created.request_id.clone(),
                        now_rfc3339(),
                    )
                };
                drop(slot);
                let mut records = recorded(&earlier, &address, entry, intent.id);
                records.extend(history);
                backend.append(&records).await?;
                return Ok(ActionOutcome::Created(
                    CreatedGroup {
                        address,
                        job_group_id: created.job_group_id,
                        request_id: created.request_id,
                        elapsed: elapsed_since(started),
                    },
                    created.retries,
                ));
            }
            Err(error) => error,
        };

        let duplicate = error.code() == Some(DUPLICATE_NAME_CODE);
        if !(error.is_ambiguous() || (duplicate && !earlier.is_empty())) {
            // The service answered with an error: this create created nothing. Earlier
            // creates of the address stay open: they may still land.
            drop(slot);
            backend.append(&[settle(intent.id)]).await?;
            let failure = if duplicate {
                ActionFailure::conflict(&address, &error)
            } else if error.is_retryable() {
                ActionFailure::from_cloud(&address, FailureReason::GaveUp, &error).with_hint(
                    "the service kept failing or throttling; nothing was created; run apply \
                     again, perhaps with a lower parallelism or request rate",
                )
            } else {
                ActionFailure::from_cloud(&address, FailureReason::Refused, &error)
            };
            return Ok(ActionOutcome::Failed(failure));
        }

        // A lost answer, or a name taken while a create of it is open: look it up.
        lost_answer_here |= error.is_ambiguous();
        let listed =
            match groups_by_name(&context.client, &address.region_id, &address.instance_id).await {
                Ok(listed) => listed,
                Err(lookup) => {
                    return Ok(ActionOutcome::Failed(unknown_outcome(
                        &address, &error, &lookup,
                    )));
                }
            };
        if let Some(found) = listed.get(&address.name) {
            // A duplicate's RequestId is not the one of the create that made the group.
            let request_id = if duplicate {
                ""
            } else {
                error.request_id().unwrap_or_default()
            };
            let sent = common_spec(
                earlier
                    .iter()
                    .chain([&intent])
                    .map(|attempt| attempt.spec.as_ref()),
            );
            let entry = StateEntry {
                prevent_destroy,
                ..found_entry(sent, found, request_id, &now_rfc3339())
            };
            let records = context.history.with(
                recorded(&earlier, &address, entry, intent.id),
                HistoryAction::Recover,
                &address,
                &found.job_group_id,
                request_id,
            );
            backend.append(&records).await?;
            return Ok(ActionOutcome::Recovered(RecoveredGroup {
                address,
                job_group_id: found.job_group_id.clone(),
                reason: if lost_answer_here {
                    RecoveryReason::LostAnswer
                } else {
                    RecoveryReason::Unfinished
                },
            }));
        }
        if duplicate {
            // Taken, most likely by an earlier create of this state, yet not listed: the
            // listing lags behind it. The intents stay open; the next apply looks again.
            return Ok(ActionOutcome::Failed(
                ActionFailure::from_cloud(&address, FailureReason::OutcomeUnknown, &error)
                    .with_hint(
                        "the name is taken, most likely by an earlier create of this state \
                         that the service does not list yet; the create stays in the state, \
                         and the next apply looks the name up again and records the group",
                    ),
            ));
        }
        if round >= MAX_CREATE_ROUNDS {
            return Ok(ActionOutcome::Failed(
                ActionFailure::from_cloud(&address, FailureReason::NotCreated, &error).with_hint(
                    format!(
                        "the answer was lost {round} times and the group was never found by \
                         name, so most likely nothing was created; the creates stay in the \
                         state: the next apply records the group should one land late, or \
                         creates it"
                    ),
                ),
            ));
        }
        // Not found: most likely nothing was created, so creating again is safe. Should the
        // lost create land after all, the next one is refused as a duplicate and looked up.
        earlier.push(intent);
    }
}

/// The records that put `entry` at `address` under `intent` and settle the `earlier` open
/// creates of the address, settles first: a crash between them leaves `intent` open, and
/// the next resolution finds the group again.
fn recorded(
    earlier: &[Intent],
    address: &Address,
    entry: StateEntry,
    intent: IntentId,
) -> Vec<JournalRecord> {
    let mut records: Vec<JournalRecord> = earlier
        .iter()
        .map(|earlier| settle(earlier.id.clone()))
        .collect();
    records.push(put(address, entry, intent));
    records
}

fn put(address: &Address, entry: StateEntry, intent: IntentId) -> JournalRecord {
    JournalRecord::Put(Put {
        address: address.clone(),
        entry,
        intent: Some(intent),
    })
}

fn settle(id: IntentId) -> JournalRecord {
    JournalRecord::Settle(Settle { id })
}

fn elapsed_since(started: Instant) -> Duration {
    Instant::now().saturating_duration_since(started)
}

/// The failure for a lost answer that could not be looked up: the intent stays unresolved.
fn unknown_outcome(address: &Address, error: &CloudError, lookup: &CloudError) -> ActionFailure {
    ActionFailure::from_cloud(address, FailureReason::OutcomeUnknown, error).with_hint(format!(
        "the group may or may not have been created, and looking it up failed too ({lookup}); \
         the intent stays in the state, and the next apply looks the name up before sending \
         anything"
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::cloud::{ClientOptions, Credentials, Endpoints};
    use crate::emulator::{self, EmulatorConfig, EmulatorHandle};
    use crate::state::{LocalBackend, LockOptions, State};

    fn address() -> Address {
        Address::new("cn-shanghai", "cityvisual-Instance", "late")
    }

    /// An emulator, a client of it, and an empty state in a temporary directory.
    async fn setup() -> (EmulatorHandle, CloudClient, tempfile::TempDir, LocalBackend) {
        let emulator = emulator::start(EmulatorConfig::default()).await.unwrap();
        let accepted = emulator.credentials();
        let client = CloudClient::new(
            Credentials::new(accepted.access_key_id.clone(), accepted.access_key_secret()),
            Endpoints::with_override(&emulator.endpoint()).unwrap(),
            ClientOptions::default(),
        )
        .unwrap();
        let directory = tempfile::tempdir().unwrap();
        let backend = LocalBackend::open(
            directory.path().join("state.json"),
            &LockOptions::new("cityform apply"),
        )
        .unwrap();
        backend.create(State::new("lineage-1")).await.unwrap();
        (emulator, client, directory, backend)
    }

    /// What one create needs, one call at a time, with `earlier` creates of [`address`]
    /// still open.
    fn context(
        backend: &LocalBackend,
        client: CloudClient,
        earlier: Vec<Intent>,
    ) -> ActionContext<'_, LocalBackend> {
        let open_creates = if earlier.is_empty() {
            BTreeMap::new()
        } else {
            BTreeMap::from([(address(), earlier)])
        };
        ActionContext {
            backend,
            client,
            slots: RequestSlots::new(1, None),
            open_creates,
            history: HistoryRecorder::default(),
        }
    }

    /// The create of an earlier run, recorded but never resolved.
    fn earlier_create() -> Intent {
        Intent {
            id: IntentId::random(),
            address: address(),
            operation: Operation::Create,
            spec: Some(JobGroupSpec::example()),
        }
    }

    #[tokio::test]
    async fn a_duplicate_while_an_earlier_create_is_open_adopts_the_group_it_made() {
        let (emulator, client, _directory, backend) = setup().await;
        let earlier = earlier_create();
        backend
            .append(&[JournalRecord::Intent(earlier.clone())])
            .await
            .unwrap();
        // The earlier create lands only now, after the listing that resolved it found nothing.
        let landed = client
            .create_job_group(
                "cn-shanghai",
                "cityvisual-Instance",
                "late",
                &JobGroupSpec::example(),
            )
            .await
            .unwrap();
        let context = context(&backend, client, vec![earlier]);

        let outcome = create(&context, address(), JobGroupSpec::example(), true)
            .await
            .unwrap();

        let ActionOutcome::Recovered(recovered) = outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(recovered.job_group_id, landed.job_group_id);
        assert_eq!(recovered.reason, RecoveryReason::Unfinished);
        assert_eq!(
            emulator.request_count("CreateJobGroup"),
            2,
            "the refused one"
        );
        let loaded = backend.load().await.unwrap();
        assert!(loaded.unresolved.is_empty(), "{:?}", loaded.unresolved);
        let entry = &loaded.state.unwrap().job_groups[&address()];
        assert_eq!(entry.job_group_id, landed.job_group_id);
        assert_eq!(entry.spec, JobGroupSpec::example());
        assert!(entry.prevent_destroy);
        assert_eq!(
            entry.request_id, "",
            "the duplicate's RequestId is not the create's"
        );
    }

    #[tokio::test]
    async fn a_duplicate_with_no_create_of_the_address_ever_recorded_is_a_conflict() {
        let (_emulator, client, _directory, backend) = setup().await;
        client
            .create_job_group(
                "cn-shanghai",
                "cityvisual-Instance",
                "late",
                &JobGroupSpec::example(),
            )
            .await
            .unwrap();
        let context = context(&backend, client, Vec::new());

        let outcome = create(&context, address(), JobGroupSpec::example(), false)
            .await
            .unwrap();

        let ActionOutcome::Failed(failure) = outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(failure.reason, FailureReason::Conflict);
        assert!(
            failure
                .hint
                .as_deref()
                .unwrap()
                .contains("cityform import cn-shanghai/cityvisual-Instance/late"),
            "{failure:?}"
        );
        let loaded = backend.load().await.unwrap();
        assert!(
            loaded.unresolved.is_empty(),
            "the refused create is settled"
        );
        assert!(loaded.state.unwrap().job_groups.is_empty());
    }

    #[tokio::test]
    async fn a_refused_create_leaves_an_earlier_open_create_open() {
        let (_emulator, client, _directory, backend) = setup().await;
        let earlier = earlier_create();
        backend
            .append(&[JournalRecord::Intent(earlier.clone())])
            .await
            .unwrap();
        let context = context(&backend, client, vec![earlier.clone()]);
        let unknown_library = JobGroupSpec {
            algo_lib_id: "404".into(),
            ..JobGroupSpec::example()
        };

        let outcome = create(&context, address(), unknown_library, false)
            .await
            .unwrap();

        assert!(
            matches!(&outcome, ActionOutcome::Failed(failure) if failure.reason == FailureReason::Refused),
            "{outcome:?}"
        );
        let loaded = backend.load().await.unwrap();
        assert_eq!(loaded.unresolved, [earlier], "it may still land");
    }

    #[tokio::test]
    async fn a_create_that_succeeds_settles_the_earlier_open_creates_of_its_address() {
        let (_emulator, client, _directory, backend) = setup().await;
        let earlier = earlier_create();
        backend
            .append(&[JournalRecord::Intent(earlier.clone())])
            .await
            .unwrap();
        let context = context(&backend, client, vec![earlier]);

        let outcome = create(&context, address(), JobGroupSpec::example(), false)
            .await
            .unwrap();

        assert!(matches!(outcome, ActionOutcome::Created(..)), "{outcome:?}");
        let loaded = backend.load().await.unwrap();
        assert!(loaded.unresolved.is_empty(), "{:?}", loaded.unresolved);
    }
}
