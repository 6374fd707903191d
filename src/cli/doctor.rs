//! `rds-auth-token doctor`: check each step an IAM database login depends
//! on, print one line a check with the fix for each failure, and exit 0
//! only when none failed.

use std::sync::Arc;
use std::time::SystemTime;

use clap::Args;
use rds_auth_token::aws_api::{parse_endpoint_name, Api, ApiError, CallerIdentity, DbEndpoint};
use rds_auth_token::credentials::{ChainSettings, ProfileOrigin, Profiles};
use rds_auth_token::doctor::aws::{self, EndpointLookup, PolicyQuestion};
use rds_auth_token::doctor::local::{self, FoundCredentials};
use rds_auth_token::doctor::network::{self, Target};
use rds_auth_token::doctor::tls::{self, Probe, Roots};
use rds_auth_token::doctor::{self, clock, dns, Check, CheckName, Report};
use rds_auth_token::inspect::Expected;
use rds_auth_token::policy::DbUserArn;

use crate::cli::args::{ConnectArgs, TokenArgs};
use crate::cli::exit_codes::ExitCode;
use crate::cli::failure::Failure;
use crate::cli::issue::{block_on, rds_config, Stderr};
use crate::cli::options::{ConnectOptions, TokenOptions};
use crate::cli::stdout::write_stdout;
use rds_auth_token::engine::Engine;
use rds_auth_token::issuer::{choose_region, CredentialChain, HostRegion, Issuer, Ready};

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  # Check everything a login of app_user to this instance needs
  rds-auth-token doctor --hostname mydb.123456789012.us-east-1.rds.amazonaws.com \\
      --port 5432 --username app_user

  # Through an SSM or SSH tunnel listening on 127.0.0.1:15432, as JSON
  rds-auth-token doctor --hostname mydb.123456789012.us-east-1.rds.amazonaws.com \\
      --port 5432 --username app_user --via 127.0.0.1:15432 --json

  # MySQL on another port, with the credentials of a profile
  rds-auth-token doctor --hostname mydb.123456789012.eu-west-1.rds.amazonaws.com \\
      --port 3307 --engine mysql --username app_user --profile prod")]
pub struct DoctorArgs {
    #[command(flatten)]
    pub token: TokenArgs,

    #[command(flatten)]
    pub connect: ConnectArgs,

    /// The database engine, for the TLS check [default: the endpoint's, as
    /// RDS reports it; else from the port, 5432 postgres, 3306 mysql; else
    /// mysql when the server speaks first].
    #[arg(long, value_enum)]
    pub engine: Option<Engine>,

    /// Print one JSON object, {"checks": [{"name", "status", "message",
    /// "fix"}, ...]}, instead of one line a check.
    #[arg(long)]
    pub json: bool,
}

/// `rds-auth-token doctor`, checked.
#[derive(Debug)]
pub struct DoctorOptions {
    pub token: TokenOptions,
    pub connect: ConnectOptions,
    pub engine: Option<Engine>,
    pub json: bool,
}

impl DoctorOptions {
    /// Checks every flag value, as the token command checks the same flags.
    ///
    /// # Errors
    /// A one-line message that names the flag and the fix.
    pub fn from_args(args: DoctorArgs, chain: ChainSettings) -> anyhow::Result<DoctorOptions> {
        Ok(DoctorOptions {
            token: TokenOptions::from_args(args.token, chain)?,
            connect: ConnectOptions::from_args(args.connect)?,
            engine: args.engine,
            json: args.json,
        })
    }
}

/// Runs every check and prints the report.
///
/// # Errors
/// A usage failure for a bad flag; a runtime one when stdout fails. A check
/// that fails is no error: it is in the report, and the status is 1.
pub fn run(args: DoctorArgs, chain: ChainSettings) -> Result<ExitCode, Failure> {
    let options = DoctorOptions::from_args(args, chain).map_err(Failure::usage)?;
    let (mut checks, engine) = block_on(async { Ok(signing_and_aws_checks(&options).await) })?;
    checks.extend(connection_checks(&options, engine));
    let report = Report::new(checks);
    let text = if options.json {
        report.to_json()
    } else {
        report.to_text()
    };
    write_stdout(&text, "the report")?;
    Ok(if report.is_ok() {
        ExitCode::Success
    } else {
        ExitCode::Failure
    })
}

