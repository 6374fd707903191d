//! The errors a caller of the library may match on.
//!
//! Each message says, in the library's own terms, which input is wrong
//! ([`Field`]: the host name, the port, ...) and the rule it breaks; the
//! command line words the same errors with its flags (`--hostname`, ...).
//! Values are echoed shortened and escaped, never raw, so hostile input
//! cannot drive a terminal.

use std::fmt;

/// An input of a token, as the library names it (the command line's flag
/// of the same name is `--hostname`, `--port`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Hostname,
    Port,
    Username,
    Region,
    ExpiresIn,
    CacheName,
    ClusterName,
    UserId,
}

impl Field {
    /// Its name in messages: `host name`, `port`, ...
    pub fn name(self) -> &'static str {
        match self {
            Field::Hostname => "host name",
            Field::Port => "port",
            Field::Username => "user name",
            Field::Region => "region",
            Field::ExpiresIn => "validity",
            Field::CacheName => "cache name",
            Field::ClusterName => "cluster name",
            Field::UserId => "user id",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why an auth token could not be made from the given inputs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("the host name is empty; give the database endpoint, e.g. mydb.123456789012.us-east-1.rds.amazonaws.com")]
    EmptyHostname,
    #[error("the host name {0} includes a scheme; give the host name alone, without '://'")]
    HostnameWithScheme(Shown),
    #[error("the host name {hostname} includes a port; give the host name alone and the port ({port}) apart")]
    HostnameWithPort { hostname: Shown, port: String },
    #[error("the host name {0} includes a path; give the host name alone, without '/'")]
    HostnameWithPath(Shown),
    #[error("the host name {0} includes a query; give the host name alone, without '?'")]
    HostnameWithQuery(Shown),
    #[error(
        "the host name {0} contains white space; give the endpoint name exactly as RDS shows it"
    )]
    HostnameWithWhitespace(Shown),
    #[error("the host name is {0} characters long; a DNS name has at most 253")]
    HostnameTooLong(usize),
    #[error("the host name {hostname} contains {character}; a DNS name has only letters, digits, '-', '_' and '.'")]
    HostnameInvalidCharacter { hostname: Shown, character: Shown },
    #[error("the host name {0} has an empty label ('..' or a leading '.'); give the endpoint name exactly as RDS shows it")]
    HostnameEmptyLabel(Shown),
    #[error("the host name {0} is an IPv6 address; RDS signs tokens for its DNS endpoint name, give that instead")]
    HostnameIsIpv6(Shown),
    #[error("the port 0 is not a port; give the database port from 1 to 65535 (PostgreSQL 5432, MySQL 3306)")]
    PortZero,
    #[error("the user name is empty; give the database user that has the rds_iam role or AWSAuthenticationPlugin")]
    EmptyUsername,
    #[error("the user name {0} contains a control character; give the database user name exactly")]
    UsernameControlCharacter(Shown),
    #[error("the region is empty; give a region name like us-east-1")]
    EmptyRegion,
    #[error(
        "the region {0} is not a region name; give one like us-east-1, eu-west-1 or cn-north-1"
    )]
    MalformedRegion(Shown),
    #[error(
        "a validity of 0 seconds makes a token that has already expired; give 1 to 900 seconds"
    )]
    ExpiresInZero,
    #[error("a validity of {0} seconds is above 900; RDS refuses such tokens (\"PAM authentication failed\"), give at most 900")]
    ExpiresInTooLong(u64),
    #[error("a validity of {secs} seconds is above {max}, the longest {service} accepts; give at most {max}")]
    ExpiresInAbove {
        secs: u64,
        max: u64,
        service: &'static str,
    },
    #[error("the host name {0} is not an Aurora DSQL endpoint (<id>.dsql.<region>.on.aws), so it names no region; give the region")]
    DsqlHostnameWithoutRegion(Shown),
    #[error("the {field} {value} is not a valid name; give 1 to 40 letters, digits and hyphens, as AWS names caches, clusters and users")]
    InvalidName { field: Field, value: Shown },
    #[error("the {field} {value} does not begin with a letter; ElastiCache user ids and MemoryDB user names begin with a letter, then letters, digits and hyphens")]
    UserIdWithoutLetter { field: Field, value: Shown },
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
