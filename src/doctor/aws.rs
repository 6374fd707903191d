//! The checks made from AWS's answers ([`crate::aws_api`]): who the
//! credentials belong to, which database the endpoint is and whether IAM
//! authentication is on for it, and whether the caller's policies allow
//! `rds-db:connect` on the user's ARN.
//!
//! A call that is denied makes its check a skip that names the permission;
//! a call that gets no answer (no route to AWS, a timeout) makes it a skip
//! too, since a token login needs no AWS API. Only AWS's own verdicts fail:
//! credentials it refuses, an endpoint it does not know, IAM authentication
//! turned off, a policy that does not allow the login.

use super::{Check, CheckName, Engine};
use crate::aws_api::{
    ApiError, CallerIdentity, DbEndpoint, Decision, EndpointKind, EvalDecision, IamAuth,
};
use crate::policy::{DbUserArn, PolicyDocument};

/// AWS error codes that mean the credentials themselves are refused.
const REFUSED_CREDENTIALS: [&str; 7] = [
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidAccessKeyId",
    "UnrecognizedClientException",
    "RequestExpired",
];

/// The error code of an [`ApiError::Other`].
fn code(err: &ApiError) -> Option<&str> {
    match err {
        ApiError::Other { code, .. } => code.as_deref(),
        _ => None,
    }
}

/// True when `err` says AWS refused the credentials (the identity check
/// has failed for it; the checks after it skip).
pub fn refuses_credentials(err: &ApiError) -> bool {
    code(err).is_some_and(|c| REFUSED_CREDENTIALS.contains(&c))
}

/// A skip for a check whose AWS call failed: denied (naming the
/// permission), or unanswered. `what` says what could not be checked.
pub fn unanswered(name: CheckName, what: &str, err: &ApiError) -> Check {
    match err.denied_permission() {
        Some(permission) => Check::skip(
            name,
            format!("{what}: {permission} is denied to these credentials"),
        )
        .with_fix(format!(
            "to let doctor check this, allow {permission} (read-only) to the caller"
        )),
        None => Check::skip(name, format!("{what}: {err}")),
    }
}

/// Who an ARN is, in words: `assumed role app (session i-0abc)`, `IAM
/// Identity Center permission set Admin (role AWSReservedSSO_Admin_0123abcd,
/// session jane)`, `IAM user jane`, `the root user`.
pub fn principal(arn: &str) -> String {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [_, _, service, _, _, resource] = parts.as_slice() else {
        return arn.to_owned();
    };
    match (*service, resource.split_once('/')) {
        ("sts", Some(("assumed-role", rest))) => {
            let (role, session) = rest.split_once('/').unwrap_or((rest, ""));
            match sso_permission_set(role) {
                Some(set) => format!(
                    "IAM Identity Center permission set {set} (role {role}, session {session})"
                ),
                None => format!("assumed role {role} (session {session})"),
            }
        }
        ("sts", Some(("federated-user", user))) => format!("federated user {user}"),
        ("iam", Some((kind @ ("user" | "role"), path_and_name))) => {
            format!(
                "IAM {kind} {}",
                path_and_name.rsplit('/').next().unwrap_or_default()
            )
        }
        ("iam", None) if *resource == "root" => "the root user".to_owned(),
        _ => arn.to_owned(),
    }
}

/// `arn` in words and in full, `IAM role app (arn:aws:iam::...)`, or
/// just the ARN when it is of no kind [`principal`] knows.
fn named(arn: &str) -> String {
    let who = principal(arn);
    if who == arn {
        who
    } else {
        format!("{who} ({arn})")
    }
}

/// `Admin` for the role IAM Identity Center makes for permission set
/// Admin, `AWSReservedSSO_Admin_0123456789abcdef`.
fn sso_permission_set(role: &str) -> Option<&str> {
    let rest = role.strip_prefix("AWSReservedSSO_")?;
    let (set, hash) = rest.rsplit_once('_')?;
    (hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit())).then_some(set)
}

