//! Real PostgreSQL and MariaDB servers on 127.0.0.1 that check RDS IAM
//! tokens where RDS does: on the server, through PAM.
//!
//! Each server hands the password to its own PAM service, a file
//! `/etc/pam.d/rds-auth-token-<pid>-<n>-<db>` written here and removed
//! afterwards:
//!
//! ```text
//! auth    required pam_exec.so expose_authtok quiet /usr/bin/python3 <dir>/verify_token.py <dir>/verifier-<db>.conf
//! account required pam_permit.so
//! ```
//!
//! `tests/servers/verify_token.py` recomputes the SigV4 signature with
//! Python's hmac and hashlib (nothing from the code under test), checks the
//! user, endpoint, region and expiry, and logs each decision with its reason.
//!
//! - PostgreSQL: `initdb` in a temporary directory, listening only on
//!   127.0.0.1 with `ssl = on`. `pg_hba.conf` has two lines: members of role
//!   `rds_iam` (the IAM user) over TLS from 127.0.0.1 with `pam`, and the
//!   setup superuser over the Unix socket in the temporary directory. Nothing
//!   else matches, so a login without TLS is refused before PAM is asked.
//! - MariaDB: `mariadbd` bound to 127.0.0.1 with TLS on, the `auth_pam_v1`
//!   plugin and `pam_use_cleartext_plugin=ON`, so the client must send the
//!   token in clear text as RDS for MySQL requires; the IAM user is
//!   `IDENTIFIED VIA pam USING '<service>' REQUIRE SSL`.
//!
//! Both present one certificate, issued by a test CA made here with openssl
//! ([`Servers::ca_cert`]), naming IP 127.0.0.1 and DNS [`TUNNEL_HOST`] (as an
//! RDS endpoint reached through a tunnel); a second test CA
//! ([`Servers::wrong_ca_cert`]) issued nothing they present. The verifier
//! also accepts tokens signed for [`TUNNEL_HOST`] in [`TUNNEL_REGION`].
//!
//! Run as root, the servers run as the system user `rdsauthtest` (created
//! when missing). Otherwise they run as the current user, and the PAM files
//! are written and removed with `sudo -n`.
//!
//! [`shared`] starts one pair per test binary; a watcher process stops and
//! removes it once the binary has exited. [`Servers::start`] gives a pair that
//! is stopped and removed on drop. Start-up waits at most [`STARTUP`](super::daemon::STARTUP). A
//! missing server, client or permission fails the test and says what to
//! install; it never skips.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use sha2::{Digest, Sha256};

use super::daemon::Process;
use super::{in_ci, Run, TestEnv, ACCESS_KEY, SECRET_KEY};

/// The only address the servers listen on, and the endpoint the verifier
/// expects in a token.
pub const HOST: &str = "127.0.0.1";
/// The region the verifier expects.
pub const REGION: &str = "eu-central-1";
/// The RDS endpoint name the servers' certificate also carries (beside the
/// IP address 127.0.0.1), as a database reached through a tunnel presents
/// it; the verifier accepts tokens for it signed for [`TUNNEL_REGION`].
pub const TUNNEL_HOST: &str = "mydb.xxx.us-east-1.rds.amazonaws.com";
/// An Aurora DSQL cluster endpoint name the PostgreSQL server's
/// certificate also carries, and whose DSQL tokens the verifier checks:
/// the role `admin` needs the admin token, [`IAM_USER`] the connect token.
pub const DSQL_HOST: &str = "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws";

/// The region in [`TUNNEL_HOST`].
pub const TUNNEL_REGION: &str = "us-east-1";
/// The database user that logs in with a token, in both servers.
pub const IAM_USER: &str = "iam_user";

/// A PostgreSQL database [`IAM_USER`] owns, where it may create tables.
pub const BENCH_DATABASE: &str = "bench";
use super::daemon::SHUTDOWN;
/// The system user the servers run as when the tests run as root.
pub const SERVICE_USER: &str = "rdsauthtest";
/// The PostgreSQL superuser made by initdb, reachable only over the socket.
const SETUP_ROLE: &str = "rdsauth_setup";
/// The interpreter for the verifier: the system one, readable by any user.
const PYTHON: &str = "/usr/bin/python3";
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// One of the two servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Postgres,
    Mariadb,
}

impl Db {
    pub const BOTH: [Db; 2] = [Db::Postgres, Db::Mariadb];

    fn name(self) -> &'static str {
        match self {
            Db::Postgres => "postgres",
            Db::Mariadb => "mariadb",
        }
    }

    /// What the client prints when the server refuses the IAM user's login
    /// because PAM said no: PostgreSQL names PAM, MariaDB (like RDS for
    /// MySQL) only says "Access denied".
    pub fn pam_refusal(self) -> String {
        match self {
            Db::Postgres => format!("FATAL:  PAM authentication failed for user \"{IAM_USER}\""),
            Db::Mariadb => {
                format!("ERROR 1045 (28000): Access denied for user '{IAM_USER}'@'{HOST}'")
            }
        }
    }
}

