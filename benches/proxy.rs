//! The proxy against what users would pick instead, in one run on this
//! machine. PostgreSQL: pgbench select-only (8 clients) and connection rate (`-C`, a
//! new connection per transaction) through the proxy, straight to the
//! server over verified TLS with a token, and through pgbouncer in session
//! mode (its userlist written by `refresh`, verify-full upstream); the time
//! to a first connection; and the proxy's memory with 500 connections open.
//! MySQL (`proxy/mysql.rs`): the same against MariaDB with mysqlslap.
//! Redis (`proxy/redis.rs`): redis-benchmark against a TLS-only Redis, first;
//! `RDS_AUTH_TOKEN_BENCH_ONLY=redis` runs that part alone, `=postgres`
//! skips it.
//!
//!     cargo bench --bench proxy          # the measurement (about 3 minutes)
//!     cargo test --bench proxy           # a smoke run, as CI does it
//!
//! The server is the tests' PostgreSQL, whose logins are checked by the
//! RDS-like token verifier (a Python process per login, slow on purpose,
//! as RDS's check is not free): each line says how many server logins the
//! run made. It is a measurement, not a test: it fails only when it cannot
//! measure.

#[allow(dead_code, unused_imports, clippy::all)]
#[path = "../tests/it/support/mod.rs"]
mod support;

#[path = "proxy/mysql.rs"]
mod mysql;
#[path = "proxy/redis.rs"]
mod redis;

use std::path::{Path, PathBuf};
use std::time::Instant;

use support::auth_proxy::AuthProxy;
use support::pgbouncer::{Folder, Pgbouncer, RunAs};
use support::servers::{psql_client, Db, Servers, BENCH_DATABASE, HOST, IAM_USER, REGION};
use support::TestEnv;

/// Connections the memory figure is taken with.
const OPEN_CONNECTIONS: usize = 500;

struct Setup {
    servers: Servers,
    bin: PathBuf,
    seconds: u64,
}

/// One pgbench run's figures.
struct Figures {
    tps: f64,
    logins: usize,
}

