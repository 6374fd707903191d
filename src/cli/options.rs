//! Parsed flags turned into checked values, once; nothing downstream looks at raw strings.

use std::ffi::{OsStr, OsString};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use anyhow::{anyhow, Result};
use rds_auth_token::credentials::ChainSettings;
use rds_auth_token::endpoint::validate_hostname;
use rds_auth_token::inspect::Expected;
use rds_auth_token::{region, ExpiresIn, Username};

use crate::ca_bundle_command::CaBundleArgs;
use crate::cli::{
    CacheAction, Cli, Command, ConnectArgs, ExecArgs, GlobalArgs, InspectArgs, TokenArgs,
};
use crate::engine::Engine;
use crate::format::Output;
use crate::refresh_command::RefreshOptions;

/// What the user asked for, checked: a token, or a look at one.
#[derive(Debug)]
pub enum Request {
    /// Make a token and print it or run a client with it.
    Token(Options),
    /// Read a token and report on it.
    Inspect(InspectOptions),
    /// Remove this tool's files from the credential cache.
    CacheClear,
    /// Print the CA bundle, or its file's path.
    CaBundle(CaBundleArgs),
    /// Keep a password file fresh.
    Refresh(RefreshOptions),
}

impl Request {
    /// Checks every flag value.
    ///
    /// # Errors
    /// A one-line message that names the flag and the fix.
    pub fn from_cli(cli: Cli) -> Result<Request> {
        match cli.command {
            Some(Command::Inspect(args)) => {
                let chain = chain_settings(&cli.global)?;
                Ok(Request::Inspect(InspectOptions::from_args(args, chain)?))
            }
            Some(Command::Cache(args)) => match args.action {
                CacheAction::Clear => Ok(Request::CacheClear),
            },
            Some(Command::CaBundle(args)) => Ok(Request::CaBundle(args)),
            Some(Command::Refresh(args)) => {
                let chain = chain_settings(&cli.global)?;
                Ok(Request::Refresh(RefreshOptions::from_args(args, chain)?))
            }
            _ => Ok(Request::Token(Options::from_cli(cli)?)),
        }
    }
}

/// A token to make, checked.
#[derive(Debug)]
pub struct Options {
    pub token: TokenOptions,
    pub connect: ConnectOptions,
    pub action: Action,
}

/// `--ssl-ca` and `--via`, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectOptions {
    /// The CA file to trust instead of the bundle, as an absolute path.
    pub ssl_ca: Option<PathBuf>,
    /// The tunnel to connect through.
    pub via: Option<Via>,
}

/// A tunnel's local end: `--via IP:PORT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Via {
    pub ip: IpAddr,
    pub port: u16,
}

impl ConnectOptions {
    /// Checks `--ssl-ca` (a readable file) and `--via` (an IP address and a
    /// port: libpq's hostaddr takes no name).
    ///
    /// # Errors
    /// A one-line message that names the flag and the fix.
    pub fn from_args(args: ConnectArgs) -> Result<ConnectOptions> {
        let ssl_ca = match args.ssl_ca {
            None => None,
            Some(path) if path.is_empty() => {
                return Err(anyhow!(
                    "--ssl-ca is empty; pass a PEM file of CA certificates, or leave the flag out to trust the Amazon RDS CAs"
                ))
            }
            Some(path) => {
                let path = PathBuf::from(path);
                let absolute = std::path::absolute(&path).unwrap_or_else(|_| path.clone());
                if let Err(err) = std::fs::File::open(&absolute).and_then(|f| {
                    if f.metadata()?.is_file() {
                        Ok(())
                    } else {
                        Err(std::io::Error::other("not a file"))
                    }
                }) {
                    return Err(anyhow!(
                        "--ssl-ca {}: {err}; pass a readable PEM file of CA certificates",
                        path.display()
                    ));
                }
                Some(absolute)
            }
        };
        let via = args
            .via
            .as_deref()
            .map(|v| utf8("--via", v).and_then(|v| parse_via(&v)))
            .transpose()?;
        Ok(ConnectOptions { ssl_ca, via })
    }
}

/// `IP:PORT` or `[IPv6]:PORT`; `localhost` stands for 127.0.0.1.
fn parse_via(value: &str) -> Result<Via> {
    let fail = |why: &str| {
        anyhow!("--via {value:?} {why}; pass the tunnel's local address as IP:PORT, e.g. 127.0.0.1:15432")
    };
    let (host, port) = value.rsplit_once(':').ok_or_else(|| fail("has no port"))?;
    let port = match port.parse::<u16>() {
        Ok(port) if port > 0 => port,
        _ => return Err(fail("has no port from 1 to 65535")),
    };
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let ip = if host.eq_ignore_ascii_case("localhost") {
        IpAddr::from([127, 0, 0, 1])
    } else {
        host.parse::<IpAddr>()
            .map_err(|_| fail("is not an IP address and port (clients are given the address as libpq's hostaddr, which takes no name)"))?
    };
    Ok(Via { ip, port })
}

