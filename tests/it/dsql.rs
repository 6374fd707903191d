//! `rds-auth-token dsql`: Aurora DSQL tokens from the binary, byte for byte
//! as botocore's `generate_db_connect_auth_token` and
//! `generate_db_connect_admin_auth_token` make them at the same frozen
//! second; where the region comes from; the formats; every usage error; and
//! `dsql exec` with a stand-in psql.

use crate::support;

use support::faketime;
use support::kinds::{botocore_kind_tokens, KindCase, FROZEN_AT};
use support::{TestEnv, Token};

const HOST: &str = "abcdefghijklmnopqrst.dsql.us-east-1.on.aws";

fn frozen() -> TestEnv {
    let mut env = TestEnv::new();
    env.with_env_keys();
    faketime::freeze(&mut env, FROZEN_AT);
    env
}

fn dsql_case<'a>(admin: bool, name: &'a str, region: &'a str, expires_in: u64) -> KindCase<'a> {
    KindCase {
        kind: if admin { "dsql-admin" } else { "dsql" },
        name,
        user: "",
        serverless: false,
        region,
        expires_in,
        session_token: None,
    }
}

#[test]
fn makes_the_tokens_botocore_makes_at_the_same_second() {
    let mut env = frozen();
    let runs: Vec<(Vec<&str>, KindCase)> = vec![
        (
            vec!["--hostname", HOST],
            dsql_case(false, HOST, "us-east-1", 900),
        ),
        (
            vec!["--hostname", HOST, "--admin", "--expires-in", "3600"],
            dsql_case(true, HOST, "us-east-1", 3600),
        ),
        (
            vec![
                "--hostname",
                "zyxwvutsrqponmlkjihg.dsql.cn-north-1.on.aws",
                "--expires-in",
                "604800",
            ],
            dsql_case(
                false,
                "zyxwvutsrqponmlkjihg.dsql.cn-north-1.on.aws",
                "cn-north-1",
                604800,
            ),
        ),
        (
            vec![
                "--hostname",
                "proxy.example.com",
                "--region",
                "eu-west-1",
                "--admin",
            ],
            dsql_case(true, "proxy.example.com", "eu-west-1", 900),
        ),
    ];
    let expected = botocore_kind_tokens(&runs.iter().map(|(_, c)| c.clone()).collect::<Vec<_>>());
    for ((args, _), expected) in runs.iter().zip(&expected) {
        let mut all = vec!["dsql"];
        all.extend(args);
        assert_eq!(env.run(&all).token().as_str(), expected, "{args:?}");
    }
    // With a session token too.
    env.env("AWS_SESSION_TOKEN", "FwoGZXIvYXdzE//session+token=");
    let case = KindCase {
        session_token: Some("FwoGZXIvYXdzE//session+token="),
        ..dsql_case(true, HOST, "us-east-1", 900)
    };
    assert_eq!(
        env.run(["dsql", "--hostname", HOST, "--admin"])
            .token()
            .as_str(),
        botocore_kind_tokens(&[case])[0]
    );
}

#[test]
fn makes_the_known_answers() {
    let env = frozen();
    let signature = |args: &[&str]| {
        let token = env.run(args).token();
        token.param("X-Amz-Signature").unwrap().to_owned()
    };
    assert_eq!(
        signature(&["dsql", "--hostname", HOST]),
        "e4f1901c61e9e9f9272772d3082eb8b75347b6ae06fc2d96e776f2616d20f6b2"
    );
    assert_eq!(
        signature(&[
            "dsql",
            "--hostname",
            HOST,
            "--admin",
            "--expires-in",
            "3600"
        ]),
        "63571ce768b6e2fe3fbe41bf3870052c1c1ea895c8eda187a3e2cb8c1805df7a"
    );
}

#[test]
fn takes_the_region_from_the_flag_or_environment_before_the_endpoint_name_and_warns_when_they_differ(
) {
    let mut env = TestEnv::new();
    env.with_env_keys();
    let token = env.run(["dsql", "--hostname", HOST]).token();
    assert_eq!(token.region(), "us-east-1");
    env.env("AWS_REGION", "us-west-2");
    let run = env.run(["dsql", "--hostname", HOST]);
    assert_eq!(run.token().region(), "us-west-2");
    run.stderr_is("rds-auth-token: warning: signing for us-west-2 (from AWS_REGION), but the endpoint is in us-east-1; the database will refuse this token, pass --region us-east-1\n");
    let run = env.run(["dsql", "--hostname", "db.example.com"]);
    assert_eq!(run.token().region(), "us-west-2");
    run.stderr_is("");
}

#[test]
fn traces_the_region_from_the_endpoint_name_with_debug_and_no_secret() {
    let mut env = TestEnv::new();
    env.with_env_keys();
    let run = env.run(["dsql", "--hostname", HOST, "--debug"]);
    run.success()
        .stderr_contains("rds-auth-token: debug: region us-east-1 (from the Aurora DSQL endpoint name in --hostname)")
        .stderr_lacks(support::SECRET_KEY)
        .stderr_lacks("X-Amz-Signature");
}

