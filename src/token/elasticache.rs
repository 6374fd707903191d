//! ElastiCache tokens: a presigned `GET` of
//! `NAME/?Action=connect&User=USER` (with `&ResourceType=ServerlessCache`
//! for a serverless cache) for service `elasticache`, valid up to 900 s.
//!
//! No AWS SDK ships this generator; the construction is AWS's own sample's
//! (and redis-py's documented IAM credential provider's): botocore's
//! `RequestSigner.generate_presigned_url` of that URL, without the scheme.

use std::borrow::Cow;
use std::time::SystemTime;

use aws_credential_types::Credentials;

use super::presign::{check_expires_in, PresignRequest, Presignable, TokenSigner};
use super::{names, AuthToken};
use crate::error::{Error, Field};
use crate::region;

/// The SigV4 signing name (service) of ElastiCache tokens.
pub const ELASTICACHE_SERVICE: &str = "elasticache";
/// The longest validity ElastiCache accepts, and the default: 900 seconds.
pub const ELASTICACHE_MAX_EXPIRES_IN: u64 = 900;

/// A checked ElastiCache (Valkey or Redis OSS) token config.
///
/// The user id is also the user name the client must send (`AUTH USER
/// TOKEN`); the cache name is lower-cased, as AWS stores it.
///
/// # Example
/// ```
/// use std::time::SystemTime;
/// use aws_credential_types::Credentials;
/// use rds_auth_token::token::ElastiCacheTokenConfig;
///
/// let config = ElastiCacheTokenConfig::builder()
///     .cache_name("My-Cache")
///     .user_id("iam-user-01")
///     .region("us-east-1")
///     .build()?;
/// let credentials = Credentials::new("AKID", "SECRET", None, None, "example");
/// let token = config.generate(&credentials, SystemTime::now())?;
/// assert!(token.as_str().starts_with("my-cache/?Action=connect&User=iam-user-01&"));
/// # Ok::<(), rds_auth_token::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElastiCacheTokenConfig {
    cache_name: String,
    user_id: String,
    region: String,
    serverless: bool,
    expires_in: u64,
}

impl ElastiCacheTokenConfig {
    /// A builder; cache name, user id and region are required.
    pub fn builder() -> ElastiCacheTokenConfigBuilder {
        ElastiCacheTokenConfigBuilder::default()
    }

    /// The cache (replication group or serverless cache) name, lower case.
    pub fn cache_name(&self) -> &str {
        &self.cache_name
    }

    /// The IAM-enabled user id.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// The signing region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Whether the token is for a serverless cache.
    pub fn serverless(&self) -> bool {
        self.serverless
    }

    /// How long the token is valid, in seconds.
    pub fn expires_in_secs(&self) -> u64 {
        self.expires_in
    }

