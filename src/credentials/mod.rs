//! AWS credentials from the standard provider chain, found the way the AWS CLI
//! finds them: environment, shared config and credentials files (static keys,
//! IAM Identity Center, `aws login` sessions, assume-role chains, web
//! identity, `credential_process`), web identity from the environment,
//! container credentials, then EC2 IMDSv2.
//!
//! The providers are the AWS SDK's own, in botocore's order; this module adds
//! what the AWS CLI does and the SDK does not: a profile given with
//! `--profile` ignores credentials in the environment (as the CLI's
//! `--profile` does) and supplies every setting, IMDS ones included; role
//! chains honour `duration_seconds`; HTTPS requests trust the CA bundle of
//! `--ca-bundle`, `AWS_CA_BUNDLE` or the profile and go through the proxies
//! of the environment; and it refuses a named profile that does not exist, an
//! access key without its secret, a profile that names itself as its
//! `source_profile` without keys of its own, credentials that have already
//! expired, says which `aws sso login` or `aws login` ends a sign-in that is
//! over, and gives up on instance metadata after one second and one attempt,
//! as the AWS CLI does.

use std::borrow::Cow;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::ecs::EcsCredentialsProvider;
use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::imds;
use aws_config::imds::credentials::ImdsCredentialsProvider;
use aws_config::meta::credentials::CredentialsProviderChain;
use aws_config::profile::{Profile, ProfileFileCredentialsProvider, ProfileSet};
use aws_config::provider_config::ProviderConfig;
use aws_config::web_identity_token::WebIdentityTokenCredentialsProvider;
use aws_credential_types::credential_feature::AwsCredentialFeature;
use aws_credential_types::provider::error::CredentialsError as SdkCredentialsError;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;
use aws_runtime::env_config::file::EnvConfigFiles;
use aws_types::os_shim_internal::{Env, Fs};
use aws_types::region::Region;

pub mod cache;
mod cached_provider;
mod http_client;
mod lazy_provider;
mod mfa;
mod role_chain;

use cache::CacheKey;
use cached_provider::{CacheEvent, CacheLog, Cached};
use http_client::{CaBundle, CaBundleFailure, CaBundleOrigin, HttpsSettings, LazyHttpsClient};
use lazy_provider::LazyProvider;
use role_chain::RoleChainProvider;

/// Where the profile name came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileOrigin {
    /// `--profile`.
    Flag,
    /// `AWS_PROFILE`.
    Environment,
    /// Neither: the `default` profile.
    Default,
}

impl fmt::Display for ProfileOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProfileOrigin::Flag => "--profile",
            ProfileOrigin::Environment => "AWS_PROFILE",
            ProfileOrigin::Default => "default",
        })
    }
}

/// The shared config and credentials files, read once, and the selected profile.
#[derive(Debug)]
pub struct Profiles {
    set: ProfileSet,
    selected: String,
    origin: ProfileOrigin,
}

impl Profiles {
    /// Reads `AWS_CONFIG_FILE` / `~/.aws/config` and
    /// `AWS_SHARED_CREDENTIALS_FILE` / `~/.aws/credentials` and selects
    /// `profile`, else `AWS_PROFILE`, else `default`.
    ///
    /// # Errors
    /// [`CredentialsError::ProfileFiles`] when a file cannot be read or parsed,
    /// and [`CredentialsError::ProfileNotFound`] when a profile named by
    /// `--profile` or `AWS_PROFILE` is in neither file.
    pub async fn load(profile: Option<&str>) -> Result<Profiles, CredentialsError> {
        let env = Env::real();
        let (selected, origin) = match profile {
            Some(name) => (name.to_owned(), ProfileOrigin::Flag),
            None => match env.get("AWS_PROFILE").ok().filter(|p| !p.trim().is_empty()) {
                Some(name) => (name, ProfileOrigin::Environment),
                None => ("default".to_owned(), ProfileOrigin::Default),
            },
        };
        let set = aws_config::profile::load(
            &Fs::real(),
            &env,
            &EnvConfigFiles::default(),
            Some(Cow::Owned(selected.clone())),
        )
        .await
        .map_err(|e| CredentialsError::ProfileFiles(crate::text::distinct_error_chain(&e)))?;
        if origin != ProfileOrigin::Default && set.get_profile(&selected).is_none() {
            return Err(CredentialsError::ProfileNotFound {
                profile: selected,
                origin,
            });
        }
        Ok(Profiles {
            set,
            selected,
            origin,
        })
    }

