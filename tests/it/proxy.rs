//! `rds-auth-token proxy` with real clients into the real PostgreSQL server
//! of `support::servers`: TLS only, every login checked by the RDS-like
//! token verifier, the certificate from a test CA for an RDS-like name
//! reached through `--via`. The clients connect with no password.
#![cfg(target_os = "linux")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::support;
use support::auth_proxy::{http, upstream_flags, AuthProxy};
use support::servers::{self, psql_client, Db, IAM_USER};
use support::TestEnv;

/// The proxy's environment: the keys the verifier checks.
fn proxy_env() -> TestEnv {
    let mut env = TestEnv::new();
    env.with_env_keys();
    env
}

/// libpq's connection string for the proxy: no password, no TLS (local).
fn conninfo(proxy: &AuthProxy, user: &str) -> String {
    format!(
        "host=127.0.0.1 port={} user={user} dbname=postgres sslmode=disable connect_timeout=10",
        proxy.port
    )
}

/// `psql -w -X -tA CONNINFO -c SQL` in a bare environment.
fn psql(conninfo: &str, sql: &str) -> support::Run {
    let psql = psql_client().unwrap_or_else(|err| panic!("{err}"));
    TestEnv::new().run_program(psql, ["-w", "-X", "-tA", conninfo, "-c", sql])
}

