//! The pinned Python references: botocore, the AWS CLI, moto and boto3, at
//! the versions of `tests/python/NAME.lock`, in environments that
//! `scripts/python-envs` builds (scripts/test runs it first). Tests run these
//! environments' `python3`, `aws` and `moto_server`, never whatever is first
//! on PATH: scripts/test puts stand-ins for those names first on PATH that
//! fail, so a test that forgets fails too.
//!
//! An environment built from another lock than the one in the repository is
//! refused, with the command that rebuilds it.

use std::ffi::OsStr;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One pinned environment.
#[derive(Clone, Debug)]
pub struct PyEnv {
    name: &'static str,
    dir: PathBuf,
}

/// The current AWS CLI v1 with botocore, boto3, moto and check-jsonschema
/// (`tests/python/current.lock`).
#[track_caller]
pub fn current() -> PyEnv {
    PyEnv::open("current")
}

/// AWS CLI 1.45.11 with standalone botocore 1.43.11
/// (`tests/python/awscli-1.45.lock`): the credential cache's other key.
#[track_caller]
pub fn awscli_1_45() -> PyEnv {
    PyEnv::open("awscli-1.45")
}

/// The drivers applications use: psycopg, PyMySQL,
/// mysql-connector-python and redis-py (`tests/python/drivers.lock`).
#[track_caller]
pub fn drivers() -> PyEnv {
    PyEnv::open("drivers")
}

impl PyEnv {
    #[track_caller]
    fn open(name: &'static str) -> PyEnv {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = std::env::var_os("RDS_AUTH_TOKEN_PYTHON_ENVS")
            .map_or_else(|| manifest.join("target/python"), PathBuf::from);
        let dir = root.join(name);
        let lock = manifest.join("tests/python").join(format!("{name}.lock"));
        let wanted = std::fs::read(&lock)
            .unwrap_or_else(|err| panic!("cannot read {}: {err}", lock.display()));
        match std::fs::read(dir.join("rds-auth-token.lock")) {
            Ok(built) if built == wanted => PyEnv { name, dir },
            Ok(_) => panic!(
                "the Python environment {} was built from another lock than {}: \
                 run `bash scripts/python-envs` (scripts/test does)",
                dir.display(),
                lock.display()
            ),
            Err(_) => panic!(
                "the Python environment {} is missing or incomplete: \
                 run `bash scripts/python-envs` (scripts/test does){}",
                dir.display(),
                if super::in_ci() {
                    " - CI=true, so this is a failure, not a skip"
                } else {
                    ""
                }
            ),
        }
    }

    /// Its name: the lock's file name without `.lock`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Its `python3`.
    pub fn python(&self) -> PathBuf {
        self.bin("python3")
    }

    /// Its `aws`.
    pub fn aws(&self) -> PathBuf {
        self.bin("aws")
    }

    /// Its `moto_server`.
    pub fn moto_server(&self) -> PathBuf {
        self.bin("moto_server")
    }

    /// Puts its programs first on `env`'s PATH: for documented commands
    /// that run `aws` by name.
    pub fn first_on_path(&self, env: &mut super::TestEnv) {
        let path = env.var("PATH").map(ToOwned::to_owned).unwrap_or_default();
        let path = std::env::join_paths(
            std::iter::once(self.dir.join("bin")).chain(std::env::split_paths(&path)),
        )
        .expect("a PATH");
        env.env("PATH", path);
    }

    /// Runs its `python3` with `args`, `input` on stdin; returns what it
    /// printed on stdout, or fails the test with what ran and what it said
    /// on stderr. The one way the tests run a Python reference.
    #[track_caller]
    pub fn run<S: AsRef<OsStr>>(&self, args: &[S], input: &str) -> String {
        let shown: Vec<String> = args
            .iter()
            .map(|a| a.as_ref().to_string_lossy().chars().take(80).collect())
            .collect();
        let mut child = Command::new(self.python())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot run {}: {err}", self.python().display()));
        let mut stdin = child.stdin.take().expect("a pipe");
        let input = input.to_owned();
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
        let output = child.wait_with_output().expect("wait for python3");
        let _ = writer.join();
        assert!(
            output.status.success(),
            "python3 {shown:?} failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("UTF-8 from python3")
    }

    fn bin(&self, program: &str) -> PathBuf {
        let path = self.dir.join("bin").join(program);
        assert!(
            path.is_file(),
            "{} has no {program}: is it in tests/python/{}.in?",
            self.dir.display(),
            self.name
        );
        path
    }
}

/// A reference script, `tests/reference/NAME`.
pub fn reference(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/reference")
        .join(name)
}

/// What Python's json module reads from `json`, as Python prints
/// `expression` of it (the document is `d`).
#[track_caller]
pub fn json_reads(json: &str, expression: &str) -> String {
    current()
        .run(
            &[
                "-c",
                &format!("import json, sys; d = json.loads(sys.stdin.read()); print({expression})"),
            ],
            json,
        )
        .trim_end()
        .to_owned()
}
