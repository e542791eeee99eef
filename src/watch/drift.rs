//! Which groups have pending changes from one round to the next, and when that set
//! becomes non-empty or empty.

use std::collections::BTreeSet;

use crate::model::Address;

/// What changed in the set of groups with pending changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// It was empty and is not.
    Detected(BTreeSet<Address>),
    /// It was not empty and is.
    Cleared,
}

/// The groups with pending changes after the last round that finished.
#[derive(Debug, Default)]
pub struct Drift {
    pending: BTreeSet<Address>,
}

impl Drift {
    /// Records `pending` as the current set and says whether it became non-empty or empty.
    pub fn observe(&mut self, pending: BTreeSet<Address>) -> Option<Transition> {
        let was_empty = self.pending.is_empty();
        self.pending = pending;
        match (was_empty, self.pending.is_empty()) {
            (true, false) => Some(Transition::Detected(self.pending.clone())),
            (false, true) => Some(Transition::Cleared),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<Address> {
        names.iter().map(|name| Address::example(*name)).collect()
    }

    #[test]
    fn only_the_edges_are_reported() {
        let mut drift = Drift::default();
        assert_eq!(drift.observe(set(&[])), None);
        assert_eq!(
            drift.observe(set(&["a"])),
            Some(Transition::Detected(set(&["a"])))
        );
        assert_eq!(drift.observe(set(&["a", "b"])), None);
        assert_eq!(drift.observe(set(&[])), Some(Transition::Cleared));
        assert_eq!(drift.observe(set(&[])), None);
    }
}
