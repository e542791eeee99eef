//! Reading and writing the state file itself: strict parsing with precise errors, a
//! checksum of the content, a size limit, atomic replacement with a backup.
//!
//! The checksum is the SHA-256 of the state's fields as compact JSON (the state without the
//! checksum, as [`State`] serialises it), written as `"checksum": "sha256:<hex>"` on its own
//! line right after `format_version`. It is checked on every read: a file whose content no
//! longer matches it (a bit flip, a bad edit) is refused rather than trusted, since a changed
//! address key or id makes cityform act on the wrong group. A file without the field (older
//! cityform, or an edit accepted on purpose by removing the line) is read as it is and gets
//! a checksum at its next write.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::History;
use super::atomic::replace_file_with;
use super::history::DEFAULT_RETAIN_PER_GROUP;
use super::model::{is_default_retention, serial_within_bounds};
use super::paths::{check_file_type, special_kind, with_suffix};
use super::{FORMAT_VERSION, State, StateEntry, StateError};
use crate::model::{Address, printable};
use crate::state::{JournalError, LocalFileError};

/// The largest state file (and journal) read unless configured otherwise: 1 GiB, far above
/// the largest state measured (100,000 groups with their history in tens of megabytes), and
/// far below what a runaway read (`--state /dev/zero`) would use up before it was noticed.
pub const DEFAULT_MAX_STATE_BYTES: u64 = 1 << 30;

/// The environment variable that sets the state size limit, in bytes.
pub const MAX_STATE_BYTES_VARIABLE: &str = "CITYFORM_MAX_STATE_BYTES";

/// The prefix of the checksum's value: the algorithm.
const CHECKSUM_PREFIX: &str = "sha256:";

/// The state file as read: the state's fields and the checksum of them, and the history a
/// state written before the history file existed holds (`docs/state.md`, "The history").
/// Kept in step with [`State`] by the destructuring in [`unseal`] and [`Checksummed::new`],
/// which stop compiling when the state gains a field.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    format_version: u32,
    lineage: String,
    #[serde(deserialize_with = "serial_within_bounds")]
    serial: u64,
    job_groups: BTreeMap<Address, StateEntry>,
    #[serde(default = "default_retention")]
    history_retention: usize,
    #[serde(default)]
    history: Option<History>,
    #[serde(default)]
    checksum: Option<String>,
}

fn default_retention() -> usize {
    DEFAULT_RETAIN_PER_GROUP
}

/// A state as read from its file, with the history it embeds when it is of the earlier
/// layout.
#[derive(Debug)]
pub(crate) struct StoredState {
    /// The state.
    pub state: State,
    /// The history inside the file, as states kept it before the history file existed:
    /// moved to the history file at the state's next write.
    pub embedded_history: Option<History>,
}

/// What the checksum covers: the state's fields as compact JSON, in the order they are
/// written, and for a state of the earlier layout its embedded history, as that layout
/// wrote it (after the groups, and only when it held something).
#[derive(Serialize)]
struct Checksummed<'a> {
    format_version: u32,
    lineage: &'a str,
    serial: u64,
    job_groups: &'a BTreeMap<Address, StateEntry>,
    #[serde(skip_serializing_if = "is_default_retention")]
    history_retention: usize,
    #[serde(skip_serializing_if = "embeds_nothing")]
    history: Option<&'a History>,
}

fn embeds_nothing(history: &Option<&History>) -> bool {
    history.is_none_or(|history| {
        history.is_empty() && history.retain_per_group() == DEFAULT_RETAIN_PER_GROUP
    })
}

impl<'a> Checksummed<'a> {
    fn new(state: &'a State, embedded_history: Option<&'a History>) -> Self {
        let State {
            format_version,
            lineage,
            serial,
            job_groups,
            history_retention,
        } = state;
        Self {
            format_version: *format_version,
            lineage,
            serial: *serial,
            job_groups,
            history_retention: *history_retention,
            history: embedded_history,
        }
    }
}

