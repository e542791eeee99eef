//! The client certificate a PostgreSQL connection presents, as libpq finds it: `sslcert` and
//! `sslkey` (or `PGSSLCERT` and `PGSSLKEY`), else `~/.postgresql/postgresql.crt` and
//! `~/.postgresql/postgresql.key` when that certificate file exists.
//!
//! Where libpq quietly goes on without a certificate file it was told to use, this says so:
//! a named file that is missing is a mistake, not a request to connect without one. Like
//! libpq, it refuses a key file that others can read. The key's contents never appear in a
//! message.

use std::io;
use std::path::{Path, PathBuf};

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::connection::Environment;
use super::tls::{libpq_file, read_pem_file};

/// A certificate chain and the private key of its first certificate.
pub(super) struct ClientIdentity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

/// Where the files come from, for messages.
#[derive(Debug, Clone, Copy)]
enum Origin {
    /// `sslcert` / `sslkey` or their environment variables.
    Named,
    /// libpq's default place in the home directory.
    Default,
}

/// The identity `certificate` and `key` (the parameters, when given) name; `None` when
/// neither they nor the default certificate file exist. The error is a reason, for a
/// message about the connection string.
pub(super) fn load(
    certificate: Option<String>,
    key: Option<String>,
    environment: Environment<'_>,
) -> Result<Option<ClientIdentity>, String> {
    let certificate = certificate.or_else(|| environment("PGSSLCERT"));
    let key = key.or_else(|| environment("PGSSLKEY"));
    let (certificate, origin) = match certificate {
        Some(path) => (PathBuf::from(path), Origin::Named),
        None => match libpq_file(environment, "postgresql.crt") {
            Some(default) if default.exists() => (default, Origin::Default),
            _ => return Ok(None),
        },
    };
    let key = match key {
        Some(path) => PathBuf::from(path),
        None => libpq_file(environment, "postgresql.key").ok_or_else(|| {
            format!(
                "the client certificate `{}` needs its private key: set `sslkey=PATH`",
                certificate.display()
            )
        })?,
    };
    let chain = read_chain(&certificate, origin)?;
    check_key_permissions(&key)?;
    let key = PrivateKeyDer::from_pem_file(&key).map_err(|error| key_error(&key, &error))?;
    Ok(Some(ClientIdentity { chain, key }))
}

fn read_chain(path: &Path, origin: Origin) -> Result<Vec<CertificateDer<'static>>, String> {
    let named = match origin {
        Origin::Named => "`sslcert`",
        Origin::Default => "the default client certificate",
    };
    read_pem_file(path, "client certificate", named, "CERTIFICATE")
}

