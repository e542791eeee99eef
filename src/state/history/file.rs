//! The local backend's history file, `state.json.history`: every recorded action, kept
//! beside the state rather than inside it, and written once per run what the run's actions
//! share.
//!
//! The lines have the journal's format (16 hex digits of a SHA-256 of the JSON, a space,
//! one record as compact JSON, a newline). The first line is a header naming the format, the
//! lineage of the state the history belongs to and the retention. Then, in the order the
//! actions were recorded: a `run` record (commit, whether the tree was dirty, actor,
//! repository and forge: what every action of a run shares) before the first entry that
//! refers to it, and one `entry` record per action (address, action, group id, manifest
//! line, time, `RequestId`, and for a move its two addresses), naming its run by number.
//!
//! - **Appending** happens when the local backend folds a journal in ([`fold`]): the
//!   journal's `history` records since the last fold are appended in one write and synced.
//!   A damaged tail (a fold cut short by a crash) is cut off first. Folding the same journal
//!   again (after a crash between the fold and the journal's rewrite) appends nothing twice:
//!   the file's last entry is looked for among the entries to fold, and only those after it
//!   are appended. Entries name their time to the millisecond and their `RequestId`, so two
//!   entries are equal only when they are the same action.
//! - **Rewriting** ([`write_whole`]), atomically: when the retention changes (each group's
//!   oldest entries beyond it are dropped) and when a state with an embedded history (the
//!   format before this file existed) is first written.
//! - **Reading** streams the file: whole ([`read_all`], for `cityform history` and
//!   migration), or only the entries of some groups ([`read_groups`], for the "last applied
//!   from" notes of a plan), which keeps in memory only what it returns. The retention in the
//!   header is applied while reading, so a file holding more than it (entries appended since
//!   the last rewrite) reads as if it had been trimmed. A damaged tail is ignored.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::model::{History, HistoryAction, HistoryEntry, Moved};
use crate::manifest::SourceLocation;
use crate::model::Address;
use crate::provenance::{Actor, Forge, Provenance};
use crate::state::StateError;
use crate::state::atomic::{private_options, replace_file_with};
use crate::state::journal::{encode_line_into, verify_line};
use crate::state::{JournalError, LocalFileError};

/// The history file format this build writes and reads.
pub const HISTORY_FORMAT_VERSION: u32 = 1;

/// How much of the end of the file is read to find its last entry before folding.
const TAIL_BYTES: u64 = 256 * 1024;

/// Large enough that reading and writing a big history takes few system calls.
const BUFFER: usize = 256 * 1024;

/// The first line of a history file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    kind: HeaderKind,
    format_version: u32,
    lineage: String,
    retain_per_group: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum HeaderKind {
    History,
}

/// What every action of one run shares, written once per run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Run {
    commit: Option<String>,
    dirty: Option<bool>,
    actor: Actor,
    repository_url: Option<String>,
    forge: Option<Forge>,
}

impl Run {
    fn of(provenance: &Provenance) -> Self {
        Self {
            commit: provenance.commit.clone(),
            dirty: provenance.dirty,
            actor: provenance.actor.clone(),
            repository_url: provenance.repository_url.clone(),
            forge: provenance.forge,
        }
    }

    fn is_of(&self, provenance: &Provenance) -> bool {
        self.commit == provenance.commit
            && self.dirty == provenance.dirty
            && self.actor == provenance.actor
            && self.repository_url == provenance.repository_url
            && self.forge == provenance.forge
    }
}

/// A run record: its number in the file, and what it shares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunRecord {
    run: u64,
    commit: Option<String>,
    dirty: Option<bool>,
    actor: Actor,
    repository_url: Option<String>,
    forge: Option<Forge>,
}

impl RunRecord {
    /// The run's number, and what its entries share.
    fn split(self) -> (u64, Run) {
        (
            self.run,
            Run {
                commit: self.commit,
                dirty: self.dirty,
                actor: self.actor,
                repository_url: self.repository_url,
                forge: self.forge,
            },
        )
    }
}