/// `psql -w -X -tA CONNINFO [-c SQL]` started through `proxy` with its
/// stdin, stdout and stderr piped, once the proxy has logged it in, and a
/// moment later, for the query to be running.
fn psql_running(proxy: &AuthProxy, sql: Option<&str>) -> std::process::Child {
    let client = psql_client().unwrap_or_else(|err| panic!("{err}"));
    let info = conninfo(proxy, IAM_USER);
    let mut args = vec!["-w", "-X", "-tA", info.as_str()];
    if let Some(sql) = sql {
        args.extend(["-c", sql]);
    }
    let child = TestEnv::new()
        .program(client)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(Duration::from_secs(20), || {
        proxy.metric("rds_auth_token_proxy_logins_total{") >= 1.0
    });
    std::thread::sleep(Duration::from_millis(300));
    child
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
fn psql_logs_in_with_no_password_over_verified_tls_with_a_fresh_token() {
    let servers = servers::shared();
    let proxy = AuthProxy::for_postgres(servers, &proxy_env(), &[]);
    let info = conninfo(&proxy, IAM_USER);
    servers
        .login(Db::Postgres, || {
            psql(
                &info,
                "select current_user, ssl from pg_stat_ssl where pid = pg_backend_pid()",
            )
        })
        .logged_in(None, &format!("{IAM_USER}|t\n"));
    let log = proxy.log();
    assert!(log.contains("login peer="), "{log}");
    assert!(!log.contains("X-Amz-Signature"), "{log}");
    assert_eq!(
        proxy.metric("rds_auth_token_proxy_tokens_minted_total{"),
        1.0,
        "{}",
        proxy.get("/metrics").1
    );
}

#[test]
fn keeps_the_server_connection_of_a_client_that_left_and_resets_it() {
    let servers = servers::shared();
    let proxy = AuthProxy::for_postgres(servers, &proxy_env(), &[]);
    let info = conninfo(&proxy, IAM_USER);
    servers
        .login(Db::Postgres, || {
            psql(&info, "set application_name = 'first'; create temp table t (x int); select pg_backend_pid()")
        })
        .accepted_once();
    // The second client is served by the same server connection, reset:
    // no new login, no temp table, the setting back to its default.
    let second = servers.login(Db::Postgres, || {
        psql(
            &info,
            "select count(*) from pg_class where relname = 't' and relpersistence = 't'; show application_name",
        )
    });
    second.without_asking_the_verifier();
    second.run.success().stdout_is("0\npsql\n");
    assert_eq!(
        proxy.metric("rds_auth_token_proxy_server_reuses_total{"),
        1.0
    );
}

#[test]
fn no_reuse_logs_in_anew_for_each_client() {
    let servers = servers::shared();
    let proxy = AuthProxy::for_postgres(servers, &proxy_env(), &["--no-reuse"]);
    let info = conninfo(&proxy, IAM_USER);
    for _ in 0..2 {
        servers
            .login(Db::Postgres, || psql(&info, "select 1"))
            .logged_in(None, "1\n");
    }
}

#[test]
fn refuses_a_server_whose_certificate_is_not_from_the_trusted_cas_before_any_token() {
    let servers = servers::shared();
    let proxy = AuthProxy::for_host(
        servers,
        &proxy_env(),
        servers::TUNNEL_HOST,
        &servers.wrong_ca_cert(),
        &[],
    );
    let info = conninfo(&proxy, IAM_USER);
    servers
        .login(Db::Postgres, || psql(&info, "select 1"))
        .refused_with("the server's certificate is not issued by the CAs in --ssl-ca")
        .without_asking_the_verifier();
    assert_eq!(
        proxy.metric("rds_auth_token_proxy_logins_total{database=\"mydb.xxx.us-east-1.rds.amazonaws.com\",engine=\"postgres\",outcome=\"failed\",reason=\"tls\"}"),
        1.0
    );
}

#[test]
fn pins_the_user_and_refuses_another_in_the_clients_protocol() {
    let servers = servers::shared();
    let proxy = AuthProxy::for_postgres(servers, &proxy_env(), &["--username", IAM_USER]);
    servers
        .login(Db::Postgres, || {
            psql(&conninfo(&proxy, "postgres"), "select 1")
        })
        .refused_with(&format!(
            "logs in to {} as {IAM_USER} only (--username), not as postgres",
            servers::TUNNEL_HOST
        ))
        .without_asking_the_verifier();
    servers
        .login(Db::Postgres, || {
            psql(&conninfo(&proxy, IAM_USER), "select 1")
        })
        .logged_in(None, "1\n");
}

#[test]
fn passes_a_cancel_request_to_the_server_connection_it_belongs_to() {
    let servers = servers::shared();
    let proxy = AuthProxy::for_postgres(servers, &proxy_env(), &[]);
    // psql sends a CancelRequest on SIGINT, then exits with the error.
    let started = std::time::Instant::now();
    let child = psql_running(&proxy, Some("select pg_sleep(30)"));
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("canceling statement due to user request"),
        "{stderr}\n{}",
        proxy.log()
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(
        proxy.log().contains("cancel request passed on"),
        "{}",
        proxy.log()
    );
}

#[test]
fn answers_garbage_and_an_oversized_start_up_in_the_protocol_and_stays_up() {
    let servers = servers::shared();
    let proxy = AuthProxy::for_postgres(servers, &proxy_env(), &[]);
    // A start-up packet announcing 1 GB: refused at once, nothing allocated.
    let mut stream = TcpStream::connect(("127.0.0.1", proxy.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(&1_000_000_000u32.to_be_bytes()).unwrap();
    stream.write_all(&[0, 3, 0, 0]).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    assert_eq!(answer.first(), Some(&b'E'), "{answer:?}");
    assert!(String::from_utf8_lossy(&answer).contains("08P01"));
    // Garbage.
    let mut stream = TcpStream::connect(("127.0.0.1", proxy.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    assert_eq!(answer.first(), Some(&b'E'), "{answer:?}");
    // A client that vanishes mid-packet: one line; a port check that
    // connects and closes: none (with --debug, one).
    let mut stream = TcpStream::connect(("127.0.0.1", proxy.port)).unwrap();
    stream.write_all(&[0, 0, 0, 40, 0, 3]).unwrap();
    drop(stream);
    drop(TcpStream::connect(("127.0.0.1", proxy.port)).unwrap());
    proxy.expect_log(
        "reason='the client closed the connection'",
        Duration::from_secs(5),
    );
    let refusals = proxy.log().matches("client start-up refused").count();
    assert_eq!(refusals, 3, "{}", proxy.log());
    // Still serving.
    servers
        .login(Db::Postgres, || {
            psql(&conninfo(&proxy, IAM_USER), "select 1")
        })
        .logged_in(None, "1\n");
    assert_eq!(proxy.get("/liveness").0, 200);
}

#[test]
fn closes_a_slowloris_client_after_the_start_up_deadline() {
    let servers = servers::shared();
    let proxy = AuthProxy::for_postgres(servers, &proxy_env(), &[]);
    let mut stream = TcpStream::connect(("127.0.0.1", proxy.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let started = std::time::Instant::now();
    stream.write_all(&[0, 0]).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(9) && waited < Duration::from_secs(20),
        "{waited:?}"
    );
    // The line is written as the connection closes.
    proxy.expect_log("did not send its start-up in time", Duration::from_secs(5));
}

#[test]
fn serves_health_readiness_and_prometheus_metrics_and_stops_on_quitquitquit() {
    let servers = servers::shared();
    let mut proxy = AuthProxy::for_postgres(servers, &proxy_env(), &["--quitquitquit"]);
    servers
        .login(Db::Postgres, || {
            psql(&conninfo(&proxy, IAM_USER), "select 1")
        })
        .logged_in(None, "1\n");
    assert_eq!(proxy.get("/liveness"), (200, "ok\n".to_owned()));
    assert_eq!(proxy.get("/readiness"), (200, "ok\n".to_owned()));
    let (status, metrics) = proxy.get("/metrics");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("# TYPE rds_auth_token_proxy_upstream_tls_seconds histogram"),
        "{metrics}"
    );
    let labels = format!("database=\"{}\",engine=\"postgres\"", servers::TUNNEL_HOST);
    for line in [
        format!("rds_auth_token_proxy_upstream_tls_seconds_count{{{labels}}} 1"),
        format!("rds_auth_token_proxy_client_connections_total{{{labels}}} 1"),
        format!("rds_auth_token_proxy_logins_total{{{labels},outcome=\"ok\",reason=\"new\"}} 1"),
    ] {
        assert!(metrics.contains(&line), "{line} not in\n{metrics}");
    }
    // Bytes each way are counted, and no secret is in the metrics.
    assert!(
        proxy.metric(&format!(
            "rds_auth_token_proxy_bytes_total{{{labels},direction=\"server_to_client\"}}"
        )) > 0.0
    );
    assert!(!metrics.contains("X-Amz"), "{metrics}");
    assert_eq!(
        http(proxy.health_port, "GET", "/quitquitquit").unwrap().0,
        405
    );
    assert_eq!(
        http(proxy.health_port, "POST", "/quitquitquit").unwrap().0,
        200
    );
    assert_eq!(
        proxy.wait(Duration::from_secs(10)),
        Some(0),
        "{}",
        proxy.log()
    );
}

#[test]
fn is_not_ready_without_credentials_and_says_why() {
    let servers = servers::shared();
    let proxy = AuthProxy::for_postgres(servers, &TestEnv::new(), &[]);
    let (status, body) = proxy.get("/readiness");
    assert_eq!(status, 503, "{body}");
    assert!(body.starts_with("not ready: "), "{body}");
    let refused = servers.login(Db::Postgres, || {
        psql(&conninfo(&proxy, IAM_USER), "select 1")
    });
    refused
        .refused_with("no IAM token for iam_user")
        .without_asking_the_verifier();
}

#[test]
fn sigterm_waits_for_an_open_transaction_up_to_the_delay_then_exits_0() {
    let servers = servers::shared();
    let mut proxy = AuthProxy::for_postgres(servers, &proxy_env(), &["--max-sigterm-delay", "20"]);
    let mut child = psql_running(&proxy, None);
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"begin;\nselect 41;\n").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    unsafe {
        libc::kill(-proxy.process.group(), libc::SIGTERM);
    }
    std::thread::sleep(Duration::from_millis(500));
    // Still running: the transaction is open.
    assert_eq!(
        proxy.wait(Duration::from_millis(10)),
        None,
        "{}",
        proxy.log()
    );
    // New connections are refused meanwhile.
    assert!(TcpStream::connect(("127.0.0.1", proxy.port)).is_err());
    stdin.write_all(b"select 42;\ncommit;\n\\q\n").unwrap();
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "BEGIN\n41\n42\nCOMMIT\n"
    );
    assert_eq!(
        proxy.wait(Duration::from_secs(10)),
        Some(0),
        "{}",
        proxy.log()
    );
}

#[test]
fn pgbench_and_pg_dump_work_through_the_proxy() {
    let servers = servers::shared();
    let proxy = AuthProxy::for_postgres(servers, &proxy_env(), &[]);
    let port = proxy.port.to_string();
    let bin = psql_client().unwrap().parent().unwrap().to_owned();
    let mut env = TestEnv::new();
    env.env("PGHOST", "127.0.0.1")
        .env("PGPORT", &port)
        .env("PGUSER", IAM_USER)
        .env("PGDATABASE", servers::BENCH_DATABASE)
        .env("PGSSLMODE", "disable");
    let init = env.run_program(
        bin.join("pgbench"),
        ["-i", "-s", "1", "-q", "--unlogged-tables"],
    );
    init.success();
    let run = env.run_program(
        bin.join("pgbench"),
        ["-S", "-c", "4", "-j", "2", "-t", "200", "-C", "-n"],
    );
    run.success();
    assert!(
        run.stdout()
            .contains("number of transactions actually processed: 800/800"),
        "{}",
        run.stdout()
    );
    let dump = env.run_program(
        bin.join("pg_dump"),
        ["-t", "pgbench_branches", "--schema-only"],
    );
    dump.success();
    assert!(
        dump.stdout()
            .contains("CREATE UNLOGGED TABLE public.pgbench_branches"),
        "{}",
        dump.stdout()
    );
    // 4 clients connecting per transaction (800 connections) were served
    // by a few server logins (at most one per client open at once, for
    // each step), the rest by kept connections.
    let logins = proxy.metric("rds_auth_token_proxy_server_logins_total{");
    let reuses = proxy.metric("rds_auth_token_proxy_server_reuses_total{");
    assert!(
        logins <= 16.0 && reuses >= 780.0,
        "logins {logins}, reuses {reuses}"
    );
}

/// psycopg 3 (PyPI, over libpq), node-postgres (npm `pg`) and the PostgreSQL
/// JDBC driver, each with a connection string that has no password, as an
/// app or a GUI keeps it.
#[test]
fn psycopg_node_postgres_and_jdbc_log_in_with_no_password() {
    let servers = servers::shared();
    let proxy = AuthProxy::for_postgres(servers, &proxy_env(), &["--no-reuse"]);
    let port = proxy.port;

    let python = support::python::drivers().python();
    let script = "import sys, psycopg\n\
                  with psycopg.connect(sys.argv[1]) as conn:\n\
                  \x20   print(conn.execute('select current_user').fetchone()[0])\n";
    let url = format!("postgresql://{IAM_USER}@127.0.0.1:{port}/postgres?sslmode=disable");
    servers
        .login(Db::Postgres, || {
            TestEnv::new().run_program(&python, ["-c", script, &url])
        })
        .logged_in(None, &format!("{IAM_USER}\n"));

    let node_modules =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/node/node_modules");
    assert!(
        node_modules.join("pg").is_dir(),
        "node-postgres is not installed in {}: scripts/test installs it",
        node_modules.display()
    );
    let script = "const { Client } = require('pg');\n\
                  const c = new Client({ connectionString: process.argv[1] });\n\
                  c.connect().then(() => c.query('select current_user as u'))\n\
                  .then(r => { console.log(r.rows[0].u); return c.end(); })\n\
                  .catch(e => { console.error(e.message); process.exit(1); });\n";
    let mut env = TestEnv::new();
    env.env("NODE_PATH", &node_modules);
    servers
        .login(Db::Postgres, || {
            env.run_program("node", ["-e", script, &url])
        })
        .logged_in(None, &format!("{IAM_USER}\n"));

    // A GUI's connection string: host, port, database and user; no password.
    let jdbc = format!("jdbc:postgresql://127.0.0.1:{port}/postgres?user={IAM_USER}&sslmode=disable&ApplicationName=DBeaver");
    servers
        .login(Db::Postgres, || {
            support::jdbc::query(
                "/usr/share/java/postgresql.jar",
                "libpostgresql-jdbc-java",
                &jdbc,
                "select current_user",
            )
        })
        .logged_in(None, &format!("{IAM_USER}\n"));
}

#[test]
fn gives_dsql_roles_dsql_tokens_admin_the_admin_token() {
    let servers = servers::shared();
    let proxy = AuthProxy::for_host(
        servers,
        &proxy_env(),
        servers::DSQL_HOST,
        &servers.ca_cert(),
        &["--no-reuse"],
    );
    for (role, action) in [("admin", "DbConnectAdmin"), (IAM_USER, "DbConnect")] {
        let login = servers.login(Db::Postgres, || {
            psql(&conninfo(&proxy, role), "select current_user")
        });
        login.run.success().stdout_is(&format!("{role}\n"));
        let [decision] = login.decisions.as_slice() else {
            panic!("expected one verifier decision, got {:?}", login.decisions)
        };
        assert!(decision.accepted, "{decision:?}");
        assert_eq!(decision.user, role);
        assert_eq!(decision.reason, format!("valid DSQL {action} token"));
    }
}

#[test]
fn serves_several_databases_from_one_configuration_file() {
    let servers = servers::shared();
    let [main_port, pinned_port] = support::ports::free_n();
    let pg = servers.port(Db::Postgres);
    let env = proxy_env();
    let config = env.write(
        "proxy.toml",
        &format!(
            "[main]\nhostname = \"{host}\"\nport = {pg}\nengine = \"postgres\"\nvia = \"127.0.0.1:{pg}\"\nssl-ca = \"{ca}\"\nlisten = \"127.0.0.1:{main_port}\"\n\n\
             [reporting]\nhostname = \"{host}\"\nport = {pg}\nengine = \"postgres\"\nvia = \"127.0.0.1:{pg}\"\nssl-ca = \"{ca}\"\nlisten = [\"127.0.0.1:{pinned_port}\"]\nusername = \"{IAM_USER}\"\nno-reuse = true\n",
            host = servers::TUNNEL_HOST,
            ca = servers.ca_cert().display(),
        ),
    );
    let proxy = AuthProxy::spawn(&env, &["--config", config.to_str().unwrap()], main_port);
    for port in [main_port, pinned_port] {
        let info =
            format!("host=127.0.0.1 port={port} user={IAM_USER} dbname=postgres sslmode=disable");
        servers
            .login(Db::Postgres, || psql(&info, "select 1"))
            .logged_in(None, "1\n");
    }
    let log = proxy.log();
    assert!(
        log.contains(&format!(
            "listening on 127.0.0.1:{pinned_port} for reporting"
        )),
        "{log}"
    );
    assert!(proxy.get("/metrics").1.contains("database=\"reporting\""));
    // A key the flags do not have is refused, naming the file and table.
    let run = env.run([
        "proxy",
        "--config",
        env.write(
            "bad.toml",
            "[x]\nhostname = \"h.example.com\"\npasword = \"p\"\n",
        )
        .to_str()
        .unwrap(),
    ]);
    run.fails_with(2);
    assert!(
        run.stderr().contains("unknown field `pasword`"),
        "{}",
        run.stderr()
    );
}

#[test]
fn logs_one_json_object_a_line_with_structured_logs_and_never_a_token() {
    let servers = servers::shared();
    let proxy = AuthProxy::for_postgres(servers, &proxy_env(), &["--structured-logs"]);
    servers
        .login(Db::Postgres, || {
            psql(&conninfo(&proxy, IAM_USER), "select 1")
        })
        .logged_in(None, "1\n");
    let log = proxy.log();
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines.len() >= 3, "{log}");
    for line in &lines {
        assert!(
            line.starts_with("{\"time\":\"") && line.ends_with('}'),
            "{line}"
        );
    }
    let login = lines
        .iter()
        .find(|l| l.contains("\"message\":\"login\""))
        .unwrap_or_else(|| panic!("no login line in {log}"));
    assert!(
        login.contains(&format!("\"user\":\"{IAM_USER}\"")),
        "{login}"
    );
    assert!(login.contains("\"database\":\"postgres\""), "{login}");
    assert!(login.contains("\"peer\":\"127.0.0.1:"), "{login}");
    assert!(
        !log.contains("X-Amz") && !log.contains(support::SECRET_KEY),
        "{log}"
    );
}

#[test]
fn runs_a_connection_test_and_exits_0_or_1() {
    let servers = servers::shared();
    let flags = upstream_flags(servers, servers::TUNNEL_HOST, &servers.ca_cert());
    let mut args: Vec<&str> = vec!["proxy"];
    args.extend(flags.iter().map(String::as_str));
    args.extend(["--username", IAM_USER, "--run-connection-test"]);
    let passed = servers.login(Db::Postgres, || proxy_env().run(&args));
    passed.accepted_once();
    passed.run.success();
    assert!(
        passed.run.stderr().contains("connection test passed"),
        "{}",
        passed.run.stderr()
    );
    let wrong = servers.wrong_ca_cert();
    let last = args.iter().position(|a| *a == "--ssl-ca").unwrap() + 1;
    args[last] = wrong.to_str().unwrap();
    let failed = servers.login(Db::Postgres, || proxy_env().run(&args));
    failed.without_asking_the_verifier();
    assert_eq!(failed.run.code(), Some(1), "{}", failed.run.stderr());
    assert!(
        failed.run.stderr().contains("connection test failed"),
        "{}",
        failed.run.stderr()
    );
    assert!(
        failed.run.stderr().contains("is not issued by"),
        "{}",
        failed.run.stderr()
    );
}

#[test]
fn logs_in_anew_at_once_when_a_kept_server_connection_was_ended() {
    let servers = servers::shared();
    let proxy = AuthProxy::for_postgres(servers, &proxy_env(), &[]);
    let info = conninfo(&proxy, IAM_USER);
    servers
        .login(Db::Postgres, || psql(&info, "select 1"))
        .accepted_once();
    // Another client (other parameters, so another server connection) ends
    // the kept one, as a server restart or an administrator would.
    let killer = format!("{info} application_name=killer");
    servers
        .login(Db::Postgres, || {
            psql(
                &killer,
                "select count(pg_terminate_backend(pid)) from pg_stat_activity \
                 where usename = current_user and pid <> pg_backend_pid() and application_name = 'psql'",
            )
        })
        .logged_in(None, "1\n");
    std::thread::sleep(Duration::from_millis(200));
    servers
        .login(Db::Postgres, || psql(&info, "select 2"))
        .logged_in(None, "2\n");
}

#[test]
fn offers_clients_tls_with_a_certificate_of_its_own() {
    let servers = servers::shared();
    let ca = support::tls::TestCa::new();
    let cert = ca.server_cert();
    let key = ca.server_key();
    let proxy = AuthProxy::for_postgres(
        servers,
        &proxy_env(),
        &[
            "--client-tls-cert",
            cert.to_str().unwrap(),
            "--client-tls-key",
            key.to_str().unwrap(),
        ],
    );
    let info = format!(
        "host=127.0.0.1 port={} user={IAM_USER} dbname=postgres sslmode=verify-full sslrootcert={}",
        proxy.port,
        ca.ca_pem().display()
    );
    servers
        .login(Db::Postgres, || psql(&info, "select 1"))
        .logged_in(None, "1\n");
}

#[test]
fn listens_on_a_unix_socket_in_a_private_folder_for_psql_h() {
    let servers = servers::shared();
    let env = proxy_env();
    let folder = env.home().join("sockets");
    let proxy =
        AuthProxy::for_postgres(servers, &env, &["--unix-socket", folder.to_str().unwrap()]);
    let uid = unsafe { libc::getuid() };
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&folder).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    let port = servers.port(Db::Postgres);
    let info = format!(
        "host={} port={port} user={IAM_USER} dbname=postgres",
        folder.display()
    );
    servers
        .login(Db::Postgres, || psql(&info, "select 1"))
        .logged_in(None, "1\n");
    assert!(
        proxy.log().contains(&format!("peer='uid {uid}'")),
        "{}",
        proxy.log()
    );
}

#[test]
fn fetches_short_lived_credentials_again_during_a_run() {
    let servers = servers::shared();
    let env = TestEnv::new();
    let calls = env.home().join("calls");
    let process = env.write_script(
        "creds.sh",
        &format!(
            "#!/bin/sh\necho call >> '{}'\n\
             printf '{{\"Version\": 1, \"AccessKeyId\": \"%s\", \"SecretAccessKey\": \"%s\", \"Expiration\": \"%s\"}}\\n' \
             '{}' '{}' \"$(date -u -d '+120 seconds' +%Y-%m-%dT%H:%M:%SZ)\"\n",
            calls.display(),
            support::ACCESS_KEY,
            support::SECRET_KEY
        ),
    );
    env.write(
        ".aws/config",
        &format!("[default]\ncredential_process = {}\n", process.display()),
    );
    let proxy = AuthProxy::for_postgres(servers, &env, &["--no-reuse"]);
    let info = conninfo(&proxy, IAM_USER);
    let count = || {
        std::fs::read_to_string(&calls)
            .unwrap_or_default()
            .lines()
            .count()
    };
    servers
        .login(Db::Postgres, || psql(&info, "select 1"))
        .logged_in(None, "1\n");
    let first = count();
    assert!(first >= 1, "the credential process ran {first} times");
    // Credentials that cut tokens short are kept 30 s, then fetched again.
    std::thread::sleep(Duration::from_secs(31));
    servers
        .login(Db::Postgres, || psql(&info, "select 2"))
        .logged_in(None, "2\n");
    assert_eq!(count(), first + 1, "{}", proxy.log());
    let log = proxy.log();
    assert!(log.contains("so tokens are valid for"), "{log}");
}

#[test]
fn the_documented_configuration_file_is_one_the_proxy_reads() {
    let docs = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/proxy.md"),
    )
    .unwrap();
    let example = docs
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a TOML example in docs/proxy.md");
    let tables = rds_auth_token::proxy::config::parse(example)
        .unwrap_or_else(|err| panic!("{err}\n{example}"));
    assert!(tables.len() >= 2, "{tables:?}");
    assert!(tables.values().any(|t| t
        .hostname
        .as_deref()
        .is_some_and(|h| h.ends_with(".on.aws"))));
}

