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
    /// The first character is not an ASCII letter or a CJK character.
    #[error("must start with an ASCII letter or a CJK character, {}", refused(*.0))]
    FirstCharacter(char),
    /// A character outside the allowed set.
    #[error(
        "may contain only ASCII letters, digits, CJK characters, `:`, `.`, `_` and `-`, {}",
        refused(*.0)
    )]
    Character(char),
}

/// The end of a message about a refused character: `not `/``, or for a letter of another
/// alphabet (a Cyrillic `а` looks like a Latin `a`) that it is not an ASCII one.
fn refused(character: char) -> String {
    if character.is_alphabetic() && !character.is_ascii() {
        format!("and {} is a letter, but not an ASCII one", shown(character))
    } else {
        format!("not {}", shown(character))
    }
}

/// A character as a message shows it: in backticks, with its code point when it is not
/// ASCII (`а` (U+0430)); only its code point when it does not show on its own (a combining
/// mark would merge with the backtick, a zero-width space would not show at all).
pub fn shown(character: char) -> String {
    let code_point = format!("U+{:04X}", u32::from(character));
    if character.is_ascii_graphic() || character == ' ' {
        format!("`{character}`")
    } else if character.is_control()
        || character.is_whitespace()
        || is_invisible_or_combining(character)
    {
        code_point
    } else {
        format!("`{character}` ({code_point})")
    }
}

/// Combining marks and characters with no glyph of their own, in the blocks where they are
/// common; what they would do next to a backtick is merge with it or vanish.
fn is_invisible_or_combining(character: char) -> bool {
    matches!(character,
        '\u{0300}'..='\u{036F}'
        | '\u{0483}'..='\u{0489}'
        | '\u{0591}'..='\u{05C7}'
        | '\u{0610}'..='\u{061A}'
        | '\u{064B}'..='\u{065F}'
        | '\u{0E31}' | '\u{0E34}'..='\u{0E3A}' | '\u{0E47}'..='\u{0E4E}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{3099}' | '\u{309A}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FE20}'..='\u{FE2F}'
        | '\u{FEFF}'
        | '\u{E0000}'..='\u{E01EF}')
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

    /// A Cyrillic `а` looks like a Latin `a`: the message names it and says which letters
    /// are meant.
    #[test]
    fn a_letter_of_another_alphabet_is_named_with_its_code_point() {
        let error = validate_job_group_name("tr\u{430}ffic").unwrap_err();
        assert_eq!(error, NameError::Character('\u{430}'));
        assert_eq!(
            error.to_string(),
            "may contain only ASCII letters, digits, CJK characters, `:`, `.`, `_` and `-`, and `\u{430}` (U+0430) is a letter, but not an ASCII one"
        );
        assert_eq!(
            validate_job_group_name("\u{e9}cole")
                .unwrap_err()
                .to_string(),
            "must start with an ASCII letter or a CJK character, and `\u{e9}` (U+00E9) is a letter, but not an ASCII one"
        );
        assert_eq!(
            validate_job_group_name("ab c").unwrap_err().to_string(),
            "may contain only ASCII letters, digits, CJK characters, `:`, `.`, `_` and `-`, not ` `"
        );
    }

    /// A combining mark alone would merge with the backtick before it.
    #[test]
    fn a_character_that_does_not_show_alone_is_named_by_its_code_point_only() {
        assert_eq!(
            validate_job_group_name("e\u{301}x")
                .unwrap_err()
                .to_string(),
            "may contain only ASCII letters, digits, CJK characters, `:`, `.`, `_` and `-`, not U+0301"
        );
        assert_eq!(shown('\u{200b}'), "U+200B");
        assert_eq!(shown('\u{a0}'), "U+00A0");
        assert_eq!(shown('\u{2603}'), "`\u{2603}` (U+2603)");
        assert_eq!(shown('x'), "`x`");
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
