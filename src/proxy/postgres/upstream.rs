//! The server side: a TCP connection to the database (or its tunnel), TLS
//! verified for the endpoint's name, and the login with a token over it.

use std::fmt;
use std::io;
use std::time::Duration;

use bytes::BytesMut;
use postgres_protocol::message::backend::{Header, Message};
use postgres_protocol::message::frontend;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use super::message::ErrorFields;
use super::startup::{encode_startup, set_parameter, CancelKey};
use crate::proxy::pool::Kept;
use crate::proxy::target::HandshakeError;
pub use crate::proxy::target::{Target, Timings};
use crate::proxy::ServerStream;
use crate::tls::verify::Refusal;

/// How long connecting, TLS and the login may take together.
pub const LOGIN_TIMEOUT: Duration = Duration::from_secs(15);

/// The longest message a server may send during a login: parameters and
/// errors are short.
pub const MAX_LOGIN_MESSAGE: usize = 64 * 1024;

/// A server connection logged in, ready for queries.
pub struct Server {
    pub stream: ServerStream,
    pub key: CancelKey,
    /// The ParameterStatus values the server reported, in order, latest
    /// value of each.
    pub parameters: Vec<(String, String)>,
}

impl Kept for Server {
    fn stream(&mut self) -> &mut ServerStream {
        &mut self.stream
    }

    fn goodbye(&self) -> &'static [u8] {
        // Terminate.
        &[b'X', 0, 0, 0, 4]
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("key", &self.key)
            .field("parameters", &self.parameters.len())
            .finish_non_exhaustive()
    }
}

/// Why a server connection or login failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("could not connect to {address}: {source}")]
    Connect {
        address: String,
        #[source]
        source: io::Error,
    },
    #[error("the server at {0} answered the SSLRequest with N: it does not offer TLS, and the proxy sends a token over verified TLS only")]
    NoTls(String),
    #[error("the server at {address} answered the SSLRequest with byte {byte:#04x}: it is not a PostgreSQL server")]
    NotPostgres { address: String, byte: u8 },
    #[error("{0}")]
    Tls(Refusal),
    #[error("the connection to the server failed {during}: {source}")]
    Io {
        during: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("the server did not finish {0} within {secs} s", secs = LOGIN_TIMEOUT.as_secs())]
    Timeout(&'static str),
    #[error("the server asked for {0}, not a password: the user is not an IAM user; run GRANT rds_iam TO the user (or, for MySQL, IDENTIFIED WITH AWSAuthenticationPlugin)")]
    NotIam(&'static str),
    /// The server refused the login; `raw` is its ErrorResponse, whole.
    #[error("the server refused the login: {} ({})", .fields.message, .fields.code)]
    Refused { fields: ErrorFields, raw: Vec<u8> },
    #[error("the server broke the protocol during the login: {0}")]
    Protocol(String),
}

impl LoginError {
    /// A short label for metrics and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            LoginError::Connect { .. } => "connect",
            LoginError::NoTls(_) | LoginError::Tls(_) => "tls",
            LoginError::NotPostgres { .. } | LoginError::Protocol(_) => "protocol",
            LoginError::Io { .. } => "io",
            LoginError::Timeout(_) => "timeout",
            LoginError::NotIam(_) => "not_iam",
            LoginError::Refused { .. } => "refused",
        }
    }

    /// What to do about it, if there is more to say than the message.
    pub fn hint(&self) -> Option<String> {
        match self {
            LoginError::Connect { .. } => Some("check the endpoint's name and port (--hostname, --port), or the tunnel's address (--via), and that a security group lets this machine in".into()),
            LoginError::NoTls(_) => Some("connect to the RDS endpoint itself, where TLS is always on".into()),
            LoginError::Tls(refused) => Some(refused.fix.clone()),
            LoginError::Refused { fields, .. } if fields.message.contains("PAM") => Some("the token was refused: check that the user has GRANT rds_iam, that the IAM policy allows rds-db:connect for this user and the database's resource id (rds-auth-token policy), and the region (--region)".into()),
            _ => None,
        }
    }
}

/// Connects to `target` and sets up verified TLS: PostgreSQL's SSLRequest,
/// then a handshake that checks the certificate against the target's CAs
/// and for its endpoint name.
///
/// # Errors
/// [`LoginError`]: no connection, no TLS, or a certificate that does not
/// verify.
pub async fn connect(target: &Target) -> Result<(ServerStream, Timings), LoginError> {
    let address = target.address();
    let (mut tcp, connect) = target.tcp().await.map_err(|source| LoginError::Connect {
        address: address.clone(),
        source,
    })?;
    let mut request = BytesMut::new();
    frontend::ssl_request(&mut request);
    tcp.write_all(&request)
        .await
        .map_err(|source| LoginError::Io {
            during: "sending the SSLRequest",
            source,
        })?;
    let answer = tcp.read_u8().await.map_err(|source| LoginError::Io {
        during: "waiting for the answer to the SSLRequest",
        source,
    })?;
    match answer {
        b'S' => {}
        b'N' => return Err(LoginError::NoTls(address)),
        byte => return Err(LoginError::NotPostgres { address, byte }),
    }
    let (stream, tls) = target.handshake(tcp).await.map_err(|err| match err {
        HandshakeError::Name(why) => LoginError::Protocol(why),
        HandshakeError::Tls(refused) => LoginError::Tls(refused),
        HandshakeError::Io(source) => LoginError::Io {
            during: "during the TLS handshake",
            source,
        },
    })?;
    Ok((stream, Timings { connect, tls }))
}