    /// No profiles: the `default` profile, empty, as on a machine without
    /// AWS config or credentials files.
    pub fn empty() -> Profiles {
        Profiles {
            set: ProfileSet::default(),
            selected: "default".to_owned(),
            origin: ProfileOrigin::Default,
        }
    }

    /// The selected profile's name.
    pub fn selected(&self) -> &str {
        &self.selected
    }

    /// Where the selected profile's name came from.
    pub fn origin(&self) -> ProfileOrigin {
        self.origin
    }

    /// The selected profile's `region` setting.
    pub fn region(&self) -> Option<&str> {
        self.get("region")
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.set.get_profile(&self.selected)?.get(key)
    }

    /// The static keys of profile `name`, when it has both.
    fn static_keys(&self, name: &str) -> Option<Credentials> {
        let profile = self.set.get_profile(name)?;
        let mut builder = Credentials::builder()
            .access_key_id(profile.get("aws_access_key_id")?)
            .secret_access_key(profile.get("aws_secret_access_key")?)
            .provider_name("ProfileFile");
        builder.set_session_token(profile.get("aws_session_token").map(str::to_owned));
        Some(builder.build())
    }

    /// Whether the selected profile assumes a role with credentials from
    /// another profile or a `credential_source` (botocore's assume-role
    /// provider, which comes before web identity from the environment).
    fn assumes_role(&self) -> bool {
        self.get("role_arn").is_some()
            && (self.get("source_profile").is_some() || self.get("credential_source").is_some())
    }

    /// How the SDK gets credentials from the selected profile, walking
    /// `source_profile` as aws-config does: a profile with a `role_arn` (and
    /// no `web_identity_token_file`) assumes it with credentials from its
    /// source; after the first profile, static keys end the walk.
    fn role_chain(&self) -> RoleChain<'_> {
        let has_keys = |p: &Profile| {
            p.get("aws_access_key_id").is_some() && p.get("aws_secret_access_key").is_some()
        };
        let mut roles = 0;
        let mut sources_itself_without_keys = None;
        let mut sso_profile = None;
        let mut login_profile = None;
        let mut visited: Vec<&str> = Vec::new();
        let mut name = self.selected.as_str();
        // What the chain is made of, when the walk ends cleanly.
        let mut steps: Vec<RoleStep> = Vec::new();
        let mut start = None;
        let base = loop {
            let Some(profile) = self.set.get_profile(name) else {
                break "a profile";
            };
            if visited.contains(&name) {
                break "a profile";
            }
            if !visited.is_empty() && has_keys(profile) {
                start = Some(Start::Keys(name.to_owned()));
                break "static keys in a profile";
            }
            if profile.get("sso_session").is_some() || profile.get("sso_start_url").is_some() {
                sso_profile = Some(name);
            } else if profile.get("login_session").is_some() {
                login_profile = Some(name);
            }
            if profile.get("role_arn").is_none() || profile.get("web_identity_token_file").is_some()
            {
                start = Some(Start::Profile(name.to_owned()));
                break base_of(profile);
            }
            visited.push(name);
            roles += 1;
            steps.push(RoleStep::of(name, profile));
            if let Some(source) = profile.get("credential_source") {
                start = Some(Start::Named(name.to_owned(), source.to_owned()));
                break base_of(profile);
            }
            match profile.get("source_profile") {
                Some(source) if source != name => name = source,
                _ => {
                    if profile.get("source_profile").is_some() {
                        if has_keys(profile) {
                            start = Some(Start::Keys(name.to_owned()));
                        } else {
                            sources_itself_without_keys = Some(name);
                        }
                    }
                    break base_of(profile);
                }
            }
        };
        steps.reverse();
        let plan = match start {
            Some(start) if !steps.is_empty() => Some(RolePlan { start, steps }),
            _ => None,
        };
        RoleChain {
            roles,
            base,
            sources_itself_without_keys,
            sso_profile,
            login_profile,
            plan,
        }
    }
}

