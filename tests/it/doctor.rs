//! `rds-auth-token doctor` against servers on 127.0.0.1: the real
//! PostgreSQL and MariaDB (tests/it/support/servers.rs, whose certificate a test
//! CA issued for 127.0.0.1 and `mydb.xxx.us-east-1.rds.amazonaws.com`) for
//! the network and TLS checks; moto_server's RDS and STS, with the databases
//! of tests/reference/moto_rds.py, and the IAM stand-in for
//! SimulatePrincipalPolicy (tests/it/support/iam.rs) for the AWS checks; a
//! clock shifted with libfaketime; CNAMEs from an /etc/hosts of the test's
//! own in a private mount namespace.
#![cfg(target_os = "linux")]

use crate::support;

use std::net::SocketAddr;

use support::http::{forward_to, Response, Server};
use support::iam::{form, value, Iam, Verdict};
use support::moto::Moto;
use support::pg_tls::PgTls;
use support::servers::{self, Db, IAM_USER, TUNNEL_HOST};
use support::{Run, TestEnv, SECRET_KEY};

/// A session token the tests hand the binary; it must never be shown.
const SESSION_TOKEN: &str = "FwoGZXIvYXdzEDoaDTESTSESSIONTOKENNEVERSHOWN";

/// One check as the text report shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Check {
    status: String,
    message: String,
    fix: Option<String>,
}

/// A finished `doctor` run and its report, read from the text output.
struct Doctor {
    run: Run,
}

/// Every check's name, in the order the report has them.
const NAMES: [&str; 10] = [
    "credentials",
    "region",
    "identity",
    "clock",
    "endpoint",
    "iam-auth-enabled",
    "policy",
    "network",
    "tls",
    "token",
];

impl Doctor {
    /// Reads the report: every check in order and a count at the end (for
    /// the text report), and nothing secret anywhere.
    #[track_caller]
    fn new(run: Run) -> Doctor {
        let doctor = Doctor { run };
        let stdout = doctor.run.stdout();
        let names: Vec<String> = stdout
            .lines()
            .filter(|l| !l.starts_with(' '))
            .filter_map(|l| l.get(6..24).map(|n| n.trim().to_owned()))
            .filter(|n| !n.is_empty())
            .collect();
        let json = stdout.starts_with('{');
        if !json && (names.len() != 11 || names[..10] != NAMES) {
            doctor
                .run
                .fail("expected one line for each check, in order");
        }
        doctor.no_secrets();
        doctor
    }

    /// The check called `name`.
    #[track_caller]
    fn check(&self, name: &str) -> Check {
        let stdout = self.run.stdout();
        let mut lines = stdout.lines().peekable();
        while let Some(line) = lines.next() {
            if line.get(6..24).map(str::trim) == Some(name) {
                let fix = lines
                    .peek()
                    .and_then(|next| next.strip_prefix("      fix: "))
                    .map(str::to_owned);
                return Check {
                    status: line[..6].trim().to_owned(),
                    message: line[24..].to_owned(),
                    fix,
                };
            }
        }
        self.run.fail(&format!("no check {name}"))
    }

    /// `name` passed, and its message contains `needle`.
    #[track_caller]
    fn passes(&self, name: &str, needle: &str) -> &Self {
        self.is(name, "pass", needle)
    }

    /// `name` failed, its message contains `needle`, and it has a fix.
    #[track_caller]
    fn fails(&self, name: &str, needle: &str) -> Check {
        self.is(name, "fail", needle);
        let check = self.check(name);
        if check.fix.is_none() {
            self.run.fail(&format!("expected a fix for {name}"));
        }
        check
    }

    /// `name` was skipped, and its message contains `needle`.
    #[track_caller]
    fn skips(&self, name: &str, needle: &str) -> &Self {
        self.is(name, "skip", needle)
    }

    #[track_caller]
    fn is(&self, name: &str, status: &str, needle: &str) -> &Self {
        let check = self.check(name);
        if check.status != status || !check.message.contains(needle) {
            self.run.fail(&format!(
                "expected {name} to {status} with a message containing {needle:?}"
            ));
        }
        self
    }

    /// The exit status is `code`.
    #[track_caller]
    fn exits(&self, code: i32) -> &Self {
        if self.run.code() != Some(code) {
            self.run.fail(&format!("expected exit status {code}"));
        }
        self
    }

    /// Neither stdout nor stderr has the secret key or any part of a token.
    #[track_caller]
    fn no_secrets(&self) {
        for (what, text) in [("stdout", self.run.stdout()), ("stderr", self.run.stderr())] {
            for secret in [
                SECRET_KEY,
                SESSION_TOKEN,
                "X-Amz-Signature",
                "X-Amz-Credential",
                "X-Amz-Security-Token",
                "Action=connect",
            ] {
                if text.contains(secret) {
                    self.run.fail(&format!("{what} shows {secret:?}"));
                }
            }
        }
    }
}

/// `doctor` with static keys in the environment and `args`.
fn doctor(env: &TestEnv, args: &[&str]) -> Doctor {
    let mut all = vec!["doctor"];
    all.extend_from_slice(args);
    Doctor::new(env.run(all))
}

