//! What a token means, checked by its kind's own rules: what it is for,
//! where, when, and whether that is what was meant.

use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use super::finding::{Finding, HostKind};
use super::kind::TokenKind;
use super::parse::ParsedToken;
use crate::endpoint::region_from_hostname;
use crate::region::is_region_name;
use crate::token::{dsql_region_from_hostname, names, ACTION, SERVICE};

/// What the user meant to connect to: each value that is set is compared
/// with the token's, where the token's kind has it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expected {
    /// The host (RDS, Aurora DSQL), or the cache or cluster name
    /// (ElastiCache, MemoryDB); compared without regard to case or a
    /// trailing dot, as DNS does.
    pub hostname: Option<String>,
    /// The port (RDS only: the other kinds' tokens have none).
    pub port: Option<u16>,
    /// The database user (RDS) or user id (ElastiCache, MemoryDB), exactly.
    /// Aurora DSQL tokens name no user.
    pub username: Option<String>,
    /// The signing region.
    pub region: Option<String>,
}

/// Everything wrong with `token` as of `now`: its shape (from
/// [`ParsedToken::shape_findings`]), then, by the rules of its
/// [kind](ParsedToken::kind), what it is for and where, its session token,
/// its times, and how it differs from `expected`.
///
/// # Example
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use rds_auth_token::inspect::{check, parse, Expected};
///
/// let token = parse(b"db.example.com:5432/?Action=connect&DBUser=jane_doe\
///     &X-Amz-Algorithm=AWS4-HMAC-SHA256\
///     &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261122%2Fus-east-1%2Frds-db%2Faws4_request\
///     &X-Amz-Date=20261122T012107Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host\
///     &X-Amz-Signature=0000000000000000000000000000000000000000000000000000000000000000")?;
/// let an_hour_later = UNIX_EPOCH + Duration::from_secs(1_795_310_467 + 3600);
/// let expected = Expected { port: Some(3306), ..Expected::default() };
/// let codes: Vec<&str> = check(&token, &expected, an_hour_later).iter().map(|f| f.code()).collect();
/// assert_eq!(codes, ["not_rds_endpoint", "expired", "port_differs"]);
/// # Ok::<(), rds_auth_token::inspect::NotAToken>(())
/// ```
pub fn check(token: &ParsedToken, expected: &Expected, now: SystemTime) -> Vec<Finding> {
    let mut findings = token.shape_findings().to_vec();
    let kind = token.kind();

    match kind {
        TokenKind::Rds => check_rds(token, &mut findings),
        TokenKind::Dsql => check_dsql(token, &mut findings),
        TokenKind::ElastiCache | TokenKind::MemoryDb => check_cache(token, &mut findings),
    }

    match token.session_token() {
        Some("") => findings.push(Finding::EmptySessionToken),
        Some(_) => {}
        None => {
            if let Some(key) = token.access_key_id().filter(|k| k.starts_with("ASIA")) {
                findings.push(Finding::MissingSessionToken {
                    access_key_id: key.to_owned(),
                });
            }
        }
    }

    if let Some(secs) = token.expires_in().filter(|s| *s > kind.max_expires_in()) {
        findings.push(Finding::ExpiresTooLong { secs, kind });
    }
    let now = unix_secs(now);
    if let Some(signed_at) = token.signed_at.filter(|t| *t > now) {
        findings.push(Finding::SignedInFuture {
            by_secs: signed_at.abs_diff(now),
            at: timestamp(signed_at),
        });
    }
    if let Some(expires_at) = token.expires_at_secs().filter(|t| *t < now) {
        findings.push(Finding::Expired {
            ago_secs: now.abs_diff(expires_at),
            at: timestamp(expires_at),
            kind,
        });
    }

    compare(token, expected, &mut findings);
    findings
}

