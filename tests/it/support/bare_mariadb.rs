//! A bare MariaDB server for running SQL as its superuser, with or without
//! a stand-in for RDS for MySQL's `AWSAuthenticationPlugin`.
//!
//! `mariadb-install-db` in a private temporary folder makes `root@localhost`,
//! which logs in over the Unix socket in that folder as the OS user running
//! the tests (`unix_socket`); `mariadbd` listens on a free port of 127.0.0.1,
//! where no account may log in.
//!
//! [`BareMariadb::with_aws_plugin`] compiles `tests/servers/aws_authentication_plugin.c`
//! with the system C compiler against the server plugin headers of Debian's
//! `libmariadbd-dev` into a plugin folder of its own, and starts the server
//! with `--plugin-dir` at that folder and `--plugin-load-add` of the plugin,
//! so that `IDENTIFIED WITH AWSAuthenticationPlugin` works as on RDS.
//! [`BareMariadb::without_aws_plugin`] is the server as it comes.
//!
//! It stops, and its folder goes, on drop; start-up waits at most
//! [`STARTUP`](super::daemon::STARTUP). A missing server, client, compiler
//! or header fails the test and says what to install.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::daemon::{self, find, Daemon, Workspace, PATH};
use super::servers::mariadb_client;
use super::{Run, TestEnv};

/// The plugin's name, as RDS for MySQL has it.
pub const AWS_PLUGIN: &str = "AWSAuthenticationPlugin";
/// The server plugin API header the stand-in is compiled against.
const PLUGIN_HEADER: &str = "/usr/include/mariadb/server/mysql/plugin_auth.h";
const PLUGIN_FILE: &str = "aws_authentication_plugin.so";

/// A running bare MariaDB server.
pub struct BareMariadb {
    daemon: Daemon,
    port: u16,
    os_user: String,
}

impl BareMariadb {
    /// A server with the `AWSAuthenticationPlugin` stand-in loaded.
    #[track_caller]
    pub fn with_aws_plugin() -> BareMariadb {
        BareMariadb::start(true)
    }

    /// A server with only the plugins MariaDB loads by itself.
    #[track_caller]
    pub fn without_aws_plugin() -> BareMariadb {
        BareMariadb::start(false)
    }

    #[track_caller]
    fn start(with_plugin: bool) -> BareMariadb {
        let mariadbd = find(&[
            "/usr/sbin/mariadbd",
            "/usr/libexec/mariadbd",
            "/usr/bin/mariadbd",
        ])
        .unwrap_or_else(|| daemon::missing("the MariaDB server (mariadbd)", "mariadb-server"));
        let install_db = find(&["/usr/bin/mariadb-install-db", "/usr/bin/mysql_install_db"])
            .unwrap_or_else(|| daemon::missing("mariadb-install-db", "mariadb-server"));
        let workspace = Workspace::new("rds-auth-token-mariadb.");
        let dir = workspace.path().to_owned();
        let os_user = workspace
            .run(Command::new("id").arg("-un"), "id -un")
            .trim()
            .to_owned();
        let plugin_dir = with_plugin.then(|| build_plugin(&workspace));
        workspace.run(
            workspace
                .command(&install_db)
                .arg("--no-defaults")
                .arg(format!("--datadir={}", dir.join("data").display()))
                // Its own, not /tmp: bootstraps running at once in one
                // folder collide on temporary table names ("Unknown table
                // 'mysql.tmp_user_sys'").
                .arg(format!("--tmpdir={}", dir.display()))
                .arg("--auth-root-authentication-method=socket")
                .arg(format!("--auth-root-socket-user={os_user}"))
                .arg("--skip-test-db"),
            "mariadb-install-db",
        );
        let port = super::ports::free();
        let mut cmd = workspace.command(&mariadbd);
        cmd.arg("--no-defaults")
            .arg(format!("--datadir={}", dir.join("data").display()))
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--port={port}"))
            .arg(format!("--socket={}", dir.join("mariadb.sock").display()))
            .arg(format!("--pid-file={}", dir.join("mariadb.pid").display()))
            .arg(format!("--tmpdir={}", dir.display()))
            .args(["--skip-name-resolve", "--skip-log-bin"])
            .arg("--innodb-buffer-pool-size=16M");
        if let Some(plugin_dir) = &plugin_dir {
            cmd.arg(format!("--plugin-dir={}", plugin_dir.display()))
                .arg(format!("--plugin-load-add={PLUGIN_FILE}"));
        }
        let daemon = Daemon::spawn("mariadbd", workspace, cmd, "mariadb.log", libc::SIGTERM);
        let mut server = BareMariadb {
            daemon,
            port,
            os_user,
        };
        let mut ping = server.superuser_client();
        ping.args(["-e", "select 1"]);
        server.daemon.wait_until(|| {
            let out = ping.output().map_err(|e| e.to_string())?;
            out.status
                .success()
                .then_some(())
                .ok_or_else(|| String::from_utf8_lossy(&out.stderr).into_owned())
        });
        let status = server.query(&format!(
            "SELECT COUNT(*) FROM information_schema.PLUGINS \
             WHERE PLUGIN_NAME = '{AWS_PLUGIN}' AND PLUGIN_STATUS = 'ACTIVE'"
        ));
        assert_eq!(
            status.trim(),
            if with_plugin { "1" } else { "0" },
            "{AWS_PLUGIN} active (with_plugin = {with_plugin}); the server's log:\n{}",
            server.log()
        );
        server
    }

