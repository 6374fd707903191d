//! `rds-auth-token policy`: the IAM policy that lets a principal log in to
//! a database with a token, with the resource id and account looked up, or
//! given.

use std::ffi::OsString;
use std::sync::Arc;

use anyhow::anyhow;
use clap::Args;
use rds_auth_token::aws_api::ApiError;
use rds_auth_token::credentials::ChainSettings;
use rds_auth_token::policy::lookup::{self, LookupError, Note, Request};
use rds_auth_token::policy::{self, PolicyDocument};

use crate::cli::args::SigningArgs;
use crate::cli::exit_codes::ExitCode;
use crate::cli::failure::Failure;
use crate::cli::issue::{block_on, Stderr};
use crate::cli::options::Signing;
use crate::cli::options::{self, utf8};
use crate::cli::stdout::write_stdout;
use crate::cli::worded;

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
    let request = Request {
        hostname: options.hostname.clone(),
        users: options.users.clone(),
        resource_id: options.resource_id.clone(),
        account: options.account.clone(),
        settings: signing.settings(),
    };
    let observer = Arc::new(Stderr {
        debug: signing.debug,
    });
    lookup::make(&request, observer, |note| match note {
        Note::RegionDiffers {
            region,
            source,
            endpoint_region,
        } => say!(
            "rds-auth-token: warning: the region is {region} (from {source}), but the endpoint is in \
             {endpoint_region}; the resource id is looked up and the ARN written for {region}: \
             pass --region {endpoint_region} for the endpoint's"
        ),
        Note::IamAuthOff { described, enable } => say!(
            "rds-auth-token: warning: IAM database authentication is off on {described}; tokens are refused until it is on: {enable}"
        ),
        other => say!("rds-auth-token: warning: {other:?}"),
    })
    .await
    .map_err(failure)
}

/// A failed look-up as the command says it: with the flag that goes
/// around it.
fn failure(err: LookupError) -> Failure {
    const OFFLINE: &str = "--resource-id ID --account ACCOUNT --region REGION";
    match err {
        LookupError::Profiles(err) => Failure::runtime(err),
        LookupError::Region(err) => Failure::from(err),
        LookupError::Credentials(err) => Failure::runtime(anyhow!(
            "{}; or make the policy without AWS calls: {OFFLINE}",
            worded::worded(&err)
        )),
        LookupError::Api(err) => api_failure(&err),
        err @ LookupError::NotFound { .. } => Failure::runtime(anyhow!(
            "{err}; check --hostname and --region, or pass the resource id yourself: {OFFLINE}"
        )),
        err @ LookupError::MalformedAccount(_) => {
            Failure::runtime(anyhow!("{err}; pass --account ACCOUNT"))
        }
        LookupError::User(err) => Failure::usage(err),
    }
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
                "{}; allow {permission} to the caller, or {offline}",
                worded::api(err)
            ))
        }
        None => Failure::runtime(anyhow!(
            "{}; or make the policy without AWS calls: --resource-id ID --account ACCOUNT --region REGION",
            worded::api(err)
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
        PolicyOptions::from_args(policy, ChainSettings::new())
            .map_err(|e| crate::cli::worded::line(&e))
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
}
