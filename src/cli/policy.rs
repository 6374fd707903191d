//! `rds-auth-token policy`: the IAM policy that lets a principal log in to
//! a database with a token, with the resource id and account looked up, or
//! given.

use std::ffi::OsString;
use std::time::SystemTime;

use anyhow::anyhow;
use clap::Args;
use rds_auth_token::aws_api::{
    parse_endpoint_name, Api, ApiError, CallerIdentity, DbEndpoint, EndpointKind, IamAuth,
};
use rds_auth_token::credentials::{self, ChainSettings, Profiles};
use rds_auth_token::policy::{self, DbUserArn, PolicyDocument};
use rds_auth_token::rfc3339;

use crate::cli::args::SigningArgs;
use crate::cli::exit_codes::ExitCode;
use crate::cli::failure::Failure;
use crate::cli::issue::block_on;
use crate::cli::options::Signing;
use crate::cli::options::{self, utf8};
use crate::cli::stdout::write_stdout;
use rds_auth_token::issuer::{choose_region, HostRegion, RegionChoice};

/// Print the IAM policy that lets a principal log in with a token.
///
/// Prints the identity-based policy JSON (Version 2012-10-17) that allows
/// rds-db:connect on arn:PARTITION:rds-db:REGION:ACCOUNT:dbuser:RESOURCE-ID/USER
/// for each --username: attach it to the role or user that makes tokens.
/// RESOURCE-ID is the instance's DbiResourceId, the Aurora cluster's
/// DbClusterResourceId (for its writer, reader, custom and instance
/// endpoints alike) or the proxy's prx- id; a wrong one is the most common
/// reason a token is refused with no more said than "PAM authentication
/// failed". With --hostname it is looked up (rds:DescribeDBInstances,
/// rds:DescribeDBClusters, rds:DescribeDBProxies,
/// rds:DescribeDBProxyEndpoints), and the account is the caller's (STS
/// GetCallerIdentity); with --resource-id and --account nothing is looked
/// up, and no credentials are needed. The partition follows the region
/// (aws-cn for cn-*, aws-us-gov for us-gov-*). --endpoint-url points the RDS
/// calls, and only them, at another endpoint, as `aws rds --endpoint-url`
/// does. Each AWS call gives up after 3 seconds and one retry.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  # Print the policy, looking up the resource id and the account
  rds-auth-token policy --hostname mydb.abc123.us-east-1.rds.amazonaws.com --username app

  # Offline, for several users
  rds-auth-token policy --resource-id db-ABCDEFGHIJKL01234 --account 123456789012 \\
      --region us-east-1 --username app --username report

  # Every database user of an Aurora cluster in China, with a profile's credentials
  rds-auth-token policy --hostname app.cluster-abc123.cn-north-1.rds.amazonaws.com.cn \\
      --username '*' --profile china")]
pub struct PolicyArgs {
    /// The database endpoint whose resource id to look up: an instance,
    /// Aurora cluster (writer, reader, custom) or RDS Proxy endpoint name,
    /// or a CNAME of one that RDS does not know by that name (then every
    /// instance, cluster and proxy of the region is searched).
    #[arg(
        long,
        value_name = "HOSTNAME",
        required_unless_present = "resource_id",
        conflicts_with = "resource_id"
    )]
    pub hostname: Option<OsString>,

    /// The database user to allow; repeat it for several users, or pass '*'
    /// for every user of the database.
    #[arg(
        long,
        value_name = "USERNAME",
        required = true,
        allow_hyphen_values = true
    )]
    pub username: Vec<OsString>,

    /// The resource id instead of looking it up: db-... (DbiResourceId),
    /// cluster-... (DbClusterResourceId) or prx-... (the proxy's id).
    #[arg(long, value_name = "ID")]
    pub resource_id: Option<OsString>,

    /// The 12-digit account id instead of asking STS for the caller's.
    #[arg(long, value_name = "ACCOUNT")]
    pub account: Option<OsString>,

    #[command(flatten)]
    pub signing: SigningArgs,
}

/// `policy`, checked.
#[derive(Debug)]
struct PolicyOptions {
    hostname: Option<String>,
    users: Vec<String>,
    resource_id: Option<String>,
    account: Option<String>,
    signing: Signing,
}

