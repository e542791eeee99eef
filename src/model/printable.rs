//! Text from manifests, state files and answers, made safe to show on a terminal or in a
//! pull-request comment.
//!
//! Anyone who can open a pull request writes manifests, and a state file or an answer may
//! hold whatever its writer chose. A control character (an escape sequence, a carriage
//! return, a newline) in such text could rewrite what a reviewer sees, for example hide a
//! line of a plan; a bidirectional override could show text in another order than it has.
//! Every such character is shown as its escape (`\u{1b}`) instead.

use std::borrow::Cow;

/// `text` with every control character and bidirectional formatting character replaced by
/// its Rust escape; borrowed when there is none.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 8);
    for character in text.chars() {
        if needs_escape(character) {
            shown.extend(character.escape_debug());
        } else {
            shown.push(character);
        }
    }
    Cow::Owned(shown)
}

fn needs_escape(character: char) -> bool {
    character.is_control()
        || matches!(
            character,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        for text in ["traffic-east", "交通-东", "a \"quoted\" `value`", ""] {
            assert!(matches!(printable(text), Cow::Borrowed(same) if same == text));
        }
    }

    #[test]
    fn control_and_bidirectional_characters_become_escapes() {
        assert_eq!(printable("a\u{1b}[2K\rb"), "a\\u{1b}[2K\\rb");
        assert_eq!(printable("line\nnext\ttab\0"), "line\\nnext\\ttab\\0");
        assert_eq!(printable("x\u{202e}y\u{2066}z"), "x\\u{202e}y\\u{2066}z");
        assert_eq!(printable("\u{85}"), "\\u{85}");
    }
}
