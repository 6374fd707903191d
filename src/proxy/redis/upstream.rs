//! The server side: a TCP connection to the cache's endpoint (or its
//! tunnel), TLS verified for the endpoint's name, and `AUTH USER_ID TOKEN`
//! over it, with a token made for the connection.

use std::io;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use super::resp::encode;
use crate::proxy::target::{HandshakeError, Target, Timings};
use crate::proxy::{Database, Kind, Proxy, ServerStream};
use crate::text::distinct_error_chain;
use crate::tls::verify::Refusal;

/// How long connecting, TLS and the login may take together.
pub const LOGIN_TIMEOUT: Duration = Duration::from_secs(15);

/// The longest reply line read during a login: `+OK` or an error.
pub const MAX_REPLY_LINE: usize = 64 * 1024;

/// A server connection, logged in.
pub struct Server {
    pub stream: ServerStream,
    /// When the login succeeded.
    pub since: Instant,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("since", &self.since)
            .finish_non_exhaustive()
    }
}

/// Why a server connection or its login failed. No variant holds a token.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("no IAM token for {user}: {reason}")]
    Token { user: String, reason: String },
    #[error("could not connect to {address}: {source}")]
    Connect {
        address: String,
        #[source]
        source: io::Error,
    },
    #[error("{}", .0.message)]
    Tls(Refusal),
    #[error("{0}")]
    Name(String),
    #[error("the connection to the server failed {during}: {source}")]
    Io {
        during: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("the server did not finish {0} within {secs} s", secs = LOGIN_TIMEOUT.as_secs())]
    Timeout(&'static str),
    /// The server's error reply to AUTH (`WRONGPASS ...`), without its `-`.
    #[error("the server refused the IAM token for {user}: {reply}")]
    Refused { user: String, reply: String },
    #[error(
        "the server answered {command} with {answer:?}, not what a Redis or Valkey server answers"
    )]
    Protocol {
        command: &'static str,
        answer: String,
    },
}

impl LoginError {
    /// A short label for metrics and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            LoginError::Token { .. } => "token",
            LoginError::Connect { .. } => "connect",
            LoginError::Tls(_) | LoginError::Name(_) => "tls",
            LoginError::Io { .. } => "io",
            LoginError::Timeout(_) => "timeout",
            LoginError::Refused { .. } => "refused",
            LoginError::Protocol { .. } => "protocol",
        }
    }

    /// The login outcome of metrics: `refused` when the server said no,
    /// else `failed`.
    pub fn outcome(&self) -> &'static str {
        match self {
            LoginError::Refused { .. } => "refused",
            _ => "failed",
        }
    }

    /// What to do about it, if there is more to say than the message.
    pub fn hint(&self, kind: &Kind) -> Option<String> {
        match self {
            LoginError::Connect { .. } => Some("check the endpoint's name and port (--endpoint), or the tunnel's address (--via), and that a security group lets this machine in".into()),
            LoginError::Tls(refused) => Some(refused.fix.clone()),
            LoginError::Refused { user, reply } if reply.starts_with("WRONGPASS") => Some(match kind {
                Kind::MemoryDb { cluster_name } => format!("check that {user} is an IAM-enabled user (authentication type iam) in an ACL of the cluster {cluster_name}, that the IAM policy allows memorydb:Connect on the cluster and the user, and the region (--region)"),
                Kind::ElastiCache { cache_name, serverless } => format!(
                    "check that {user} is an IAM-enabled user (authentication mode iam) in a user group of the cache {cache_name}, that the IAM policy allows elasticache:Connect on the cache and the user, and the region (--region){}",
                    if *serverless { "" } else { "; for a serverless cache, pass --serverless" }
                ),
                _ => "check the user's IAM authentication and the IAM policy".into(),
            }),
            _ => None,
        }
    }

    /// The message, with the fix when there is one: one line for the
    /// client and the log.
    pub fn describe(&self, kind: &Kind) -> String {
        let text = match self.hint(kind) {
            Some(hint) => format!("{self}; {hint}"),
            None => self.to_string(),
        };
        crate::text::one_line(&text, 1000)
    }
}

/// Connects to `target` and sets up TLS verified for its endpoint name.
///
/// # Errors
/// [`LoginError`]: no connection, or a certificate that does not verify.
pub async fn connect(target: &Target) -> Result<(ServerStream, Timings), LoginError> {
    let (tcp, connect) = target.tcp().await.map_err(|source| LoginError::Connect {
        address: target.address(),
        source,
    })?;
    let (stream, tls) = target.handshake(tcp).await.map_err(|err| match err {
        HandshakeError::Name(why) => LoginError::Name(why),
        HandshakeError::Tls(refused) => LoginError::Tls(refused),
        HandshakeError::Io(source) => LoginError::Io {
            during: "during the TLS handshake",
            source,
        },
    })?;
    Ok((stream, Timings { connect, tls }))
}

/// Sends `AUTH user token` and reads the answer, which must be `+OK`.
///
/// # Errors
/// [`LoginError::Refused`] with the server's error; others when the
/// connection fails or the answer is not RESP.
pub async fn auth(stream: &mut ServerStream, user: &str, token: &str) -> Result<(), LoginError> {
    command(
        stream,
        &encode(&[b"AUTH", user.as_bytes(), token.as_bytes()]),
        "AUTH",
    )
    .await?;
    let answer = read_line(stream, "reading the answer to AUTH").await?;
    match answer.strip_prefix('-') {
        _ if answer == "+OK" => Ok(()),
        Some(error) => Err(LoginError::Refused {
            user: user.to_owned(),
            reply: error.to_owned(),
        }),
        None => Err(LoginError::Protocol {
            command: "AUTH",
            answer,
        }),
    }
}