impl PolicyOptions {
    fn from_args(args: PolicyArgs, chain: ChainSettings) -> anyhow::Result<PolicyOptions> {
        let hostname = args
            .hostname
            .as_deref()
            .map(options::hostname)
            .transpose()?;
        let users = args
            .username
            .iter()
            .map(|u| {
                let user = utf8("--username", u)?;
                options::username(u)?;
                Ok(user)
            })
            .collect::<anyhow::Result<Vec<String>>>()?;
        let resource_id = args
            .resource_id
            .as_deref()
            .map(|id| -> anyhow::Result<String> {
                let id = utf8("--resource-id", id)?;
                policy::validate_resource_id(&id)?;
                Ok(id)
            })
            .transpose()?;
        let account = args
            .account
            .as_deref()
            .map(|a| -> anyhow::Result<String> {
                let account = utf8("--account", a)?;
                policy::validate_account(&account)?;
                Ok(account)
            })
            .transpose()?;
        if hostname.is_none() && resource_id.is_none() {
            return Err(anyhow!(
                "pass --hostname to look up the resource id, or --resource-id ID"
            ));
        }
        let signing = Signing::from_args(args.signing, chain)?;
        Ok(PolicyOptions {
            hostname,
            users,
            resource_id,
            account,
            signing,
        })
    }
}

/// Runs `policy`.
///
/// # Errors
/// A usage failure for a flag that cannot work; a runtime one when no
/// credentials are found, a look-up is denied, times out or finds nothing,
/// or stdout fails.
pub fn run(args: PolicyArgs, chain: ChainSettings) -> Result<ExitCode, Failure> {
    let options = PolicyOptions::from_args(args, chain).map_err(Failure::usage)?;
    let document = block_on(make(&options))?;
    write_stdout(&document.to_json(), "the policy")?;
    Ok(ExitCode::Success)
}

/// Finds what was not given, and makes the document.
async fn make(options: &PolicyOptions) -> Result<PolicyDocument, Failure> {
    let signing = &options.signing;
    let debug = |message: std::fmt::Arguments| signing.debug(message);
    let profiles = Profiles::load(signing.profile.as_deref())
        .await
        .map_err(Failure::runtime)?;
    let hostname = options.hostname.as_deref().unwrap_or_default();
    let RegionChoice {
        name: region,
        source,
        endpoint_region,
    } = choose_region(
        signing.region.as_deref(),
        Some(&profiles),
        |var| std::env::var(var).ok(),
        HostRegion::Rds(hostname),
    )?;
    if let Some(endpoint_region) = endpoint_region {
        say!(
            "rds-auth-token: warning: the region is {region} (from {source}), but the endpoint is in \
             {endpoint_region}; the resource id is looked up and the ARN written for {region}: \
             pass --region {endpoint_region} for the endpoint's"
        );
    }
    debug(format_args!(
        "region {region} (from {source}), partition {}",
        policy::partition(&region)
    ));

    let (resource_id, account) = match (&options.resource_id, &options.account) {
        (Some(id), Some(account)) => (id.clone(), account.clone()),
        (given_id, given_account) => {
            let api = api(&profiles, &region, signing, &debug).await?;
            let resource_id = match given_id {
                Some(id) => id.clone(),
                None => find(&api, hostname, &debug).await?,
            };
            let account = match given_account {
                Some(account) => account.clone(),
                None => caller_account(&api, &debug).await?,
            };
            (resource_id, account)
        }
    };

    let arns = options
        .users
        .iter()
        .map(|user| DbUserArn::new(&region, &account, &resource_id, user))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::usage)?;
    Ok(PolicyDocument::new(arns))
}

/// The API clients, with credentials from the usual chain.
async fn api(
    profiles: &Profiles,
    region: &str,
    signing: &Signing,
    debug: &impl Fn(std::fmt::Arguments),
) -> Result<Api, Failure> {
    let resolved = credentials::resolve(profiles, region, SystemTime::now(), &signing.chain)
        .await
        .map_err(|e| {
            Failure::runtime(anyhow!(
                "{e}; or make the policy without AWS calls: --resource-id ID --account ACCOUNT --region REGION"
            ))
        })?;
    let creds = resolved.credentials();
    debug(format_args!(
        "credentials from {} (profile '{}' from {}): access key {}, expire {}",
        resolved.source(),
        profiles.selected(),
        profiles.origin(),
        creds.access_key_id(),
        creds.expiry().map_or_else(|| "never".to_owned(), rfc3339),
    ));
    if let Some(url) = &signing.chain.endpoint_url {
        debug(format_args!("RDS calls go to {url} (--endpoint-url)"));
    }
    Ok(Api::new(profiles, region, creds.clone(), &signing.chain).await)
}

