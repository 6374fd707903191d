//! `rds-auth-token proxy`: local listeners that log in to RDS and Aurora
//! (PostgreSQL, MySQL, MariaDB), Aurora DSQL, ElastiCache and MemoryDB with
//! a fresh IAM token for each server connection.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use clap::Args;
use rds_auth_token::credentials::ChainSettings;
use rds_auth_token::engine::Engine;
use rds_auth_token::proxy::config::{self, DatabaseTable, Listen};
use rds_auth_token::proxy::log::Log;
use rds_auth_token::proxy::pool::Reuse;
use rds_auth_token::proxy::setup::{self, DatabaseSpec, Settings};
use rds_auth_token::proxy::{self, Access, Kind};
use rds_auth_token::token::{check_name, check_user_id};
use rds_auth_token::Field;

use crate::cli::args::{ConnectArgs, SigningArgs};
use crate::cli::exit_codes::ExitCode;
use crate::cli::failure::Failure;
use crate::cli::options::{self, ConnectOptions, Signing};

/// The proxy's flags.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  # A GUI or app connects to 127.0.0.1:5432 as app_user, with no password
  rds-auth-token proxy --hostname mydb.123456789012.us-east-1.rds.amazonaws.com --port 5432

  # MySQL through an SSM or SSH tunnel on 127.0.0.1:13306, one user, with probes
  rds-auth-token proxy --hostname mydb.123456789012.us-east-1.rds.amazonaws.com --port 3306 \\
      --via 127.0.0.1:13306 --username app_user --listen 127.0.0.1:3306 --health-port 9801

  # ElastiCache: redis-cli -p 6379 with no password; AUTH goes upstream as iam-user-01
  rds-auth-token proxy --cache-name my-cache --user-id iam-user-01 --region us-east-1 \\
      --endpoint master.my-cache.abc123.use1.cache.amazonaws.com:6379")]
