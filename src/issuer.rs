//! Token making as a service: an [`Issuer`] finds the profiles once, picks
//! the signing region for each endpoint, keeps the credentials it resolved
//! and fetches them again before they run short, cuts each token's lifetime
//! to theirs, and signs any kind on demand. One issuer serves a one-shot
//! command and a process that mints tokens for a week alike; it is `Send`
//! and `Sync`, and minting with credentials in hand costs microseconds.
//!
//! What it would say (a warning, a `--debug` line) goes to an [`Observer`],
//! never to stderr: the command line prints it, a proxy logs it.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::credentials::{self, ChainSettings, CredentialsError, Profiles, ResolvedCredentials};
use crate::region::{self, RegionError};
use crate::token::dsql_region_from_hostname;
use crate::{
    rfc3339, AuthToken, AuthTokenConfig, Presignable, TokenLifetime, TokenSigner,
    MIN_CREDENTIAL_LIFETIME,
};

/// How long credentials that cut tokens short are kept before they are
/// asked for again: their source may have nothing longer to give, and
/// asking on every token would load it for nothing.
const SHORT_CREDENTIALS_KEPT: Duration = Duration::from_secs(30);

/// Where the region and the credentials come from: the AWS CLI's
/// `--region`, `--profile` and the credential chain's settings.
#[derive(Debug, Clone, Default)]
pub struct IssuerSettings {
    /// The region asked for, before the environment and the profile.
    pub region: Option<String>,
    /// The profile asked for, before `AWS_PROFILE`.
    pub profile: Option<String>,
    /// How credentials are fetched.
    pub chain: ChainSettings,
}

/// A future that can move between threads.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where an issuer gets credentials: the AWS CLI's chain
/// ([`CredentialChain`]), or a caller's own.
pub trait CredentialSource: Send + Sync {
    /// Credentials for `region` (for the regional calls a source may
    /// make), as `chain` says to fetch them; `chain.no_cache` asks for new
    /// ones past every cache.
    fn resolve<'a>(
        &'a self,
        profiles: &'a Profiles,
        region: &'a str,
        chain: &'a ChainSettings,
    ) -> BoxFuture<'a, Result<ResolvedCredentials, CredentialsError>>;
}

/// The AWS CLI's credential chain ([`credentials::resolve`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct CredentialChain;

impl CredentialSource for CredentialChain {
    fn resolve<'a>(
        &'a self,
        profiles: &'a Profiles,
        region: &'a str,
        chain: &'a ChainSettings,
    ) -> BoxFuture<'a, Result<ResolvedCredentials, CredentialsError>> {
        Box::pin(credentials::resolve(
            profiles,
            region,
            SystemTime::now(),
            chain,
        ))
    }
}

/// What an issuer has to say while it works.
pub trait Observer: Send + Sync {
    /// A detail for `--debug`: where the region and the credentials came
    /// from, when they expire, what was signed. Never a secret.
    fn debug(&self, line: fmt::Arguments<'_>) {
        let _ = line;
    }

    /// Something the caller should be told of: the token will work, or
    /// work for less time than asked, but not as the caller may think.
    fn warning(&self, warning: &Warning) {
        let _ = warning;
    }
}

/// An observer that listens to nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Observer for Quiet {}

/// What an [`Observer`] is warned of.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// The token is signed for `region` (from `source`), but the endpoint
    /// name says `endpoint_region`: the database will refuse it.
    EndpointInAnotherRegion {
        region: String,
        source: String,
        endpoint_region: String,
    },
    /// The credentials expire at `credentials_expire`, so the token lives
    /// `expires_in` seconds instead of the `asked` ones.
    Shortened {
        credentials_expire: SystemTime,
        expires_in: u64,
        asked: u64,
    },
}

