//! Real logins: tokens from the binary, checked by real PostgreSQL and
//! MariaDB servers on 127.0.0.1 through PAM, as RDS checks them.
//!
//! The check is `tests/servers/verify_token.py`, which recomputes the SigV4
//! signature with Python's hmac and hashlib and logs why it accepted or
//! refused each token (see `tests/it/support/servers.rs` for the set-up). The
//! clients are the real `psql` and `mariadb`/`mysql`, run as docs and recipes say (tests/it/readme_recipes.rs runs the README's own).
//! PAM's `pam_exec` is Linux-PAM's, so this runs on Linux only.
#![cfg(target_os = "linux")]

use crate::support;

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use support::servers::{self, Db, Login, Servers, HOST, IAM_USER, REGION};
use support::{botocore_tokens, Case, TestEnv, Token, ACCESS_KEY, SECRET_KEY};

/// A token from the binary, with the verifier's keys in the environment.
fn token(hostname: &str, port: u16, username: &str, region: &str, extra: &[&str]) -> Token {
    let mut env = TestEnv::new();
    env.with_env_keys();
    let port = port.to_string();
    let mut args = vec![
        "--hostname",
        hostname,
        "--port",
        &port,
        "--username",
        username,
        "--region",
        region,
    ];
    args.extend_from_slice(extra);
    env.run(args).stderr_is("").token()
}

/// The token the servers should accept for `db`.
fn good_token(servers: &Servers, db: Db) -> Token {
    token(HOST, servers.port(db), IAM_USER, REGION, &[])
}

/// Logs in to `db` over TLS with `password`, as the refusal tests do.
fn login(servers: &Servers, db: Db, password: &str) -> Login {
    match db {
        Db::Postgres => servers.psql_login(password, "require"),
        Db::Mariadb => servers.mariadb_login(password, &["--ssl"]),
    }
}

/// What `select current_user` prints for the IAM user (unaligned, tuples only).
fn current_user(db: Db) -> String {
    match db {
        Db::Postgres => format!("{IAM_USER}\n"),
        Db::Mariadb => format!("{IAM_USER}@%\n"),
    }
}

/// A test environment whose PATH finds the binary as `rds-auth-token`, with
/// the verifier's keys and the endpoint in DB_HOST, DB_PORT and REGION.
fn recipe_env(servers: &Servers, db: Db) -> TestEnv {
    let mut env = TestEnv::new();
    env.with_env_keys();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_rds-auth-token"))
        .parent()
        .unwrap();
    let mut path = bin_dir.as_os_str().to_owned();
    path.push(":");
    path.push(std::env::var_os("PATH").unwrap_or_default());
    env.env("PATH", path)
        .env("DB_HOST", HOST)
        .env("DB_PORT", servers.port(db).to_string())
        .env("REGION", REGION)
        .env("CA", servers.ca_cert());
    env
}

#[test]
fn psql_logs_in_with_a_token_in_pgpassword() {
    let servers = servers::shared();
    let env = recipe_env(servers, Db::Postgres);
    // The PGPASSWORD recipe with an explicit region, the test CA in place of
    // `rds-auth-token ca-bundle --path` (the server is not RDS), and -w so
    // that psql fails instead of prompting if the token were missing.
    let recipe = r#"
        PGPASSWORD="$(rds-auth-token --hostname "$DB_HOST" --port "$DB_PORT" --username iam_user --region "$REGION")" \
        psql -w "host=$DB_HOST port=$DB_PORT user=iam_user dbname=postgres sslmode=verify-full sslrootcert=$CA" -c 'select current_user'
    "#;
    servers
        .login(Db::Postgres, || env.run_program("sh", ["-c", recipe]))
        .logged_in(
            None,
            " current_user \n--------------\n iam_user\n(1 row)\n\n",
        );
}

