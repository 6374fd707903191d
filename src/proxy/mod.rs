//! The proxy: local listeners that take a database connection with no
//! password and log in upstream with a fresh IAM token over verified TLS.
//! One [`Database`] per upstream endpoint, each with its TCP and Unix
//! listeners; one [`Proxy`] holding what they share (the log, the metrics,
//! the cancel keys, client-side TLS, who may connect). [`run`] serves until
//! told to stop, then drains; [`connection_test`] logs in to each database
//! once.
//!
//! The layout follows tokio's mini-redis: a listener per socket with a
//! semaphore for the connection limit, a watch channel that tells every
//! task to stop, and a channel whose closing says every connection is
//! done.

pub mod config;
pub mod health;
pub mod listener;
pub mod log;
pub mod metrics;
pub mod mysql;
pub mod pool;
pub mod postgres;
pub mod redis;
pub mod setup;
pub mod target;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsAcceptor;

use crate::issuer::{self, HostRegion, IssueError, Issued, Issuer};
use crate::token::{DsqlTokenConfig, ElastiCacheTokenConfig, MemoryDbTokenConfig};
use log::Log;
use metrics::{DatabaseLabel, Metrics};
use pool::Pool;
use target::Target;

/// A client's byte stream: TCP, a Unix socket, or TLS over either.
pub trait ClientIo: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> ClientIo for T {}

/// A client connection's stream, whatever its kind.
pub type ClientStream = Box<dyn ClientIo>;

/// A server connection, TLS verified.
pub type ServerStream = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

/// Which database a proxy serves, and so which token it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// RDS or Aurora PostgreSQL: `rds-db:connect` tokens.
    Postgres,
    /// Aurora DSQL: `DbConnectAdmin` for the `admin` role, `DbConnect` for
    /// the others.
    Dsql,
    /// RDS or Aurora MySQL, RDS for MariaDB: `rds-db:connect` tokens.
    Mysql,
    /// An ElastiCache (Valkey or Redis OSS) replication group or serverless
    /// cache: `elasticache:Connect` tokens for its IAM-enabled user.
    ElastiCache {
        cache_name: String,
        serverless: bool,
    },
    /// A MemoryDB cluster: `memorydb:Connect` tokens.
    MemoryDb { cluster_name: String },
}

/// The wire protocol a database speaks to its clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Postgres,
    Mysql,
    Redis,
}

impl Protocol {
    /// Its name in logs.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Postgres => "PostgreSQL",
            Protocol::Mysql => "MySQL",
            Protocol::Redis => "Redis",
        }
    }
}

/// A database's protocol and the server connections kept for it.
#[derive(Debug)]
pub enum Wire {
    Postgres(Pool<postgres::upstream::Server>),
    Mysql(mysql::Upstream),
    Redis,
}

impl Wire {
    /// The protocol, with no connections kept (`--no-reuse`) or as `reuse`
    /// says.
    pub fn new(protocol: Protocol, reuse: Option<pool::Reuse>) -> Wire {
        match protocol {
            Protocol::Postgres => Wire::Postgres(Pool::new(reuse)),
            Protocol::Mysql => Wire::Mysql(mysql::Upstream::new(reuse)),
            Protocol::Redis => Wire::Redis,
        }
    }

    /// Closes idle server connections past their time; how many are idle
    /// after.
    pub async fn sweep(&self) -> usize {
        match self {
            Wire::Postgres(pool) => {
                pool.sweep().await;
                pool.len()
            }
            Wire::Mysql(upstream) => {
                upstream.pool.sweep().await;
                upstream.pool.len()
            }
            Wire::Redis => 0,
        }
    }

    /// Closes every idle server connection.
    pub async fn clear(&self) {
        match self {
            Wire::Postgres(pool) => pool.clear().await,
            Wire::Mysql(upstream) => upstream.pool.clear().await,
            Wire::Redis => {}
        }
    }
}

