//! Parsed flags turned into checked values, once; nothing downstream looks at raw strings.

use std::ffi::OsStr;

use anyhow::{anyhow, Result};
use rds_auth_token::endpoint::validate_hostname;
use rds_auth_token::{region, ExpiresIn, Username};

use crate::cli::Cli;

/// What the user asked for, checked.
#[derive(Debug)]
pub struct Options {
    pub hostname: String,
    pub port: u16,
    pub username: Username,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub expires_in: ExpiresIn,
    pub debug: bool,
}

impl Options {
    /// Checks every flag value.
    ///
    /// # Errors
    /// A one-line message that names the flag and the fix.
    pub fn from_cli(cli: Cli) -> Result<Options> {
        let hostname = utf8("--hostname", &cli.hostname)?;
        validate_hostname(&hostname)?;
        let port = parse_port(&utf8("--port", &cli.port)?)?;
        let username = Username::new(utf8("--username", &cli.username)?)?;
        let region = cli
            .region
            .as_deref()
            .map(|r| utf8("--region", r))
            .transpose()?;
        if let Some(region) = &region {
            region::validate(region)?;
        }
        let profile = cli
            .profile
            .as_deref()
            .map(|p| utf8("--profile", p))
            .transpose()?;
        if profile.as_deref().is_some_and(|p| p.trim().is_empty()) {
            return Err(anyhow!(
                "--profile is empty; pass a profile name from ~/.aws/config, or leave the flag out"
            ));
        }
        let expires_in = parse_expires_in(&utf8("--expires-in", &cli.expires_in)?)?;
        Ok(Options {
            hostname,
            port,
            username,
            region,
            profile,
            expires_in,
            debug: cli.debug,
        })
    }
}

fn utf8(flag: &str, value: &OsStr) -> Result<String> {
    value
        .to_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("{flag} is not valid UTF-8; pass it as UTF-8 text"))
}

fn parse_port(value: &str) -> Result<u16> {
    match value.parse::<u32>() {
        Ok(port @ 1..=65535) => Ok(port as u16),
        Ok(0) => Err(rds_auth_token::Error::PortZero.into()),
        _ => Err(anyhow!(
            "--port {value:?} is not a port; pass a whole number from 1 to 65535 (PostgreSQL 5432, MySQL 3306)"
        )),
    }
}

fn parse_expires_in(value: &str) -> Result<ExpiresIn> {
    let secs = value
        .parse::<u64>()
        .map_err(|_| anyhow!("--expires-in {value:?} is not a number of seconds; pass 1 to 900"))?;
    Ok(ExpiresIn::from_secs(secs)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn options(args: &[&str]) -> Result<Options> {
        let base = [
            "rds-auth-token",
            "--hostname",
            "db.example.com",
            "--username",
            "u",
        ];
        let port: &[&str] = if args.iter().any(|a| a.starts_with("--port")) {
            &[]
        } else {
            &["--port=5432"]
        };
        Options::from_cli(Cli::try_parse_from(base.iter().chain(port).chain(args)).unwrap())
    }

    #[track_caller]
    fn fails(args: &[&str], message: &str) {
        let err = options(args).unwrap_err().to_string();
        assert_eq!(err, message);
    }

    #[test]
    fn rejects_ports_outside_1_to_65535() {
        fails(&["--port", "0"], "--port 0 is not a port; pass the database port from 1 to 65535 (PostgreSQL 5432, MySQL 3306)");
        fails(&["--port", "65536"], "--port \"65536\" is not a port; pass a whole number from 1 to 65535 (PostgreSQL 5432, MySQL 3306)");
        fails(&["--port=-1"], "--port \"-1\" is not a port; pass a whole number from 1 to 65535 (PostgreSQL 5432, MySQL 3306)");
        assert_eq!(options(&["--port", "65535"]).unwrap().port, 65535);
    }

    #[test]
    fn rejects_an_expiry_above_900_seconds() {
        fails(&["--expires-in", "901"], "--expires-in 901 is above 900 seconds; RDS refuses such tokens (\"PAM authentication failed\"), pass at most 900");
        fails(
            &["--expires-in", "15m"],
            "--expires-in \"15m\" is not a number of seconds; pass 1 to 900",
        );
        assert_eq!(options(&[]).unwrap().expires_in.as_secs(), 900);
        assert_eq!(
            options(&["--expires-in", "60"])
                .unwrap()
                .expires_in
                .as_secs(),
            60
        );
    }

    #[test]
    fn rejects_a_malformed_region_flag_and_an_empty_profile() {
        fails(
            &["--region", ""],
            "--region is empty; pass a region name like us-east-1",
        );
        fails(&["--region", "Ireland"], "--region 'Ireland' is not a region name; pass one like us-east-1, eu-west-1 or cn-north-1");
        fails(
            &["--profile", ""],
            "--profile is empty; pass a profile name from ~/.aws/config, or leave the flag out",
        );
    }

    #[cfg(unix)]
    #[test]
    fn rejects_a_user_name_that_is_not_utf8() {
        use std::ffi::OsString;
        use std::os::unix::ffi::OsStringExt;
        let mut cli =
            Cli::try_parse_from(["x", "--hostname", "h", "--port", "1", "--username", "u"])
                .unwrap();
        cli.username = OsString::from_vec(vec![b'a', 0xff]);
        let err = Options::from_cli(cli).unwrap_err().to_string();
        assert_eq!(err, "--username is not valid UTF-8; pass it as UTF-8 text");
    }
}
