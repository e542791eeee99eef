//! The job-group name rule (`InvalidName.Malformed`), shared by the manifest validator, the
//! state commands and the emulator.
//!
//! Two sources document it, and they disagree on one character each:
//! - the ModifyJobGroup reference page (the service's own API reference): 2 to 128
//!   characters, the first a letter or a Chinese character, then letters, Chinese characters,
//!   digits, `:`, `_` or `-`, never starting with `http://` or `https://`;
//! - the SDK models' rule (the usual Alibaba Cloud one): the same, with `.` instead of `:`.
//!
//! Either may be what the service enforces, so cityform accepts the union
//! ([`validate_job_group_name`]) and reports a character only one rule allows
//! ([`single_rule_characters`]): the manifest validator turns those into warnings. The choice is
//! written down in `docs/manifest.md`.

use std::fmt;

/// Why a name breaks the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Fewer than 2 or more than 128 characters.
    #[error("must be 2 to 128 characters long, not {0}")]
    Length(usize),
    /// Starts with `http://` or `https://` (in any case).
    #[error("must not start with `{0}`")]
    UrlPrefix(String),
    /// The first character is not a letter or a CJK character.
    #[error("must start with a letter or a CJK character, not `{0}`")]
    FirstCharacter(char),
    /// A character outside the allowed set.
    #[error("may contain only letters, digits, CJK characters, `:`, `.`, `_` and `-`, not `{0}`")]
    Character(char),
}

/// One of the two documented name rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameRuleSource {
    /// The ModifyJobGroup reference page: allows `:`, not `.`.
    ReferencePage,
    /// The SDK models' rule: allows `.`, not `:`.
    SdkModel,
}

impl fmt::Display for NameRuleSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameRuleSource::ReferencePage => "the ModifyJobGroup reference page",
            NameRuleSource::SdkModel => "the SDK model's rule",
        })
    }
}

/// A character of a valid name that only one of the two rules allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SingleRuleCharacter {
    /// The character, `:` or `.`.
    pub character: char,
    /// The rule that allows it; the other one does not.
    pub allowed_by: NameRuleSource,
}

/// The prefixes the reference page forbids.
const URL_PREFIXES: [&str; 2] = ["http://", "https://"];

/// Checks a `JobGroupName` against the union of the two documented rules.
pub fn validate_job_group_name(name: &str) -> Result<(), NameError> {
    let length = name.chars().count();
    if !(2..=128).contains(&length) {
        return Err(NameError::Length(length));
    }
    if let Some(prefix) = URL_PREFIXES.into_iter().find(|prefix| {
        name.get(..prefix.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
    }) {
        return Err(NameError::UrlPrefix(prefix.to_owned()));
    }
    let mut characters = name.chars();
    if let Some(first) = characters.next()
        && !(first.is_ascii_alphabetic() || is_cjk(first))
    {
        return Err(NameError::FirstCharacter(first));
    }
    for character in characters {
        let allowed = character.is_ascii_alphanumeric()
            || is_cjk(character)
            || matches!(character, ':' | '.' | '_' | '-');
        if !allowed {
            return Err(NameError::Character(character));
        }
    }
    Ok(())
}

/// The characters of `name` that only one rule allows, each once, in the order they first
/// appear: `:` (reference page only) and `.` (SDK model only).
pub fn single_rule_characters(name: &str) -> Vec<SingleRuleCharacter> {
    let mut found: Vec<SingleRuleCharacter> = Vec::new();
    for character in name.chars() {
        let allowed_by = match character {
            ':' => NameRuleSource::ReferencePage,
            '.' => NameRuleSource::SdkModel,
            _ => continue,
        };
        if found.iter().all(|seen| seen.character != character) {
            found.push(SingleRuleCharacter {
                character,
                allowed_by,
            });
        }
    }
    found
}

/// CJK Unified Ideographs and their common extensions; what "Chinese characters" means in
/// Alibaba Cloud's naming rules.
fn is_cjk(character: char) -> bool {
    matches!(character,
        '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2A6DF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_typical_names() {
        for name in [
            "traffic-east",
            "JobGroupName",
            "a1",
            "交通东区",
            "v1.2_beta-3",
        ] {
            assert_eq!(validate_job_group_name(name), Ok(()), "{name}");
            assert_eq!(
                single_rule_characters(name).len(),
                usize::from(name.contains('.'))
            );
        }
    }

    /// The reference page allows `:`; the service accepts `cam:east-01`.
    #[test]
    fn accepts_what_either_rule_allows() {
        for name in ["cam:east-01", "a.b", "视频:任务.1", "http-east", "https"] {
            assert_eq!(validate_job_group_name(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn names_each_character_only_one_rule_allows_once() {
        assert_eq!(
            single_rule_characters("cam:east:01"),
            vec![SingleRuleCharacter {
                character: ':',
                allowed_by: NameRuleSource::ReferencePage
            }]
        );
        assert_eq!(
            single_rule_characters("v1.2:x."),
            vec![
                SingleRuleCharacter {
                    character: '.',
                    allowed_by: NameRuleSource::SdkModel
                },
                SingleRuleCharacter {
                    character: ':',
                    allowed_by: NameRuleSource::ReferencePage
                },
            ]
        );
        assert!(single_rule_characters("traffic-east_1").is_empty());
    }

    #[test]
    fn rejects_names_that_break_the_rule() {
        assert_eq!(validate_job_group_name("a"), Err(NameError::Length(1)));
        assert_eq!(
            validate_job_group_name(&"a".repeat(129)),
            Err(NameError::Length(129))
        );
        assert_eq!(
            validate_job_group_name("1abc"),
            Err(NameError::FirstCharacter('1'))
        );
        assert_eq!(
            validate_job_group_name("-abc"),
            Err(NameError::FirstCharacter('-'))
        );
        assert_eq!(
            validate_job_group_name(":abc"),
            Err(NameError::FirstCharacter(':'))
        );
        assert_eq!(
            validate_job_group_name("ab c"),
            Err(NameError::Character(' '))
        );
        assert_eq!(
            validate_job_group_name("ab/c"),
            Err(NameError::Character('/'))
        );
    }

    #[test]
    fn rejects_names_that_start_like_a_url() {
        for (name, prefix) in [
            ("http://x", "http://"),
            ("https://x", "https://"),
            ("HTTP://camera", "http://"),
            ("Https://camera", "https://"),
        ] {
            assert_eq!(
                validate_job_group_name(name),
                Err(NameError::UrlPrefix(prefix.into())),
                "{name}"
            );
        }
        assert_eq!(
            NameError::UrlPrefix("http://".into()).to_string(),
            "must not start with `http://`"
        );
    }
}
