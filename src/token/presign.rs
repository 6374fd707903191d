//! The presigning core every token kind shares: a SigV4 query-presigned
//! `GET` of `/` with the kind's own query, written in botocore's order.
//!
//! A token kind supplies a [`PresignRequest`] (what is printed before `/?`,
//! the signed `host` header, its operation parameters, service, region and
//! validity); [`TokenSigner`] does the rest: the canonical request, the
//! signing key (derived again only when the day, region, service or secret
//! changes), and the token text.

use std::borrow::Cow;
use std::fmt;
use std::fmt::Write as _;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::sign::v4;
use sha2::{Digest, Sha256};

use super::encoding::push_encoded;
use super::AuthToken;
use crate::error::Error;

/// The SigV4 algorithm name.
const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The hex SHA-256 of the empty body: botocore signs it, not `UNSIGNED-PAYLOAD`.
const EMPTY_BODY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// One presigned `GET /`, as a token kind describes it. Made by the kinds'
/// configs ([`Presignable`]); its fields are the library's own.
#[derive(Debug, Clone)]
pub struct PresignRequest<'a> {
    /// What the token starts with, before `/?`: `HOST:PORT` as typed for
    /// RDS, the host alone for DSQL, the cache name for ElastiCache.
    pub(crate) endpoint: Cow<'a, str>,
    /// The value of the signed `host` header.
    pub(crate) host: Cow<'a, str>,
    /// The operation's query parameters, not yet encoded, in the order
    /// botocore writes them (ahead of the `X-Amz-*` ones).
    pub(crate) params: Vec<(&'static str, Cow<'a, str>)>,
    /// The SigV4 signing name, e.g. `rds-db`.
    pub(crate) service: &'static str,
    /// The signing region.
    pub(crate) region: &'a str,
    /// `X-Amz-Expires`, in seconds.
    pub(crate) expires_in_secs: u64,
}

/// Checks a validity of `secs` for a kind that accepts at most `max`:
/// 0 and anything above `max` are refused, never clamped.
///
/// # Errors
/// [`Error::ExpiresInZero`] and [`Error::ExpiresInAbove`], naming `service`.
pub(crate) fn check_expires_in(secs: u64, max: u64, service: &'static str) -> Result<u64, Error> {
    match secs {
        0 => Err(Error::ExpiresInZero),
        secs if secs > max => Err(Error::ExpiresInAbove { secs, max, service }),
        secs => Ok(secs),
    }
}

/// A token kind's checked config: what it presigns.
pub trait Presignable {
    /// The request this config's token presigns.
    fn presign_request(&self) -> PresignRequest<'_>;
}

