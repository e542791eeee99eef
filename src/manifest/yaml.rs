//! The one door for YAML: every manifest text is parsed here, and nowhere else, into
//! documents of [`Node`]s that remember where each key and scalar was written.
//!
//! The parser is `serde_yaml` (the `yaml_serde` crate). It has no public API for positions
//! of values that parse successfully; it only attaches a position to errors. This module
//! turns that into positions for every key and scalar: when the tree builder has read a
//! scalar, it stores the value aside and answers with a marker error; the parser fills in
//! the position of that scalar and hands the error back to the enclosing mapping, which
//! takes the position out of it and carries on. That is only sound where the scalar's event
//! has been consumed completely, so the builder never fails inside a mapping or a sequence:
//! it drains every collection to its end, and the only errors it lets travel further are the
//! ones that abandon the whole document (a syntax error, an alias bomb, a size budget). The
//! unit tests below pin the behaviour this relies on, so a parser upgrade that changes it
//! fails loudly rather than silently misplacing diagnostics.
//!
//! Reading a position out of an error costs about as much as parsing the value, so a text
//! can be read in outline ([`Detail::Outline`]: where documents and a few named top-level
//! keys are) and read again in full detail only when something in it must be reported.
//!
//! The same pass closes two gaps of the libyaml family: a key given twice in one mapping is
//! reported (at the second occurrence, naming the first's line) instead of the last silently
//! winning, and nesting depth and the number of values per document (after alias expansion)
//! are bounded.

use std::collections::HashMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::diagnostic::{Position, Problem};
use super::lexical;

/// An integer exactly as large as YAML wrote it (anything that fits in 128 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Integer {
    /// Below zero.
    pub negative: bool,
    /// The absolute value.
    pub magnitude: u128,
}

impl fmt::Display for Integer {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negative {
            write!(formatter, "-{}", self.magnitude)
        } else {
            write!(formatter, "{}", self.magnitude)
        }
    }
}

/// One parsed YAML value, with the positions the manifest layer needs for its messages.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    /// `null`, `~` or nothing at all.
    Null,
    /// `true` or `false` (any case YAML accepts).
    Bool(bool),
    /// A whole number.
    Integer(Integer),
    /// A number with a fraction or an exponent, or `.inf` / `.nan`.
    Float(f64),
    /// Any other scalar, quoted or not.
    String(String),
    /// A sequence.
    Sequence(Sequence),
    /// A mapping, keys in the order written (a repeated key keeps its first value).
    Mapping(Mapping),
    /// A value with an application tag (`!something`); only the tag is kept.
    Tagged(String),
    /// Digits with a leading zero, written without quotes (`03`, `-007`). YAML 1.2 reads a
    /// number there, YAML 1.1 an octal one; the parser, and so cityform, keeps the text.
    LeadingZeroDigits(String),
    /// A value nested deeper than [`MAX_DEPTH`] (or a sequence holding one); it was skipped
    /// without being read, and is for the reader of the tree to refuse.
    TooDeep,
}

/// A YAML sequence.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sequence {
    /// The elements.
    pub items: Vec<Node>,
    /// Where each element was written (a collection: its first scalar), when known;
    /// one per element.
    pub item_positions: Vec<Option<Position>>,
    /// Where its first scalar was written, if it has one.
    pub position: Option<Position>,
}

impl Sequence {
    /// The elements with where each was written, when known.
    pub fn located_items(self) -> impl Iterator<Item = (Node, Option<Position>)> {
        self.items.into_iter().zip(self.item_positions)
    }
}

/// A YAML mapping.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Mapping {
    /// The entries in the order written.
    pub entries: Vec<Entry>,
    /// Where its first key was written, if it has one.
    pub position: Option<Position>,
}

impl Mapping {
    /// The entry for `key`, if the mapping has one.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|entry| entry.key == key)
    }
}

/// One `key: value` pair of a mapping.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    /// The key as text (`1`, `true` and `null` keys become those words).
    pub key: String,
    /// Where the key was written.
    pub key_position: Position,
    /// The value.
    pub value: Node,
    /// Where the value was written when it is a scalar; a collection carries its own.
    pub value_position: Option<Position>,
}

impl Entry {
    /// Where to point at the value: the value itself when known, otherwise its key.
    pub fn position(&self) -> Position {
        match &self.value {
            Node::Mapping(Mapping {
                position: Some(position),
                ..
            })
            | Node::Sequence(Sequence {
                position: Some(position),
                ..
            }) => *position,
            _ => self.value_position.unwrap_or(self.key_position),
        }
    }
}

/// One document of a stream.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Document {
    /// Its root value.
    pub root: Node,
    /// Where the root value starts.
    pub position: Position,
}

/// How deep mappings and sequences may nest in one document; a job group needs three levels.
pub(crate) const MAX_DEPTH: usize = 32;

/// How many values one document may hold after alias expansion; a job group needs about 25.
pub(crate) const MAX_NODES: usize = 10_000;

