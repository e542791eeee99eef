//! libpq's TLS modes for the PostgreSQL state: `sslmode` and `sslrootcert` taken out of the
//! connection string (the client library knows neither `verify-ca`, `verify-full` nor
//! `sslrootcert`), the root certificates they name, and the rustls configuration that checks
//! what each mode promises.
//!
//! | mode | TLS | certificate chain | host name |
//! |---|---|---|---|
//! | `disable` | never | – | – |
//! | `allow`, `prefer` (default) | when the server offers it | not checked | not checked |
//! | `require` | always | checked only when a root certificate file is given or exists | not checked |
//! | `verify-ca` | always | checked | not checked |
//! | `verify-full` | always | checked | checked |
//!
//! The root certificates come from `sslrootcert` (or `PGSSLROOTCERT`), a PEM file, else from
//! `~/.postgresql/root.crt` as libpq looks for them; `sslrootcert=system` means the
//! well-known public roots and, as in libpq, asks for `verify-full`. A client certificate
//! (`sslcert`, `sslkey`) is presented when the server asks for one
//! ([`super::client_certificate`]). Certificate revocation lists (`sslcrl`) apply whenever
//! the chain is checked ([`super::revocation`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres::config::SslMode;

use super::connection::Environment;
use super::tls_connector::RustlsMakeConnect;
use super::{client_certificate, revocation};

/// The `sslrootcert` value that names the well-known public roots instead of a file.
const SYSTEM_ROOTS: &str = "system";

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Never TLS.
    Disable,
    /// TLS when the server offers it (libpq tries plain first; here it is `prefer`).
    Allow,
    /// TLS when the server offers it, unverified.
    Prefer,
    /// Always TLS; verified as `verify-ca` only when root certificates are at hand.
    Require,
    /// Always TLS, the chain checked against the root certificates.
    VerifyCa,
    /// Always TLS, the chain and the host name checked.
    VerifyFull,
}

impl Mode {
    /// The mode libpq calls `name`.
    pub(super) fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "disable" => Self::Disable,
            "allow" => Self::Allow,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            _ => return None,
        })
    }

    fn parse(value: &str) -> Result<Self, String> {
        Self::from_name(value).ok_or_else(|| {
            format!(
                "`sslmode` is `{value}`, which is not a TLS mode: use `disable`, `allow`, \
                 `prefer`, `require`, `verify-ca` or `verify-full`"
            )
        })
    }

    /// The name libpq gives it.
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Allow => "allow",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }
}

/// The TLS parameters of a connection string, as written (values unquoted and decoded).
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Parameters {
    /// `sslmode`.
    pub mode: Option<String>,
    /// `sslrootcert`.
    pub root_certificate: Option<String>,
    /// `sslcert`.
    pub client_certificate: Option<String>,
    /// `sslkey`.
    pub client_key: Option<String>,
    /// `sslcrl`.
    pub revocation_list: Option<String>,
    /// `sslcrldir`.
    pub revocation_directory: Option<String>,
}

/// The connection-string parameters read here (and taken out before the client library
/// parses the rest).
pub(super) const TLS_PARAMETERS: [&str; 6] = [
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "sslcrl",
    "sslcrldir",
];