/// `Action=connect`, service `rds-db`, an RDS endpoint in the signing region.
fn check_rds(token: &ParsedToken, findings: &mut Vec<Finding>) {
    if let Some(action) = token.action().filter(|a| *a != ACTION) {
        findings.push(Finding::NotConnectAction {
            action: action.to_owned(),
            kind: TokenKind::Rds,
        });
    }
    if let Some(service) = token.service().filter(|s| *s != SERVICE) {
        findings.push(Finding::NotRdsDbService {
            service: service.to_owned(),
        });
    }
    if let Some(host) = token.host() {
        match region_from_hostname(host) {
            Some(endpoint_region) => region_mismatch(token, endpoint_region, findings),
            None => findings.push(Finding::NotRdsEndpoint {
                host: host.to_owned(),
                kind: host_kind(host),
            }),
        }
    }
}

/// `Action=DbConnect` or `DbConnectAdmin`, service `dsql`, a DSQL endpoint
/// (`ID.dsql.REGION.on.aws`) in the signing region.
fn check_dsql(token: &ParsedToken, findings: &mut Vec<Finding>) {
    if let Some(action) = token.action().filter(|_| token.dsql_role().is_none()) {
        findings.push(Finding::NotDsqlAction {
            action: action.to_owned(),
        });
    }
    if let Some(service) = token.service().filter(|s| *s != TokenKind::Dsql.service()) {
        findings.push(Finding::NotDsqlService {
            service: service.to_owned(),
        });
    }
    if let Some(host) = token.host() {
        match dsql_region_from_hostname(&host.to_ascii_lowercase()) {
            Some(endpoint_region) => region_mismatch(token, endpoint_region.to_owned(), findings),
            None => findings.push(Finding::NotDsqlEndpoint {
                host: host.to_owned(),
                kind: host_kind(host),
            }),
        }
    }
}

/// `Action=connect`, the kind's service, a cache or cluster name and a user
/// id of 1 to 40 letters, digits and hyphens, the name in lower case, and
/// `ResourceType` only on ElastiCache.
fn check_cache(token: &ParsedToken, findings: &mut Vec<Finding>) {
    let kind = token.kind();
    if let Some(action) = token.action().filter(|a| *a != ACTION) {
        findings.push(Finding::NotConnectAction {
            action: action.to_owned(),
            kind,
        });
    }
    if let Some(service) = token.service().filter(|s| *s != kind.service()) {
        findings.push(Finding::NotCacheService {
            service: service.to_owned(),
        });
    }
    if let Some(name) = token.host() {
        let field = if kind == TokenKind::MemoryDb {
            "cluster name"
        } else {
            "cache name"
        };
        if !names::is_name(name) {
            findings.push(Finding::InvalidName {
                field,
                value: name.to_owned(),
                kind,
            });
        } else if name.bytes().any(|b| b.is_ascii_uppercase()) {
            findings.push(Finding::UppercaseName {
                name: name.to_owned(),
                kind,
            });
        }
    }
    if let Some(user) = token
        .user_id()
        .filter(|u| !u.is_empty() && !names::is_user_id(u))
    {
        findings.push(Finding::InvalidName {
            field: "user id",
            value: user.to_owned(),
            kind,
        });
    }
    if kind == TokenKind::MemoryDb {
        if let Some(resource_type) = token.resource_type() {
            findings.push(Finding::MemoryDbServerless {
                resource_type: resource_type.to_owned(),
            });
        }
    }
}

/// A signing region (when it is a region name) that is not the endpoint's.
fn region_mismatch(token: &ParsedToken, endpoint_region: String, findings: &mut Vec<Finding>) {
    if let Some(signing_region) = token
        .region()
        .filter(|r| is_region_name(r) && *r != endpoint_region)
    {
        findings.push(Finding::RegionMismatch {
            endpoint_region,
            signing_region: signing_region.to_owned(),
        });
    }
}