/// Makes tokens, keeping the SigV4 signing key derived for the last day,
/// region, service and secret key so that the next token with the same ones
/// costs two hashes instead of six.
///
/// The key derivation and the signature are aws-sigv4's
/// ([`v4::generate_signing_key`], [`v4::calculate_signature`]); the
/// canonical request is the one aws-sigv4 and botocore build for these
/// requests, which the tests check against both of them.
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
    service: &'static str,
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

    /// Makes the token for `config` (any token kind's), as its `generate`
    /// does.
    ///
    /// # Errors
    /// [`Error::Signing`] for a signing time before 1970 or after 9999.
    pub fn sign(
        &mut self,
        config: &impl Presignable,
        credentials: &Credentials,
        signing_time: SystemTime,
    ) -> Result<AuthToken, Error> {
        self.presign(&config.presign_request(), credentials, signing_time)
    }

    fn presign(
        &mut self,
        request: &PresignRequest,
        credentials: &Credentials,
        signing_time: SystemTime,
    ) -> Result<AuthToken, Error> {
        let time = AmzTime::new(signing_time)?;
        let date = time.date();
        let (region, service) = (request.region, request.service);

        let mut scope = String::with_capacity(48);
        let _ = write!(scope, "{date}/{region}/{service}/aws4_request");
        let mut credential = String::with_capacity(64);
        let _ = write!(credential, "{}/{scope}", credentials.access_key_id());

        // Every query pair, encoded: the operation's in the kind's order,
        // then the signing parameters in botocore's.
        let mut pairs: Vec<(&str, String)> = Vec::with_capacity(request.params.len() + 7);
        for (name, value) in &request.params {
            pairs.push((name, encoded(value)));
        }
        pairs.push(("X-Amz-Algorithm", ALGORITHM.to_owned()));
        pairs.push(("X-Amz-Credential", encoded(&credential)));
        pairs.push(("X-Amz-Date", time.as_str().to_owned()));
        pairs.push(("X-Amz-Expires", request.expires_in_secs.to_string()));
        pairs.push(("X-Amz-SignedHeaders", "host".to_owned()));
        if let Some(session_token) = credentials.session_token() {
            pairs.push(("X-Amz-Security-Token", encoded(session_token)));
        }

        // The canonical query string has the pairs sorted by name, then value.
        let mut sorted: Vec<&(&str, String)> = pairs.iter().collect();
        sorted.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        let mut hasher = Sha256::new();
        hasher.update(b"GET\n/\n");
        for (i, (name, value)) in sorted.iter().enumerate() {
            if i > 0 {
                hasher.update(b"&");
            }
            hasher.update(name.as_bytes());
            hasher.update(b"=");
            hasher.update(value.as_bytes());
        }
        hasher.update(b"\nhost:");
        hasher.update(request.host.as_bytes());
        hasher.update(b"\n\nhost\n");
        hasher.update(EMPTY_BODY_SHA256.as_bytes());
        let canonical_request_hash = hex(&hasher.finalize());

        let mut string_to_sign = String::with_capacity(160);
        let _ = write!(
            string_to_sign,
            "{ALGORITHM}\n{}\n{scope}\n{canonical_request_hash}",
            time.as_str()
        );
        let key = self.signing_key(date, region, service, credentials, signing_time);
        let signature = v4::calculate_signature(key, string_to_sign.as_bytes());

        let mut token = String::with_capacity(512);
        token.push_str(&request.endpoint);
        token.push_str("/?");
        for (name, value) in &pairs {
            token.push_str(name);
            token.push('=');
            token.push_str(value);
            token.push('&');
        }
        token.push_str("X-Amz-Signature=");
        token.push_str(&signature);
        Ok(AuthToken::new(token))
    }

    /// The signing key for `date`, `region`, `service` and the secret key,
    /// derived again only when one of them changed since the last token.
    fn signing_key(
        &mut self,
        date: &str,
        region: &str,
        service: &'static str,
        credentials: &Credentials,
        time: SystemTime,
    ) -> &[u8; 32] {
        let secret = credentials.secret_access_key();
        let fresh = self.key.as_ref().is_some_and(|k| {
            k.date.as_slice() == date.as_bytes()
                && k.region == region
                && k.service == service
                && k.secret == secret
        });
        if !fresh {
            let derived = v4::generate_signing_key(secret, time, region, service);
            let mut key = [0; 32];
            key.copy_from_slice(derived.as_ref());
            let mut day = [0; 8];
            day.copy_from_slice(date.as_bytes());
            self.key = Some(SigningKey {
                date: day,
                region: region.to_owned(),
                service,
                secret: secret.to_owned(),
                key,
            });
        }
        &self.key.as_ref().expect("set above").key
    }
}

fn encoded(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    push_encoded(&mut out, value);
    out
}

/// A signing time as SigV4 writes it: `YYYYMMDDTHHMMSSZ`.
struct AmzTime([u8; 16]);

