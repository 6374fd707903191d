//! Making tokens for the commands: an [`Issuer`] over the signing flags,
//! whose warnings and `--debug` lines go to stderr, and its errors mapped
//! to exit statuses.

use std::fmt;
use std::sync::Arc;

use rds_auth_token::issuer::{HostRegion, IssueError, Issued, Issuer, Observer, Warning};
use rds_auth_token::{rfc3339, AuthTokenConfig, Presignable};

use crate::cli::failure::Failure;
use crate::cli::options::{Signing, TokenOptions};

/// A token and what it was made with.
pub type Made = Issued;

/// Says what an issuer has to say on stderr: warnings always, the rest with
/// `--debug`.
#[derive(Debug, Clone, Copy)]
pub struct Stderr {
    pub debug: bool,
}

impl Observer for Stderr {
    fn debug(&self, line: fmt::Arguments<'_>) {
        if self.debug {
            say!("rds-auth-token: debug: {line}");
        }
    }

    fn warning(&self, warning: &Warning) {
        match warning {
            Warning::EndpointInAnotherRegion {
                region,
                source,
                endpoint_region,
            } => say!(
                "rds-auth-token: warning: signing for {region} (from {source}), but the endpoint is in {endpoint_region}; \
                 the database will refuse this token, pass --region {endpoint_region}"
            ),
            Warning::Shortened {
                credentials_expire,
                expires_in,
                asked,
            } => say!(
                "rds-auth-token: warning: the credentials expire at {}, so the token is valid for {expires_in} seconds, not {asked}",
                rfc3339(*credentials_expire),
            ),
            other => say!("rds-auth-token: warning: {other:?}"),
        }
    }
}

impl From<IssueError> for Failure {
    fn from(err: IssueError) -> Failure {
        if err.is_usage() {
            Failure::usage(err)
        } else {
            Failure::runtime(err)
        }
    }
}

/// An issuer for the signing flags, its profiles read.
///
/// # Errors
/// A runtime failure when the AWS config or credentials files cannot be
/// read, or the profile asked for is in neither.
pub async fn issuer(signing: &Signing) -> Result<Issuer, Failure> {
    let observer = Arc::new(Stderr {
        debug: signing.debug,
    });
    Ok(Issuer::new(signing.settings(), observer).await?)
}

/// Makes one token: the region for `host`, the credentials, the `asked`
/// validity cut to theirs, and what `build` makes of the region and that
/// validity, signed.
///
/// # Errors
/// A usage failure when no region can be found or `build` refuses its
/// inputs; a runtime failure when no credentials can be found, or they are
/// about to expire.
pub async fn generate<K: Presignable>(
    signing: &Signing,
    host: HostRegion<'_>,
    asked: u64,
    build: impl Fn(&str, u64) -> Result<K, rds_auth_token::Error>,
) -> Result<Made, Failure> {
    Ok(issuer(signing).await?.issue(host, asked, build).await?)
}

/// Runs `future` on a single-threaded runtime, dropped before returning.
///
/// # Errors
/// A runtime failure when the runtime cannot start, and `future`'s.
pub fn block_on<T>(
    future: impl std::future::Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Failure::runtime)?;
    runtime.block_on(future)
}

/// Makes an RDS or Aurora token for `token`.
///
/// # Errors
/// As [`generate`].
pub async fn rds_token(token: &TokenOptions) -> Result<Made, Failure> {
    generate(
        &token.signing,
        HostRegion::Rds(&token.hostname),
        token.expires_in.as_secs(),
        rds_config(token),
    )
    .await
}

/// What an RDS or Aurora token for `token` is made from, given the region
/// and validity: the `build` of [`generate`].
pub fn rds_config(
    token: &TokenOptions,
) -> impl Fn(&str, u64) -> Result<AuthTokenConfig, rds_auth_token::Error> + '_ {
    rds_auth_token::issuer::rds(&token.hostname, token.port, token.username.as_str())
}
