//! A token never outlives its credentials: with credentials that expire
//! first its expiry is cut to theirs (and said on stderr), and credentials
//! with less than a minute left are fetched again or refused.
//!
//! The credentials come from a `credential_process` script that computes its
//! `Expiration` from the real clock with `date`, so the expiry the binary
//! sees is an independent one.

use crate::support;

use support::{TestEnv, RDS_HOST};

/// A profile `proc` whose `credential_process` prints credentials expiring
/// at `date -u -d "$(cat HOME/offset)"` (e.g. `+5 minutes`), and counts its
/// runs in HOME/runs. With HOME/later, every run after the first expires at
/// that offset instead.
fn process_env(offset: &str) -> TestEnv {
    let mut env = TestEnv::new();
    let home = env.home().display().to_string();
    env.write("offset", offset);
    let script = env.write_script(
        "bin/creds.sh",
        &format!(
            "#!/bin/sh\n\
             echo run >> '{home}/runs'\n\
             offset=$(cat '{home}/offset')\n\
             if [ -f '{home}/later' ] && [ $(wc -l < '{home}/runs') -gt 1 ]; then offset=$(cat '{home}/later'); fi\n\
             exp=$(date -u -d \"$offset\" +%Y-%m-%dT%H:%M:%SZ)\n\
             printf '{{\"Version\": 1, \"AccessKeyId\": \"ASIAPROCESS\", \"SecretAccessKey\": \"processsecret\", \"SessionToken\": \"processtoken\", \"Expiration\": \"%s\"}}' \"$exp\"\n"
        ),
    );
    env.write(
        ".aws/config",
        &format!(
            "[profile proc]\nregion = us-east-1\ncredential_process = {}\n",
            script.display()
        ),
    );
    env.env("AWS_PROFILE", "proc");
    env
}

fn runs(env: &TestEnv) -> usize {
    std::fs::read_to_string(env.home().join("runs"))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

fn expires(token: &support::Token) -> u64 {
    token.param("X-Amz-Expires").unwrap().parse().unwrap()
}

#[test]
fn cuts_the_token_to_end_when_the_credentials_expire_and_says_so() {
    let env = process_env("+5 minutes");
    let run = env.run_token(&[]);
    let token = run.token();
    let secs = expires(&token);
    assert!(
        (290..=300).contains(&secs),
        "X-Amz-Expires={secs}, expected about 300"
    );
    let stderr = run.stderr();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("rds-auth-token: warning: the credentials expire at ")
            && stderr.ends_with(&format!(
                ", so the token is valid for {secs} seconds, not 900\n"
            )),
        "{stderr}"
    );
    assert!(!stderr.contains("processsecret") && !stderr.contains("processtoken"));
    assert_eq!(runs(&env), 1);
}

#[test]
fn keeps_the_full_validity_when_the_credentials_outlive_the_token() {
    let env = process_env("+1 hour");
    let token = env.run_token(&[]).stderr_is("").token();
    assert_eq!(expires(&token), 900);
}

#[test]
fn gives_the_credentials_expiry_in_json() {
    let env = process_env("+1 hour");
    let run = env.run_token(&["--format", "json"]);
    run.success().stderr_is("");
    let out = run.stdout();
    let field = "\"credential_expiration\":\"";
    let at = out
        .split_once(field)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(at, _)| at.to_owned())
        .unwrap_or_else(|| panic!("no credential_expiration in {out}"));
    // Within a few seconds of the script's own `date -d '+1 hour'`.
    let expected = std::process::Command::new("date")
        .args(["-u", "-d", "+1 hour", "+%s"])
        .output()
        .unwrap();
    let expected: i64 = String::from_utf8(expected.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let got = std::process::Command::new("date")
        .args(["-u", "-d", &at, "+%s"])
        .output()
        .unwrap();
    let got: i64 = String::from_utf8(got.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!((expected - got).abs() <= 10, "{at} vs now + 1 hour");
}

#[test]
fn gives_a_null_credential_expiration_for_keys_that_never_expire() {
    let mut env = TestEnv::new();
    env.with_env_keys();
    let run = env.run_token(&["--format", "json"]);
    assert!(
        run.success()
            .stdout()
            .trim_end()
            .ends_with(",\"credential_expiration\":null}"),
        "{}",
        run.stdout()
    );
}

#[test]
fn fetches_credentials_again_when_they_have_under_a_minute_left() {
    let env = process_env("+30 seconds");
    env.write("later", "+1 hour");
    let token = env.run_token(&[]).stderr_is("").token();
    assert_eq!(expires(&token), 900);
    assert_eq!(
        runs(&env),
        2,
        "the process runs once more for fresh credentials"
    );
}

#[test]
fn refuses_credentials_that_stay_under_a_minute_from_expiry() {
    let env = process_env("+30 seconds");
    let run = env.run_token(&[]);
    run.fails_with(1)
        .stderr_contains("expire at ")
        .stderr_contains("too soon for a token to be of use")
        .stderr_lacks("processsecret");
    assert!(run.stdout().is_empty());
    assert!(!run.stderr().contains(RDS_HOST));
}
