//! The library's errors in the command line's words: each input named by
//! its flag (`--hostname`, `--port`, ...) and the fix said with flags. The
//! library says the same in its own terms; [`line`] is where a failure's
//! one line is made, so every message a user sees comes through here.

use std::error::Error as StdError;

use rds_auth_token::aws_api::ApiError;
use rds_auth_token::credentials::CredentialsError;
use rds_auth_token::format::EngineNeeded;
use rds_auth_token::inspect::NotAToken;
use rds_auth_token::issuer::IssueError;
use rds_auth_token::policy::PolicyError;
use rds_auth_token::region::RegionError;
use rds_auth_token::tls::TlsError;
use rds_auth_token::{sql, Error, Field};

/// The flag of `field`.
pub fn flag(field: Field) -> &'static str {
    match field {
        Field::Hostname => "--hostname",
        Field::Port => "--port",
        Field::Username => "--username",
        Field::Region => "--region",
        Field::ExpiresIn => "--expires-in",
        Field::CacheName => "--cache-name",
        Field::ClusterName => "--cluster-name",
        Field::UserId => "--user-id",
    }
}

/// `err` and its causes on one line, each in the command line's words.
pub fn line(err: &anyhow::Error) -> String {
    rds_auth_token::text::error_chain(err.as_ref(), worded)
}

