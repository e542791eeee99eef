//! The address of a job group: `regionId/instanceId/name`, unique across a manifest set.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::printable;

/// Identifies one job group independent of the id the service gives it.
///
/// Ordering is by region, then instance, then name, which is the order plans list actions in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    /// Region, e.g. `cn-shanghai`.
    pub region_id: String,
    /// CityVisual instance, e.g. `cityvisual-Instance`.
    pub instance_id: String,
    /// Job group name (`JobGroupName`), unique within the instance.
    pub name: String,
}

impl Address {
    /// The address of the group `name` in the emulator's built-in instance
    /// (`cn-shanghai/cityvisual-Instance/NAME`), for examples, tests and benchmarks.
    pub fn example(name: impl Into<String>) -> Self {
        Self::new("cn-shanghai", "cityvisual-Instance", name)
    }

    /// Builds an address from its three parts.
    pub fn new(
        region_id: impl Into<String>,
        instance_id: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        Self {
            region_id: region_id.into(),
            instance_id: instance_id.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.region_id, self.instance_id, self.name)
    }
}

/// Why a string is not an address.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{}` is not an address: expected `regionId/instanceId/name`", printable(.0))]
pub struct AddressParseError(pub String);

impl FromStr for Address {
    type Err = AddressParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut parts = text.splitn(3, '/');
        match (parts.next(), parts.next(), parts.next()) {
            // No part a manifest can give holds a control character; one read from a file
            // was put there by hand, and could rewrite what a terminal shows.
            (Some(region), Some(instance), Some(name))
                if !region.is_empty()
                    && !instance.is_empty()
                    && !name.is_empty()
                    && !name.contains('/')
                    && matches!(printable(text), Cow::Borrowed(_)) =>
            {
                Ok(Self::new(region, instance, name))
            }
            _ => Err(AddressParseError(text.to_owned())),
        }
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text() {
        let address = Address::new("cn-shanghai", "cityvisual-Instance", "traffic-east");
        assert_eq!(
            address.to_string(),
            "cn-shanghai/cityvisual-Instance/traffic-east"
        );
        assert_eq!(address.to_string().parse::<Address>(), Ok(address));
    }

    #[test]
    fn rejects_incomplete_addresses() {
        for text in ["", "a/b", "a//c", "/b/c", "a/b/", "a/b/c/d"] {
            assert!(text.parse::<Address>().is_err(), "{text:?} parsed");
        }
    }

    #[test]
    fn rejects_control_characters_and_shows_them_escaped() {
        for text in ["a\u{1b}[2K/b/c", "a/b\r/c", "a/b/c\n", "a/\u{202e}b/c"] {
            let error = text.parse::<Address>().unwrap_err();
            assert!(!error.to_string().chars().any(char::is_control), "{error}");
        }
        assert_eq!(
            "a\u{1b}/b/c".parse::<Address>().unwrap_err().to_string(),
            "`a\\u{1b}/b/c` is not an address: expected `regionId/instanceId/name`"
        );
    }

    #[test]
    fn orders_by_region_then_instance_then_name() {
        let mut addresses = [
            Address::new("b", "a", "a"),
            Address::new("a", "b", "a"),
            Address::new("a", "a", "b"),
        ];
        addresses.sort();
        let texts: Vec<String> = addresses.iter().map(ToString::to_string).collect();
        assert_eq!(texts, ["a/a/b", "a/b/a", "b/a/a"]);
    }
}
