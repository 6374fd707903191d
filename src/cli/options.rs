//! Parsed flags turned into checked values, once; nothing downstream looks
//! at raw strings. Each flag several commands share is checked here, by one
//! function, whichever command it came with.

use std::ffi::{OsStr, OsString};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use anyhow::{anyhow, Result};
use rds_auth_token::credentials::ChainSettings;
use rds_auth_token::endpoint::validate_hostname;
use rds_auth_token::tls::{self, Bundle};
use rds_auth_token::{region, ExpiresIn, Username};

use crate::cli::args::{ConnectArgs, GlobalArgs, SigningArgs, TokenArgs};
use crate::cli::failure::Failure;
use rds_auth_token::issuer::IssuerSettings;

/// The flags every token kind shares, checked: where the region and
/// credentials come from, and `--debug`.
#[derive(Debug)]
pub struct Signing {
    /// `--region`.
    pub region: Option<String>,
    /// `--profile`.
    pub profile: Option<String>,
    /// `--debug`.
    pub debug: bool,
    /// How credentials are fetched: the AWS CLI's global options.
    pub chain: ChainSettings,
}

/// `--ssl-ca` and `--via`, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectOptions {
    /// The CA file to trust instead of the bundle, as an absolute path.
    pub ssl_ca: Option<PathBuf>,
    /// The tunnel to connect through.
    pub via: Option<Via>,
}

pub use rds_auth_token::endpoint::Via;

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

impl ConnectOptions {
    /// The CA file clients verify the server with: `--ssl-ca`, else the
    /// bundle for `hostname` (the Amazon roots for RDS Proxy), written to its
    /// private file in the cache folder.
    ///
    /// # Errors
    /// A runtime failure when the bundle's file cannot be written.
    pub fn ca_file(&self, hostname: &str) -> Result<PathBuf, Failure> {
        self.ca_file_of(Bundle::for_hostname(hostname))
    }

    /// `--ssl-ca`, else `bundle`'s private file in the cache folder.
    ///
    /// # Errors
    /// A runtime failure when the bundle's file cannot be written.
    pub fn ca_file_of(&self, bundle: Bundle) -> Result<PathBuf, Failure> {
        if let Some(path) = &self.ssl_ca {
            return Ok(path.clone());
        }
        let folder = tls::cache_folder(|k| std::env::var_os(k)).map_err(Failure::runtime)?;
        tls::install(bundle, &folder).map_err(Failure::runtime)
    }
}

/// `IP:PORT` or `[IPv6]:PORT`; `localhost` stands for 127.0.0.1.
pub fn parse_via(value: &str) -> Result<Via> {
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

/// What an RDS token is made for, checked.
#[derive(Debug)]
pub struct TokenOptions {
    pub hostname: String,
    pub port: u16,
    pub username: Username,
    pub expires_in: ExpiresIn,
    /// `--region`, `--profile`, `--debug` and the AWS CLI's global options.
    pub signing: Signing,
}

impl TokenOptions {
    /// Checks every flag value.
    ///
    /// # Errors
    /// A one-line message that names the flag and the fix.
    pub fn from_args(args: TokenArgs, chain: ChainSettings) -> Result<TokenOptions> {
        let hostname = hostname(required("--hostname", args.hostname)?.as_os_str())?;
        let port = port(&required("--port", args.port)?)?;
        let username = username(&required("--username", args.username)?)?;
        let signing = Signing::from_args(args.signing, chain)?;
        let expires_in = parse_expires_in(&utf8("--expires-in", &args.expires_in)?)?;
        Ok(TokenOptions {
            hostname,
            port,
            username,
            expires_in,
            signing,
        })
    }
}

/// A cache client's `--endpoint`: where it connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// A DNS name or an IP address (without brackets).
    pub host: String,
    pub port: u16,
}

/// The port Valkey and Redis OSS listen on unless told otherwise.
pub const CACHE_PORT: u16 = 6379;

/// `--endpoint HOST[:PORT]` (`[IPv6]:PORT` for an IPv6 address).
///
/// # Errors
/// A one-line message that names the flag and the fix.
pub fn endpoint(value: &OsStr) -> Result<Endpoint> {
    let value = utf8("--endpoint", value)?;
    let fail = |why: &str| {
        anyhow!(
            "--endpoint {value:?} {why}; pass HOST or HOST:PORT, e.g. master.my-cache.abc123.use1.cache.amazonaws.com:6379"
        )
    };
    let (host, port) = if let Some(rest) = value.strip_prefix('[') {
        let (ip, port) = rest
            .split_once(']')
            .ok_or_else(|| fail("has no closing ']'"))?;
        match port {
            "" => (ip, None),
            port => (
                ip,
                Some(
                    port.strip_prefix(':')
                        .ok_or_else(|| fail("has text after ']' that is not ':PORT'"))?,
                ),
            ),
        }
    } else if value.matches(':').count() > 1 {
        return Err(fail(
            "has more than one ':' (write an IPv6 address as [ADDRESS]:PORT)",
        ));
    } else {
        match value.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (value.as_str(), None),
        }
    };
    let port = match port {
        None => CACHE_PORT,
        Some(port) => match port.parse::<u16>() {
            Ok(port) if port > 0 => port,
            _ => return Err(fail("has no port from 1 to 65535")),
        },
    };
    let ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'));
    if !ok || (host.contains(':') && host.parse::<IpAddr>().is_err()) {
        return Err(fail("is not a host name or IP address"));
    }
    Ok(Endpoint {
        host: host.to_owned(),
        port,
    })
}

