//! Making a token of any kind: the signing region, the credentials, a
//! lifetime no longer than theirs, and the signature. Every command that
//! makes a token (the RDS one, `exec`, `refresh`, `dsql`, `elasticache`,
//! `memorydb`) comes through [`generate`].

use std::time::{Duration, SystemTime};

use rds_auth_token::credentials::{self, ChainSettings, Profiles};
use rds_auth_token::region::{self, RegionError};
use rds_auth_token::token::dsql_region_from_hostname;
use rds_auth_token::{
    rfc3339, AuthToken, AuthTokenConfig, Presignable, TokenLifetime, TokenSigner,
    MIN_CREDENTIAL_LIFETIME,
};

use crate::cli::options::TokenOptions;
use crate::failure::Failure;

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

impl Signing {
    /// Writes `message` to stderr with `--debug`.
    pub fn debug(&self, message: std::fmt::Arguments) {
        if self.debug {
            say!("rds-auth-token: debug: {message}");
        }
    }
}

/// What a kind's endpoint name says about the region.
#[derive(Debug, Clone, Copy)]
pub enum HostRegion<'a> {
    /// An RDS or Aurora endpoint name (`--hostname`).
    Rds(&'a str),
    /// An Aurora DSQL endpoint name, `<id>.dsql.<region>.on.aws`.
    Dsql(&'a str),
    /// A cache or cluster name, which names no region.
    Unnamed,
}

/// A token and what it was made with.
pub struct Made {
    pub token: AuthToken,
    pub region: String,
    pub expires_at: SystemTime,
    /// When the credentials that signed it expire, if they do.
    pub credential_expiration: Option<SystemTime>,
}

/// Finds the region and credentials, cuts the `asked` validity to the
/// credentials' own, and signs what `build` makes of the region and that
/// validity.
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
    let profiles = Profiles::load(signing.profile.as_deref())
        .await
        .map_err(Failure::runtime)?;
    let (region, source) = resolve_region(signing, &profiles, host)?;
    signing.debug(format_args!("region {region} (from {source})"));
    let ready = credentials_for(signing, &profiles, &region, asked).await?;
    if let Some(asked) = ready.shortened_from {
        say!(
            "rds-auth-token: warning: the credentials expire at {}, so the token is valid for {} seconds, not {asked}",
            ready
                .resolved
                .credentials()
                .expiry()
                .map_or_else(String::new, rfc3339),
            ready.expires_in,
        );
    }
    sign(signing, &region, &ready, build)
}

/// Credentials ready to sign with, and the validity they allow.
pub struct Ready {
    pub resolved: credentials::ResolvedCredentials,
    /// When to sign: just after the credentials were found.
    pub signed_at: SystemTime,
    /// The validity to sign for, in seconds: the one asked for, or less
    /// when the credentials expire sooner.
    pub expires_in: u64,
    /// The validity asked for, when the credentials' expiry cut it short.
    pub shortened_from: Option<u64>,
}

/// Finds the credentials in `region` (for the STS and IAM Identity Center
/// calls the chain may make), fetching them again past any cache when they
/// are too close to expiry to sign with, and cuts the `asked` validity to
/// theirs.
///
/// # Errors
/// A runtime failure when no credentials can be found, or they are about
/// to expire.
pub async fn credentials_for(
    signing: &Signing,
    profiles: &Profiles,
    region: &str,
    asked: u64,
) -> Result<Ready, Failure> {
    let mut resolved = credentials::resolve(profiles, region, SystemTime::now(), &signing.chain)
        .await
        .map_err(Failure::runtime)?;
    let mut signed_at = SystemTime::now();
    let lifetime_with = |resolved: &credentials::ResolvedCredentials, signed_at| {
        TokenLifetime::new(asked, resolved.credentials().expiry(), signed_at)
    };
    let mut lifetime = lifetime_with(&resolved, signed_at);
    if matches!(lifetime, TokenLifetime::CredentialsExpiring { .. }) {
        // Too close to expiry to sign with: fetch them again, past any cache.
        signing.debug(format_args!(
            "credentials from {} expire within {} seconds; fetching them again",
            resolved.source(),
            MIN_CREDENTIAL_LIFETIME.as_secs()
        ));
        let fresh = signing.chain.clone().no_cache(true);
        resolved = credentials::resolve(profiles, region, SystemTime::now(), &fresh)
            .await
            .map_err(Failure::runtime)?;
        signed_at = SystemTime::now();
        lifetime = lifetime_with(&resolved, signed_at);
    }
    let creds = resolved.credentials();
    signing.debug(format_args!(
        "credentials from {} (profile '{}' from {}): access key {}, session token {}, expire {}{}",
        resolved.source(),
        profiles.selected(),
        profiles.origin(),
        creds.access_key_id(),
        if creds.session_token().is_some() {
            "present"
        } else {
            "absent"
        },
        creds.expiry().map_or_else(|| "never".to_owned(), rfc3339),
        if resolved.from_cache() {
            ", from the cache"
        } else {
            ""
        },
    ));
    if let Some(note) = resolved.cache_note() {
        signing.debug(format_args!("{note}"));
    }
    let (expires_in, shortened_from) = match lifetime {
        TokenLifetime::AsAsked(expires_in) => (expires_in, None),
        TokenLifetime::Shortened { expires_in, asked } => (expires_in, Some(asked)),
        TokenLifetime::CredentialsExpiring { left } => {
            return Err(Failure::runtime(anyhow::anyhow!(
                "the credentials from {} expire at {}, {} seconds from now, too soon for a token to be of use, and fetching them again gave no later ones; refresh them at their source (for IAM Identity Center: aws sso login) and try again",
                resolved.source(),
                creds.expiry().map_or_else(String::new, rfc3339),
                left.as_secs(),
            )));
        }
    };
    Ok(Ready {
        resolved,
        signed_at,
        expires_in,
        shortened_from,
    })
}

