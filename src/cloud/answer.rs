//! An answer's body and the document it holds, in whichever format the service chose.
//!
//! The client asks for JSON, but the service may answer XML (its default format): a body that
//! starts with `<` (after a byte order mark and whitespace), or whose content type says XML, is
//! read by [`xml_answer`](super::xml_answer) into the same `serde_json::Value` shape as JSON,
//! so that success and error answers are parsed by one set of functions whatever the format.

use serde_json::Value;

use super::xml_answer::{self, XmlAnswerError};

/// The bytes of an answer and, when known, its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerBody<'a> {
    bytes: &'a [u8],
    content_type: Option<&'a str>,
}

impl<'a> AnswerBody<'a> {
    /// A body whose content type is unknown: its format is told from its first character.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            content_type: None,
        }
    }

    /// The same body with the answer's `Content-Type`.
    pub fn with_content_type(mut self, content_type: Option<&'a str>) -> Self {
        self.content_type = content_type;
        self
    }

    /// The bytes as they arrived.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Whether the body is read as XML.
    pub fn is_xml(&self) -> bool {
        xml_answer::is_xml(self.bytes, self.content_type)
    }

    /// The document the body holds, JSON or XML.
    pub fn document(&self) -> Result<Value, DocumentError> {
        if self.is_xml() {
            xml_answer::to_value(self.bytes).map_err(DocumentError::NotXml)
        } else {
            serde_json::from_slice(self.bytes)
                .map_err(|error| DocumentError::NotJson(error.to_string()))
        }
    }
}

impl<'a> From<&'a [u8]> for AnswerBody<'a> {
    fn from(bytes: &'a [u8]) -> Self {
        Self::new(bytes)
    }
}

impl<'a> From<&'a Vec<u8>> for AnswerBody<'a> {
    fn from(bytes: &'a Vec<u8>) -> Self {
        Self::new(bytes)
    }
}

impl<'a, const N: usize> From<&'a [u8; N]> for AnswerBody<'a> {
    fn from(bytes: &'a [u8; N]) -> Self {
        Self::new(bytes)
    }
}

/// Why a body holds no document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    /// A body read as JSON that is not JSON.
    #[error("the body is not JSON ({0})")]
    NotJson(String),
    /// A body read as XML that is not XML.
    #[error("the body is not XML ({0})")]
    NotXml(XmlAnswerError),
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn the_format_is_told_by_the_first_character_or_the_content_type() {
        assert!(AnswerBody::new(b"\xEF\xBB\xBF \n<A/>").is_xml());
        assert!(!AnswerBody::new(br#"{"A":"<"}"#).is_xml());
        assert!(
            AnswerBody::new(b"garbage")
                .with_content_type(Some("text/xml;charset=UTF-8"))
                .is_xml()
        );
        assert!(
            !AnswerBody::new(b"{}")
                .with_content_type(Some("application/json"))
                .is_xml()
        );
        assert_eq!(
            AnswerBody::new(b"garbage")
                .with_content_type(Some("application/xml"))
                .document()
                .unwrap_err()
                .to_string(),
            "the body is not XML (content outside the root element)"
        );
    }
}