pub struct ProxyArgs {
    /// The database endpoint host name, exactly as RDS shows it (or an
    /// Aurora DSQL cluster endpoint, `ID.dsql.REGION.on.aws`).
    #[arg(
        long,
        value_name = "HOSTNAME",
        required_unless_present_any = ["config", "cache_name", "cluster_name"],
        conflicts_with_all = ["cache_name", "cluster_name"]
    )]
    pub hostname: Option<OsString>,

    /// The database port, 1 to 65535 [default for DSQL: 5432].
    #[arg(long, value_name = "PORT")]
    pub port: Option<OsString>,

    /// The protocol of --hostname's database [default: from the port, 5432
    /// PostgreSQL, 3306 MySQL; DSQL endpoints are PostgreSQL].
    #[arg(long, value_enum, value_name = "ENGINE", requires = "hostname")]
    pub engine: Option<Engine>,

    /// Proxy for this ElastiCache (Valkey or Redis OSS) replication group
    /// or serverless cache, with --user-id and --endpoint.
    #[arg(
        long,
        value_name = "NAME",
        help_heading = "ElastiCache and MemoryDB",
        conflicts_with = "cluster_name",
        requires_all = ["user_id", "endpoint"]
    )]
    pub cache_name: Option<OsString>,

    /// Proxy for this MemoryDB cluster, with --user-id and --endpoint.
    #[arg(
        long,
        value_name = "NAME",
        help_heading = "ElastiCache and MemoryDB",
        requires_all = ["user_id", "endpoint"]
    )]
    pub cluster_name: Option<OsString>,

    /// The IAM-enabled user the proxy authenticates as (AUTH USER_ID
    /// TOKEN); clients' own AUTH is answered with it, whatever they send.
    #[arg(
        long,
        value_name = "USER_ID",
        help_heading = "ElastiCache and MemoryDB"
    )]
    pub user_id: Option<OsString>,

    /// --cache-name is a serverless cache.
    #[arg(
        long,
        help_heading = "ElastiCache and MemoryDB",
        requires = "cache_name"
    )]
    pub serverless: bool,

    /// The cache's or cluster's endpoint, HOST or HOST:PORT [default port:
    /// 6379]: what TLS verifies (reach it through a tunnel with --via).
    #[arg(
        long,
        value_name = "HOST:PORT",
        help_heading = "ElastiCache and MemoryDB"
    )]
    pub endpoint: Option<OsString>,

    /// The only database user clients may log in as; a client asking for
    /// another is refused [default: the user each client asks for].
    #[arg(long, value_name = "USERNAME", allow_hyphen_values = true)]
    pub username: Option<OsString>,

    /// How long each token is valid, in seconds: 1 to 900. A token is made
    /// per new server login and used at once.
    #[arg(long, value_name = "SECONDS", default_value = "900")]
    pub expires_in: OsString,

    #[command(flatten)]
    pub signing: SigningArgs,

    #[command(flatten)]
    pub connect: ConnectArgs,

    /// Where to listen, ADDR:PORT; repeat for more [default: 127.0.0.1 and
    /// the database's port, or the next free one].
    #[arg(long, value_name = "ADDR:PORT", help_heading = "Listening")]
    pub listen: Vec<OsString>,

    /// Listen on a Unix socket in this folder too: .s.PGSQL.PORT, as
    /// PostgreSQL names its own (`psql -h DIR`), mysql-PORT.sock
    /// (`mysql --socket`) or redis-PORT.sock (`redis-cli -s`). The folder
    /// is made private (0700) when missing; connections from other users
    /// are refused.
    #[arg(long, value_name = "DIR", help_heading = "Listening")]
    pub unix_socket: Option<OsString>,

    /// A TOML file with one table per database and the keys of these flags
    /// (hostname, port, engine, cache-name, cluster-name, user-id,
    /// serverless, endpoint, username, region, profile, via, ssl-ca,
    /// listen, unix-socket, expires-in, no-reuse).
    #[arg(long, value_name = "FILE", help_heading = "Listening")]
    pub config: Option<OsString>,

    /// Accept TCP connections from other machines. Whoever reaches the port
    /// logs in as you: only behind a firewall you trust.
    #[arg(long, help_heading = "Listening")]
    pub allow_remote: bool,

    /// Also accept Unix-socket connections from this uid; repeat for more.
    #[arg(long, value_name = "UID", help_heading = "Listening")]
    pub allow_uid: Vec<u32>,

    /// The most client connections open at once [default: no limit].
    #[arg(long, value_name = "N", help_heading = "Listening")]
    pub max_connections: Option<usize>,

    /// Offer clients TLS with this certificate chain (PEM), with
    /// --client-tls-key; without them an SSLRequest is answered N, as the
    /// connection is local.
    #[arg(
        long,
        value_name = "FILE",
        requires = "client_tls_key",
        help_heading = "Listening"
    )]
    pub client_tls_cert: Option<OsString>,

    /// The key of --client-tls-cert (PEM).
    #[arg(
        long,
        value_name = "FILE",
        requires = "client_tls_cert",
        help_heading = "Listening"
    )]
    pub client_tls_key: Option<OsString>,

    /// Close every server connection when its client leaves, instead of
    /// resetting it (PostgreSQL's DISCARD ALL, MySQL's
    /// COM_RESET_CONNECTION) and keeping it for the next client.
    #[arg(long, help_heading = "Server connections")]
    pub no_reuse: bool,

    /// The most idle server connections kept per database.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 32,
        help_heading = "Server connections"
    )]
    pub max_idle: usize,

    /// Seconds an idle server connection is kept.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 300,
        help_heading = "Server connections"
    )]
    pub idle_timeout: u64,

    /// Serve /startup, /liveness, /readiness and /metrics (Prometheus) on
    /// this port of --health-address.
    #[arg(long, value_name = "PORT", help_heading = "Lifecycle")]
    pub health_port: Option<u16>,

    /// The address the health port listens on: 0.0.0.0 for Kubernetes
    /// probes and Prometheus from outside the pod, which then reach
    /// /quitquitquit too.
    #[arg(
        long,
        value_name = "IP",
        default_value = "127.0.0.1",
        requires = "health_port",
        help_heading = "Lifecycle"
    )]
    pub health_address: std::net::IpAddr,

    /// Let POST /quitquitquit on the health port stop the proxy, as SIGTERM
    /// does (for Kubernetes Jobs whose main container has finished).
    #[arg(long, requires = "health_port", help_heading = "Lifecycle")]
    pub quitquitquit: bool,

    /// Seconds open connections may go on after SIGTERM or SIGINT before
    /// they are closed [default: 0, at once].
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 0,
        help_heading = "Lifecycle"
    )]
    pub max_sigterm_delay: u64,

    /// Log in to each database once (as --username; with none, check TLS
    /// and credentials), report, and exit 0 when all worked, 1 otherwise.
    #[arg(long, help_heading = "Lifecycle")]
    pub run_connection_test: bool,

    /// Log one JSON object a line.
    #[arg(long, help_heading = "Lifecycle")]
    pub structured_logs: bool,
}

