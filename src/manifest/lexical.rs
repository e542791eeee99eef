//! A pass over a manifest text before the YAML parser sees it, in time linear in the
//! text's size: it refuses what would make the parser slow and reports what the parser
//! would silently drop.
//!
//! - **Nesting depth.** The libyaml scanner keeps one "possible simple key" per open flow
//!   collection and walks all of them for every token, so `[[[[...` or `{a: {a: ...` costs
//!   time quadratic in the depth: 16,000 `[` took 1.5 s, 100,000 took 95 s, 50,000 `{a: `
//!   took 60 s (`docs/performance.md`). Counting the depth in the parser's own events
//!   would come too late: `yaml_serde` scans a whole document before handing over its first
//!   event. So the depth is counted here, before parsing, and a text nested deeper than
//!   [`MAX_DEPTH`] is refused at the bracket or key that goes past it.
//! - **Tags.** `yaml_serde` hands a local tag (`!secret`) to cityform, which refuses it
//!   where it is read, but it drops every other tag without a word: `!!binary aGVsbG8=`
//!   became the string `aGVsbG8=`. Such tags are reported here (see [`KNOWN_TAGS`]), and so
//!   are `%TAG` directives, which can give `!!str` another meaning.
//! - **Leading zeros.** `03` and `"03"` reach cityform as the same string; the positions of
//!   unquoted ones are noted here so that an id written as a number with a leading zero can
//!   be warned about.
//!
//! To count brackets that are YAML and not text, this is a small YAML scanner: it knows
//! comments, quoted scalars, plain scalars (a `[` inside `a: b[c` is text), block scalars
//! (`|` and `>`, which end where their indentation does) and block indentation, following
//! libyaml's rules where they decide what is a token. Where it still differs from libyaml,
//! the text is one libyaml refuses anyway, or one the tree builder's own depth limit
//! (`yaml::MAX_DEPTH`, the same number) refuses after parsing.

use super::diagnostic::{Position, Problem};
use super::yaml::MAX_DEPTH;

/// The tags cityform takes: the YAML core schema's own, which only say what YAML would read
/// anyway or force a string (`!!str 03`). Written `!!str` or `!<tag:yaml.org,2002:str>`.
pub(crate) const KNOWN_TAGS: &[&str] = &["str", "int", "float", "bool", "null", "map", "seq"];

/// What the pass found.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// A reason not to parse the text at all.
    pub refusal: Option<Problem>,
    /// Problems that do not stop the parsing (tags, `%TAG` directives).
    pub problems: Vec<Problem>,
    /// Where an unquoted scalar of digits with a leading zero (`03`, `-007`) starts, in
    /// order.
    pub leading_zero_digits: Vec<Position>,
}

/// Reads `text` (without its leading byte-order mark) once.
pub(crate) fn scan(text: &str) -> Scan {
    if let Some(offset) = text.find('\u{feff}') {
        return Scan {
            refusal: Some(byte_order_mark(text, offset)),
            ..Scan::default()
        };
    }
    let mut scanner = Scanner {
        bytes: text.as_bytes(),
        at: 0,
        line: 1,
        column: 0,
        flow: 0,
        indents: Vec::new(),
        plain: None,
        node_start: true,
        key_column: 0,
        scan: Scan::default(),
    };
    if let Err(refusal) = scanner.run() {
        scanner.scan.refusal = Some(refusal);
    }
    scanner.scan
}

/// A byte-order mark after the start of the file: YAML reads it as the first character of
/// what follows, so a document that starts with one has no `apiVersion` or `kind`.
fn byte_order_mark(text: &str, offset: usize) -> Problem {
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let position = Position {
        line: before.matches('\n').count() + 1,
        column: before[line_start..].chars().count() + 1,
    };
    Problem::new(
        position,
        "a byte-order mark (U+FEFF) inside the file; YAML reads it as text, not as a mark",
    )
    .with_hint(
        "it usually comes from joining files that each start with one; delete it, for \
         example with `sed -i 's/\\xef\\xbb\\xbf//g' FILE` (GNU sed), or save the files \
         as UTF-8 without a byte-order mark before joining them",
    )
}

