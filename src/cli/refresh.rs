//! `rds-auth-token refresh`: keep a password file fresh for programs that read one.

use std::ffi::OsString;
use std::future::Future;
use std::path::PathBuf;
use std::task::Poll;
use std::time::{Duration, SystemTime};

use anyhow::anyhow;
use clap::{Args, ValueEnum};
use rds_auth_token::credentials::ChainSettings;
use rds_auth_token::password_file::{update_pgpass, update_userlist, MysqlClient, MysqlOptionFile};
use rds_auth_token::private_file::write_atomic;
use rds_auth_token::refresh::{keep_fresh, Event, Schedule, Wake};

use crate::cli::args::{ConnectArgs, TokenArgs};
use crate::cli::exit_codes::ExitCode;
use crate::cli::failure::Failure;
use crate::cli::issue::{block_on, rds_token};
use crate::cli::options::{ConnectOptions, TokenOptions};
use rds_auth_token::engine::Engine;
use rds_auth_token::format::{self, Connection, Output};

/// The longest wait between two writes: a token lives 900 s at most, so a
/// file written every 840 s always holds one with a minute left.
const MAX_EVERY: u64 = 840;
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  # Keep this endpoint's line in ~/.pgpass fresh, every 10 minutes
  rds-auth-token refresh \\
      --hostname mydb.123456789012.us-east-1.rds.amazonaws.com \\
      --port 5432 --username app_user --file ~/.pgpass

  # Once, from cron
  rds-auth-token refresh \\
      --hostname mydb.123456789012.us-east-1.rds.amazonaws.com \\
      --port 5432 --username report --file ~/.pgpass --once

  # pgbouncer's auth_file
  rds-auth-token refresh \\
      --hostname mydb.123456789012.us-east-1.rds.amazonaws.com \\
      --port 5432 --username app_user \\
      --format userlist --file /var/lib/pgbouncer/userlist.txt")]
pub struct RefreshArgs {
    #[command(flatten)]
    pub token: TokenArgs,

    #[command(flatten)]
    pub connect: ConnectArgs,

    /// The file to keep fresh. It is replaced atomically (a temporary file in
    /// the same folder, flushed, then renamed over it) with mode 0600.
    #[arg(long, value_name = "FILE", required = true)]
    pub file: Option<OsString>,

    /// What the file holds: a .pgpass file (only this endpoint's
    /// `host:port:*:user:` line is changed; other lines and comments are
    /// kept), the bare token, shell `export` lines, a JSON object, a MySQL
    /// option file for --defaults-extra-file, or a pgbouncer auth_file (only
    /// this user's line is changed).
    #[arg(long, value_enum, default_value_t = RefreshFormat::Pgpass)]
    pub format: RefreshFormat,

    /// The database engine, for --format env [default: from the port].
    #[arg(long, value_enum)]
    pub engine: Option<Engine>,

    /// For --format mycnf: the client family whose TLS options to write
    /// (MySQL's ssl-mode=VERIFY_IDENTITY, or MariaDB's
    /// ssl-verify-server-cert).
    #[arg(long, value_enum, default_value_t = MysqlClientArg::Mysql)]
    pub mysql_client: MysqlClientArg,

    /// Seconds between writes, 1 to 840.
    #[arg(long, value_name = "SECONDS", default_value = "600")]
    pub every: OsString,

    /// Write the file once and exit (for cron).
    #[arg(long)]
    pub once: bool,
}

/// The formats `refresh` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RefreshFormat {
    /// A .pgpass file with this endpoint's line kept fresh.
    Pgpass,
    /// The bare token and a newline.
    Token,
    /// Shell `export` lines, for `. FILE`.
    Env,
    /// One JSON object, as --format json prints it.
    Json,
    /// A MySQL option file: [client] user, password, host, port, TLS.
    Mycnf,
    /// A pgbouncer auth_file (userlist.txt): only this user's
    /// `"user" "password"` line is changed.
    Userlist,
}