/// What a kind's endpoint name says about the region.
#[derive(Debug, Clone, Copy)]
pub enum HostRegion<'a> {
    /// An RDS or Aurora endpoint name.
    Rds(&'a str),
    /// An Aurora DSQL endpoint name, `<id>.dsql.<region>.on.aws`.
    Dsql(&'a str),
    /// A cache or cluster name, which names no region.
    Unnamed,
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

/// Why no token was made.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The AWS config or credentials files could not be read.
    #[error(transparent)]
    Profiles(CredentialsError),
    /// No source names a region, or the first that does names none.
    #[error(transparent)]
    Region(#[from] RegionError),
    /// An endpoint name that should carry the region does not, and nothing
    /// else names one.
    #[error("no region: the host name '{0}' is not an Aurora DSQL endpoint (<id>.dsql.<region>.on.aws), so it names no region; ask for one, set AWS_REGION, or set region in the profile")]
    NotADsqlEndpoint(String),
    /// A cache or cluster name, and nothing else names a region.
    #[error("no region: a cache or cluster name carries none; ask for one, set AWS_REGION, or set region in the profile")]
    NoRegionInName,
    /// No credentials could be found.
    #[error(transparent)]
    Credentials(CredentialsError),
    /// The credentials expire too soon to sign with, also when fetched
    /// again past every cache.
    #[error("the credentials from {source_name} expire at {}, {} seconds from now, too soon for a token to be of use, and fetching them again gave no later ones; refresh them at their source (for IAM Identity Center: aws sso login) and try again", rfc3339(*.expiry), .left.as_secs())]
    CredentialsExpiring {
        source_name: String,
        expiry: SystemTime,
        left: Duration,
    },
    /// The token's own inputs were refused.
    #[error(transparent)]
    Config(crate::Error),
    /// Signing failed.
    #[error(transparent)]
    Sign(crate::Error),
}

impl IssueError {
    /// True when the caller's input is at fault (a region, a name), false
    /// when the environment is (files, credentials, their expiry).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            IssueError::Region(_)
                | IssueError::NotADsqlEndpoint(_)
                | IssueError::NoRegionInName
                | IssueError::Config(_)
        )
    }
}

/// A token and what it was made with.
pub struct Issued {
    pub token: AuthToken,
    pub region: String,
    pub expires_at: SystemTime,
    /// When the credentials that signed it expire, if they do.
    pub credential_expiration: Option<SystemTime>,
}

impl fmt::Debug for Issued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issued")
            .field("token", &self.token)
            .field("region", &self.region)
            .field("expires_at", &self.expires_at)
            .field("credential_expiration", &self.credential_expiration)
            .finish()
    }
}

/// Credentials ready to sign with, and the validity they allow.
#[derive(Debug, Clone)]
pub struct Ready {
    pub resolved: ResolvedCredentials,
    /// When to sign.
    pub signed_at: SystemTime,
    /// The validity to sign for, in seconds: the one asked for, or less
    /// when the credentials expire sooner.
    pub expires_in: u64,
    /// The validity asked for, when the credentials' expiry cut it short.
    pub shortened_from: Option<u64>,
}

/// Credentials resolved for one region, and when.
#[derive(Clone)]
struct Held {
    resolved: ResolvedCredentials,
    fetched_at: SystemTime,
}

/// Makes tokens: see the [module](self).
pub struct Issuer {
    settings: IssuerSettings,
    profiles: Profiles,
    observer: Arc<dyn Observer>,
    source: Arc<dyn CredentialSource>,
    /// The credentials of each region asked for (their STS and IAM Identity
    /// Center calls are regional).
    held: tokio::sync::Mutex<HashMap<String, Held>>,
    signer: Mutex<TokenSigner>,
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issuer")
            .field("settings", &self.settings)
            .field("profile", &self.profiles.selected())
            .finish_non_exhaustive()
    }
}

impl Issuer {
    /// An issuer for `settings`, with the profiles read.
    ///
    /// # Errors
    /// [`IssueError::Profiles`] when the AWS config or credentials files
    /// cannot be read, or the profile asked for is not in them.
    pub async fn new(
        settings: IssuerSettings,
        observer: Arc<dyn Observer>,
    ) -> Result<Issuer, IssueError> {
        let profiles = Profiles::load(settings.profile.as_deref())
            .await
            .map_err(IssueError::Profiles)?;
        Ok(Issuer::with_source(
            settings,
            profiles,
            observer,
            Arc::new(CredentialChain),
        ))
    }

