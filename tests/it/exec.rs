//! `rds-auth-token exec` without a database: stand-in clients (shell
//! scripts named like the real ones) record their arguments and environment.
//! Logins against real servers are in tests/it/real_servers.rs.
#![cfg(unix)]

use crate::support;

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;

use support::{assert_signed_with, TestEnv, Token, RDS_HOST, SECRET_KEY};

/// A stand-in client: writes its arguments (one a line), environment and
/// the option file its first argument names (`--defaults-extra-file=`) to
/// files in HOME, and answers `--version` with `version`.
fn fake_client(env: &mut TestEnv, name: &str, version: &str) -> PathBuf {
    let bin = env.home().join("bin");
    let script = format!(
        "#!/bin/sh\nif [ \"$1\" = --version ]; then echo '{version}'; exit 0; fi\n\
         printf '%s\\n' \"$@\" > \"$HOME/{name}.args\"\nenv > \"$HOME/{name}.env\"\n\
         case \"$1\" in --defaults-extra-file=*) cat \"${{1#--defaults-extra-file=}}\" > \"$HOME/{name}.cnf\";; esac\n"
    );
    env.write_script(&format!("bin/{name}"), &script);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    env.env("PATH", path);
    bin.join(name)
}

fn read(env: &TestEnv, file: &str) -> String {
    std::fs::read_to_string(env.home().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn env_value(env_dump: &str, name: &str) -> Option<String> {
    env_dump
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")).map(str::to_owned))
}

fn exec_args<'a>(port: &'a str, client: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "exec",
        "--hostname",
        RDS_HOST,
        "--port",
        port,
        "--username",
        "jane_doe",
        "--",
    ];
    args.extend_from_slice(client);
    args
}

/// The RDS CA bundle as `ca-bundle` prints it.
fn bundle(env: &TestEnv) -> String {
    env.run(["ca-bundle"]).success().stdout()
}

#[test]
fn runs_psql_with_the_token_in_pgpassword_and_the_server_verified_against_the_bundle() {
    let mut env = TestEnv::new();
    env.with_env_keys();
    fake_client(&mut env, "psql", "psql (PostgreSQL) 15.18");
    env.run(exec_args("5432", &["psql", "-d", "app"]))
        .success()
        .stderr_is("");
    assert_eq!(read(&env, "psql.args"), "-d\napp\n");
    let dump = read(&env, "psql.env");
    for (k, v) in [
        ("PGHOST", RDS_HOST),
        ("PGPORT", "5432"),
        ("PGUSER", "jane_doe"),
        ("PGSSLMODE", "verify-full"),
    ] {
        assert_eq!(env_value(&dump, k).as_deref(), Some(v), "{k}");
    }
    let root = PathBuf::from(env_value(&dump, "PGSSLROOTCERT").expect("PGSSLROOTCERT"));
    assert_eq!(
        root.parent(),
        Some(env.home().join(".cache/rds-auth-token").as_path())
    );
    assert_eq!(std::fs::read_to_string(&root).unwrap(), bundle(&env));
    let token = Token(env_value(&dump, "PGPASSWORD").expect("PGPASSWORD"));
    assert_signed_with(&token, RDS_HOST, 5432, "jane_doe", "us-east-1", SECRET_KEY);
}

#[test]
fn gives_rds_proxy_endpoints_the_amazon_roots() {
    let mut env = TestEnv::new();
    env.with_env_keys();
    fake_client(&mut env, "psql", "psql (PostgreSQL) 15.18");
    let proxy = "app.proxy-abc123def456.us-east-1.rds.amazonaws.com";
    env.run([
        "exec",
        "--hostname",
        proxy,
        "--port",
        "5432",
        "--username",
        "u",
        "--",
        "psql",
    ])
    .success();
    let root = env_value(&read(&env, "psql.env"), "PGSSLROOTCERT").unwrap();
    let roots = env.run(["ca-bundle", "--rds-proxy"]).success().stdout();
    assert_eq!(std::fs::read_to_string(root).unwrap(), roots);
}

