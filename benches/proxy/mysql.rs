//! The proxy for MySQL against a straight verified TLS connection, on the
//! tests' MariaDB (logins checked by the RDS-like token verifier through
//! PAM): mysqlslap point selects (8 clients), the time to a first
//! connection, and the proxy's memory with 500 connections open.

use std::io::{Read, Write};
use std::net::TcpStream;

use super::support::servers::{mariadb_client, Db, HOST, IAM_USER};
use super::support::TestEnv;
use super::{median_ms, start_proxy, status_kib, token, Setup, OPEN_CONNECTIONS};

/// The point select each mysqlslap client repeats.
const QUERY: &str = "SELECT v FROM app.bench_points WHERE id = 42";

/// Runs the MySQL measurements and prints their lines.
pub fn run(setup: &Setup, proxy_env: &TestEnv, full: bool) {
    let servers = &setup.servers;
    let port = servers.port(Db::Mariadb).to_string();
    let proxy = start_proxy(proxy_env, servers, Db::Mariadb, &["--max-idle", "64"]);
    let token = token(proxy_env, &port);
    let ca = servers.ca_cert().display().to_string();
    let ssl_ca = format!("--ssl-ca={ca}");
    let mut direct = TestEnv::new();
    // MYSQL_PWD keeps the token out of the arguments.
    direct.env("MYSQL_PWD", &token);
    let direct_args = [
        "-h",
        HOST,
        "-P",
        &port,
        "--ssl",
        "--ssl-verify-server-cert",
        &ssl_ca,
    ];
    let proxy_port = proxy.port.to_string();
    let proxied = TestEnv::new();
    let proxied_args = ["-h", HOST, "-P", &proxy_port, "--skip-ssl"];

    let client = mariadb_client().unwrap_or_else(|err| panic!("{err}"));
    let mut setup_args = vec!["--no-defaults", "--protocol=TCP", "-u", IAM_USER];
    setup_args.extend_from_slice(&proxied_args);
    setup_args.extend_from_slice(&[
        "app",
        "-e",
        "CREATE TABLE IF NOT EXISTS bench_points (id INT PRIMARY KEY, v VARCHAR(64)); \
         INSERT IGNORE INTO bench_points SELECT seq, CONCAT('value ', seq) FROM seq_1_to_1000",
    ]);
    proxied.run_program(&client, &setup_args).success();

    let queries = if full { 200_000 } else { 2_000 };
    println!("mysqlslap, 8 clients, {queries} point selects a run; server logins each run made in brackets");
    println!("{:<32} {:>16}", "", "queries a second");
    let mut rates = Vec::new();
    for (name, env, args) in [
        ("direct, verified TLS", &direct, &direct_args[..]),
        ("rds-auth-token proxy", &proxied, &proxied_args[..]),
    ] {
        let logins_before = servers.verifier_log().lines().count();
        let rate = mysqlslap(env, args, queries);
        let logins = servers.verifier_log().lines().count() - logins_before;
        println!("{name:<32} {rate:>9.0} [{logins:>4}]");
        rates.push(rate);
    }
    println!(
        "proxy point selects: {:.2}x direct (goal >= 0.8)",
        rates[1] / rates[0]
    );

    let runs = if full { 21 } else { 3 };
    let no_reuse = start_proxy(proxy_env, servers, Db::Mariadb, &["--no-reuse"]);
    let fresh_port = no_reuse.port.to_string();
    let once = |env: &TestEnv, args: &[&str]| {
        let mut all = vec!["--no-defaults", "--protocol=TCP", "-u", IAM_USER];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-e", "select 1"]);
        env.run_program(&client, &all)
            .success()
            .output
            .status
            .success()
    };
    let direct_ms = median_ms(runs, || once(&direct, &direct_args));
    let proxy_ms = median_ms(runs, || {
        once(&proxied, &["-h", HOST, "-P", &fresh_port, "--skip-ssl"])
    });
    println!(
        "first connection (mariadb -e 'select 1', median of {runs}, each a new server login): direct {direct_ms:.1} ms, proxy {proxy_ms:.1} ms, {:+.1} ms (goal <= +1 ms)",
        proxy_ms - direct_ms
    );

    let open = if full { OPEN_CONNECTIONS } else { 20 };
    let pid = proxy.process.group();
    let before = status_kib(pid, "VmRSS:");
    let clients: Vec<TcpStream> = (0..open).map(|_| login(proxy.port)).collect();
    let peak = status_kib(pid, "VmHWM:");
    drop(clients);
    println!(
        "proxy memory (MySQL): {before} KiB before, {peak} KiB with {open} connections open (goal <= 48 MiB = 49152 KiB at 500)"
    );
}

/// mysqlslap's queries a second: `queries` point selects by 8 clients.
fn mysqlslap(env: &TestEnv, args: &[&str], queries: usize) -> f64 {
    let slap = ["/usr/bin/mariadb-slap", "/usr/bin/mysqlslap"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("mariadb-slap or mysqlslap: the mariadb-client package");
    let number = format!("--number-of-queries={queries}");
    let query = format!("--query={QUERY}");
    let mut all = vec!["--no-defaults", "--protocol=TCP", "-u", IAM_USER];
    all.extend_from_slice(args);
    all.extend_from_slice(&[
        "--create-schema=app",
        "--no-drop",
        "--concurrency=8",
        "--iterations=1",
        &number,
        &query,
    ]);
    let run = env.run_program(slap, &all);
    run.success();
    let seconds: f64 = run
        .stdout()
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Average number of seconds to run all queries:")
        })
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no time in mysqlslap's output:\n{}", run.stdout()));
    queries as f64 / seconds.max(0.001)
}

/// A client logged in through the proxy at `port` as the IAM user, with
/// no password, kept open: the handshake response by hand, then the OK.
fn login(port: u16) -> TcpStream {
    let mut stream = TcpStream::connect((HOST, port)).unwrap();
    let mut greeting = [0u8; 512];
    let n = stream.read(&mut greeting).unwrap();
    assert!(
        n > 4 && greeting[4] == 10,
        "no handshake: {:?}",
        &greeting[..n]
    );
    // CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH.
    let caps: u32 = 0x0200 | 0x8000 | 0x0008_0000;
    let mut payload = Vec::new();
    payload.extend_from_slice(&caps.to_le_bytes());
    payload.extend_from_slice(&(16u32 << 20).to_le_bytes());
    payload.push(45);
    payload.extend_from_slice(&[0; 23]);
    payload.extend_from_slice(IAM_USER.as_bytes());
    payload.extend_from_slice(&[0, 0]);
    payload.extend_from_slice(b"mysql_native_password\0");
    let len = payload.len();
    let mut packet = vec![len as u8, (len >> 8) as u8, (len >> 16) as u8, 1];
    packet.extend_from_slice(&payload);
    stream.write_all(&packet).unwrap();
    let mut ok = [0u8; 11];
    stream.read_exact(&mut ok).unwrap();
    assert_eq!(ok[4], 0, "not logged in: {ok:?}");
    stream
}
