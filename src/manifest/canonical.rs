//! The canonical form of a manifest text, for `cityform fmt`: text in, text out.
//!
//! Manifests are block-style YAML of small depth, so the text is rewritten line by line on
//! its own structure rather than through a YAML tree, which would lose the comments. A
//! document is split into entries (a key line, the lines nested below it, and the comment
//! and blank lines directly above it, which move with it); entries are reordered as the
//! format's tables list the fields, re-indented by two spaces, and the ids and counts are
//! written one way. Anything this does not handle (flow collections, anchors, tags, block
//! scalars, tabs, values continued on another line) is refused with its line, never
//! guessed at. Whether the result still means the same is for the caller to check, by
//! reading both texts.

use super::format::{Kind, Part, Rule};

/// Why a text was left as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}: not formatted: {reason}")]
pub struct Refusal {
    /// The 1-based line of what is not handled.
    pub line: usize,
    /// What it is.
    pub reason: String,
}

fn refuse<T>(line: usize, reason: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal {
        line,
        reason: reason.into(),
    })
}

/// The canonical form of `text`, or why it cannot be given.
pub fn canonical(text: &str) -> Result<String, Refusal> {
    if text.starts_with('\u{feff}') {
        return refuse(1, "a byte-order mark");
    }
    let mut documents = Vec::new();
    let mut chunk = Vec::new();
    for (index, line) in text.split('\n').enumerate() {
        let number = index + 1;
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.contains('\r') {
            return refuse(number, "a carriage return inside a line");
        }
        if line.contains('\t') {
            return refuse(number, "a tab");
        }
        if line.trim_end() == "---" {
            documents.push(document(std::mem::take(&mut chunk))?);
            continue;
        }
        if line.starts_with("---") || line.starts_with("...") || line.starts_with('%') {
            return refuse(
                number,
                "a document marker with content, a document end or a directive",
            );
        }
        chunk.push((number, line));
    }
    documents.push(document(chunk)?);
    let rendered: Vec<String> = documents
        .iter()
        .filter(|document| !document.is_empty())
        .map(Document::render)
        .collect();
    Ok(rendered.join("---\n"))
}

/// A comment or blank line above an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Lead {
    Blank,
    /// The comment, from its `#`.
    Comment(String),
}

/// A line with a key or a sequence item.
#[derive(Debug)]
struct Line<'a> {
    number: usize,
    indent: usize,
    body: &'a str,
    above: Vec<Lead>,
}

#[derive(Debug)]
struct Entry {
    above: Vec<Lead>,
    key: String,
    /// The comment at the end of the key line, from its `#`.
    comment: Option<String>,
    value: Value,
}

#[derive(Debug)]
enum Value {
    /// A scalar as written on the key line; empty for none.
    Scalar(String),
    Mapping(Vec<Entry>),
    Sequence(Vec<Item>),
}

#[derive(Debug)]
struct Item {
    above: Vec<Lead>,
    scalar: String,
    comment: Option<String>,
}

#[derive(Debug)]
struct Document {
    /// The lines above the first key, which stay at the top whatever comes first.
    header: Vec<Lead>,
    entries: Vec<Entry>,
    /// The lines below the last key.
    trailer: Vec<Lead>,
}

fn document(chunk: Vec<(usize, &str)>) -> Result<Document, Refusal> {
    let mut lines = Vec::new();
    let mut above = Vec::new();
    for (number, text) in chunk {
        let body = text.trim_start_matches(' ');
        if body.is_empty() {
            above.push(Lead::Blank);
        } else if body.starts_with('#') {
            above.push(Lead::Comment(body.trim_end().to_owned()));
        } else {
            lines.push(Line {
                number,
                indent: text.len() - body.len(),
                body: body.trim_end(),
                above: std::mem::take(&mut above),
            });
        }
    }
    let mut header = Vec::new();
    if let Some(first) = lines.first_mut() {
        header = std::mem::take(&mut first.above);
    }
    let mut position = 0;
    let mut entries = Vec::new();
    if let Some(first) = lines.first() {
        entries = mapping(&lines, &mut position, first.indent)?;
    }
    if let Some(line) = lines.get(position) {
        return refuse(line.number, "a line indented unlike the lines above it");
    }
    let kind = entries
        .iter()
        .find(|entry| entry.key == "kind")
        .and_then(|entry| match &entry.value {
            Value::Scalar(scalar) => kind_of(scalar),
            _ => None,
        });
    normalise(&mut entries, Part::Document, kind.unwrap_or(Kind::JobGroup));
    Ok(Document {
        header: tidy(header),
        entries,
        trailer: tidy(above),
    })
}