/// Writes `bytes` and flushes them.
async fn command(
    stream: &mut ServerStream,
    bytes: &[u8],
    name: &'static str,
) -> Result<(), LoginError> {
    let sent = async {
        stream.write_all(bytes).await?;
        stream.flush().await
    };
    sent.await.map_err(|source| LoginError::Io {
        during: match name {
            "AUTH" => "sending AUTH",
            "PING" => "sending PING",
            _ => "sending QUIT",
        },
        source,
    })
}

/// Reads one reply line, without its `\r\n`, byte by byte (a login's
/// answers are a few bytes, and nothing after them may be read), at most
/// [`MAX_REPLY_LINE`] bytes.
async fn read_line(
    stream: &mut (impl AsyncRead + Unpin),
    during: &'static str,
) -> Result<String, LoginError> {
    let mut line = Vec::with_capacity(64);
    loop {
        let byte = stream
            .read_u8()
            .await
            .map_err(|source| LoginError::Io { during, source })?;
        if byte == b'\n' {
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(String::from_utf8_lossy(&line).into_owned());
        }
        if line.len() >= MAX_REPLY_LINE {
            return Err(LoginError::Protocol {
                command: "AUTH",
                answer: format!("a line over {MAX_REPLY_LINE} bytes"),
            });
        }
        line.push(byte);
    }
}

/// A server connection for `db`, logged in as its user id with a new
/// token, within [`LOGIN_TIMEOUT`]. Counts the token, the login and the
/// times in `proxy`'s metrics.
///
/// # Errors
/// [`LoginError`].
pub async fn login(db: &Database, proxy: &Proxy) -> Result<Server, LoginError> {
    let user = db.username.as_deref().unwrap_or_default();
    let attempt = async {
        let (mut stream, timings) = connect(&db.target).await?;
        let label = &db.label;
        proxy
            .metrics
            .connect_seconds
            .get_or_create(label)
            .observe(timings.connect.as_secs_f64());
        proxy
            .metrics
            .tls_seconds
            .get_or_create(label)
            .observe(timings.tls.as_secs_f64());
        let issued = db.token(user).await.map_err(|err| LoginError::Token {
            user: user.to_owned(),
            reason: distinct_error_chain(&err),
        })?;
        proxy.metrics.tokens.get_or_create(label).inc();
        auth(&mut stream, user, issued.token.as_str()).await?;
        Ok(stream)
    };
    let stream = tokio::time::timeout(LOGIN_TIMEOUT, attempt)
        .await
        .map_err(|_| LoginError::Timeout("the connection and AUTH"))??;
    proxy.metrics.server_logins.get_or_create(&db.label).inc();
    Ok(Server {
        stream,
        since: Instant::now(),
    })
}

/// A login as `db`'s user id, `PING`, and `QUIT`: what was checked.
///
/// # Errors
/// The one-line reason, as a client would be told.
pub async fn test_login(db: &Database) -> Result<String, String> {
    let user = db.username.as_deref().unwrap_or_default();
    let attempt = async {
        let (mut stream, _) = connect(&db.target).await?;
        let issued = db.token(user).await.map_err(|err| LoginError::Token {
            user: user.to_owned(),
            reason: distinct_error_chain(&err),
        })?;
        auth(&mut stream, user, issued.token.as_str()).await?;
        command(&mut stream, &encode(&[b"PING"]), "PING").await?;
        let pong = read_line(&mut stream, "reading the answer to PING").await?;
        if pong != "+PONG" {
            return Err(LoginError::Protocol {
                command: "PING",
                answer: pong,
            });
        }
        command(&mut stream, &encode(&[b"QUIT"]), "QUIT").await?;
        let _ = read_line(&mut stream, "reading the answer to QUIT").await;
        let _ = stream.shutdown().await;
        Ok(())
    };
    match tokio::time::timeout(LOGIN_TIMEOUT, attempt).await {
        Ok(Ok(())) => Ok(format!("logged in as {user}")),
        Ok(Err(err)) => Err(err.describe(&db.kind)),
        Err(_) => Err(LoginError::Timeout("the connection, AUTH and PING").describe(&db.kind)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_a_reply_line_and_nothing_after_it() {
        let mut input: &[u8] = b"-WRONGPASS invalid username-password pair\r\n+PONG\r\n";
        assert_eq!(
            read_line(&mut input, "test").await.unwrap(),
            "-WRONGPASS invalid username-password pair"
        );
        assert_eq!(input, b"+PONG\r\n");
    }

    #[tokio::test]
    async fn refuses_a_reply_line_over_its_bound() {
        let long = vec![b'+'; MAX_REPLY_LINE + 10];
        let mut input: &[u8] = &long;
        assert!(matches!(
            read_line(&mut input, "test").await,
            Err(LoginError::Protocol { .. })
        ));
    }

    #[test]
    fn says_what_to_check_when_the_token_is_refused_for_each_kind() {
        let refused = LoginError::Refused {
            user: "iam-user-01".into(),
            reply: "WRONGPASS invalid username-password pair or user is disabled.".into(),
        };
        let cache = Kind::ElastiCache {
            cache_name: "my-cache".into(),
            serverless: false,
        };
        let text = refused.describe(&cache);
        assert!(text.starts_with("the server refused the IAM token for iam-user-01: WRONGPASS invalid username-password pair or user is disabled.; check that iam-user-01 is an IAM-enabled user"), "{text}");
        assert!(
            text.contains("elasticache:Connect") && text.contains("--serverless"),
            "{text}"
        );
        let cluster = Kind::MemoryDb {
            cluster_name: "c".into(),
        };
        assert!(refused.describe(&cluster).contains("memorydb:Connect"));
        assert_eq!(refused.outcome(), "refused");
        assert_eq!(refused.reason(), "refused");
    }
}