/// `--mysql-client`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MysqlClientArg {
    /// MySQL's clients (mysql 8 and later).
    Mysql,
    /// MariaDB's clients (mariadb, and Debian's mysql).
    Mariadb,
}

/// What to write, checked.
#[derive(Debug)]
pub enum Written {
    Pgpass,
    Userlist,
    Output(Output),
    Mycnf(MysqlClient),
}

/// `refresh`, checked.
#[derive(Debug)]
pub struct RefreshOptions {
    pub token: TokenOptions,
    pub connect: ConnectOptions,
    pub file: PathBuf,
    pub written: Written,
    pub every: Duration,
    pub once: bool,
}

impl RefreshOptions {
    /// Checks every flag value.
    ///
    /// # Errors
    /// A one-line message that names the flag and the fix.
    pub fn from_args(args: RefreshArgs, chain: ChainSettings) -> anyhow::Result<RefreshOptions> {
        let token = TokenOptions::from_args(args.token, chain)?;
        let connect = ConnectOptions::from_args(args.connect)?;
        let file = match args.file {
            Some(f) if !f.is_empty() => PathBuf::from(f),
            _ => {
                return Err(anyhow!(
                "--file is required; pass the password file to keep fresh, e.g. --file ~/.pgpass"
            ))
            }
        };
        if file.file_name().is_none() {
            return Err(anyhow!(
                "--file {} names a folder; pass a file name",
                file.display()
            ));
        }
        let every = args.every.to_str().and_then(|e| e.parse::<u64>().ok());
        let every = match every {
            Some(secs @ 1..=MAX_EVERY) => secs,
            _ => {
                return Err(anyhow!(
                    "--every {:?} is not 1 to {MAX_EVERY} seconds; a token lives at most 900 s, so the file must be written again before that",
                    args.every
                ))
            }
        };
        if every >= token.expires_in.as_secs() && !args.once {
            return Err(anyhow!(
                "--every {every} is not shorter than --expires-in {}; the file would hold an expired token, so write it more often",
                token.expires_in.as_secs()
            ));
        }
        let written = match args.format {
            RefreshFormat::Pgpass => Written::Pgpass,
            RefreshFormat::Userlist => Written::Userlist,
            RefreshFormat::Token => Written::Output(Output::Token),
            RefreshFormat::Json => Written::Output(Output::Json),
            RefreshFormat::Env => {
                let engine = args.engine.or_else(|| Engine::from_port(token.port));
                Written::Output(Output::new(format::Format::Env, engine, token.port)?)
            }
            RefreshFormat::Mycnf => Written::Mycnf(match args.mysql_client {
                MysqlClientArg::Mysql => MysqlClient::Mysql,
                MysqlClientArg::Mariadb => MysqlClient::Mariadb,
            }),
        };
        Ok(RefreshOptions {
            token,
            connect,
            file,
            written,
            every: Duration::from_secs(every),
            once: args.once,
        })
    }
}

/// Checks the flags, then writes the file now, then every `--every` seconds until SIGTERM or
/// SIGINT (status 0). A failed write leaves the last good file, logs one
/// line and is retried after 1, 2, 4, ... seconds (at most a minute, and
/// never later than the next write was due). With `--once`, one write.
///
/// # Errors
/// A usage failure for a flag that cannot work; a failure of the first
/// write that retrying cannot fix (a usage error),
/// or of the only write with `--once`.
pub fn run(args: RefreshArgs, chain: ChainSettings) -> Result<ExitCode, Failure> {
    let options = RefreshOptions::from_args(args, chain).map_err(Failure::usage)?;
    block_on(refresh(&options))
}