fn kind_of(scalar: &str) -> Option<Kind> {
    let text = scalar.trim_matches(|c| c == '"' || c == '\'');
    Kind::ALL.into_iter().find(|kind| kind.as_str() == text)
}

/// The entries of the mapping whose keys are at `indent`, from `position` on.
fn mapping(lines: &[Line], position: &mut usize, indent: usize) -> Result<Vec<Entry>, Refusal> {
    let mut entries = Vec::new();
    while let Some(line) = lines.get(*position) {
        if line.indent != indent {
            break;
        }
        if line.body == "-" || line.body.starts_with("- ") {
            return refuse(line.number, "a sequence item where a key was expected");
        }
        let (key, rest) = split_key(line)?;
        let (scalar, comment) = split_scalar(rest, line.number)?;
        *position += 1;
        let next = lines.get(*position);
        let value = if !scalar.is_empty() {
            if next.is_some_and(|next| next.indent > indent) {
                return refuse(line.number, "a value continued on the next line");
            }
            Value::Scalar(scalar.to_owned())
        } else {
            match next {
                Some(next) if next.indent > indent && is_item(next) => {
                    Value::Sequence(sequence(lines, position, next.indent)?)
                }
                Some(next) if next.indent > indent => {
                    Value::Mapping(mapping(lines, position, next.indent)?)
                }
                Some(next) if next.indent == indent && is_item(next) => {
                    Value::Sequence(sequence(lines, position, indent)?)
                }
                _ => Value::Scalar(String::new()),
            }
        };
        entries.push(Entry {
            above: line.above.clone(),
            key: key.to_owned(),
            comment: comment.map(str::to_owned),
            value,
        });
        if let Some(next) = lines.get(*position)
            && next.indent > indent
        {
            return refuse(next.number, "a line indented unlike the lines above it");
        }
    }
    Ok(entries)
}

fn is_item(line: &Line) -> bool {
    line.body == "-" || line.body.starts_with("- ")
}

/// The items of the sequence whose dashes are at `indent`, from `position` on.
fn sequence(lines: &[Line], position: &mut usize, indent: usize) -> Result<Vec<Item>, Refusal> {
    let mut items = Vec::new();
    while let Some(line) = lines.get(*position) {
        if line.indent != indent || !is_item(line) {
            break;
        }
        let rest = line.body.strip_prefix('-').unwrap_or_default().trim_start();
        let (scalar, comment) = split_scalar(rest, line.number)?;
        if scalar.is_empty() {
            return refuse(line.number, "a sequence item without a value on its line");
        }
        if is_item(&Line {
            number: line.number,
            indent: 0,
            body: scalar,
            above: Vec::new(),
        }) || (!scalar.starts_with(['"', '\''])
            && (scalar.contains(": ") || scalar.ends_with(':')))
        {
            return refuse(line.number, "a collection inside a sequence");
        }
        *position += 1;
        if let Some(next) = lines.get(*position)
            && next.indent > indent
        {
            return refuse(next.number, "a value continued on the next line");
        }
        items.push(Item {
            above: line.above.clone(),
            scalar: scalar.to_owned(),
            comment: comment.map(str::to_owned),
        });
    }
    Ok(items)
}

/// The key of a key line and what follows its `:`.
fn split_key<'a>(line: &Line<'a>) -> Result<(&'a str, &'a str), Refusal> {
    let body = line.body;
    if body.starts_with(['"', '\'', '?', '{', '[', '&', '*', '!', '|', '>', '@', '`']) {
        return refuse(line.number, "a key that is not a plain word");
    }
    let end = body
        .match_indices(':')
        .map(|(index, _)| index)
        .find(|&index| body[index + 1..].is_empty() || body[index + 1..].starts_with(' '));
    let Some(end) = end else {
        return refuse(
            line.number,
            "a line that is neither `key: value` nor `- item`",
        );
    };
    let key = &body[..end];
    if key.contains(" #") || key.ends_with(' ') {
        return refuse(line.number, "a key that is not a plain word");
    }
    Ok((key, body[end + 1..].trim_start()))
}