/// An entry record: one action, and what is its own rather than its run's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryRecord {
    run: u64,
    address: Address,
    action: HistoryAction,
    job_group_id: String,
    #[serde(with = "crate::provenance::utc_rfc3339")]
    at: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source: Option<SourceLocation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    moved: Option<Moved>,
}

impl EntryRecord {
    fn of(entry: &HistoryEntry, run: u64) -> Self {
        Self {
            run,
            address: entry.address.clone(),
            action: entry.action,
            job_group_id: entry.job_group_id.clone(),
            at: entry.provenance.at,
            source: entry.provenance.source.clone(),
            request_id: entry.provenance.request_id.clone(),
            moved: entry.moved.clone(),
        }
    }

    /// Whether `entry` is the action this record holds (its run aside).
    fn records(&self, entry: &HistoryEntry) -> bool {
        self.address == entry.address
            && self.action == entry.action
            && self.job_group_id == entry.job_group_id
            && self.at == entry.provenance.at
            && self.source == entry.provenance.source
            && self.request_id == entry.provenance.request_id
            && self.moved == entry.moved
    }

    fn into_entry(self, run: &Run) -> HistoryEntry {
        HistoryEntry {
            address: self.address,
            action: self.action,
            job_group_id: self.job_group_id,
            provenance: Provenance {
                commit: run.commit.clone(),
                dirty: run.dirty,
                source: self.source,
                actor: run.actor.clone(),
                at: self.at,
                request_id: self.request_id,
                repository_url: run.repository_url.clone(),
                forge: run.forge,
            },
            moved: self.moved,
        }
    }
}

/// A record after the header. Runs are rare, entries are not, and neither is kept long.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Record {
    Run(RunRecord),
    Entry(EntryRecord),
}

/// Only what choosing a line needs: parsed without building the rest.
#[derive(Deserialize)]
struct Peek<'a> {
    kind: &'a str,
    #[serde(borrow, default)]
    address: Option<std::borrow::Cow<'a, str>>,
}

/// Writes records, encoding them with their checksums, and keeps count of runs.
struct Encoder<W: Write> {
    writer: W,
    line: Vec<u8>,
    last_run: u64,
    /// The run the last entry written refers to, and what it shares.
    current: Option<(u64, Run)>,
}

impl<W: Write> Encoder<W> {
    fn new(writer: W, last_run: u64) -> Self {
        Self {
            writer,
            line: Vec::with_capacity(512),
            last_run,
            current: None,
        }
    }

    fn write<T: Serialize>(&mut self, value: &T) -> Result<(), EncodeError> {
        self.line.clear();
        encode_line_into(&mut self.line, value).map_err(EncodeError::Encode)?;
        self.writer
            .write_all(&self.line)
            .map_err(EncodeError::Write)
    }

    /// Writes `entry`, after a run record when its run differs from the last entry's.
    fn entry(&mut self, entry: &HistoryEntry) -> Result<(), EncodeError> {
        let run = match &self.current {
            Some((number, run)) if run.is_of(&entry.provenance) => *number,
            _ => {
                let run = Run::of(&entry.provenance);
                self.last_run += 1;
                let number = self.last_run;
                self.write(&Record::Run(RunRecord {
                    run: number,
                    commit: run.commit.clone(),
                    dirty: run.dirty,
                    actor: run.actor.clone(),
                    repository_url: run.repository_url.clone(),
                    forge: run.forge,
                }))?;
                self.current = Some((number, run));
                number
            }
        };
        self.write(&Record::Entry(EntryRecord::of(entry, run)))
    }
}

enum EncodeError {
    Encode(serde_json::Error),
    Write(io::Error),
}

impl EncodeError {
    fn into_state_error(self, path: &Path) -> StateError {
        match self {
            Self::Encode(source) => StateError::from(JournalError::Encode { source }),
            Self::Write(source) => write_error(path, source),
        }
    }
}

fn write_error(path: &Path, source: io::Error) -> StateError {
    LocalFileError::HistoryWrite {
        path: path.to_path_buf(),
        source,
    }
    .into()
}

fn invalid(path: &Path, line: usize, reason: impl Into<String>) -> StateError {
    LocalFileError::HistoryInvalid {
        path: path.to_path_buf(),
        line,
        reason: reason.into(),
    }
    .into()
}

