//! `rds-auth-token doctor`: check each step an IAM database login depends
//! on, print one line a check with the fix for each failure, and exit 0
//! only when none failed.

use std::sync::Arc;

use clap::Args;
use rds_auth_token::credentials::ChainSettings;
use rds_auth_token::doctor::sequence::{self, Inquiry};
use rds_auth_token::doctor::Report;

use crate::cli::args::{ConnectArgs, TokenArgs};
use crate::cli::exit_codes::ExitCode;
use crate::cli::failure::Failure;
use crate::cli::issue::{block_on, Stderr};
use crate::cli::options::{ConnectOptions, TokenOptions};
use crate::cli::stdout::write_stdout;
use rds_auth_token::engine::Engine;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  # Check everything a login of app_user to this instance needs
  rds-auth-token doctor --hostname mydb.123456789012.us-east-1.rds.amazonaws.com \\
      --port 5432 --username app_user

  # Through an SSM or SSH tunnel listening on 127.0.0.1:15432, as JSON
  rds-auth-token doctor --hostname mydb.123456789012.us-east-1.rds.amazonaws.com \\
      --port 5432 --username app_user --via 127.0.0.1:15432 --json

  # MySQL on another port, with the credentials of a profile
  rds-auth-token doctor --hostname mydb.123456789012.eu-west-1.rds.amazonaws.com \\
      --port 3307 --engine mysql --username app_user --profile prod")]
pub struct DoctorArgs {
    #[command(flatten)]
    pub token: TokenArgs,

    #[command(flatten)]
    pub connect: ConnectArgs,

    /// The database engine, for the TLS check [default: the endpoint's, as
    /// RDS reports it; else from the port, 5432 postgres, 3306 mysql; else
    /// mysql when the server speaks first].
    #[arg(long, value_enum)]
    pub engine: Option<Engine>,

    /// Print one JSON object, {"checks": [{"name", "status", "message",
    /// "fix"}, ...]}, instead of one line a check.
    #[arg(long)]
    pub json: bool,
}

/// `rds-auth-token doctor`, checked.
#[derive(Debug)]
pub struct DoctorOptions {
    pub token: TokenOptions,
    pub connect: ConnectOptions,
    pub engine: Option<Engine>,
    pub json: bool,
}

impl DoctorOptions {
    /// Checks every flag value, as the token command checks the same flags.
    ///
    /// # Errors
    /// A one-line message that names the flag and the fix.
    pub fn from_args(args: DoctorArgs, chain: ChainSettings) -> anyhow::Result<DoctorOptions> {
        Ok(DoctorOptions {
            token: TokenOptions::from_args(args.token, chain)?,
            connect: ConnectOptions::from_args(args.connect)?,
            engine: args.engine,
            json: args.json,
        })
    }
}

/// Runs every check and prints the report.
///
/// # Errors
/// A usage failure for a bad flag; a runtime one when stdout fails. A check
/// that fails is no error: it is in the report, and the status is 1.
pub fn run(args: DoctorArgs, chain: ChainSettings) -> Result<ExitCode, Failure> {
    let options = DoctorOptions::from_args(args, chain).map_err(Failure::usage)?;
    let token = &options.token;
    let inquiry = Inquiry {
        hostname: token.hostname.clone(),
        port: token.port,
        username: token.username.clone(),
        expires_in: token.expires_in.as_secs(),
        settings: token.signing.settings(),
        engine: options.engine,
        ssl_ca: options.connect.ssl_ca.clone(),
        via: options.connect.via,
        wording: crate::cli::worded::worded,
    };
    let observer = Arc::new(Stderr {
        debug: token.signing.debug,
    });
    let checks = block_on(async { Ok(sequence::run(&inquiry, observer).await) })?;
    let report = Report::new(checks);
    let text = if options.json {
        report.to_json()
    } else {
        report.to_text()
    };
    write_stdout(&text, "the report")?;
    Ok(if report.is_ok() {
        ExitCode::Success
    } else {
        ExitCode::Failure
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn doctor(args: &[&str]) -> anyhow::Result<DoctorOptions> {
        let cli = Cli::try_parse_from(["rds-auth-token", "doctor"].iter().chain(args)).unwrap();
        match cli.command {
            Some(Command::Doctor(args)) => DoctorOptions::from_args(args, ChainSettings::new()),
            _ => panic!("expected doctor"),
        }
    }

    #[test]
    fn takes_the_token_commands_flags_with_engine_json_and_via() {
        let options = doctor(&[
            "--hostname=db.abc.us-east-1.rds.amazonaws.com",
            "--port=3307",
            "--username=-app",
            "--engine=mariadb",
            "--via=127.0.0.1:13307",
            "--json",
        ])
        .unwrap();
        assert_eq!(options.token.port, 3307);
        assert_eq!(options.token.username.as_str(), "-app");
        assert_eq!(options.engine, Some(Engine::Mysql));
        assert_eq!(options.connect.via.unwrap().port, 13307);
        assert!(options.json);
    }

    #[test]
    fn checks_the_flags_as_the_token_command_does() {
        let err = |args: &[&str]| crate::cli::worded::line(&doctor(args).unwrap_err());
        assert!(
            err(&["--hostname=h:5432", "--port=5432", "--username=u"]).contains("includes a port")
        );
        assert!(
            err(&["--hostname=h", "--port=5432", "--username=u", "--via=h:1"])
                .starts_with("--via \"h:1\" is not an IP address and port")
        );
        assert!(err(&[
            "--hostname=h",
            "--port=5432",
            "--username=u",
            "--ssl-ca=/no/such/file"
        ])
        .starts_with("--ssl-ca /no/such/file: "));
    }
}
