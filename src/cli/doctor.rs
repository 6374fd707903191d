//! `rds-auth-token doctor`: check each step an IAM database login depends
//! on, print one line a check with the fix for each failure, and exit 0
//! only when none failed.

use std::time::SystemTime;

use clap::Args;
use rds_auth_token::credentials::{ChainSettings, Profiles};
use rds_auth_token::doctor::local::{self, FoundCredentials};
use rds_auth_token::doctor::network::{self, Target};
use rds_auth_token::doctor::tls::{self, Probe, Roots};
use rds_auth_token::doctor::{self, Check, CheckName, Report, Status};
use rds_auth_token::inspect::Expected;

use crate::cli::args::{ConnectArgs, TokenArgs};
use crate::cli::options::{ConnectOptions, TokenOptions};
use crate::engine::Engine;
use crate::exit_codes::ExitCode;
use crate::failure::Failure;
use crate::signing::{self, block_on, choose_region, credentials_for, rds_config, HostRegion};
use crate::stdout::write_stdout;

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
    let mut checks = block_on(async { Ok(signing_checks(&options).await) })?;
    checks.extend(connection_checks(&options, None));
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

/// The region, the credentials, and a token made with them, found as the
/// token command finds them.
async fn signing_checks(options: &DoctorOptions) -> Vec<Check> {
    let token = &options.token;
    let signing = &token.signing;
    let mut checks = Vec::new();
    let profiles = Profiles::load(signing.profile.as_deref()).await;
    let region = choose_region(
        signing,
        profiles.as_ref().ok(),
        HostRegion::Rds(&token.hostname),
    );
    checks.push(match &region {
        Ok(choice) => local::region_chosen(
            &choice.name,
            &choice.source,
            choice.endpoint_region.as_deref(),
        ),
        Err(failure) => Check::fail_from_error(
            CheckName::Region,
            &failure.to_string(),
            "pass --region with the endpoint's region, or set AWS_REGION",
        ),
    });
    let ready = match (&profiles, &region) {
        (Err(err), _) => {
            checks.push(Check::fail_from_error(
                CheckName::Credentials,
                &err.to_string(),
                "check the profile name",
            ));
            None
        }
        (Ok(_), Err(_)) => {
            checks.push(Check::skip(
                CheckName::Credentials,
                "not looked up: they are looked up in the signing region, and there is none (see region)",
            ));
            None
        }
        (Ok(profiles), Ok(choice)) => {
            match credentials_for(signing, profiles, &choice.name, token.expires_in.as_secs()).await
            {
                Ok(ready) => {
                    let creds = ready.resolved.credentials();
                    let source = ready.resolved.source();
                    checks.push(local::credentials_found(
                        &FoundCredentials {
                            source: &source,
                            profile: (profiles.origin()
                                != rds_auth_token::credentials::ProfileOrigin::Default)
                                .then(|| profiles.selected()),
                            access_key_id: creds.access_key_id(),
                            session_token: creds.session_token().is_some(),
                            expiry: creds.expiry(),
                            shortened: ready.shortened_from.map(|asked| (ready.expires_in, asked)),
                        },
                        SystemTime::now(),
                    ));
                    Some((ready, choice))
                }
                Err(failure) => {
                    checks.push(Check::fail_from_error(
                        CheckName::Credentials,
                        &failure.to_string(),
                        "see the AWS credential provider chain in `rds-auth-token --help`",
                    ));
                    None
                }
            }
        }
    };
    let region_failed = checks
        .iter()
        .any(|c| c.name == CheckName::Region && c.status == Status::Fail);
    checks.push(match &ready {
        None => Check::skip(
            CheckName::Token,
            "not made: no credentials to sign with (see credentials)",
        ),
        Some((ready, choice)) => {
            match signing::sign(signing, &choice.name, ready, rds_config(token)) {
                Ok(made) => {
                    let expected = Expected {
                        hostname: Some(token.hostname.clone()),
                        port: Some(token.port),
                        username: Some(token.username.as_str().to_owned()),
                        region: Some(choice.name.clone()),
                    };
                    let reported: &[&str] = if region_failed {
                        &["region_mismatch"]
                    } else {
                        &[]
                    };
                    local::token_made(&made.token, &expected, SystemTime::now(), reported)
                }
                Err(failure) => Check::fail_from_error(
                    CheckName::Token,
                    &failure.to_string(),
                    "check --hostname, --port and --username",
                ),
            }
        }
    });
    checks
}

/// The TCP connection to the database (or `--via`'s tunnel), then TLS over
/// it, verified for the endpoint's name. `known` is the endpoint's engine
/// as RDS reports it.
fn connection_checks(options: &DoctorOptions, known: Option<doctor::Engine>) -> Vec<Check> {
    let token = &options.token;
    let target = match options.connect.via {
        Some(via) => Target {
            host: via.ip.to_string(),
            port: via.port,
            tunnel: true,
        },
        None => Target {
            host: token.hostname.clone(),
            port: token.port,
            tunnel: false,
        },
    };
    let connected = network::connect(&target);
    let network = network::check(&target, &connected);
    let tls = match connected {
        Ok(connected) => {
            let engine = options
                .engine
                .map(|engine| match engine {
                    Engine::Postgres => doctor::Engine::Postgres,
                    Engine::Mysql => doctor::Engine::Mysql,
                })
                .or(known)
                .or_else(|| {
                    Engine::from_port(token.port).map(|engine| match engine {
                        Engine::Postgres => doctor::Engine::Postgres,
                        Engine::Mysql => doctor::Engine::Mysql,
                    })
                });
            let probe = Probe {
                server_name: token.hostname.clone(),
                roots: Roots::for_endpoint(&token.hostname, options.connect.ssl_ca.clone()),
                engine,
            };
            tls::check(connected.stream, &probe)
        }
        Err(_) => Check::skip(CheckName::Tls, "no connection (see network)"),
    };
    vec![network, tls]
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
        let err = |args: &[&str]| doctor(args).unwrap_err().to_string();
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
