//! The parameters of one request: decoded strictly from the query string and the form body,
//! kept in arrival order for the signature, and read back with typed getters that produce
//! the documented errors.

use std::collections::HashSet;

use super::api_error::ApiError;

/// Every `name=value` pair a request carried, query first, then body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Parameters {
    pairs: Vec<(String, String)>,
    /// The names in `pairs`, so that a repeated one is found without a scan: a 1 MiB body
    /// holds over 100,000 parameters.
    names: HashSet<String>,
}

/// Java's `Integer`, which is what the API's `Integer` parameters are.
const INTEGER_MAXIMUM: u32 = i32::MAX as u32;

impl Parameters {
    /// Decodes `application/x-www-form-urlencoded` text (a query string or a form body) and
    /// appends its pairs. A name given twice, bad percent-encoding or bytes that are not
    /// UTF-8 are refused with `InvalidParameter`, never guessed at.
    pub fn append_encoded(&mut self, encoded: &str) -> Result<(), ApiError> {
        for piece in encoded.split('&').filter(|piece| !piece.is_empty()) {
            let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
            let name = decode_component(name)?;
            let value = decode_component(value)?;
            if !self.names.insert(name.clone()) {
                return Err(ApiError::invalid_parameter(format!(
                    "The parameter \"{name}\" is given more than once."
                )));
            }
            self.pairs.push((name, value));
        }
        Ok(())
    }

    /// Every pair, for the signature.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }

    /// The value of `name`, if it was sent (possibly empty).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(candidate, _)| candidate == name)
            .map(|(_, value)| value.as_str())
    }

    /// The value of `name` unless it is absent or empty.
    pub fn optional(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|value| !value.is_empty())
    }

    /// A required common parameter: absent or empty is 400 `MissingParameter`.
    pub fn required_common(&self, name: &str) -> Result<&str, ApiError> {
        self.optional(name)
            .ok_or_else(|| ApiError::missing_common_parameter(name))
    }

    /// A required action parameter: absent or empty is 403 `MissingParameter`.
    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.optional(name)
            .ok_or_else(|| ApiError::missing_action_parameter(name))
    }

    /// An optional `Integer` parameter: 0 to 2147483647, else 400 `InvalidParameter`.
    pub fn optional_integer(&self, name: &str) -> Result<Option<u32>, ApiError> {
        self.optional(name)
            .map(|text| parse_integer(name, text))
            .transpose()
    }

    /// A required `Integer` parameter.
    pub fn required_integer(&self, name: &str) -> Result<u32, ApiError> {
        parse_integer(name, self.required(name)?)
    }

    /// `JobGroupParams.N.Key` / `.Value` pairs, ordered by N. A key without a value (or the
    /// reverse) is a missing parameter; any other `JobGroupParams.*` name is invalid.
    pub fn job_group_params(&self) -> Result<Vec<(String, String)>, ApiError> {
        let mut entries: std::collections::BTreeMap<u32, (Option<&str>, Option<&str>)> =
            Default::default();
        for (name, value) in self.pairs() {
            let Some(rest) = name.strip_prefix("JobGroupParams.") else {
                continue;
            };
            let parsed = rest.split_once('.').and_then(|(index, field)| {
                let index = index.parse::<u32>().ok().filter(|index| *index >= 1)?;
                Some((index, field))
            });
            let entry = match parsed {
                Some((index, "Key")) => &mut entries.entry(index).or_default().0,
                Some((index, "Value")) => &mut entries.entry(index).or_default().1,
                _ => {
                    return Err(ApiError::invalid_parameter(format!(
                        "The parameter \"{name}\" is not valid: expected JobGroupParams.N.Key or JobGroupParams.N.Value with N from 1."
                    )));
                }
            };
            *entry = Some(value);
        }
        entries
            .into_iter()
            .map(|(index, entry)| match entry {
                (Some(key), Some(value)) if !key.is_empty() => {
                    Ok((key.to_owned(), value.to_owned()))
                }
                (Some(_), Some(_)) | (None, Some(_)) => Err(ApiError::missing_action_parameter(
                    &format!("JobGroupParams.{index}.Key"),
                )),
                (_, None) => Err(ApiError::missing_action_parameter(&format!(
                    "JobGroupParams.{index}.Value"
                ))),
            })
            .collect()
    }
}

fn parse_integer(name: &str, text: &str) -> Result<u32, ApiError> {
    text.parse::<u32>()
        .ok()
        .filter(|number| *number <= INTEGER_MAXIMUM)
        .ok_or_else(|| {
            ApiError::invalid_parameter(format!(
                "The parameter \"{name}\" must be an integer from 0 to {INTEGER_MAXIMUM}, not \"{text}\"."
            ))
        })
}

