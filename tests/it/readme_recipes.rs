//! The README's recipes and the docs' examples, run as written: each block
//! is read from the Markdown (tests/it/support/readme.rs) and run with bash,
//! with this build's `rds-auth-token` first on PATH. The example endpoint,
//! port, user and CA are replaced by the test servers' (real PostgreSQL and
//! MariaDB on 127.0.0.1 that check tokens through PAM as RDS does; see
//! tests/it/support/servers.rs), and nothing else is changed.
#![cfg(target_os = "linux")]

use crate::support;

use support::readme;
use support::servers::{self, Db, Login, Servers, IAM_USER, REGION, TUNNEL_HOST};
use support::{botocore_tokens, faketime, Case, TestEnv, ACCESS_KEY, SECRET_KEY};

/// The endpoint the README's recipes name.
const EXAMPLE_HOST: &str = "mydb.123456789012.us-east-1.rds.amazonaws.com";
/// The user the README's recipes name.
const EXAMPLE_USER: &str = "app_user";

/// The verifier's keys and region, and libpq told to verify the servers'
/// certificate with the test CA (exec leaves a PGSSLROOTCERT of the user's
/// alone), as a reader's environment would point at RDS's.
fn server_env(servers: &Servers) -> TestEnv {
    let mut env = TestEnv::new();
    env.with_env_keys()
        .env("AWS_REGION", REGION)
        .env("PGSSLMODE", "verify-full")
        .env("PGSSLROOTCERT", servers.ca_cert());
    env
}

/// What turns the README's endpoint into the test server for `db`.
fn to_server(servers: &Servers, db: Db) -> Vec<(String, String)> {
    let (example, port) = match db {
        Db::Postgres => ("5432", servers.port(Db::Postgres)),
        Db::Mariadb => ("3306", servers.port(Db::Mariadb)),
    };
    vec![
        (EXAMPLE_HOST.into(), "127.0.0.1".into()),
        (format!("--port {example}"), format!("--port {port}")),
        (format!("port={example}"), format!("port={port}")),
        (EXAMPLE_USER.into(), IAM_USER.into()),
    ]
}

/// Runs block `name` with those replacements (the ones it contains) and
/// `extra` ones (which it must contain).
fn run_against(
    env: &mut TestEnv,
    servers: &Servers,
    db: Db,
    name: &str,
    extra: &[(&str, &str)],
) -> Login {
    let text = readme::block(name).script();
    let mut replace: Vec<(String, String)> = to_server(servers, db)
        .into_iter()
        .filter(|(from, _)| text.contains(from.as_str()))
        .collect();
    replace.extend(extra.iter().map(|(a, b)| (a.to_string(), b.to_string())));
    let replace: Vec<(&str, &str)> = replace
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    servers.login(db, || readme::run_block(env, name, &replace))
}

#[test]
fn the_first_example_prints_botocores_token_for_that_second() {
    let block = readme::block("first-example");
    let shown = block.output();
    // The second the README's example was made at, from its X-Amz-Date.
    let date = shown
        .split("X-Amz-Date=")
        .nth(1)
        .and_then(|rest| rest.get(..16))
        .expect("an X-Amz-Date in the README's example");
    let at = format!(
        "{}-{}-{} {}:{}:{}",
        &date[..4],
        &date[4..6],
        &date[6..8],
        &date[9..11],
        &date[11..13],
        &date[13..15]
    );
    let mut env = TestEnv::new();
    faketime::freeze(&mut env, &at);
    let run = readme::run_block(&mut env, "first-example", &[]);
    run.success().stdout_is(&shown);
    let botocore = botocore_tokens(&[Case {
        hostname: EXAMPLE_HOST.into(),
        port: 5432,
        username: "jane_doe".into(),
        region: "us-east-1".into(),
        access_key: ACCESS_KEY.into(),
        secret_key: SECRET_KEY.into(),
        session_token: None,
        timestamp: date.into(),
        expires_in: None,
    }]);
    assert_eq!(shown.trim_end(), botocore[0]);
}

#[test]
fn the_setup_commands_build_the_tool_and_run_the_tests() {
    // The first set-up command with `cargo run --quiet --` as the binary it
    // builds (cargo cannot build inside its own test run); the second is
    // what `bash .ci/run` runs, so it is checked to be that.
    let mut env = TestEnv::new();
    readme::run_block(
        &mut env,
        "setup-build",
        &[("cargo run --quiet --", "rds-auth-token")],
    )
    .success()
    .token();
    let ci = std::fs::read_to_string(readme::root().join(".ci/run")).unwrap();
    let test = readme::block("setup-test").script();
    assert!(
        ci.lines().any(|l| l.trim() == test.trim()),
        ".ci/run does not run {test:?}"
    );
}