/// The state a file holds, once its checksum (when it has one) is found to match.
fn unseal(path: &Path, file: StateFile) -> Result<StoredState, StateError> {
    let StateFile {
        format_version,
        checksum,
        lineage,
        serial,
        job_groups,
        history_retention,
        history,
    } = file;
    let mut state = State {
        format_version,
        lineage,
        serial,
        job_groups,
        history_retention,
    };
    if let Some(stated) = checksum
        && stated
            != checksum_of(&Checksummed::new(&state, history.as_ref()))
                .map_err(|source| JournalError::Encode { source })?
    {
        return Err(LocalFileError::ChecksumMismatch {
            path: path.to_path_buf(),
        }
        .into());
    }
    if let Some(history) = &history {
        state.history_retention = history.retain_per_group();
    }
    Ok(StoredState {
        state,
        embedded_history: history,
    })
}

/// `sha256:` and the hex SHA-256 of `state` as compact JSON.
fn checksum_of<T: Serialize>(state: &T) -> Result<String, serde_json::Error> {
    struct Hashing(Sha256);
    impl Write for Hashing {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.update(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut hashing = Hashing(Sha256::new());
    serde_json::to_writer(&mut hashing, state)?;
    let mut text = String::from(CHECKSUM_PREFIX);
    for byte in hashing.0.finalize() {
        text.push_str(&format!("{byte:02x}"));
    }
    Ok(text)
}

/// Reads the state at `path`: `None` when the file does not exist.
///
/// Anything else that is not a state of this build's format is an error naming the file
/// and, where there is one, the line and column. The file is only read, never changed.
pub fn read_state_file(path: &Path) -> Result<Option<State>, StateError> {
    read_state_file_within(path, DEFAULT_MAX_STATE_BYTES)
}

/// [`read_state_file`] with a size limit: a larger file is refused before it is read.
pub fn read_state_file_within(path: &Path, max_bytes: u64) -> Result<Option<State>, StateError> {
    Ok(read_stored_state(path, max_bytes)?.map(|stored| stored.state))
}

/// [`read_state_file_within`], with the history a state of the earlier layout embeds.
pub(crate) fn read_stored_state(
    path: &Path,
    max_bytes: u64,
) -> Result<Option<StoredState>, StateError> {
    // Before opening: opening a FIFO would wait for a writer.
    check_file_type(path, "state file")?;
    let file = match fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        // Read whole below, which says what is wrong.
        Err(_) => return read_whole(path, max_bytes).map(Some),
    };
    if let Ok(metadata) = file.metadata() {
        // Again on what was opened, in case the path changed in between.
        if let Some(kind) = special_kind(&metadata.file_type()) {
            return Err(LocalFileError::NotRegularFile {
                what: "state file",
                path: path.to_path_buf(),
                kind,
            }
            .into());
        }
        if metadata.is_file() && metadata.len() > max_bytes {
            return Err(too_large("state file", path, metadata.len(), max_bytes));
        }
    }
    // Parsed as it is read: the state file of a large deployment is tens of megabytes,
    // and only the parsed state is kept. Anything wrong with it is diagnosed by reading
    // it whole, which says precisely what and where.
    let reader = io::BufReader::with_capacity(1 << 16, file.take(max_bytes));
    match serde_json::from_reader::<_, StateFile>(reader) {
        Ok(file) if file.format_version == FORMAT_VERSION => unseal(path, file).map(Some),
        _ => read_whole(path, max_bytes).map(Some),
    }
}

fn too_large(what: &'static str, path: &Path, size: u64, limit: u64) -> StateError {
    LocalFileError::TooLarge {
        what,
        path: path.to_path_buf(),
        size,
        limit,
    }
    .into()
}

/// The bytes of `path`, at most `max_bytes` of them: a file that goes on past the limit (a
/// growing file, a device) is refused as too large.
pub(crate) fn read_limited(
    path: &Path,
    what: &'static str,
    max_bytes: u64,
) -> Result<Vec<u8>, StateError> {
    let read_error = |source| LocalFileError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = fs::File::open(path).map_err(read_error)?;
    let mut bytes = Vec::new();
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_large(what, path, bytes.len() as u64, max_bytes));
    }
    Ok(bytes)
}