/// Static keys in the environment, and every AWS call sent to a closed
/// loopback port: AWS does not answer.
fn keys() -> TestEnv {
    let mut env = TestEnv::new();
    env.with_env_keys()
        .env("AWS_ENDPOINT_URL", format!("http://{}", closed_port()));
    env
}

/// A loopback address nothing listens on.
fn closed_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], support::ports::free()))
}

/// `doctor` for the IAM user at `host:port`, through the tunnel `via`.
fn through_tunnel(host: &str, port: &str, via: &str, extra: &[&str]) -> Doctor {
    let mut args = vec![
        "--hostname",
        host,
        "--port",
        port,
        "--username",
        IAM_USER,
        "--via",
        via,
    ];
    args.extend_from_slice(extra);
    doctor(&keys(), &args)
}

fn via(db: Db) -> String {
    format!("127.0.0.1:{}", servers::shared().port(db))
}

fn ca(which: fn(&servers::Servers) -> std::path::PathBuf) -> String {
    which(servers::shared()).to_str().unwrap().to_owned()
}

#[test]
fn words_a_missing_region_with_the_flags_as_the_token_command_does() {
    let env = keys();
    let report = doctor(
        &env,
        &[
            "--hostname",
            "db.example.com",
            "--port",
            "5432",
            "--username",
            "app",
        ],
    );
    report.fails(
        "region",
        "no region: pass --region, set AWS_REGION, set region in the profile, or use the RDS endpoint name as --hostname",
    );
    report.skips("credentials", "there is none (see region)");
}

#[test]
fn connects_and_verifies_postgres_tls_through_a_tunnel_with_the_servers_ca() {
    let ca = ca(servers::Servers::ca_cert);
    let report = through_tunnel(TUNNEL_HOST, "5432", &via(Db::Postgres), &["--ssl-ca", &ca]);
    report
        .passes(
            "network",
            &format!("connected to the tunnel at {} in ", via(Db::Postgres)),
        )
        .passes(
            "tls",
            &format!(
                "the server accepts PostgreSQL's SSLRequest: TLS 1.3 (TLS13_AES_256_GCM_SHA384), the certificate names {TUNNEL_HOST} and verifies against the CAs in --ssl-ca {ca}"
            ),
        )
        .passes("credentials", "from environment variables: access key AKIAIOSFODNN7EXAMPLE, long-term keys, no expiry")
        .passes("region", "us-east-1, from the RDS endpoint name in --hostname")
        .passes("token", &format!("made a token for {TUNNEL_HOST}:5432/{IAM_USER} in us-east-1, valid for 900 s (not shown); inspect finds no problem in it"));
}

#[test]
fn fails_tls_when_no_carried_rds_ca_issued_the_certificate() {
    let report = through_tunnel(TUNNEL_HOST, "5432", &via(Db::Postgres), &[]);
    let tls = report.exits(1).fails(
        "tls",
        "the server's certificate is not issued by the Amazon RDS CAs this tool carries",
    );
    assert!(
        tls.fix.unwrap().contains("pass it with --ssl-ca FILE"),
        "{:?}",
        report.run.stdout()
    );
}

#[test]
fn fails_tls_when_the_ssl_ca_file_is_another_ca() {
    let wrong = ca(servers::Servers::wrong_ca_cert);
    through_tunnel(
        TUNNEL_HOST,
        "5432",
        &via(Db::Postgres),
        &["--ssl-ca", &wrong],
    )
    .exits(1)
    .fails(
        "tls",
        &format!("the server's certificate is not issued by the CAs in --ssl-ca {wrong}"),
    );
}

#[test]
fn fails_tls_when_the_certificate_does_not_name_the_endpoint() {
    let ca = ca(servers::Servers::ca_cert);
    let other = "other.xxx.us-east-1.rds.amazonaws.com";
    let report = through_tunnel(other, "5432", &via(Db::Postgres), &["--ssl-ca", &ca]);
    let tls = report.exits(1).fails(
        "tls",
        &format!("the server's certificate does not name {other}"),
    );
    assert!(tls.fix.unwrap().contains("keep --hostname and pass --via"));
}

#[test]
fn fails_the_network_on_a_closed_port_and_skips_tls() {
    let closed = closed_port().to_string();
    let report = through_tunnel(TUNNEL_HOST, "5432", &closed, &[]);
    let network = report.exits(1).fails(
        "network",
        &format!("the tunnel at {closed} refused the connection: no tunnel listens there"),
    );
    assert!(network.fix.unwrap().starts_with("start the tunnel"));
    report.skips("tls", "no connection (see network)");
}

#[test]
fn reads_the_mariadb_greeting_and_verifies_its_tls_for_port_3306() {
    let ca = ca(servers::Servers::ca_cert);
    through_tunnel(TUNNEL_HOST, "3306", &via(Db::Mariadb), &["--ssl-ca", &ca])
        .passes("tls", "the server greets as MySQL protocol 10, version 10.");
    let report = through_tunnel(TUNNEL_HOST, "3306", &via(Db::Mariadb), &["--ssl-ca", &ca]);
    let tls = report.check("tls");
    assert!(
        tls.message.contains("-MariaDB") && tls.message.contains(", and offers TLS: TLS 1."),
        "{tls:?}"
    );
}

