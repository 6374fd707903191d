//! The plumbing of a database server that a test starts: a private
//! temporary folder, the server process in its own process group, a bounded
//! wait until it answers, and a stop on drop.
//!
//! Run as root, the server and its files belong to the system user
//! `rdsauthtest` (created when missing), as PostgreSQL and MariaDB refuse to
//! run as root; otherwise to the current user.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::in_ci;

/// How long a server may take to start answering.
pub const STARTUP: Duration = Duration::from_secs(30);
/// How long a server may take to stop before it is killed.
pub const SHUTDOWN: Duration = Duration::from_secs(10);
/// The system user the servers run as when the tests run as root.
const SERVICE_USER: &str = "rdsauthtest";
pub const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A missing prerequisite: a test failure that says what to install.
#[track_caller]
pub fn missing(what: &str, package: &str) -> ! {
    panic!(
        "{what} not found: install {package} (bash scripts/test installs it){}",
        if in_ci() {
            "; CI=true, so this is a failure, not a skip"
        } else {
            ""
        }
    )
}

/// The first of `candidates` that is a file.
pub fn find(candidates: &[&str]) -> Option<PathBuf> {
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
}

/// A private folder for one server, owned by the user the server runs as,
/// removed on drop.
pub struct Workspace {
    dir: tempfile::TempDir,
    owner: Option<(u32, u32)>,
}

impl Workspace {
    pub fn new(prefix: &str) -> Workspace {
        let owner = owner();
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir()
            .expect("a temporary folder");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        let workspace = Workspace { dir, owner };
        workspace.give(workspace.path());
        workspace
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Hands `path` to the servers' user.
    pub fn give(&self, path: &Path) {
        if let Some((uid, gid)) = self.owner {
            std::os::unix::fs::chown(path, Some(uid), Some(gid))
                .unwrap_or_else(|err| panic!("chown {}: {err}", path.display()));
        }
    }

    /// `program`, run as the servers' user in a clean environment in this folder.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", PATH)
            .env("LC_ALL", "C")
            .current_dir(self.path())
            .stdin(Stdio::null());
        if let Some((uid, gid)) = self.owner {
            cmd.uid(uid).gid(gid);
        }
        cmd
    }

    /// Runs `cmd` and returns its stdout; panics with all it printed when it fails.
    #[track_caller]
    pub fn run(&self, cmd: &mut Command, what: &str) -> String {
        let output = cmd
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|err| panic!("{what}: cannot run {:?}: {err}", cmd.get_program()));
        assert!(
            output.status.success(),
            "{what} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

/// uid and gid of the servers' user when running as root, made when missing.
fn owner() -> Option<(u32, u32)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let entry = || {
        let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
        passwd.lines().find_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            (f.len() > 3 && f[0] == SERVICE_USER)
                .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
                .flatten()
        })
    };
    if entry().is_none() {
        // Another test binary may be making it at the same moment; only
        // its absence afterwards is an error.
        let _ = Command::new("useradd")
            .args(["--system", "--user-group", "--no-create-home"])
            .args(["--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin"])
            .arg(SERVICE_USER)
            .env("PATH", PATH)
            .output();
    }
    Some(entry().unwrap_or_else(|| {
        panic!("the system user {SERVICE_USER} is missing and could not be made (useradd --system {SERVICE_USER})")
    }))
}

/// A server process the tests started: the leader of its own process
/// group, with its output in a log, waited for with a deadline, and stopped
/// on drop (its stop signal, then SIGKILL after [`SHUTDOWN`]). Every server
/// the tests start runs as one: PostgreSQL, MariaDB, pgbouncer, Redis.
pub struct Process {
    name: String,
    child: Child,
    log: PathBuf,
    stop_signal: i32,
    stopped: bool,
}

impl Process {
    /// Starts `cmd` in a process group of its own. With `capture`, its
    /// stdout and stderr go to `log`; without, the server writes `log`
    /// itself (a `logfile` setting) and its output is dropped.
    pub fn spawn(
        name: impl Into<String>,
        mut cmd: Command,
        log: PathBuf,
        capture: bool,
        stop_signal: i32,
    ) -> Result<Process, String> {
        let name = name.into();
        if capture {
            let out = File::create(&log).map_err(|err| format!("{}: {err}", log.display()))?;
            let err = out.try_clone().map_err(|e| e.to_string())?;
            cmd.stdout(out).stderr(err);
        } else {
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
        }
        let child = cmd
            .stdin(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|err| format!("cannot start {name}: {err}"))?;
        Ok(Process {
            name,
            child,
            log,
            stop_signal,
            stopped: false,
        })
    }

    /// Its exit status, if it has exited.
    pub fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Its process group (its process id).
    pub fn group(&self) -> i32 {
        self.child.id() as i32
    }

    /// The signal that stops it cleanly.
    pub fn stop_signal(&self) -> i32 {
        self.stop_signal
    }

    /// Its log.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last 25 lines of its log.
    pub fn log_tail(&self) -> String {
        let text = self.log();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(25)..].join("\n")
    }

    /// Waits until `ready` succeeds, at most [`STARTUP`]; says why not, with
    /// its log, when it exits first or does not answer in time.
    pub fn wait_until<T>(
        &mut self,
        mut ready: impl FnMut() -> Result<T, String>,
    ) -> Result<T, String> {
        let deadline = Instant::now() + STARTUP;
        loop {
            let last = match ready() {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "{} exited at start-up with {status}; its log:\n{}",
                    self.name,
                    self.log_tail()
                ));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} did not answer within {STARTUP:?}; last try: {last}\nits log:\n{}",
                    self.name,
                    self.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn signal(&self, signal: i32) {
        // SAFETY: kill has no memory preconditions; the group is our child's.
        unsafe {
            libc::kill(-self.group(), signal);
        }
    }

    /// Sends the stop signal without waiting: to stop several at once.
    pub fn begin_stop(&self) {
        self.signal(self.stop_signal);
    }

    /// Stops it: the stop signal, up to [`SHUTDOWN`] for it to exit, then
    /// SIGKILL. Once.
    pub fn stop(&mut self) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        self.begin_stop();
        let deadline = Instant::now() + SHUTDOWN;
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        self.signal(libc::SIGKILL);
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A running server in a [`Workspace`] of its own; stopped on drop, then
/// its folder removed.
pub struct Daemon {
    process: Process,
    // Dropped after the server has stopped.
    workspace: Workspace,
}

impl Daemon {
    /// Starts `cmd` (from [`Workspace::command`]) with its output in
    /// `log_name` in the workspace; `stop_signal` shuts it down cleanly.
    #[track_caller]
    pub fn spawn(
        name: &'static str,
        workspace: Workspace,
        cmd: Command,
        log_name: &str,
        stop_signal: i32,
    ) -> Daemon {
        let log = workspace.path().join(log_name);
        File::create(&log).unwrap();
        workspace.give(&log);
        let process =
            Process::spawn(name, cmd, log, true, stop_signal).unwrap_or_else(|err| panic!("{err}"));
        Daemon { process, workspace }
    }

    pub fn workspace(&self) -> &Workspace {
        &self.workspace
    }

    /// The server's own log.
    pub fn log(&self) -> String {
        self.process.log()
    }

    /// Waits until `ready` succeeds, at most [`STARTUP`]; panics with the
    /// server's log when it exits or does not answer in time.
    #[track_caller]
    pub fn wait_until(&mut self, ready: impl FnMut() -> Result<(), String>) {
        if let Err(err) = self.process.wait_until(ready) {
            panic!("{err}");
        }
    }
}
