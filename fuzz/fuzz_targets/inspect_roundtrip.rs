//! `rds_auth_token::inspect::parse` against the token makers, for all four
//! kinds (RDS, Aurora DSQL, ElastiCache, MemoryDB). The seeds are tokens
//! botocore made. Beyond never panicking:
//!
//! - what `parse` refuses is empty, has no `?`, or has none of a token's
//!   parameters, as its error says;
//! - what it accepts it can print back: the token's kind, host, port, user
//!   (`DBUser` or `User`), serverless flag, DSQL role, region, access key
//!   id (when not empty), signing time, expiry and whether it has a session
//!   token, put in that kind's config through its checking builder and
//!   signed, make a token that parses to the same fields, with no finding,
//!   whose signature `verify` takes;
//! - a token `parse` finds nothing wrong with (of its own kind's service and
//!   action) is that token again: the same endpoint (a cache or cluster name
//!   in lower case, as the builders write it) and the same parameters, and
//!   the same signature exactly when `verify` says the signature matches.
#![no_main]

use aws_credential_types::Credentials;
use libfuzzer_sys::fuzz_target;
use rds_auth_token::inspect::{self, NotAToken, ParsedToken, SignatureCheck, TokenKind};
use rds_auth_token::token::{
    DsqlAction, DsqlTokenConfig, ElastiCacheTokenConfig, MemoryDbTokenConfig,
};
use rds_auth_token::AuthTokenConfig;

/// The secret key the seeds were signed with.
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
/// The session token the made tokens carry when the input has one.
const SESSION_TOKEN: &str = "FwoGZXIvYXdzEJr//////////wEaDAbc+123/SESSION=";

fn check_refusal(data: &[u8], err: &NotAToken) {
    let trimmed = data.trim_ascii();
    match err {
        NotAToken::Empty => assert!(trimmed.is_empty(), "{err}"),
        NotAToken::TooLong(n) => {
            assert_eq!(*n, data.len());
            assert!(*n > inspect::MAX_INPUT_LEN);
        }
        NotAToken::NoQuery(n) => {
            assert_eq!(*n, trimmed.len());
            assert!(!trimmed.contains(&b'?'), "{err}");
        }
        NotAToken::NoTokenParameters(n) => {
            assert_eq!(*n, trimmed.len());
            assert!(trimmed.contains(&b'?'), "{err}");
        }
        _ => {}
    }
    let _ = err.to_string();
}

fn credentials(token: &ParsedToken) -> Credentials {
    Credentials::new(
        token.access_key_id().unwrap_or_default(),
        SECRET_KEY,
        token.has_session_token().then(|| SESSION_TOKEN.to_owned()),
        None,
        "fuzz",
    )
}

/// The token made again from `token`'s fields through its kind's builder,
/// or `None` when a field is missing or the builder refuses it.
fn make_again(token: &ParsedToken, credentials: &Credentials) -> Option<String> {
    // Credentials always have an access key id.
    token.access_key_id().filter(|key| !key.is_empty())?;
    let host = token.host()?;
    let region = token.region()?;
    let expires = token.expires_in()?;
    let at = token.signed_at()?;
    let made = match token.kind() {
        TokenKind::Rds => AuthTokenConfig::builder()
            .hostname(host)
            .port(token.port()?)
            .username(token.username()?)
            .region(region)
            .expires_in_secs(expires)
            .build()
            .ok()?
            .generate(credentials, at),
        TokenKind::Dsql => DsqlTokenConfig::builder()
            .hostname(host)
            .region(region)
            .admin(token.dsql_role()? == DsqlAction::ConnectAdmin)
            .expires_in_secs(expires)
            .build()
            .ok()?
            .generate(credentials, at),
        TokenKind::ElastiCache => ElastiCacheTokenConfig::builder()
            .cache_name(host)
            .user_id(token.user_id()?)
            .region(region)
            .serverless(token.serverless())
            .expires_in_secs(expires)
            .build()
            .ok()?
            .generate(credentials, at),
        TokenKind::MemoryDb => MemoryDbTokenConfig::builder()
            .cluster_name(host)
            .user_id(token.user_id()?)
            .region(region)
            .expires_in_secs(expires)
            .build()
            .ok()?
            .generate(credentials, at),
    };
    Some(made.ok()?.into_string())
}

/// The action a token of `kind` made from `token` has.
fn action(token: &ParsedToken) -> &'static str {
    match token.kind() {
        TokenKind::Dsql => match token.dsql_role() {
            Some(DsqlAction::ConnectAdmin) => "DbConnectAdmin",
            _ => "DbConnect",
        },
        _ => "connect",
    }
}

