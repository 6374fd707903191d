//! `rds-auth-token elasticache`: tokens from the binary byte for byte as
//! botocore's `RequestSigner.generate_presigned_url` makes them at the same
//! frozen second; the formats; every usage error; `elasticache exec` with a
//! stand-in client; and a login to a real Redis server over TLS.

use crate::support;

use support::faketime;
use support::kinds::{botocore_kind_tokens, KindCase, FROZEN_AT};
use support::{TestEnv, SECRET_KEY};

fn frozen() -> TestEnv {
    let mut env = TestEnv::new();
    env.with_env_keys();
    faketime::freeze(&mut env, FROZEN_AT);
    env
}

fn case<'a>(name: &'a str, user: &'a str, region: &'a str, serverless: bool) -> KindCase<'a> {
    KindCase {
        kind: "elasticache",
        name,
        user,
        serverless,
        region,
        expires_in: 900,
        session_token: None,
    }
}

#[test]
fn makes_the_tokens_botocore_makes_at_the_same_second() {
    let mut env = frozen();
    let runs: Vec<(Vec<&str>, KindCase)> = vec![
        (
            vec![
                "--cache-name",
                "my-cache",
                "--user-id",
                "iam-user-01",
                "--region",
                "us-east-1",
            ],
            case("my-cache", "iam-user-01", "us-east-1", false),
        ),
        (
            vec![
                "--cache-name",
                "My-Serverless-Cache",
                "--user-id",
                "App-User",
                "--region",
                "cn-northwest-1",
                "--serverless",
            ],
            case("my-serverless-cache", "App-User", "cn-northwest-1", true),
        ),
        (
            vec![
                "--cache-name",
                "c",
                "--user-id",
                "u",
                "--region",
                "eu-central-1",
                "--expires-in",
                "60",
            ],
            KindCase {
                expires_in: 60,
                ..case("c", "u", "eu-central-1", false)
            },
        ),
    ];
    let expected = botocore_kind_tokens(&runs.iter().map(|(_, c)| c.clone()).collect::<Vec<_>>());
    for ((args, _), expected) in runs.iter().zip(&expected) {
        let mut all = vec!["elasticache"];
        all.extend(args);
        assert_eq!(env.run(&all).token().as_str(), expected, "{args:?}");
    }
    env.env("AWS_SESSION_TOKEN", "FwoGZXIvYXdzE//session+token=")
        .env("AWS_REGION", "ap-southeast-2");
    let with_session = KindCase {
        session_token: Some("FwoGZXIvYXdzE//session+token="),
        ..case("my-cache", "iam-user-01", "ap-southeast-2", false)
    };
    assert_eq!(
        env.run([
            "elasticache",
            "--cache-name",
            "my-cache",
            "--user-id",
            "iam-user-01"
        ])
        .token()
        .as_str(),
        botocore_kind_tokens(&[with_session])[0]
    );
}