#[test]
fn tells_mysql_from_postgres_by_whether_the_server_speaks_first() {
    let ca = ca(servers::Servers::ca_cert);
    through_tunnel(TUNNEL_HOST, "6000", &via(Db::Mariadb), &["--ssl-ca", &ca])
        .passes("tls", "the server greets as MySQL protocol 10");
    through_tunnel(TUNNEL_HOST, "6000", &via(Db::Postgres), &["--ssl-ca", &ca])
        .passes("tls", "the server accepts PostgreSQL's SSLRequest: TLS 1.3");
}

#[test]
fn says_the_engine_flag_is_wrong_when_the_server_speaks_the_other_protocol() {
    let ca = ca(servers::Servers::ca_cert);
    let report = through_tunnel(
        TUNNEL_HOST,
        "5432",
        &via(Db::Mariadb),
        &["--ssl-ca", &ca, "--engine", "postgres"],
    );
    let tls = report.exits(1).fails(
        "tls",
        "the server answered PostgreSQL's SSLRequest with byte",
    );
    assert!(tls.fix.unwrap().contains("pass --engine mysql"));
    let report = through_tunnel(
        TUNNEL_HOST,
        "3306",
        &via(Db::Postgres),
        &["--ssl-ca", &ca, "--engine", "mysql"],
    );
    report.exits(1).fails(
        "tls",
        "no answer within 3 s waiting for the MySQL server's greeting",
    );
}

/// A database endpoint moto knows, as tests/reference/moto_rds.py printed it.
#[derive(Debug, Clone)]
struct MotoDb {
    kind: String,
    name: String,
    address: String,
    resource_id: String,
}

/// moto_server with the databases of tests/reference/moto_rds.py in
/// us-east-1, and what it says about them and the caller.
struct Aws {
    moto: Moto,
    dbs: Vec<MotoDb>,
    account: String,
}

const REGION: &str = "us-east-1";

impl Aws {
    #[track_caller]
    fn start() -> Aws {
        let moto = Moto::start();
        let url = format!("http://{}", moto.addr());
        let out = reference(&["setup", &url, REGION]);
        let mut dbs = Vec::new();
        let mut account = String::new();
        for line in out.lines() {
            match line.split(' ').collect::<Vec<_>>().as_slice() {
                ["account", id] => account = (*id).to_owned(),
                [_, kind, name, address, resource_id, _] => dbs.push(MotoDb {
                    kind: (*kind).to_owned(),
                    name: (*name).to_owned(),
                    address: (*address).to_owned(),
                    resource_id: (*resource_id).to_owned(),
                }),
                _ => panic!("unexpected line from moto_rds.py: {line:?}"),
            }
        }
        Aws { moto, dbs, account }
    }

    fn url(&self) -> String {
        format!("http://{}", self.moto.addr())
    }

    #[track_caller]
    fn db(&self, kind: &str, name: &str) -> &MotoDb {
        self.dbs
            .iter()
            .find(|d| d.kind == kind && d.name == name)
            .unwrap_or_else(|| panic!("moto has no {kind} {name}: {:?}", self.dbs))
    }

    /// Static keys in the environment, every AWS call sent to moto.
    fn env(&self) -> TestEnv {
        let mut env = TestEnv::new();
        env.with_env_keys().env("AWS_ENDPOINT_URL", self.url());
        env
    }

    /// The `dbuser` ARN of `user` on `db`, as AWS documents it.
    fn arn(&self, db: &MotoDb, user: &str) -> String {
        format!(
            "arn:aws:rds-db:{REGION}:{}:dbuser:{}/{user}",
            self.account, db.resource_id
        )
    }

    /// The AWS CLI's own call, against moto, with the test's keys.
    #[track_caller]
    fn aws_cli(&self, args: &[&str]) -> String {
        let mut env = self.env();
        env.env("AWS_DEFAULT_REGION", REGION);
        let mut all = vec!["--endpoint-url", self.url().leak()];
        all.extend_from_slice(args);
        let run = env.run_program(support::python::current().aws(), &all);
        run.success();
        run.stdout()
    }
}

#[track_caller]
fn reference(args: &[&str]) -> String {
    let script = support::python::reference("moto_rds.py");
    let mut all = vec![script.as_os_str()];
    all.extend(args.iter().map(std::ffi::OsStr::new));
    support::python::current().run(&all, "")
}