fn read_whole(path: &Path, max_bytes: u64) -> Result<StoredState, StateError> {
    let bytes = match read_limited(path, "state file", max_bytes) {
        Ok(bytes) => bytes,
        Err(StateError::LocalFile(LocalFileError::Read { .. })) if path.is_dir() => {
            return Err(LocalFileError::IsDirectory {
                path: path.to_path_buf(),
            }
            .into());
        }
        Err(error) => return Err(error),
    };
    parse_stored_state(path, &bytes)
}

/// Parses state file contents; `path` is only used in errors.
pub fn parse_state(path: &Path, bytes: &[u8]) -> Result<State, StateError> {
    parse_stored_state(path, bytes).map(|stored| stored.state)
}

fn parse_stored_state(path: &Path, bytes: &[u8]) -> Result<StoredState, StateError> {
    if bytes.is_empty() {
        return Err(LocalFileError::Empty {
            path: path.to_path_buf(),
        }
        .into());
    }
    let text = std::str::from_utf8(bytes).map_err(|error| {
        let offset = error.valid_up_to();
        LocalFileError::NotUtf8 {
            path: path.to_path_buf(),
            offset,
            line: 1 + bytes[..offset]
                .iter()
                .filter(|&&byte| byte == b'\n')
                .count(),
        }
    })?;
    // A state of this build's format parses in one pass. Only when it does not is the text
    // read again as a generic document, to say what is wrong as precisely as possible: that
    // second reading costs several times the state's size in memory.
    match serde_json::from_str::<StateFile>(text) {
        Ok(file) => {
            check_version(path, u64::from(file.format_version))?;
            return unseal(path, file);
        }
        Err(error) if error.classify() == serde_json::error::Category::Data => {}
        Err(error) => return Err(json_error(path, &error)),
    }
    diagnose(path, text)
}

/// Explains why `text`, which is JSON but not a state of this build's format, was refused.
fn diagnose(path: &Path, text: &str) -> Result<StoredState, StateError> {
    // The version is checked before the shape: a newer format may well have fields this
    // build does not know, and "upgrade cityform" is the useful thing to say then.
    let document: serde_json::Value =
        serde_json::from_str(text).map_err(|error| json_error(path, &error))?;
    if !document.is_object() {
        // serde would read an array as a struct's fields in order, and complain about an
        // element instead of the real problem.
        let start = text.len() - text.trim_start().len();
        let before = &text[..start];
        return Err(LocalFileError::Invalid {
            path: path.to_path_buf(),
            line: 1 + before.matches('\n').count(),
            column: 1 + before.len() - before.rfind('\n').map_or(0, |newline| newline + 1),
            message: format!("expected a JSON object, found {}", kind_of(&document)),
        }
        .into());
    }
    if let Some(found) = document
        .get("format_version")
        .and_then(|value| value.as_u64())
    {
        check_version(path, found)?;
    }
    // Parsed again from the text (not from `document`) so that errors keep line and column.
    let file = serde_json::from_str(text).map_err(|error| json_error(path, &error))?;
    unseal(path, file)
}

/// Refuses a state written in another format than this build's.
fn check_version(path: &Path, found: u64) -> Result<(), StateError> {
    if found > u64::from(FORMAT_VERSION) {
        return Err(LocalFileError::NewerFormat {
            path: path.to_path_buf(),
            found,
            supported: FORMAT_VERSION,
        }
        .into());
    }
    if found < u64::from(FORMAT_VERSION) {
        return Err(LocalFileError::UnknownFormat {
            path: path.to_path_buf(),
            found,
            supported: FORMAT_VERSION,
        }
        .into());
    }
    Ok(())
}

