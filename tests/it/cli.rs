//! The command line end to end: flags, output, exit statuses and messages.

use crate::support;

use std::process::Stdio;

use support::{assert_signed_with, TestEnv, ACCESS_KEY, RDS_HOST, SECRET_KEY};

/// A host name that carries no region.
const PLAIN_HOST: [&str; 6] = [
    "--hostname",
    "db.example.com",
    "--port",
    "5432",
    "--username",
    "u",
];

fn env_with_keys() -> TestEnv {
    let mut env = TestEnv::new();
    env.with_env_keys();
    env
}

#[test]
fn prints_the_token_botocore_makes_from_environment_credentials() {
    let env = env_with_keys();
    let token = env.run_token(&[]).stderr_is("").token();
    assert_eq!(token.access_key(), ACCESS_KEY);
    assert!(token
        .as_str()
        .starts_with(&format!("{RDS_HOST}:5432/?Action=connect&DBUser=jane_doe&")));
    assert_signed_with(&token, RDS_HOST, 5432, "jane_doe", "us-east-1", SECRET_KEY);
}

#[test]
fn takes_the_aws_cli_flags_in_any_order_and_with_equals_signs() {
    let env = env_with_keys();
    let token = env
        .run([
            "--username=jane doe+x@y/z",
            "--region",
            "eu-west-1",
            "--port=3306",
            "--hostname=db.example.com",
        ])
        .token();
    assert_eq!(token.param("DBUser"), Some("jane%20doe%2Bx%40y%2Fz"));
    assert_signed_with(
        &token,
        "db.example.com",
        3306,
        "jane doe+x@y/z",
        "eu-west-1",
        SECRET_KEY,
    );
}

#[test]
fn takes_a_user_name_that_starts_with_a_hyphen() {
    let env = env_with_keys();
    for args in [
        ["--username=-x"].as_slice(),
        ["--username", "-x"].as_slice(),
    ] {
        let mut all = vec!["--hostname", RDS_HOST, "--port", "5432"];
        all.extend_from_slice(args);
        let token = env.run(all).token();
        assert_eq!(token.param("DBUser"), Some("-x"));
    }
}

#[test]
fn sets_the_expiry_from_expires_in() {
    let env = env_with_keys();
    let token = env.run_token(&["--expires-in", "60"]).token();
    assert_eq!(token.param("X-Amz-Expires"), Some("60"));
    assert_eq!(
        env.run_token(&[]).token().param("X-Amz-Expires"),
        Some("900")
    );
}

#[test]
fn escapes_bidi_and_zero_width_characters_of_an_input_it_echoes() {
    // U+202E would show "evil\u{202e}gnp.exe" as "evilexe.png" on a terminal.
    for (value, escaped) in [
        ("evil\u{202e}gnp.exe", r"evil\u{202e}gnp.exe"),
        ("db\u{200b}.example.com/x", r"db\u{200b}.example.com/x"),
    ] {
        let run = env_with_keys().run([
            "--hostname",
            value,
            "--port",
            "5432",
            "--username",
            "jane",
            "--region",
            "us-east-1",
        ]);
        run.fails_with(2)
            .stderr_contains("--hostname")
            .stderr_contains(escaped)
            .stderr_lacks(value);
        assert_eq!(run.stdout(), "", "no token");
    }
}

#[track_caller]
fn usage_error(args: &[&str], expected: &str) {
    let env = env_with_keys();
    let run = env.run(args);
    run.fails_with(2).stderr_contains(expected);
}

#[track_caller]
fn bad_value(flag: &str, value: &str, expected: &str) {
    let mut args = vec![];
    for (f, default) in [
        ("--hostname", RDS_HOST),
        ("--port", "5432"),
        ("--username", "jane_doe"),
    ] {
        if f != flag {
            args.extend([f, default]);
        }
    }
    let joined = format!("{flag}={value}");
    args.push(&joined);
    usage_error(&args, expected);
}

#[test]
fn rejects_a_hostname_that_is_not_a_bare_host_name() {
    bad_value("--hostname", "", "--hostname is empty");
    bad_value(
        "--hostname",
        "https://mydb.example.com",
        "--hostname 'https://mydb.example.com' includes a scheme",
    );
    bad_value(
        "--hostname",
        "mydb.example.com:5432",
        "includes a port; pass the host name alone and the port with --port 5432",
    );
    bad_value("--hostname", "mydb.example.com/postgres", "includes a path");
    bad_value("--hostname", "mydb.example.com?x=1", "includes a query");
    bad_value("--hostname", "my db.example.com", "contains white space");
    bad_value(
        "--hostname",
        &"a".repeat(254),
        "--hostname is 254 characters long; a DNS name has at most 253",
    );
}