fn check_fields_agree(token: &ParsedToken, again: &ParsedToken, made: &str) {
    let kind = token.kind();
    let cache = matches!(kind, TokenKind::ElastiCache | TokenKind::MemoryDb);
    assert_eq!(again.kind(), kind, "{made}");
    let host = token.host().map(|h| {
        if cache {
            h.to_ascii_lowercase()
        } else {
            h.to_owned()
        }
    });
    assert_eq!(again.host(), host.as_deref(), "{made}");
    let port = if kind == TokenKind::Rds {
        token.port()
    } else {
        None
    };
    assert_eq!(again.port(), port, "{made}");
    // Each kind's own user parameter: the made token has no other.
    let username = token.username().filter(|_| kind == TokenKind::Rds);
    assert_eq!(again.username(), username, "{made}");
    assert_eq!(again.user_id(), token.user_id().filter(|_| cache), "{made}");
    assert_eq!(again.action(), Some(action(token)), "{made}");
    if kind == TokenKind::Dsql {
        assert_eq!(again.dsql_role(), token.dsql_role(), "{made}");
    }
    let serverless = kind == TokenKind::ElastiCache && token.serverless();
    assert_eq!(again.serverless(), serverless, "{made}");
    assert_eq!(again.region(), token.region(), "{made}");
    assert_eq!(again.service(), Some(kind.service()), "{made}");
    assert_eq!(again.access_key_id(), token.access_key_id(), "{made}");
    assert_eq!(again.signed_at(), token.signed_at(), "{made}");
    assert_eq!(again.expires_in(), token.expires_in(), "{made}");
    assert_eq!(
        again.has_session_token(),
        token.has_session_token(),
        "{made}"
    );
    assert!(
        again.shape_findings().is_empty(),
        "a made token has findings: {made} {:?}",
        again.shape_findings()
    );
}

/// The endpoint and the sorted parameters of a token, and its signature.
fn taken_apart(token: &[u8], lower_endpoint: bool) -> (Vec<u8>, Vec<&[u8]>, Option<&[u8]>) {
    let token = token.trim_ascii();
    let question = token.iter().position(|&b| b == b'?').unwrap();
    let mut endpoint = token[..question].to_vec();
    if lower_endpoint {
        endpoint.make_ascii_lowercase();
    }
    let mut params: Vec<&[u8]> = token[question + 1..].split(|&b| b == b'&').collect();
    let signature = params
        .iter()
        .find_map(|p| p.strip_prefix(b"X-Amz-Signature="));
    params.retain(|p| {
        !p.starts_with(b"X-Amz-Signature=") && !p.starts_with(b"X-Amz-Security-Token=")
    });
    params.sort_unstable();
    (endpoint, params, signature)
}

fuzz_target!(|data: &[u8]| {
    let token = match inspect::parse(data) {
        Ok(token) => token,
        Err(err) => {
            check_refusal(data, &err);
            return;
        }
    };
    assert!(data.contains(&b'?'));
    let credentials = credentials(&token);
    let Some(made) = make_again(&token, &credentials) else {
        return;
    };
    let again = inspect::parse(made.as_bytes()).expect("a made token is a token");
    check_fields_agree(&token, &again, &made);
    let verified = inspect::verify(&again, &credentials, "fuzz");
    assert_eq!(verified.signature, SignatureCheck::Matches, "{made}");

    let kind = token.kind();
    let plain = token.shape_findings().is_empty()
        && token.service() == Some(kind.service())
        && token.action() == Some(action(&token))
        && !(kind == TokenKind::MemoryDb && token.resource_type().is_some());
    if !plain {
        return;
    }
    let cache = matches!(kind, TokenKind::ElastiCache | TokenKind::MemoryDb);
    let (endpoint, params, signature) = taken_apart(data, cache);
    let (made_endpoint, made_params, made_signature) = taken_apart(made.as_bytes(), cache);
    assert_eq!(
        String::from_utf8_lossy(&endpoint),
        String::from_utf8_lossy(&made_endpoint),
        "{made}"
    );
    assert_eq!(params, made_params, "{made}");
    if !token.has_session_token() {
        let matches =
            inspect::verify(&token, &credentials, "fuzz").signature == SignatureCheck::Matches;
        assert_eq!(
            signature == made_signature,
            matches,
            "verify and the signer disagree on {made}"
        );
    }
});