/// The policy the AWS guides show for `user` on `db`, on one line as the
/// report shows it.
fn expected_policy(aws: &Aws, db: &MotoDb, user: &str) -> String {
    reference(&["policy", REGION, &aws.account, &db.resource_id, user])
        .lines()
        .map(str::trim_start)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `doctor` for `user` at `db`'s endpoint on `port`, its network and TLS
/// checks sent to a PostgreSQL TLS stand-in whose certificate names the
/// endpoint.
fn doctor_at(env: &TestEnv, db: &MotoDb, port: &str, user: &str, extra: &[&str]) -> Doctor {
    let pg = PgTls::start(&db.address);
    let via = pg.addr().to_string();
    let ca = pg.ca_pem();
    let mut args = vec![
        "--hostname",
        &db.address,
        "--port",
        port,
        "--username",
        user,
        "--via",
        &via,
        "--ssl-ca",
        ca.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    doctor(env, &args)
}

#[test]
fn passes_every_check_for_an_instance_with_iam_auth_on_and_exits_0() {
    let aws = Aws::start();
    let db = aws.db("instance", "pg-iam").clone();
    let arn = aws.arn(&db, "app");
    let iam = Iam::start(&[(&arn, Verdict::Allowed)], 100);
    let caller: String = aws
        .aws_cli(&[
            "sts",
            "get-caller-identity",
            "--query",
            "Arn",
            "--output",
            "text",
        ])
        .trim()
        .to_owned();
    let mut env = aws.env();
    env.env("AWS_ENDPOINT_URL_IAM", iam.url());
    let report = doctor_at(&env, &db, "5432", "app", &[]);
    report
        .exits(0)
        .passes("identity", &format!("{caller} in account {}", aws.account))
        .passes(
            "clock",
            "the local clock is within 2 s of AWS's (the Date of the STS response)",
        )
        .passes(
            "endpoint",
            &format!("{} is DB instance pg-iam (postgres, port 5432)", db.address),
        )
        .passes(
            "iam-auth-enabled",
            "IAMDatabaseAuthenticationEnabled is true on DB instance pg-iam",
        )
        .passes(
            "policy",
            &format!("{caller} may rds-db:connect on {arn} (by db-connect)"),
        )
        .passes("tls", "the server accepts PostgreSQL's SSLRequest: TLS 1.3")
        .passes("token", "inspect finds no problem in it");
    let asked = iam.asked();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0].policy_source_arn, caller);
    assert_eq!(asked[0].action_names, ["rds-db:connect"]);
    assert_eq!(asked[0].resource_arns, [arn]);
    assert!(report
        .run
        .stdout()
        .ends_with("\n0 failed, 10 passed, 0 skipped\n"));
}

#[test]
fn prints_json_with_every_check_name_in_order_and_the_same_verdicts() {
    let aws = Aws::start();
    let db = aws.db("instance", "my-noiam").clone();
    let env = aws.env();
    let text = doctor_at(&env, &db, "3306", "app", &[]);
    let pg = PgTls::start(&db.address);
    let via = pg.addr().to_string();
    let json = env.run([
        "doctor",
        "--hostname",
        &db.address,
        "--port",
        "3306",
        "--username",
        "app",
        "--via",
        &via,
        "--json",
    ]);
    assert_eq!(json.code(), Some(1));
    // Python's own JSON parser reads it, and the shape is exactly
    // {"checks": [{"name", "status", "message", "fix"}, ...]}.
    let from_json = support::python::current().run(
        &[
            "-c",
            "import json, sys\n\
             d = json.load(sys.stdin)\n\
             assert list(d) == ['checks'], list(d)\n\
             for c in d['checks']:\n\
             \x20   assert list(c) == ['name', 'status', 'message', 'fix'], list(c)\n\
             \x20   assert c['status'] in ('pass', 'fail', 'skip')\n\
             \x20   assert (c['fix'] is None) or isinstance(c['fix'], str)\n\
             \x20   assert c['status'] != 'fail' or c['fix']\n\
             \x20   print(c['name'], c['status'])\n",
        ],
        &json.stdout(),
    );
    let names: Vec<&str> = from_json
        .lines()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(names, NAMES);
    // The TLS stand-in differs between the two runs (another CA), so only
    // the AWS and local checks are compared.
    for line in from_json.lines() {
        let (name, status) = line.split_once(' ').unwrap();
        if !["network", "tls"].contains(&name) {
            assert_eq!(text.check(name).status, status, "{name}: {from_json}");
        }
    }
    assert_eq!(json.stdout().lines().count(), 1);
    assert!(json.stderr().is_empty(), "{}", json.stderr());
}

#[test]
fn fails_iam_auth_enabled_with_the_command_that_turns_it_on_and_that_command_works() {
    let aws = Aws::start();
    let env = aws.env();
    let instance = aws.db("instance", "my-noiam").clone();
    let cluster = aws.db("writer", "aur-off").clone();
    // moto 5.2 takes modify-db-cluster's --enable-iam-database-authentication
    // but does not store it, so for the cluster only the AWS CLI's
    // acceptance of the command is checked.
    let cases = [
        (
            &instance,
            "IAMDatabaseAuthenticationEnabled is false on DB instance my-noiam: it refuses every token",
            "aws rds modify-db-instance --region us-east-1 --db-instance-identifier my-noiam --enable-iam-database-authentication --apply-immediately",
            true,
        ),
        (
            &cluster,
            "IAMDatabaseAuthenticationEnabled is false on Aurora cluster aur-off (the writer endpoint of Aurora cluster aur-off)",
            "aws rds modify-db-cluster --region us-east-1 --db-cluster-identifier aur-off --enable-iam-database-authentication --apply-immediately",
            false,
        ),
    ];
    for (db, message, command, moto_applies) in cases {
        let report = doctor_at(&env, db, "3306", "app", &[]);
        let check = report.exits(1).fails("iam-auth-enabled", message);
        assert_eq!(check.fix.as_deref(), Some(command));
        // The fix, run as it is printed (against moto).
        let args: Vec<&str> = command.split(' ').skip(1).collect();
        aws.aws_cli(&args);
        if moto_applies {
            doctor_at(&env, db, "3306", "app", &[]).passes(
                "iam-auth-enabled",
                "IAMDatabaseAuthenticationEnabled is true on DB instance my-noiam",
            );
        }
    }
}

