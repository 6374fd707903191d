//! What a token is made from, and the presigning that makes it.

use std::fmt;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::sign::v4;
use sha2::{Digest, Sha256};

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

/// The SigV4 algorithm name.
const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The hex SHA-256 of the empty body: botocore signs it, not `UNSIGNED-PAYLOAD`.
const EMPTY_BODY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

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

/// Makes tokens, keeping the SigV4 signing key derived for the last day,
/// region and secret key so that the next token with the same ones costs two
/// hashes instead of six.
///
/// The key derivation and the signature are aws-sigv4's
/// ([`v4::generate_signing_key`], [`v4::calculate_signature`]); the
/// canonical request is the one aws-sigv4 and botocore build for this
/// request, which the tests check against both of them.
///
/// # Example
/// ```
/// use std::time::SystemTime;
/// use aws_credential_types::Credentials;
/// use rds_auth_token::{AuthTokenConfig, TokenSigner};
///
/// let config = AuthTokenConfig::builder()
///     .hostname("mydb.123456789012.us-east-1.rds.amazonaws.com")
///     .port(5432)
///     .username("jane_doe")
///     .region("us-east-1")
///     .build()?;
/// let credentials = Credentials::new("AKID", "SECRET", None, None, "example");
/// let mut signer = TokenSigner::new();
/// let first = signer.sign(&config, &credentials, SystemTime::now())?;
/// let second = signer.sign(&config, &credentials, SystemTime::now())?;
/// assert_eq!(first.endpoint(), second.endpoint());
/// # Ok::<(), rds_auth_token::Error>(())
/// ```
#[derive(Default)]
pub struct TokenSigner {
    key: Option<SigningKey>,
}

/// A derived signing key and what it was derived from.
struct SigningKey {
    date: [u8; 8],
    region: String,
    secret: String,
    key: [u8; 32],
}

impl fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSigner")
            .field("key", &self.key.as_ref().map(|_| "** redacted **"))
            .finish()
    }
}

impl TokenSigner {
    /// A signer with no key derived yet.
    pub fn new() -> Self {
        TokenSigner::default()
    }

    /// Makes the token for `config`, as [`AuthTokenConfig::generate`] does.
    ///
    /// # Errors
    /// [`Error::Signing`] for a signing time before 1970 or after 9999.
    pub fn sign(
        &mut self,
        config: &AuthTokenConfig,
        credentials: &Credentials,
        signing_time: SystemTime,
    ) -> Result<AuthToken, Error> {
        let time = AmzTime::new(signing_time)?;
        let date = time.date();
        let region = config.region.as_str();
        let secret = credentials.secret_access_key();

        let mut credential = String::with_capacity(64);
        let _ = write!(
            credential,
            "{}/{date}/{region}/{SERVICE}/aws4_request",
            credentials.access_key_id()
        );
        let mut token = String::with_capacity(512);
        let _ = write!(
            token,
            "{}:{}/?Action={ACTION}&DBUser=",
            config.hostname, config.port
        );
        push_encoded(&mut token, config.username.as_str());
        token.push_str("&X-Amz-Algorithm=");
        token.push_str(ALGORITHM);
        token.push_str("&X-Amz-Credential=");
        push_encoded(&mut token, &credential);
        token.push_str("&X-Amz-Date=");
        token.push_str(time.as_str());
        let _ = write!(token, "&X-Amz-Expires={}", config.expires_in.as_secs());
        let session_token_at = token.len();
        if let Some(session_token) = credentials.session_token() {
            token.push_str("&X-Amz-Security-Token=");
            push_encoded(&mut token, session_token);
        }
        let session_token_end = token.len();
        token.push_str("&X-Amz-SignedHeaders=host");

        // The canonical query string is the token's query with its pairs
        // sorted; in this order only X-Amz-Security-Token sorts before
        // X-Amz-SignedHeaders, which botocore writes after it.
        let query = &token[token.find('?').map_or(0, |i| i + 1)..];
        let mut hasher = Sha256::new();
        hasher.update(b"GET\n/\n");
        hasher.update(query.as_bytes());
        hasher.update(b"\nhost:");
        hasher.update(config.signed_host().as_bytes());
        hasher.update(b"\n\nhost\n");
        hasher.update(EMPTY_BODY_SHA256.as_bytes());
        let canonical_request_hash = hex(&hasher.finalize());

        let mut string_to_sign = String::with_capacity(160);
        let _ = write!(
            string_to_sign,
            "{ALGORITHM}\n{}\n{date}/{region}/{SERVICE}/aws4_request\n{canonical_request_hash}",
            time.as_str()
        );
        let key = self.signing_key(date, region, secret, signing_time);
        let signature = v4::calculate_signature(key, string_to_sign.as_bytes());

        // botocore writes the security token after X-Amz-SignedHeaders, just
        // before the signature.
        let session = token[session_token_at..session_token_end].to_owned();
        token.replace_range(session_token_at..session_token_end, "");
        token.push_str(&session);
        token.push_str("&X-Amz-Signature=");
        token.push_str(&signature);
        Ok(AuthToken::new(token))
    }

