//! The MySQL side of the proxy (RDS and Aurora MySQL, RDS for MariaDB).

pub mod session;

use super::pool::{Pool, Reuse};

/// A MySQL database's kept server connections.
#[derive(Debug)]
pub struct Upstream {
    pub pool: Pool<session::Server>,
}

impl Upstream {
    pub fn new(reuse: Option<Reuse>) -> Upstream {
        Upstream {
            pool: Pool::new(reuse),
        }
    }
}
