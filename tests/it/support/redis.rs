//! A real Redis server (Debian's `redis-server`) on a free 127.0.0.1 port,
//! speaking TLS only with a test CA's certificate, with ACL users whose
//! passwords the test sets (IAM tokens, standing in for ElastiCache's and
//! MemoryDB's IAM check) and the default user switched off. It stops when
//! dropped.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;

use super::daemon::Process;
use super::tls::TestCa;

/// A running `redis-server`.
pub struct Redis {
    // Stopped before its folder goes.
    process: Process,
    port: u16,
    dir: tempfile::TempDir,
}

/// `redis-server`, or a panic that names the package (scripts/test installs it).
#[track_caller]
fn server_program() -> PathBuf {
    ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!(
                "redis-server is missing: apt-get install redis-server (scripts/test installs it)"
            )
        })
}

/// The `redis-cli` the tests run on the real clock.
#[track_caller]
pub fn client_program() -> PathBuf {
    ["/usr/bin/redis-cli", "/usr/local/bin/redis-cli"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!("redis-cli is missing: apt-get install redis-tools (scripts/test installs it)")
        })
}

impl Redis {
    /// Starts a TLS-only server with `ca`'s server certificate and an ACL
    /// user for each `(name, password)`.
    #[track_caller]
    pub fn start(ca: &TestCa, users: &[(&str, &str)]) -> Redis {
        Redis::start_on(ca, users, super::ports::free())
    }

    /// The same, on `port` (the port of a server stopped before: a
    /// restart).
    #[track_caller]
    pub fn start_on(ca: &TestCa, users: &[(&str, &str)], port: u16) -> Redis {
        let dir = tempfile::tempdir().expect("a folder for redis-server");
        let mut config = format!(
            "bind 127.0.0.1\nport 0\ntls-port {port}\ntls-cert-file {}\ntls-key-file {}\n\
             tls-ca-cert-file {}\ntls-auth-clients no\nsave \"\"\nappendonly no\ndir {}\n\
             daemonize no\nlogfile {}\nuser default off\n",
            ca.server_cert().display(),
            ca.server_key().display(),
            ca.ca_pem().display(),
            dir.path().display(),
            dir.path().join("redis.log").display(),
        );
        for (name, password) in users {
            assert!(
                !password.contains(char::is_whitespace),
                "an ACL password has no white space"
            );
            config.push_str(&format!("user {name} on >{password} ~* &* +@all\n"));
        }
        let config_file = dir.path().join("redis.conf");
        std::fs::write(&config_file, config).expect("redis.conf");
        let mut cmd = Command::new(server_program());
        cmd.arg(&config_file);
        // redis-server writes its own logfile.
        let mut process = Process::spawn(
            "redis-server",
            cmd,
            dir.path().join("redis.log"),
            false,
            libc::SIGTERM,
        )
        .unwrap_or_else(|err| panic!("{err}"));
        if let Err(err) = process.wait_until(|| {
            TcpStream::connect(("127.0.0.1", port))
                .map(drop)
                .map_err(|e| e.to_string())
        }) {
            panic!("{err}");
        }
        Redis { process, port, dir }
    }

    /// The TLS port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's log, for failure messages.
    pub fn log(&self) -> String {
        self.process.log()
    }
}