/// Reads the flags and the configuration file into proxy settings.
///
/// # Errors
/// A one-line message that names the flag (or the file's table and key)
/// and the fix.
pub fn settings(args: ProxyArgs, chain: ChainSettings) -> Result<Settings> {
    let signing = Signing::from_args(args.signing, chain)?;
    let log = Log {
        structured: args.structured_logs,
        debug: signing.debug,
    };
    let reuse = (!args.no_reuse).then_some(Reuse {
        max_idle: args.max_idle,
        idle_timeout: Duration::from_secs(args.idle_timeout),
    });
    let expires_in =
        options::parse_expires_in(&options::utf8("--expires-in", &args.expires_in)?)?.as_secs();
    let mut databases = Vec::new();
    if args.hostname.is_some() || args.cache_name.is_some() || args.cluster_name.is_some() {
        let text = |flag: &str, value: &Option<OsString>| {
            value.as_deref().map(|v| options::utf8(flag, v)).transpose()
        };
        let table = DatabaseTable {
            hostname: text("--hostname", &args.hostname)?,
            port: args.port.as_deref().map(options::port).transpose()?,
            engine: args.engine.map(|e| engine_name(e).to_owned()),
            cache_name: text("--cache-name", &args.cache_name)?,
            cluster_name: text("--cluster-name", &args.cluster_name)?,
            user_id: text("--user-id", &args.user_id)?,
            serverless: args.serverless.then_some(true),
            endpoint: text("--endpoint", &args.endpoint)?,
            username: text("--username", &args.username)?,
            region: None,
            profile: None,
            via: None,
            ssl_ca: None,
            listen: Some(Listen::Many(
                args.listen
                    .iter()
                    .map(|value| options::utf8("--listen", value))
                    .collect::<Result<_>>()?,
            )),
            unix_socket: args.unix_socket.map(PathBuf::from),
            expires_in: None,
            no_reuse: None,
        };
        let mut spec = from_table(&Flags, table, &signing, reuse, expires_in)?;
        let connect = ConnectOptions::from_args(args.connect)?;
        spec.via = connect.via.map(|v| SocketAddr::new(v.ip, v.port));
        spec.ssl_ca = connect.ssl_ca;
        databases.push(spec);
    }
    if let Some(file) = &args.config {
        let path = PathBuf::from(file);
        let tables =
            config::read(&path).map_err(|err| anyhow!("--config {}: {err}", path.display()))?;
        for (name, table) in tables {
            let spec = from_table(&Table(&name), table, &signing, reuse, expires_in)
                .with_context(|| format!("--config {}, table [{name}]", path.display()))?;
            databases.push(spec);
        }
    }
    if args.run_connection_test && databases.iter().all(|d| d.username.is_none()) {
        log.warn(
            "no --username: the connection test checks TLS and credentials, not a login",
            &[],
        );
    }
    Ok(Settings {
        databases,
        log,
        client_tls: args
            .client_tls_cert
            .zip(args.client_tls_key)
            .map(|(c, k)| (PathBuf::from(c), PathBuf::from(k))),
        access: Access {
            allow_remote: args.allow_remote,
            allow_uids: args.allow_uid,
        },
        max_connections: match args.max_connections {
            Some(0) => {
                return Err(anyhow!(
                "--max-connections 0 lets no one in; pass 1 or more, or leave it out for no limit"
            ))
            }
            other => other,
        },
        max_sigterm_delay: Duration::from_secs(args.max_sigterm_delay),
        quitquitquit: args.quitquitquit,
    })
    .and_then(check_remote)
}