/// The `identity` check: STS `GetCallerIdentity`'s answer.
pub fn identity(result: &Result<CallerIdentity, ApiError>) -> Check {
    let name = CheckName::Identity;
    match result {
        Ok(me) => {
            let who = principal(&me.arn);
            let arn = if who == me.arn {
                String::new()
            } else {
                format!(": {}", me.arn)
            };
            Check::pass(name, format!("{who} in account {}{arn}", me.account))
        }
        Err(err) if refuses_credentials(err) => {
            let text = err.to_string();
            let clock = code(err) == Some("RequestExpired")
                || (code(err) == Some("SignatureDoesNotMatch")
                    && (text.contains("Signature expired") || text.contains("not yet current")));
            let fix = match code(err) {
                _ if clock => {
                    "AWS saw the request as signed at another time than its own: the local clock is more than 5 minutes off; synchronize it with NTP (timedatectl set-ntp true, or chronyc makestep)"
                }
                Some("ExpiredToken" | "ExpiredTokenException") => {
                    "the session has expired: get fresh credentials (aws sso login, assume the role again, or let the instance or container role refresh them)"
                }
                Some("SignatureDoesNotMatch") => {
                    "the secret key does not belong to the access key: set the pair that goes together"
                }
                _ => {
                    "the access key is not one AWS knows (deleted, deactivated, from another partition, or a temporary key without its session token): use current credentials"
                }
            };
            Check::fail(
                name,
                format!(
                    "AWS refuses these credentials: {err}; a token signed with them is refused too"
                ),
                fix,
            )
        }
        Err(err) => unanswered(name, "could not ask AWS who the credentials belong to", err),
    }
}

/// The engine of the API's engine name (`postgres`, `aurora-postgresql`,
/// `mysql`, `mariadb`, `aurora-mysql`, a proxy's `POSTGRESQL` or `MYSQL`);
/// `None` for engines without IAM database authentication.
pub fn engine_of(engine: &str) -> Option<Engine> {
    let engine = engine.to_ascii_lowercase();
    if engine.contains("postgres") {
        Some(Engine::Postgres)
    } else if engine.contains("mysql") || engine == "mariadb" || engine == "aurora" {
        Some(Engine::Mysql)
    } else {
        None
    }
}

/// What the endpoint is, in words: `DB instance mydb`, `the reader
/// endpoint of Aurora cluster app`, `RDS Proxy px`, ...
pub fn describe(endpoint: &DbEndpoint) -> String {
    let own = endpoint.endpoint_name.as_deref().unwrap_or_default();
    let id = &endpoint.identifier;
    match endpoint.kind {
        EndpointKind::Instance => match &endpoint.cluster {
            Some(cluster) => format!("DB instance {id} of Aurora cluster {cluster}"),
            None => format!("DB instance {id}"),
        },
        EndpointKind::ClusterWriter => format!("the writer endpoint of Aurora cluster {id}"),
        EndpointKind::ClusterReader => format!("the reader endpoint of Aurora cluster {id}"),
        EndpointKind::ClusterCustom => {
            format!("custom endpoint {own} of Aurora cluster {id}")
        }
        EndpointKind::Proxy => format!("RDS Proxy {id}"),
        EndpointKind::ProxyEndpoint => format!("endpoint {own} of RDS Proxy {id}"),
    }
}

/// The port a proxy listens on: it follows its engine family.
fn proxy_port(engine: Option<&str>) -> Option<u16> {
    match engine?.to_ascii_uppercase().as_str() {
        "POSTGRESQL" => Some(5432),
        "MYSQL" => Some(3306),
        "SQLSERVER" => Some(1433),
        _ => None,
    }
}

/// What the `endpoint` check is told.
#[derive(Debug)]
pub struct EndpointLookup<'a> {
    /// `--hostname`.
    pub hostname: &'a str,
    /// `--port`.
    pub port: u16,
    /// `--engine`, when given.
    pub engine: Option<Engine>,
    /// The host's canonical name, when it has another (a CNAME).
    pub canonical: Option<&'a str>,
    /// The region looked in.
    pub region: &'a str,
    /// The RDS API's answer.
    pub found: &'a Result<Option<DbEndpoint>, ApiError>,
}