/// Which positions [`parse_stream`] finds out.
///
/// Learning a position costs about as much as parsing the value, so a text is read first
/// in outline, and read again with [`Detail::Everything`] only when something in it has to
/// be reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Detail {
    /// Where each document starts, and where the top-level keys named here are written;
    /// every other position is [`Position::UNKNOWN`].
    Outline(&'static [&'static str]),
    /// Where every key and scalar was written.
    Everything,
}

/// What one step of the stream produced.
#[derive(Debug)]
pub(crate) enum Item {
    /// A document, with the problems found while building it (repeated keys, keys that
    /// are collections).
    Document(Document, Vec<Problem>),
    /// A document that had to be given up, with the reason; the next one may still be read.
    Abandoned(Problem, Vec<Problem>),
    /// A syntax error: nothing after it in this text can be read.
    SyntaxError(Problem, Vec<Problem>),
}

/// Reads `text` as a stream of YAML documents, handing each to `each` as soon as it is
/// parsed so that a large stream never has to be held as a whole.
///
/// A stream with no document at all (empty, or only comments) yields nothing. An explicit
/// empty document (`---` with nothing after it) yields a document whose root is
/// [`Node::Null`]. After a [`Item::SyntaxError`] nothing more is yielded.
///
/// The text is first read by `lexical::scan`, in linear time: a text nested too deep, or
/// with a byte-order mark inside, is refused there with one [`Item::SyntaxError`], before
/// the parser (whose time grows with the square of the nesting depth) sees it; the tags it
/// reports come with the first item.
pub(crate) fn parse_stream(text: &str, detail: Detail, mut each: impl FnMut(Item)) {
    if !has_content(text) {
        return;
    }
    let scan = lexical::scan(text);
    let mut earlier = scan.problems;
    if let Some(refusal) = scan.refusal {
        each(Item::SyntaxError(refusal, earlier));
        return;
    }
    let mut each = |item: Item| each(item.after(std::mem::take(&mut earlier)));
    let mut builder = Builder {
        leading_zero_digits: scan.leading_zero_digits,
        detail,
        signal: Signal::None,
        problems: Vec::new(),
        depth: 0,
        nodes: 0,
        reading_key: false,
        last_position: Position::START,
        first_position: None,
        buffer: String::new(),
    };
    let mut end_check = EndCheck {
        documents: serde_yaml::Deserializer::from_str(text),
        next: 0,
    };
    for (index, document) in serde_yaml::Deserializer::from_str(text).enumerate() {
        builder.start_document();
        let result = RootSeed {
            builder: &mut builder,
        }
        .deserialize(document);
        let problems = std::mem::take(&mut builder.problems);
        let error = match result {
            // The root seed always ends with an error, so that the parser reports where the
            // root value starts; see `RootSeed`.
            Ok(never) => match never {},
            Err(error) => error,
        };
        match std::mem::take(&mut builder.signal) {
            Signal::Value(root) => {
                let position = location_of(&error).unwrap_or(Position::START);
                each(Item::Document(Document { root, position }, problems));
            }
            Signal::Abandoned(problem) => {
                each(Item::Abandoned(problem, problems));
                if let Err(error) = end_check.read_to_its_end(index) {
                    each(Item::SyntaxError(syntax_problem(&error, text), Vec::new()));
                    return;
                }
            }
            Signal::None => match error.location() {
                // Only the parser's own limits fail without a position (the alias repetition
                // limit); the document is lost but the stream goes on.
                None => {
                    let problem = parser_limit_problem(&error, builder.document_position());
                    each(Item::Abandoned(problem, problems));
                    if let Err(error) = end_check.read_to_its_end(index) {
                        each(Item::SyntaxError(syntax_problem(&error, text), Vec::new()));
                        return;
                    }
                }
                Some(_) => {
                    each(Item::SyntaxError(syntax_problem(&error, text), problems));
                    return;
                }
            },
        }
    }
}

impl Item {
    /// This item with `problems` before its own.
    fn after(self, mut problems: Vec<Problem>) -> Item {
        if problems.is_empty() {
            return self;
        }
        match self {
            Item::Document(document, own) => {
                problems.extend(own);
                Item::Document(document, problems)
            }
            Item::Abandoned(problem, own) => {
                problems.extend(own);
                Item::Abandoned(problem, problems)
            }
            Item::SyntaxError(problem, own) => {
                problems.extend(own);
                Item::SyntaxError(problem, problems)
            }
        }
    }
}

/// Whether a document that was given up can be read past.
///
/// A document is given up (too many values, too many alias expansions) while it is being
/// read, possibly before the parser reaches a syntax error further on in it, such as an
/// unknown anchor. The parser then stopped inside the document, and what `yaml_serde` hands
/// over as the next document is the rest of this one, which makes it panic ("unexpected end
/// of sequence"). So a given-up document is read again to its end, without following
/// aliases, by a second reader of the same text, which moves on only when a document is
/// given up: at most one more reading of the text, and only then.
struct EndCheck<'t> {
    documents: serde_yaml::Deserializer<'t>,
    /// The index of the document `documents` yields next.
    next: usize,
}

