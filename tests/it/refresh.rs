//! `rds-auth-token refresh`: password files kept fresh, written atomically,
//! and read by the real psql and mariadb clients against the real servers
//! on 127.0.0.1.
#![cfg(target_os = "linux")]

use crate::support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use support::pgbouncer::{Folder, Pgbouncer, RunAs};
use support::servers::{self, mariadb_client, psql_client, Db, HOST, IAM_USER, REGION};
use support::{TestEnv, RDS_HOST};

/// A running `refresh`, stopped with SIGTERM (and reaped) on drop.
struct Refresher(Child);

impl Refresher {
    fn start(env: &TestEnv, args: &[&str]) -> Refresher {
        let child = env
            .command(["refresh"].iter().chain(args))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start refresh");
        Refresher(child)
    }

    /// Sends SIGTERM; returns the exit status and stderr.
    fn stop(mut self) -> (std::process::ExitStatus, String) {
        terminate(&self.0);
        let child = std::mem::replace(&mut self.0, dummy());
        let out = child.wait_with_output().unwrap();
        (
            out.status,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

fn terminate(child: &Child) {
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
}

/// A finished child to leave in place of the real one.
fn dummy() -> Child {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    child.wait().unwrap();
    child
}

impl Drop for Refresher {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            terminate(&self.0);
            let _ = self.0.wait();
        }
    }
}

/// Waits at most `limit` for `ready`.
fn wait_for(limit: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if ready() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    ready()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The token in this endpoint's line of a .pgpass text, unescaped.
fn pgpass_token(text: &str, prefix: &str) -> Option<String> {
    let line = text.lines().find(|l| l.starts_with(prefix))?;
    Some(
        line[prefix.len()..]
            .replace("\\:", ":")
            .replace("\\\\", "\\"),
    )
}

#[test]
fn once_updates_only_its_own_pgpass_line_and_makes_the_file_private() {
    let mut env = TestEnv::new();
    env.with_env_keys();
    let file = env.write(
        "pgpass",
        &format!(
            "# my passwords\nother.example.com:5432:*:app:secret\n{RDS_HOST}:5432:*:jane_doe:OLD\n"
        ),
    );
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    env.run([
        "refresh",
        "--hostname",
        RDS_HOST,
        "--port",
        "5432",
        "--username",
        "jane_doe",
        "--file",
        "pgpass",
        "--once",
    ])
    .success()
    .stderr_is("");
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[..2],
        ["# my passwords", "other.example.com:5432:*:app:secret"]
    );
    assert_eq!(lines.len(), 3, "{text}");
    let token = pgpass_token(&text, &format!("{RDS_HOST}:5432:*:jane_doe:")).unwrap();
    assert!(token.starts_with(&format!("{RDS_HOST}:5432/?Action=connect&DBUser=jane_doe&")));
    assert_eq!(mode(&file), 0o600);
    let names: Vec<_> = std::fs::read_dir(env.home())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("pgpass"))
        .collect();
    assert_eq!(names, ["pgpass"], "no temporary file is left");
}

#[test]
fn refuses_an_interval_a_token_does_not_outlive() {
    let env = TestEnv::new();
    for (every, extra, message) in [
        ("0", "900", "--every \"0\" is not 1 to 840 seconds"),
        ("841", "900", "--every \"841\" is not 1 to 840 seconds"),
        (
            "600",
            "300",
            "--every 600 is not shorter than --expires-in 300",
        ),
    ] {
        env.run([
            "refresh",
            "--hostname",
            RDS_HOST,
            "--port",
            "5432",
            "--username",
            "u",
            "--file",
            "f",
            "--every",
            every,
            "--expires-in",
            extra,
        ])
        .fails_with(2)
        .stderr_contains(message);
    }
}

