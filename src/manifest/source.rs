//! One manifest file, from bytes to documents: refuses binary and non-UTF-8 content, and
//! an empty file, then reads every YAML document through the one door (`yaml.rs`).

use super::diagnostic::{Position, Problem};
use super::document::{ManifestDocument, read_document};
use super::yaml::{self, Detail, Item};

/// A manifest text and the name to report it under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The file as the user named it, or `-` for standard input.
    pub name: String,
    /// The content, as read.
    pub bytes: Vec<u8>,
}

/// What one file declares, and what is wrong with it on its own.
#[derive(Debug, Clone, Default)]
pub(crate) struct SourceRead {
    /// The documents that could be read, in order.
    pub documents: Vec<ManifestDocument>,
    /// The problems, in the order found.
    pub problems: Vec<Problem>,
}

/// The positions a file without problems needs: where each document starts (a job group's
/// place in `Desired`, duplicates) and where its `spec` is (fields missing after defaults).
/// Everything the set reports about a file is located with these alone.
pub(crate) const OUTLINE: Detail = Detail::Outline(&["spec"]);

/// Reads every document of `source`.
pub(crate) fn read_source(source: &Source, detail: Detail) -> SourceRead {
    let mut read = SourceRead::default();
    let text = match text_of(&source.bytes) {
        Ok(text) => text,
        Err(problem) => {
            read.problems.push(problem);
            return read;
        }
    };
    let mut any_document = false;
    yaml::parse_stream(text, detail, |item| {
        any_document = true;
        match item {
            Item::Document(document, problems) => {
                read.problems.extend(problems);
                if let Some(document) = read_document(document, &mut read.problems) {
                    read.documents.push(document);
                }
            }
            Item::Abandoned(problem, problems) | Item::SyntaxError(problem, problems) => {
                read.problems.extend(problems);
                read.problems.push(problem);
            }
        }
    });
    if !any_document {
        read.problems.push(
            Problem::new(Position::START, "no YAML documents in this file").with_hint(
                "an empty file is refused so that a truncated file cannot make cityform \
                 plan to delete job groups; write a single `---` line in a file that is \
                 empty on purpose",
            ),
        );
    }
    read
}

/// The bytes as text, or why they are not a manifest text.
fn text_of(bytes: &[u8]) -> Result<&str, Problem> {
    if let Some(offset) = bytes.iter().position(|byte| *byte == 0) {
        return Err(Problem::new(
            position_of_byte(bytes, offset),
            format!(
                "this looks like a binary file: it contains a NUL byte at byte offset {offset}"
            ),
        )
        .with_hint("manifests are YAML text; check that the right file is named"));
    }
    std::str::from_utf8(bytes)
        // The parser would read a byte order mark as part of the first key; editors do not
        // count it as a column either.
        .map(|text| text.strip_prefix('\u{feff}').unwrap_or(text))
        .map_err(|error| {
        let offset = error.valid_up_to();
        let problem = Problem::new(
            position_of_byte(bytes, offset),
            format!(
                "not valid UTF-8: byte `0x{:02x}` at byte offset {offset} cannot start or continue a character",
                bytes.get(offset).copied().unwrap_or_default()
            ),
        );
        if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
            problem.with_hint("the file looks like UTF-16; save it as UTF-8")
        } else {
            problem.with_hint(
                "manifests must be UTF-8; convert the file, for example with `iconv -f GBK -t UTF-8`",
            )
        }
    })
}

/// The line and column of byte `offset`; columns count characters, and each byte of an
/// invalid sequence counts as one.
fn position_of_byte(bytes: &[u8], offset: usize) -> Position {
    let before = bytes.get(..offset).unwrap_or(bytes);
    let line_start = before
        .iter()
        .rposition(|byte| *byte == b'\n')
        .map_or(0, |newline| newline + 1);
    Position {
        line: before.iter().filter(|byte| **byte == b'\n').count() + 1,
        column: String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count()
            + 1,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn source(bytes: &[u8]) -> Source {
        Source {
            name: "test.yaml".into(),
            bytes: bytes.to_vec(),
        }
    }

    fn messages(read: &SourceRead) -> Vec<String> {
        read.problems
            .iter()
            .map(|problem| format!("{}: {}", problem.position, problem.message))
            .collect()
    }

    #[test]
    fn positions_of_bytes_count_lines_and_characters() {
        let text = "ab\nçd\nef".as_bytes();
        assert_eq!(position_of_byte(text, 0), Position::START);
        assert_eq!(position_of_byte(text, 3), Position { line: 2, column: 1 });
        // `ç` is two bytes but one column.
        assert_eq!(position_of_byte(text, 5), Position { line: 2, column: 2 });
        assert_eq!(
            position_of_byte(text, text.len()),
            Position { line: 3, column: 3 }
        );
    }

    #[test]
    fn binary_content_is_refused_where_it_starts() {
        let read = read_source(&source(b"a: 1\nb: \x00\x01\x02"), Detail::Everything);
        assert_eq!(
            messages(&read),
            ["2:4: this looks like a binary file: it contains a NUL byte at byte offset 8"]
        );
        let read = read_source(&source(b"\x89PNG\r\n\x1a\n\x00"), Detail::Everything);
        assert_eq!(
            messages(&read),
            ["3:1: this looks like a binary file: it contains a NUL byte at byte offset 8"]
        );
    }

    #[test]
    fn invalid_utf8_is_refused_with_its_offset_line_and_column() {
        let read = read_source(&source(b"a: 1\nname: \xc3\xa7\xff\n"), Detail::Everything);
        assert_eq!(
            messages(&read),
            [
                "2:8: not valid UTF-8: byte `0xff` at byte offset 13 cannot start or continue a character"
            ]
        );
        let read = read_source(&source(b"\xff\xfea\x00"), Detail::Everything);
        assert!(messages(&read)[0].contains("NUL"));
        let read = read_source(&source(b"\xff\xfea"), Detail::Everything);
        assert_eq!(
            read.problems[0].hint.as_deref(),
            Some("the file looks like UTF-16; save it as UTF-8")
        );
    }

    #[test]
    fn an_empty_file_is_a_problem_but_an_explicit_empty_document_is_not() {
        for empty in ["", "\n\n", "# just a comment\n  # another\n"] {
            let read = read_source(&source(empty.as_bytes()), Detail::Everything);
            assert_eq!(messages(&read), ["1:1: no YAML documents in this file"]);
        }
        let read = read_source(&source(b"# nothing yet\n---\n"), Detail::Everything);
        assert!(read.problems.is_empty(), "{:?}", read.problems);
        assert!(read.documents.is_empty());
    }

    #[test]
    fn a_byte_order_mark_is_accepted() {
        let read = read_source(
            &source("\u{feff}apiVersion: cityform/v1\nkind: Defaults\n".as_bytes()),
            Detail::Everything,
        );
        assert!(read.problems.is_empty(), "{:?}", read.problems);
        assert_eq!(read.documents.len(), 1);
    }
}
