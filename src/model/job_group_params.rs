//! A job group's parameters (`JobGroupParams`): API keys to values, in key order.
//!
//! A sorted list rather than a `BTreeMap`: a group has a handful of parameters at most, and
//! a `BTreeMap` takes a 544-byte node for the first one, which at 100,000 groups was a
//! quarter of `plan`'s memory. In serde it is a map, empty or not, wherever it is stored.

use std::fmt;
use std::ops::{Deref, DerefMut};

use litemap::LiteMap;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Parameters by key, in key order; the map interface is `litemap`'s.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct JobGroupParams(LiteMap<String, String>);

impl JobGroupParams {
    /// No parameters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether there are none (also what `skip_serializing_if` names).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Deref for JobGroupParams {
    type Target = LiteMap<String, String>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for JobGroupParams {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl FromIterator<(String, String)> for JobGroupParams {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        Self(pairs.into_iter().collect())
    }
}

impl Extend<(String, String)> for JobGroupParams {
    fn extend<I: IntoIterator<Item = (String, String)>>(&mut self, pairs: I) {
        self.0.extend(pairs);
    }
}

impl IntoIterator for JobGroupParams {
    type Item = (String, String);
    type IntoIter = <LiteMap<String, String> as IntoIterator>::IntoIter;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a JobGroupParams {
    type Item = (&'a String, &'a String);
    type IntoIter = <&'a LiteMap<String, String> as IntoIterator>::IntoIter;

    fn into_iter(self) -> Self::IntoIter {
        (&self.0).into_iter()
    }
}

impl Serialize for JobGroupParams {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter())
    }
}

/// A map of strings to strings; a key given twice keeps its last value.
impl<'de> Deserialize<'de> for JobGroupParams {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ParamsVisitor)
    }
}

struct ParamsVisitor;

impl<'de> Visitor<'de> for ParamsVisitor {
    type Value = JobGroupParams;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a map")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<JobGroupParams, A::Error> {
        let mut params = JobGroupParams::new();
        while let Some((key, value)) = entries.next_entry::<String, String>()? {
            params.insert(key, value);
        }
        Ok(params)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn empty_or_not_it_is_a_map() {
        let empty = JobGroupParams::new();
        assert_eq!(serde_json::to_string(&empty).unwrap(), "{}");
        let params: JobGroupParams = [
            ("RDS_ENABLE".to_owned(), "True".to_owned()),
            ("ES_ENABLE".to_owned(), "False".to_owned()),
        ]
        .into_iter()
        .collect();
        let json = serde_json::to_string(&params).unwrap();
        assert_eq!(json, r#"{"ES_ENABLE":"False","RDS_ENABLE":"True"}"#);
        assert_eq!(
            serde_json::from_str::<JobGroupParams>(&json).unwrap(),
            params
        );
        assert!(serde_json::from_str::<JobGroupParams>("[]").is_err());
    }
}
