//! AWS credentials from the standard provider chain, found the way the AWS CLI
//! finds them: environment, shared config and credentials files (static keys,
//! IAM Identity Center, assume-role, web identity, `credential_process`), web
//! identity from the environment, container credentials, then EC2 IMDSv2.
//!
//! The chain is the AWS SDK's own ([`DefaultCredentialsChain`]); this module
//! adds the checks the AWS CLI makes and the SDK does not: a named profile
//! that does not exist, an access key without its secret, credentials that
//! have already expired, and an instance metadata lookup that gives up after
//! one second and one attempt, as the AWS CLI's does.

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, SystemTime};

use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::imds;
use aws_config::profile::ProfileSet;
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::credential_feature::AwsCredentialFeature;
use aws_credential_types::provider::error::CredentialsError as SdkCredentialsError;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;
use aws_runtime::env_config::file::EnvConfigFiles;
use aws_types::os_shim_internal::{Env, Fs};
use aws_types::region::Region;

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
        .map_err(|e| CredentialsError::ProfileFiles(error_chain(&e)))?;
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
}

/// Credentials and the providers that produced them.
#[derive(Debug, Clone)]
pub struct ResolvedCredentials {
    credentials: Credentials,
}

impl ResolvedCredentials {
    /// The credentials (their `Debug` form redacts the secret).
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Where the credentials came from, e.g. `environment variables` or
    /// `assume-role (STS) <- static keys in a profile`.
    pub fn source(&self) -> String {
        describe_source(&self.credentials)
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
    #[error("no AWS credentials found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, pass --profile NAME, or run where an instance, container or web identity role is available ({0})")]
    NotFound(String),
    #[error("could not load AWS credentials: {0}")]
    Provider(String),
    #[error("the AWS credentials from {source_name} expired at {expired_at}; refresh them (for IAM Identity Center: aws sso login) and try again")]
    Expired {
        source_name: String,
        expired_at: String,
    },
}

/// Resolves credentials through the standard chain for the selected profile.
///
/// `region` is the region for the STS and IAM Identity Center calls the chain
/// may make. Credentials that have expired by `now` are refused.
///
/// # Errors
/// A [`CredentialsError`] that says which source failed and how to fix it.
pub async fn resolve(
    profiles: &Profiles,
    region: &str,
    now: SystemTime,
) -> Result<ResolvedCredentials, CredentialsError> {
    let env = Env::real();
    let set = |var: &str| env.get(var).is_ok_and(|v| !v.trim().is_empty());
    if set("AWS_ACCESS_KEY_ID") && !set("AWS_SECRET_ACCESS_KEY") {
        return Err(CredentialsError::AccessKeyWithoutSecret);
    }

    // One lazily built HTTPS client for every provider: none is made, and no
    // TLS set-up happens, unless a provider goes to the network.
    let provider_config = ProviderConfig::default()
        .with_region(Some(Region::new(region.to_owned())))
        .with_http_client(crate::http_client::LazyHttpsClient::new());
    let chain = DefaultCredentialsChain::builder()
        .configure(provider_config.clone())
        .region(Region::new(region.to_owned()))
        .profile_name(profiles.selected())
        .imds_client(imds_client(profiles, &env, &provider_config))
        .build()
        .await;
    let credentials = chain.provide_credentials().await.map_err(|err| match err {
        SdkCredentialsError::CredentialsNotLoaded(_) => {
            CredentialsError::NotFound(error_chain(&err))
        }
        other => CredentialsError::Provider(error_chain(&other)),
    })?;

    if let Some(expiry) = credentials.expiry() {
        if expiry <= now {
            return Err(CredentialsError::Expired {
                source_name: describe_source(&credentials),
                expired_at: crate::rfc3339(expiry),
            });
        }
    }
    Ok(ResolvedCredentials { credentials })
}

/// An IMDS client that gives up as the AWS CLI's does: after
/// `AWS_METADATA_SERVICE_TIMEOUT` (or the profile's `metadata_service_timeout`)
/// seconds, 1 by default, and `AWS_METADATA_SERVICE_NUM_ATTEMPTS` (or
/// `metadata_service_num_attempts`) attempts, 1 by default. The SDK's own
/// default, four attempts, keeps a machine with no credentials waiting for
/// seconds before it says so.
fn imds_client(profiles: &Profiles, env: &Env, provider_config: &ProviderConfig) -> imds::Client {
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
    let timeout = Duration::from_secs_f64(timeout.min(3600.0));
    imds::Client::builder()
        .configure(provider_config)
        .connect_timeout(timeout)
        .read_timeout(timeout)
        .max_attempts(attempts.clamp(1.0, 10.0) as u32)
        .build()
}

fn describe_source(credentials: &Credentials) -> String {
    let Some(features) = credentials.get_property::<Vec<AwsCredentialFeature>>() else {
        return "an unnamed provider".to_owned();
    };
    let names: Vec<&str> = features.iter().rev().filter_map(feature_name).collect();
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

/// An error and its sources on one line, joined by ": ", with repeats left out.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![err.to_string()];
    let mut source = err.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = e.source();
    }
    parts.join(": ")
}