/// What [`Profiles::role_chain`] found.
struct RoleChain<'a> {
    /// How many roles are assumed, one after another.
    roles: usize,
    /// Where the credentials for the first role (or, with no role, the
    /// credentials themselves) come from.
    base: &'static str,
    /// A profile in the walk whose `source_profile` is itself and that has no
    /// keys of its own: the AWS CLI refuses it as an infinite loop, while the
    /// SDK quietly treats the profile as having no credentials.
    sources_itself_without_keys: Option<&'a str>,
    /// The profile in the walk with IAM Identity Center (SSO) settings: the
    /// one to sign in again with `aws sso login`.
    sso_profile: Option<&'a str>,
    /// The profile in the walk with an `aws login` session.
    login_profile: Option<&'a str>,
    /// The roles to assume and where the first credentials come from, when
    /// there is a role and the walk ended cleanly.
    plan: Option<RolePlan>,
}

/// A role chain of any depth, assumed one role after another.
#[derive(Debug, Clone)]
struct RolePlan {
    start: Start,
    /// First assumed first.
    steps: Vec<RoleStep>,
}

/// Where the credentials for the first role come from.
#[derive(Debug, Clone)]
enum Start {
    /// The keys in this profile.
    Keys(String),
    /// Whatever this profile (with no role of its own to assume, or a web
    /// identity role) gives.
    Profile(String),
    /// The `credential_source` of this profile.
    Named(String, String),
}

/// One role to assume, with the settings of the profile that names it.
#[derive(Debug, Clone)]
struct RoleStep {
    profile: String,
    role_arn: String,
    external_id: Option<String>,
    session_name: Option<String>,
    duration_seconds: Option<String>,
}

impl RoleStep {
    fn of(name: &str, profile: &Profile) -> Self {
        let get = |key: &str| profile.get(key).map(str::to_owned);
        RoleStep {
            profile: name.to_owned(),
            role_arn: get("role_arn").unwrap_or_default(),
            external_id: get("external_id"),
            session_name: get("role_session_name"),
            duration_seconds: get("duration_seconds"),
        }
    }
}

/// The credentials a profile holds or names itself, in aws-config's order.
fn base_of(profile: &Profile) -> &'static str {
    if let Some(source) = profile.get("credential_source") {
        match source {
            "Environment" => "environment variables",
            "Ec2InstanceMetadata" => "EC2 instance metadata (IMDS)",
            "EcsContainer" => "container credentials endpoint",
            _ => "credential_source",
        }
    } else if profile.get("web_identity_token_file").is_some() {
        "web_identity_token_file in a profile"
    } else if profile.get("sso_session").is_some() || profile.get("sso_start_url").is_some() {
        "IAM Identity Center (SSO)"
    } else if profile.get("login_session").is_some() {
        "aws login session"
    } else if profile.get("credential_process").is_some() {
        "credential_process"
    } else {
        "static keys in a profile"
    }
}

/// Credentials and the providers that produced them.
#[derive(Debug, Clone)]
pub struct ResolvedCredentials {
    credentials: Credentials,
    source: String,
    cache: Option<CacheEvent>,
}

impl ResolvedCredentials {
    /// `credentials` from `source`, in words (`environment variables`),
    /// not from the credential cache.
    pub fn new(credentials: Credentials, source: impl Into<String>) -> ResolvedCredentials {
        ResolvedCredentials {
            credentials,
            source: source.into(),
            cache: None,
        }
    }

    /// The credentials (their `Debug` form redacts the secret).
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Where the credentials came from, e.g. `environment variables` or
    /// `assume-role (STS) <- static keys in a profile`.
    pub fn source(&self) -> String {
        self.source.clone()
    }

    /// True when the credentials came from the credential cache shared with
    /// the AWS CLI, with no request.
    pub fn from_cache(&self) -> bool {
        matches!(self.cache, Some(CacheEvent::Hit(_)))
    }

    /// What the credential cache did, for `--debug`: the file the
    /// credentials came from or were written to, or why it was not used.
    pub fn cache_note(&self) -> Option<String> {
        self.cache.as_ref().map(|event| match event {
            CacheEvent::Hit(path) => format!("credentials from the cache file {path}"),
            CacheEvent::Stored(path) => format!("credentials written to the cache file {path}"),
            CacheEvent::NotUsed(why) | CacheEvent::StoreFailed(why) => why.clone(),
        })
    }
}

