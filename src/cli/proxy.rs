//! `rds-auth-token proxy`: local listeners that log in to PostgreSQL, Aurora
//! PostgreSQL and Aurora DSQL with a fresh IAM token for each connection.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use clap::Args;
use rds_auth_token::credentials::ChainSettings;
use rds_auth_token::proxy::config::{self, DatabaseTable};
use rds_auth_token::proxy::log::Log;
use rds_auth_token::proxy::postgres::pool::Reuse;
use rds_auth_token::proxy::setup::{self, DatabaseSpec, Settings};
use rds_auth_token::proxy::{self, Access, Kind};

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

  # Through an SSM or SSH tunnel on 127.0.0.1:15432, one user only, with probes
  rds-auth-token proxy --hostname mydb.123456789012.us-east-1.rds.amazonaws.com --port 5432 \\
      --via 127.0.0.1:15432 --username app_user --listen 127.0.0.1:6432 --health-port 9801

  # Several databases from a file; a Unix socket for psql -h DIR
  rds-auth-token proxy --config proxy.toml")]
pub struct ProxyArgs {
    /// The database endpoint host name, exactly as RDS shows it (or an
    /// Aurora DSQL cluster endpoint, `ID.dsql.REGION.on.aws`).
    #[arg(long, value_name = "HOSTNAME", required_unless_present = "config")]
    pub hostname: Option<OsString>,

    /// The database port, 1 to 65535 [default for DSQL: 5432].
    #[arg(long, value_name = "PORT")]
    pub port: Option<OsString>,

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

    /// Listen on a Unix socket in this folder too, named as PostgreSQL
    /// names its own (.s.PGSQL.PORT), so that `psql -h DIR` connects. The
    /// folder is made private (0700) when missing; connections from other
    /// users are refused.
    #[arg(long, value_name = "DIR", help_heading = "Listening")]
    pub unix_socket: Option<OsString>,

    /// A TOML file with one table per database and the keys of these flags
    /// (hostname, port, username, region, profile, via, ssl-ca, listen,
    /// unix-socket, expires-in, no-reuse).
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
    /// resetting it (DISCARD ALL) and keeping it for the next client.
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
    if let Some(hostname) = &args.hostname {
        let hostname = options::hostname(hostname)?;
        let connect = ConnectOptions::from_args(args.connect)?;
        let listen = args
            .listen
            .iter()
            .map(|value| listen_address("--listen", &options::utf8("--listen", value)?))
            .collect::<Result<Vec<_>>>()?;
        databases.push(DatabaseSpec {
            name: hostname.clone(),
            port: database_port(
                &hostname,
                args.port.as_deref().map(options::port).transpose()?,
            )?,
            hostname,
            username: args
                .username
                .as_deref()
                .map(|u| options::username(u).map(|u| u.as_str().to_owned()))
                .transpose()?,
            signing: signing.settings(),
            via: connect.via.map(|v| SocketAddr::new(v.ip, v.port)),
            ssl_ca: connect.ssl_ca,
            listen,
            unix_socket: args.unix_socket.map(PathBuf::from),
            expires_in: options::parse_expires_in(&options::utf8(
                "--expires-in",
                &args.expires_in,
            )?)?
            .as_secs(),
            reuse,
        });
    }
    if let Some(file) = &args.config {
        let path = PathBuf::from(file);
        let tables =
            config::read(&path).map_err(|err| anyhow!("--config {}: {err}", path.display()))?;
        for (name, table) in tables {
            let spec = from_table(&name, table, &signing, reuse, expires_in)
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

/// The port for `hostname`: the flag, else 5432 for DSQL.
fn database_port(hostname: &str, port: Option<u16>) -> Result<u16> {
    match (port, Kind::for_hostname(hostname)) {
        (Some(port), _) => Ok(port),
        (None, Kind::Dsql) => Ok(5432),
        (None, Kind::Postgres) => Err(anyhow!(
            "--port is required; pass the database port (PostgreSQL 5432)"
        )),
    }
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

/// A configuration table, checked as the flags are.
fn from_table(
    name: &str,
    table: DatabaseTable,
    signing: &Signing,
    reuse: Option<Reuse>,
    default_expires_in: u64,
) -> Result<DatabaseSpec> {
    let hostname = options::hostname(table.hostname.as_ref())?;
    let port = database_port(&hostname, table.port.filter(|p| *p != 0))?;
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
    Ok(DatabaseSpec {
        name: name.to_owned(),
        hostname,
        port,
        username: table
            .username
            .map(|u| options::username(u.as_ref()).map(|u| u.as_str().to_owned()))
            .transpose()?,
        signing: settings,
        via: connect.via.map(|v| SocketAddr::new(v.ip, v.port)),
        ssl_ca: connect.ssl_ca,
        listen: table
            .listen
            .map(|l| l.addresses())
            .unwrap_or_default()
            .iter()
            .map(|a| listen_address("listen", a))
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