/// The token's values against `expected`'s, where its kind has them: RDS
/// all four; Aurora DSQL the host and region; ElastiCache and MemoryDB the
/// name (as the host), the user id (as the user) and the region.
fn compare(token: &ParsedToken, expected: &Expected, findings: &mut Vec<Finding>) {
    let kind = token.kind();
    let bare = |h: &str| h.strip_suffix('.').unwrap_or(h).to_ascii_lowercase();
    if let (Some(want), Some(have)) = (&expected.hostname, token.host()) {
        if bare(want) != bare(have) {
            findings.push(Finding::HostnameDiffers {
                expected: want.clone(),
                actual: have.to_owned(),
                kind,
            });
        }
    }
    let (port, user) = match kind {
        TokenKind::Rds => (token.port(), token.username()),
        TokenKind::Dsql => (None, None),
        TokenKind::ElastiCache | TokenKind::MemoryDb => (None, token.user_id()),
    };
    if let (Some(want), Some(have)) = (expected.port, port) {
        if want != have {
            findings.push(Finding::PortDiffers {
                expected: want,
                actual: have,
            });
        }
    }
    if let (Some(want), Some(have)) = (&expected.username, user) {
        if want != have {
            findings.push(Finding::UsernameDiffers {
                expected: want.clone(),
                actual: have.to_owned(),
                kind,
            });
        }
    }
    if let (Some(want), Some(have)) = (&expected.region, token.region()) {
        if want != have {
            findings.push(Finding::RegionDiffers {
                expected: want.clone(),
                actual: have.to_owned(),
            });
        }
    }
}

fn host_kind(host: &str) -> HostKind {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.parse::<IpAddr>().is_ok() {
        HostKind::IpAddress
    } else if bare
        .strip_suffix('.')
        .unwrap_or(bare)
        .eq_ignore_ascii_case("localhost")
    {
        HostKind::Localhost
    } else {
        HostKind::OtherName
    }
}

