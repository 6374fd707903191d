//! The AWS CLI's global options: an `aws rds generate-db-auth-token` line
//! with any of them works unchanged, and prints what the AWS CLI prints.
//!
//! The reference is the AWS CLI itself, run with the same arguments at the
//! same frozen second (libfaketime), so the two tokens must match byte for
//! byte.

use crate::support;

use support::faketime;
use support::{TestEnv, ACCESS_KEY, RDS_HOST, SECRET_KEY};

const FROZEN: &str = "2026-11-22 01:21:07";

/// Environment keys and a clock frozen at [`FROZEN`].
fn frozen_env() -> TestEnv {
    let mut env = TestEnv::new();
    env.with_env_keys();
    faketime::freeze(&mut env, FROZEN);
    env
}

fn command_args(extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--hostname",
        RDS_HOST,
        "--port",
        "5432",
        "--username",
        "jane_doe",
        "--region",
        "us-east-1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// What `aws rds generate-db-auth-token ARGS` prints in `env`.
#[track_caller]
fn aws_cli(env: &TestEnv, args: &[String]) -> String {
    let mut full = vec!["rds".to_owned(), "generate-db-auth-token".to_owned()];
    full.extend_from_slice(args);
    let run = env.run_program(support::python::current().aws(), &full);
    run.success();
    run.stdout()
}

#[test]
fn prints_the_aws_cli_token_byte_for_byte_whatever_its_output_options() {
    let env = frozen_env();
    let cases: [&[&str]; 6] = [
        &[],
        &["--output", "text"],
        &["--output", "json", "--query", "DBInstances[0]"],
        &["--output", "table", "--color", "on", "--no-paginate"],
        &[
            "--color",
            "off",
            "--cli-read-timeout",
            "5",
            "--cli-connect-timeout",
            "0",
        ],
        &["--endpoint-url", "https://rds.us-east-1.amazonaws.com"],
    ];
    for extra in cases {
        let args = command_args(extra);
        let expected = aws_cli(&env, &args);
        assert!(
            expected.contains("X-Amz-Date=20261122T012107Z"),
            "the AWS CLI did not sign at the frozen time: {expected}"
        );
        env.run(&args).stderr_is("").stdout_is(&expected);
    }
}

#[test]
fn takes_global_options_before_the_command_flags_as_well_as_after() {
    let env = frozen_env();
    let expected = aws_cli(&env, &command_args(&["--output", "text"]));
    let mut before = vec!["--output", "text", "--no-cli-pager"];
    let after = command_args(&[]);
    before.extend(after.iter().map(String::as_str));
    env.run(&before).stderr_is("").stdout_is(&expected);
}

#[test]
fn accepts_the_aws_cli_v2_only_options_and_output_formats() {
    // The installed reference is the AWS CLI v1, which lacks these; they are
    // v2's global options, and change nothing about the token.
    let env = frozen_env();
    let plain = env.run(command_args(&[])).token();
    for extra in [
        &["--output", "yaml"][..],
        &["--output", "yaml-stream"],
        &["--no-cli-pager"],
        &["--cli-auto-prompt"],
        &["--no-cli-auto-prompt"],
        &["--cli-binary-format", "raw-in-base64-out"],
    ] {
        let token = env.run(command_args(extra)).stderr_is("").token();
        assert_eq!(token, plain, "{extra:?}");
    }
}

#[test]
fn takes_global_options_after_the_exec_subcommand() {
    let env = frozen_env();
    let mut args = vec!["exec", "--output", "text", "--no-cli-pager"];
    let flags = command_args(&[]);
    args.extend(flags.iter().map(String::as_str));
    args.extend(["--", "sh", "-c", "test -n \"$PGPASSWORD\" && echo ran"]);
    env.run(&args).success().stdout_is("ran\n");
}

#[test]
fn refuses_an_output_format_the_aws_cli_does_not_have() {
    let env = frozen_env();
    env.run(command_args(&["--output", "xml"]))
        .fails_with(2)
        .stderr_contains("'--output <FORMAT>'")
        .stderr_contains("[possible values: json, text, table, yaml, yaml-stream]");
    env.run(command_args(&["--color", "sometimes"]))
        .fails_with(2)
        .stderr_contains("[possible values: on, off, auto]");
}

#[test]
fn refuses_no_verify_ssl_and_says_how_to_trust_a_proxy_instead() {
    let env = frozen_env();
    env.run(command_args(&["--no-verify-ssl"]))
        .fails_with(2)
        .stderr_is(
        "rds-auth-token: error: --no-verify-ssl is refused: without verification anyone in the \
             middle could hand us credentials; trust a TLS-inspecting proxy's CA with --ca-bundle \
             FILE or AWS_CA_BUNDLE instead\n",
    );
}

#[test]
fn refuses_no_sign_request() {
    let env = frozen_env();
    env.run(command_args(&["--no-sign-request"]))
        .fails_with(2)
        .stderr_contains("--no-sign-request is refused");
}

#[test]
fn names_the_flag_of_a_timeout_that_is_not_a_number_of_seconds() {
    let env = frozen_env();
    for flag in ["--cli-read-timeout", "--cli-connect-timeout"] {
        env.run(command_args(&[flag, "5s"]))
            .fails_with(2)
            .stderr_is(&format!(
                "rds-auth-token: error: {flag} \"5s\" is not a number of seconds; pass a whole number, 0 to wait for ever\n"
            ));
    }
}

#[test]
fn refuses_an_endpoint_url_that_is_not_a_url() {
    let env = frozen_env();
    env.run(command_args(&["--endpoint-url", "rds.amazonaws.com"]))
        .fails_with(2)
        .stderr_contains("--endpoint-url \"rds.amazonaws.com\" is not a URL");
}

#[test]
fn lets_an_unused_ca_bundle_be_as_it_is_on_the_aws_cli() {
    // As in the AWS CLI, the bundle is read only when a credential request
    // goes out over HTTPS: environment keys need none.
    let env = frozen_env();
    let expected = aws_cli(&env, &command_args(&["--ca-bundle", "/nonexistent/ca.pem"]));
    env.run(command_args(&["--ca-bundle", "/nonexistent/ca.pem"]))
        .stderr_is("")
        .stdout_is(&expected);
    assert!(expected.contains(ACCESS_KEY) && !expected.contains(SECRET_KEY));
}
