//! `rds-auth-token proxy` for ElastiCache and MemoryDB, with real clients
//! (redis-cli, redis-py) into a real Redis server over TLS from a test CA.
//! The server's ACL user has, as its password, the very token botocore
//! makes for the cache (or the serverless cache, or the MemoryDB cluster)
//! at one second; the proxy runs with its clock frozen at that second
//! (libfaketime, the monotonic clock left alone for its timers), so it
//! logs in only if it presents that token, and a token of another kind is
//! refused as ElastiCache would refuse it (WRONGPASS).
#![cfg(target_os = "linux")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::support;
use support::auth_proxy::AuthProxy;
use support::redis::{client_program, Redis};
use support::tls::TestCa;
use support::{Run, TestEnv, ACCESS_KEY, SECRET_KEY};

const CACHE: &str = "my-cache";
const USER: &str = "iam-user-01";
const REGION: &str = "us-east-1";

/// The second the proxy's clock is frozen at, as libfaketime and SigV4
/// write it.
struct Clock {
    faketime: String,
    amz: String,
}

impl Clock {
    /// The next second: after the test CA's certificates begin, so that
    /// the proxy, on this clock, finds them valid.
    fn next_second() -> Clock {
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
        let amz = at
            .format(time::macros::format_description!(
                "[year][month][day]T[hour][minute][second]Z"
            ))
            .unwrap();
        Clock { faketime, amz }
    }
}

/// What the reference makes a token for.
#[derive(Clone, Copy)]
enum TokenKind {
    ElastiCache,
    Serverless,
    MemoryDb,
}

/// botocore's token (tests/reference/botocore_kinds.py) for `user` of
/// `CACHE` as `kind`, with the test keys, at `clock`'s second.
fn reference_token(clock: &Clock, kind: TokenKind, user: &str) -> String {
    reference_token_for(clock, kind, CACHE, user, REGION)
}

/// The same for the cache or cluster `name` in `region`.
fn reference_token_for(
    clock: &Clock,
    kind: TokenKind,
    name: &str,
    user: &str,
    region: &str,
) -> String {
    let (kind, serverless) = match kind {
        TokenKind::ElastiCache => ("elasticache", false),
        TokenKind::Serverless => ("elasticache", true),
        TokenKind::MemoryDb => ("memorydb", false),
    };
    let line = format!(
        "{{\"kind\":\"{kind}\",\"name\":\"{name}\",\"user\":\"{user}\",\"serverless\":{serverless},\
         \"region\":\"{region}\",\"expires_in\":900,\"access_key\":\"{ACCESS_KEY}\",\
         \"secret_key\":\"{SECRET_KEY}\",\"session_token\":null,\"timestamp\":\"{}\"}}\n",
        clock.amz
    );
    support::kinds::run_reference(&line, 1).remove(0)
}

/// A Redis server whose user `USER` has the ElastiCache token of the
/// frozen second as its password, its CA, and the clock.
struct Upstream {
    ca: TestCa,
    clock: Clock,
    token: String,
    /// None while stopped.
    server: Option<Redis>,
}

impl Upstream {
    fn start() -> Upstream {
        Upstream::with_users(&[])
    }

    /// With more ACL users: `(user, kind of its token)`.
    fn with_users(more: &[(&str, TokenKind)]) -> Upstream {
        let more: Vec<_> = more
            .iter()
            .map(|(user, kind)| (*user, *kind, CACHE, REGION))
            .collect();
        Upstream::with_tokens(&more)
    }

    /// With more ACL users: `(user, kind of its token, its cache or
    /// cluster, its region)`.
    fn with_tokens(more: &[(&str, TokenKind, &str, &str)]) -> Upstream {
        let ca = TestCa::new();
        let clock = Clock::next_second();
        let token = reference_token(&clock, TokenKind::ElastiCache, USER);
        let mut users = vec![(USER.to_owned(), token.clone())];
        for (user, kind, name, region) in more {
            users.push((
                (*user).to_owned(),
                reference_token_for(&clock, *kind, name, user, region),
            ));
        }
        let refs: Vec<(&str, &str)> = users
            .iter()
            .map(|(u, p)| (u.as_str(), p.as_str()))
            .collect();
        let redis = Redis::start(&ca, &refs);
        Upstream {
            ca,
            clock,
            token,
            server: Some(redis),
        }
    }