/// `url` without its TLS parameters, and their values.
pub(super) fn take_parameters(url: &str) -> (String, Parameters) {
    let mut parameters = Parameters::default();
    let mut keep = |key: &str, value: String| {
        match key {
            "sslmode" => parameters.mode = Some(value),
            "sslrootcert" => parameters.root_certificate = Some(value),
            "sslcert" => parameters.client_certificate = Some(value),
            "sslkey" => parameters.client_key = Some(value),
            "sslcrl" => parameters.revocation_list = Some(value),
            "sslcrldir" => parameters.revocation_directory = Some(value),
            _ => return true,
        }
        false
    };
    let trimmed = url.trim();
    let rest = if trimmed.contains("://") {
        let Some((base, query)) = trimmed.split_once('?') else {
            return (trimmed.to_owned(), parameters);
        };
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                !TLS_PARAMETERS.contains(&key) || keep(key, percent_decode(value))
            })
            .collect();
        if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        }
    } else {
        let (pairs, remainder) = super::connection::split_key_values(trimmed);
        let mut kept: Vec<&str> = pairs
            .into_iter()
            .filter(|pair| keep(pair.key, unquote(pair.value)))
            .map(|pair| pair.text)
            .collect();
        kept.extend(remainder);
        kept.join(" ")
    };
    (rest, parameters)
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%')
            .then(|| value.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                index += 3;
            }
            None => {
                decoded.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// A keyword-form value without its quotes and backslash escapes.
fn unquote(value: &str) -> String {
    let Some(inner) = value.strip_prefix('\'') else {
        return value.to_owned();
    };
    let inner = inner.strip_suffix('\'').unwrap_or(inner);
    let mut unquoted = String::with_capacity(inner.len());
    let mut escaped = false;
    for character in inner.chars() {
        if character == '\\' && !escaped {
            escaped = true;
        } else {
            unquoted.push(character);
            escaped = false;
        }
    }
    unquoted
}

/// How to connect: the client library's mode and, unless TLS is off, the connector.
#[derive(Clone)]
pub(super) struct Tls {
    mode: Mode,
    /// What `require` turned into: the mode whose checks are made.
    checked_as: Mode,
    /// `None` for `disable`.
    connector: Option<RustlsMakeConnect>,
}

impl Tls {
    /// What the client library is told: it knows only disable, prefer and require.
    pub(super) fn ssl_mode(&self) -> SslMode {
        match self.mode {
            Mode::Disable => SslMode::Disable,
            Mode::Allow | Mode::Prefer => SslMode::Prefer,
            Mode::Require | Mode::VerifyCa | Mode::VerifyFull => SslMode::Require,
        }
    }

    /// The mode asked for.
    pub(super) fn mode(&self) -> Mode {
        self.mode
    }

    /// The mode whose checks are made (`require` with root certificates is `verify-ca`).
    pub(super) fn checked_as(&self) -> Mode {
        self.checked_as
    }

    /// The connector, `None` when TLS is off.
    pub(super) fn connector(&self) -> Option<&RustlsMakeConnect> {
        self.connector.as_ref()
    }
}

/// The TLS settings `parameters` ask for, completed from `PGSSLMODE` and `PGSSLROOTCERT`,
/// with the root certificates read. The error is a reason, for a message about the
/// connection string.
pub(super) fn resolve(parameters: Parameters, environment: Environment<'_>) -> Result<Tls, String> {
    let mode_text = parameters.mode.or_else(|| environment("PGSSLMODE"));
    let root = parameters
        .root_certificate
        .or_else(|| environment("PGSSLROOTCERT"));
    let system = root.as_deref() == Some(SYSTEM_ROOTS);
    let mode = match mode_text {
        Some(text) => Mode::parse(&text)?,
        None if system => Mode::VerifyFull,
        None => Mode::Prefer,
    };
    if system && mode != Mode::VerifyFull {
        return Err(format!(
            "`sslrootcert=system` trusts every public certificate authority, so it needs \
             `sslmode=verify-full`, not `{}`",
            mode.name()
        ));
    }
    if mode == Mode::Disable {
        return Ok(Tls {
            mode,
            checked_as: mode,
            connector: None,
        });
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = match mode {
        Mode::Disable | Mode::Allow | Mode::Prefer => None,
        Mode::Require | Mode::VerifyCa | Mode::VerifyFull => {
            let source = match root {
                Some(text) if text == SYSTEM_ROOTS => RootSource::System,
                Some(path) => RootSource::File(PathBuf::from(path)),
                None => libpq_file(environment, "root.crt").map_or(RootSource::Missing, |path| {
                    if mode == Mode::Require && !path.exists() {
                        RootSource::Missing
                    } else {
                        RootSource::File(path)
                    }
                }),
            };
            read_roots(&source, mode)?
        }
    };
    let checked_as = match (mode, &roots) {
        (Mode::Require, Some(_)) => Mode::VerifyCa,
        _ => mode,
    };
    let verifier: Arc<dyn ServerCertVerifier> = match roots {
        None => Arc::new(NoVerification {
            provider: Arc::clone(&provider),
        }),
        Some(roots) => {
            let mut chain =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider));
            // Read only where the chain is checked: libpq ignores them elsewhere.
            let revocation_lists = revocation::load(
                parameters.revocation_list,
                parameters.revocation_directory,
                environment,
            )?;
            if !revocation_lists.is_empty() {
                // As OpenSSL checks for libpq: every certificate of the chain against its
                // issuer's list, an unknown status and an expired list refused.
                chain = chain
                    .with_crls(revocation_lists)
                    .enforce_revocation_expiration();
            }
            let chain = chain
                .build()
                .map_err(|error| format!("cannot check certificates: {error}"))?;
            if checked_as == Mode::VerifyFull {
                chain
            } else {
                Arc::new(ChainOnly { chain })
            }
        }
    };
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| format!("cannot set up TLS: {error}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let identity = client_certificate::load(
        parameters.client_certificate,
        parameters.client_key,
        environment,
    )?;
    let config = match identity {
        None => builder.with_no_client_auth(),
        Some(identity) => builder
            .with_client_auth_cert(identity.chain, identity.key)
            .map_err(|error| format!("cannot use the client certificate: {error}"))?,
    };
    Ok(Tls {
        mode,
        checked_as,
        connector: Some(RustlsMakeConnect::new(config, mode.name())),
    })
}

