//! The listeners: TCP on loopback (or beyond, with `--allow-remote`) and
//! Unix sockets in a private folder with the peer's uid checked. Each
//! accepted client gets a task; the connection limit is a semaphore, and
//! clients over it, or not allowed in, are answered in their protocol.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
#[cfg(unix)]
use tokio::net::UnixListener;
use tokio::sync::{mpsc, watch, Semaphore};

use super::{Client, Database, Protocol, Proxy, Refusal, Refused};

/// A socket bound for a database.
#[derive(Debug)]
pub struct Bound {
    pub database: Arc<Database>,
    pub socket: Socket,
}

/// A bound socket.
#[derive(Debug)]
pub enum Socket {
    Tcp(TcpListener),
    /// The listener and the socket file's path, removed when done.
    #[cfg(unix)]
    Unix(UnixListener, PathBuf),
}

/// How many ports past a taken default port are tried.
const NEXT_FREE_PORTS: u16 = 100;

/// Why a listener could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error("could not listen on {address}: {source}")]
    Tcp {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("no free port from {from} to {to} on {ip} to listen on for {database}; pass --listen ADDR:PORT")]
    NoFreePort {
        ip: std::net::IpAddr,
        from: u16,
        to: u16,
        database: String,
    },
    #[error("could not make the Unix socket folder {path}: {source}")]
    Folder {
        path: PathBuf,
        #[source]
        source: crate::private_file::PrivateFileError,
    },
    #[error("could not listen on the Unix socket {path}: {source}")]
    Unix {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Binds `address`, or, when `next_free` and its port is taken, the next
/// free port after it.
///
/// # Errors
/// [`BindError`].
pub async fn bind_tcp(
    address: SocketAddr,
    next_free: bool,
    database: &str,
) -> Result<TcpListener, BindError> {
    match TcpListener::bind(address).await {
        Ok(listener) => Ok(listener),
        Err(err) if next_free && err.kind() == std::io::ErrorKind::AddrInUse => {
            let last = address.port().saturating_add(NEXT_FREE_PORTS);
            for port in address.port() + 1..=last {
                if let Ok(listener) = TcpListener::bind(SocketAddr::new(address.ip(), port)).await {
                    return Ok(listener);
                }
            }
            Err(BindError::NoFreePort {
                ip: address.ip(),
                from: address.port(),
                to: last,
                database: database.to_owned(),
            })
        }
        Err(source) => Err(BindError::Tcp { address, source }),
    }
}

/// The Unix socket's file name for a database on `port`: PostgreSQL's own
/// (`.s.PGSQL.PORT`, which `psql -h DIR -p PORT` finds), else
/// `mysql-PORT.sock` (for `mysql --socket`) or `redis-PORT.sock`
/// (`redis-cli -s`).
pub fn socket_name(protocol: Protocol, port: u16) -> String {
    match protocol {
        Protocol::Postgres => format!(".s.PGSQL.{port}"),
        Protocol::Mysql => format!("mysql-{port}.sock"),
        Protocol::Redis => format!("redis-{port}.sock"),
    }
}

#[cfg(unix)]
/// Binds the socket `name` in `folder`, made
/// private (0700) when missing and refused when another user owns it or
/// others may write to it (they could put a socket of their own in its
/// place), replacing a stale socket file. The socket file is for this
/// user alone (0600), or, when `shared` (`--allow-uid`), open to all
/// (0666), for the peer's uid to be checked on each connection.
///
/// # Errors
/// [`BindError`].
pub fn bind_unix(
    folder: &std::path::Path,
    name: &str,
    shared: bool,
) -> Result<(UnixListener, PathBuf), BindError> {
    crate::private_file::private_folder(folder).map_err(|source| BindError::Folder {
        path: folder.to_owned(),
        source,
    })?;
    let path = folder.join(name);
    if std::fs::symlink_metadata(&path).is_ok_and(|m| {
        use std::os::unix::fs::FileTypeExt;
        m.file_type().is_socket()
    }) && std::os::unix::net::UnixStream::connect(&path).is_err()
    {
        let _ = std::fs::remove_file(&path);
    }
    let listener = UnixListener::bind(&path).map_err(|source| BindError::Unix {
        path: path.clone(),
        source,
    })?;
    use std::os::unix::fs::PermissionsExt;
    let mode = if shared { 0o666 } else { 0o600 };
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).map_err(|source| {
        BindError::Unix {
            path: path.clone(),
            source,
        }
    })?;
    Ok((listener, path))
}

