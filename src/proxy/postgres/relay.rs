//! Everything after the login, relayed both ways unchanged, while the
//! proxy follows the message boundaries to know, when the client leaves,
//! whether the server connection is idle and can be reset and kept.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use bytes::BytesMut;
use prometheus_client::metrics::counter::Counter;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::frames::{Frame, Scanner};
use super::startup::set_parameter;
use super::upstream::{read_message, Server};
use crate::proxy::metrics::Traffic;

/// How many bytes each direction reads at a time.
const CHUNK: usize = 16 * 1024;

/// The longest ParameterStatus the proxy keeps to replay to the next
/// client; a longer one makes the server connection not reusable.
const MAX_PARAMETER_STATUS: usize = 8 * 1024;

/// How long the reset of a server connection may take.
pub const RESET_TIMEOUT: Duration = Duration::from_secs(5);

/// How a relayed session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The client sent Terminate or closed its connection; `idle` when the
    /// server connection was between transactions with nothing pending.
    ClientLeft { idle: bool },
    /// The server closed the connection, or it failed.
    ServerLeft,
    /// The server sent bytes that are not PostgreSQL messages.
    ServerBroken,
}

/// What the client side learns.
struct ClientSide {
    scanner: Scanner,
    /// Parse, Bind, Execute, Describe or Close sent since the last Sync.
    unsynced: bool,
}

/// What the server side learns.
struct ServerSide {
    scanner: Scanner,
    /// The transaction status of the last ReadyForQuery.
    status: u8,
    /// A ParameterStatus could not be kept.
    lost_parameter: bool,
}

/// Relays between `client` and `server` until either leaves; the server's
/// parameters are kept up to date in `server.parameters`.
pub async fn relay<C>(client: &mut C, server: &mut Server, traffic: &Traffic) -> Ended
where
    C: AsyncRead + AsyncWrite + Unpin,
{
    // Requests that each end in a ReadyForQuery, minus those received.
    let outstanding = AtomicI64::new(0);
    let mut client_side = ClientSide {
        scanner: Scanner::new(|_| false, 0),
        unsynced: false,
    };
    let mut server_side = ServerSide {
        scanner: Scanner::new(|tag| matches!(tag, b'Z' | b'S'), MAX_PARAMETER_STATUS),
        status: b'I',
        lost_parameter: false,
    };
    let parameters = &mut server.parameters;
    let ended = {
        let (mut client_read, mut client_write) = tokio::io::split(&mut *client);
        let (mut server_read, mut server_write) = tokio::io::split(&mut server.stream);
        tokio::select! {
            clean = client_to_server(&mut client_read, &mut server_write, &mut client_side, &outstanding, &traffic.client_to_server) => {
                Some(clean)
            }
            broken = server_to_client(&mut server_read, &mut client_write, &mut server_side, parameters, &outstanding, &traffic.server_to_client) => {
                if broken { return Ended::ServerBroken; }
                None
            }
        }
    };
    match ended {
        None => Ended::ServerLeft,
        Some(clean) => Ended::ClientLeft {
            idle: clean
                && client_side.scanner.at_boundary()
                && !client_side.unsynced
                && server_side.scanner.at_boundary()
                && server_side.status == b'I'
                && !server_side.lost_parameter
                && outstanding.load(Ordering::Relaxed) == 0,
        },
    }
}

/// Client to server, up to the client's Terminate (not forwarded) or end.
/// True when the client left at a message boundary.
async fn client_to_server(
    read: &mut (impl AsyncRead + Unpin),
    write: &mut (impl AsyncWrite + Unpin),
    side: &mut ClientSide,
    outstanding: &AtomicI64,
    bytes: &Counter,
) -> bool {
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match read.read(&mut buf).await {
            Ok(0) | Err(_) => return side.scanner.at_boundary(),
            Ok(n) => n,
        };
        let mut terminated = false;
        let unsynced = &mut side.unsynced;
        let scanned = side.scanner.feed(&buf[..n], |frame| {
            if let Frame::Start { tag, .. } = frame {
                match tag {
                    b'X' => {
                        terminated = true;
                        return ControlFlow::Break(());
                    }
                    b'Q' | b'F' => {
                        outstanding.fetch_add(1, Ordering::Relaxed);
                    }
                    b'S' => {
                        outstanding.fetch_add(1, Ordering::Relaxed);
                        *unsynced = false;
                    }
                    b'P' | b'B' | b'E' | b'D' | b'C' => *unsynced = true,
                    _ => {}
                }
            }
            ControlFlow::Continue(())
        });
        let Ok(scanned) = scanned else {
            // Not PostgreSQL messages: the server will end the session.
            let _ = write.write_all(&buf[..n]).await;
            return false;
        };
        if write.write_all(&buf[..scanned]).await.is_err() || write.flush().await.is_err() {
            return false;
        }
        bytes.inc_by(scanned as u64);
        if terminated {
            return true;
        }
    }
}

