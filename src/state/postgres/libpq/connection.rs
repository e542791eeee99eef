//! Where the database is and how to log in: a libpq-style connection string, completed from
//! the `PG*` environment variables and the password file as libpq completes it, and shown
//! without its password; its TLS parameters go to [`super::tls`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_postgres::config::Host;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{Client, Config, NoTls, Socket};

use super::password_file;
use super::tls::{self, Tls};
use crate::state::PostgresError;
use crate::state::StateError;
use crate::state::postgres::failure;

/// Used when neither the connection string nor `PGPORT` names a port.
const DEFAULT_PORT: u16 = 5432;

/// Used when the connection string sets no `connect_timeout`: an unreachable server is an
/// error after this long, not a hang.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where libpq looks for a server's Unix socket when no host is given (Debian's packages,
/// then upstream's default).
const DEFAULT_SOCKET_DIRECTORIES: [&str; 2] = ["/var/run/postgresql", "/tmp"];

/// A complete connection configuration, password included, and how to show it.
///
/// `Debug` shows only the redacted form: the configuration may hold a password.
pub(in crate::state::postgres) struct ConnectionSettings {
    config: Config,
    tls: Tls,
    shown: String,
}

impl std::fmt::Debug for ConnectionSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionSettings")
            .field("shown", &self.shown)
            .finish_non_exhaustive()
    }
}

/// Reads one environment variable; a parameter so that tests need not change the process's.
pub(in crate::state::postgres) type Environment<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process's environment, as [`ConnectionSettings::resolve`] reads it.
pub(in crate::state::postgres) fn process_environment(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

impl ConnectionSettings {
    /// Parses `url` (`postgres://user:password@host:port/database?sslmode=...`, or libpq's
    /// `host=... dbname=...` form) and fills in what it leaves out as libpq would: host,
    /// port, user, database and password from `PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE` and
    /// `PGPASSWORD`, then the password from `PGPASSFILE` or `~/.pgpass`; `sslmode` and
    /// `sslrootcert` from `PGSSLMODE` and `PGSSLROOTCERT`, `sslcert` and `sslkey` from
    /// `PGSSLCERT` and `PGSSLKEY` (see [`super::tls`]).
    pub fn resolve(url: &str, environment: Environment<'_>) -> Result<Self, StateError> {
        let invalid = |reason: String| PostgresError::DatabaseUrl {
            url: redact(url),
            reason,
        };
        if has_unescaped_at_in_user_information(url) {
            // The library would take the text after the first `@` for the host, and show
            // that part of the password in every message about the host.
            return Err(invalid(
                "the user name or password holds an `@`; write it as `%40`".to_owned(),
            )
            .into());
        }
        let (without_tls, tls_parameters) = tls::take_parameters(url);
        let mut config: Config = without_tls
            .parse()
            .map_err(|error: tokio_postgres::Error| invalid(failure::describe(&error)))?;
        let tls = tls::resolve(tls_parameters, environment).map_err(invalid)?;
        config.ssl_mode(tls.ssl_mode());
        if config.get_ports().is_empty()
            && let Some(port) = environment("PGPORT")
        {
            let port = port
                .parse()
                .map_err(|_| invalid(format!("`PGPORT` is `{port}`, not a port number")))?;
            config.port(port);
        }
        if config.get_hosts().is_empty() {
            match environment("PGHOST") {
                Some(hosts) => {
                    for host in hosts.split(',') {
                        config.host(host);
                    }
                }
                None => {
                    let port = config.get_ports().first().copied().unwrap_or(DEFAULT_PORT);
                    config.host(default_host(port));
                }
            }
        }
        if config.get_user().is_none() {
            let user = environment("PGUSER")
                .or_else(|| environment("USER"))
                .or_else(|| environment("LOGNAME"))
                .ok_or_else(|| {
                    invalid("no user name: put one in the connection string or set `PGUSER`".into())
                })?;
            config.user(user);
        }
        if config.get_dbname().is_none()
            && let Some(database) = environment("PGDATABASE")
        {
            config.dbname(database);
        }
        if config.get_password().is_none() {
            let password = environment("PGPASSWORD").or_else(|| {
                let file = password_file_path(environment)?;
                password_file::lookup(&file, &password_file_query(&config))
            });
            if let Some(password) = password {
                config.password(password);
            }
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("cityform");
        }
        let shown = show(&config);
        tracing::debug!(
            "PostgreSQL state `{shown}`: `sslmode={}`, certificates checked as `{}`",
            tls.mode().name(),
            tls.checked_as().name()
        );
        Ok(Self { config, tls, shown })
    }

    /// The connection as `postgres://user@host:port/database`, never with a password.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Opens a connection, driven by a task on the current Tokio runtime until the returned
    /// client is dropped or the server closes it.
    pub async fn connect(&self) -> Result<Client, tokio_postgres::Error> {
        match self.tls.connector() {
            Some(connector) => connect_with(&self.config, connector.clone()).await,
            None => connect_with(&self.config, NoTls).await,
        }
    }
}

async fn connect_with<T>(config: &Config, tls: T) -> Result<Client, tokio_postgres::Error>
where
    T: MakeTlsConnect<Socket>,
    T::Stream: Send + 'static,
{
    let (client, connection) = config.connect(tls).await?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!("a PostgreSQL state connection ended: {error}");
        }
    });
    Ok(client)
}