    /// An issuer over profiles already read and credentials from `source`.
    pub fn with_source(
        settings: IssuerSettings,
        profiles: Profiles,
        observer: Arc<dyn Observer>,
        source: Arc<dyn CredentialSource>,
    ) -> Issuer {
        Issuer {
            settings,
            profiles,
            observer,
            source,
            held: tokio::sync::Mutex::new(HashMap::new()),
            signer: Mutex::new(TokenSigner::new()),
        }
    }

    /// The profiles it read.
    pub fn profiles(&self) -> &Profiles {
        &self.profiles
    }

    /// Its settings.
    pub fn settings(&self) -> &IssuerSettings {
        &self.settings
    }

    fn debug(&self, line: fmt::Arguments<'_>) {
        self.observer.debug(line);
    }

    /// Finds the region for `host` and the credentials, cuts the `asked`
    /// validity to the credentials' own, and signs what `build` makes of
    /// the region and that validity. Says where each came from to the
    /// observer, and warns it of a region the endpoint is not in and of a
    /// shortened token.
    ///
    /// # Errors
    /// [`IssueError`]: no region, no credentials, credentials about to
    /// expire, or inputs that `build` refuses.
    pub async fn issue<K: Presignable>(
        &self,
        host: HostRegion<'_>,
        asked: u64,
        build: impl Fn(&str, u64) -> Result<K, crate::Error>,
    ) -> Result<Issued, IssueError> {
        let choice = self.region(host)?;
        if let Some(endpoint_region) = &choice.endpoint_region {
            self.observer.warning(&Warning::EndpointInAnotherRegion {
                region: choice.name.clone(),
                source: choice.source.clone(),
                endpoint_region: endpoint_region.clone(),
            });
        }
        self.debug(format_args!(
            "region {} (from {})",
            choice.name, choice.source
        ));
        let ready = self.credentials(&choice.name, asked).await?;
        if let Some(asked) = ready.shortened_from {
            if let Some(expiry) = ready.resolved.credentials().expiry() {
                self.observer.warning(&Warning::Shortened {
                    credentials_expire: expiry,
                    expires_in: ready.expires_in,
                    asked,
                });
            }
        }
        self.sign(&choice.name, &ready, build)
    }

    /// The signing region for `host`: the settings' region, the
    /// environment's, the profile's, then the endpoint name's. Says
    /// nothing.
    ///
    /// # Errors
    /// When no source names a region, or the first that does names none.
    pub fn region(&self, host: HostRegion<'_>) -> Result<RegionChoice, IssueError> {
        choose_region(
            self.settings.region.as_deref(),
            Some(&self.profiles),
            |var| std::env::var(var).ok(),
            host,
        )
    }

    /// Credentials for `region` that outlive a token of `asked` seconds
    /// signed now, or as close to that as their source allows: the ones
    /// held when they do, else fetched again (through the AWS CLI's cache),
    /// and past every cache when even those expire within
    /// [`MIN_CREDENTIAL_LIFETIME`]. Callers at once wait for one fetch.
    ///
    /// # Errors
    /// [`IssueError::Credentials`] when none can be found, and
    /// [`IssueError::CredentialsExpiring`] when they expire too soon.
    pub async fn credentials(&self, region: &str, asked: u64) -> Result<Ready, IssueError> {
        let mut held = self.held.lock().await;
        let now = SystemTime::now();
        if let Some(kept) = held.get(region) {
            let lifetime = TokenLifetime::new(asked, kept.resolved.credentials().expiry(), now);
            let recent = now
                .duration_since(kept.fetched_at)
                .is_ok_and(|age| age < SHORT_CREDENTIALS_KEPT);
            match lifetime {
                TokenLifetime::AsAsked(_) => {
                    return Ok(ready(kept.resolved.clone(), now, lifetime))
                }
                TokenLifetime::Shortened { .. } if recent => {
                    return Ok(ready(kept.resolved.clone(), now, lifetime))
                }
                _ => self.debug(format_args!(
                    "credentials from {} expire at {}; fetching them again",
                    kept.resolved.source(),
                    kept.resolved
                        .credentials()
                        .expiry()
                        .map_or_else(String::new, rfc3339),
                )),
            }
        }
        let fetched = self.fetch(region, asked).await?;
        held.insert(
            region.to_owned(),
            Held {
                resolved: fetched.resolved.clone(),
                fetched_at: fetched.signed_at,
            },
        );
        Ok(fetched)
    }