/// Refuses listening beyond loopback without `--allow-remote`.
fn check_remote(settings: Settings) -> Result<Settings> {
    if !settings.access.allow_remote {
        for db in &settings.databases {
            if let Some(address) = db.listen.iter().find(|a| !a.ip().is_loopback()) {
                return Err(anyhow!("--listen {address} is not a loopback address; pass --allow-remote to take connections from other machines (whoever reaches the port logs in as you)"));
            }
        }
    }
    Ok(settings)
}

/// The name `--engine` and the `engine` key take for `engine`.
fn engine_name(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => "postgres",
        Engine::Mysql => "mysql",
    }
}

/// Where a database's settings come from: the flags or a table of the
/// configuration file, whose keys its messages name.
trait Source {
    /// The name of the database in logs and metrics, given its endpoint.
    fn name(&self, endpoint: &str) -> String;
    /// How a setting is written there: `--cache-name` or `cache-name`.
    fn key(&self, key: &str) -> String;
}

struct Flags;

impl Source for Flags {
    fn name(&self, endpoint: &str) -> String {
        endpoint.to_owned()
    }

    fn key(&self, key: &str) -> String {
        format!("--{key}")
    }
}

struct Table<'a>(&'a str);

impl Source for Table<'_> {
    fn name(&self, _: &str) -> String {
        self.0.to_owned()
    }

    fn key(&self, key: &str) -> String {
        key.to_owned()
    }
}

