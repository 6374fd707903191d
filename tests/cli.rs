//! The command line end to end: flags, output, exit statuses and messages.

mod support;

use support::{assert_signed_with, TestEnv, ACCESS_KEY, RDS_HOST, SECRET_KEY};

#[test]
fn prints_the_token_botocore_makes_from_environment_credentials() {
    let mut env = TestEnv::new();
    env.with_env_keys();
    let token = env.run_token(&[]).stderr_is("").token();
    assert_eq!(token.access_key(), ACCESS_KEY);
    assert_signed_with(&token, RDS_HOST, 5432, "jane_doe", "us-east-1", SECRET_KEY);
}