#[test]
fn the_mysql_client_logs_in_with_the_token_as_a_cleartext_password_over_tls() {
    let servers = servers::shared();
    let env = recipe_env(servers, Db::Mariadb);
    // MariaDB's client accepts --enable-cleartext-plugin only for MySQL
    // compatibility (10.11 prints a warning that it is obsolete, on stdout)
    // and sends the token in clear text whenever the server asks for it.
    // --ssl asks for TLS but in 10.11 does not insist on it (only
    // --ssl-verify-server-cert does), so the session's Ssl_version is checked.
    let recipe = r#"
        mysql --host="$DB_HOST" --port="$DB_PORT" --user=iam_user \
              --password="$(rds-auth-token --hostname "$DB_HOST" --port "$DB_PORT" --username iam_user --region "$REGION")" \
              --enable-cleartext-plugin --ssl \
              -N -e "select current_user(); show session status like 'Ssl_version'"
    "#;
    let login = servers.login(Db::Mariadb, || env.run_program("sh", ["-c", recipe]));
    login.run.success();
    let stdout = login.run.stdout();
    let mut lines: Vec<&str> = stdout.lines().collect();
    if lines.first() == Some(&"WARNING: option '--enable-cleartext-plugin' is obsolete.") {
        lines.remove(0);
    }
    if !matches!(lines.as_slice(), ["iam_user@%", tls] if tls.starts_with("Ssl_version\tTLSv1.")) {
        login
            .run
            .fail("expected the IAM user, logged in over TLS (Ssl_version TLSv1.x)");
    }
    login.logged_in(None, &stdout);
}

#[test]
fn psql_logs_in_with_a_token_over_tls_that_verifies_the_server_certificate() {
    let servers = servers::shared();
    let token = good_token(servers, Db::Postgres);
    let mut env = TestEnv::new();
    env.env("PGPASSWORD", token.as_str())
        .env("PGSSLMODE", "verify-full")
        .env("PGSSLROOTCERT", servers.ca_cert());
    let port = servers.port(Db::Postgres).to_string();
    servers
        .psql(
            &env,
            &[
                "-h",
                HOST,
                "-p",
                &port,
                "-U",
                IAM_USER,
                "-d",
                "postgres",
                "-A",
                "-t",
                "-c",
                "select current_user, ssl from pg_stat_ssl where pid = pg_backend_pid()",
            ],
        )
        .logged_in(Some(token.as_str()), "iam_user|t\n");
}

#[test]
fn the_mariadb_client_logs_in_with_a_token_over_tls_that_verifies_the_server_certificate() {
    let servers = servers::shared();
    let token = good_token(servers, Db::Mariadb);
    let ca = format!("--ssl-ca={}", servers.ca_cert().display());
    servers
        .mariadb_login(token.as_str(), &[&ca, "--ssl-verify-server-cert"])
        .logged_in(Some(token.as_str()), &current_user(Db::Mariadb));
}

#[test]
fn a_token_botocore_makes_logs_in_to_both_servers() {
    // The verifier agrees with botocore, not only with the binary.
    let servers = servers::shared();
    let now = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap();
    for db in Db::BOTH {
        let token = botocore_tokens(&[Case {
            hostname: HOST.to_owned(),
            port: servers.port(db).into(),
            username: IAM_USER.to_owned(),
            region: REGION.to_owned(),
            access_key: ACCESS_KEY.to_owned(),
            secret_key: SECRET_KEY.to_owned(),
            session_token: None,
            timestamp: now.clone(),
            expires_in: None,
        }])
        .remove(0);
        login(servers, db, &token).logged_in(Some(&token), &current_user(db));
    }
}

#[test]
fn a_token_with_one_signature_digit_changed_is_refused() {
    let servers = servers::shared();
    for db in Db::BOTH {
        let token = good_token(servers, db);
        let mut tampered = token.as_str().to_owned();
        let last = tampered.pop().unwrap();
        assert!(last.is_ascii_hexdigit(), "the token ends in its signature");
        tampered.push(if last == '0' { '1' } else { '0' });
        login(servers, db, &tampered).refused_by_pam(
            &tampered,
            "the signature does not match the configured secret key",
        );
    }
}

#[test]
fn an_expired_token_is_refused() {
    let servers = servers::shared();
    let tokens: Vec<(Db, Token)> = Db::BOTH
        .iter()
        .map(|&db| {
            let token = token(
                HOST,
                servers.port(db),
                IAM_USER,
                REGION,
                &["--expires-in", "1"],
            );
            (db, token)
        })
        .collect();
    std::thread::sleep(Duration::from_millis(2100));
    for (db, token) in tokens {
        login(servers, db, token.as_str()).refused_by_pam(token.as_str(), "the token expired at ");
    }
}

