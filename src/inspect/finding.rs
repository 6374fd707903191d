//! The problems inspect finds in a token, each with a stable code and a fix.

use std::fmt;

use super::kind::TokenKind;
use super::text::{escaped, quoted, short, MESSAGE_MAX};

/// A problem with a token: why the database will refuse it, or how it
/// differs from what was meant.
///
/// [`code`](Finding::code) is stable (scripts match on it; it is the `code`
/// in `--json` output). The `Display` form is one line that says what is
/// wrong and how to fix it; values taken from the token are quoted,
/// escaped and cut short there, so it is safe to print.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Finding {
    /// The token starts with a scheme such as `https://`.
    SchemePrefix { scheme: String, kind: TokenKind },
    /// A line break, tab or other control character inside the token.
    UnexpectedCharacter { character: char, offset: usize },
    /// The part before `?` is not `HOST:PORT/` (`HOST/` for Aurora DSQL,
    /// `NAME/` for ElastiCache and MemoryDB).
    MalformedEndpoint { detail: String, kind: TokenKind },
    /// A parameter every token of its kind has is not there.
    MissingParameter { name: &'static str, kind: TokenKind },
    /// A parameter appears more than once.
    DuplicateParameter {
        name: &'static str,
        count: usize,
        kind: TokenKind,
    },
    /// Parameters no token has: up to three of their names, and how many.
    UnknownParameter {
        /// The first few names that may be shown.
        names: Vec<String>,
        count: usize,
        /// How many may be pieces of the session token (after
        /// `X-Amz-Security-Token`, or its name run into its value), whose
        /// names are never shown.
        hidden: usize,
        kind: TokenKind,
    },
    /// A parameter whose value is not what a token has there.
    MalformedParameter {
        name: &'static str,
        detail: String,
        kind: TokenKind,
    },
    /// A value not in SigV4's canonical percent-encoding.
    NonCanonicalEncoding {
        name: &'static str,
        detail: String,
        kind: TokenKind,
    },
    /// `X-Amz-Security-Token=` with nothing after it.
    EmptySessionToken,
    /// Temporary credentials (an `ASIA` access key) without their session token.
    MissingSessionToken { access_key_id: String },
    /// `Action` is not `connect` (RDS, ElastiCache, MemoryDB).
    NotConnectAction { action: String, kind: TokenKind },
    /// The credential scope's service is not `rds-db`.
    NotRdsDbService { service: String },
    /// The host is not an RDS endpoint name.
    NotRdsEndpoint { host: String, kind: HostKind },
    /// The region in the endpoint name is not the signing region.
    RegionMismatch {
        endpoint_region: String,
        signing_region: String,
    },
    /// `X-Amz-Expires` is above the most its kind accepts: 900 seconds,
    /// a week for Aurora DSQL.
    ExpiresTooLong { secs: u64, kind: TokenKind },
    /// The token has expired.
    Expired {
        ago_secs: u64,
        at: String,
        kind: TokenKind,
    },
    /// The token was signed after the time it is judged at.
    SignedInFuture { by_secs: u64, at: String },
    /// The token is for another host (cache, cluster) than the one meant.
    HostnameDiffers {
        expected: String,
        actual: String,
        kind: TokenKind,
    },
    /// The token is for another port than the one meant.
    PortDiffers { expected: u16, actual: u16 },
    /// The token is for another database user (cache user id) than the one meant.
    UsernameDiffers {
        expected: String,
        actual: String,
        kind: TokenKind,
    },
    /// The token is signed for another region than the one meant.
    RegionDiffers { expected: String, actual: String },
    /// The signature is not the one the credentials make.
    SignatureMismatch {
        access_key_id: String,
        source: String,
    },
    /// The token was made with another access key than the credentials'.
    DifferentAccessKey {
        token_key: String,
        credentials_key: String,
        source: String,
    },
    /// The token's session token is not the credentials' one.
    SessionTokenDiffers { how: SessionTokenDifference },
    /// `--verify` found no credentials to check the signature with.
    CredentialsUnavailable { reason: String },
    /// A parameter of another kind of token: `DBUser` in an Aurora DSQL
    /// token, `User` in an RDS one, `ResourceType` in either.
    ForeignParameter { name: &'static str, kind: TokenKind },
    /// `:PORT` after the host or name of a token whose kind has none.
    PortInToken { port: String, kind: TokenKind },
    /// An Aurora DSQL token's `Action` is not `DbConnect` or `DbConnectAdmin`.
    NotDsqlAction { action: String },
    /// A token with Aurora DSQL's `Action` signed for another service than `dsql`.
    NotDsqlService { service: String },
    /// The host of an Aurora DSQL token is not a DSQL endpoint name.
    NotDsqlEndpoint { host: String, kind: HostKind },
    /// A token with a cache's `User` parameter signed for another service
    /// than `elasticache` or `memorydb`.
    NotCacheService { service: String },
    /// A cache or cluster name or user id that is not 1 to 40 letters,
    /// digits and hyphens; `field` says which (`cache name`, `cluster
    /// name`, `user id`).
    InvalidName {
        field: &'static str,
        value: String,
        kind: TokenKind,
    },
    /// A cache or cluster name with upper-case letters.
    UppercaseName { name: String, kind: TokenKind },
    /// A MemoryDB token with `ResourceType`: MemoryDB has no serverless form.
    MemoryDbServerless { resource_type: String },
}

/// What a host that is not an RDS (or Aurora DSQL) endpoint name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKind {
    /// An IPv4 or IPv6 address.
    IpAddress,
    /// `localhost`, as with a tunnel or port forward.
    Localhost,
    /// Another name: a CNAME, or a name in a private zone.
    OtherName,
}

