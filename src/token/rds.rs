//! RDS and Aurora tokens: a presigned `GET` of
//! `https://HOST:PORT/?Action=connect&DBUser=USER` for service `rds-db`.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;

use super::presign::{PresignRequest, Presignable, TokenSigner};
use super::AuthToken;
use crate::endpoint::validate_hostname;
use crate::error::Error;
use crate::region;
use crate::username::Username;

/// The `Action` query parameter of an RDS IAM auth token.
pub const ACTION: &str = "connect";
/// The SigV4 signing name (service) of RDS IAM auth tokens.
pub const SERVICE: &str = "rds-db";

/// How long a token stays valid: 1 to 900 seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExpiresIn(u64);

impl ExpiresIn {
    /// The longest validity RDS accepts, and the default: 900 seconds.
    pub const MAX: ExpiresIn = ExpiresIn(900);

    /// Checks a validity in seconds.
    ///
    /// # Errors
    /// [`Error::ExpiresInZero`] for 0 and [`Error::ExpiresInTooLong`] above
    /// 900: RDS refuses such tokens, so no silent clamp.
    pub fn from_secs(secs: u64) -> Result<Self, Error> {
        match secs {
            0 => Err(Error::ExpiresInZero),
            1..=900 => Ok(ExpiresIn(secs)),
            _ => Err(Error::ExpiresInTooLong(secs)),
        }
    }

    /// Seconds.
    pub fn as_secs(self) -> u64 {
        self.0
    }

    /// As a `Duration`.
    pub fn as_duration(self) -> Duration {
        Duration::from_secs(self.0)
    }
}

impl Default for ExpiresIn {
    fn default() -> Self {
        ExpiresIn::MAX
    }
}

/// Everything a token is made from but the credentials and the signing time,
/// checked.
///
/// # Example
/// ```
/// use rds_auth_token::AuthTokenConfig;
/// let config = AuthTokenConfig::builder()
///     .hostname("mydb.123456789012.us-east-1.rds.amazonaws.com")
///     .port(5432)
///     .username("jane_doe")
///     .region("us-east-1")
///     .build()?;
/// assert_eq!(config.port(), 5432);
/// # Ok::<(), rds_auth_token::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthTokenConfig {
    hostname: String,
    port: u16,
    username: Username,
    region: String,
    expires_in: ExpiresIn,
}

impl AuthTokenConfig {
    /// A builder; `hostname`, `port`, `username` and `region` are required.
    pub fn builder() -> AuthTokenConfigBuilder {
        AuthTokenConfigBuilder::default()
    }

    /// The database endpoint host name, as given.
    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    /// The database port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The database user.
    pub fn username(&self) -> &Username {
        &self.username
    }

    /// The signing region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// How long the token is valid.
    pub fn expires_in(&self) -> ExpiresIn {
        self.expires_in
    }

    /// A config with these values as they are, unchecked: for re-signing a
    /// token someone else made, whose values may be ones `build` refuses
    /// (an expiry above 900 s, a user name with a control character).
    pub(crate) fn unchecked(
        hostname: String,
        port: u16,
        username: String,
        region: String,
        expires_in_secs: u64,
    ) -> Self {
        AuthTokenConfig {
            hostname,
            port,
            username: Username::unchecked(username),
            region,
            expires_in: ExpiresIn(expires_in_secs),
        }
    }