impl EndCheck<'_> {
    /// The syntax error that ends document `index`, if it has one.
    fn read_to_its_end(&mut self, index: usize) -> Result<(), serde_yaml::Error> {
        while self.next < index {
            // Loaded, not deserialized: the documents before were read whole already.
            self.documents.next();
            self.next += 1;
        }
        self.next += 1;
        match self.documents.next() {
            Some(document) => <IgnoredAny as de::Deserialize>::deserialize(document).map(|_| ()),
            None => Ok(()),
        }
    }
}

fn location_of(error: &serde_yaml::Error) -> Option<Position> {
    error.location().map(|location| Position {
        line: location.line(),
        column: location.column(),
    })
}

/// Whether `text` holds anything but whitespace and comments. libyaml reads such a text
/// as one empty document, which would be indistinguishable from an explicit `---`.
fn has_content(text: &str) -> bool {
    text.lines().any(|line| {
        let line = line.trim_start_matches(['\u{feff}', ' ', '\t', '\r']);
        !line.is_empty() && !line.starts_with('#')
    })
}

/// The parser gave up on a document without saying where; `near` is the last position read.
fn parser_limit_problem(error: &serde_yaml::Error, near: Position) -> Problem {
    let message = error.to_string();
    if message.contains("repetition limit") {
        Problem::new(near, "document expands aliases too many times").with_hint(
            "this looks like an alias bomb; write the values out instead of nesting aliases",
        )
    } else {
        Problem::new(near, format!("cannot read this document: {message}"))
    }
}

fn syntax_problem(error: &serde_yaml::Error, text: &str) -> Problem {
    let position = location_of(error).unwrap_or(Position::START);
    let mut message = error.to_string();
    // The position is already the diagnostic's prefix; say it once.
    let at = format!(" at line {} column {}", position.line, position.column);
    if let Some(start) = message.find(&at) {
        message.replace_range(start..start + at.len(), "");
    }
    let mut problem = Problem::new(position, format!("invalid YAML: {message}"));
    if message.starts_with("unknown anchor") {
        problem = problem.with_hint(
            "an alias `*name` must refer to an anchor `&name` defined earlier in the same document",
        );
    }
    let indented_with_tab = text
        .lines()
        .nth(position.line.saturating_sub(1))
        .is_some_and(|line| line.trim_start_matches(' ').starts_with('\t'));
    if indented_with_tab {
        problem.with_hint("YAML does not allow tabs for indentation; indent with spaces")
    } else {
        problem
    }
}

/// What a visitor left for its caller beside the marker error.
#[derive(Default)]
enum Signal {
    #[default]
    None,
    /// A value that was read completely; the error carrying it holds its position.
    Value(Node),
    /// The document has to be given up for this reason.
    Abandoned(Problem),
}

/// The message of the marker error. The control character cannot be written in plain YAML,
/// and the position is looked up after its last occurrence, so a key containing it cannot
/// confuse the lookup.
const MARKER: &str = "\u{1}cityform-position";

/// The state shared by every visitor of one document.
struct Builder {
    detail: Detail,
    /// Where unquoted digits with a leading zero start (`lexical::Scan`), in order.
    leading_zero_digits: Vec<Position>,
    signal: Signal,
    problems: Vec<Problem>,
    depth: usize,
    nodes: usize,
    /// Whether the scalar being read is a mapping key.
    reading_key: bool,
    /// The last position learned, for problems about values that have none of their own.
    last_position: Position,
    /// The first position learned in the document: where it starts, for problems about a
    /// document that had to be given up before its root was handed over.
    first_position: Option<Position>,
    /// Reused to read positions out of errors.
    buffer: String,
}

impl Builder {
    fn start_document(&mut self) {
        self.signal = Signal::None;
        self.depth = 0;
        self.nodes = 0;
        self.last_position = Position::START;
        self.first_position = None;
    }

    /// Where the document being read starts, as far as known.
    fn document_position(&self) -> Position {
        self.first_position.unwrap_or(self.last_position)
    }

