//! `rds-auth-token inspect`: read a token, check it (and with `--verify` its
//! signature), print the report, and exit 0 only when nothing is wrong.

use std::ffi::OsString;
use std::io::{self, IsTerminal, Read};
use std::time::SystemTime;

use anyhow::anyhow;
use clap::Args;
use rds_auth_token::credentials::{self, ChainSettings, Profiles, ResolvedCredentials};
use rds_auth_token::inspect::{self, Expected, Inspection, ParsedToken, MAX_INPUT_LEN};
use rds_auth_token::region;

use crate::cli::exit_codes::ExitCode;
use crate::cli::failure::Failure;
use crate::cli::options::{self, os_bytes, parse_time, utf8};
use crate::cli::stdout::write_stdout;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  # Check a fresh token, signature included
  rds-auth-token --hostname mydb.123456789012.us-east-1.rds.amazonaws.com \\
      --port 5432 --username app_user | rds-auth-token inspect --verify

  # Why a token from elsewhere is refused, for the host and user it was for
  echo \"$TOKEN\" | rds-auth-token inspect --username app_user \\
      --hostname mydb.123456789012.us-east-1.rds.amazonaws.com

  # The same report as JSON
  rds-auth-token inspect --json \"$TOKEN\"")]
pub struct InspectArgs {
    /// The token, or - to read it from stdin [default: stdin]. Prefer stdin:
    /// an argument is kept in the shell's history.
    #[arg(value_name = "TOKEN")]
    pub token: Option<OsString>,

    /// Print one JSON object instead of one field a line.
    #[arg(long)]
    pub json: bool,

    /// Check the signature: get credentials as token generation does
    /// (environment, profile, ...), sign the token's own values again, and
    /// compare. Also reports a token made with another access key.
    #[arg(long)]
    pub verify: bool,

    /// The host you meant to connect to; a token for another is a problem.
    /// For ElastiCache and MemoryDB tokens: the cache or cluster name.
    #[arg(long, value_name = "HOSTNAME")]
    pub hostname: Option<OsString>,

    /// The port you meant to connect to. RDS only: Aurora DSQL, ElastiCache
    /// and MemoryDB tokens have no port, and it is not compared.
    #[arg(long, value_name = "PORT")]
    pub port: Option<OsString>,

    /// The database user you meant to log in as. For ElastiCache and
    /// MemoryDB tokens: the user id. Aurora DSQL tokens name no user, and
    /// it is not compared.
    #[arg(long, value_name = "USERNAME", allow_hyphen_values = true)]
    pub username: Option<OsString>,

    /// The region you meant to sign for (every kind).
    #[arg(long, value_name = "REGION")]
    pub region: Option<OsString>,

    /// With --verify: the profile whose credentials check the signature
    /// [default: AWS_PROFILE, else "default"].
    #[arg(long, value_name = "NAME", requires = "verify")]
    pub profile: Option<OsString>,

    /// Judge the token as of this time instead of now, e.g.
    /// 2026-11-22T01:30:00Z: was it still valid when that login failed?
    #[arg(long, value_name = "TIME")]
    pub at: Option<OsString>,
}

/// `rds-auth-token inspect`, checked.
#[derive(Debug)]
pub struct InspectOptions {
    pub input: TokenInput,
    pub json: bool,
    pub verify: bool,
    /// What the user meant: `--hostname`, `--port`, `--username`, `--region`.
    pub expected: Expected,
    pub profile: Option<String>,
    /// `--at`: the time to judge the token at, instead of now.
    pub at: Option<SystemTime>,
    /// How credentials are fetched for `--verify`.
    pub chain: ChainSettings,
}

/// Where the token to inspect comes from.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenInput {
    /// The argument's bytes.
    Argument(Vec<u8>),
    /// Stdin: asked for with `-`, or by giving no argument.
    Stdin { asked: bool },
}

impl InspectOptions {
    /// Checks every flag value, with the same checks the token commands
    /// make of the same flags.
    ///
    /// # Errors
    /// A one-line message that names the flag and the fix.
    pub fn from_args(args: InspectArgs, chain: ChainSettings) -> anyhow::Result<InspectOptions> {
        let input = match args.token {
            Some(dash) if dash == "-" => TokenInput::Stdin { asked: true },
            Some(token) => TokenInput::Argument(os_bytes(token)),
            None => TokenInput::Stdin { asked: false },
        };
        let hostname = args
            .hostname
            .as_deref()
            .map(options::hostname)
            .transpose()?;
        let port = args.port.as_deref().map(options::port).transpose()?;
        let username = args
            .username
            .as_deref()
            .map(options::username)
            .transpose()?;
        let region = args.region.as_deref().map(options::region).transpose()?;
        let profile = args.profile.as_deref().map(options::profile).transpose()?;
        let at = args
            .at
            .as_deref()
            .map(|t| utf8("--at", t).and_then(|t| parse_time(&t)))
            .transpose()?;
        Ok(InspectOptions {
            input,
            json: args.json,
            verify: args.verify,
            expected: Expected {
                hostname,
                port,
                username: username.map(|u| u.as_str().to_owned()),
                region,
            },
            profile,
            at,
            chain,
        })
    }
}

/// Checks the flags and inspects the token.
///
/// # Errors
/// A usage [`Failure`] for a bad flag, or input that is not a token or
/// cannot be read.
pub fn run(args: InspectArgs, chain: ChainSettings) -> Result<ExitCode, Failure> {
    let options = InspectOptions::from_args(args, chain).map_err(Failure::usage)?;
    report(&options)
}

