//! The AWS API calls the set-up commands make (`policy`, `doctor`): who the
//! caller is (STS `GetCallerIdentity`), which database an endpoint name
//! belongs to (RDS `DescribeDBInstances`, `DescribeDBClusters`,
//! `DescribeDBProxies`, `DescribeDBProxyEndpoints`), and whether a principal
//! may log in to it (IAM `SimulatePrincipalPolicy` for `rds-db:connect`).
//!
//! The clients are the AWS SDK's own, made only by [`Api::new`]: the token
//! commands never build or touch them. They are signed with credentials the
//! caller has already resolved ([`crate::credentials::resolve`]), take the
//! selected profile's endpoint settings (`AWS_ENDPOINT_URL`,
//! `AWS_ENDPOINT_URL_RDS` / `_STS` / `_IAM`, a profile's `services` section),
//! send their requests through the same HTTPS client as credential requests
//! (the CA bundle, the proxies of the environment, `--cli-connect-timeout` and
//! `--cli-read-timeout`), and give up quickly: each attempt has
//! [`ATTEMPT_TIMEOUT`] (longer only when the connect and read timeouts given
//! add up to more), and a call makes at most [`MAX_ATTEMPTS`] attempts.
//! [`crate::credentials::ChainSettings::endpoint_url`] (`--endpoint-url`)
//! points the RDS client, and only it, at another endpoint, as
//! `aws rds --endpoint-url` does.
//!
//! Every failure is an [`ApiError`] whose message is one line and carries no
//! secret: a denied call names the permission it needs.
//!
//! # Example
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::SystemTime;
//! use rds_auth_token::aws_api::Api;
//! use rds_auth_token::credentials::{self, ChainSettings, Profiles};
//!
//! let profiles = Profiles::load(None).await?;
//! let settings = ChainSettings::new();
//! let resolved =
//!     credentials::resolve(&profiles, "us-east-1", SystemTime::now(), &settings).await?;
//! let api = Api::new(&profiles, "us-east-1", resolved.credentials().clone(), &settings).await;
//! let me = api.caller_identity().await?;
//! if let Some(db) = api
//!     .find_endpoint("mydb.abc123.us-east-1.rds.amazonaws.com")
//!     .await?
//! {
//!     println!("{} may need rds-db:connect on {}", me.arn, db.resource_id);
//! }
//! # Ok(())
//! # }
//! ```

mod date;
mod endpoint;
mod error;
mod role;
mod simulate;

use std::time::{Duration, SystemTime};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_types::region::Region;

use crate::credentials::{api_https_client, ChainSettings, Profiles};

pub use endpoint::{parse_endpoint_name, DbEndpoint, EndpointKind, EndpointName, IamAuth};
pub use error::ApiError;
pub use simulate::{Decision, EvalDecision};

/// How long one attempt of a call may take, unless `--cli-connect-timeout`
/// and `--cli-read-timeout` add up to more.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);

/// How many attempts a call makes at most.
pub const MAX_ATTEMPTS: u32 = 2;

/// The most pages of 100 records a listing reads while it looks for an
/// endpoint name (so at most 2,000 instances, clusters or proxies a kind).
pub const MAX_PAGES: usize = 20;

/// The RDS, STS and IAM clients of one region.
#[derive(Debug, Clone)]
pub struct Api {
    rds: aws_sdk_rds::Client,
    sts: aws_sdk_sts::Client,
    iam: aws_sdk_iam::Client,
    region: String,
    /// Where the HTTPS client records a CA bundle it cannot use.
    ca_failure: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

/// Who the credentials belong to: STS `GetCallerIdentity`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    /// The 12-digit account id.
    pub account: String,
    /// The caller's ARN, e.g. `arn:aws:sts::123456789012:assumed-role/app/i-0abc`.
    pub arn: String,
    /// The unique id of the user or role (and session).
    pub user_id: String,
    /// The `Date` of the HTTP response, AWS's clock, when it had one.
    pub server_date: Option<SystemTime>,
}

impl CallerIdentity {
    /// The IAM principal behind [`CallerIdentity::arn`], as
    /// `iam:SimulatePrincipalPolicy` takes it: an assumed role's session
    /// `arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION` becomes the role
    /// `arn:PARTITION:iam::ACCOUNT:role/ROLE` (a role with a path is named
    /// without it, as the session ARN is); a user or role ARN stays as it is.
    pub fn principal_arn(&self) -> String {
        let parts: Vec<&str> = self.arn.splitn(6, ':').collect();
        if let [arn, partition, "sts", "", account, resource] = parts.as_slice() {
            if let Some(rest) = resource.strip_prefix("assumed-role/") {
                let role = rest.split('/').next().unwrap_or_default();
                return format!("{arn}:{partition}:iam::{account}:role/{role}");
            }
        }
        self.arn.clone()
    }
}

