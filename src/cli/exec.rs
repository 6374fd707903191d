//! `rds-auth-token exec`: make an RDS token and run a database client with it.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

use anyhow::anyhow;
use clap::Args;
use rds_auth_token::credentials::ChainSettings;

use crate::cli::args::{ConnectArgs, TokenArgs};
use crate::cli::exit_codes::ExitCode;
use crate::cli::failure::Failure;
use crate::cli::issue::{block_on, rds_token};
use crate::cli::options::{check_env_var_name, ConnectOptions, TokenOptions};
use rds_auth_token::engine::Engine;
use rds_auth_token::launch::{self, ExecOptions, Launch, PlanError, Target};

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
        connect.ssl_ca.as_deref(),
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
    run_client(launch.with_token(token))
}

impl From<PlanError<Failure>> for Failure {
    fn from(err: PlanError<Failure>) -> Failure {
        match err {
            PlanError::CaFile(failure) => failure,
            PlanError::UnknownClient(program) => Failure::usage(anyhow!(
                "cannot tell which database {} is a client of; pass --engine postgres or --engine mysql, or --env-var NAME to hand it the token in that variable",
                program.display()
            )),
            other => Failure::usage(anyhow!("{other}")),
        }
    }
}

/// Runs the client. On Unix it replaces this process, so this returns only
/// when the client could not be started. A MySQL client's option file goes
/// through a pipe whose read end the client inherits, named by
/// `--defaults-extra-file=/dev/fd/N`, which must be its first argument.
fn run_client(launch: Launch) -> Failure {
    let mut command = Command::new(&launch.program);
    if let Some(file) = &launch.option_file {
        match option_file_pipe(&file.render()) {
            Ok(fd) => {
                command.arg(format!("--defaults-extra-file=/dev/fd/{fd}"));
            }
            Err(err) => {
                return Failure::runtime(anyhow!(
                    "could not hand the client its option file through a pipe: {err}"
                ))
            }
        }
    }
    command
        .args(&launch.args)
        .envs(launch.env.iter().map(|(k, v)| (k, v)));
    let shown = Path::new(&launch.program).display().to_string();
    let failed = |err: std::io::Error| {
        let code = match err.kind() {
            std::io::ErrorKind::NotFound => ExitCode::CommandNotFound,
            std::io::ErrorKind::PermissionDenied => ExitCode::CannotExecute,
            _ => ExitCode::Failure,
        };
        let hint = match code {
            ExitCode::CommandNotFound => "; install it or check PATH",
            _ => "",
        };
        Failure::with_code(code, anyhow!("could not run {shown:?}: {err}{hint}"))
    };
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        failed(command.exec())
    }
    #[cfg(not(unix))]
    {
        match command.status() {
            Ok(status) => std::process::exit(status.code().unwrap_or(1)),
            Err(err) => failed(err),
        }
    }
}

/// A pipe holding `text`, its write end closed; returns the read end, left
/// open across exec. `text` (well under the pipe's 64 KiB) fits without a
/// reader.
#[cfg(unix)]
fn option_file_pipe(text: &str) -> std::io::Result<i32> {
    use std::io::Write;
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: fds has room for the two descriptors pipe writes.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the write end was just made and is owned here alone.
    let mut writer = unsafe { std::fs::File::from_raw_fd(fds[1]) };
    let written = writer.write_all(text.as_bytes());
    drop(writer);
    if let Err(err) = written {
        // SAFETY: the read end is ours and not used after this.
        unsafe { libc::close(fds[0]) };
        return Err(err);
    }
    Ok(fds[0])
}

#[cfg(not(unix))]
fn option_file_pipe(_text: &str) -> std::io::Result<i32> {
    Err(std::io::Error::other(
        "MySQL clients get their option file through a pipe, on Unix only",
    ))
}
