//! Verified TLS and tunnels against the real PostgreSQL and MariaDB servers
//! on 127.0.0.1, whose certificate a test CA issued (names: IP 127.0.0.1 and
//! `mydb.xxx.us-east-1.rds.amazonaws.com`). The PAM verifier's log shows
//! whether a token ever reached the server.
#![cfg(target_os = "linux")]

use crate::support;

use support::servers::{self, Db, Login, Servers, HOST, IAM_USER, REGION, TUNNEL_HOST};
use support::TestEnv;

/// `rds-auth-token exec FLAGS -- CLIENT ARGS` as the one login to `db`.
fn exec(servers: &Servers, db: Db, flags: &[&str], client: &[&str]) -> Login {
    let mut env = TestEnv::new();
    env.with_env_keys();
    let mut args = vec!["exec", "--username", IAM_USER];
    args.extend_from_slice(flags);
    args.push("--");
    args.extend_from_slice(client);
    servers.login(db, || env.run(&args))
}

fn psql() -> [&'static str; 5] {
    ["psql", "-w", "-d", "postgres", "-tAc"]
}

/// exec to the server itself (127.0.0.1), with `flags` on top.
fn exec_direct(servers: &Servers, db: Db, flags: &[&str]) -> Login {
    let port = servers.port(db).to_string();
    let mut all = vec!["--hostname", HOST, "--port", &port, "--region", REGION];
    all.extend_from_slice(flags);
    match db {
        Db::Postgres => {
            let mut client = psql().to_vec();
            client.push("select current_user");
            exec(servers, db, &all, &client)
        }
        Db::Mariadb => exec(
            servers,
            db,
            &all,
            &["mariadb", "-N", "-B", "-e", "select current_user()"],
        ),
    }
}

/// What each client says when the server's certificate does not verify.
fn verify_failure(db: Db) -> &'static str {
    match db {
        Db::Postgres => "certificate verify failed",
        Db::Mariadb => "TLS/SSL error: unable to get local issuer certificate",
    }
}

fn current_user(db: Db) -> String {
    match db {
        Db::Postgres => format!("{IAM_USER}\n"),
        Db::Mariadb => format!("{IAM_USER}@%\n"),
    }
}

#[test]
fn by_default_a_server_whose_certificate_no_rds_ca_issued_is_refused_and_never_sees_the_token() {
    let servers = servers::shared();
    for db in Db::BOTH {
        exec_direct(servers, db, &[])
            .refused_with(verify_failure(db))
            .without_asking_the_verifier();
    }
}

#[test]
fn with_ssl_ca_naming_the_servers_ca_the_login_succeeds() {
    let servers = servers::shared();
    let ca = servers.ca_cert();
    let ca = ca.to_str().unwrap();
    for db in Db::BOTH {
        exec_direct(servers, db, &["--ssl-ca", ca]).logged_in(None, &current_user(db));
    }
}

#[test]
fn a_certificate_from_another_ca_is_refused_before_the_token_is_sent() {
    let servers = servers::shared();
    let wrong = servers.wrong_ca_cert();
    let wrong = wrong.to_str().unwrap();
    for db in Db::BOTH {
        exec_direct(servers, db, &["--ssl-ca", wrong])
            .refused_with(verify_failure(db))
            .without_asking_the_verifier();
    }
}

#[test]
fn a_certificate_for_another_name_is_refused_before_the_token_is_sent() {
    // localhost reaches the same server, whose certificate does not name it.
    let servers = servers::shared();
    let port = servers.port(Db::Postgres).to_string();
    let ca = servers.ca_cert();
    let mut client = psql().to_vec();
    client.push("select 1");
    exec(
        servers,
        Db::Postgres,
        &[
            "--hostname",
            "localhost",
            "--port",
            &port,
            "--region",
            REGION,
            "--ssl-ca",
            ca.to_str().unwrap(),
        ],
        &client,
    )
    .refused_with("does not match host name \"localhost\"")
    .without_asking_the_verifier();
}

#[test]
fn the_mariadb_client_refuses_a_certificate_for_another_name_before_the_token_is_sent() {
    // The option file exec hands the client says protocol=TCP, which keeps
    // it from taking "localhost" for its Unix socket, where no certificate
    // is checked: the refusal below is the TLS check's.
    let servers = servers::shared();
    let port = servers.port(Db::Mariadb).to_string();
    let ca = servers.ca_cert();
    let login = exec(
        servers,
        Db::Mariadb,
        &[
            "--hostname",
            "localhost",
            "--port",
            &port,
            "--region",
            REGION,
            "--ssl-ca",
            ca.to_str().unwrap(),
        ],
        &["mariadb", "-N", "-B", "-e", "select 1"],
    );
    login.without_asking_the_verifier();
    login.refused_with("TLS/SSL error: Validation of SSL server certificate failed");
}

#[test]
fn psql_through_a_tunnel_verifies_the_rds_name_and_logs_in() {
    let servers = servers::shared();
    let port = servers.port(Db::Postgres).to_string();
    let via = format!("127.0.0.1:{port}");
    let ca = servers.ca_cert();
    let mut client = psql().to_vec();
    client.push("select current_user, ssl from pg_stat_ssl where pid = pg_backend_pid()");
    exec(
        servers,
        Db::Postgres,
        &[
            "--hostname",
            TUNNEL_HOST,
            "--port",
            &port,
            "--via",
            &via,
            "--ssl-ca",
            ca.to_str().unwrap(),
        ],
        &client,
    )
    .logged_in(None, &format!("{IAM_USER}|t\n"));
    // The name is still checked: one the certificate lacks is refused.
    let mut client = psql().to_vec();
    client.push("select 1");
    exec(
        servers,
        Db::Postgres,
        &[
            "--hostname",
            "other.xxx.us-east-1.rds.amazonaws.com",
            "--port",
            &port,
            "--via",
            &via,
            "--ssl-ca",
            ca.to_str().unwrap(),
        ],
        &client,
    )
    .refused_with("does not match host name \"other.xxx.us-east-1.rds.amazonaws.com\"")
    .without_asking_the_verifier();
}

#[test]
fn the_mariadb_client_through_a_tunnel_checks_the_ca_and_logs_in() {
    let servers = servers::shared();
    let port = servers.port(Db::Mariadb).to_string();
    let via = format!("127.0.0.1:{port}");
    let client = ["mariadb", "-N", "-B", "-e", "select current_user()"];
    let tunnel = |ca: &str| {
        exec(
            servers,
            Db::Mariadb,
            &[
                "--hostname",
                TUNNEL_HOST,
                "--port",
                &port,
                "--via",
                &via,
                "--ssl-ca",
                ca,
            ],
            &client,
        )
    };
    tunnel(servers.ca_cert().to_str().unwrap()).logged_in(None, &current_user(Db::Mariadb));
    tunnel(servers.wrong_ca_cert().to_str().unwrap())
        .refused_with(verify_failure(Db::Mariadb))
        .without_asking_the_verifier();
}