/// Why no credentials could be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialsError {
    #[error("profile '{profile}' (from {origin}) is not in the shared config or credentials file; check the name with `aws configure list-profiles`, or set AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE")]
    ProfileNotFound {
        profile: String,
        origin: ProfileOrigin,
    },
    #[error("could not read the shared AWS config files: {0}")]
    ProfileFiles(String),
    #[error("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not; set both, or unset AWS_ACCESS_KEY_ID to use a profile")]
    AccessKeyWithoutSecret,
    #[error("profile '{profile}' names itself as its source_profile but has no aws_access_key_id and aws_secret_access_key of its own; add them, or set source_profile to a profile that has them")]
    SourcesItself { profile: String },
    #[error("no AWS credentials found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, select a profile (AWS_PROFILE), or run where an instance, container or web identity role is available ({0})")]
    NotFound(String),
    #[error("could not load AWS credentials: {0}")]
    Provider(String),
    #[error("the IAM Identity Center (SSO) sign-in of profile '{profile}' is over ({reason}); run `aws sso login --profile {profile}` and try again")]
    SsoLogin { profile: String, reason: String },
    #[error("the aws login session of profile '{profile}' cannot be used ({reason}); run `aws login --profile {profile}` and try again")]
    LoginAgain { profile: String, reason: String },
    #[error("{0}; point AWS_CA_BUNDLE (or ca_bundle in the profile) at a readable PEM file of CA certificates")]
    CaBundle(String),
    #[error("could not load AWS credentials: {0}; if a proxy or private CA signs this certificate, trust its CA with AWS_CA_BUNDLE=/path/to/ca.pem or ca_bundle in the profile")]
    UntrustedCertificate(String),
    #[error("the AWS credentials from {source_name} expired at {expired_at}; refresh them (for IAM Identity Center: aws sso login) and try again")]
    Expired {
        source_name: String,
        expired_at: String,
    },
}

/// How the credential chain talks to the network, and whether it may use the
/// credential cache: the AWS CLI's `--ca-bundle`, `--cli-connect-timeout`,
/// `--cli-read-timeout` and this tool's `--no-cache`.
///
/// The default is what the AWS CLI does with none of those flags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChainSettings {
    /// A PEM file of certificates to trust for HTTPS credential requests
    /// (`--ca-bundle`); it wins over `AWS_CA_BUNDLE` and the profile's
    /// `ca_bundle`.
    pub ca_bundle: Option<PathBuf>,
    /// How long to wait for a connection (`--cli-connect-timeout`); `None`
    /// is the default, and a zero duration waits for ever, as in the AWS CLI.
    pub connect_timeout: Option<Duration>,
    /// How long to wait for an answer (`--cli-read-timeout`), likewise.
    pub read_timeout: Option<Duration>,
    /// Neither read nor write the credential cache (`--no-cache`,
    /// `RDS_AUTH_TOKEN_NO_CACHE=1`).
    pub no_cache: bool,
    /// The RDS API endpoint (`--endpoint-url`), for the commands that call
    /// the RDS API, as `aws rds --endpoint-url` points the RDS client there.
    /// Tokens and credential requests never use it.
    pub endpoint_url: Option<String>,
}

impl ChainSettings {
    /// The defaults: no extra trust, the default timeouts, the cache on.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`ChainSettings::ca_bundle`].
    #[must_use]
    pub fn ca_bundle(mut self, path: Option<PathBuf>) -> Self {
        self.ca_bundle = path;
        self
    }

    /// Sets [`ChainSettings::connect_timeout`].
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets [`ChainSettings::read_timeout`].
    #[must_use]
    pub fn read_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// Sets [`ChainSettings::no_cache`].
    #[must_use]
    pub fn no_cache(mut self, no_cache: bool) -> Self {
        self.no_cache = no_cache;
        self
    }

    /// Sets [`ChainSettings::endpoint_url`].
    #[must_use]
    pub fn endpoint_url(mut self, url: Option<String>) -> Self {
        self.endpoint_url = url;
        self
    }
}

/// The HTTPS client that credential requests use (the CA bundle of
/// `--ca-bundle`, `AWS_CA_BUNDLE` or the profile, the proxies of the
/// environment, `--cli-connect-timeout` and `--cli-read-timeout`), for other
/// AWS API calls, with the slot where it records a CA bundle it cannot use.
#[cfg(feature = "aws-api")]
pub(crate) fn api_https_client(
    profiles: &Profiles,
    settings: &ChainSettings,
) -> (LazyHttpsClient, CaBundleFailure) {
    let failure = CaBundleFailure::default();
    let client = LazyHttpsClient::new(
        HttpsSettings {
            ca_bundle: ca_bundle(profiles, &Env::real(), settings),
            connect_timeout: settings.connect_timeout,
            read_timeout: settings.read_timeout,
            proxy_from_env: true,
        },
        failure.clone(),
    );
    (client, failure)
}