#[test]
fn failing_credentials_keep_the_last_file_and_changed_ones_are_picked_up() {
    let mut env = TestEnv::new();
    env.env("AWS_PROFILE", "db");
    let credentials = |key: &str| {
        env.write(
            ".aws/credentials",
            &format!(
                "[db]\naws_access_key_id = {key}\naws_secret_access_key = SECRETKEYSECRETKEY\n"
            ),
        )
    };
    credentials("AKIAFIRSTFIRSTFIRST1");
    let file = env.home().join("token");
    let refresher = Refresher::start(
        &env,
        &[
            "--hostname",
            RDS_HOST,
            "--port",
            "5432",
            "--username",
            "u",
            "--file",
            file.to_str().unwrap(),
            "--format",
            "token",
            "--every",
            "1",
        ],
    );
    let read = || std::fs::read_to_string(&file).unwrap_or_default();
    assert!(wait_for(Duration::from_secs(10), || read()
        .contains("AKIAFIRSTFIRSTFIRST1")));
    // Rotated away: the profile has no keys now.
    env.write(".aws/credentials", "[db]\n");
    std::thread::sleep(Duration::from_millis(2500));
    let kept = read();
    assert!(
        kept.contains("AKIAFIRSTFIRSTFIRST1") && kept.ends_with('\n'),
        "{kept}"
    );
    credentials("AKIASECONDSECONDSEC2");
    assert!(
        wait_for(Duration::from_secs(10), || read()
            .contains("AKIASECONDSECONDSEC2")),
        "the new keys were not picked up: {}",
        read()
    );
    let (status, stderr) = refresher.stop();
    assert_eq!(status.code(), Some(0), "SIGTERM ends refresh with status 0");
    let failures: Vec<&str> = stderr.lines().collect();
    assert!(!failures.is_empty(), "each failure is logged");
    for line in &failures {
        assert!(
            line.starts_with(&format!(
                "rds-auth-token: error: could not refresh {}: ",
                file.display()
            )) && line.ends_with(" s"),
            "{stderr}"
        );
        assert!(
            line.contains("; keeping the last file, retrying in "),
            "{line}"
        );
        assert!(
            !line.contains("SECRETKEY") && !line.contains("X-Amz-Signature"),
            "{line}"
        );
    }
}

#[test]
fn sigint_ends_refresh_with_status_0() {
    let mut env = TestEnv::new();
    env.with_env_keys();
    let file = env.home().join("t");
    let child = env
        .command([
            "refresh",
            "--hostname",
            RDS_HOST,
            "--port",
            "5432",
            "--username",
            "u",
            "--file",
            file.to_str().unwrap(),
            "--format",
            "json",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(wait_for(Duration::from_secs(10), || file.exists()));
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .starts_with("{\"token\":"));
}

#[test]
fn a_reader_never_sees_a_torn_pgpass_and_psql_logs_in_with_it() {
    let servers = servers::shared();
    let mut env = TestEnv::new();
    env.with_env_keys();
    let port = servers.port(Db::Postgres).to_string();
    let file = env.write("pgpass", "# kept\nother:1:*:x:y\n");
    let refresher = Refresher::start(
        &env,
        &[
            "--hostname",
            HOST,
            "--port",
            &port,
            "--username",
            IAM_USER,
            "--region",
            REGION,
            "--file",
            file.to_str().unwrap(),
            "--every",
            "1",
        ],
    );
    let prefix = format!("{HOST}:{port}:*:{IAM_USER}:");
    let mut tokens = std::collections::BTreeSet::new();
    let mut reads = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    // Read as fast as possible until three different tokens have been seen
    // (bounded): every read is a whole file.
    while tokens.len() < 3 && Instant::now() < deadline {
        let Ok(text) = std::fs::read_to_string(&file) else {
            panic!("the file vanished for a moment")
        };
        reads += 1;
        assert!(
            text.starts_with("# kept\nother:1:*:x:y\n") && text.ends_with('\n'),
            "torn: {text:?}"
        );
        if let Some(token) = pgpass_token(&text, &prefix) {
            let signature = token
                .rsplit_once("X-Amz-Signature=")
                .map(|(_, s)| s.to_owned());
            assert!(
                signature
                    .is_some_and(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())),
                "torn token: {token}"
            );
            assert_eq!(text.lines().count(), 3, "{text}");
            tokens.insert(token);
        }
    }
    assert!(
        tokens.len() >= 3,
        "only {} tokens in {reads} reads",
        tokens.len()
    );
    let mut client = TestEnv::new();
    client.env("PGPASSFILE", &file);
    servers
        .psql(
            &client,
            &["-A", "-t", &format!("host={HOST} port={port} user={IAM_USER} dbname=postgres sslmode=verify-full sslrootcert={}", servers.ca_cert().display()), "-c", "select current_user"],
        )
        .logged_in(None, &format!("{IAM_USER}\n"));
    let (status, stderr) = refresher.stop();
    assert_eq!(status.code(), Some(0));
    assert_eq!(stderr, "");
}