/// A plain (unquoted) scalar being read.
struct Plain {
    /// Its first byte.
    start: usize,
    /// Just after its last byte that is not a space.
    end: usize,
    /// Where it starts.
    position: Position,
}

struct Scanner<'t> {
    bytes: &'t [u8],
    at: usize,
    /// 1-based.
    line: usize,
    /// 0-based, in characters, as libyaml counts them.
    column: usize,
    /// How many flow collections (`[`, `{`) are open.
    flow: usize,
    /// The columns of the open block collections, innermost last (libyaml's indents).
    indents: Vec<usize>,
    plain: Option<Plain>,
    /// Whether the next token starts a node, and so may be a block mapping's key.
    node_start: bool,
    /// Where the node that a `: ` would make a key started.
    key_column: usize,
    scan: Scan,
}

impl Scanner<'_> {
    fn peek(&self, offset: usize) -> Option<u8> {
        self.bytes.get(self.at + offset).copied()
    }

    /// Whether the byte at `offset` is a space, a line break or the end.
    fn blank_at(&self, offset: usize) -> bool {
        matches!(self.peek(offset), None | Some(b' ' | b'\t' | b'\r' | b'\n'))
    }

    fn bump(&mut self) {
        let Some(byte) = self.peek(0) else {
            return;
        };
        self.at += 1;
        if byte == b'\n' {
            self.line += 1;
            self.column = 0;
        } else if byte & 0xc0 != 0x80 {
            self.column += 1;
        }
    }

    fn position(&self) -> Position {
        Position {
            line: self.line,
            column: self.column + 1,
        }
    }

    fn run(&mut self) -> Result<(), Problem> {
        self.line_start()?;
        while let Some(byte) = self.peek(0) {
            match byte {
                b'\n' => {
                    self.bump();
                    self.line_start()?;
                }
                b' ' | b'\t' | b'\r' => self.bump(),
                _ if self.plain.is_some() => self.in_plain(byte)?,
                _ => self.token(byte)?,
            }
        }
        self.finish_plain();
        Ok(())
    }

    /// At the start of a line: its indentation closes block collections, and decides
    /// whether a plain scalar of the lines before goes on.
    fn line_start(&mut self) -> Result<(), Problem> {
        let mut spaces = 0;
        while self.peek(0) == Some(b' ') {
            self.bump();
            spaces += 1;
        }
        let mut ahead = 0;
        while matches!(self.peek(ahead), Some(b' ' | b'\t' | b'\r')) {
            ahead += 1;
        }
        match self.peek(ahead) {
            None | Some(b'\n') => return Ok(()),
            Some(b'#') => {
                self.finish_plain();
                return Ok(());
            }
            _ => {}
        }
        if spaces == 0 && self.document_marker() {
            self.finish_plain();
            self.flow = 0;
            self.indents.clear();
            for _ in 0..3 {
                self.bump();
            }
            self.node_start = true;
            return Ok(());
        }
        if spaces == 0 && self.peek(0) == Some(b'%') && self.plain.is_none() {
            if self.bytes[self.at..].starts_with(b"%TAG") {
                self.scan.problems.push(
                    Problem::new(
                        self.position(),
                        "a `%TAG` directive, which cityform does not read",
                    )
                    .with_hint("remove it, and write the values without tags"),
                );
            }
            self.skip_to_line_end();
            return Ok(());
        }
        if self.flow > 0 {
            return Ok(());
        }
        if self.plain.is_some() {
            // libyaml goes on with a plain scalar on a line indented more than the block
            // collection it is in.
            if self.indents.last().is_none_or(|top| spaces > *top) {
                return Ok(());
            }
            self.finish_plain();
        }
        while self.indents.last().is_some_and(|top| *top > spaces) {
            self.indents.pop();
        }
        self.node_start = true;
        Ok(())
    }

    fn document_marker(&self) -> bool {
        let rest = &self.bytes[self.at..];
        (rest.starts_with(b"---") || rest.starts_with(b"...")) && self.blank_at(3)
    }

    fn skip_to_line_end(&mut self) {
        while self.peek(0).is_some_and(|byte| byte != b'\n') {
            self.bump();
        }
    }

    /// A byte inside a plain scalar: text, or what ends it.
    fn in_plain(&mut self, byte: u8) -> Result<(), Problem> {
        let after_blank = self.at > 0 && matches!(self.bytes[self.at - 1], b' ' | b'\t');
        let ends = match byte {
            b'#' => after_blank,
            b':' => {
                self.blank_at(1)
                    || (self.flow > 0
                        && matches!(self.peek(1), Some(b',' | b'[' | b']' | b'{' | b'}')))
            }
            b',' | b'[' | b']' | b'{' | b'}' => self.flow > 0,
            _ => false,
        };
        if ends {
            self.finish_plain();
            return self.token(byte);
        }
        self.bump();
        if let Some(plain) = &mut self.plain {
            plain.end = self.at;
        }
        Ok(())
    }

    fn finish_plain(&mut self) {
        let Some(plain) = self.plain.take() else {
            return;
        };
        let text = &self.bytes[plain.start..plain.end];
        let digits = text
            .strip_prefix(b"-")
            .or(text.strip_prefix(b"+"))
            .unwrap_or(text);
        if digits.len() > 1 && digits[0] == b'0' && digits.iter().all(u8::is_ascii_digit) {
            self.scan.leading_zero_digits.push(plain.position);
        }
    }

    /// A token starts here (not inside a plain scalar).
    fn token(&mut self, byte: u8) -> Result<(), Problem> {
        let column = self.column;
        if self.flow == 0 && self.node_start {
            self.key_column = column;
        }
        self.node_start = false;
        match byte {
            b'#' => self.skip_to_line_end(),
            b'[' | b'{' => {
                self.flow += 1;
                self.check_depth(self.position())?;
                self.bump();
            }
            b']' | b'}' => {
                self.flow = self.flow.saturating_sub(1);
                self.bump();
            }
            b',' => self.bump(),
            b'"' => self.skip_double_quoted(),
            b'\'' => self.skip_single_quoted(),
            b'|' | b'>' if self.flow == 0 => self.skip_block_scalar(),
            b'&' | b'*' => {
                self.bump();
                while self
                    .peek(0)
                    .is_some_and(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_'))
                {
                    self.bump();
                }
            }
            b'!' => self.tag(),
            b'-' | b'?' if self.blank_at(1) => {
                if self.flow == 0 {
                    self.open_block(column)?;
                }
                self.bump();
                self.node_start = true;
            }
            b':' if self.blank_at(1) || self.flow > 0 => {
                if self.flow == 0 {
                    self.open_block(self.key_column)?;
                }
                self.bump();
                self.node_start = true;
            }
            _ => {
                let position = self.position();
                let start = self.at;
                self.bump();
                self.plain = Some(Plain {
                    start,
                    end: self.at,
                    position,
                });
            }
        }
        Ok(())
    }

    /// A block collection starts at `column` unless one is open there already (libyaml's
    /// `roll_indent`).
    fn open_block(&mut self, column: usize) -> Result<(), Problem> {
        if self.indents.last().is_none_or(|top| column > *top) {
            self.indents.push(column);
            self.check_depth(Position {
                line: self.line,
                column: column + 1,
            })?;
        }
        Ok(())
    }

    /// Refuses the text when the collection opened at `position` is one level too many.
    fn check_depth(&self, position: Position) -> Result<(), Problem> {
        if self.indents.len() + self.flow <= MAX_DEPTH {
            return Ok(());
        }
        Err(Problem::new(
            position,
            format!(
                "mappings and sequences are nested more than {MAX_DEPTH} levels deep here; cityform reads at most {MAX_DEPTH}"
            ),
        )
        .with_hint(
            "a job group needs three levels; this file is not read further, because the \
             YAML parser's time grows with the square of the depth",
        ))
    }

    fn skip_double_quoted(&mut self) {
        self.bump();
        while let Some(byte) = self.peek(0) {
            self.bump();
            match byte {
                b'\\' => self.bump(),
                b'"' => return,
                _ => {}
            }
        }
    }

    fn skip_single_quoted(&mut self) {
        self.bump();
        while let Some(byte) = self.peek(0) {
            self.bump();
            if byte == b'\'' {
                if self.peek(0) == Some(b'\'') {
                    self.bump();
                } else {
                    return;
                }
            }
        }
    }

    /// `|` or `>` with its header, then every line indented at least as much as its
    /// content (libyaml's rule: the first non-empty line sets that indentation, at least one
    /// more than the enclosing block collection's).
    fn skip_block_scalar(&mut self) {
        let parent = self.indents.last().copied();
        self.bump();
        let mut indentation = None;
        while let Some(byte) = self.peek(0) {
            match byte {
                b'1'..=b'9' => {
                    let increment = usize::from(byte - b'0');
                    indentation = Some(parent.map_or(increment, |top| top + increment));
                }
                b'+' | b'-' => {}
                _ => break,
            }
            self.bump();
        }
        self.skip_to_line_end();
        let minimum = parent.map_or(1, |top| top + 1);
        loop {
            if self.peek(0).is_none() {
                return;
            }
            let mut spaces = 0;
            while self.peek(1 + spaces) == Some(b' ') {
                spaces += 1;
            }
            let next = self.peek(1 + spaces);
            let empty = matches!(next, None | Some(b'\n' | b'\r'));
            if !empty {
                let needed = *indentation.get_or_insert(spaces.max(minimum));
                if spaces < needed {
                    // The line belongs to the YAML around the scalar; the main loop reads
                    // it from its line break.
                    return;
                }
            }
            self.bump();
            self.skip_to_line_end();
        }
    }

    /// A tag: `!!name`, `!<verbatim>`, `!local` or `!handle!name`.
    fn tag(&mut self) {
        let position = self.position();
        let start = self.at;
        self.bump();
        if self.peek(0) == Some(b'<') {
            while self
                .peek(0)
                .is_some_and(|byte| byte != b'>' && !matches!(byte, b' ' | b'\t' | b'\r' | b'\n'))
            {
                self.bump();
            }
            if self.peek(0) == Some(b'>') {
                self.bump();
            }
        } else {
            while self.peek(0).is_some_and(|byte| {
                !(matches!(byte, b' ' | b'\t' | b'\r' | b'\n')
                    || (self.flow > 0 && matches!(byte, b',' | b'[' | b']' | b'{' | b'}')))
            }) {
                self.bump();
            }
        }
        let tag = String::from_utf8_lossy(&self.bytes[start..self.at]);
        let known = if let Some(name) = tag.strip_prefix("!!") {
            KNOWN_TAGS.contains(&name)
        } else if let Some(verbatim) = tag
            .strip_prefix("!<")
            .and_then(|rest| rest.strip_suffix('>'))
        {
            // `!<!local>` reaches cityform like `!local`, which is refused where it is read.
            verbatim.starts_with('!')
                || verbatim
                    .strip_prefix("tag:yaml.org,2002:")
                    .is_some_and(|name| KNOWN_TAGS.contains(&name))
        } else {
            // `!local` and `!` reach cityform, which refuses them where they are read;
            // `!handle!name` needs a `%TAG` directive, reported on its own.
            true
        };
        if !known {
            self.scan.problems.push(
                Problem::new(position, format!("unknown tag `{tag}`")).with_hint(format!(
                    "cityform takes no tags but {}; remove it and write the value itself",
                    KNOWN_TAGS
                        .iter()
                        .map(|name| format!("`!!{name}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            );
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn at(line: usize, column: usize) -> Position {
        Position { line, column }
    }

    fn refusal(text: &str) -> Option<Position> {
        scan(text).refusal.map(|problem| problem.position)
    }

    #[test]
    fn flow_nesting_past_the_limit_is_refused_at_the_bracket_that_goes_past_it() {
        let text = format!("a:\n  b: {}\n", "[".repeat(100_000));
        let scan = scan(&text);
        let problem = scan.refusal.unwrap();
        // Two block mappings, then brackets: the 31st bracket is the 33rd level.
        assert_eq!(problem.position, at(2, 6 + 30));
        assert!(
            problem.message.contains("more than 32 levels"),
            "{problem:?}"
        );
        let text = format!("a: {}", "{a: ".repeat(50_000));
        assert_eq!(refusal(&text), Some(at(1, 4 + 4 * 31)));
    }

    #[test]
    fn nesting_up_to_the_limit_is_read() {
        let text = format!("a: {}{}\n", "[".repeat(31), "]".repeat(31));
        assert_eq!(refusal(&text), None);
        let text = format!("a: {}{}\n", "[".repeat(32), "]".repeat(32));
        assert!(refusal(&text).is_some());
        // Closed brackets do not add up.
        let text = format!("a: {}\n", "[[]]".repeat(1000));
        assert_eq!(refusal(&text), None);
    }

    #[test]
    fn block_nesting_counts_too() {
        let text = format!("a:\n  {}x\n", "- ".repeat(100));
        assert_eq!(refusal(&text), Some(at(2, 3 + 2 * 31)));
        let mut nested = String::new();
        for level in 0..40 {
            nested.push_str(&format!("{}k{level}:\n", " ".repeat(level)));
        }
        assert_eq!(refusal(&nested), Some(at(33, 33)));
        // Siblings at one indentation do not nest.
        let siblings: String = (0..100)
            .map(|index| format!("- k{index}: [1]\n  v: 2\n"))
            .collect();
        assert_eq!(refusal(&siblings), None);
    }

    #[test]
    fn brackets_in_text_do_not_count() {
        let deep = "[".repeat(40);
        for text in [
            format!("a: \"{deep}\"\n"),
            format!("a: '{deep}'' {deep}'\n"),
            format!("a: \"\\\"{deep}\"\n"),
            format!("# {deep}\na: 1 # {deep}\n"),
            format!("a: b{deep}\n"),
            format!("a: it's {deep}\n"),
            format!("a: b\n  {deep}\n"),
            format!("a: |\n  {deep}\n  more\nb: 1\n"),
            format!("- a: >-\n    {deep}\n\n    x\n  b: 1\n"),
            format!("a: \"multi\n  {deep}\n  line\"\n"),
            format!("a: [x #{deep}]\n"),
        ] {
            assert_eq!(refusal(&text), None, "{text}");
        }
    }

    /// Text that looks like a scalar's but is YAML: it counts.
    #[test]
    fn brackets_after_text_ends_count() {
        let deep = "[".repeat(40);
        for text in [
            format!("a: |\n  text\nb: {deep}\n"),
            format!("- a: foo\n  b: {deep}\n"),
            format!("a: 'x'\nb: {deep}\n"),
            format!("a: \"x\" # \"\nb: {deep}\n"),
            format!("a: [b, c{deep}\n"),
            format!("---\na: |\n---\n{deep}\n"),
        ] {
            assert!(refusal(&text).is_some(), "{text}");
        }
    }

    #[test]
    fn tags_other_than_the_core_ones_are_reported() {
        let scan = scan(
            "a: !!binary aGVsbG8=\nb: !!str 03\nc: !<tag:yaml.org,2002:timestamp> 2001-12-14\nd: !local x\ne: !<tag:yaml.org,2002:int> 3\nf: \"!!binary\" # !!set\ng: x!!y\nh: [!!set {a}, !!seq []]\n",
        );
        assert!(scan.refusal.is_none());
        let found: Vec<(Position, &str)> = scan
            .problems
            .iter()
            .map(|problem| (problem.position, problem.message.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (at(1, 4), "unknown tag `!!binary`"),
                (at(3, 4), "unknown tag `!<tag:yaml.org,2002:timestamp>`"),
                (at(8, 5), "unknown tag `!!set`"),
            ]
        );
        let scan = scan_text("%TAG !! tag:example.com,2000:\n---\na: !!str x\n");
        assert_eq!(scan.problems[0].position, at(1, 1));
        assert!(scan.problems[0].message.contains("%TAG"));
    }

    fn scan_text(text: &str) -> Scan {
        scan(text)
    }

    #[test]
    fn unquoted_digits_with_a_leading_zero_are_located() {
        let scan =
            scan("a: 03\nb: \"03\"\nc: 3\nd: -007 # c\ne: [0, 012, '09']\nf: 0\ng: 03 x\nh: 0x1\n");
        assert_eq!(scan.leading_zero_digits, [at(1, 4), at(4, 4), at(5, 8)]);
    }
}
