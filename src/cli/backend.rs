//! Which state backend a command uses, and opening it.
//!
//! The backend is chosen by, first to last: `--backend`, `CITYFORM_BACKEND`, the `backend`
//! field of `cityform.yaml` in the current directory, and `local`. The workspace of a
//! PostgreSQL backend the same way: `--workspace`, `CITYFORM_WORKSPACE`, `workspace` in
//! `cityform.yaml`, `default`. [`resolve`] turns those into a [`BackendChoice`] without any
//! I/O; [`choose`] reads the environment and the file, and [`open`] locks the choice.
//!
//! `cityform.yaml` is read from the current directory only, whatever `-f` says: the state's
//! default path (`.cityform/state.json`) is relative to it too, and commands without
//! manifests (`state`, `refresh`) must find the same backend as `plan` and `apply`.
//!
//! A connection string may hold a password: every message here shows it through
//! [`redact_connection_string`], and [`BackendChoice`]'s `Debug` does too.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Deserialize;

use super::settings::{DEFAULT_STATE_PATH, StateArgs};
use crate::state::{
    AnyBackend, ConnectionStringError, DEFAULT_MAX_STATE_BYTES, DEFAULT_WORKSPACE, LocalBackend,
    LocalFileError, LockOptions, MAX_STATE_BYTES_VARIABLE, PostgresBackend, StateError,
    check_connection_string, redact_connection_string, validate_workspace,
};

/// The file, in the current directory, that may name the backend and the workspace.
pub const CONFIG_FILE: &str = "cityform.yaml";
/// The environment variable that names the backend.
pub const BACKEND_VARIABLE: &str = "CITYFORM_BACKEND";
/// The environment variable that names the workspace.
pub const WORKSPACE_VARIABLE: &str = "CITYFORM_WORKSPACE";

/// Which backend holds the state.
#[derive(Debug, Clone, Default, Args)]
pub struct BackendArgs {
    /// Where the state is kept: `local` (the file `--state` names) or a PostgreSQL connection
    /// string (`postgres://user@host:port/database`, or `host=... dbname=...`).
    ///
    /// Also `CITYFORM_BACKEND`, or `backend:` in `./cityform.yaml`; default `local`. The
    /// password comes from the string, `PGPASSWORD` or `~/.pgpass`, and is never shown
    /// (`docs/backends.md`).
    #[arg(long = "backend", value_name = "BACKEND")]
    pub backend: Option<String>,
    /// The workspace of a PostgreSQL backend: one of several independent states in its
    /// database (e.g. `staging`, `production`).
    ///
    /// Also `CITYFORM_WORKSPACE`, or `workspace:` in `./cityform.yaml`; default `default`.
    #[arg(long = "workspace", value_name = "NAME")]
    pub workspace: Option<String>,
}

/// The backend a command opens.
#[derive(Clone, PartialEq, Eq)]
pub enum BackendChoice {
    /// The local state file.
    Local {
        /// `state.json`.
        path: PathBuf,
    },
    /// A workspace of a PostgreSQL database.
    Postgres {
        /// The connection string as given (it may hold a password: never print it).
        url: String,
        /// The workspace.
        workspace: String,
    },
}

impl BackendChoice {
    /// Where the state is, for messages: a path, or the connection string without its
    /// password followed by `#workspace`.
    pub fn shown(&self) -> String {
        match self {
            Self::Local { path } => path.display().to_string(),
            Self::Postgres { url, workspace } => {
                format!("{}#{workspace}", redact_connection_string(url))
            }
        }
    }
}

impl fmt::Debug for BackendChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local { path } => f.debug_struct("Local").field("path", path).finish(),
            Self::Postgres { url, workspace } => f
                .debug_struct("Postgres")
                .field("url", &redact_connection_string(url))
                .field("workspace", workspace)
                .finish(),
        }
    }
}

