//! The TLS connector handed to the PostgreSQL client: `tokio-postgres-rustls` runs the
//! handshake with a prepared `rustls::ClientConfig` and offers SCRAM the server
//! certificate's `tls-server-end-point` channel binding; this wrapper only says, when the
//! handshake fails, with which host and in which `sslmode`.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;

use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres_rustls::MakeRustlsConnect;

/// Makes one [`Handshake`] per connection attempt.
#[derive(Clone)]
pub(super) struct RustlsMakeConnect {
    inner: MakeRustlsConnect,
    /// The libpq mode, for messages.
    mode: &'static str,
}

impl RustlsMakeConnect {
    pub(super) fn new(config: ClientConfig, mode: &'static str) -> Self {
        Self {
            inner: MakeRustlsConnect::new(config),
            mode,
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

/// The connector of the stream type `S`, as `tokio-postgres-rustls` makes it.
type Inner<S> = <MakeRustlsConnect as MakeTlsConnect<S>>::TlsConnect;

impl<S> MakeTlsConnect<S> for RustlsMakeConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = <MakeRustlsConnect as MakeTlsConnect<S>>::Stream;
    type TlsConnect = Handshake<Inner<S>>;
    type Error = Infallible;

    fn make_tls_connect(&mut self, host: &str) -> Result<Self::TlsConnect, Infallible> {
        // The client asks for a connector before it knows whether TLS happens at all (never
        // on a Unix socket, and never without a host name): errors wait for the handshake.
        let Ok(inner) = MakeTlsConnect::<S>::make_tls_connect(&mut self.inner, host);
        Ok(Handshake {
            inner,
            host: host.to_owned(),
            mode: self.mode,
        })
    }
}

/// One handshake, for one connection.
pub(super) struct Handshake<T> {
    inner: T,
    host: String,
    mode: &'static str,
}

impl<S, T> TlsConnect<S> for Handshake<T>
where
    T: TlsConnect<S>,
    T::Future: Send + 'static,
{
    type Stream = T::Stream;
    type Error = HandshakeError;
    type Future = Pin<Box<dyn Future<Output = Result<T::Stream, HandshakeError>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        let Self { inner, host, mode } = self;
        let handshake = inner.connect(stream);
        Box::pin(async move {
            handshake.await.map_err(|error| {
                let reason = match ServerName::try_from(host.as_str()) {
                    Err(invalid) => format!("`{host}` is not a valid TLS server name: {invalid}"),
                    Ok(_) => error.into().to_string(),
                };
                HandshakeError { host, mode, reason }
            })
        })
    }
}
