//! The root command: make an RDS or Aurora token and print it, as
//! `aws rds generate-db-auth-token` does (or in another `--format`).

use std::time::SystemTime;

use clap::Args;
use rds_auth_token::credentials::ChainSettings;

use crate::cli::args::{ConnectArgs, TokenArgs};
use crate::cli::exit_codes::ExitCode;
use crate::cli::failure::Failure;
use crate::cli::issue::{block_on, rds_token};
use crate::cli::options::{ConnectOptions, TokenOptions};
use crate::cli::stdout::write_stdout;
use rds_auth_token::engine::Engine;
use rds_auth_token::format::{self, Connection, Format, Output};

/// The root command's flags.
#[derive(Debug, Args)]
pub struct TokenCommandArgs {
    #[command(flatten)]
    pub token: TokenArgs,

    /// How to print the token: the bare token, a JSON object, shell `export`
    /// lines, a .pgpass line, or a connection URI.
    #[arg(long, value_enum, default_value_t = Format::Token)]
    pub format: Format,

    /// The database engine, for `--format env` and `--format uri`
    /// [default: from the port, 5432 postgres, 3306 mysql].
    #[arg(long, value_enum)]
    pub engine: Option<Engine>,

    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// The root command, checked.
#[derive(Debug)]
pub struct RootOptions {
    pub token: TokenOptions,
    pub connect: ConnectOptions,
    pub output: Output,
}

impl RootOptions {
    /// Checks every flag value.
    ///
    /// # Errors
    /// A one-line message that names the flag and the fix.
    pub fn from_args(args: TokenCommandArgs, chain: ChainSettings) -> anyhow::Result<RootOptions> {
        let token = TokenOptions::from_args(args.token, chain)?;
        let connect = ConnectOptions::from_args(args.connect)?;
        let engine = args.engine.or_else(|| Engine::from_port(token.port));
        let output = Output::new(args.format, engine, token.port)?;
        Ok(RootOptions {
            token,
            connect,
            output,
        })
    }
}

/// Makes the token and prints it.
///
/// # Errors
/// A usage failure for a flag that cannot work, a runtime one when no
/// credentials are found or stdout fails.
pub fn run(args: TokenCommandArgs, chain: ChainSettings) -> Result<ExitCode, Failure> {
    let options = RootOptions::from_args(args, chain).map_err(Failure::usage)?;
    // Only the formats that tell a client how to connect need the CA file:
    // the bare token's start-up stays free of file writes. Everything that
    // can be wrong with the input is found before the credentials are
    // looked up.
    let ca = match options.output {
        Output::Env(_) | Output::Uri(_) => Some(options.connect.ca_file(&options.token.hostname)?),
        _ => None,
    };
    let made = block_on(rds_token(&options.token))?;
    let issued = Connection {
        token: &made.token,
        hostname: &options.token.hostname,
        port: options.token.port,
        username: options.token.username.as_str(),
        region: &made.region,
        expires_at: made.expires_at,
        credential_expiration: made.credential_expiration,
        ca_file: ca.as_deref(),
        via: options.connect.via,
    };
    write_stdout(
        &format::render(options.output, &issued, SystemTime::now()),
        "the token",
    )
    .map(|()| ExitCode::Success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::options::Via;
    use crate::cli::Cli;
    use clap::Parser;
    use rds_auth_token::credentials::ChainSettings;
    use std::net::IpAddr;

    fn options(args: &[&str]) -> anyhow::Result<RootOptions> {
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
        let cli = Cli::try_parse_from(base.iter().chain(port).chain(args)).unwrap();
        RootOptions::from_args(cli.root, ChainSettings::new())
    }

    #[track_caller]
    fn fails(args: &[&str], message: &str) {
        let err = crate::cli::worded::line(&options(args).unwrap_err());
        assert_eq!(err, message);
    }

    #[test]
    fn rejects_ports_outside_1_to_65535() {
        fails(&["--port", "0"], "--port 0 is not a port; pass the database port from 1 to 65535 (PostgreSQL 5432, MySQL 3306)");
        fails(&["--port", "65536"], "--port \"65536\" is not a port; pass a whole number from 1 to 65535 (PostgreSQL 5432, MySQL 3306)");
        fails(&["--port=-1"], "--port \"-1\" is not a port; pass a whole number from 1 to 65535 (PostgreSQL 5432, MySQL 3306)");
        assert_eq!(options(&["--port", "65535"]).unwrap().token.port, 65535);
    }

    #[test]
    fn rejects_an_expiry_above_900_seconds() {
        fails(&["--expires-in", "901"], "--expires-in 901 is above 900 seconds; RDS refuses such tokens (\"PAM authentication failed\"), pass at most 900");
        fails(
            &["--expires-in", "15m"],
            "--expires-in \"15m\" is not a number of seconds; pass 1 to 900",
        );
        assert_eq!(options(&[]).unwrap().token.expires_in.as_secs(), 900);
        assert_eq!(
            options(&["--expires-in", "60"])
                .unwrap()
                .token
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

    #[test]
    fn reads_via_as_an_ip_address_and_a_port() {
        let via = |v: &str| options(&["--via", v]).map(|o| o.connect.via.unwrap());
        assert_eq!(
            via("127.0.0.1:15432").unwrap(),
            Via {
                ip: IpAddr::from([127, 0, 0, 1]),
                port: 15432
            }
        );
        assert_eq!(via("localhost:1").unwrap().ip, IpAddr::from([127, 0, 0, 1]));
        assert_eq!(
            via("[::1]:5432").unwrap().ip,
            "::1".parse::<IpAddr>().unwrap()
        );
        for (value, why) in [
            ("127.0.0.1", "has no port"),
            ("15432", "has no port"),
            ("127.0.0.1:0", "has no port from 1 to 65535"),
            ("bastion.example.com:5432", "is not an IP address and port"),
        ] {
            let err = crate::cli::worded::line(&via(value).unwrap_err());
            assert!(err.starts_with(&format!("--via {value:?} {why}")), "{err}");
            assert!(err.ends_with("e.g. 127.0.0.1:15432"), "{err}");
        }
    }

    #[test]
    fn checks_that_the_ssl_ca_file_can_be_read() {
        let err = options(&["--ssl-ca", "/no/such/ca.pem"])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("--ssl-ca /no/such/ca.pem: "), "{err}");
        assert!(err.ends_with("; pass a readable PEM file of CA certificates"));
        let err = crate::cli::worded::line(&options(&["--ssl-ca", "/"]).unwrap_err());
        assert!(err.contains("not a file"), "{err}");
        let file = tempfile::NamedTempFile::new().unwrap();
        let path = file.path().to_str().unwrap();
        assert_eq!(
            options(&["--ssl-ca", path])
                .unwrap()
                .connect
                .ssl_ca
                .as_deref(),
            Some(file.path())
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
        cli.root.token.username = Some(OsString::from_vec(vec![b'a', 0xff]));
        let err = RootOptions::from_args(cli.root, ChainSettings::new())
            .unwrap_err()
            .to_string();
        assert_eq!(err, "--username is not valid UTF-8; pass it as UTF-8 text");
    }
}
