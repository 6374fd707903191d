//! Role chains from the shared config, assumed as the AWS CLI assumes them.
//!
//! The SDK's profile provider assumes the roles of a chain but leaves out a
//! profile's `duration_seconds`, and names its sessions differently from the
//! AWS CLI. This provider takes the first credentials from wherever the
//! chain starts (keys in a profile, another profile's own source, or a
//! `credential_source`) and assumes each role in turn with the next profile's
//! `role_arn`, `external_id`, `role_session_name` and `duration_seconds`.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::sts::AssumeRoleProvider;
use aws_config::BehaviorVersion;
use aws_credential_types::credential_feature::AwsCredentialFeature;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{future, ProvideCredentials};
use aws_credential_types::Credentials;
use aws_types::region::Region;

use super::http_client::LazyHttpsClient;
use super::RoleStep;

/// Assumes `steps` one after another, starting from `first`'s credentials.
pub(crate) struct RoleChainProvider {
    pub(crate) first: Arc<dyn ProvideCredentials>,
    pub(crate) steps: Vec<RoleStep>,
    pub(crate) region: String,
    pub(crate) profile: String,
    pub(crate) client: LazyHttpsClient,
}

impl std::fmt::Debug for RoleChainProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoleChainProvider")
            .field("steps", &self.steps)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl RoleChainProvider {
    async fn credentials(&self) -> Result<Credentials, CredentialsError> {
        // The settings every STS client of the chain shares: the region, the
        // HTTPS client, and the endpoint settings (AWS_ENDPOINT_URL_STS, a
        // profile's services section) of the selected profile.
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(self.region.clone()))
            .http_client(self.client.clone())
            .profile_name(&self.profile)
            .no_credentials()
            .load()
            .await;
        let mut credentials = self.first.provide_credentials().await?;
        for step in &self.steps {
            let mut role = AssumeRoleProvider::builder(&step.role_arn)
                .configure(&config)
                .session_name(
                    step.session_name
                        .clone()
                        .unwrap_or_else(default_session_name),
                );
            if let Some(id) = &step.external_id {
                role = role.external_id(id);
            }
            if let Some(seconds) = &step.duration_seconds {
                let seconds: u64 = seconds.trim().parse().map_err(|_| {
                    CredentialsError::invalid_configuration(format!(
                        "profile '{}' has duration_seconds = {seconds:?}; use a whole number of seconds, e.g. 3600",
                        step.profile
                    ))
                })?;
                role = role.session_length(Duration::from_secs(seconds));
            }
            let role = role.build_from_provider(credentials).await;
            credentials = role.provide_credentials().await?;
        }
        // Marked as the profile's, like everything the SDK's profile
        // provider returns: the profile says where the chain started.
        credentials
            .get_property_mut_or_default::<Vec<AwsCredentialFeature>>()
            .push(AwsCredentialFeature::CredentialsProfile);
        Ok(credentials)
    }
}

/// The AWS CLI's session name when a profile names none:
/// `botocore-session-<unix seconds>`.
fn default_session_name() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format!("botocore-session-{}", now.as_secs())
}

impl ProvideCredentials for RoleChainProvider {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.credentials())
    }
}
