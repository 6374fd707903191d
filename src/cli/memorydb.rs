//! `rds-auth-token memorydb`: a MemoryDB (Valkey or Redis OSS) IAM
//! token, printed or handed to redis-cli or valkey-cli (`memorydb exec`).

use std::ffi::OsString;

use clap::{Args, Subcommand};
use rds_auth_token::credentials::ChainSettings;
use rds_auth_token::token::MemoryDbTokenConfig;

use crate::cli::args::{CacheConnectArgs, CacheUserArgs, SigningArgs};
use crate::cli::cache_kinds::{self, CacheExec, CacheFormat, CacheKind, CacheToken};
use crate::cli::exit_codes::ExitCode;
use crate::cli::failure::Failure;
use crate::cli::issue::{generate, Made};
use rds_auth_token::issuer::HostRegion;

/// Make a MemoryDB (Valkey or Redis OSS) IAM authentication token.
///
/// The token is a SigV4-presigned `NAME/?Action=connect&User=USER` for the
/// service memorydb, made as botocore's
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
  # A token for a cluster's IAM-enabled user
  rds-auth-token memorydb --cluster-name my-cluster --user-id iam-user-01 \\
      --region us-east-1

  # As JSON, with its expiry
  rds-auth-token memorydb --cluster-name my-cluster --user-id iam-user-01 \\
      --region us-east-1 --format json")]
pub struct MemoryDbArgs {
    #[command(flatten)]
    pub token: MemoryDbTokenArgs,

    /// How to print the token.
    #[arg(long, value_enum, default_value_t = CacheFormat::Token)]
    pub format: CacheFormat,

    #[command(subcommand)]
    pub command: Option<MemoryDbCommand>,
}

/// What a MemoryDB token is made for.
#[derive(Debug, Args)]
pub struct MemoryDbTokenArgs {
    /// The cluster name (1 to 40 letters, digits and hyphens; AWS keeps it
    /// in lower case, and so does the token).
    #[arg(long, value_name = "NAME", required = true)]
    pub cluster_name: Option<OsString>,

    #[command(flatten)]
    pub user: CacheUserArgs,

    /// Refused: MemoryDB has no serverless form (that is ElastiCache's).
    #[arg(long, hide = true)]
    pub serverless: bool,

    #[command(flatten)]
    pub signing: SigningArgs,
}

#[derive(Debug, Subcommand)]
pub enum MemoryDbCommand {
    /// Make a fresh MemoryDB token and run redis-cli or valkey-cli with it.
    ///
    /// redis-cli and valkey-cli get -h and -p from --endpoint, --tls,
    /// --cacert (the Amazon Trust Services roots, or --ssl-ca) and --user
    /// USER_ID ahead of your own arguments, and the token in REDISCLI_AUTH:
    /// never in their arguments, where every user of the machine could read
    /// it. Any other program gets REDISCLI_AUTH alone. On Unix the client
    /// replaces this process.
    Exec(MemoryDbExecArgs),
}

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  # redis-cli in cluster mode, over TLS
  rds-auth-token memorydb exec --cluster-name my-cluster --user-id iam-user-01 \\
      --region us-east-1 \\
      --endpoint clustercfg.my-cluster.abc123.memorydb.us-east-1.amazonaws.com \\
      -- redis-cli -c PING

  # Through a tunnel listening on 127.0.0.1:16379
  rds-auth-token memorydb exec --cluster-name my-cluster --user-id iam-user-01 \\
      --region us-east-1 --endpoint 127.0.0.1:16379 -- redis-cli -c PING")]
pub struct MemoryDbExecArgs {
    #[command(flatten)]
    pub token: MemoryDbTokenArgs,

    #[command(flatten)]
    pub connect: CacheConnectArgs,

    /// The client to run and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "CLIENT")]
    pub client: Vec<OsString>,
}

/// A MemoryDB token to make, checked.
struct MemoryDbOptions {
    token: CacheToken,
}

impl CacheKind for MemoryDbOptions {
    type Args = MemoryDbTokenArgs;
    const NAME_KEY: &'static str = "cluster_name";

    fn from_args(args: MemoryDbTokenArgs, chain: ChainSettings) -> anyhow::Result<MemoryDbOptions> {
        if args.serverless {
            return Err(anyhow::anyhow!(
                "--serverless is for ElastiCache serverless caches; MemoryDB has no serverless form, so leave the flag out"
            ));
        }
        Ok(MemoryDbOptions {
            token: CacheToken::from_args(
                rds_auth_token::Field::ClusterName,
                args.cluster_name,
                args.user,
                args.signing,
                "MemoryDB",
                chain,
            )?,
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
                MemoryDbTokenConfig::builder()
                    .cluster_name(&token.name)
                    .user_id(&token.user_id)
                    .region(region)
                    .expires_in_secs(expires_in)
                    .build()
            },
        )
        .await
    }
}

/// Runs `memorydb` or `memorydb exec`.
///
/// # Errors
/// A usage failure for a flag that cannot work, a runtime one when no
/// credentials are found, stdout fails or the client cannot run.
pub fn run(args: MemoryDbArgs, chain: ChainSettings) -> Result<ExitCode, Failure> {
    let exec = args.command.map(|MemoryDbCommand::Exec(exec)| CacheExec {
        token: exec.token,
        connect: exec.connect,
        client: exec.client,
    });
    cache_kinds::run::<MemoryDbOptions>(args.token, args.format, exec, chain)
}