/// Writes `state` to `path` atomically with its serial bumped, keeping the previous file as
/// `path.backup`; returns the state as written.
pub fn write_state_file(path: &Path, mut state: State) -> Result<State, StateError> {
    state.serial = state.serial.saturating_add(1);
    let backup = with_suffix(path, ".backup");
    let checksum = checksum_of(&state).map_err(|source| JournalError::Encode { source })?;
    // Encoded straight into the file: a large state is never held twice in memory.
    let mut encoding_failed = None;
    let written = replace_file_with(path, Some(&backup), |file| {
        let mut writer = io::BufWriter::with_capacity(WRITE_BUFFER, file);
        if let Err(error) = write_layout(&mut writer, &state, &checksum) {
            if error.is_io() {
                return Err(error.into());
            }
            let message = error.to_string();
            encoding_failed = Some(error);
            return Err(io::Error::other(message));
        }
        writer.flush()
    });
    match (written, encoding_failed) {
        (Ok(()), _) => Ok(state),
        (Err(_), Some(source)) => Err(JournalError::Encode { source }.into()),
        (Err(source), None) => Err(LocalFileError::Write {
            path: path.to_path_buf(),
            source,
        }
        .into()),
    }
}

/// Writes the state file's text: an object with one field per line, the checksum right after
/// the format, and each job group on a line of its own as compact JSON. A group per line
/// keeps the file a third smaller than indenting every field (it is read by programs far
/// more than by people) and still makes a change to one group a change to one line.
fn write_layout(
    writer: &mut impl Write,
    state: &State,
    checksum: &str,
) -> Result<(), serde_json::Error> {
    let State {
        format_version,
        lineage,
        serial,
        job_groups,
        history_retention,
    } = state;
    let io = serde_json::Error::io;
    write!(
        writer,
        "{{\n  \"format_version\": {format_version},\n  \"checksum\": "
    )
    .map_err(io)?;
    serde_json::to_writer(&mut *writer, checksum)?;
    writer.write_all(b",\n  \"lineage\": ").map_err(io)?;
    serde_json::to_writer(&mut *writer, lineage)?;
    write!(writer, ",\n  \"serial\": {serial},\n  \"job_groups\": {{").map_err(io)?;
    for (index, (address, entry)) in job_groups.iter().enumerate() {
        writer
            .write_all(if index == 0 { b"\n    " } else { b",\n    " })
            .map_err(io)?;
        serde_json::to_writer(&mut *writer, address)?;
        writer.write_all(b": ").map_err(io)?;
        serde_json::to_writer(&mut *writer, entry)?;
    }
    if !job_groups.is_empty() {
        writer.write_all(b"\n  ").map_err(io)?;
    }
    writer.write_all(b"}").map_err(io)?;
    if !is_default_retention(history_retention) {
        write!(writer, ",\n  \"history_retention\": {history_retention}").map_err(io)?;
    }
    writer.write_all(b"\n}\n").map_err(io)
}

/// Large enough that writing a big state takes few system calls.
const WRITE_BUFFER: usize = 256 * 1024;