#[test]
fn finds_cluster_readers_members_and_proxies_and_where_iam_auth_is_set() {
    let aws = Aws::start();
    let env = aws.env();
    let reader = aws.db("reader", "aur").clone();
    doctor_at(&env, &reader, "5432", "app", &[])
        .passes(
            "endpoint",
            &format!(
                "{} is the reader endpoint of Aurora cluster aur (aurora-postgresql, port 5432)",
                reader.address
            ),
        )
        .passes(
            "iam-auth-enabled",
            "IAMDatabaseAuthenticationEnabled is true on Aurora cluster aur",
        );
    let member = aws.db("instance", "aur-1").clone();
    doctor_at(&env, &member, "5432", "app", &[]).passes(
        "endpoint",
        &format!(
            "{} is DB instance aur-1 of Aurora cluster aur (aurora-postgresql, port 5432)",
            member.address
        ),
    );
    let proxy = aws.db("proxy", "px").clone();
    doctor_at(&env, &proxy, "5432", "app", &[])
        .passes(
            "endpoint",
            &format!("{} is RDS Proxy px (POSTGRESQL, port 5432)", proxy.address),
        )
        .passes("iam-auth-enabled", "IAMAuth REQUIRED on RDS Proxy px");
}

#[test]
fn fails_the_endpoint_for_another_port_or_an_unknown_name_and_skips_what_needs_it() {
    let aws = Aws::start();
    let env = aws.env();
    let db = aws.db("instance", "pg-iam").clone();
    let report = doctor_at(&env, &db, "5433", "app", &[]);
    let check = report.exits(1).fails(
        "endpoint",
        &format!(
            "{} is DB instance pg-iam (postgres, port 5432), but --port is 5433",
            db.address
        ),
    );
    assert!(check.fix.unwrap().starts_with("pass --port 5432: "));
    let unknown = MotoDb {
        address: "nosuch.aaaaaaaaaa.us-east-1.rds.amazonaws.com".into(),
        ..db.clone()
    };
    let report = doctor_at(&env, &unknown, "5432", "app", &[]);
    report
        .exits(1)
        .fails(
            "endpoint",
            "no DB instance, Aurora cluster or RDS Proxy in us-east-1 has the address nosuch.aaaaaaaaaa.us-east-1.rds.amazonaws.com",
        );
    report
        .skips("iam-auth-enabled", "no endpoint to look at (see endpoint)")
        .skips("policy", "no endpoint to look at (see endpoint)");
}

#[test]
fn fails_the_policy_when_iam_denies_the_login_and_shows_the_policy_to_attach() {
    let aws = Aws::start();
    let db = aws.db("instance", "pg-iam").clone();
    let arn = aws.arn(&db, "app");
    let policy = expected_policy(&aws, &db, "app");
    for (verdict, needle) in [
        (Verdict::ImplicitDeny, format!("no policy of arn:aws:sts::{}:user/moto allows rds-db:connect on {arn}", aws.account)),
        (Verdict::ExplicitDeny, format!("a policy of arn:aws:sts::{}:user/moto denies rds-db:connect on {arn} (by db-connect)", aws.account)),
    ] {
        let iam = Iam::start(&[(&arn, verdict)], 100);
        let mut env = aws.env();
        env.env("AWS_ENDPOINT_URL_IAM", iam.url());
        let report = doctor_at(&env, &db, "5432", "app", &[]);
        let check = report.exits(1).fails("policy", &needle);
        let fix = check.fix.unwrap();
        assert!(
            fix.ends_with(&format!(
                "(rds-auth-token policy --hostname {} --username app prints it): {policy}",
                db.address
            )),
            "{fix}"
        );
    }
}

#[test]
fn skips_the_policy_with_the_permission_when_simulating_is_denied() {
    let aws = Aws::start();
    let db = aws.db("instance", "pg-iam").clone();
    let iam = Iam::denying();
    let mut env = aws.env();
    env.env("AWS_ENDPOINT_URL_IAM", iam.url());
    let report = doctor_at(&env, &db, "5432", "app", &[]);
    report.exits(0).skips(
        "policy",
        &format!(
            "could not simulate rds-db:connect on {}: iam:SimulatePrincipalPolicy is denied to these credentials",
            aws.arn(&db, "app")
        ),
    );
    let fix = report.check("policy").fix.unwrap();
    assert!(fix.ends_with(&expected_policy(&aws, &db, "app")), "{fix}");
}