#[test]
fn refuses_bad_flags_with_one_line_naming_the_flag() {
    let mut env = TestEnv::new();
    env.with_env_keys();
    let base = ["elasticache", "--cache-name", "my-cache", "--user-id", "u"];
    let with = |extra: &[&'static str]| {
        let mut args: Vec<&str> = base.to_vec();
        args.extend_from_slice(extra);
        args
    };
    for (args, message) in [
        (
            with(&[]),
            "no region: a cache or cluster name carries none; pass --region, set AWS_REGION, or set region in the profile",
        ),
        (
            vec!["elasticache", "--cache-name", "my_cache", "--user-id", "u", "--region", "us-east-1"],
            "--cache-name 'my_cache' is not a valid name; pass 1 to 40 letters, digits and hyphens, as AWS names caches, clusters and users",
        ),
        (
            vec!["elasticache", "--cache-name", "c", "--user-id", "1abc", "--region", "us-east-1"],
            "--user-id '1abc' does not begin with a letter; ElastiCache user ids and MemoryDB user names begin with a letter, then letters, digits and hyphens",
        ),
        (
            vec!["elasticache", "--cache-name", "c", "--user-id", "a b", "--region", "us-east-1"],
            "--user-id 'a b' is not a valid name; pass 1 to 40 letters, digits and hyphens, as AWS names caches, clusters and users",
        ),
        (
            with(&["--region", "us-east-1", "--expires-in", "901"]),
            "--expires-in 901 is above 900 seconds, the longest ElastiCache accepts; pass at most 900",
        ),
        (
            with(&["--region", "us-east-1", "--expires-in", "0"]),
            "--expires-in 0 makes a token that has already expired; pass 1 to 900 seconds",
        ),
        (
            with(&["--region", "us-east-1", "--format", "uri"]),
            "invalid value 'uri' for '--format <FORMAT>' [possible values: token, json, env]; see 'rds-auth-token --help'",
        ),
        (
            vec!["elasticache", "--user-id", "u"],
            "the following required arguments were not provided: --cache-name <NAME>; see 'rds-auth-token --help'",
        ),
        (
            vec!["elasticache", "exec", "--cache-name", "c", "--user-id", "u", "--region", "us-east-1", "--", "redis-cli"],
            "the following required arguments were not provided: --endpoint <HOST:PORT>; see 'rds-auth-token --help'",
        ),
        (
            vec!["elasticache", "exec", "--cache-name", "c", "--user-id", "u", "--region", "us-east-1", "--endpoint", "h:0", "--", "redis-cli"],
            "--endpoint \"h:0\" has no port from 1 to 65535; pass HOST or HOST:PORT, e.g. master.my-cache.abc123.use1.cache.amazonaws.com:6379",
        ),
        (
            vec!["elasticache", "exec", "--cache-name", "c", "--user-id", "u", "--region", "us-east-1", "--endpoint", "a b", "--", "redis-cli"],
            "--endpoint \"a b\" is not a host name or IP address; pass HOST or HOST:PORT, e.g. master.my-cache.abc123.use1.cache.amazonaws.com:6379",
        ),
        (
            vec!["elasticache", "exec", "--cache-name", "c", "--user-id", "u", "--region", "us-east-1", "--endpoint", "h", "--ssl-ca", "/no/such.pem", "--", "redis-cli"],
            "--ssl-ca /no/such.pem: No such file or directory (os error 2); pass a readable PEM file of CA certificates",
        ),
    ] {
        env.run(&args)
            .fails_with(2)
            .stderr_is(&format!("rds-auth-token: error: {message}\n"));
    }
}

#[test]
fn prints_json_and_an_export_line_for_redis_cli() {
    let env = frozen();
    let args = [
        "elasticache",
        "--cache-name",
        "My-Cache",
        "--user-id",
        "iam-user-01",
        "--region",
        "us-east-1",
    ];
    let token = env.run(args).token();
    assert!(token
        .as_str()
        .starts_with("my-cache/?Action=connect&User=iam-user-01&"));
    let mut json_args = args.to_vec();
    json_args.extend(["--format", "json"]);
    env.run(&json_args).success().stdout_is(&format!(
        "{{\"token\":\"{}\",\"cache_name\":\"my-cache\",\"user_id\":\"iam-user-01\",\"region\":\"us-east-1\",\"expiration\":\"2026-11-22T01:36:07Z\",\"expires_in\":900,\"credential_expiration\":null}}\n",
        token.as_str()
    ));
    let mut env_args = args.to_vec();
    env_args.extend(["--format", "env"]);
    env.run(&env_args)
        .success()
        .stdout_is(&format!("export REDISCLI_AUTH='{}'\n", token.as_str()));
}

/// A `redis-cli` first on PATH that records its arguments, one a line, in
/// HOME/redis-cli.args, leaves the frozen clock behind, and runs the real
/// client: the token must reach it through the environment alone.
#[cfg(unix)]
fn recording_redis_cli(env: &mut TestEnv) {
    let real = support::redis::client_program();
    env.write_script(
        "bin/redis-cli",
        &format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$HOME/redis-cli.args\"\n\
             cat /proc/$$/cmdline > \"$HOME/redis-cli.cmdline\"\n\
             [ -n \"$REDISCLI_AUTH\" ] && echo set > \"$HOME/redis-cli.auth\"\n\
             unset LD_PRELOAD FAKETIME\nexec {} \"$@\"\n",
            real.display()
        ),
    );
    let bin = env.home().join("bin");
    env.env(
        "PATH",
        format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
    );
}