    /// Resolves credentials for `region` through the chain, and once more
    /// past every cache when they are too close to expiry to sign with.
    async fn fetch(&self, region: &str, asked: u64) -> Result<Ready, IssueError> {
        let chain = &self.settings.chain;
        let mut resolved = self
            .source
            .resolve(&self.profiles, region, chain)
            .await
            .map_err(IssueError::Credentials)?;
        let mut signed_at = SystemTime::now();
        let mut lifetime = TokenLifetime::new(asked, resolved.credentials().expiry(), signed_at);
        if matches!(lifetime, TokenLifetime::CredentialsExpiring { .. }) {
            self.debug(format_args!(
                "credentials from {} expire within {} seconds; fetching them again",
                resolved.source(),
                MIN_CREDENTIAL_LIFETIME.as_secs()
            ));
            let fresh = chain.clone().no_cache(true);
            resolved = self
                .source
                .resolve(&self.profiles, region, &fresh)
                .await
                .map_err(IssueError::Credentials)?;
            signed_at = SystemTime::now();
            lifetime = TokenLifetime::new(asked, resolved.credentials().expiry(), signed_at);
        }
        let creds = resolved.credentials();
        self.debug(format_args!(
            "credentials from {} (profile '{}' from {}): access key {}, session token {}, expire {}{}",
            resolved.source(),
            self.profiles.selected(),
            self.profiles.origin(),
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
            self.debug(format_args!("{note}"));
        }
        if let TokenLifetime::CredentialsExpiring { left } = lifetime {
            return Err(IssueError::CredentialsExpiring {
                source_name: resolved.source(),
                expiry: creds.expiry().unwrap_or(signed_at),
                left,
            });
        }
        Ok(ready(resolved, signed_at, lifetime))
    }

    /// Signs what `build` makes of `region` and the validity `ready`
    /// allows.
    ///
    /// # Errors
    /// [`IssueError::Config`] when `build` refuses its inputs.
    pub fn sign<K: Presignable>(
        &self,
        region: &str,
        ready: &Ready,
        build: impl Fn(&str, u64) -> Result<K, crate::Error>,
    ) -> Result<Issued, IssueError> {
        let creds = ready.resolved.credentials();
        let config = build(region, ready.expires_in).map_err(IssueError::Config)?;
        let token = self
            .signer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .sign(&config, creds, ready.signed_at)
            .map_err(IssueError::Sign)?;
        let expires_at = ready.signed_at + Duration::from_secs(ready.expires_in);
        self.debug(format_args!(
            "signed at {} for {} seconds, expires at {}",
            rfc3339(ready.signed_at),
            ready.expires_in,
            rfc3339(expires_at),
        ));
        Ok(Issued {
            token,
            region: region.to_owned(),
            expires_at,
            credential_expiration: creds.expiry(),
        })
    }
}

/// What an RDS or Aurora token for `username` at `hostname:port` is made
/// of, given the region and validity [`Issuer::issue`] chose: its `build`.
pub fn rds<'a>(
    hostname: &'a str,
    port: u16,
    username: &'a str,
) -> impl Fn(&str, u64) -> Result<AuthTokenConfig, crate::Error> + 'a {
    move |region, expires_in| {
        AuthTokenConfig::builder()
            .hostname(hostname)
            .port(port)
            .username(username)
            .region(region)
            .expires_in_secs(expires_in)
            .build()
    }
}

