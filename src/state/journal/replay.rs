//! Reading a journal back: splitting it into verified records, telling a torn tail from a
//! corrupt middle, and replaying the records onto a state. Pure: bytes in, values out.

use super::record::{Intent, JOURNAL_FORMAT_VERSION, JournalHeader, JournalRecord, verify_line};
use crate::state::State;

/// A journal's verified contents.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedJournal {
    /// The header, when the first line is complete.
    pub header: Option<JournalHeader>,
    /// Every complete, verified record after the header, in order.
    pub records: Vec<JournalRecord>,
    /// Bytes covered by the header and `records`; everything after is `damaged_tail`.
    pub valid_length: u64,
    /// What follows the last complete record, when something does.
    pub damaged_tail: Option<DamagedTail>,
}

/// The end of a journal that is not a complete record, typically a write cut short by a
/// crash. Recovery keeps everything before it and reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamagedTail {
    /// 1-based line where it starts.
    pub line: usize,
    /// Byte offset where it starts.
    pub offset: u64,
    /// How many bytes it has.
    pub length: u64,
    /// What is wrong with its first line.
    pub reason: String,
}

/// Why a journal cannot be used at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalParseError {
    /// A damaged line with intact records after it.
    Corrupt {
        /// 1-based line of the first damaged line.
        line: usize,
        /// Its byte offset.
        offset: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// A line with a valid checksum that does not decode (a bug, or a newer build).
    Unreadable {
        /// 1-based line.
        line: usize,
        /// 1-based column in the line (the checksum included).
        column: usize,
        /// The decoder's message.
        message: String,
    },
    /// The header names a newer journal format.
    NewerFormat {
        /// The format in the header.
        found: u64,
    },
    /// The first line is not a journal header, whole or cut short: the file cannot be
    /// identified as a journal, so nothing in it may be dropped.
    Unidentified {
        /// What is wrong with the first line.
        reason: String,
    },
}

/// Splits `bytes` into verified lines (the line format is described in `journal/record.rs`).
pub fn parse_journal(bytes: &[u8]) -> Result<ParsedJournal, JournalParseError> {
    let lines = split_lines(bytes);
    let mut parsed = ParsedJournal::default();
    for (index, line) in lines.iter().enumerate() {
        let number = index + 1;
        let json = match line.verified() {
            Ok(json) => json,
            Err(reason) => {
                if lines[index + 1..]
                    .iter()
                    .any(|later| later.verified().is_ok())
                {
                    return Err(JournalParseError::Corrupt {
                        line: number,
                        offset: line.offset,
                        reason: reason.to_owned(),
                    });
                }
                // Only a header whose write was cut short is a damaged tail in the first
                // line; anything else there says the file is not a journal.
                if index == 0 && (line.terminated || !could_be_cut_header(line.bytes)) {
                    return Err(JournalParseError::Unidentified {
                        reason: reason.to_owned(),
                    });
                }
                parsed.damaged_tail = Some(DamagedTail {
                    line: number,
                    offset: line.offset,
                    length: bytes.len() as u64 - line.offset,
                    reason: reason.to_owned(),
                });
                break;
            }
        };
        let unreadable = |error: serde_json::Error| JournalParseError::Unreadable {
            line: number,
            column: line.bytes.len() - json.len() + error.column(),
            message: crate::model::printable(&crate::state::file::without_position(&error))
                .into_owned(),
        };
        if index == 0 {
            let probe: serde_json::Value = serde_json::from_slice(json).map_err(unreadable)?;
            if let Some(found) = probe.get("format_version").and_then(|value| value.as_u64())
                && found > u64::from(JOURNAL_FORMAT_VERSION)
            {
                return Err(JournalParseError::NewerFormat { found });
            }
            parsed.header = Some(serde_json::from_slice(json).map_err(unreadable)?);
        } else {
            parsed
                .records
                .push(serde_json::from_slice(json).map_err(unreadable)?);
        }
        parsed.valid_length = line.offset + line.bytes.len() as u64 + 1;
    }
    Ok(parsed)
}

/// Whether `bytes`, the start of a first line without its end, could be a header cut
/// short: hex digits of the checksum, a space, then the start of `{"kind":"journal"`.
fn could_be_cut_header(bytes: &[u8]) -> bool {
    const CHECKSUM_LENGTH: usize = 16;
    const HEADER_START: &[u8] = br#"{"kind":"journal""#;
    let checksum = &bytes[..bytes.len().min(CHECKSUM_LENGTH)];
    if !checksum
        .iter()
        .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(byte))
    {
        return false;
    }
    let Some(rest) = bytes.get(CHECKSUM_LENGTH..) else {
        return true;
    };
    let Some(json) = rest.strip_prefix(b" ") else {
        return rest.is_empty();
    };
    let common = json.len().min(HEADER_START.len());
    json[..common] == HEADER_START[..common]
}