/// Logs in over `stream` with the start-up `parameters`, answering the
/// server's password request with `password`, and reads what the server
/// says up to its first ReadyForQuery.
///
/// # Errors
/// [`LoginError`]: the server refused, asked for another method, or broke
/// the protocol.
pub async fn login(
    mut stream: ServerStream,
    parameters: &[(String, String)],
    password: &str,
) -> Result<Server, LoginError> {
    write(&mut stream, &encode_startup(parameters))
        .await
        .map_err(|source| LoginError::Io {
            during: "sending the start-up message",
            source,
        })?;
    let mut buf = BytesMut::with_capacity(4096);
    let mut key = None;
    let mut server_parameters: Vec<(String, String)> = Vec::new();
    loop {
        let (tag, mut frame) = read_message(&mut stream, &mut buf).await?;
        match tag {
            b'R' => match Message::parse(&mut frame) {
                Ok(Some(Message::AuthenticationCleartextPassword)) => {
                    let mut out = BytesMut::new();
                    frontend::password_message(password.as_bytes(), &mut out)
                        .map_err(|err| LoginError::Protocol(err.to_string()))?;
                    write(&mut stream, &out)
                        .await
                        .map_err(|source| LoginError::Io {
                            during: "sending the token",
                            source,
                        })?;
                }
                Ok(Some(Message::AuthenticationOk)) => {}
                Ok(Some(Message::AuthenticationMd5Password(_))) => {
                    return Err(LoginError::NotIam("an MD5 password"))
                }
                Ok(Some(Message::AuthenticationSasl(_))) => {
                    return Err(LoginError::NotIam("SCRAM-SHA-256"))
                }
                Ok(Some(_)) => return Err(LoginError::NotIam("GSSAPI, SSPI or Kerberos")),
                Ok(None) | Err(_) => {
                    return Err(LoginError::Protocol(
                        "a malformed authentication request".into(),
                    ))
                }
            },
            b'E' => {
                let raw = frame.to_vec();
                let fields = ErrorFields::parse(&frame[5..]);
                return Err(LoginError::Refused { fields, raw });
            }
            b'S' => match Message::parse(&mut frame) {
                Ok(Some(Message::ParameterStatus(status))) => {
                    let (Ok(name), Ok(value)) = (status.name(), status.value()) else {
                        return Err(LoginError::Protocol(
                            "a ParameterStatus that is not UTF-8".into(),
                        ));
                    };
                    set_parameter(&mut server_parameters, name, value);
                }
                _ => return Err(LoginError::Protocol("a malformed ParameterStatus".into())),
            },
            b'K' => match Message::parse(&mut frame) {
                Ok(Some(Message::BackendKeyData(data))) => {
                    key = Some(CancelKey {
                        process_id: data.process_id(),
                        secret_key: data.secret_key(),
                    });
                }
                _ => return Err(LoginError::Protocol("a malformed BackendKeyData".into())),
            },
            b'Z' => {
                return Ok(Server {
                    stream,
                    key: key.unwrap_or(CancelKey {
                        process_id: 0,
                        secret_key: 0,
                    }),
                    parameters: server_parameters,
                });
            }
            // Notices and a protocol-version negotiation need no answer.
            b'N' | b'v' => {}
            other => {
                return Err(LoginError::Protocol(format!(
                    "an unexpected message {:?} before ReadyForQuery",
                    char::from(other)
                )))
            }
        }
    }
}

/// Writes `bytes` and flushes them: TLS holds them back otherwise.
async fn write(stream: &mut ServerStream, bytes: &[u8]) -> io::Result<()> {
    stream.write_all(bytes).await?;
    stream.flush().await
}

/// Reads one whole message (header included) of at most
/// [`MAX_LOGIN_MESSAGE`] bytes, keeping what follows it in `buf`.
///
/// # Errors
/// [`LoginError::Io`] when the server closes, [`LoginError::Protocol`] for
/// a length over the bound.
pub async fn read_message(
    stream: &mut (impl AsyncRead + Unpin),
    buf: &mut BytesMut,
) -> Result<(u8, BytesMut), LoginError> {
    loop {
        if let Some(header) =
            Header::parse(buf).map_err(|err| LoginError::Protocol(err.to_string()))?
        {
            let total = header.len() as usize + 1;
            if total > MAX_LOGIN_MESSAGE {
                return Err(LoginError::Protocol(format!(
                    "a message of {total} bytes, over the {MAX_LOGIN_MESSAGE} a login's take"
                )));
            }
            if buf.len() >= total {
                let frame = buf.split_to(total);
                return Ok((header.tag(), frame));
            }
        }
        buf.reserve(4096);
        let n = stream
            .read_buf(buf)
            .await
            .map_err(|source| LoginError::Io {
                during: "reading the server's answer",
                source,
            })?;
        if n == 0 {
            return Err(LoginError::Io {
                during: "reading the server's answer",
                source: io::ErrorKind::UnexpectedEof.into(),
            });
        }
    }
}

/// Sends a CancelRequest for `key` to `target`, over a new verified TLS
/// connection, as libpq does.
///
/// # Errors
/// [`LoginError`] when the connection or TLS fails.
pub async fn cancel(target: &Target, key: CancelKey) -> Result<(), LoginError> {
    let (mut stream, _) = connect(target).await?;
    let mut out = BytesMut::new();
    frontend::cancel_request(key.process_id, key.secret_key, &mut out);
    write(&mut stream, &out)
        .await
        .map_err(|source| LoginError::Io {
            during: "sending the CancelRequest",
            source,
        })?;
    let _ = stream.shutdown().await;
    // The server closes the connection without an answer.
    let mut rest = [0u8; 64];
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut rest)).await;
    Ok(())
}
