//! `rds-auth-token proxy` run as a server for a test: in its own process
//! group, its stderr in a log, waited for until it listens, stopped with
//! SIGTERM when dropped (see [`Process`]).

use std::net::TcpStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::daemon::Process;
use super::servers::{Db, Servers, TUNNEL_HOST};
use super::TestEnv;

/// A running proxy.
pub struct AuthProxy {
    pub process: Process,
    pub port: u16,
    pub health_port: u16,
    _log_dir: tempfile::TempDir,
}

impl AuthProxy {
    /// `rds-auth-token proxy ARGS --listen 127.0.0.1:PORT --health-port P`
    /// in `env`, waited for until `/startup` answers 200.
    #[track_caller]
    pub fn start(env: &TestEnv, args: &[&str]) -> AuthProxy {
        let port = super::ports::free();
        let listen = format!("127.0.0.1:{port}");
        let mut all = args.to_vec();
        all.extend(["--listen", &listen]);
        AuthProxy::spawn(env, &all, port)
    }

    /// `rds-auth-token proxy ARGS --health-port P` in `env`, for a proxy
    /// that listens on `port` as ARGS say, waited for until `/startup`
    /// answers 200.
    #[track_caller]
    pub fn spawn(env: &TestEnv, args: &[&str], port: u16) -> AuthProxy {
        let health_port = super::ports::free();
        let log_dir = tempfile::tempdir().unwrap();
        let log = log_dir.path().join("proxy.log");
        let health = health_port.to_string();
        let mut cmd = env.command(["proxy"]);
        cmd.args(args).args(["--health-port", &health]);
        let mut process = Process::spawn("rds-auth-token proxy", cmd, log, true, libc::SIGTERM)
            .unwrap_or_else(|err| panic!("{err}"));
        process
            .wait_until(|| match http_get(health_port, "/startup") {
                Ok((200, _)) => Ok(()),
                Ok((status, body)) => Err(format!("/startup answered {status}: {body}")),
                Err(err) => Err(err),
            })
            .unwrap_or_else(|err| panic!("{err}"));
        AuthProxy {
            process,
            port,
            health_port,
            _log_dir: log_dir,
        }
    }

    /// The proxy for the shared PostgreSQL server, as an RDS endpoint
    /// reached through a tunnel: `--hostname TUNNEL_HOST --via` the server,
    /// `--ssl-ca` the test CA, and `extra`.
    #[track_caller]
    pub fn for_postgres(servers: &Servers, env: &TestEnv, extra: &[&str]) -> AuthProxy {
        AuthProxy::for_host(servers, env, TUNNEL_HOST, &servers.ca_cert(), extra)
    }

    /// The proxy for the shared MariaDB server, as an RDS endpoint reached
    /// through a tunnel: `--hostname TUNNEL_HOST --via` the server,
    /// `--ssl-ca` the test CA, and `extra`.
    #[track_caller]
    pub fn for_mariadb(servers: &Servers, env: &TestEnv, extra: &[&str]) -> AuthProxy {
        let flags = flags_for(servers, Db::Mariadb, TUNNEL_HOST, &servers.ca_cert());
        let mut args: Vec<&str> = flags.iter().map(String::as_str).collect();
        args.extend_from_slice(extra);
        AuthProxy::start(env, &args)
    }

    /// The proxy for the shared PostgreSQL server as `hostname` (a name its
    /// certificate carries, or not), through `--via`, trusting `ca`.
    #[track_caller]
    pub fn for_host(
        servers: &Servers,
        env: &TestEnv,
        hostname: &str,
        ca: &std::path::Path,
        extra: &[&str],
    ) -> AuthProxy {
        let flags = upstream_flags(servers, hostname, ca);
        let mut args: Vec<&str> = flags.iter().map(String::as_str).collect();
        args.extend_from_slice(extra);
        AuthProxy::start(env, &args)
    }

    /// Its stderr so far.
    pub fn log(&self) -> String {
        self.process.log()
    }

    /// Waits up to `within` for its log to hold `text`; fails the test,
    /// showing the log, when it does not.
    #[track_caller]
    pub fn expect_log(&self, text: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while !self.log().contains(text) {
            assert!(
                Instant::now() < deadline,
                "no {text:?} within {within:?} in the proxy's log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `GET path` on the health port: the status and body.
    #[track_caller]
    pub fn get(&self, path: &str) -> (u16, String) {
        http_get(self.health_port, path)
            .unwrap_or_else(|err| panic!("GET {path}: {err}\n{}", self.log()))
    }

    /// The value of the metric line that starts with `prefix` (name and
    /// labels), or 0.
    pub fn metric(&self, prefix: &str) -> f64 {
        let (_, text) = self.get("/metrics");
        text.lines()
            .find(|line| line.starts_with(prefix))
            .and_then(|line| line.rsplit(' ').next()?.parse().ok())
            .unwrap_or(0.0)
    }

    /// Sends SIGTERM and waits up to `within` for the exit status.
    #[track_caller]
    pub fn terminate(&mut self, within: Duration) -> Option<i32> {
        // SAFETY: kill has no memory preconditions; the group is our child's.
        unsafe {
            libc::kill(-self.process.group(), libc::SIGTERM);
        }
        self.wait(within)
    }

    /// Waits up to `within` for the proxy to exit; its status code.
    pub fn wait(&mut self, within: Duration) -> Option<i32> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.process.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// The folder of its log, for files a test wants beside it.
    pub fn dir(&self) -> PathBuf {
        self._log_dir.path().to_owned()
    }
}

/// The flags that point the proxy at the shared PostgreSQL server as
/// `hostname`, through `--via` its address, trusting `ca`.
pub fn upstream_flags(servers: &Servers, hostname: &str, ca: &std::path::Path) -> Vec<String> {
    flags_for(servers, Db::Postgres, hostname, ca)
}

/// The flags that point the proxy at the shared server `db` as
/// `hostname`, through `--via` its address, trusting `ca`.
pub fn flags_for(servers: &Servers, db: Db, hostname: &str, ca: &std::path::Path) -> Vec<String> {
    let port = servers.port(db).to_string();
    let engine = match db {
        Db::Postgres => "postgres",
        Db::Mariadb => "mysql",
    };
    vec![
        "--hostname".into(),
        hostname.into(),
        "--port".into(),
        port.clone(),
        "--engine".into(),
        engine.into(),
        "--via".into(),
        format!("127.0.0.1:{port}"),
        "--ssl-ca".into(),
        ca.display().to_string(),
    ]
}

/// `GET path` on 127.0.0.1:`port` with HTTP/1.0: the status and body.
pub fn http_get(port: u16, path: &str) -> Result<(u16, String), String> {
    http(port, "GET", path)
}

/// `METHOD path` on 127.0.0.1:`port` with HTTP/1.0: the status and body.
pub fn http(port: u16, method: &str, path: &str) -> Result<(u16, String), String> {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| e.to_string())?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not an HTTP response: {response:?}"))?;
    let body = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    Ok((status, body))
}
