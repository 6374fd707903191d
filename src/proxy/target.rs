//! Where a database is and how its certificate is checked, for every
//! engine: the TCP connection (to the endpoint, or its tunnel) and the TLS
//! handshake that verifies the certificate for the endpoint's name.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::ServerStream;
use crate::tls::verify::{refusal, rustls_error, Refusal, Roots};

/// Where the database is and how its certificate is checked.
#[derive(Clone)]
pub struct Target {
    /// The endpoint's name: what the certificate must carry and the token
    /// is signed for.
    pub hostname: String,
    pub port: u16,
    /// Where to connect instead (a tunnel), if not to `hostname:port`.
    pub via: Option<SocketAddr>,
    pub roots: Roots,
    pub tls: Arc<ClientConfig>,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("hostname", &self.hostname)
            .field("port", &self.port)
            .field("via", &self.via)
            .field("roots", &self.roots)
            .finish_non_exhaustive()
    }
}

/// How long the steps of a connection took.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    pub connect: Duration,
    pub tls: Duration,
}

/// Why the TLS handshake failed.
#[derive(Debug)]
pub enum HandshakeError {
    /// The endpoint's name is not one a certificate can carry.
    Name(String),
    /// The certificate did not verify, or TLS failed: what and the fix.
    Tls(Refusal),
    Io(io::Error),
}

impl Target {
    /// Where TCP connects: the tunnel, else the endpoint.
    pub fn address(&self) -> String {
        match self.via {
            Some(via) => via.to_string(),
            None => format!("{}:{}", self.hostname, self.port),
        }
    }

    /// A TCP connection to [`address`](Self::address), Nagle off, and how
    /// long it took.
    ///
    /// # Errors
    /// The connection's error.
    pub async fn tcp(&self) -> io::Result<(TcpStream, Duration)> {
        let started = Instant::now();
        let tcp = TcpStream::connect(self.address()).await?;
        let _ = tcp.set_nodelay(true);
        Ok((tcp, started.elapsed()))
    }

    /// TLS over `tcp`, the certificate checked against the target's CAs and
    /// for its endpoint name, and how long the handshake took.
    ///
    /// # Errors
    /// [`HandshakeError`].
    pub async fn handshake(
        &self,
        tcp: TcpStream,
    ) -> Result<(ServerStream, Duration), HandshakeError> {
        let name = ServerName::try_from(self.hostname.clone()).map_err(|_| {
            HandshakeError::Name(format!(
                "{} is not a name a certificate can carry",
                self.hostname
            ))
        })?;
        let started = Instant::now();
        let stream = TlsConnector::from(Arc::clone(&self.tls))
            .connect(name, tcp)
            .await
            .map_err(|err| match rustls_error(&err) {
                Some(tls) => HandshakeError::Tls(refusal(tls, &self.roots, &self.hostname)),
                None => HandshakeError::Io(err),
            })?;
        Ok((stream, started.elapsed()))
    }
}