enum RootSource {
    System,
    File(PathBuf),
    /// No `sslrootcert`, and no home directory to find libpq's default in.
    Missing,
}

/// `~/.postgresql/NAME`, where libpq looks for the files no parameter names.
pub(super) fn libpq_file(environment: Environment<'_>, name: &str) -> Option<PathBuf> {
    environment("HOME").map(|home| Path::new(&home).join(".postgresql").join(name))
}

/// The `T`s in the PEM text `bytes` read from `path`, the `what` file.
fn pem_items<T: PemObject>(bytes: &[u8], path: &Path, what: &str) -> Result<Vec<T>, String> {
    T::pem_slice_iter(bytes)
        .collect::<Result<_, _>>()
        .map_err(|error| format!("the {what} file `{}` is not PEM: {error}", path.display()))
}

/// Every `T` in the PEM file at `path`, the `what` file that `origin` named: refused when it
/// cannot be read, is not PEM, or holds no `BEGIN {block}` block.
pub(super) fn read_pem_file<T: PemObject>(
    path: &Path,
    what: &str,
    origin: &str,
    block: &str,
) -> Result<Vec<T>, String> {
    let bytes = std::fs::read(path).map_err(|error| {
        format!(
            "cannot read the {what} file `{}` ({origin}): {error}",
            path.display()
        )
    })?;
    let items = pem_items(&bytes, path, what)?;
    if items.is_empty() {
        return Err(format!(
            "the {what} file `{}` holds no `BEGIN {block}` block",
            path.display()
        ));
    }
    Ok(items)
}

/// The root certificates; `None` for `require` without any.
fn read_roots(source: &RootSource, mode: Mode) -> Result<Option<RootCertStore>, String> {
    let mut store = RootCertStore::empty();
    let path = match source {
        RootSource::System => {
            let (added, _) = store.add_parsable_certificates(
                webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned(),
            );
            return if added == 0 {
                Err("no usable certificate among the public roots".to_owned())
            } else {
                Ok(Some(store))
            };
        }
        RootSource::Missing if mode == Mode::Require => return Ok(None),
        RootSource::Missing => {
            return Err(format!(
                "`sslmode={}` checks the server's certificate, but there is no root certificate \
                 to check it against: set `sslrootcert=PATH` to a PEM file of the certificate \
                 authority, use `sslrootcert=system` for public authorities, or put the file at \
                 `~/.postgresql/root.crt`",
                mode.name()
            ));
        }
        RootSource::File(path) => path,
    };
    let bytes = std::fs::read(path).map_err(|error| {
        format!(
            "cannot read the root certificate file `{}` (`sslrootcert`, for `sslmode={}`): \
             {error}; give `sslrootcert=PATH` a readable PEM file of the certificate authority",
            path.display(),
            mode.name()
        )
    })?;
    let certificates: Vec<CertificateDer<'static>> = pem_items(&bytes, path, "root certificate")?;
    let (added, ignored) = store.add_parsable_certificates(certificates);
    if added == 0 {
        return Err(format!(
            "the root certificate file `{}` holds no usable certificate ({ignored} could not be \
             used): it must hold the certificate authority's `BEGIN CERTIFICATE` block",
            path.display()
        ));
    }
    Ok(Some(store))
}

