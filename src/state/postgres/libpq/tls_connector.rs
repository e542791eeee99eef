//! The bridge between the PostgreSQL client and rustls: a `MakeTlsConnect` that runs the
//! handshake with a prepared `rustls::ClientConfig`, and the stream it yields, which offers
//! SCRAM the `tls-server-end-point` channel binding of the server's certificate.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use sha2::{Digest, Sha256, Sha384, Sha512};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use x509_cert::Certificate;
use x509_cert::der::Decode as _;
use x509_cert::der::oid::ObjectIdentifier;

/// Used as the TLS server name when the connection has no host name (a Unix socket) and the
/// mode does not check names; PostgreSQL never offers TLS on a socket, so it is rarely sent.
const PLACEHOLDER_SERVER_NAME: &str = "localhost";

/// Makes one [`RustlsConnect`] per connection attempt.
#[derive(Clone)]
pub(super) struct RustlsMakeConnect {
    config: Arc<ClientConfig>,
    /// The libpq mode, for messages.
    mode: &'static str,
    /// Whether the certificate must name the host: then a connection without a host name
    /// cannot be verified.
    checks_host_name: bool,
}

impl RustlsMakeConnect {
    pub(super) fn new(
        config: Arc<ClientConfig>,
        mode: &'static str,
        checks_host_name: bool,
    ) -> Self {
        Self {
            config,
            mode,
            checks_host_name,
        }
    }
}

/// Why the TLS handshake with a server failed: where, in which mode, and rustls's reason.
#[derive(Debug, thiserror::Error)]
#[error("TLS handshake with `{host}` (`sslmode={mode}`) failed: {reason}")]
pub(super) struct HandshakeError {
    host: String,
    mode: &'static str,
    reason: String,
}

impl<S> MakeTlsConnect<S> for RustlsMakeConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = HandshakeError;

    fn make_tls_connect(&mut self, domain: &str) -> Result<RustlsConnect, HandshakeError> {
        // Errors wait for the handshake: the client asks for a connector even for a Unix
        // socket, where no TLS happens.
        let server_name = match (domain.is_empty(), self.checks_host_name) {
            (true, true) => {
                Err("there is no host name to check the certificate against".to_owned())
            }
            (true, false) => ServerName::try_from(PLACEHOLDER_SERVER_NAME)
                .map_err(|error| format!("no TLS server name: {error}")),
            (false, _) => ServerName::try_from(domain.to_owned())
                .map_err(|error| format!("`{domain}` is not a valid TLS server name: {error}")),
        };
        Ok(RustlsConnect {
            config: Arc::clone(&self.config),
            host: domain.to_owned(),
            mode: self.mode,
            server_name,
        })
    }
}

/// One handshake, for one connection.
pub(super) struct RustlsConnect {
    config: Arc<ClientConfig>,
    host: String,
    mode: &'static str,
    server_name: Result<ServerName<'static>, String>,
}

impl<S> TlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = HandshakeError;
    type Future = Pin<Box<dyn Future<Output = Result<RustlsStream<S>, HandshakeError>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let failed = |reason: String| HandshakeError {
                host: self.host.clone(),
                mode: self.mode,
                reason,
            };
            let server_name = self.server_name.clone().map_err(failed)?;
            let connector = tokio_rustls::TlsConnector::from(Arc::clone(&self.config));
            let stream = connector
                .connect(server_name, stream)
                .await
                .map_err(|error| failed(error.to_string()))?;
            Ok(RustlsStream { inner: stream })
        })
    }
}

/// A TLS session with the server.
pub(super) struct RustlsStream<S> {
    inner: tokio_rustls::client::TlsStream<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(context, buffer)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(context, buffer)
    }

    fn poll_flush(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(context)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(context)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for RustlsStream<S> {
    /// The server certificate's `tls-server-end-point` binding, so that SCRAM authenticates
    /// with `SCRAM-SHA-256-PLUS` when the server offers it: a password exchange then fails
    /// through anyone who relays the session with a certificate of their own. None when the
    /// certificate's hash cannot be told; SCRAM then goes without `-PLUS`, as libpq does with
    /// `channel_binding=prefer`, and `channel_binding=require` refuses to connect.
    fn channel_binding(&self) -> ChannelBinding {
        let (_, session) = self.inner.get_ref();
        session
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|certificate| server_end_point(certificate.as_ref()))
            .map_or_else(ChannelBinding::none, ChannelBinding::tls_server_end_point)
    }
}

