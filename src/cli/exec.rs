//! `rds-auth-token exec`: make an RDS token and run a database client with it.

use std::ffi::OsString;

use anyhow::anyhow;
use clap::Args;
use rds_auth_token::credentials::ChainSettings;

use crate::cli::args::{ConnectArgs, TokenArgs};
use crate::cli::issue::{block_on, rds_token};
use crate::cli::options::{check_env_var_name, ConnectOptions, TokenOptions};
use crate::engine::Engine;
use crate::exit_codes::ExitCode;
use crate::failure::Failure;
use crate::launch::{self, ExecOptions, Launch, Target};

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  # psql, with the token in PGPASSWORD and the server's certificate checked
  rds-auth-token exec --hostname mydb.123456789012.us-east-1.rds.amazonaws.com \\
      --port 5432 --username app_user -- psql -d app

  # mysql, with the cleartext plugin and --ssl-mode=VERIFY_IDENTITY
  rds-auth-token exec --hostname mydb.123456789012.us-east-1.rds.amazonaws.com \\
      --port 3306 --username app_user -- mysql app

  # Through an SSM port forward listening on 127.0.0.1:15432
  rds-auth-token exec --hostname mydb.123456789012.us-east-1.rds.amazonaws.com \\
      --port 5432 --username app_user --via 127.0.0.1:15432 -- psql -d app")]
pub struct ExecArgs {
    #[command(flatten)]
    pub token: TokenArgs,

    #[command(flatten)]
    pub connect: ConnectArgs,

    /// The database engine [default: from the client's name, else from the
    /// port: 5432 postgres, 3306 mysql].
    #[arg(long, value_enum)]
    pub engine: Option<Engine>,

    /// Also put the token in this environment variable, for clients this
    /// tool does not know.
    #[arg(long, value_name = "NAME")]
    pub env_var: Option<OsString>,

    /// Let PGSSLMODE be disable, allow or prefer, and do not require TLS of
    /// MySQL clients. These modes can send the token in clear text: for a
    /// local test server only.
    #[arg(long)]
    pub allow_insecure_tls_modes_for_local_testing: bool,

    /// The client to run and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "CLIENT")]
    pub client: Vec<OsString>,
}

/// Checks the flags and the client, makes the token and runs the client;
/// on Unix this returns only when the client could not be started.
///
/// # Errors
/// A usage failure for a flag that cannot work, a runtime one when no
/// credentials are found or the client cannot run.
pub fn run(args: ExecArgs, chain: ChainSettings) -> Result<ExitCode, Failure> {
    let ExecArgs {
        token,
        connect,
        engine,
        env_var,
        allow_insecure_tls_modes_for_local_testing,
        client,
    } = args;
    let check = || -> anyhow::Result<_> {
        if let Some(name) = &env_var {
            check_env_var_name(name)?;
        }
        if client.is_empty() {
            return Err(anyhow!(
                "exec needs a client to run after '--', e.g. -- psql -d app"
            ));
        }
        Ok((
            TokenOptions::from_args(token, chain)?,
            ConnectOptions::from_args(connect)?,
        ))
    };
    let (token, connect) = check().map_err(Failure::usage)?;
    let exec = ExecOptions {
        client,
        engine,
        env_var,
        allow_insecure_tls_modes: allow_insecure_tls_modes_for_local_testing,
    };
    let target = Target {
        hostname: &token.hostname,
        port: token.port,
        username: token.username.as_str(),
        via: connect.via,
    };
    // Everything that can be wrong with the input is found before the
    // credentials are looked up.
    let launch = launch::plan(
        &exec,
        &connect,
        &target,
        |k| std::env::var_os(k),
        launch::mysql_family,
        || connect.ca_file(&token.hostname),
    )?;
    let made = block_on(rds_token(&token))?;
    Err(start(launch, made.token.as_str(), token.signing.debug))
}

/// Traces the launch with `--debug` (names only, never values), then runs
/// the client with the token.
pub fn start(launch: Launch, token: &str, debug: bool) -> Failure {
    if debug {
        say!(
            "rds-auth-token: debug: running {:?} with arguments {:?} and {}{}",
            launch.program,
            launch.args,
            launch.env_names().join(", "),
            if launch.option_file.is_some() {
                ", and an option file (user, password, host, port, TLS) read through a pipe"
            } else {
                ""
            }
        );
    }
    launch::run(launch.with_token(token))
}