/// The kind, the endpoint's name and port of a table or of the flags.
fn upstream(source: &dyn Source, table: &DatabaseTable) -> Result<(Kind, String, u16)> {
    let cache = match (&table.cache_name, &table.cluster_name) {
        (Some(name), None) => Some((Field::CacheName, name)),
        (None, Some(name)) => Some((Field::ClusterName, name)),
        (Some(_), Some(_)) => {
            return Err(anyhow!(
                "{} and {} name two caches; keep one",
                source.key("cache-name"),
                source.key("cluster-name")
            ))
        }
        (None, None) => None,
    };
    let Some((field, name)) = cache else {
        let hostname = table.hostname.as_deref().ok_or_else(|| {
            anyhow!(
                "{} is required; pass the database endpoint (or {} or {} for a cache)",
                source.key("hostname"),
                source.key("cache-name"),
                source.key("cluster-name")
            )
        })?;
        let hostname = options::hostname(hostname.as_ref())?;
        for key in ["user-id", "endpoint"] {
            let set = match key {
                "user-id" => table.user_id.is_some(),
                _ => table.endpoint.is_some(),
            };
            if set {
                return Err(anyhow!(
                    "{} is for ElastiCache and MemoryDB; for {hostname}, leave it out (the user is {})",
                    source.key(key),
                    source.key("username")
                ));
            }
        }
        let engine = table
            .engine
            .as_deref()
            .map(|name| match name.to_ascii_lowercase().as_str() {
                "postgres" | "postgresql" | "pg" => Ok(Engine::Postgres),
                "mysql" | "mariadb" => Ok(Engine::Mysql),
                other => Err(anyhow!(
                    "{} {other:?} is not an engine; pass postgres or mysql (MariaDB speaks MySQL's protocol)",
                    source.key("engine")
                )),
            })
            .transpose()?;
        let dsql = Kind::is_dsql(&hostname);
        let port = match (table.port.filter(|p| *p != 0), dsql) {
            (Some(port), _) => port,
            (None, true) => 5432,
            (None, false) => {
                return Err(anyhow!(
                    "{} is required; pass the database port (PostgreSQL 5432, MySQL 3306)",
                    source.key("port")
                ))
            }
        };
        let kind = match (dsql, engine.or_else(|| Engine::from_port(port))) {
            (true, Some(Engine::Mysql)) => {
                return Err(anyhow!(
                    "{hostname} is an Aurora DSQL endpoint, which speaks PostgreSQL; leave {} out",
                    source.key("engine")
                ))
            }
            (true, _) => Kind::Dsql,
            (false, Some(Engine::Postgres)) => Kind::Postgres,
            (false, Some(Engine::Mysql)) => Kind::Mysql,
            (false, None) => {
                return Err(anyhow!(
                    "{} postgres or {} mysql is required for port {port}: the port does not say which protocol the database speaks",
                    source.key("engine"),
                    source.key("engine")
                ))
            }
        };
        return Ok((kind, hostname, port));
    };
    let flag = source.key(if field == Field::CacheName {
        "cache-name"
    } else {
        "cluster-name"
    });
    check_name(field, name).map_err(|err| anyhow!("{flag} {name:?}: {err}"))?;
    for (key, set) in [
        ("hostname", table.hostname.is_some()),
        ("port", table.port.is_some()),
        ("engine", table.engine.is_some()),
        ("username", table.username.is_some()),
    ] {
        if set {
            return Err(anyhow!(
                "{} is for RDS, Aurora and DSQL; for {flag}, pass {} HOST:PORT and {} instead",
                source.key(key),
                source.key("endpoint"),
                source.key("user-id")
            ));
        }
    }
    let user_id = table.user_id.as_deref().ok_or_else(|| {
        anyhow!(
            "{} is required with {flag}; pass the IAM-enabled user's id",
            source.key("user-id")
        )
    })?;
    check_user_id(user_id)
        .map_err(|err| anyhow!("{} {user_id:?}: {err}", source.key("user-id")))?;
    let endpoint = table.endpoint.as_deref().ok_or_else(|| {
        anyhow!(
            "{} is required with {flag}; pass the cache's endpoint as HOST:PORT",
            source.key("endpoint")
        )
    })?;
    let endpoint = options::endpoint(endpoint.as_ref())?;
    let kind = if field == Field::CacheName {
        Kind::ElastiCache {
            cache_name: name.to_ascii_lowercase(),
            serverless: table.serverless == Some(true),
        }
    } else {
        if table.serverless == Some(true) {
            return Err(anyhow!(
                "{} is for ElastiCache serverless caches; leave it out for {flag}",
                source.key("serverless")
            ));
        }
        Kind::MemoryDb {
            cluster_name: name.to_ascii_lowercase(),
        }
    };
    Ok((kind, endpoint.host, endpoint.port))
}

/// `ADDR:PORT` to listen on.
fn listen_address(flag: &str, value: &str) -> Result<SocketAddr> {
    let value = value.replace("localhost:", "127.0.0.1:");
    value.parse::<SocketAddr>().map_err(|_| {
        anyhow!(
            "{flag} {value:?} is not an address and port; pass e.g. 127.0.0.1:5432 or [::1]:5432"
        )
    })
}

