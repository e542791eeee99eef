//! Answers as a small ordered tree, rendered as JSON or as XML the way Alibaba Cloud does.
//!
//! One tree feeds both formats so that they can never disagree. In XML an object is a list of
//! child elements and a list repeats its element name (`<JobGroups><JobGroup>…</JobGroup>
//! <JobGroup>…</JobGroup></JobGroups>`), which is how Alibaba Cloud's XML answers look.

use std::borrow::Cow;

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};

/// The answer format the caller asked for with the `Format` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// `Format=JSON` (any case).
    Json,
    /// `Format=XML` (any case), and the default when `Format` is absent.
    Xml,
}

impl Format {
    /// Reads the `Format` parameter: case-insensitive, absent means XML.
    pub fn from_parameter(value: Option<&str>) -> Option<Format> {
        match value {
            None => Some(Format::Xml),
            Some(text) if text.eq_ignore_ascii_case("json") => Some(Format::Json),
            Some(text) if text.eq_ignore_ascii_case("xml") => Some(Format::Xml),
            Some(_) => None,
        }
    }

    /// The `Content-Type` of an answer in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json;charset=utf-8",
            Format::Xml => "text/xml;charset=utf-8",
        }
    }
}

/// A value in an answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// A string, quoted in JSON.
    Text(String),
    /// An integer, unquoted in JSON.
    Integer(i64),
    /// Named members, in the order given.
    Object(Vec<(&'static str, Value)>),
    /// A list; in XML each item repeats the element name it sits under.
    List(Vec<Value>),
}

impl Value {
    /// A text value.
    pub fn text(text: impl Into<String>) -> Value {
        Value::Text(text.into())
    }
}

/// A whole answer: the XML root element name and the members of the top object.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Document {
    /// XML root element, e.g. `CreateJobGroupResponse`; JSON does not show it.
    pub root: Cow<'static, str>,
    /// Members of the top-level object.
    pub members: Vec<(&'static str, Value)>,
}

impl Document {
    /// The top-level member called `name`.
    pub fn member(&self, name: &str) -> Option<&Value> {
        self.members
            .iter()
            .find(|(member, _)| *member == name)
            .map(|(_, value)| value)
    }

    /// Renders the answer in `format`.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Json => self.to_json(),
            Format::Xml => self.to_xml(),
        }
    }

    fn to_json(&self) -> String {
        // Serialising our own tree cannot fail: every key is a string.
        serde_json::to_string(&Members(&self.members)).unwrap_or_else(|error| {
            format!(r#"{{"Code":"InternalError","Message":"cannot render: {error}"}}"#)
        })
    }

    fn to_xml(&self) -> String {
        let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
        xml.push('<');
        xml.push_str(&self.root);
        xml.push('>');
        for (name, value) in &self.members {
            write_element(&mut xml, name, value);
        }
        xml.push_str("</");
        xml.push_str(&self.root);
        xml.push('>');
        xml
    }
}

fn write_element(xml: &mut String, name: &str, value: &Value) {
    match value {
        Value::List(items) => {
            for item in items {
                write_element(xml, name, item);
            }
        }
        Value::Text(text) => {
            open(xml, name);
            xml.push_str(&quick_xml::escape::escape(text.as_str()));
            close(xml, name);
        }
        Value::Integer(number) => {
            open(xml, name);
            xml.push_str(&number.to_string());
            close(xml, name);
        }
        Value::Object(members) => {
            open(xml, name);
            for (member, value) in members {
                write_element(xml, member, value);
            }
            close(xml, name);
        }
    }
}

fn open(xml: &mut String, name: &str) {
    xml.push('<');
    xml.push_str(name);
    xml.push('>');
}

fn close(xml: &mut String, name: &str) {
    xml.push_str("</");
    xml.push_str(name);
    xml.push('>');
}

struct Members<'a>(&'a [(&'static str, Value)]);

impl Serialize for Members<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Text(text) => serializer.serialize_str(text),
            Value::Integer(number) => serializer.serialize_i64(*number),
            Value::Object(members) => Members(members).serialize(serializer),
            Value::List(items) => {
                let mut sequence = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    sequence.serialize_element(item)?;
                }
                sequence.end()
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn example() -> Document {
        Document {
            root: "DescribeJobGroupsResponse".into(),
            members: vec![
                ("RequestId", Value::text("R-1")),
                ("TotalCount", Value::Integer(2)),
                (
                    "JobGroups",
                    Value::Object(vec![(
                        "JobGroup",
                        Value::List(vec![
                            Value::Object(vec![("JobGroupName", Value::text("a<&>b"))]),
                            Value::Object(vec![("JobGroupName", Value::text("c"))]),
                        ]),
                    )]),
                ),
                (
                    "ComputeJobs",
                    Value::Object(vec![("ComputeJob", Value::List(vec![]))]),
                ),
            ],
        }
    }

    #[test]
    fn json_keeps_member_order_and_number_types() {
        assert_eq!(
            example().render(Format::Json),
            r#"{"RequestId":"R-1","TotalCount":2,"JobGroups":{"JobGroup":[{"JobGroupName":"a<&>b"},{"JobGroupName":"c"}]},"ComputeJobs":{"ComputeJob":[]}}"#
        );
    }

    #[test]
    fn xml_repeats_list_elements_and_escapes_text() {
        assert_eq!(
            example().render(Format::Xml),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><DescribeJobGroupsResponse>\
             <RequestId>R-1</RequestId><TotalCount>2</TotalCount>\
             <JobGroups><JobGroup><JobGroupName>a&lt;&amp;&gt;b</JobGroupName></JobGroup>\
             <JobGroup><JobGroupName>c</JobGroupName></JobGroup></JobGroups>\
             <ComputeJobs></ComputeJobs></DescribeJobGroupsResponse>"
        );
    }

    #[test]
    fn format_is_case_insensitive_and_defaults_to_xml() {
        assert_eq!(Format::from_parameter(None), Some(Format::Xml));
        assert_eq!(Format::from_parameter(Some("json")), Some(Format::Json));
        assert_eq!(Format::from_parameter(Some("JSON")), Some(Format::Json));
        assert_eq!(Format::from_parameter(Some("Xml")), Some(Format::Xml));
        assert_eq!(Format::from_parameter(Some("yaml")), None);
    }
}
