//! Region names, and where the signing region comes from.
//!
//! The order is `--region`, then `AWS_REGION` / `AWS_DEFAULT_REGION`, then the
//! profile's `region`, then the region in an RDS endpoint name. There is no
//! silent default: with none of these, resolution fails and says so.

use std::fmt;

use crate::error::{Error, Shown};

/// RDS endpoint domains: `<name>.<id>.<region>.rds.amazonaws.com` and the China partition's.
const RDS_SUFFIXES: [&str; 2] = [".rds.amazonaws.com", ".rds.amazonaws.com.cn"];

/// Environment variables that name the region, in the order they are read.
pub const REGION_ENV_VARS: [&str; 2] = ["AWS_REGION", "AWS_DEFAULT_REGION"];

/// True for names shaped like AWS regions: `us-east-1`, `us-gov-west-1`,
/// `cn-north-1`, `eusc-de-east-1`: lower-case words joined by `-`, ending in a
/// number.
pub fn is_region_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    let Some((number, words)) = parts.split_last() else {
        return false;
    };
    words.len() >= 2
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
}

/// Checks a region name.
///
/// # Errors
/// [`Error::EmptyRegion`] or [`Error::MalformedRegion`].
pub fn validate(name: &str) -> Result<(), Error> {
    if name.is_empty() {
        Err(Error::EmptyRegion)
    } else if is_region_name(name) {
        Ok(())
    } else {
        Err(Error::MalformedRegion(Shown::new(name)))
    }
}

/// Where the signing region came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionSource {
    /// The `--region` flag.
    Flag,
    /// An environment variable (`AWS_REGION` or `AWS_DEFAULT_REGION`).
    Environment(&'static str),
    /// The `region` setting of the named profile.
    Profile(String),
    /// The RDS endpoint name.
    Hostname,
}

impl fmt::Display for RegionSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegionSource::Flag => f.write_str("--region"),
            RegionSource::Environment(var) => f.write_str(var),
            RegionSource::Profile(name) => write!(f, "the region setting of profile '{name}'"),
            RegionSource::Hostname => f.write_str("the RDS endpoint name in --hostname"),
        }
    }
}

/// The signing region and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedRegion {
    /// The region name, e.g. `us-east-1`.
    pub name: String,
    /// Where it was found.
    pub source: RegionSource,
    /// The region in the RDS endpoint name, when it differs from `name`: the
    /// database will refuse a token signed for another region.
    pub hostname_disagrees: Option<String>,
}

/// Why no usable region was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegionError {
    #[error("no region: none was asked for, AWS_REGION, AWS_DEFAULT_REGION and the profile name none, and the host name is not an RDS endpoint name")]
    Missing,
    #[error("no region: the host name {0} is an Aurora global database writer endpoint, whose name carries no region; ask for the region of the global database's primary cluster (or set AWS_REGION or the profile's region)")]
    GlobalWriterEndpoint(Shown),
    #[error(
        "{origin} {value} is not a region name; use one like us-east-1, eu-west-1 or cn-north-1"
    )]
    Malformed { origin: RegionSource, value: Shown },
}

/// Picks the signing region.
///
/// `env` looks up an environment variable (empty values count as unset);
/// `profile` is the selected profile's name and its `region` setting.
///
/// # Errors
/// [`RegionError::Missing`] when no source names a region, and
/// [`RegionError::Malformed`] when the first one that does names no region.
///
/// # Example
/// ```
/// use rds_auth_token::region::{resolve, RegionSource};
/// let region = resolve(
///     None,
///     |_| None,
///     None,
///     "mydb.abc123.eu-central-1.rds.amazonaws.com",
/// )?;
/// assert_eq!(region.name, "eu-central-1");
/// assert_eq!(region.source, RegionSource::Hostname);
/// # Ok::<(), rds_auth_token::region::RegionError>(())
/// ```
pub fn resolve(
    flag: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
    profile: Option<(&str, &str)>,
    hostname: &str,
) -> Result<ResolvedRegion, RegionError> {
    let from_host = region_from_hostname(hostname);
    let (name, source) = if let Some(flag) = flag {
        (flag.to_owned(), RegionSource::Flag)
    } else if let Some((var, value)) = REGION_ENV_VARS
        .iter()
        .find_map(|var| env(var).filter(|v| !v.is_empty()).map(|v| (*var, v)))
    {
        (value, RegionSource::Environment(var))
    } else if let Some((profile, value)) = profile.filter(|(_, v)| !v.is_empty()) {
        (value.to_owned(), RegionSource::Profile(profile.to_owned()))
    } else if let Some(region) = from_host.clone() {
        (region, RegionSource::Hostname)
    } else if is_global_writer_endpoint(hostname) {
        return Err(RegionError::GlobalWriterEndpoint(Shown::new(hostname)));
    } else {
        return Err(RegionError::Missing);
    };
    if !is_region_name(&name) {
        return Err(RegionError::Malformed {
            origin: source,
            value: Shown::new(&name),
        });
    }
    let hostname_disagrees = from_host.filter(|host_region| *host_region != name);
    Ok(ResolvedRegion {
        name,
        source,
        hostname_disagrees,
    })
}