/// Why the proxy refuses a client before any login, in words any engine's
/// answer carries.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub why: Refused,
    pub message: String,
    /// The metrics' reason label.
    pub reason: &'static str,
}

/// What kind of refusal: each engine has its code for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Not allowed in (a remote address, another uid).
    NotAllowed,
    /// `--max-connections` reached.
    TooMany,
}

/// A client connection accepted.
pub struct Client {
    pub stream: ClientStream,
    /// Who it is, for the log: `IP:PORT` or `uid N`.
    pub peer: String,
    /// Set when it is to be refused once its start-up is read.
    pub refusal: Option<Refusal>,
}

impl Kind {
    /// Whether `hostname` is an Aurora DSQL cluster endpoint
    /// (`*.dsql.REGION.on.aws`).
    pub fn is_dsql(hostname: &str) -> bool {
        crate::token::dsql_region_from_hostname(hostname).is_some()
    }

    /// The engine label of metrics.
    pub fn engine(&self) -> &'static str {
        match self {
            Kind::Postgres => "postgres",
            Kind::Dsql => "dsql",
            Kind::Mysql => "mysql",
            Kind::ElastiCache { .. } => "elasticache",
            Kind::MemoryDb { .. } => "memorydb",
        }
    }

    /// The protocol its clients speak.
    pub fn protocol(&self) -> Protocol {
        match self {
            Kind::Postgres | Kind::Dsql => Protocol::Postgres,
            Kind::Mysql => Protocol::Mysql,
            Kind::ElastiCache { .. } | Kind::MemoryDb { .. } => Protocol::Redis,
        }
    }

    /// What its endpoint name says of the region.
    fn host_region<'a>(&self, host: &'a str) -> HostRegion<'a> {
        match self {
            Kind::Postgres | Kind::Mysql => HostRegion::Rds(host),
            Kind::Dsql => HostRegion::Dsql(host),
            Kind::ElastiCache { .. } | Kind::MemoryDb { .. } => HostRegion::Unnamed,
        }
    }
}

/// The DSQL role that takes the admin token.
pub const DSQL_ADMIN: &str = "admin";

/// One upstream database and how the proxy serves it.
#[derive(Debug)]
pub struct Database {
    /// Its name in logs and metrics: the configuration file's table name,
    /// or the host name.
    pub name: String,
    pub kind: Kind,
    pub target: Arc<Target>,
    /// The only database user clients may log in as, if pinned; for
    /// ElastiCache and MemoryDB, the IAM-enabled user id, always set.
    pub username: Option<String>,
    /// Token validity asked for, in seconds.
    pub expires_in: u64,
    pub issuer: Arc<Issuer>,
    /// Where to listen: TCP addresses.
    pub listen: Vec<SocketAddr>,
    /// Where to listen: a folder for a Unix socket (`.s.PGSQL.PORT`,
    /// `mysql-PORT.sock` or `redis-PORT.sock`).
    pub unix_socket: Option<PathBuf>,
    pub wire: Wire,
    pub label: DatabaseLabel,
}

impl Database {
    /// A token for `user`, as the token commands make it for this endpoint.
    ///
    /// # Errors
    /// [`IssueError`]: no region, no credentials, or credentials about to
    /// expire.
    pub async fn token(&self, user: &str) -> Result<Issued, IssueError> {
        let host = self.target.hostname.as_str();
        let region = self.kind.host_region(host);
        let expires_in = self.expires_in;
        match &self.kind {
            Kind::Postgres | Kind::Mysql => {
                self.issuer
                    .issue(
                        region,
                        expires_in,
                        issuer::rds(host, self.target.port, user),
                    )
                    .await
            }
            Kind::Dsql => {
                self.issuer
                    .issue(region, expires_in, |region, expires_in| {
                        DsqlTokenConfig::builder()
                            .hostname(host)
                            .region(region)
                            .admin(user == DSQL_ADMIN)
                            .expires_in_secs(expires_in)
                            .build()
                    })
                    .await
            }
            Kind::ElastiCache {
                cache_name,
                serverless,
            } => {
                self.issuer
                    .issue(region, expires_in, |region, expires_in| {
                        ElastiCacheTokenConfig::builder()
                            .cache_name(cache_name)
                            .user_id(user)
                            .region(region)
                            .serverless(*serverless)
                            .expires_in_secs(expires_in)
                            .build()
                    })
                    .await
            }
            Kind::MemoryDb { cluster_name } => {
                self.issuer
                    .issue(region, expires_in, |region, expires_in| {
                        MemoryDbTokenConfig::builder()
                            .cluster_name(cluster_name)
                            .user_id(user)
                            .region(region)
                            .expires_in_secs(expires_in)
                            .build()
                    })
                    .await
            }
        }
    }