    /// The port it listens on, on 127.0.0.1 (where nobody may log in).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The client's arguments to log in as the superuser over the socket.
    pub fn superuser_args(&self) -> Vec<String> {
        vec![
            "--no-defaults".into(),
            format!(
                "--socket={}",
                self.daemon
                    .workspace()
                    .path()
                    .join("mariadb.sock")
                    .display()
            ),
            format!("--user={}", self.os_user),
        ]
    }

    fn superuser_client(&self) -> Command {
        let client = mariadb_client()
            .unwrap_or_else(|_| daemon::missing("the MariaDB client", "mariadb-client"));
        let mut cmd = Command::new(client);
        cmd.env_clear()
            .env("PATH", PATH)
            .args(self.superuser_args())
            .args(["--default-character-set=utf8mb4", "-N", "-B"]);
        cmd
    }

    /// Runs `sql` as the superuser (utf8mb4); its rows, one a line, fields
    /// split by tabs, with the client's batch escapes (`\\`, `\t`, `\n`).
    #[track_caller]
    pub fn query(&self, sql: &str) -> String {
        self.daemon.workspace().run(
            self.superuser_client().args(["-e", sql]),
            "mariadb as the superuser",
        )
    }

    /// Runs the real client as the superuser in `env` (with its stdin),
    /// with `extra` arguments, as a user would pipe statements into it.
    pub fn client(&self, env: &TestEnv, extra: &[&str]) -> Run {
        let client = mariadb_client()
            .unwrap_or_else(|_| daemon::missing("the MariaDB client", "mariadb-client"));
        let mut args = self.superuser_args();
        args.extend(extra.iter().map(|a| a.to_string()));
        env.run_program(client, args)
    }

    /// The server's own log.
    pub fn log(&self) -> String {
        self.daemon.log()
    }
}

/// Compiles the plugin into a `plugins` folder of the workspace; its path.
#[track_caller]
fn build_plugin(workspace: &Workspace) -> PathBuf {
    if !Path::new(PLUGIN_HEADER).is_file() {
        daemon::missing(
            &format!("MariaDB's server plugin headers ({PLUGIN_HEADER})"),
            "libmariadbd-dev",
        );
    }
    let cc = find(&["/usr/bin/cc", "/usr/bin/gcc", "/usr/local/bin/cc"])
        .unwrap_or_else(|| daemon::missing("a C compiler (cc)", "gcc"));
    let source =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/servers/aws_authentication_plugin.c");
    let plugins = workspace.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    let plugin = plugins.join(PLUGIN_FILE);
    workspace.run(
        Command::new(cc)
            .env_clear()
            .env("PATH", PATH)
            .args(["-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror"])
            .arg("-DMYSQL_DYNAMIC_PLUGIN")
            .arg("-I/usr/include/mariadb/server")
            .arg("-o")
            .arg(&plugin)
            .arg(&source),
        "cc (the AWSAuthenticationPlugin stand-in)",
    );
    workspace.give(&plugins);
    workspace.give(&plugin);
    plugins
}