/// `allow`, `prefer` and `require` without root certificates: any certificate is taken, as
/// libpq takes it; the handshake's signatures are still checked, so the session is
/// encrypted to whoever holds the certificate's key.
#[derive(Debug)]
struct NoVerification {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            certificate,
            signature,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            certificate,
            signature,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to a root certificate; the names in the certificate are
/// not compared with the host (the web PKI verifier checks the chain first, so a name
/// mismatch is the only failure left over once the chain is good).
#[derive(Debug)]
struct ChainOnly {
    chain: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.chain.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.chain
            .verify_tls12_signature(message, certificate, signature)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.chain
            .verify_tls13_signature(message, certificate, signature)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.chain.supported_verify_schemes()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn resolve_with(parameters: Parameters, variables: &[(&str, &str)]) -> Result<Tls, String> {
        let variables: HashMap<String, String> = variables
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        resolve(parameters, &|name| variables.get(name).cloned())
    }

    fn parameters(mode: Option<&str>, root: Option<&str>) -> Parameters {
        Parameters {
            mode: mode.map(str::to_owned),
            root_certificate: root.map(str::to_owned),
            ..Parameters::default()
        }
    }

    #[test]
    fn url_parameters_are_taken_out_and_decoded() {
        let (rest, taken) = take_parameters(
            "postgres://app:pw@db/x?sslmode=verify-full&connect_timeout=5&sslrootcert=%2Fetc%2Fca%20file.pem",
        );
        assert_eq!(rest, "postgres://app:pw@db/x?connect_timeout=5");
        assert_eq!(
            taken,
            parameters(Some("verify-full"), Some("/etc/ca file.pem"))
        );
        let (rest, taken) =
            take_parameters("postgres://db/x?sslcert=%2Fk%2Fc.crt&application_name=a&sslkey=k.key");
        assert_eq!(rest, "postgres://db/x?application_name=a");
        assert_eq!(
            taken,
            Parameters {
                client_certificate: Some("/k/c.crt".to_owned()),
                client_key: Some("k.key".to_owned()),
                ..Parameters::default()
            }
        );
        let (rest, taken) = take_parameters("postgres://db/x?sslcrl=%2Fc.crl&sslcrldir=d");
        assert_eq!(rest, "postgres://db/x");
        assert_eq!(
            taken,
            Parameters {
                revocation_list: Some("/c.crl".to_owned()),
                revocation_directory: Some("d".to_owned()),
                ..Parameters::default()
            }
        );
        let (rest, taken) = take_parameters("postgresql://db/x?sslmode=require");
        assert_eq!(rest, "postgresql://db/x");
        assert_eq!(taken, parameters(Some("require"), None));
        let (rest, taken) = take_parameters("postgres://db/x");
        assert_eq!(rest, "postgres://db/x");
        assert_eq!(taken, Parameters::default());
    }

    #[test]
    fn keyword_parameters_are_taken_out_and_unquoted() {
        let (rest, taken) = take_parameters(
            "host=db sslrootcert = '/etc/it\\'s ca.pem' password='a b' sslmode=verify-ca dbname=x",
        );
        assert_eq!(rest, "host=db password='a b' dbname=x");
        assert_eq!(
            taken,
            parameters(Some("verify-ca"), Some("/etc/it's ca.pem"))
        );
    }

    #[test]
    fn modes_map_onto_what_the_client_library_knows() {
        let cases = [
            ("disable", SslMode::Disable),
            ("allow", SslMode::Prefer),
            ("prefer", SslMode::Prefer),
            ("require", SslMode::Require),
        ];
        for (mode, expected) in cases {
            let tls = resolve_with(parameters(Some(mode), None), &[]).unwrap();
            assert_eq!(tls.ssl_mode(), expected, "{mode}");
            assert_eq!(tls.mode().name(), mode);
            assert_eq!(tls.connector().is_some(), mode != "disable", "{mode}");
        }
        let tls = resolve_with(parameters(None, None), &[("PGSSLMODE", "require")]).unwrap();
        assert_eq!(tls.mode(), Mode::Require);
        assert_eq!(tls.checked_as(), Mode::Require);
        let tls = resolve_with(parameters(None, None), &[]).unwrap();
        assert_eq!(tls.mode(), Mode::Prefer);
    }

