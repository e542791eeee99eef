//! Journal records and their on-disk line format.
//!
//! A journal is UTF-8 text, one record per line: 16 lower-case hex digits (the first eight
//! bytes of the SHA-256 of the JSON that follows), one space, the record as compact JSON,
//! and a newline. The first line is a [`JournalHeader`]. A line counts as written only
//! once its newline is; a line whose checksum does not match was torn or damaged.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::{Address, JobGroupSpec};
use crate::state::HistoryEntry;
use crate::state::StateEntry;

/// The journal format this build writes, and the newest it reads. Version 2 added the
/// `history` and `retention` records; version 1 journals are read as they are.
pub const JOURNAL_FORMAT_VERSION: u32 = 2;

/// Length of the hex checksum that starts each line.
const CHECKSUM_LENGTH: usize = 16;

/// The first line of every journal: which format, and which state it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalHeader {
    /// Always `"journal"`, so that a header is never mistaken for a record.
    pub kind: HeaderKind,
    /// The journal format.
    pub format_version: u32,
    /// The lineage of the state the records apply to.
    pub lineage: String,
}

/// The `kind` of a header line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeaderKind {
    /// A journal header.
    Journal,
}

impl JournalHeader {
    /// The header of a journal for the state with `lineage`, in this build's format.
    pub fn new(lineage: impl Into<String>) -> Self {
        Self {
            kind: HeaderKind::Journal,
            format_version: JOURNAL_FORMAT_VERSION,
            lineage: lineage.into(),
        }
    }
}

/// Identifies an intent across runs: a random UUID, so that intents kept through a
/// compaction never collide with the next run's.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IntentId(pub String);

impl IntentId {
    /// A new random id.
    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }
}

impl fmt::Display for IntentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What an intent is about to do to a job group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// `CreateJobGroup`.
    Create,
    /// An update of an existing group.
    Update,
    /// `DeleteJobGroup`.
    Delete,
}

/// A call that is about to be sent, recorded before it leaves so that a crash with the
/// outcome unknown can be resolved by asking the cloud.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Intent {
    /// Unique across runs.
    pub id: IntentId,
    /// The group the call is about.
    pub address: Address,
    /// What the call does.
    pub operation: Operation,
    /// The spec being sent, for creates and updates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<JobGroupSpec>,
}

/// The group at `address` now is (or is recorded as) `entry`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Put {
    /// The group.
    pub address: Address,
    /// What the state records for it.
    pub entry: StateEntry,
    /// The intent this resolves, if the change came from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<IntentId>,
}

/// The group at `address` is no longer managed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Remove {
    /// The group.
    pub address: Address,
    /// The intent this resolves, if the change came from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<IntentId>,
}

/// An intent resolved without changing the state, e.g. a create that is known to have
/// created nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settle {
    /// The intent.
    pub id: IntentId,
}

/// The history keeps the last `retain_per_group` actions of each group from now on
/// (`--history-retention`); older ones are dropped when this record is replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// Actions kept per group.
    pub retain_per_group: usize,
}

/// One line of the journal after the header.
///
/// New kinds and new optional fields can be added; a journal using them gets a new
/// [`JOURNAL_FORMAT_VERSION`] so that older builds refuse it instead of misreading it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JournalRecord {
    /// A call is about to be sent.
    Intent(Intent),
    /// A group now is this.
    Put(Put),
    /// A group is gone.
    Remove(Remove),
    /// An intent is resolved with no change.
    Settle(Settle),
    /// An action on a group, and where it came from: appended in the same batch as the
    /// `put` or `remove` that records the action's result, after it. Replaying it adds the
    /// entry to the state's history (`docs/provenance.md`).
    History(HistoryEntry),
    /// The history's retention changed.
    Retention(Retention),
}

/// Encodes `value` as one journal line, newline included.
pub(crate) fn encode_line<T: Serialize>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut line = Vec::new();
    encode_line_into(&mut line, value)?;
    Ok(line)
}

