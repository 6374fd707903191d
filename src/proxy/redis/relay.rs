//! Everything after the login, relayed both ways: the server's bytes
//! unchanged, the client's through the [`Scanner`], which passes every
//! command on as it arrives but AUTH and HELLO, rewritten with the proxy's
//! user id and a fresh token where they were in the stream.
//!
//! When the client closes its side between commands, the server's replies
//! to them still reach it: the proxy closes its side to the server too,
//! and relays until the server closes (at most [`CLOSE_WAIT`]).
//!
//! When the client breaks the protocol (or no token can be made for its
//! AUTH), nothing more of it is sent; the server's replies to what was
//! sent before still reach the client, until the server has been quiet for
//! [`DRAIN_QUIET`] (at most [`DRAIN_MAX`]); then the client gets the error
//! line and the connection closes, as Redis closes it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::auth;
use super::resp::{Command, Piece, ScanError, Scanner};
use super::upstream::Server;
use crate::proxy::log::Level;
use crate::proxy::metrics::Traffic;
use crate::proxy::{ClientStream, Database, Proxy};
use crate::text::distinct_error_chain;

/// How many bytes each direction reads at a time.
pub const CHUNK: usize = 16 * 1024;

/// How long the server must be quiet, after a client's fault, before the
/// client gets the error.
pub const DRAIN_QUIET: Duration = Duration::from_millis(100);

/// The longest wait for the server's last replies after a client's fault.
pub const DRAIN_MAX: Duration = Duration::from_secs(1);

/// The longest wait, once the client has closed its side after whole
/// commands, for the server to answer them and close.
pub const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// A client's fault: the error line it gets (without `-` and `\r\n`) and
/// the reason of the log and metrics.
#[derive(Debug, Clone)]
pub struct Fault {
    pub line: String,
    pub reason: &'static str,
}

impl Fault {
    /// The fault of a scan error.
    pub fn of(err: &ScanError) -> Fault {
        Fault {
            line: format!("ERR {err}"),
            reason: match err {
                ScanError::Protocol(_) => "protocol",
                ScanError::TooLong(_) => "too_long",
            },
        }
    }
}

/// How a relayed session ended.
#[derive(Debug)]
pub enum Ended {
    /// The client closed its connection; `at_boundary` when it was between
    /// commands.
    ClientLeft { at_boundary: bool },
    /// The server closed the connection, or it failed.
    ServerLeft,
    /// The client's fault, answered.
    Fault(Fault),
}

/// What the relay needs to know of the session.
pub struct Session<'a> {
    pub db: &'a Database,
    pub proxy: &'a Proxy,
    pub peer: &'a str,
    pub traffic: &'a Traffic,
}

/// The client's first bytes, read and scanned before the login.
pub struct First {
    pub buf: Vec<u8>,
    pub len: usize,
    pub pieces: Vec<Piece>,
    pub scanned: Result<(), ScanError>,
}

/// Relays between `client` and `server` until either leaves or the client
/// breaks the protocol; `first` is what the client sent before the login.
pub async fn relay(
    client: &mut ClientStream,
    server: &mut Server,
    first: First,
    scanner: Scanner,
    session: &Session<'_>,
) -> Ended {
    let (mut client_read, mut client_write) = tokio::io::split(client);
    let (mut server_read, mut server_write) = tokio::io::split(&mut server.stream);
    let (fault_tx, fault_rx) = oneshot::channel();
    let client_closed = AtomicBool::new(false);
    let client_side = async {
        match client_to_server(&mut client_read, &mut server_write, first, scanner, session).await {
            ClientEnd::Fault(fault) => {
                let _ = fault_tx.send(fault);
                // The server side answers it once the server is quiet.
                std::future::pending().await
            }
            ClientEnd::Left { at_boundary: true } => {
                // Closed (or half-closed) after whole commands: the server
                // still answers them, then closes on the end of the stream,
                // as it does for a client of its own.
                client_closed.store(true, Ordering::Relaxed);
                let _ = server_write.shutdown().await;
                tokio::time::sleep(CLOSE_WAIT).await;
                Ended::ClientLeft { at_boundary: true }
            }
            ClientEnd::Left { at_boundary } => Ended::ClientLeft { at_boundary },
            ClientEnd::ServerGone => Ended::ServerLeft,
        }
    };
    let server_side = server_to_client(
        &mut server_read,
        &mut client_write,
        fault_rx,
        &session.traffic.server_to_client,
    );
    let ended = tokio::select! {
        ended = client_side => ended,
        ended = server_side => ended,
    };
    match ended {
        Ended::ServerLeft if client_closed.load(Ordering::Relaxed) => {
            Ended::ClientLeft { at_boundary: true }
        }
        other => other,
    }
}

enum ClientEnd {
    Left { at_boundary: bool },
    ServerGone,
    Fault(Fault),
}