    /// A config with these values as they are, unchecked: for re-signing a
    /// token someone else made, whose values may be ones `build` refuses
    /// (a name in upper case, an expiry above 900 s).
    pub(crate) fn unchecked(
        cache_name: String,
        user_id: String,
        region: String,
        serverless: bool,
        expires_in_secs: u64,
    ) -> Self {
        ElastiCacheTokenConfig {
            cache_name,
            user_id,
            region,
            serverless,
            expires_in: expires_in_secs,
        }
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

impl Presignable for ElastiCacheTokenConfig {
    fn presign_request(&self) -> PresignRequest<'_> {
        let mut params = vec![
            ("Action", Cow::Borrowed("connect")),
            ("User", Cow::Borrowed(self.user_id.as_str())),
        ];
        if self.serverless {
            params.push(("ResourceType", Cow::Borrowed("ServerlessCache")));
        }
        PresignRequest {
            endpoint: Cow::Borrowed(&self.cache_name),
            host: names::signed_host(&self.cache_name),
            params,
            service: ELASTICACHE_SERVICE,
            region: &self.region,
            expires_in_secs: self.expires_in,
        }
    }
}

/// Builds an [`ElastiCacheTokenConfig`], checking every field.
#[derive(Debug, Clone, Default)]
pub struct ElastiCacheTokenConfigBuilder {
    cache_name: Option<String>,
    user_id: Option<String>,
    region: Option<String>,
    serverless: bool,
    expires_in: Option<u64>,
}

impl ElastiCacheTokenConfigBuilder {
    /// The cache name: 1 to 40 letters, digits and hyphens.
    pub fn cache_name(mut self, name: impl Into<String>) -> Self {
        self.cache_name = Some(name.into());
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

    /// A token for a serverless cache (`ResourceType=ServerlessCache`).
    pub fn serverless(mut self, serverless: bool) -> Self {
        self.serverless = serverless;
        self
    }

    /// How long the token is valid: 1 to 900 seconds, 900 when not set.
    pub fn expires_in_secs(mut self, secs: u64) -> Self {
        self.expires_in = Some(secs);
        self
    }

    /// Checks the fields and builds the config.
    ///
    /// # Errors
    /// [`Error::MissingField`] for a field not set, [`Error::InvalidName`]
    /// for a name that is not 1 to 40 letters, digits and hyphens, and the
    /// region's and expiry's errors.
    pub fn build(self) -> Result<ElastiCacheTokenConfig, Error> {
        let cache_name = self.cache_name.ok_or(Error::MissingField("cache name"))?;
        names::check(Field::CacheName, &cache_name)?;
        let user_id = self.user_id.ok_or(Error::MissingField("user id"))?;
        names::check_user_id(&user_id)?;
        let region = self.region.ok_or(Error::MissingField("region"))?;
        region::validate(&region)?;
        let expires_in = check_expires_in(
            self.expires_in.unwrap_or(ELASTICACHE_MAX_EXPIRES_IN),
            ELASTICACHE_MAX_EXPIRES_IN,
            "ElastiCache",
        )?;
        Ok(ElastiCacheTokenConfig {
            cache_name: cache_name.to_ascii_lowercase(),
            user_id,
            region,
            serverless: self.serverless,
            expires_in,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    /// Tokens botocore's `RequestSigner.generate_presigned_url` made for
    /// `http://NAME/?Action=connect&User=USER[&ResourceType=ServerlessCache]`
    /// at 2026-11-22T01:21:07Z (botocore 1.43.11, frozen clock);
    /// tests/it/token_kinds.rs compares with botocore itself.
    #[test]
    fn makes_botocores_known_answers() {
        let at = UNIX_EPOCH + Duration::from_secs(1_795_310_467);
        let creds = |session: Option<&str>| {
            Credentials::new(
                "AKIAIOSFODNN7EXAMPLE",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                session.map(str::to_owned),
                None,
                "test",
            )
        };
        let cache = ElastiCacheTokenConfig::builder()
            .cache_name("My-Cache")
            .user_id("iam-user-01")
            .region("us-east-1")
            .build()
            .unwrap();
        assert_eq!(
            cache.generate(&creds(None), at).unwrap().as_str(),
            "my-cache/?Action=connect&User=iam-user-01&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261122%2Fus-east-1%2Felasticache%2Faws4_request&X-Amz-Date=20261122T012107Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=0690a1431318aeb82b5031ff78ff13e8514c04a248871347ef391fb023907f8d"
        );
        let serverless = ElastiCacheTokenConfig::builder()
            .cache_name("my-serverless")
            .user_id("iam-user-01")
            .region("eu-west-1")
            .serverless(true)
            .expires_in_secs(60)
            .build()
            .unwrap();
        assert_eq!(
            serverless.generate(&creds(Some("session/token+=")), at).unwrap().as_str(),
            "my-serverless/?Action=connect&User=iam-user-01&ResourceType=ServerlessCache&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261122%2Feu-west-1%2Felasticache%2Faws4_request&X-Amz-Date=20261122T012107Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Security-Token=session%2Ftoken%2B%3D&X-Amz-Signature=ba7a8267bfcd08c72ce93954e553ce55f0c18378afc4f8653b550f95a9fe3a3a"
        );
    }

    #[test]
    fn refuses_bad_names_and_expiries_naming_the_field() {
        let base = || {
            ElastiCacheTokenConfig::builder()
                .cache_name("c")
                .user_id("u")
                .region("us-east-1")
        };
        assert!(base()
            .cache_name("my_cache")
            .build()
            .unwrap_err()
            .to_string()
            .starts_with("the cache name 'my_cache' is not a valid name"));
        assert!(base()
            .user_id("")
            .build()
            .unwrap_err()
            .to_string()
            .starts_with("the user id '' is not a valid name"));
        assert_eq!(
            base().expires_in_secs(901).build().unwrap_err().to_string(),
            "a validity of 901 seconds is above 900, the longest ElastiCache accepts; give at most 900"
        );
        assert_eq!(base().expires_in_secs(0).build(), Err(Error::ExpiresInZero));
        assert_eq!(
            ElastiCacheTokenConfig::builder()
                .cache_name("c")
                .user_id("u")
                .build(),
            Err(Error::MissingField("region"))
        );
    }
}
