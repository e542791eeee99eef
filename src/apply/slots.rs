//! Request slots: how many calls of a run are in hand at once, and the moment an action
//! starts.
//!
//! An action records its intent before it takes a slot, and gives the slot back before it
//! records its result, so that the journal's syncs happen while other actions' calls are in
//! hand rather than keeping a slot idle. An action "starts" (its `starting` event) when it
//! gets its slot. Once the run stops, no slot is handed out any more: actions still waiting
//! settle their intents and end as not started.

use tokio::sync::{Semaphore, SemaphorePermit};

use super::event::{ApplyEvent, EventSink};
use super::report::ChangeKind;
use crate::model::Address;

/// The run's request slots.
pub(crate) struct RequestSlots {
    semaphore: Semaphore,
    limit: usize,
    events: Option<EventSink>,
}

impl RequestSlots {
    /// `limit` slots (at least one); each start is announced on `events`.
    pub fn new(limit: usize, events: Option<EventSink>) -> Self {
        let limit = limit.max(1);
        Self {
            semaphore: Semaphore::new(limit),
            limit,
            events,
        }
    }

    /// Waits for a slot for `action` on `address` and announces the start; `None` once the
    /// run stops. The slot is free again when the permit is dropped.
    pub async fn start(
        &self,
        address: &Address,
        action: ChangeKind,
    ) -> Option<SemaphorePermit<'_>> {
        let permit = self.semaphore.acquire().await.ok()?;
        if let Some(events) = &self.events {
            events
                .emit(ApplyEvent::Starting {
                    address: address.clone(),
                    action,
                })
                .await;
        }
        Some(permit)
    }

    /// Hands out no more slots: every wait, now or later, ends with `None`.
    pub fn close(&self) {
        self.semaphore.close();
    }

    /// How many slots are taken: the calls in hand.
    pub fn in_hand(&self) -> usize {
        self.limit - self.semaphore.available_permits()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn address() -> Address {
        Address::new("cn-shanghai", "cityvisual-Instance", "traffic-east")
    }

    #[tokio::test]
    async fn slots_are_limited_announced_and_refused_once_closed() {
        let (sender, mut receiver) = tokio::sync::mpsc::channel(4);
        let slots = RequestSlots::new(2, Some(EventSink::new(sender)));

        let first = slots.start(&address(), ChangeKind::Create).await.unwrap();
        let _second = slots.start(&address(), ChangeKind::Delete).await.unwrap();
        assert_eq!(slots.in_hand(), 2);
        assert!(
            tokio::time::timeout(
                std::time::Duration::from_millis(20),
                slots.start(&address(), ChangeKind::Create)
            )
            .await
            .is_err(),
            "a third slot was handed out"
        );
        drop(first);
        assert_eq!(slots.in_hand(), 1);
        assert!(matches!(
            receiver.recv().await,
            Some(ApplyEvent::Starting {
                action: ChangeKind::Create,
                ..
            })
        ));

        slots.close();
        assert!(slots.start(&address(), ChangeKind::Create).await.is_none());
    }
}