    fn redis(&self) -> &Redis {
        self.server.as_ref().expect("the server is running")
    }

    /// The proxy's environment: the test keys, the clock frozen.
    fn env(&self) -> TestEnv {
        let mut env = TestEnv::new();
        env.with_env_keys();
        env.env("LD_PRELOAD", support::faketime::library())
            .env("FAKETIME", &self.clock.faketime)
            .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
            .env("TZ", "UTC");
        env
    }

    /// `--cache-name CACHE --user-id USER --region --endpoint --ssl-ca`.
    fn flags(&self) -> Vec<String> {
        self.flags_for(&["--cache-name", CACHE, "--user-id", USER])
    }

    /// `kind` (the cache or cluster and user flags), `--region`,
    /// `--endpoint` this server, `--ssl-ca` its CA.
    fn flags_for(&self, kind: &[&str]) -> Vec<String> {
        let mut flags: Vec<String> = kind.iter().map(|s| (*s).to_owned()).collect();
        flags.extend([
            "--region".into(),
            REGION.into(),
            "--endpoint".into(),
            format!("127.0.0.1:{}", self.redis().port()),
            "--ssl-ca".into(),
            self.ca.ca_pem().display().to_string(),
        ]);
        flags
    }

    /// The proxy for this server as the ElastiCache cache, with `extra`.
    fn proxy(&self, extra: &[&str]) -> AuthProxy {
        self.proxy_with(&self.flags(), extra)
    }

    fn proxy_with(&self, flags: &[String], extra: &[&str]) -> AuthProxy {
        let mut args: Vec<&str> = flags.iter().map(String::as_str).collect();
        args.extend_from_slice(extra);
        AuthProxy::start(&self.env(), &args)
    }

    /// redis-cli straight to the server, over TLS, as `USER` with the
    /// token.
    fn direct(&self, args: &[&str]) -> Run {
        let mut env = TestEnv::new();
        env.env("REDISCLI_AUTH", &self.token);
        let port = self.redis().port().to_string();
        let ca = self.ca.ca_pem().display().to_string();
        let mut all = vec![
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "--tls",
            "--cacert",
            &ca,
            "--user",
            USER,
        ];
        all.extend_from_slice(args);
        env.run_program(client_program(), &all)
    }

    /// Checks that the server's ACL LOG is empty: no AUTH failed there.
    #[track_caller]
    fn no_auth_failed(&self) {
        let log = self.direct(&["ACL", "LOG"]);
        log.success();
        if !log.stdout().trim().is_empty() {
            log.fail("an AUTH failed at the server");
        }
    }

    /// A field of the server's `INFO section`.
    fn info(&self, section: &str, field: &str) -> String {
        let run = self.direct(&["INFO", section]);
        run.success();
        run.stdout()
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .unwrap_or_default()
            .trim()
            .to_owned()
    }
}

/// `redis-cli -h 127.0.0.1 -p PORT ARGS` in a bare environment.
fn cli(port: u16, args: &[&str]) -> Run {
    cli_in(&TestEnv::new(), port, args)
}

fn cli_in(env: &TestEnv, port: u16, args: &[&str]) -> Run {
    let port = port.to_string();
    let mut all = vec!["-h", "127.0.0.1", "-p", &port];
    all.extend_from_slice(args);
    env.run_program(client_program(), &all)
}

/// `cli` that must succeed with exactly `stdout`.
#[track_caller]
fn cli_says(proxy: &AuthProxy, args: &[&str], stdout: &str) {
    let run = cli(proxy.port, args);
    if run.code() != Some(0) || run.stdout() != stdout {
        run.fail(&format!(
            "expected {stdout:?}; the proxy's log:\n{}",
            proxy.log()
        ));
    }
}

/// Sends `bytes` on a new connection to `port`, closes the sending side,
/// and reads what comes back until the proxy closes.
fn exchange(port: u16, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(bytes).unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

/// A connection to `port` that has sent PING and read its PONG: logged in,
/// open, idle.
fn logged_in(port: u16) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(b"PING\r\n").unwrap();
    let mut pong = [0u8; 7];
    stream.read_exact(&mut pong).unwrap();
    assert_eq!(&pong, b"+PONG\r\n");
    stream
}