/// Where a setting came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A command-line flag.
    Flag(&'static str),
    /// An environment variable.
    Environment(&'static str),
    /// A field of `cityform.yaml`.
    File {
        /// The file.
        path: PathBuf,
        /// The field.
        field: &'static str,
    },
}

impl Origin {
    /// Precedence: lower wins.
    fn rank(&self) -> usize {
        match self {
            Self::Flag(_) => 0,
            Self::Environment(_) => 1,
            Self::File { .. } => 2,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flag(flag) => write!(f, "`{flag}`"),
            Self::Environment(variable) => write!(f, "`{variable}`"),
            Self::File { path, field } => write!(f, "`{field}` in `{}`", path.display()),
        }
    }
}

/// `cityform.yaml`: the fields a project may set for every command run beside it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// As `--backend`.
    #[serde(default)]
    pub backend: Option<String>,
    /// As `--workspace`.
    #[serde(default)]
    pub workspace: Option<String>,
}

/// Why no backend could be chosen; nothing was opened.
#[derive(Debug, thiserror::Error)]
pub enum BackendSettingsError {
    /// The value names no backend.
    #[error(
        "{origin} is `{shown}`, which names no state backend: use `local`, a PostgreSQL URL \
         (`postgres://user@host:port/database` or `postgresql://...`), or libpq's keyword form \
         (`host=... dbname=... user=...`)"
    )]
    UnknownBackend {
        /// Where the value came from.
        origin: Origin,
        /// The value, any password removed.
        shown: String,
    },
    /// `sslmode` names no TLS mode libpq knows.
    #[error(
        "{origin} asks for `sslmode={mode}`, which is not a TLS mode: use `disable`, `allow`, \
         `prefer`, `require`, `verify-ca` or `verify-full` (see `docs/backends.md`)"
    )]
    UnknownSslMode {
        /// Where the value came from.
        origin: Origin,
        /// The value given.
        mode: String,
    },
    /// A password written in `cityform.yaml`, a file that ends up in version control.
    #[error(
        "`{}` holds a connection string with a password: that file usually ends up in version \
         control; remove the password and set `PGPASSWORD` or a `~/.pgpass` line instead",
        path.display()
    )]
    PasswordInFile {
        /// The file.
        path: PathBuf,
    },
    /// A workspace name PostgreSQL workspaces cannot have.
    #[error("{origin}: {reason}")]
    InvalidWorkspace {
        /// Where the name came from.
        origin: Origin,
        /// The library's words.
        reason: String,
    },
    /// A workspace named for the local backend, which has none.
    #[error(
        "{origin} names the workspace `{workspace}`, but the state backend is `local`, which has \
         no workspaces: choose a PostgreSQL backend with `--backend`, or keep separate local \
         states with `--state .cityform/{workspace}.json`"
    )]
    WorkspaceWithLocal {
        /// Where the name came from.
        origin: Origin,
        /// The name.
        workspace: String,
    },
    /// `--state` (or `CITYFORM_STATE`) with a PostgreSQL backend.
    #[error(
        "`--state {}` (or `CITYFORM_STATE`) names a state file, but {origin} chooses the \
         PostgreSQL state `{location}`: drop one of them",
        state.display()
    )]
    StateWithPostgres {
        /// The state file asked for.
        state: PathBuf,
        /// Where the backend came from.
        origin: Origin,
        /// The PostgreSQL state, without a password.
        location: String,
    },
    /// `cityform.yaml` could not be read.
    #[error("cannot read `{}`: {source}", path.display())]
    FileUnreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `cityform.yaml` is not what it should be.
    #[error(
        "`{}:{line}:{column}`: {message}; `cityform.yaml` may set `backend` and `workspace`",
        path.display()
    )]
    FileInvalid {
        /// The file.
        path: PathBuf,
        /// 1-based.
        line: usize,
        /// 1-based.
        column: usize,
        /// The parser's words.
        message: String,
    },
}