#[test]
fn a_token_for_another_user_is_refused() {
    let servers = servers::shared();
    for db in Db::BOTH {
        let token = token(HOST, servers.port(db), "other_user", REGION, &[]);
        login(servers, db, token.as_str()).refused_by_pam(
            token.as_str(),
            "the token is for user 'other_user', the login is 'iam_user'",
        );
    }
}

#[test]
fn a_token_for_another_port_is_refused() {
    let servers = servers::shared();
    for db in Db::BOTH {
        let token = token(HOST, 5432, IAM_USER, REGION, &[]);
        login(servers, db, token.as_str()).refused_by_pam(
            token.as_str(),
            &format!(
                "the token is for port 5432, this server listens on {}",
                servers.port(db)
            ),
        );
    }
}

#[test]
fn a_token_for_another_host_is_refused() {
    let servers = servers::shared();
    for db in Db::BOTH {
        let token = token("localhost", servers.port(db), IAM_USER, REGION, &[]);
        login(servers, db, token.as_str()).refused_by_pam(
            token.as_str(),
            "the token is for host 'localhost', this server is '127.0.0.1'",
        );
    }
}

#[test]
fn a_token_signed_for_another_region_is_refused() {
    let servers = servers::shared();
    for db in Db::BOTH {
        let token = token(HOST, servers.port(db), IAM_USER, "us-east-1", &[]);
        login(servers, db, token.as_str()).refused_by_pam(
            token.as_str(),
            "the token is signed for region 'us-east-1', this server is in 'eu-central-1'",
        );
    }
}

#[test]
fn a_token_signed_with_another_secret_key_is_refused() {
    let servers = servers::shared();
    for db in Db::BOTH {
        let mut env = TestEnv::new();
        env.with_env_keys()
            .env("AWS_SECRET_ACCESS_KEY", "not-the-secret-the-server-knows");
        let port = servers.port(db).to_string();
        let token = env
            .run([
                "--hostname",
                HOST,
                "--port",
                &port,
                "--username",
                IAM_USER,
                "--region",
                REGION,
            ])
            .token();
        login(servers, db, token.as_str()).refused_by_pam(
            token.as_str(),
            "the signature does not match the configured secret key",
        );
    }
}

#[test]
fn postgresql_refuses_a_valid_token_without_tls_before_asking_pam() {
    let servers = servers::shared();
    let token = good_token(servers, Db::Postgres);
    servers
        .psql_login(token.as_str(), "disable")
        .refused_with(
            "FATAL:  no pg_hba.conf entry for host \"127.0.0.1\", user \"iam_user\", \
             database \"postgres\", no encryption",
        )
        .without_asking_the_verifier();
}

#[test]
fn mariadb_refuses_a_valid_token_without_tls_although_pam_accepts_it() {
    // The MariaDB client sends the token in clear text even without TLS, and
    // the verifier accepts it; the user's REQUIRE SSL is what refuses the login.
    let servers = servers::shared();
    let token = good_token(servers, Db::Mariadb);
    servers
        .mariadb_login(token.as_str(), &["--skip-ssl"])
        .refused_with(&Db::Mariadb.pam_refusal())
        .after_the_verifier_accepted(token.as_str());
}

/// The local addresses of the TCP sockets listening on `port`, from
/// /proc/net/tcp and /proc/net/tcp6, as the kernel writes them (hex).
fn listening_addresses(port: u16) -> Vec<String> {
    let port = format!("{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .flat_map(|table| {
            std::fs::read_to_string(table)
                .unwrap_or_default()
                .lines()
                .skip(1)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (address, local_port) = fields.get(1)?.split_once(':')?;
            // 0A is LISTEN.
            (local_port == port && fields.get(3) == Some(&"0A")).then(|| address.to_owned())
        })
        .collect()
}