/// A database from a configuration table, or from the flags put in one.
fn from_table(
    source: &dyn Source,
    table: DatabaseTable,
    signing: &Signing,
    reuse: Option<Reuse>,
    default_expires_in: u64,
) -> Result<DatabaseSpec> {
    let (kind, hostname, port) = upstream(source, &table)?;
    let connect = ConnectOptions::from_args(ConnectArgs {
        ssl_ca: table.ssl_ca.map(Into::into),
        via: table.via.map(Into::into),
    })?;
    let mut settings = signing.settings();
    if let Some(region) = &table.region {
        settings.region = Some(options::region(region.as_ref())?);
    }
    if let Some(profile) = &table.profile {
        settings.profile = Some(options::profile(profile.as_ref())?);
    }
    let expires_in = match table.expires_in {
        Some(secs) => options::parse_expires_in(&secs.to_string())?.as_secs(),
        None => default_expires_in,
    };
    let username = match (&kind, table.username, table.user_id) {
        (Kind::ElastiCache { .. } | Kind::MemoryDb { .. }, _, user_id) => user_id,
        (_, username, _) => username
            .map(|u| options::username(u.as_ref()).map(|u| u.as_str().to_owned()))
            .transpose()?,
    };
    Ok(DatabaseSpec {
        name: source.name(&hostname),
        kind,
        hostname,
        port,
        username,
        signing: settings,
        via: connect.via.map(|v| SocketAddr::new(v.ip, v.port)),
        ssl_ca: connect.ssl_ca,
        listen: table
            .listen
            .map(|l| l.addresses())
            .unwrap_or_default()
            .iter()
            .map(|a| listen_address(&source.key("listen"), a))
            .collect::<Result<_>>()?,
        unix_socket: table.unix_socket,
        expires_in,
        reuse: if table.no_reuse == Some(true) {
            None
        } else {
            reuse
        },
    })
}

/// Runs the proxy, or its connection test.
///
/// # Errors
/// A usage failure for a flag that cannot work; a runtime one when a
/// listener cannot be set up or the connection test fails.
pub fn run(args: ProxyArgs, chain: ChainSettings) -> Result<ExitCode, Failure> {
    let test = args.run_connection_test;
    let health = args
        .health_port
        .map(|port| SocketAddr::new(args.health_address, port));
    let settings = settings(args, chain).map_err(Failure::usage)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Failure::runtime)?;
    runtime.block_on(async move {
        let log = settings.log;
        let (proxy, listeners, lines) = setup::start(settings, !test)
            .await
            .map_err(Failure::runtime)?;
        if test {
            return Ok(if proxy::connection_test(&proxy).await {
                ExitCode::Success
            } else {
                ExitCode::Failure
            });
        }
        if let Some(address) = health {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .map_err(|err| {
                    Failure::runtime(anyhow!(
                        "--health-port {}: could not listen on {address}: {err}",
                        address.port()
                    ))
                })?;
            tokio::spawn(proxy::health::serve(listener, Arc::clone(&proxy)));
            log.info(
                "health and metrics",
                &[("address", &format!("http://{address}/"))],
            );
        }
        for line in &lines {
            log.info(line, &[]);
        }
        tokio::spawn(stop_on_signals(Arc::clone(&proxy)));
        proxy::run(proxy, listeners).await;
        Ok(ExitCode::Success)
    })
}

/// Asks `proxy` to stop on Ctrl-C.
#[cfg(not(unix))]
async fn stop_on_signals(proxy: Arc<proxy::Proxy>) {
    if tokio::signal::ctrl_c().await.is_ok() {
        proxy.log.info("stopping on Ctrl-C", &[]);
        proxy.request_stop();
    }
}

/// Asks `proxy` to stop on SIGTERM or SIGINT.
#[cfg(unix)]
async fn stop_on_signals(proxy: Arc<proxy::Proxy>) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut terminate), Ok(mut interrupt)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return;
    };
    tokio::select! {
        _ = terminate.recv() => proxy.log.info("stopping on SIGTERM", &[]),
        _ = interrupt.recv() => proxy.log.info("stopping on SIGINT", &[]),
    }
    proxy.request_stop();
}