/// Decodes one form component: `+` is a space, `%XY` a byte; the result must be UTF-8.
fn decode_component(encoded: &str) -> Result<String, ApiError> {
    let bytes = encoded.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => decoded.push(b' '),
            b'%' => {
                let high = bytes.get(index + 1).copied().and_then(hex_value);
                let low = bytes.get(index + 2).copied().and_then(hex_value);
                let (Some(high), Some(low)) = (high, low) else {
                    return Err(ApiError::invalid_parameter(format!(
                        "The request contains bad percent-encoding near \"{}\".",
                        String::from_utf8_lossy(&bytes[index..bytes.len().min(index + 3)])
                    )));
                };
                decoded.push(high * 16 + low);
                index += 2;
            }
            byte => decoded.push(byte),
        }
        index += 1;
    }
    String::from_utf8(decoded).map_err(|_| {
        ApiError::invalid_parameter("The request contains a parameter that is not valid UTF-8.")
    })
}

fn hex_value(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|digit| u8::try_from(digit).ok())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn parse(encoded: &str) -> Result<Parameters, ApiError> {
        let mut parameters = Parameters::default();
        parameters.append_encoded(encoded)?;
        Ok(parameters)
    }

    #[test]
    fn decodes_percent_plus_and_utf8() {
        let parameters = parse("A=a%20b&B=c+d&C=%E4%B8%9C&D&E=").unwrap();
        assert_eq!(parameters.get("A"), Some("a b"));
        assert_eq!(parameters.get("B"), Some("c d"));
        assert_eq!(parameters.get("C"), Some("东"));
        assert_eq!(parameters.get("D"), Some(""));
        assert_eq!(parameters.optional("E"), None);
        assert_eq!(parameters.pairs().count(), 5);
    }

    #[test]
    fn refuses_bad_encoding_bad_utf8_and_repeated_names() {
        for bad in ["A=%zz", "A=%4", "A=%", "A=%FF%FE", "A=1&A=2"] {
            let error = parse(bad).unwrap_err();
            assert_eq!(error.code, "InvalidParameter", "{bad}");
            assert_eq!(error.status, 400, "{bad}");
        }
    }

    /// Finding a repeated name scanned every earlier parameter: a body of 100,000 distinct
    /// names, well inside the 1 MiB limit, took minutes to decode.
    #[test]
    fn a_body_of_many_parameters_decodes_in_linear_time() {
        let body: String = (0..100_000).map(|index| format!("p{index}=&")).collect();
        let started = std::time::Instant::now();
        let parameters = parse(&body).unwrap();
        assert_eq!(parameters.pairs().count(), 100_000);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "took {:?}",
            started.elapsed()
        );
        let repeated = format!("{body}p99999=x");
        assert_eq!(parse(&repeated).unwrap_err().code, "InvalidParameter");
    }

    #[test]
    fn integers_are_checked_for_type_and_range() {
        let parameters = parse("A=10&B=-1&C=x&D=2147483648&E=2147483647").unwrap();
        assert_eq!(parameters.required_integer("A"), Ok(10));
        for name in ["B", "C", "D"] {
            assert_eq!(
                parameters.required_integer(name).unwrap_err().code,
                "InvalidParameter"
            );
        }
        assert_eq!(parameters.optional_integer("E"), Ok(Some(2_147_483_647)));
        assert_eq!(parameters.optional_integer("F"), Ok(None));
        let missing = parameters.required_integer("F").unwrap_err();
        assert_eq!(
            (missing.status.as_u16(), missing.code),
            (403, "MissingParameter")
        );
    }

    #[test]
    fn job_group_params_are_ordered_by_index() {
        let parameters = parse(
            "JobGroupParams.2.Key=RDS_ENABLE&JobGroupParams.10.Value=Oldest&JobGroupParams.1.Value=True\
             &JobGroupParams.2.Value=False&JobGroupParams.1.Key=ES_ENABLE&JobGroupParams.10.Key=SCHEDULE_FLOW_START_TIME",
        )
        .unwrap();
        assert_eq!(
            parameters.job_group_params().unwrap(),
            [
                ("ES_ENABLE".to_owned(), "True".to_owned()),
                ("RDS_ENABLE".to_owned(), "False".to_owned()),
                ("SCHEDULE_FLOW_START_TIME".to_owned(), "Oldest".to_owned()),
            ]
        );
    }

    #[test]
    fn job_group_params_need_both_halves_and_a_valid_index() {
        let error = parse("JobGroupParams.1.Key=ES_ENABLE")
            .unwrap()
            .job_group_params()
            .unwrap_err();
        assert_eq!(
            (error.status.as_u16(), error.code),
            (403, "MissingParameter")
        );
        assert!(error.message.contains("JobGroupParams.1.Value"));
        let error = parse("JobGroupParams.3.Value=True")
            .unwrap()
            .job_group_params()
            .unwrap_err();
        assert!(error.message.contains("JobGroupParams.3.Key"));
        for bad in [
            "JobGroupParams.0.Key=A",
            "JobGroupParams.x.Key=A",
            "JobGroupParams.1.Name=A",
        ] {
            let error = parse(bad).unwrap().job_group_params().unwrap_err();
            assert_eq!(error.code, "InvalidParameter", "{bad}");
        }
    }
}
