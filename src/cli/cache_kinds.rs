//! What the ElastiCache and MemoryDB commands share: the checked user and
//! expiry, the formats they print, and `exec` with a Valkey or Redis OSS client.

use std::ffi::OsString;

use anyhow::anyhow;
use clap::ValueEnum;
use rds_auth_token::credentials::ChainSettings;
use rds_auth_token::tls::Bundle;
use rds_auth_token::token::{check_name, check_user_id};
use rds_auth_token::Field;
use std::time::SystemTime;

use crate::cli::args::{CacheConnectArgs, CacheUserArgs, ConnectArgs, SigningArgs};
use crate::cli::exec::start;
use crate::cli::exit_codes::ExitCode;
use crate::cli::failure::Failure;
use crate::cli::issue::{block_on, Made};
use crate::cli::options::Signing;
use crate::cli::options::{self, required, utf8, ConnectOptions, Endpoint};
use crate::cli::stdout::write_stdout;
use rds_auth_token::format::{self, Printed};
use rds_auth_token::launch::{plan_cache_client, CacheTarget};

/// The formats `elasticache` and `memorydb` print. There is no URI: a
/// cache name is not an address (`exec --endpoint` says where to connect).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CacheFormat {
    /// The bare token and a newline.
    Token,
    /// One JSON object: token, the name, user_id, region, expiration (RFC
    /// 3339 UTC), seconds left, and credential_expiration (or null).
    Json,
    /// A shell `export REDISCLI_AUTH=...` line, which redis-cli and
    /// valkey-cli read the password from.
    Env,
}

/// A cache or cluster token to make, checked.
#[derive(Debug)]
pub struct CacheToken {
    /// The cache or cluster name as given (the token has it in lower case).
    pub name: String,
    pub user_id: String,
    pub expires_in: u64,
    pub signing: Signing,
}

impl CacheToken {
    /// Checks the name (`field` is the cache or the cluster name), the user,
    /// the expiry and the signing flags.
    ///
    /// # Errors
    /// A one-line message that names the flag and the fix.
    pub fn from_args(
        field: Field,
        name: Option<OsString>,
        user: CacheUserArgs,
        signing: SigningArgs,
        service: &str,
        chain: ChainSettings,
    ) -> anyhow::Result<CacheToken> {
        let flag = crate::cli::worded::flag(field);
        let name = utf8(flag, &required(flag, name)?)?;
        check_name(field, &name)?;
        let user_id = utf8("--user-id", &required("--user-id", user.user_id)?)?;
        check_user_id(&user_id)?;
        let signing = Signing::from_args(signing, chain)?;
        let expires_in = options::expires_in(&user.expires_in, 900, service)?;
        Ok(CacheToken {
            name,
            user_id,
            expires_in,
            signing,
        })
    }
}

/// Prints `made` in `format`; `name_field` is `cache_name` or `cluster_name`.
///
/// # Errors
/// A runtime failure when stdout fails.
pub fn print(
    format: CacheFormat,
    made: &Made,
    token: &CacheToken,
    name_field: &str,
) -> Result<ExitCode, Failure> {
    let printed = Printed {
        token: made.token.as_str(),
        region: &made.region,
        expires_at: made.expires_at,
        credential_expiration: made.credential_expiration,
    };
    let name = token.name.to_ascii_lowercase();
    let text = match format {
        CacheFormat::Token => format::bare(&printed),
        CacheFormat::Json => format::json(
            &printed,
            &[(name_field, &name), ("user_id", &token.user_id)],
            SystemTime::now(),
        ),
        CacheFormat::Env => format::exports(&[("REDISCLI_AUTH", printed.token.to_owned())]),
    };
    write_stdout(&text, "the token").map(|()| ExitCode::Success)
}

/// `--endpoint` and `--ssl-ca` of a cache `exec`, checked.
pub struct CacheConnect {
    pub endpoint: Endpoint,
    pub connect: ConnectOptions,
}

