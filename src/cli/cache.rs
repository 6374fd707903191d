//! `rds-auth-token cache clear`: remove the credential cache files this tool
//! wrote in the cache it shares with the AWS CLI, and nothing else.

use anyhow::{anyhow, Context};
use aws_types::os_shim_internal::Env;
use rds_auth_token::credentials::cache::{self, CredentialCache};

use clap::{Args, Subcommand};

use crate::cli::exit_codes::ExitCode;
use crate::cli::failure::Failure;
use crate::cli::stdout::write_stdout;

#[derive(Debug, Args)]
#[command(arg_required_else_help = false, subcommand_required = true)]
#[command(after_help = "\
Examples:
  # Remove the credentials this tool cached; the AWS CLI's own stay
  rds-auth-token cache clear

  # Leave the cache alone for one call
  rds-auth-token --hostname mydb.123456789012.us-east-1.rds.amazonaws.com \\
      --port 5432 --username app_user --no-cache")]
pub struct CacheArgs {
    #[command(subcommand)]
    pub action: CacheAction,
}

#[derive(Debug, Subcommand)]
pub enum CacheAction {
    /// Remove the cache files this tool wrote, and nothing else: files the
    /// AWS CLI wrote (or has since rewritten) stay.
    #[command(after_help = "\
Examples:
  # Remove the credentials this tool cached, e.g. after a role's policy changed
  rds-auth-token cache clear

  # Then see where a token's credentials come from
  rds-auth-token --hostname mydb.123456789012.us-east-1.rds.amazonaws.com \\
      --port 5432 --username app_user --debug")]
    Clear,
}

/// Runs `cache ACTION`.
///
/// # Errors
/// As the action's.
pub fn run(args: &CacheArgs) -> Result<ExitCode, Failure> {
    match args.action {
        CacheAction::Clear => clear(),
    }
}

/// Removes our files from `~/.aws/cli/cache` and says how many.
///
/// # Errors
/// A runtime [`Failure`] when HOME is not set or the folder cannot be read.
fn clear() -> Result<ExitCode, Failure> {
    let dir = cache::cache_dir(&Env::real()).ok_or_else(|| {
        Failure::runtime(anyhow!(
            "HOME is not set, so there is no ~/.aws/cli/cache to clear; set HOME"
        ))
    })?;
    let cleared = CredentialCache::at(&dir)
        .clear()
        .with_context(|| format!("could not clear the credential cache {}", dir.display()))
        .map_err(Failure::runtime)?;
    let files = |n: usize| if n == 1 { "file" } else { "files" };
    write_stdout(
        &format!(
            "removed {} {} from {}; left {} other {} alone\n",
            cleared.removed,
            files(cleared.removed),
            dir.display(),
            cleared.kept,
            files(cleared.kept),
        ),
        "the result",
    )?;
    Ok(ExitCode::Success)
}
