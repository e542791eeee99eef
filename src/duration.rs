//! Durations as people write them in flags: one grammar for every flag that takes one
//! (`--lock-timeout`, `--wait-timeout`, `force-unlock --wait`, the duration form of
//! `history --since`, the emulator's `--sts-duration`).
//!
//! The grammar is `humantime`'s: whole or decimal numbers each followed by a unit, written
//! together or apart (`250ms`, `30s`, `5m`, `1h30m`, `7d`, `2w`, `1h 30min`; units `ns`,
//! `us`, `ms`, `s`, `m`, `h`, `d`, `w`, `M` (30.44 days), `y` (365.25 days) and their long
//! names), and `0`. One addition: a bare whole number counts as seconds (`30` is `30s`),
//! as these flags have always read it.

use std::time::Duration;

/// A flag's text that is not a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a duration: {reason}; write e.g. `0`, `30s`, `5m`, `1h30m` or `250ms`")]
pub struct InvalidDuration {
    /// The text as given.
    pub text: String,
    /// What the parser found wrong.
    pub reason: String,
}

/// Reads `text` as a duration; surrounding whitespace is ignored.
pub fn parse_duration(text: &str) -> Result<Duration, InvalidDuration> {
    let trimmed = text.trim();
    let parsed = if !trimmed.is_empty() && trimmed.bytes().all(|byte| byte.is_ascii_digit()) {
        humantime::parse_duration(&format!("{trimmed}s"))
    } else {
        humantime::parse_duration(trimmed)
    };
    parsed.map_err(|error| InvalidDuration {
        text: text.to_owned(),
        reason: error.to_string(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_spelling_the_flags_have_accepted() {
        let cases = [
            ("0", Duration::ZERO),
            ("30", Duration::from_secs(30)),
            (" 30s ", Duration::from_secs(30)),
            ("5m", Duration::from_secs(300)),
            ("10m", Duration::from_secs(600)),
            ("1h", Duration::from_secs(3_600)),
            ("250ms", Duration::from_millis(250)),
            ("7d", Duration::from_secs(7 * 86_400)),
            ("2w", Duration::from_secs(14 * 86_400)),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_duration(text), Ok(expected), "{text:?}");
        }
    }

    #[test]
    fn accepts_humantimes_combinations_and_names() {
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_duration("1h 30min"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_duration("10 minutes"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1_500)));
    }

    #[test]
    fn refuses_anything_else_and_says_why() {
        for text in [
            "",
            " ",
            "s",
            "-1",
            "-7d",
            "soon",
            "5 parsecs",
            "1h30",
            "0x10",
        ] {
            let error = parse_duration(text).unwrap_err();
            assert!(
                error
                    .to_string()
                    .starts_with(&format!("`{text}` is not a duration: ")),
                "{error}"
            );
        }
        insta::assert_snapshot!(parse_duration("5x").unwrap_err(), @r#"`5x` is not a duration: unknown time unit "x", supported units: ns, us/µs, ms, sec, min, hours, days, weeks, months, years (and few variations); write e.g. `0`, `30s`, `5m`, `1h30m` or `250ms`"#);
        insta::assert_snapshot!(parse_duration("99999999999999999999").unwrap_err(), @"`99999999999999999999` is not a duration: number is too large or cannot be represented without a lack of precision (values below 1ns are not supported); write e.g. `0`, `30s`, `5m`, `1h30m` or `250ms`");
    }
}
