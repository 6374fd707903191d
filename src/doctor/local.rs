//! The checks made without asking AWS: the credentials found, the signing
//! region, and a token made with them.

use std::time::SystemTime;

use super::{Check, CheckName};
use crate::inspect::{self, span, Expected, Inspection};
use crate::{rfc3339, AuthToken};

/// What the credential chain found, without the secrets.
#[derive(Debug, Clone)]
pub struct FoundCredentials<'a> {
    /// Where they came from, e.g. `environment variables` or
    /// `assume-role (STS) <- static keys in a profile`.
    pub source: &'a str,
    /// The profile they were looked up with, when one was named (`--profile`,
    /// `AWS_PROFILE`).
    pub profile: Option<&'a str>,
    pub access_key_id: &'a str,
    pub session_token: bool,
    /// When they expire; `None` for long-term keys.
    pub expiry: Option<SystemTime>,
    /// The validity a token gets, and the one asked for, when their expiry
    /// cuts it short.
    pub shortened: Option<(u64, u64)>,
}

/// The `credentials` check for credentials found at `now`.
pub fn credentials_found(found: &FoundCredentials, now: SystemTime) -> Check {
    let profile = found
        .profile
        .map_or_else(String::new, |p| format!(" (profile '{p}')"));
    let kind = if found.session_token {
        "temporary, with a session token"
    } else {
        "long-term keys"
    };
    let expiry = match found.expiry {
        None => "no expiry".to_owned(),
        Some(at) => {
            let left = at.duration_since(now).map_or(0, |d| d.as_secs());
            format!("expire at {} (in {})", rfc3339(at), span(left))
        }
    };
    let mut message = format!(
        "from {}{profile}: access key {}, {kind}, {expiry}",
        found.source, found.access_key_id
    );
    if let Some((expires_in, asked)) = found.shortened {
        message.push_str(&format!(
            "; tokens made now are valid for {expires_in} s, not {asked}, as the credentials expire first"
        ));
    }
    Check::pass(CheckName::Credentials, message)
}

/// The `region` check: signing for `name`, found in `source` (e.g.
/// `AWS_REGION`); `endpoint_region` is the endpoint name's region when it is
/// another one.
pub fn region_chosen(name: &str, source: &str, endpoint_region: Option<&str>) -> Check {
    match endpoint_region {
        None => Check::pass(CheckName::Region, format!("{name}, from {source}")),
        Some(endpoint) => Check::fail(
            CheckName::Region,
            format!(
                "signing for {name} (from {source}), but the endpoint is in {endpoint}; the database refuses a token signed for another region"
            ),
            format!(
                "pass --region {endpoint}, or set AWS_REGION or the profile's region to {endpoint}"
            ),
        ),
    }
}