/// How a token's session token differs from the credentials' one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionTokenDifference {
    /// The credentials have one and the token has none.
    MissingFromToken,
    /// The token has one and the credentials have none.
    NotInCredentials,
    /// Both have one, and they differ.
    Different,
}

impl Finding {
    /// Every code, in the order of the variants.
    pub const CODES: [&'static str; 34] = [
        "scheme_prefix",
        "unexpected_character",
        "malformed_endpoint",
        "missing_parameter",
        "duplicate_parameter",
        "unknown_parameter",
        "malformed_parameter",
        "noncanonical_encoding",
        "empty_session_token",
        "missing_session_token",
        "not_connect_action",
        "not_rds_db_service",
        "not_rds_endpoint",
        "region_mismatch",
        "expires_too_long",
        "expired",
        "signed_in_future",
        "hostname_differs",
        "port_differs",
        "username_differs",
        "region_differs",
        "signature_mismatch",
        "different_access_key",
        "session_token_differs",
        "credentials_unavailable",
        "foreign_parameter",
        "port_in_token",
        "not_dsql_action",
        "not_dsql_service",
        "not_dsql_endpoint",
        "not_cache_service",
        "invalid_name",
        "uppercase_name",
        "memorydb_serverless",
    ];

    /// The stable code, e.g. `expired` or `region_mismatch`.
    pub fn code(&self) -> &'static str {
        let index = match self {
            Finding::SchemePrefix { .. } => 0,
            Finding::UnexpectedCharacter { .. } => 1,
            Finding::MalformedEndpoint { .. } => 2,
            Finding::MissingParameter { .. } => 3,
            Finding::DuplicateParameter { .. } => 4,
            Finding::UnknownParameter { .. } => 5,
            Finding::MalformedParameter { .. } => 6,
            Finding::NonCanonicalEncoding { .. } => 7,
            Finding::EmptySessionToken => 8,
            Finding::MissingSessionToken { .. } => 9,
            Finding::NotConnectAction { .. } => 10,
            Finding::NotRdsDbService { .. } => 11,
            Finding::NotRdsEndpoint { .. } => 12,
            Finding::RegionMismatch { .. } => 13,
            Finding::ExpiresTooLong { .. } => 14,
            Finding::Expired { .. } => 15,
            Finding::SignedInFuture { .. } => 16,
            Finding::HostnameDiffers { .. } => 17,
            Finding::PortDiffers { .. } => 18,
            Finding::UsernameDiffers { .. } => 19,
            Finding::RegionDiffers { .. } => 20,
            Finding::SignatureMismatch { .. } => 21,
            Finding::DifferentAccessKey { .. } => 22,
            Finding::SessionTokenDiffers { .. } => 23,
            Finding::CredentialsUnavailable { .. } => 24,
            Finding::ForeignParameter { .. } => 25,
            Finding::PortInToken { .. } => 26,
            Finding::NotDsqlAction { .. } => 27,
            Finding::NotDsqlService { .. } => 28,
            Finding::NotDsqlEndpoint { .. } => 29,
            Finding::NotCacheService { .. } => 30,
            Finding::InvalidName { .. } => 31,
            Finding::UppercaseName { .. } => 32,
            Finding::MemoryDbServerless { .. } => 33,
        };
        Self::CODES[index]
    }
}