    /// A self-signed certificate authority, written to `directory/ca.pem`.
    fn authority_file(directory: &Path) -> PathBuf {
        let ca = rcgen::generate_simple_self_signed(vec!["ca.example".to_owned()]).unwrap();
        let file = directory.join("ca.pem");
        std::fs::write(&file, ca.cert.pem()).unwrap();
        file
    }

    #[test]
    fn root_certificates_come_from_sslrootcert_or_libpq_default_file() {
        let directory = tempfile::tempdir().unwrap();
        let file = authority_file(directory.path());
        let path = file.to_str().unwrap();

        let tls = resolve_with(parameters(Some("verify-ca"), Some(path)), &[]).unwrap();
        assert_eq!(tls.ssl_mode(), SslMode::Require);
        // `require` with a root certificate checks the chain, as libpq does.
        let tls = resolve_with(parameters(Some("require"), Some(path)), &[]).unwrap();
        assert_eq!(tls.checked_as(), Mode::VerifyCa);

        let home = directory.path().to_str().unwrap();
        let error = resolve_with(parameters(Some("verify-full"), None), &[("HOME", home)])
            .err()
            .unwrap();
        assert!(
            error.contains("no such file") || error.contains("No such file"),
            "{error}"
        );
        assert!(error.contains(".postgresql/root.crt"), "{error}");
        let tls = resolve_with(parameters(Some("require"), None), &[("HOME", home)]).unwrap();
        assert_eq!(tls.checked_as(), Mode::Require);

        std::fs::create_dir(directory.path().join(".postgresql")).unwrap();
        std::fs::copy(&file, directory.path().join(".postgresql/root.crt")).unwrap();
        let tls = resolve_with(parameters(Some("require"), None), &[("HOME", home)]).unwrap();
        assert_eq!(tls.checked_as(), Mode::VerifyCa);
        let tls = resolve_with(parameters(Some("verify-full"), None), &[("HOME", home)]).unwrap();
        assert_eq!(tls.checked_as(), Mode::VerifyFull);
    }

    #[test]
    fn revocation_lists_are_read_only_where_the_chain_is_checked() {
        let directory = tempfile::tempdir().unwrap();
        let file = authority_file(directory.path());
        let missing = directory.path().join("missing.crl");
        let with_list = |mode: &str, root: Option<&str>| Parameters {
            revocation_list: missing.to_str().map(str::to_owned),
            ..parameters(Some(mode), root)
        };

        // As libpq: no chain is checked, so the list is not read.
        for mode in ["allow", "prefer", "require"] {
            assert!(resolve_with(with_list(mode, None), &[]).is_ok(), "{mode}");
        }
        for mode in ["require", "verify-ca", "verify-full"] {
            let error = resolve_with(with_list(mode, file.to_str()), &[])
                .err()
                .unwrap();
            assert!(
                error.starts_with("cannot read the certificate revocation list file")
                    && error.contains("missing.crl"),
                "{mode}: {error}"
            );
        }
    }

    #[test]
    fn unusable_settings_are_explained() {
        let error = resolve_with(parameters(Some("verify-full"), None), &[])
            .err()
            .unwrap();
        insta::assert_snapshot!(error, @"`sslmode=verify-full` checks the server's certificate, but there is no root certificate to check it against: set `sslrootcert=PATH` to a PEM file of the certificate authority, use `sslrootcert=system` for public authorities, or put the file at `~/.postgresql/root.crt`");
        let error = resolve_with(parameters(Some("require"), Some("system")), &[])
            .err()
            .unwrap();
        insta::assert_snapshot!(error, @"`sslrootcert=system` trusts every public certificate authority, so it needs `sslmode=verify-full`, not `require`");
        let tls = resolve_with(parameters(None, Some("system")), &[]).unwrap();
        assert_eq!(tls.mode(), Mode::VerifyFull);

        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("ca.pem");
        std::fs::write(&file, "not a certificate\n").unwrap();
        let error = resolve_with(
            parameters(Some("verify-ca"), Some(file.to_str().unwrap())),
            &[],
        )
        .err()
        .unwrap();
        assert!(error.contains("holds no usable certificate"), "{error}");
    }
}