/// Resolves credentials through the standard chain for the selected profile.
///
/// The chain is the SDK's default one: environment variables, the profile,
/// web identity from the environment, container credentials, instance
/// metadata. A profile given with `--profile` leaves out the two environment
/// sources, as the AWS CLI does: it asked for that profile.
///
/// `region` is the region for the STS and IAM Identity Center calls the chain
/// may make, and `settings` how those calls are made. Credentials that have
/// expired by `now` are refused.
///
/// # Errors
/// A [`CredentialsError`] that says which source failed and how to fix it.
pub async fn resolve(
    profiles: &Profiles,
    region: &str,
    now: SystemTime,
    settings: &ChainSettings,
) -> Result<ResolvedCredentials, CredentialsError> {
    let env = Env::real();
    let set = |var: &str| env.get(var).is_ok_and(|v| !v.trim().is_empty());
    let read_env = profiles.origin() != ProfileOrigin::Flag;
    if read_env && set("AWS_ACCESS_KEY_ID") && !set("AWS_SECRET_ACCESS_KEY") {
        return Err(CredentialsError::AccessKeyWithoutSecret);
    }
    let role_chain = profiles.role_chain();
    // Keys in the environment come first; only without them is the profile read.
    let env_keys_win = read_env && set("AWS_ACCESS_KEY_ID");
    if let Some(profile) = role_chain.sources_itself_without_keys {
        if !env_keys_win {
            return Err(CredentialsError::SourcesItself {
                profile: profile.to_owned(),
            });
        }
    }

    // Lazily built HTTPS clients: none is made, no TLS set-up happens and
    // no CA bundle is read, unless a provider goes to the network.
    let ca_failure = CaBundleFailure::default();
    let ca_bundle = ca_bundle(profiles, &env, settings);
    let client = |proxy_from_env: bool, cli_timeouts: bool| {
        LazyHttpsClient::new(
            HttpsSettings {
                ca_bundle: ca_bundle.clone(),
                connect_timeout: settings.connect_timeout.filter(|_| cli_timeouts),
                read_timeout: settings.read_timeout.filter(|_| cli_timeouts),
                proxy_from_env,
            },
            ca_failure.clone(),
        )
    };
    let with_client = |client: LazyHttpsClient| {
        ProviderConfig::default()
            .with_region(Some(Region::new(region.to_owned())))
            .with_http_client(client)
    };
    // STS, IAM Identity Center and sign-in go through the proxies in the
    // environment and take the command line's timeouts; the container
    // endpoint is reached directly and instance metadata keeps its own
    // limits, as in the AWS CLI.
    let provider_config = with_client(client(true, true));
    let container_config = with_client(client(false, false));
    let imds_config = with_client(client(true, false));
    // Each provider after the environment is built only when the chain
    // reaches it: building some of them constructs an STS client.
    let imds = ImdsSettings::read(profiles, &env);
    let profile = {
        let (config, name) = (provider_config.clone(), profiles.selected().to_owned());
        let (container_config, imds_config, imds) =
            (container_config.clone(), imds_config.clone(), imds.clone());
        let plan = role_chain.plan.clone();
        let keys = plan.as_ref().and_then(|plan| match &plan.start {
            Start::Keys(name) => profiles.static_keys(name),
            _ => None,
        });
        let (region, sts_client) = (region.to_owned(), client(true, true));
        let mfa = profiles
            .set
            .get_profile(profiles.selected())
            .and_then(|p| mfa::MfaRole::for_profile(p, settings));
        LazyProvider::new(move || -> Arc<dyn ProvideCredentials> {
            // The profile provider builds its own container and instance
            // metadata providers for `credential_source` unless given them:
            // these are built only if a profile names them, and instance
            // metadata gives up as soon as the AWS CLI's does.
            let profile_provider = |name: &str| {
                ProfileFileCredentialsProvider::builder()
                    .configure(&config)
                    .profile_name(name)
                    .with_custom_provider("EcsContainer", ecs_provider(&container_config))
                    .with_custom_provider("Ec2InstanceMetadata", imds_provider(&imds_config, &imds))
                    .build()
            };
            let Some(plan) = &plan else {
                return Arc::new(profile_provider(&name));
            };
            let first: Arc<dyn ProvideCredentials> = match &plan.start {
                Start::Keys(_) => match &keys {
                    Some(keys) => Arc::new(keys.clone()),
                    None => return Arc::new(profile_provider(&name)),
                },
                Start::Profile(base) => Arc::new(profile_provider(base)),
                Start::Named(profile, source) => match source.as_str() {
                    "Environment" => Arc::new(EnvironmentVariableCredentialsProvider::new()),
                    "Ec2InstanceMetadata" => Arc::new(imds_provider(&imds_config, &imds)),
                    "EcsContainer" => Arc::new(ecs_provider(&container_config)),
                    other => Arc::new(Refused(format!(
                        "profile '{profile}' has credential_source = {other}; use Environment, Ec2InstanceMetadata or EcsContainer"
                    ))),
                },
            };
            let chain = |steps: &[RoleStep]| RoleChainProvider {
                first: first.clone(),
                steps: steps.to_vec(),
                region: region.clone(),
                profile: name.clone(),
                client: sts_client.clone(),
            };
            // A role with mfa_serial, which the SDK does not support, is
            // assumed last with a code asked for on the terminal.
            match (&mfa, plan.steps.split_last()) {
                (Some(mfa), Some((_, before))) => {
                    let source: Arc<dyn ProvideCredentials> = if before.is_empty() {
                        first.clone()
                    } else {
                        Arc::new(chain(before))
                    };
                    Arc::new(mfa.provider(source, &region, sts_client.clone()))
                }
                _ => Arc::new(chain(&plan.steps)),
            }
        })
    };
    // Temporary credentials from the network are kept in the cache shared
    // with the AWS CLI, under botocore's key: a hit builds none of the above.
    let cache_log = CacheLog::default();
    let profile = Cached::new(
        profile,
        profiles
            .set
            .get_profile(profiles.selected())
            .and_then(CacheKey::for_profile),
        AwsCredentialFeature::CredentialsProfile,
        settings.no_cache,
        now,
        cache_log.clone(),
    );
    let chain = if read_env {
        let config = provider_config.clone();
        let web_identity = Cached::new(
            LazyProvider::new(move || {
                WebIdentityTokenCredentialsProvider::builder()
                    .configure(&config)
                    .build()
            }),
            CacheKey::for_web_identity_env(&env),
            AwsCredentialFeature::CredentialsEnvVarsStsWebIdToken,
            settings.no_cache,
            now,
            cache_log.clone(),
        );
        let chain = CredentialsProviderChain::first_try(
            "Environment",
            EnvironmentVariableCredentialsProvider::new(),
        );
        // botocore asks web identity from the environment before the
        // profile's own credentials, unless the profile assumes a role with
        // credentials from somewhere else.
        if set("AWS_WEB_IDENTITY_TOKEN_FILE") && set("AWS_ROLE_ARN") && !profiles.assumes_role() {
            chain
                .or_else("WebIdentityToken", web_identity)
                .or_else("Profile", profile)
        } else {
            chain
                .or_else("Profile", profile)
                .or_else("WebIdentityToken", web_identity)
        }
    } else {
        CredentialsProviderChain::first_try("Profile", profile)
    };
    let chain = chain
        .or_else("EcsContainer", ecs_provider(&container_config))
        .or_else("Ec2InstanceMetadata", imds_provider(&imds_config, &imds));
    let result = chain.provide_credentials().await;
    if let Some(message) = ca_failure.lock().unwrap_or_else(|e| e.into_inner()).take() {
        return Err(CredentialsError::CaBundle(message));
    }
    let credentials = result.map_err(|err| classify(err, &role_chain))?;

    let source = describe_source(&credentials, &role_chain);
    if let Some(expiry) = credentials.expiry() {
        if crate::lifetime::left(expiry, now).is_zero() {
            if let Some(profile) = role_chain.sso_profile {
                return Err(CredentialsError::SsoLogin {
                    profile: profile.to_owned(),
                    reason: format!(
                        "the role credentials it gave expired at {}",
                        crate::rfc3339(expiry)
                    ),
                });
            }
            return Err(CredentialsError::Expired {
                source_name: source,
                expired_at: crate::rfc3339(expiry),
            });
        }
    }
    let cache = cache_log.lock().ok().and_then(|mut event| event.take());
    Ok(ResolvedCredentials {
        credentials,
        source,
        cache,
    })
}

