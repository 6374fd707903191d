//! Logged-in server connections kept between clients: an IAM login is
//! expensive for the server, and many applications connect per request.
//! A connection is kept only after a clean reset, for at most the idle
//! timeout, up to a limit per database, and handed only to a client with
//! the same start-up parameters (user, database and the rest).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

use super::upstream::Server;

/// How server connections are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reuse {
    /// The most idle connections kept for one database.
    pub max_idle: usize,
    /// How long an idle connection is kept.
    pub idle_timeout: Duration,
}

impl Default for Reuse {
    fn default() -> Self {
        Reuse {
            max_idle: 32,
            idle_timeout: Duration::from_secs(300),
        }
    }
}

/// The start-up parameters a server connection was logged in with, sorted:
/// what a client must ask for to be given it.
pub type Key = Vec<(String, String)>;

/// The key of `parameters`.
pub fn key(parameters: &[(String, String)]) -> Key {
    let mut key = parameters.to_vec();
    key.sort();
    key
}

struct Idle {
    server: Server,
    since: Instant,
}

/// One database's idle server connections.
#[derive(Default)]
pub struct Pool {
    settings: Option<Reuse>,
    idle: Mutex<HashMap<Key, Vec<Idle>>>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("settings", &self.settings)
            .field("idle", &self.len())
            .finish()
    }
}

impl Pool {
    /// A pool that keeps connections as `settings` say, or none (`None`:
    /// `--no-reuse`).
    pub fn new(settings: Option<Reuse>) -> Pool {
        Pool {
            settings,
            idle: Mutex::default(),
        }
    }

    /// Whether connections are kept at all.
    pub fn enabled(&self) -> bool {
        self.settings.is_some()
    }

    /// How many connections are idle now.
    pub fn len(&self) -> usize {
        self.lock().values().map(Vec::len).sum()
    }

    /// True when none are.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Vec<Idle>>> {
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The most recently kept live connection for `key`. Connections found
    /// closed (the server restarted, or ended them) or past their time are
    /// closed on the way.
    pub async fn take(&self, key: &Key) -> Option<Server> {
        let settings = self.settings?;
        loop {
            let idle = {
                let mut map = self.lock();
                let list = map.get_mut(key)?;
                let idle = list.pop();
                if list.is_empty() {
                    map.remove(key);
                }
                idle?
            };
            let mut server = idle.server;
            if idle.since.elapsed() < settings.idle_timeout && alive(&mut server).await {
                return Some(server);
            }
            close(server).await;
        }
    }

    /// Keeps `server` for a client with `key`, unless the pool is full; a
    /// connection not kept is closed. Returns whether it was kept.
    pub async fn put(&self, key: Key, server: Server) -> bool {
        let Some(settings) = self.settings else {
            close(server).await;
            return false;
        };
        let refused = {
            let mut map = self.lock();
            let count: usize = map.values().map(Vec::len).sum();
            if count >= settings.max_idle {
                Some(server)
            } else {
                map.entry(key).or_default().push(Idle {
                    server,
                    since: Instant::now(),
                });
                None
            }
        };
        match refused {
            Some(server) => {
                close(server).await;
                false
            }
            None => true,
        }
    }

    /// Closes the connections idle past the timeout.
    pub async fn sweep(&self) {
        let Some(settings) = self.settings else {
            return;
        };
        let expired: Vec<Server> = {
            let mut map = self.lock();
            let mut expired = Vec::new();
            for list in map.values_mut() {
                let (old, keep): (Vec<Idle>, Vec<Idle>) = std::mem::take(list)
                    .into_iter()
                    .partition(|idle| idle.since.elapsed() >= settings.idle_timeout);
                *list = keep;
                expired.extend(old.into_iter().map(|idle| idle.server));
            }
            map.retain(|_, list| !list.is_empty());
            expired
        };
        for server in expired {
            close(server).await;
        }
    }

    /// Closes every idle connection.
    pub async fn clear(&self) {
        let all: Vec<Server> = self
            .lock()
            .drain()
            .flat_map(|(_, list)| list.into_iter().map(|idle| idle.server))
            .collect();
        for server in all {
            close(server).await;
        }
    }
}

/// True when an idle server connection has nothing to say: no bytes, no
/// end. A server that restarted, or ended the connection, has. The read is
/// polled once, with no timer: a timer's millisecond would be the slowest
/// step of a kept connection's hand-over.
async fn alive(server: &mut Server) -> bool {
    use std::task::Poll;
    use tokio::io::{AsyncRead, ReadBuf};
    let mut byte = [0u8; 1];
    std::future::poll_fn(|cx| {
        let mut buf = ReadBuf::new(&mut byte);
        match std::pin::Pin::new(&mut server.stream).poll_read(cx, &mut buf) {
            Poll::Pending => Poll::Ready(true),
            Poll::Ready(_) => Poll::Ready(false),
        }
    })
    .await
}

/// Ends a server connection politely: Terminate, then TLS close.
pub async fn close(mut server: Server) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = server.stream.write_all(&[b'X', 0, 0, 0, 4]).await;
        let _ = server.stream.flush().await;
        let _ = server.stream.shutdown().await;
    })
    .await;
}
