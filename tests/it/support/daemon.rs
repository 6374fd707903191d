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
const SHUTDOWN: Duration = Duration::from_secs(10);
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

/// A running server, leader of its own process group; stopped on drop, then
/// its folder removed.
pub struct Daemon {
    name: &'static str,
    child: Child,
    log: PathBuf,
    stop_signal: i32,
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
        mut cmd: Command,
        log_name: &str,
        stop_signal: i32,
    ) -> Daemon {
        let log = workspace.path().join(log_name);
        let out = File::create(&log).unwrap();
        workspace.give(&log);
        let err = out.try_clone().unwrap();
        let child = cmd
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {name}: {err}"));
        Daemon {
            name,
            child,
            log,
            stop_signal,
            workspace,
        }
    }

    pub fn workspace(&self) -> &Workspace {
        &self.workspace
    }

    /// The server's own log.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `ready` succeeds, at most [`STARTUP`]; panics with the
    /// server's log when it exits or does not answer in time.
    #[track_caller]
    pub fn wait_until(&mut self, mut ready: impl FnMut() -> Result<(), String>) {
        let deadline = Instant::now() + STARTUP;
        loop {
            let last = match ready() {
                Ok(()) => return,
                Err(err) => err,
            };
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited at start-up with {status}; its log:\n{}",
                    self.name,
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} did not answer within {STARTUP:?}; last try: {last}\nits log:\n{}",
                self.name,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn signal(&self, signal: i32) {
        // SAFETY: kill has no memory preconditions; the group is our child's.
        unsafe {
            libc::kill(-(self.child.id() as i32), signal);
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.signal(self.stop_signal);
        let deadline = Instant::now() + SHUTDOWN;
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        self.signal(libc::SIGKILL);
        let _ = self.child.wait();
    }
}
