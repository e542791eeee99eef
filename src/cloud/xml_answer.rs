//! XML answers turned into the same `serde_json::Value` shape as JSON answers, so that one set
//! of parsers reads both.
//!
//! The service answers XML when asked (`Format=XML`) and by default; cityform asks for JSON,
//! but a gateway or a service that ignores `Format` may still send XML. The mapping is the
//! one Alibaba Cloud uses between its two formats:
//! - the root element (`<DescribeJobGroupsResponse>`, `<Error>`) is dropped: its children are
//!   the document's top-level fields;
//! - an element with child elements is an object, one field per child name;
//! - a name repeated among siblings is a list, in document order;
//! - an element without child elements is its text, always a string (`<PageNumber>1` is
//!   `"1"`); an empty element is `""`.
//!
//! Attributes, comments, processing instructions and the document type are ignored; entity
//! references other than the five predefined ones and character references are refused, so
//! nothing is ever expanded. The conversion is a loop over events with its own stack: depth and
//! element count are bounded by [`MAX_DEPTH`] and [`MAX_ELEMENTS`] whatever the input.

use quick_xml::events::Event;
use serde_json::{Map, Value};

/// How deep elements may nest. The deepest documented answer needs 5 levels
/// (`DescribeJobGroupsResponse/JobGroups/JobGroup/JobGroupParams/JobGroupParam/Key`).
pub const MAX_DEPTH: usize = 32;

/// How many elements one answer may hold.
pub const MAX_ELEMENTS: usize = 1 << 20;

/// Why a body is not an XML answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlAnswerError {
    /// The body is not UTF-8 (after an optional byte order mark).
    #[error("it is not UTF-8")]
    NotUtf8,
    /// The XML is not well formed.
    #[error("{0}")]
    Syntax(String),
    /// An entity other than the predefined ones.
    #[error("unknown entity `&{0};`")]
    UnknownEntity(String),
    /// Text or a second element outside the root element.
    #[error("content outside the root element")]
    OutsideRoot,
    /// No root element.
    #[error("it has no root element")]
    NoRoot,
    /// The root element is `html`: a proxy's or a captive portal's page, not an answer.
    #[error("it is an HTML page, not an answer")]
    Html,
    /// Elements nested deeper than [`MAX_DEPTH`].
    #[error("elements are nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// More elements than [`MAX_ELEMENTS`].
    #[error("it has more than {MAX_ELEMENTS} elements")]
    TooManyElements,
}

/// Whether a body is XML: its first character, after a byte order mark and whitespace, is `<`,
/// or its content type says XML (`text/xml`, `application/xml`, `application/…+xml`).
pub fn is_xml(body: &[u8], content_type: Option<&str>) -> bool {
    let declared = content_type.is_some_and(|content_type| {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        essence == "text/xml" || essence == "application/xml" || essence.ends_with("+xml")
    });
    declared
        || without_bom(body)
            .iter()
            .find(|byte| !byte.is_ascii_whitespace())
            .is_some_and(|byte| *byte == b'<')
}

fn without_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body)
}

/// An element being read: its children so far, or its text when it has none.
#[derive(Default)]
struct Open {
    name: String,
    fields: Map<String, Value>,
    text: String,
}

impl Open {
    fn into_value(self) -> Value {
        if self.fields.is_empty() {
            Value::String(self.text)
        } else {
            // Text between child elements is indentation, or mixed content no answer has.
            Value::Object(self.fields)
        }
    }

    /// A child's value; a name seen before makes a list (an element's own value is never a
    /// list, so an existing list is the one built here).
    fn add(&mut self, name: String, value: Value) {
        match self.fields.get_mut(&name) {
            None => {
                self.fields.insert(name, value);
            }
            Some(Value::Array(items)) => items.push(value),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
        }
    }
}

/// The document of an XML answer: the root element's children as an object (an empty root is
/// an empty object; a root holding only text is that text).
pub fn to_value(body: &[u8]) -> Result<Value, XmlAnswerError> {
    let text = std::str::from_utf8(without_bom(body)).map_err(|_| XmlAnswerError::NotUtf8)?;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut stack: Vec<Open> = Vec::new();
    let mut root: Option<Value> = None;
    let mut elements = 0_usize;
    loop {
        let event = reader.read_event().map_err(syntax)?;
        if matches!(event, Event::Start(_) | Event::Empty(_)) {
            if root.is_some() {
                return Err(XmlAnswerError::OutsideRoot);
            }
            elements += 1;
            if elements > MAX_ELEMENTS {
                return Err(XmlAnswerError::TooManyElements);
            }
        }
        match event {
            Event::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlAnswerError::TooDeep);
                }
                let name = element_name(start.name().as_ref())?;
                if stack.is_empty() && name.eq_ignore_ascii_case("html") {
                    return Err(XmlAnswerError::Html);
                }
                stack.push(Open {
                    name,
                    ..Open::default()
                });
            }
            Event::Empty(start) => {
                let name = element_name(start.name().as_ref())?;
                match stack.last_mut() {
                    Some(parent) => parent.add(name, Value::String(String::new())),
                    None => root = Some(Value::Object(Map::new())),
                }
            }
            Event::End(_) => {
                // The reader has checked that the end tag matches the start tag.
                let Some(mut closed) = stack.pop() else {
                    return Err(XmlAnswerError::OutsideRoot);
                };
                let name = std::mem::take(&mut closed.name);
                let value = closed.into_value();
                match stack.last_mut() {
                    Some(parent) => parent.add(name, value),
                    None => {
                        root = Some(match value {
                            Value::String(text) if text.trim().is_empty() => {
                                Value::Object(Map::new())
                            }
                            value => value,
                        });
                    }
                }
            }
            Event::Text(text) => append_text(&mut stack, &text.xml10_content().map_err(syntax)?)?,
            Event::CData(data) => append_text(&mut stack, &data.xml10_content().map_err(syntax)?)?,
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref().map_err(syntax)? {
                    Some(character) => character.to_string(),
                    None => {
                        let name = reference.decode().map_err(syntax)?;
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or_else(|| XmlAnswerError::UnknownEntity(name.into_owned()))?
                            .to_owned()
                    }
                };
                append_text(&mut stack, &resolved)?;
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
            Event::Eof => {
                if !stack.is_empty() {
                    return Err(XmlAnswerError::Syntax(
                        "the root element is not closed".to_owned(),
                    ));
                }
                return root.ok_or(XmlAnswerError::NoRoot);
            }
        }
    }
}

