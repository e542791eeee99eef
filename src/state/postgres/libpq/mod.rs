//! libpq's rules for reaching a PostgreSQL server, kept together so that cityform accepts
//! what `psql` accepts: the connection string (URL or `key=value` form) and its one parser,
//! the `PG*` environment variables, the password file, `sslmode` and the certificates,
//! revocation lists and client certificates it brings in.
//!
//! Inside: `connection` (parsing, completion from the environment, redaction),
//! `connection_string` (what can be checked before connecting),
//! `password_file` (`~/.pgpass`), `tls` (`sslmode`, `sslrootcert`, the certificate checks),
//! `client_certificate` (`sslcert`, `sslkey`), `revocation` (`sslcrl`, `sslcrldir`),
//! `tls_connector` (the handshake, by `tokio-postgres-rustls`, with a message that names the
//! host and the mode when it fails).

mod client_certificate;
mod connection;
mod connection_string;
mod password_file;
mod revocation;
mod tls;
mod tls_connector;

pub use self::connection::redact;
pub(in crate::state::postgres) use self::connection::{ConnectionSettings, process_environment};
pub use self::connection_string::{ConnectionStringError, check_connection_string};