/// `--expires-in` for a kind whose tokens live at most `max` seconds.
///
/// # Errors
/// A one-line message that names the flag and the range.
pub fn expires_in(value: &OsStr, max: u64, service: &str) -> Result<u64> {
    let value = utf8("--expires-in", value)?;
    match value.parse::<u64>() {
        Ok(0) => Err(anyhow!(
            "--expires-in 0 makes a token that has already expired; pass 1 to {max} seconds"
        )),
        Ok(secs) if secs > max => Err(anyhow!(
            "--expires-in {secs} is above {max} seconds, the longest {service} accepts; pass at most {max}"
        )),
        Ok(secs) => Ok(secs),
        Err(_) => Err(anyhow!(
            "--expires-in {value:?} is not a number of seconds; pass 1 to {max}"
        )),
    }
}

impl Signing {
    /// Where an issuer finds the region and the credentials.
    pub fn settings(&self) -> IssuerSettings {
        IssuerSettings {
            region: self.region.clone(),
            profile: self.profile.clone(),
            chain: self.chain.clone(),
        }
    }

    /// Checks `--region`, `--profile` and `--debug`, as every command that
    /// signs or calls AWS takes them.
    ///
    /// # Errors
    /// A one-line message that names the flag and the fix.
    pub fn from_args(args: SigningArgs, chain: ChainSettings) -> Result<Signing> {
        Ok(Signing {
            region: args.region.as_deref().map(region).transpose()?,
            profile: args.profile.as_deref().map(profile).transpose()?,
            debug: args.debug,
            chain,
        })
    }
}

/// `--hostname`: UTF-8, a DNS name without scheme, port or path.
pub fn hostname(value: &OsStr) -> Result<String> {
    let hostname = utf8("--hostname", value)?;
    validate_hostname(&hostname)?;
    Ok(hostname)
}

/// `--port`: 1 to 65535.
pub fn port(value: &OsStr) -> Result<u16> {
    parse_port(&utf8("--port", value)?)
}

/// `--username`: UTF-8, not empty, no control characters.
pub fn username(value: &OsStr) -> Result<Username> {
    Ok(Username::new(utf8("--username", value)?)?)
}

/// `--region`: a region name.
pub fn region(value: &OsStr) -> Result<String> {
    let region = utf8("--region", value)?;
    region::validate(&region)?;
    Ok(region)
}

/// `--profile`: not empty.
pub fn profile(value: &OsStr) -> Result<String> {
    let profile = utf8("--profile", value)?;
    if profile.trim().is_empty() {
        return Err(anyhow!(
            "--profile is empty; pass a profile name from ~/.aws/config, or leave the flag out"
        ));
    }
    Ok(profile)
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
    let endpoint_url = match &global.endpoint_url {
        None => None,
        Some(url) => {
            let url = utf8("--endpoint-url", url)?;
            if url::Url::parse(&url).map_or(true, |u| u.host_str().is_none()) {
                return Err(anyhow!(
                    "--endpoint-url {url:?} is not a URL; pass one like https://rds.us-east-1.amazonaws.com (it does not change the token)"
                ));
            }
            Some(url)
        }
    };
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
        .no_cache(global.no_cache)
        .endpoint_url(endpoint_url))
}

#[cfg(unix)]
pub fn os_bytes(value: OsString) -> Vec<u8> {
    use std::os::unix::ffi::OsStringExt;
    value.into_vec()
}

#[cfg(not(unix))]
pub fn os_bytes(value: OsString) -> Vec<u8> {
    value.to_string_lossy().into_owned().into_bytes()
}

/// RFC 3339 (`2026-11-22T01:30:00Z`, `2026-11-22T02:30:00+01:00`) or the
/// token's own `20261122T013000Z`.
pub fn parse_time(value: &str) -> Result<SystemTime> {
    rds_auth_token::times::parse_rfc3339_or_amz(value)
        .ok_or_else(|| anyhow!("--at {value:?} is not a time; pass one like 2026-11-22T01:30:00Z"))
}

pub fn required(flag: &str, value: Option<OsString>) -> Result<OsString> {
    value.ok_or_else(|| anyhow!("{flag} is required; see 'rds-auth-token --help'"))
}

pub fn check_env_var_name(name: &OsStr) -> Result<()> {
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

pub fn utf8(flag: &str, value: &OsStr) -> Result<String> {
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

pub fn parse_expires_in(value: &str) -> Result<ExpiresIn> {
    let secs = value
        .parse::<u64>()
        .map_err(|_| anyhow!("--expires-in {value:?} is not a number of seconds; pass 1 to 900"))?;
    Ok(ExpiresIn::from_secs(secs)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_endpoint_as_host_and_port_with_6379_by_default() {
        let endpoint = |v: &str| endpoint(OsStr::new(v)).map_err(|e| e.to_string());
        let at = |host: &str, port| Endpoint {
            host: host.to_owned(),
            port,
        };
        assert_eq!(
            endpoint("cache.example.com"),
            Ok(at("cache.example.com", 6379))
        );
        assert_eq!(endpoint("127.0.0.1:16379"), Ok(at("127.0.0.1", 16379)));
        assert_eq!(endpoint("[::1]:6380"), Ok(at("::1", 6380)));
        assert_eq!(endpoint("[::1]"), Ok(at("::1", 6379)));
        for bad in [
            "", ":6379", "h:", "h:x", "::1:6379", "h/x:1", "[::1", "[::1]x",
        ] {
            assert!(
                endpoint(bad).unwrap_err().starts_with("--endpoint "),
                "{bad}"
            );
        }
    }
}