#[test]
fn the_servers_listen_on_127_0_0_1_and_nowhere_else() {
    let servers = servers::shared();
    for db in Db::BOTH {
        // 127.0.0.1 as /proc/net/tcp writes it on a little-endian machine.
        let loopback = u32::from_ne_bytes([127, 0, 0, 1]);
        assert_eq!(
            listening_addresses(servers.port(db)),
            [format!("{loopback:08X}")],
            "{db:?} must listen on 127.0.0.1:{} only",
            servers.port(db)
        );
    }
}

#[test]
fn servers_started_for_one_test_stop_and_leave_nothing_behind_when_dropped() {
    let servers = Servers::start();
    let dir = servers.dir().to_owned();
    let pam_files = servers.pam_files().to_vec();
    let ports = Db::BOTH.map(|db| servers.port(db));
    assert_eq!(pam_files.len(), 2);
    for file in &pam_files {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(
            text.contains("auth    required pam_exec.so expose_authtok quiet /usr/bin/python3 "),
            "{}:\n{text}",
            file.display()
        );
    }
    let token = good_token(&servers, Db::Postgres);
    login(&servers, Db::Postgres, token.as_str())
        .logged_in(Some(token.as_str()), &current_user(Db::Postgres));

    drop(servers);
    assert!(!dir.exists(), "{} is left behind", dir.display());
    for file in &pam_files {
        assert!(!file.exists(), "{} is left behind", file.display());
    }
    for port in ports {
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        assert!(
            TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_err(),
            "something still listens on {address}"
        );
    }
}

/// `rds-auth-token exec` (or a format recipe) through `sh`, with the binary on PATH.
fn recipe(servers: &Servers, db: Db, script: &str) -> Login {
    let env = recipe_env(servers, db);
    servers.login(db, || env.run_program("sh", ["-c", script]))
}

#[test]
fn exec_logs_psql_in_with_the_server_verified_against_ssl_ca() {
    let servers = servers::shared();
    recipe(
        servers,
        Db::Postgres,
        r#"rds-auth-token exec --ssl-ca "$CA" --hostname "$DB_HOST" --port "$DB_PORT" --username iam_user --region "$REGION" \
            -- psql -w -d postgres -tAc 'select current_user'"#,
    )
    .logged_in(None, &current_user(Db::Postgres));
}

#[test]
fn exec_logs_the_mariadb_client_in_with_a_verified_tls_connection() {
    let servers = servers::shared();
    let script = r#"rds-auth-token exec --ssl-ca "$CA" --hostname "$DB_HOST" --port "$DB_PORT" --username iam_user --region "$REGION" \
            -- mariadb -N -B -e 'select current_user()'"#;
    recipe(servers, Db::Mariadb, script).logged_in(None, &current_user(Db::Mariadb));
}

#[test]
fn the_pgpass_format_logs_in_through_libpqs_own_password_file() {
    let servers = servers::shared();
    recipe(
        servers,
        Db::Postgres,
        r#"f="$HOME/pgpass"; umask 077
           rds-auth-token --hostname "$DB_HOST" --port "$DB_PORT" --username iam_user --region "$REGION" --format pgpass > "$f"
           PGPASSFILE="$f" psql -w "host=$DB_HOST port=$DB_PORT user=iam_user dbname=postgres sslmode=verify-full sslrootcert=$CA" -tAc 'select current_user'"#,
    )
    .logged_in(None, &current_user(Db::Postgres));
}

#[test]
fn the_uri_format_logs_in_through_libpqs_own_uri_parser() {
    let servers = servers::shared();
    recipe(
        servers,
        Db::Postgres,
        r#"uri="$(rds-auth-token --hostname "$DB_HOST" --port "$DB_PORT" --username iam_user --region "$REGION" --format uri --engine postgres --ssl-ca "$CA")"
           PGDATABASE=postgres psql -w "$uri" -tAc 'select current_user'"#,
    )
    .logged_in(None, &current_user(Db::Postgres));
}

#[test]
fn the_env_format_logs_in_after_eval() {
    let servers = servers::shared();
    recipe(
        servers,
        Db::Postgres,
        r#"eval "$(rds-auth-token --hostname "$DB_HOST" --port "$DB_PORT" --username iam_user --region "$REGION" --format env --engine postgres --ssl-ca "$CA")"
           psql -w -d postgres -tAc 'select current_user'"#,
    )
    .logged_in(None, &current_user(Db::Postgres));
}
