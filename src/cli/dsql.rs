//! `rds-auth-token dsql`: an Aurora DSQL token, printed or handed to a
//! PostgreSQL client (`dsql exec`), as `aws dsql
//! generate-db-connect-auth-token` and `generate-db-connect-admin-auth-token` make it.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::anyhow;
use clap::{Args, Subcommand, ValueEnum};
use rds_auth_token::credentials::ChainSettings;
use rds_auth_token::tls::Bundle;
use rds_auth_token::token::{DsqlTokenConfig, DSQL_MAX_EXPIRES_IN};
use rds_auth_token::Username;

use crate::cli::args::{ConnectArgs, SigningArgs};
use crate::cli::exec::start;
use crate::cli::exit_codes::ExitCode;
use crate::cli::failure::Failure;
use crate::cli::issue::{block_on, generate, Made};
use crate::cli::options::Signing;
use crate::cli::options::{self, required, ConnectOptions};
use crate::cli::stdout::write_stdout;
use rds_auth_token::engine::Engine;
use rds_auth_token::format::{self, Printed};
use rds_auth_token::issuer::HostRegion;
use rds_auth_token::launch::{self, ExecOptions, Target};

/// The port Aurora DSQL listens on.
const DSQL_PORT: u16 = 5432;
/// The database every Aurora DSQL cluster has.
const DSQL_DATABASE: &str = "postgres";
/// The role `DbConnectAdmin` tokens log in as.
const ADMIN_ROLE: &str = "admin";

/// Make an Aurora DSQL authentication token.
///
/// The same token as `aws dsql generate-db-connect-auth-token` (or, with
/// --admin, `generate-db-connect-admin-auth-token`) for the same
/// credentials, inputs and signing time. The token holds no port and no
/// user: it is the password of any role the credentials may connect as
/// (dsql:DbConnect), or of the admin role (dsql:DbConnectAdmin).
///
/// --format token and json need nothing more; env and uri, which tell a
/// client how to connect, need the role: --admin, or --username.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
#[command(after_help = "\
Examples:
  # The admin role's token
  rds-auth-token dsql \\
      --hostname abcdefghijklmnopqrst.dsql.us-east-1.on.aws --admin

  # libpq's variables for a custom role, in this shell
  eval \"$(rds-auth-token dsql --username reader --format env \\
      --hostname abcdefghijklmnopqrst.dsql.us-east-1.on.aws)\"")]
pub struct DsqlArgs {
    #[command(flatten)]
    pub token: DsqlTokenArgs,

    /// How to print the token: the bare token, a JSON object, shell `export`
    /// lines for libpq (PGHOST, PGPORT, PGUSER, PGDATABASE, PGSSLMODE,
    /// PGSSLROOTCERT, PGPASSWORD), or a postgresql:// URI.
    #[arg(long, value_enum, default_value_t = DsqlFormat::Token)]
    pub format: DsqlFormat,

    /// The role, for --format env and uri (a token for DbConnect is not
    /// tied to one).
    #[arg(
        long,
        value_name = "ROLE",
        allow_hyphen_values = true,
        conflicts_with = "admin"
    )]
    pub username: Option<OsString>,

    #[command(flatten)]
    pub connect: DsqlConnectArgs,

    #[command(subcommand)]
    pub command: Option<DsqlCommand>,
}

/// What an Aurora DSQL token is made for.
#[derive(Debug, Args)]
pub struct DsqlTokenArgs {
    /// The cluster endpoint, <id>.dsql.<region>.on.aws, without scheme or
    /// port.
    #[arg(long, value_name = "HOSTNAME", required = true)]
    pub hostname: Option<OsString>,

    /// A token for the admin role (action DbConnectAdmin) instead of a
    /// custom role (DbConnect).
    #[arg(long)]
    pub admin: bool,

    /// How long the token is valid, in seconds: 1 to 604800 (one week).
    /// It is cut short, with a warning, to end when the credentials do.
    #[arg(long, value_name = "SECONDS", default_value = "900")]
    pub expires_in: OsString,

    #[command(flatten)]
    pub signing: SigningArgs,
}

/// How a PostgreSQL client checks the cluster's certificate.
#[derive(Debug, Args)]
#[command(next_help_heading = "Connection")]
pub struct DsqlConnectArgs {
    /// A PEM file of CA certificates to trust for the cluster's certificate,
    /// instead of the Amazon Trust Services roots this tool carries
    /// (`rds-auth-token ca-bundle --rds-proxy`), which Aurora DSQL's public
    /// certificates chain to.
    #[arg(long, value_name = "FILE")]
    pub ssl_ca: Option<OsString>,
}