/// The start of the SHA-256 of a password, as the verifier logs it.
pub fn fingerprint(password: &str) -> String {
    Sha256::digest(password.as_bytes())
        .iter()
        .take(8)
        .fold(String::new(), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// One line of the verifier's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub accepted: bool,
    pub service: String,
    pub user: String,
    pub token_sha256: String,
    pub reason: String,
}

impl Decision {
    fn parse(line: &str) -> Option<Decision> {
        let (head, reason) = line.split_once(" reason=")?;
        let mut fields = head.split(' ').skip(1);
        let accepted = match fields.next()? {
            "ACCEPT" => true,
            "REJECT" => false,
            _ => return None,
        };
        let mut field = |key: &str| fields.next()?.strip_prefix(key).map(str::to_owned);
        let service = field("service=")?;
        let user = field("user=")?;
        let _rhost = field("rhost=")?;
        let token_sha256 = field("token_sha256=")?;
        Some(Decision {
            accepted,
            service,
            user,
            token_sha256,
            reason: reason.to_owned(),
        })
    }
}

/// A login attempt: the client's run, and the verifier's decisions logged
/// for that server while it ran (logins to one server do not overlap).
pub struct Login {
    pub db: Db,
    pub run: Run,
    pub decisions: Vec<Decision>,
    /// The end of the server's log after the attempt, shown on failure.
    server_log: String,
}

impl Login {
    #[track_caller]
    fn fail(&self, why: &str) -> ! {
        let mut decisions = String::new();
        for d in &self.decisions {
            let _ = writeln!(decisions, "  {d:?}");
        }
        if decisions.is_empty() {
            decisions.push_str("  (none)\n");
        }
        self.run.fail(&format!(
            "{} login: {why}\nverifier decisions during the login:\n{decisions}\
             end of the server's log:\n{}\n",
            self.db.name(),
            self.server_log
        ))
    }

    /// The one decision logged during the login, which must be for `token`.
    #[track_caller]
    fn only_decision(&self, token: Option<&str>) -> &Decision {
        let [decision] = self.decisions.as_slice() else {
            self.fail("expected exactly one verifier decision");
        };
        if let Some(token) = token {
            if decision.token_sha256 != fingerprint(token) {
                self.fail("the verifier's decision is not for the token sent");
            }
        }
        if decision.user != IAM_USER {
            self.fail(&format!("the verifier checked user {:?}", decision.user));
        }
        decision
    }

    /// The client succeeded and printed exactly `stdout`, and the verifier
    /// accepted `token` (when given: a shell recipe makes its own) once.
    #[track_caller]
    pub fn logged_in(&self, token: Option<&str>, stdout: &str) -> &Self {
        self.run.success().stdout_is(stdout);
        if !self.only_decision(token).accepted {
            self.fail("the verifier refused the token, yet the login succeeded");
        }
        self
    }

    /// The client failed with the server's PAM refusal, and the verifier
    /// refused `token` once, for a reason that contains `reason`.
    #[track_caller]
    pub fn refused_by_pam(&self, token: &str, reason: &str) -> &Self {
        if self.run.output.status.success() {
            self.fail("expected the login to be refused");
        }
        if !self.run.stderr().contains(&self.db.pam_refusal()) {
            self.fail(&format!(
                "expected the client to show {:?}",
                self.db.pam_refusal()
            ));
        }
        let decision = self.only_decision(Some(token));
        if decision.accepted {
            self.fail("the verifier accepted the token");
        }
        if !decision.reason.contains(reason) {
            self.fail(&format!(
                "expected the refusal's reason to contain {reason:?}"
            ));
        }
        self
    }

    /// The client failed and its stderr contains `message`.
    #[track_caller]
    pub fn refused_with(&self, message: &str) -> &Self {
        if self.run.output.status.success() {
            self.fail("expected the login to be refused");
        }
        if !self.run.stderr().contains(message) {
            self.fail(&format!("expected the client to show {message:?}"));
        }
        self
    }

    /// The verifier accepted the one token it was asked about (a shell
    /// recipe makes its own).
    #[track_caller]
    pub fn accepted_once(&self) -> &Self {
        if !self.only_decision(None).accepted {
            self.fail("expected the verifier to accept the token");
        }
        self
    }

    /// The verifier was never asked.
    #[track_caller]
    pub fn without_asking_the_verifier(&self) -> &Self {
        if !self.decisions.is_empty() {
            self.fail("expected no verifier decision");
        }
        self
    }

    /// The verifier accepted `token` once (the refusal came from elsewhere).
    #[track_caller]
    pub fn after_the_verifier_accepted(&self, token: &str) -> &Self {
        if !self.only_decision(Some(token)).accepted {
            self.fail("expected the verifier to accept the token");
        }
        self
    }
}

/// Who the servers run as.
enum Owner {
    /// The tests run as root; the servers run as [`SERVICE_USER`].
    Service { uid: u32, gid: u32 },
    /// The tests run as an ordinary user, who also runs the servers; the
    /// root-only steps (files in /etc/pam.d) go through `sudo -n`.
    Me,
}

impl Owner {
    fn detect() -> Result<Owner, String> {
        if output_of(Command::new("id").arg("-u"))?.trim() != "0" {
            return Ok(Owner::Me);
        }
        if passwd_entry(SERVICE_USER).is_none() {
            // Another test binary may be creating it at the same moment;
            // only its absence afterwards is an error.
            let _ = Command::new("useradd")
                .args(["--system", "--user-group", "--no-create-home"])
                .args(["--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin"])
                .arg(SERVICE_USER)
                .env("PATH", PATH)
                .output();
        }
        let (uid, gid) = passwd_entry(SERVICE_USER).ok_or_else(|| {
            format!(
                "the tests run as root, and the servers need the system user {SERVICE_USER}, \
                 which could not be created: useradd --system --user-group {SERVICE_USER}"
            )
        })?;
        Ok(Owner::Service { uid, gid })
    }

    /// `program`, run as the servers' owner in a clean environment.
    fn command(&self, program: impl AsRef<std::ffi::OsStr>, dir: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", PATH)
            .env("LC_ALL", "C")
            .current_dir(dir)
            .stdin(Stdio::null());
        if let Owner::Service { uid, gid } = self {
            cmd.uid(*uid).gid(*gid);
        }
        cmd
    }

    /// Hands `path` to the servers' owner.
    fn give(&self, path: &Path) -> Result<(), String> {
        match self {
            Owner::Service { uid, gid } => std::os::unix::fs::chown(path, Some(*uid), Some(*gid))
                .map_err(|err| format!("chown {}: {err}", path.display())),
            Owner::Me => Ok(()),
        }
    }

    /// Writes `contents` to the root-owned `path`, mode 0644.
    fn write_system_file(&self, path: &Path, staged: &Path) -> Result<(), String> {
        match self {
            Owner::Service { .. } => fs::copy(staged, path)
                .map(drop)
                .map_err(|err| format!("write {}: {err}", path.display())),
            Owner::Me => run_checked(
                Command::new("sudo")
                    .args(["-n", "install", "-m", "0644"])
                    .arg(staged)
                    .arg(path),
                "sudo -n install (writing /etc/pam.d needs root or passwordless sudo)",
            )
            .map(drop),
        }
    }

    fn remove_system_file(&self, path: &Path) {
        match self {
            Owner::Service { .. } => {
                let _ = fs::remove_file(path);
            }
            Owner::Me => {
                let _ = Command::new("sudo")
                    .args(["-n", "rm", "-f", "--"])
                    .arg(path)
                    .stdin(Stdio::null())
                    .output();
            }
        }
    }

    fn sudo(&self) -> &'static str {
        match self {
            Owner::Service { .. } => "",
            Owner::Me => "sudo -n ",
        }
    }
}