/// The SDK's error as one of ours: what it means, and how to fix it.
fn classify(err: SdkCredentialsError, role_chain: &RoleChain) -> CredentialsError {
    let text = crate::text::distinct_error_chain(&err);
    if let SdkCredentialsError::CredentialsNotLoaded(_) = err {
        return CredentialsError::NotFound(text);
    }
    if let Some(profile) = role_chain.sso_profile {
        // The SDK's words for a sign-in that is over: an expired token it
        // cannot refresh, no cached token, or one the portal refuses.
        let signed_out = [
            "SSO token has expired",
            "failed to load the cached SSO token",
            "UnauthorizedException",
        ];
        let no_sign_in = text.contains("failed to read") && text.contains(".aws/sso/cache");
        if no_sign_in || signed_out.iter().any(|s| text.contains(s)) {
            return CredentialsError::SsoLogin {
                profile: profile.to_owned(),
                reason: text,
            };
        }
    }
    if let Some(profile) = role_chain.login_profile {
        // The SDK's words for an `aws login` session that is gone: not
        // cached, expired, or refused when refreshed.
        if text.contains("Login token") || text.contains("failed to read `") {
            return CredentialsError::LoginAgain {
                profile: profile.to_owned(),
                reason: text,
            };
        }
    }
    if text.contains("UnknownIssuer") || text.contains("invalid peer certificate") {
        return CredentialsError::UntrustedCertificate(text);
    }
    CredentialsError::Provider(text)
}

