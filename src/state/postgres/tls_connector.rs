//! The bridge between the PostgreSQL client and rustls: a `MakeTlsConnect` that runs the
//! handshake with a prepared `rustls::ClientConfig`, and the stream it yields.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};

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
    /// No channel binding: SCRAM authenticates without `-PLUS`, as it does for libpq with
    /// `channel_binding=prefer` when the binding data is not at hand.
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}
