//! What the proxy counts, in the Prometheus text format (written by
//! prometheus-client): connections open and total, logins by outcome and
//! reason, server logins and reuses, tokens minted, bytes each way, and
//! the time connecting and verifying TLS upstream takes. Labels carry the
//! database's name and the engine, never a user's secret.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Which database.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DatabaseLabel {
    pub database: String,
    pub engine: String,
}

/// A login's outcome and, for a failure, why.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LoginLabel {
    pub database: String,
    pub engine: String,
    pub outcome: String,
    pub reason: String,
}

/// Bytes one way.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BytesLabel {
    pub database: String,
    pub engine: String,
    /// `client_to_server` or `server_to_client`.
    pub direction: String,
}

fn seconds() -> Histogram {
    // 0.25 ms to about 4 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
}

/// Byte counters for each direction of one connection.
#[derive(Debug, Clone, Default)]
pub struct Traffic {
    pub client_to_server: Counter,
    pub server_to_client: Counter,
}

/// An open client connection, counted in `connections_open` until dropped.
#[derive(Debug)]
pub struct OpenConnection(Gauge);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Every metric, registered.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub connections_open: Family<DatabaseLabel, Gauge>,
    pub connections: Family<DatabaseLabel, Counter>,
    pub logins: Family<LoginLabel, Counter>,
    pub server_logins: Family<DatabaseLabel, Counter>,
    pub server_reuses: Family<DatabaseLabel, Counter>,
    pub server_idle: Family<DatabaseLabel, Gauge>,
    pub tokens: Family<DatabaseLabel, Counter>,
    pub bytes: Family<BytesLabel, Counter>,
    pub connect_seconds: Family<DatabaseLabel, Histogram>,
    pub tls_seconds: Family<DatabaseLabel, Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("rds_auth_token_proxy");
        let metrics = Metrics {
            connections_open: Family::default(),
            connections: Family::default(),
            logins: Family::default(),
            server_logins: Family::default(),
            server_reuses: Family::default(),
            server_idle: Family::default(),
            tokens: Family::default(),
            bytes: Family::default(),
            connect_seconds: Family::new_with_constructor(seconds),
            tls_seconds: Family::new_with_constructor(seconds),
            registry: Registry::default(),
        };
        registry.register(
            "client_connections_open",
            "Client connections open now",
            metrics.connections_open.clone(),
        );
        registry.register(
            "client_connections",
            "Client connections accepted",
            metrics.connections.clone(),
        );
        registry.register(
            "logins",
            "Client logins by outcome (ok, refused, failed) and reason",
            metrics.logins.clone(),
        );
        registry.register(
            "server_logins",
            "Logins to the database with a new token",
            metrics.server_logins.clone(),
        );
        registry.register(
            "server_reuses",
            "Client logins served by a server connection kept from an earlier client",
            metrics.server_reuses.clone(),
        );
        registry.register(
            "server_connections_idle",
            "Logged-in server connections kept for the next client",
            metrics.server_idle.clone(),
        );
        registry.register("tokens_minted", "IAM tokens made", metrics.tokens.clone());
        registry.register("bytes", "Bytes relayed", metrics.bytes.clone());
        registry.register(
            "upstream_connect_seconds",
            "Time to open a TCP connection to the database",
            metrics.connect_seconds.clone(),
        );
        registry.register(
            "upstream_tls_seconds",
            "Time to set up and verify TLS with the database",
            metrics.tls_seconds.clone(),
        );
        Metrics {
            registry,
            ..metrics
        }
    }

    /// All metrics in the Prometheus (OpenMetrics) text format.
    /// Counts a client connection for `label`, open until the guard is
    /// dropped.
    pub fn connection(&self, label: &DatabaseLabel) -> OpenConnection {
        let open = self.connections_open.get_or_create(label).clone();
        open.inc();
        self.connections.get_or_create(label).inc();
        OpenConnection(open)
    }

    /// Counts a client's login: its outcome (`ok`, `refused`, `failed`) and
    /// why (`new`, `reused`, or the failure's reason).
    pub fn login(&self, label: &DatabaseLabel, outcome: &str, reason: &str) {
        self.logins
            .get_or_create(&LoginLabel {
                database: label.database.clone(),
                engine: label.engine.clone(),
                outcome: outcome.to_owned(),
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// The byte counters of a database's connections.
    pub fn traffic(&self, label: &DatabaseLabel) -> Traffic {
        // One family look-up a statement: a look-up holds the family's
        // lock until the statement ends, and a second one that adds a
        // label waits on it.
        let client_to_server = self.bytes_counter(label, "client_to_server");
        let server_to_client = self.bytes_counter(label, "server_to_client");
        Traffic {
            client_to_server,
            server_to_client,
        }
    }

    fn bytes_counter(&self, label: &DatabaseLabel, direction: &str) -> Counter {
        let label = BytesLabel {
            database: label.database.clone(),
            engine: label.engine.clone(),
            direction: direction.to_owned(),
        };
        let counter = self.bytes.get_or_create(&label).clone();
        counter
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_under_the_proxys_prefix_with_the_database_as_a_label() {
        let metrics = Metrics::new();
        let db = DatabaseLabel {
            database: "main".into(),
            engine: "postgres".into(),
        };
        metrics.connections.get_or_create(&db).inc();
        metrics.connect_seconds.get_or_create(&db).observe(0.002);
        let text = metrics.encode();
        assert!(
            text.contains(
                "rds_auth_token_proxy_client_connections_total{database=\"main\",engine=\"postgres\"} 1"
            ),
            "{text}"
        );
        assert!(text.contains("rds_auth_token_proxy_upstream_connect_seconds_count{database=\"main\",engine=\"postgres\"} 1"), "{text}");
        assert!(text.ends_with("# EOF\n"));
    }
}
