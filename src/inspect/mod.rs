//! Read an IAM auth token for RDS, Aurora DSQL, ElastiCache or MemoryDB,
//! from anyone's signer, and say which it is and why it will or will not work.
//!
//! [`parse`] takes any bytes apart without panicking and tells the
//! [`TokenKind`]; [`check`] judges what the token means, by its kind's own
//! rules, at a given time and against what was meant; [`verify`] signs its
//! values again with credentials and compares the signatures. An
//! [`Inspection`] puts the three together and writes them out, as text or
//! JSON. Every problem is a [`Finding`] with a stable [`code`](Finding::code).
//!
//! # Example
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use rds_auth_token::inspect::{parse, Expected, Inspection};
//!
//! let token = parse(b"mydb.123456789012.us-east-1.rds.amazonaws.com:5432/?Action=connect\
//!     &DBUser=jane_doe&X-Amz-Algorithm=AWS4-HMAC-SHA256\
//!     &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261122%2Feu-west-1%2Frds-db%2Faws4_request\
//!     &X-Amz-Date=20261122T012107Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host\
//!     &X-Amz-Signature=0000000000000000000000000000000000000000000000000000000000000000")?;
//! let now = UNIX_EPOCH + Duration::from_secs(1_795_310_467 + 60);
//! let inspection = Inspection::new(token, &Expected::default(), now);
//! assert!(!inspection.is_ok());
//! assert_eq!(inspection.findings()[0].code(), "region_mismatch");
//! assert!(inspection.to_text().contains("time left:     14 min\n"));
//! # Ok::<(), rds_auth_token::inspect::NotAToken>(())
//! ```

mod checks;
mod finding;
mod kind;
mod parse;
mod report;
pub(crate) mod text;
mod verify;

use std::fmt;
use std::time::SystemTime;

pub use checks::{check, Expected};
pub(crate) use finding::span;
pub use finding::{Finding, HostKind, SessionTokenDifference};
pub use kind::TokenKind;
pub use parse::{parse, NotAToken, ParsedToken, MAX_INPUT_LEN};
pub use verify::{verify, SignatureCheck, Verification};

/// A token, what is wrong with it, and (with credentials) whether its
/// signature holds.
#[derive(Debug, Clone)]
pub struct Inspection {
    token: ParsedToken,
    /// Seconds since 1970 at which the token is judged.
    now: i64,
    findings: Vec<Finding>,
    signature: Option<SignatureCheck>,
    verified_with: Option<String>,
}

impl Inspection {
    /// Checks `token` as of `now` against `expected`, as [`check`] does.
    pub fn new(token: ParsedToken, expected: &Expected, now: SystemTime) -> Self {
        let findings = check(&token, expected, now);
        Inspection {
            token,
            now: checks::unix_secs(now),
            findings,
            signature: None,
            verified_with: None,
        }
    }

    /// Adds what [`verify`] found with credentials of `access_key_id` from `source`.
    pub fn add_verification(
        &mut self,
        verification: Verification,
        access_key_id: &str,
        source: &str,
    ) {
        self.findings.extend(verification.findings);
        self.signature = Some(verification.signature);
        self.verified_with = Some(format!(
            "{} from {}",
            text::quoted(access_key_id, text::MESSAGE_MAX),
            text::escaped(source, 400)
        ));
    }

    /// Notes that the signature was to be checked but no credentials could
    /// be had: a [`Finding::CredentialsUnavailable`].
    pub fn credentials_unavailable(&mut self, reason: impl fmt::Display) {
        self.findings.push(Finding::CredentialsUnavailable {
            reason: reason.to_string(),
        });
        self.signature = Some(SignatureCheck::NotChecked("no credentials"));
    }

    /// The token.
    pub fn token(&self) -> &ParsedToken {
        &self.token
    }

    /// Every problem found.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// What became of the signature, when it was to be checked.
    pub fn signature(&self) -> Option<&SignatureCheck> {
        self.signature.as_ref()
    }

    /// True when nothing is wrong: the token is well formed, unexpired, and
    /// has no problem.
    pub fn is_ok(&self) -> bool {
        self.findings.is_empty()
    }

    /// One field a line (the kind; then host, port and user for RDS, host
    /// and role for Aurora DSQL, cache or cluster name, user id and whether
    /// it is for a serverless cache for ElastiCache and MemoryDB; then
    /// action, service, region, access key id, whether there is a session
    /// token, signed at, expires at, time left or how long ago it expired,
    /// the signature when checked), then `problems: none` or each problem as
    /// `problem: CODE: message`. Values from the token are escaped and cut
    /// short; the session token and the signature are never shown.
    pub fn to_text(&self) -> String {
        report::text(self)
    }

    /// The same as one JSON object on one line: `ok`, `kind` (`rds`,
    /// `dsql`, `elasticache` or `memorydb`), `host` (the cache or cluster
    /// name for ElastiCache and MemoryDB), `port`, `username`, `role`
    /// (Aurora DSQL: `admin` or `custom`), `user_id` (ElastiCache and
    /// MemoryDB), `serverless` (ElastiCache and MemoryDB: `true` or
    /// `false`), `action`, `service`, `region`, `access_key_id`,
    /// `session_token_present`, `signed_at`, `expires_in`, `expires_at`,
    /// `seconds_left` (negative once expired), `signature` (`null` when not
    /// checked, else `matches`, `does_not_match` or `not_checked`) and
    /// `problems`, a list of `{"code", "message"}`. A value the token lacks,
    /// or its kind does not have, is `null`.
    pub fn to_json(&self) -> String {
        report::json(self)
    }
}

#[cfg(test)]
mod tests;
