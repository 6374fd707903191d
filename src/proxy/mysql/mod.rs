//! The MySQL side of the proxy (RDS and Aurora MySQL, RDS for MariaDB): the
//! proxy's own handshake to a client that needs no password and no TLS,
//! the login upstream over verified TLS with a fresh token through the
//! clear-text plugin, and the session relayed; server connections reset
//! (COM_RESET_CONNECTION) and kept between clients.

pub mod client;
pub mod packet;
pub mod relay;
pub mod session;
pub mod upstream;

use std::sync::atomic::AtomicU32;
use std::sync::Mutex;

use super::pool::{Pool, Reuse};
use upstream::{Server, ServerInfo};

/// A MySQL database's server-side state: its kept connections, and the
/// server's handshake that greets clients.
#[derive(Debug)]
pub struct Upstream {
    pub pool: Pool<Server>,
    info: Mutex<Option<ServerInfo>>,
    ids: AtomicU32,
}

impl Upstream {
    /// Keeping connections as `reuse` says (`None`: not at all).
    pub fn new(reuse: Option<Reuse>) -> Upstream {
        Upstream {
            pool: Pool::new(reuse),
            info: Mutex::new(None),
            ids: AtomicU32::new(1),
        }
    }
}