/// A value written on one line, split into its scalar and its comment (from `#`).
fn split_scalar(rest: &str, number: usize) -> Result<(&str, Option<&str>), Refusal> {
    if rest.is_empty() {
        return Ok(("", None));
    }
    if rest.starts_with('#') {
        return Ok(("", Some(rest)));
    }
    if rest.starts_with(['{', '[']) {
        return refuse(number, "a flow mapping or sequence (`{` or `[`)");
    }
    if rest.starts_with(['&', '*']) {
        return refuse(number, "an anchor or alias (`&` or `*`)");
    }
    if rest.starts_with('!') {
        return refuse(number, "a tag (`!`)");
    }
    if rest.starts_with(['|', '>']) {
        return refuse(number, "a multi-line scalar (`|` or `>`)");
    }
    if rest.starts_with(['@', '`', '%']) {
        return refuse(number, "a value starting with a reserved character");
    }
    let end = match rest.chars().next() {
        Some('"') => closing_double_quote(rest),
        Some('\'') => closing_single_quote(rest),
        _ => {
            let end = rest.find(" #").unwrap_or(rest.len());
            return Ok(split_after(rest, end));
        }
    };
    let Some(end) = end else {
        return refuse(number, "a quoted value continued on the next line");
    };
    let after = rest[end..].trim_start();
    if !after.is_empty() && !after.starts_with('#') {
        return refuse(number, "text after a quoted value");
    }
    Ok(split_after(rest, end))
}

fn split_after(rest: &str, end: usize) -> (&str, Option<&str>) {
    let comment = rest[end..].trim_start();
    (
        rest[..end].trim_end(),
        (!comment.is_empty()).then_some(comment),
    )
}

/// The end (just past the closing quote) of the double-quoted scalar `text` starts with.
fn closing_double_quote(text: &str) -> Option<usize> {
    let mut escaped = false;
    for (index, character) in text.char_indices().skip(1) {
        match character {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(index + 1),
            _ => {}
        }
    }
    None
}

/// The end (just past the closing quote) of the single-quoted scalar `text` starts with;
/// `''` inside is a quote.
fn closing_single_quote(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut index = 1;
    while index < bytes.len() {
        if bytes[index] == b'\'' {
            if bytes.get(index + 1) == Some(&b'\'') {
                index += 2;
                continue;
            }
            return Some(index + 1);
        }
        index += 1;
    }
    None
}

/// Orders `entries` as `part` lists its fields for `kind` (unknown keys after, as written),
/// and writes the values of the fields whose rule asks for one spelling.
fn normalise(entries: &mut [Entry], part: Part, kind: Kind) {
    let names = part.names(kind);
    entries.sort_by_key(|entry| {
        names
            .iter()
            .position(|name| *name == entry.key)
            .unwrap_or(usize::MAX)
    });
    for entry in entries {
        let Some(field) = part.field(kind, &entry.key) else {
            continue;
        };
        match (&field.rule, &mut entry.value) {
            (Rule::Part(inner), Value::Mapping(inner_entries)) => {
                normalise(inner_entries, *inner, kind);
            }
            (Rule::Params, Value::Mapping(params)) => {
                params.sort_by(|a, b| a.key.cmp(&b.key));
            }
            (Rule::Identifier(_) | Rule::JobGroupId, Value::Scalar(scalar)) => {
                *scalar = quoted_id(scalar);
            }
            (Rule::Count(_), Value::Scalar(scalar)) => *scalar = bare_count(scalar),
            _ => {}
        }
    }
}

/// An id as a double-quoted string, when that reads as the same id; otherwise as written.
fn quoted_id(scalar: &str) -> String {
    if scalar.starts_with('"') {
        return scalar.to_owned();
    }
    if let Some(inner) = scalar
        .strip_prefix('\'')
        .and_then(|rest| rest.strip_suffix('\''))
    {
        return double_quoted(&inner.replace("''", "'"));
    }
    let decimal = scalar == "0"
        || (scalar.starts_with(|c: char| matches!(c, '1'..='9'))
            && scalar.chars().all(|c| c.is_ascii_digit()));
    // A plain word that YAML could read as something else (a boolean, null, a number) is
    // left alone: the reader would not have taken it as this id anyway.
    let word = scalar.starts_with(|c: char| c.is_ascii_alphabetic())
        && !matches!(
            scalar.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null"
        );
    if decimal || word {
        double_quoted(scalar)
    } else {
        scalar.to_owned()
    }
}