/// The region, the credentials, what AWS says of them and of the endpoint,
/// and a token made with them, found as the token command finds them; and
/// the endpoint's engine, when AWS named it.
async fn signing_and_aws_checks(options: &DoctorOptions) -> (Vec<Check>, Option<doctor::Engine>) {
    let token = &options.token;
    let signing = &token.signing;
    let mut checks = Vec::new();
    let profiles = Profiles::load(signing.profile.as_deref()).await;
    let region = choose_region(
        signing.region.as_deref(),
        profiles.as_ref().ok(),
        |var| std::env::var(var).ok(),
        HostRegion::Rds(&token.hostname),
    )
    .map_err(Failure::from);
    if let Ok(choice) = &region {
        signing.debug(format_args!(
            "region {} (from {})",
            choice.name, choice.source
        ));
    }
    checks.push(match &region {
        Ok(choice) => local::region_chosen(
            &choice.name,
            &choice.source,
            choice.endpoint_region.as_deref(),
        ),
        Err(failure) => Check::fail_from_error(
            CheckName::Region,
            &failure.to_string(),
            "pass --region with the endpoint's region, or set AWS_REGION",
        ),
    });
    let found = match (profiles, &region) {
        (Err(err), _) => {
            checks.push(Check::fail_from_error(
                CheckName::Credentials,
                &err.to_string(),
                "check the profile name",
            ));
            None
        }
        (Ok(_), Err(_)) => {
            checks.push(Check::skip(
                CheckName::Credentials,
                "not looked up: they are looked up in the signing region, and there is none (see region)",
            ));
            None
        }
        (Ok(profiles), Ok(choice)) => {
            let issuer = Issuer::with_source(
                signing.settings(),
                profiles,
                Arc::new(Stderr {
                    debug: signing.debug,
                }),
                Arc::new(CredentialChain),
            );
            match issuer
                .credentials(&choice.name, token.expires_in.as_secs())
                .await
            {
                Ok(ready) => {
                    checks.push(credentials_check(issuer.profiles(), &ready));
                    Some((issuer, ready, choice))
                }
                Err(err) => {
                    checks.push(Check::fail_from_error(
                        CheckName::Credentials,
                        &Failure::from(err).to_string(),
                        "see the AWS credential provider chain in `rds-auth-token --help`",
                    ));
                    None
                }
            }
        }
    };
    let Some((issuer, ready, choice)) = found else {
        for name in [
            CheckName::Identity,
            CheckName::Clock,
            CheckName::Endpoint,
            CheckName::IamAuthEnabled,
            CheckName::Policy,
        ] {
            checks.push(Check::skip(
                name,
                "not checked: no credentials to ask AWS with (see credentials)",
            ));
        }
        checks.push(Check::skip(
            CheckName::Token,
            "not made: no credentials to sign with (see credentials)",
        ));
        return (checks, None);
    };
    // The AWS calls go to the endpoint's region when the signing region is
    // another one (the region check has failed for that already).
    let api_region = choice.endpoint_region.as_deref().unwrap_or(&choice.name);
    let api = Api::new(
        issuer.profiles(),
        api_region,
        ready.resolved.credentials().clone(),
        &signing.chain,
    )
    .await;
    let (aws_checks, engine) = aws_checks(options, &api).await;
    checks.extend(aws_checks);
    let reported: &[&str] = if choice.endpoint_region.is_some() {
        &["region_mismatch"]
    } else {
        &[]
    };
    checks.push(match issuer.sign(&choice.name, &ready, rds_config(token)) {
        Ok(made) => {
            let expected = Expected {
                hostname: Some(token.hostname.clone()),
                port: Some(token.port),
                username: Some(token.username.as_str().to_owned()),
                region: Some(choice.name.clone()),
            };
            local::token_made(&made.token, &expected, SystemTime::now(), reported)
        }
        Err(err) => Check::fail_from_error(
            CheckName::Token,
            &Failure::from(err).to_string(),
            "check --hostname, --port and --username",
        ),
    });
    (checks, engine)
}