/// The formats `dsql` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DsqlFormat {
    /// The bare token and a newline.
    Token,
    /// One JSON object: token, hostname, action, region, expiration (RFC
    /// 3339 UTC), seconds left, and credential_expiration (or null).
    Json,
    /// Shell `export` lines for libpq clients.
    Env,
    /// A postgresql:// URI with the token as the password.
    Uri,
}

#[derive(Debug, Subcommand)]
pub enum DsqlCommand {
    /// Make a fresh Aurora DSQL token and run a PostgreSQL client with it.
    ///
    /// The client gets PGHOST, PGPORT=5432, PGUSER (admin with --admin, else
    /// --username), PGDATABASE=postgres unless PGDATABASE is set, the token
    /// in PGPASSWORD (never in its arguments), and PGSSLMODE=verify-full
    /// with PGSSLROOTCERT naming the Amazon Trust Services roots (or
    /// --ssl-ca). A PGSSLMODE that can send the token in clear text is
    /// refused. On Unix the client replaces this process.
    Exec(DsqlExecArgs),
}

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  # psql as the admin role
  rds-auth-token dsql exec --admin \\
      --hostname abcdefghijklmnopqrst.dsql.us-east-1.on.aws \\
      -- psql -c 'select 1'

  # As a custom role, in a database of your own
  PGDATABASE=app rds-auth-token dsql exec --username reader \\
      --hostname abcdefghijklmnopqrst.dsql.us-east-1.on.aws -- psql")]
pub struct DsqlExecArgs {
    #[command(flatten)]
    pub token: DsqlTokenArgs,

    /// The role to log in as; required without --admin.
    #[arg(
        long,
        value_name = "ROLE",
        allow_hyphen_values = true,
        conflicts_with = "admin"
    )]
    pub username: Option<OsString>,

    #[command(flatten)]
    pub connect: DsqlConnectArgs,

    /// The client to run and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "CLIENT")]
    pub client: Vec<OsString>,
}

/// An Aurora DSQL token to make, checked.
#[derive(Debug)]
pub struct DsqlOptions {
    pub hostname: String,
    pub admin: bool,
    pub expires_in: u64,
    pub signing: Signing,
}

impl DsqlOptions {
    /// Checks every flag value.
    ///
    /// # Errors
    /// A one-line message that names the flag and the fix.
    pub fn from_args(args: DsqlTokenArgs, chain: ChainSettings) -> anyhow::Result<DsqlOptions> {
        let hostname = options::hostname(&required("--hostname", args.hostname)?)?;
        let signing = Signing::from_args(args.signing, chain)?;
        let expires_in = options::expires_in(&args.expires_in, DSQL_MAX_EXPIRES_IN, "Aurora DSQL")?;
        Ok(DsqlOptions {
            hostname,
            admin: args.admin,
            expires_in,
            signing,
        })
    }

    /// The role a client logs in as: `admin` with `--admin`, else `--username`.
    fn role(&self, username: Option<OsString>, why: &str) -> anyhow::Result<Username> {
        match (self.admin, username) {
            (true, _) => Ok(Username::new(ADMIN_ROLE)?),
            (false, Some(name)) => options::username(&name),
            (false, None) => Err(anyhow!(
                "{why} needs the role to log in as; pass --username ROLE, or --admin for the admin role"
            )),
        }
    }

    /// Makes the token.
    async fn generate(&self) -> Result<Made, Failure> {
        generate(
            &self.signing,
            HostRegion::Dsql(&self.hostname),
            self.expires_in,
            |region, expires_in| {
                DsqlTokenConfig::builder()
                    .hostname(&self.hostname)
                    .region(region)
                    .admin(self.admin)
                    .expires_in_secs(expires_in)
                    .build()
            },
        )
        .await
    }
}

/// `--ssl-ca`, checked as the RDS commands check it.
fn connect_options(args: DsqlConnectArgs) -> anyhow::Result<ConnectOptions> {
    ConnectOptions::from_args(ConnectArgs {
        ssl_ca: args.ssl_ca,
        via: None,
    })
}

