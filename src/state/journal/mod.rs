//! The journal: an append-only file of records that, replayed onto the state file, gives
//! the current state.
//!
//! Appending a record costs the same whatever the size of the state, and concurrent
//! appends share one fsync ([`JournalWriter`]). Compaction folds the journal into the state
//! file now and then (see [`crate::state::LocalBackend::compact`]).

mod record;
mod replay;
mod writer;

pub use record::{
    HeaderKind, Intent, IntentId, JOURNAL_FORMAT_VERSION, JournalHeader, JournalRecord, Operation,
    Put, Remove, Retention, Settle,
};
pub use replay::{DamagedTail, JournalParseError, ParsedJournal, Replayed, parse_journal, replay};
pub use writer::JournalWriter;

pub(crate) use record::{encode_line, encode_line_into, verify_line};
