//! A real pgbouncer on 127.0.0.1 in front of the test PostgreSQL server,
//! logging in to it over TLS (verify-full against the test CA) with the
//! password its `auth_file` holds. Clients authenticate to pgbouncer with
//! `auth_type = trust`.
//!
//! pgbouncer refuses to run as root: run as root, it and the files it reads
//! belong to the servers' system user (`rdsauthtest`). It stops on drop;
//! start-up waits at most [`STARTUP`]. A missing pgbouncer fails the test
//! and says what to install.

use std::fs;
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use super::daemon::Process;
use super::servers::{Db, Servers, BENCH_DATABASE, HOST};

/// The system user that runs it when the tests run as root.
const SERVICE_USER: &str = "rdsauthtest";

/// Who runs pgbouncer and the processes that write its files.
#[derive(Debug, Clone, Copy)]
pub struct RunAs(Option<(u32, u32)>);

impl RunAs {
    /// The servers' system user when running as root, else the current user.
    pub fn detect() -> RunAs {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return RunAs(None);
        }
        let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
        let entry = passwd.lines().find_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            (f.len() > 3 && f[0] == SERVICE_USER)
                .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
                .flatten()
        });
        RunAs(Some(entry.unwrap_or_else(|| {
            panic!("the system user {SERVICE_USER} is missing (bash scripts/test creates it)")
        })))
    }

    /// `cmd`, run as this user.
    pub fn apply(self, cmd: &mut Command) -> &mut Command {
        if let Some((uid, gid)) = self.0 {
            cmd.uid(uid).gid(gid);
        }
        cmd
    }

    /// Hands `path` to this user.
    pub fn give(self, path: &Path) {
        if let Some((uid, gid)) = self.0 {
            std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
        }
    }
}

/// A private folder that [`RunAs`] owns, removed on drop.
pub struct Folder {
    dir: tempfile::TempDir,
}

impl Folder {
    pub fn new(run_as: RunAs) -> Folder {
        let dir = tempfile::Builder::new()
            .prefix("rds-auth-token-pgbouncer.")
            .tempdir()
            .unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        run_as.give(dir.path());
        Folder { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// A running pgbouncer; stopped on drop.
pub struct Pgbouncer {
    process: Process,
    port: u16,
}

impl Pgbouncer {
    /// Starts pgbouncer in `folder` with `auth_file`, in front of the
    /// PostgreSQL server of `servers`, database `postgres`.
    pub fn start(servers: &Servers, folder: &Folder, auth_file: &Path, run_as: RunAs) -> Pgbouncer {
        let program = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]
            .into_iter()
            .find(|p| Path::new(p).is_file())
            .unwrap_or_else(|| {
                panic!("pgbouncer not found: install pgbouncer (bash scripts/test installs it)")
            });
        let port = super::ports::free();
        let dir = folder.path();
        let log = dir.join("pgbouncer.log");
        let ini = dir.join("pgbouncer.ini");
        fs::write(
            &ini,
            format!(
                "[databases]\n\
                 postgres = host={HOST} port={port_pg} dbname=postgres\n\
                 {BENCH_DATABASE} = host={HOST} port={port_pg} dbname={BENCH_DATABASE}\n\
                 [pgbouncer]\n\
                 listen_addr = {HOST}\n\
                 listen_port = {port}\n\
                 unix_socket_dir =\n\
                 auth_type = trust\n\
                 auth_file = {}\n\
                 server_tls_sslmode = verify-full\n\
                 server_tls_ca_file = {}\n\
                 logfile = {}\n\
                 pidfile = {}\n",
                auth_file.display(),
                servers.ca_cert().display(),
                log.display(),
                dir.join("pgbouncer.pid").display(),
                port_pg = servers.port(Db::Postgres),
            ),
        )
        .unwrap();
        run_as.give(&ini);
        let mut cmd = Command::new(program);
        cmd.arg(&ini)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .current_dir(dir);
        run_as.apply(&mut cmd);
        // pgbouncer writes its own logfile; SIGINT is its safe shutdown.
        let mut process = Process::spawn("pgbouncer", cmd, log, false, libc::SIGINT)
            .unwrap_or_else(|err| panic!("{err}"));
        if let Err(err) = process.wait_until(|| {
            TcpStream::connect((HOST, port))
                .map(drop)
                .map_err(|e| e.to_string())
        }) {
            panic!("{err}");
        }
        Pgbouncer { process, port }
    }

    /// The port it listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its log.
    pub fn log(&self) -> String {
        self.process.log()
    }
}
