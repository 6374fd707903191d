//! `rds-auth-token memorydb`: tokens from the binary byte for byte as
//! botocore's `RequestSigner.generate_presigned_url` makes them at the same
//! frozen second; `--serverless` refused; usage errors; and `memorydb exec`
//! logging in to a real Redis server over TLS.

use crate::support;

use support::faketime;
use support::kinds::{botocore_kind_tokens, KindCase, FROZEN_AT};
use support::TestEnv;

fn frozen() -> TestEnv {
    let mut env = TestEnv::new();
    env.with_env_keys();
    faketime::freeze(&mut env, FROZEN_AT);
    env
}

#[test]
fn makes_the_tokens_botocore_makes_at_the_same_second() {
    let mut env = frozen();
    let cases = [
        KindCase {
            kind: "memorydb",
            name: "my-cluster",
            user: "iam-user-01",
            serverless: false,
            region: "us-west-2",
            expires_in: 900,
            session_token: None,
        },
        KindCase {
            kind: "memorydb",
            name: "prod-cluster-7",
            user: "Reader-2",
            serverless: false,
            region: "cn-north-1",
            expires_in: 900,
            session_token: Some("IQoJb3JpZ2luX2VjE/session=="),
        },
    ];
    let expected = botocore_kind_tokens(&cases);
    assert_eq!(
        env.run([
            "memorydb",
            "--cluster-name",
            "My-Cluster",
            "--user-id",
            "iam-user-01",
            "--region",
            "us-west-2"
        ])
        .token()
        .as_str(),
        expected[0]
    );
    env.env("AWS_SESSION_TOKEN", "IQoJb3JpZ2luX2VjE/session==")
        .env("AWS_DEFAULT_REGION", "cn-north-1");
    assert_eq!(
        env.run([
            "memorydb",
            "--cluster-name",
            "prod-cluster-7",
            "--user-id",
            "Reader-2"
        ])
        .token()
        .as_str(),
        expected[1]
    );
}

#[test]
fn refuses_serverless_and_bad_flags_with_one_line_naming_the_flag() {
    let mut env = TestEnv::new();
    env.with_env_keys();
    for (args, message) in [
        (
            vec!["memorydb", "--cluster-name", "c", "--user-id", "u", "--region", "us-east-1", "--serverless"],
            "--serverless is for ElastiCache serverless caches; MemoryDB has no serverless form, so leave the flag out",
        ),
        (
            vec!["memorydb", "--cluster-name", "c", "--user-id", "u"],
            "no region: a cache or cluster name carries none; pass --region, set AWS_REGION, or set region in the profile",
        ),
        (
            vec!["memorydb", "--cluster-name", &"x".repeat(41), "--user-id", "u", "--region", "us-east-1"],
            "--cluster-name 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' is not a valid name; pass 1 to 40 letters, digits and hyphens, as AWS names caches, clusters and users",
        ),
        (
            vec!["memorydb", "--cluster-name", "c", "--user-id", "9user", "--region", "us-east-1"],
            "--user-id '9user' does not begin with a letter; ElastiCache user ids and MemoryDB user names begin with a letter, then letters, digits and hyphens",
        ),
        (
            vec!["memorydb", "--cluster-name", "c", "--user-id", "u", "--region", "us-east-1", "--expires-in", "1000"],
            "--expires-in 1000 is above 900 seconds, the longest MemoryDB accepts; pass at most 900",
        ),
        (
            vec!["memorydb", "--cluster-name", "c", "--region", "us-east-1"],
            "the following required arguments were not provided: --user-id <USER_ID>; see 'rds-auth-token --help'",
        ),
        (
            vec!["memorydb", "exec", "--cluster-name", "c", "--user-id", "u", "--region", "us-east-1", "--endpoint", "[::1", "--", "redis-cli"],
            "--endpoint \"[::1\" has no closing ']'; pass HOST or HOST:PORT, e.g. master.my-cache.abc123.use1.cache.amazonaws.com:6379",
        ),
    ] {
        env.run(&args)
            .fails_with(2)
            .stderr_is(&format!("rds-auth-token: error: {message}\n"));
    }
}

#[cfg(unix)]
#[test]
fn exec_logs_in_to_a_real_redis_over_tls_with_the_token_in_rediscli_auth_only() {
    use support::redis::{client_program, Redis};
    use support::tls::TestCa;

    let mut env = frozen();
    let token = env
        .run([
            "memorydb",
            "--cluster-name",
            "my-cluster",
            "--user-id",
            "iam-user-01",
            "--region",
            "us-west-2",
        ])
        .token();
    let ca = TestCa::new();
    let redis = Redis::start(&ca, &[("iam-user-01", token.as_str())]);
    // The client runs on the real clock, and records its arguments.
    env.write_script(
        "bin/redis-cli",
        &format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$HOME/redis-cli.args\"\nunset LD_PRELOAD FAKETIME\nexec {} \"$@\"\n",
            client_program().display()
        ),
    );
    let bin = env.home().join("bin");
    env.env(
        "PATH",
        format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
    );
    let endpoint = format!("[127.0.0.1]:{}", redis.port());
    let ca_pem = ca.ca_pem().display().to_string();
    env.run([
        "memorydb",
        "exec",
        "--cluster-name",
        "my-cluster",
        "--user-id",
        "iam-user-01",
        "--region",
        "us-west-2",
        "--endpoint",
        &endpoint,
        "--ssl-ca",
        &ca_pem,
        "--",
        "redis-cli",
        "ACL",
        "WHOAMI",
    ])
    .success()
    .stdout_is("iam-user-01\n");
    let args = std::fs::read_to_string(env.home().join("redis-cli.args")).unwrap();
    assert!(!args.contains("X-Amz"), "{args}");
    assert!(args.contains("--user\niam-user-01\n"), "{args}");
}
