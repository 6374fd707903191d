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
use support::servers::{self, mariadb_client, Db, Servers, IAM_USER};
use support::TestEnv;

/// The proxy's environment: the keys the verifier checks.
fn proxy_env() -> TestEnv {
    let mut env = TestEnv::new();
    env.with_env_keys();
    env
}

/// The MariaDB client's arguments for the proxy on `port` as `user`, with
/// no password and no TLS, then `args`.
fn client_args<'a>(port: &'a str, user: &'a str, args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec![
        "--no-defaults",
        "--protocol=TCP",
        "-h",
        "127.0.0.1",
        "-P",
        port,
        "-u",
        user,
        "--skip-ssl",
        "-N",
        "-B",
    ];
    all.extend_from_slice(args);
    all
}

/// `mariadb --no-defaults -h 127.0.0.1 -P PORT -u USER ARGS` with no
/// password and no TLS, in a bare environment.
fn mariadb(port: u16, user: &str, args: &[&str]) -> support::Run {
    let client = mariadb_client().unwrap_or_else(|err| panic!("{err}"));
    let port = port.to_string();
    TestEnv::new().run_program(client, client_args(&port, user, args))
}

/// `mariadb ARGS` started through `proxy` as the IAM user, its stdin,
/// stdout and stderr piped, once the proxy has logged it in: under the
/// server's login lock, as other logins, the verifier accepting its token.
fn mariadb_running(servers: &Servers, proxy: &AuthProxy, args: &[&str]) -> std::process::Child {
    let client = mariadb_client().unwrap_or_else(|err| panic!("{err}"));
    let port = proxy.port.to_string();
    let logins = proxy.metric("rds_auth_token_proxy_logins_total{");
    let mut running = None;
    servers
        .login(Db::Mariadb, || {
            let child = TestEnv::new()
                .program(&client)
                .args(client_args(&port, IAM_USER, args))
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            running = Some(child);
            assert!(wait_for(Duration::from_secs(20), || {
                proxy.metric("rds_auth_token_proxy_logins_total{") > logins
            }));
            support::Run::of(
                "mariadb (running)",
                std::process::Command::new("true").output().unwrap(),
            )
        })
        .accepted_once();
    running.unwrap()
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

/// A Python script run with the pinned drivers (PyMySQL,
/// mysql-connector-python), its arguments after it.
fn python(script: &str, args: &[&str]) -> support::Run {
    let python = support::python::drivers().python();
    let mut all = vec!["-c", script];
    all.extend_from_slice(args);
    TestEnv::new().run_program(&python, all)
}

/// PyMySQL, mysql-connector-python in its pure-Python mode (Oracle's own
/// implementation of the protocol) and MariaDB Connector/J, each with no
/// password and TLS off, as an app or a GUI keeps its settings.
#[test]
fn pymysql_mysql_connector_and_connector_j_log_in_with_no_password() {
    let servers = servers::shared();
    let proxy = AuthProxy::for_mariadb(servers, &proxy_env(), &["--no-reuse"]);
    let port = proxy.port.to_string();
    let pymysql = "import sys, pymysql\n\
                   c = pymysql.connect(host='127.0.0.1', port=int(sys.argv[1]), user=sys.argv[2], database='app')\n\
                   cur = c.cursor(); cur.execute('select current_user()'); print(cur.fetchone()[0]); c.close()\n";
    servers
        .login(Db::Mariadb, || python(pymysql, &[&port, IAM_USER]))
        .logged_in(None, &format!("{IAM_USER}@%\n"));

    let connector = "import sys, mysql.connector\n\
                     c = mysql.connector.connect(host='127.0.0.1', port=int(sys.argv[1]), user=sys.argv[2], database='app', use_pure=True, ssl_disabled=True)\n\
                     cur = c.cursor(); cur.execute('select current_user()'); print(cur.fetchone()[0]); c.close()\n";
    servers
        .login(Db::Mariadb, || python(connector, &[&port, IAM_USER]))
        .logged_in(None, &format!("{IAM_USER}@%\n"));

    // A GUI's connection string: host, port, database and user; no password.
    let jdbc = format!("jdbc:mariadb://127.0.0.1:{port}/app?user={IAM_USER}&useSsl=false");
    servers
        .login(Db::Mariadb, || {
            support::jdbc::query(
                "/usr/share/java/mariadb-java-client.jar",
                "libmariadb-java",
                &jdbc,
                "select current_user()",
            )
        })
        .logged_in(None, &format!("{IAM_USER}@%\n"));
}

#[test]
fn keeps_the_server_connection_of_a_client_that_quit_and_resets_it() {
    let servers = servers::shared();
    let proxy = AuthProxy::for_mariadb(servers, &proxy_env(), &[]);
    let first = servers.login(Db::Mariadb, || {
        mariadb(
            proxy.port,
            IAM_USER,
            &[
                "app",
                "-e",
                "set @x = 5; create temporary table t (x int); select connection_id()",
            ],
        )
    });
    first.accepted_once();
    let id = first.run.stdout().trim().to_owned();
    // The same server connection, reset: no new login, the variable and the
    // temporary table gone (creating it again works).
    let second = servers.login(Db::Mariadb, || {
        mariadb(
            proxy.port,
            IAM_USER,
            &[
                "app",
                "-e",
                "create temporary table t (x int); select @x is null, database(), connection_id()",
            ],
        )
    });
    second.without_asking_the_verifier();
    second.run.success().stdout_is(&format!("1\tapp\t{id}\n"));
    assert_eq!(
        proxy.metric("rds_auth_token_proxy_server_reuses_total{"),
        1.0
    );
    // A client with another schema (none) is not given it; nor is one that
    // changed the schema with USE, on its way back.
    let other = servers.login(Db::Mariadb, || {
        mariadb(
            proxy.port,
            IAM_USER,
            &["-e", "use app; select connection_id()"],
        )
    });
    other.accepted_once();
    let other_id = other.run.stdout().trim().to_owned();
    assert_ne!(other_id, id);
    let none = servers.login(Db::Mariadb, || {
        mariadb(
            proxy.port,
            IAM_USER,
            &["-e", "select database() is null, connection_id()"],
        )
    });
    none.accepted_once();
    none.run.success();
    assert!(
        !none.run.stdout().contains(&format!("\t{other_id}\n")),
        "{}",
        none.run.stdout()
    );
    // --no-reuse logs in anew.
    let fresh = AuthProxy::for_mariadb(servers, &proxy_env(), &["--no-reuse"]);
    for _ in 0..2 {
        servers
            .login(Db::Mariadb, || {
                mariadb(fresh.port, IAM_USER, &["app", "-e", "select 1"])
            })
            .logged_in(None, "1\n");
    }
}

#[test]
fn change_user_logs_in_again_with_a_token_for_the_user_or_is_refused_when_pinned() {
    let servers = servers::shared();
    let proxy = AuthProxy::for_mariadb(servers, &proxy_env(), &["--no-reuse"]);
    let port = proxy.port.to_string();
    let script = "import sys, mysql.connector\n\
                  c = mysql.connector.connect(host='127.0.0.1', port=int(sys.argv[1]), user=sys.argv[2], use_pure=True, ssl_disabled=True)\n\
                  cur = c.cursor(); cur.execute('set @x = 1'); cur.close()\n\
                  try:\n\
                  \x20   c.cmd_change_user(username=sys.argv[3], password='ignored', database='app')\n\
                  except mysql.connector.Error as e:\n\
                  \x20   print('refused', e.errno, e.sqlstate, e.msg); sys.exit(0)\n\
                  cur = c.cursor(); cur.execute('select current_user(), database(), @x is null'); print(*cur.fetchone()); c.close()\n";
    let login = servers.login(Db::Mariadb, || python(script, &[&port, IAM_USER, IAM_USER]));
    login
        .run
        .success()
        .stdout_is(&format!("{IAM_USER}@% app 1\n"));
    // The login, then the change of user, each with a token the verifier
    // accepted (MariaDB's PAM plugin may ask it twice on a change of user;
    // tokens made in the same second are the same).
    assert!(login.decisions.len() >= 2, "{:?}", login.decisions);
    assert!(
        login.decisions.iter().all(|d| d.accepted),
        "{:?}",
        login.decisions
    );
    assert_eq!(
        proxy.metric("rds_auth_token_proxy_tokens_minted_total{"),
        2.0
    );
    assert!(proxy.log().contains("user changed"), "{}", proxy.log());

    let pinned = AuthProxy::for_mariadb(servers, &proxy_env(), &["--username", IAM_USER]);
    let port = pinned.port.to_string();
    let login = servers.login(Db::Mariadb, || python(script, &[&port, IAM_USER, "root"]));
    login.run.success();
    assert!(
        login
            .run
            .stdout()
            .starts_with("refused 1045 28000 this proxy logs in to"),
        "{}",
        login.run.stdout()
    );
    assert_eq!(login.decisions.len(), 1, "{:?}", login.decisions);
}

#[test]
fn mysqlslap_runs_concurrent_clients_through_kept_connections() {
    let servers = servers::shared();
    let proxy = AuthProxy::for_mariadb(servers, &proxy_env(), &[]);
    let port = proxy.port.to_string();
    let slap = ["/usr/bin/mariadb-slap", "/usr/bin/mysqlslap"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("mariadb-slap or mysqlslap: the mariadb-client package");
    // Under the server's login lock, so that other tests' logins and these
    // are told apart.
    let login = servers.login(Db::Mariadb, || {
        TestEnv::new().run_program(
            slap,
            [
                "--no-defaults",
                "--protocol=TCP",
                "-h",
                "127.0.0.1",
                "-P",
                &port,
                "-u",
                IAM_USER,
                "--skip-ssl",
                "--create-schema=app",
                "--no-drop",
                "--concurrency=8",
                "--iterations=5",
                "--number-of-queries=400",
                "--query=select count(*) from information_schema.tables",
            ],
        )
    });
    let run = &login.run;
    run.success();
    assert!(
        run.stdout()
            .contains("Number of clients running queries: 8"),
        "{}",
        run.stdout()
    );
    // 40 client connections, far fewer server logins.
    let logins = proxy.metric("rds_auth_token_proxy_server_logins_total{");
    let ok = proxy.metric("rds_auth_token_proxy_logins_total{database=\"mydb.xxx.us-east-1.rds.amazonaws.com\",engine=\"mysql\",outcome=\"ok\",reason=\"reused\"}");
    assert!(
        logins <= 16.0 && ok >= 24.0,
        "server logins {logins}, reused {ok}\n{}",
        proxy.log()
    );
}

#[test]
fn refuses_a_wrong_ca_a_pinned_user_and_tls_it_does_not_offer_in_the_protocol() {
    let servers = servers::shared();
    let flags = support::auth_proxy::flags_for(
        servers,
        Db::Mariadb,
        servers::TUNNEL_HOST,
        &servers.wrong_ca_cert(),
    );
    let args: Vec<&str> = flags.iter().map(String::as_str).collect();
    let proxy = AuthProxy::start(&proxy_env(), &args);
    servers
        .login(Db::Mariadb, || {
            mariadb(proxy.port, IAM_USER, &["-e", "select 1"])
        })
        .refused_with("not issued by the CAs in --ssl-ca")
        .without_asking_the_verifier();
    assert!(
        proxy.metric("rds_auth_token_proxy_logins_total{database=\"mydb.xxx.us-east-1.rds.amazonaws.com\",engine=\"mysql\",outcome=\"failed\",reason=\"tls\"}") == 1.0,
        "{}",
        proxy.get("/metrics").1
    );

    let pinned = AuthProxy::for_mariadb(servers, &proxy_env(), &["--username", IAM_USER]);
    servers
        .login(Db::Mariadb, || mariadb(pinned.port, "root", &["-e", "select 1"]))
        .refused_with("ERROR 1045 (28000): this proxy logs in to mydb.xxx.us-east-1.rds.amazonaws.com as iam_user only (--username), not as root")
        .without_asking_the_verifier();

    // A client that insists on TLS, which the proxy offers only with
    // --client-tls-cert: the client says the server has none.
    let client = mariadb_client().unwrap();
    let port = pinned.port.to_string();
    let run = TestEnv::new().run_program(
        client,
        [
            "--no-defaults",
            "--protocol=TCP",
            "-h",
            "127.0.0.1",
            "-P",
            &port,
            "-u",
            IAM_USER,
            "--ssl",
            "--ssl-verify-server-cert",
            "-e",
            "select 1",
        ],
    );
    assert!(!run.output.status.success(), "{}", run.stdout());
    assert!(run.stderr().contains("SSL"), "{}", run.stderr());

    // The login failure of a server that refuses the token reaches the
    // client with the hint.
    let mut env = TestEnv::new();
    env.env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "wrong-secret-key-for-the-verifier")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    let wrong = AuthProxy::for_mariadb(servers, &env, &[]);
    let login = servers.login(Db::Mariadb, || {
        mariadb(wrong.port, IAM_USER, &["-e", "select 1"])
    });
    login
        .refused_with("ERROR 1045 (28000)")
        .refused_with("the token was refused");
    assert_eq!(login.decisions.len(), 1);
    assert!(!login.decisions[0].accepted);
}

#[test]
fn garbage_oversized_packets_slow_and_vanished_clients_leave_the_proxy_serving() {
    let servers = servers::shared();
    let proxy = AuthProxy::for_mariadb(servers, &proxy_env(), &[]);
    // Garbage for a handshake response: an ERR packet, then the close.
    let mut garbage = TcpStream::connect(("127.0.0.1", proxy.port)).unwrap();
    garbage
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut greeting = [0u8; 512];
    let n = garbage.read(&mut greeting).unwrap();
    assert!(n > 40 && greeting[4] == 10, "{:?}", &greeting[..n]);
    garbage.write_all(b"\x05\x00\x00\x01hello").unwrap();
    let mut answer = Vec::new();
    let _ = garbage.read_to_end(&mut answer);
    assert_eq!(answer.get(3..5), Some(&[2u8, 0xff][..]), "{answer:?}");
    assert!(
        String::from_utf8_lossy(&answer).contains("malformed handshake response"),
        "{answer:?}"
    );
    // A packet announcing 16 MiB: refused at once, before it is read.
    let mut big = TcpStream::connect(("127.0.0.1", proxy.port)).unwrap();
    big.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = big.read(&mut greeting).unwrap();
    big.write_all(&[0xff, 0xff, 0xff, 1, 0]).unwrap();
    let mut answer = Vec::new();
    let _ = big.read_to_end(&mut answer);
    assert!(
        String::from_utf8_lossy(&answer).contains("over the 65536 bytes"),
        "{answer:?}"
    );
    // Half a packet, then gone; and a client mid-query gone.
    let mut half = TcpStream::connect(("127.0.0.1", proxy.port)).unwrap();
    let _ = half.read(&mut greeting).unwrap();
    half.write_all(&[40, 0, 0, 1, 0, 0]).unwrap();
    drop(half);
    // A client that sends nothing is closed after the deadline, with one
    // log line; meanwhile others are served.
    let mut slow = TcpStream::connect(("127.0.0.1", proxy.port)).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let _ = slow.read(&mut greeting).unwrap();
    servers
        .login(Db::Mariadb, || {
            mariadb(proxy.port, IAM_USER, &["-e", "select 2"])
        })
        .logged_in(None, "2\n");
    let mut rest = Vec::new();
    let started = std::time::Instant::now();
    let _ = slow.read_to_end(&mut rest);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    proxy.expect_log(
        "did not send its handshake response in time",
        Duration::from_secs(5),
    );
    // The proxy is still up and serving.
    servers
        .login(Db::Mariadb, || {
            mariadb(proxy.port, IAM_USER, &["-e", "select 3"])
        })
        .without_asking_the_verifier()
        .run
        .success()
        .stdout_is("3\n");
}

#[test]
fn a_client_gone_mid_query_is_not_kept_and_a_killed_kept_connection_is_replaced() {
    let servers = servers::shared();
    let proxy = AuthProxy::for_mariadb(servers, &proxy_env(), &[]);
    let mut sleeper = mariadb_running(servers, &proxy, &["-e", "select sleep(30)"]);
    std::thread::sleep(Duration::from_millis(300));
    sleeper.kill().unwrap();
    let _ = sleeper.wait();
    proxy.expect_log("client left without COM_QUIT", Duration::from_secs(10));
    assert_eq!(
        proxy.metric("rds_auth_token_proxy_server_connections_idle{"),
        0.0
    );
    // A kept connection that the server ended: the next client logs in anew
    // at once.
    let kept = servers.login(Db::Mariadb, || {
        mariadb(proxy.port, IAM_USER, &["-e", "select connection_id()"])
    });
    kept.accepted_once();
    let id = kept.run.stdout().trim().to_owned();
    servers.mariadb_superuser(&format!("kill {id}"));
    servers
        .login(Db::Mariadb, || {
            mariadb(proxy.port, IAM_USER, &["-e", "select 4"])
        })
        .logged_in(None, "4\n");
}

#[test]
fn serves_a_unix_socket_a_config_file_of_two_engines_and_a_connection_test() {
    let servers = servers::shared();
    let folder = tempfile::tempdir().unwrap();
    let sockets = folder.path().join("sockets");
    let my_port = servers.port(Db::Mariadb);
    let pg_port = servers.port(Db::Postgres);
    let ca = servers.ca_cert();
    let host = servers::TUNNEL_HOST;
    let my_listen = support::ports::free();
    let config = folder.path().join("proxy.toml");
    std::fs::write(
        &config,
        format!(
            "[shop]\nhostname = \"{host}\"\nport = {my_port}\nengine = \"mariadb\"\nvia = \"127.0.0.1:{my_port}\"\nssl-ca = \"{ca}\"\nlisten = \"127.0.0.1:{my_listen}\"\nunix-socket = \"{sockets}\"\n\n\
             [orders]\nhostname = \"{host}\"\nport = {pg_port}\nengine = \"postgres\"\nvia = \"127.0.0.1:{pg_port}\"\nssl-ca = \"{ca}\"\nlisten = \"127.0.0.1:{}\"\n",
            support::ports::free(),
            ca = ca.display(),
            sockets = sockets.display(),
        ),
    )
    .unwrap();
    let proxy = AuthProxy::spawn(
        &proxy_env(),
        &["--config", config.to_str().unwrap()],
        my_listen,
    );
    let socket = sockets.join(format!("mysql-{my_port}.sock"));
    let client = mariadb_client().unwrap();
    servers
        .login(Db::Mariadb, || {
            TestEnv::new().run_program(
                &client,
                [
                    "--no-defaults",
                    "-S",
                    socket.to_str().unwrap(),
                    "-u",
                    IAM_USER,
                    "-N",
                    "-B",
                    "-e",
                    "select current_user()",
                ],
            )
        })
        .logged_in(None, &format!("{IAM_USER}@%\n"));
    let metrics = proxy.get("/metrics").1;
    assert!(
        metrics.contains("database=\"shop\",engine=\"mysql\""),
        "{metrics}"
    );
    assert!(
        metrics.contains("database=\"orders\",engine=\"postgres\""),
        "{metrics}"
    );

    // The connection test: a login as the pinned user, exit 0; refused, 1.
    let flags = support::auth_proxy::flags_for(servers, Db::Mariadb, host, &ca);
    let mut args: Vec<&str> = vec!["proxy"];
    args.extend(flags.iter().map(String::as_str));
    args.extend(["--username", IAM_USER, "--run-connection-test"]);
    let run = servers.login(Db::Mariadb, || proxy_env().run(&args));
    run.accepted_once();
    run.run.success();
    assert!(
        run.run.stderr().contains("connection test passed"),
        "{}",
        run.run.stderr()
    );
    let wrong =
        support::auth_proxy::flags_for(servers, Db::Mariadb, host, &servers.wrong_ca_cert());
    let mut args: Vec<&str> = vec!["proxy"];
    args.extend(wrong.iter().map(String::as_str));
    args.extend(["--username", IAM_USER, "--run-connection-test"]);
    let run = proxy_env().run(&args);
    assert_eq!(run.code(), Some(1), "{}", run.stderr());
    assert!(
        run.stderr().contains("connection test failed"),
        "{}",
        run.stderr()
    );
}

#[test]
fn offers_clients_tls_with_a_certificate_of_its_own_and_verified_by_them() {
    let servers = servers::shared();
    let ca = support::tls::TestCa::new();
    let cert = ca.server_cert();
    let key = ca.server_key();
    let proxy = AuthProxy::for_mariadb(
        servers,
        &proxy_env(),
        &[
            "--client-tls-cert",
            cert.to_str().unwrap(),
            "--client-tls-key",
            key.to_str().unwrap(),
        ],
    );
    let client = mariadb_client().unwrap();
    let port = proxy.port.to_string();
    let ssl_ca = format!("--ssl-ca={}", ca.ca_pem().display());
    servers
        .login(Db::Mariadb, || {
            TestEnv::new().run_program(
                &client,
                [
                    "--no-defaults",
                    "--protocol=TCP",
                    "-h",
                    "127.0.0.1",
                    "-P",
                    &port,
                    "-u",
                    IAM_USER,
                    "--ssl",
                    "--ssl-verify-server-cert",
                    &ssl_ca,
                    "-N",
                    "-B",
                    "-e",
                    "select current_user()",
                ],
            )
        })
        .logged_in(None, &format!("{IAM_USER}@%\n"));
}

#[test]
fn sigterm_lets_an_open_session_finish_up_to_the_delay_then_exits_0() {
    let servers = servers::shared();
    let mut proxy = AuthProxy::for_mariadb(servers, &proxy_env(), &["--max-sigterm-delay", "20"]);
    let mut child = mariadb_running(servers, &proxy, &["app"]);
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"select 41;\n").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    unsafe {
        libc::kill(-proxy.process.group(), libc::SIGTERM);
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        proxy.wait(Duration::from_millis(10)),
        None,
        "{}",
        proxy.log()
    );
    assert!(TcpStream::connect(("127.0.0.1", proxy.port)).is_err());
    stdin.write_all(b"select 42;\n").unwrap();
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "41\n42\n");
    assert_eq!(
        proxy.wait(Duration::from_secs(10)),
        Some(0),
        "{}",
        proxy.log()
    );
}
