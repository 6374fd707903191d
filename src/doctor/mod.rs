//! Find out why an IAM database login fails: each step a login depends on,
//! checked on its own, with the fix for each one that fails.
//!
//! A [`Report`] holds one [`Check`] for each [`CheckName`], in a fixed
//! order: the credentials, the region, who AWS says you are, the clock, the
//! endpoint, whether IAM authentication is on, the IAM policy, the network,
//! TLS, and a token. Each check passes, fails (and says how to fix it), or
//! is skipped (and says why: its input is missing because an earlier check
//! failed, or the caller may not make the call it needs).
//!
//! The probes need no AWS API: the TCP connection ([`network`]), the TLS
//! handshake as PostgreSQL and MySQL clients make it ([`tls`], with
//! [`mysql`]'s greeting), the clock against a server's `Date` ([`clock`])
//! and the canonical name of a host ([`dns`]). [`local`] judges the
//! credentials, the region and a token made with them; [`aws`] makes the
//! AWS checks from [`crate::aws_api`]'s answers. Finding the credentials and
//! asking AWS is the caller's part (the `doctor` command's).
//!
//! # Example
//! ```
//! use rds_auth_token::doctor::{Check, CheckName, Report, Status};
//!
//! let report = Report::new([
//!     Check::pass(CheckName::Region, "us-east-1 (from --region)"),
//!     Check::fail(
//!         CheckName::Network,
//!         "no answer from 10.0.0.5:5432 within 3 s",
//!         "allow inbound TCP 5432 from this machine in the DB's security group",
//!     ),
//! ]);
//! assert!(!report.is_ok());
//! assert_eq!(report.get(CheckName::Token).status, Status::Skip);
//! assert!(report.to_text().contains("\nfail  network           no answer"));
//! ```

#[cfg(feature = "aws-api")]
pub mod aws;
pub mod clock;
pub mod dns;
pub mod local;
pub mod mysql;
pub mod network;
mod report;
#[cfg(feature = "aws-api")]
pub mod sequence;
pub mod tls;

use std::fmt;

/// The database engine, as far as its protocol goes: how a client asks
/// for TLS (PostgreSQL's SSLRequest, or MySQL's greeting, then the client's
/// SSL request).
pub use crate::engine::Engine;

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Nothing wrong here.
    Pass,
    /// Wrong: a login fails for this reason. The check says how to fix it.
    Fail,
    /// Not checked: an earlier check failed, or the call it needs is not
    /// allowed. The message says which.
    Skip,
}

impl Status {
    /// `pass`, `fail` or `skip`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Skip => "skip",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The checks, in the order they are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CheckName {
    /// Credentials found: from where, expiring when (never the secret).
    Credentials,
    /// The signing region, from where; another one than the endpoint's fails.
    Region,
    /// Who AWS says the credentials are (STS GetCallerIdentity).
    Identity,
    /// The local clock against AWS's.
    Clock,
    /// The host is an RDS endpoint (or a CNAME of one) with this engine and port.
    Endpoint,
    /// IAM database authentication is on for the instance, cluster or proxy.
    IamAuthEnabled,
    /// The caller's IAM policies allow `rds-db:connect` on the user's ARN.
    Policy,
    /// A TCP connection to the database.
    Network,
    /// The database's TLS: offered, and its certificate verified.
    Tls,
    /// A token is made, and `inspect` finds no problem in it.
    Token,
}

impl CheckName {
    /// Every check, in report order.
    pub const ALL: [CheckName; 10] = [
        CheckName::Credentials,
        CheckName::Region,
        CheckName::Identity,
        CheckName::Clock,
        CheckName::Endpoint,
        CheckName::IamAuthEnabled,
        CheckName::Policy,
        CheckName::Network,
        CheckName::Tls,
        CheckName::Token,
    ];

    /// The name in reports and in `--json`: `credentials`, ...,
    /// `iam-auth-enabled`, ..., `token`.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckName::Credentials => "credentials",
            CheckName::Region => "region",
            CheckName::Identity => "identity",
            CheckName::Clock => "clock",
            CheckName::Endpoint => "endpoint",
            CheckName::IamAuthEnabled => "iam-auth-enabled",
            CheckName::Policy => "policy",
            CheckName::Network => "network",
            CheckName::Tls => "tls",
            CheckName::Token => "token",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for CheckName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One check's outcome: what was found, and for a failure how to fix it.
///
/// Messages are this program's own words and may carry names from outside
/// (host names, ARNs, a server's version); the report escapes them when it
/// prints them. No check ever holds a secret or a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: CheckName,
    pub status: Status,
    /// What was found, on one line.
    pub message: String,
    /// What to do about it: always for a failure, sometimes for a skip.
    pub fix: Option<String>,
}

