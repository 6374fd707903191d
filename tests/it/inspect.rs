//! `rds-auth-token inspect` end to end: tokens from botocore, the AWS CLI and
//! this tool, and the same tokens broken the ways real ones break.

use crate::support;

use std::process::Stdio;

use support::{botocore_tokens, Case, Run, TestEnv, ACCESS_KEY, RDS_HOST, SECRET_KEY};

/// The time the botocore tokens are signed at.
const SIGNED: &str = "20261122T012107Z";
/// A minute after [`SIGNED`]: the time most tests judge the tokens at.
const A_MINUTE_LATER: &str = "2026-11-22T01:22:07Z";
const SESSION_TOKEN: &str = "FwoGZXIvYXdzEJr//////////wEaDAbc+123/SESSION=";

fn case(hostname: &str, username: &str, region: &str) -> Case {
    Case {
        hostname: hostname.to_owned(),
        port: 5432,
        username: username.to_owned(),
        region: region.to_owned(),
        access_key: ACCESS_KEY.to_owned(),
        secret_key: SECRET_KEY.to_owned(),
        session_token: None,
        timestamp: SIGNED.to_owned(),
        expires_in: None,
    }
}

/// botocore's token for `case`.
#[track_caller]
fn botocore(case: Case) -> String {
    botocore_tokens(&[case]).remove(0)
}

/// `rds-auth-token inspect ARGS` with `token` on stdin, judged at `at`.
#[track_caller]
fn inspect_at(token: &str, at: &str, args: &[&str]) -> Run {
    let mut env = TestEnv::new();
    env.stdin(token);
    inspect_in(&env, at, args)
}

fn inspect_in(env: &TestEnv, at: &str, args: &[&str]) -> Run {
    let mut all = vec!["inspect", "--at", at];
    all.extend_from_slice(args);
    env.run(all)
}

/// Exit status `code` with an empty stderr, a report on stdout that has
/// each of `lines` as a whole line, and exactly the problems `codes`.
#[track_caller]
fn reports(run: &Run, code: i32, codes: &[&str], lines: &[&str]) {
    if run.code() != Some(code) {
        run.fail(&format!("expected exit status {code}"));
    }
    run.stderr_is("");
    let stdout = run.stdout();
    let found: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("problem: "))
        .map(|l| l.split(':').next().unwrap())
        .collect();
    if found != codes {
        run.fail(&format!("expected the problems {codes:?}, found {found:?}"));
    }
    for line in lines {
        if !stdout.lines().any(|l| l == *line) {
            run.fail(&format!("expected the line {line:?}"));
        }
    }
}

/// The line of the problem `code`.
fn problem(run: &Run, code: &str) -> String {
    let prefix = format!("problem: {code}: ");
    let stdout = run.stdout();
    match stdout.lines().find(|l| l.starts_with(&prefix)) {
        Some(line) => line[prefix.len()..].to_owned(),
        None => run.fail(&format!("expected the problem {code}")),
    }
}

#[test]
fn prints_every_field_of_a_botocore_token_one_a_line() {
    let token = botocore(Case {
        username: "jane doe+x@y/z".into(),
        session_token: Some(SESSION_TOKEN.into()),
        ..case(RDS_HOST, "", "us-east-1")
    });
    let run = inspect_at(&token, A_MINUTE_LATER, &[]);
    run.success().stderr_is("");
    assert_eq!(
        run.stdout(),
        "\
kind:          RDS
host:          mydb.123456789012.us-east-1.rds.amazonaws.com
port:          5432
user:          'jane doe+x@y/z'
action:        connect
service:       rds-db
region:        us-east-1
access key id: AKIAIOSFODNN7EXAMPLE
session token: present (not shown)
signed at:     2026-11-22T01:21:07Z
expires at:    2026-11-22T01:36:07Z (valid for 900 s)
time left:     14 min
problems:      none
"
    );
}

#[test]
fn reads_the_token_from_the_argument_from_stdin_and_from_stdin_with_a_dash() {
    let token = botocore(case(RDS_HOST, "jane_doe", "us-east-1"));
    let mut env = TestEnv::new();
    let from_argument = inspect_in(&env, A_MINUTE_LATER, &[&token]);
    env.stdin(format!("{token}\n"));
    let from_stdin = inspect_in(&env, A_MINUTE_LATER, &[]);
    let from_dash = inspect_in(&env, A_MINUTE_LATER, &["-"]);
    for run in [&from_argument, &from_stdin, &from_dash] {
        reports(
            run,
            0,
            &[],
            &["user:          jane_doe", "problems:      none"],
        );
        assert_eq!(run.stdout(), from_argument.stdout());
    }
}