/// The CA bundle to trust: `--ca-bundle`, else `AWS_CA_BUNDLE`, else the
/// profile's `ca_bundle`, as the AWS CLI picks it. A leading `~/` is the
/// home folder.
fn ca_bundle(profiles: &Profiles, env: &Env, settings: &ChainSettings) -> Option<CaBundle> {
    let (path, origin) = if let Some(path) = &settings.ca_bundle {
        (path.clone(), CaBundleOrigin::Flag)
    } else if let Some(path) = env
        .get("AWS_CA_BUNDLE")
        .ok()
        .filter(|p| !p.trim().is_empty())
    {
        (expand_home(&path, env), CaBundleOrigin::Environment)
    } else {
        let path = profiles.get("ca_bundle").filter(|p| !p.trim().is_empty())?;
        (expand_home(path, env), CaBundleOrigin::Profile)
    };
    Some(CaBundle {
        path,
        origin,
        profile: profiles.selected().to_owned(),
    })
}

fn expand_home(path: &str, env: &Env) -> PathBuf {
    match (path.strip_prefix("~/"), env.get("HOME")) {
        (Some(rest), Ok(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

/// A provider that always fails with one message: a setting that names no
/// known source.
#[derive(Debug)]
struct Refused(String);

impl ProvideCredentials for Refused {
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        aws_credential_types::provider::future::ProvideCredentials::ready(Err(
            SdkCredentialsError::invalid_configuration(self.0.clone()),
        ))
    }
}

/// Container credentials, built when first asked.
fn ecs_provider(config: &ProviderConfig) -> impl ProvideCredentials + 'static {
    let config = config.clone();
    LazyProvider::new(move || EcsCredentialsProvider::builder().configure(&config).build())
}

/// Instance metadata credentials with the AWS CLI's limits and the selected
/// profile's endpoint, built when first asked.
fn imds_provider(
    config: &ProviderConfig,
    settings: &ImdsSettings,
) -> impl ProvideCredentials + 'static {
    let (config, settings) = (config.clone(), settings.clone());
    LazyProvider::new(move || {
        ImdsCredentialsProvider::builder()
            .configure(&config)
            .imds_client(settings.client(&config))
            .build()
    })
}

/// How instance metadata is reached, as the AWS CLI reaches it, with every
/// setting from the environment or else the selected profile (the SDK reads
/// the profile named by `AWS_PROFILE`, not `--profile`):
/// `AWS_METADATA_SERVICE_TIMEOUT` / `metadata_service_timeout` seconds, 1 by
/// default, `AWS_METADATA_SERVICE_NUM_ATTEMPTS` /
/// `metadata_service_num_attempts` attempts, 1 by default (the SDK's own
/// default, four attempts, keeps a machine with no credentials waiting for
/// seconds before it says so), and `AWS_EC2_METADATA_SERVICE_ENDPOINT` /
/// `ec2_metadata_service_endpoint` and `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE`
/// / `ec2_metadata_service_endpoint_mode`.
#[derive(Debug, Clone)]
struct ImdsSettings {
    timeout: Duration,
    attempts: u32,
    /// The profile's endpoint, when the environment names none.
    endpoint: Option<String>,
    /// The profile's endpoint mode, when the environment names none.
    mode: Option<imds::client::EndpointMode>,
}

impl ImdsSettings {
    fn read(profiles: &Profiles, env: &Env) -> Self {
        let setting = |var: &str, key: &str| {
            env.get(var)
                .ok()
                .or_else(|| profiles.get(key).map(str::to_owned))
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v > 0.0)
        };
        let timeout =
            setting("AWS_METADATA_SERVICE_TIMEOUT", "metadata_service_timeout").unwrap_or(1.0);
        let attempts = setting(
            "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
            "metadata_service_num_attempts",
        )
        .unwrap_or(1.0);
        let from_profile = |var: &str, key: &str| {
            if env.get(var).is_ok() {
                None
            } else {
                profiles.get(key).map(|v| v.trim().to_owned())
            }
        };
        let endpoint = from_profile(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            "ec2_metadata_service_endpoint",
        )
        .filter(|e| imds::Client::builder().endpoint(e).is_ok());
        let mode = from_profile(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
            "ec2_metadata_service_endpoint_mode",
        )
        .and_then(|m| m.parse().ok());
        ImdsSettings {
            timeout: Duration::from_secs_f64(timeout.min(3600.0)),
            attempts: attempts.clamp(1.0, 10.0) as u32,
            endpoint,
            mode,
        }
    }

    fn client(&self, provider_config: &ProviderConfig) -> imds::Client {
        let mut builder = imds::Client::builder()
            .configure(provider_config)
            .connect_timeout(self.timeout)
            .read_timeout(self.timeout)
            .max_attempts(self.attempts);
        if let Some(endpoint) = &self.endpoint {
            builder = builder
                .endpoint(endpoint)
                .expect("checked when the settings were read");
        } else if let Some(mode) = self.mode.clone() {
            builder = builder.endpoint_mode(mode);
        }
        builder.build()
    }
}