#[test]
fn rejects_a_port_outside_1_to_65535() {
    bad_value("--port", "0", "--port 0 is not a port");
    bad_value(
        "--port",
        "65536",
        "--port \"65536\" is not a port; pass a whole number from 1 to 65535",
    );
    bad_value("--port", "postgres", "--port \"postgres\" is not a port");
}

#[test]
fn rejects_an_empty_user_name_and_control_characters() {
    bad_value("--username", "", "--username is empty");
    bad_value(
        "--username",
        "jane\ndoe",
        r"--username 'jane\ndoe' contains a control character",
    );
}

#[cfg(unix)]
#[test]
fn rejects_a_user_name_that_is_not_utf8() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let env = env_with_keys();
    let user = OsStr::from_bytes(b"jane\xff");
    let run = env.run([
        OsStr::new("--hostname"),
        OsStr::new(RDS_HOST),
        OsStr::new("--port"),
        OsStr::new("5432"),
        OsStr::new("--username"),
        user,
    ]);
    run.fails_with(2)
        .stderr_contains("--username is not valid UTF-8");
}

#[test]
fn rejects_an_empty_or_malformed_region() {
    usage_error(
        &[
            "--hostname",
            RDS_HOST,
            "--port",
            "5432",
            "--username",
            "u",
            "--region=",
        ],
        "--region is empty",
    );
    usage_error(
        &[
            "--hostname",
            RDS_HOST,
            "--port",
            "5432",
            "--username",
            "u",
            "--region",
            "US-East-1",
        ],
        "--region 'US-East-1' is not a region name",
    );
    let mut env = env_with_keys();
    env.env("AWS_REGION", "Frankfurt");
    env.run(PLAIN_HOST)
        .fails_with(2)
        .stderr_contains("AWS_REGION 'Frankfurt' is not a region name");
}

#[test]
fn rejects_an_expiry_above_900_seconds_instead_of_clamping_it() {
    bad_value(
        "--expires-in",
        "901",
        "--expires-in 901 is above 900 seconds; RDS refuses such tokens",
    );
    bad_value(
        "--expires-in",
        "0",
        "--expires-in 0 makes a token that has already expired",
    );
}

#[test]
fn names_missing_and_misspelt_flags_on_one_line() {
    usage_error(
        &["--hostname", RDS_HOST],
        "the following required arguments were not provided: --port <PORT> --username <USERNAME>",
    );
    usage_error(
        &[
            "--hostname",
            RDS_HOST,
            "--port",
            "1",
            "--username",
            "u",
            "--regoin",
            "us-east-1",
        ],
        "a similar argument exists: '--region'",
    );
}

#[test]
fn says_every_way_to_give_a_region_when_there_is_none() {
    let env = env_with_keys();
    env.run(["--hostname", "db.example.com", "--port", "5432", "--username", "u"])
        .fails_with(2)
        .stderr_is("rds-auth-token: error: no region: pass --region, set AWS_REGION, set region in the profile, or use the RDS endpoint name as --hostname\n");
}

#[test]
fn says_an_aurora_global_writer_endpoint_carries_no_region_and_names_region() {
    let env = env_with_keys();
    let global = "app.global-abc123def456.global.rds.amazonaws.com";
    env.run(["--hostname", global, "--port", "5432", "--username", "u"])
        .fails_with(2)
        .stderr_is(&format!(
            "rds-auth-token: error: no region: --hostname '{global}' is an Aurora global database writer endpoint, \
             whose name carries no region; pass --region with the region of the global database's primary cluster \
             (or set AWS_REGION or the profile's region)\n"
        ));
    let token = env
        .run([
            "--hostname",
            global,
            "--port",
            "5432",
            "--username",
            "u",
            "--region",
            "eu-west-1",
        ])
        .stderr_is("")
        .token();
    assert_eq!(token.region(), "eu-west-1");
}

#[test]
fn reads_the_region_from_the_environment_before_the_endpoint_name() {
    let mut env = env_with_keys();
    env.env("AWS_DEFAULT_REGION", "eu-central-1");
    assert_eq!(env.run(PLAIN_HOST).token().region(), "eu-central-1");
    env.env("AWS_REGION", "ap-south-1");
    assert_eq!(env.run(PLAIN_HOST).token().region(), "ap-south-1");
}