/// Tokens from the pinned `aws rds generate-db-auth-token` for `user`, with
/// and without a session token.
fn aws_cli_tokens(user: &str) -> Vec<String> {
    let aws = support::python::current().aws();
    let tokens = [None, Some(SESSION_TOKEN)].map(|session| {
        let mut env = TestEnv::new();
        env.with_env_keys();
        if let Some(session) = session {
            env.env("AWS_SESSION_TOKEN", session);
        }
        let output = env
            .program(&aws)
            .args(["rds", "generate-db-auth-token", "--hostname", RDS_HOST])
            .args([
                "--port",
                "5432",
                "--region",
                "us-east-1",
                "--username",
                user,
            ])
            .stdin(Stdio::null())
            .output()
            .expect("run the AWS CLI");
        assert!(
            output.status.success(),
            "aws rds generate-db-auth-token failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    });
    tokens.to_vec()
}

/// `20261122T012107Z` as `2026-11-22T01:21:07Z`.
fn rfc3339(amz: &str) -> String {
    format!(
        "{}-{}-{}T{}:{}:{}Z",
        &amz[0..4],
        &amz[4..6],
        &amz[6..8],
        &amz[9..11],
        &amz[11..13],
        &amz[13..15]
    )
}

fn amz_date(token: &str) -> &str {
    let at = token.find("X-Amz-Date=").unwrap() + "X-Amz-Date=".len();
    &token[at..at + 16]
}

#[test]
fn reads_and_verifies_tokens_the_aws_cli_makes() {
    let tokens = aws_cli_tokens("jane doe+x@y");
    for (token, session) in tokens.iter().zip(["none", "present (not shown)"]) {
        let signed = amz_date(token);
        let mut env = TestEnv::new();
        env.with_env_keys().stdin(token.as_str());
        if session != "none" {
            env.env("AWS_SESSION_TOKEN", SESSION_TOKEN);
        }
        // --at takes the token's own form of a time too.
        let run = inspect_in(&env, signed, &["--verify"]);
        reports(
            &run,
            0,
            &[],
            &[
                "host:          mydb.123456789012.us-east-1.rds.amazonaws.com",
                "user:          'jane doe+x@y'",
                "region:        us-east-1",
                "service:       rds-db",
                &format!("session token: {session}"),
                &format!("signed at:     {}", rfc3339(signed)),
                "time left:     15 min",
                "signature:     matches the secret key of 'AKIAIOSFODNN7EXAMPLE' from environment variables",
                "problems:      none",
            ],
        );
    }
}

#[test]
fn reads_and_verifies_its_own_tokens() {
    let mut env = TestEnv::new();
    env.with_env_keys().env("AWS_SESSION_TOKEN", SESSION_TOKEN);
    let token = env
        .run_token(&["--expires-in", "60"])
        .token()
        .as_str()
        .to_owned();
    env.stdin(token.as_str());
    let run = inspect_in(&env, &rfc3339(amz_date(&token)), &["--verify"]);
    reports(
        &run,
        0,
        &[],
        &[
            "user:          jane_doe",
            "session token: present (not shown)",
            "time left:     1 min",
            "signature:     matches the secret key of 'AKIAIOSFODNN7EXAMPLE' from environment variables",
        ],
    );
    assert!(run.stdout().contains(" (valid for 60 s)\n"));
}

#[test]
fn reports_an_expired_token_and_how_long_ago_it_expired() {
    let token = botocore(case(RDS_HOST, "jane_doe", "us-east-1"));
    let run = inspect_at(&token, "2026-11-22T01:39:17Z", &[]);
    reports(
        &run,
        1,
        &["expired"],
        &["expired:       3 min 10 s ago", "problems:      1"],
    );
    assert_eq!(
        problem(&run, "expired"),
        "the token expired 3 min 10 s ago, at 2026-11-22T01:36:07Z; a token works for 15 minutes at most: make a new one just before connecting"
    );
    // At the last second it is still valid.
    reports(
        &inspect_at(&token, "2026-11-22T01:36:07Z", &[]),
        0,
        &[],
        &["time left:     0 s"],
    );
}

#[test]
fn reports_a_token_signed_in_the_future_as_clock_skew() {
    let token = botocore(case(RDS_HOST, "jane_doe", "us-east-1"));
    let run = inspect_at(&token, "2026-11-22T01:16:07Z", &[]);
    reports(&run, 1, &["signed_in_future"], &["time left:     20 min"]);
    assert!(problem(&run, "signed_in_future")
        .starts_with("the token was signed at 2026-11-22T01:21:07Z, 5 min in the future; the clock of the machine that made it is ahead"));
}

#[test]
fn reports_a_real_token_valid_for_more_than_900_seconds() {
    let token = botocore(Case {
        expires_in: Some(3600),
        ..case(RDS_HOST, "jane_doe", "us-east-1")
    });
    let mut env = TestEnv::new();
    env.with_env_keys().stdin(token.as_str());
    let run = inspect_in(&env, A_MINUTE_LATER, &["--verify"]);
    reports(
        &run,
        1,
        &["expires_too_long"],
        &[
            "expires at:    2026-11-22T02:21:07Z (valid for 3600 s)",
            "time left:     59 min",
            "signature:     matches the secret key of 'AKIAIOSFODNN7EXAMPLE' from environment variables",
        ],
    );
    assert!(problem(&run, "expires_too_long")
        .starts_with("X-Amz-Expires is 3600 seconds; RDS refuses tokens valid for more than 900"));
}

#[test]
fn reports_a_token_that_is_not_an_rds_db_connect_token() {
    let token = botocore(case(RDS_HOST, "jane_doe", "us-east-1"));
    let edited = token
        .replace("Action=connect", "Action=ListTables")
        .replace("%2Frds-db%2F", "%2Fdynamodb%2F");
    let run = inspect_at(&edited, A_MINUTE_LATER, &[]);
    reports(
        &run,
        1,
        &["not_connect_action", "not_rds_db_service"],
        &["action:        ListTables", "service:       dynamodb"],
    );

    // An S3 presigned URL, as botocore makes one, pasted by mistake.
    let script = r#"
import datetime, botocore.auth, botocore.session
from botocore.config import Config
botocore.auth.get_current_datetime = lambda *a, **k: datetime.datetime(2026, 11, 22, 1, 21, 7)
client = botocore.session.get_session().create_client(
    "s3", region_name="us-east-1", aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
    aws_secret_access_key="secret", config=Config(signature_version="s3v4"))
print(client.generate_presigned_url("get_object", Params={"Bucket": "bucket", "Key": "a.txt"}, ExpiresIn=3600))
"#;
    let url = support::python::current().run(&["-c", script], "");
    assert!(
        url.starts_with("https://bucket.s3.amazonaws.com/a.txt?X-Amz-Algorithm="),
        "{url}"
    );
    let run = inspect_at(&url, A_MINUTE_LATER, &[]);
    reports(
        &run,
        1,
        &[
            "scheme_prefix",
            "malformed_endpoint",
            "malformed_endpoint",
            "missing_parameter",
            "missing_parameter",
            "not_rds_db_service",
            "not_rds_endpoint",
            "expires_too_long",
        ],
        &[
            "host:          bucket.s3.amazonaws.com",
            "service:       s3",
        ],
    );
}

#[test]
fn reports_a_cname_an_ip_address_and_localhost_as_not_rds_endpoints() {
    for (host, what) in [
        ("db.example.com", "is not an RDS endpoint name (a CNAME?)"),
        ("10.0.0.5", "is an IP address"),
        ("localhost", "is localhost (a tunnel or port forward?)"),
    ] {
        let token = botocore(case(host, "jane_doe", "us-east-1"));
        let run = inspect_at(&token, A_MINUTE_LATER, &[]);
        reports(
            &run,
            1,
            &["not_rds_endpoint"],
            &[&format!("host:          {host}")],
        );
        assert!(
            problem(&run, "not_rds_endpoint").starts_with(&format!(
                "host '{host}' {what}; RDS checks the token against its own endpoint name"
            )),
            "{host}"
        );
    }
}

#[test]
fn reports_a_signing_region_that_is_not_the_endpoints() {
    let token = botocore(case(RDS_HOST, "jane_doe", "eu-west-1"));
    let run = inspect_at(&token, A_MINUTE_LATER, &[]);
    reports(&run, 1, &["region_mismatch"], &["region:        eu-west-1"]);
    assert_eq!(
        problem(&run, "region_mismatch"),
        "the token is signed for region 'eu-west-1', but the endpoint is in 'us-east-1'; the database will refuse it: make the token with --region 'us-east-1'"
    );
}

#[test]
fn reports_values_not_in_canonical_encoding_and_whether_the_signature_holds() {
    let token = botocore(case(RDS_HOST, "jane doe@x", "us-east-1"));
    assert!(token.contains("DBUser=jane%20doe%40x&"));
    let mut env = TestEnv::new();
    env.with_env_keys();
    // A '+' for a space names another user than was signed: the signature
    // fails. The others decode to what was signed: RDS, which encodes each
    // value again before it checks the signature, reads the signed text.
    for (from, to, expected, signature) in [
        ("jane%20doe", "jane+doe", "DBUser has a '+', which RDS may read as a space (as form encoding writes one) or as a plus sign; SigV4 writes a space as %20 and a plus sign as %2B;", "does not match"),
        ("%40x", "@x", "DBUser has a raw '@', which SigV4 writes %40;", "matches the secret key of 'AKIAIOSFODNN7EXAMPLE' from environment variables"),
        ("EXAMPLE%2F2026", "EXAMPLE/2026", "X-Amz-Credential has a raw '/', which SigV4 writes %2F;", "matches the secret key of 'AKIAIOSFODNN7EXAMPLE' from environment variables"),
        ("EXAMPLE%2F2026", "EXAMPLE%2f2026", "X-Amz-Credential has lower-case hex '%2f', which SigV4 writes '%2F';", "matches the secret key of 'AKIAIOSFODNN7EXAMPLE' from environment variables"),
        ("%40x", "%40%78", "DBUser has '%78', an encoded 'x', which SigV4 writes as it is;", "matches the secret key of 'AKIAIOSFODNN7EXAMPLE' from environment variables"),
    ] {
        env.stdin(token.replace(from, to));
        let run = inspect_in(&env, A_MINUTE_LATER, &["--verify"]);
        let codes: &[&str] = if signature == "does not match" {
            &["noncanonical_encoding", "signature_mismatch"]
        } else {
            &["noncanonical_encoding"]
        };
        reports(&run, 1, codes, &[&format!("signature:     {signature}")]);
        assert!(problem(&run, "noncanonical_encoding").starts_with(expected), "{to}");
    }
}

#[test]
fn reports_temporary_credentials_without_their_session_token_and_an_empty_one() {
    let temporary = "ASIAIOSFODNN7EXAMPLE";
    let missing = botocore(Case {
        access_key: temporary.into(),
        ..case(RDS_HOST, "jane_doe", "us-east-1")
    });
    let run = inspect_at(&missing, A_MINUTE_LATER, &[]);
    reports(
        &run,
        1,
        &["missing_session_token"],
        &["session token: none"],
    );
    assert!(problem(&run, "missing_session_token")
        .starts_with("access key 'ASIAIOSFODNN7EXAMPLE' is a temporary one (ASIA...), but the token has no X-Amz-Security-Token"));

    let with_session = botocore(Case {
        access_key: temporary.into(),
        session_token: Some(SESSION_TOKEN.into()),
        ..case(RDS_HOST, "jane_doe", "us-east-1")
    });
    reports(&inspect_at(&with_session, A_MINUTE_LATER, &[]), 0, &[], &[]);
    let start =
        with_session.find("&X-Amz-Security-Token=").unwrap() + "&X-Amz-Security-Token=".len();
    let end = with_session.find("&X-Amz-Signature=").unwrap();
    let empty = format!("{}{}", &with_session[..start], &with_session[end..]);
    let run = inspect_at(&empty, A_MINUTE_LATER, &[]);
    reports(
        &run,
        1,
        &["empty_session_token"],
        &["session token: present but empty"],
    );
}

#[test]
fn reports_parameters_that_appear_twice_or_that_no_token_has() {
    let token = botocore(case(RDS_HOST, "jane_doe", "us-east-1"));
    let run = inspect_at(
        &format!("{token}&DBUser=admin&sslmode=require"),
        A_MINUTE_LATER,
        &[],
    );
    reports(
        &run,
        1,
        &["duplicate_parameter", "unknown_parameter"],
        &["user:          jane_doe"],
    );
    assert!(problem(&run, "duplicate_parameter").starts_with("DBUser appears 2 times;"));
    assert!(problem(&run, "unknown_parameter")
        .starts_with("the token has 1 parameter no token has ('sslmode');"));
}

#[test]
fn reports_a_token_cut_short_or_broken_over_two_lines() {
    let token = botocore(case(RDS_HOST, "jane_doe", "us-east-1"));
    let run = inspect_at(&token[..token.len() - 20], A_MINUTE_LATER, &[]);
    reports(&run, 1, &["malformed_parameter"], &[]);
    assert!(problem(&run, "malformed_parameter").starts_with(
        "X-Amz-Signature has 44 hex digits, where a token has 64: the token was cut short"
    ));
    let cut = &token[..token.find("&X-Amz-Signature").unwrap()];
    let run = inspect_at(cut, A_MINUTE_LATER, &[]);
    reports(&run, 1, &["missing_parameter"], &[]);
    assert!(problem(&run, "missing_parameter")
        .starts_with("the token has no X-Amz-Signature parameter; the token was cut short"));
    let broken = format!("{}\n{}", &token[..80], &token[80..]);
    let run = inspect_at(&broken, A_MINUTE_LATER, &[]);
    reports(&run, 1, &["unexpected_character"], &[]);
    assert!(problem(&run, "unexpected_character")
        .starts_with("the token has a line break ('\\n') at byte 80;"));
}

#[test]
fn reports_every_difference_from_what_was_meant() {
    let token = botocore(case(RDS_HOST, "jane_doe", "us-east-1"));
    let same = [
        "--hostname",
        "MYDB.123456789012.us-east-1.rds.amazonaws.com",
        "--port",
        "5432",
        "--username",
        "jane_doe",
        "--region",
        "us-east-1",
    ];
    reports(&inspect_at(&token, A_MINUTE_LATER, &same), 0, &[], &[]);
    let run = inspect_at(
        &token,
        A_MINUTE_LATER,
        &[
            "--hostname",
            "mydb.123456789012.us-east-2.rds.amazonaws.com",
            "--port",
            "3306",
            "--username",
            "admin",
            "--region",
            "us-east-2",
        ],
    );
    reports(
        &run,
        1,
        &[
            "hostname_differs",
            "port_differs",
            "username_differs",
            "region_differs",
        ],
        &[],
    );
    assert_eq!(
        problem(&run, "port_differs"),
        "the token is for port 5432, not 3306; make it with --port 3306"
    );
    assert_eq!(
        problem(&run, "username_differs"),
        "the token is for user 'jane_doe', not 'admin'; make it with --username 'admin'"
    );
}

#[test]
fn verify_reports_another_secret_key_and_another_access_key() {
    let token = botocore(Case {
        session_token: Some(SESSION_TOKEN.into()),
        ..case(RDS_HOST, "jane_doe", "us-east-1")
    });
    let mut env = TestEnv::new();
    env.with_env_keys()
        .env("AWS_SESSION_TOKEN", SESSION_TOKEN)
        .stdin(token.as_str());
    reports(
        &inspect_in(&env, A_MINUTE_LATER, &["--verify"]),
        0,
        &[],
        &["signature:     matches the secret key of 'AKIAIOSFODNN7EXAMPLE' from environment variables"],
    );

    env.env(
        "AWS_SECRET_ACCESS_KEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEZ",
    );
    let run = inspect_in(&env, A_MINUTE_LATER, &["--verify"]);
    reports(
        &run,
        1,
        &["signature_mismatch"],
        &["signature:     does not match"],
    );
    assert!(problem(&run, "signature_mismatch").starts_with(
        "the signature is not the one the secret key of 'AKIAIOSFODNN7EXAMPLE' (from environment variables) makes;"
    ));

    env.with_env_keys()
        .env("AWS_ACCESS_KEY_ID", "AKIAI44QH8DHBEXAMPLE");
    let run = inspect_in(&env, A_MINUTE_LATER, &["--verify"]);
    reports(
        &run,
        1,
        &["different_access_key"],
        &["signature:     not checked: the token was made with another access key"],
    );
    assert!(problem(&run, "different_access_key").starts_with(
        "the token was made with access key 'AKIAIOSFODNN7EXAMPLE', but the credentials (from environment variables) have 'AKIAI44QH8DHBEXAMPLE';"
    ));

    env.with_env_keys().remove_env("AWS_SESSION_TOKEN");
    let run = inspect_in(&env, A_MINUTE_LATER, &["--verify"]);
    reports(&run, 1, &["session_token_differs"], &[]);
}

#[test]
fn verify_uses_the_profile_chain_and_reports_missing_credentials_as_a_problem() {
    let token = botocore(case(RDS_HOST, "jane_doe", "us-east-1"));
    let mut env = TestEnv::new();
    env.stdin(token.as_str());
    let run = inspect_in(&env, A_MINUTE_LATER, &["--verify"]);
    reports(
        &run,
        1,
        &["credentials_unavailable"],
        &["signature:     not checked: no credentials"],
    );
    assert!(problem(&run, "credentials_unavailable")
        .starts_with("could not check the signature: no AWS credentials found;"));

    env.write(
        ".aws/credentials",
        &format!("[dev]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"),
    );
    reports(
        &inspect_in(&env, A_MINUTE_LATER, &["--verify", "--profile", "dev"]),
        0,
        &[],
        &["signature:     matches the secret key of 'AKIAIOSFODNN7EXAMPLE' from static keys in a profile"],
    );
}

/// What Python's json module reads from `json`, as Python prints it.
#[track_caller]
fn python_reads(json: &str, expression: &str) -> String {
    support::python::json_reads(json, expression)
}

#[test]
fn prints_the_same_findings_as_one_json_object_python_reads() {
    let token = botocore(Case {
        username: "jane \"doe\"\\x".into(),
        session_token: Some(SESSION_TOKEN.into()),
        ..case("db.example.com", "", "us-east-1")
    });
    let mut env = TestEnv::new();
    env.with_env_keys()
        .env("AWS_SESSION_TOKEN", SESSION_TOKEN)
        .stdin(token.as_str());
    let run = inspect_in(
        &env,
        "2026-11-22T01:40:07Z",
        &["--json", "--verify", "--port", "3306"],
    );
    if run.code() != Some(1) {
        run.fail("expected exit status 1");
    }
    run.stderr_is("");
    let stdout = run.stdout();
    assert_eq!(stdout.lines().count(), 1, "one line: {stdout}");
    assert_eq!(
        python_reads(&stdout, "list(d)"),
        "['ok', 'kind', 'host', 'port', 'username', 'role', 'user_id', 'serverless', 'action', 'service', 'region', 'access_key_id', 'session_token_present', 'signed_at', 'expires_in', 'expires_at', 'seconds_left', 'signature', 'problems']"
    );
    assert_eq!(
        python_reads(&stdout, "[d[k] for k in list(d)[:-1]]"),
        "[False, 'rds', 'db.example.com', 5432, 'jane \"doe\"\\\\x', None, None, None, 'connect', 'rds-db', 'us-east-1', 'AKIAIOSFODNN7EXAMPLE', True, '2026-11-22T01:21:07Z', 900, '2026-11-22T01:36:07Z', -240, 'matches']"
    );
    assert_eq!(
        python_reads(&stdout, "[p['code'] for p in d['problems']]"),
        "['not_rds_endpoint', 'expired', 'port_differs']"
    );
    assert_eq!(
        python_reads(&stdout, "d['problems'][1]['message']"),
        "the token expired 4 min ago, at 2026-11-22T01:36:07Z; a token works for 15 minutes at most: make a new one just before connecting"
    );
    assert!(!stdout.contains("FwoG") && !stdout.contains("SESSION"));

    let good = botocore(case(RDS_HOST, "jane_doe", "us-east-1"));
    let run = inspect_at(&good, A_MINUTE_LATER, &["--json"]);
    run.success();
    assert_eq!(
        python_reads(
            &run.stdout(),
            "(d['ok'], d['problems'], d['signature'], d['seconds_left'])"
        ),
        "(True, [], None, 840)"
    );
    // A token without most fields: null where the token has no value.
    let run = inspect_at("h:1/?Action=connect", A_MINUTE_LATER, &["--json"]);
    assert_eq!(run.code(), Some(1));
    assert_eq!(
        python_reads(
            &run.stdout(),
            "(d['ok'], d['username'], d['signed_at'], d['seconds_left'], len(d['problems']))"
        ),
        "(False, None, None, None, 8)"
    );
}

#[test]
fn never_prints_the_session_token_or_the_secret_key() {
    let token = botocore(Case {
        session_token: Some(SESSION_TOKEN.into()),
        ..case(RDS_HOST, "jane_doe", "us-east-1")
    });
    let mut env = TestEnv::new();
    env.with_env_keys()
        .env("AWS_SESSION_TOKEN", "SESSIONTOKEN-of-the-environment")
        .stdin(token.replace("&X-Amz-Security-Token", "&&X-Amz-Security-Token"));
    for args in [&["--verify"][..], &["--verify", "--json"][..]] {
        let run = inspect_in(&env, A_MINUTE_LATER, args);
        assert_eq!(run.code(), Some(1));
        let out = run.stdout() + &run.stderr();
        for secret in ["FwoG", "SESSION", "EXAMPLEKEY", "wJalr"] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
    }
}

#[test]
fn shows_hostile_values_escaped_and_never_sends_a_control_character() {
    let token = botocore(case(RDS_HOST, "jane_doe", "us-east-1"))
        .replace("DBUser=jane_doe", "DBUser=%1B%5B2J%E2%80%AEevil%07");
    let mut bytes = token.into_bytes();
    bytes[2] = 0xff; // invalid UTF-8 in the host
    bytes.extend_from_slice(b"&\x1b]0;title\x07=x");
    let mut env = TestEnv::new();
    env.stdin(bytes);
    for args in [&[][..], &["--json"][..]] {
        let run = inspect_in(&env, A_MINUTE_LATER, args);
        assert_eq!(run.code(), Some(1));
        run.stderr_is("");
        let stdout = &run.output.stdout;
        assert!(
            !stdout
                .iter()
                .any(|&b| (b < 0x20 && b != b'\n') || b == 0x7f),
            "a raw control character in {:?}",
            run.stdout()
        );
        assert!(!run.stdout().contains('\u{202e}'));
    }
    let run = inspect_in(&env, A_MINUTE_LATER, &[]);
    reports(
        &run,
        1,
        &[
            "unexpected_character",
            "malformed_endpoint",
            "unknown_parameter",
            "malformed_parameter",
        ],
        &[
            "host:          my\u{fffd}b.123456789012.us-east-1.rds.amazonaws.com",
            "user:          '\\u{1b}[2J\\u{202e}evil\\u{7}'",
        ],
    );
    assert!(problem(&run, "malformed_endpoint")
        .starts_with("the host has a character no DNS name has (the byte 0xFF);"));
    assert!(problem(&run, "malformed_parameter")
        .starts_with("DBUser has a control character, which no database user name has;"));
}

#[test]
fn says_what_is_not_a_token_with_exit_status_2_and_never_echoes_it() {
    let mut env = TestEnv::new();
    for (input, message) in [
        (
            &b"my-database-password\n"[..],
            "the input (20 bytes) has no '?', so it is not an RDS auth token",
        ),
        (b"", "the input is empty"),
        (b"\xff\xfe\x00\x01", "the input (4 bytes) has no '?'"),
        (
            b"https://example.com/?q=password",
            "has none of the parameters of an RDS auth token",
        ),
    ] {
        env.stdin(input);
        inspect_in(&env, A_MINUTE_LATER, &[])
            .fails_with(2)
            .stderr_contains(message)
            .stderr_lacks("password");
    }
    env.stdin(vec![b'a'; 1 << 20]);
    inspect_in(&env, A_MINUTE_LATER, &[])
        .fails_with(2)
        .stderr_contains("the input (1048576 bytes) has no '?'");
    env.stdin(vec![b'?'; (1 << 20) + 1]);
    inspect_in(&env, A_MINUTE_LATER, &[])
        .fails_with(2)
        .stderr_is("rds-auth-token: error: stdin has more than 1 MiB; a token is a few KiB at most: pass one token\n");
}

#[test]
fn rejects_bad_flags_with_exit_status_2_on_one_line() {
    let env = TestEnv::new();
    for (args, message) in [
        (
            &["inspect", "t", "--port", "0"][..],
            "--port 0 is not a port",
        ),
        (
            &["inspect", "t", "--at", "yesterday"],
            "--at \"yesterday\" is not a time; pass one like 2026-11-22T01:30:00Z",
        ),
        (&["inspect", "t", "--hostname", "h:5432"], "includes a port"),
        (&["inspect", "t", "--profile", "dev"], "--verify"),
        (&["inspect", "t", "u"], "unexpected argument 'u'"),
    ] {
        env.run(args).fails_with(2).stderr_contains(message);
    }
}
