//! A bare PostgreSQL server for running SQL as its superuser: `initdb` in a
//! private temporary folder (UTF-8, locale C), listening on a free port of
//! 127.0.0.1. `pg_hba.conf` has one line: the superuser [`SUPERUSER`] over
//! the Unix socket in that folder, trusted. Nothing else may log in.
//!
//! It stops, and its folder goes, on drop; start-up waits at most
//! [`STARTUP`](super::daemon::STARTUP). A missing PostgreSQL fails the test
//! and says what to install.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::daemon::{self, Daemon, Workspace, PATH};
use super::servers::psql_client;
use super::TestEnv;

/// The superuser made by initdb, reachable only over the socket.
pub const SUPERUSER: &str = "rdsauth_admin";

/// A running bare PostgreSQL server.
pub struct BarePostgres {
    daemon: Daemon,
    port: u16,
}

/// The newest `/usr/lib/postgresql/<version>/bin` (Debian), else the folder
/// of `initdb` on PATH.
fn bin_dir() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .or_else(|| {
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                .find(|dir| dir.join("initdb").is_file() && dir.join("postgres").is_file())
        })
        .unwrap_or_else(|| {
            daemon::missing("the PostgreSQL server (initdb, postgres)", "postgresql")
        })
}

impl BarePostgres {
    /// Makes and starts the server, and waits until the superuser can log in.
    #[track_caller]
    pub fn start() -> BarePostgres {
        let bin = bin_dir();
        let workspace = Workspace::new("rds-auth-token-postgres.");
        let dir = workspace.path().to_owned();
        let data = dir.join("data");
        workspace.run(
            workspace
                .command(bin.join("initdb"))
                .arg("-D")
                .arg(&data)
                .args(["-U", SUPERUSER, "--auth=trust", "--no-sync"])
                .args(["-E", "UTF8", "--locale=C"]),
            "initdb",
        );
        let port = super::ports::free();
        let conf = format!(
            "\n# rds-auth-token tests\n\
             listen_addresses = '127.0.0.1'\n\
             port = {port}\n\
             unix_socket_directories = '{}'\n\
             unix_socket_permissions = 0700\n\
             fsync = off\n\
             synchronous_commit = off\n\
             full_page_writes = off\n\
             shared_buffers = 16MB\n\
             max_connections = 10\n",
            dir.display()
        );
        fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))
            .and_then(|mut f| f.write_all(conf.as_bytes()))
            .unwrap();
        fs::write(
            data.join("pg_hba.conf"),
            format!("# rds-auth-token tests: the superuser over the socket, nothing else.\nlocal all {SUPERUSER} trust\n"),
        )
        .unwrap();
        let mut cmd = workspace.command(bin.join("postgres"));
        cmd.arg("-D").arg(&data);
        // SIGINT is PostgreSQL's fast shutdown.
        let daemon = Daemon::spawn("postgres", workspace, cmd, "postgres.log", libc::SIGINT);
        let mut server = BarePostgres { daemon, port };
        let mut ping = server.superuser_psql();
        ping.args(["-c", "select 1"]);
        server.daemon.wait_until(|| {
            let out = ping.output().map_err(|e| e.to_string())?;
            out.status
                .success()
                .then_some(())
                .ok_or_else(|| String::from_utf8_lossy(&out.stderr).into_owned())
        });
        server
    }

    /// The port it listens on, on 127.0.0.1 (where nobody may log in).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The folder of its Unix socket.
    pub fn socket_dir(&self) -> &Path {
        self.daemon.workspace().path()
    }

    /// psql's arguments to log in as the superuser, database `postgres`.
    pub fn superuser_args(&self) -> Vec<String> {
        vec![
            "-X".into(),
            "-h".into(),
            self.socket_dir().display().to_string(),
            "-p".into(),
            self.port.to_string(),
            "-U".into(),
            SUPERUSER.into(),
            "-d".into(),
            "postgres".into(),
        ]
    }

    /// The real psql, logged in as the superuser, printing bare rows.
    fn superuser_psql(&self) -> Command {
        let psql = psql_client().unwrap_or_else(|_| daemon::missing("psql", "postgresql-client"));
        let mut cmd = Command::new(psql);
        cmd.env_clear()
            .env("PATH", PATH)
            .args(self.superuser_args())
            .args(["-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]);
        cmd
    }

    /// Runs `sql` as the superuser; its rows, one a line, fields split by `|`.
    #[track_caller]
    pub fn query(&self, sql: &str) -> String {
        self.daemon.workspace().run(
            self.superuser_psql().args(["-c", sql]),
            "psql as the superuser",
        )
    }

    /// Runs psql as the superuser in `env` (with its stdin), with `extra`
    /// arguments, as a user would pipe statements into it.
    pub fn psql(&self, env: &TestEnv, extra: &[&str]) -> super::Run {
        let psql = psql_client().unwrap_or_else(|_| daemon::missing("psql", "postgresql-client"));
        let mut args = self.superuser_args();
        args.extend(extra.iter().map(|a| a.to_string()));
        env.run_program(psql, args)
    }

    /// The server's own log.
    pub fn log(&self) -> String {
        self.daemon.log()
    }
}