/// Appends `value` to `buffer` as one journal line, newline included. On an error `buffer`
/// is left as it was.
pub(crate) fn encode_line_into<T: Serialize>(
    buffer: &mut Vec<u8>,
    value: &T,
) -> Result<(), serde_json::Error> {
    let start = buffer.len();
    // The checksum covers the JSON that follows it: room for it first, filled in after.
    buffer.extend_from_slice(&[b' '; CHECKSUM_LENGTH + 1]);
    if let Err(error) = serde_json::to_writer(&mut *buffer, value) {
        buffer.truncate(start);
        return Err(error);
    }
    let digest = checksum(&buffer[start + CHECKSUM_LENGTH + 1..]);
    buffer[start..start + CHECKSUM_LENGTH].copy_from_slice(&digest);
    buffer.push(b'\n');
    Ok(())
}

/// The JSON of a line (without its newline) whose checksum matches, or why it does not.
pub(crate) fn verify_line(line: &[u8]) -> Result<&[u8], &'static str> {
    if line.len() < CHECKSUM_LENGTH + 2 || line[CHECKSUM_LENGTH] != b' ' {
        return Err("not a checksummed record");
    }
    let (stated, json) = (&line[..CHECKSUM_LENGTH], &line[CHECKSUM_LENGTH + 1..]);
    if stated != checksum(json) {
        return Err("checksum mismatch");
    }
    Ok(json)
}

/// The first [`CHECKSUM_LENGTH`] hex digits of the SHA-256 of `bytes`.
fn checksum(bytes: &[u8]) -> [u8; CHECKSUM_LENGTH] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(bytes);
    let mut text = [0; CHECKSUM_LENGTH];
    for (pair, byte) in text.chunks_exact_mut(2).zip(digest.iter()) {
        pair[0] = HEX[usize::from(byte >> 4)];
        pair[1] = HEX[usize::from(byte & 0x0f)];
    }
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn put() -> JournalRecord {
        JournalRecord::Put(Put {
            address: Address::new("cn-shanghai", "cityvisual-Instance", "traffic-east"),
            entry: StateEntry::new(
                "jg-1",
                JobGroupSpec::example(),
                "req-1",
                "2026-11-27T08:00:00Z",
            ),
            intent: Some(IntentId("i-1".into())),
        })
    }

    #[test]
    fn a_line_is_checksum_space_json_newline() {
        let line = encode_line(&put()).unwrap();
        let text = String::from_utf8(line.clone()).unwrap();
        assert!(text.ends_with('\n'));
        assert_eq!(text.matches('\n').count(), 1);
        let (checksum, json) = text.trim_end().split_once(' ').unwrap();
        assert_eq!(checksum.len(), 16);
        assert!(
            json.starts_with(
                r#"{"kind":"put","address":"cn-shanghai/cityvisual-Instance/traffic-east""#
            ),
            "{json}"
        );
        let verified = verify_line(&line[..line.len() - 1]).unwrap();
        assert_eq!(
            serde_json::from_slice::<JournalRecord>(verified).unwrap(),
            put()
        );
    }

    #[test]
    fn any_changed_byte_fails_the_checksum() {
        let line = encode_line(&put()).unwrap();
        let body = &line[..line.len() - 1];
        for index in 0..body.len() {
            let mut damaged = body.to_vec();
            damaged[index] ^= 0x01;
            assert!(
                verify_line(&damaged).is_err(),
                "byte {index} changed unnoticed"
            );
        }
    }

    #[test]
    fn unknown_fields_are_refused_inside_records() {
        let json = br#"{"kind":"settle","id":"i-1","note":"x"}"#;
        let error = serde_json::from_slice::<JournalRecord>(json).unwrap_err();
        assert!(
            error.to_string().contains("unknown field `note`"),
            "{error}"
        );
        let json = br#"{"kind":"settle","id":"i-1"}"#;
        assert_eq!(
            serde_json::from_slice::<JournalRecord>(json).unwrap(),
            JournalRecord::Settle(Settle {
                id: IntentId("i-1".into())
            })
        );
    }

    #[test]
    fn a_header_is_not_a_record() {
        let header = serde_json::to_vec(&JournalHeader::new("lineage-1")).unwrap();
        assert!(serde_json::from_slice::<JournalRecord>(&header).is_err());
    }
}
