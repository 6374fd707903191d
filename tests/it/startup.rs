//! What a token from local credentials does not do: no network, no TLS
//! set-up (no root certificates read), no extra threads. Checked by tracing
//! the real binary's system calls with strace.
#![cfg(target_os = "linux")]

use crate::support;

use std::process::Command;

use support::{
    aws_cli_cache_entry, botocore_cache, botocore_cache_file, TestEnv, ACCESS_KEY, RDS_HOST,
    SECRET_KEY,
};

/// The system calls of one run, as strace prints them.
fn trace(env: &TestEnv, extra: &[&str]) -> String {
    let log = env.home().join("strace.log");
    if Command::new("strace").arg("-V").output().is_err() {
        panic!("strace is needed for this test (apt-get install strace; .ci/run installs it)");
    }
    let mut args = vec![
        "-f",
        "-qq",
        "-e",
        "trace=socket,connect,clone,clone3,fork,vfork,openat,open",
        "-o",
        log.to_str().unwrap(),
        env!("CARGO_BIN_EXE_rds-auth-token"),
        "--hostname",
        RDS_HOST,
        "--port",
        "5432",
        "--username",
        "jane_doe",
    ];
    args.extend_from_slice(extra);
    let output = env
        .program("strace")
        .args(&args)
        .output()
        .expect("run strace");
    assert!(output.status.success(), "{output:?}");
    std::fs::read_to_string(log).unwrap()
}

#[track_caller]
fn assert_stays_local(trace: &str) {
    for line in trace.lines() {
        let forbidden = line.contains("socket(AF_INET")
            || line.contains("connect(")
            || line.contains("clone(")
            || line.contains("clone3(")
            || line.contains("fork(")
            || line.contains("/etc/ssl")
            || line.contains("certs")
            || line.contains(".pem");
        assert!(
            !forbidden,
            "a token from local credentials must not do this:\n{line}\n\nwhole trace:\n{trace}"
        );
    }
}

#[test]
fn a_token_from_environment_credentials_uses_no_network_tls_or_threads() {
    let mut env = TestEnv::new();
    env.with_env_keys();
    let trace = trace(&env, &[]);
    assert_stays_local(&trace);
}

#[test]
fn a_token_from_a_credentials_file_uses_no_network_tls_or_threads() {
    let env = TestEnv::new();
    env.write(
        ".aws/credentials",
        &format!("[db]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"),
    );
    let trace = trace(&env, &["--profile", "db"]);
    assert!(
        trace.contains(".aws/credentials"),
        "the credentials file was not read:\n{trace}"
    );
    assert_stays_local(&trace);
}

/// A far-off expiry for cached credentials.
fn in_an_hour() -> std::time::SystemTime {
    std::time::SystemTime::now() + std::time::Duration::from_secs(3600)
}

#[test]
fn a_token_from_cached_assume_role_credentials_uses_no_network_tls_or_threads() {
    let env = TestEnv::new();
    env.write(
        ".aws/credentials",
        &format!(
            "[base]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
        ),
    );
    env.write(
        ".aws/config",
        "[profile db]\nrole_arn = arn:aws:iam::123456789012:role/db-connect\nsource_profile = base\n",
    );
    let file = botocore_cache_file(
        "assume-role",
        r#"{"RoleArn": "arn:aws:iam::123456789012:role/db-connect"}"#,
    );
    env.write(
        &file,
        &aws_cli_cache_entry("ASIACACHED0000000001", "s", "t", in_an_hour()),
    );
    let trace = trace(&env, &["--profile", "db"]);
    assert!(
        trace.contains(&file),
        "the cache file was not read:\n{trace}"
    );
    assert_stays_local(&trace);
}

#[test]
fn a_token_from_cached_sso_credentials_uses_no_network_tls_or_threads() {
    let env = TestEnv::new();
    env.write(
        ".aws/config",
        "[profile sso]\nsso_session = my-sso\nsso_account_id = 123456789012\n\
         sso_role_name = DbConnect\n\n[sso-session my-sso]\nsso_region = us-east-1\n\
         sso_start_url = https://d-0123456789.awsapps.com/start\n",
    );
    let key = botocore_cache(&[
        "key",
        "sso",
        r#"{"start_url": "https://d-0123456789.awsapps.com/start", "role_name": "DbConnect", "account_id": "123456789012", "sso_session_name": "my-sso"}"#,
    ]);
    let file = format!(".aws/cli/cache/{key}.json");
    env.write(
        &file,
        &aws_cli_cache_entry("ASIACACHED0000000001", "s", "t", in_an_hour()),
    );
    let trace = trace(&env, &["--profile", "sso"]);
    assert!(
        trace.contains(&file),
        "the cache file was not read:\n{trace}"
    );
    assert!(
        !trace.contains(".aws/sso/cache"),
        "the SSO token was read on a cache hit:\n{trace}"
    );
    assert_stays_local(&trace);
}

#[test]
fn a_token_from_local_credentials_reads_no_ca_bundle_and_uses_no_proxy() {
    // The CA bundle is read, and the proxy used, only when a credential
    // request goes to the network.
    let mut env = TestEnv::new();
    let bundle = env.write("corp/ca-bundle.pem", "not read\n");
    env.write(
        ".aws/config",
        &format!("[default]\nca_bundle = {}\n", bundle.display()),
    );
    env.with_env_keys()
        .env("AWS_CA_BUNDLE", &bundle)
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("HTTP_PROXY", "http://127.0.0.1:9");
    let trace = trace(&env, &["--ca-bundle", bundle.to_str().unwrap()]);
    assert_stays_local(&trace);
    assert!(
        !trace.contains("ca-bundle"),
        "the CA bundle was opened:\n{trace}"
    );
}
