//! One Redis or Valkey client connection: a refusal answered as a RESP
//! error, or, once the client sends its first bytes, a server connection
//! logged in with `AUTH USER_ID TOKEN` (a token made for it), then the
//! relay, where the client's own AUTH and HELLO get the proxy's user id and
//! a fresh token.
//!
//! The server connection is made at the client's first bytes, not at its
//! connect: a client that connects and sends nothing (a port check, a pool
//! that opens connections ahead of use) costs no token and no server
//! connection, for as long as it stays idle. Every client has a server
//! connection of its own, closed when it leaves: a Redis connection
//! carries state no command resets for sure (SELECT, CLIENT SETNAME,
//! subscriptions, MULTI, CLIENT TRACKING), so none is kept for another
//! client.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::relay::{self, Ended, Fault, First, CHUNK};
use super::resp::Scanner;
use super::upstream;
use crate::proxy::log::Level;
use crate::proxy::{Client, ClientStream, Database, Proxy};

/// ElastiCache and MemoryDB close an IAM-authenticated connection 12 hours
/// after its AUTH.
pub const IAM_CONNECTION_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);

/// How long writing a refusal to a client may take.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// How long, and for how many bytes, a client is read after its error line
/// before its connection is closed.
const LINGER: Duration = Duration::from_secs(1);
const LINGER_BYTES: usize = 1024 * 1024;

/// The most bytes of a client's first read: a command or the start of
/// one.
const FIRST_READ: usize = 512;

/// The first byte of a TLS ClientHello.
const TLS_HANDSHAKE: u8 = 0x16;

/// Serves `client` for `db`.
pub async fn serve(client: Client, db: &Arc<Database>, proxy: &Arc<Proxy>) {
    let Client {
        mut stream,
        peer,
        refusal,
    } = client;
    let log = proxy.log;
    let user = db.username.as_deref().unwrap_or_default();
    if let Some(refusal) = refusal {
        log.warn(
            "client refused",
            &[
                ("peer", &peer),
                ("upstream", &db.name),
                ("reason", &refusal.message),
            ],
        );
        proxy.metrics.login(&db.label, "refused", refusal.reason);
        answer(&mut stream, &format!("ERR {}", refusal.message)).await;
        return;
    }
    // A small buffer while the client is silent, which it may stay for
    // long: the relay's whole one once it speaks.
    let mut buf = vec![0u8; FIRST_READ];
    let len = match stream.read(&mut buf).await {
        Ok(0) | Err(_) => {
            log.event(
                Level::Debug,
                "connection closed before its first byte",
                &[("peer", &peer), ("upstream", &db.name)],
            );
            return;
        }
        Ok(n) => n,
    };
    if buf[0] == TLS_HANDSHAKE {
        log.warn(
            "client started TLS; closed: the proxy takes Redis clients in plain text (the hop to it is local) and speaks TLS to the server itself; connect without --tls",
            &[("peer", &peer), ("upstream", &db.name)],
        );
        proxy.metrics.login(&db.label, "refused", "client_tls");
        return;
    }
    buf.resize(CHUNK, 0);
    let mut scanner = Scanner::new();
    let mut pieces = Vec::new();
    let scanned = scanner.feed(&buf[..len], &mut pieces);
    if let (Err(err), true) = (&scanned, pieces.is_empty()) {
        let fault = Fault::of(err);
        log.warn(
            "client sent what is not RESP; answered and closed",
            &[
                ("peer", &peer),
                ("upstream", &db.name),
                ("reason", &fault.line),
            ],
        );
        proxy.metrics.login(&db.label, "refused", fault.reason);
        answer(&mut stream, &fault.line).await;
        return;
    }
    let mut server = match upstream::login(db, proxy).await {
        Ok(server) => server,
        Err(err) => {
            let text = err.describe(&db.kind);
            log.warn(
                "login failed",
                &[
                    ("peer", &peer),
                    ("user", user),
                    ("upstream", &db.name),
                    ("reason", &text),
                ],
            );
            proxy.metrics.login(&db.label, err.outcome(), err.reason());
            answer(&mut stream, &format!("ERR {text}")).await;
            return;
        }
    };
    proxy.metrics.login(&db.label, "ok", "new");
    log.info(
        "login",
        &[("peer", &peer), ("user", user), ("upstream", &db.name)],
    );
    let traffic = proxy.metrics.traffic(&db.label);
    let session = relay::Session {
        db,
        proxy,
        peer: &peer,
        traffic: &traffic,
    };
    let first = First {
        buf,
        len,
        pieces,
        scanned,
    };
    let ended = relay::relay(&mut stream, &mut server, first, scanner, &session).await;
    let open_for = server.since.elapsed();
    let open_s = open_for.as_secs().to_string();
    match ended {
        Ended::ClientLeft { at_boundary } => log.event(
            Level::Debug,
            if at_boundary {
                "client left"
            } else {
                "client left in the middle of a command; its server connection is closed"
            },
            &[("peer", &peer), ("user", user), ("open_s", &open_s)],
        ),
        Ended::ServerLeft => {
            log.info(
                "server closed the connection",
                &[
                    ("peer", &peer),
                    ("user", user),
                    ("upstream", &db.name),
                    ("open_s", &open_s),
                ],
            );
            if near_the_iam_lifetime(open_for) {
                log.info(
                    "ElastiCache and MemoryDB close IAM-authenticated connections after 12 hours; the client reconnects through the proxy, which logs in with a fresh token",
                    &[("peer", &peer), ("upstream", &db.name)],
                );
            }
        }
        Ended::Fault(fault) => {
            log.warn(
                "client's command refused; answered and closed",
                &[
                    ("peer", &peer),
                    ("user", user),
                    ("upstream", &db.name),
                    ("reason", &fault.line),
                ],
            );
            linger(&mut stream).await;
        }
    }
    drop(stream);
    // A clean TLS close, if the server still listens.
    let _ = tokio::time::timeout(Duration::from_secs(1), server.stream.shutdown()).await;
}