impl Check {
    /// A passed check.
    pub fn pass(name: CheckName, message: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Pass,
            message: message.into(),
            fix: None,
        }
    }

    /// A failed check and its fix.
    pub fn fail(name: CheckName, message: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Fail,
            message: message.into(),
            fix: Some(fix.into()),
        }
    }

    /// A skipped check and why.
    pub fn skip(name: CheckName, why: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Skip,
            message: why.into(),
            fix: None,
        }
    }

    /// The same check with `fix` (for a skip: what to do meanwhile).
    pub fn with_fix(mut self, fix: impl Into<String>) -> Check {
        self.fix = Some(fix.into());
        self
    }

    /// A failure whose message is an error of this program's, `what; how
    /// to fix it`, split at its first `; ` (the whole text is the message,
    /// and `fallback` the fix, when it has none).
    pub fn fail_from_error(name: CheckName, error: &str, fallback: &str) -> Check {
        match error.split_once("; ") {
            Some((what, fix)) if !fix.trim().is_empty() => Check::fail(name, what, fix),
            _ => Check::fail(name, error, fallback),
        }
    }
}

/// Every check's outcome, in [`CheckName::ALL`]'s order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    checks: Vec<Check>,
}

impl Report {
    /// The report of `checks`: each in its place, a later one for the same
    /// name replacing an earlier one, and every check not given skipped as
    /// not run.
    pub fn new(checks: impl IntoIterator<Item = Check>) -> Report {
        let mut slots: Vec<Option<Check>> = vec![None; CheckName::ALL.len()];
        for check in checks {
            let index = check.name.index();
            slots[index] = Some(check);
        }
        let checks = CheckName::ALL
            .iter()
            .zip(slots)
            .map(|(&name, slot)| slot.unwrap_or_else(|| Check::skip(name, "not run")))
            .collect();
        Report { checks }
    }

    /// Every check, in report order.
    pub fn checks(&self) -> &[Check] {
        &self.checks
    }

    /// The check called `name`.
    pub fn get(&self, name: CheckName) -> &Check {
        &self.checks[name.index()]
    }

    /// True when no check failed (skipped ones do not count).
    pub fn is_ok(&self) -> bool {
        self.checks.iter().all(|c| c.status != Status::Fail)
    }

    /// One line a check, `STATUS  NAME  MESSAGE`, each failure followed by
    /// an indented `fix:` line, then a count of each status. Text from
    /// outside is escaped.
    pub fn to_text(&self) -> String {
        report::text(self)
    }

    /// `{"checks":[{"name","status","message","fix"}, ...]}` on one line;
    /// `fix` is `null` when there is none.
    pub fn to_json(&self) -> String {
        report::json(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn puts_every_check_in_its_place_and_skips_the_missing_ones() {
        let report = Report::new([
            Check::pass(CheckName::Token, "made"),
            Check::fail(CheckName::Clock, "ahead", "sync"),
            Check::pass(CheckName::Clock, "fine"),
        ]);
        let names: Vec<&str> = report.checks().iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "credentials",
                "region",
                "identity",
                "clock",
                "endpoint",
                "iam-auth-enabled",
                "policy",
                "network",
                "tls",
                "token"
            ]
        );
        assert_eq!(report.get(CheckName::Clock).message, "fine");
        assert_eq!(report.get(CheckName::Network).status, Status::Skip);
        assert!(report.is_ok());
    }

    #[test]
    fn splits_an_error_into_what_and_how_to_fix_it() {
        let check = Check::fail_from_error(
            CheckName::Credentials,
            "no AWS credentials found; set AWS_ACCESS_KEY_ID; or else",
            "x",
        );
        assert_eq!(check.message, "no AWS credentials found");
        assert_eq!(check.fix.as_deref(), Some("set AWS_ACCESS_KEY_ID; or else"));
        let check = Check::fail_from_error(CheckName::Credentials, "it broke", "try again");
        assert_eq!(
            (check.message.as_str(), check.fix.as_deref()),
            ("it broke", Some("try again"))
        );
    }
}
