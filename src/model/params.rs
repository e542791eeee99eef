//! `JobGroupParams`: the supported keys and the canonical form of their values.
//!
//! Manifests may write `ES_ENABLE: true` or `ES_ENABLE: "True"`; both normalise to the API's
//! `True`, so that the planner never reports a change that is only a change of spelling.

use std::fmt;
use std::str::FromStr;

/// A `JobGroupParams` key the service supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ParamKey {
    /// Output results to Elasticsearch.
    EsEnable,
    /// Output results to RDS.
    RdsEnable,
    /// Output results to MQ.
    OutMqEnable,
    /// Output results to DataHub.
    DatahubEnable,
    /// Where scheduling starts in the stream.
    ScheduleFlowStartTime,
}

impl ParamKey {
    /// Every supported key, in the order the API reference lists them.
    pub const ALL: [ParamKey; 5] = [
        ParamKey::EsEnable,
        ParamKey::RdsEnable,
        ParamKey::OutMqEnable,
        ParamKey::DatahubEnable,
        ParamKey::ScheduleFlowStartTime,
    ];

    /// The key as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ParamKey::EsEnable => "ES_ENABLE",
            ParamKey::RdsEnable => "RDS_ENABLE",
            ParamKey::OutMqEnable => "OUT_MQ_ENABLE",
            ParamKey::DatahubEnable => "DATAHUB_ENABLE",
            ParamKey::ScheduleFlowStartTime => "SCHEDULE_FLOW_START_TIME",
        }
    }

    /// Whether this key is an on/off switch, which a manifest may write as a YAML boolean.
    pub fn is_switch(self) -> bool {
        !matches!(self, ParamKey::ScheduleFlowStartTime)
    }

    /// What this key takes, as a manifest writes it: `` `true` or `false` `` for a switch.
    pub fn expected(self) -> &'static str {
        if self.is_switch() {
            "`true` or `false`"
        } else {
            "`Latest` or `Oldest`"
        }
    }

    /// The values the API accepts for this key, in canonical spelling.
    pub fn allowed_values(self) -> &'static [&'static str] {
        if self.is_switch() {
            &["True", "False"]
        } else {
            &["Latest", "Oldest"]
        }
    }
}

impl fmt::Display for ParamKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a `JobGroupParams` entry is not supported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// The key is not one the service supports.
    #[error("unsupported params key `{0}`")]
    UnsupportedKey(String),
    /// The value is not one of the key's allowed values.
    #[error("unsupported value `{value}` for params key `{key}`: expected {}", .key.expected())]
    UnsupportedValue {
        /// The key.
        key: ParamKey,
        /// The value as written.
        value: String,
    },
}

impl FromStr for ParamKey {
    type Err = ParamError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ParamKey::ALL
            .into_iter()
            .find(|key| key.as_str() == text)
            .ok_or_else(|| ParamError::UnsupportedKey(text.to_owned()))
    }
}

/// Returns the canonical API spelling of `value` for `key`, matching case-insensitively.
pub fn normalize_param_value(key: ParamKey, value: &str) -> Result<&'static str, ParamError> {
    key.allowed_values()
        .iter()
        .copied()
        .find(|allowed| allowed.eq_ignore_ascii_case(value))
        .ok_or_else(|| ParamError::UnsupportedValue {
            key,
            value: value.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boolean_spellings_normalise_to_the_api_form() {
        for value in ["true", "True", "TRUE"] {
            assert_eq!(normalize_param_value(ParamKey::EsEnable, value), Ok("True"));
        }
        assert_eq!(
            normalize_param_value(ParamKey::RdsEnable, "false"),
            Ok("False")
        );
    }

    #[test]
    fn schedule_start_takes_latest_or_oldest() {
        assert_eq!(
            normalize_param_value(ParamKey::ScheduleFlowStartTime, "oldest"),
            Ok("Oldest")
        );
        assert!(normalize_param_value(ParamKey::ScheduleFlowStartTime, "true").is_err());
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert_eq!(
            "ES_ENABLED".parse::<ParamKey>(),
            Err(ParamError::UnsupportedKey("ES_ENABLED".into()))
        );
        assert_eq!(
            "DATAHUB_ENABLE".parse::<ParamKey>(),
            Ok(ParamKey::DatahubEnable)
        );
    }
}
