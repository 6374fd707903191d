//! The errors a caller of the library may match on.
//!
//! Each message names the flag (the same names as `aws rds
//! generate-db-auth-token`) and says how to fix the value. Values are echoed
//! shortened and escaped, never raw, so hostile input cannot drive a terminal.

use std::fmt;

/// Why an auth token could not be made from the given inputs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("--hostname is empty; pass the database endpoint, e.g. --hostname mydb.123456789012.us-east-1.rds.amazonaws.com")]
    EmptyHostname,
    #[error("--hostname {0} includes a scheme; pass the host name alone, without '://'")]
    HostnameWithScheme(Shown),
    #[error("--hostname {hostname} includes a port; pass the host name alone and the port with --port {port}")]
    HostnameWithPort { hostname: Shown, port: String },
    #[error("--hostname {0} includes a path; pass the host name alone, without '/'")]
    HostnameWithPath(Shown),
    #[error("--hostname {0} includes a query; pass the host name alone, without '?'")]
    HostnameWithQuery(Shown),
    #[error("--hostname {0} contains white space; pass the endpoint name exactly as RDS shows it")]
    HostnameWithWhitespace(Shown),
    #[error("--hostname is {0} characters long; a DNS name has at most 253")]
    HostnameTooLong(usize),
    #[error("--hostname {hostname} contains {character}; a DNS name has only letters, digits, '-', '_' and '.'")]
    HostnameInvalidCharacter { hostname: Shown, character: Shown },
    #[error("--hostname {0} has an empty label ('..' or a leading '.'); pass the endpoint name exactly as RDS shows it")]
    HostnameEmptyLabel(Shown),
    #[error("--hostname {0} is an IPv6 address; RDS signs tokens for its DNS endpoint name, pass that instead")]
    HostnameIsIpv6(Shown),
    #[error("--port 0 is not a port; pass the database port from 1 to 65535 (PostgreSQL 5432, MySQL 3306)")]
    PortZero,
    #[error("--username is empty; pass the database user that has the rds_iam role or AWSAuthenticationPlugin")]
    EmptyUsername,
    #[error("--username {0} contains a control character; pass the database user name exactly")]
    UsernameControlCharacter(Shown),
    #[error("--region is empty; pass a region name like us-east-1")]
    EmptyRegion,
    #[error("--region {0} is not a region name; pass one like us-east-1, eu-west-1 or cn-north-1")]
    MalformedRegion(Shown),
    #[error("--expires-in 0 makes a token that has already expired; pass 1 to 900 seconds")]
    ExpiresInZero,
    #[error("--expires-in {0} is above 900 seconds; RDS refuses such tokens (\"PAM authentication failed\"), pass at most 900")]
    ExpiresInTooLong(u64),
    #[error("--expires-in {secs} is above {max} seconds, the longest {service} accepts; pass at most {max}")]
    ExpiresInAbove {
        secs: u64,
        max: u64,
        service: &'static str,
    },
    #[error("--hostname {0} is not an Aurora DSQL endpoint (<id>.dsql.<region>.on.aws), so it names no region; pass --region")]
    DsqlHostnameWithoutRegion(Shown),
    #[error("{flag} {value} is not a valid name; pass 1 to 40 letters, digits and hyphens, as AWS names caches, clusters and users")]
    InvalidName { flag: &'static str, value: Shown },
    #[error("{flag} {value} does not begin with a letter; ElastiCache user ids and MemoryDB user names begin with a letter, then letters, digits and hyphens")]
    UserIdWithoutLetter { flag: &'static str, value: Shown },
    #[error("{0} is required; pass it to the builder")]
    MissingField(&'static str),
    #[error("could not sign the token: {0}")]
    Signing(String),
}

/// A user-supplied value as an error message shows it: quoted, with control
/// and non-printing characters escaped, and cut short when long.
#[derive(Clone, PartialEq, Eq)]
pub struct Shown(String);

impl Shown {
    const MAX_CHARS: usize = 80;

    pub(crate) fn new(value: &str) -> Self {
        Shown(crate::text::quoted(value, Self::MAX_CHARS))
    }
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_control_characters_escaped_and_long_values_cut_short() {
        assert_eq!(Shown::new("a\nb\x1b[31m").to_string(), r"'a\nb\u{1b}[31m'");
        let long = "x".repeat(1000);
        let shown = Shown::new(&long).to_string();
        assert_eq!(shown, format!("'{}...'", "x".repeat(80)));
    }
}
