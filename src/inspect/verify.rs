//! Checking a token's signature with credentials: sign its own values again
//! with [`TokenSigner`], through its kind's own config, and compare.

use std::time::SystemTime;

use aws_credential_types::Credentials;

use super::finding::{Finding, SessionTokenDifference};
use super::kind::TokenKind;
use super::parse::{system_time, Param, ParsedToken};
use crate::token::{
    AuthTokenConfig, DsqlTokenConfig, ElastiCacheTokenConfig, MemoryDbTokenConfig, Presignable,
    TokenSigner, ACTION,
};

/// What became of the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureCheck {
    /// Signing the token's values again with the credentials' secret key
    /// makes the same signature.
    Matches,
    /// It makes another one ([`Finding::SignatureMismatch`]).
    DoesNotMatch,
    /// It could not be signed again; the reason says why.
    NotChecked(&'static str),
}

/// The outcome of [`verify`]: the signature, and any problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// What became of the signature.
    pub signature: SignatureCheck,
    /// What is wrong: another access key, another session token, a
    /// signature that does not match.
    pub findings: Vec<Finding>,
}

/// Checks `token` against `credentials`, which came from `source` (e.g.
/// `environment variables`, as [`ResolvedCredentials::source`] says).
///
/// The token's own values (host, port, user, region, signing time, expiry
/// and session token; for Aurora DSQL the action, for ElastiCache and
/// MemoryDB the name, user id and serverless flag) are put in its kind's
/// config ([`AuthTokenConfig`], [`DsqlTokenConfig`],
/// [`ElastiCacheTokenConfig`], [`MemoryDbTokenConfig`]) as they are, signed
/// again with the credentials' secret key by the same [`TokenSigner`] that
/// makes tokens, and the signatures compared.
/// A token made with another access key is reported as such and not
/// checked: that key's secret is not at hand.
///
/// [`ResolvedCredentials::source`]: crate::credentials::ResolvedCredentials::source
///
/// # Example
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use aws_credential_types::Credentials;
/// use rds_auth_token::AuthTokenConfig;
/// use rds_auth_token::inspect::{parse, verify, SignatureCheck};
///
/// let config = AuthTokenConfig::builder()
///     .hostname("mydb.123456789012.us-east-1.rds.amazonaws.com")
///     .port(5432)
///     .username("jane_doe")
///     .region("us-east-1")
///     .build()?;
/// let credentials = Credentials::new("AKID", "SECRET", None, None, "example");
/// let token = config.generate(&credentials, UNIX_EPOCH + Duration::from_secs(1_795_310_467))?;
/// let parsed = parse(token.as_str().as_bytes()).expect("a token");
/// assert_eq!(verify(&parsed, &credentials, "example").signature, SignatureCheck::Matches);
/// let other = Credentials::new("AKID", "ANOTHER", None, None, "example");
/// assert_eq!(verify(&parsed, &other, "example").signature, SignatureCheck::DoesNotMatch);
/// # Ok::<(), rds_auth_token::Error>(())
/// ```
pub fn verify(token: &ParsedToken, credentials: &Credentials, source: &str) -> Verification {
    let mut findings = Vec::new();
    let Some(token_key) = token.access_key_id() else {
        return not_checked("the token has no access key id");
    };
    if token_key != credentials.access_key_id() {
        findings.push(Finding::DifferentAccessKey {
            token_key: token_key.to_owned(),
            credentials_key: credentials.access_key_id().to_owned(),
            source: source.to_owned(),
        });
        return Verification {
            signature: SignatureCheck::NotChecked("the token was made with another access key"),
            findings,
        };
    }
    let how = match (token.session_token(), credentials.session_token()) {
        (None, Some(_)) => Some(SessionTokenDifference::MissingFromToken),
        (Some(_), None) => Some(SessionTokenDifference::NotInCredentials),
        (Some(a), Some(b)) if a != b => Some(SessionTokenDifference::Different),
        _ => None,
    };
    if let Some(how) = how {
        findings.push(Finding::SessionTokenDiffers { how });
    }

    if !token.resignable {
        return Verification {
            signature: SignatureCheck::NotChecked("the token is malformed"),
            findings,
        };
    }
    let kind = token.kind();
    let right_action = match kind {
        TokenKind::Dsql => token.dsql_role().is_some(),
        _ => token.action() == Some(ACTION),
    };
    if !right_action || token.service() != Some(kind.service()) {
        return Verification {
            signature: SignatureCheck::NotChecked(match kind {
                TokenKind::Rds => "the token is not an rds-db connect token",
                TokenKind::Dsql => "the token is not a dsql DbConnect or DbConnectAdmin token",
                TokenKind::ElastiCache => "the token is not an elasticache connect token",
                TokenKind::MemoryDb => "the token is not a memorydb connect token",
            }),
            findings,
        };
    }
    if !fits_its_kind(token) {
        return Verification {
            signature: SignatureCheck::NotChecked(
                "the token has a port or a parameter its kind's tokens do not have",
            ),
            findings,
        };
    }
    let resign_with = Credentials::new(
        token_key,
        credentials.secret_access_key(),
        token.session_token().map(str::to_owned),
        None,
        "inspect",
    );
    let again = match resign(token, &resign_with) {
        Ok(again) => again,
        Err(why) => {
            return Verification {
                signature: SignatureCheck::NotChecked(why),
                findings,
            }
        }
    };
    let signature = again.rsplit_once("&X-Amz-Signature=").map(|(_, s)| s);
    if signature.is_some() && signature == token.signature() {
        Verification {
            signature: SignatureCheck::Matches,
            findings,
        }
    } else {
        findings.push(Finding::SignatureMismatch {
            access_key_id: token_key.to_owned(),
            source: source.to_owned(),
        });
        Verification {
            signature: SignatureCheck::DoesNotMatch,
            findings,
        }
    }
}