    /// Whether credentials for this database's tokens resolve now.
    ///
    /// # Errors
    /// Why they do not.
    pub async fn credentials_ready(&self) -> Result<(), IssueError> {
        let host = self.target.hostname.as_str();
        let region = self.issuer.region(self.kind.host_region(host))?;
        self.issuer
            .credentials(&region.name, self.expires_in)
            .await
            .map(|_| ())
    }

    /// Serves one client, in its protocol, counted as open meanwhile.
    pub async fn serve(self: Arc<Self>, client: Client, proxy: Arc<Proxy>) {
        let _open = proxy.metrics.connection(&self.label);
        match &self.wire {
            Wire::Postgres(pool) => postgres::session::serve(client, &self, pool, &proxy).await,
            Wire::Mysql(upstream) => mysql::session::serve(client, &self, upstream, &proxy).await,
            Wire::Redis => redis::session::serve(client, &self, &proxy).await,
        }
    }

    /// One login as the pinned user (or, with none, a verified TLS
    /// connection and credentials that resolve): what was checked.
    ///
    /// # Errors
    /// The one-line reason, as a client would be told.
    pub async fn test_login(&self) -> Result<String, String> {
        match &self.wire {
            Wire::Postgres(_) => postgres::session::test_login(self).await,
            Wire::Mysql(_) => mysql::session::test_login(self).await,
            Wire::Redis => redis::session::test_login(self).await,
        }
    }
}

/// Who may connect.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// Accept TCP clients from other machines (`--allow-remote`).
    pub allow_remote: bool,
    /// Unix-socket clients of these uids, besides the proxy's own
    /// (`--allow-uid`).
    pub allow_uids: Vec<u32>,
}

/// What every listener and connection of one proxy shares.
pub struct Proxy {
    pub databases: Vec<Arc<Database>>,
    pub log: Log,
    pub metrics: Metrics,
    pub cancels: postgres::cancel::Cancels,
    /// Client-side TLS (`--client-tls-cert`, `--client-tls-key`).
    pub client_tls: Option<TlsAcceptor>,
    pub access: Access,
    /// The most client connections open at once, all databases together.
    pub max_connections: Option<usize>,
    /// How long open connections may go on after a stop is asked for.
    pub max_sigterm_delay: Duration,
    /// Whether `POST /quitquitquit` stops the proxy.
    pub quitquitquit: bool,
    /// Set once every listener is up.
    pub started: AtomicBool,
    /// Set once a stop is asked for.
    pub stopping: AtomicBool,
    /// Asks for a stop (signal or `/quitquitquit`).
    pub stop: tokio::sync::Notify,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("databases", &self.databases)
            .field("access", &self.access)
            .field("max_connections", &self.max_connections)
            .finish_non_exhaustive()
    }
}