/// `cityform.yaml` as read from `directory`, with its path; `None` when there is none.
pub fn read_config_file(
    directory: &Path,
) -> Result<Option<(PathBuf, ConfigFile)>, BackendSettingsError> {
    let path = directory.join(CONFIG_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(BackendSettingsError::FileUnreadable { path, source }),
    };
    let file = parse_config_file(&path, &text)?;
    Ok(Some((path, file)))
}

/// Parses the text of `cityform.yaml`; an empty file sets nothing.
pub fn parse_config_file(path: &Path, text: &str) -> Result<ConfigFile, BackendSettingsError> {
    if text.trim().is_empty() {
        return Ok(ConfigFile::default());
    }
    serde_yaml::from_str(text).map_err(|error| {
        let (line, column) = error
            .location()
            .map_or((1, 1), |location| (location.line(), location.column()));
        let message = error.to_string();
        // The parser appends the position it knows; it is already in front.
        let message = match message.find(" at line ") {
            Some(index) => message[..index].to_owned(),
            None => message,
        };
        BackendSettingsError::FileInvalid {
            path: path.to_owned(),
            line,
            column,
            message,
        }
    })
}

/// The first value set among the flag, the environment variable and the file's field.
fn pick(
    flag: (&'static str, Option<&String>),
    variable: &'static str,
    environment: &BTreeMap<String, String>,
    file: Option<(&Path, &'static str, Option<&String>)>,
) -> Option<(String, Origin)> {
    if let Some(value) = flag.1 {
        return Some((value.clone(), Origin::Flag(flag.0)));
    }
    if let Some(value) = environment.get(variable).filter(|value| !value.is_empty()) {
        return Some((value.clone(), Origin::Environment(variable)));
    }
    let (path, field, value) = file?;
    value.map(|value| {
        (
            value.clone(),
            Origin::File {
                path: path.to_owned(),
                field,
            },
        )
    })
}

/// Chooses the backend from the flags, the environment and `cityform.yaml` (read already):
/// flag, then environment, then file, then `local` and `default`.
pub fn resolve(
    state: &StateArgs,
    environment: &BTreeMap<String, String>,
    file: Option<(&Path, &ConfigFile)>,
) -> Result<BackendChoice, BackendSettingsError> {
    let backend = pick(
        ("--backend", state.backend.backend.as_ref()),
        BACKEND_VARIABLE,
        environment,
        file.map(|(path, file)| (path, "backend", file.backend.as_ref())),
    );
    let workspace = pick(
        ("--workspace", state.backend.workspace.as_ref()),
        WORKSPACE_VARIABLE,
        environment,
        file.map(|(path, file)| (path, "workspace", file.workspace.as_ref())),
    );
    let Some((value, origin)) = backend.clone().filter(|(value, _)| value.trim() != "local") else {
        // A workspace is for PostgreSQL: with `local` it is a mistake, unless `local` was
        // chosen where it overrides the workspace's source (`--backend local` for a run,
        // with `CITYFORM_WORKSPACE` set for PostgreSQL runs).
        let local_rank = backend.map_or(usize::MAX, |(_, origin)| origin.rank());
        return match workspace {
            Some((workspace, origin))
                if workspace != DEFAULT_WORKSPACE && origin.rank() <= local_rank =>
            {
                Err(BackendSettingsError::WorkspaceWithLocal { origin, workspace })
            }
            _ => Ok(BackendChoice::Local {
                path: state.state.clone(),
            }),
        };
    };
    let url = postgres_url(&value, &origin)?;
    if let Origin::File { path, .. } = &origin
        && redact_connection_string(&url) != url.trim()
    {
        return Err(BackendSettingsError::PasswordInFile { path: path.clone() });
    }
    let workspace = match workspace {
        Some((name, workspace_origin)) => {
            validate_workspace(&name).map_err(|error| BackendSettingsError::InvalidWorkspace {
                origin: workspace_origin,
                reason: error.to_string(),
            })?;
            name
        }
        None => DEFAULT_WORKSPACE.to_owned(),
    };
    let choice = BackendChoice::Postgres { url, workspace };
    if state.state != Path::new(DEFAULT_STATE_PATH) {
        return Err(BackendSettingsError::StateWithPostgres {
            state: state.state.clone(),
            origin,
            location: choice.shown(),
        });
    }
    Ok(choice)
}

/// The connection string to hand the library, checked by the library's parser to be one,
/// with a known `sslmode` (the library does the rest of TLS, certificates included).
fn postgres_url(value: &str, origin: &Origin) -> Result<String, BackendSettingsError> {
    let trimmed = value.trim();
    match check_connection_string(trimmed) {
        Ok(()) => Ok(trimmed.to_owned()),
        Err(ConnectionStringError::NotAConnectionString) => {
            Err(BackendSettingsError::UnknownBackend {
                origin: origin.clone(),
                shown: redact_connection_string(trimmed),
            })
        }
        Err(ConnectionStringError::UnknownSslMode { mode }) => {
            Err(BackendSettingsError::UnknownSslMode {
                origin: origin.clone(),
                mode,
            })
        }
    }
}

/// [`resolve`] with the process's environment and the current directory's `cityform.yaml`.
pub fn choose(
    state: &StateArgs,
    environment: &BTreeMap<String, String>,
) -> Result<BackendChoice, BackendSettingsError> {
    // An empty directory joins to the bare file name, shown as such in messages.
    let file = read_config_file(Path::new(""))?;
    resolve(
        state,
        environment,
        file.as_ref().map(|(path, file)| (path.as_path(), file)),
    )
}

/// The state size limit: `CITYFORM_MAX_STATE_BYTES` from `environment`, or the default.
pub fn max_state_bytes(environment: &BTreeMap<String, String>) -> Result<u64, StateError> {
    match environment
        .get(MAX_STATE_BYTES_VARIABLE)
        .filter(|value| !value.is_empty())
    {
        None => Ok(DEFAULT_MAX_STATE_BYTES),
        Some(value) => value.trim().parse().map_err(|_| {
            LocalFileError::InvalidLimit {
                variable: MAX_STATE_BYTES_VARIABLE,
                value: value.clone(),
            }
            .into()
        }),
    }
}

/// Locks the chosen state, waiting up to `options.timeout` for another holder. A local
/// state is read up to the size limit `CITYFORM_MAX_STATE_BYTES` sets.
pub async fn open(choice: &BackendChoice, options: &LockOptions) -> Result<AnyBackend, StateError> {
    match choice {
        BackendChoice::Local { path } => {
            let max_bytes = max_state_bytes(&super::settings::process_environment())?;
            let (owned_path, owned_options) = (path.clone(), options.clone());
            // The file lock waits by blocking its thread.
            tokio::task::spawn_blocking(move || {
                LocalBackend::open(owned_path, &owned_options)
                    .map(|backend| backend.with_max_state_bytes(max_bytes))
            })
            .await
            .map_err(|error| LocalFileError::Lock {
                path: path.clone(),
                source: std::io::Error::other(error.to_string()),
            })?
            .map(AnyBackend::from)
        }
        BackendChoice::Postgres { url, workspace } => {
            PostgresBackend::open(url, workspace, options)
                .await
                .map(AnyBackend::from)
        }
    }
}

/// Chooses the backend for `command` (e.g. `cityform plan`) with the process's
/// `environment` and locks it.
pub async fn open_state(
    state: &StateArgs,
    command: &str,
    environment: &BTreeMap<String, String>,
) -> anyhow::Result<AnyBackend> {
    let choice = choose(state, environment)?;
    log_choice(&choice);
    let options = LockOptions::new(command).with_timeout(state.lock_timeout);
    Ok(open(&choice, &options).await?)
}

/// Logs which state a command uses: never the connection string's password.
fn log_choice(choice: &BackendChoice) {
    match choice {
        BackendChoice::Local { path } => {
            tracing::info!("using the local state `{}`", path.display());
        }
        BackendChoice::Postgres { url, workspace } => {
            let location = redact_connection_string(url);
            tracing::info!("using the PostgreSQL state `{location}`, workspace `{workspace}`");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::test_support::environment;

    fn state_args(state: &str, backend: Option<&str>, workspace: Option<&str>) -> StateArgs {
        StateArgs {
            state: PathBuf::from(state),
            lock_timeout: Duration::ZERO,
            backend: BackendArgs {
                backend: backend.map(str::to_owned),
                workspace: workspace.map(str::to_owned),
            },
        }
    }

    fn flags(backend: Option<&str>, workspace: Option<&str>) -> StateArgs {
        state_args(DEFAULT_STATE_PATH, backend, workspace)
    }

    fn file(backend: Option<&str>, workspace: Option<&str>) -> ConfigFile {
        ConfigFile {
            backend: backend.map(str::to_owned),
            workspace: workspace.map(str::to_owned),
        }
    }

    fn postgres(url: &str, workspace: &str) -> BackendChoice {
        BackendChoice::Postgres {
            url: url.to_owned(),
            workspace: workspace.to_owned(),
        }
    }

    const YAML: &str = "cityform.yaml";

    #[test]
    fn the_state_size_limit_comes_from_the_environment() {
        assert_eq!(
            max_state_bytes(&BTreeMap::new()).unwrap(),
            DEFAULT_MAX_STATE_BYTES
        );
        assert_eq!(
            max_state_bytes(&environment(&[(MAX_STATE_BYTES_VARIABLE, "2048")])).unwrap(),
            2048
        );
        let error = max_state_bytes(&environment(&[(MAX_STATE_BYTES_VARIABLE, "2G")])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`CITYFORM_MAX_STATE_BYTES` is `2G`, not a number of bytes"
        );
    }

    #[test]
    fn local_is_the_default() {
        let choice = resolve(&flags(None, None), &BTreeMap::new(), None).unwrap();
        assert_eq!(
            choice,
            BackendChoice::Local {
                path: PathBuf::from(DEFAULT_STATE_PATH)
            }
        );
        let choice = resolve(
            &state_args("other/state.json", Some("local"), Some("default")),
            &BTreeMap::new(),
            None,
        )
        .unwrap();
        assert_eq!(
            choice,
            BackendChoice::Local {
                path: PathBuf::from("other/state.json")
            }
        );
    }

    #[test]
    fn flag_beats_environment_beats_file_beats_default() {
        let yaml = file(Some("postgres://file@db/f"), Some("from-file"));
        let both = environment(&[
            (BACKEND_VARIABLE, "postgres://env@db/e"),
            (WORKSPACE_VARIABLE, "from-env"),
        ]);
        let path = Path::new(YAML);
        let cases = [
            (
                flags(Some("postgres://flag@db/x"), Some("from-flag")),
                both.clone(),
                postgres("postgres://flag@db/x", "from-flag"),
            ),
            (
                flags(None, None),
                both.clone(),
                postgres("postgres://env@db/e", "from-env"),
            ),
            (
                flags(None, None),
                BTreeMap::new(),
                postgres("postgres://file@db/f", "from-file"),
            ),
            (
                flags(None, Some("mixed")),
                environment(&[(BACKEND_VARIABLE, "")]),
                postgres("postgres://file@db/f", "mixed"),
            ),
        ];
        for (arguments, variables, expected) in cases {
            assert_eq!(
                resolve(&arguments, &variables, Some((path, &yaml))).unwrap(),
                expected
            );
        }
        // `local` given anywhere earlier wins over a file's PostgreSQL backend.
        let choice = resolve(
            &flags(Some("local"), None),
            &BTreeMap::new(),
            Some((path, &file(Some("postgres://file@db/f"), None))),
        )
        .unwrap();
        assert!(matches!(choice, BackendChoice::Local { .. }));
        // Without any workspace: `default`.
        let choice = resolve(
            &flags(Some("host=db dbname=s"), None),
            &BTreeMap::new(),
            None,
        );
        assert_eq!(choice.unwrap(), postgres("host=db dbname=s", "default"));
    }

    #[test]
    fn anything_but_local_or_a_connection_string_is_refused_without_its_password() {
        for value in ["pg", "mysql://app:s3cret@db/x", "./state.json", "Local"] {
            let error = resolve(&flags(Some(value), None), &BTreeMap::new(), None).unwrap_err();
            let message = error.to_string();
            assert!(!message.contains("s3cret"), "{message}");
            assert!(message.contains("names no state backend"), "{message}");
        }
        let error = resolve(
            &flags(None, None),
            &environment(&[(BACKEND_VARIABLE, "mysql://app:s3cret@db/x")]),
            None,
        )
        .unwrap_err();
        insta::assert_snapshot!(error, @"`CITYFORM_BACKEND` is `mysql://app@db/x`, which names no state backend: use `local`, a PostgreSQL URL (`postgres://user@host:port/database` or `postgresql://...`), or libpq's keyword form (`host=... dbname=... user=...`)");
    }

    #[test]
    fn every_libpq_tls_mode_is_passed_on_and_an_unknown_one_is_refused() {
        for mode in [
            "disable",
            "allow",
            "prefer",
            "require",
            "verify-ca",
            "verify-full",
        ] {
            let url = format!("postgres://db/x?a=1&sslmode={mode}&sslrootcert=/etc/ca.pem");
            assert_eq!(
                resolve(&flags(Some(&url), None), &BTreeMap::new(), None).unwrap(),
                postgres(&url, "default")
            );
            let keywords = format!("sslrootcert=/etc/ca.pem host=db sslmode={mode} dbname=x");
            assert_eq!(
                resolve(&flags(Some(&keywords), None), &BTreeMap::new(), None).unwrap(),
                postgres(&keywords, "default")
            );
        }
        for keywords in [
            "sslcert=/etc/client.crt sslkey=/etc/client.key host=db dbname=x",
            "channel_binding=require host=db dbname=x",
        ] {
            assert_eq!(
                resolve(&flags(Some(keywords), None), &BTreeMap::new(), None).unwrap(),
                postgres(keywords, "default")
            );
        }
        let error = resolve(
            &flags(Some("postgres://app:s3cret@db/x?sslmode=verify_full"), None),
            &BTreeMap::new(),
            None,
        )
        .unwrap_err();
        insta::assert_snapshot!(error, @"`--backend` asks for `sslmode=verify_full`, which is not a TLS mode: use `disable`, `allow`, `prefer`, `require`, `verify-ca` or `verify-full` (see `docs/backends.md`)");
        let keywords = "host=db sslmode='on'";
        let error = resolve(&flags(Some(keywords), None), &BTreeMap::new(), None).unwrap_err();
        assert!(matches!(
            error,
            BackendSettingsError::UnknownSslMode { ref mode, .. } if mode == "on"
        ));
    }

    #[test]
    fn workspaces_are_checked_and_only_for_postgres() {
        let error = resolve(
            &flags(Some("postgres://db/x"), Some("a b")),
            &BTreeMap::new(),
            None,
        )
        .unwrap_err();
        insta::assert_snapshot!(error, @"`--workspace`: invalid workspace name `a b`: ` ` is not allowed: use letters, digits, `-`, `_` and `.`");
        let error = resolve(
            &flags(None, None),
            &environment(&[(WORKSPACE_VARIABLE, "staging")]),
            None,
        )
        .unwrap_err();
        insta::assert_snapshot!(error, @"`CITYFORM_WORKSPACE` names the workspace `staging`, but the state backend is `local`, which has no workspaces: choose a PostgreSQL backend with `--backend`, or keep separate local states with `--state .cityform/staging.json`");
        // `local` given explicitly where it overrides the workspace's source: no mistake.
        let staging = environment(&[(WORKSPACE_VARIABLE, "staging")]);
        let choice = resolve(&flags(Some("local"), None), &staging, None).unwrap();
        assert!(matches!(choice, BackendChoice::Local { .. }));
        let both = environment(&[(WORKSPACE_VARIABLE, "staging"), (BACKEND_VARIABLE, "local")]);
        assert!(resolve(&flags(None, None), &both, None).is_err());
        let yaml = file(None, Some("staging"));
        let local = environment(&[(BACKEND_VARIABLE, "local")]);
        let path = Path::new(YAML);
        assert!(resolve(&flags(None, None), &local, Some((path, &yaml))).is_ok());
        assert!(resolve(&flags(None, None), &BTreeMap::new(), Some((path, &yaml))).is_err());
        let error = resolve(
            &flags(Some("postgres://db/x"), Some(&"w".repeat(64))),
            &BTreeMap::new(),
            None,
        )
        .unwrap_err();
        assert!(error.to_string().contains("1 to 63 characters"), "{error}");
    }

    #[test]
    fn a_state_file_with_postgres_is_refused() {
        let error = resolve(
            &state_args("elsewhere.json", Some("postgres://app:s3cret@db/x"), None),
            &BTreeMap::new(),
            None,
        )
        .unwrap_err();
        insta::assert_snapshot!(error, @"`--state elsewhere.json` (or `CITYFORM_STATE`) names a state file, but `--backend` chooses the PostgreSQL state `postgres://app@db/x#default`: drop one of them");
    }

    #[test]
    fn a_password_in_the_file_is_refused_but_not_in_a_flag() {
        let path = Path::new(YAML);
        let yaml = file(Some("postgres://app:s3cret@db/x"), None);
        let error = resolve(&flags(None, None), &BTreeMap::new(), Some((path, &yaml))).unwrap_err();
        assert!(!error.to_string().contains("s3cret"), "{error}");
        assert!(matches!(error, BackendSettingsError::PasswordInFile { .. }));
        let choice = resolve(
            &flags(Some("postgres://app:s3cret@db/x"), None),
            &BTreeMap::new(),
            Some((path, &yaml)),
        )
        .unwrap();
        assert_eq!(choice.shown(), "postgres://app@db/x#default");
        assert!(!format!("{choice:?}").contains("s3cret"));
    }

    #[test]
    fn the_config_file_is_strict_and_located() {
        let path = Path::new(YAML);
        assert_eq!(
            parse_config_file(path, "backend: postgres://db/x\nworkspace: staging\n").unwrap(),
            file(Some("postgres://db/x"), Some("staging"))
        );
        assert_eq!(
            parse_config_file(path, "# nothing yet\n").unwrap(),
            ConfigFile::default()
        );
        let error = parse_config_file(path, "backend: local\nworkspaces: staging\n").unwrap_err();
        insta::assert_snapshot!(error, @"`cityform.yaml:2:1`: unknown field `workspaces`, expected `backend` or `workspace`; `cityform.yaml` may set `backend` and `workspace`");
        let error = parse_config_file(path, "backend: [local]\n").unwrap_err();
        insta::assert_snapshot!(error, @"`cityform.yaml:1:10`: backend: invalid type: sequence, expected a string; `cityform.yaml` may set `backend` and `workspace`");
    }

    #[test]
    fn the_config_file_is_read_from_a_directory() {
        let directory = tempfile::tempdir().unwrap();
        assert!(read_config_file(directory.path()).unwrap().is_none());
        std::fs::write(directory.path().join(CONFIG_FILE), "workspace: prod\n").unwrap();
        let (path, file) = read_config_file(directory.path()).unwrap().unwrap();
        assert_eq!(path, directory.path().join(CONFIG_FILE));
        assert_eq!(file.workspace.as_deref(), Some("prod"));
    }
}