    /// Counts one more value; past the budget, the document is given up.
    fn count<E: de::Error>(&mut self) -> Result<(), E> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            self.signal = Signal::Abandoned(
                Problem::new(
                    self.document_position(),
                    format!(
                        "document holds more than {MAX_NODES} values (after expanding aliases)"
                    ),
                )
                .with_hint(
                    "a job group needs a few dozen; if aliases multiply values, write them out",
                ),
            );
            return Err(E::custom("document too large"));
        }
        Ok(())
    }

    /// Hands a finished scalar back through the parser so that it attaches the position.
    fn finish_scalar<E: de::Error>(&mut self, node: Node) -> Result<Node, E> {
        self.count::<E>()?;
        let locate = match self.detail {
            Detail::Everything => true,
            // A scalar document is located in any case: its position is the document's.
            Detail::Outline(_) if self.depth == 0 => true,
            Detail::Outline(keys) => {
                self.reading_key
                    && self.depth == 1
                    && matches!(&node, Node::String(key) if keys.contains(&key.as_str()))
            }
        };
        // Whether `03` was quoted is told by where it was written.
        let locate = locate
            || (!self.leading_zero_digits.is_empty()
                && matches!(&node, Node::String(text) if leading_zero_digits(text)));
        if !locate {
            return Ok(node);
        }
        self.signal = Signal::Value(node);
        Err(E::custom(MARKER))
    }

    /// Takes back a value handed over by [`Builder::finish_scalar`], with its position;
    /// any other error is passed on.
    fn take_scalar<E: de::Error>(&mut self, error: E) -> Result<(Node, Position), E> {
        let node = match std::mem::take(&mut self.signal) {
            Signal::Value(node) => node,
            // Not a marker: a problem that abandons the document, which must travel on.
            other => {
                self.signal = other;
                return Err(error);
            }
        };
        let position = self.position_of(&error).ok_or_else(|| {
            self.signal = Signal::Abandoned(
                Problem::new(
                    self.document_position(),
                    "cannot tell where a value was written in this document",
                )
                .with_hint("this is a bug in cityform; please report it"),
            );
            E::custom("position unreadable")
        })?;
        self.last_position = position;
        self.first_position.get_or_insert(position);
        let node = match node {
            Node::String(text)
                if leading_zero_digits(&text)
                    && self.leading_zero_digits.binary_search(&position).is_ok() =>
            {
                Node::LeadingZeroDigits(text)
            }
            other => other,
        };
        Ok((node, position))
    }

    /// Reads the position the parser appended to a marker error: `... MARKER at line L
    /// column C`, or no suffix at all for the very first character of the text.
    fn position_of<E: de::Error>(&mut self, error: &E) -> Option<Position> {
        use std::fmt::Write as _;
        self.buffer.clear();
        write!(self.buffer, "{error}").ok()?;
        let after = &self.buffer[self.buffer.rfind(MARKER)? + MARKER.len()..];
        if after.is_empty() {
            return Some(Position::START);
        }
        let (line, column) = after.strip_prefix(" at line ")?.split_once(" column ")?;
        Some(Position {
            line: line.parse().ok()?,
            column: column.parse().ok()?,
        })
    }
}

/// Reads a document's root; always ends with the marker error so that the parser reports
/// the root's position. That is safe only here, because nothing more is read from a
/// document after its root.
struct RootSeed<'b> {
    builder: &'b mut Builder,
}

enum Never {}

impl<'de> DeserializeSeed<'de> for RootSeed<'_> {
    type Value = Never;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Never, D::Error> {
        // Every kind of value at the root is handed over through the marker error (see
        // `NodeVisitor::finish_collection`), so a success here means the builder is broken.
        NodeSeed {
            builder: self.builder,
        }
        .deserialize(deserializer)?;
        Err(de::Error::custom("the root value was not handed over"))
    }
}

/// Reads one value of any kind.
struct NodeSeed<'b> {
    builder: &'b mut Builder,
}

impl<'de> DeserializeSeed<'de> for NodeSeed<'_> {
    type Value = Node;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        if self.builder.depth >= MAX_DEPTH {
            // Skipping is iterative in the parser, so arbitrarily deep input is cheap here.
            deserializer.deserialize_ignored_any(IgnoredAny)?;
            return Ok(Node::TooDeep);
        }
        deserializer.deserialize_any(NodeVisitor {
            builder: self.builder,
        })
    }
}

struct NodeVisitor<'b> {
    builder: &'b mut Builder,
}

impl NodeVisitor<'_> {
    /// A collection at the root is handed over like a scalar, for its position; anywhere
    /// else it is returned normally, because failing here would leave its end unread.
    fn finish_collection<E: de::Error>(self, node: Node) -> Result<Node, E> {
        self.builder.depth -= 1;
        if self.builder.depth == 0 {
            self.builder.signal = Signal::Value(node);
            return Err(E::custom(MARKER));
        }
        Ok(node)
    }
}