fn syntax(error: impl std::fmt::Display) -> XmlAnswerError {
    XmlAnswerError::Syntax(error.to_string())
}

fn element_name(name: &[u8]) -> Result<String, XmlAnswerError> {
    std::str::from_utf8(name)
        .map(str::to_owned)
        .map_err(|_| XmlAnswerError::NotUtf8)
}

/// Text goes to the innermost open element; outside the root only whitespace may stand.
fn append_text(stack: &mut [Open], text: &str) -> Result<(), XmlAnswerError> {
    match stack.last_mut() {
        Some(open) => {
            open.text.push_str(text);
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err(XmlAnswerError::OutsideRoot),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn elements_become_fields_repeated_ones_lists_and_text_strings() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment -->
<Root attribute="ignored">
  <Number>1</Number>
  <Empty/>
  <Blank></Blank>
  <Item><Key>a</Key></Item>
  <Item><Key>b</Key></Item>
  <Item><Key>c</Key></Item>
  <Escaped>a &lt;b&gt; &amp; &#x4E2D;&#25991; <![CDATA[<raw> & ]]></Escaped>
</Root>"#;
        assert_eq!(
            to_value(body).unwrap(),
            json!({
                "Number": "1",
                "Empty": "",
                "Blank": "",
                "Item": [{"Key": "a"}, {"Key": "b"}, {"Key": "c"}],
                "Escaped": "a <b> & 中文 <raw> & ",
            })
        );
        assert_eq!(to_value(b"<Response/>").unwrap(), json!({}));
        assert_eq!(to_value(b"<Response>\n</Response>").unwrap(), json!({}));
        assert_eq!(to_value(b"<Response>ok</Response>").unwrap(), json!("ok"));
    }

    #[test]
    fn bodies_that_are_not_one_xml_document_are_refused() {
        for (body, error) in [
            (&b""[..], XmlAnswerError::NoRoot),
            (b"<?xml version=\"1.0\"?>", XmlAnswerError::NoRoot),
            (b"<A/><B/>", XmlAnswerError::OutsideRoot),
            (b"<A></A>text", XmlAnswerError::OutsideRoot),
            (
                b"<A>&bomb;</A>",
                XmlAnswerError::UnknownEntity("bomb".into()),
            ),
            (b"<A>\xff</A>", XmlAnswerError::NotUtf8),
        ] {
            assert_eq!(
                to_value(body),
                Err(error),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        for body in [&b"<A><B></A>"[..], b"<A>", b"<A>&#0;</A>", b"<A>a & b</A>"] {
            assert!(
                matches!(to_value(body), Err(XmlAnswerError::Syntax(_))),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let declared = br#"<!DOCTYPE A [<!ENTITY e "expanded">]><A>&e;</A>"#;
        assert_eq!(
            to_value(declared),
            Err(XmlAnswerError::UnknownEntity("e".into()))
        );
    }

    #[test]
    fn an_html_page_is_not_an_answer() {
        for page in [
            "<!DOCTYPE html><html><body><form action=\"/login\">Sign in</form></body></html>",
            "<HTML><HEAD><TITLE>502</TITLE></HEAD></HTML>",
        ] {
            assert_eq!(
                to_value(page.as_bytes()),
                Err(XmlAnswerError::Html),
                "{page}"
            );
        }
    }

    #[test]
    fn depth_and_size_are_bounded() {
        let nested = |depth: usize| format!("{}{}", "<A>".repeat(depth), "</A>".repeat(depth));
        assert!(to_value(nested(MAX_DEPTH).as_bytes()).is_ok());
        assert_eq!(
            to_value(nested(MAX_DEPTH + 1).as_bytes()),
            Err(XmlAnswerError::TooDeep)
        );
        assert_eq!(
            to_value(nested(100_000).as_bytes()),
            Err(XmlAnswerError::TooDeep)
        );
        let wide = format!("<A>{}</A>", "<B/>".repeat(MAX_ELEMENTS));
        assert_eq!(
            to_value(wide.as_bytes()),
            Err(XmlAnswerError::TooManyElements)
        );
    }

    #[test]
    fn xml_is_told_by_its_first_character_or_its_content_type() {
        assert!(is_xml(b"<A/>", None));
        assert!(is_xml(b"\xEF\xBB\xBF\r\n <A/>", None));
        assert!(!is_xml(b"{\"A\":\"<\"}", None));
        assert!(!is_xml(b"", None));
        assert!(is_xml(b"", Some("application/xml")));
        assert!(is_xml(b"x", Some("Text/XML; charset=UTF-8")));
        assert!(is_xml(b"x", Some("application/problem+xml")));
        assert!(!is_xml(b"x", Some("application/json;charset=utf-8")));
    }
}