/// Whether the token has the port and parameters its kind's config makes,
/// and no others: else that config cannot make it again.
fn fits_its_kind(token: &ParsedToken) -> bool {
    let kind = token.kind();
    let has = |param| token.value(param).is_some();
    let (db_user, user, resource_type) = match kind {
        TokenKind::Rds => (true, false, false),
        TokenKind::Dsql => (false, false, false),
        TokenKind::ElastiCache => (false, true, has(Param::ResourceType)),
        TokenKind::MemoryDb => (false, true, false),
    };
    token.port().is_some() == kind.has_port()
        && has(Param::DbUser) == db_user
        && has(Param::User) == user
        && has(Param::ResourceType) == resource_type
}

/// The token made again from its own values by its kind's config, or why
/// it cannot be.
fn resign(token: &ParsedToken, credentials: &Credentials) -> Result<String, &'static str> {
    const MALFORMED: &str = "the token is malformed";
    let host = token.host().ok_or(MALFORMED)?.to_owned();
    let region = token.region().ok_or(MALFORMED)?.to_owned();
    let at = system_time(token.signed_at.ok_or(MALFORMED)?);
    let expires = token.expires_in().ok_or(MALFORMED)?;
    let user_id = || token.user_id().map(str::to_owned).ok_or(MALFORMED);
    match token.kind() {
        TokenKind::Rds => {
            let user = token.username().ok_or(MALFORMED)?.to_owned();
            let port = token.port().ok_or(MALFORMED)?;
            let config = AuthTokenConfig::unchecked(host, port, user, region, expires);
            signed(&config, credentials, at)
        }
        TokenKind::Dsql => {
            let action = token.dsql_role().ok_or(MALFORMED)?;
            let config = DsqlTokenConfig::unchecked(host, region, action, expires);
            signed(&config, credentials, at)
        }
        TokenKind::ElastiCache => {
            let serverless = token.serverless();
            let config =
                ElastiCacheTokenConfig::unchecked(host, user_id()?, region, serverless, expires);
            signed(&config, credentials, at)
        }
        TokenKind::MemoryDb => {
            let config = MemoryDbTokenConfig::unchecked(host, user_id()?, region, expires);
            signed(&config, credentials, at)
        }
    }
}

