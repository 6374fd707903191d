//! Aurora DSQL tokens: a presigned `GET` of
//! `https://HOST/?Action=DbConnect` (or `DbConnectAdmin`) for service `dsql`,
//! valid for up to a week, with no port and no user in the token.

use std::borrow::Cow;
use std::time::SystemTime;

use aws_credential_types::Credentials;

use super::presign::{check_expires_in, PresignRequest, Presignable, TokenSigner};
use super::AuthToken;
use crate::endpoint::validate_hostname;
use crate::error::{Error, Shown};
use crate::region;

/// The SigV4 signing name (service) of Aurora DSQL tokens.
pub const DSQL_SERVICE: &str = "dsql";
/// The longest validity Aurora DSQL accepts: one week, in seconds.
pub const DSQL_MAX_EXPIRES_IN: u64 = 604_800;
/// The validity when none is given: 900 seconds, as botocore's.
pub const DSQL_DEFAULT_EXPIRES_IN: u64 = 900;

/// Which DSQL role the token logs in as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DsqlAction {
    /// `DbConnect`: a custom database role.
    #[default]
    Connect,
    /// `DbConnectAdmin`: the `admin` role.
    ConnectAdmin,
}

impl DsqlAction {
    /// The `Action` query value.
    pub fn as_str(self) -> &'static str {
        match self {
            DsqlAction::Connect => "DbConnect",
            DsqlAction::ConnectAdmin => "DbConnectAdmin",
        }
    }
}

/// The region in a DSQL endpoint name, `<id>.dsql.<region>.on.aws`.
///
/// # Example
/// ```
/// use rds_auth_token::token::dsql_region_from_hostname;
/// assert_eq!(
///     dsql_region_from_hostname("abcdefghijklmnopqrst.dsql.us-east-1.on.aws"),
///     Some("us-east-1")
/// );
/// assert_eq!(dsql_region_from_hostname("db.example.com"), None);
/// ```
pub fn dsql_region_from_hostname(hostname: &str) -> Option<&str> {
    let labels: Vec<&str> = hostname.trim_end_matches('.').split('.').collect();
    match labels.as_slice() {
        [id, dsql, region, on, aws]
            if !id.is_empty()
                && dsql.eq_ignore_ascii_case("dsql")
                && on.eq_ignore_ascii_case("on")
                && aws.eq_ignore_ascii_case("aws")
                && region::is_region_name(region) =>
        {
            Some(region)
        }
        _ => None,
    }
}

/// A checked Aurora DSQL token config.
///
/// # Example
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use aws_credential_types::Credentials;
/// use rds_auth_token::token::DsqlTokenConfig;
///
/// let config = DsqlTokenConfig::builder()
///     .hostname("abcdefghijklmnopqrst.dsql.us-east-1.on.aws")
///     .admin(true)
///     .build()?;
/// assert_eq!(config.region(), "us-east-1"); // from the host name
/// let credentials = Credentials::new("AKID", "SECRET", None, None, "example");
/// let token = config.generate(&credentials, UNIX_EPOCH + Duration::from_secs(1_795_310_467))?;
/// assert!(token.as_str().starts_with(
///     "abcdefghijklmnopqrst.dsql.us-east-1.on.aws/?Action=DbConnectAdmin&"
/// ));
/// # Ok::<(), rds_auth_token::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsqlTokenConfig {
    hostname: String,
    region: String,
    action: DsqlAction,
    expires_in: u64,
}

impl DsqlTokenConfig {
    /// A builder; `hostname` is required, and `region` unless the host name
    /// is a DSQL endpoint.
    pub fn builder() -> DsqlTokenConfigBuilder {
        DsqlTokenConfigBuilder::default()
    }

    /// The cluster endpoint host name, as given.
    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    /// The signing region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// `DbConnect` or `DbConnectAdmin`.
    pub fn action(&self) -> DsqlAction {
        self.action
    }

    /// How long the token is valid, in seconds.
    pub fn expires_in_secs(&self) -> u64 {
        self.expires_in
    }

    /// A config with these values as they are, unchecked: for re-signing a
    /// token someone else made, whose values may be ones `build` refuses.
    pub(crate) fn unchecked(
        hostname: String,
        region: String,
        action: DsqlAction,
        expires_in_secs: u64,
    ) -> Self {
        DsqlTokenConfig {
            hostname,
            region,
            action,
            expires_in: expires_in_secs,
        }
    }

    /// Makes the token, as botocore's `generate_db_connect_auth_token` (or
    /// `generate_db_connect_admin_auth_token`) does.
    ///
    /// # Errors
    /// [`Error::Signing`] for a signing time before 1970 or after 9999.
    pub fn generate(
        &self,
        credentials: &Credentials,
        signing_time: SystemTime,
    ) -> Result<AuthToken, Error> {
        TokenSigner::new().sign(self, credentials, signing_time)
    }
}

impl Presignable for DsqlTokenConfig {
    fn presign_request(&self) -> PresignRequest<'_> {
        PresignRequest {
            endpoint: Cow::Borrowed(&self.hostname),
            host: Cow::Owned(self.hostname.to_ascii_lowercase()),
            params: vec![("Action", Cow::Borrowed(self.action.as_str()))],
            service: DSQL_SERVICE,
            region: &self.region,
            expires_in_secs: self.expires_in,
        }
    }
}

/// Builds a [`DsqlTokenConfig`], checking every field.
#[derive(Debug, Clone, Default)]
pub struct DsqlTokenConfigBuilder {
    hostname: Option<String>,
    region: Option<String>,
    admin: bool,
    expires_in: Option<u64>,
}