struct Line<'a> {
    offset: u64,
    /// Without the newline.
    bytes: &'a [u8],
    terminated: bool,
}

impl<'a> Line<'a> {
    fn verified(&self) -> Result<&'a [u8], &'static str> {
        if !self.terminated {
            return Err("incomplete record (no end of line)");
        }
        verify_line(self.bytes)
    }
}

fn split_lines(bytes: &[u8]) -> Vec<Line<'_>> {
    let mut lines = Vec::new();
    let mut offset = 0;
    while offset < bytes.len() {
        let rest = &bytes[offset..];
        let (line, terminated) = match rest.iter().position(|&byte| byte == b'\n') {
            Some(end) => (&rest[..end], true),
            None => (rest, false),
        };
        lines.push(Line {
            offset: offset as u64,
            bytes: line,
            terminated,
        });
        offset += line.len() + usize::from(terminated);
    }
    lines
}

/// Applies `records` to `state` in order; returns the state and the intents that no later
/// record resolves, in the order they were recorded.
///
/// Every record is a write, so each one raises the serial by one: a saved plan bound to a
/// serial notices a change that is only in the journal.
///
/// Replaying is idempotent in content: replaying the same records onto the result gives
/// the same groups and intents (only the serial moves on). That is what makes a crash
/// between writing the compacted state and rewriting the journal harmless. A resolution of
/// an intent that is not in `records` (it was resolved in an earlier journal) changes
/// nothing.
pub fn replay(state: State, records: &[JournalRecord]) -> (State, Vec<Intent>) {
    let mut replayed = Replayed::new(state, Vec::new());
    replayed.apply(records);
    (replayed.state, replayed.unresolved)
}

/// A state with a journal replayed onto it, kept current as records are appended: what
/// reading the state file and its whole journal back would give, without reading them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    /// The state with every record so far applied.
    pub state: State,
    /// Intents that no record resolves yet, in the order they were recorded.
    pub unresolved: Vec<Intent>,
}

impl Replayed {
    /// `state` with `unresolved` still open, as a load returns them.
    pub fn new(state: State, unresolved: Vec<Intent>) -> Self {
        Self { state, unresolved }
    }

    /// Applies `records` in order, as [`replay`] does.
    pub fn apply(&mut self, records: &[JournalRecord]) {
        self.apply_owned(records.iter().cloned());
    }