fn double_quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A count written as a quoted whole number, bare.
fn bare_count(scalar: &str) -> String {
    let inner = scalar
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .or_else(|| {
            scalar
                .strip_prefix('\'')
                .and_then(|rest| rest.strip_suffix('\''))
        });
    match inner {
        Some(inner)
            if inner.starts_with(|c: char| matches!(c, '1'..='9'))
                && inner.chars().all(|c| c.is_ascii_digit()) =>
        {
            inner.to_owned()
        }
        _ => scalar.to_owned(),
    }
}

/// Blank lines at either end dropped, runs of them made one.
fn tidy(leads: Vec<Lead>) -> Vec<Lead> {
    let mut tidied: Vec<Lead> = Vec::new();
    for lead in leads {
        if lead == Lead::Blank && tidied.last().is_none_or(|last| *last == Lead::Blank) {
            continue;
        }
        tidied.push(lead);
    }
    if tidied.last() == Some(&Lead::Blank) {
        tidied.pop();
    }
    tidied
}

impl Document {
    fn is_empty(&self) -> bool {
        self.header.is_empty() && self.entries.is_empty() && self.trailer.is_empty()
    }

    fn render(&self) -> String {
        let mut out = String::new();
        render_leads(&self.header, 0, &mut out);
        render_entries(&self.entries, 0, &mut out);
        render_leads(&self.trailer, 0, &mut out);
        out
    }
}

fn render_leads(leads: &[Lead], depth: usize, out: &mut String) {
    for lead in leads {
        match lead {
            Lead::Blank => out.push('\n'),
            Lead::Comment(comment) => {
                out.push_str(&"  ".repeat(depth));
                out.push_str(comment);
                out.push('\n');
            }
        }
    }
}

fn render_entries(entries: &[Entry], depth: usize, out: &mut String) {
    let indent = "  ".repeat(depth);
    for (index, entry) in entries.iter().enumerate() {
        let above = tidy(entry.above.clone());
        // A blank line does not open a block, whichever entry comes first now.
        let above = if index == 0 {
            above
                .into_iter()
                .skip_while(|lead| *lead == Lead::Blank)
                .collect()
        } else {
            above
        };
        render_leads(&above, depth, out);
        out.push_str(&indent);
        out.push_str(&entry.key);
        out.push(':');
        if let Value::Scalar(scalar) = &entry.value
            && !scalar.is_empty()
        {
            out.push(' ');
            out.push_str(scalar);
        }
        push_comment(entry.comment.as_deref(), out);
        match &entry.value {
            Value::Scalar(_) => {}
            Value::Mapping(entries) => render_entries(entries, depth + 1, out),
            Value::Sequence(items) => {
                let indent = "  ".repeat(depth + 1);
                for item in items {
                    render_leads(&tidy(item.above.clone()), depth + 1, out);
                    out.push_str(&indent);
                    out.push_str("- ");
                    out.push_str(&item.scalar);
                    push_comment(item.comment.as_deref(), out);
                }
            }
        }
    }
}

