//! `rds-auth-token doctor` against real servers on 127.0.0.1: PostgreSQL
//! and MariaDB (tests/support/servers.rs, whose certificate a test CA issued
//! for 127.0.0.1 and `mydb.xxx.us-east-1.rds.amazonaws.com`) for the
//! network and TLS checks.
#![cfg(target_os = "linux")]

mod support;

use std::net::TcpListener;

use support::servers::{self, Db, IAM_USER, TUNNEL_HOST};
use support::{Run, TestEnv, SECRET_KEY};

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
    /// Reads the report: every check in order, each failure with a fix, a
    /// count at the end, and nothing secret anywhere.
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
        if names.len() != 11 || names[..10] != NAMES {
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
                "X-Amz-Signature",
                "X-Amz-Credential",
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

fn keys() -> TestEnv {
    let mut env = TestEnv::new();
    env.with_env_keys();
    env
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
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
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