#[test]
fn closes_the_server_connection_of_a_client_that_vanishes_mid_query() {
    let servers = servers::shared();
    let proxy = AuthProxy::for_postgres(servers, &proxy_env(), &[]);
    let mut child = psql_running(&proxy, Some("select pg_sleep(20)"));
    child.kill().unwrap();
    let _ = child.wait();
    proxy.expect_log("client left during a query", Duration::from_secs(10));
    assert!(proxy.log().contains("cancel='sent'"), "{}", proxy.log());
    // Nothing kept, nothing left open, the query cancelled rather than left
    // running, and the next client is served.
    assert_eq!(
        proxy.metric("rds_auth_token_proxy_client_connections_open{"),
        0.0
    );
    servers
        .login(Db::Postgres, || {
            psql(
                &conninfo(&proxy, IAM_USER),
                "select count(*) from pg_stat_activity where query like 'select pg_sleep%'",
            )
        })
        .logged_in(None, "0\n");
}

#[test]
fn refuses_unix_socket_clients_of_another_uid_unless_allowed() {
    let servers = servers::shared();
    if unsafe { libc::getuid() } != 0 {
        assert!(
            !support::in_ci(),
            "CI runs the tests as root, to connect as another user"
        );
        return;
    }
    // shared() made the servers' system user.
    let (uid, gid) = servers::passwd_entry(servers::SERVICE_USER).expect("the servers' user");
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let open = tempfile::tempdir().unwrap();
    std::fs::set_permissions(open.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    // A folder others may enter but not write to: the socket is reachable.
    let folder = open.path().join("sockets");
    std::fs::create_dir(&folder).unwrap();
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).unwrap();
    let port = servers.port(Db::Postgres);
    let info = format!(
        "host={} port={port} user={IAM_USER} dbname=postgres",
        folder.display()
    );
    let client = psql_client().unwrap_or_else(|err| panic!("{err}"));
    let as_other = || {
        let output = TestEnv::new()
            .program(&client)
            .args(["-w", "-X", "-tA", &info, "-c", "select 1"])
            .uid(uid)
            .gid(gid)
            .output()
            .unwrap();
        support::Run::of(format!("psql as uid {uid}"), output)
    };
    let socket = folder.to_str().unwrap();
    // The socket is this user's alone: the system refuses the others.
    let proxy = AuthProxy::for_postgres(servers, &proxy_env(), &["--unix-socket", socket]);
    servers
        .login(Db::Postgres, as_other)
        .refused_with("Permission denied")
        .without_asking_the_verifier();
    drop(proxy);
    // Open to the uids --allow-uid names, and checked: others who reach it
    // are refused in PostgreSQL's protocol.
    let proxy = AuthProxy::for_postgres(
        servers,
        &proxy_env(),
        &["--unix-socket", socket, "--allow-uid", "4242"],
    );
    servers
        .login(Db::Postgres, as_other)
        .refused_with(&format!("connections from uid {uid} are refused"))
        .without_asking_the_verifier();
    drop(proxy);
    let allowed = uid.to_string();
    let _proxy = AuthProxy::for_postgres(
        servers,
        &proxy_env(),
        &["--unix-socket", socket, "--allow-uid", &allowed],
    );
    servers.login(Db::Postgres, as_other).logged_in(None, "1\n");
}