/// Runs `dsql` or `dsql exec`.
///
/// # Errors
/// A usage failure for a flag that cannot work, a runtime one when no
/// credentials are found, stdout fails or the client cannot run.
pub fn run(args: DsqlArgs, chain: ChainSettings) -> Result<ExitCode, Failure> {
    if let Some(DsqlCommand::Exec(exec)) = args.command {
        return run_exec(exec, chain);
    }
    let checked = || -> anyhow::Result<_> {
        let token = DsqlOptions::from_args(args.token, chain)?;
        let connect = connect_options(args.connect)?;
        let role = match args.format {
            DsqlFormat::Env | DsqlFormat::Uri => Some(token.role(
                args.username,
                match args.format {
                    DsqlFormat::Env => "--format env",
                    _ => "--format uri",
                },
            )?),
            _ => None,
        };
        Ok((token, connect, role))
    };
    let (token, connect, role) = checked().map_err(Failure::usage)?;
    let ca = match role {
        Some(_) => Some(connect.ca_file_of(Bundle::AmazonRoots)?),
        None => None,
    };
    let made = block_on(token.generate())?;
    let printed = Printed {
        token: made.token.as_str(),
        region: &made.region,
        expires_at: made.expires_at,
        credential_expiration: made.credential_expiration,
    };
    let text = match args.format {
        DsqlFormat::Token => format::bare(&printed),
        DsqlFormat::Json => format::json(
            &printed,
            &[
                ("hostname", &token.hostname),
                ("action", action(token.admin)),
            ],
            SystemTime::now(),
        ),
        DsqlFormat::Env => format::exports(&libpq_vars(
            &token.hostname,
            role.as_ref().map_or("", Username::as_str),
            ca.as_deref(),
            printed.token,
        )),
        DsqlFormat::Uri => format::postgres_uri(
            &token.hostname,
            DSQL_PORT,
            role.as_ref().map_or("", Username::as_str),
            printed.token,
            DSQL_DATABASE,
            ca.as_deref(),
        ),
    };
    write_stdout(&text, "the token").map(|()| ExitCode::Success)
}

/// The token's action.
fn action(admin: bool) -> &'static str {
    if admin {
        "DbConnectAdmin"
    } else {
        "DbConnect"
    }
}

/// The libpq variables `--format env` exports.
fn libpq_vars<'a>(
    hostname: &'a str,
    role: &'a str,
    ca: Option<&std::path::Path>,
    token: &'a str,
) -> Vec<(&'static str, String)> {
    vec![
        ("PGHOST", hostname.to_owned()),
        ("PGPORT", DSQL_PORT.to_string()),
        ("PGUSER", role.to_owned()),
        ("PGDATABASE", DSQL_DATABASE.to_owned()),
        ("PGSSLMODE", "verify-full".to_owned()),
        (
            "PGSSLROOTCERT",
            ca.map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ),
        ("PGPASSWORD", token.to_owned()),
    ]
}

/// `dsql exec`: checks, plans the launch, makes the token, runs the client.
fn run_exec(args: DsqlExecArgs, chain: ChainSettings) -> Result<ExitCode, Failure> {
    let DsqlExecArgs {
        token,
        username,
        connect,
        client,
    } = args;
    let checked = || -> anyhow::Result<_> {
        if client.is_empty() {
            return Err(anyhow!(
                "exec needs a client to run after '--', e.g. -- psql -c 'select 1'"
            ));
        }
        let token = DsqlOptions::from_args(token, chain)?;
        let role = token.role(username, "dsql exec")?;
        Ok((token, role, connect_options(connect)?))
    };
    let (token, role, connect) = checked().map_err(Failure::usage)?;
    let exec = ExecOptions {
        client,
        engine: Some(Engine::Postgres),
        env_var: None,
        allow_insecure_tls_modes: false,
    };
    let target = Target {
        hostname: &token.hostname,
        port: DSQL_PORT,
        username: role.as_str(),
        via: None,
    };
    let env = |k: &str| std::env::var_os(k);
    let mut launch = launch::plan(
        &exec,
        connect.ssl_ca.as_deref(),
        &target,
        env,
        |_| unreachable!("a PostgreSQL client"),
        || -> Result<PathBuf, Failure> { connect.ca_file_of(Bundle::AmazonRoots) },
    )?;
    if env("PGDATABASE").is_none() {
        launch.env.push(("PGDATABASE".into(), DSQL_DATABASE.into()));
    }
    let made = block_on(token.generate())?;
    Err(start(launch, made.token.as_str(), token.signing.debug))
}