/// Server to client, until the server or the client fails. True when the
/// server sent what is not PostgreSQL messages.
async fn server_to_client(
    read: &mut (impl AsyncRead + Unpin),
    write: &mut (impl AsyncWrite + Unpin),
    side: &mut ServerSide,
    parameters: &mut Vec<(String, String)>,
    outstanding: &AtomicI64,
    bytes: &Counter,
) -> bool {
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match read.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        let (status, lost) = (&mut side.status, &mut side.lost_parameter);
        let scanned = side.scanner.feed(&buf[..n], |frame| {
            match frame {
                Frame::End {
                    tag: b'Z',
                    body: Some(&[state]),
                } => {
                    *status = state;
                    outstanding.fetch_sub(1, Ordering::Relaxed);
                }
                Frame::End {
                    tag: b'S',
                    body: Some(body),
                } => match parameter_status(body) {
                    Some((name, value)) => set_parameter(parameters, name, value),
                    None => *lost = true,
                },
                Frame::End {
                    tag: b'S' | b'Z',
                    body: _,
                } => *lost = true,
                _ => {}
            }
            ControlFlow::Continue(())
        });
        if write.write_all(&buf[..n]).await.is_err() || write.flush().await.is_err() {
            return false;
        }
        bytes.inc_by(n as u64);
        if scanned.is_err() {
            return true;
        }
    }
}

/// A ParameterStatus body's name and value.
fn parameter_status(body: &[u8]) -> Option<(&str, &str)> {
    let mut parts = body.split(|&b| b == 0);
    let name = std::str::from_utf8(parts.next()?).ok()?;
    let value = std::str::from_utf8(parts.next()?).ok()?;
    (parts.next() == Some(&[]) && parts.next().is_none()).then_some((name, value))
}

/// Resets an idle server connection for the next client: `DISCARD ALL`
/// (as pgbouncer's session mode does), which must end in CommandComplete
/// and an idle ReadyForQuery with nothing else pending. Returns false for
/// anything else; the connection is then to be closed.
pub async fn reset(server: &mut Server) -> bool {
    tokio::time::timeout(RESET_TIMEOUT, reset_now(server))
        .await
        .unwrap_or(false)
}

async fn reset_now(server: &mut Server) -> bool {
    let mut out = BytesMut::new();
    if postgres_protocol::message::frontend::query("DISCARD ALL", &mut out).is_err()
        || server.stream.write_all(&out).await.is_err()
        || server.stream.flush().await.is_err()
    {
        return false;
    }
    let mut buf = BytesMut::new();
    let mut completed = false;
    loop {
        let Ok((tag, frame)) = read_message(&mut server.stream, &mut buf).await else {
            return false;
        };
        match tag {
            b'C' => {
                completed = frame
                    .get(5..)
                    .is_some_and(|b| b.starts_with(b"DISCARD ALL"))
            }
            b'S' => match parameter_status(&frame[5..]) {
                Some((name, value)) => set_parameter(&mut server.parameters, name, value),
                None => return false,
            },
            // Notices, and notifications still queued from a LISTEN.
            b'N' | b'A' => {}
            b'Z' => return completed && frame.get(5) == Some(&b'I') && buf.is_empty(),
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_parameter_status_body() {
        assert_eq!(
            parameter_status(b"TimeZone\0UTC\0"),
            Some(("TimeZone", "UTC"))
        );
        assert_eq!(parameter_status(b"TimeZone\0UTC"), None);
        assert_eq!(parameter_status(b"a\0b\0c\0"), None);
    }
}