    /// Applies `records` in order, taking them over rather than copying what they hold.
    pub fn apply_owned(&mut self, records: impl IntoIterator<Item = JournalRecord>) {
        for record in records {
            self.state.serial = self.state.serial.saturating_add(1);
            let state = &mut self.state;
            let resolves = match record {
                JournalRecord::Intent(intent) => {
                    self.unresolved.push(intent);
                    None
                }
                JournalRecord::Put(put) => {
                    state.job_groups.insert(put.address, put.entry);
                    put.intent
                }
                JournalRecord::Remove(remove) => {
                    state.job_groups.remove(&remove.address);
                    remove.intent
                }
                JournalRecord::Settle(settle) => Some(settle.id),
                // The history is kept beside the state: compaction appends these records
                // to it (`crate::state::history::file::fold`), and nothing here holds them.
                JournalRecord::History(_) => None,
                JournalRecord::Retention(retention) => {
                    state.history_retention = retention.retain_per_group;
                    None
                }
            };
            if let Some(id) = resolves {
                self.unresolved.retain(|intent| intent.id != id);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::record::{IntentId, Remove, Settle, encode_line};
    use super::*;
    use crate::state::fixtures::{address, entry, intent, put};

    fn journal(records: &[JournalRecord]) -> Vec<u8> {
        let mut bytes = encode_line(&JournalHeader::new("lineage-1")).unwrap();
        for record in records {
            bytes.extend(encode_line(record).unwrap());
        }
        bytes
    }

    #[test]
    fn replay_applies_puts_and_removes_and_returns_open_intents() {
        let mut base = State::new("lineage-1");
        base.job_groups.insert(address("old"), entry("jg-old"));
        let records = [
            intent("i-1", "a"),
            intent("i-2", "b"),
            intent("i-3", "old"),
            put("a", "jg-a", Some("i-1")),
            JournalRecord::Remove(Remove {
                address: address("old"),
                intent: Some(IntentId("i-3".into())),
            }),
            intent("i-4", "c"),
            JournalRecord::Settle(Settle {
                id: IntentId("i-4".into()),
            }),
        ];

        let (state, open) = replay(base.clone(), &records);

        let names: Vec<&str> = state.job_groups.keys().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["a"]);
        assert_eq!(state.job_groups[&address("a")], entry("jg-a"));
        let open: Vec<&str> = open.iter().map(|intent| intent.id.0.as_str()).collect();
        assert_eq!(open, ["i-2"]);
        assert_eq!(state.serial, base.serial + 7, "one write per record");
    }

    #[test]
    fn history_records_count_as_writes_and_retention_is_recorded_in_the_state() {
        use crate::provenance::RunContext;
        use crate::state::{HistoryAction, HistoryEntry};
        let context = RunContext::without_git(None, &std::collections::BTreeMap::new(), "host");
        let history = JournalRecord::History(HistoryEntry {
            address: address("a"),
            action: HistoryAction::Update,
            job_group_id: "jg-1".into(),
            provenance: context.for_group_at(
                None,
                None,
                time::macros::datetime!(2026-11-27 08:00 UTC),
            ),
            moved: None,
        });
        let records = [
            put("a", "jg-1", None),
            history,
            JournalRecord::Retention(super::super::record::Retention {
                retain_per_group: 1,
            }),
        ];
        let (state, _) = replay(State::new("lineage-1"), &records);
        assert_eq!(state.serial, 3, "every record is a write");
        assert_eq!(state.history_retention, 1);
        assert_eq!(state.job_groups.len(), 1);
    }

    #[test]
    fn replaying_twice_changes_nothing_but_the_serial() {
        let records = [
            intent("i-1", "a"),
            put("a", "jg-a", Some("i-1")),
            put("b", "jg-b", None),
            JournalRecord::Remove(Remove {
                address: address("b"),
                intent: None,
            }),
            intent("i-2", "c"),
        ];
        let once = replay(State::new("l"), &records);
        let mut twice = replay(once.0.clone(), &records);
        assert_eq!(twice.0.serial, once.0.serial + 5);
        twice.0.serial = once.0.serial;
        assert_eq!(once, twice);
    }

    #[test]
    fn a_complete_journal_parses_without_a_tail() {
        let records = [intent("i-1", "a"), put("a", "jg-a", Some("i-1"))];
        let bytes = journal(&records);
        let parsed = parse_journal(&bytes).unwrap();
        assert_eq!(parsed.header, Some(JournalHeader::new("lineage-1")));
        assert_eq!(parsed.records, records);
        assert_eq!(parsed.valid_length, bytes.len() as u64);
        assert_eq!(parsed.damaged_tail, None);
    }

    #[test]
    fn a_torn_last_record_is_reported_with_its_line_and_offset() {
        let records = [intent("i-1", "a"), put("a", "jg-a", Some("i-1"))];
        let complete = journal(&records[..1]);
        let mut bytes = journal(&records);
        bytes.truncate(bytes.len() - 10);

        let parsed = parse_journal(&bytes).unwrap();

        assert_eq!(parsed.records, records[..1]);
        assert_eq!(parsed.valid_length, complete.len() as u64);
        assert_eq!(
            parsed.damaged_tail,
            Some(DamagedTail {
                line: 3,
                offset: complete.len() as u64,
                length: (bytes.len() - complete.len()) as u64,
                reason: "incomplete record (no end of line)".into(),
            })
        );
    }

    #[test]
    fn a_garbled_tail_of_several_lines_is_a_tail() {
        let mut bytes = journal(&[intent("i-1", "a")]);
        let valid = bytes.len() as u64;
        bytes.extend_from_slice(b"\0\0\0\0\n\0\0\n");
        let parsed = parse_journal(&bytes).unwrap();
        assert_eq!(parsed.records.len(), 1);
        let tail = parsed.damaged_tail.unwrap();
        assert_eq!((tail.line, tail.offset, tail.length), (3, valid, 8));
        assert_eq!(tail.reason, "not a checksummed record");
    }

    /// A journal whose header line was garbage was read as a damaged tail, and the next
    /// append cut it off: a first line that cannot be a journal header
    /// means the file cannot be identified.
    #[test]
    fn a_first_line_that_is_not_a_header_is_refused() {
        for garbage in [
            &b"not a journal at all\n"[..],
            b"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\n",
            b"0123456789abcdef {\"kind\":\"journal\"}\n",
            b"a note without an end of line",
        ] {
            let error = parse_journal(garbage).unwrap_err();
            assert!(
                format!("{error:?}").starts_with("Unidentified"),
                "{:?}: {error:?}",
                String::from_utf8_lossy(garbage)
            );
        }
        // A header cut short by a crash is still a damaged tail: it was never acknowledged.
        let header = journal(&[]);
        for cut in [1, 16, 17, 25, header.len() - 1] {
            let parsed = parse_journal(&header[..cut]).unwrap();
            assert_eq!(parsed.damaged_tail.unwrap().offset, 0, "cut at {cut}");
        }
    }

    #[test]
    fn a_damaged_record_followed_by_intact_ones_is_corruption() {
        let records = [intent("i-1", "a"), intent("i-2", "b"), intent("i-3", "c")];
        let mut bytes = journal(&records);
        let second_record = journal(&records[..1]).len();
        bytes[second_record + 20] ^= 0x20;

        let error = parse_journal(&bytes).unwrap_err();

        assert_eq!(
            error,
            JournalParseError::Corrupt {
                line: 3,
                offset: second_record as u64,
                reason: "checksum mismatch".into(),
            }
        );
    }

    #[test]
    fn a_checksummed_line_that_does_not_decode_is_an_error_even_at_the_end() {
        let mut bytes = journal(&[intent("i-1", "a")]);
        bytes.extend(encode_line(&serde_json::json!({"kind": "rename", "to": "x"})).unwrap());
        let error = parse_journal(&bytes).unwrap_err();
        assert!(
            matches!(&error, JournalParseError::Unreadable { line: 3, column: 33, message } if message.starts_with("unknown variant `rename`")),
            "{error:?}"
        );
    }

    #[test]
    fn a_newer_journal_format_is_named() {
        let header =
            serde_json::json!({"kind": "journal", "format_version": 3, "lineage": "l", "x": 1});
        let bytes = encode_line(&header).unwrap();
        assert_eq!(
            parse_journal(&bytes),
            Err(JournalParseError::NewerFormat { found: 3 })
        );
    }

    #[test]
    fn an_empty_journal_has_nothing() {
        assert_eq!(parse_journal(b"").unwrap(), ParsedJournal::default());
    }

    fn any_record() -> impl proptest::strategy::Strategy<Value = JournalRecord> {
        use proptest::prelude::*;
        let name = prop::sample::select(vec!["a", "b", "c"]);
        let id = prop::sample::select(vec!["i-1", "i-2", "i-3", "i-4"]);
        prop_oneof![
            (id.clone(), name.clone()).prop_map(|(id, name)| intent(id, name)),
            (name.clone(), "[a-z0-9]{1,8}", prop::option::of(id.clone()))
                .prop_map(|(name, group, intent)| put(name, &group, intent)),
            (name, prop::option::of(id.clone())).prop_map(|(name, intent)| {
                JournalRecord::Remove(Remove {
                    address: address(name),
                    intent: intent.map(|id| IntentId(id.into())),
                })
            }),
            id.prop_map(|id| JournalRecord::Settle(Settle {
                id: IntentId(id.into())
            })),
        ]
    }

    proptest::proptest! {
        /// Whatever byte a crash cuts a valid journal at, recovery gives exactly the
        /// replay of the records whose lines are complete in what is left.
        #[test]
        fn every_prefix_recovers_to_the_replay_of_its_complete_records(
            records in proptest::collection::vec(any_record(), 0..12),
            cut_seed in proptest::prelude::any::<usize>(),
        ) {
            let bytes = journal(&records);
            let header_length = journal(&[]).len();
            let cut = cut_seed % (bytes.len() + 1);
            let prefix = &bytes[..cut];

            let parsed = parse_journal(prefix).expect("a prefix is never corrupt");

            let mut complete = Vec::new();
            let mut end = header_length;
            for record in &records {
                end += encode_line(record).unwrap().len();
                if end <= cut {
                    complete.push(record.clone());
                }
            }
            let base = State::new("lineage-1");
            proptest::prop_assert_eq!(&parsed.records, &complete);
            proptest::prop_assert_eq!(
                replay(base.clone(), &parsed.records),
                replay(base, &complete)
            );
            proptest::prop_assert_eq!(parsed.header.is_some(), cut >= header_length);
            let at_boundary = parsed.valid_length == cut as u64;
            proptest::prop_assert_eq!(parsed.damaged_tail.is_none(), at_boundary);
            if let Some(tail) = parsed.damaged_tail {
                proptest::prop_assert_eq!(tail.offset, parsed.valid_length);
                proptest::prop_assert_eq!(tail.offset + tail.length, cut as u64);
            }
        }
    }

    #[test]
    fn every_cut_of_one_journal_recovers_its_complete_records() {
        let records = [
            intent("i-1", "a"),
            put("a", "jg-a", Some("i-1")),
            intent("i-2", "b"),
        ];
        let bytes = journal(&records);
        let ends: Vec<usize> = (0..=records.len())
            .map(|n| journal(&records[..n]).len())
            .collect();
        for cut in 0..=bytes.len() {
            let parsed = parse_journal(&bytes[..cut]).unwrap();
            let complete = ends[1..].iter().filter(|&&end| end <= cut).count();
            assert_eq!(parsed.records, records[..complete], "cut at {cut}");
            assert_eq!(
                parsed.damaged_tail.is_none(),
                cut == 0 || ends.contains(&cut),
                "cut at {cut}"
            );
        }
    }
}