/// Seconds since 1970 (negative before), saturating.
pub(crate) fn unix_secs(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

pub(crate) use crate::times::rfc3339_secs as timestamp;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::parse;
    use std::time::Duration;

    const SIGNED_AT: u64 = 1_795_310_467; // 2026-11-22T01:21:07Z

    fn token(host: &str, user: &str, credential: &str, extra: &str) -> ParsedToken {
        let input = format!(
            "{host}:5432/?Action=connect&DBUser={user}&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={credential}&X-Amz-Date=20261122T012107Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host{extra}&X-Amz-Signature={}",
            "a".repeat(64)
        );
        parse(input.as_bytes()).unwrap()
    }

    const HOST: &str = "mydb.123456789012.us-east-1.rds.amazonaws.com";
    const CREDENTIAL: &str = "AKIAIOSFODNN7EXAMPLE%2F20261122%2Fus-east-1%2Frds-db%2Faws4_request";

    fn at(offset: i64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(SIGNED_AT.checked_add_signed(offset).unwrap())
    }

    fn codes(findings: &[Finding]) -> Vec<&'static str> {
        findings.iter().map(Finding::code).collect()
    }

    #[test]
    fn finds_nothing_wrong_with_a_fresh_token_for_an_rds_endpoint() {
        let token = token(HOST, "jane_doe", CREDENTIAL, "");
        for offset in [0, 1, 899, 900] {
            assert_eq!(
                check(&token, &Expected::default(), at(offset)),
                [],
                "{offset}"
            );
        }
    }

    #[test]
    fn says_how_long_ago_it_expired() {
        let token = token(HOST, "u", CREDENTIAL, "");
        let findings = check(&token, &Expected::default(), at(900 + 190));
        assert_eq!(
            findings,
            [Finding::Expired {
                ago_secs: 190,
                at: "2026-11-22T01:36:07Z".into(),
                kind: TokenKind::Rds,
            }]
        );
        assert!(findings[0]
            .to_string()
            .starts_with("the token expired 3 min 10 s ago, at 2026-11-22T01:36:07Z;"));
    }

    #[test]
    fn says_how_far_in_the_future_it_was_signed() {
        let token = token(HOST, "u", CREDENTIAL, "");
        let findings = check(&token, &Expected::default(), at(-120));
        assert_eq!(
            findings,
            [Finding::SignedInFuture {
                by_secs: 120,
                at: "2026-11-22T01:21:07Z".into()
            }]
        );
    }

    #[test]
    fn finds_hosts_that_are_not_rds_endpoints_and_regions_that_differ() {
        for (host, kind) in [
            ("10.0.0.5", HostKind::IpAddress),
            ("[::1]", HostKind::IpAddress),
            ("LOCALHOST", HostKind::Localhost),
            ("db.example.com", HostKind::OtherName),
        ] {
            let findings = check(
                &token(host, "u", CREDENTIAL, ""),
                &Expected::default(),
                at(1),
            );
            assert_eq!(
                findings,
                [Finding::NotRdsEndpoint {
                    host: host.into(),
                    kind
                }]
            );
        }
        let eu = CREDENTIAL.replace("us-east-1", "eu-west-1");
        let findings = check(&token(HOST, "u", &eu, ""), &Expected::default(), at(1));
        assert_eq!(
            findings,
            [Finding::RegionMismatch {
                endpoint_region: "us-east-1".into(),
                signing_region: "eu-west-1".into()
            }]
        );
    }

    #[test]
    fn finds_tokens_that_are_not_rds_db_connect_tokens() {
        let s3 = CREDENTIAL.replace("rds-db", "s3");
        let token = token(HOST, "u", &s3, "");
        let mut input = format!("{HOST}:5432/?Action=GetObject");
        input.push_str(&format!("&DBUser=u&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={s3}&X-Amz-Date=20261122T012107Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature={}", "a".repeat(64)));
        let both = parse(input.as_bytes()).unwrap();
        assert_eq!(
            codes(&check(&token, &Expected::default(), at(1))),
            ["not_rds_db_service"]
        );
        assert_eq!(
            codes(&check(&both, &Expected::default(), at(1))),
            ["not_connect_action", "not_rds_db_service"]
        );
    }

    #[test]
    fn finds_an_empty_or_missing_session_token() {
        let empty = token(HOST, "u", CREDENTIAL, "&X-Amz-Security-Token=");
        assert_eq!(
            codes(&check(&empty, &Expected::default(), at(1))),
            ["empty_session_token"]
        );
        let temporary = CREDENTIAL.replace("AKIA", "ASIA");
        let missing = token(HOST, "u", &temporary, "");
        assert_eq!(
            codes(&check(&missing, &Expected::default(), at(1))),
            ["missing_session_token"]
        );
        let present = token(HOST, "u", &temporary, "&X-Amz-Security-Token=abc");
        assert_eq!(check(&present, &Expected::default(), at(1)), []);
    }

    #[test]
    fn finds_an_expiry_above_900_seconds() {
        let input = format!(
            "{HOST}:5432/?Action=connect&DBUser=u&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={CREDENTIAL}&X-Amz-Date=20261122T012107Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature={}",
            "a".repeat(64)
        );
        let token = parse(input.as_bytes()).unwrap();
        assert_eq!(
            check(&token, &Expected::default(), at(1000)),
            [Finding::ExpiresTooLong {
                secs: 3600,
                kind: TokenKind::Rds
            }]
        );
    }

    #[test]
    fn reports_every_difference_from_what_was_meant() {
        let token = token(HOST, "jane_doe", CREDENTIAL, "");
        let same = Expected {
            hostname: Some(HOST.to_ascii_uppercase() + "."),
            port: Some(5432),
            username: Some("jane_doe".into()),
            region: Some("us-east-1".into()),
        };
        assert_eq!(check(&token, &same, at(1)), []);
        let other = Expected {
            hostname: Some("other.123456789012.us-east-1.rds.amazonaws.com".into()),
            port: Some(3306),
            username: Some("Jane_Doe".into()),
            region: Some("us-east-2".into()),
        };
        assert_eq!(
            codes(&check(&token, &other, at(1))),
            [
                "hostname_differs",
                "port_differs",
                "username_differs",
                "region_differs"
            ]
        );
    }

    #[test]
    fn writes_times_as_rfc3339_and_says_when_it_cannot() {
        assert_eq!(timestamp(1_795_310_467), "2026-11-22T01:21:07Z");
        assert_eq!(timestamp(i64::MAX), "a time after 9999");
        assert_eq!(unix_secs(UNIX_EPOCH - Duration::from_secs(5)), -5);
    }
}