#[test]
fn ssl_ca_replaces_the_bundle() {
    let mut env = TestEnv::new();
    env.with_env_keys();
    fake_client(&mut env, "psql", "psql (PostgreSQL) 15.18");
    let ca = env.write("my-ca.pem", "-----BEGIN CERTIFICATE-----\n");
    let mut args = exec_args("5432", &["psql"]);
    let ca_arg = ca.to_str().unwrap().to_owned();
    args.splice(1..1, ["--ssl-ca", ca_arg.as_str()]);
    env.run(args).success();
    assert_eq!(
        env_value(&read(&env, "psql.env"), "PGSSLROOTCERT").as_deref(),
        Some(ca_arg.as_str())
    );
    assert!(
        !env.home().join(".cache").exists(),
        "no bundle file is written when --ssl-ca names one"
    );
}

#[test]
fn runs_mysql_and_mariadb_clients_with_their_own_tls_and_clear_text_flags() {
    let mut env = TestEnv::new();
    env.with_env_keys();
    fake_client(
        &mut env,
        "mysql",
        "mysql  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)",
    );
    fake_client(
        &mut env,
        "mariadb-dump",
        "mariadb-dump from 11.4.2-MariaDB, client 10.19",
    );
    env.run(exec_args("3306", &["mysql", "-e", "select 1"]))
        .success();
    let args = read(&env, "mysql.args");
    let (first, rest) = args.split_once('\n').unwrap();
    assert!(
        first.starts_with("--defaults-extra-file=/dev/fd/"),
        "the option file comes first, through a pipe: {args}"
    );
    assert_eq!(rest, "-e\nselect 1\n");
    let dump = read(&env, "mysql.env");
    assert_eq!(
        env_value(&dump, "MYSQL_PWD"),
        None,
        "MYSQL_PWD is deprecated"
    );
    assert_eq!(
        env_value(&dump, "LIBMYSQL_ENABLE_CLEARTEXT_PLUGIN").as_deref(),
        Some("1")
    );
    let cnf = read(&env, "mysql.cnf");
    let lines: Vec<&str> = cnf.lines().filter(|l| !l.starts_with('#')).collect();
    let ca = env.home().join(".cache/rds-auth-token");
    assert_eq!(
        lines[..6],
        [
            "[client]",
            "user=\"jane_doe\"",
            lines[2],
            &format!("host=\"{RDS_HOST}\""),
            "port=3306",
            // TCP even to localhost: never the client's Unix socket.
            "protocol=TCP"
        ]
    );
    assert_eq!(lines[6], "enable-cleartext-plugin");
    assert!(
        lines[7].starts_with(&format!("ssl-ca=\"{}/rds-ca-bundle-", ca.display())),
        "{cnf}"
    );
    assert_eq!(lines[8..], ["ssl-mode=VERIFY_IDENTITY"]);
    let token = Token(
        lines[2]
            .strip_prefix("password=\"")
            .and_then(|t| t.strip_suffix('"'))
            .unwrap()
            .to_owned(),
    );
    assert_signed_with(&token, RDS_HOST, 3306, "jane_doe", "us-east-1", SECRET_KEY);
    env.run(exec_args("3306", &["mariadb-dump", "app"]))
        .success();
    assert!(read(&env, "mariadb-dump.args").ends_with("\napp\n"));
    let cnf = read(&env, "mariadb-dump.cnf");
    assert!(!cnf.contains("cleartext"), "{cnf}");
    assert!(cnf.ends_with(".pem\"\nssl-verify-server-cert\n"), "{cnf}");
}