impl AmzTime {
    fn new(signing_time: SystemTime) -> Result<Self, Error> {
        crate::times::amz_date(signing_time)
            .map(AmzTime)
            .ok_or_else(|| Error::Signing("the signing time is not between 1970 and 9999".into()))
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::{Duration, UNIX_EPOCH};

    /// The token as aws-sigv4's own presigning (`http_request::sign`) makes
    /// it, put in botocore's parameter order: the oracle for [`TokenSigner`]
    /// and every token kind.
    pub(crate) fn sign_with_aws_sigv4(
        request: &PresignRequest,
        credentials: &Credentials,
        at: SystemTime,
    ) -> String {
        use aws_sigv4::http_request::{
            sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
        };
        let mut url = format!("https://{}/?", request.endpoint);
        for (i, (name, value)) in request.params.iter().enumerate() {
            if i > 0 {
                url.push('&');
            }
            url.push_str(name);
            url.push('=');
            push_encoded(&mut url, value);
        }
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(request.expires_in_secs));
        let identity = credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(request.region)
            .name(request.service)
            .time(at)
            .settings(settings)
            .build()
            .unwrap()
            .into();
        let signable = SignableRequest::new(
            "GET",
            url.as_str(),
            std::iter::once(("host", request.host.as_ref())),
            SignableBody::Bytes(&[]),
        )
        .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
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
                if !token.ends_with('?') {
                    token.push('&');
                }
                token.push_str(name);
                token.push('=');
                push_encoded(&mut token, value);
            }
        }
        token
    }

    fn request<'a>(
        params: Vec<(&'static str, Cow<'a, str>)>,
        service: &'static str,
        region: &'a str,
    ) -> PresignRequest<'a> {
        PresignRequest {
            endpoint: "h.example.com".into(),
            host: "h.example.com".into(),
            params,
            service,
            region,
            expires_in_secs: 900,
        }
    }

    proptest! {
        #[test]
        fn presigns_any_query_as_aws_sigv4_does(
            params in prop::collection::vec(("[A-Za-z]{1,12}", "[^\\p{Cc}]{0,20}"), 0..5),
            service in prop::sample::select(vec!["rds-db", "dsql", "elasticache", "memorydb"]),
            secs in 0u64..4_102_444_800,
            session in proptest::option::of("[A-Za-z0-9/+=]{1,300}"),
        ) {
            // Distinct names that do not start with X-Amz-, as every kind's are.
            let mut seen = std::collections::HashSet::new();
            let params: Vec<(&'static str, Cow<str>)> = params
                .into_iter()
                .filter(|(n, _)| seen.insert(n.clone()))
                .map(|(n, v)| (&*Box::leak(n.into_boxed_str()), Cow::Owned(v)))
                .collect();
            let request = request(params, service, "eu-west-1");
            let creds = Credentials::new("AKIAIOSFODNN7EXAMPLE", "secret", session, None, "test");
            let at = UNIX_EPOCH + Duration::from_secs(secs);
            let ours = TokenSigner::new().presign(&request, &creds, at).unwrap();
            prop_assert_eq!(ours.as_str(), sign_with_aws_sigv4(&request, &creds, at));
        }
    }

    #[test]
    fn a_reused_signer_signs_as_a_fresh_one_when_day_region_service_or_secret_change() {
        let a = Credentials::new("AKIDA", "secret-a", None, None, "test");
        let b = Credentials::new("AKIDB", "secret-b", Some("tok".into()), None, "test");
        let day1 = UNIX_EPOCH + Duration::from_secs(1_795_310_467);
        let day2 = day1 + Duration::from_secs(86_400);
        let params = || vec![("Action", Cow::Borrowed("connect"))];
        let east = request(params(), "rds-db", "us-east-1");
        let west = request(params(), "rds-db", "eu-west-1");
        let dsql = request(params(), "dsql", "eu-west-1");
        let mut signer = TokenSigner::new();
        for (req, creds, at) in [
            (&east, &a, day1),
            (&east, &a, day1 + Duration::from_secs(5)),
            (&east, &a, day2),
            (&west, &a, day2),
            (&dsql, &a, day2),
            (&west, &b, day2),
            (&east, &a, day1),
        ] {
            let reused = signer.presign(req, creds, at).unwrap();
            assert_eq!(reused.as_str(), sign_with_aws_sigv4(req, creds, at));
        }
    }

    #[test]
    fn refuses_a_signing_time_before_1970() {
        let creds = Credentials::new("AKID", "secret", None, None, "test");
        let req = request(vec![], "rds-db", "us-east-1");
        let err = TokenSigner::new()
            .presign(&req, &creds, UNIX_EPOCH - Duration::from_secs(1))
            .unwrap_err();
        assert!(matches!(err, Error::Signing(_)), "{err}");
    }

    #[test]
    fn debug_of_a_signer_hides_the_derived_key() {
        let mut signer = TokenSigner::new();
        let creds = Credentials::new("AKID", "secret", None, None, "test");
        let req = request(vec![], "rds-db", "us-east-1");
        signer.presign(&req, &creds, SystemTime::now()).unwrap();
        assert_eq!(
            format!("{signer:?}"),
            r#"TokenSigner { key: Some("** redacted **") }"#
        );
    }
}
