//! The integration-test harness: the real binary in a sealed environment.
//!
//! Every run gets a fresh temporary HOME, an environment cleared of
//! everything but PATH (so the developer's own AWS setup never leaks in), and
//! instance metadata switched off unless a test points it at its own loopback
//! server. A failed assertion prints the command, environment, status, stdout
//! and stderr.
#![allow(dead_code)]

pub mod alone;
#[cfg(target_os = "linux")]
pub mod auth_proxy;
#[cfg(unix)]
pub mod bare_mariadb;
#[cfg(unix)]
pub mod bare_postgres;
#[cfg(unix)]
pub mod daemon;
pub mod faketime;
pub mod http;
pub mod iam;
pub mod jdbc;
pub mod kinds;
pub mod moto;
#[cfg(target_os = "linux")]
pub mod netns;
#[cfg(unix)]
pub mod pg_tls;
#[cfg(unix)]
pub mod pg_wire;
#[cfg(target_os = "linux")]
pub mod pgbouncer;
pub mod ports;
pub mod proxy;
pub mod python;
pub mod readme;
#[cfg(unix)]
pub mod redis;
#[cfg(unix)]
pub mod servers;
pub mod tls;

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
pub const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
pub const RDS_HOST: &str = "mydb.123456789012.us-east-1.rds.amazonaws.com";

/// True when running under CI, where a missing prerequisite is a failure.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| v == "true" || v == "1")
}

/// A sealed environment for running `rds-auth-token`.
pub struct TestEnv {
    home: tempfile::TempDir,
    vars: Vec<(OsString, OsString)>,
    stdin: Option<Vec<u8>>,
}

impl Default for TestEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl TestEnv {
    pub fn new() -> Self {
        let home = tempfile::tempdir().expect("temporary HOME");
        let mut env = TestEnv {
            home,
            vars: Vec::new(),
            stdin: None,
        };
        let home_path = env.home().to_owned();
        env.env("HOME", &home_path);
        env.env("PATH", std::env::var_os("PATH").unwrap_or_default());
        env.env("AWS_EC2_METADATA_DISABLED", "true");
        env
    }

    /// The temporary HOME.
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// Sets (or replaces) an environment variable for every later run.
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Self {
        let key = key.as_ref().to_owned();
        self.vars.retain(|(k, _)| *k != key);
        self.vars.push((key, value.as_ref().to_owned()));
        self
    }

    /// The value of a variable set for the runs, if any.
    pub fn var(&self, key: impl AsRef<OsStr>) -> Option<&OsStr> {
        self.vars
            .iter()
            .find(|(k, _)| k == key.as_ref())
            .map(|(_, v)| v.as_os_str())
    }

    /// Removes an environment variable set earlier.
    pub fn remove_env(&mut self, key: impl AsRef<OsStr>) -> &mut Self {
        self.vars.retain(|(k, _)| k != key.as_ref());
        self
    }

    /// Static keys in the environment.
    pub fn with_env_keys(&mut self) -> &mut Self {
        self.env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    }

    /// Writes `contents` to `relative` under HOME, making folders; returns the path.
    pub fn write(&self, relative: &str, contents: &str) -> PathBuf {
        let path = self.home().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// Writes an executable script under HOME; returns its path.
    #[cfg(unix)]
    pub fn write_script(&self, relative: &str, contents: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.write(relative, contents);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// Feeds `input` to the next runs' stdin.
    pub fn stdin(&mut self, input: impl Into<Vec<u8>>) -> &mut Self {
        self.stdin = Some(input.into());
        self
    }

    /// The command, ready to run, for tests that need more control.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.program(env!("CARGO_BIN_EXE_rds-auth-token"));
        cmd.args(args);
        cmd
    }

    /// Any program, run in this environment (cleared but for its variables,
    /// in HOME): for wrapping the binary in strace and the like.
    pub fn program(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear().current_dir(self.home());
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs the binary with `args` and waits for it.
    pub fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.run_program(env!("CARGO_BIN_EXE_rds-auth-token"), args)
    }

    /// Runs any program (a path, or a name looked up on PATH) with `args` in
    /// this environment and waits for it: for database clients and shell
    /// recipes.
    pub fn run_program<I, S>(&self, program: impl AsRef<OsStr>, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let program = program.as_ref();
        let args: Vec<OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let mut cmd = self.program(program);
        cmd.args(&args);
        cmd.stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|err| panic!("cannot run {program:?}: {err}"));
        if let Some(input) = &self.stdin {
            let mut stdin = child.stdin.take().unwrap();
            let _ = stdin.write_all(input);
        }
        let output = child.wait_with_output().expect("wait for the program");
        let name = Path::new(program)
            .file_name()
            .unwrap_or(program)
            .to_string_lossy();
        let mut described = String::new();
        let _ = write!(described, "command: {name}");
        for a in &args {
            let _ = write!(described, " {a:?}");
        }
        let _ = write!(described, "\nenv:");
        for (k, v) in &self.vars {
            let _ = write!(described, " {}={:?}", k.to_string_lossy(), v);
        }
        Run { described, output }
    }