#[test]
fn tells_a_mariadb_client_named_mysql_by_its_version() {
    let mut env = TestEnv::new();
    env.with_env_keys();
    fake_client(
        &mut env,
        "mysql",
        "mysql  Ver 15.1 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)",
    );
    env.run(exec_args("3306", &["mysql"])).success();
    assert!(read(&env, "mysql.cnf").ends_with("\nssl-verify-server-cert\n"));
}

#[test]
fn never_puts_the_token_in_the_clients_arguments() {
    let mut env = TestEnv::new();
    env.with_env_keys();
    fake_client(&mut env, "psql", "psql (PostgreSQL) 15.18");
    fake_client(&mut env, "mysql", "mysql  Ver 8.0.36");
    env.run(exec_args("5432", &["psql"])).success();
    env.run(exec_args("3306", &["mysql"])).success();
    for file in ["psql.args", "mysql.args"] {
        let args = read(&env, file);
        assert!(!args.contains("X-Amz-Signature"), "{file}: {args}");
    }
    assert!(read(&env, "mysql.cnf").contains("X-Amz-Signature"));
}

#[test]
fn hands_an_unknown_client_the_token_in_the_variable_env_var_names() {
    let mut env = TestEnv::new();
    env.with_env_keys();
    fake_client(&mut env, "report-job", "1.0");
    let mut args = vec![
        "exec",
        "--hostname",
        RDS_HOST,
        "--port",
        "6543",
        "--username",
        "jane_doe",
        "--env-var",
        "DB_TOKEN",
        "--",
    ];
    args.push("report-job");
    env.run(args).success();
    let dump = read(&env, "report-job.env");
    assert!(env_value(&dump, "DB_TOKEN").is_some_and(|t| t.contains("X-Amz-Signature=")));
    assert_eq!(env_value(&dump, "PGPASSWORD"), None);
}

#[test]
fn passes_on_the_clients_exit_status_and_signals() {
    let mut env = TestEnv::new();
    env.with_env_keys();
    let run = env.run(exec_args("5432", &["sh", "-c", "exit 7"]));
    assert_eq!(run.code(), Some(7));
    let run = env.run(exec_args("5432", &["sh", "-c", "kill -TERM $$"]));
    assert_eq!(
        run.output.status.signal(),
        Some(15),
        "the client replaced the process, so its signal is ours"
    );
}

#[test]
fn reports_a_missing_client_with_status_127() {
    let mut env = TestEnv::new();
    env.with_env_keys();
    env.run(exec_args("5432", &["no-such-psql-client"]))
        .fails_with(127)
        .stderr_contains("could not run \"no-such-psql-client\"")
        .stderr_contains("install it or check PATH");
}

#[test]
fn refuses_a_pgsslmode_that_can_send_the_token_in_clear_text() {
    let mut env = TestEnv::new();
    env.with_env_keys();
    fake_client(&mut env, "psql", "psql (PostgreSQL) 15.18");
    for mode in ["disable", "allow", "prefer"] {
        env.env("PGSSLMODE", mode);
        env.run(exec_args("5432", &["psql"]))
            .fails_with(2)
            .stderr_contains(&format!(
                "PGSSLMODE={mode} can send the token in clear text"
            ));
    }
    env.env("PGSSLMODE", "verify-full");
    env.run(exec_args("5432", &["psql"])).success();
    assert_eq!(
        env_value(&read(&env, "psql.env"), "PGSSLMODE").as_deref(),
        Some("verify-full")
    );
    env.env("PGSSLMODE", "disable");
    let mut args = exec_args("5432", &["psql"]);
    args.insert(1, "--allow-insecure-tls-modes-for-local-testing");
    env.run(args).success();
}

#[test]
fn asks_for_the_engine_of_an_unknown_client_before_looking_up_credentials() {
    let env = TestEnv::new();
    env.run(exec_args("6543", &["python3", "app.py"]))
        .fails_with(2)
        .stderr_contains("cannot tell which database python3 is a client of; pass --engine postgres or --engine mysql, or --env-var NAME");
}
