//! `Secret`: a string that never prints itself, held in one buffer that is wiped when freed.
//!
//! Access key secrets and security tokens live in this type from the moment they are read
//! until the signer needs the bytes, so that no `Debug`, `Display`, log line or error message
//! can carry them by accident. The one way to the value is [`Secret::expose`], whose name
//! makes every use easy to find.
//!
//! A clone shares the same allocation (an `Arc`), so that however many parts of the program
//! hold the credentials (the provider, each issued set, the redactor), the secret is in
//! memory once; the buffer is overwritten with zeros (`zeroize`) when the last holder lets it
//! go. Code that needs the value in another shape (the signing key, an encoded form to scrub
//! from answers) builds it in a [`zeroize::Zeroizing`] buffer that lives only as long as the
//! one use.

use std::fmt;
use std::sync::Arc;

use zeroize::Zeroizing;

/// What a [`Secret`] prints instead of its value.
pub const REDACTED: &str = "***";

/// A credential value that prints as `***` in `Debug` and `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<Zeroizing<String>>);

impl Secret {
    /// Wraps a value; an owned `String` is taken as it is, without a copy.
    pub fn new(value: impl Into<String>) -> Self {
        Self(Arc::new(Zeroizing::new(value.into())))
    }

    /// The value itself, for the signer and nothing else.
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value.to_owned())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_value() {
        let secret = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{secret}"), "***");
        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(format!("{:?}", Some(secret.clone())), "Some(***)");
        assert_eq!(secret.expose(), "hunter2-very-secret");
    }

    #[test]
    fn clones_share_one_buffer() {
        let secret = Secret::new(String::from("hunter2-very-secret"));
        let clone = secret.clone();
        assert!(std::ptr::eq(
            secret.expose().as_ptr(),
            clone.expose().as_ptr()
        ));
        let credentials = crate::cloud::Credentials::new("id", secret.clone());
        assert!(std::ptr::eq(
            credentials.access_key_secret.expose().as_ptr(),
            secret.expose().as_ptr()
        ));
    }
}