#[test]
fn the_psql_recipes_log_in() {
    let servers = servers::shared();
    let mut env = server_env(servers);
    run_against(&mut env, servers, Db::Postgres, "recipe-psql", &[]).logged_in(
        None,
        &format!(" current_user \n--------------\n {IAM_USER}\n(1 row)\n\n"),
    );

    let ca = servers.ca_cert().display().to_string();
    run_against(
        &mut env,
        servers,
        Db::Postgres,
        "recipe-psql-pgpassword",
        &[("$(rds-auth-token ca-bundle --path)", &ca)],
    )
    .logged_in(None, " ?column? \n----------\n        1\n(1 row)\n\n");
}

#[test]
fn the_mariadb_recipes_log_in_over_verified_tls() {
    let servers = servers::shared();
    let mut env = server_env(servers);
    let ca = servers.ca_cert().display().to_string();
    let with_ca = format!("--ssl-ca {ca} -- mariadb");
    let login = run_against(
        &mut env,
        servers,
        Db::Mariadb,
        "recipe-mysql",
        &[("-- mariadb", &with_ca)],
    );
    login.accepted_once();
    assert!(
        login
            .run
            .success()
            .stdout()
            .contains(&format!("{IAM_USER}@%")),
        "{}",
        login.run.stdout()
    );
    let login = run_against(
        &mut env,
        servers,
        Db::Mariadb,
        "recipe-mariadb-by-hand",
        &[("$(rds-auth-token ca-bundle --path)", &ca)],
    );
    login.accepted_once();
    login.run.success();
}

#[test]
fn the_pg_dump_recipe_writes_a_dump() {
    let servers = servers::shared();
    let mut env = server_env(servers);
    let login = run_against(&mut env, servers, Db::Postgres, "recipe-pg-dump", &[]);
    login.accepted_once();
    login.run.success();
    let dump = std::fs::read(env.home().join("app.dump")).expect("pg_dump wrote app.dump");
    assert!(
        dump.starts_with(b"PGDMP"),
        "not a pg_dump custom-format file"
    );
}

#[test]
fn the_gui_password_command_prints_a_token_the_server_takes() {
    let servers = servers::shared();
    let mut env = server_env(servers);
    let port = format!("--port {}", servers.port(Db::Postgres));
    let token = readme::run_block(
        &mut env,
        "recipe-gui",
        &[
            (EXAMPLE_HOST, "127.0.0.1"),
            ("--port 5432", &port),
            (EXAMPLE_USER, IAM_USER),
        ],
    )
    .success()
    .token();
    servers
        .psql_login(token.as_str(), "require")
        .logged_in(Some(token.as_str()), &format!("{IAM_USER}\n"));
}

#[test]
fn the_tunnel_recipe_signs_for_the_rds_name_and_connects_to_the_tunnel() {
    let servers = servers::shared();
    let mut env = TestEnv::new();
    env.with_env_keys()
        .env("PGSSLMODE", "verify-full")
        .env("PGSSLROOTCERT", servers.ca_cert());
    let port = servers.port(Db::Postgres).to_string();
    let tunnel = format!("127.0.0.1:{port}");
    servers
        .login(Db::Postgres, || {
            readme::run_block(
                &mut env,
                "recipe-via",
                &[
                    (EXAMPLE_HOST, TUNNEL_HOST),
                    ("--port 5432", &format!("--port {port}")),
                    ("127.0.0.1:15432", &tunnel),
                    (EXAMPLE_USER, IAM_USER),
                ],
            )
        })
        .logged_in(None, " ?column? \n----------\n        1\n(1 row)\n\n");
}

#[test]
fn the_pgbouncer_recipe_writes_the_bundle_and_a_userlist_line() {
    let servers = servers::shared();
    let mut env = server_env(servers);
    let dir = env.home().join("pgbouncer");
    std::fs::create_dir_all(&dir).unwrap();
    let dir = dir.display().to_string();
    // `refresh` runs until stopped; --once writes the file once and exits.
    let file = format!("{dir}/userlist.txt --once");
    let login = run_against(
        &mut env,
        servers,
        Db::Postgres,
        "recipe-pgbouncer",
        &[
            ("/var/lib/pgbouncer/userlist.txt", &file),
            ("/var/lib/pgbouncer", &dir),
        ],
    );
    login.run.success();
    let bundle = std::fs::read_to_string(format!("{dir}/rds-ca-bundle.pem")).unwrap();
    assert!(bundle.contains("-----BEGIN CERTIFICATE-----"));
    let userlist = std::fs::read_to_string(format!("{dir}/userlist.txt")).unwrap();
    let token = userlist
        .strip_prefix(&format!("\"{IAM_USER}\" \""))
        .and_then(|rest| rest.strip_suffix("\"\n"))
        .unwrap_or_else(|| panic!("not a userlist line: {userlist:?}"));
    servers
        .psql_login(token, "require")
        .logged_in(Some(token), &format!("{IAM_USER}\n"));
}

