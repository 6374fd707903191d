//! The look-ups behind `policy`: the database's resource id from RDS (by
//! its endpoint name, through the shapes of [`crate::aws_api`]'s
//! `find_endpoint`) and the caller's account from STS, whichever of the two
//! was not given, with the credentials of the usual chain; then the
//! document for the users.

use std::sync::Arc;
use std::time::SystemTime;

use super::{partition, validate_account, DbUserArn, PolicyDocument};
use crate::aws_api::{parse_endpoint_name, Api, ApiError, DbEndpoint, EndpointKind, IamAuth};
use crate::credentials::{self, CredentialsError, Profiles};
use crate::issuer::{
    choose_region, HostRegion, IssueError, IssuerSettings, Observer, RegionChoice,
};
use crate::rfc3339;

/// What the policy is for: the users, and the database by its endpoint
/// name or its resource id; the account when it is known.
#[derive(Debug, Clone)]
pub struct Request {
    pub hostname: Option<String>,
    pub users: Vec<String>,
    pub resource_id: Option<String>,
    pub account: Option<String>,
    /// Where the region and the credentials for the look-ups come from.
    pub settings: IssuerSettings,
}

/// What the caller should be told of while the look-ups go on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Note {
    /// The region (from `source`) is not the one in the endpoint's name:
    /// the look-up and the ARN are for `region`.
    RegionDiffers {
        region: String,
        source: String,
        endpoint_region: String,
    },
    /// IAM authentication is off on the database found: tokens are refused
    /// until `enable` is run.
    IamAuthOff { described: String, enable: String },
}

/// Why no policy was made.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// The AWS config or credentials files could not be read.
    #[error(transparent)]
    Profiles(CredentialsError),
    /// No region, or a malformed one.
    #[error(transparent)]
    Region(IssueError),
    /// No credentials for the look-ups.
    #[error(transparent)]
    Credentials(CredentialsError),
    /// A look-up failed: denied, no answer, cut short.
    #[error(transparent)]
    Api(ApiError),
    /// No database of the region has the endpoint; `searched` says what was
    /// asked.
    #[error("no DB instance, Aurora cluster or RDS Proxy in {region} has the endpoint '{hostname}' ({searched})")]
    NotFound {
        region: String,
        hostname: String,
        searched: String,
    },
    /// STS named an account that is not 12 digits.
    #[error("GetCallerIdentity answered with the account {0:?}, which is not 12 digits")]
    MalformedAccount(String),
    /// A user name makes no dbuser ARN.
    #[error(transparent)]
    User(super::PolicyError),
}

/// Looks up what `request` does not give and makes the document. `observer`
/// gets the `--debug` lines, `note` what the caller should be told.
///
/// # Errors
/// [`LookupError`].
pub async fn make(
    request: &Request,
    observer: Arc<dyn Observer>,
    mut note: impl FnMut(Note),
) -> Result<PolicyDocument, LookupError> {
    let settings = &request.settings;
    let debug = |line: std::fmt::Arguments| observer.debug(line);
    let profiles = Profiles::load(settings.profile.as_deref())
        .await
        .map_err(LookupError::Profiles)?;
    let hostname = request.hostname.as_deref().unwrap_or_default();
    let RegionChoice {
        name: region,
        source,
        endpoint_region,
    } = choose_region(
        settings.region.as_deref(),
        Some(&profiles),
        |var| std::env::var(var).ok(),
        HostRegion::Rds(hostname),
    )
    .map_err(LookupError::Region)?;
    if let Some(endpoint_region) = endpoint_region {
        note(Note::RegionDiffers {
            region: region.clone(),
            source: source.clone(),
            endpoint_region,
        });
    }
    debug(format_args!(
        "region {region} (from {source}), partition {}",
        partition(&region)
    ));

    let (resource_id, account) = match (&request.resource_id, &request.account) {
        (Some(id), Some(account)) => (id.clone(), account.clone()),
        (given_id, given_account) => {
            let api = api(&profiles, &region, settings, &debug).await?;
            let resource_id = match given_id {
                Some(id) => id.clone(),
                None => find(&api, hostname, &debug, &mut note).await?,
            };
            let account = match given_account {
                Some(account) => account.clone(),
                None => caller_account(&api, &debug).await?,
            };
            (resource_id, account)
        }
    };

    let arns = request
        .users
        .iter()
        .map(|user| DbUserArn::new(&region, &account, &resource_id, user))
        .collect::<Result<Vec<_>, _>>()
        .map_err(LookupError::User)?;
    Ok(PolicyDocument::new(arns))
}

/// The API clients, with credentials from the usual chain.
async fn api(
    profiles: &Profiles,
    region: &str,
    settings: &IssuerSettings,
    debug: &impl Fn(std::fmt::Arguments),
) -> Result<Api, LookupError> {
    let resolved = credentials::resolve(profiles, region, SystemTime::now(), &settings.chain)
        .await
        .map_err(LookupError::Credentials)?;
    let creds = resolved.credentials();
    debug(format_args!(
        "credentials from {} (profile '{}' from {}): access key {}, expire {}",
        resolved.source(),
        profiles.selected(),
        profiles.origin(),
        creds.access_key_id(),
        creds.expiry().map_or_else(|| "never".to_owned(), rfc3339),
    ));
    if let Some(url) = &settings.chain.endpoint_url {
        debug(format_args!("RDS calls go to {url} (--endpoint-url)"));
    }
    Ok(Api::new(profiles, region, creds.clone(), &settings.chain).await)
}