/// The resource id of the database at `hostname`.
async fn find(
    api: &Api,
    hostname: &str,
    debug: &impl Fn(std::fmt::Arguments),
) -> Result<String, Failure> {
    let found = api
        .find_endpoint(hostname)
        .await
        .map_err(|e| api_failure(&e))?;
    let Some(endpoint) = found else {
        return Err(Failure::runtime(anyhow!(
            "no DB instance, Aurora cluster or RDS Proxy in {} has the endpoint '{hostname}' ({}); check --hostname and --region, or pass the resource id yourself: --resource-id ID --account ACCOUNT --region REGION",
            api.region(),
            searched(hostname),
        )));
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
        say!(
            "rds-auth-token: warning: IAM database authentication is off on {}; tokens are refused until it is on: {}",
            described(&endpoint),
            enable_command(&endpoint)
        );
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
) -> Result<String, Failure> {
    let identity: CallerIdentity = api.caller_identity().await.map_err(|e| api_failure(&e))?;
    debug(format_args!(
        "account {} (the caller, {}, from GetCallerIdentity)",
        identity.account, identity.arn
    ));
    policy::validate_account(&identity.account).map_err(|_| {
        Failure::runtime(anyhow!(
            "GetCallerIdentity answered with the account {:?}, which is not 12 digits; pass --account ACCOUNT",
            identity.account
        ))
    })?;
    Ok(identity.account)
}

/// A failed call as a runtime failure that says how to go on: for a denied
/// one, the permission to allow and the offline alternative.
fn api_failure(err: &ApiError) -> Failure {
    match err.denied_permission() {
        Some(permission) => {
            let offline = if permission.starts_with("sts:") {
                "pass the account yourself with --account ACCOUNT"
            } else {
                "pass the resource id yourself: --resource-id ID --account ACCOUNT --region REGION"
            };
            Failure::runtime(anyhow!(
                "{err}; allow {permission} to the caller, or {offline}"
            ))
        }
        None => Failure::runtime(anyhow!(
            "{err}; or make the policy without AWS calls: --resource-id ID --account ACCOUNT --region REGION"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<PolicyOptions, String> {
        let cli =
            Cli::try_parse_from(std::iter::once("rds-auth-token").chain(args.iter().copied()))
                .map_err(|e| e.to_string())?;
        let Some(Command::Policy(policy)) = cli.command else {
            panic!("expected policy")
        };
        PolicyOptions::from_args(policy, ChainSettings::new()).map_err(|e| e.to_string())
    }

    #[test]
    fn takes_several_users_and_either_a_hostname_or_a_resource_id() {
        let options = parse(&[
            "policy",
            "--hostname",
            "mydb.abc.us-east-1.rds.amazonaws.com",
            "--username",
            "app",
            "--username",
            "*",
            "--username",
            "-odd",
        ])
        .unwrap();
        assert_eq!(options.users, ["app", "*", "-odd"]);
        assert!(parse(&["policy", "--username", "app"]).is_err());
        assert!(parse(&[
            "policy",
            "--hostname",
            "h",
            "--resource-id",
            "db-X",
            "--username",
            "u"
        ])
        .is_err());
        assert!(parse(&["policy", "--hostname", "h"]).is_err());
    }

    #[test]
    fn refuses_bad_ids_accounts_and_users_naming_the_flag() {
        let err = parse(&["policy", "--resource-id", "i-123", "--username", "u"]).unwrap_err();
        assert!(
            err.starts_with("--resource-id 'i-123' is not an RDS resource id"),
            "{err}"
        );
        let err = parse(&[
            "policy",
            "--resource-id",
            "db-X",
            "--account",
            "1234",
            "--username",
            "u",
        ])
        .unwrap_err();
        assert!(err.starts_with("--account '1234'"), "{err}");
        let err = parse(&["policy", "--resource-id", "db-X", "--username", ""]).unwrap_err();
        assert!(err.starts_with("--username is empty"), "{err}");
        let err = parse(&["policy", "--hostname", "h:5432", "--username", "u"]).unwrap_err();
        assert!(
            err.starts_with("--hostname 'h:5432' includes a port"),
            "{err}"
        );
    }

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
