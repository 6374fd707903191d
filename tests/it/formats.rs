//! `--format`: each output read back by a parser that is not ours (Python's
//! json, shlex and urllib.parse, and a POSIX shell's own `eval`).

use crate::support;

use std::process::Command;

use support::{TestEnv, RDS_HOST};

fn env_with_keys() -> TestEnv {
    let mut env = TestEnv::new();
    env.with_env_keys();
    env
}

/// Runs a Python snippet with `input` as `sys.argv[1]`; returns its stdout.
#[track_caller]
fn python(snippet: &str, input: &str) -> String {
    support::python::current().run(&["-c", snippet, input], "")
}

/// The output of `--format FORMAT` for the usual endpoint and user.
fn formatted(env: &TestEnv, format: &str, extra: &[&str]) -> String {
    let mut args = vec!["--format", format];
    args.extend_from_slice(extra);
    let run = env.run_token(&args);
    run.success().stderr_is("");
    run.stdout()
}

#[test]
fn json_holds_the_token_and_what_it_was_made_for() {
    let env = env_with_keys();
    let out = formatted(&env, "json", &[]);
    assert!(out.ends_with("}\n") && out.lines().count() == 1, "{out:?}");
    let fields = python(
        "import json,sys\n\
         d=json.loads(sys.argv[1])\n\
         print(sorted(d))\n\
         print(d['hostname'], d['port'], d['username'], d['region'], d['expiration'], 0 < d['expires_in'] <= 900)\n\
         print(d['token'])",
        &out,
    );
    let lines: Vec<&str> = fields.lines().collect();
    assert_eq!(
        lines[0],
        "['credential_expiration', 'expiration', 'expires_in', 'hostname', 'port', 'region', 'token', 'username']"
    );
    let parts: Vec<&str> = lines[1].split(' ').collect();
    assert_eq!(&parts[..4], [RDS_HOST, "5432", "jane_doe", "us-east-1"]);
    assert!(
        parts[4].ends_with('Z') && parts[4].len() == 20,
        "RFC 3339 UTC: {}",
        parts[4]
    );
    assert_eq!(parts[5], "True");
    let token = support::Token(lines[2].to_owned());
    assert!(token
        .as_str()
        .starts_with(&format!("{RDS_HOST}:5432/?Action=connect&DBUser=jane_doe&")));
    let date = token.date();
    let expected_expiry = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &date[0..4],
        &date[4..6],
        &date[6..8],
        &date[9..11],
        &date[11..13],
        &date[13..15]
    );
    // The expiration is the signing time plus 900 s: check with Python's datetime.
    let check = python(
        "import datetime,sys\n\
         a,b=sys.argv[1].split()\n\
         f='%Y-%m-%dT%H:%M:%SZ'\n\
         print(int((datetime.datetime.strptime(b,f)-datetime.datetime.strptime(a,f)).total_seconds()))",
        &format!("{expected_expiry} {}", parts[4]),
    );
    assert_eq!(check.trim(), "900");
}

#[test]
fn env_lines_survive_shlex_and_a_real_shell_eval() {
    let env = env_with_keys();
    let out = env
        .run([
            "--hostname",
            RDS_HOST,
            "--port",
            "5432",
            "--username",
            "o'brien $HOME",
            "--format",
            "env",
        ])
        .success()
        .stdout();
    let words = python(
        "import shlex,sys\nfor line in sys.argv[1].splitlines(): print(shlex.split(line))",
        &out,
    );
    let lines: Vec<&str> = words.lines().collect();
    assert_eq!(lines.len(), 6, "{out}");
    assert_eq!(lines[0], format!("['export', 'PGHOST={RDS_HOST}']"));
    assert_eq!(lines[1], "['export', 'PGPORT=5432']");
    assert_eq!(lines[2], "['export', \"PGUSER=o'brien $HOME\"]");
    assert_eq!(lines[3], "['export', 'PGSSLMODE=verify-full']");
    let bundle = env.run(["ca-bundle", "--path"]).success().stdout();
    assert_eq!(
        lines[4],
        format!("['export', 'PGSSLROOTCERT={}']", bundle.trim_end())
    );
    assert!(lines[5].starts_with(&format!(
        "['export', 'PGPASSWORD={RDS_HOST}:5432/?Action=connect&DBUser=o%27brien%20%24HOME&"
    )));
    let shell = Command::new("sh")
        .args([
            "-c",
            "eval \"$1\"; printf '%s\\n%s\\n' \"$PGUSER\" \"$PGPASSWORD\"",
            "sh",
            &out,
        ])
        .output()
        .unwrap();
    let printed = String::from_utf8(shell.stdout).unwrap();
    let mut printed = printed.lines();
    assert_eq!(printed.next(), Some("o'brien $HOME"));
    let password = printed.next().unwrap();
    assert!(out.contains(&format!("PGPASSWORD='{password}'")), "{out}");
}