#[test]
fn names_an_assumed_role_and_simulates_the_role_with_its_path() {
    let aws = Aws::start();
    let db = aws.db("instance", "pg-iam").clone();
    aws.aws_cli(&[
        "iam",
        "create-role",
        "--path",
        "/service-role/",
        "--role-name",
        "db-connect",
        "--assume-role-policy-document",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#,
    ]);
    let keys = aws.aws_cli(&[
        "sts",
        "assume-role",
        "--role-arn",
        &format!("arn:aws:iam::{}:role/service-role/db-connect", aws.account),
        "--role-session-name",
        "doctor-test",
        "--query",
        "Credentials.[AccessKeyId,SecretAccessKey,SessionToken]",
        "--output",
        "text",
    ]);
    let [key, secret, session]: [&str; 3] = keys
        .split_whitespace()
        .collect::<Vec<_>>()
        .try_into()
        .unwrap();
    let role = format!("arn:aws:iam::{}:role/service-role/db-connect", aws.account);
    let arn = aws.arn(&db, "app");
    let iam = Iam::start(&[(&arn, Verdict::Allowed)], 100);
    // IAM's SimulatePrincipalPolicy goes to the stand-in, GetRole to moto.
    let stand_in: SocketAddr = iam.url().trim_start_matches("http://").parse().unwrap();
    let moto = aws.moto.addr();
    let (to_stand_in, to_moto) = (forward_to(stand_in), forward_to(moto));
    let router = Server::start(move |req| {
        if value(&form(req), "Action") == Some("SimulatePrincipalPolicy") {
            to_stand_in(req)
        } else {
            to_moto(req)
        }
    });
    let mut env = aws.env();
    env.env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_SESSION_TOKEN", session)
        .env("AWS_ENDPOINT_URL_IAM", router.url());
    let report = doctor_at(&env, &db, "5432", "app", &[]);
    for shown in [secret, session] {
        assert!(!report.run.stdout().contains(shown) && !report.run.stderr().contains(shown));
    }
    report
        .exits(0)
        .passes(
            "identity",
            &format!(
                "assumed role db-connect (session doctor-test) in account {0}: arn:aws:sts::{0}:assumed-role/db-connect/doctor-test",
                aws.account
            ),
        )
        .passes("credentials", "temporary, with a session token")
        .passes(
            "policy",
            &format!("IAM role db-connect ({role}) may rds-db:connect on {arn}"),
        );
    assert_eq!(iam.asked()[0].policy_source_arn, role);
}

#[test]
fn never_shows_the_secret_key_the_session_token_or_the_token_even_with_debug() {
    let aws = Aws::start();
    let db = aws.db("instance", "pg-iam").clone();
    let mut env = aws.env();
    env.env("AWS_ACCESS_KEY_ID", "ASIAIOSFODNN7EXAMPLE")
        .env("AWS_SESSION_TOKEN", SESSION_TOKEN);
    for extra in [&[][..], &["--debug"], &["--json"], &["--debug", "--json"]] {
        // Doctor::new has checked stdout and stderr for every secret.
        let report = doctor_at(&env, &db, "5432", "app", extra);
        if extra.contains(&"--debug") {
            assert!(
                report
                    .run
                    .stderr()
                    .contains("rds-auth-token: debug: credentials from environment variables"),
                "{}",
                report.run.stderr()
            );
        }
    }
    doctor_at(&env, &db, "5432", "app", &[])
        .passes(
            "credentials",
            "access key ASIAIOSFODNN7EXAMPLE, temporary, with a session token, no expiry",
        )
        .passes("token", "inspect finds no problem in it");
}

#[test]
fn fails_the_clock_when_it_is_more_than_five_minutes_off_awss() {
    let aws = Aws::start();
    let db = aws.db("instance", "pg-iam").clone();
    for (offset, status, words) in [
        ("+10m", "fail", "ahead of AWS's (the Date of the STS response); tokens made here look signed in the future"),
        ("-10m", "fail", "behind AWS's (the Date of the STS response); tokens made here look signed in the past"),
        ("+1m", "pass", "ahead of AWS's (the Date of the STS response), within the 5 minutes AWS allows"),
    ] {
        let mut env = aws.env();
        support::faketime::shift(&mut env, offset);
        let report = doctor_at(&env, &db, "5432", "app", &[]);
        let clock = report.check("clock");
        // The Date has whole seconds and the answer takes a moment.
        let minutes = &offset[1..offset.len() - 1];
        let about = [
            format!("the local clock is {minutes} min "),
            format!("the local clock is {} min 59 s ", minutes.parse::<u32>().unwrap() - 1),
        ];
        assert!(
            clock.status == status
                && about.iter().any(|a| clock.message.starts_with(a.as_str()))
                && clock.message.contains(words),
            "{offset}: {clock:?}"
        );
        if status == "fail" {
            report.exits(1);
            assert_eq!(
                clock.fix.as_deref(),
                Some("synchronize the clock with NTP (timedatectl set-ntp true, or chronyc makestep), then make a new token")
            );
        }
    }
}