/// What the token is made for, checked.
#[derive(Debug)]
pub struct TokenOptions {
    pub hostname: String,
    pub port: u16,
    pub username: Username,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub expires_in: ExpiresIn,
    pub debug: bool,
    /// How credentials are fetched: the AWS CLI's global options.
    pub chain: ChainSettings,
}

/// What to do with the token.
#[derive(Debug)]
pub enum Action {
    /// Print it.
    Print(Output),
    /// Run a client with it.
    Exec(ExecOptions),
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

/// `rds-auth-token exec`, checked.
#[derive(Debug)]
pub struct ExecOptions {
    /// The program and its arguments; never empty.
    pub client: Vec<OsString>,
    pub engine: Option<Engine>,
    pub env_var: Option<OsString>,
    pub allow_insecure_tls_modes: bool,
}

impl Options {
    /// Checks every flag value.
    ///
    /// # Errors
    /// A one-line message that names the flag and the fix.
    pub fn from_cli(cli: Cli) -> Result<Options> {
        let chain = chain_settings(&cli.global)?;
        match cli.command {
            None => {
                let token = TokenOptions::from_args(cli.token, chain)?;
                let connect = ConnectOptions::from_args(cli.connect)?;
                let engine = cli.engine.or_else(|| Engine::from_port(token.port));
                let output = Output::new(cli.format, engine, token.port)?;
                Ok(Options {
                    token,
                    connect,
                    action: Action::Print(output),
                })
            }
            Some(
                Command::Inspect(_)
                | Command::Cache(_)
                | Command::CaBundle(_)
                | Command::Refresh(_),
            ) => Err(anyhow!("this command makes no token")),
            Some(Command::Exec(exec)) => {
                let ExecArgs {
                    token,
                    connect,
                    engine,
                    env_var,
                    allow_insecure_tls_modes_for_local_testing,
                    client,
                } = exec;
                if let Some(name) = &env_var {
                    check_env_var_name(name)?;
                }
                if client.is_empty() {
                    return Err(anyhow!(
                        "exec needs a client to run after '--', e.g. -- psql -d app"
                    ));
                }
                Ok(Options {
                    token: TokenOptions::from_args(token, chain)?,
                    connect: ConnectOptions::from_args(connect)?,
                    action: Action::Exec(ExecOptions {
                        client,
                        engine,
                        env_var,
                        allow_insecure_tls_modes: allow_insecure_tls_modes_for_local_testing,
                    }),
                })
            }
        }
    }
}

impl TokenOptions {
    pub fn from_args(args: TokenArgs, chain: ChainSettings) -> Result<TokenOptions> {
        let hostname = utf8("--hostname", &required("--hostname", args.hostname)?)?;
        validate_hostname(&hostname)?;
        let port = parse_port(&utf8("--port", &required("--port", args.port)?)?)?;
        let username = Username::new(utf8("--username", &required("--username", args.username)?)?)?;
        let region = args
            .region
            .as_deref()
            .map(|r| utf8("--region", r))
            .transpose()?;
        if let Some(region) = &region {
            region::validate(region)?;
        }
        let profile = args
            .profile
            .as_deref()
            .map(|p| utf8("--profile", p))
            .transpose()?;
        if profile.as_deref().is_some_and(|p| p.trim().is_empty()) {
            return Err(anyhow!(
                "--profile is empty; pass a profile name from ~/.aws/config, or leave the flag out"
            ));
        }
        let expires_in = parse_expires_in(&utf8("--expires-in", &args.expires_in)?)?;
        Ok(TokenOptions {
            hostname,
            port,
            username,
            region,
            profile,
            expires_in,
            debug: args.debug,
            chain,
        })
    }
}

impl InspectOptions {
    fn from_args(args: InspectArgs, chain: ChainSettings) -> Result<InspectOptions> {
        let input = match args.token {
            Some(dash) if dash == "-" => TokenInput::Stdin { asked: true },
            Some(token) => TokenInput::Argument(os_bytes(token)),
            None => TokenInput::Stdin { asked: false },
        };
        let hostname = args
            .hostname
            .as_deref()
            .map(|h| utf8("--hostname", h))
            .transpose()?;
        if let Some(hostname) = &hostname {
            validate_hostname(hostname)?;
        }
        let port = args
            .port
            .as_deref()
            .map(|p| utf8("--port", p).and_then(|p| parse_port(&p)))
            .transpose()?;
        let username = args
            .username
            .as_deref()
            .map(|u| utf8("--username", u).and_then(|u| Ok(Username::new(u)?)))
            .transpose()?;
        let region = args
            .region
            .as_deref()
            .map(|r| utf8("--region", r))
            .transpose()?;
        if let Some(region) = &region {
            region::validate(region)?;
        }
        let profile = args
            .profile
            .as_deref()
            .map(|p| utf8("--profile", p))
            .transpose()?;
        if profile.as_deref().is_some_and(|p| p.trim().is_empty()) {
            return Err(anyhow!(
                "--profile is empty; pass a profile name from ~/.aws/config, or leave the flag out"
            ));
        }
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

/// The AWS CLI's global options that change how credentials are fetched,
/// checked; the ones that only shape the AWS CLI's own output are accepted
/// and have no effect, as on the AWS CLI's token.
pub fn chain_settings(global: &GlobalArgs) -> Result<ChainSettings> {
    if global.no_verify_ssl {
        return Err(anyhow!(
            "--no-verify-ssl is refused: without verification anyone in the middle could hand us credentials; \
             trust a TLS-inspecting proxy's CA with --ca-bundle FILE or AWS_CA_BUNDLE instead"
        ));
    }
    if global.no_sign_request {
        return Err(anyhow!(
            "--no-sign-request is refused: a token is a signature made with AWS credentials; leave the flag out"
        ));
    }
    if let Some(url) = &global.endpoint_url {
        let url = utf8("--endpoint-url", url)?;
        if url::Url::parse(&url).map_or(true, |u| u.host_str().is_none()) {
            return Err(anyhow!(
                "--endpoint-url {url:?} is not a URL; pass one like https://rds.us-east-1.amazonaws.com (it does not change the token)"
            ));
        }
    }
    let timeout = |flag: &str, value: &Option<OsString>| -> Result<Option<Duration>> {
        value
            .as_deref()
            .map(|v| {
                let v = utf8(flag, v)?;
                v.parse::<u32>().map(|s| Duration::from_secs(s.into())).map_err(|_| {
                    anyhow!("{flag} {v:?} is not a number of seconds; pass a whole number, 0 to wait for ever")
                })
            })
            .transpose()
    };
    let ca_bundle = match &global.ca_bundle {
        Some(path) if path.is_empty() => {
            return Err(anyhow!(
                "--ca-bundle is empty; pass a PEM file of CA certificates, or leave the flag out"
            ))
        }
        path => path.as_ref().map(PathBuf::from),
    };
    Ok(ChainSettings::new()
        .ca_bundle(ca_bundle)
        .connect_timeout(timeout(
            "--cli-connect-timeout",
            &global.cli_connect_timeout,
        )?)
        .read_timeout(timeout("--cli-read-timeout", &global.cli_read_timeout)?)
        .no_cache(global.no_cache))
}

#[cfg(unix)]
fn os_bytes(value: OsString) -> Vec<u8> {
    use std::os::unix::ffi::OsStringExt;
    value.into_vec()
}

#[cfg(not(unix))]
fn os_bytes(value: OsString) -> Vec<u8> {
    value.to_string_lossy().into_owned().into_bytes()
}

/// RFC 3339 (`2026-11-22T01:30:00Z`, `2026-11-22T02:30:00+01:00`) or the
/// token's own `20261122T013000Z`.
fn parse_time(value: &str) -> Result<SystemTime> {
    use time::format_description::well_known::Rfc3339;
    let amz = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::OffsetDateTime::parse(value, &Rfc3339)
        .or_else(|_| time::PrimitiveDateTime::parse(value, &amz).map(|t| t.assume_utc()))
        .map(SystemTime::from)
        .map_err(|_| anyhow!("--at {value:?} is not a time; pass one like 2026-11-22T01:30:00Z"))
}

fn required(flag: &str, value: Option<OsString>) -> Result<OsString> {
    value.ok_or_else(|| anyhow!("{flag} is required; see 'rds-auth-token --help'"))
}

fn check_env_var_name(name: &OsStr) -> Result<()> {
    let ok = name.to_str().is_some_and(|n| {
        let mut bytes = n.bytes();
        bytes
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
    });
    if ok {
        Ok(())
    } else {
        Err(anyhow!(
            "--env-var {:?} is not an environment variable name; use letters, digits and '_', not starting with a digit",
            name
        ))
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

    fn inspect(args: &[&str]) -> Result<InspectOptions> {
        let cli = Cli::try_parse_from(["rds-auth-token", "inspect"].iter().chain(args)).unwrap();
        match Request::from_cli(cli)? {
            Request::Inspect(options) => Ok(options),
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
        let err = |args: &[&str]| inspect(args).unwrap_err().to_string();
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
            inspect(&["--at", "yesterday\n"]).unwrap_err().to_string(),
            "--at \"yesterday\\n\" is not a time; pass one like 2026-11-22T01:30:00Z"
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
            let err = via(value).unwrap_err().to_string();
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
        let err = options(&["--ssl-ca", "/"]).unwrap_err().to_string();
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
        cli.token.username = Some(OsString::from_vec(vec![b'a', 0xff]));
        let err = Options::from_cli(cli).unwrap_err().to_string();
        assert_eq!(err, "--username is not valid UTF-8; pass it as UTF-8 text");
    }
}