impl DsqlTokenConfigBuilder {
    /// The cluster endpoint, e.g. `abcdefghijklmnopqrst.dsql.us-east-1.on.aws`.
    pub fn hostname(mut self, hostname: impl Into<String>) -> Self {
        self.hostname = Some(hostname.into());
        self
    }

    /// The signing region [default: the one in the DSQL host name].
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// `DbConnectAdmin` (the `admin` role) instead of `DbConnect`.
    pub fn admin(mut self, admin: bool) -> Self {
        self.admin = admin;
        self
    }

    /// How long the token is valid: 1 to 604,800 seconds, 900 when not set.
    pub fn expires_in_secs(mut self, secs: u64) -> Self {
        self.expires_in = Some(secs);
        self
    }

    /// Checks the fields and builds the config.
    ///
    /// # Errors
    /// [`Error::MissingField`] without a host name,
    /// [`Error::DsqlHostnameWithoutRegion`] without a region when the host
    /// is not a DSQL endpoint, and the [`Error`] of a field that fails its
    /// check: 0 or more than a week for the expiry is refused, not clamped.
    pub fn build(self) -> Result<DsqlTokenConfig, Error> {
        let hostname = self.hostname.ok_or(Error::MissingField("hostname"))?;
        validate_hostname(&hostname)?;
        let region = match self.region {
            Some(region) => {
                region::validate(&region)?;
                region
            }
            None => dsql_region_from_hostname(&hostname)
                .map(str::to_owned)
                .ok_or_else(|| Error::DsqlHostnameWithoutRegion(Shown::new(&hostname)))?,
        };
        let expires_in = check_expires_in(
            self.expires_in.unwrap_or(DSQL_DEFAULT_EXPIRES_IN),
            DSQL_MAX_EXPIRES_IN,
            "Aurora DSQL",
        )?;
        Ok(DsqlTokenConfig {
            hostname,
            region,
            action: if self.admin {
                DsqlAction::ConnectAdmin
            } else {
                DsqlAction::Connect
            },
            expires_in,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    const HOST: &str = "abcdefghijklmnopqrst.dsql.us-east-1.on.aws";

    fn signature(token: &AuthToken) -> &str {
        token.as_str().rsplit_once("X-Amz-Signature=").unwrap().1
    }

    /// The known answers in the issue that asked for DSQL, which botocore
    /// 1.44.5's `generate_db_connect_auth_token` and
    /// `generate_db_connect_admin_auth_token` also give (run at a frozen
    /// clock); tests/it/token_kinds.rs compares with botocore itself.
    #[test]
    fn makes_botocores_known_answers() {
        let creds = Credentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "test",
        );
        let at = UNIX_EPOCH + Duration::from_secs(1_795_310_467);
        let connect = DsqlTokenConfig::builder().hostname(HOST).build().unwrap();
        let token = connect.generate(&creds, at).unwrap();
        assert!(token.as_str().starts_with(&format!(
            "{HOST}/?Action=DbConnect&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261122%2Fus-east-1%2Fdsql%2Faws4_request&X-Amz-Date=20261122T012107Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature="
        )));
        assert_eq!(
            signature(&token),
            "e4f1901c61e9e9f9272772d3082eb8b75347b6ae06fc2d96e776f2616d20f6b2"
        );
        let admin = DsqlTokenConfig::builder()
            .hostname(HOST)
            .admin(true)
            .expires_in_secs(3600)
            .build()
            .unwrap();
        assert_eq!(
            signature(&admin.generate(&creds, at).unwrap()),
            "63571ce768b6e2fe3fbe41bf3870052c1c1ea895c8eda187a3e2cb8c1805df7a"
        );
    }

    #[test]
    fn takes_the_region_from_a_dsql_host_name_or_requires_one() {
        let built = DsqlTokenConfig::builder().hostname(HOST).build().unwrap();
        assert_eq!(built.region(), "us-east-1");
        let given = DsqlTokenConfig::builder()
            .hostname("db.example.com")
            .region("eu-west-1")
            .build()
            .unwrap();
        assert_eq!(given.region(), "eu-west-1");
        assert_eq!(
            DsqlTokenConfig::builder()
                .hostname("db.example.com")
                .build()
                .unwrap_err()
                .to_string(),
            "the host name 'db.example.com' is not an Aurora DSQL endpoint (<id>.dsql.<region>.on.aws), so it names no region; give the region"
        );
    }

    #[test]
    fn refuses_an_expiry_of_zero_or_over_a_week_instead_of_clamping_it() {
        let with = |secs| {
            DsqlTokenConfig::builder()
                .hostname(HOST)
                .expires_in_secs(secs)
                .build()
        };
        assert_eq!(with(604_800).unwrap().expires_in_secs(), 604_800);
        assert_eq!(with(1).unwrap().expires_in_secs(), 1);
        assert_eq!(with(0), Err(Error::ExpiresInZero));
        assert_eq!(
            with(604_801).unwrap_err().to_string(),
            "a validity of 604801 seconds is above 604800, the longest Aurora DSQL accepts; give at most 604800"
        );
    }

    #[test]
    fn reads_no_region_from_host_names_of_another_shape() {
        for host in [
            "dsql.us-east-1.on.aws",
            "x.dsql.us-east-1.on.aws.example.com",
            "x.rds.us-east-1.on.aws",
            "x.dsql.Ireland.on.aws",
        ] {
            assert_eq!(dsql_region_from_hostname(host), None, "{host}");
        }
    }
}