fn signed(
    config: &impl Presignable,
    credentials: &Credentials,
    at: SystemTime,
) -> Result<String, &'static str> {
    match TokenSigner::new().sign(config, credentials, at) {
        Ok(token) => Ok(token.into_string()),
        Err(_) => Err("the signing time is before 1970"),
    }
}

fn not_checked(why: &'static str) -> Verification {
    Verification {
        signature: SignatureCheck::NotChecked(why),
        findings: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::parse;
    use std::time::{Duration, UNIX_EPOCH};

    fn make(user: &str, expires: u64, session: Option<&str>) -> String {
        let config = AuthTokenConfig::unchecked(
            "MyDB.123456789012.us-east-1.rds.amazonaws.com".into(),
            443,
            user.into(),
            "us-east-1".into(),
            expires,
        );
        let creds = Credentials::new("AKID", "SECRET", session.map(str::to_owned), None, "t");
        config
            .generate(&creds, UNIX_EPOCH + Duration::from_secs(1_795_310_467))
            .unwrap()
            .into_string()
    }

    fn creds(key: &str, secret: &str, session: Option<&str>) -> Credentials {
        Credentials::new(key, secret, session.map(str::to_owned), None, "t")
    }

    #[test]
    fn matches_tokens_with_any_user_expiry_port_and_session_token() {
        for (user, expires, session) in [
            ("jane doe+x@y/z", 900, None),
            ("名前\u{1}", 3600, Some("FQoG+/=")),
            ("u", 1, Some("")),
        ] {
            let token = parse(make(user, expires, session).as_bytes()).unwrap();
            let v = verify(&token, &creds("AKID", "SECRET", session), "test");
            assert_eq!(
                v,
                Verification {
                    signature: SignatureCheck::Matches,
                    findings: vec![]
                },
                "{user}"
            );
        }
    }

    #[test]
    fn reports_another_secret_key_access_key_or_session_token() {
        let token = parse(make("u", 900, Some("tok")).as_bytes()).unwrap();
        let v = verify(&token, &creds("AKID", "OTHER", Some("tok")), "env");
        assert_eq!(v.signature, SignatureCheck::DoesNotMatch);
        assert_eq!(v.findings[0].code(), "signature_mismatch");
        let v = verify(&token, &creds("AKID2", "SECRET", Some("tok")), "env");
        assert_eq!(v.findings[0].code(), "different_access_key");
        assert!(matches!(v.signature, SignatureCheck::NotChecked(_)));
        let v = verify(&token, &creds("AKID", "SECRET", Some("newer")), "env");
        assert_eq!(v.signature, SignatureCheck::Matches);
        assert_eq!(
            v.findings,
            [Finding::SessionTokenDiffers {
                how: SessionTokenDifference::Different
            }]
        );
    }

    #[test]
    fn finds_a_token_edited_after_signing() {
        let edited = make("jane", 900, None).replace("DBUser=jane", "DBUser=admin");
        let token = parse(edited.as_bytes()).unwrap();
        let v = verify(&token, &creds("AKID", "SECRET", None), "env");
        assert_eq!(v.signature, SignatureCheck::DoesNotMatch);
    }

    #[test]
    fn does_not_check_a_malformed_token() {
        let token = make("u", 900, None);
        let cut = parse(&token.as_bytes()[..token.len() - 1]).unwrap();
        let v = verify(&cut, &creds("AKID", "SECRET", None), "env");
        assert_eq!(
            v.signature,
            SignatureCheck::NotChecked("the token is malformed")
        );
    }
}