/// Replaces the history file at `path` with `history`, oldest entry first, under a header
/// with `lineage` and the history's retention (each group trimmed to it first).
pub fn write_whole(path: &Path, lineage: &str, mut history: History) -> Result<(), StateError> {
    let retain_per_group = history.retain_per_group();
    history.compact(retain_per_group);
    let mut oldest_first: Vec<&HistoryEntry> = history.newest_first().collect();
    oldest_first.reverse();
    let mut failure = None;
    let written = replace_file_with(path, None, |file| {
        let mut encoder = Encoder::new(io::BufWriter::with_capacity(BUFFER, file), 0);
        let header = Header {
            kind: HeaderKind::History,
            format_version: HISTORY_FORMAT_VERSION,
            lineage: lineage.to_owned(),
            retain_per_group,
        };
        let result = encoder
            .write(&header)
            .and_then(|()| {
                oldest_first
                    .iter()
                    .try_for_each(|entry| encoder.entry(entry))
            })
            .and_then(|()| encoder.writer.flush().map_err(EncodeError::Write));
        match result {
            Ok(()) => Ok(()),
            Err(EncodeError::Write(error)) => Err(error),
            Err(error) => {
                failure = Some(error);
                Err(io::Error::other("encoding failed"))
            }
        }
    });
    match (written, failure) {
        (Ok(()), _) => Ok(()),
        (Err(_), Some(error)) => Err(error.into_state_error(path)),
        (Err(source), None) => Err(write_error(path, source)),
    }
}

/// What a failed read of `path` is.
pub(crate) fn read_error(path: &Path) -> impl Fn(io::Error) -> StateError + Copy + '_ {
    move |source| {
        LocalFileError::Read {
            path: path.to_path_buf(),
            source,
        }
        .into()
    }
}

