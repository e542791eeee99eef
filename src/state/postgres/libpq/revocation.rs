//! Certificate revocation lists for the PostgreSQL state's TLS, as libpq finds them:
//! `sslcrl` (or `PGSSLCRL`), a PEM file of CRLs, else `~/.postgresql/root.crl` when it
//! exists. They apply whenever the server's certificate chain is checked.
//!
//! Where libpq quietly goes on without a file it was told to use, this says so: a named CRL
//! file that is missing or holds no CRL is a mistake, not a request to skip revocation.
//! `sslcrldir` (an OpenSSL hashed directory) is refused with the way to do without it.

use std::path::PathBuf;

use rustls::pki_types::CertificateRevocationListDer;

use super::connection::Environment;
use super::tls::{libpq_file, read_pem_file};

/// The CRLs `named` (`sslcrl`, when given) and `directory` (`sslcrldir`) call for: empty
/// when neither they nor the default file exist. The error is a reason, for a message about
/// the connection string.
pub(super) fn load(
    named: Option<String>,
    directory: Option<String>,
    environment: Environment<'_>,
) -> Result<Vec<CertificateRevocationListDer<'static>>, String> {
    if let Some(directory) = directory.or_else(|| environment("PGSSLCRLDIR")) {
        return Err(format!(
            "`sslcrldir` (`{directory}`) is not supported: put the revocation lists into one \
             PEM file and name it with `sslcrl=PATH`"
        ));
    }
    let path = match named.or_else(|| environment("PGSSLCRL")) {
        Some(path) => PathBuf::from(path),
        None => match libpq_file(environment, "root.crl") {
            Some(default) if default.exists() => default,
            _ => return Ok(Vec::new()),
        },
    };
    read_pem_file(&path, "certificate revocation list", "`sslcrl`", "X509 CRL")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// A CRL signed by a fresh authority, revoking `serial`, as PEM.
    fn crl_pem(serial: u64) -> String {
        let mut authority = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        authority.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let issuer =
            rcgen::CertifiedIssuer::self_signed(authority, rcgen::KeyPair::generate().unwrap())
                .unwrap();
        let now = time::OffsetDateTime::now_utc();
        rcgen::CertificateRevocationListParams {
            this_update: now,
            next_update: now + time::Duration::days(1),
            crl_number: rcgen::SerialNumber::from(1),
            issuing_distribution_point: None,
            revoked_certs: vec![rcgen::RevokedCertParams {
                serial_number: rcgen::SerialNumber::from(serial),
                revocation_time: now,
                reason_code: None,
                invalidity_date: None,
            }],
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        }
        .signed_by(&issuer)
        .unwrap()
        .pem()
        .unwrap()
    }

    fn load_with(
        named: Option<&str>,
        directory: Option<&str>,
        variables: &[(&str, &str)],
    ) -> Result<usize, String> {
        let variables: BTreeMap<String, String> = variables
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        let environment = |name: &str| variables.get(name).cloned();
        load(
            named.map(str::to_owned),
            directory.map(str::to_owned),
            &environment,
        )
        .map(|lists| lists.len())
    }

    #[test]
    fn a_named_file_its_variable_and_the_default_are_read() {
        let home = tempfile::tempdir().unwrap();
        let file = home.path().join("lists.pem");
        std::fs::write(&file, format!("{}{}", crl_pem(7), crl_pem(8))).unwrap();
        let file = file.to_str().unwrap();
        assert_eq!(load_with(Some(file), None, &[]), Ok(2));
        assert_eq!(load_with(None, None, &[("PGSSLCRL", file)]), Ok(2));

        let home_text = home.path().to_str().unwrap();
        assert_eq!(load_with(None, None, &[("HOME", home_text)]), Ok(0));
        std::fs::create_dir(home.path().join(".postgresql")).unwrap();
        std::fs::write(home.path().join(".postgresql/root.crl"), crl_pem(9)).unwrap();
        assert_eq!(load_with(None, None, &[("HOME", home_text)]), Ok(1));
    }

    #[test]
    fn a_missing_or_empty_file_and_a_directory_are_refused() {
        let directory = tempfile::tempdir().unwrap();
        let missing = directory.path().join("missing.crl");
        let error = load_with(missing.to_str(), None, &[]).unwrap_err();
        assert!(
            error.starts_with("cannot read the certificate revocation list file")
                && error.contains("missing.crl"),
            "{error}"
        );

        let empty = directory.path().join("empty.crl");
        std::fs::write(&empty, "not a list\n").unwrap();
        let error = load_with(empty.to_str(), None, &[]).unwrap_err();
        assert!(error.contains("holds no `BEGIN X509 CRL` block"), "{error}");

        let error = load_with(None, Some("/etc/crls"), &[]).unwrap_err();
        assert!(
            error.contains("`sslcrldir` (`/etc/crls`) is not supported"),
            "{error}"
        );
        let error = load_with(None, None, &[("PGSSLCRLDIR", "/etc/crls")]).unwrap_err();
        assert!(error.contains("not supported"), "{error}");
    }
}