/// The region in an RDS endpoint name: instance, Aurora cluster (`cluster-`,
/// `cluster-ro-`, `cluster-custom-`) and RDS Proxy endpoints, in
/// `.rds.amazonaws.com` and `.rds.amazonaws.com.cn`. `None` for any other name.
///
/// # Example
/// ```
/// use rds_auth_token::endpoint::region_from_hostname;
/// assert_eq!(
///     region_from_hostname("app.cluster-ro-abc123.eu-west-1.rds.amazonaws.com"),
///     Some("eu-west-1".to_owned()),
/// );
/// assert_eq!(region_from_hostname("db.example.com"), None);
/// ```
pub fn region_from_hostname(hostname: &str) -> Option<String> {
    let lower = hostname.to_ascii_lowercase();
    let name = lower.strip_suffix('.').unwrap_or(&lower);
    let rest = RDS_SUFFIXES
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))?;
    let mut labels = rest.rsplit('.');
    let region = labels.next()?;
    let _endpoint_id = labels.next().filter(|id| !id.is_empty())?;
    let _resource_name = labels.next().filter(|name| !name.is_empty())?;
    is_region_name(region).then(|| region.to_owned())
}

/// True for Aurora global database writer endpoints,
/// `<name>.global-<id>.global.rds.amazonaws.com`: they follow the primary
/// cluster from region to region, so their name carries no region.
///
/// # Example
/// ```
/// use rds_auth_token::endpoint::is_global_writer_endpoint;
/// assert!(is_global_writer_endpoint("app.global-abc123def.global.rds.amazonaws.com"));
/// assert!(!is_global_writer_endpoint("app.cluster-abc.us-east-1.rds.amazonaws.com"));
/// ```
pub fn is_global_writer_endpoint(hostname: &str) -> bool {
    let lower = hostname.to_ascii_lowercase();
    let name = lower.strip_suffix('.').unwrap_or(&lower);
    let Some(rest) = name.strip_suffix(".global.rds.amazonaws.com") else {
        return false;
    };
    let mut labels = rest.rsplit('.');
    let id = labels.next().unwrap_or_default();
    id.strip_prefix("global-").is_some_and(|i| !i.is_empty())
        && labels.next().is_some_and(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "mydb.abc.us-west-2.rds.amazonaws.com";

    fn env_with<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn accepts_commercial_china_govcloud_and_sovereign_region_names() {
        for ok in [
            "us-east-1",
            "cn-northwest-1",
            "us-gov-west-1",
            "eusc-de-east-1",
            "us-isob-east-1",
        ] {
            assert_eq!(validate(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_empty_and_malformed_region_names() {
        assert_eq!(validate(""), Err(Error::EmptyRegion));
        for bad in [
            "US-EAST-1",
            "us-east",
            "useast1",
            "us-east-1a",
            "us--east-1",
            "us-east-1 ",
            "-us-east-1",
        ] {
            assert!(
                matches!(validate(bad), Err(Error::MalformedRegion(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn prefers_flag_then_environment_then_profile_then_hostname() {
        let env = env_with(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_DEFAULT_REGION", "eu-west-2"),
        ]);
        let profile = Some(("dev", "ap-south-1"));
        let r = resolve(Some("us-east-2"), &env, profile, HOST).unwrap();
        assert_eq!(
            (r.name.as_str(), r.source),
            ("us-east-2", RegionSource::Flag)
        );
        let r = resolve(None, &env, profile, HOST).unwrap();
        assert_eq!(
            (r.name.as_str(), r.source),
            ("eu-west-1", RegionSource::Environment("AWS_REGION"))
        );
        let default_only = env_with(&[("AWS_REGION", ""), ("AWS_DEFAULT_REGION", "eu-west-2")]);
        let r = resolve(None, default_only, profile, HOST).unwrap();
        assert_eq!(r.source, RegionSource::Environment("AWS_DEFAULT_REGION"));
        let r = resolve(None, |_| None, profile, HOST).unwrap();
        assert_eq!(
            (r.name.as_str(), r.source),
            ("ap-south-1", RegionSource::Profile("dev".into()))
        );
        let r = resolve(None, |_| None, None, HOST).unwrap();
        assert_eq!(
            (r.name.as_str(), r.source, r.hostname_disagrees),
            ("us-west-2", RegionSource::Hostname, None)
        );
    }

    #[test]
    fn reports_a_region_that_disagrees_with_the_endpoint_name() {
        let r = resolve(Some("eu-west-1"), |_| None, None, HOST).unwrap();
        assert_eq!(r.hostname_disagrees.as_deref(), Some("us-west-2"));
        let r = resolve(Some("us-west-2"), |_| None, None, HOST).unwrap();
        assert_eq!(r.hostname_disagrees, None);
    }

    #[test]
    fn fails_without_a_region_and_names_every_way_to_give_one() {
        let err = resolve(None, |_| None, None, "db.example.com").unwrap_err();
        assert_eq!(err, RegionError::Missing);
        let msg = err.to_string();
        for way in ["asked for", "AWS_REGION", "profile", "RDS endpoint name"] {
            assert!(msg.contains(way), "{msg}");
        }
    }

    #[test]
    fn says_a_global_writer_endpoint_carries_no_region() {
        let host = "app.global-abc123.global.rds.amazonaws.com";
        let err = resolve(None, |_| None, None, host).unwrap_err().to_string();
        assert_eq!(
            err,
            "no region: the host name 'app.global-abc123.global.rds.amazonaws.com' is an Aurora global database writer endpoint, \
             whose name carries no region; ask for the region of the global database's primary cluster \
             (or set AWS_REGION or the profile's region)"
        );
        let r = resolve(Some("eu-west-1"), |_| None, None, host).unwrap();
        assert_eq!((r.name.as_str(), r.hostname_disagrees), ("eu-west-1", None));
    }

    #[test]
    fn names_the_source_of_a_malformed_region() {
        let env = env_with(&[("AWS_REGION", "Frankfurt")]);
        let err = resolve(None, env, None, HOST).unwrap_err().to_string();
        assert_eq!(err, "AWS_REGION 'Frankfurt' is not a region name; use one like us-east-1, eu-west-1 or cn-north-1");
    }
}