/// The resource id of the database at `hostname`.
async fn find(
    api: &Api,
    hostname: &str,
    debug: &impl Fn(std::fmt::Arguments),
    note: &mut impl FnMut(Note),
) -> Result<String, LookupError> {
    let found = api
        .find_endpoint(hostname)
        .await
        .map_err(LookupError::Api)?;
    let Some(endpoint) = found else {
        return Err(LookupError::NotFound {
            region: api.region().to_owned(),
            hostname: hostname.to_owned(),
            searched: searched(hostname),
        });
    };
    debug(format_args!(
        "{} '{}'{} at {}: resource id {}, engine {}, port {}, IAM authentication {}",
        endpoint.kind,
        endpoint.identifier,
        endpoint
            .endpoint_name
            .as_deref()
            .map_or_else(String::new, |n| format!(" (endpoint '{n}')")),
        endpoint.address,
        endpoint.resource_id,
        endpoint.engine.as_deref().unwrap_or("unknown"),
        endpoint
            .port
            .map_or_else(|| "unknown".to_owned(), |p| p.to_string()),
        match endpoint.iam_auth.is_enabled() {
            Some(true) => "on",
            Some(false) => "off",
            None => "unknown",
        },
    ));
    if endpoint.iam_auth.is_enabled() == Some(false) {
        note(Note::IamAuthOff {
            described: described(&endpoint),
            enable: enable_command(&endpoint),
        });
    }
    Ok(endpoint.resource_id)
}

/// What the look-up of `hostname` searched, in words.
fn searched(hostname: &str) -> String {
    let first = match parse_endpoint_name(hostname) {
        Some(name) => {
            let call = match name.kind {
                EndpointKind::Instance => "DescribeDBInstances",
                EndpointKind::ClusterWriter | EndpointKind::ClusterReader => "DescribeDBClusters",
                EndpointKind::ClusterCustom => {
                    return format!(
                        "looked for the {} '{}' its name points to among every cluster's custom endpoints, and compared it with the endpoints of every DB instance and RDS Proxy in the region",
                        name.kind, name.name
                    )
                }
                EndpointKind::Proxy => "DescribeDBProxies",
                EndpointKind::ProxyEndpoint => "DescribeDBProxyEndpoints",
            };
            format!(
                "asked {call} for the {} '{}' its name points to, then ",
                name.kind, name.name
            )
        }
        None => String::new(),
    };
    let kinds = if parse_endpoint_name(hostname).is_none() {
        "DB instance, Aurora cluster, RDS Proxy and RDS Proxy endpoint"
    } else {
        "DB instance, Aurora cluster and RDS Proxy"
    };
    format!("{first}compared it with the endpoints of every {kinds} in the region")
}

/// `the DB instance 'x'`, `the Aurora cluster 'y' (of instance 'x')`.
fn described(endpoint: &DbEndpoint) -> String {
    match (&endpoint.kind, &endpoint.cluster) {
        (EndpointKind::Instance, Some(cluster)) => format!(
            "the Aurora cluster '{cluster}' of instance '{}'",
            endpoint.identifier
        ),
        (EndpointKind::Instance, None) => format!("the DB instance '{}'", endpoint.identifier),
        (EndpointKind::Proxy | EndpointKind::ProxyEndpoint, _) => {
            format!("the RDS Proxy '{}'", endpoint.identifier)
        }
        (_, _) => format!("the Aurora cluster '{}'", endpoint.identifier),
    }
}

/// The command that turns IAM authentication on for `endpoint`.
fn enable_command(endpoint: &DbEndpoint) -> String {
    match (&endpoint.kind, &endpoint.cluster, &endpoint.iam_auth) {
        (_, _, IamAuth::Proxy { .. }) => format!(
            "set IAMAuth to REQUIRED in the proxy's --auth with aws rds modify-db-proxy --db-proxy-name {}",
            endpoint.identifier
        ),
        (EndpointKind::Instance, None, _) => format!(
            "aws rds modify-db-instance --db-instance-identifier {} --enable-iam-database-authentication --apply-immediately",
            endpoint.identifier
        ),
        (_, Some(cluster), _) => format!(
            "aws rds modify-db-cluster --db-cluster-identifier {cluster} --enable-iam-database-authentication --apply-immediately"
        ),
        (_, None, _) => format!(
            "aws rds modify-db-cluster --db-cluster-identifier {} --enable-iam-database-authentication --apply-immediately",
            endpoint.identifier
        ),
    }
}

/// The caller's account.
async fn caller_account(
    api: &Api,
    debug: &impl Fn(std::fmt::Arguments),
) -> Result<String, LookupError> {
    let identity = api.caller_identity().await.map_err(LookupError::Api)?;
    debug(format_args!(
        "account {} (the caller, {}, from GetCallerIdentity)",
        identity.account, identity.arn
    ));
    validate_account(&identity.account)
        .map_err(|_| LookupError::MalformedAccount(identity.account.clone()))?;
    Ok(identity.account)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_the_search_by_the_shape_of_the_name() {
        assert_eq!(
            searched("app.cluster-ro-abc.us-east-1.rds.amazonaws.com"),
            "asked DescribeDBClusters for the Aurora cluster reader endpoint 'app' its name points to, then compared it with the endpoints of every DB instance, Aurora cluster and RDS Proxy in the region"
        );
        assert!(
            searched("db.example.com").contains("RDS Proxy and RDS Proxy endpoint in the region")
        );
    }
}