/// The default socket directory that has a socket for `port`, else `localhost`.
fn default_host(port: u16) -> String {
    DEFAULT_SOCKET_DIRECTORIES
        .iter()
        .find(|directory| {
            Path::new(directory)
                .join(format!(".s.PGSQL.{port}"))
                .exists()
        })
        .map_or_else(
            || "localhost".to_owned(),
            |directory| (*directory).to_owned(),
        )
}

fn password_file_path(environment: Environment<'_>) -> Option<PathBuf> {
    if let Some(path) = environment("PGPASSFILE") {
        return Some(PathBuf::from(path));
    }
    environment("HOME").map(|home| Path::new(&home).join(".pgpass"))
}

/// What a password file line must match: the first host, its port, the database, the user.
fn password_file_query(config: &Config) -> password_file::Query {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(name)) => name.clone(),
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    let user = config.get_user().unwrap_or_default().to_owned();
    password_file::Query {
        socket: matches!(config.get_hosts().first(), Some(Host::Unix(_))),
        host,
        port: config.get_ports().first().copied().unwrap_or(DEFAULT_PORT),
        database: config
            .get_dbname()
            .map_or_else(|| user.clone(), str::to_owned),
        user,
    }
}

/// `postgres://user@host:port/database`; a socket directory goes in `?host=`.
fn show(config: &Config) -> String {
    let user = config.get_user().unwrap_or_default();
    let mut network = Vec::new();
    let mut sockets = Vec::new();
    let ports = config.get_ports();
    for (index, host) in config.get_hosts().iter().enumerate() {
        let port = ports
            .get(index)
            .or_else(|| ports.first())
            .copied()
            .unwrap_or(DEFAULT_PORT);
        match host {
            Host::Tcp(name) if port == DEFAULT_PORT => network.push(name.clone()),
            Host::Tcp(name) => network.push(format!("{name}:{port}")),
            Host::Unix(path) => sockets.push((path.display().to_string(), port)),
        }
    }
    let database = config.get_dbname().unwrap_or(user);
    let mut shown = format!("postgres://{user}@{}/{database}", network.join(","));
    let mut separator = '?';
    for (path, port) in sockets {
        shown.push_str(&format!("{separator}host={path}"));
        separator = '&';
        if port != DEFAULT_PORT {
            shown.push_str(&format!("&port={port}"));
        }
    }
    shown
}

/// Whether the authority of a `postgres://` URL has more than one `@`.
fn has_unescaped_at_in_user_information(url: &str) -> bool {
    let Some((_, rest)) = url.trim().split_once("://") else {
        return false;
    };
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    authority.matches('@').count() > 1
}

/// The connection string with any password taken out, for messages about a string that
/// could not be parsed (or not be opened yet).
pub fn redact(url: &str) -> String {
    let trimmed = url.trim();
    if let Some((scheme, rest)) = trimmed.split_once("://") {
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        let authority = match authority.rsplit_once('@') {
            // An `@` that is not written `%40` in the user name or password: where one
            // ends cannot be known, so nothing before the last `@` is shown.
            Some((user_info, hosts)) if user_info.contains('@') => format!("***@{hosts}"),
            Some((user_info, hosts)) => {
                let user = user_info
                    .split_once(':')
                    .map_or(user_info, |(user, _)| user);
                format!("{user}@{hosts}")
            }
            None => authority.to_owned(),
        };
        let tail = match tail.split_once('?') {
            Some((path, query)) => {
                let kept: Vec<&str> = query
                    .split('&')
                    .filter(|pair| !pair.starts_with("password="))
                    .collect();
                if kept.is_empty() {
                    path.to_owned()
                } else {
                    format!("{path}?{}", kept.join("&"))
                }
            }
            None => tail.to_owned(),
        };
        return format!("{scheme}://{authority}{tail}");
    }
    redact_key_values(trimmed)
}