/// `rds_auth_token_proxy_logins_total` for the cache, `outcome`, `reason`.
fn logins(proxy: &AuthProxy, engine: &str, outcome: &str, reason: &str) -> f64 {
    proxy.metric(&format!(
        "rds_auth_token_proxy_logins_total{{database=\"127.0.0.1\",engine=\"{engine}\",outcome=\"{outcome}\",reason=\"{reason}\"}}"
    ))
}

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

fn status_kib(pid: i32, field: &str) -> u64 {
    std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

#[test]
fn redis_cli_sets_and_gets_with_no_password_over_verified_tls() {
    let upstream = Upstream::start();
    let proxy = upstream.proxy(&[]);
    cli_says(&proxy, &["SET", "greeting", "hello"], "OK\n");
    cli_says(&proxy, &["GET", "greeting"], "hello\n");
    cli_says(&proxy, &["ACL", "WHOAMI"], &format!("{USER}\n"));
    // The server has the value, set over TLS by the IAM user.
    upstream
        .direct(&["GET", "greeting"])
        .success()
        .stdout_is("hello\n");
    assert_eq!(logins(&proxy, "elasticache", "ok", "new"), 3.0);
    assert_eq!(
        proxy.metric("rds_auth_token_proxy_tokens_minted_total{database=\"127.0.0.1\",engine=\"elasticache\"}"),
        3.0
    );
    assert!(
        proxy.metric("rds_auth_token_proxy_bytes_total{database=\"127.0.0.1\",engine=\"elasticache\",direction=\"client_to_server\"}") > 0.0
    );
    let log = proxy.log();
    assert!(log.contains("login peer='127.0.0.1:"), "{log}");
    assert!(log.contains(&format!("user='{USER}'")), "{log}");
    assert!(
        !log.contains(&upstream.token) && !log.contains("X-Amz"),
        "{log}"
    );
}

#[test]
fn sends_the_token_in_place_of_the_password_of_the_clients_auth_and_hello() {
    let upstream = Upstream::start();
    let proxy = upstream.proxy(&["--debug"]);
    let port = proxy.port;
    let whoami = format!("{USER}\n");
    // redis-cli sends AUTH someone not-the-token at connect.
    let run = cli(
        port,
        &[
            "--user",
            "someone",
            "--pass",
            "not-the-token",
            "ACL",
            "WHOAMI",
        ],
    );
    run.success().stdout_is(&whoami);
    let run = cli(
        port,
        &["-a", "anything", "--no-auth-warning", "ACL", "WHOAMI"],
    );
    run.success().stdout_is(&whoami);
    let mut env = TestEnv::new();
    env.env("REDISCLI_AUTH", "wrong");
    cli_in(&env, port, &["ACL", "WHOAMI"])
        .success()
        .stdout_is(&whoami);
    // RESP3: redis-cli -3 sends HELLO 3; HELLO 3 AUTH has the token put in.
    cli(port, &["-3", "ACL", "WHOAMI"])
        .success()
        .stdout_is(&whoami);
    let hello = cli(
        port,
        &[
            "-3", "HELLO", "3", "AUTH", "someone", "wrong", "SETNAME", "app",
        ],
    );
    hello.success();
    assert!(hello.stdout().contains("proto 3\n"), "{}", hello.stdout());
    let hello2 = cli(port, &["HELLO", "2", "AUTH", "someone", "wrong"]);
    assert!(
        hello2.stdout().contains("proto\n2\n"),
        "{}",
        hello2.stdout()
    );
    // HELLO's other options are kept: the name it set is the connection's,
    // and the replies come in order.
    let named = exchange(
        port,
        b"HELLO 3 AUTH x y SETNAME reporting\r\nCLIENT GETNAME\r\nPING\r\n",
    );
    assert!(named.starts_with("%7\r\n"), "{named}");
    assert!(named.ends_with("$9\r\nreporting\r\n+PONG\r\n"), "{named}");
    // AUTH with the wrong arity is refused by the server, not by the
    // proxy, and no password reached it.
    let arity = cli(port, &["AUTH", "a", "b", "c"]);
    assert!(
        arity.stdout().contains("wrong number of arguments"),
        "{}",
        arity.stdout()
    );
    // Not one AUTH failed at the server: no client password reached it.
    upstream.no_auth_failed();
    let log = proxy.log();
    assert!(
        log.contains("client's AUTH sent upstream with the proxy's user and a fresh token")
            && log.contains("client_user='someone'"),
        "{log}"
    );
    for secret in [
        "not-the-token",
        "wrong",
        "anything",
        upstream.token.as_str(),
    ] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
}

#[test]
fn pipes_ten_thousand_commands_through_in_order() {
    let upstream = Upstream::start();
    let proxy = upstream.proxy(&[]);
    let mut commands = Vec::new();
    for i in 0..10_000 {
        let key = format!("pipe:{i}");
        let value = format!("value-{i}");
        commands.extend(
            format!(
                "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n${}\r\n{value}\r\n",
                key.len(),
                value.len()
            )
            .into_bytes(),
        );
    }
    let mut env = TestEnv::new();
    env.stdin(commands);
    let run = cli_in(&env, proxy.port, &["--pipe"]);
    run.success();
    assert!(
        run.stdout().contains("errors: 0, replies: 10000"),
        "{}",
        run.stdout()
    );
    cli_says(&proxy, &["DBSIZE"], "10000\n");
    cli_says(&proxy, &["GET", "pipe:9999"], "value-9999\n");
    // Inline commands, pipelined, one reply each in order.
    let answer = exchange(proxy.port, b"PING\r\nECHO one\r\nGET pipe:1\r\nPING two\n");
    assert_eq!(
        answer,
        "+PONG\r\n$3\r\none\r\n$7\r\nvalue-1\r\n$3\r\ntwo\r\n"
    );
}

const DRIVERS: &str = r#"
import os, sys, time, redis
port = int(sys.argv[1])
user = sys.argv[2]
def client(**kw):
    return redis.Redis(host="127.0.0.1", port=port, socket_timeout=20, **kw)
plain = client()
assert plain.execute_command("ACL", "WHOAMI") == user.encode()
plain.set("py:k", "v")
assert plain.get("py:k") == b"v"
# A password is accepted, whatever it is: the proxy sends the token.
auth = client(username="someone", password="not-the-token")
assert auth.execute_command("ACL", "WHOAMI") == user.encode()
# RESP3: redis-py sends HELLO 3 AUTH someone PASSWORD.
resp3 = client(protocol=3, username="someone", password="wrong")
assert resp3.execute_command("ACL", "WHOAMI") == user.encode()
hello = resp3.execute_command("HELLO", "3")
assert hello[b"proto"] == 3, hello
assert resp3.hgetall("none") == {}
# A pipeline, and a transaction.
pipe = plain.pipeline(transaction=False)
for i in range(1000):
    pipe.set(f"pipe:{i}", i)
assert all(pipe.execute())
tx = plain.pipeline(transaction=True)
tx.incr("n")
tx.incr("n")
assert tx.execute() == [1, 2]
# Pub/sub: a subscriber and a publisher, each through the proxy.
sub = client().pubsub()
sub.subscribe("news")
confirmed = sub.get_message(timeout=10)
assert confirmed["type"] == "subscribe", confirmed
assert plain.publish("news", "hello") == 1
message = None
deadline = time.time() + 10
while message is None and time.time() < deadline:
    message = sub.get_message(timeout=1)
assert message and message["data"] == b"hello", message
sub.close()
# A 20 MB value, each way.
big = os.urandom(20 * 1024 * 1024)
plain.set("big", big)
assert plain.get("big") == big
assert plain.strlen("big") == len(big)
print("ok")
"#;

#[test]
fn redis_py_plain_with_a_password_resp3_pipelines_pub_sub_and_a_20_mb_value() {
    let upstream = Upstream::start();
    let proxy = upstream.proxy(&[]);
    let pid = proxy.process.group();
    let before = status_kib(pid, "VmRSS:");
    let port = proxy.port.to_string();
    let out = support::python::drivers().run(&["-c", DRIVERS, &port, USER], "");
    assert_eq!(out, "ok\n", "{}", proxy.log());
    // The value streamed through: the proxy never held it whole.
    let peak = status_kib(pid, "VmHWM:");
    assert!(
        peak < before + 12 * 1024,
        "the proxy's peak memory is {peak} KiB from {before} KiB, as if it held the 20 MB value"
    );
    upstream.no_auth_failed();
}

#[test]
fn presents_the_token_of_each_kind_and_is_refused_with_another_kind() {
    let upstream = Upstream::with_users(&[
        ("sl-user", TokenKind::Serverless),
        ("mdb-user", TokenKind::MemoryDb),
    ]);
    let serverless = upstream.flags_for(&[
        "--cache-name",
        CACHE,
        "--serverless",
        "--user-id",
        "sl-user",
    ]);
    let memorydb = upstream.flags_for(&["--cluster-name", CACHE, "--user-id", "mdb-user"]);
    for (flags, user, engine) in [
        (upstream.flags(), USER, "elasticache"),
        (serverless, "sl-user", "elasticache"),
        (memorydb, "mdb-user", "memorydb"),
    ] {
        let proxy = upstream.proxy_with(&flags, &[]);
        cli_says(&proxy, &["ACL", "WHOAMI"], &format!("{user}\n"));
        assert_eq!(logins(&proxy, engine, "ok", "new"), 1.0, "{engine}");
    }
    // The user of the ElastiCache token, with a token of another kind.
    for (kind, engine, fix) in [
        (
            vec!["--cluster-name", CACHE, "--user-id", USER],
            "memorydb",
            "memorydb:Connect",
        ),
        (
            vec!["--cache-name", CACHE, "--serverless", "--user-id", USER],
            "elasticache",
            "elasticache:Connect",
        ),
    ] {
        let proxy = upstream.proxy_with(&upstream.flags_for(&kind), &[]);
        let run = cli(proxy.port, &["SET", "k", "v"]);
        let said = run.stdout() + &run.stderr();
        assert!(
            said.contains(&format!(
                "ERR the server refused the IAM token for {USER}: WRONGPASS invalid username-password pair"
            )) && said.contains(fix),
            "{said}"
        );
        assert_eq!(logins(&proxy, engine, "refused", "refused"), 1.0);
        assert!(proxy.log().contains("login failed"), "{}", proxy.log());
    }
    upstream.direct(&["EXISTS", "k"]).success().stdout_is("0\n");
}

#[test]
fn refuses_a_server_certificate_from_another_ca_before_any_auth() {
    let upstream = Upstream::start();
    let other = TestCa::new();
    let mut flags = upstream.flags();
    let last = flags.len() - 1;
    flags[last] = other.ca_pem().display().to_string();
    let proxy = upstream.proxy_with(&flags, &[]);
    let run = cli(proxy.port, &["PING"]);
    let said = run.stdout() + &run.stderr();
    assert!(
        said.contains("ERR the server's certificate is not issued by the CAs in --ssl-ca"),
        "{said}"
    );
    assert_eq!(logins(&proxy, "elasticache", "failed", "tls"), 1.0);
    // Without --ssl-ca, the Amazon roots ElastiCache's certificates chain
    // to: not the test CA either.
    let flags = upstream.flags();
    let proxy = upstream.proxy_with(&flags[..flags.len() - 2], &[]);
    let run = cli(proxy.port, &["PING"]);
    let said = run.stdout() + &run.stderr();
    assert!(
        said.contains(
            "ERR the server's certificate is not issued by the Amazon Trust Services roots"
        ),
        "{said}"
    );
    // The only AUTH the server ever saw is the check's own.
    let stats = upstream.direct(&["INFO", "commandstats"]).stdout();
    assert!(stats.contains("cmdstat_auth:calls=1,"), "{stats}");
}

#[test]
fn answers_a_server_that_is_down_with_the_fix() {
    let upstream = Upstream::start();
    let mut flags = upstream.flags();
    let endpoint = flags.iter().position(|f| f == "--endpoint").unwrap() + 1;
    let down = support::ports::free();
    flags[endpoint] = format!("127.0.0.1:{down}");
    let proxy = upstream.proxy_with(&flags, &[]);
    let run = cli(proxy.port, &["PING"]);
    let said = run.stdout() + &run.stderr();
    assert!(
        said.contains(&format!(
            "ERR could not connect to 127.0.0.1:{down}: Connection refused"
        )) && said.contains("check the endpoint's name and port (--endpoint)"),
        "{said}"
    );
    assert_eq!(logins(&proxy, "elasticache", "failed", "connect"), 1.0);
}

#[test]
fn limits_open_connections_and_answers_the_next_client_with_an_error() {
    let upstream = Upstream::start();
    let proxy = upstream.proxy(&["--max-connections", "1"]);
    let held = logged_in(proxy.port);
    let run = cli(proxy.port, &["PING"]);
    let said = run.stdout() + &run.stderr();
    assert!(
        said.contains(
            "ERR the proxy has 1 connections open, its most (--max-connections); try again later"
        ),
        "{said}"
    );
    assert_eq!(
        logins(&proxy, "elasticache", "refused", "max_connections"),
        1.0
    );
    drop(held);
    assert!(wait_for(Duration::from_secs(10), || {
        cli(proxy.port, &["PING"]).stdout() == "PONG\n"
    }));
}

#[test]
fn answers_garbage_with_a_protocol_error_and_stays_up() {
    let upstream = Upstream::start();
    let proxy = upstream.proxy(&[]);
    let port = proxy.port;
    assert_eq!(
        exchange(port, b"*abc\r\n"),
        "-ERR Protocol error: invalid multibulk length\r\n"
    );
    assert_eq!(
        exchange(port, b"*1\r\n$1000000000000\r\n"),
        "-ERR Protocol error: invalid bulk length\r\n"
    );
    assert_eq!(
        exchange(port, &vec![b'a'; 100 * 1024]),
        "-ERR Protocol error: too big inline request\r\n"
    );
    // What came before the garbage is answered first, in order.
    assert_eq!(
        exchange(port, b"PING\r\nSET k v\r\n*2\r\n$3\r\nGET\r\n$x\r\n"),
        "+PONG\r\n+OK\r\n-ERR Protocol error: invalid bulk length\r\n"
    );
    // An AUTH too long to hold.
    let long = format!("AUTH {}\r\n", "p".repeat(70 * 1024));
    assert_eq!(
        exchange(port, long.as_bytes()),
        "-ERR Protocol error: too big inline request\r\n"
    );
    let mut array = b"*2\r\n$4\r\nAUTH\r\n$70000\r\n".to_vec();
    array.extend(vec![b'p'; 70_000]);
    array.extend(b"\r\n");
    let answer = exchange(port, &array);
    assert!(
        answer.starts_with("-ERR AUTH command over 65536 bytes"),
        "{answer}"
    );
    // A TLS client is closed, without an answer it could not read.
    assert_eq!(exchange(port, &[0x16, 0x03, 0x01, 0x00, 0x05]), "");
    cli_says(&proxy, &["PING"], "PONG\n");
    assert!(
        logins(&proxy, "elasticache", "refused", "protocol") >= 2.0,
        "{}",
        proxy.get("/metrics").1
    );
    let log = proxy.log();
    assert!(log.contains("client sent what is not RESP"), "{log}");
    assert!(log.contains("client started TLS"), "{log}");
}

#[test]
fn closes_the_server_connection_of_a_client_that_vanishes_mid_command() {
    let upstream = Upstream::start();
    let proxy = upstream.proxy(&["--debug"]);
    let clients = || upstream.info("clients", "connected_clients");
    let mut stream = TcpStream::connect(("127.0.0.1", proxy.port)).unwrap();
    stream
        .write_all(b"*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$100\r\nonly some of it")
        .unwrap();
    assert!(
        wait_for(Duration::from_secs(10), || clients() == "2"),
        "no server connection: {}",
        proxy.log()
    );
    drop(stream);
    proxy.expect_log(
        "client left in the middle of a command",
        Duration::from_secs(10),
    );
    assert!(
        wait_for(Duration::from_secs(10), || clients() == "1"),
        "the server connection stays open"
    );
    upstream
        .direct(&["EXISTS", "half"])
        .success()
        .stdout_is("0\n");
    cli_says(&proxy, &["PING"], "PONG\n");
}

#[test]
fn serves_the_next_client_after_the_server_restarts_on_its_port() {
    let mut upstream = Upstream::start();
    let port = upstream.redis().port();
    let proxy = upstream.proxy(&[]);
    cli_says(&proxy, &["SET", "before", "1"], "OK\n");
    let mut open = logged_in(proxy.port);
    upstream.server = None;
    // The client whose server went away is closed.
    let mut rest = Vec::new();
    let _ = open.read_to_end(&mut rest);
    proxy.expect_log("server closed the connection", Duration::from_secs(10));
    let refused = cli(proxy.port, &["PING"]);
    assert!(
        (refused.stdout() + &refused.stderr()).contains("ERR could not connect"),
        "{}",
        refused.stdout()
    );
    upstream.server = Some(Redis::start_on(
        &upstream.ca,
        &[(USER, &upstream.token)],
        port,
    ));
    cli_says(&proxy, &["SET", "after", "1"], "OK\n");
    upstream
        .direct(&["GET", "after"])
        .success()
        .stdout_is("1\n");
}

#[test]
fn lets_an_open_connection_finish_within_the_sigterm_delay_then_exits_0() {
    let upstream = Upstream::start();
    let mut proxy = upstream.proxy(&["--max-sigterm-delay", "20"]);
    let mut open = logged_in(proxy.port);
    unsafe {
        libc::kill(-proxy.process.group(), libc::SIGTERM);
    }
    proxy.expect_log(
        "stopping: waiting for open connections",
        Duration::from_secs(10),
    );
    assert_eq!(
        proxy.wait(Duration::from_millis(300)),
        None,
        "{}",
        proxy.log()
    );
    // New connections are refused meanwhile; the open one still works.
    assert!(TcpStream::connect(("127.0.0.1", proxy.port)).is_err());
    open.write_all(b"SET during-stop 1\r\n").unwrap();
    let mut ok = [0u8; 5];
    open.read_exact(&mut ok).unwrap();
    assert_eq!(&ok, b"+OK\r\n");
    drop(open);
    assert_eq!(
        proxy.wait(Duration::from_secs(10)),
        Some(0),
        "{}",
        proxy.log()
    );
}

#[test]
fn runs_a_connection_test_and_exits_0_or_1() {
    let upstream = Upstream::start();
    let run = |flags: &[String]| {
        let mut args = vec!["proxy".to_owned()];
        args.extend(flags.iter().cloned());
        args.push("--run-connection-test".into());
        upstream.env().run(&args)
    };
    let passed = run(&upstream.flags());
    passed
        .success()
        .stderr_contains("connection test passed")
        .stderr_contains(&format!("checked='logged in as {USER}'"));
    // A MemoryDB token for the ElastiCache user: refused.
    let wrong_kind = upstream.flags_for(&["--cluster-name", CACHE, "--user-id", USER]);
    let failed = run(&wrong_kind);
    assert_eq!(failed.code(), Some(1), "{}", failed.stderr());
    failed
        .stderr_contains("connection test failed")
        .stderr_contains("WRONGPASS")
        .stderr_lacks("X-Amz");
    let other = TestCa::new();
    let mut wrong_ca = upstream.flags();
    let last = wrong_ca.len() - 1;
    wrong_ca[last] = other.ca_pem().display().to_string();
    let failed = run(&wrong_ca);
    assert_eq!(failed.code(), Some(1), "{}", failed.stderr());
    failed.stderr_contains("is not issued by");
}

#[test]
fn logs_json_lines_with_no_token_and_no_secret_key() {
    let upstream = Upstream::start();
    let proxy = upstream.proxy(&["--structured-logs", "--debug"]);
    cli_says(&proxy, &["PING"], "PONG\n");
    let run = cli(
        proxy.port,
        &["--user", "someone", "--pass", "secret-pw", "PING"],
    );
    run.success();
    let (_, metrics) = proxy.get("/metrics");
    assert!(metrics.contains("engine=\"elasticache\""), "{metrics}");
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
    assert!(login.contains(&format!("\"user\":\"{USER}\"")), "{login}");
    assert!(login.contains("\"peer\":\"127.0.0.1:"), "{login}");
    for secret in [
        upstream.token.as_str(),
        SECRET_KEY,
        "X-Amz-Signature",
        "secret-pw",
    ] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
}

#[test]
fn listens_on_a_unix_socket_for_redis_cli_s() {
    let upstream = Upstream::start();
    let env = upstream.env();
    let folder = env.home().join("sockets");
    let mut args: Vec<String> = upstream.flags();
    args.extend(["--unix-socket".into(), folder.display().to_string()]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let proxy = AuthProxy::start(&env, &refs);
    let socket = folder.join(format!("redis-{}.sock", upstream.redis().port()));
    let run = TestEnv::new().run_program(
        client_program(),
        ["-s", socket.to_str().unwrap(), "ACL", "WHOAMI"],
    );
    if run.stdout() != format!("{USER}\n") {
        run.fail(&format!("the proxy's log:\n{}", proxy.log()));
    }
    let uid = unsafe { libc::getuid() };
    assert!(
        proxy.log().contains(&format!("peer='uid {uid}'")),
        "{}",
        proxy.log()
    );
}

/// The flags of the README's proxy recipe, as written, but for its
/// endpoint (`--endpoint` becomes `endpoint`).
fn recipe_flags(name: &str, endpoint: &str) -> Vec<String> {
    let script = support::readme::block(name).script().replace("\\\n", " ");
    let mut words: Vec<String> = script.split_whitespace().map(str::to_owned).collect();
    assert_eq!(words[..2], ["rds-auth-token", "proxy"], "{script}");
    words.drain(..2);
    let at = words
        .iter()
        .position(|w| w == "--endpoint")
        .expect("--endpoint")
        + 1;
    words[at] = endpoint.to_owned();
    words
}

#[test]
fn the_readme_recipe_serves_redis_cli_and_redis_py_as_written() {
    let upstream = Upstream::start();
    let mut flags = recipe_flags(
        "recipe-redis-proxy",
        &format!("127.0.0.1:{}", upstream.redis().port()),
    );
    flags.extend([
        "--ssl-ca".into(),
        upstream.ca.ca_pem().display().to_string(),
    ]);
    let proxy = upstream.proxy_with(&flags, &[]);
    let port = proxy.port.to_string();
    let python = support::python::drivers().python().display().to_string();
    let mut env = TestEnv::new();
    let run = support::readme::run_block(
        &mut env,
        "recipe-redis-clients",
        &[
            ("-p 6379", &format!("-p {port}")),
            ("127.0.0.1:6379", &format!("127.0.0.1:{port}")),
            ("python3", &python),
        ],
    );
    if run.stdout() != "OK\nhello\nb'hello'\n" {
        run.fail(&format!("the proxy's log:\n{}", proxy.log()));
    }
}

#[test]
fn the_documented_configuration_table_serves_a_serverless_cache() {
    let upstream =
        Upstream::with_tokens(&[("app-user", TokenKind::Serverless, "sessions", "eu-west-1")]);
    let docs = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/proxy.md"))
        .unwrap();
    let table = docs
        .split("```toml\n")
        .filter_map(|rest| rest.split("```").next())
        .find(|block| block.contains("cache-name"))
        .expect("a TOML table for a cache in docs/proxy.md");
    let env = upstream.env();
    let sockets = env.home().join("cache");
    let listen = support::ports::free();
    let mut text = String::new();
    for line in table.lines() {
        let line = match line.split_once(" = ") {
            Some(("endpoint", _)) => {
                format!("endpoint = \"127.0.0.1:{}\"", upstream.redis().port())
            }
            Some(("listen", _)) => format!("listen = \"127.0.0.1:{listen}\""),
            Some(("unix-socket", _)) => format!("unix-socket = \"{}\"", sockets.display()),
            _ => line.to_owned(),
        };
        text.push_str(&line);
        text.push('\n');
    }
    text.push_str(&format!(
        "ssl-ca = \"{}\"\n",
        upstream.ca.ca_pem().display()
    ));
    let file = env.write("proxy.toml", &text);
    let proxy = AuthProxy::spawn(&env, &["--config", file.to_str().unwrap()], listen);
    cli_says(&proxy, &["ACL", "WHOAMI"], "app-user\n");
    let socket = sockets.join(format!("redis-{}.sock", upstream.redis().port()));
    let run =
        TestEnv::new().run_program(client_program(), ["-s", socket.to_str().unwrap(), "PING"]);
    run.success().stdout_is("PONG\n");
}
