//! `rds-auth-token elasticache`: an ElastiCache (Valkey or Redis OSS) IAM
//! token, printed or handed to redis-cli or valkey-cli (`elasticache exec`).

use std::ffi::OsString;

use clap::{Args, Subcommand};
use rds_auth_token::credentials::ChainSettings;
use rds_auth_token::token::ElastiCacheTokenConfig;

use crate::cli::args::{CacheConnectArgs, CacheUserArgs, SigningArgs};
use crate::cli::cache_kinds::{self, CacheExec, CacheFormat, CacheKind, CacheToken};
use crate::cli::exit_codes::ExitCode;
use crate::cli::failure::Failure;
use crate::cli::issue::{generate, Made};
use rds_auth_token::issuer::HostRegion;

/// Make an ElastiCache (Valkey or Redis OSS) IAM authentication token.
///
/// The token is a SigV4-presigned `NAME/?Action=connect&User=USER` for the
/// service elasticache, made as botocore's
/// `RequestSigner.generate_presigned_url` makes it (AWS's samples and
/// redis-py's IAM credential provider do the same; no AWS CLI command
/// does). Send it as the password with the user id as the user name:
/// `AUTH USER_ID TOKEN`. Prints the bare token, a JSON object, or an
/// `export REDISCLI_AUTH=...` line (--format); there is no URI, since a
/// cache name is not an address.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
#[command(after_help = "\
Examples:
  # A token for a replication group's IAM-enabled user
  rds-auth-token elasticache --cache-name my-cache --user-id iam-user-01 \\
      --region us-east-1

  # For a serverless cache, as REDISCLI_AUTH in this shell
  eval \"$(rds-auth-token elasticache --cache-name my-serverless-cache \\
      --user-id iam-user-01 --region us-east-1 --serverless --format env)\"")]
pub struct ElastiCacheArgs {
    #[command(flatten)]
    pub token: ElastiCacheTokenArgs,

    /// How to print the token.
    #[arg(long, value_enum, default_value_t = CacheFormat::Token)]
    pub format: CacheFormat,

    #[command(subcommand)]
    pub command: Option<ElastiCacheCommand>,
}

/// What an ElastiCache token is made for.
#[derive(Debug, Args)]
pub struct ElastiCacheTokenArgs {
    /// The replication group or serverless cache name (1 to 40 letters,
    /// digits and hyphens; AWS keeps it in lower case, and so does the
    /// token).
    #[arg(long, value_name = "NAME", required = true)]
    pub cache_name: Option<OsString>,

    #[command(flatten)]
    pub user: CacheUserArgs,

    /// The cache is a serverless cache (adds ResourceType=ServerlessCache).
    #[arg(long)]
    pub serverless: bool,

    #[command(flatten)]
    pub signing: SigningArgs,
}

#[derive(Debug, Subcommand)]
pub enum ElastiCacheCommand {
    /// Make a fresh ElastiCache token and run redis-cli or valkey-cli with it.
    ///
    /// redis-cli and valkey-cli get -h and -p from --endpoint, --tls,
    /// --cacert (the Amazon Trust Services roots, or --ssl-ca) and --user
    /// USER_ID ahead of your own arguments, and the token in REDISCLI_AUTH:
    /// never in their arguments, where every user of the machine could read
    /// it. Any other program gets REDISCLI_AUTH alone. On Unix the client
    /// replaces this process.
    Exec(ElastiCacheExecArgs),
}

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  # A replication group, with redis-cli over TLS
  rds-auth-token elasticache exec --cache-name my-cache --user-id iam-user-01 \\
      --region us-east-1 \\
      --endpoint master.my-cache.abc123.use1.cache.amazonaws.com:6379 \\
      -- redis-cli PING

  # A serverless cache, with valkey-cli
  rds-auth-token elasticache exec --cache-name my-cache \\
      --user-id iam-user-01 --region us-east-1 --serverless \\
      --endpoint my-cache-abc123.serverless.use1.cache.amazonaws.com \\
      -- valkey-cli PING")]
pub struct ElastiCacheExecArgs {
    #[command(flatten)]
    pub token: ElastiCacheTokenArgs,

    #[command(flatten)]
    pub connect: CacheConnectArgs,

    /// The client to run and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "CLIENT")]
    pub client: Vec<OsString>,
}

/// An ElastiCache token to make, checked.
struct ElastiCacheOptions {
    token: CacheToken,
    serverless: bool,
}

impl CacheKind for ElastiCacheOptions {
    type Args = ElastiCacheTokenArgs;
    const NAME_KEY: &'static str = "cache_name";

    fn from_args(
        args: ElastiCacheTokenArgs,
        chain: ChainSettings,
    ) -> anyhow::Result<ElastiCacheOptions> {
        Ok(ElastiCacheOptions {
            token: CacheToken::from_args(
                rds_auth_token::Field::CacheName,
                args.cache_name,
                args.user,
                args.signing,
                "ElastiCache",
                chain,
            )?,
            serverless: args.serverless,
        })
    }

    fn token(&self) -> &CacheToken {
        &self.token
    }

    async fn generate(&self) -> Result<Made, Failure> {
        let token = &self.token;
        generate(
            &token.signing,
            HostRegion::Unnamed,
            token.expires_in,
            |region, expires_in| {
                ElastiCacheTokenConfig::builder()
                    .cache_name(&token.name)
                    .user_id(&token.user_id)
                    .region(region)
                    .serverless(self.serverless)
                    .expires_in_secs(expires_in)
                    .build()
            },
        )
        .await
    }
}

/// Runs `elasticache` or `elasticache exec`.
///
/// # Errors
/// A usage failure for a flag that cannot work, a runtime one when no
/// credentials are found, stdout fails or the client cannot run.
pub fn run(args: ElastiCacheArgs, chain: ChainSettings) -> Result<ExitCode, Failure> {
    let exec = args
        .command
        .map(|ElastiCacheCommand::Exec(exec)| CacheExec {
            token: exec.token,
            connect: exec.connect,
            client: exec.client,
        });
    cache_kinds::run::<ElastiCacheOptions>(args.token, args.format, exec, chain)
}
