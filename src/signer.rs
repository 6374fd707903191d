//! What a token is made from, and the presigning that makes it.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_sigv4::sign::v4;

use crate::encoding::push_encoded;
use crate::endpoint::validate_hostname;
use crate::error::Error;
use crate::region;
use crate::token::AuthToken;
use crate::username::Username;

/// The `Action` query parameter of an RDS IAM auth token.
pub const ACTION: &str = "connect";
/// The SigV4 signing name (service) of RDS IAM auth tokens.
pub const SERVICE: &str = "rds-db";

/// The auth parameters in the order botocore writes them; the security token,
/// when there is one, goes just before the signature.
const AUTH_PARAMS: [&str; 7] = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Security-Token",
    "X-Amz-Signature",
];

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
    /// # Errors
    /// [`Error::Signing`] when the signer refuses the request, which the
    /// checks made by [`AuthTokenConfigBuilder::build`] leave no room for.
    pub fn generate(
        &self,
        credentials: &Credentials,
        signing_time: SystemTime,
    ) -> Result<AuthToken, Error> {
        let mut url = format!(
            "https://{}:{}/?Action={ACTION}&DBUser=",
            self.hostname, self.port
        );
        push_encoded(&mut url, self.username.as_str());

        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(self.expires_in.as_duration());
        let identity = credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(SERVICE)
            .time(signing_time)
            .settings(settings)
            .build()
            .map_err(|e| Error::Signing(e.to_string()))?
            .into();
        let host = self.signed_host();
        let request = SignableRequest::new(
            "GET",
            url.as_str(),
            std::iter::once(("host", host.as_str())),
            // botocore signs the SHA-256 of the empty body, not UNSIGNED-PAYLOAD.
            SignableBody::Bytes(&[]),
        )
        .map_err(|e| Error::Signing(e.to_string()))?;
        let (instructions, _signature) = sign(request, &params)
            .map_err(|e| Error::Signing(e.to_string()))?
            .into_parts();

        let signed = instructions.params();
        let mut token = url.split_off("https://".len());
        for name in AUTH_PARAMS {
            if let Some((_, value)) = signed.iter().find(|(n, _)| *n == name) {
                token.push('&');
                token.push_str(name);
                token.push('=');
                push_encoded(&mut token, value);
            }
        }
        Ok(AuthToken::new(token))
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
