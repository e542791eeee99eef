//! What can be told of a connection string before anything is read or connected: whether it
//! is one at all (a `postgres://` URL or libpq's `key=value` form), and whether its
//! `sslmode` is one libpq knows. Commands check a `--backend` value with this before they
//! wait for a lock; [`super::connection`] parses it in full when it connects.

use super::connection::split_key_values;
use super::tls::{self, Mode, TLS_PARAMETERS};

/// The URL schemes libpq accepts.
const URL_SCHEMES: [&str; 2] = ["postgres://", "postgresql://"];

/// Keywords, besides the TLS ones, that a keyword-form connection string may start with.
const LEADING_KEYWORDS: [&str; 9] = [
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "channel_binding",
    "application_name",
    "options",
];

/// Why a text cannot be a connection string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionStringError {
    /// Neither a `postgres://` or `postgresql://` URL nor `keyword=value` pairs starting with
    /// a keyword libpq knows.
    #[error("not a PostgreSQL URL nor libpq's `keyword=value` form")]
    NotAConnectionString,
    /// `sslmode` names no mode libpq knows.
    #[error("`sslmode` is `{mode}`, which is not a TLS mode")]
    UnknownSslMode {
        /// The value, unquoted and decoded.
        mode: String,
    },
}

/// Checks that `text` is a connection string whose `sslmode`, if it has one, is libpq's.
pub fn check_connection_string(text: &str) -> Result<(), ConnectionStringError> {
    let trimmed = text.trim();
    let is_url = URL_SCHEMES.iter().any(|scheme| trimmed.starts_with(scheme));
    if !is_url && !starts_with_a_keyword(trimmed) {
        return Err(ConnectionStringError::NotAConnectionString);
    }
    let (_, parameters) = tls::take_parameters(trimmed);
    match parameters.mode {
        Some(mode) if Mode::from_name(&mode).is_none() => {
            Err(ConnectionStringError::UnknownSslMode { mode })
        }
        _ => Ok(()),
    }
}

/// libpq's keyword form: the first `key=value` pair names a known keyword.
fn starts_with_a_keyword(text: &str) -> bool {
    let (pairs, _) = split_key_values(text);
    pairs.first().is_some_and(|pair| {
        LEADING_KEYWORDS.contains(&pair.key) || TLS_PARAMETERS.contains(&pair.key)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_the_keyword_form_are_connection_strings() {
        for text in [
            "postgres://db/x",
            " postgresql://app@db:5433/x?sslmode=verify-full ",
            "host=db dbname=x",
            "host = db",
            "sslrootcert=/etc/ca.pem host=db",
            "channel_binding=require host=db",
        ] {
            assert_eq!(check_connection_string(text), Ok(()), "{text}");
        }
        for text in [
            "local",
            "pg",
            "mysql://db/x",
            "./state.json",
            "colour=blue",
            "host",
        ] {
            assert_eq!(
                check_connection_string(text),
                Err(ConnectionStringError::NotAConnectionString),
                "{text}"
            );
        }
    }

    #[test]
    fn every_libpq_tls_mode_is_known_and_others_are_named() {
        for mode in [
            "disable",
            "allow",
            "prefer",
            "require",
            "verify-ca",
            "verify-full",
        ] {
            assert_eq!(
                check_connection_string(&format!("postgres://db/x?a=1&sslmode={mode}")),
                Ok(())
            );
            assert_eq!(
                check_connection_string(&format!("host=db sslmode='{mode}'")),
                Ok(())
            );
        }
        let unknown = |mode: &str| {
            Err(ConnectionStringError::UnknownSslMode {
                mode: mode.to_owned(),
            })
        };
        assert_eq!(
            check_connection_string("postgres://db/x?sslmode=verify_full"),
            unknown("verify_full")
        );
        assert_eq!(
            check_connection_string("host=db sslmode='on'"),
            unknown("on")
        );
        // Spaces around `=` are libpq's too.
        assert_eq!(
            check_connection_string("host=db sslmode = on"),
            unknown("on")
        );
    }
}