/// Drops `password = value` from libpq's `key=value` form (values may be single-quoted
/// with backslash escapes).
fn redact_key_values(text: &str) -> String {
    let (pairs, remainder) = split_key_values(text);
    let mut kept: Vec<&str> = pairs
        .into_iter()
        .filter(|pair| pair.key != "password")
        .map(|pair| pair.text)
        .collect();
    kept.extend(remainder);
    kept.join(" ")
}

/// One `key = value` of libpq's keyword form.
pub(super) struct KeyValue<'a> {
    /// The keyword.
    pub key: &'a str,
    /// The value as written, quotes included.
    pub value: &'a str,
    /// The whole pair as written.
    pub text: &'a str,
}

/// The pairs of libpq's `key=value` form, and whatever follows the last one that is not a
/// pair.
pub(super) fn split_key_values(text: &str) -> (Vec<KeyValue<'_>>, Option<&str>) {
    let mut pairs = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let key_end = rest
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(rest.len());
        let key = &rest[..key_end];
        let after_key = rest[key_end..].trim_start();
        let Some(after_equals) = after_key.strip_prefix('=') else {
            return (pairs, Some(rest));
        };
        let value_start = after_equals.trim_start();
        let value_length = value_length(value_start);
        let pair_length = rest.len() - value_start.len() + value_length;
        pairs.push(KeyValue {
            key,
            value: &value_start[..value_length],
            text: &rest[..pair_length],
        });
        rest = rest[pair_length..].trim_start();
    }
    (pairs, None)
}