#[cfg(unix)]
#[test]
fn exec_logs_in_to_a_real_redis_over_tls_with_the_token_in_rediscli_auth_only() {
    use support::redis::Redis;
    use support::tls::TestCa;

    let mut env = frozen();
    let token = env
        .run([
            "elasticache",
            "--cache-name",
            "My-Cache",
            "--user-id",
            "iam-user-01",
            "--region",
            "us-east-1",
        ])
        .token();
    let ca = TestCa::new();
    let redis = Redis::start(&ca, &[("iam-user-01", token.as_str())]);
    recording_redis_cli(&mut env);
    let endpoint = format!("127.0.0.1:{}", redis.port());
    let ca_pem = ca.ca_pem().display().to_string();
    let exec = |env: &TestEnv, extra: &[&str]| {
        let mut args = vec![
            "elasticache",
            "exec",
            "--cache-name",
            "My-Cache",
            "--user-id",
            "iam-user-01",
            "--region",
            "us-east-1",
            "--endpoint",
            &endpoint,
            "--ssl-ca",
            &ca_pem,
            "--",
            "redis-cli",
        ];
        args.extend_from_slice(extra);
        env.run(&args)
    };
    exec(&env, &["ACL", "WHOAMI"])
        .success()
        .stdout_is("iam-user-01\n");
    let args = std::fs::read_to_string(env.home().join("redis-cli.args")).unwrap();
    assert_eq!(
        args,
        format!(
            "-h\n127.0.0.1\n-p\n{}\n--tls\n--cacert\n{ca_pem}\n--user\niam-user-01\nACL\nWHOAMI\n",
            redis.port()
        )
    );
    let cmdline = std::fs::read(env.home().join("redis-cli.cmdline")).unwrap();
    assert!(!String::from_utf8_lossy(&cmdline).contains("X-Amz-Signature"));
    assert!(
        env.home().join("redis-cli.auth").exists(),
        "REDISCLI_AUTH was set"
    );
    assert!(!args.contains(token.as_str()) && !args.contains("X-Amz"));

    // A token for another second is another password: no login.
    faketime::freeze(&mut env, "2026-11-22 01:21:08");
    let run = exec(&env, &["ACL", "WHOAMI"]);
    assert!(
        !run.stdout().contains("iam-user-01"),
        "logged in with another token: {}",
        run.stdout()
    );
    assert!(
        (run.stdout() + &run.stderr()).contains("WRONGPASS"),
        "{}{}",
        run.stdout(),
        run.stderr()
    );
    drop(redis);
}

#[cfg(unix)]
#[test]
fn exec_defaults_to_the_amazon_roots_and_traces_the_launch_without_the_token() {
    let mut env = TestEnv::new();
    env.with_env_keys();
    env.write_script(
        "bin/valkey-cli",
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$HOME/valkey-cli.args\"\nenv > \"$HOME/valkey-cli.env\"\n",
    );
    let bin = env.home().join("bin");
    env.env(
        "PATH",
        format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
    );
    let roots = env
        .run(["ca-bundle", "--rds-proxy", "--path"])
        .success()
        .stdout();
    let run = env.run([
        "elasticache",
        "exec",
        "--cache-name",
        "sl",
        "--user-id",
        "u",
        "--region",
        "us-east-1",
        "--serverless",
        "--endpoint",
        "sl-abc123.serverless.use1.cache.amazonaws.com",
        "--debug",
        "--",
        "valkey-cli",
        "PING",
    ]);
    run.success()
        .stderr_contains("rds-auth-token: debug: running \"valkey-cli\" with arguments [\"-h\", \"sl-abc123.serverless.use1.cache.amazonaws.com\", \"-p\", \"6379\", \"--tls\", \"--cacert\"")
        .stderr_contains("and REDISCLI_AUTH\n")
        .stderr_lacks("X-Amz-Signature")
        .stderr_lacks(SECRET_KEY);
    let args = std::fs::read_to_string(env.home().join("valkey-cli.args")).unwrap();
    assert!(
        args.contains(&format!("--cacert\n{}", roots.trim_end())),
        "{args}"
    );
    let dump = std::fs::read_to_string(env.home().join("valkey-cli.env")).unwrap();
    let auth = dump
        .lines()
        .find_map(|l| l.strip_prefix("REDISCLI_AUTH="))
        .unwrap();
    assert!(
        auth.starts_with("sl/?Action=connect&User=u&ResourceType=ServerlessCache&"),
        "{auth}"
    );
}