#[test]
fn limits_open_connections_and_tells_the_next_client_why() {
    let servers = servers::shared();
    let proxy = AuthProxy::for_postgres(servers, &proxy_env(), &["--max-connections", "1"]);
    let held = support::pg_wire::login(proxy.port, IAM_USER, "postgres");
    servers
        .login(Db::Postgres, || {
            psql(&conninfo(&proxy, IAM_USER), "select 1")
        })
        .refused_with("the proxy has 1 connections open, its most (--max-connections)")
        .without_asking_the_verifier();
    drop(held);
    wait_for(Duration::from_secs(5), || {
        proxy.metric("rds_auth_token_proxy_client_connections_open{") == 0.0
    });
    servers
        .login(Db::Postgres, || {
            psql(&conninfo(&proxy, IAM_USER), "select 1")
        })
        .logged_in(None, "1\n");
}

#[test]
fn listens_beyond_loopback_only_with_allow_remote() {
    let env = proxy_env();
    let run = env.run([
        "proxy",
        "--hostname",
        support::RDS_HOST,
        "--port",
        "5432",
        "--listen",
        "0.0.0.0:5432",
    ]);
    run.fails_with(2);
    assert!(
        run.stderr()
            .contains("--listen 0.0.0.0:5432 is not a loopback address; pass --allow-remote"),
        "{}",
        run.stderr()
    );
    let port = support::ports::free();
    let listen = format!("0.0.0.0:{port}");
    let mut proxy = AuthProxy::spawn(
        &env,
        &[
            "--hostname",
            support::RDS_HOST,
            "--port",
            "5432",
            "--listen",
            &listen,
            "--allow-remote",
        ],
        port,
    );
    assert!(
        proxy
            .log()
            .contains("warn: --allow-remote: connections from other machines are let in"),
        "{}",
        proxy.log()
    );
    assert_eq!(proxy.terminate(Duration::from_secs(10)), Some(0));
}