#[test]
fn the_cron_line_writes_a_pgpass_line_the_server_takes() {
    let servers = servers::shared();
    let mut env = server_env(servers);
    let pgpass = env.home().join("pgpass").display().to_string();
    let run = readme::run_block(
        &mut env,
        "refresh-cron",
        &[
            (EXAMPLE_HOST, "127.0.0.1"),
            (
                "--port 5432",
                &format!("--port {}", servers.port(Db::Postgres)),
            ),
            ("--username report", &format!("--username {IAM_USER}")),
            ("/home/report/.pgpass", &pgpass),
        ],
    );
    run.success();
    let line = std::fs::read_to_string(&pgpass).unwrap();
    let prefix = format!("127.0.0.1:{}:*:{IAM_USER}:", servers.port(Db::Postgres));
    let token = line
        .strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("not a .pgpass line: {line:?}"))
        .replace("\\:", ":")
        .replace("\\\\", "\\");
    let token = token.as_str();
    servers
        .psql_login(token, "require")
        .logged_in(Some(token), &format!("{IAM_USER}\n"));
}

#[test]
fn the_usage_examples_run_psql_pg_dump_and_mysql_and_print_env_and_uri() {
    let servers = servers::shared();
    let mut env = server_env(servers);
    env.env("DB_HOST", "127.0.0.1");
    let pg = servers.port(Db::Postgres).to_string();
    let my = servers.port(Db::Mariadb).to_string();
    let ca = servers.ca_cert().display().to_string();
    let mysql = format!("--port {my} --username {IAM_USER} --ssl-ca {ca} -- mysql app");
    let pg_port = format!("--port {pg}");
    // Under the PostgreSQL login lock, so that other tests' logins are not
    // counted with these.
    servers
        .login(Db::Postgres, || {
            readme::run_block(
                &mut env,
                "usage-exec",
                &[
                    ("--port 5432", &pg_port),
                    (EXAMPLE_USER, IAM_USER),
                    ("--port 3306 --username iam_user -- mysql app", &mysql),
                ],
            )
        })
        .run
        .success();
    assert!(std::fs::read(env.home().join("app.dump"))
        .unwrap()
        .starts_with(b"PGDMP"));
    let login = servers.login(Db::Postgres, || {
        readme::run_block(
            &mut env,
            "usage-formats",
            &[
                ("--port 5432", &format!("--port {pg}")),
                (EXAMPLE_USER, IAM_USER),
                ("psql -d app", "psql -d app -c 'select 1'"),
                (
                    "--format env)\"",
                    "--format env --engine postgres --ssl-ca $PGSSLROOTCERT)\"",
                ),
                (
                    "--format uri)\"",
                    "--format uri --engine postgres --ssl-ca $PGSSLROOTCERT)\" -c 'select 2'",
                ),
            ],
        )
    });
    let stdout = login.run.success().stdout();
    assert_eq!(stdout.matches("(1 row)").count(), 2, "{stdout}");
}

/// A stand-in for psql, redis-cli and valkey-cli, first on PATH: it checks
/// what `rds-auth-token` handed over (TLS settings, and a token that
/// `rds-auth-token inspect --verify` accepts) and logs one line.
fn stand_in_clients(env: &mut TestEnv) {
    let script = r#"#!/bin/bash
name=$(basename "$0")
case $name in
  psql)
    token=$PGPASSWORD
    [[ $PGSSLMODE == verify-full && -s $PGSSLROOTCERT ]] || { echo "$name: PGSSLMODE=$PGSSLMODE" >&2; exit 3; } ;;
  *)
    token=$REDISCLI_AUTH
    [[ " $* " == *" --tls "* ]] || { echo "$name: no --tls in $*" >&2; exit 3; } ;;
esac
printf '%s\n' "$token" | rds-auth-token inspect --verify >/dev/null ||
  { echo "$name: inspect refused the token" >&2; exit 4; }
