//! Database endpoint host names: what is accepted, and the region an RDS
//! endpoint name carries.

use crate::error::{Error, Shown};
pub use crate::region::{is_global_writer_endpoint, region_from_hostname};

/// A tunnel's local end (`--via IP:PORT`): where a client connects when the
/// database is reached through an SSH or SSM tunnel, while TLS is still
/// checked against the database's own name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Via {
    pub ip: std::net::IpAddr,
    pub port: u16,
}

/// Longest DNS name, in characters.
const MAX_HOSTNAME_LEN: usize = 253;

/// Checks that `hostname` is a bare DNS name or IPv4 address, as `--hostname` must be.
///
/// # Errors
/// An [`Error`] naming what is wrong: empty, a scheme, white space, a query, a
/// path, an IPv6 address, a port, too long, a character no DNS name has, or an
/// empty label.
///
/// # Example
/// ```
/// use rds_auth_token::endpoint::validate_hostname;
/// assert!(validate_hostname("mydb.123456789012.us-east-1.rds.amazonaws.com").is_ok());
/// assert!(validate_hostname("mydb.example.com:5432").is_err());
/// ```
pub fn validate_hostname(hostname: &str) -> Result<(), Error> {
    let shown = || Shown::new(hostname);
    if hostname.is_empty() {
        return Err(Error::EmptyHostname);
    }
    if hostname.contains("://") {
        return Err(Error::HostnameWithScheme(shown()));
    }
    if hostname.chars().any(char::is_whitespace) {
        return Err(Error::HostnameWithWhitespace(shown()));
    }
    if hostname.contains('?') {
        return Err(Error::HostnameWithQuery(shown()));
    }
    if hostname.contains('/') {
        return Err(Error::HostnameWithPath(shown()));
    }
    if let Some((host, port)) = hostname.rsplit_once(':') {
        let bare = hostname.trim_start_matches('[').trim_end_matches(']');
        if bare.parse::<std::net::Ipv6Addr>().is_ok() || host.contains(':') || host.starts_with('[')
        {
            return Err(Error::HostnameIsIpv6(shown()));
        }
        let port =
            if !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit()) {
                port.to_owned()
            } else {
                "PORT".to_owned()
            };
        return Err(Error::HostnameWithPort {
            hostname: shown(),
            port,
        });
    }
    if hostname.len() > MAX_HOSTNAME_LEN {
        return Err(Error::HostnameTooLong(hostname.chars().count()));
    }
    if let Some(c) = hostname
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(Error::HostnameInvalidCharacter {
            hostname: shown(),
            character: Shown::new(c.encode_utf8(&mut [0; 4])),
        });
    }
    let without_root = hostname.strip_suffix('.').unwrap_or(hostname);
    if without_root.split('.').any(str::is_empty) {
        return Err(Error::HostnameEmptyLabel(shown()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn rejects(hostname: &str, expected: &str) {
        let err = validate_hostname(hostname).expect_err(hostname).to_string();
        assert!(err.starts_with("the host name"), "{err}");
        assert!(
            err.contains(expected),
            "{err:?} should contain {expected:?}"
        );
    }

    #[test]
    fn accepts_endpoint_names_ipv4_addresses_and_upper_case() {
        for ok in [
            "mydb.123456789012.us-east-1.rds.amazonaws.com",
            "MyCluster.cluster-abc.eu-west-1.rds.amazonaws.com",
            "10.0.0.5",
            "localhost",
            "db_host.internal.",
        ] {
            assert_eq!(validate_hostname(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_bare_host_name() {
        rejects("", "empty");
        rejects("https://mydb.example.com", "scheme");
        rejects("mydb.example.com:5432", "the port (5432) apart");
        rejects("mydb.example.com/postgres", "path");
        rejects("mydb.example.com?sslmode=require", "query");
        rejects("my db.example.com", "white space");
        rejects("mydb.example.com\n", "white space");
        rejects(&"a".repeat(254), "254 characters");
        rejects("::1", "IPv6");
        rejects("[::1]", "IPv6");
        rejects("mydb,example.com", "','");
        rejects("mydb..example.com", "empty label");
        rejects(".example.com", "empty label");
        rejects("dbé.example.com", "'é'");
    }

    #[test]
    fn infers_the_region_of_rds_instance_cluster_and_proxy_endpoints() {
        for (host, region) in [
            ("mydb.123456789012.us-east-1.rds.amazonaws.com", "us-east-1"),
            (
                "app.cluster-abc123.eu-west-1.rds.amazonaws.com",
                "eu-west-1",
            ),
            (
                "app.cluster-ro-abc123.ap-southeast-2.rds.amazonaws.com",
                "ap-southeast-2",
            ),
            (
                "app.cluster-custom-abc.us-west-2.rds.amazonaws.com",
                "us-west-2",
            ),
            (
                "myproxy.proxy-abc123.us-gov-west-1.rds.amazonaws.com",
                "us-gov-west-1",
            ),
            ("mydb.abc123.cn-north-1.rds.amazonaws.com.cn", "cn-north-1"),
            ("MYDB.ABC123.US-EAST-2.RDS.AMAZONAWS.COM.", "us-east-2"),
        ] {
            assert_eq!(
                region_from_hostname(host).as_deref(),
                Some(region),
                "{host}"
            );
        }
    }

    #[test]
    fn knows_aurora_global_writer_endpoints_which_carry_no_region() {
        for global in [
            "app.global-abc123def456.global.rds.amazonaws.com",
            "App.Global-X.GLOBAL.rds.amazonaws.com.",
        ] {
            assert!(is_global_writer_endpoint(global), "{global}");
            assert_eq!(region_from_hostname(global), None, "{global}");
        }
        for other in [
            "global.abc.us-east-1.rds.amazonaws.com",
            "global-abc.global.rds.amazonaws.com",
            "app.cluster-abc.global.rds.amazonaws.com",
            "app.global-abc.global.rds.amazonaws.com.evil.example",
        ] {
            assert!(!is_global_writer_endpoint(other), "{other}");
        }
    }

    #[test]
    fn infers_no_region_from_other_names() {
        for host in [
            "db.example.com",
            "10.0.0.5",
            "us-east-1.rds.amazonaws.com",
            "abc.us-east-1.rds.amazonaws.com",
            "mydb.abc.not-a-region.rds.amazonaws.com",
            "mydb.abc.us-east-1.rds.amazonaws.com.evil.example",
        ] {
            assert_eq!(region_from_hostname(host), None, "{host}");
        }
    }
}