impl Proxy {
    /// Asks the proxy to stop: stop accepting, let connections finish for
    /// up to `max_sigterm_delay`, and return from [`run`].
    pub fn request_stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.stop.notify_waiters();
        self.stop.notify_one();
    }

    /// Ready: listening, not stopping, and credentials for every database
    /// resolve. Otherwise, why not.
    ///
    /// # Errors
    /// A one-line reason.
    pub async fn ready(&self) -> Result<(), String> {
        if self.stopping.load(Ordering::SeqCst) {
            return Err("stopping".into());
        }
        if !self.started.load(Ordering::SeqCst) {
            return Err("not listening yet".into());
        }
        for db in &self.databases {
            db.credentials_ready().await.map_err(|err| {
                format!("{}: {}", db.name, crate::text::distinct_error_chain(&err))
            })?;
        }
        Ok(())
    }
}

/// Serves every listener of `proxy` (bound already) until a stop is asked
/// for, then stops accepting, waits up to `max_sigterm_delay` for open
/// connections, and returns.
pub async fn run(proxy: Arc<Proxy>, listeners: Vec<listener::Bound>) {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (done_tx, mut done_rx) = tokio::sync::mpsc::channel::<()>(1);
    let limit = Arc::new(tokio::sync::Semaphore::new(
        proxy
            .max_connections
            .unwrap_or(tokio::sync::Semaphore::MAX_PERMITS),
    ));
    let mut accepting = Vec::new();
    for bound in listeners {
        accepting.push(tokio::spawn(listener::serve(
            bound,
            Arc::clone(&proxy),
            stop_rx.clone(),
            Arc::clone(&limit),
            done_tx.clone(),
        )));
    }
    let sweeper = tokio::spawn(sweep(Arc::clone(&proxy)));
    drop(done_tx);
    proxy.started.store(true, Ordering::SeqCst);
    if !proxy.stopping.load(Ordering::SeqCst) {
        proxy.stop.notified().await;
    }
    proxy.stopping.store(true, Ordering::SeqCst);
    let _ = stop_tx.send(true);
    for task in accepting {
        let _ = task.await;
    }
    sweeper.abort();
    let open = open_connections(&limit, proxy.max_connections);
    if open > 0 {
        proxy.log.info(
            "stopping: waiting for open connections",
            &[
                ("open", &open.to_string()),
                (
                    "max_sigterm_delay_s",
                    &proxy.max_sigterm_delay.as_secs().to_string(),
                ),
            ],
        );
        if tokio::time::timeout(proxy.max_sigterm_delay, done_rx.recv())
            .await
            .is_err()
        {
            let open = open_connections(&limit, proxy.max_connections);
            proxy.log.info(
                "stopping: closing the connections still open",
                &[("open", &open.to_string())],
            );
        }
    }
    for db in &proxy.databases {
        db.wire.clear().await;
    }
    proxy.log.info("stopped", &[]);
}

fn open_connections(limit: &tokio::sync::Semaphore, max: Option<usize>) -> usize {
    max.unwrap_or(tokio::sync::Semaphore::MAX_PERMITS)
        .saturating_sub(limit.available_permits())
}

/// Closes idle server connections past their time, every few seconds.
async fn sweep(proxy: Arc<Proxy>) {
    let mut every = tokio::time::interval(Duration::from_secs(5));
    loop {
        every.tick().await;
        for db in &proxy.databases {
            let idle = db.wire.sweep().await;
            proxy
                .metrics
                .server_idle
                .get_or_create(&db.label)
                .set(idle as i64);
        }
    }
}

/// Logs in to each database once with a token for its pinned user (with
/// no user pinned: connects, verifies TLS and resolves credentials), and
/// logs out. Each result is logged; true when every test passed.
pub async fn connection_test(proxy: &Proxy) -> bool {
    let mut all = true;
    for db in &proxy.databases {
        match db.test_login().await {
            Ok(what) => proxy.log.info(
                "connection test passed",
                &[("upstream", &db.name), ("checked", &what)],
            ),
            Err(why) => {
                all = false;
                proxy.log.error(
                    "connection test failed",
                    &[("upstream", &db.name), ("reason", &why)],
                );
            }
        }
    }
    all
}
