//! `rds-auth-token proxy` for MySQL and MariaDB, with real clients into the
//! real MariaDB server of `support::servers`: TLS only (`REQUIRE SSL`), the
//! IAM user identified through PAM by the RDS-like token verifier with the
//! clear-text plugin, the certificate from a test CA for an RDS-like name
//! reached through `--via`. The clients connect with no password, no TLS
//! and no clear-text plugin.
#![cfg(target_os = "linux")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::support;
use support::auth_proxy::AuthProxy;
use support::servers::{self, mariadb_client, Db, IAM_USER};
use support::TestEnv;

/// The proxy's environment: the keys the verifier checks.
fn proxy_env() -> TestEnv {
    let mut env = TestEnv::new();
    env.with_env_keys();
    env
}

/// `mariadb --no-defaults -h 127.0.0.1 -P PORT -u USER ARGS` with no
/// password and no TLS, in a bare environment.
fn mariadb(port: u16, user: &str, args: &[&str]) -> support::Run {
    let client = mariadb_client().unwrap_or_else(|err| panic!("{err}"));
    let port = port.to_string();
    let mut all = vec![
        "--no-defaults",
        "--protocol=TCP",
        "-h",
        "127.0.0.1",
        "-P",
        &port,
        "-u",
        user,
        "--skip-ssl",
        "-N",
        "-B",
    ];
    all.extend_from_slice(args);
    TestEnv::new().run_program(client, all)
}

/// Waits up to `within` for `done`; whether it came.
fn wait_for(within: Duration, mut done: impl FnMut() -> bool) -> bool {
    let started = std::time::Instant::now();
    while !done() {
        if started.elapsed() > within {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

#[test]
fn the_mariadb_client_logs_in_with_no_password_over_verified_tls_with_a_fresh_token() {
    let servers = servers::shared();
    let proxy = AuthProxy::for_mariadb(servers, &proxy_env(), &[]);
    servers
        .login(Db::Mariadb, || {
            mariadb(
                proxy.port,
                IAM_USER,
                &[
                    "app",
                    "-e",
                    "select current_user(), database(), variable_value <> '' from information_schema.session_status where variable_name = 'Ssl_cipher'",
                ],
            )
        })
        .logged_in(None, &format!("{IAM_USER}@%\tapp\t1\n"));
    let log = proxy.log();
    assert!(log.contains("login peer="), "{log}");
    assert!(!log.contains("X-Amz-Signature"), "{log}");
    assert_eq!(
        proxy.metric("rds_auth_token_proxy_tokens_minted_total{"),
        1.0,
        "{}",
        proxy.get("/metrics").1
    );
    assert_eq!(
        proxy.metric("rds_auth_token_proxy_logins_total{database=\"mydb.xxx.us-east-1.rds.amazonaws.com\",engine=\"mysql\",outcome=\"ok\",reason=\"new\"}"),
        1.0
    );
}

#[test]
#[ignore]
fn debug_hold() {
    let servers = servers::shared();
    let proxy = AuthProxy::for_mariadb(servers, &proxy_env(), &["--debug"]);
    std::fs::write("/tmp/proxy_port", proxy.port.to_string()).unwrap();
    std::thread::sleep(Duration::from_secs(90));
    std::fs::write("/tmp/proxy_log", proxy.log()).unwrap();
}