/// The `credentials` check for what the chain found.
fn credentials_check(profiles: &Profiles, ready: &Ready) -> Check {
    let creds = ready.resolved.credentials();
    let source = ready.resolved.source();
    local::credentials_found(
        &FoundCredentials {
            source: &source,
            profile: (profiles.origin() != ProfileOrigin::Default).then(|| profiles.selected()),
            access_key_id: creds.access_key_id(),
            session_token: creds.session_token().is_some(),
            expiry: creds.expiry(),
            shortened: ready.shortened_from.map(|asked| (ready.expires_in, asked)),
        },
        SystemTime::now(),
    )
}

/// Identity, clock, endpoint, iam-auth-enabled and policy, from AWS's
/// answers; and the endpoint's engine.
async fn aws_checks(options: &DoctorOptions, api: &Api) -> (Vec<Check>, Option<doctor::Engine>) {
    let token = &options.token;
    let mut checks = Vec::new();
    let identity = api.caller_identity().await;
    let received = SystemTime::now();
    checks.push(aws::identity(&identity));
    checks.push(match &identity {
        Ok(me) => match me.server_date {
            Some(date) => clock::check(received, date, "the STS response"),
            None => Check::skip(
                CheckName::Clock,
                "the STS response had no Date to compare with",
            ),
        },
        Err(_) => Check::skip(
            CheckName::Clock,
            "no answer from AWS to compare with (see identity)",
        ),
    });
    let me = match identity {
        Ok(me) => me,
        Err(_) => {
            for name in [
                CheckName::Endpoint,
                CheckName::IamAuthEnabled,
                CheckName::Policy,
            ] {
                checks.push(Check::skip(
                    name,
                    "not checked: AWS did not answer who the credentials belong to (see identity)",
                ));
            }
            return (checks, None);
        }
    };

    let (canonical, found) = find_endpoint(api, &token.hostname).await;
    checks.push(aws::endpoint(&EndpointLookup {
        hostname: &token.hostname,
        port: token.port,
        engine: options.engine,
        canonical: canonical.as_deref(),
        region: api.region(),
        found: &found,
    }));
    let Ok(Some(endpoint)) = found else {
        for name in [CheckName::IamAuthEnabled, CheckName::Policy] {
            checks.push(Check::skip(
                name,
                "not checked: no endpoint to look at (see endpoint)",
            ));
        }
        return (checks, None);
    };
    let engine = endpoint.engine.as_deref().and_then(aws::engine_of);
    checks.push(aws::iam_auth(&endpoint, api.region()));
    checks.push(policy_check(options, api, &me, &endpoint).await);
    (checks, engine)
}

/// The database whose endpoint `hostname` is, also when it is a CNAME of
/// one (then looked up by its canonical name, which is returned).
async fn find_endpoint(
    api: &Api,
    hostname: &str,
) -> (Option<String>, Result<Option<DbEndpoint>, ApiError>) {
    if parse_endpoint_name(hostname).is_some() {
        return (None, api.find_endpoint(hostname).await);
    }
    let canonical = dns::canonical_name(hostname, network::TIMEOUT)
        .ok()
        .flatten();
    if let Some(name) = canonical
        .as_deref()
        .filter(|c| parse_endpoint_name(c).is_some())
    {
        match api.find_endpoint(name).await {
            Ok(None) => {}
            found => return (canonical, found),
        }
    }
    (canonical, api.find_endpoint(hostname).await)
}

/// The `policy` check: `rds-db:connect` for the caller on the user's ARN
/// on `endpoint`, simulated by IAM.
async fn policy_check(
    options: &DoctorOptions,
    api: &Api,
    me: &CallerIdentity,
    endpoint: &DbEndpoint,
) -> Check {
    let token = &options.token;
    let username = token.username.as_str();
    let arn = match DbUserArn::new(api.region(), &me.account, &endpoint.resource_id, username) {
        Ok(arn) => arn,
        Err(err) => {
            return Check::skip(
                CheckName::Policy,
                format!("no dbuser ARN to simulate: {err}"),
            )
        }
    };
    let policy_command = format!(
        "rds-auth-token policy --hostname {} --username {}",
        shell_word(endpoint.address.trim_end_matches('.')),
        shell_word(username)
    );
    if me.arn.contains(":federated-user/") || me.arn.ends_with(":root") {
        return Check::skip(
            CheckName::Policy,
            format!(
                "IAM cannot simulate the policies of {}",
                aws::principal(&me.arn)
            ),
        )
        .with_fix(format!(
            "log in as an IAM role or user whose policy allows it: {}",
            aws::one_line_policy(&arn)
        ));
    }
    // A session's ARN names its role without the role's path, and IAM
    // simulates only the role's full ARN: GetRole has it.
    let mut principal = me.principal_arn();
    let mut role_lookup = None;
    if let Some(role) = principal
        .split_once(":role/")
        .map(|(_, name)| name.to_owned())
    {
        match api.role_arn(&role).await {
            Ok(full) if !full.is_empty() => principal = full,
            Ok(_) => {}
            Err(err) => role_lookup = Some(err),
        }
    }
    let answer = api.simulate_connect(&principal, &[arn.to_string()]).await;
    aws::policy(&PolicyQuestion {
        principal: &principal,
        arn: &arn,
        policy_command: &policy_command,
        answer: &answer,
        role_lookup: role_lookup.as_ref(),
    })
}