echo "$name ${PGUSER:-} ${PGDATABASE:-} $*" >> "$HOME/clients.log"
"#;
    for client in ["psql", "redis-cli", "valkey-cli"] {
        env.write_script(&format!("clients/{client}"), script);
    }
    let clients = env.home().join("clients");
    env.env(
        "PATH",
        format!("{}:{}", clients.display(), std::env::var("PATH").unwrap()),
    );
}

fn clients_log(env: &TestEnv) -> String {
    std::fs::read_to_string(env.home().join("clients.log")).unwrap_or_default()
}

#[test]
fn the_dsql_elasticache_and_memorydb_examples_hand_the_clients_a_verified_token() {
    let mut env = TestEnv::new();
    env.with_env_keys();
    stand_in_clients(&mut env);
    readme::run_block(&mut env, "recipe-kinds", &[]).success();
    assert_eq!(
        clients_log(&env),
        "psql admin postgres -c select 1\n\
         redis-cli   -h master.my-cache.abc123.use1.cache.amazonaws.com -p 6379 --tls --cacert CA --user iam-user-01 PING\n\
         redis-cli   -h clustercfg.my-cluster.abc123.memorydb.us-east-1.amazonaws.com -p 6379 --tls --cacert CA --user iam-user-01 -c PING\n"
            .replace("CA", &ca_bundle_path(&env, "--rds-proxy"))
    );

    let mut env = TestEnv::new();
    env.with_env_keys();
    stand_in_clients(&mut env);
    let run = readme::run_block(&mut env, "tokens-dsql", &[]);
    run.success();
    assert_eq!(
        clients_log(&env),
        "psql admin postgres -c select 1\npsql reader app \n"
    );
    // The last two lines: a token alone, then libpq's variables.
    let stdout = run.stdout();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("abcdefghijklmnopqrst.dsql.us-east-1.on.aws/?Action=DbConnectAdmin&")
    );

    for (name, expected) in [
        (
            "tokens-elasticache",
            vec![
                "redis-cli   -h master.my-cache.abc123.use1.cache.amazonaws.com -p 6379 --tls --cacert CA --user iam-user-01 PING",
                "valkey-cli   -h my-serverless-cache-abc123.serverless.use1.cache.amazonaws.com -p 6379 --tls --cacert CA --user iam-user-01 PING",
                "redis-cli   --tls -h master.my-cache.abc123.use1.cache.amazonaws.com --user iam-user-01 PING",
            ],
        ),
        (
            "tokens-memorydb",
            vec!["redis-cli   -h clustercfg.my-cluster.abc123.memorydb.us-east-1.amazonaws.com -p 6379 --tls --cacert CA --user iam-user-01 -c PING"],
        ),
    ] {
        let mut env = TestEnv::new();
        env.with_env_keys();
        stand_in_clients(&mut env);
        readme::run_block(&mut env, name, &[]).success();
        let ca = ca_bundle_path(&env, "--rds-proxy");
        let expected: String = expected
            .iter()
            .map(|line| line.replace("CA", &ca) + "\n")
            .collect();
        assert_eq!(clients_log(&env), expected, "{name}");
    }
}

/// The path `rds-auth-token ca-bundle --path [extra]` prints in `env`.
fn ca_bundle_path(env: &TestEnv, extra: &str) -> String {
    let mut args = vec!["ca-bundle", "--path"];
    args.extend(Some(extra).filter(|e| !e.is_empty()));
    env.run(args).success().stdout().trim_end().to_owned()
}

#[test]
fn the_ca_bundle_examples_print_and_place_the_certificates() {
    let mut env = TestEnv::new();
    let run = readme::run_block(&mut env, "tls-ca-bundle", &[]);
    run.success();
    let pem = std::fs::read_to_string(env.home().join("rds-ca-bundle.pem")).unwrap();
    assert_eq!(pem.matches("-----BEGIN CERTIFICATE-----").count(), 115);
    let stdout = run.stdout();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], ca_bundle_path(&env, ""));
    assert!(lines[1..]
        .join("\n")
        .contains("-----BEGIN CERTIFICATE-----"));
}