/// Inspects the token `options` name.
///
/// # Errors
/// A usage [`Failure`] when the input is not a token or cannot be read.
fn report(options: &InspectOptions) -> Result<ExitCode, Failure> {
    let input = match &options.input {
        TokenInput::Argument(bytes) => bytes.clone(),
        TokenInput::Stdin { asked } => read_stdin(*asked)?,
    };
    let token = inspect::parse(&input).map_err(Failure::usage)?;
    drop(input);
    let mut inspection = Inspection::new(
        token,
        &options.expected,
        options.at.unwrap_or_else(SystemTime::now),
    );
    if options.verify {
        match resolve_credentials(options, inspection.token()) {
            Ok(resolved) => {
                let creds = resolved.credentials();
                let verification = inspect::verify(inspection.token(), creds, &resolved.source());
                inspection.add_verification(
                    verification,
                    creds.access_key_id(),
                    &resolved.source(),
                );
            }
            Err(reason) => inspection.credentials_unavailable(reason),
        }
    }
    let report = if options.json {
        inspection.to_json()
    } else {
        inspection.to_text()
    };
    write_stdout(&report, "the report")?;
    Ok(if inspection.is_ok() {
        ExitCode::Success
    } else {
        ExitCode::Failure
    })
}

/// Reads at most [`MAX_INPUT_LEN`] bytes; more is not a token.
fn read_stdin(asked: bool) -> Result<Vec<u8>, Failure> {
    let stdin = io::stdin();
    if !asked && stdin.is_terminal() {
        return Err(Failure::usage(anyhow!(
            "no token to inspect; pass it on stdin (rds-auth-token ... | rds-auth-token inspect) or as the argument, or pass - to paste it here"
        )));
    }
    let mut input = Vec::new();
    stdin
        .lock()
        .take(MAX_INPUT_LEN as u64 + 1)
        .read_to_end(&mut input)
        .map_err(|err| Failure::usage(anyhow::Error::new(err).context("could not read stdin")))?;
    if input.len() > MAX_INPUT_LEN {
        return Err(Failure::usage(anyhow!(
            "stdin has more than 1 MiB; a token is a few KiB at most: pass one token"
        )));
    }
    Ok(input)
}

/// Credentials from the same chain as token generation. The region (for
/// the STS and IAM Identity Center calls the chain may make) is `--region`,
/// else the token's, else the environment's or the profile's.
fn resolve_credentials(
    options: &InspectOptions,
    token: &ParsedToken,
) -> Result<ResolvedCredentials, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| err.to_string())?;
    runtime.block_on(async {
        let profiles = Profiles::load(options.profile.as_deref())
            .await
            .map_err(|err| err.to_string())?;
        let region = options
            .expected
            .region
            .clone()
            .or_else(|| {
                token
                    .region()
                    .filter(|r| region::is_region_name(r))
                    .map(str::to_owned)
            })
            .or_else(|| {
                region::resolve(
                    None,
                    |var| std::env::var(var).ok(),
                    profiles.region().map(|r| (profiles.selected(), r)),
                    token.host().unwrap_or_default(),
                )
                .ok()
                .map(|r| r.name)
            })
            .ok_or("no region to get credentials in; pass --region")?;
        credentials::resolve(&profiles, &region, SystemTime::now(), &options.chain)
            .await
            .map_err(|err| err.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn inspect(args: &[&str]) -> anyhow::Result<InspectOptions> {
        let cli = Cli::try_parse_from(["rds-auth-token", "inspect"].iter().chain(args)).unwrap();
        match cli.command {
            Some(Command::Inspect(args)) => InspectOptions::from_args(args, ChainSettings::new()),
            _ => panic!("expected inspect"),
        }
    }

    #[test]
    fn reads_the_token_from_the_argument_or_stdin() {
        assert_eq!(
            inspect(&["t"]).unwrap().input,
            TokenInput::Argument(b"t".to_vec())
        );
        assert_eq!(
            inspect(&["-"]).unwrap().input,
            TokenInput::Stdin { asked: true }
        );
        assert_eq!(
            inspect(&[]).unwrap().input,
            TokenInput::Stdin { asked: false }
        );
    }

    #[test]
    fn checks_what_inspect_is_told_was_meant() {
        let options = inspect(&[
            "--hostname=h.example.com",
            "--port=3306",
            "--username=-x",
            "--region=eu-west-1",
        ])
        .unwrap();
        assert_eq!(
            options.expected,
            Expected {
                hostname: Some("h.example.com".into()),
                port: Some(3306),
                username: Some("-x".into()),
                region: Some("eu-west-1".into()),
            }
        );
        let err = |args: &[&str]| crate::cli::worded::line(&inspect(args).unwrap_err());
        assert_eq!(err(&["--port=0"]), "--port 0 is not a port; pass the database port from 1 to 65535 (PostgreSQL 5432, MySQL 3306)");
        assert!(err(&["--hostname=h:5432"]).contains("includes a port"));
        assert!(err(&["--region=Ireland"]).starts_with("--region 'Ireland' is not a region name"));
        assert_eq!(err(&["--username="]), "--username is empty; pass the database user that has the rds_iam role or AWSAuthenticationPlugin");
    }

    #[test]
    fn reads_the_time_to_judge_at_as_rfc3339_or_as_the_token_writes_it() {
        use std::time::{Duration, UNIX_EPOCH};
        let expected = UNIX_EPOCH + Duration::from_secs(1_795_310_467);
        for at in [
            "2026-11-22T01:21:07Z",
            "2026-11-22T02:21:07+01:00",
            "20261122T012107Z",
        ] {
            assert_eq!(inspect(&["--at", at]).unwrap().at, Some(expected), "{at}");
        }
        assert_eq!(
            crate::cli::worded::line(&inspect(&["--at", "yesterday\n"]).unwrap_err()),
            "--at \"yesterday\\n\" is not a time; pass one like 2026-11-22T01:30:00Z"
        );
    }
}
