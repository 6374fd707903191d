//! Cancel keys: each client is given a key of the proxy's own, and a
//! CancelRequest with it is sent, over a new verified TLS connection, to
//! the server connection the client is using at the time. A key of the
//! server's own never reaches a client, so a client that has left cannot
//! cancel the queries of the next client of the same server connection.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::startup::CancelKey;
use super::upstream::Target;

/// Where a client's cancel goes.
#[derive(Debug, Clone)]
pub struct Route {
    pub target: Arc<Target>,
    pub server_key: CancelKey,
    /// The database's name, for the log.
    pub database: String,
}

/// The keys handed out and where each leads.
#[derive(Debug, Default)]
pub struct Cancels {
    routes: Mutex<HashMap<CancelKey, Route>>,
}

impl Cancels {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CancelKey, Route>> {
        self.routes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A new key, unpredictable and not in use, that leads to `route`.
    pub fn register(&self, route: Route) -> CancelKey {
        let random = rustls::crypto::ring::default_provider().secure_random;
        loop {
            let mut bytes = [0u8; 8];
            if random.fill(&mut bytes).is_err() {
                // No randomness: no key the client could guess either way,
                // since nothing is registered under it.
                return CancelKey {
                    process_id: 0,
                    secret_key: 0,
                };
            }
            let key = CancelKey {
                // A positive process id, as PostgreSQL's.
                process_id: i32::from_be_bytes(bytes[..4].try_into().expect("4")) & i32::MAX,
                secret_key: i32::from_be_bytes(bytes[4..].try_into().expect("4")),
            };
            let mut routes = self.lock();
            if key.process_id != 0 && !routes.contains_key(&key) {
                routes.insert(key, route);
                return key;
            }
        }
    }

    /// Where `key` leads, if anywhere.
    pub fn route(&self, key: &CancelKey) -> Option<Route> {
        self.lock().get(key).cloned()
    }

    /// Forgets `key`: its client has left.
    pub fn forget(&self, key: &CancelKey) {
        self.lock().remove(key);
    }
}
