//! `rds-auth-token ca-bundle`: print the CA certificates the binary carries, or where it keeps them.

use clap::Args;
use rds_auth_token::tls::{self, Bundle};

use crate::cli::exit_codes::ExitCode;
use crate::cli::failure::Failure;
use crate::cli::stdout::write_stdout;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  # The Amazon RDS CAs, as PEM
  rds-auth-token ca-bundle > rds-ca-bundle.pem

  # The path of a private copy, for a client's sslrootcert
  psql \"host=mydb.123456789012.us-east-1.rds.amazonaws.com \\
      user=app_user sslmode=verify-full \\
      sslrootcert=$(rds-auth-token ca-bundle --path)\"

  # The Amazon roots, for an RDS Proxy endpoint
  rds-auth-token ca-bundle --rds-proxy > amazon-roots.pem")]
pub struct CaBundleArgs {
    /// The Amazon Trust Services roots that RDS Proxy endpoints' certificates
    /// chain to, instead of the Amazon RDS CAs.
    #[arg(long)]
    pub rds_proxy: bool,

    /// Write the bundle to its private file in the cache folder
    /// (XDG_CACHE_HOME or ~/.cache, then rds-auth-token/) and print the
    /// file's path instead of the certificates.
    #[arg(long)]
    pub path: bool,
}

/// Prints the bundle, or its file's path.
///
/// # Errors
/// A runtime failure when the file cannot be written or stdout fails.
pub fn run(args: &CaBundleArgs) -> Result<ExitCode, Failure> {
    let bundle = if args.rds_proxy {
        Bundle::AmazonRoots
    } else {
        Bundle::Rds
    };
    if args.path {
        let folder = tls::cache_folder(|k| std::env::var_os(k)).map_err(Failure::runtime)?;
        let path = tls::install(bundle, &folder).map_err(Failure::runtime)?;
        write_stdout(&format!("{}\n", path.display()), "the path")?;
    } else {
        write_stdout(bundle.pem(), "the certificates")?;
    }
    Ok(ExitCode::Success)
}