/// The bundle is read only by credential requests over the network, which
/// environment keys make none of: that it is then trusted is
/// tests/it/credential_https.rs's to show; here the commands run as written.
#[test]
fn the_ca_bundle_examples_make_tokens_and_record_the_profile_setting() {
    let mut env = TestEnv::new();
    let config = env.home().join(".aws/config");
    env.with_env_keys()
        .env("HOST", support::RDS_HOST)
        .env("AWS_CONFIG_FILE", &config);
    // The block's `aws configure set` is the pinned AWS CLI's.
    support::python::current().first_on_path(&mut env);
    let ca = support::tls::TestCa::new();
    let ca = ca.ca_pem().display().to_string();
    let run = readme::run_block(
        &mut env,
        "credentials-ca-bundle",
        &[("/etc/pki/corp-ca.pem", &ca)],
    );
    run.success();
    assert_eq!(run.stdout().lines().count(), 2, "two tokens");
    let config = std::fs::read_to_string(env.home().join(".aws/config")).unwrap();
    assert!(
        config.contains("[profile db]") && config.contains(&format!("ca_bundle = {ca}")),
        "{config}"
    );
}

#[test]
fn the_inspect_examples_print_what_the_docs_show() {
    // Both commands of the first example at the second the docs show.
    let mut env = TestEnv::new();
    env.with_env_keys();
    faketime::freeze(&mut env, "2026-11-22 01:21:07");
    readme::run_block(&mut env, "inspect-verify", &[])
        .success()
        .stdout_is(&readme::block("inspect-verify").output());

    // The problems example: a token for eu-west-1 made at 01:21:07, read
    // at 01:40:00; "..." in the docs stands for lines left out.
    let token = env
        .run([
            "--hostname",
            EXAMPLE_HOST,
            "--port",
            "5432",
            "--username",
            "jane_doe",
            "--region",
            "eu-west-1",
        ])
        .success()
        .token();
    faketime::freeze(&mut env, "2026-11-22 01:40:00");
    env.env("TOKEN", token.as_str());
    let run = readme::run_block(&mut env, "inspect-problems", &[]);
    assert_eq!(run.code(), Some(1), "{}", run.stderr());
    shows_in_order(&run.stdout(), &readme::block("inspect-problems").output());

    // The cache example: a token for "My-Cache" as botocore makes it (this
    // tool lower-cases the name, as AWS does).
    let cache_token = support::kinds::botocore_kind_tokens(&[support::kinds::KindCase {
        kind: "elasticache",
        name: "My-Cache",
        user: "iam-user-01",
        serverless: true,
        region: "us-east-1",
        expires_in: 900,
        session_token: None,
    }])
    .remove(0);
    faketime::freeze(&mut env, support::kinds::FROZEN_AT);
    env.env("CACHE_TOKEN", cache_token);
    let run = readme::run_block(&mut env, "inspect-cache", &[]);
    assert_eq!(run.code(), Some(1), "{}", run.stderr());
    assert_eq!(run.stdout(), readme::block("inspect-cache").output());
}

/// Every line of `shown` but `...` is in `actual`, in the same order.
#[track_caller]
fn shows_in_order(actual: &str, shown: &str) {
    let mut lines = actual.lines();
    for want in shown.lines().filter(|l| *l != "...") {
        assert!(
            lines.any(|l| l == want),
            "the docs show {want:?}, which is not in (or out of order in):\n{actual}"
        );
    }
}

#[test]
fn the_setup_walkthrough_prints_the_policy_and_the_statements_aws_documents() {
    let mut env = TestEnv::new();
    let run = readme::run_block(&mut env, "setup-policy", &[]);
    let policy = run.success().stdout();
    // The shape of AWS's example policy in the RDS user guide.
    for line in [
        "\"Version\": \"2012-10-17\",",
        "\"Effect\": \"Allow\",",
        "\"Action\": \"rds-db:connect\",",
        "\"Resource\": \"arn:aws:rds-db:us-east-1:123456789012:dbuser:db-ABCDEFGHIJKL01234/app_user\"",
    ] {
        assert!(policy.contains(line), "{line} in\n{policy}");
    }
    // AWS's statements for each engine (the real servers run them in
    // tests/it/sql.rs).
    let run = readme::run_block(&mut env, "setup-sql", &[]);
    assert_eq!(
        run.success().stdout(),
        "BEGIN;\nCREATE USER \"app_user\" WITH LOGIN;\nGRANT rds_iam TO \"app_user\";\nCOMMIT;\n\
         CREATE USER `app_user`@`%` IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL;\n"
    );
}

#[test]
fn the_troubleshooting_pipe_inspects_a_fresh_token_and_finds_nothing_wrong() {
    let mut env = TestEnv::new();
    env.with_env_keys();
    let run = readme::run_block(&mut env, "troubleshoot-inspect", &[]);
    let report = run.success().stdout();
    assert!(report.contains("\nproblems:      none\n"), "{report}");
    assert!(
        report.contains("signature:     matches the secret key of 'AKIAIOSFODNN7EXAMPLE'"),
        "{report}"
    );
}
