//! The job-group name rule (`InvalidName.Malformed`), shared by the validator and the emulator.
//!
//! The service does not document its rule; cityform's choice is written down in
//! `docs/manifest.md`: 2–128 characters, the first a letter or a CJK character, the rest
//! letters, digits, CJK characters, `.`, `_` or `-`.

/// Why a name breaks the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Fewer than 2 or more than 128 characters.
    #[error("must be 2 to 128 characters long, not {0}")]
    Length(usize),
    /// The first character is not a letter or a CJK character.
    #[error("must start with a letter or a CJK character, not `{0}`")]
    FirstCharacter(char),
    /// A character outside the allowed set.
    #[error("may contain only letters, digits, CJK characters, `.`, `_` and `-`, not `{0}`")]
    Character(char),
}

/// Checks a `JobGroupName` against the name rule.
pub fn validate_job_group_name(name: &str) -> Result<(), NameError> {
    let length = name.chars().count();
    if !(2..=128).contains(&length) {
        return Err(NameError::Length(length));
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
            || matches!(character, '.' | '_' | '-');
        if !allowed {
            return Err(NameError::Character(character));
        }
    }
    Ok(())
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
        }
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
            validate_job_group_name("ab c"),
            Err(NameError::Character(' '))
        );
        assert_eq!(
            validate_job_group_name("ab/c"),
            Err(NameError::Character('/'))
        );
    }
}