/// The providers behind `credentials`, outermost first, joined by " <- ".
///
/// Each SDK provider adds its feature as the credentials pass out through it.
/// The profile provider adds `CredentialsProfile` to everything it returns,
/// static keys or not, and credentials from a role it assumes keep no trace
/// of where the first credentials came from: for those, `from_profile`, read
/// from the profile, says.
fn describe_source(credentials: &Credentials, from_profile: &RoleChain) -> String {
    use AwsCredentialFeature as F;
    let features: &[F] = credentials
        .get_property::<Vec<F>>()
        .map_or(&[], Vec::as_slice);
    let names: Vec<&str> = if features.last() == Some(&F::CredentialsProfile) {
        std::iter::repeat_n("assume-role (STS)", from_profile.roles)
            .chain([from_profile.base])
            .collect()
    } else {
        // The web identity provider that reads AWS_WEB_IDENTITY_TOKEN_FILE
        // tags its credentials as a profile's.
        features
            .iter()
            .rev()
            .filter_map(|f| match f {
                F::CredentialsProfileStsWebIdToken => {
                    Some("web identity token from the environment (AWS_WEB_IDENTITY_TOKEN_FILE)")
                }
                f => feature_name(f),
            })
            .collect()
    };
    if names.is_empty() {
        "an unnamed provider".to_owned()
    } else {
        names.join(" <- ")
    }
}

fn feature_name(feature: &AwsCredentialFeature) -> Option<&'static str> {
    use AwsCredentialFeature as F;
    Some(match feature {
        F::CredentialsCode => "credentials given in code",
        F::CredentialsEnvVars => "environment variables",
        F::CredentialsEnvVarsStsWebIdToken => {
            "web identity token from the environment (AWS_WEB_IDENTITY_TOKEN_FILE)"
        }
        F::CredentialsStsAssumeRole => "assume-role (STS)",
        F::CredentialsStsAssumeRoleWebId => "assume-role-with-web-identity (STS)",
        F::CredentialsProfile => "static keys in a profile",
        F::CredentialsProfileSourceProfile => "source_profile",
        F::CredentialsProfileNamedProvider => "credential_source",
        F::CredentialsProfileStsWebIdToken => "web_identity_token_file in a profile",
        F::CredentialsProfileSso | F::CredentialsSso => "IAM Identity Center (SSO)",
        F::CredentialsProfileProcess | F::CredentialsProcess => "credential_process",
        F::CredentialsHttp => "container credentials endpoint",
        F::CredentialsImds => "EC2 instance metadata (IMDS)",
        _ => return None,
    })
}
