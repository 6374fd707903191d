//! The problems inspect finds in a token, each with a stable code and a fix.

use std::fmt;

use super::parse::short;
use super::text::{escaped, quoted, MESSAGE_MAX};

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
    SchemePrefix { scheme: String },
    /// A line break, tab or other control character inside the token.
    UnexpectedCharacter { character: char, offset: usize },
    /// The part before `?` is not `HOST:PORT/`.
    MalformedEndpoint { detail: String },
    /// A parameter every token has is not there.
    MissingParameter { name: &'static str },
    /// A parameter appears more than once.
    DuplicateParameter { name: &'static str, count: usize },
    /// Parameters no token has: up to three of their names, and how many.
    UnknownParameter { names: Vec<String>, count: usize },
    /// A parameter whose value is not what a token has there.
    MalformedParameter { name: &'static str, detail: String },
    /// A value not in SigV4's canonical percent-encoding.
    NonCanonicalEncoding { name: &'static str, detail: String },
    /// `X-Amz-Security-Token=` with nothing after it.
    EmptySessionToken,
    /// Temporary credentials (an `ASIA` access key) without their session token.
    MissingSessionToken { access_key_id: String },
    /// `Action` is not `connect`.
    NotConnectAction { action: String },
    /// The credential scope's service is not `rds-db`.
    NotRdsDbService { service: String },
    /// The host is not an RDS endpoint name.
    NotRdsEndpoint { host: String, kind: HostKind },
    /// The region in the endpoint name is not the signing region.
    RegionMismatch {
        endpoint_region: String,
        signing_region: String,
    },
    /// `X-Amz-Expires` is above 900 seconds.
    ExpiresTooLong { secs: u64 },
    /// The token has expired.
    Expired { ago_secs: u64, at: String },
    /// The token was signed after the time it is judged at.
    SignedInFuture { by_secs: u64, at: String },
    /// The token is for another host than the one meant.
    HostnameDiffers { expected: String, actual: String },
    /// The token is for another port than the one meant.
    PortDiffers { expected: u16, actual: u16 },
    /// The token is for another database user than the one meant.
    UsernameDiffers { expected: String, actual: String },
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
}

/// What a host that is not an RDS endpoint name is.
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
    pub const CODES: [&'static str; 25] = [
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

const MAKE_ONE: &str =
    "make one with rds-auth-token or aws rds generate-db-auth-token and use it as it is printed";

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::SchemePrefix { scheme } => write!(
                f,
                "the token starts with the scheme {} and '://'; RDS takes it without a scheme: pass it as generate-db-auth-token prints it, starting with the host",
                short(scheme)
            ),
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
            Finding::MalformedEndpoint { detail } => write!(
                f,
                "{detail}; a token starts with HOST:PORT/? and the database checks the host and port: {MAKE_ONE}"
            ),
            Finding::MissingParameter { name } => {
                let why = if *name == "X-Amz-Signature" {
                    "the token was cut short, or the signature removed: copy all of it, through the 64 hex digits after X-Amz-Signature="
                } else {
                    "the token is incomplete or was edited"
                };
                write!(f, "the token has no {name} parameter; {why}; {MAKE_ONE}")
            }
            Finding::DuplicateParameter { name, count } => write!(
                f,
                "{name} appears {count} times; the database reads one of them and the signature covers what was signed: do not add to a token, {MAKE_ONE}"
            ),
            Finding::UnknownParameter { names, count } => {
                let shown: Vec<String> = names.iter().map(|n| short(n)).collect();
                let more = count.saturating_sub(names.len());
                let and_more = if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                };
                let what = if *count == 1 { "parameter" } else { "parameters" };
                write!(
                    f,
                    "the token has {count} {what} no token has ({}{and_more}); the database checks the signature over every parameter, so it will not match: remove them, or {MAKE_ONE}",
                    shown.join(", ")
                )
            }
            Finding::MalformedParameter { name, detail } => {
                write!(f, "{name} {detail}; {MAKE_ONE}")
            }
            Finding::NonCanonicalEncoding { name, detail } => write!(
                f,
                "{name} has {detail}; RDS decodes each value and encodes it again the SigV4 way before it checks the signature, so unless the signer did the same it checks other text than was signed: make the token with a signer that encodes as SigV4 does (rds-auth-token, the AWS CLI, a current AWS SDK), and do not edit it"
            ),
            Finding::EmptySessionToken => write!(
                f,
                "X-Amz-Security-Token is empty; temporary credentials need their session token and long-term keys have none: set AWS_SESSION_TOKEN to the session token of the access key, or unset it when the key is a long-term one, and make a new token"
            ),
            Finding::MissingSessionToken { access_key_id } => write!(
                f,
                "access key {} is a temporary one (ASIA...), but the token has no X-Amz-Security-Token; make the token with the credentials' session token too (AWS_SESSION_TOKEN, or a profile that has it)",
                q(access_key_id)
            ),
            Finding::NotConnectAction { action } => write!(
                f,
                "Action is {}, not connect; this is not an RDS IAM auth token: {MAKE_ONE}",
                short(action)
            ),
            Finding::NotRdsDbService { service } => write!(
                f,
                "the token is signed for service {}, not rds-db; it is not an RDS IAM auth token (a presigned URL for another service?): {MAKE_ONE}",
                short(service)
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
            Finding::ExpiresTooLong { secs } => write!(
                f,
                "X-Amz-Expires is {secs} seconds; RDS refuses tokens valid for more than 900: make it with an expiry of at most 900 seconds"
            ),
            Finding::Expired { ago_secs, at } => write!(
                f,
                "the token expired {} ago, at {at}; a token works for 15 minutes at most: make a new one just before connecting",
                span(*ago_secs)
            ),
            Finding::SignedInFuture { by_secs, at } => write!(
                f,
                "the token was signed at {at}, {} in the future; the clock of the machine that made it is ahead (or this one is behind): synchronize the clocks (NTP), then make a new token",
                span(*by_secs)
            ),
            Finding::HostnameDiffers { expected, actual } => write!(
                f,
                "the token is for host {}, not {}; make it with --hostname {}",
                q(actual),
                q(expected),
                q(expected)
            ),
            Finding::PortDiffers { expected, actual } => write!(
                f,
                "the token is for port {actual}, not {expected}; make it with --port {expected}"
            ),
            Finding::UsernameDiffers { expected, actual } => write!(
                f,
                "the token is for user {}, not {}; make it with --username {}",
                q(actual),
                q(expected),
                q(expected)
            ),
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
                at: "t".into()
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
        };
        let message = finding.to_string();
        assert!(message.contains(r"'x\u{1b}[2J\u{202e}'"), "{message}");
        assert!(!message.chars().any(super::super::text::needs_escape));
    }
}