/// Runs `doctor ARGS` with `hosts` as /etc/hosts, in a mount namespace of
/// its own (`unshare --mount`, then a bind mount), so that names resolve
/// as the test says and nothing else on the machine sees it.
fn with_hosts(env: &TestEnv, hosts: &str, args: &[&str]) -> Doctor {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), hosts).unwrap();
    let mut all = vec![
        "--mount",
        "sh",
        "-c",
        "mount --bind \"$0\" /etc/hosts && exec \"$@\"",
        file.path().to_str().unwrap(),
        env!("CARGO_BIN_EXE_rds-auth-token"),
        "doctor",
    ];
    all.extend_from_slice(args);
    Doctor::new(env.run_program("unshare", &all))
}

#[test]
fn follows_a_cname_to_the_endpoint_and_says_which_name_to_sign_for() {
    let aws = Aws::start();
    let db = aws.db("instance", "pg-iam").clone();
    let pg = PgTls::start(&db.address);
    let via = pg.addr().to_string();
    let args = [
        "--hostname",
        "db.example.internal",
        "--port",
        "5432",
        "--username",
        "app",
        "--region",
        REGION,
        "--via",
        &via,
    ];
    // moto has no DescribeDBProxyEndpoints, which a name of no RDS shape
    // is also looked up with: this answers it with none, as RDS does in a
    // region without proxy endpoints, and passes the rest on to moto.
    let to_moto = forward_to(aws.moto.addr());
    let rds = Server::start(move |req| {
        if value(&form(req), "Action") == Some("DescribeDBProxyEndpoints") {
            Response::ok(
                "<DescribeDBProxyEndpointsResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\">\
                 <DescribeDBProxyEndpointsResult><DBProxyEndpoints></DBProxyEndpoints>\
                 </DescribeDBProxyEndpointsResult><ResponseMetadata><RequestId>1</RequestId>\
                 </ResponseMetadata></DescribeDBProxyEndpointsResponse>",
            )
            .header("Content-Type", "text/xml")
        } else {
            to_moto(req)
        }
    });
    let mut env = aws.env();
    env.env("AWS_ENDPOINT_URL_RDS", rds.url());
    let hosts = format!(
        "127.0.0.1 localhost\n127.0.0.1 {} db.example.internal\n",
        db.address
    );
    let report = with_hosts(&env, &hosts, &args);
    report.passes(
        "endpoint",
        &format!(
            "db.example.internal is a CNAME of {0}, DB instance pg-iam (postgres, port 5432); sign tokens for {0}: pass it as --hostname",
            db.address
        ),
    );
    let token = report.exits(1).fails(
        "token",
        "has a problem: not_rds_endpoint: host 'db.example.internal' is not an RDS endpoint name (a CNAME?)",
    );
    assert!(token
        .fix
        .unwrap()
        .contains("make the token for the endpoint RDS shows"));
    report.passes("iam-auth-enabled", "on DB instance pg-iam");

    // A name whose canonical name is no endpoint either.
    let hosts = "127.0.0.1 localhost\n127.0.0.1 other.example.internal db.example.internal\n";
    with_hosts(&env, hosts, &args).fails(
        "endpoint",
        "no DB instance, Aurora cluster or RDS Proxy in us-east-1 has the address db.example.internal (nor its canonical name other.example.internal)",
    );
}

#[test]
fn fails_the_region_once_when_it_is_not_the_endpoints_and_asks_aws_in_the_endpoints() {
    let aws = Aws::start();
    let db = aws.db("instance", "pg-iam").clone();
    let report = doctor_at(&aws.env(), &db, "5432", "app", &["--region", "eu-west-1"]);
    let region = report.exits(1).fails(
        "region",
        "signing for eu-west-1 (from --region), but the endpoint is in us-east-1; the database refuses a token signed for another region",
    );
    assert_eq!(
        region.fix.as_deref(),
        Some("pass --region us-east-1, or set AWS_REGION or the profile's region to us-east-1")
    );
    report.passes("endpoint", "is DB instance pg-iam").skips(
        "token",
        "has only the problems reported above (region_mismatch)",
    );
    let failed: Vec<&str> = NAMES
        .iter()
        .copied()
        .filter(|name| report.check(name).status == "fail")
        .collect();
    assert_eq!(failed, ["region"]);
}

#[test]
fn skips_every_aws_check_when_aws_does_not_answer_and_exits_0_if_nothing_failed() {
    let pg = PgTls::start(TUNNEL_HOST);
    let via = pg.addr().to_string();
    let ca = pg.ca_pem();
    let report = doctor(
        &keys(),
        &[
            "--hostname",
            TUNNEL_HOST,
            "--port",
            "5432",
            "--username",
            "app",
            "--via",
            &via,
            "--ssl-ca",
            ca.to_str().unwrap(),
        ],
    );
    report
        .exits(0)
        .skips(
            "identity",
            "could not ask AWS who the credentials belong to: GetCallerIdentity could not reach AWS",
        )
        .skips("clock", "no answer from AWS to compare with (see identity)")
        .skips("endpoint", "(see identity)")
        .skips("iam-auth-enabled", "(see identity)")
        .skips("policy", "(see identity)")
        .passes("tls", "verifies against the CAs in --ssl-ca")
        .passes("token", "inspect finds no problem in it");
    assert_eq!(pg.handshakes(), 1);
}