/// Credentials ready to sign with at `signed_at`, for `lifetime` (which is
/// not [`TokenLifetime::CredentialsExpiring`]).
fn ready(resolved: ResolvedCredentials, signed_at: SystemTime, lifetime: TokenLifetime) -> Ready {
    let (expires_in, shortened_from) = match lifetime {
        TokenLifetime::AsAsked(expires_in) => (expires_in, None),
        TokenLifetime::Shortened { expires_in, asked } => (expires_in, Some(asked)),
        TokenLifetime::CredentialsExpiring { .. } => (0, None),
    };
    Ready {
        resolved,
        signed_at,
        expires_in,
        shortened_from,
    }
}

/// The signing region, as the token commands choose it: `flag`, the
/// environment (`env` looks a variable up), the profile's (when `profiles`
/// could be read), then the endpoint name. Says nothing.
///
/// # Errors
/// When no region can be found, or the first source that names one names
/// no region.
pub fn choose_region(
    flag: Option<&str>,
    profiles: Option<&Profiles>,
    env: impl Fn(&str) -> Option<String>,
    host: HostRegion<'_>,
) -> Result<RegionChoice, IssueError> {
    let profile = profiles.and_then(|p| p.region().map(|r| (p.selected(), r)));
    let (name, source, endpoint_region) = match host {
        HostRegion::Rds(hostname) => {
            let region = region::resolve(flag, env, profile, hostname)?;
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
                    None => return Err(IssueError::NotADsqlEndpoint(hostname.to_owned())),
                },
                Err(err) => return Err(err.into()),
            }
        }
        HostRegion::Unnamed => match region::resolve(flag, env, profile, "") {
            Ok(region) => (region.name, region.source.to_string(), None),
            Err(RegionError::Missing) => return Err(IssueError::NoRegionInName),
            Err(err) => return Err(err.into()),
        },
    };
    Ok(RegionChoice {
        name,
        source,
        endpoint_region,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AuthTokenConfig;

    const DSQL: &str = "abcdefghijklmnopqrst.dsql.eu-west-1.on.aws";

    fn env_with(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn takes_the_flag_over_the_environment_and_names_an_endpoint_in_another_region() {
        let choice = choose_region(
            Some("us-west-2"),
            None,
            env_with(&[("AWS_REGION", "eu-west-1")]),
            HostRegion::Rds("mydb.abc.us-east-1.rds.amazonaws.com"),
        )
        .unwrap();
        assert_eq!(choice.name, "us-west-2");
        assert_eq!(choice.source, "--region");
        assert_eq!(choice.endpoint_region.as_deref(), Some("us-east-1"));
    }

    #[test]
    fn takes_a_dsql_region_from_the_endpoint_name_when_nothing_else_names_one() {
        let choice = choose_region(None, None, env_with(&[]), HostRegion::Dsql(DSQL)).unwrap();
        assert_eq!(choice.name, "eu-west-1");
        assert_eq!(choice.endpoint_region, None);
        let other = choose_region(
            None,
            None,
            env_with(&[("AWS_DEFAULT_REGION", "us-east-1")]),
            HostRegion::Dsql(DSQL),
        )
        .unwrap();
        assert_eq!(other.source, "AWS_DEFAULT_REGION");
        assert_eq!(other.endpoint_region.as_deref(), Some("eu-west-1"));
    }

    #[test]
    fn says_why_there_is_no_region_as_usage_errors() {
        let dsql = choose_region(
            None,
            None,
            env_with(&[]),
            HostRegion::Dsql("db.example.com"),
        )
        .unwrap_err();
        assert!(matches!(&dsql, IssueError::NotADsqlEndpoint(h) if h == "db.example.com"));
        let named = choose_region(None, None, env_with(&[]), HostRegion::Unnamed).unwrap_err();
        assert!(matches!(named, IssueError::NoRegionInName));
        let rds = choose_region(None, None, env_with(&[]), HostRegion::Rds("db.example.com"))
            .unwrap_err();
        assert!(matches!(rds, IssueError::Region(RegionError::Missing)));
        assert!(dsql.is_usage() && named.is_usage() && rds.is_usage());
    }

    /// An observer that keeps what it is told.
    #[derive(Default)]
    struct Recorder {
        lines: Mutex<Vec<String>>,
        warnings: Mutex<Vec<Warning>>,
    }

    impl Observer for Recorder {
        fn debug(&self, line: fmt::Arguments<'_>) {
            self.lines.lock().unwrap().push(line.to_string());
        }
        fn warning(&self, warning: &Warning) {
            self.warnings.lock().unwrap().push(warning.clone());
        }
    }

    fn rds(region: &str, expires_in: u64) -> Result<AuthTokenConfig, crate::Error> {
        super::rds("mydb.abc.us-east-1.rds.amazonaws.com", 5432, "jane")(region, expires_in)
    }

    /// A source that hands out the credentials of `expiries` in turn (the
    /// last one for ever), each with its own access key, and counts calls.
    struct Scripted {
        expiries: Vec<Option<Duration>>,
        calls: Mutex<Vec<bool>>,
    }

    impl Scripted {
        fn new(expiries: &[Option<u64>]) -> Arc<Scripted> {
            Arc::new(Scripted {
                expiries: expiries
                    .iter()
                    .map(|e| e.map(Duration::from_secs))
                    .collect(),
                calls: Mutex::new(Vec::new()),
            })
        }

        /// The `no_cache` of each call so far.
        fn calls(&self) -> Vec<bool> {
            self.calls.lock().unwrap().clone()
        }
    }

    impl CredentialSource for Scripted {
        fn resolve<'a>(
            &'a self,
            _profiles: &'a Profiles,
            _region: &'a str,
            chain: &'a ChainSettings,
        ) -> BoxFuture<'a, Result<ResolvedCredentials, CredentialsError>> {
            let mut calls = self.calls.lock().unwrap();
            calls.push(chain.no_cache);
            let n = calls.len();
            let expiry = self.expiries[(n - 1).min(self.expiries.len() - 1)];
            let creds = aws_credential_types::Credentials::new(
                format!("ASIASCRIPTED{n:08}"),
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                Some("session".into()),
                expiry.map(|e| SystemTime::now() + e),
                "scripted",
            );
            Box::pin(async move { Ok(ResolvedCredentials::new(creds, "a script")) })
        }
    }

    fn issuer_with(source: Arc<Scripted>, observer: Arc<dyn Observer>) -> Issuer {
        Issuer::with_source(
            IssuerSettings {
                region: Some("us-east-1".into()),
                ..IssuerSettings::default()
            },
            Profiles::empty(),
            observer,
            source,
        )
    }

    fn access_key(issued: &Issued) -> String {
        let token = issued.token.as_str();
        let at = token.find("X-Amz-Credential=").unwrap() + "X-Amz-Credential=".len();
        token[at..].split("%2F").next().unwrap().to_owned()
    }

    const HOST: HostRegion<'static> = HostRegion::Rds("mydb.abc.us-east-1.rds.amazonaws.com");

    fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn resolves_once_signs_many_and_says_so_to_its_observer() {
        let recorder = Arc::new(Recorder::default());
        let source = Scripted::new(&[None]);
        let issuer = issuer_with(source.clone(), recorder.clone());
        let first = block_on(issuer.issue(HOST, 900, rds)).unwrap();
        let second = block_on(issuer.issue(HOST, 900, rds)).unwrap();
        assert_eq!(source.calls(), [false], "one resolve for both tokens");
        assert_eq!(access_key(&first), access_key(&second));
        assert_eq!(first.region, "us-east-1");
        assert!(first.token.as_str().contains("X-Amz-Expires=900&"));
        let lines = recorder.lines.lock().unwrap();
        assert_eq!(lines[0], "region us-east-1 (from --region)");
        assert!(
            lines[1].starts_with("credentials from a script (profile 'default' from "),
            "{lines:?}"
        );
        assert!(lines[2].starts_with("signed at "), "{lines:?}");
        assert!(lines.iter().all(|l| !l.contains("wJalr")), "{lines:?}");
        assert!(recorder.warnings.lock().unwrap().is_empty());
    }

    #[test]
    fn fetches_credentials_again_before_they_run_short_of_a_whole_token() {
        // An hour, then 15 minutes and 10 seconds: the second outlives a
        // token at first, then no longer does.
        let source = Scripted::new(&[Some(3600), Some(910), Some(3600)]);
        let issuer = issuer_with(source.clone(), Arc::new(Quiet));
        let first = block_on(issuer.issue(HOST, 900, rds)).unwrap();
        assert_eq!(access_key(&first), "ASIASCRIPTED00000001");
        // Held credentials that expire within a token's life are replaced.
        let mut held = block_on(issuer.held.lock());
        let kept = held.get_mut("us-east-1").unwrap();
        let soon = SystemTime::now() + Duration::from_secs(600);
        kept.resolved = ResolvedCredentials::new(
            aws_credential_types::Credentials::new("ASIAHELD", "s", None, Some(soon), "held"),
            "the held ones",
        );
        kept.fetched_at = SystemTime::now() - SHORT_CREDENTIALS_KEPT;
        drop(held);
        let second = block_on(issuer.issue(HOST, 900, rds)).unwrap();
        assert_eq!(access_key(&second), "ASIASCRIPTED00000002");
        assert!(second.token.as_str().contains("X-Amz-Expires=900&"));
        assert_eq!(source.calls(), [false, false]);
    }

    #[test]
    fn fetches_past_every_cache_when_credentials_are_about_to_expire_and_fails_if_still_so() {
        let source = Scripted::new(&[Some(30), Some(3600)]);
        let issuer = issuer_with(source.clone(), Arc::new(Quiet));
        let issued = block_on(issuer.issue(HOST, 900, rds)).unwrap();
        assert_eq!(access_key(&issued), "ASIASCRIPTED00000002");
        assert_eq!(source.calls(), [false, true], "the second past the cache");

        let source = Scripted::new(&[Some(30)]);
        let issuer = issuer_with(source.clone(), Arc::new(Quiet));
        let err = block_on(issuer.issue(HOST, 900, rds)).unwrap_err();
        assert!(
            matches!(err, IssueError::CredentialsExpiring { .. }),
            "{err}"
        );
        assert!(!err.is_usage());
        assert!(
            err.to_string()
                .starts_with("the credentials from a script expire at "),
            "{err}"
        );
    }

    #[test]
    fn cuts_a_token_to_credentials_that_expire_sooner_warns_and_keeps_them_a_while() {
        let recorder = Arc::new(Recorder::default());
        let source = Scripted::new(&[Some(600)]);
        let issuer = issuer_with(source.clone(), recorder.clone());
        let issued = block_on(issuer.issue(HOST, 900, rds)).unwrap();
        let expiry = issued.credential_expiration.unwrap();
        assert!(issued.expires_at <= expiry);
        let warnings = recorder.warnings.lock().unwrap().clone();
        assert!(
            matches!(warnings[..], [Warning::Shortened { asked: 900, expires_in, .. }] if (598..=600).contains(&expires_in)),
            "{warnings:?}"
        );
        // Short credentials are not asked for again on every token.
        block_on(issuer.issue(HOST, 900, rds)).unwrap();
        assert_eq!(source.calls(), [false]);
    }

    #[test]
    fn many_threads_share_one_issuer_and_one_fetch() {
        let source = Scripted::new(&[Some(3600)]);
        let issuer = Arc::new(issuer_with(source.clone(), Arc::new(Quiet)));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let tokens: Vec<String> = runtime.block_on(async {
            let tasks: Vec<_> = (0..32)
                .map(|_| {
                    let issuer = issuer.clone();
                    tokio::spawn(async move {
                        issuer.issue(HOST, 900, rds).await.map(|i| access_key(&i))
                    })
                })
                .collect();
            let mut keys = Vec::new();
            for task in tasks {
                keys.push(task.await.unwrap().unwrap());
            }
            keys
        });
        assert_eq!(tokens.len(), 32);
        assert!(tokens.iter().all(|k| k == "ASIASCRIPTED00000001"));
        assert_eq!(source.calls(), [false]);
    }

    #[test]
    fn is_shared_by_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<Issuer>();
    }
}