/// One error of a chain in the command line's words: the library's errors
/// with flags, anything else as it says itself.
pub fn worded(err: &(dyn StdError + 'static)) -> String {
    if let Some(err) = err.downcast_ref::<Error>() {
        return token(err);
    }
    if let Some(err) = err.downcast_ref::<RegionError>() {
        return region(err);
    }
    if let Some(err) = err.downcast_ref::<IssueError>() {
        return match err {
            IssueError::Region(err) => region(err),
            IssueError::Config(err) => token(err),
            IssueError::NotADsqlEndpoint(hostname) => format!(
                "no region: --hostname '{hostname}' is not an Aurora DSQL endpoint (<id>.dsql.<region>.on.aws), so it names no region; pass --region, set AWS_REGION, or set region in the profile"
            ),
            IssueError::NoRegionInName => "no region: a cache or cluster name carries none; pass --region, set AWS_REGION, or set region in the profile".to_owned(),
            IssueError::Credentials(err) | IssueError::Profiles(err) => credentials(err),
            other => other.to_string(),
        };
    }
    if let Some(err) = err.downcast_ref::<CredentialsError>() {
        return credentials(err);
    }
    if let Some(err) = err.downcast_ref::<PolicyError>() {
        return policy(err);
    }
    if let Some(err) = err.downcast_ref::<sql::Error>() {
        return sql(err);
    }
    if let Some(err) = err.downcast_ref::<TlsError>() {
        return match err {
            TlsError::NoCacheFolder => {
                "no folder for the CA bundle: set HOME or XDG_CACHE_HOME, or pass --ssl-ca FILE"
                    .to_owned()
            }
            TlsError::File(err) => {
                format!("could not write the CA bundle: {err}; or pass --ssl-ca FILE")
            }
            other => other.to_string(),
        };
    }
    if let Some(EngineNeeded(format, port)) = err.downcast_ref::<EngineNeeded>() {
        return format!("--format {format} needs the database engine, which port {port} does not tell; pass --engine postgres or --engine mysql");
    }
    if let Some(NotAToken::Empty) = err.downcast_ref::<NotAToken>() {
        return "the input is empty; pass a token as the argument or on stdin, e.g. rds-auth-token --hostname H --port P --username U | rds-auth-token inspect".to_owned();
    }
    if let Some(err) = err.downcast_ref::<ApiError>() {
        return api(err);
    }
    err.to_string()
}

/// A credential error with the flags that fix it.
fn credentials(err: &CredentialsError) -> String {
    match err {
        CredentialsError::NotFound(why) => format!("no AWS credentials found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, pass --profile NAME, or run where an instance, container or web identity role is available ({why})"),
        CredentialsError::CaBundle(why) => format!("{why}; point --ca-bundle (or AWS_CA_BUNDLE, or ca_bundle in the profile) at a readable PEM file of CA certificates"),
        CredentialsError::UntrustedCertificate(why) => format!("could not load AWS credentials: {why}; if a proxy or private CA signs this certificate, trust its CA with AWS_CA_BUNDLE=/path/to/ca.pem, ca_bundle in the profile, or --ca-bundle"),
        other => other.to_string(),
    }
}

/// An AWS API error with the flags that fix it.
pub fn api(err: &ApiError) -> String {
    match err {
        ApiError::Timeout { operation, message } => format!("{operation} got no answer in time ({message}); check the network path to AWS (proxy settings, a VPC endpoint), or allow longer with --cli-connect-timeout and --cli-read-timeout"),
        other => other.to_string(),
    }
}

/// A policy input error, named by its flag.
fn policy(err: &PolicyError) -> String {
    match err {
        PolicyError::Account(v) => format!("--account {v} is not an AWS account id; pass the 12 digits, e.g. 123456789012 (`aws sts get-caller-identity --query Account`)"),
        PolicyError::ResourceId(v) => format!("--resource-id {v} is not an RDS resource id; pass the instance's DbiResourceId (db-...), the Aurora cluster's DbClusterResourceId (cluster-...) or the proxy's id (prx-...), e.g. from `aws rds describe-db-instances --query 'DBInstances[].DbiResourceId'`"),
        PolicyError::Region(v) => format!("--region {v} is not a region name; use one like us-east-1, eu-west-1 or cn-north-1"),
        PolicyError::EmptyUser => "--username is empty; pass the database user's name, or '*' for every user".to_owned(),
        PolicyError::UserControlCharacter(v) => format!("--username {v} holds a control character, which no database user name has; pass the name as it is in the database"),
        other => other.to_string(),
    }
}

/// A user name `sql` cannot make, named by its flag.
fn sql(err: &sql::Error) -> String {
    match err {
        sql::Error::NoUsers => "--username is required; pass the database user to create, e.g. --username jane_doe".to_owned(),
        sql::Error::Duplicate(v) => format!("--username {v} is given twice; pass each user once"),
        sql::Error::PostgresTooLong { name, bytes } => format!("--username {name} is {bytes} bytes long; PostgreSQL cuts role names to 63 bytes (NAMEDATALEN 64), so pass a name of at most 63 bytes"),
        sql::Error::PostgresReservedPrefix(v) => format!("--username {v} starts with pg_, which PostgreSQL reserves for its own roles; pass another name"),
        sql::Error::PostgresReservedName(v) => format!("--username {v} is a name PostgreSQL reserves (every role, or no role); pass another name"),
        sql::Error::MysqlTooLong { name, chars, max, engine } => format!("--username {name} is {chars} characters long; {engine} user names have at most {max}, so pass a shorter name"),
        sql::Error::TrailingSpace { name, engine } => format!("--username {name} ends with a space, which {engine} drops from user names, so the user made would not be the one that logs in; pass the name without it"),
        sql::Error::BeyondBmp { name, character, engine } => format!("--username {name} contains {character}; {engine} user names hold only characters up to U+FFFF, so pass a name without it"),
        other => other.to_string(),
    }
}

/// A region error with the flags that fix it.
fn region(err: &RegionError) -> String {
    match err {
        RegionError::Missing => "no region: pass --region, set AWS_REGION, set region in the profile, or use the RDS endpoint name as --hostname".to_owned(),
        RegionError::GlobalWriterEndpoint(hostname) => format!(
            "no region: --hostname {hostname} is an Aurora global database writer endpoint, whose name carries no region; pass --region with the region of the global database's primary cluster (or set AWS_REGION or the profile's region)"
        ),
        other => other.to_string(),
    }
}

/// A token input error, named by its flag.
fn token(err: &Error) -> String {
    match err {
        Error::EmptyHostname => "--hostname is empty; pass the database endpoint, e.g. --hostname mydb.123456789012.us-east-1.rds.amazonaws.com".to_owned(),
        Error::HostnameWithScheme(h) => format!("--hostname {h} includes a scheme; pass the host name alone, without '://'"),
        Error::HostnameWithPort { hostname, port } => format!("--hostname {hostname} includes a port; pass the host name alone and the port with --port {port}"),
        Error::HostnameWithPath(h) => format!("--hostname {h} includes a path; pass the host name alone, without '/'"),
        Error::HostnameWithQuery(h) => format!("--hostname {h} includes a query; pass the host name alone, without '?'"),
        Error::HostnameWithWhitespace(h) => format!("--hostname {h} contains white space; pass the endpoint name exactly as RDS shows it"),
        Error::HostnameTooLong(n) => format!("--hostname is {n} characters long; a DNS name has at most 253"),
        Error::HostnameInvalidCharacter { hostname, character } => format!("--hostname {hostname} contains {character}; a DNS name has only letters, digits, '-', '_' and '.'"),
        Error::HostnameEmptyLabel(h) => format!("--hostname {h} has an empty label ('..' or a leading '.'); pass the endpoint name exactly as RDS shows it"),
        Error::HostnameIsIpv6(h) => format!("--hostname {h} is an IPv6 address; RDS signs tokens for its DNS endpoint name, pass that instead"),
        Error::PortZero => "--port 0 is not a port; pass the database port from 1 to 65535 (PostgreSQL 5432, MySQL 3306)".to_owned(),
        Error::EmptyUsername => "--username is empty; pass the database user that has the rds_iam role or AWSAuthenticationPlugin".to_owned(),
        Error::UsernameControlCharacter(u) => format!("--username {u} contains a control character; pass the database user name exactly"),
        Error::EmptyRegion => "--region is empty; pass a region name like us-east-1".to_owned(),
        Error::MalformedRegion(r) => format!("--region {r} is not a region name; pass one like us-east-1, eu-west-1 or cn-north-1"),
        Error::ExpiresInZero => "--expires-in 0 makes a token that has already expired; pass 1 to 900 seconds".to_owned(),
        Error::ExpiresInTooLong(secs) => format!("--expires-in {secs} is above 900 seconds; RDS refuses such tokens (\"PAM authentication failed\"), pass at most 900"),
        Error::ExpiresInAbove { secs, max, service } => format!("--expires-in {secs} is above {max} seconds, the longest {service} accepts; pass at most {max}"),
        Error::DsqlHostnameWithoutRegion(h) => format!("--hostname {h} is not an Aurora DSQL endpoint (<id>.dsql.<region>.on.aws), so it names no region; pass --region"),
        Error::InvalidName { field, value } => format!("{} {value} is not a valid name; pass 1 to 40 letters, digits and hyphens, as AWS names caches, clusters and users", flag(*field)),
        Error::UserIdWithoutLetter { field, value } => format!("{} {value} does not begin with a letter; ElastiCache user ids and MemoryDB user names begin with a letter, then letters, digits and hyphens", flag(*field)),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rds_auth_token::issuer::IssueError;

    #[test]
    fn words_the_librarys_errors_with_the_flags_through_any_wrapping() {
        let err = rds_auth_token::endpoint::validate_hostname("h:5432").unwrap_err();
        assert!(err
            .to_string()
            .starts_with("the host name 'h:5432' includes a port"));
        let wrapped = anyhow::Error::new(IssueError::Config(err.clone())).context("making a token");
        assert_eq!(
            line(&wrapped),
            "making a token: --hostname 'h:5432' includes a port; pass the host name alone and the port with --port 5432"
        );
        assert_eq!(
            line(&anyhow::Error::new(IssueError::Region(RegionError::Missing))),
            "no region: pass --region, set AWS_REGION, set region in the profile, or use the RDS endpoint name as --hostname"
        );
        let user = rds_auth_token::token::check_user_id("1abc").unwrap_err();
        assert!(line(&user.into()).starts_with("--user-id '1abc' does not begin with a letter"));
    }
}