fn main() {
    redis::run();
    let full = std::env::args().any(|a| a == "--bench");
    let setup = Setup {
        servers: Servers::start_sized(if full { 600 } else { 60 }),
        bin: psql_client()
            .unwrap_or_else(|err| panic!("{err}"))
            .parent()
            .unwrap()
            .to_owned(),
        // RDS_AUTH_TOKEN_BENCH_SECONDS shortens or lengthens each run.
        seconds: std::env::var("RDS_AUTH_TOKEN_BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(if full { 20 } else { 2 }),
    };
    let servers = &setup.servers;
    let mut proxy_env = TestEnv::new();
    proxy_env.with_env_keys();
    let port = servers.port(Db::Postgres).to_string();
    let proxy = start_proxy(&proxy_env, servers, Db::Postgres, &["--max-idle", "64"]);
    let token = token(&proxy_env, &port);
    let direct = client(&[
        ("PGHOST", HOST.into()),
        ("PGPORT", port.clone()),
        ("PGPASSWORD", token.clone()),
        ("PGSSLMODE", "verify-full".into()),
        ("PGSSLROOTCERT", servers.ca_cert().display().to_string()),
    ]);
    let through_proxy = client(&[
        ("PGHOST", HOST.into()),
        ("PGPORT", proxy.port.to_string()),
        ("PGSSLMODE", "disable".into()),
    ]);
    let run_as = RunAs::detect();
    let folder = Folder::new(run_as);
    let userlist = folder.path().join("userlist.txt");
    let written = proxy_env.run([
        "refresh",
        "--hostname",
        HOST,
        "--port",
        &port,
        "--username",
        IAM_USER,
        "--region",
        REGION,
        "--format",
        "userlist",
        "--once",
        "--file",
        userlist.to_str().unwrap(),
    ]);
    written.success();
    run_as.give(&userlist);
    let bouncer = Pgbouncer::start(servers, &folder, &userlist, run_as);
    let through_pgbouncer = client(&[
        ("PGHOST", HOST.into()),
        ("PGPORT", bouncer.port().to_string()),
        ("PGSSLMODE", "disable".into()),
    ]);

    let init = through_proxy.run_program(
        setup.bin.join("pgbench"),
        ["-i", "-q", "-s", "1", "--unlogged-tables"],
    );
    init.success();

    println!(
        "pgbench -S, 8 clients, 2 threads, {} s a run; server logins each run made in brackets",
        setup.seconds
    );
    println!(
        "{:<32} {:>16} {:>22}",
        "", "select-only TPS", "connect-per-txn TPS"
    );
    let mut rows = Vec::new();
    for (name, env) in [
        ("direct, verified TLS", &direct),
        ("rds-auth-token proxy", &through_proxy),
        ("pgbouncer (session), verify-full", &through_pgbouncer),
    ] {
        let select = pgbench(&setup, env, &[]);
        let connect = pgbench(&setup, env, &["-C"]);
        println!(
            "{name:<32} {:>9.0} [{:>4}] {:>15.0} [{:>4}]",
            select.tps, select.logins, connect.tps, connect.logins
        );
        rows.push((name, select.tps, connect.tps));
    }
    let (direct_tps, proxy_tps, bouncer_tps) = (rows[0].1, rows[1].1, rows[2].1);
    println!(
        "proxy select-only: {:.2}x direct (goal >= 0.8), {:.2}x pgbouncer (goal >= 1); connection rate {:.2}x pgbouncer (goal >= 1)",
        proxy_tps / direct_tps,
        proxy_tps / bouncer_tps,
        rows[1].2 / rows[2].2
    );

    let runs = if full { 21 } else { 3 };
    let no_reuse = start_proxy(&proxy_env, servers, Db::Postgres, &["--no-reuse"]);
    let fresh = client(&[
        ("PGHOST", HOST.into()),
        ("PGPORT", no_reuse.port.to_string()),
        ("PGSSLMODE", "disable".into()),
    ]);
    let psql = setup.bin.join("psql");
    let direct_ms = median_ms(runs, || {
        direct
            .run_program(&psql, ["-X", "-c", "select 1"])
            .success()
            .output
            .status
            .success()
    });
    let proxy_ms = median_ms(runs, || {
        fresh
            .run_program(&psql, ["-X", "-c", "select 1"])
            .success()
            .output
            .status
            .success()
    });
    println!(
        "first connection (psql -c 'select 1', median of {runs}, each a new server login): direct {direct_ms:.1} ms, proxy {proxy_ms:.1} ms, {:+.1} ms (goal <= +1 ms)",
        proxy_ms - direct_ms
    );

    let open = if full { OPEN_CONNECTIONS } else { 20 };
    let (before, peak) = memory_with_open_connections(&proxy, open);
    println!(
        "proxy memory: {before} KiB before, {peak} KiB with {open} connections open (goal <= 48 MiB = 49152 KiB at 500)"
    );
    drop(bouncer);

    mysql::run(&setup, &proxy_env, full);
}

/// The proxy in front of `servers`' `db`, by its address (the token is
/// signed for 127.0.0.1 in the verifier's region), with `extra`.
fn start_proxy(env: &TestEnv, servers: &Servers, db: Db, extra: &[&str]) -> AuthProxy {
    let port = servers.port(db).to_string();
    let ca = servers.ca_cert();
    let engine = match db {
        Db::Postgres => "postgres",
        Db::Mariadb => "mysql",
    };
    let mut args = vec![
        "--hostname",
        HOST,
        "--port",
        &port,
        "--engine",
        engine,
        "--region",
        REGION,
        "--ssl-ca",
        ca.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    AuthProxy::start(env, &args)
}

fn client(vars: &[(&str, String)]) -> TestEnv {
    let mut env = TestEnv::new();
    env.env("PGUSER", IAM_USER)
        .env("PGDATABASE", BENCH_DATABASE);
    for (k, v) in vars {
        env.env(k, v);
    }
    env
}

fn token(env: &TestEnv, port: &str) -> String {
    let run = env.run([
        "--hostname",
        HOST,
        "--port",
        port,
        "--username",
        IAM_USER,
        "--region",
        REGION,
    ]);
    run.success();
    run.stdout().trim().to_owned()
}

fn pgbench(setup: &Setup, env: &TestEnv, extra: &[&str]) -> Figures {
    let logins_before = setup.servers.verifier_log().lines().count();
    let seconds = setup.seconds.to_string();
    let mut args = vec!["-n", "-S", "-c", "8", "-j", "2", "-T", &seconds];
    args.extend_from_slice(extra);
    let run = env.run_program(setup.bin.join("pgbench"), &args);
    run.success();
    let tps = run
        .stdout()
        .lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no tps in pgbench's output:\n{}", run.stdout()));
    Figures {
        tps,
        logins: setup.servers.verifier_log().lines().count() - logins_before,
    }
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

/// The proxy's resident memory (KiB) before, and at its peak with `open`
/// clients logged in at once (each with a server connection of its own).
fn memory_with_open_connections(proxy: &AuthProxy, open: usize) -> (u64, u64) {
    let pid = proxy.process.group();
    let before = rss_kib(pid);
    let mut clients = Vec::new();
    for _ in 0..open {
        clients.push(support::pg_wire::login(
            proxy.port,
            IAM_USER,
            BENCH_DATABASE,
        ));
    }
    let peak = status_kib(pid, "VmHWM:");
    drop(clients);
    (before, peak)
}

fn rss_kib(pid: i32) -> u64 {
    status_kib(pid, "VmRSS:")
}

fn status_kib(pid: i32, field: &str) -> u64 {
    let status =
        std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