    /// Runs with the usual flags for [`RDS_HOST`] plus `extra`.
    pub fn run_token(&self, extra: &[&str]) -> Run {
        let mut args = vec![
            "--hostname",
            RDS_HOST,
            "--port",
            "5432",
            "--username",
            "jane_doe",
        ];
        args.extend_from_slice(extra);
        self.run(args)
    }
}

/// A finished run, with assertions that print everything on failure.
pub struct Run {
    described: String,
    pub output: Output,
}

impl Run {
    /// The run of a command a test started itself (as another user, say).
    pub fn of(described: impl Into<String>, output: Output) -> Run {
        Run {
            described: described.into(),
            output,
        }
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    #[track_caller]
    pub fn fail(&self, why: &str) -> ! {
        panic!(
            "{why}\n{}\nstatus: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.described,
            self.output.status,
            self.stdout(),
            self.stderr()
        )
    }

    /// Exit status 0.
    #[track_caller]
    pub fn success(&self) -> &Self {
        if !self.output.status.success() {
            self.fail("expected success");
        }
        self
    }

    /// Exit status `code`, nothing on stdout, one line on stderr that starts
    /// with `rds-auth-token: error: `, no panic.
    #[track_caller]
    pub fn fails_with(&self, code: i32) -> &Self {
        if self.code() != Some(code) {
            self.fail(&format!("expected exit status {code}"));
        }
        if !self.output.stdout.is_empty() {
            self.fail("expected an empty stdout");
        }
        let stderr = self.stderr();
        if stderr.contains("panicked") || stderr.contains("RUST_BACKTRACE") {
            self.fail("the program panicked");
        }
        if !stderr.starts_with("rds-auth-token: error: ") || stderr.lines().count() != 1 {
            self.fail("expected one line on stderr starting 'rds-auth-token: error: '");
        }
        self
    }

    #[track_caller]
    pub fn stdout_is(&self, expected: &str) -> &Self {
        if self.stdout() != expected {
            self.fail(&format!("expected stdout to be exactly {expected:?}"));
        }
        self
    }

    #[track_caller]
    pub fn stderr_contains(&self, needle: &str) -> &Self {
        if !self.stderr().contains(needle) {
            self.fail(&format!("expected stderr to contain {needle:?}"));
        }
        self
    }

    #[track_caller]
    pub fn stderr_is(&self, expected: &str) -> &Self {
        if self.stderr() != expected {
            self.fail(&format!("expected stderr to be exactly {expected:?}"));
        }
        self
    }

    #[track_caller]
    pub fn stderr_lacks(&self, needle: &str) -> &Self {
        if self.stderr().contains(needle) {
            self.fail(&format!("stderr must not contain {needle:?}"));
        }
        self
    }

    /// The token: stdout is exactly one line, the token, and a newline.
    #[track_caller]
    pub fn token(&self) -> Token {
        self.success();
        let stdout = self.stdout();
        match stdout.strip_suffix('\n') {
            Some(token) if !token.contains('\n') && !token.is_empty() => Token(token.to_owned()),
            _ => self.fail("expected stdout to be one token and one newline"),
        }
    }
}

/// A token as printed, with accessors for its query parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token(pub String);

impl Token {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The raw (still percent-encoded) value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        let query = self.0.split_once('?')?.1;
        query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (k == name).then_some(v)
        })
    }

    /// The access key id in X-Amz-Credential.
    pub fn access_key(&self) -> &str {
        let credential = self.param("X-Amz-Credential").expect("X-Amz-Credential");
        credential.split("%2F").next().unwrap()
    }

    /// The signing region in X-Amz-Credential.
    pub fn region(&self) -> &str {
        let credential = self.param("X-Amz-Credential").expect("X-Amz-Credential");
        credential
            .split("%2F")
            .nth(2)
            .expect("a region in X-Amz-Credential")
    }

    /// The signing time, `YYYYMMDDTHHMMSSZ`.
    pub fn date(&self) -> &str {
        self.param("X-Amz-Date").expect("X-Amz-Date")
    }

    /// The session token, percent-decoded.
    pub fn session_token(&self) -> Option<String> {
        self.param("X-Amz-Security-Token").map(percent_decode)
    }
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// What botocore needs to make a token.
#[derive(Debug, Clone)]
pub struct Case {
    pub hostname: String,
    pub port: u32,
    pub username: String,
    pub region: String,
    pub access_key: String,
    pub secret_key: String,
    pub session_token: Option<String>,
    /// `YYYYMMDDTHHMMSSZ`
    pub timestamp: String,
    /// `None` for botocore's own `generate_db_auth_token`, which always
    /// signs for 900 s; `Some(n)` presigns the same request for `n` seconds.
    pub expires_in: Option<u64>,
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c as u32 >= 0x7f => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_unstring(s: &str) -> String {
    // The reference prints tokens, which are ASCII with no quotes or escapes.
    let inner = s
        .trim()
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .expect("a JSON string");
    assert!(!inner.contains('\\'), "unexpected escape in {s}");
    inner.to_owned()
}

/// Tokens made by botocore (tests/reference/botocore_token.py) for `cases`.
#[track_caller]
pub fn botocore_tokens(cases: &[Case]) -> Vec<String> {
    let script = python::reference("botocore_token.py");
    let mut input = String::new();
    for c in cases {
        let _ = writeln!(
            input,
            "{{\"hostname\":{},\"port\":{},\"username\":{},\"region\":{},\"access_key\":{},\"secret_key\":{},\"session_token\":{},\"timestamp\":{},\"expires_in\":{}}}",
            json_string(&c.hostname),
            c.port,
            json_string(&c.username),
            json_string(&c.region),
            json_string(&c.access_key),
            json_string(&c.secret_key),
            c.session_token.as_deref().map_or("null".to_owned(), json_string),
            json_string(&c.timestamp),
            c.expires_in.map_or("null".to_owned(), |n| n.to_string()),
        );
    }
    let output = python::current().run(&[&script], &input);
    let tokens: Vec<String> = output.lines().map(json_unstring).collect();
    assert_eq!(
        tokens.len(),
        cases.len(),
        "the reference made one token a case"
    );
    tokens
}

/// Checks that `token` is the one botocore makes with `secret_key` (and the
/// token's own access key, session token and signing time): it carries that
/// access key and verifies with that secret.
#[track_caller]
pub fn assert_signed_with(
    token: &Token,
    hostname: &str,
    port: u32,
    username: &str,
    region: &str,
    secret_key: &str,
) {
    let expected = botocore_tokens(&[Case {
        hostname: hostname.to_owned(),
        port,
        username: username.to_owned(),
        region: region.to_owned(),
        access_key: token.access_key().to_owned(),
        secret_key: secret_key.to_owned(),
        session_token: token.session_token(),
        timestamp: token.date().to_owned(),
        // A token cut short to its credentials' expiry is presigned for that.
        expires_in: token
            .param("X-Amz-Expires")
            .filter(|secs| *secs != "900")
            .map(|secs| secs.parse().expect("X-Amz-Expires is a number")),
    }]);
    assert_eq!(
        token.as_str(),
        expected[0],
        "token does not verify with the expected secret key"
    );
}

/// What botocore's own credential cache code says
/// (tests/reference/botocore_cache.py with `args`), trimmed.
#[track_caller]
pub fn botocore_cache(args: &[&str]) -> String {
    let script = python::reference("botocore_cache.py");
    let mut all = vec![script.as_os_str()];
    all.extend(args.iter().map(OsStr::new));
    python::current().run(&all, "").trim().to_owned()
}

/// The cache file botocore's assume-role fetcher uses for `args` (its
/// `extra_args` plus `RoleArn`, as JSON), relative to HOME.
#[track_caller]
pub fn botocore_cache_file(kind: &str, args: &str) -> String {
    format!(
        ".aws/cli/cache/{}.json",
        botocore_cache(&["key", kind, args])
    )
}

/// A cache entry as the AWS CLI writes it, expiring at `expiration`.
pub fn aws_cli_cache_entry(
    access_key: &str,
    secret_key: &str,
    session_token: &str,
    expiration: std::time::SystemTime,
) -> String {
    // botocore writes a datetime with strftime('%Y-%m-%dT%H:%M:%S%Z').
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]UTC");
    let expiration = time::OffsetDateTime::from(expiration)
        .format(&format)
        .unwrap();
    format!(
        "{{\"Credentials\": {{\"AccessKeyId\": \"{access_key}\", \"SecretAccessKey\": \"{secret_key}\", \
         \"SessionToken\": \"{session_token}\", \"Expiration\": \"{expiration}\"}}, \
         \"AssumedRoleUser\": {{\"AssumedRoleId\": \"AROAEXAMPLE:s\", \
         \"Arn\": \"arn:aws:sts::123456789012:assumed-role/db-connect/s\"}}, \
         \"ResponseMetadata\": {{\"HTTPStatusCode\": 200, \"RetryAttempts\": 0}}}}"
    )
}
