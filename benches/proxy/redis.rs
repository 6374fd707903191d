//! The proxy for ElastiCache and MemoryDB against a direct connection, in
//! one run on this machine: redis-benchmark `-t get,set` (50 clients)
//! straight to a TLS-only Redis with the token (verified TLS), through the
//! proxy with no password, and through the proxy with `--user`/`-a` (each
//! client's AUTH rewritten with a fresh token); the time to a new
//! connection (`redis-cli PING`, each a new server login through the
//! proxy); and the proxy's memory with 500 client connections open, idle.
//!
//! Runs before the PostgreSQL part of `benches/proxy.rs`;
//! `RDS_AUTH_TOKEN_BENCH_ONLY=redis` runs it alone, `=postgres` skips it.
//! `RDS_AUTH_TOKEN_BENCH_REQUESTS` sets redis-benchmark's `-n`.
//!
//! The server is Debian's redis-server over TLS from a test CA, its ACL
//! user's password the token the proxy makes at a frozen second (the
//! proxy runs under libfaketime, its monotonic clock left alone), as in
//! tests/it/proxy_redis.rs.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::support;
use support::auth_proxy::AuthProxy;
use support::redis::{client_program, Redis};
use support::tls::TestCa;
use support::TestEnv;

const CACHE: &str = "my-cache";
const USER: &str = "iam-user-01";
const REGION: &str = "us-east-1";

/// Runs the Redis part unless `RDS_AUTH_TOKEN_BENCH_ONLY=postgres`; with
/// `=redis`, exits after it.
pub fn run() {
    let only = std::env::var("RDS_AUTH_TOKEN_BENCH_ONLY").unwrap_or_default();
    if only == "postgres" {
        return;
    }
    bench(std::env::args().any(|a| a == "--bench"));
    if only == "redis" {
        std::process::exit(0);
    }
}

fn bench(full: bool) {
    let ca = TestCa::new();
    let env = frozen_env();
    let token = env
        .run([
            "elasticache",
            "--cache-name",
            CACHE,
            "--user-id",
            USER,
            "--region",
            REGION,
        ])
        .token()
        .0;
    let redis = Redis::start(&ca, &[(USER, &token)]);
    let ca_pem = ca.ca_pem().display().to_string();
    let endpoint = format!("127.0.0.1:{}", redis.port());
    let proxy = AuthProxy::start(
        &env,
        &[
            "--cache-name",
            CACHE,
            "--user-id",
            USER,
            "--region",
            REGION,
            "--endpoint",
            &endpoint,
            "--ssl-ca",
            &ca_pem,
        ],
    );
    let requests: u64 = std::env::var("RDS_AUTH_TOKEN_BENCH_REQUESTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if full { 200_000 } else { 2_000 });
    let direct_port = redis.port().to_string();
    let proxy_port = proxy.port.to_string();
    let direct: Vec<&str> = vec![
        "-p",
        &direct_port,
        "--tls",
        "--cacert",
        &ca_pem,
        "--user",
        USER,
        "-a",
        &token,
    ];
    let through: Vec<&str> = vec!["-p", &proxy_port];
    let through_auth: Vec<&str> = vec!["-p", &proxy_port, "--user", "app", "-a", "anything"];

    println!(
        "Redis {}, over TLS: redis-benchmark -t get,set, 50 clients, {requests} requests a test",
        redis_version()
    );
    println!("{:<44} {:>12} {:>12}", "", "SET req/s", "GET req/s");
    let mut rows = Vec::new();
    for (name, args) in [
        ("direct, verified TLS, AUTH with the token", &direct),
        ("rds-auth-token proxy, no password", &through),
        ("rds-auth-token proxy, --user/-a (rewritten)", &through_auth),
    ] {
        let (set, get) = benchmark(args, requests);
        println!("{name:<44} {set:>12.0} {get:>12.0}");
        rows.push((set, get));
    }
    println!(
        "proxy: SET {:.2}x direct, GET {:.2}x direct (goal >= 0.8)",
        rows[1].0 / rows[0].0,
        rows[1].1 / rows[0].1
    );

    let runs = if full { 21 } else { 3 };
    let direct_ms = median_ms(runs, || {
        let mut args = direct.clone();
        args.push("PING");
        redis_cli(&args) == "PONG\n"
    });
    let proxy_ms = median_ms(runs, || {
        let mut args = through.clone();
        args.push("PING");
        redis_cli(&args) == "PONG\n"
    });
    println!(
        "new connection (redis-cli PING, median of {runs}): direct {direct_ms:.1} ms, proxy {proxy_ms:.1} ms (a new server connection, TLS and AUTH with a new token), {:+.1} ms (goal <= +1 ms)",
        proxy_ms - direct_ms
    );

    let open = if full { 500 } else { 20 };
    let pid = proxy.process.group();
    let before = status_kib(pid, "VmRSS:");
    let silent: Vec<TcpStream> = (0..open).map(|_| connect(proxy.port)).collect();
    std::thread::sleep(Duration::from_millis(300));
    let with_silent = status_kib(pid, "VmRSS:");
    drop(silent);
    std::thread::sleep(Duration::from_millis(300));
    let logged_in: Vec<TcpStream> = (0..open).map(|_| ping(proxy.port)).collect();
    std::thread::sleep(Duration::from_millis(300));
    let with_logged_in = status_kib(pid, "VmRSS:");
    let peak = status_kib(pid, "VmHWM:");
    drop(logged_in);
    println!(
        "proxy memory (RSS): {before} KiB before; {with_silent} KiB with {open} clients connected that sent nothing (no server connection yet); {with_logged_in} KiB with {open} idle clients that each sent PING (a server connection each); peak {peak} KiB (goal <= 48 MiB = 49152 KiB at 500)"
    );
    drop(proxy);
    drop(redis);
}

/// The proxy's environment: the test keys, the clock frozen at the next
/// second (after the test CA's certificates begin).
fn frozen_env() -> TestEnv {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1;
    let at = time::OffsetDateTime::from_unix_timestamp(secs as i64).unwrap();
    let faketime = at
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .unwrap();
    let mut env = TestEnv::new();
    env.with_env_keys();
    env.env("LD_PRELOAD", support::faketime::library())
        .env("FAKETIME", faketime)
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .env("TZ", "UTC");
    env
}

fn benchmark_program() -> PathBuf {
    ["/usr/bin/redis-benchmark", "/usr/local/bin/redis-benchmark"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!("redis-benchmark is missing: apt-get install redis-tools (scripts/test installs it)")
        })
}