/// Accepts clients on `bound` until `stop` says so. Each connection task
/// holds a permit of `limit` and a sender of `done`.
pub async fn serve(
    bound: Bound,
    proxy: Arc<Proxy>,
    mut stop: watch::Receiver<bool>,
    limit: Arc<Semaphore>,
    done: mpsc::Sender<()>,
) {
    let db = bound.database;
    loop {
        let accepted = tokio::select! {
            _ = stop.changed() => break,
            accepted = accept(&bound.socket) => accepted,
        };
        let (stream, peer, mut refusal) = match accepted {
            Ok(Accepted::Tcp(stream, peer)) => {
                let _ = stream.set_nodelay(true);
                let refusal = (!proxy.access.allow_remote && !peer.ip().is_loopback()).then(|| Refusal {
                    why: Refused::NotAllowed,
                    message: format!("connections from {} are refused: the proxy takes loopback clients only unless started with --allow-remote", peer.ip()),
                    reason: "remote",
                });
                (
                    Box::new(stream) as super::ClientStream,
                    peer.to_string(),
                    refusal,
                )
            }
            Ok(Accepted::Unix(stream)) => {
                let uid = stream.peer_cred().ok().map(|cred| cred.uid());
                let allowed = uid.is_some_and(|uid| {
                    uid == process_uid() || proxy.access.allow_uids.contains(&uid)
                });
                let peer = uid.map_or_else(|| "uid unknown".to_owned(), |uid| format!("uid {uid}"));
                let refusal = (!allowed).then(|| Refusal {
                    why: Refused::NotAllowed,
                    message: format!("connections from {peer} are refused: the proxy takes its own user's clients only; pass --allow-uid to let others in"),
                    reason: "uid",
                });
                (Box::new(stream) as super::ClientStream, peer, refusal)
            }
            Err(err) => {
                proxy.log.warn(
                    "accept failed; retrying",
                    &[("database", &db.name), ("reason", &err.to_string())],
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let permit = match Arc::clone(&limit).try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => {
                if refusal.is_none() {
                    refusal = Some(Refusal {
                        why: Refused::TooMany,
                        message: format!(
                            "the proxy has {} connections open, its most (--max-connections); try again later",
                            proxy.max_connections.unwrap_or_default()
                        ),
                        reason: "max_connections",
                    });
                }
                None
            }
        };
        let (proxy, db, done) = (Arc::clone(&proxy), Arc::clone(&db), done.clone());
        tokio::spawn(async move {
            db.serve(
                Client {
                    stream,
                    peer,
                    refusal,
                },
                proxy,
            )
            .await;
            drop(permit);
            drop(done);
        });
    }
    #[cfg(unix)]
    if let Socket::Unix(_, path) = &bound.socket {
        let _ = std::fs::remove_file(path);
    }
}

enum Accepted {
    Tcp(tokio::net::TcpStream, SocketAddr),
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
}

async fn accept(socket: &Socket) -> std::io::Result<Accepted> {
    match socket {
        Socket::Tcp(listener) => listener
            .accept()
            .await
            .map(|(stream, peer)| Accepted::Tcp(stream, peer)),
        #[cfg(unix)]
        Socket::Unix(listener, _) => listener
            .accept()
            .await
            .map(|(stream, _)| Accepted::Unix(stream)),
    }
}

/// This process's uid.
#[cfg(unix)]
fn process_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}