#[test]
fn env_for_mysql_sets_mysql_pwd() {
    let env = env_with_keys();
    let out = env
        .run([
            "--hostname",
            RDS_HOST,
            "--port",
            "3306",
            "--username",
            "u",
            "--format",
            "env",
        ])
        .success()
        .stdout();
    let names: Vec<&str> = out.lines().map(|l| l.split('=').next().unwrap()).collect();
    assert_eq!(
        names,
        [
            "export MYSQL_HOST",
            "export MYSQL_TCP_PORT",
            "export LIBMYSQL_ENABLE_CLEARTEXT_PLUGIN",
            "export MYSQL_PWD"
        ]
    );
}

#[test]
fn uri_round_trips_through_urllib_with_the_token_as_the_password() {
    let env = env_with_keys();
    let bundle = env.run(["ca-bundle", "--path"]).success().stdout();
    let bundle = bundle.trim_end().replace('/', "%2F");
    for (port, scheme, query) in [
        (
            "5432",
            "postgresql",
            format!("sslmode=verify-full&sslrootcert={bundle}"),
        ),
        (
            "3306",
            "mysql",
            format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={bundle}"),
        ),
    ] {
        let out = env
            .run([
                "--hostname",
                RDS_HOST,
                "--port",
                port,
                "--username",
                "jane doe@x",
                "--format",
                "uri",
            ])
            .success()
            .stdout();
        let parsed = python(
            "import sys,urllib.parse as u\n\
             p=u.urlsplit(sys.argv[1].strip())\n\
             print(p.scheme, u.unquote(p.username), p.hostname, p.port, p.path, p.query)\n\
             print(u.unquote(p.password))",
            &out,
        );
        let mut lines = parsed.lines();
        assert_eq!(
            lines.next().unwrap(),
            format!(
                "{scheme} jane doe@x {} {port} / {query}",
                RDS_HOST.to_ascii_lowercase()
            )
        );
        let password = lines.next().unwrap();
        assert!(
            password.starts_with(&format!(
                "{RDS_HOST}:{port}/?Action=connect&DBUser=jane%20doe%40x&X-Amz-Algorithm="
            )),
            "{password}"
        );
    }
}

#[test]
fn env_and_uri_through_a_tunnel_name_the_tunnel_and_keep_the_rds_name_for_libpq() {
    let env = env_with_keys();
    let run = |port: &str, format: &str| {
        env.run([
            "--hostname",
            RDS_HOST,
            "--port",
            port,
            "--username",
            "u",
            "--format",
            format,
            "--via",
            "127.0.0.1:15432",
        ])
        .success()
        .stdout()
    };
    let pg = run("5432", "env");
    let names: Vec<&str> = pg.lines().map(|l| l.split('=').next().unwrap()).collect();
    assert_eq!(
        names,
        [
            "export PGHOST",
            "export PGHOSTADDR",
            "export PGPORT",
            "export PGUSER",
            "export PGSSLMODE",
            "export PGSSLROOTCERT",
            "export PGPASSWORD"
        ]
    );
    assert!(pg.starts_with(&format!(
        "export PGHOST='{RDS_HOST}'\nexport PGHOSTADDR='127.0.0.1'\nexport PGPORT='15432'\n"
    )));
    let uri = run("5432", "uri");
    assert!(
        uri.contains(&format!(
            "@{RDS_HOST}:15432/?hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert="
        )),
        "{uri}"
    );
    let my = run("3306", "uri");
    assert!(
        my.contains("@127.0.0.1:15432/?ssl-mode=VERIFY_CA&ssl-ca="),
        "{my}"
    );
    let line = run("5432", "pgpass");
    assert!(
        line.starts_with(&format!("{RDS_HOST}:15432:*:u:{RDS_HOST}\\:5432/?")),
        "{line}"
    );
}

#[test]
fn pgpass_escapes_the_colons_of_the_token() {
    let env = env_with_keys();
    let out = formatted(&env, "pgpass", &[]);
    let line = out.strip_suffix('\n').unwrap();
    let prefix = format!("{RDS_HOST}:5432:*:jane_doe:{RDS_HOST}\\:5432/?Action=connect&");
    assert!(line.starts_with(&prefix), "{line}");
    assert_eq!(
        line.matches(':').count(),
        5,
        "four separators and one escaped colon: {line}"
    );
}

#[test]
fn formats_that_depend_on_the_engine_ask_for_it_on_other_ports_before_any_credentials() {
    // No credentials at all: the usage error must come first.
    let bare = TestEnv::new();
    for format in ["env", "uri"] {
        bare.run(["--hostname", RDS_HOST, "--port", "6432", "--username", "u", "--format", format])
            .fails_with(2)
            .stderr_contains(&format!(
                "--format {format} needs the database engine, which port 6432 does not tell; pass --engine"
            ));
        env_with_keys()
            .run([
                "--hostname",
                RDS_HOST,
                "--port",
                "6432",
                "--username",
                "u",
                "--format",
                format,
                "--engine",
                "postgres",
            ])
            .success();
    }
}