/// redis-benchmark `-t get,set` with `args`: SET and GET requests a second.
fn benchmark(args: &[&str], requests: u64) -> (f64, f64) {
    let n = requests.to_string();
    let mut all = vec!["-h", "127.0.0.1", "-t", "set,get", "-n", &n, "-q", "--csv"];
    all.extend_from_slice(args);
    let run = TestEnv::new().run_program(benchmark_program(), &all);
    run.success();
    let rps = |test: &str| {
        run.stdout()
            .lines()
            .find_map(|l| l.strip_prefix(&format!("\"{test}\",\"")))
            .and_then(|l| l.split('"').next()?.parse().ok())
            .unwrap_or_else(|| run.fail(&format!("no {test} figure from redis-benchmark")))
    };
    (rps("SET"), rps("GET"))
}

fn redis_cli(args: &[&str]) -> String {
    let mut all = vec!["-h", "127.0.0.1"];
    all.extend_from_slice(args);
    TestEnv::new()
        .run_program(client_program(), &all)
        .success()
        .stdout()
}

fn redis_version() -> String {
    let run = TestEnv::new().run_program("redis-server", ["--version"]);
    run.stdout()
        .split_whitespace()
        .find_map(|w| w.strip_prefix("v="))
        .unwrap_or("?")
        .to_owned()
}

fn median_ms(runs: usize, mut once: impl FnMut() -> bool) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            assert!(once());
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[runs / 2]
}

fn connect(port: u16) -> TcpStream {
    TcpStream::connect(("127.0.0.1", port)).unwrap()
}

/// A connection that has sent PING and read its PONG.
fn ping(port: u16) -> TcpStream {
    let mut stream = connect(port);
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream.write_all(b"PING\r\n").unwrap();
    let mut pong = [0u8; 7];
    stream.read_exact(&mut pong).unwrap();
    assert_eq!(&pong, b"+PONG\r\n");
    stream
}

fn status_kib(pid: i32, field: &str) -> u64 {
    std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