/// The hash functions a certificate's signature algorithm can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EndPointHash {
    Sha256,
    Sha384,
    Sha512,
}

/// Signature algorithms by the hash they use, with MD5 and SHA-1 already replaced by
/// SHA-256 as RFC 5929 (section 4.1) asks: RSA (PKCS #1 v1.5) and ECDSA.
const SIGNATURE_HASHES: [(ObjectIdentifier, EndPointHash); 9] = [
    // md5WithRSAEncryption, sha1WithRSAEncryption
    signed_with("1.2.840.113549.1.1.4", EndPointHash::Sha256),
    signed_with("1.2.840.113549.1.1.5", EndPointHash::Sha256),
    // sha256-, sha384-, sha512WithRSAEncryption
    signed_with("1.2.840.113549.1.1.11", EndPointHash::Sha256),
    signed_with("1.2.840.113549.1.1.12", EndPointHash::Sha384),
    signed_with("1.2.840.113549.1.1.13", EndPointHash::Sha512),
    // ecdsa-with-SHA1, -SHA256, -SHA384, -SHA512
    signed_with("1.2.840.10045.4.1", EndPointHash::Sha256),
    signed_with("1.2.840.10045.4.3.2", EndPointHash::Sha256),
    signed_with("1.2.840.10045.4.3.3", EndPointHash::Sha384),
    signed_with("1.2.840.10045.4.3.4", EndPointHash::Sha512),
];

/// One entry of [`SIGNATURE_HASHES`]: the signature algorithm `oid` and the hash it takes.
const fn signed_with(oid: &str, hash: EndPointHash) -> (ObjectIdentifier, EndPointHash) {
    (ObjectIdentifier::new_unwrap(oid), hash)
}

/// RFC 5929's `tls-server-end-point` of a DER certificate: the certificate hashed with the
/// hash of its signature algorithm. `None` for a certificate that cannot be read or whose
/// algorithm names no hash here (Ed25519, RSASSA-PSS, SHA-224): PostgreSQL 15 cannot compute
/// a binding for the first two either.
fn server_end_point(certificate: &[u8]) -> Option<Vec<u8>> {
    let algorithm = Certificate::from_der(certificate)
        .ok()?
        .signature_algorithm()
        .oid;
    let (_, hash) = SIGNATURE_HASHES
        .iter()
        .find(|(known, _)| *known == algorithm)?;
    Some(match hash {
        EndPointHash::Sha256 => Sha256::digest(certificate).to_vec(),
        EndPointHash::Sha384 => Sha384::digest(certificate).to_vec(),
        EndPointHash::Sha512 => Sha512::digest(certificate).to_vec(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// A self-signed certificate for `localhost` signed with `algorithm`, as DER.
    fn certificate(algorithm: &'static rcgen::SignatureAlgorithm) -> Vec<u8> {
        let key = rcgen::KeyPair::generate_for(algorithm).unwrap();
        rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap()
            .der()
            .to_vec()
    }

    #[test]
    fn the_end_point_is_hashed_with_the_signatures_hash() {
        let p256 = certificate(&rcgen::PKCS_ECDSA_P256_SHA256);
        assert_eq!(
            server_end_point(&p256),
            Some(Sha256::digest(&p256).to_vec())
        );
        let p384 = certificate(&rcgen::PKCS_ECDSA_P384_SHA384);
        assert_eq!(
            server_end_point(&p384),
            Some(Sha384::digest(&p384).to_vec())
        );
    }

    #[test]
    fn no_end_point_without_a_known_hash_or_a_readable_certificate() {
        assert_eq!(server_end_point(&certificate(&rcgen::PKCS_ED25519)), None);
        assert_eq!(server_end_point(b"not a certificate"), None);
        assert_eq!(server_end_point(&[]), None);
    }
}