#[test]
fn a_mycnf_file_logs_the_mariadb_client_in_with_a_verified_certificate() {
    let servers = servers::shared();
    let mut env = TestEnv::new();
    env.with_env_keys();
    let port = servers.port(Db::Mariadb).to_string();
    let file = env.home().join("my.cnf");
    let ca = servers.ca_cert();
    env.run([
        "refresh",
        "--hostname",
        HOST,
        "--port",
        &port,
        "--username",
        IAM_USER,
        "--region",
        REGION,
        "--file",
        file.to_str().unwrap(),
        "--format",
        "mycnf",
        "--mysql-client",
        "mariadb",
        "--ssl-ca",
        ca.to_str().unwrap(),
        "--once",
    ])
    .success();
    assert_eq!(mode(&file), 0o600);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.ends_with("\nssl-verify-server-cert\n"), "{text}");
    let client = mariadb_client().unwrap();
    let extra = format!("--defaults-extra-file={}", file.display());
    servers
        .login(Db::Mariadb, || {
            TestEnv::new().run_program(
                &client,
                [extra.as_str(), "-N", "-B", "-e", "select current_user()"],
            )
        })
        .logged_in(None, &format!("{IAM_USER}@%\n"));
    // The same file with another CA is refused before the token is sent.
    let wrong = servers.wrong_ca_cert();
    env.run([
        "refresh",
        "--hostname",
        HOST,
        "--port",
        &port,
        "--username",
        IAM_USER,
        "--region",
        REGION,
        "--file",
        file.to_str().unwrap(),
        "--format",
        "mycnf",
        "--mysql-client",
        "mariadb",
        "--ssl-ca",
        wrong.to_str().unwrap(),
        "--once",
    ])
    .success();
    servers
        .login(Db::Mariadb, || {
            TestEnv::new().run_program(
                &client,
                [extra.as_str(), "-N", "-B", "-e", "select current_user()"],
            )
        })
        .refused_with("TLS/SSL error: unable to get local issuer certificate")
        .without_asking_the_verifier();
}

#[test]
fn pgbouncer_logs_in_to_postgresql_with_the_token_refresh_keeps_in_its_auth_file() {
    let servers = servers::shared();
    let run_as = RunAs::detect();
    let folder = Folder::new(run_as);
    let auth_file = folder.path().join("userlist.txt");
    std::fs::write(&auth_file, ";; pgbouncer users\n\"someone\" \"else\"\n").unwrap();
    run_as.give(&auth_file);
    let port = servers.port(Db::Postgres).to_string();
    // refresh runs as pgbouncer's user, who must be able to read the file,
    // from a copy in the folder that user owns: the checkout may sit in a
    // folder only its owner can enter (a `mktemp -d` clone).
    let bin = folder.path().join("rds-auth-token");
    std::fs::copy(env!("CARGO_BIN_EXE_rds-auth-token"), &bin).unwrap();
    run_as.give(&bin);
    let mut refresh = std::process::Command::new(&bin);
    refresh
        .args([
            "refresh",
            "--hostname",
            HOST,
            "--port",
            &port,
            "--username",
            IAM_USER,
            "--region",
            REGION,
        ])
        .args(["--format", "userlist", "--every", "1", "--file"])
        .arg(&auth_file)
        .env_clear()
        .env("HOME", folder.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", support::ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", support::SECRET_KEY)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    run_as.apply(&mut refresh);
    let refresher = Refresher(refresh.spawn().unwrap());
    let read = || std::fs::read_to_string(&auth_file).unwrap_or_default();
    assert!(wait_for(Duration::from_secs(10), || read()
        .contains("X-Amz-Signature=")));
    let text = read();
    assert!(
        text.starts_with(";; pgbouncer users\n\"someone\" \"else\"\n\"iam_user\" \""),
        "{text}"
    );
    let bouncer = Pgbouncer::start(servers, &folder, &auth_file, run_as);
    let bouncer_port = bouncer.port().to_string();
    let psql = psql_client().unwrap();
    let login = servers.login(Db::Postgres, || {
        TestEnv::new().run_program(
            &psql,
            [
                "-w",
                "-X",
                "-A",
                "-t",
                &format!("host={HOST} port={bouncer_port} user={IAM_USER} dbname=postgres sslmode=disable"),
                "-c",
                "select current_user, ssl from pg_stat_ssl where pid = pg_backend_pid()",
            ],
        )
    });
    if !login.run.output.status.success() {
        login
            .run
            .fail(&format!("pgbouncer's log:\n{}", bouncer.log()));
    }
    login.logged_in(None, &format!("{IAM_USER}|t\n"));
    let (status, stderr) = refresher.stop();
    assert_eq!((status.code(), stderr.as_str()), (Some(0), ""));
}