/// uid and gid of `user` from /etc/passwd.
/// The uid and gid of `user`, from /etc/passwd.
pub fn passwd_entry(user: &str) -> Option<(u32, u32)> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() > 3 && fields[0] == user)
            .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
            .flatten()
    })
}

/// The programs the servers need.
struct Tools {
    openssl: PathBuf,
    pg_bin: PathBuf,
    mariadbd: PathBuf,
    install_db: PathBuf,
    mariadb_client: PathBuf,
}

impl Tools {
    fn find() -> Result<Tools, String> {
        if !Path::new(PYTHON).is_file() {
            return Err(missing(PYTHON, "python3"));
        }
        let openssl = find_program(&["openssl"], &["/usr/bin"])
            .ok_or_else(|| missing("openssl", "openssl"))?;
        let pg_bin = postgres_bin_dir()
            .ok_or_else(|| missing("the PostgreSQL server (postgres, initdb)", "postgresql"))?;
        let mariadbd = find_program(&["mariadbd"], &["/usr/sbin", "/usr/libexec"])
            .ok_or_else(|| missing("the MariaDB server (mariadbd)", "mariadb-server"))?;
        let version = output_of(Command::new(&mariadbd).arg("--version"))?;
        if !version.contains("MariaDB") {
            return Err(format!(
                "{} is not MariaDB ({}); the PAM login needs MariaDB's auth_pam",
                mariadbd.display(),
                version.trim()
            ));
        }
        let install_db = find_program(&["mariadb-install-db", "mysql_install_db"], &["/usr/bin"])
            .ok_or_else(|| missing("mariadb-install-db", "mariadb-server"))?;
        let mariadb_client = mariadb_client()?;
        Ok(Tools {
            openssl,
            pg_bin,
            mariadbd,
            install_db,
            mariadb_client,
        })
    }
}

fn missing(what: &str, package: &str) -> String {
    format!("{what} not found: install {package} (bash scripts/test installs it)")
}

/// The newest `/usr/lib/postgresql/<version>/bin` (Debian, Ubuntu), else
/// the folder of `postgres` on PATH.
fn postgres_bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("postgres").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .or_else(|| Some(find_program(&["postgres"], &[])?.parent()?.to_owned()))
        .filter(|bin| bin.join("initdb").is_file())
}