/// Whether a connection open for `open_for` was likely closed by the
/// server for the 12-hour lifetime of IAM-authenticated connections.
fn near_the_iam_lifetime(open_for: Duration) -> bool {
    open_for + Duration::from_secs(15 * 60) >= IAM_CONNECTION_LIFETIME
}

/// Writes `-LINE\r\n` to the client, closes its side, and
/// [lingers](linger).
async fn answer(stream: &mut ClientStream, line: &str) {
    let line = format!("-{}\r\n", crate::text::one_line(line, 1000));
    let _ = tokio::time::timeout(ANSWER_TIMEOUT, async {
        stream.write_all(line.as_bytes()).await?;
        stream.flush().await?;
        stream.shutdown().await
    })
    .await;
    linger(stream).await;
}

/// Reads and drops what the client still sends (a command it sent before
/// reading the error), for up to [`LINGER`], before the connection is
/// closed: closing a socket with unread bytes resets the connection, and
/// the client could lose the error line.
async fn linger(stream: &mut ClientStream) {
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(LINGER, async {
        let mut left = LINGER_BYTES;
        while left > 0 {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    })
    .await;
}

/// A login as `db`'s user id, `PING`, and `QUIT`: what was checked.
///
/// # Errors
/// The one-line reason, as a client would be told.
pub async fn test_login(db: &Database) -> Result<String, String> {
    upstream::test_login(db).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_a_close_near_twelve_hours_for_the_iam_lifetime() {
        assert!(!near_the_iam_lifetime(Duration::from_secs(3600)));
        assert!(!near_the_iam_lifetime(Duration::from_secs(11 * 3600)));
        assert!(near_the_iam_lifetime(Duration::from_secs(
            11 * 3600 + 50 * 60
        )));
        assert!(near_the_iam_lifetime(Duration::from_secs(12 * 3600 + 5)));
    }
}