/// libpq's rule: the key may be readable by its owner only, or also by the group when root
/// owns it (a key managed by the system, shared through a group).
#[cfg(unix)]
fn check_key_permissions(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(path).map_err(|error| cannot_read_key(path, &error))?;
    let mode = metadata.mode() & 0o777;
    let allowed = if metadata.uid() == 0 { 0o640 } else { 0o600 };
    if mode & !allowed != 0 {
        return Err(format!(
            "the private key file `{}` can be read by others (mode {mode:04o}): make it \
             readable by its owner only (`chmod 600`)",
            path.display()
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_key_permissions(path: &Path) -> Result<(), String> {
    std::fs::metadata(path)
        .map(|_| ())
        .map_err(|error| cannot_read_key(path, &error))
}

fn cannot_read_key(path: &Path, error: &io::Error) -> String {
    format!(
        "cannot read the private key file `{}` (`sslkey`): {error}",
        path.display()
    )
}

fn key_error(path: &Path, error: &pem::Error) -> String {
    match error {
        pem::Error::Io(error) => cannot_read_key(path, error),
        pem::Error::NoItemsFound => format!(
            "the private key file `{}` holds no unencrypted private key (`BEGIN PRIVATE KEY`, \
             `BEGIN RSA PRIVATE KEY` or `BEGIN EC PRIVATE KEY`); encrypted keys are not \
             supported",
            path.display()
        ),
        other => format!(
            "the private key file `{}` is not PEM: {other}",
            path.display()
        ),
    }
}

#[cfg(all(test, unix))]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::HashMap;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn load_with(
        certificate: Option<&Path>,
        key: Option<&Path>,
        variables: &[(&str, &Path)],
    ) -> Result<Option<ClientIdentity>, String> {
        let variables: HashMap<String, String> = variables
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.display().to_string()))
            .collect();
        load(
            certificate.map(|path| path.display().to_string()),
            key.map(|path| path.display().to_string()),
            &|name| variables.get(name).cloned(),
        )
    }

    /// A certificate and its key in `directory` as `name.crt` and `name.key` (mode 0600).
    fn identity_files(directory: &Path, name: &str) -> (PathBuf, PathBuf) {
        let generated = rcgen::generate_simple_self_signed(vec!["client".to_owned()]).unwrap();
        let certificate = directory.join(format!("{name}.crt"));
        let key = directory.join(format!("{name}.key"));
        std::fs::write(&certificate, generated.cert.pem()).unwrap();
        std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        (certificate, key)
    }

    #[test]
    fn named_files_are_read_and_nothing_is_presented_without_any() {
        let directory = tempfile::tempdir().unwrap();
        let (certificate, key) = identity_files(directory.path(), "client");

        let identity = load_with(Some(&certificate), Some(&key), &[])
            .unwrap()
            .unwrap();
        assert_eq!(identity.chain.len(), 1);
        let identity = load_with(
            None,
            None,
            &[("PGSSLCERT", &certificate), ("PGSSLKEY", &key)],
        )
        .unwrap()
        .unwrap();
        assert_eq!(identity.chain.len(), 1);

        // No parameter and no default certificate in the home directory: none.
        assert!(
            load_with(None, None, &[("HOME", directory.path())])
                .unwrap()
                .is_none()
        );
        assert!(load_with(None, None, &[]).unwrap().is_none());
    }

    #[test]
    fn the_default_files_are_libpqs() {
        let home = tempfile::tempdir().unwrap();
        let defaults = home.path().join(".postgresql");
        std::fs::create_dir(&defaults).unwrap();
        identity_files(&defaults, "postgresql");

        let identity = load_with(None, None, &[("HOME", home.path())]).unwrap();
        assert!(identity.is_some());
    }

    #[test]
    fn mistakes_are_explained_without_the_key() {
        let directory = tempfile::tempdir().unwrap();
        let (certificate, key) = identity_files(directory.path(), "client");
        let key_text = std::fs::read_to_string(&key).unwrap();
        let reason = |certificate: Option<&Path>, key: Option<&Path>| {
            let reason = load_with(certificate, key, &[]).err().unwrap();
            assert!(
                !reason.contains(key_text.lines().nth(1).unwrap()),
                "{reason}"
            );
            reason.replace(&directory.path().display().to_string(), "DIR")
        };

        let missing = directory.path().join("missing.crt");
        assert!(reason(Some(&missing), Some(&key)).starts_with(
            "cannot read the client certificate file `DIR/missing.crt` (`sslcert`): "
        ),);
        insta::assert_snapshot!(reason(Some(&certificate), None), @"the client certificate `DIR/client.crt` needs its private key: set `sslkey=PATH`");

        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        insta::assert_snapshot!(reason(Some(&certificate), Some(&key)), @"the private key file `DIR/client.key` can be read by others (mode 0644): make it readable by its owner only (`chmod 600`)");

        std::fs::write(
            &key,
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
        )
        .unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        insta::assert_snapshot!(reason(Some(&certificate), Some(&key)), @"the private key file `DIR/client.key` holds no unencrypted private key (`BEGIN PRIVATE KEY`, `BEGIN RSA PRIVATE KEY` or `BEGIN EC PRIVATE KEY`); encrypted keys are not supported");

        std::fs::write(&certificate, "not a certificate\n").unwrap();
        insta::assert_snapshot!(reason(Some(&certificate), Some(&key)), @"the client certificate file `DIR/client.crt` holds no `BEGIN CERTIFICATE` block");
    }
}