/// The file at `path`, opened to be read; `None` when there is none.
pub(crate) fn open_if_present(path: &Path) -> Result<Option<File>, StateError> {
    match File::open(path) {
        Ok(file) => Ok(Some(file)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(read_error(path)(source)),
    }
}

/// The header of the history file at `path`: `None` when there is no file.
fn read_header(path: &Path, lineage: &str) -> Result<Option<(Header, u64)>, StateError> {
    let Some(file) = open_if_present(path)? else {
        return Ok(None);
    };
    let mut reader = BufReader::new(file.take(64 * 1024));
    let mut line = Vec::new();
    reader
        .read_until(b'\n', &mut line)
        .map_err(read_error(path))?;
    parse_header(path, &line, lineage).map(|header| Some((header, line.len() as u64)))
}

/// The header line `line` (its newline included), checked against `lineage`.
fn parse_header(path: &Path, line: &[u8], lineage: &str) -> Result<Header, StateError> {
    let Some(body) = line.strip_suffix(b"\n") else {
        return Err(invalid(path, 1, "its first line is not a complete header"));
    };
    let json = verify_line(body).map_err(|reason| {
        invalid(
            path,
            1,
            format!("its first line is not a history header ({reason})"),
        )
    })?;
    let probe: serde_json::Value = serde_json::from_slice(json)
        .map_err(|error| invalid(path, 1, format!("its header cannot be read: {error}")))?;
    if let Some(found) = probe.get("format_version").and_then(|value| value.as_u64())
        && found > u64::from(HISTORY_FORMAT_VERSION)
    {
        return Err(invalid(
            path,
            1,
            format!(
                "it was written by a newer cityform (history format {found}, this build reads {HISTORY_FORMAT_VERSION}); upgrade cityform"
            ),
        ));
    }
    let header: Header = serde_json::from_value(probe)
        .map_err(|error| invalid(path, 1, format!("its header cannot be read: {error}")))?;
    if header.lineage != lineage {
        return Err(invalid(
            path,
            1,
            format!(
                "it belongs to lineage `{}`, not to the state's `{lineage}`",
                header.lineage
            ),
        ));
    }
    Ok(header)
}

/// One line of a file read as a stream.
struct Line {
    number: usize,
    offset: u64,
    /// Without its newline.
    bytes: Vec<u8>,
    terminated: bool,
}

/// Reads `reader` line by line, from line `first_number` at byte `offset`.
struct Lines<R> {
    reader: R,
    number: usize,
    offset: u64,
}

impl<R: BufRead> Lines<R> {
    fn next_into(&mut self, line: &mut Line) -> io::Result<bool> {
        line.bytes.clear();
        let read = self.reader.read_until(b'\n', &mut line.bytes)?;
        if read == 0 {
            return Ok(false);
        }
        self.number += 1;
        line.number = self.number;
        line.offset = self.offset;
        self.offset += read as u64;
        line.terminated = line.bytes.last() == Some(&b'\n');
        if line.terminated {
            line.bytes.pop();
        }
        Ok(true)
    }
}

/// Streams the records after the header, calling `visit` with each verified line's JSON.
/// A damaged tail ends the stream quietly; a damaged line with intact ones after it is an
/// error.
fn stream(
    path: &Path,
    lineage: &str,
    mut visit: impl FnMut(&[u8], usize) -> Result<(), StateError>,
) -> Result<Option<Header>, StateError> {
    let read_error = read_error(path);
    let Some(file) = open_if_present(path)? else {
        return Ok(None);
    };
    let mut lines = Lines {
        reader: BufReader::with_capacity(BUFFER, file),
        number: 0,
        offset: 0,
    };
    let mut line = Line {
        number: 0,
        offset: 0,
        bytes: Vec::with_capacity(512),
        terminated: false,
    };
    if !lines.next_into(&mut line).map_err(read_error)? {
        return Err(invalid(path, 1, "it is empty"));
    }
    let mut header_line = std::mem::take(&mut line.bytes);
    header_line.push(b'\n');
    let header = parse_header(path, &header_line, lineage)?;
    let mut damaged: Option<(usize, &'static str)> = None;
    while lines.next_into(&mut line).map_err(read_error)? {
        let verified = if line.terminated {
            verify_line(&line.bytes)
        } else {
            Err("incomplete record (no end of line)")
        };
        match (verified, damaged) {
            (Ok(_), Some((number, reason))) => {
                return Err(invalid(
                    path,
                    number,
                    format!("{reason}, and intact records follow it"),
                ));
            }
            (Ok(json), None) => visit(json, line.number)?,
            (Err(reason), None) => damaged = Some((line.number, reason)),
            (Err(_), Some(_)) => {}
        }
    }
    Ok(Some(header))
}

fn unreadable(path: &Path, number: usize, error: &serde_json::Error) -> StateError {
    invalid(
        path,
        number,
        format!(
            "a record cannot be read: {}",
            crate::model::printable(&crate::state::file::without_position(error))
        ),
    )
}

/// Reads every entry of the history file at `path`, oldest first, each group trimmed to
/// the retention in the header: `None` when there is no file.
pub fn read_all(path: &Path, lineage: &str) -> Result<Option<History>, StateError> {
    read_selected(path, lineage, None)
}

/// Reads the entries of the groups in `addresses` only: the rest of the file is looked at
/// but not kept. `None` when there is no file.
pub fn read_groups(
    path: &Path,
    lineage: &str,
    addresses: &BTreeSet<Address>,
) -> Result<Option<History>, StateError> {
    read_selected(path, lineage, Some(addresses))
}

fn read_selected(
    path: &Path,
    lineage: &str,
    addresses: Option<&BTreeSet<Address>>,
) -> Result<Option<History>, StateError> {
    let wanted: Option<HashSet<String>> =
        addresses.map(|addresses| addresses.iter().map(ToString::to_string).collect());
    let mut runs: BTreeMap<u64, Run> = BTreeMap::new();
    let mut entries = History::new(usize::MAX);
    let header = stream(path, lineage, |json, number| {
        if let Some(wanted) = &wanted {
            let peek: Peek<'_> =
                serde_json::from_slice(json).map_err(|error| unreadable(path, number, &error))?;
            let chosen = peek.kind == "run"
                || peek
                    .address
                    .as_deref()
                    .is_some_and(|address| wanted.contains(address));
            if !chosen {
                return Ok(());
            }
        }
        match serde_json::from_slice(json).map_err(|error| unreadable(path, number, &error))? {
            Record::Run(record) => {
                let (number, run) = record.split();
                runs.insert(number, run);
            }
            Record::Entry(record) => {
                let Some(run) = runs.get(&record.run) else {
                    return Err(invalid(
                        path,
                        number,
                        format!(
                            "the entry names run {}, which no record before it is",
                            record.run
                        ),
                    ));
                };
                let entry = record.into_entry(run);
                entries.push(entry);
            }
        }
        Ok(())
    })?;
    Ok(header.map(|header| {
        entries.compact(header.retain_per_group);
        entries
    }))
}

/// The end of a history file as a fold needs it.
#[derive(Debug)]
struct Tail {
    header: Header,
    /// Where the last intact record ends: anything after is a damaged tail.
    valid_length: u64,
    /// The last entry, when there is one.
    last_entry: Option<EntryRecord>,
    /// The highest run number used.
    last_run: u64,
    /// The last run record, when the end of the file holds it: the entries that follow it
    /// refer to it, and so may the next ones.
    last_run_record: Option<RunRecord>,
}

/// Reads the header and the end of the file: the last entry and run, and where the intact
/// records end. Reads the whole file only when its end holds no entry.
fn read_tail(path: &Path, file: &mut File, lineage: &str) -> Result<Tail, StateError> {
    let read_error = read_error(path);
    let length = file.metadata().map_err(read_error)?.len();
    let Some((header, header_length)) = read_header(path, lineage)? else {
        return Err(invalid(path, 1, "it disappeared while it was read"));
    };
    let start = length.saturating_sub(TAIL_BYTES).max(header_length);
    file.seek(SeekFrom::Start(start)).map_err(read_error)?;
    let mut bytes = Vec::new();
    Read::by_ref(file)
        .take(length - start)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    // The chunk starts at a line's start only at the header's end; otherwise its first,
    // partial line is skipped.
    let skip = if start == header_length {
        0
    } else {
        bytes
            .iter()
            .position(|&byte| byte == b'\n')
            .map_or(bytes.len(), |end| end + 1)
    };
    let mut lines: Vec<(u64, &[u8], bool)> = Vec::new();
    let mut offset = skip;
    while offset < bytes.len() {
        let rest = &bytes[offset..];
        let (line, terminated) = match rest.iter().position(|&byte| byte == b'\n') {
            Some(end) => (&rest[..end], true),
            None => (rest, false),
        };
        lines.push((start + offset as u64, line, terminated));
        offset += line.len() + usize::from(terminated);
    }
    let verified: Vec<Option<&[u8]>> = lines
        .iter()
        .map(|(_, line, terminated)| terminated.then(|| verify_line(line).ok()).flatten())
        .collect();
    let last_valid = verified.iter().rposition(Option::is_some);
    if let Some(last_valid) = last_valid
        && let Some(damaged) = verified[..last_valid].iter().position(Option::is_none)
    {
        return Err(invalid(
            path,
            0,
            format!(
                "the record at byte offset {} is damaged, and intact records follow it",
                lines[damaged].0
            ),
        ));
    }
    let valid_length = match last_valid {
        Some(index) => lines[index].0 + lines[index].1.len() as u64 + 1,
        None if lines.is_empty() || start == header_length => start,
        None => lines[0].0,
    };
    let mut last_entry: Option<EntryRecord> = None;
    let mut last_run_record: Option<RunRecord> = None;
    for json in verified.iter().rev().flatten() {
        match serde_json::from_slice::<Record>(json).map_err(|error| unreadable(path, 0, &error))? {
            Record::Entry(entry) => {
                if last_entry.is_none() {
                    last_entry = Some(entry);
                }
            }
            Record::Run(run) => {
                last_run_record = Some(run);
                break;
            }
        }
    }
    let mut last_run = last_run_record
        .as_ref()
        .map(|run| run.run)
        .or(last_entry.as_ref().map(|entry| entry.run));
    if last_entry.is_none() && start > header_length {
        // Nothing but runs in the last bytes: a file of very large records. Read it whole.
        let mut found_entry = None;
        let mut found_run = 0;
        stream(path, lineage, |json, number| {
            match serde_json::from_slice::<Record>(json)
                .map_err(|error| unreadable(path, number, &error))?
            {
                Record::Entry(entry) => {
                    found_run = found_run.max(entry.run);
                    found_entry = Some(entry);
                }
                Record::Run(run) => found_run = found_run.max(run.run),
            }
            Ok(())
        })?;
        last_entry = found_entry;
        last_run = Some(found_run);
    }
    Ok(Tail {
        header,
        valid_length,
        last_entry,
        last_run: last_run.unwrap_or(0),
        last_run_record,
    })
}

/// What takes each entry a fold appends.
pub type Visitor<'a> = dyn FnMut(HistoryEntry) -> Result<(), StateError> + 'a;

/// Appends the entries `pending` visits to the history file at `path` (made, with `lineage`
/// and `retain_per_group` in its header, when missing), after cutting off a damaged tail,
/// and syncs it. Entries up to one equal to the file's last entry are skipped: they were
/// appended by an earlier fold of the same journal.
///
/// `pending` is called twice, and must visit the same entries in the same order each time:
/// once to find where the file stopped, once to write what follows.
pub fn fold(
    path: &Path,
    lineage: &str,
    retain_per_group: usize,
    pending: &mut dyn FnMut(&mut Visitor<'_>) -> Result<(), StateError>,
) -> Result<usize, StateError> {
    let mut count = 0usize;
    pending(&mut |_| {
        count += 1;
        Ok(())
    })?;
    if count == 0 {
        return Ok(0);
    }
    if !path.exists() {
        write_whole(path, lineage, History::new(retain_per_group))?;
    }
    let mut file = private_options()
        .read(true)
        .write(true)
        .open(path)
        .map_err(read_error(path))?;
    let tail = read_tail(path, &mut file, lineage)?;
    if tail.header.retain_per_group == 0 {
        return Ok(0);
    }
    let mut folded_before = 0usize;
    if let Some(last) = &tail.last_entry {
        let mut index = 0usize;
        pending(&mut |entry| {
            index += 1;
            if last.records(&entry) {
                folded_before = index;
            }
            Ok(())
        })?;
    }
    file.set_len(tail.valid_length)
        .map_err(|source| write_error(path, source))?;
    file.seek(SeekFrom::Start(tail.valid_length))
        .map_err(|source| write_error(path, source))?;
    let mut encoder = Encoder::new(
        io::BufWriter::with_capacity(BUFFER, &mut file),
        tail.last_run,
    );
    // Entries of the run the file ends with go on under its record.
    encoder.current = tail.last_run_record.map(RunRecord::split);
    let mut index = 0usize;
    let mut failure = None;
    pending(&mut |entry| {
        index += 1;
        if index > folded_before && failure.is_none() {
            failure = encoder.entry(&entry).err();
        }
        Ok(())
    })?;
    if let Some(error) = failure {
        return Err(error.into_state_error(path));
    }
    encoder
        .writer
        .flush()
        .map_err(|source| write_error(path, source))?;
    drop(encoder);
    file.sync_data()
        .map_err(|source| write_error(path, source))?;
    Ok(count - folded_before)
}

/// The retention in the header of the history file at `path`: `None` when there is none.
pub fn stored_retention(path: &Path, lineage: &str) -> Result<Option<usize>, StateError> {
    Ok(read_header(path, lineage)?.map(|(header, _)| header.retain_per_group))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::state::fixtures::{address, history_entry};

    const COMMIT_A: &str = "3f2a9c1e5b7d9f0a1c3e5b7d9f0a1c3e5b7d9f0a";
    const COMMIT_B: &str = "9c0ffee5b7d9f0a1c3e5b7d9f0a1c3e5b7d9f0a1";
    const LINEAGE: &str = "lineage-1";

    fn sample() -> Vec<HistoryEntry> {
        vec![
            history_entry("east", 0, COMMIT_A),
            history_entry("west", 1, COMMIT_A),
            history_entry("east", 2, COMMIT_B),
            history_entry("north", 3, COMMIT_B),
        ]
    }

    fn history_of(entries: &[HistoryEntry]) -> History {
        let mut history = History::default();
        for entry in entries {
            history.push(entry.clone());
        }
        history
    }

    /// Folds `entries` into the file at `path`, as compaction folds a journal's.
    fn fold_entries(path: &Path, entries: &[HistoryEntry]) -> usize {
        fold(path, LINEAGE, 1_000, &mut |visit| {
            entries.iter().cloned().try_for_each(&mut *visit)
        })
        .unwrap()
    }

    fn kinds(path: &Path) -> Vec<String> {
        fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|line| {
                let json: serde_json::Value =
                    serde_json::from_slice(verify_line(line.as_bytes()).unwrap()).unwrap();
                json["kind"].as_str().unwrap().to_owned()
            })
            .collect()
    }

    use std::fs;

    #[test]
    fn a_written_history_reads_back_whole_with_each_run_written_once() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("state.json.history");
        write_whole(&path, LINEAGE, history_of(&sample())).unwrap();

        assert_eq!(
            kinds(&path),
            ["history", "run", "entry", "entry", "run", "entry", "entry"]
        );
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.matches(COMMIT_A).count(), 1, "{text}");
        assert_eq!(text.matches("actions/runs/8812").count(), 2, "{text}");
        let read = read_all(&path, LINEAGE).unwrap().unwrap();
        assert_eq!(read, history_of(&sample()));
        assert_eq!(
            read_all(&directory.path().join("none"), LINEAGE).unwrap(),
            None
        );
    }

    #[test]
    fn reading_some_groups_keeps_only_theirs() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("state.json.history");
        write_whole(&path, LINEAGE, history_of(&sample())).unwrap();

        let wanted = BTreeSet::from([address("east")]);
        let east = read_groups(&path, LINEAGE, &wanted).unwrap().unwrap();

        assert_eq!(east.len(), 2);
        let expected: Vec<HistoryEntry> = vec![sample()[2].clone(), sample()[0].clone()];
        assert_eq!(east.newest_first().cloned().collect::<Vec<_>>(), expected);
    }

    #[test]
    fn folding_appends_and_folding_the_same_entries_again_appends_nothing() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("state.json.history");
        let entries = sample();

        assert_eq!(fold_entries(&path, &entries[..2]), 2);
        assert_eq!(fold_entries(&path, &entries[2..]), 2);
        let length = fs::metadata(&path).unwrap().len();
        // A journal folded again after a crash before it was rewritten.
        assert_eq!(fold_entries(&path, &entries[2..]), 0);
        assert_eq!(fs::metadata(&path).unwrap().len(), length);
        // A fold cut short after its first entry: only the rest goes in.
        let more = [
            history_entry("south", 4, COMMIT_B),
            history_entry("south", 5, COMMIT_B),
        ];
        fold_entries(&path, &more[..1]);
        assert_eq!(fold_entries(&path, &more), 1);

        let mut all = entries.clone();
        all.extend(more);
        assert_eq!(read_all(&path, LINEAGE).unwrap().unwrap(), history_of(&all));
        // One record per run, however many folds its entries came in.
        assert_eq!(kinds(&path).iter().filter(|kind| *kind == "run").count(), 2);
    }

    #[test]
    fn a_torn_last_line_is_ignored_when_read_and_cut_before_the_next_fold() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("state.json.history");
        let entries = sample();
        fold_entries(&path, &entries[..3]);
        let complete = fs::read(&path).unwrap();
        // A crash in the middle of appending the fourth entry.
        fold_entries(&path, &entries[3..]);
        let mut torn = fs::read(&path).unwrap();
        torn.truncate(complete.len() + (torn.len() - complete.len()) / 2);
        fs::write(&path, &torn).unwrap();

        assert_eq!(
            read_all(&path, LINEAGE).unwrap().unwrap(),
            history_of(&entries[..3])
        );
        assert_eq!(fold_entries(&path, &entries[3..]), 1);
        assert_eq!(
            read_all(&path, LINEAGE).unwrap().unwrap(),
            history_of(&entries)
        );
        let text = fs::read(&path).unwrap();
        assert!(text.ends_with(b"\n"));
        assert_eq!(kinds(&path).len(), 7, "the torn bytes are gone");
    }

    #[test]
    fn a_damaged_middle_another_lineage_and_a_newer_format_are_refused() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("state.json.history");
        write_whole(&path, LINEAGE, history_of(&sample())).unwrap();
        let text = fs::read_to_string(&path).unwrap();

        let damaged = text.replacen("east", "eass", 1);
        fs::write(&path, &damaged).unwrap();
        let error = read_all(&path, LINEAGE).unwrap_err().to_string();
        assert!(
            error.contains("checksum mismatch, and intact records follow it"),
            "{error}"
        );
        let error = fold_entries_error(&path);
        assert!(error.contains("intact records follow it"), "{error}");
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            damaged,
            "left as it was"
        );

        fs::write(&path, &text).unwrap();
        let error = read_all(&path, "lineage-2").unwrap_err().to_string();
        assert!(
            error.contains("it belongs to lineage `lineage-1`, not to the state's `lineage-2`"),
            "{error}"
        );

        let mut newer = Vec::new();
        encode_line_into(
            &mut newer,
            &serde_json::json!({"kind": "history", "format_version": 2, "lineage": LINEAGE, "retain_per_group": 1, "x": 1}),
        )
        .unwrap();
        fs::write(&path, &newer).unwrap();
        let error = read_all(&path, LINEAGE).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("written by a newer cityform (history format 2"),
            "{error}"
        );
        assert!(error.hint().unwrap().contains("move it aside"));
    }

    fn fold_entries_error(path: &Path) -> String {
        fold(path, LINEAGE, 1_000, &mut |visit| {
            visit(history_entry("late", 9, COMMIT_B))
        })
        .unwrap_err()
        .to_string()
    }

    #[test]
    fn the_retention_in_the_header_is_applied_when_reading() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("state.json.history");
        let mut history = History::new(1);
        history.compact(usize::MAX);
        for entry in sample() {
            history.push(entry);
        }
        write_whole(&path, LINEAGE, History::new(1)).unwrap();
        fold(&path, LINEAGE, 1, &mut |visit| {
            sample().into_iter().try_for_each(&mut *visit)
        })
        .unwrap();

        let read = read_all(&path, LINEAGE).unwrap().unwrap();

        assert_eq!(read.len(), 3, "east keeps only its newest");
        assert_eq!(read.latest(&address("east")).unwrap(), &sample()[2]);
        assert_eq!(stored_retention(&path, LINEAGE).unwrap(), Some(1));
    }

    #[test]
    fn nothing_is_folded_with_a_retention_of_zero() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("state.json.history");
        write_whole(&path, LINEAGE, History::new(0)).unwrap();
        let before = fs::read(&path).unwrap();
        let folded = fold(&path, LINEAGE, 0, &mut |visit| {
            sample().into_iter().try_for_each(&mut *visit)
        })
        .unwrap();
        assert_eq!(folded, 0);
        assert_eq!(fs::read(&path).unwrap(), before);
    }

    #[test]
    fn the_documented_history_file_reads() {
        let document = include_str!("../../../docs/state.md");
        let start = document.find("```text\n").unwrap();
        let start = document[start + 1..]
            .find("```text\n")
            .map(|offset| start + 1 + offset + 8)
            .unwrap();
        let length = document[start..].find("```\n").unwrap();
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("state.json.history");
        fs::write(&path, &document[start..start + length]).unwrap();

        let history = read_all(&path, "6f1e2a0c-3b4d-4e5f-8a9b-0c1d2e3f4a5b")
            .unwrap()
            .unwrap();

        let entry = history.newest_first().next().unwrap();
        assert_eq!(entry.provenance.short(), "3f2a9c1 by ci/run 8812");
        assert_eq!(entry.provenance.source.as_ref().unwrap().line, 16);
        assert_eq!(history.len(), 1);
    }
}