/// The `endpoint` check.
pub fn endpoint(lookup: &EndpointLookup) -> Check {
    let name = CheckName::Endpoint;
    let hostname = lookup.hostname;
    let endpoint = match lookup.found {
        Err(err) => return unanswered(name, "could not look the endpoint up", err),
        Ok(None) => {
            let canonical = lookup
                .canonical
                .map_or_else(String::new, |c| format!(" (nor its canonical name {c})"));
            return Check::fail(
                name,
                format!(
                    "no DB instance, Aurora cluster or RDS Proxy in {} has the address {hostname}{canonical}",
                    lookup.region
                ),
                format!(
                    "pass the endpoint name RDS shows as --hostname (aws rds describe-db-instances --region {} --query 'DBInstances[].Endpoint.Address'; describe-db-clusters for Aurora, describe-db-proxies for RDS Proxy), and --region with the region it is in",
                    lookup.region
                ),
            );
        }
        Ok(Some(endpoint)) => endpoint,
    };
    let what = describe(endpoint);
    let engine_name = endpoint
        .engine
        .as_deref()
        .unwrap_or("an engine RDS did not name");
    let Some(engine) = endpoint.engine.as_deref().map(engine_of) else {
        return Check::skip(
            name,
            format!("{hostname} is {what}, and RDS did not say its engine"),
        );
    };
    let Some(engine) = engine else {
        return Check::fail(
            name,
            format!("{hostname} is {what}, a {engine_name} database: RDS has IAM database authentication for MySQL, MariaDB and PostgreSQL only"),
            "log in with the database's own password (or Kerberos) instead of a token",
        );
    };
    if let Some(flag) = lookup.engine.filter(|&flag| flag != engine) {
        let flag = match flag {
            Engine::Postgres => "postgres",
            Engine::Mysql => "mysql",
        };
        return Check::fail(
            name,
            format!("{hostname} is {what}, a {engine_name} database, but --engine says {flag}"),
            "leave --engine out, or pass the endpoint's engine",
        );
    }
    let port = endpoint
        .port
        .or_else(|| proxy_port(endpoint.engine.as_deref()));
    let mut message = format!("{hostname} is {what} ({engine_name}");
    if let Some(port) = port {
        message.push_str(&format!(", port {port}"));
    }
    message.push(')');
    let address = endpoint.address.trim_end_matches('.');
    let cname = !address.eq_ignore_ascii_case(hostname.trim_end_matches('.'));
    if cname {
        message = format!(
            "{hostname} is a CNAME of {address}, {what} ({engine_name}{}); sign tokens for {address}: pass it as --hostname, and connect to {hostname} with --via or the client's own host setting",
            port.map_or_else(String::new, |p| format!(", port {p}"))
        );
    }
    match port {
        Some(port) if port != lookup.port => Check::fail(
            name,
            format!("{message}, but --port is {}", lookup.port),
            format!("pass --port {port}: a token signed for another port is refused (through a tunnel too: --via names the tunnel, --port stays the database's)"),
        ),
        _ => Check::pass(name, message),
    }
}

/// The `iam-auth-enabled` check of `endpoint`, in `region`.
pub fn iam_auth(endpoint: &DbEndpoint, region: &str) -> Check {
    let name = CheckName::IamAuthEnabled;
    let what = describe(endpoint);
    let id = &endpoint.identifier;
    let (on_what, command) = match (&endpoint.iam_auth, &endpoint.cluster) {
        (IamAuth::Proxy { .. }, _) => (
            format!("RDS Proxy {id}"),
            format!(
                "aws rds modify-db-proxy --region {region} --db-proxy-name {id} --auth AuthScheme=SECRETS,SecretArn=SECRET-ARN,IAMAuth=REQUIRED (SECRET-ARN: the proxy's secret, in aws rds describe-db-proxies --db-proxy-name {id}), or --default-auth-scheme IAM_AUTH for end-to-end IAM authentication"
            ),
        ),
        (_, Some(cluster)) => (
            format!("Aurora cluster {cluster}"),
            format!(
                "aws rds modify-db-cluster --region {region} --db-cluster-identifier {cluster} --enable-iam-database-authentication --apply-immediately"
            ),
        ),
        (_, None) => (
            format!("DB instance {id}"),
            format!(
                "aws rds modify-db-instance --region {region} --db-instance-identifier {id} --enable-iam-database-authentication --apply-immediately"
            ),
        ),
    };
    let setting = match &endpoint.iam_auth {
        IamAuth::Proxy {
            modes,
            default_auth_scheme,
        } => format!(
            "IAMAuth {}{}",
            if modes.is_empty() {
                "(none)".to_owned()
            } else {
                modes.join(", ")
            },
            default_auth_scheme
                .as_deref()
                .map_or_else(String::new, |s| format!(", DefaultAuthScheme {s}"))
        ),
        IamAuth::Enabled => "IAMDatabaseAuthenticationEnabled is true".to_owned(),
        IamAuth::Disabled => "IAMDatabaseAuthenticationEnabled is false".to_owned(),
        IamAuth::Unknown => String::new(),
    };
    match endpoint.iam_auth.is_enabled() {
        Some(true) => Check::pass(name, format!("{setting} on {on_what}")),
        Some(false) => Check::fail(
            name,
            format!(
                "{setting} on {on_what}{}: it refuses every token (\"PAM authentication failed\", \"Access denied\")",
                if what == on_what {
                    String::new()
                } else {
                    format!(" ({what})")
                }
            ),
            command,
        ),
        None => Check::skip(
            name,
            format!("RDS did not say whether IAM authentication is on for {on_what}"),
        ),
    }
}

