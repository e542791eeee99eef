//! The libpq password file (`~/.pgpass`, or `PGPASSFILE`): `host:port:database:user:password`
//! lines, `*` matching anything, `\:` and `\\` escaping.

use std::path::Path;

/// What a line must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Query {
    /// The host name, or the socket directory.
    pub host: String,
    /// True when `host` is a Unix socket directory: then a line for `localhost` matches too,
    /// as in libpq.
    pub socket: bool,
    /// The port.
    pub port: u16,
    /// The database.
    pub database: String,
    /// The user.
    pub user: String,
}

/// The password of the first line of the file at `path` that matches `query`.
///
/// As libpq does, a file that others may read is ignored (with a warning), and so is a
/// file that does not exist or cannot be read.
pub(super) fn lookup(path: &Path, query: &Query) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(
                "password file `{}` is readable by others (mode {:o}); it is ignored: run `chmod 600` on it",
                path.display(),
                mode & 0o777
            );
            return None;
        }
    }
    let text = std::fs::read_to_string(path).ok()?;
    find(&text, query)
}

/// The password of the first line of `text` that matches `query`.
fn find(text: &str, query: &Query) -> Option<String> {
    let port = query.port.to_string();
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(fields)
        .find(|fields| {
            let host_matches =
                matches(&fields[0], &query.host) || (query.socket && fields[0] == "localhost");
            host_matches
                && matches(&fields[1], &port)
                && matches(&fields[2], &query.database)
                && matches(&fields[3], &query.user)
        })
        .map(|mut fields| fields.swap_remove(4))
}

fn matches(field: &str, value: &str) -> bool {
    field == "*" || field == value
}

/// The five fields of a line, unescaped; `None` for a line with fewer.
fn fields(line: &str) -> Option<Vec<String>> {
    let mut fields = vec![String::new()];
    let mut characters = line.chars();
    while let Some(character) = characters.next() {
        match character {
            '\\' => {
                if let Some(next) = characters.next() {
                    fields.last_mut()?.push(next);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            _ => fields.last_mut()?.push(character),
        }
    }
    (fields.len() == 5).then_some(fields)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn query(host: &str, socket: bool) -> Query {
        Query {
            host: host.into(),
            socket,
            port: 5432,
            database: "cityform".into(),
            user: "app".into(),
        }
    }

    #[test]
    fn the_first_matching_line_wins_and_wildcards_match_anything() {
        let text = "db:5432:other:app:no\n\
                    db:*:cityform:app:first\n\
                    *:*:*:*:fallback\n";
        assert_eq!(find(text, &query("db", false)).as_deref(), Some("first"));
        assert_eq!(
            find(text, &query("elsewhere", false)).as_deref(),
            Some("fallback")
        );
    }

    #[test]
    fn escapes_and_comments_are_understood() {
        let text = "# db:5432:cityform:app:commented\n\
                    db:5432:cityform:app:a\\:b\\\\c:d\n";
        assert_eq!(find(text, &query("db", false)).as_deref(), Some("a:b\\c:d"));
    }

    #[test]
    fn a_socket_connection_matches_localhost_lines() {
        let text = "localhost:5432:cityform:app:local\n";
        assert_eq!(
            find(text, &query("/var/run/postgresql", true)).as_deref(),
            Some("local")
        );
        assert_eq!(find(text, &query("db", false)), None);
    }

    #[test]
    fn short_lines_are_skipped() {
        assert_eq!(find("db:5432:cityform\n", &query("db", false)), None);
    }

    #[cfg(unix)]
    #[test]
    fn a_file_others_can_read_is_ignored() {
        use std::os::unix::fs::PermissionsExt;
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("pgpass");
        std::fs::write(&path, "*:*:*:*:secret\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(lookup(&path, &query("db", false)), None);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            lookup(&path, &query("db", false)).as_deref(),
            Some("secret")
        );
    }
}