/// SIGTERM and SIGINT (Ctrl-C), caught from the start, so that one that
/// arrives during a write ends the program after the write.
#[cfg(unix)]
struct Stop {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Stop {
    fn new() -> std::io::Result<Stop> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Stop {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    fn poll(&mut self, cx: &mut std::task::Context<'_>) -> bool {
        self.terminate.poll_recv(cx).is_ready() || self.interrupt.poll_recv(cx).is_ready()
    }
}

/// Ctrl-C, elsewhere.
#[cfg(not(unix))]
struct Stop(std::pin::Pin<Box<dyn Future<Output = std::io::Result<()>>>>);

#[cfg(not(unix))]
impl Stop {
    fn new() -> std::io::Result<Stop> {
        Ok(Stop(Box::pin(tokio::signal::ctrl_c())))
    }

    fn poll(&mut self, cx: &mut std::task::Context<'_>) -> bool {
        self.0.as_mut().poll(cx).is_ready()
    }
}

async fn refresh(options: &RefreshOptions) -> Result<ExitCode, Failure> {
    // A signal that arrives during a write ends the program after it.
    let stop = std::cell::RefCell::new(Stop::new().map_err(Failure::runtime)?);
    let stop = &stop;
    let schedule = Schedule {
        every: options.every,
        once: options.once,
    };
    keep_fresh(
        schedule,
        || write_once(options),
        |delay| {
            let mut sleep = Box::pin(tokio::time::sleep(delay));
            std::future::poll_fn(move |cx| {
                if stop.borrow_mut().poll(cx) {
                    return Poll::Ready(Wake::Stopped);
                }
                sleep.as_mut().poll(cx).map(|()| Wake::Elapsed)
            })
        },
        |event| match event {
            Event::Wrote { expires_at } => {
                if options.token.signing.debug {
                    say!(
                        "rds-auth-token: debug: wrote {}, the token expires at {}",
                        options.file.display(),
                        rds_auth_token::rfc3339(expires_at)
                    );
                }
            }
            Event::Failed { error, retry_in } => say!(
                "rds-auth-token: error: could not refresh {}: {error}; keeping the last file, retrying in {} s",
                options.file.display(),
                retry_in.as_secs()
            ),
        },
        |failure: &Failure| failure.code == ExitCode::Usage,
    )
    .await?;
    Ok(ExitCode::Success)
}

/// The file's text, or nothing when there is no file yet.
fn existing(file: &std::path::Path) -> Result<String, Failure> {
    match std::fs::read_to_string(file) {
        Ok(text) => Ok(text),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(err) => Err(Failure::runtime(anyhow!(
            "could not read {}: {err}",
            file.display()
        ))),
    }
}

/// Makes a token and writes the file; returns when the token expires.
async fn write_once(options: &RefreshOptions) -> Result<SystemTime, Failure> {
    let made = rds_token(&options.token).await?;
    let token = made.token.as_str();
    let via = options.connect.via;
    let port = via.map_or(options.token.port, |v| v.port);
    let user = options.token.username.as_str();
    let host = &options.token.hostname;
    let text = match &options.written {
        // libpq matches a line against host (not hostaddr) and the port it
        // connects to.
        Written::Pgpass => update_pgpass(&existing(&options.file)?, host, port, user, token),
        Written::Userlist => update_userlist(&existing(&options.file)?, user, token),
        Written::Output(output) => {
            let ca = match output {
                Output::Env(_) => Some(options.connect.ca_file(host)?),
                _ => None,
            };
            let issued = Connection {
                token: &made.token,
                hostname: host,
                port: options.token.port,
                username: user,
                region: &made.region,
                expires_at: made.expires_at,
                credential_expiration: made.credential_expiration,
                ca_file: ca.as_deref(),
                via,
            };
            format::render(*output, &issued, SystemTime::now())
        }
        Written::Mycnf(client) => {
            let ca = options.connect.ca_file(host)?;
            let connect_host = via.map_or_else(|| host.clone(), |v| v.ip.to_string());
            MysqlOptionFile {
                client: *client,
                user,
                password: token,
                host: &connect_host,
                port,
                ssl_ca: Some(&ca),
                verify_identity: via.is_none(),
                tcp_only: false,
            }
            .render()
        }
    };
    write_atomic(&options.file, text.as_bytes()).map_err(Failure::runtime)?;
    Ok(made.expires_at)
}