impl Api {
    /// The clients for `region`, signed with `credentials`, with the
    /// selected profile's endpoint settings and `chain`'s HTTPS settings.
    /// Nothing is sent until a call is made.
    pub async fn new(
        profiles: &Profiles,
        region: &str,
        credentials: Credentials,
        chain: &ChainSettings,
    ) -> Api {
        let (http, ca_failure) = api_https_client(profiles, chain);
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .http_client(http)
            .profile_name(profiles.selected())
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .timeout_config(timeouts(chain))
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
            .load()
            .await;
        let mut rds = aws_sdk_rds::config::Builder::from(&sdk);
        if let Some(url) = &chain.endpoint_url {
            rds = rds.endpoint_url(url);
        }
        Api {
            rds: aws_sdk_rds::Client::from_conf(rds.build()),
            sts: aws_sdk_sts::Client::new(&sdk),
            iam: aws_sdk_iam::Client::new(&sdk),
            region: region.to_owned(),
            ca_failure,
        }
    }

    /// The region the clients call.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Who the credentials belong to, and AWS's clock (the response's `Date`).
    ///
    /// # Errors
    /// An [`ApiError`]: the credentials are refused, the call timed out, or
    /// STS could not be reached.
    pub async fn caller_identity(&self) -> Result<CallerIdentity, ApiError> {
        let date = date::DateRecorder::default();
        let output = self
            .sts
            .get_caller_identity()
            .customize()
            .interceptor(date.clone())
            .send()
            .await
            .map_err(|e| self.error("sts:GetCallerIdentity", e))?;
        Ok(CallerIdentity {
            account: output.account().unwrap_or_default().to_owned(),
            arn: output.arn().unwrap_or_default().to_owned(),
            user_id: output.user_id().unwrap_or_default().to_owned(),
            server_date: date.get(),
        })
    }

    /// The error for a failed call, with a CA bundle the HTTPS client could
    /// not use named in it.
    fn error<E, R>(
        &self,
        permission: &'static str,
        err: aws_sdk_rds::error::SdkError<E, R>,
    ) -> ApiError
    where
        E: aws_sdk_rds::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let ca = self
            .ca_failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        match ca {
            Some(message) => ApiError::Unreachable {
                operation: error::operation_of(permission).to_owned(),
                message: format!(
                    "{message}; point --ca-bundle (or AWS_CA_BUNDLE, or ca_bundle in the profile) at a readable PEM file of CA certificates"
                ),
            },
            None => ApiError::from_sdk(permission, err),
        }
    }
}

/// Each attempt's time limit, and the whole call's: [`ATTEMPT_TIMEOUT`], or
/// the connect and read timeouts given, when they add up to more.
fn timeouts(chain: &ChainSettings) -> TimeoutConfig {
    let given = chain.connect_timeout.unwrap_or_default() + chain.read_timeout.unwrap_or_default();
    let attempt = given.max(ATTEMPT_TIMEOUT);
    TimeoutConfig::builder()
        .operation_attempt_timeout(attempt)
        .operation_timeout(attempt * MAX_ATTEMPTS + Duration::from_secs(1))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(arn: &str) -> CallerIdentity {
        CallerIdentity {
            account: "123456789012".into(),
            arn: arn.into(),
            user_id: "AROAEXAMPLE:s".into(),
            server_date: None,
        }
    }

    #[test]
    fn names_the_role_behind_an_assumed_role_session() {
        assert_eq!(
            identity("arn:aws:sts::123456789012:assumed-role/db-connect/i-0abc").principal_arn(),
            "arn:aws:iam::123456789012:role/db-connect"
        );
        assert_eq!(
            identity("arn:aws-cn:sts::123456789012:assumed-role/app/botocore-session-1")
                .principal_arn(),
            "arn:aws-cn:iam::123456789012:role/app"
        );
        for same in [
            "arn:aws:iam::123456789012:user/jane",
            "arn:aws:iam::123456789012:role/ops/app",
            "arn:aws:iam::123456789012:root",
        ] {
            assert_eq!(identity(same).principal_arn(), same);
        }
    }

    #[test]
    fn keeps_calls_short_unless_the_command_line_allows_longer() {
        let default = timeouts(&ChainSettings::new());
        assert_eq!(default.operation_attempt_timeout(), Some(ATTEMPT_TIMEOUT));
        assert_eq!(default.operation_timeout(), Some(Duration::from_secs(7)));
        let long = timeouts(
            &ChainSettings::new()
                .connect_timeout(Some(Duration::from_secs(5)))
                .read_timeout(Some(Duration::from_secs(10))),
        );
        assert_eq!(
            long.operation_attempt_timeout(),
            Some(Duration::from_secs(15))
        );
    }
}
