//! Scrubbing text that came from the network before it reaches an error message or a log.
//!
//! The service may echo what it received: `SignatureDoesNotMatch` quotes the server's
//! string-to-sign, which contains the security token (percent-encoded twice). A proxy's error
//! page may contain anything. So every string taken from a response passes through a
//! [`Redactor`] that knows the credentials' secret values in every encoding a request gives
//! them, and through [`excerpt`], which makes an arbitrary body short and printable.

use super::credentials::Credentials;
use zeroize::Zeroizing;

use super::secret::{REDACTED, Secret};
use super::signer::percent_encode;

/// How many characters of an unexpected body an error message quotes.
pub const EXCERPT_CHARACTERS: usize = 200;

/// Replaces the secret values of one set of credentials, in each encoding a request could
/// carry them in, with `***`.
///
/// It holds the secrets themselves (sharing their one buffer), not copies: the encoded forms
/// are made when text is scrubbed, in buffers wiped right after.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Vec<Secret>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    /// A redactor for `credentials`' secret and security token.
    pub fn new(credentials: &Credentials) -> Self {
        let secrets = std::iter::once(&credentials.access_key_secret)
            .chain(credentials.security_token.as_ref())
            .filter(|secret| !secret.expose().is_empty())
            .cloned()
            .collect();
        Self { secrets }
    }

    /// `text` with every occurrence of a secret replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut needles: Vec<Zeroizing<String>> = Vec::new();
        for secret in &self.secrets {
            let plain = secret.expose();
            let once = Zeroizing::new(percent_encode(plain));
            let twice = Zeroizing::new(percent_encode(&once));
            // Form bodies written by other tools may use `+` for spaces.
            let form = Zeroizing::new(plain.replace(' ', "+"));
            needles.extend([Zeroizing::new(plain.to_owned()), once, twice, form]);
        }
        needles.sort_by_key(|needle| std::cmp::Reverse(needle.len()));
        needles.dedup();
        let mut redacted = text.to_owned();
        for needle in &needles {
            if redacted.contains(needle.as_str()) {
                redacted = redacted.replace(needle.as_str(), REDACTED);
            }
        }
        redacted
    }
}

/// A short, single-line, printable rendering of an arbitrary body: tags removed when it looks
/// like HTML, control characters and runs of white space turned into one space, at most
/// [`EXCERPT_CHARACTERS`] characters (then `…`).
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let looks_like_html = text.trim_start().starts_with('<');
    let mut visible = String::with_capacity(text.len().min(4 * EXCERPT_CHARACTERS));
    let mut inside_tag = false;
    for character in text.chars() {
        match character {
            '<' if looks_like_html => {
                inside_tag = true;
                visible.push(' ');
            }
            '>' if looks_like_html && inside_tag => inside_tag = false,
            _ if inside_tag => {}
            character if character.is_control() || character.is_whitespace() => {
                visible.push(' ');
            }
            character => visible.push(character),
        }
        if visible.len() > 8 * EXCERPT_CHARACTERS {
            break;
        }
    }
    let words: Vec<&str> = visible.split_whitespace().collect();
    let collapsed = words.join(" ");
    let mut shortened: String = collapsed.chars().take(EXCERPT_CHARACTERS).collect();
    if collapsed.chars().count() > EXCERPT_CHARACTERS {
        shortened.push('…');
    }
    shortened
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn removes_secrets_in_every_encoding() {
        let credentials = Credentials::new("LTAIid", "my secret/key")
            .with_security_token("CAIS+token/with=stuff");
        let redactor = Redactor::new(&credentials);
        let token_once = percent_encode("CAIS+token/with=stuff");
        let token_twice = percent_encode(&token_once);
        let text = format!(
            "plain my secret/key, form my+secret/key, once {token_once}, twice {token_twice}, raw CAIS+token/with=stuff"
        );
        let redacted = redactor.redact(&text);
        assert_eq!(
            redacted,
            "plain ***, form ***, once ***, twice ***, raw ***"
        );
        assert_eq!(redactor.redact("LTAIid stays"), "LTAIid stays");
    }

    #[test]
    fn an_html_error_page_becomes_one_readable_line() {
        let page = b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
        assert_eq!(excerpt(page), "502 Bad Gateway 502 Bad Gateway nginx");
    }

    #[test]
    fn long_or_binary_bodies_are_cut_and_made_printable() {
        let long = "x".repeat(10_000);
        let shown = excerpt(long.as_bytes());
        assert_eq!(shown.chars().count(), EXCERPT_CHARACTERS + 1);
        assert!(shown.ends_with('…'));
        let binary = [
            0_u8, 159, 146, 150, 7, b'o', b'k', 27, b'[', b'3', b'1', b'm',
        ];
        let shown = excerpt(&binary);
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        assert!(shown.contains("ok"));
        assert_eq!(excerpt(b""), "");
    }
}