async fn client_to_server(
    read: &mut (impl AsyncRead + Unpin),
    write: &mut (impl AsyncWrite + Unpin),
    first: First,
    mut scanner: Scanner,
    session: &Session<'_>,
) -> ClientEnd {
    let First {
        mut buf,
        mut len,
        mut pieces,
        mut scanned,
    } = first;
    let mut out = Vec::new();
    loop {
        match forward(&buf[..len], &pieces, &mut out, write, session).await {
            Ok(()) => {}
            Err(Forward::ServerGone) => return ClientEnd::ServerGone,
            Err(Forward::Fault(fault)) => return ClientEnd::Fault(fault),
        }
        if let Err(err) = &scanned {
            return ClientEnd::Fault(Fault::of(err));
        }
        len = match read.read(&mut buf).await {
            Ok(0) | Err(_) => {
                return ClientEnd::Left {
                    at_boundary: scanner.at_boundary(),
                }
            }
            Ok(n) => n,
        };
        pieces.clear();
        scanned = scanner.feed(&buf[..len], &mut pieces);
    }
}

enum Forward {
    ServerGone,
    Fault(Fault),
}

/// Sends what `pieces` say of `chunk` to the server, in one write: the
/// bytes to pass on, and each AUTH or HELLO rewritten with a fresh token.
async fn forward(
    chunk: &[u8],
    pieces: &[Piece],
    out: &mut Vec<u8>,
    write: &mut (impl AsyncWrite + Unpin),
    session: &Session<'_>,
) -> Result<(), Forward> {
    let mut fault = None;
    let bytes: &[u8] = match pieces {
        [] => return Ok(()),
        [Piece::Input(range)] => &chunk[range.clone()],
        _ => {
            out.clear();
            for piece in pieces {
                match piece {
                    Piece::Input(range) => out.extend_from_slice(&chunk[range.clone()]),
                    Piece::Earlier(bytes) => out.extend_from_slice(bytes),
                    Piece::Command(command) => match rewritten(command, session).await {
                        Ok(bytes) => out.extend_from_slice(&bytes),
                        Err(failed) => {
                            // What came before is sent, and answered first.
                            fault = Some(failed);
                            break;
                        }
                    },
                }
            }
            out.as_slice()
        }
    };
    if write.write_all(bytes).await.is_err() || write.flush().await.is_err() {
        return Err(Forward::ServerGone);
    }
    session.traffic.client_to_server.inc_by(bytes.len() as u64);
    if out.capacity() > 4 * CHUNK {
        *out = Vec::new();
    }
    match fault {
        Some(fault) => Err(Forward::Fault(fault)),
        None => Ok(()),
    }
}

/// A client's AUTH or HELLO as the proxy sends it, with a fresh token.
async fn rewritten(command: &Command, session: &Session<'_>) -> Result<Vec<u8>, Fault> {
    let db = session.db;
    let user = db.username.as_deref().unwrap_or_default();
    let issued = db.token(user).await.map_err(|err| Fault {
        line: crate::text::one_line(
            &format!(
                "ERR no IAM token for {user}: {}",
                distinct_error_chain(&err)
            ),
            1000,
        ),
        reason: "token",
    })?;
    session.proxy.metrics.tokens.get_or_create(&db.label).inc();
    let client_user = auth::client_user(command)
        .map(|u| String::from_utf8_lossy(u).into_owned())
        .unwrap_or_default();
    session.proxy.log.event(
        Level::Debug,
        "client's AUTH sent upstream with the proxy's user and a fresh token",
        &[
            ("peer", session.peer),
            ("command", command.held.name()),
            ("client_user", &client_user),
            ("user", user),
        ],
    );
    Ok(auth::rewrite(
        command,
        user.as_bytes(),
        issued.token.as_str().as_bytes(),
    ))
}

/// Server to client, until the server leaves or the client is gone; after
/// a client's fault (from `faults`), until the server is quiet, then the
/// fault's line.
async fn server_to_client(
    read: &mut (impl AsyncRead + Unpin),
    write: &mut (impl AsyncWrite + Unpin),
    mut faults: oneshot::Receiver<Fault>,
    bytes: &Counter,
) -> Ended {
    let mut buf = vec![0u8; CHUNK];
    let mut fault: Option<(Fault, Instant)> = None;
    let mut listening = true;
    loop {
        let quiet = match &fault {
            Some((_, deadline)) => (Instant::now() + DRAIN_QUIET).min(*deadline),
            None => Instant::now() + DRAIN_MAX,
        };
        tokio::select! {
            biased;
            got = &mut faults, if listening && fault.is_none() => {
                listening = false;
                if let Ok(got) = got {
                    fault = Some((got, Instant::now() + DRAIN_MAX));
                }
            }
            n = read.read(&mut buf) => {
                let n = match n {
                    Ok(0) | Err(_) => {
                        return match fault {
                            Some((fault, _)) => answer(write, fault).await,
                            None => Ended::ServerLeft,
                        };
                    }
                    Ok(n) => n,
                };
                if write.write_all(&buf[..n]).await.is_err() || write.flush().await.is_err() {
                    return Ended::ClientLeft { at_boundary: false };
                }
                bytes.inc_by(n as u64);
            }
            () = tokio::time::sleep_until(quiet), if fault.is_some() => {
                let Some((fault, _)) = fault else { unreachable!() };
                return answer(write, fault).await;
            }
        }
    }
}

/// Writes the fault's line to the client and ends the session.
async fn answer(write: &mut (impl AsyncWrite + Unpin), fault: Fault) -> Ended {
    let line = format!("-{}\r\n", fault.line);
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        write.write_all(line.as_bytes()).await?;
        write.flush().await?;
        write.shutdown().await
    })
    .await;
    Ended::Fault(fault)
}