impl<'de> Visitor<'de> for NodeVisitor<'_> {
    type Value = Node;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any YAML value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        self.builder.finish_scalar(Node::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        self.builder.finish_scalar(Node::Null)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Node, E> {
        self.builder.finish_scalar(Node::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Node, E> {
        self.visit_i128(i128::from(value))
    }

    fn visit_i128<E: de::Error>(self, value: i128) -> Result<Node, E> {
        self.builder.finish_scalar(Node::Integer(Integer {
            negative: value < 0,
            magnitude: value.unsigned_abs(),
        }))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Node, E> {
        self.visit_u128(u128::from(value))
    }

    fn visit_u128<E: de::Error>(self, value: u128) -> Result<Node, E> {
        self.builder.finish_scalar(Node::Integer(Integer {
            negative: false,
            magnitude: value,
        }))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Node, E> {
        self.builder.finish_scalar(Node::Float(value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Node, E> {
        self.builder.finish_scalar(Node::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Node, E> {
        self.builder.finish_scalar(Node::String(value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Node, A::Error> {
        self.builder.count::<A::Error>()?;
        self.builder.depth += 1;
        let mut sequence = Sequence {
            items: Vec::new(),
            item_positions: Vec::new(),
            position: None,
        };
        loop {
            let seed = NodeSeed {
                builder: &mut *self.builder,
            };
            let (item, position) = match access.next_element_seed(seed) {
                Ok(None) => break,
                Ok(Some(item)) => {
                    let position = collection_position(&item);
                    (item, position)
                }
                Err(error) => {
                    let (item, position) = self.builder.take_scalar(error)?;
                    (item, Some(position))
                }
            };
            if sequence.position.is_none() {
                sequence.position = position;
            }
            sequence.items.push(item);
            sequence.item_positions.push(position);
        }
        // A sequence has no key to point at; the nearest enclosing key reports the depth.
        if sequence
            .items
            .iter()
            .any(|item| matches!(item, Node::TooDeep))
        {
            return self.finish_collection(Node::TooDeep);
        }
        self.finish_collection(Node::Sequence(sequence))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Node, A::Error> {
        self.builder.count::<A::Error>()?;
        self.builder.depth += 1;
        let mut mapping = Mapping {
            entries: Vec::new(),
            position: None,
        };
        // Mappings are small; an index is only worth building for large ones.
        let mut index: Option<HashMap<String, Position>> = None;
        loop {
            let mut complex_key_position = None;
            let key_seed = KeySeed {
                builder: &mut *self.builder,
            };
            let key = match access.next_key_seed(key_seed) {
                Ok(None) => break,
                Ok(Some(collection @ (Node::Mapping(_) | Node::Sequence(_) | Node::TooDeep))) => {
                    complex_key_position = collection_position(&collection);
                    None
                }
                Ok(Some(node)) => Some((scalar_key_text(node), Position::UNKNOWN)),
                Err(error) => {
                    let (node, position) = self.builder.take_scalar(error)?;
                    Some((scalar_key_text(node), position))
                }
            };
            let value_seed = NodeSeed {
                builder: &mut *self.builder,
            };
            let (value, value_position) = match access.next_value_seed(value_seed) {
                Ok(value) => (value, None),
                Err(error) => {
                    let (value, position) = self.builder.take_scalar(error)?;
                    (value, Some(position))
                }
            };
            let Some((key, key_position)) = key else {
                self.builder.problems.push(
                    Problem::new(
                        complex_key_position.unwrap_or(self.builder.last_position),
                        "a mapping key is itself a mapping or a sequence",
                    )
                    .with_hint("keys in manifests are plain words such as `spec`"),
                );
                continue;
            };
            if mapping.position.is_none() {
                mapping.position = Some(key_position);
            }
            let first = match &mut index {
                Some(index) => index.get(&key).copied(),
                None => mapping
                    .entries
                    .iter()
                    .find(|entry| entry.key == key)
                    .map(|entry| entry.key_position),
            };
            if let Some(first) = first {
                self.builder.problems.push(
                    Problem::new(
                        key_position,
                        format!(
                            "key `{key}` is given twice in this mapping (first on line {})",
                            first.line
                        ),
                    )
                    .with_hint("remove one of them; cityform does not pick one for you"),
                );
                continue;
            }
            if let Some(index) = &mut index {
                index.insert(key.clone(), key_position);
            } else if mapping.entries.len() >= 16 {
                index = Some(
                    mapping
                        .entries
                        .iter()
                        .map(|entry| (entry.key.clone(), entry.key_position))
                        .chain(std::iter::once((key.clone(), key_position)))
                        .collect(),
                );
            }
            mapping.entries.push(Entry {
                key,
                key_position,
                value,
                value_position,
            });
        }
        self.finish_collection(Node::Mapping(mapping))
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, access: A) -> Result<Node, A::Error> {
        use de::VariantAccess as _;
        let (tag, variant): (String, _) = access.variant()?;
        // The tagged value is consumed whole here, so it can be handed over like a scalar.
        variant.newtype_variant::<IgnoredAny>()?;
        self.builder.finish_scalar(Node::Tagged(tag))
    }
}

/// Digits with a leading zero, maybe signed: what the parser keeps as text although YAML 1.2
/// reads a number.
fn leading_zero_digits(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    digits.len() > 1 && digits.starts_with('0') && digits.bytes().all(|byte| byte.is_ascii_digit())
}

fn collection_position(node: &Node) -> Option<Position> {
    match node {
        Node::Mapping(mapping) => mapping.position,
        Node::Sequence(sequence) => sequence.position,
        _ => None,
    }
}

/// A scalar key in the words a reader would use.
fn scalar_key_text(node: Node) -> String {
    match node {
        Node::Null => "null".to_owned(),
        Node::Bool(value) => value.to_string(),
        Node::Integer(value) => value.to_string(),
        Node::Float(value) => format!("{value:?}"),
        Node::String(value) | Node::LeadingZeroDigits(value) => value,
        Node::Tagged(tag) => format!("!{tag}"),
        Node::Sequence(_) | Node::Mapping(_) | Node::TooDeep => String::new(),
    }
}

/// Reads a key: a scalar is handed over like any scalar (with its position when everything
/// is located); a key that is a collection is read whole and returned, to be dropped.
struct KeySeed<'b> {
    builder: &'b mut Builder,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Node;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        self.builder.reading_key = true;
        let result = NodeSeed {
            builder: &mut *self.builder,
        }
        .deserialize(deserializer);
        self.builder.reading_key = false;
        result
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn documents(text: &str) -> Vec<Item> {
        let mut items = Vec::new();
        parse_stream(text, Detail::Everything, |item| items.push(item));
        items
    }

    fn only_document(text: &str) -> (Document, Vec<Problem>) {
        let mut items = documents(text);
        assert_eq!(items.len(), 1, "{items:?}");
        match items.remove(0) {
            Item::Document(document, problems) => (document, problems),
            other => panic!("expected a document, got {other:?}"),
        }
    }

    fn mapping(node: &Node) -> &Mapping {
        match node {
            Node::Mapping(mapping) => mapping,
            other => panic!("expected a mapping, got {other:?}"),
        }
    }

    fn at(line: usize, column: usize) -> Position {
        Position { line, column }
    }

    #[test]
    fn keys_and_scalars_carry_their_positions() {
        let text = "apiVersion: cityform/v1\nspec:\n  count:   12\n  name: \"x\"\n";
        let (document, problems) = only_document(text);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(document.position, at(1, 1));
        let root = mapping(&document.root);
        let api = root.get("apiVersion").unwrap();
        assert_eq!(api.key_position, at(1, 1));
        assert_eq!(api.value_position, Some(at(1, 13)));
        assert_eq!(api.value, Node::String("cityform/v1".into()));
        let spec = root.get("spec").unwrap();
        assert_eq!(spec.key_position, at(2, 1));
        assert_eq!(spec.position(), at(3, 3));
        let spec = mapping(&spec.value);
        let count = spec.get("count").unwrap();
        assert_eq!(count.key_position, at(3, 3));
        assert_eq!(count.value_position, Some(at(3, 12)));
        assert_eq!(
            count.value,
            Node::Integer(Integer {
                negative: false,
                magnitude: 12
            })
        );
        assert_eq!(spec.get("name").unwrap().value_position, Some(at(4, 9)));
    }

    #[test]
    fn sequence_items_carry_their_positions() {
        let text = "list:\n  - first\n  - [2, 3]\n  - {k: v}\nflow: [a,  b]\n";
        let (document, problems) = only_document(text);
        assert!(problems.is_empty(), "{problems:?}");
        let root = mapping(&document.root);
        let Node::Sequence(list) = &root.get("list").unwrap().value else {
            panic!("expected a sequence");
        };
        assert_eq!(
            list.item_positions,
            [Some(at(2, 5)), Some(at(3, 6)), Some(at(4, 6))]
        );
        let Node::Sequence(flow) = root.get("flow").unwrap().value.clone() else {
            panic!("expected a sequence");
        };
        let located: Vec<(Node, Option<Position>)> = flow.located_items().collect();
        assert_eq!(
            located,
            [
                (Node::String("a".into()), Some(at(5, 8))),
                (Node::String("b".into()), Some(at(5, 12))),
            ]
        );
    }

    #[test]
    fn an_outline_locates_documents_and_the_named_top_level_keys_only() {
        let text = "a: 1\nspec:\n  spec: 2\n  b: 3\n---\nx:\n  - spec\nspec: {}\n";
        let mut documents = Vec::new();
        parse_stream(text, Detail::Outline(&["spec"]), |item| match item {
            Item::Document(document, _) => documents.push(document),
            other => panic!("{other:?}"),
        });
        let first = mapping(&documents[0].root);
        assert_eq!(documents[0].position, at(1, 1));
        assert_eq!(first.get("a").unwrap().key_position, Position::UNKNOWN);
        assert_eq!(first.get("a").unwrap().value_position, None);
        let spec = first.get("spec").unwrap();
        assert_eq!(spec.key_position, at(2, 1));
        let inner = mapping(&spec.value);
        assert_eq!(inner.get("spec").unwrap().key_position, Position::UNKNOWN);
        let second = mapping(&documents[1].root);
        assert_eq!(documents[1].position, at(6, 1));
        assert_eq!(second.get("spec").unwrap().key_position, at(8, 1));
    }

    #[test]
    fn a_document_after_a_separator_starts_on_its_first_line() {
        let items = documents("# comment\n---\na: 1\n---\n\n  b: 2\n");
        let positions: Vec<Position> = items
            .iter()
            .map(|item| match item {
                Item::Document(document, _) => document.position,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(positions, [at(3, 1), at(6, 3)]);
    }

    #[test]
    fn flow_collections_and_scalars_at_the_root_are_located() {
        let (document, _) = only_document("\n  {a: [1, {b: c}], d: e}\n");
        assert_eq!(document.position, at(2, 3));
        let root = mapping(&document.root);
        let a = root.get("a").unwrap();
        assert_eq!(a.key_position, at(2, 4));
        assert_eq!(a.position(), at(2, 8));
        assert_eq!(root.get("d").unwrap().value_position, Some(at(2, 23)));

        let (document, _) = only_document("\n\n   just text\n");
        assert_eq!(document.position, at(3, 4));
        assert_eq!(document.root, Node::String("just text".into()));

        let (document, _) = only_document("- a\n- b\n");
        assert_eq!(document.position, at(1, 1));

        let (document, _) = only_document("x\n");
        assert_eq!(document.position, at(1, 1));
    }

    #[test]
    fn empty_texts_have_no_documents_but_an_explicit_empty_document_counts() {
        assert!(documents("").is_empty());
        assert!(documents("# only\n   # comments\n\n").is_empty());
        let (document, _) = only_document("---\n");
        assert_eq!(document.root, Node::Null);
        assert_eq!(documents("---\n---\n# c\n").len(), 2);
    }

    #[test]
    fn scalars_keep_their_yaml_types() {
        let (document, _) = only_document(
            "a: true\nb: 3\nc: -4\nd: 1.5\ne: \"3\"\nf: ~\ng: 99999999999999999999\nh: 007\n",
        );
        let root = mapping(&document.root);
        let value = |key: &str| root.get(key).unwrap().value.clone();
        assert_eq!(value("a"), Node::Bool(true));
        assert_eq!(value("c").to_owned(), {
            Node::Integer(Integer {
                negative: true,
                magnitude: 4,
            })
        });
        assert_eq!(value("d"), Node::Float(1.5));
        assert_eq!(value("e"), Node::String("3".into()));
        assert_eq!(value("f"), Node::Null);
        assert_eq!(
            value("g"),
            Node::Integer(Integer {
                negative: false,
                magnitude: 99_999_999_999_999_999_999
            })
        );
        assert_eq!(value("h"), Node::LeadingZeroDigits("007".into()));
    }

    #[test]
    fn a_repeated_key_is_reported_at_the_second_occurrence_naming_the_first() {
        let (document, problems) = only_document("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n");
        let messages: Vec<(Position, String)> = problems
            .into_iter()
            .map(|problem| (problem.position, problem.message))
            .collect();
        assert_eq!(
            messages,
            [
                (
                    at(4, 3),
                    "key `c` is given twice in this mapping (first on line 3)".to_owned()
                ),
                (
                    at(5, 1),
                    "key `a` is given twice in this mapping (first on line 1)".to_owned()
                ),
            ]
        );
        let root = mapping(&document.root);
        assert_eq!(root.entries.len(), 2);
        assert_eq!(
            root.get("a").unwrap().value,
            Node::Integer(Integer {
                negative: false,
                magnitude: 1
            })
        );
    }

    #[test]
    fn repeated_keys_are_found_in_large_mappings_too() {
        let mut text: String = (0..40)
            .map(|index| format!("k{index}: {index}\n"))
            .collect();
        text.push_str("k7: again\n");
        let (_, problems) = only_document(&text);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].position, at(41, 1));
        assert!(problems[0].message.contains("first on line 8"));
    }

    #[test]
    fn a_syntax_error_stops_the_stream_and_keeps_earlier_documents() {
        let items = documents("a: 1\n---\nb: [1\n---\nc: 3\n");
        assert_eq!(items.len(), 2, "{items:?}");
        assert!(matches!(items[0], Item::Document(..)));
        let Item::SyntaxError(problem, _) = &items[1] else {
            panic!("{:?}", items[1]);
        };
        assert_eq!(problem.position, at(4, 1));
        assert!(problem.message.starts_with("invalid YAML: "), "{problem:?}");
        assert!(
            !problem.message.contains("at line 4 column 1"),
            "{problem:?}"
        );
    }

    #[test]
    fn tab_indentation_gets_a_hint() {
        let items = documents("spec:\n\tname: x\n");
        let Item::SyntaxError(problem, _) = &items[0] else {
            panic!("{items:?}");
        };
        assert_eq!(problem.position, at(2, 1));
        assert!(problem.hint.as_deref().unwrap().contains("tabs"));
    }

    #[test]
    fn an_unknown_anchor_is_a_syntax_error() {
        let items = documents("a: *nowhere\n---\nb: 1\n");
        assert_eq!(items.len(), 1, "{items:?}");
        assert!(matches!(items[0], Item::SyntaxError(..)));
    }

    #[test]
    fn aliases_expand_and_an_alias_bomb_is_refused_without_losing_the_stream() {
        let (document, _) = only_document("a: &x {b: 1}\nc: *x\n");
        let root = mapping(&document.root);
        assert_eq!(root.get("a").unwrap().value, root.get("c").unwrap().value);

        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..12 {
            let previous = (b'a' + level - 1) as char;
            let current = (b'a' + level) as char;
            bomb.push_str(&format!(
                "{current}: &{current} [*{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}]\n"
            ));
        }
        bomb.push_str("---\nafter: 1\n");
        let items = documents(&bomb);
        assert_eq!(items.len(), 2, "{items:?}");
        let Item::Abandoned(problem, _) = &items[0] else {
            panic!("{:?}", items[0]);
        };
        assert!(problem.message.contains("alias"), "{problem:?}");
        assert_eq!(problem.position, at(1, 1));
        assert!(matches!(items[1], Item::Document(..)));

        // Few events and many jumps: the parser's own repetition limit is reached first.
        const LEVELS: usize = 12;
        let mut text = String::from("x: &x0 [a]\n");
        for level in 1..LEVELS {
            let previous = level - 1;
            text.push_str(&format!(
                "x{level}: &x{level} [*x{previous}, *x{previous}]\n"
            ));
        }
        let items = documents(&text);
        let Item::Abandoned(problem, _) = &items[0] else {
            panic!("{:?}", items[0]);
        };
        assert_eq!(problem.message, "document expands aliases too many times");
        assert_eq!(problem.position, at(1, 1));
    }

    /// Found by the fuzzing fallback (`tests/it/properties_inputs.rs`): a document given up for
    /// its size, or for its alias expansions, with an unknown anchor further on made the YAML
    /// parser panic on the next document.
    #[test]
    fn a_given_up_document_with_a_syntax_error_further_on_ends_the_stream() {
        let ten = |value: &str| format!("[{}]", [value; 10].join(", "));
        let too_many_values = format!(
            "a: &a {}\nb: &b {}\nc: &c {}\nd: &d {}\ne: [1, {{k: *nowhere}}, 2]\n---\nf: 1\n",
            ten("x"),
            ten("*a"),
            ten("*b"),
            ten("*c")
        );
        let too_many_jumps =
            "a: &a\nb: &b [*a,*a]\nc: &c [*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*d,*l]";
        for text in [too_many_values.as_str(), too_many_jumps] {
            let items = documents(text);
            assert_eq!(items.len(), 2, "{items:?}");
            assert!(matches!(items[0], Item::Abandoned(..)), "{items:?}");
            let Item::SyntaxError(problem, _) = &items[1] else {
                panic!("{items:?}");
            };
            assert_eq!(
                problem.message, "invalid YAML: unknown anchor",
                "{problem:?}"
            );
        }
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let depth = 100_000;
        for text in [
            format!("a: {}{}\nb: 1\n", "[".repeat(depth), "]".repeat(depth)),
            format!("a: {}\n", "{a: ".repeat(depth)),
        ] {
            let items = documents(&text);
            assert_eq!(items.len(), 1, "{items:?}");
            let Item::SyntaxError(problem, _) = &items[0] else {
                panic!("{items:?}");
            };
            assert!(
                problem.message.contains("more than 32 levels"),
                "{problem:?}"
            );
        }
    }

    /// The pre-scan counts a sequence written at its key's indentation (`k:\n- x`) as no
    /// level; the tree builder counts it, and skips what is deeper than its limit.
    #[test]
    fn nesting_the_pre_scan_does_not_count_is_skipped_by_the_builder() {
        let mut text = String::from("k0:\n");
        for level in 1..25 {
            text.push_str(&format!("{}- k{level}:\n", "  ".repeat(level - 1)));
        }
        let (document, problems) = only_document(&text);
        assert!(problems.is_empty(), "{problems:?}");
        assert!(format!("{:?}", document.root).contains("TooDeep"));
    }

    #[test]
    fn tagged_values_are_kept_as_tags() {
        let (document, problems) =
            only_document("a: !custom value\nb: !other {x: 1}\nc: !!str 3\nd: 4\n");
        assert!(problems.is_empty(), "{problems:?}");
        let root = mapping(&document.root);
        assert_eq!(root.get("a").unwrap().value, Node::Tagged("custom".into()));
        assert_eq!(root.get("b").unwrap().value, Node::Tagged("other".into()));
        assert_eq!(root.get("c").unwrap().value, Node::String("3".into()));
        assert_eq!(root.get("d").unwrap().value_position, Some(at(4, 4)));
    }

    #[test]
    fn non_string_and_collection_keys_are_handled() {
        let (document, problems) = only_document("1: a\ntrue: b\n? [x]\n: c\nz: d\n");
        assert_eq!(problems[0].position, at(3, 4));
        let root = mapping(&document.root);
        let keys: Vec<&str> = root
            .entries
            .iter()
            .map(|entry| entry.key.as_str())
            .collect();
        assert_eq!(keys, ["1", "true", "z"]);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("mapping key is itself"));
    }
}