/// The policy document that allows `arn`, on one line.
pub fn one_line_policy(arn: &DbUserArn) -> String {
    PolicyDocument::new(vec![arn.clone()])
        .to_json()
        .lines()
        .map(str::trim_start)
        .collect::<Vec<_>>()
        .join(" ")
}

/// What the `policy` check is told.
#[derive(Debug)]
pub struct PolicyQuestion<'a> {
    /// The principal simulated: a user or role ARN.
    pub principal: &'a str,
    /// The `dbuser` ARN a login needs `rds-db:connect` on.
    pub arn: &'a DbUserArn,
    /// The command that prints the policy, for the fix.
    pub policy_command: &'a str,
    /// `iam:SimulatePrincipalPolicy`'s answer.
    pub answer: &'a Result<Vec<Decision>, ApiError>,
    /// Why `iam:GetRole` gave no full ARN (with the role's path) for a
    /// role, when it did not: the simulation then had the ARN without it.
    pub role_lookup: Option<&'a ApiError>,
}

/// The `policy` check.
pub fn policy(question: &PolicyQuestion) -> Check {
    let name = CheckName::Policy;
    let PolicyQuestion {
        principal: who,
        arn,
        policy_command,
        answer,
        role_lookup,
    } = question;
    let attach = format!(
        "attach a policy allowing it to {} ({policy_command} prints it): {}",
        principal(who),
        one_line_policy(arn)
    );
    let who = named(who);
    let decisions = match answer {
        Ok(decisions) => decisions,
        Err(err) => {
            let why = match (err.denied_permission(), role_lookup) {
                (Some(permission), _) => format!(
                    "could not simulate rds-db:connect on {arn}: {permission} is denied to these credentials"
                ),
                (None, Some(lookup)) if code(err) == Some("NoSuchEntity") => format!(
                    "could not simulate rds-db:connect on {arn}: IAM knows the role by its full ARN, with its path, which iam:GetRole tells, and {}",
                    match lookup.denied_permission() {
                        Some(permission) => format!("{permission} is denied to these credentials"),
                        None => lookup.to_string(),
                    }
                ),
                (None, _) => format!("could not simulate rds-db:connect on {arn}: {err}"),
            };
            return Check::skip(name, why)
                .with_fix(format!("make sure a policy allows it: {attach}"));
        }
    };
    let wanted = arn.to_string();
    let Some(decision) = decisions
        .iter()
        .find(|d| d.resource_arn == wanted)
        .or(decisions.first())
    else {
        return Check::skip(
            name,
            format!("IAM's simulation of rds-db:connect on {arn} gave no answer"),
        )
        .with_fix(format!("make sure a policy allows it: {attach}"));
    };
    let by = if decision.matched_policies.is_empty() {
        String::new()
    } else {
        format!(" (by {})", decision.matched_policies.join(", "))
    };
    let caveat = if decision.missing_context.is_empty() {
        String::new()
    } else {
        format!(
            "; the policies test {}, which the simulation has no value for, so a login may be judged otherwise",
            decision.missing_context.join(", ")
        )
    };
    match &decision.decision {
        EvalDecision::Allowed => Check::pass(
            name,
            format!("{who} may rds-db:connect on {arn}{by}{caveat}"),
        ),
        EvalDecision::ImplicitDeny => Check::fail(
            name,
            format!("no policy of {who} allows rds-db:connect on {arn}{caveat}"),
            attach,
        ),
        EvalDecision::ExplicitDeny => Check::fail(
            name,
            format!("a policy of {who} denies rds-db:connect on {arn}{by}{caveat}"),
            format!("remove or narrow the Deny statement for rds-db:connect (an explicit Deny wins over any Allow), then {attach}"),
        ),
        EvalDecision::Other(verdict) => Check::skip(
            name,
            format!("IAM's simulation of rds-db:connect on {arn} says {verdict}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;

    #[test]
    fn says_who_an_arn_is() {
        assert_eq!(
            principal("arn:aws:sts::123456789012:assumed-role/app/i-0abc"),
            "assumed role app (session i-0abc)"
        );
        assert_eq!(
            principal("arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_DbAdmin_0123456789abcdef/jane@example.com"),
            "IAM Identity Center permission set DbAdmin (role AWSReservedSSO_DbAdmin_0123456789abcdef, session jane@example.com)"
        );
        assert_eq!(
            principal("arn:aws:iam::123456789012:user/ops/jane"),
            "IAM user jane"
        );
        assert_eq!(principal("arn:aws:iam::123456789012:root"), "the root user");
        assert_eq!(
            named("arn:aws:iam::123456789012:role/service-role/app"),
            "IAM role app (arn:aws:iam::123456789012:role/service-role/app)"
        );
        assert_eq!(
            principal("arn:aws-cn:sts::123456789012:federated-user/bob"),
            "federated user bob"
        );
        assert_eq!(principal("not an arn"), "not an arn");
    }

    fn instance(cluster: Option<&str>, iam: IamAuth) -> DbEndpoint {
        DbEndpoint {
            kind: EndpointKind::Instance,
            address: "mydb.abc.us-east-1.rds.amazonaws.com".into(),
            identifier: "mydb".into(),
            endpoint_name: None,
            resource_id: "db-ABC".into(),
            instance_resource_id: None,
            engine: Some("postgres".into()),
            port: Some(5432),
            iam_auth: iam,
            cluster: cluster.map(str::to_owned),
        }
    }

    #[test]
    fn names_the_exact_command_that_turns_iam_authentication_on() {
        let check = iam_auth(&instance(None, IamAuth::Disabled), "us-east-1");
        assert_eq!(check.status, Status::Fail);
        assert_eq!(
            check.fix.as_deref(),
            Some("aws rds modify-db-instance --region us-east-1 --db-instance-identifier mydb --enable-iam-database-authentication --apply-immediately")
        );
        let check = iam_auth(&instance(Some("app"), IamAuth::Disabled), "us-east-1");
        assert_eq!(
            check.fix.as_deref(),
            Some("aws rds modify-db-cluster --region us-east-1 --db-cluster-identifier app --enable-iam-database-authentication --apply-immediately")
        );
        let check = iam_auth(&instance(None, IamAuth::Enabled), "us-east-1");
        assert_eq!(
            (check.status, check.message.as_str()),
            (
                Status::Pass,
                "IAMDatabaseAuthenticationEnabled is true on DB instance mydb"
            )
        );
    }

    #[test]
    fn fails_a_proxy_without_iam_auth_and_passes_one_that_requires_it() {
        let proxy = |modes: &[&str]| DbEndpoint {
            kind: EndpointKind::Proxy,
            address: "px.proxy-abc.us-east-1.rds.amazonaws.com".into(),
            identifier: "px".into(),
            endpoint_name: None,
            resource_id: "prx-0123".into(),
            instance_resource_id: None,
            engine: Some("POSTGRESQL".into()),
            port: None,
            iam_auth: IamAuth::Proxy {
                modes: modes.iter().map(|m| (*m).to_owned()).collect(),
                default_auth_scheme: None,
            },
            cluster: None,
        };
        let check = iam_auth(&proxy(&["DISABLED"]), "us-east-1");
        assert_eq!(check.status, Status::Fail);
        assert!(check
            .fix
            .unwrap()
            .starts_with("aws rds modify-db-proxy --region us-east-1 --db-proxy-name px --auth "));
        assert_eq!(
            iam_auth(&proxy(&["REQUIRED"]), "us-east-1").status,
            Status::Pass
        );
        let found = Ok(Some(proxy(&["REQUIRED"])));
        let check = endpoint(&EndpointLookup {
            hostname: "px.proxy-abc.us-east-1.rds.amazonaws.com",
            port: 3306,
            engine: None,
            canonical: None,
            region: "us-east-1",
            found: &found,
        });
        assert_eq!(check.status, Status::Fail);
        assert!(check
            .message
            .ends_with("(POSTGRESQL, port 5432), but --port is 3306"));
    }

    #[test]
    fn refuses_engines_without_iam_authentication() {
        let mut db = instance(None, IamAuth::Unknown);
        db.engine = Some("sqlserver-se".into());
        let found = Ok(Some(db));
        let check = endpoint(&EndpointLookup {
            hostname: "mydb.abc.us-east-1.rds.amazonaws.com",
            port: 1433,
            engine: None,
            canonical: None,
            region: "us-east-1",
            found: &found,
        });
        assert_eq!(check.status, Status::Fail);
        assert!(check.message.contains("a sqlserver-se database"));
        for (engine, expected) in [
            ("aurora-postgresql", Some(Engine::Postgres)),
            ("aurora-mysql", Some(Engine::Mysql)),
            ("mariadb", Some(Engine::Mysql)),
            ("MYSQL", Some(Engine::Mysql)),
            ("oracle-ee", None),
        ] {
            assert_eq!(engine_of(engine), expected, "{engine}");
        }
    }

    #[test]
    fn skips_with_the_permission_a_denied_call_needs() {
        let err = ApiError::Denied {
            permission: "rds:DescribeDBInstances".into(),
            message: "not authorized".into(),
        };
        let check = unanswered(CheckName::Endpoint, "could not look the endpoint up", &err);
        assert_eq!(check.status, Status::Skip);
        assert_eq!(
            check.message,
            "could not look the endpoint up: rds:DescribeDBInstances is denied to these credentials"
        );
    }

    #[test]
    fn says_a_role_with_a_path_needs_get_role_when_iam_does_not_know_it_without() {
        let arn = DbUserArn::new("us-east-1", "123456789012", "db-ABCDEFGHIJKL", "app").unwrap();
        let answer = Err(ApiError::Other {
            operation: "SimulatePrincipalPolicy".into(),
            code: Some("NoSuchEntity".into()),
            message: "NoSuchEntity: role app not found".into(),
        });
        let get_role = ApiError::Denied {
            permission: "iam:GetRole".into(),
            message: "not authorized".into(),
        };
        let check = policy(&PolicyQuestion {
            principal: "arn:aws:iam::123456789012:role/app",
            arn: &arn,
            policy_command: "rds-auth-token policy --hostname h --username app",
            answer: &answer,
            role_lookup: Some(&get_role),
        });
        assert_eq!(check.status, Status::Skip);
        assert!(
            check.message.ends_with("with its path, which iam:GetRole tells, and iam:GetRole is denied to these credentials"),
            "{check:?}"
        );
        assert!(check.fix.unwrap().contains(r#""Action": "rds-db:connect""#));
    }

    #[test]
    fn fails_identity_when_aws_refuses_the_credentials_and_says_why() {
        let refused = |code: &str, message: &str| {
            identity(&Err(ApiError::Other {
                operation: "GetCallerIdentity".into(),
                code: Some(code.into()),
                message: format!("{code}: {message}"),
            }))
        };
        let check = refused(
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        );
        assert_eq!(check.status, Status::Fail);
        assert!(check
            .fix
            .unwrap()
            .starts_with("the access key is not one AWS knows"));
        let check = refused("SignatureDoesNotMatch", "Signature expired: 20261122T011000Z is now earlier than 20261122T011607Z (20261122T012107Z - 5 min.)");
        assert!(check
            .fix
            .unwrap()
            .contains("the local clock is more than 5 minutes off"));
        let check = refused(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        );
        assert!(check
            .fix
            .unwrap()
            .starts_with("the secret key does not belong to the access key"));
        let check = refused(
            "ExpiredToken",
            "The security token included in the request is expired",
        );
        assert!(check.fix.unwrap().starts_with("the session has expired"));
        let unreachable = identity(&Err(ApiError::Unreachable {
            operation: "GetCallerIdentity".into(),
            message: "dns error".into(),
        }));
        assert_eq!(unreachable.status, Status::Skip);
    }

    #[test]
    fn writes_the_policy_to_attach_on_one_line() {
        let arn = DbUserArn::new("us-east-1", "123456789012", "db-ABCDEFGHIJKL", "app").unwrap();
        assert_eq!(
            one_line_policy(&arn),
            r#"{ "Version": "2012-10-17", "Statement": [ { "Effect": "Allow", "Action": "rds-db:connect", "Resource": "arn:aws:rds-db:us-east-1:123456789012:dbuser:db-ABCDEFGHIJKL/app" } ] }"#
        );
    }
}
