//! Helpers the unit tests of several modules share.

use std::collections::BTreeMap;

/// An environment map from `(name, value)` pairs, as commands take it.
pub(crate) fn environment(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}
