//! The checks in their order, run against the real world: the region, the
//! credentials and the token as the token command makes them, what AWS
//! (STS, RDS, IAM) says of them and of the endpoint, then the network and
//! TLS. One cause fails once: the checks that depend on a failed one are
//! skipped, naming it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use super::aws::{self, EndpointLookup, PolicyQuestion};
use super::local::{self, FoundCredentials};
use super::network::{self, Target};
use super::tls::{self, Probe, Roots};
use super::{clock, dns, Check, CheckName};
use crate::aws_api::{parse_endpoint_name, Api, ApiError, CallerIdentity, DbEndpoint};
use crate::credentials::{ProfileOrigin, Profiles};
use crate::endpoint::Via;
use crate::engine::Engine;
use crate::inspect::Expected;
use crate::issuer::{
    choose_region, CredentialChain, HostRegion, Issuer, IssuerSettings, Observer, Ready,
};
use crate::policy::DbUserArn;
use crate::Username;

/// What `doctor` is asked to check: a login as `username` to the database
/// at `hostname:port`, with a token made as `settings` say.
#[derive(Debug, Clone)]
pub struct Inquiry {
    pub hostname: String,
    pub port: u16,
    pub username: Username,
    /// The token's validity asked for, in seconds.
    pub expires_in: u64,
    /// Where the region and credentials come from.
    pub settings: IssuerSettings,
    /// The engine, when the caller knows it (else RDS's word, else the port).
    pub engine: Option<Engine>,
    /// A CA file to trust instead of the Amazon RDS CAs.
    pub ssl_ca: Option<PathBuf>,
    /// A tunnel to reach the database through.
    pub via: Option<Via>,
    /// How an error of the region, the credentials or the token is put in
    /// a check's message: [`plain`], or the caller's words (the command
    /// line names its flags).
    pub wording: Wording,
}

/// Words for one error of a chain.
pub type Wording = fn(&(dyn std::error::Error + 'static)) -> String;

/// An error as it says itself.
pub fn plain(err: &(dyn std::error::Error + 'static)) -> String {
    err.to_string()
}

/// Runs every check, in order. Where the region and credentials came from
/// goes to `observer`'s debug lines.
pub async fn run(inquiry: &Inquiry, observer: Arc<dyn Observer>) -> Vec<Check> {
    let (mut checks, engine) = signing_and_aws_checks(inquiry, &observer).await;
    checks.extend(connection_checks(inquiry, engine));
    checks
}

/// An error and its causes on one line, each in `wording`'s words,
/// escaped, as the token command says it.
fn one_line(err: &(dyn std::error::Error + 'static), wording: Wording) -> String {
    crate::text::one_line(&crate::text::error_chain(err, wording), usize::MAX)
}

/// The region, the credentials, what AWS says of them and of the endpoint,
/// and a token made with them, found as the token command finds them; and
/// the endpoint's engine, when AWS named it.
async fn signing_and_aws_checks(
    inquiry: &Inquiry,
    observer: &Arc<dyn Observer>,
) -> (Vec<Check>, Option<Engine>) {
    let settings = &inquiry.settings;
    let mut checks = Vec::new();
    let profiles = Profiles::load(settings.profile.as_deref()).await;
    let region = choose_region(
        settings.region.as_deref(),
        profiles.as_ref().ok(),
        |var| std::env::var(var).ok(),
        HostRegion::Rds(&inquiry.hostname),
    )
    .map_err(|err| one_line(&err, inquiry.wording));
    if let Ok(choice) = &region {
        observer.debug(format_args!(
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
        Err(message) => Check::fail_from_error(
            CheckName::Region,
            message,
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
                settings.clone(),
                profiles,
                observer.clone(),
                Arc::new(CredentialChain),
            );
            match issuer.credentials(&choice.name, inquiry.expires_in).await {
                Ok(ready) => {
                    checks.push(credentials_check(issuer.profiles(), &ready));
                    Some((issuer, ready, choice))
                }
                Err(err) => {
                    checks.push(Check::fail_from_error(
                        CheckName::Credentials,
                        &one_line(&err, inquiry.wording),
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
        &settings.chain,
    )
    .await;
    let (aws_checks, engine) = aws_checks(inquiry, &api).await;
    checks.extend(aws_checks);
    let reported: &[&str] = if choice.endpoint_region.is_some() {
        &["region_mismatch"]
    } else {
        &[]
    };
    let config = crate::issuer::rds(&inquiry.hostname, inquiry.port, inquiry.username.as_str());
    checks.push(match issuer.sign(&choice.name, &ready, config) {
        Ok(made) => {
            let expected = Expected {
                hostname: Some(inquiry.hostname.clone()),
                port: Some(inquiry.port),
                username: Some(inquiry.username.as_str().to_owned()),
                region: Some(choice.name.clone()),
            };
            local::token_made(&made.token, &expected, SystemTime::now(), reported)
        }
        Err(err) => Check::fail_from_error(
            CheckName::Token,
            &one_line(&err, inquiry.wording),
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
async fn aws_checks(inquiry: &Inquiry, api: &Api) -> (Vec<Check>, Option<Engine>) {
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

    let (canonical, found) = find_endpoint(api, &inquiry.hostname).await;
    checks.push(aws::endpoint(&EndpointLookup {
        hostname: &inquiry.hostname,
        port: inquiry.port,
        engine: inquiry.engine,
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
    checks.push(policy_check(inquiry, api, &me, &endpoint).await);
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
    inquiry: &Inquiry,
    api: &Api,
    me: &CallerIdentity,
    endpoint: &DbEndpoint,
) -> Check {
    let username = inquiry.username.as_str();
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
fn connection_checks(inquiry: &Inquiry, known: Option<Engine>) -> Vec<Check> {
    let target = match inquiry.via {
        Some(via) => Target {
            host: via.ip.to_string(),
            port: via.port,
            tunnel: true,
        },
        None => Target {
            host: inquiry.hostname.clone(),
            port: inquiry.port,
            tunnel: false,
        },
    };
    let connected = network::connect(&target);
    let network = network::check(&target, &connected);
    let tls = match connected {
        Ok(connected) => {
            let engine = inquiry
                .engine
                .or(known)
                .or_else(|| Engine::from_port(inquiry.port));
            let probe = Probe {
                server_name: inquiry.hostname.clone(),
                roots: Roots::for_endpoint(&inquiry.hostname, inquiry.ssl_ca.clone()),
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
    fn puts_an_error_and_its_causes_on_one_escaped_line() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("could not read\nthe file")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let err = Outer(std::io::Error::other("gone \u{202e}"));
        assert_eq!(
            one_line(&err, plain),
            r"could not read the file: gone \u{202e}"
        );
        let loud: Wording = |err| err.to_string().to_uppercase();
        assert_eq!(
            one_line(&err, loud),
            r"COULD NOT READ THE FILE: GONE \u{202e}"
        );
    }
}