impl CacheConnect {
    /// Checks `--endpoint` and `--ssl-ca`.
    ///
    /// # Errors
    /// A one-line message that names the flag and the fix.
    pub fn from_args(args: CacheConnectArgs) -> anyhow::Result<CacheConnect> {
        let endpoint = args.endpoint.ok_or_else(|| {
            anyhow!("--endpoint is required; pass the cache's endpoint as HOST:PORT")
        })?;
        Ok(CacheConnect {
            endpoint: options::endpoint(&endpoint)?,
            connect: ConnectOptions::from_args(ConnectArgs {
                ssl_ca: args.ssl_ca,
                via: None,
            })?,
        })
    }
}

/// Checks that there is a client to run.
///
/// # Errors
/// A one-line message saying how to name one.
pub fn check_client(client: &[OsString]) -> anyhow::Result<()> {
    if client.is_empty() {
        return Err(anyhow!(
            "exec needs a client to run after '--', e.g. -- redis-cli PING"
        ));
    }
    Ok(())
}

/// Plans the client's launch, makes the token with `make`, and runs the
/// client with the token in `REDISCLI_AUTH`.
///
/// # Errors
/// A runtime failure when the CA file cannot be written, no credentials
/// are found or the client cannot run.
pub fn exec<F>(
    client: &[OsString],
    token: &CacheToken,
    connect: &CacheConnect,
    make: impl FnOnce() -> F,
) -> Result<ExitCode, Failure>
where
    F: std::future::Future<Output = Result<Made, Failure>>,
{
    let ca = connect.connect.ca_file_of(Bundle::AmazonRoots)?;
    let launch = plan_cache_client(
        client,
        &CacheTarget {
            host: &connect.endpoint.host,
            port: connect.endpoint.port,
            user: &token.user_id,
            ca_file: &ca,
        },
    );
    let made = block_on(make())?;
    Err(start(launch, made.token.as_str(), token.signing.debug))
}

/// One cache kind's checked token flags: how the ElastiCache and MemoryDB
/// commands differ, so that [`run`] serves both.
pub trait CacheKind: Sized {
    /// The kind's token flags.
    type Args;
    /// The JSON key of the name: `cache_name` or `cluster_name`.
    const NAME_KEY: &'static str;

    /// Checks the flags.
    ///
    /// # Errors
    /// A one-line message naming the flag and the fix.
    fn from_args(args: Self::Args, chain: ChainSettings) -> anyhow::Result<Self>;

    /// The checked name, user and signing settings.
    fn token(&self) -> &CacheToken;

    /// Finds the region and credentials and makes the token.
    fn generate(&self) -> impl std::future::Future<Output = Result<Made, Failure>>;
}

/// What `exec` was given: the kind's token flags, where to connect, and the client.
pub struct CacheExec<A> {
    pub token: A,
    pub connect: CacheConnectArgs,
    pub client: Vec<OsString>,
}

/// Runs a cache kind's command: `exec` when given one, else prints the
/// token made from `token` in `format`.
///
/// # Errors
/// A usage failure for a flag that cannot work, a runtime one when no
/// credentials are found, stdout fails or the client cannot run.
pub fn run<K: CacheKind>(
    token: K::Args,
    format: CacheFormat,
    exec_args: Option<CacheExec<K::Args>>,
    chain: ChainSettings,
) -> Result<ExitCode, Failure> {
    match exec_args {
        Some(CacheExec {
            token,
            connect,
            client,
        }) => {
            let checked = || -> anyhow::Result<_> {
                check_client(&client)?;
                Ok((
                    K::from_args(token, chain)?,
                    CacheConnect::from_args(connect)?,
                ))
            };
            let (options, connect) = checked().map_err(Failure::usage)?;
            exec(&client, options.token(), &connect, || options.generate())
        }
        None => {
            let options = K::from_args(token, chain).map_err(Failure::usage)?;
            let made = block_on(options.generate())?;
            print(format, &made, options.token(), K::NAME_KEY)
        }
    }
}