fn value_length(value: &str) -> usize {
    if let Some(quoted) = value.strip_prefix('\'') {
        let mut escaped = false;
        for (index, character) in quoted.char_indices() {
            match character {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '\'' => return index + 2,
                _ => {}
            }
        }
        return value.len();
    }
    value.find(char::is_whitespace).unwrap_or(value.len())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::HashMap;

    use tokio_postgres::config::SslMode;

    use super::*;

    fn resolve(url: &str, variables: &[(&str, &str)]) -> Result<ConnectionSettings, StateError> {
        let variables: HashMap<String, String> = variables
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        ConnectionSettings::resolve(url, &|name| variables.get(name).cloned())
    }

    fn password(settings: &ConnectionSettings) -> Option<String> {
        settings
            .config
            .get_password()
            .map(|bytes| String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[test]
    fn a_url_is_shown_without_its_password() {
        let settings = resolve(
            "postgres://app:s3cret@db.internal:6432/cityform?sslmode=disable",
            &[],
        )
        .unwrap();
        assert_eq!(settings.shown(), "postgres://app@db.internal:6432/cityform");
        assert_eq!(password(&settings).as_deref(), Some("s3cret"));
        assert!(!format!("{settings:?}").contains("s3cret"));
    }

    #[test]
    fn a_socket_directory_is_shown_as_a_host_parameter() {
        let settings = resolve("postgres://app@/cityform?host=/run/pg&port=6000", &[]).unwrap();
        assert_eq!(
            settings.shown(),
            "postgres://app@/cityform?host=/run/pg&port=6000"
        );
        let settings = resolve("host=/run/pg user=app dbname=states", &[]).unwrap();
        assert_eq!(settings.shown(), "postgres://app@/states?host=/run/pg");
    }

    #[test]
    fn the_environment_fills_in_what_the_url_leaves_out() {
        let settings = resolve(
            "postgres:///cityform",
            &[
                ("PGHOST", "db.internal"),
                ("PGPORT", "6543"),
                ("PGUSER", "deployer"),
                ("PGPASSWORD", "from-environment"),
            ],
        )
        .unwrap();
        assert_eq!(
            settings.shown(),
            "postgres://deployer@db.internal:6543/cityform"
        );
        assert_eq!(password(&settings).as_deref(), Some("from-environment"));

        let settings = resolve(
            "postgres://app:in-url@db/cityform",
            &[("PGPASSWORD", "from-environment"), ("PGDATABASE", "other")],
        )
        .unwrap();
        assert_eq!(password(&settings).as_deref(), Some("in-url"));
        assert_eq!(settings.shown(), "postgres://app@db/cityform");
    }

    #[cfg(unix)]
    #[test]
    fn the_password_file_is_read_when_no_password_is_given() {
        use std::os::unix::fs::PermissionsExt;
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("pgpass");
        std::fs::write(
            &file,
            "# comment\nother:*:*:*:wrong\ndb:5432:cityform:app:from\\:file\n",
        )
        .unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let passfile = file.to_str().unwrap();

        let settings = resolve("postgres://app@db/cityform", &[("PGPASSFILE", passfile)]).unwrap();

        assert_eq!(password(&settings).as_deref(), Some("from:file"));
        let home = directory.path().to_str().unwrap();
        std::fs::rename(&file, directory.path().join(".pgpass")).unwrap();
        let settings = resolve("postgres://app@db/cityform", &[("HOME", home)]).unwrap();
        assert_eq!(password(&settings).as_deref(), Some("from:file"));
    }

    #[test]
    fn an_unparsable_url_is_reported_without_its_password() {
        let error = resolve("postgres://app:s3cret@db/cityform?colour=blue", &[])
            .err()
            .unwrap();
        let message = error.to_string();
        assert!(!message.contains("s3cret"), "{message}");
        assert_eq!(
            message,
            "cannot use the PostgreSQL connection string `postgres://app@db/cityform?colour=blue`: \
             invalid connection string: unknown option `colour`"
        );
    }

    #[test]
    fn tls_parameters_are_taken_out_before_the_client_library_parses_the_rest() {
        let settings = resolve(
            "postgres://app:s3cret@db/cityform?sslmode=verify-ca&sslrootcert=/no/such/ca.pem",
            &[],
        )
        .err()
        .unwrap();
        let message = settings.to_string();
        assert!(!message.contains("s3cret"), "{message}");
        assert!(
            message.contains("cannot read the root certificate file `/no/such/ca.pem`"),
            "{message}"
        );

        let settings = resolve("postgres://app@db/cityform?sslmode=require", &[]).unwrap();
        assert_eq!(settings.config.get_ssl_mode(), SslMode::Require);
        assert!(settings.tls.connector().is_some());
        let settings = resolve("host=db user=app sslmode=allow", &[]).unwrap();
        assert_eq!(settings.config.get_ssl_mode(), SslMode::Prefer);
        let settings = resolve("host=db user=app", &[("PGSSLMODE", "disable")]).unwrap();
        assert_eq!(settings.config.get_ssl_mode(), SslMode::Disable);
        assert!(settings.tls.connector().is_none());
    }

    #[test]
    fn an_unknown_tls_mode_is_refused() {
        let error = resolve("postgres://app:s3cret@db/cityform?sslmode=on", &[])
            .err()
            .unwrap();
        insta::assert_snapshot!(error, @"cannot use the PostgreSQL connection string `postgres://app@db/cityform?sslmode=on`: `sslmode` is `on`, which is not a TLS mode: use `disable`, `allow`, `prefer`, `require`, `verify-ca` or `verify-full`");
    }

    #[test]
    fn a_missing_user_is_named() {
        let error = resolve("postgres://db/cityform", &[]).err().unwrap();
        assert!(
            error
                .to_string()
                .ends_with("no user name: put one in the connection string or set `PGUSER`"),
            "{error}"
        );
    }

    #[test]
    fn redaction_removes_passwords_in_every_form() {
        let cases = [
            ("postgres://app:pw@host/db", "postgres://app@host/db"),
            (
                "postgresql://app:p%40w@h1,h2:5433/db?x=1",
                "postgresql://app@h1,h2:5433/db?x=1",
            ),
            (
                "postgres://h/db?user=app&password=pw&sslmode=disable",
                "postgres://h/db?user=app&sslmode=disable",
            ),
            ("postgres://h/db?password=pw", "postgres://h/db"),
            ("host=h password=pw user=app", "host=h user=app"),
            ("host=h password = 'p w\\'x' dbname=d", "host=h dbname=d"),
            ("host=h password=", "host=h"),
            // An `@` in the password that is not written `%40`: where the
            // user name ends cannot be known, so everything before the last `@` goes.
            ("postgres://bob:PW@XQ1@host/db", "postgres://***@host/db"),
            ("postgres://bob@PW:X@host/db", "postgres://***@host/db"),
        ];
        for (url, expected) in cases {
            assert_eq!(redact(url), expected, "{url}");
        }
    }

    /// The library read `bob:PW@XQ1@host` as the host `XQ1@host`, and the message about it
    /// showed `XQ1`, part of the password.
    #[test]
    fn an_unescaped_at_sign_in_the_user_information_is_refused_without_showing_it() {
        let error = resolve("postgres://bob:PW@XQ1@host/db", &[]).unwrap_err();
        let message = error.to_string();
        assert!(
            !message.contains("XQ1") && !message.contains("PW"),
            "{message}"
        );
        assert_eq!(
            message,
            "cannot use the PostgreSQL connection string `postgres://***@host/db`: \
             the user name or password holds an `@`; write it as `%40`"
        );
    }
}