/// Signs what `build` makes of `region` and the validity `ready` allows.
///
/// # Errors
/// A usage failure when `build` refuses its inputs.
pub fn sign<K: Presignable>(
    signing: &Signing,
    region: &str,
    ready: &Ready,
    build: impl Fn(&str, u64) -> Result<K, rds_auth_token::Error>,
) -> Result<Made, Failure> {
    let creds = ready.resolved.credentials();
    let config = build(region, ready.expires_in).map_err(Failure::usage)?;
    let token = TokenSigner::new()
        .sign(&config, creds, ready.signed_at)
        .map_err(Failure::runtime)?;
    let expires_at = ready.signed_at + Duration::from_secs(ready.expires_in);
    signing.debug(format_args!(
        "signed at {} for {} seconds, expires at {}",
        rfc3339(ready.signed_at),
        ready.expires_in,
        rfc3339(expires_at),
    ));
    Ok(Made {
        token,
        region: region.to_owned(),
        expires_at,
        credential_expiration: creds.expiry(),
    })
}

/// The signing region, where it came from in words, and the region in the
/// endpoint name when that is another one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionChoice {
    pub name: String,
    pub source: String,
    /// The endpoint name's region, when it differs from `name`: the
    /// database will refuse a token signed for `name`.
    pub endpoint_region: Option<String>,
}

/// The signing region and where it came from, in words; warns when the
/// endpoint name is in another region.
///
/// # Errors
/// A usage failure when no source names a region, or the first that does
/// names none.
fn resolve_region(
    signing: &Signing,
    profiles: &Profiles,
    host: HostRegion<'_>,
) -> Result<(String, String), Failure> {
    let choice = choose_region(signing, Some(profiles), host)?;
    if let Some(host_region) = &choice.endpoint_region {
        say!(
            "rds-auth-token: warning: signing for {} (from {}), but the endpoint is in {host_region}; \
             the database will refuse this token, pass --region {host_region}",
            choice.name,
            choice.source
        );
    }
    Ok((choice.name, choice.source))
}

/// The signing region, as the token commands choose it: `--region`, the
/// environment, the profile's (when `profiles` could be read), then the
/// endpoint name. Says nothing.
///
/// # Errors
/// A usage failure when no region can be found, or the first source that
/// names one names no region.
pub fn choose_region(
    signing: &Signing,
    profiles: Option<&Profiles>,
    host: HostRegion<'_>,
) -> Result<RegionChoice, Failure> {
    let env = |var: &str| std::env::var(var).ok();
    let profile = profiles.and_then(|p| p.region().map(|r| (p.selected(), r)));
    let flag = signing.region.as_deref();
    let (name, source, host_region) = match host {
        HostRegion::Rds(hostname) => {
            let region =
                region::resolve(flag, env, profile, hostname).map_err(Failure::usage)?;
            (
                region.name,
                region.source.to_string(),
                region.hostname_disagrees,
            )
        }
        HostRegion::Dsql(hostname) => {
            let from_host = dsql_region_from_hostname(hostname);
            match region::resolve(flag, env, profile, "") {
                Ok(region) => (
                    region.name.clone(),
                    region.source.to_string(),
                    from_host.filter(|h| *h != region.name).map(str::to_owned),
                ),
                Err(RegionError::Missing) => match from_host {
                    Some(region) => (
                        region.to_owned(),
                        "the Aurora DSQL endpoint name in --hostname".to_owned(),
                        None,
                    ),
                    None => {
                        return Err(Failure::usage(anyhow::anyhow!(
                            "no region: --hostname '{hostname}' is not an Aurora DSQL endpoint (<id>.dsql.<region>.on.aws), so it names no region; pass --region, set AWS_REGION, or set region in the profile"
                        )))
                    }
                },
                Err(err) => return Err(Failure::usage(err)),
            }
        }
        HostRegion::Unnamed => match region::resolve(flag, env, profile, "") {
            Ok(region) => (region.name, region.source.to_string(), None),
            Err(RegionError::Missing) => {
                return Err(Failure::usage(anyhow::anyhow!(
                    "no region: a cache or cluster name carries none; pass --region, set AWS_REGION, or set region in the profile"
                )))
            }
            Err(err) => return Err(Failure::usage(err)),
        },
    };
    Ok(RegionChoice {
        name,
        source,
        endpoint_region: host_region,
    })
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
/// and validity: the `build` of [`generate`] and [`sign`].
pub fn rds_config(
    token: &TokenOptions,
) -> impl Fn(&str, u64) -> Result<AuthTokenConfig, rds_auth_token::Error> + '_ {
    |region, expires_in| {
        AuthTokenConfig::builder()
            .hostname(&token.hostname)
            .port(token.port)
            .username(token.username.as_str())
            .region(region)
            .expires_in_secs(expires_in)
            .build()
    }
}