/// `value` as one shell word: as it is when plain, else in single quotes.
fn shell_word(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/@%+=".contains(&b));
    if plain {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

/// The TCP connection to the database (or `--via`'s tunnel), then TLS over
/// it, verified for the endpoint's name. `known` is the endpoint's engine
/// as RDS reports it.
fn connection_checks(options: &DoctorOptions, known: Option<doctor::Engine>) -> Vec<Check> {
    let token = &options.token;
    let target = match options.connect.via {
        Some(via) => Target {
            host: via.ip.to_string(),
            port: via.port,
            tunnel: true,
        },
        None => Target {
            host: token.hostname.clone(),
            port: token.port,
            tunnel: false,
        },
    };
    let connected = network::connect(&target);
    let network = network::check(&target, &connected);
    let tls = match connected {
        Ok(connected) => {
            let engine = options
                .engine
                .or(known)
                .or_else(|| Engine::from_port(token.port));
            let probe = Probe {
                server_name: token.hostname.clone(),
                roots: Roots::for_endpoint(&token.hostname, options.connect.ssl_ca.clone()),
                engine,
            };
            tls::check(connected.stream, &probe)
        }
        Err(_) => Check::skip(CheckName::Tls, "no connection (see network)"),
    };
    vec![network, tls]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn doctor(args: &[&str]) -> anyhow::Result<DoctorOptions> {
        let cli = Cli::try_parse_from(["rds-auth-token", "doctor"].iter().chain(args)).unwrap();
        match cli.command {
            Some(Command::Doctor(args)) => DoctorOptions::from_args(args, ChainSettings::new()),
            _ => panic!("expected doctor"),
        }
    }

    #[test]
    fn takes_the_token_commands_flags_with_engine_json_and_via() {
        let options = doctor(&[
            "--hostname=db.abc.us-east-1.rds.amazonaws.com",
            "--port=3307",
            "--username=-app",
            "--engine=mariadb",
            "--via=127.0.0.1:13307",
            "--json",
        ])
        .unwrap();
        assert_eq!(options.token.port, 3307);
        assert_eq!(options.token.username.as_str(), "-app");
        assert_eq!(options.engine, Some(Engine::Mysql));
        assert_eq!(options.connect.via.unwrap().port, 13307);
        assert!(options.json);
    }

    #[test]
    fn quotes_a_user_name_for_the_shell_only_when_it_needs_it() {
        assert_eq!(shell_word("app_user"), "app_user");
        assert_eq!(
            shell_word("db.abc.rds.amazonaws.com"),
            "db.abc.rds.amazonaws.com"
        );
        assert_eq!(shell_word("O'Brien x"), r"'O'\''Brien x'");
        assert_eq!(shell_word("$(id)"), "'$(id)'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn checks_the_flags_as_the_token_command_does() {
        let err = |args: &[&str]| doctor(args).unwrap_err().to_string();
        assert!(
            err(&["--hostname=h:5432", "--port=5432", "--username=u"]).contains("includes a port")
        );
        assert!(
            err(&["--hostname=h", "--port=5432", "--username=u", "--via=h:1"])
                .starts_with("--via \"h:1\" is not an IP address and port")
        );
        assert!(err(&[
            "--hostname=h",
            "--port=5432",
            "--username=u",
            "--ssl-ca=/no/such/file"
        ])
        .starts_with("--ssl-ca /no/such/file: "));
    }
}
