//! The journal: the records of changes appended since the last compaction, which, replayed
//! onto the compacted state, give the current state.
//!
//! Both backends keep the same [`JournalRecord`]s and [`replay`] them the same way: the
//! local one in an append-only file (the line format and [`JournalWriter`] here), the
//! PostgreSQL one as rows of `cityform_journal`. Appending a record costs the same whatever
//! the size of the state, and concurrent appends to the file share one fsync
//! ([`JournalWriter`]). Compaction folds the journal into the state now and then (see
//! [`crate::state::Backend::compact`]).

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