    /// The signing key for `date`, `region` and `secret`, derived again only
    /// when one of them changed since the last token.
    fn signing_key(
        &mut self,
        date: &str,
        region: &str,
        secret: &str,
        time: SystemTime,
    ) -> &[u8; 32] {
        let fresh = self.key.as_ref().is_some_and(|k| {
            k.date.as_slice() == date.as_bytes() && k.region == region && k.secret == secret
        });
        if !fresh {
            let derived = v4::generate_signing_key(secret, time, region, SERVICE);
            let mut key = [0; 32];
            key.copy_from_slice(derived.as_ref());
            let mut day = [0; 8];
            day.copy_from_slice(date.as_bytes());
            self.key = Some(SigningKey {
                date: day,
                region: region.to_owned(),
                secret: secret.to_owned(),
                key,
            });
        }
        &self.key.as_ref().expect("set above").key
    }
}

/// A signing time as SigV4 writes it: `YYYYMMDDTHHMMSSZ`.
struct AmzTime([u8; 16]);

impl AmzTime {
    fn new(signing_time: SystemTime) -> Result<Self, Error> {
        let out_of_range =
            || Error::Signing("the signing time is not between 1970 and 9999".into());
        let secs = signing_time
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_err(|_| out_of_range())?
            .as_secs();
        let at = time::OffsetDateTime::from_unix_timestamp(
            i64::try_from(secs).map_err(|_| out_of_range())?,
        )
        .map_err(|_| out_of_range())?;
        if at.year() > 9999 {
            return Err(out_of_range());
        }
        let mut text = String::with_capacity(16);
        let _ = write!(
            text,
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second()
        );
        let mut bytes = [0; 16];
        bytes.copy_from_slice(text.as_bytes());
        Ok(AmzTime(bytes))
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("ASCII digits")
    }

    /// `YYYYMMDD`, the date in the credential scope.
    fn date(&self) -> &str {
        &self.as_str()[..8]
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
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

    /// The token as aws-sigv4's own presigning (`http_request::sign`) makes
    /// it, put in botocore's parameter order: the oracle for [`TokenSigner`].
    fn sign_with_aws_sigv4(
        config: &AuthTokenConfig,
        credentials: &Credentials,
        at: SystemTime,
    ) -> String {
        use aws_sigv4::http_request::{
            sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
        };
        let mut url = format!(
            "https://{}:{}/?Action=connect&DBUser=",
            config.hostname, config.port
        );
        push_encoded(&mut url, config.username.as_str());
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(config.expires_in.as_duration());
        let identity = credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&config.region)
            .name(SERVICE)
            .time(at)
            .settings(settings)
            .build()
            .unwrap()
            .into();
        let host = config.signed_host();
        let request = SignableRequest::new(
            "GET",
            url.as_str(),
            std::iter::once(("host", host.as_str())),
            SignableBody::Bytes(&[]),
        )
        .unwrap();
        let (instructions, _) = sign(request, &params).unwrap().into_parts();
        let mut token = url.split_off("https://".len());
        for name in [
            "X-Amz-Algorithm",
            "X-Amz-Credential",
            "X-Amz-Date",
            "X-Amz-Expires",
            "X-Amz-SignedHeaders",
            "X-Amz-Security-Token",
            "X-Amz-Signature",
        ] {
            if let Some((_, value)) = instructions.params().iter().find(|(n, _)| *n == name) {
                token.push('&');
                token.push_str(name);
                token.push('=');
                push_encoded(&mut token, value);
            }
        }
        token
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
    fn a_reused_signer_signs_as_a_fresh_one_when_day_region_or_secret_change() {
        let a = Credentials::new("AKIDA", "secret-a", None, None, "test");
        let b = Credentials::new("AKIDB", "secret-b", Some("tok".into()), None, "test");
        let day1 = UNIX_EPOCH + Duration::from_secs(1_795_310_467);
        let day2 = day1 + Duration::from_secs(86_400);
        let east = config("h.example.com", 5432, "u", "us-east-1", 900);
        let west = config("h.example.com", 5432, "u", "eu-west-1", 900);
        let mut signer = TokenSigner::new();
        for (cfg, creds, at) in [
            (&east, &a, day1),
            (&east, &a, day1 + Duration::from_secs(5)),
            (&east, &a, day2),
            (&west, &a, day2),
            (&west, &b, day2),
            (&east, &a, day1),
        ] {
            let reused = signer.sign(cfg, creds, at).unwrap();
            assert_eq!(reused.as_str(), sign_with_aws_sigv4(cfg, creds, at));
        }
    }

    #[test]
    fn refuses_a_signing_time_before_1970() {
        let creds = Credentials::new("AKID", "secret", None, None, "test");
        let err = config("h.example.com", 1, "u", "us-east-1", 900)
            .generate(&creds, UNIX_EPOCH - Duration::from_secs(1))
            .unwrap_err();
        assert!(matches!(err, Error::Signing(_)), "{err}");
    }

    #[test]
    fn debug_of_a_signer_hides_the_derived_key() {
        let mut signer = TokenSigner::new();
        let creds = Credentials::new("AKID", "secret", None, None, "test");
        signer
            .sign(
                &config("h.example.com", 1, "u", "us-east-1", 900),
                &creds,
                SystemTime::now(),
            )
            .unwrap();
        assert_eq!(
            format!("{signer:?}"),
            r#"TokenSigner { key: Some("** redacted **") }"#
        );
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