fn kind_of(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

fn json_error(path: &Path, error: &serde_json::Error) -> StateError {
    let path = path.to_path_buf();
    let (line, column) = (error.line(), error.column());
    // serde quotes an unknown field or variant as written, escape sequences included.
    let message = printable(&without_position(error)).into_owned();
    StateError::LocalFile(match error.classify() {
        serde_json::error::Category::Eof => LocalFileError::Truncated {
            path,
            line,
            column,
            message,
        },
        serde_json::error::Category::Syntax | serde_json::error::Category::Io => {
            LocalFileError::Syntax {
                path,
                line,
                column,
                message,
            }
        }
        serde_json::error::Category::Data => LocalFileError::Invalid {
            path,
            line,
            column,
            message,
        },
    })
}

/// serde_json's message without its ` at line L column C` suffix, which the error repeats
/// in its own words.
pub(crate) fn without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    match text.strip_suffix(&suffix) {
        Some(message) => message.to_owned(),
        None => text,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::model::{Address, JobGroupSpec};
    use crate::state::StateEntry;

    fn example_state() -> State {
        let mut state = State::new("0b5c7c1e-8d0e-4f51-9d55-6f3f0e7d2a10");
        state.job_groups.insert(
            Address::new("cn-shanghai", "cityvisual-Instance", "traffic-east"),
            StateEntry::new(
                "jg-1",
                JobGroupSpec::example().with_param("ES_ENABLE", "True"),
                "req-1",
                "2026-11-27T08:00:00Z",
            ),
        );
        state
    }

    #[test]
    fn a_missing_file_is_no_state() {
        let directory = tempfile::tempdir().unwrap();
        assert_eq!(
            read_state_file(&directory.path().join("state.json")).unwrap(),
            None
        );
    }

    #[test]
    fn writing_bumps_the_serial_and_reads_back_equal() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join(".cityform/state.json");
        let state = example_state();

        let first = write_state_file(&path, state.clone()).unwrap();
        let second = write_state_file(&path, first.clone()).unwrap();

        assert_eq!(first.serial, state.serial + 1);
        assert_eq!(second.serial, state.serial + 2);
        assert_eq!(read_state_file(&path).unwrap(), Some(second));
        let backup = read_state_file(&with_suffix(&path, ".backup")).unwrap();
        assert_eq!(backup, Some(first));
    }

    #[test]
    fn the_file_is_pretty_json_ending_in_a_newline() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("state.json");
        write_state_file(&path, example_state()).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("{\n  \"format_version\": 1,\n"), "{text}");
        assert!(text.ends_with("}\n"));
    }

    #[test]
    fn type_errors_carry_line_and_column() {
        let text = b"{\n  \"format_version\": 1,\n  \"lineage\": \"x\",\n  \"serial\": \"three\",\n  \"job_groups\": {}\n}\n";
        let error = parse_state(Path::new("s.json"), text).unwrap_err();
        assert_eq!(
            error.to_string(),
            "state file `s.json` does not match the state format at line 4 column 19: invalid type: string \"three\", expected u64"
        );
    }

    #[test]
    fn a_newer_format_is_named_even_with_unknown_fields() {
        let text = br#"{"format_version": 2, "lineage": "x", "serial": 1, "job_groups": {}, "owners": []}"#;
        let error = parse_state(Path::new("s.json"), text).unwrap_err();
        assert_eq!(
            error.to_string(),
            "state file `s.json` was written by a newer cityform (format 2, this build reads 1); upgrade cityform"
        );
    }

    #[test]
    fn a_state_of_another_format_is_refused_even_when_its_fields_are_known() {
        let state = |version: u32| {
            format!(
                r#"{{"format_version": {version}, "lineage": "x", "serial": 1, "job_groups": {{}}}}"#
            )
        };
        let newer = parse_state(Path::new("s.json"), state(2).as_bytes()).unwrap_err();
        assert!(
            matches!(
                newer,
                StateError::LocalFile(LocalFileError::NewerFormat { found: 2, .. })
            ),
            "{newer}"
        );
        let older = parse_state(Path::new("s.json"), state(0).as_bytes()).unwrap_err();
        assert!(
            matches!(
                older,
                StateError::LocalFile(LocalFileError::UnknownFormat { found: 0, .. })
            ),
            "{older}"
        );
        let current = parse_state(Path::new("s.json"), state(FORMAT_VERSION).as_bytes()).unwrap();
        assert_eq!(current.serial, 1);
    }

    #[test]
    fn a_document_that_is_not_an_object_says_so_where_it_starts() {
        let error = parse_state(Path::new("s.json"), b"\n  [1, 2]\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "state file `s.json` does not match the state format at line 2 column 3: expected a JSON object, found an array"
        );
    }

    /// A serial at the top of `u64` overflowed at the next write (a panic in a debug build,
    /// a serial back at 0 that a stale saved plan could match in a release build).
    #[test]
    fn a_serial_too_large_to_move_on_is_refused_where_it_is() {
        let text = b"{\n  \"format_version\": 1,\n  \"lineage\": \"x\",\n  \"serial\": 18446744073709551615,\n  \"job_groups\": {}\n}\n";
        let error = parse_state(Path::new("s.json"), text).unwrap_err();
        assert_eq!(
            error.to_string(),
            "state file `s.json` does not match the state format at line 4 column 32: the serial must be at most 9007199254740991, not 18446744073709551615"
        );
        let largest =
            String::from_utf8_lossy(text).replace("18446744073709551615", "9007199254740991");
        let state = parse_state(Path::new("s.json"), largest.as_bytes()).unwrap();
        let directory = tempfile::tempdir().unwrap();
        let written = write_state_file(&directory.path().join("s.json"), state.clone()).unwrap();
        assert_eq!(written.serial, 9_007_199_254_740_992);
    }

    /// An unknown field's name reached the terminal with its escape sequence.
    #[test]
    fn an_unknown_field_is_named_with_its_control_characters_escaped() {
        let text =
            br#"{"format_version": 1, "lineage": "x", "serial": 1, "job_groups": {}, "a\u001b[2K": 1}"#;
        let error = parse_state(Path::new("s.json"), text)
            .unwrap_err()
            .to_string();
        assert!(error.contains("unknown field `a\\u{1b}[2K`"), "{error}");
    }

    /// A bit flip in an address key made `apply --prune` delete a group the manifests still
    /// declare: the state carries a checksum of its content, and a state
    /// whose content no longer matches it is refused, naming the file and the way out.
    #[test]
    fn a_state_changed_after_it_was_written_is_refused() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("state.json");
        write_state_file(&path, example_state()).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"checksum\": \"sha256:"), "{text}");
        let damaged = text.replace("traffic-east", "traffic-eass");
        fs::write(&path, &damaged).unwrap();

        let error = read_state_file(&path).unwrap_err();

        assert_eq!(
            error.to_string(),
            format!(
                "state file `{}` does not match its checksum: its content changed after cityform wrote it",
                path.display()
            )
        );
        let hint = error.hint().unwrap();
        assert!(hint.contains("state.json.backup"), "{hint}");
        assert!(hint.contains("remove its `checksum` line"), "{hint}");
        assert_eq!(fs::read_to_string(&path).unwrap(), damaged);
        let parsed = parse_state(&path, damaged.as_bytes()).unwrap_err();
        assert_eq!(parsed.to_string(), error.to_string());

        // Accepting the edit on purpose: the line goes, the state loads, the next write seals it.
        let accepted: String = damaged
            .lines()
            .filter(|line| !line.contains("\"checksum\""))
            .map(|line| format!("{line}\n"))
            .collect();
        fs::write(&path, &accepted).unwrap();
        let state = read_state_file(&path).unwrap().unwrap();
        assert_eq!(state.job_groups.keys().next().unwrap().name, "traffic-eass");
        write_state_file(&path, state.clone()).unwrap();
        assert!(fs::read_to_string(&path).unwrap().contains("\"checksum\""));
        assert_eq!(
            read_state_file(&path).unwrap().unwrap().serial,
            state.serial + 1
        );
    }

    #[test]
    fn a_state_without_a_checksum_still_loads() {
        let state = example_state();
        let old = serde_json::to_vec_pretty(&state).unwrap();
        assert_eq!(parse_state(Path::new("s.json"), &old).unwrap(), state);
    }

    #[test]
    fn non_utf8_names_the_offset_and_line() {
        let error = parse_state(Path::new("s.json"), b"{\n\"a\xff\": 1}").unwrap_err();
        assert_eq!(
            error.to_string(),
            "state file `s.json` is not UTF-8 text: invalid byte at offset 4 (line 2)"
        );
    }
}