#[test]
fn infers_the_region_of_china_and_govcloud_endpoints() {
    let env = env_with_keys();
    for (host, region) in [
        (
            "app.cluster-ro-abc123.cn-northwest-1.rds.amazonaws.com.cn",
            "cn-northwest-1",
        ),
        (
            "proxy1.proxy-abc123.us-gov-west-1.rds.amazonaws.com",
            "us-gov-west-1",
        ),
    ] {
        let token = env
            .run(["--hostname", host, "--port", "5432", "--username", "u"])
            .stderr_is("")
            .token();
        assert_signed_with(&token, host, 5432, "u", region, SECRET_KEY);
    }
}

#[test]
fn warns_but_prints_the_token_when_the_region_disagrees_with_the_endpoint() {
    let env = env_with_keys();
    let run = env.run_token(&["--region", "eu-west-1"]);
    let token = run.token();
    assert!(token
        .param("X-Amz-Credential")
        .unwrap()
        .contains("%2Feu-west-1%2F"));
    run.stderr_is("rds-auth-token: warning: signing for eu-west-1 (from --region), but the endpoint is in us-east-1; the database will refuse this token, pass --region us-east-1\n");
}

#[test]
fn debug_traces_the_sources_and_times_without_any_secret() {
    let mut env = env_with_keys();
    env.env("AWS_SESSION_TOKEN", "SESSIONTOKEN+/=secret");
    let run = env.run_token(&["--debug"]);
    let token = run.token();
    let signature = token.param("X-Amz-Signature").unwrap().to_owned();
    run.stderr_contains("region us-east-1 (from the RDS endpoint name in --hostname)")
        .stderr_contains("credentials from environment variables")
        .stderr_contains(&format!("access key {ACCESS_KEY}, session token present"))
        .stderr_contains(&format!("signed at {}", iso(token.date())))
        .stderr_contains("for 900 seconds, expires at")
        .stderr_lacks(SECRET_KEY)
        .stderr_lacks("SESSIONTOKEN")
        .stderr_lacks(&signature);
}

/// `20261122T012107Z` as `2026-11-22T01:21:07Z`.
fn iso(amz_date: &str) -> String {
    let d = amz_date;
    format!(
        "{}-{}-{}T{}:{}:{}Z",
        &d[0..4],
        &d[4..6],
        &d[6..8],
        &d[9..11],
        &d[11..13],
        &d[13..15]
    )
}

#[test]
fn ends_quietly_when_stdout_is_closed() {
    let env = env_with_keys();
    // The token, and the help (`--help | head`), to a reader that has gone.
    for args in [
        &["--hostname", RDS_HOST, "--port", "5432", "--username", "u"][..],
        &["--help"],
        &["dsql", "--help"],
    ] {
        let mut cmd = env.command(args);
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{args:?}: {output:?}");
        assert_eq!(String::from_utf8_lossy(&output.stderr), "", "{args:?}");
    }
}

#[test]
fn prints_the_token_when_stderr_is_closed_under_debug() {
    // `--debug 2>&1 | grep -q ...` can close stderr while it is written.
    let env = env_with_keys();
    let mut cmd = env.command([
        "--hostname",
        RDS_HOST,
        "--port",
        "5432",
        "--username",
        "u",
        "--debug",
    ]);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.starts_with(&format!("{RDS_HOST}:5432/?Action=connect&DBUser=u&"))
            && stdout.ends_with('\n'),
        "{stdout}"
    );
}

#[test]
fn prints_help_and_version_on_stdout_with_status_0() {
    let env = TestEnv::new();
    let help = env.run(["--help"]);
    help.success();
    for flag in [
        "--hostname",
        "--port",
        "--username",
        "--region",
        "--profile",
        "--expires-in",
        "--debug",
    ] {
        assert!(help.stdout().contains(flag), "help lacks {flag}");
    }
    // The commit it was built from follows, when there is one
    // (tests/it/version.rs).
    let version = env.run(["--version"]).success().stdout();
    assert!(
        version.starts_with(&format!("rds-auth-token {}", env!("CARGO_PKG_VERSION")))
            && version.ends_with('\n')
            && version.lines().count() == 1,
        "{version}"
    );
}