#[test]
fn without_credentials_fails_once_and_skips_what_needs_them() {
    let mut env = TestEnv::new();
    env.env("AWS_ENDPOINT_URL", format!("http://{}", closed_port()));
    let report = doctor(
        &env,
        &[
            "--hostname",
            TUNNEL_HOST,
            "--port",
            "5432",
            "--username",
            "app",
            "--via",
            &closed_port().to_string(),
        ],
    );
    let credentials = report
        .exits(1)
        .fails("credentials", "no AWS credentials found");
    assert!(credentials
        .fix
        .unwrap()
        .starts_with("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"));
    for name in [
        "identity",
        "clock",
        "endpoint",
        "iam-auth-enabled",
        "policy",
    ] {
        report.skips(name, "no credentials to ask AWS with (see credentials)");
    }
    report.skips("token", "no credentials to sign with (see credentials)");

    let report = doctor(
        &keys(),
        &[
            "--hostname",
            TUNNEL_HOST,
            "--port",
            "5432",
            "--username",
            "app",
            "--profile",
            "nosuch",
        ],
    );
    report.exits(1).fails(
        "credentials",
        "profile 'nosuch' (from --profile) is not in the shared config or credentials file",
    );
}

#[test]
fn refuses_bad_flags_with_one_line_and_status_2() {
    let env = keys();
    for (args, message) in [
        (
            &["--hostname", TUNNEL_HOST, "--port", "0", "--username", "app"][..],
            "rds-auth-token: error: --port 0 is not a port",
        ),
        (
            &["--hostname", TUNNEL_HOST, "--port", "5432", "--username", "app", "--via", "db:1"],
            "rds-auth-token: error: --via \"db:1\" is not an IP address and port",
        ),
        (
            &["--hostname", TUNNEL_HOST, "--port", "5432", "--username", "app", "--engine", "oracle"],
            "rds-auth-token: error: invalid value 'oracle' for '--engine <ENGINE>'",
        ),
        (
            &["--hostname", TUNNEL_HOST, "--port", "5432"],
            "rds-auth-token: error: the following required arguments were not provided: --username <USERNAME>",
        ),
    ] {
        let mut all = vec!["doctor"];
        all.extend_from_slice(args);
        env.run(&all).fails_with(2).stderr_contains(message);
    }
}

#[test]
fn runs_every_documented_doctor_command() {
    let shell = support::readme::block("doctor-examples").text;
    let joined = shell.replace("\\\n", " ");
    let commands: Vec<Vec<&str>> = joined
        .lines()
        .filter(|l| l.starts_with("rds-auth-token doctor "))
        .map(|l| {
            l.split('|')
                .next()
                .unwrap()
                .split_whitespace()
                .skip(1)
                .collect()
        })
        .collect();
    assert_eq!(commands.len(), 3, "{shell}");
    for args in commands {
        // AWS does not answer and nothing listens: the flags parse, and
        // every check is reported.
        let report = doctor(&keys(), &args[1..]);
        assert_eq!(report.run.code(), Some(1), "{args:?}");
        if args.contains(&"--json") {
            assert!(report.run.stdout().contains(
                r#"{"name":"identity","status":"skip","message":"could not ask AWS who the credentials belong to: GetCallerIdentity could not reach AWS"#
            ));
        } else {
            report.skips("identity", "could not reach AWS");
        }
    }
}

#[test]
fn fails_identity_once_when_aws_refuses_the_credentials() {
    // STS's answer for an access key it does not know, as the AWS query
    // protocol writes errors (tests/it/support/iam.rs).
    let sts = Server::start(|_req| {
        support::iam::error_response(
            403,
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        )
    });
    let mut env = keys();
    env.env("AWS_ENDPOINT_URL_STS", sts.url());
    let report = doctor(
        &env,
        &[
            "--hostname",
            TUNNEL_HOST,
            "--port",
            "5432",
            "--username",
            "app",
            "--via",
            &via(Db::Postgres),
            "--ssl-ca",
            &ca(servers::Servers::ca_cert),
        ],
    );
    let identity = report.exits(1).fails(
        "identity",
        "AWS refuses these credentials: GetCallerIdentity failed: InvalidClientTokenId: The security token included in the request is invalid.; a token signed with them is refused too",
    );
    assert!(identity
        .fix
        .unwrap()
        .starts_with("the access key is not one AWS knows"));
    for name in ["endpoint", "iam-auth-enabled", "policy"] {
        report.skips(name, "(see identity)");
    }
    let failed: Vec<&str> = NAMES
        .iter()
        .copied()
        .filter(|name| report.check(name).status == "fail")
        .collect();
    assert_eq!(failed, ["identity"]);
}
