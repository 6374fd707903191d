//! MemoryDB tokens: a presigned `GET` of `NAME/?Action=connect&User=USER`
//! for service `memorydb`, valid for 900 s. MemoryDB has no serverless form.
//!
//! As for ElastiCache, the construction is AWS's sample's: botocore's
//! `RequestSigner.generate_presigned_url` of that URL, without the scheme.

use std::borrow::Cow;
use std::time::SystemTime;

use aws_credential_types::Credentials;

use super::presign::{PresignRequest, Presignable, TokenSigner};
use super::{names, AuthToken};
use crate::error::{Error, Field};
use crate::region;

/// The SigV4 signing name (service) of MemoryDB tokens.
pub const MEMORYDB_SERVICE: &str = "memorydb";
/// How long a MemoryDB token is valid: 900 seconds.
pub const MEMORYDB_EXPIRES_IN: u64 = 900;

/// A checked MemoryDB token config.
///
/// # Example
/// ```
/// use std::time::SystemTime;
/// use aws_credential_types::Credentials;
/// use rds_auth_token::token::MemoryDbTokenConfig;
///
/// let config = MemoryDbTokenConfig::builder()
///     .cluster_name("my-cluster")
///     .user_id("iam-user-01")
///     .region("us-west-2")
///     .build()?;
/// let credentials = Credentials::new("AKID", "SECRET", None, None, "example");
/// let token = config.generate(&credentials, SystemTime::now())?;
/// assert!(token.as_str().starts_with("my-cluster/?Action=connect&User=iam-user-01&"));
/// # Ok::<(), rds_auth_token::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryDbTokenConfig {
    cluster_name: String,
    user_id: String,
    region: String,
    expires_in: u64,
}

impl MemoryDbTokenConfig {
    /// A builder; cluster name, user id and region are required.
    pub fn builder() -> MemoryDbTokenConfigBuilder {
        MemoryDbTokenConfigBuilder::default()
    }

    /// The cluster name, lower case.
    pub fn cluster_name(&self) -> &str {
        &self.cluster_name
    }

    /// The IAM-enabled user id.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// The signing region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// A config with these values as they are, unchecked: for re-signing a
    /// token someone else made, whose values may be ones `build` refuses
    /// (a name in upper case, another expiry than 900 s).
    pub(crate) fn unchecked(
        cluster_name: String,
        user_id: String,
        region: String,
        expires_in_secs: u64,
    ) -> Self {
        MemoryDbTokenConfig {
            cluster_name,
            user_id,
            region,
            expires_in: expires_in_secs,
        }
    }

    /// How long the token is valid, in seconds.
    pub fn expires_in_secs(&self) -> u64 {
        self.expires_in
    }

    /// Makes the token.
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

impl Presignable for MemoryDbTokenConfig {
    fn presign_request(&self) -> PresignRequest<'_> {
        PresignRequest {
            endpoint: Cow::Borrowed(&self.cluster_name),
            host: names::signed_host(&self.cluster_name),
            params: vec![
                ("Action", Cow::Borrowed("connect")),
                ("User", Cow::Borrowed(self.user_id.as_str())),
            ],
            service: MEMORYDB_SERVICE,
            region: &self.region,
            expires_in_secs: self.expires_in,
        }
    }
}

/// Builds a [`MemoryDbTokenConfig`], checking every field.
#[derive(Debug, Clone, Default)]
pub struct MemoryDbTokenConfigBuilder {
    cluster_name: Option<String>,
    user_id: Option<String>,
    region: Option<String>,
    expires_in: Option<u64>,
}

impl MemoryDbTokenConfigBuilder {
    /// The cluster name: 1 to 40 letters, digits and hyphens.
    pub fn cluster_name(mut self, name: impl Into<String>) -> Self {
        self.cluster_name = Some(name.into());
        self
    }

    /// The user id: 1 to 40 letters, digits and hyphens.
    pub fn user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// The signing region. Required: there is no default.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// How long the token is valid: 1 to 900 seconds, 900 when not set (a
    /// shorter one ends a token with the credentials that sign it).
    pub fn expires_in_secs(mut self, secs: u64) -> Self {
        self.expires_in = Some(secs);
        self
    }

    /// Checks the fields and builds the config.
    ///
    /// # Errors
    /// [`Error::MissingField`] for a field not set, [`Error::InvalidName`]
    /// for a name that is not 1 to 40 letters, digits and hyphens, and the
    /// region's errors.
    pub fn build(self) -> Result<MemoryDbTokenConfig, Error> {
        let cluster_name = self
            .cluster_name
            .ok_or(Error::MissingField("cluster name"))?;
        names::check(Field::ClusterName, &cluster_name)?;
        let user_id = self.user_id.ok_or(Error::MissingField("user id"))?;
        names::check_user_id(&user_id)?;
        let region = self.region.ok_or(Error::MissingField("region"))?;
        region::validate(&region)?;
        let expires_in = match self.expires_in.unwrap_or(MEMORYDB_EXPIRES_IN) {
            0 => return Err(Error::ExpiresInZero),
            secs if secs > MEMORYDB_EXPIRES_IN => {
                return Err(Error::ExpiresInAbove {
                    secs,
                    max: MEMORYDB_EXPIRES_IN,
                    service: "MemoryDB",
                })
            }
            secs => secs,
        };
        Ok(MemoryDbTokenConfig {
            cluster_name: cluster_name.to_ascii_lowercase(),
            user_id,
            region,
            expires_in,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    /// botocore's `RequestSigner.generate_presigned_url` for
    /// `http://my-cluster/?Action=connect&User=iam-user-01`, service
    /// memorydb, at 2026-11-22T01:21:07Z (botocore 1.43.11, frozen clock).
    #[test]
    fn makes_botocores_known_answer() {
        let creds = Credentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "test",
        );
        let config = MemoryDbTokenConfig::builder()
            .cluster_name("my-cluster")
            .user_id("iam-user-01")
            .region("us-west-2")
            .build()
            .unwrap();
        let at = UNIX_EPOCH + Duration::from_secs(1_795_310_467);
        assert_eq!(
            config.generate(&creds, at).unwrap().as_str(),
            "my-cluster/?Action=connect&User=iam-user-01&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261122%2Fus-west-2%2Fmemorydb%2Faws4_request&X-Amz-Date=20261122T012107Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=b69962668e28db2911f3a502ad4b1cbcdf04557b4801e5981ebfc35fde84b790"
        );
    }

    #[test]
    fn takes_a_shorter_expiry_and_refuses_0_and_more_than_900() {
        let builder = || {
            MemoryDbTokenConfig::builder()
                .cluster_name("c")
                .user_id("u")
                .region("us-east-1")
        };
        assert_eq!(builder().build().unwrap().expires_in_secs(), 900);
        assert_eq!(
            builder()
                .expires_in_secs(60)
                .build()
                .unwrap()
                .expires_in_secs(),
            60
        );
        assert_eq!(
            builder().expires_in_secs(0).build(),
            Err(Error::ExpiresInZero)
        );
        assert_eq!(
            builder()
                .expires_in_secs(901)
                .build()
                .unwrap_err()
                .to_string(),
            "a validity of 901 seconds is above 900, the longest MemoryDB accepts; give at most 900"
        );
    }

    #[test]
    fn refuses_a_bad_cluster_name_naming_the_field() {
        let err = MemoryDbTokenConfig::builder()
            .cluster_name("my cluster")
            .user_id("u")
            .region("us-east-1")
            .build()
            .unwrap_err();
        assert!(err
            .to_string()
            .starts_with("the cluster name 'my cluster' is not a valid name"));
    }
}