    /// The value of the signed `host` header: the host in lower case, with
    /// `:PORT` unless the port is 443, as botocore signs it.
    fn signed_host(&self) -> String {
        let host = self.hostname.to_ascii_lowercase();
        if self.port == 443 {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// Makes the token: a SigV4 query-presigned `GET` of
    /// `https://HOST:PORT/?Action=connect&DBUser=USER` for service `rds-db`,
    /// without the `https://`.
    ///
    /// To make many tokens, a [`TokenSigner`] reuses the derived signing key.
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

impl Presignable for AuthTokenConfig {
    fn presign_request(&self) -> PresignRequest<'_> {
        PresignRequest {
            endpoint: Cow::Owned(format!("{}:{}", self.hostname, self.port)),
            host: Cow::Owned(self.signed_host()),
            params: vec![
                ("Action", Cow::Borrowed(ACTION)),
                ("DBUser", Cow::Borrowed(self.username.as_str())),
            ],
            service: SERVICE,
            region: &self.region,
            expires_in_secs: self.expires_in.as_secs(),
        }
    }
}

/// Builds an [`AuthTokenConfig`], checking every field.
#[derive(Debug, Clone, Default)]
pub struct AuthTokenConfigBuilder {
    hostname: Option<String>,
    port: Option<u16>,
    username: Option<String>,
    region: Option<String>,
    expires_in: Option<u64>,
}

impl AuthTokenConfigBuilder {
    /// The database endpoint host name, without scheme, port or path.
    pub fn hostname(mut self, hostname: impl Into<String>) -> Self {
        self.hostname = Some(hostname.into());
        self
    }

    /// The database port, 1 to 65535.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// The database user.
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }

    /// The signing region, e.g. `us-east-1`. Required: there is no default.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// How long the token is valid, in seconds: 1 to 900, 900 when not set.
    pub fn expires_in_secs(mut self, secs: u64) -> Self {
        self.expires_in = Some(secs);
        self
    }

    /// Checks the fields and builds the config.
    ///
    /// # Errors
    /// [`Error::MissingField`] for a field not set, and the [`Error`] of the
    /// first field that fails its check.
    pub fn build(self) -> Result<AuthTokenConfig, Error> {
        let hostname = self.hostname.ok_or(Error::MissingField("hostname"))?;
        validate_hostname(&hostname)?;
        let port = self.port.ok_or(Error::MissingField("port"))?;
        if port == 0 {
            return Err(Error::PortZero);
        }
        let username = Username::new(self.username.ok_or(Error::MissingField("username"))?)?;
        let region = self.region.ok_or(Error::MissingField("region"))?;
        region::validate(&region)?;
        let expires_in = match self.expires_in {
            Some(secs) => ExpiresIn::from_secs(secs)?,
            None => ExpiresIn::default(),
        };
        Ok(AuthTokenConfig {
            hostname,
            port,
            username,
            region,
            expires_in,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::UNIX_EPOCH;

    fn sign_with_aws_sigv4(
        config: &AuthTokenConfig,
        credentials: &Credentials,
        at: SystemTime,
    ) -> String {
        crate::token::presign::tests::sign_with_aws_sigv4(
            &config.presign_request(),
            credentials,
            at,
        )
    }

    fn config(host: &str, port: u16, user: &str, region: &str, expires: u64) -> AuthTokenConfig {
        AuthTokenConfig::builder()
            .hostname(host)
            .port(port)
            .username(user)
            .region(region)
            .expires_in_secs(expires)
            .build()
            .unwrap()
    }

    proptest! {
        #[test]
        fn makes_the_token_aws_sigv4_presigning_makes(
            host in "[A-Za-z0-9]{1,20}(\\.[A-Za-z0-9_-]{1,20}){0,4}",
            port in 1u16..,
            user in "[^\\p{Cc}]{1,40}",
            region in prop::sample::select(vec!["us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1", "ap-southeast-2"]),
            expires in 1u64..=900,
            secs in 0u64..4_102_444_800,
            secret in "[A-Za-z0-9/+]{40}",
            session in proptest::option::of("[A-Za-z0-9/+=]{1,300}"),
        ) {
            let config = config(&host, port, &user, region, expires);
            let creds = Credentials::new("AKIAIOSFODNN7EXAMPLE", secret, session, None, "test");
            let at = UNIX_EPOCH + Duration::from_secs(secs);
            let ours = config.generate(&creds, at).unwrap();
            prop_assert_eq!(ours.as_str(), sign_with_aws_sigv4(&config, &creds, at));
        }
    }

    #[test]
    fn rejects_an_expiry_rds_would_refuse_instead_of_clamping_it() {
        assert_eq!(ExpiresIn::from_secs(900).unwrap().as_secs(), 900);
        assert_eq!(ExpiresIn::from_secs(1).unwrap().as_secs(), 1);
        assert_eq!(ExpiresIn::from_secs(901), Err(Error::ExpiresInTooLong(901)));
        assert_eq!(ExpiresIn::from_secs(0), Err(Error::ExpiresInZero));
    }

    #[test]
    fn requires_every_field_but_the_expiry() {
        let full = || {
            AuthTokenConfig::builder()
                .hostname("h.example.com")
                .port(5432)
                .username("u")
                .region("us-east-1")
        };
        assert_eq!(full().build().unwrap().expires_in(), ExpiresIn::MAX);
        let missing = |b: AuthTokenConfigBuilder, field| {
            assert_eq!(b.build(), Err(Error::MissingField(field)));
        };
        missing(
            AuthTokenConfigBuilder {
                region: None,
                ..full()
            },
            "region",
        );
        missing(
            AuthTokenConfigBuilder {
                hostname: None,
                ..full()
            },
            "hostname",
        );
        missing(
            AuthTokenConfigBuilder {
                port: None,
                ..full()
            },
            "port",
        );
        missing(
            AuthTokenConfigBuilder {
                username: None,
                ..full()
            },
            "username",
        );
        assert_eq!(full().port(0).build(), Err(Error::PortZero));
    }

    #[test]
    fn signs_the_host_header_in_lower_case_without_port_443() {
        let config = |port| {
            AuthTokenConfig::builder()
                .hostname("MyDB.Example.COM")
                .port(port)
                .username("u")
                .region("us-east-1")
                .build()
                .unwrap()
        };
        assert_eq!(config(5432).signed_host(), "mydb.example.com:5432");
        assert_eq!(config(443).signed_host(), "mydb.example.com");
        assert_eq!(config(80).signed_host(), "mydb.example.com:80");
    }
}