/// The `token` check: `token` read back as `inspect` reads it, at `now`,
/// against what was meant. Problems whose codes are in `reported` (found
/// by another check already, such as `region_mismatch`) are left out; when
/// they were the only ones, the check is skipped, pointing at the others.
/// The token itself is never part of the check.
pub fn token_made(
    token: &AuthToken,
    expected: &Expected,
    now: SystemTime,
    reported: &[&str],
) -> Check {
    let name = CheckName::Token;
    let parsed = match inspect::parse(token.as_str().as_bytes()) {
        Ok(parsed) => parsed,
        Err(err) => {
            return Check::fail(
                name,
                format!("the token made is not one inspect can read: {err}"),
                "report this as a bug",
            )
        }
    };
    let made_for = format!(
        "{}:{}/{} in {}",
        parsed.host().unwrap_or_default(),
        parsed.port().unwrap_or_default(),
        parsed.username().unwrap_or_default(),
        parsed.region().unwrap_or_default(),
    );
    let valid_for = parsed.expires_in().unwrap_or_default();
    let inspection = Inspection::new(parsed, expected, now);
    let all = inspection.findings();
    let left: Vec<_> = all
        .iter()
        .filter(|f| !reported.contains(&f.code()))
        .collect();
    match left.as_slice() {
        [] if all.is_empty() => Check::pass(
            name,
            format!(
                "made a token for {made_for}, valid for {valid_for} s (not shown); inspect finds no problem in it"
            ),
        ),
        [] => Check::skip(
            name,
            format!(
                "a token made for {made_for} has only the problems reported above ({})",
                all.iter().map(|f| f.code()).collect::<Vec<_>>().join(", ")
            ),
        ),
        [one] => {
            let text = one.to_string();
            let (what, fix) = text
                .split_once("; ")
                .unwrap_or((text.as_str(), "make the token as the problem says"));
            Check::fail(
                name,
                format!(
                    "a token made for {made_for} has a problem: {}: {what}",
                    one.code()
                ),
                fix,
            )
        }
        many => Check::fail(
            name,
            format!(
                "a token made for {made_for} has {} problems: {}",
                many.len(),
                many.iter()
                    .map(|f| format!("{}: {f}", f.code()))
                    .collect::<Vec<_>>()
                    .join(" | ")
            ),
            "fix each problem as it says; `rds-auth-token inspect` shows the same on any token",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;
    use crate::AuthTokenConfig;
    use aws_credential_types::Credentials;
    use std::time::{Duration, UNIX_EPOCH};

    const NOW: u64 = 1_795_310_467; // 2026-11-22T01:21:07Z

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn says_where_credentials_came_from_and_when_they_expire_never_the_secret() {
        let check = credentials_found(
            &FoundCredentials {
                source: "assume-role (STS) <- static keys in a profile",
                profile: Some("prod"),
                access_key_id: "ASIAEXAMPLE",
                session_token: true,
                expiry: Some(at(NOW + 3000)),
                shortened: None,
            },
            at(NOW),
        );
        assert_eq!(check.status, Status::Pass);
        assert_eq!(
            check.message,
            "from assume-role (STS) <- static keys in a profile (profile 'prod'): access key ASIAEXAMPLE, temporary, with a session token, expire at 2026-11-22T02:11:07Z (in 50 min)"
        );
        let check = credentials_found(
            &FoundCredentials {
                source: "environment variables",
                profile: None,
                access_key_id: "AKIAEXAMPLE",
                session_token: false,
                expiry: None,
                shortened: Some((120, 900)),
            },
            at(NOW),
        );
        assert_eq!(
            check.message,
            "from environment variables: access key AKIAEXAMPLE, long-term keys, no expiry; tokens made now are valid for 120 s, not 900, as the credentials expire first"
        );
    }

    #[test]
    fn fails_a_region_other_than_the_endpoints() {
        let check = region_chosen("us-east-1", "--region", None);
        assert_eq!(
            (check.status, check.message.as_str()),
            (Status::Pass, "us-east-1, from --region")
        );
        let check = region_chosen("eu-west-1", "AWS_REGION", Some("us-east-1"));
        assert_eq!(check.status, Status::Fail);
        assert_eq!(
            check.fix.as_deref(),
            Some("pass --region us-east-1, or set AWS_REGION or the profile's region to us-east-1")
        );
    }

    fn token(host: &str, region: &str) -> AuthToken {
        let config = AuthTokenConfig::builder()
            .hostname(host)
            .port(5432)
            .username("app")
            .region(region)
            .build()
            .unwrap();
        let credentials = Credentials::new("AKIAEXAMPLE", "secret", None, None, "test");
        config.generate(&credentials, at(NOW)).unwrap()
    }

    #[test]
    fn passes_a_token_inspect_finds_nothing_wrong_with_and_never_shows_it() {
        let host = "db.abc.us-east-1.rds.amazonaws.com";
        let token = token(host, "us-east-1");
        let expected = Expected {
            hostname: Some(host.into()),
            port: Some(5432),
            username: Some("app".into()),
            region: Some("us-east-1".into()),
        };
        let check = token_made(&token, &expected, at(NOW + 1), &[]);
        assert_eq!(check.status, Status::Pass, "{check:?}");
        assert_eq!(
            check.message,
            "made a token for db.abc.us-east-1.rds.amazonaws.com:5432/app in us-east-1, valid for 900 s (not shown); inspect finds no problem in it"
        );
        assert!(!check.message.contains("X-Amz-Signature"));
    }

    #[test]
    fn fails_a_token_with_a_problem_unless_another_check_reported_it() {
        let token = token("db.abc.us-east-1.rds.amazonaws.com", "eu-west-1");
        let check = token_made(&token, &Expected::default(), at(NOW + 1), &[]);
        assert_eq!(check.status, Status::Fail);
        assert!(
            check
                .message
                .contains("has a problem: region_mismatch: the token is signed for region 'eu-west-1', but the endpoint is in 'us-east-1'"),
            "{check:?}"
        );
        assert_eq!(
            check.fix.as_deref(),
            Some("the database will refuse it: make the token with --region 'us-east-1'")
        );
        let check = token_made(
            &token,
            &Expected::default(),
            at(NOW + 1),
            &["region_mismatch"],
        );
        assert_eq!(check.status, Status::Skip);
        assert!(check.message.ends_with("(region_mismatch)"));
        let late = token_made(&token, &Expected::default(), at(NOW + 1000), &[]);
        assert!(late.message.contains("has 2 problems: region_mismatch: "));
    }
}
