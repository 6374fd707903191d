//! Logged-in server connections kept between clients: an IAM login is
//! expensive for the server, and many applications connect per request.
//! A connection is kept only after a clean reset (the engine's: DISCARD ALL
//! for PostgreSQL, COM_RESET_CONNECTION for MySQL), for at most the idle
//! timeout, up to a limit per database, and handed only to a client with
//! the same start-up parameters (user, database and the rest).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

use super::ServerStream;

/// A logged-in server connection of some engine, as a pool keeps it.
pub trait Kept: Send {
    /// Its TLS stream.
    fn stream(&mut self) -> &mut ServerStream;
    /// What the engine's client sends to end a session politely
    /// (PostgreSQL's Terminate, MySQL's COM_QUIT).
    fn goodbye(&self) -> &'static [u8];
}

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

/// What a server connection was logged in with, sorted (PostgreSQL's
/// start-up parameters; MySQL's user, schema, character set and
/// capabilities): what a client must ask for to be given it.
pub type Key = Vec<(String, String)>;

/// The key of `parameters`.
pub fn key(parameters: &[(String, String)]) -> Key {
    let mut key = parameters.to_vec();
    key.sort();
    key
}

struct Idle<S> {
    server: S,
    since: Instant,
}

/// One database's idle server connections.
pub struct Pool<S> {
    settings: Option<Reuse>,
    idle: Mutex<HashMap<Key, Vec<Idle<S>>>>,
}

impl<S: Kept> std::fmt::Debug for Pool<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("settings", &self.settings)
            .field("idle", &self.len())
            .finish()
    }
}

impl<S: Kept> Pool<S> {
    /// A pool that keeps connections as `settings` say, or none (`None`:
    /// `--no-reuse`).
    pub fn new(settings: Option<Reuse>) -> Pool<S> {
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

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Vec<Idle<S>>>> {
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The most recently kept live connection for `key`. Connections found
    /// closed (the server restarted, or ended them) or past their time are
    /// closed on the way.
    pub async fn take(&self, key: &Key) -> Option<S> {
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
    pub async fn put(&self, key: Key, server: S) -> bool {
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
        let expired: Vec<S> = {
            let mut map = self.lock();
            let mut expired = Vec::new();
            for list in map.values_mut() {
                let (old, keep): (Vec<Idle<S>>, Vec<Idle<S>>) = std::mem::take(list)
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
        let all: Vec<S> = self
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
async fn alive(server: &mut impl Kept) -> bool {
    use std::task::Poll;
    use tokio::io::{AsyncRead, ReadBuf};
    let mut byte = [0u8; 1];
    std::future::poll_fn(|cx| {
        let mut buf = ReadBuf::new(&mut byte);
        match std::pin::Pin::new(server.stream()).poll_read(cx, &mut buf) {
            Poll::Pending => Poll::Ready(true),
            Poll::Ready(_) => Poll::Ready(false),
        }
    })
    .await
}

/// Ends a server connection politely: the engine's goodbye, then TLS
/// close.
pub async fn close(mut server: impl Kept) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let goodbye = server.goodbye();
        let stream = server.stream();
        let _ = stream.write_all(goodbye).await;
        let _ = stream.flush().await;
        let _ = stream.shutdown().await;
    })
    .await;
}