/// The first of `names` in `dirs` or on PATH.
fn find_program(names: &[&str], dirs: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let search: Vec<PathBuf> = dirs
        .iter()
        .map(PathBuf::from)
        .chain(std::env::split_paths(&path))
        .collect();
    names
        .iter()
        .flat_map(|name| search.iter().map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// `psql` on PATH, as a user would run it.
pub fn psql_client() -> Result<PathBuf, String> {
    find_program(&["psql"], &[]).ok_or_else(|| missing("psql", "postgresql-client"))
}

/// The MariaDB client on PATH: `mariadb`, else `mysql` if that is MariaDB's.
pub fn mariadb_client() -> Result<PathBuf, String> {
    let client = find_program(&["mariadb", "mysql"], &[])
        .ok_or_else(|| missing("the MariaDB client (mariadb)", "mariadb-client"))?;
    let version = output_of(Command::new(&client).arg("--version"))?;
    if !version.contains("MariaDB") {
        return Err(format!(
            "{} is not the MariaDB client ({}): install mariadb-client",
            client.display(),
            version.trim()
        ));
    }
    Ok(client)
}

/// Runs `cmd`; its stdout, or an error with everything it printed.
fn run_checked(cmd: &mut Command, what: &str) -> Result<String, String> {
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|err| format!("{what}: cannot run {:?}: {err}", cmd.get_program()))?;
    if !output.status.success() {
        return Err(format!(
            "{what} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn output_of(cmd: &mut Command) -> Result<String, String> {
    let what = format!("{:?}", cmd.get_program());
    run_checked(cmd, &what)
}

fn sh_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

/// A running server: its process ([`Process`]: own process group, log,
/// bounded start-up wait, stop on drop), its port, and the file it removes
/// when it has shut down (for the clean-up watcher).
struct Server {
    port: u16,
    process: Process,
    pid_file: PathBuf,
}

impl Server {
    fn spawn(
        name: &str,
        cmd: Command,
        port: u16,
        pid_file: PathBuf,
        log: PathBuf,
        stop_signal: i32,
    ) -> Result<Self, String> {
        Ok(Server {
            port,
            process: Process::spawn(name, cmd, log, true, stop_signal)?,
            pid_file,
        })
    }
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A PostgreSQL and a MariaDB server, each checking tokens through PAM.
pub struct Servers {
    dir: PathBuf,
    owner: Owner,
    /// The PAM service name stem; each server's is `<stem>-<db>`.
    pam_stem: String,
    pam_files: Vec<PathBuf>,
    postgres: Option<Server>,
    mariadb: Option<Server>,
    /// Logins to one server are serialised, so that the log lines written
    /// during one belong to it.
    logins: [Mutex<()>; 2],
    /// PostgreSQL's max_connections.
    max_connections: u32,
}

/// PostgreSQL's max_connections for the tests' servers: room for the
/// proxies' kept server connections beside every other test's logins.
const MAX_CONNECTIONS: u32 = 60;

/// The servers for this test binary, started on first use. A watcher
/// process stops them and removes their files after the binary exits.
#[track_caller]
pub fn shared() -> &'static Servers {
    static SHARED: OnceLock<Result<Servers, String>> = OnceLock::new();
    let servers = SHARED.get_or_init(|| {
        let servers = Servers::try_start(MAX_CONNECTIONS)?;
        servers.clean_up_after_exit()?;
        Ok(servers)
    });
    match servers {
        Ok(servers) => servers,
        Err(err) => panic!("{}", failure(err)),
    }
}

fn failure(err: &str) -> String {
    format!(
        "the real PostgreSQL and MariaDB servers could not be started: {err}{}",
        if in_ci() {
            "\n(CI=true, so this is a failure, not a skip)"
        } else {
            ""
        }
    )
}

impl Servers {
    /// Starts both servers; they stop and their files go when this drops.
    #[track_caller]
    pub fn start() -> Servers {
        Servers::start_sized(MAX_CONNECTIONS)
    }

    /// [`start`](Self::start), with PostgreSQL taking up to
    /// `max_connections` connections (the benchmarks hold hundreds open).
    #[track_caller]
    pub fn start_sized(max_connections: u32) -> Servers {
        Servers::try_start(max_connections).unwrap_or_else(|err| panic!("{}", failure(&err)))
    }

    fn try_start(max_connections: u32) -> Result<Servers, String> {
        let tools = Tools::find()?;
        let owner = Owner::detect()?;
        let dir = tempfile::Builder::new()
            .prefix("rds-auth-token-servers.")
            .tempdir()
            .map_err(|err| format!("temporary directory: {err}"))?
            .keep();
        let mut servers = Servers {
            dir,
            owner,
            pam_stem: format!(
                "rds-auth-token-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ),
            pam_files: Vec::new(),
            postgres: None,
            mariadb: None,
            logins: [Mutex::new(()), Mutex::new(())],
            max_connections,
        };
        // From here on, dropping `servers` removes whatever has been made.
        servers.prepare(&tools)?;
        let [pg_port, my_port] = super::ports::free_n();
        servers.configure_verifier(Db::Postgres, pg_port)?;
        servers.configure_verifier(Db::Mariadb, my_port)?;
        let (postgres, mariadb) = std::thread::scope(|scope| {
            let postgres = scope.spawn(|| servers.spawn_postgres(&tools, pg_port));
            let mariadb = servers.spawn_mariadb(&tools, my_port);
            (postgres.join().expect("postgres start-up thread"), mariadb)
        });
        // Keep whichever started, so that drop stops it, then report errors.
        let mut errors = Vec::new();
        match postgres {
            Ok(server) => servers.postgres = Some(server),
            Err(err) => errors.push(err),
        }
        match mariadb {
            Ok(server) => servers.mariadb = Some(server),
            Err(err) => errors.push(err),
        }
        if !errors.is_empty() {
            return Err(errors.join("\n"));
        }
        servers.set_up_postgres(&tools)?;
        servers.set_up_mariadb(&tools)?;
        Ok(servers)
    }

    /// The address the servers listen on, `127.0.0.1`.
    pub fn host(&self) -> &'static str {
        HOST
    }

    /// The region the verifier expects.
    pub fn region(&self) -> &'static str {
        REGION
    }

    /// The database user that logs in with a token.
    pub fn user(&self) -> &'static str {
        IAM_USER
    }

    /// The access key and secret key the verifier checks signatures with:
    /// the harness's [`ACCESS_KEY`] and [`SECRET_KEY`]
    /// (`TestEnv::with_env_keys`).
    pub fn keys(&self) -> (&'static str, &'static str) {
        (ACCESS_KEY, SECRET_KEY)
    }

    /// The port a server listens on.
    pub fn port(&self, db: Db) -> u16 {
        self.server(db).port
    }

    /// The test CA that issued the certificate both servers present (CN
    /// 127.0.0.1; names IP 127.0.0.1 and DNS [`TUNNEL_HOST`]), for clients
    /// that verify it.
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// Another test CA, which issued no certificate the servers present.
    pub fn wrong_ca_cert(&self) -> PathBuf {
        self.dir.join("wrong-ca.pem")
    }

    /// The temporary directory that holds the data, configuration and logs.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The PAM service files written to /etc/pam.d.
    pub fn pam_files(&self) -> &[PathBuf] {
        &self.pam_files
    }

    /// Everything the verifier has logged so far.
    pub fn verifier_log(&self) -> String {
        fs::read_to_string(self.verifier_log_path()).unwrap_or_default()
    }

    /// A server's own log: what it wrote on stdout and stderr.
    pub fn server_log(&self, db: Db) -> String {
        self.server(db).process.log()
    }

    /// Runs `attempt` as the only login to `db` at the time, and collects
    /// the verifier's decisions for `db` made meanwhile.
    pub fn login(&self, db: Db, attempt: impl FnOnce() -> Run) -> Login {
        let index = Db::BOTH.iter().position(|&d| d == db).unwrap();
        let _guard = self.logins[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let start = fs::metadata(self.verifier_log_path()).map_or(0, |m| m.len() as usize);
        let run = attempt();
        let log = fs::read(self.verifier_log_path()).unwrap_or_default();
        let service = self.pam_service(db);
        let decisions = String::from_utf8_lossy(log.get(start..).unwrap_or_default())
            .lines()
            .filter_map(Decision::parse)
            .filter(|d| d.service == service)
            .collect();
        Login {
            db,
            run,
            decisions,
            server_log: self.server(db).process.log_tail(),
        }
    }

    /// `psql -w -X ARGS` (the `psql` on PATH) in `env`, as a login to
    /// PostgreSQL.
    pub fn psql(&self, env: &TestEnv, args: &[&str]) -> Login {
        let psql = psql_client().unwrap_or_else(|err| panic!("{}", failure(&err)));
        self.login(Db::Postgres, || {
            env.run_program(psql, ["-w", "-X"].iter().chain(args))
        })
    }

    /// `mariadb --no-defaults ARGS` (the MariaDB client on PATH) in `env`,
    /// as a login to MariaDB.
    pub fn mariadb(&self, env: &TestEnv, args: &[&str]) -> Login {
        let client = mariadb_client().unwrap_or_else(|err| panic!("{}", failure(&err)));
        self.login(Db::Mariadb, || {
            env.run_program(client, ["--no-defaults"].iter().chain(args))
        })
    }

    /// The libpq connection string for the IAM user with `sslmode`.
    pub fn postgres_conninfo(&self, sslmode: &str) -> String {
        format!(
            "host={HOST} port={} user={IAM_USER} dbname=postgres sslmode={sslmode}",
            self.port(Db::Postgres)
        )
    }

    /// Logs in as the IAM user with `password` (in PGPASSWORD) and
    /// `sslmode`, and runs `select current_user`.
    pub fn psql_login(&self, password: &str, sslmode: &str) -> Login {
        let mut env = TestEnv::new();
        env.env("PGPASSWORD", password);
        self.psql(
            &env,
            &[
                "-A",
                "-t",
                &self.postgres_conninfo(sslmode),
                "-c",
                "select current_user",
            ],
        )
    }

    /// Logs in as the IAM user with `password` and the client's TLS
    /// options `tls`, and runs `select current_user()`.
    pub fn mariadb_login(&self, password: &str, tls: &[&str]) -> Login {
        let env = TestEnv::new();
        let port = format!("--port={}", self.port(Db::Mariadb));
        let password = format!("--password={password}");
        let mut args = vec![
            "--host",
            HOST,
            &port,
            "--user",
            IAM_USER,
            &password,
            "-N",
            "-B",
            "-e",
            "select current_user()",
        ];
        args.extend_from_slice(tls);
        self.mariadb(&env, &args)
    }

    fn server(&self, db: Db) -> &Server {
        match db {
            Db::Postgres => self.postgres.as_ref(),
            Db::Mariadb => self.mariadb.as_ref(),
        }
        .expect("the server is running")
    }

    fn pam_service(&self, db: Db) -> String {
        format!("{}-{}", self.pam_stem, db.name())
    }

    fn verifier_log_path(&self) -> PathBuf {
        self.dir.join("verifier.log")
    }

    fn verifier(&self) -> PathBuf {
        self.dir.join("verify_token.py")
    }

    fn verifier_config(&self, db: Db) -> PathBuf {
        self.dir.join(format!("verifier-{}.conf", db.name()))
    }

    /// Owns the directory, copies the verifier in, makes the log and the
    /// TLS certificate.
    fn prepare(&self, tools: &Tools) -> Result<(), String> {
        let io = |what: &Path| {
            let what = what.display().to_string();
            move |err: std::io::Error| format!("{what}: {err}")
        };
        fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700)).map_err(io(&self.dir))?;
        self.owner.give(&self.dir)?;

        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/servers/verify_token.py");
        fs::copy(&source, self.verifier()).map_err(io(&source))?;
        fs::set_permissions(self.verifier(), fs::Permissions::from_mode(0o644))
            .map_err(io(&self.verifier()))?;
        self.owner.give(&self.verifier())?;

        let log = self.verifier_log_path();
        File::create(&log).map_err(io(&log))?;
        fs::set_permissions(&log, fs::Permissions::from_mode(0o600)).map_err(io(&log))?;
        self.owner.give(&log)?;

        // Two certificate authorities: the one that issues the servers'
        // certificate, and another that issued nothing here.
        for (name, cn) in [("ca", "test CA"), ("wrong-ca", "wrong test CA")] {
            run_checked(
                Command::new(&tools.openssl)
                    .args(["req", "-x509", "-newkey", "ec"])
                    .args(["-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
                    .args(["-days", "2", "-subj", &format!("/CN=rds-auth-token {cn}")])
                    .args(["-addext", "basicConstraints=critical,CA:TRUE"])
                    .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"])
                    .arg("-keyout")
                    .arg(self.dir.join(format!("{name}-key.pem")))
                    .arg("-out")
                    .arg(self.dir.join(format!("{name}.pem"))),
                "openssl req (a test CA)",
            )?;
        }
        let (key, csr, cert) = (
            self.dir.join("key.pem"),
            self.dir.join("server.csr"),
            self.dir.join("cert.pem"),
        );
        run_checked(
            Command::new(&tools.openssl)
                .args(["req", "-new", "-newkey", "ec"])
                .args(["-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
                .args(["-subj", "/CN=127.0.0.1"])
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&csr),
            "openssl req (the servers' key)",
        )?;
        let extensions = self.dir.join("server.ext");
        fs::write(
            &extensions,
            format!(
                "subjectAltName=IP:127.0.0.1,DNS:{TUNNEL_HOST},DNS:{DSQL_HOST}\n\
                 basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
            ),
        )
        .map_err(io(&extensions))?;
        run_checked(
            Command::new(&tools.openssl)
                .args(["x509", "-req", "-days", "2", "-set_serial", "2"])
                .arg("-in")
                .arg(&csr)
                .arg("-CA")
                .arg(self.ca_cert())
                .arg("-CAkey")
                .arg(self.dir.join("ca-key.pem"))
                .arg("-extfile")
                .arg(&extensions)
                .arg("-out")
                .arg(&cert),
            "openssl x509 (the servers' certificate, issued by the test CA)",
        )?;
        fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).map_err(io(&key))?;
        self.owner.give(&key)?;
        self.owner.give(&cert)
    }

    /// Writes the verifier's configuration for `db` and its PAM service,
    /// then checks that the verifier runs as the servers' owner.
    fn configure_verifier(&mut self, db: Db, port: u16) -> Result<(), String> {
        let config = self.verifier_config(db);
        let text = format!(
            "# The endpoint and keys tokens for the {} server must be signed for.\n\
             host = {HOST}\nport = {port}\nregion = {REGION}\n\
             alias_host = {TUNNEL_HOST}\nalias_region = {TUNNEL_REGION}\n\
             dsql_host = {DSQL_HOST}\ndsql_region = {TUNNEL_REGION}\n\
             access_key = {ACCESS_KEY}\nsecret_key = {SECRET_KEY}\nlog = {}\n",
            db.name(),
            self.verifier_log_path().display()
        );
        fs::write(&config, text).map_err(|err| format!("{}: {err}", config.display()))?;
        fs::set_permissions(&config, fs::Permissions::from_mode(0o600))
            .map_err(|err| format!("{}: {err}", config.display()))?;
        self.owner.give(&config)?;

        let service = self.pam_service(db);
        let staged = self.dir.join(format!("pam-{}", db.name()));
        let pam = format!(
            "# rds-auth-token tests: the {} server's token check; removed after the tests.\n\
             auth    required pam_exec.so expose_authtok quiet {PYTHON} {} {}\n\
             account required pam_permit.so\n",
            db.name(),
            self.verifier().display(),
            config.display()
        );
        fs::write(&staged, pam).map_err(|err| format!("{}: {err}", staged.display()))?;
        let target = Path::new("/etc/pam.d").join(&service);
        self.pam_files.push(target.clone());
        self.owner.write_system_file(&target, &staged)?;

        // Run the verifier once as the servers will, so that a missing
        // interpreter or an unreadable file shows here, not as a refused login.
        let mut check = self.owner.command(PYTHON, &self.dir);
        check
            .arg(self.verifier())
            .arg(&config)
            .env("PAM_TYPE", "auth")
            .env("PAM_USER", IAM_USER)
            .env("PAM_SERVICE", format!("{service}-self-check"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = check
            .spawn()
            .map_err(|err| format!("cannot run the verifier with {PYTHON}: {err}"))?;
        let _ = child.stdin.take().unwrap().write_all(b"not a token");
        let output = child.wait_with_output().map_err(|err| err.to_string())?;
        let logged = self.verifier_log();
        if output.status.code() != Some(1)
            || !logged.contains(&format!("REJECT service={service}-self-check "))
        {
            return Err(format!(
                "the verifier did not run as the servers will ({}):\n{}\nits log:\n{logged}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        Ok(())
    }

    fn spawn_postgres(&self, tools: &Tools, port: u16) -> Result<Server, String> {
        let data = self.dir.join("postgres");
        run_checked(
            self.owner
                .command(tools.pg_bin.join("initdb"), &self.dir)
                .arg("-D")
                .arg(&data)
                .args(["-U", SETUP_ROLE, "--auth=trust", "--no-sync"])
                .args(["-E", "UTF8", "--locale=C"]),
            "initdb",
        )?;
        let dir = self.dir.display();
        let conf = format!(
            "\n# rds-auth-token tests\n\
             listen_addresses = '{HOST}'\n\
             port = {port}\n\
             unix_socket_directories = '{dir}'\n\
             unix_socket_permissions = 0700\n\
             ssl = on\n\
             ssl_cert_file = '{dir}/cert.pem'\n\
             ssl_key_file = '{dir}/key.pem'\n\
             fsync = off\n\
             synchronous_commit = off\n\
             full_page_writes = off\n\
             shared_buffers = 16MB\n\
             max_connections = {}\n",
            self.max_connections
        );
        let append = |path: PathBuf, text: &str| {
            fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .and_then(|mut f| f.write_all(text.as_bytes()))
                .map_err(|err| format!("{}: {err}", path.display()))
        };
        append(data.join("postgresql.conf"), &conf)?;
        let hba = data.join("pg_hba.conf");
        fs::write(
            &hba,
            format!(
                "# rds-auth-token tests: the setup superuser over the socket in the\n\
                 # temporary directory, and members of rds_iam over TLS from {HOST},\n\
                 # checked by PAM. Nothing else matches: no TLS, no login.\n\
                 local    all  {SETUP_ROLE}                   trust\n\
                 hostssl  all  +rds_iam     {HOST}/32   pam pamservice={}\n",
                self.pam_service(Db::Postgres)
            ),
        )
        .map_err(|err| format!("{}: {err}", hba.display()))?;
        let mut cmd = self.owner.command(tools.pg_bin.join("postgres"), &self.dir);
        cmd.arg("-D").arg(&data);
        // SIGINT is PostgreSQL's fast shutdown.
        Server::spawn(
            "postgres",
            cmd,
            port,
            data.join("postmaster.pid"),
            self.dir.join("postgres.log"),
            libc::SIGINT,
        )
    }

    fn setup_psql(&self, tools: &Tools, port: u16) -> Command {
        let mut cmd = Command::new(tools.pg_bin.join("psql"));
        cmd.env_clear()
            .env("PATH", PATH)
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(&self.dir)
            .args(["-p", &port.to_string(), "-U", SETUP_ROLE, "-d", "postgres"]);
        cmd
    }

    fn set_up_postgres(&mut self, tools: &Tools) -> Result<(), String> {
        let port = self.port(Db::Postgres);
        let mut ping = self.setup_psql(tools, port);
        ping.args(["-c", "select 1"]);
        self.postgres
            .as_mut()
            .unwrap()
            .process
            .wait_until(|| run_checked(&mut ping, "psql select 1"))?;
        let ssl = run_checked(
            self.setup_psql(tools, port)
                .args(["-c", "CREATE ROLE rds_iam NOLOGIN"])
                .args([
                    "-c",
                    &format!("CREATE ROLE {IAM_USER} LOGIN IN ROLE rds_iam"),
                ])
                // Aurora DSQL's admin role, for DSQL's admin tokens.
                .args(["-c", "CREATE ROLE admin LOGIN IN ROLE rds_iam"])
                // The database the README's recipes name, and the one
                // libpq picks when a URI names none.
                .args(["-c", "CREATE DATABASE app"])
                .args(["-c", &format!("CREATE DATABASE {IAM_USER}")])
                // A database the IAM user owns, for pgbench's tables.
                .args([
                    "-c",
                    &format!("CREATE DATABASE {BENCH_DATABASE} OWNER {IAM_USER}"),
                ])
                .args(["-c", "SHOW ssl"]),
            "psql (creating the IAM user)",
        )?;
        if ssl.trim() != "on" {
            return Err(format!("PostgreSQL runs with ssl = {}", ssl.trim()));
        }
        Ok(())
    }

    fn spawn_mariadb(&self, tools: &Tools, port: u16) -> Result<Server, String> {
        let data = self.dir.join("mariadb");
        run_checked(
            self.owner
                .command(&tools.install_db, &self.dir)
                .arg("--no-defaults")
                .arg(format!("--datadir={}", data.display()))
                // Its own temporary folder: two installs at once otherwise
                // collide on temporary table names.
                .arg(format!("--tmpdir={}", self.dir.display()))
                .arg("--auth-root-authentication-method=socket")
                .arg(format!("--auth-root-socket-user={}", setup_user()?))
                .arg("--skip-test-db"),
            "mariadb-install-db",
        )?;
        let dir = &self.dir;
        let mut cmd = self.owner.command(&tools.mariadbd, dir);
        cmd.arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--bind-address={HOST}"))
            .arg(format!("--port={port}"))
            .arg(format!("--socket={}", dir.join("mariadb.sock").display()))
            .arg(format!("--pid-file={}", dir.join("mariadb.pid").display()))
            .arg(format!("--tmpdir={}", dir.display()))
            .arg(format!("--ssl-cert={}", dir.join("cert.pem").display()))
            .arg(format!("--ssl-key={}", dir.join("key.pem").display()))
            .arg("--plugin-load-add=auth_pam_v1")
            .arg("--pam-use-cleartext-plugin=ON")
            .args(["--skip-name-resolve", "--skip-log-bin"])
            .arg(format!("--max-connections={}", self.max_connections))
            .arg("--innodb-buffer-pool-size=16M");
        Server::spawn(
            "mariadbd",
            cmd,
            port,
            dir.join("mariadb.pid"),
            dir.join("mariadb.log"),
            libc::SIGTERM,
        )
    }

    /// Runs `sql` on MariaDB as the setup superuser, over its Unix socket:
    /// its output.
    #[track_caller]
    pub fn mariadb_superuser(&self, sql: &str) -> String {
        Tools::find()
            .and_then(|tools| self.setup_mariadb(&tools, sql))
            .unwrap_or_else(|err| panic!("{}", failure(&err)))
    }

    fn setup_mariadb(&self, tools: &Tools, sql: &str) -> Result<String, String> {
        run_checked(
            Command::new(&tools.mariadb_client)
                .env_clear()
                .env("PATH", PATH)
                .arg("--no-defaults")
                .arg(format!(
                    "--socket={}",
                    self.dir.join("mariadb.sock").display()
                ))
                .arg(format!("--user={}", setup_user()?))
                .args(["-N", "-B", "-e", sql]),
            "mariadb (setup over the socket)",
        )
    }

    fn set_up_mariadb(&mut self, tools: &Tools) -> Result<(), String> {
        // Out of `self` while waiting, and back before any error returns,
        // so that drop still stops it.
        let mut server = self.mariadb.take().unwrap();
        let ready = server
            .process
            .wait_until(|| self.setup_mariadb(tools, "select 1"));
        self.mariadb = Some(server);
        ready?;
        let check = self.setup_mariadb(
            tools,
            &format!(
                "CREATE USER '{IAM_USER}'@'%' IDENTIFIED VIA pam USING '{}' REQUIRE SSL; \
                 CREATE DATABASE app; GRANT ALL ON app.* TO '{IAM_USER}'@'%'; \
                 SELECT @@pam_use_cleartext_plugin, @@have_ssl",
                self.pam_service(Db::Mariadb)
            ),
        )?;
        if check.trim() != "1\tYES" {
            return Err(format!(
                "MariaDB runs with pam_use_cleartext_plugin, have_ssl = {}",
                check.trim()
            ));
        }
        Ok(())
    }

    /// Starts a watcher, in its own process group so that Ctrl-C does not
    /// stop it, that waits for this process to exit, then stops the
    /// servers and removes their files.
    fn clean_up_after_exit(&self) -> Result<(), String> {
        let servers: Vec<&Server> = self.postgres.iter().chain(&self.mariadb).collect();
        let mut script = format!(
            "while kill -0 {} 2>/dev/null; do sleep 0.5; done\n",
            std::process::id()
        );
        for s in &servers {
            let _ = writeln!(
                script,
                "kill -{} -{} 2>/dev/null",
                s.process.stop_signal(),
                s.process.group()
            );
        }
        let _ = write!(
            script,
            "i=0\nwhile [ $i -lt {} ] && {{ false",
            SHUTDOWN.as_millis() / 100
        );
        for s in &servers {
            let _ = write!(
                script,
                " || {{ [ -e {} ] && kill -0 -{} 2>/dev/null; }}",
                sh_quote(&s.pid_file),
                s.process.group()
            );
        }
        script.push_str("; }; do sleep 0.1; i=$((i+1)); done\n");
        for s in &servers {
            let _ = writeln!(script, "kill -KILL -{} 2>/dev/null", s.process.group());
        }
        for pam in &self.pam_files {
            let _ = writeln!(script, "{}rm -f -- {}", self.owner.sudo(), sh_quote(pam));
        }
        let _ = writeln!(script, "rm -rf -- {}", sh_quote(&self.dir));
        Command::new("/bin/sh")
            .args(["-c", &script])
            .env_clear()
            .env("PATH", PATH)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map(drop)
            .map_err(|err| format!("cannot start the clean-up watcher: {err}"))
    }
}

/// The OS user that runs the setup clients (MariaDB maps it to an account
/// through unix_socket).
fn setup_user() -> Result<String, String> {
    static USER: OnceLock<Result<String, String>> = OnceLock::new();
    USER.get_or_init(|| output_of(Command::new("id").arg("-un")).map(|u| u.trim().to_owned()))
        .clone()
}

impl Drop for Servers {
    fn drop(&mut self) {
        // Both asked to stop at once, then each waited for.
        let servers: Vec<Server> = self
            .postgres
            .take()
            .into_iter()
            .chain(self.mariadb.take())
            .collect();
        for s in &servers {
            s.process.begin_stop();
        }
        drop(servers);
        for pam in &self.pam_files {
            self.owner.remove_system_file(pam);
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}