fn push_comment(comment: Option<&str>, out: &mut String) {
    if let Some(comment) = comment {
        out.push(' ');
        out.push_str(comment);
    }
    out.push('\n');
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Formats `text` and checks that formatting again changes nothing.
    fn format(text: &str) -> String {
        let formatted = canonical(text).unwrap();
        assert_eq!(canonical(&formatted).unwrap(), formatted, "not idempotent");
        formatted
    }

    fn before_after(text: &str) -> String {
        format!("{text}=== canonical ===\n{}", format(text))
    }

    #[test]
    fn comments_above_and_beside_keys_move_with_them() {
        insta::assert_snapshot!(before_after(
            "# header: stays on top\nkind: JobGroup   # the kind\napiVersion: cityform/v1\nspec:\n    # how many streams\n    streamPerJob: 5 # per job\n    # the region\n    regionId: cn-shanghai\nmetadata:\n    name: a # a name\n"
        ));
    }

    #[test]
    fn keys_are_ordered_as_the_format_lists_them() {
        insta::assert_snapshot!(before_after(
            "spec:\n  status: Running\n  jobCount: 1\n  streamPerJob: 2\n  planedJobCount: 3\n  resourceProfileId: \"6\"\n  algoLibId: \"3\"\n  instanceId: i\n  regionId: r\nlifecycle:\n  ignoreChanges:\n  - jobCount\n  preventDestroy: true\nmetadata:\n  name: a\nkind: JobGroup\napiVersion: cityform/v1\n"
        ));
    }

    #[test]
    fn params_are_sorted_with_their_comments() {
        insta::assert_snapshot!(before_after(
            "apiVersion: cityform/v1\nkind: Defaults\nspec:\n  params:\n    # live edge\n    SCHEDULE_FLOW_START_TIME: Latest\n    RDS_ENABLE: true\n    # to Elasticsearch\n    ES_ENABLE: true\n"
        ));
    }

    #[test]
    fn counts_are_bare_and_ids_double_quoted() {
        insta::assert_snapshot!(before_after(
            "apiVersion: cityform/v1\nkind: JobGroup\nmetadata:\n  name: '3'\nspec:\n  algoLibId: 3\n  resourceProfileId: 'gpu''s'\n  planedJobCount: \"10\"\n  streamPerJob: '5' # quoted\n  jobCount: 7\n---\napiVersion: cityform/v1\nkind: Import\nspec:\n  id: jg-17\n  address: r/i/a\n"
        ));
    }

    #[test]
    fn documents_keep_their_separators_and_comment_only_parts() {
        insta::assert_snapshot!(before_after(
            "# before the first document\n---\n\n\napiVersion: cityform/v1\n\n\n\nkind: Defaults\n---\n---\nkind: Removed\napiVersion: cityform/v1\nspec:\n  address: r/i/a\n# at the end\n"
        ));
    }

    #[test]
    fn what_is_not_handled_is_refused_with_its_line() {
        let cases = [
            ("spec: {regionId: r}\n", 1, "flow mapping"),
            ("spec:\n  params: [a]\n", 2, "flow mapping or sequence"),
            ("a: &x 1\nb: *x\n", 1, "anchor"),
            ("a: !!str 1\n", 1, "tag"),
            ("a: |\n  text\n", 1, "multi-line scalar"),
            ("a:\n\tb: 1\n", 2, "tab"),
            ("a: one\n  two\n", 1, "continued"),
            ("a: \"one\n  two\"\n", 1, "quoted value continued"),
            ("a:\n  - b: 1\n", 2, "collection inside a sequence"),
            ("a:\n    b: 1\n  c: 2\n", 3, "indented unlike"),
            ("\"a\": 1\n", 1, "plain word"),
            ("just text\n", 1, "neither"),
            ("--- a: 1\n", 1, "document marker"),
            ("a: 1\n...\n", 2, "document end"),
        ];
        for (text, line, reason) in cases {
            let refusal = canonical(text).unwrap_err();
            assert_eq!(refusal.line, line, "{text:?}: {refusal}");
            assert!(refusal.reason.contains(reason), "{text:?}: {refusal}");
        }
    }

    #[test]
    fn a_canonical_text_is_unchanged() {
        let text = "# header\napiVersion: cityform/v1\nkind: JobGroup\nmetadata:\n  name: a\nspec:\n  algoLibId: \"3\"\n  planedJobCount: 2\n  params:\n    ES_ENABLE: true\nlifecycle:\n  ignoreChanges:\n    - jobCount # drifts\n";
        assert_eq!(format(text), text);
    }

    #[test]
    fn ids_that_yaml_reads_otherwise_are_left_as_written() {
        for id in ["0x10", "007", "true", "~", "-1", "1.5"] {
            let text =
                format!("apiVersion: cityform/v1\nkind: JobGroup\nspec:\n  algoLibId: {id}\n");
            assert_eq!(format(&text), text, "{id}");
        }
    }

    #[test]
    fn crlf_becomes_lf() {
        assert_eq!(format("a: 1\r\nb: 2\r\n"), "a: 1\nb: 2\n");
    }
}