/// A value from the token as a message shows it.
fn q(value: &str) -> String {
    quoted(value, MESSAGE_MAX)
}

/// A number of seconds for people: `45 s`, `3 min 10 s`, `2 h 5 min`, `3 d 4 h`.
pub(crate) fn span(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m, s) {
        (0, 0, 0, s) => format!("{s} s"),
        (0, 0, m, 0) => format!("{m} min"),
        (0, 0, m, s) => format!("{m} min {s} s"),
        (0, h, 0, _) => format!("{h} h"),
        (0, h, m, _) => format!("{h} h {m} min"),
        (d, 0, _, _) => format!("{d} d"),
        (d, h, _, _) => format!("{d} d {h} h"),
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::SchemePrefix { scheme, kind } => match kind {
                TokenKind::Rds => write!(
                    f,
                    "the token starts with the scheme {} and '://'; RDS takes it without a scheme: pass it as generate-db-auth-token prints it, starting with the host",
                    short(scheme)
                ),
                _ => write!(
                    f,
                    "the token starts with the scheme {} and '://'; {kind} takes it without a scheme: pass it as it was printed, starting with the {}",
                    short(scheme),
                    kind.endpoint_noun()
                ),
            },
            Finding::UnexpectedCharacter { character, offset } => {
                let what = match character {
                    '\n' | '\r' => "a line break",
                    '\t' => "a tab",
                    _ => "a control character",
                };
                write!(
                    f,
                    "the token has {what} ({}) at byte {offset}; a token is one unbroken line: copy all of it again, without line breaks",
                    q(&character.to_string())
                )
            }
            Finding::MalformedEndpoint { detail, kind } => {
                let starts = match kind {
                    TokenKind::Rds => "a token starts with HOST:PORT/? and the database checks the host and port",
                    TokenKind::Dsql => "an Aurora DSQL token starts with HOST/? and DSQL checks the host",
                    TokenKind::ElastiCache => "an ElastiCache token starts with the cache name and /?",
                    TokenKind::MemoryDb => "a MemoryDB token starts with the cluster name and /?",
                };
                write!(f, "{detail}; {starts}: {}", kind.make_one())
            }
            Finding::MissingParameter { name, kind } => {
                let why = if *name == "X-Amz-Signature" {
                    "the token was cut short, or the signature removed: copy all of it, through the 64 hex digits after X-Amz-Signature="
                } else {
                    "the token is incomplete or was edited"
                };
                write!(
                    f,
                    "the token has no {name} parameter; {why}; {}",
                    kind.make_one()
                )
            }
            Finding::DuplicateParameter { name, count, kind } => write!(
                f,
                "{name} appears {count} times; the database reads one of them and the signature covers what was signed: do not add to a token, {}",
                kind.make_one()
            ),
            Finding::UnknownParameter {
                names,
                count,
                hidden,
                kind,
            } => {
                let mut shown = names.iter().map(|n| short(n)).collect::<Vec<_>>().join(", ");
                let more = count.saturating_sub(names.len() + hidden);
                if more > 0 {
                    shown.push_str(&format!(" and {more} more"));
                }
                if *hidden > 0 {
                    if !shown.is_empty() {
                        shown.push_str(", and ");
                    }
                    shown.push_str(&format!(
                        "{hidden} not shown, as {} may be part of the session token",
                        if *hidden == 1 { "it" } else { "they" }
                    ));
                }
                let what = if *count == 1 { "parameter" } else { "parameters" };
                write!(
                    f,
                    "the token has {count} {what} no token has ({shown}); the database checks the signature over every parameter, so it will not match: remove them, or {}",
                    kind.make_one()
                )
            }
            Finding::MalformedParameter { name, detail, kind } => {
                write!(f, "{name} {detail}; {}", kind.make_one())
            }
            Finding::NonCanonicalEncoding { name, detail, kind } => match kind {
                TokenKind::Rds => write!(
                    f,
                    "{name} has {detail}; RDS decodes each value and encodes it again the SigV4 way before it checks the signature, so unless the signer did the same it checks other text than was signed: make the token with a signer that encodes as SigV4 does (rds-auth-token, the AWS CLI, a current AWS SDK), and do not edit it"
                ),
                _ => write!(
                    f,
                    "{name} has {detail}; a signer that encodes as SigV4 does writes it otherwise, so {kind} may check other text than was signed: make the token with such a signer (rds-auth-token, a current AWS SDK), and do not edit it"
                ),
            },
            Finding::EmptySessionToken => write!(
                f,
                "X-Amz-Security-Token is empty; temporary credentials need their session token and long-term keys have none: set AWS_SESSION_TOKEN to the session token of the access key, or unset it when the key is a long-term one, and make a new token"
            ),
            Finding::MissingSessionToken { access_key_id } => write!(
                f,
                "access key {} is a temporary one (ASIA...), but the token has no X-Amz-Security-Token; make the token with the credentials' session token too (AWS_SESSION_TOKEN, or a profile that has it)",
                q(access_key_id)
            ),
            Finding::NotConnectAction { action, kind } => {
                let dsql = if action.starts_with("DbConnect") {
                    " (DbConnect and DbConnectAdmin are Aurora DSQL's actions)"
                } else {
                    ""
                };
                write!(
                    f,
                    "Action is {}, not connect; this is not {} IAM auth token{dsql}: {}",
                    short(action),
                    kind.a_name(),
                    kind.make_one()
                )
            }
            Finding::NotRdsDbService { service } => write!(
                f,
                "the token is signed for service {}, not rds-db; it is not an RDS IAM auth token (a presigned URL for another service?): {}",
                short(service),
                TokenKind::Rds.make_one()
            ),
            Finding::NotRdsEndpoint { host, kind } => {
                let what = match kind {
                    HostKind::IpAddress => "an IP address",
                    HostKind::Localhost => "localhost (a tunnel or port forward?)",
                    HostKind::OtherName => "not an RDS endpoint name (a CNAME?)",
                };
                write!(
                    f,
                    "host {} is {what}; RDS checks the token against its own endpoint name: make the token for the endpoint RDS shows (NAME.ID.REGION.rds.amazonaws.com), also when you connect through another name, an address or a tunnel",
                    q(host)
                )
            }
            Finding::RegionMismatch {
                endpoint_region,
                signing_region,
            } => write!(
                f,
                "the token is signed for region {}, but the endpoint is in {}; the database will refuse it: make the token with --region {}",
                q(signing_region),
                q(endpoint_region),
                q(endpoint_region)
            ),
            Finding::ExpiresTooLong { secs, kind } => {
                let max = kind.max_expires_in();
                write!(
                    f,
                    "X-Amz-Expires is {secs} seconds; {kind} refuses tokens valid for more than {max}: make it with an expiry of at most {max} seconds"
                )
            }
            Finding::Expired { ago_secs, at, kind } => {
                let works = match kind {
                    TokenKind::Dsql => "an Aurora DSQL token works for as long as it was made for (15 minutes unless --expires-in said more, a week at most)",
                    _ => "a token works for 15 minutes at most",
                };
                write!(
                    f,
                    "the token expired {} ago, at {at}; {works}: make a new one just before connecting",
                    span(*ago_secs)
                )
            }
            Finding::SignedInFuture { by_secs, at } => write!(
                f,
                "the token was signed at {at}, {} in the future; the clock of the machine that made it is ahead (or this one is behind): synchronize the clocks (NTP), then make a new token",
                span(*by_secs)
            ),
            Finding::HostnameDiffers {
                expected,
                actual,
                kind,
            } => write!(
                f,
                "the token is for {} {}, not {}; make it with {} {}",
                kind.endpoint_noun(),
                q(actual),
                q(expected),
                kind.endpoint_flag(),
                q(expected)
            ),
            Finding::PortDiffers { expected, actual } => write!(
                f,
                "the token is for port {actual}, not {expected}; make it with --port {expected}"
            ),
            Finding::UsernameDiffers {
                expected,
                actual,
                kind,
            } => {
                let (what, flag) = if kind.is_cache() {
                    ("user id", "--user-id")
                } else {
                    ("user", "--username")
                };
                write!(
                    f,
                    "the token is for {what} {}, not {}; make it with {flag} {}",
                    q(actual),
                    q(expected),
                    q(expected)
                )
            }
            Finding::RegionDiffers { expected, actual } => write!(
                f,
                "the token is signed for region {}, not {}; make it with --region {}",
                q(actual),
                q(expected),
                q(expected)
            ),
            Finding::SignatureMismatch {
                access_key_id,
                source,
            } => write!(
                f,
                "the signature is not the one the secret key of {} (from {source}) makes; the token was changed after signing, or made with another secret key: make a new token with these credentials",
                q(access_key_id)
            ),
            Finding::DifferentAccessKey {
                token_key,
                credentials_key,
                source,
            } => write!(
                f,
                "the token was made with access key {}, but the credentials (from {source}) have {}; their secret key cannot check it: make the token with the credentials that may connect",
                q(token_key),
                q(credentials_key)
            ),
            Finding::SessionTokenDiffers { how } => f.write_str(match how {
                SessionTokenDifference::MissingFromToken => "the credentials have a session token and the token has none; make the token with the session token (AWS_SESSION_TOKEN)",
                SessionTokenDifference::NotInCredentials => "the token has a session token and the credentials have none; make the token with the credentials as they are now",
                SessionTokenDifference::Different => "the token's session token is not the credentials' one; make a new token with the credentials as they are now",
            }),
            Finding::CredentialsUnavailable { reason } => {
                write!(f, "could not check the signature: {}", escaped(reason, 400))
            }
            Finding::ForeignParameter { name, kind } => {
                let whose = match *name {
                    "DBUser" => "RDS tokens",
                    "User" => "ElastiCache and MemoryDB tokens",
                    _ => "ElastiCache tokens for a serverless cache",
                };
                write!(
                    f,
                    "the token has {name}, a parameter of {whose} that {} token does not have; it was made for another database or edited: {}",
                    kind.a_name(),
                    kind.make_one()
                )
            }
            Finding::PortInToken { port, kind } => write!(
                f,
                "the token has the port {} after the {}, and {} token has none: {kind} checks the token against the {} alone; {}",
                short(port),
                kind.endpoint_noun(),
                kind.a_name(),
                kind.endpoint_noun(),
                kind.make_one()
            ),
            Finding::NotDsqlAction { action } => write!(
                f,
                "Action is {}, not DbConnect or DbConnectAdmin; Aurora DSQL takes DbConnect for a custom role and DbConnectAdmin for admin: {}",
                short(action),
                TokenKind::Dsql.make_one()
            ),
            Finding::NotDsqlService { service } => write!(
                f,
                "the token is signed for service {}, not dsql; its Action is Aurora DSQL's, and DSQL checks tokens signed for dsql: {}",
                short(service),
                TokenKind::Dsql.make_one()
            ),
            Finding::NotDsqlEndpoint { host, kind } => {
                let what = match kind {
                    HostKind::IpAddress => "an IP address",
                    HostKind::Localhost => "localhost (a tunnel or port forward?)",
                    HostKind::OtherName => "not an Aurora DSQL endpoint name (a CNAME?)",
                };
                write!(
                    f,
                    "host {} is {what}; Aurora DSQL checks the token against its own endpoint name: make the token for the cluster endpoint (ID.dsql.REGION.on.aws), also when you connect through another name, an address or a tunnel",
                    q(host)
                )
            }
            Finding::NotCacheService { service } => write!(
                f,
                "the token is signed for service {}, not elasticache or memorydb; its User parameter is a cache token's, and ElastiCache and MemoryDB check tokens signed for their own service: make one with rds-auth-token elasticache or rds-auth-token memorydb and use it as it is printed",
                short(service)
            ),
            Finding::InvalidName { field, value, kind } => {
                let flag = if *field == "user id" {
                    "--user-id"
                } else {
                    kind.endpoint_flag()
                };
                let endpoint = if *field != "user id" && value.contains('.') {
                    format!(
                        " (the token is signed for an endpoint name, but {} token is signed for the {field} alone)",
                        kind.a_name()
                    )
                } else {
                    String::new()
                };
                let rule = if *field == "user id" && crate::token::names::is_name(value) {
                    "does not begin with a letter"
                } else {
                    "is not 1 to 40 letters, digits and hyphens"
                };
                write!(
                    f,
                    "the {field} {} {rule}{endpoint}; make the token with {flag} and the {field} {kind} shows",
                    q(value)
                )
            }
            Finding::UppercaseName { name, kind } => write!(
                f,
                "the {} name {} has upper-case letters; {kind} stores names in lower case and checks the token against that: make it with {} {}",
                kind.endpoint_noun(),
                q(name),
                kind.endpoint_flag(),
                q(&name.to_ascii_lowercase())
            ),
            Finding::MemoryDbServerless { resource_type } => write!(
                f,
                "the token has ResourceType={}, but MemoryDB has no serverless clusters and its tokens no ResourceType: {}",
                short(resource_type),
                TokenKind::MemoryDb.make_one()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_words() {
        let mut codes = Finding::CODES.to_vec();
        for code in &codes {
            assert!(
                code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{code}"
            );
        }
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), Finding::CODES.len());
    }

    #[test]
    fn each_variant_has_its_own_code() {
        assert_eq!(Finding::EmptySessionToken.code(), "empty_session_token");
        assert_eq!(
            Finding::CredentialsUnavailable { reason: "x".into() }.code(),
            "credentials_unavailable"
        );
        assert_eq!(
            Finding::Expired {
                ago_secs: 1,
                at: "t".into(),
                kind: TokenKind::Rds,
            }
            .code(),
            "expired"
        );
    }

    #[test]
    fn spans_read_as_people_say_them() {
        assert_eq!(span(0), "0 s");
        assert_eq!(span(59), "59 s");
        assert_eq!(span(180), "3 min");
        assert_eq!(span(190), "3 min 10 s");
        assert_eq!(span(3600), "1 h");
        assert_eq!(span(3_900), "1 h 5 min");
        assert_eq!(span(86_400 * 3 + 3600 * 4 + 5), "3 d 4 h");
        assert_eq!(span(86_400), "1 d");
        assert!(span(u64::MAX).ends_with(" h"));
    }

    #[test]
    fn messages_escape_what_comes_from_the_token() {
        let finding = Finding::NotConnectAction {
            action: "x\x1b[2J\u{202e}".into(),
            kind: TokenKind::Rds,
        };
        let message = finding.to_string();
        assert!(message.contains(r"'x\u{1b}[2J\u{202e}'"), "{message}");
        assert!(!message.chars().any(super::super::text::needs_escape));
    }
}