#[test]
fn refuses_bad_flags_with_one_line_naming_the_flag() {
    let mut env = TestEnv::new();
    env.with_env_keys();
    for (args, message) in [
        (
            vec!["dsql", "--hostname", "db.example.com"],
            "rds-auth-token: error: no region: --hostname 'db.example.com' is not an Aurora DSQL endpoint (<id>.dsql.<region>.on.aws), so it names no region; pass --region, set AWS_REGION, or set region in the profile\n",
        ),
        (
            vec!["dsql", "--hostname", HOST, "--expires-in", "604801"],
            "rds-auth-token: error: --expires-in 604801 is above 604800 seconds, the longest Aurora DSQL accepts; pass at most 604800\n",
        ),
        (
            vec!["dsql", "--hostname", HOST, "--expires-in", "0"],
            "rds-auth-token: error: --expires-in 0 makes a token that has already expired; pass 1 to 604800 seconds\n",
        ),
        (
            vec!["dsql", "--hostname", HOST, "--expires-in", "1w"],
            "rds-auth-token: error: --expires-in \"1w\" is not a number of seconds; pass 1 to 604800\n",
        ),
        (
            vec!["dsql", "--hostname", "https://x.dsql.us-east-1.on.aws"],
            "rds-auth-token: error: --hostname 'https://x.dsql.us-east-1.on.aws' includes a scheme; pass the host name alone, without '://'\n",
        ),
        (
            vec!["dsql", "--hostname", HOST, "--region", "Virginia"],
            "rds-auth-token: error: --region 'Virginia' is not a region name; pass one like us-east-1, eu-west-1 or cn-north-1\n",
        ),
        (
            vec!["dsql", "--hostname", HOST, "--format", "env"],
            "rds-auth-token: error: --format env needs the role to log in as; pass --username ROLE, or --admin for the admin role\n",
        ),
        (
            vec!["dsql", "--hostname", HOST, "--admin", "--username", "app"],
            "rds-auth-token: error: the argument '--admin' cannot be used with '--username <ROLE>'; see 'rds-auth-token --help'\n",
        ),
        (
            vec!["dsql"],
            "rds-auth-token: error: the following required arguments were not provided: --hostname <HOSTNAME>; see 'rds-auth-token --help'\n",
        ),
        (
            vec!["dsql", "exec", "--hostname", HOST, "--", "psql"],
            "rds-auth-token: error: dsql exec needs the role to log in as; pass --username ROLE, or --admin for the admin role\n",
        ),
    ] {
        env.run(&args).fails_with(2).stderr_is(message);
    }
}

#[test]
fn prints_json_env_and_uri_for_libpq_with_the_amazon_roots() {
    let env = frozen();
    let roots = env
        .run(["ca-bundle", "--rds-proxy", "--path"])
        .success()
        .stdout();
    let roots = roots.trim_end();
    let token = env.run(["dsql", "--hostname", HOST, "--admin"]).token();
    let json = env
        .run(["dsql", "--hostname", HOST, "--admin", "--format", "json"])
        .success()
        .stdout();
    assert_eq!(
        json,
        format!(
            "{{\"token\":\"{}\",\"hostname\":\"{HOST}\",\"action\":\"DbConnectAdmin\",\"region\":\"us-east-1\",\"expiration\":\"2026-11-22T01:36:07Z\",\"expires_in\":900,\"credential_expiration\":null}}\n",
            token.as_str()
        )
    );
    env.run(["dsql", "--hostname", HOST, "--admin", "--format", "env"])
        .success()
        .stdout_is(&format!(
            "export PGHOST='{HOST}'\nexport PGPORT='5432'\nexport PGUSER='admin'\nexport PGDATABASE='postgres'\n\
             export PGSSLMODE='verify-full'\nexport PGSSLROOTCERT='{roots}'\nexport PGPASSWORD='{}'\n",
            token.as_str()
        ));
    let uri = env
        .run([
            "dsql",
            "--hostname",
            HOST,
            "--username",
            "app",
            "--format",
            "uri",
        ])
        .success()
        .stdout();
    let expected_prefix = "postgresql://app:";
    assert!(uri.starts_with(expected_prefix), "{uri}");
    assert!(
        uri.contains(&format!(
            "@{HOST}:5432/postgres?sslmode=verify-full&sslrootcert="
        )),
        "{uri}"
    );
    assert!(
        !uri.contains("?Action"),
        "the token is percent-encoded: {uri}"
    );
}

#[test]
fn cuts_a_week_long_token_to_the_credentials_life_and_says_so() {
    let mut env = TestEnv::new();
    let script = env.write_script(
        "bin/creds.sh",
        "#!/bin/sh\nexp=$(date -u -d '+10 minutes' +%Y-%m-%dT%H:%M:%SZ)\n\
         printf '{\"Version\": 1, \"AccessKeyId\": \"ASIAPROCESS\", \"SecretAccessKey\": \"s\", \"SessionToken\": \"t\", \"Expiration\": \"%s\"}' \"$exp\"\n",
    );
    env.write(
        ".aws/config",
        &format!("[default]\ncredential_process = {}\n", script.display()),
    );
    env.env("AWS_REGION", "us-east-1");
    let run = env.run(["dsql", "--hostname", HOST, "--expires-in", "604800"]);
    let token: Token = run.token();
    let secs: u64 = token.param("X-Amz-Expires").unwrap().parse().unwrap();
    assert!((590..=600).contains(&secs), "{secs}");
    run.stderr_contains("so the token is valid for")
        .stderr_contains("seconds, not 604800");
}

#[cfg(unix)]
#[test]
fn exec_gives_psql_the_libpq_variables_the_token_and_the_amazon_roots_never_in_argv() {
    let mut env = TestEnv::new();
    env.with_env_keys();
    let bin = env.home().join("bin");
    env.write_script(
        "bin/psql",
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$HOME/psql.args\"\nenv > \"$HOME/psql.env\"\n",
    );
    env.env(
        "PATH",
        format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
    );
    let roots = env
        .run(["ca-bundle", "--rds-proxy", "--path"])
        .success()
        .stdout();
    env.run([
        "dsql",
        "exec",
        "--hostname",
        HOST,
        "--admin",
        "--",
        "psql",
        "-c",
        "select 1",
    ])
    .success()
    .stderr_is("");
    let args = std::fs::read_to_string(env.home().join("psql.args")).unwrap();
    assert_eq!(args, "-c\nselect 1\n");
    let dump = std::fs::read_to_string(env.home().join("psql.env")).unwrap();
    let value = |name: &str| {
        dump.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")).map(str::to_owned))
    };
    for (k, v) in [
        ("PGHOST", HOST),
        ("PGPORT", "5432"),
        ("PGUSER", "admin"),
        ("PGDATABASE", "postgres"),
        ("PGSSLMODE", "verify-full"),
        ("PGSSLROOTCERT", roots.trim_end()),
    ] {
        assert_eq!(value(k).as_deref(), Some(v), "{k}");
    }
    let token = Token(value("PGPASSWORD").unwrap());
    assert_eq!(token.param("Action"), Some("DbConnectAdmin"));
    assert!(token
        .as_str()
        .starts_with(&format!("{HOST}/?Action=DbConnectAdmin&")));

    // A database of the user's own, and a custom role.
    env.env("PGDATABASE", "app");
    env.run([
        "dsql",
        "exec",
        "--hostname",
        HOST,
        "--username",
        "reader",
        "--",
        "psql",
    ])
    .success();
    let dump = std::fs::read_to_string(env.home().join("psql.env")).unwrap();
    assert!(dump.lines().any(|l| l == "PGDATABASE=app"), "{dump}");
    assert!(dump.lines().any(|l| l == "PGUSER=reader"), "{dump}");
    assert!(dump.contains("Action=DbConnect&"), "{dump}");

    // A PGSSLMODE that could send the token in clear text is refused.
    env.env("PGSSLMODE", "prefer");
    env.run(["dsql", "exec", "--hostname", HOST, "--admin", "--", "psql"])
        .fails_with(2)
        .stderr_contains("PGSSLMODE=prefer can send the token in clear text");
}

#[test]
fn takes_the_profile_and_the_aws_cli_global_options_as_the_rds_command_does() {
    let env = TestEnv::new();
    env.write(
        ".aws/credentials",
        &format!(
            "[dsql]\naws_access_key_id = AKIAPROFILEDSQL00001\naws_secret_access_key = {}\n",
            support::SECRET_KEY
        ),
    );
    env.write(".aws/config", "[profile dsql]\nregion = eu-west-1\n");
    let token = env
        .run([
            "dsql",
            "--hostname",
            HOST,
            "--profile",
            "dsql",
            "--output",
            "json",
            "--no-cli-pager",
        ])
        .token();
    assert_eq!(token.access_key(), "AKIAPROFILEDSQL00001");
    // The profile's region comes before the endpoint name's, as for RDS.
    assert_eq!(token.region(), "eu-west-1");
    env.run([
        "dsql",
        "--hostname",
        HOST,
        "--profile",
        "dsql",
        "--no-verify-ssl",
    ])
    .fails_with(2)
    .stderr_contains("--no-verify-ssl is refused");
    env.run(["dsql", "--hostname", HOST, "--profile", ""])
        .fails_with(2)
        .stderr_is("rds-auth-token: error: --profile is empty; pass a profile name from ~/.aws/config, or leave the flag out\n");
}
