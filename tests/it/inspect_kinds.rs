//! `rds-auth-token inspect` on Aurora DSQL, ElastiCache and MemoryDB tokens:
//! tokens botocore makes (tests/reference/botocore_kinds.py) read, checked
//! and verified, then the same tokens broken each way its kind's rules forbid.

use crate::support;

use support::{Run, TestEnv, ACCESS_KEY, SECRET_KEY};

/// The time the botocore tokens are signed at.
const SIGNED: &str = "20261122T012107Z";
/// A minute after [`SIGNED`]: the time the tests judge the tokens at.
const A_MINUTE_LATER: &str = "2026-11-22T01:22:07Z";
const SESSION_TOKEN: &str = "FwoGZXIvYXdzEJr//////////wEaDAbc+123/SESSION=";
const DSQL_HOST: &str = "abcdefghijklmnopqrst.dsql.us-east-1.on.aws";
const MATCHES: &str =
    "signature:     matches the secret key of 'AKIAIOSFODNN7EXAMPLE' from environment variables";

/// What botocore_kinds.py is told to make.
#[derive(Clone)]
struct Kind {
    /// `dsql`, `dsql-admin`, `elasticache` or `memorydb`.
    kind: &'static str,
    /// The DSQL host name, or the cache or cluster name.
    name: String,
    user: String,
    serverless: bool,
    region: String,
    expires_in: u64,
    session_token: Option<String>,
}

fn dsql(admin: bool) -> Kind {
    Kind {
        kind: if admin { "dsql-admin" } else { "dsql" },
        name: DSQL_HOST.to_owned(),
        user: String::new(),
        serverless: false,
        region: "us-east-1".to_owned(),
        expires_in: 900,
        session_token: None,
    }
}

fn cache(kind: &'static str, name: &str, user: &str) -> Kind {
    Kind {
        kind,
        name: name.to_owned(),
        user: user.to_owned(),
        serverless: false,
        region: "us-west-2".to_owned(),
        expires_in: 900,
        session_token: None,
    }
}

/// botocore's tokens for `cases`, in order.
#[track_caller]
fn botocore(cases: &[Kind]) -> Vec<String> {
    // Every value here is printable ASCII without quotes or backslashes.
    let json = |s: &str| {
        assert!(s
            .chars()
            .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\'));
        format!("\"{s}\"")
    };
    let input: String = cases
        .iter()
        .map(|c| {
            format!(
                "{{\"kind\":{},\"name\":{},\"user\":{},\"serverless\":{},\"region\":{},\"expires_in\":{},\"access_key\":{},\"secret_key\":{},\"session_token\":{},\"timestamp\":{}}}\n",
                json(c.kind),
                json(&c.name),
                json(&c.user),
                c.serverless,
                json(&c.region),
                c.expires_in,
                json(ACCESS_KEY),
                json(SECRET_KEY),
                c.session_token.as_deref().map_or("null".to_owned(), json),
                json(SIGNED),
            )
        })
        .collect();
    support::kinds::run_reference(&input, cases.len())
}

#[track_caller]
fn one(case: Kind) -> String {
    botocore(&[case]).remove(0)
}

/// `inspect --at A_MINUTE_LATER ARGS` with `token` on stdin, with the
/// example keys (and `session`) in the environment.
fn inspect(token: &str, session: Option<&str>, args: &[&str]) -> Run {
    let mut env = TestEnv::new();
    env.with_env_keys().stdin(token);
    if let Some(session) = session {
        env.env("AWS_SESSION_TOKEN", session);
    }
    let mut all = vec!["inspect", "--at", A_MINUTE_LATER];
    all.extend_from_slice(args);
    env.run(all)
}

/// Exit status `code` with an empty stderr, a report that has each of
/// `lines` as a whole line, and exactly the problems `codes`.
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

/// The message of the problem `code`.
#[track_caller]
fn problem(run: &Run, code: &str) -> String {
    let prefix = format!("problem: {code}: ");
    match run.stdout().lines().find(|l| l.starts_with(&prefix)) {
        Some(line) => line[prefix.len()..].to_owned(),
        None => run.fail(&format!("expected the problem {code}")),
    }
}

/// What Python's json module reads from `json`, as Python prints it.
#[track_caller]
fn python_reads(json: &str, expression: &str) -> String {
    support::python::json_reads(json, expression)
}

#[test]
fn prints_every_field_of_a_botocore_dsql_admin_token_one_a_line() {
    let token = one(Kind {
        expires_in: 3600,
        session_token: Some(SESSION_TOKEN.into()),
        ..dsql(true)
    });
    let run = inspect(&token, Some(SESSION_TOKEN), &["--verify"]);
    run.success().stderr_is("");
    assert_eq!(
        run.stdout(),
        "\
kind:          Aurora DSQL
host:          abcdefghijklmnopqrst.dsql.us-east-1.on.aws
role:          admin
action:        DbConnectAdmin
service:       dsql
region:        us-east-1
access key id: AKIAIOSFODNN7EXAMPLE
session token: present (not shown)
signed at:     2026-11-22T01:21:07Z
expires at:    2026-11-22T02:21:07Z (valid for 3600 s)
time left:     59 min
signature:     matches the secret key of 'AKIAIOSFODNN7EXAMPLE' from environment variables
problems:      none
"
    );
}

#[test]
fn reads_and_verifies_each_kind_botocore_makes_and_says_which_it_is() {
    let cases = [
        dsql(false),
        Kind {
            expires_in: 604_800,
            ..dsql(true)
        },
        cache("elasticache", "my-cache", "iam-user-01"),
        Kind {
            serverless: true,
            region: "cn-north-1".into(),
            session_token: Some(SESSION_TOKEN.into()),
            ..cache("elasticache", "my-serverless-cache", "app-01")
        },
        Kind {
            expires_in: 60,
            ..cache("elasticache", "c", "u")
        },
        cache("memorydb", "my-cluster", "iam-user-01"),
        Kind {
            region: "us-gov-west-1".into(),
            session_token: Some(SESSION_TOKEN.into()),
            ..cache("memorydb", &"x".repeat(40), &"y".repeat(40))
        },
    ];
    let tokens = botocore(&cases);
    let expected: [&[&str]; 7] = [
        &[
            "kind:          Aurora DSQL",
            "role:          a custom role, not admin",
            "action:        DbConnect",
            "service:       dsql",
        ],
        &[
            "kind:          Aurora DSQL",
            "role:          admin",
            "expires at:    2026-11-29T01:21:07Z (valid for 604800 s)",
            "time left:     6 d 23 h",
        ],
        &[
            "kind:          ElastiCache",
            "cache name:    my-cache",
            "user id:       iam-user-01",
            "serverless:    no",
            "service:       elasticache",
            "region:        us-west-2",
        ],
        &[
            "kind:          ElastiCache",
            "cache name:    my-serverless-cache",
            "user id:       app-01",
            "serverless:    yes",
            "region:        cn-north-1",
            "session token: present (not shown)",
        ],
        &["kind:          ElastiCache", "time left:     0 s"],
        &[
            "kind:          MemoryDB",
            "cluster name:  my-cluster",
            "user id:       iam-user-01",
            "service:       memorydb",
        ],
        &["kind:          MemoryDB", "region:        us-gov-west-1"],
    ];
    for ((case, token), lines) in cases.iter().zip(&tokens).zip(expected) {
        let run = inspect(token, case.session_token.as_deref(), &["--verify"]);
        reports(&run, 0, &[], lines);
        reports(&run, 0, &[], &[MATCHES, "problems:      none"]);
        let stdout = run.stdout();
        assert!(!stdout.contains("port:") && !stdout.contains("user: "));
        assert!(!stdout.contains("FwoG"), "{stdout}");
        // MemoryDB has no serverless form, so no such line.
        assert_eq!(
            stdout.contains("serverless:"),
            case.kind == "elasticache",
            "{stdout}"
        );
    }
}

#[test]
fn prints_each_kinds_own_fields_in_json() {
    let tokens = botocore(&[
        dsql(true),
        dsql(false),
        Kind {
            serverless: true,
            ..cache("elasticache", "my-cache", "iam-user-01")
        },
        cache("memorydb", "my-cluster", "iam-user-02"),
    ]);
    let keys = "['ok', 'kind', 'host', 'port', 'username', 'role', 'user_id', 'serverless', 'action', 'service', 'region', 'access_key_id', 'session_token_present', 'signed_at', 'expires_in', 'expires_at', 'seconds_left', 'signature', 'problems']";
    for (token, values) in tokens.iter().zip([
        "[True, 'dsql', 'abcdefghijklmnopqrst.dsql.us-east-1.on.aws', None, None, 'admin', None, None, 'DbConnectAdmin', 'dsql', 'us-east-1', 'AKIAIOSFODNN7EXAMPLE', False, '2026-11-22T01:21:07Z', 900, '2026-11-22T01:36:07Z', 840, 'matches', []]",
        "[True, 'dsql', 'abcdefghijklmnopqrst.dsql.us-east-1.on.aws', None, None, 'custom', None, None, 'DbConnect', 'dsql', 'us-east-1', 'AKIAIOSFODNN7EXAMPLE', False, '2026-11-22T01:21:07Z', 900, '2026-11-22T01:36:07Z', 840, 'matches', []]",
        "[True, 'elasticache', 'my-cache', None, None, None, 'iam-user-01', True, 'connect', 'elasticache', 'us-west-2', 'AKIAIOSFODNN7EXAMPLE', False, '2026-11-22T01:21:07Z', 900, '2026-11-22T01:36:07Z', 840, 'matches', []]",
        "[True, 'memorydb', 'my-cluster', None, None, None, 'iam-user-02', False, 'connect', 'memorydb', 'us-west-2', 'AKIAIOSFODNN7EXAMPLE', False, '2026-11-22T01:21:07Z', 900, '2026-11-22T01:36:07Z', 840, 'matches', []]",
    ]) {
        let run = inspect(token, None, &["--json", "--verify"]);
        run.success().stderr_is("");
        let stdout = run.stdout();
        assert_eq!(stdout.lines().count(), 1, "one line: {stdout}");
        assert_eq!(python_reads(&stdout, "list(d)"), keys);
        assert_eq!(python_reads(&stdout, "list(d.values())"), values);
    }
    // A problem of a kind's own, with its code.
    let upper = one(cache("memorydb", "My-Cluster", "u"));
    let run = inspect(&upper, None, &["--json"]);
    assert_eq!(run.code(), Some(1));
    assert_eq!(
        python_reads(
            &run.stdout(),
            "(d['ok'], d['kind'], d['host'], [p['code'] for p in d['problems']])"
        ),
        "(False, 'memorydb', 'My-Cluster', ['uppercase_name'])"
    );
}

#[test]
fn reports_dsql_tokens_that_break_each_of_dsqls_rules() {
    let good = one(dsql(false));
    let elsewhere = one(Kind {
        name: "db.example.com".into(),
        region: "eu-west-1".into(),
        ..dsql(false)
    });
    let wrong_region = one(Kind {
        region: "eu-west-1".into(),
        ..dsql(true)
    });
    let over_a_week = one(Kind {
        expires_in: 604_801,
        ..dsql(false)
    });

    // Signed by botocore, valid signatures, but DSQL refuses them.
    let run = inspect(&elsewhere, None, &["--verify"]);
    reports(&run, 1, &["not_dsql_endpoint"], &[MATCHES]);
    assert!(problem(&run, "not_dsql_endpoint").starts_with(
        "host 'db.example.com' is not an Aurora DSQL endpoint name (a CNAME?); Aurora DSQL checks the token against its own endpoint name"
    ));
    let run = inspect(&wrong_region, None, &["--verify"]);
    reports(&run, 1, &["region_mismatch"], &[MATCHES]);
    assert_eq!(
        problem(&run, "region_mismatch"),
        "the token is signed for region 'eu-west-1', but the endpoint is in 'us-east-1'; the database will refuse it: make the token with --region 'us-east-1'"
    );
    let run = inspect(&over_a_week, None, &["--verify"]);
    reports(
        &run,
        1,
        &["expires_too_long"],
        &[MATCHES, "time left:     6 d 23 h"],
    );
    assert_eq!(
        problem(&run, "expires_too_long"),
        "X-Amz-Expires is 604801 seconds; Aurora DSQL refuses tokens valid for more than 604800: make it with an expiry of at most 604800 seconds"
    );

    // Edited after signing.
    for (from, to, codes, signature) in [
        (
            "Action=DbConnect",
            "Action=connect",
            &["not_dsql_action"][..],
            "signature:     not checked: the token is not a dsql DbConnect or DbConnectAdmin token",
        ),
        (
            "Action=DbConnect",
            "Action=DbConnectAdmin",
            &["signature_mismatch"],
            "signature:     does not match",
        ),
        (
            "on.aws/?",
            "on.aws:5432/?",
            &["port_in_token"],
            "signature:     not checked: the token has a port or a parameter its kind's tokens do not have",
        ),
        (
            "DbConnect&",
            "DbConnect&DBUser=admin&",
            &["foreign_parameter"],
            "signature:     not checked: the token has a port or a parameter its kind's tokens do not have",
        ),
        (
            "Expires=900",
            "Expires=901",
            &["signature_mismatch"],
            "signature:     does not match",
        ),
    ] {
        let run = inspect(&good.replace(from, to), None, &["--verify"]);
        reports(&run, 1, codes, &["kind:          Aurora DSQL", signature]);
    }
    let run = inspect(
        &good.replace("Action=DbConnect", "Action=connect"),
        None,
        &[],
    );
    assert_eq!(
        problem(&run, "not_dsql_action"),
        "Action is 'connect', not DbConnect or DbConnectAdmin; Aurora DSQL takes DbConnect for a custom role and DbConnectAdmin for admin: make one with rds-auth-token dsql or aws dsql generate-db-connect-auth-token and use it as it is printed"
    );
    reports(&run, 1, &["not_dsql_action"], &["role:          (unknown)"]);
    let run = inspect(&good.replace("on.aws/?", "on.aws:5432/?"), None, &[]);
    assert!(problem(&run, "port_in_token").starts_with(
        "the token has the port '5432' after the host, and an Aurora DSQL token has none"
    ));
    let run = inspect(
        &good.replace("DbConnect&", "DbConnect&DBUser=admin&"),
        None,
        &[],
    );
    assert!(problem(&run, "foreign_parameter").starts_with(
        "the token has DBUser, a parameter of RDS tokens that an Aurora DSQL token does not have;"
    ));
    // Expired: a DSQL token lives as long as it was made for.
    let run = TestEnv::new()
        .stdin(good.as_str())
        .run(["inspect", "--at", "2026-11-22T02:00:00Z"]);
    reports(&run, 1, &["expired"], &["expired:       23 min 53 s ago"]);
    assert!(problem(&run, "expired").starts_with(
        "the token expired 23 min 53 s ago, at 2026-11-22T01:36:07Z; an Aurora DSQL token works for as long as it was made for"
    ));
}

#[test]
fn reports_elasticache_and_memorydb_tokens_that_break_each_of_their_rules() {
    let cases = [
        cache("elasticache", "my-cache", "iam-user-01"),
        cache("memorydb", "my-cluster", "iam-user-01"),
        Kind {
            expires_in: 3600,
            ..cache("elasticache", "my-cache", "iam-user-01")
        },
        cache("elasticache", "My-Cache", "iam-user-01"),
        cache(
            "elasticache",
            "my-cache.abc123.cache.amazonaws.com",
            "iam_user",
        ),
        Kind {
            serverless: true,
            ..cache("memorydb", "my-cluster", "iam-user-01")
        },
        Kind {
            expires_in: 901,
            ..cache("memorydb", "my-cluster", "iam-user-01")
        },
    ];
    let [elasticache, memorydb, long, upper, endpoint, memorydb_serverless, memorydb_long] =
        <[String; 7]>::try_from(botocore(&cases)).unwrap();

    let run = inspect(&long, None, &["--verify"]);
    reports(&run, 1, &["expires_too_long"], &[MATCHES]);
    assert_eq!(
        problem(&run, "expires_too_long"),
        "X-Amz-Expires is 3600 seconds; ElastiCache refuses tokens valid for more than 900: make it with an expiry of at most 900 seconds"
    );
    let run = inspect(&memorydb_long, None, &["--verify"]);
    reports(&run, 1, &["expires_too_long"], &[MATCHES]);
    assert!(problem(&run, "expires_too_long")
        .contains("MemoryDB refuses tokens valid for more than 900"));

    // botocore signs the host header in lower case and keeps the name as
    // given: the signature holds, and the name is the problem.
    let run = inspect(&upper, None, &["--verify"]);
    reports(
        &run,
        1,
        &["uppercase_name"],
        &[MATCHES, "cache name:    My-Cache"],
    );
    assert_eq!(
        problem(&run, "uppercase_name"),
        "the cache name 'My-Cache' has upper-case letters; ElastiCache stores names in lower case and checks the token against that: make it with --cache-name 'my-cache'"
    );

    let run = inspect(&endpoint, None, &["--verify"]);
    reports(&run, 1, &["invalid_name", "invalid_name"], &[MATCHES]);
    assert!(run.stdout().contains(
        "problem: invalid_name: the cache name 'my-cache.abc123.cache.amazonaws.com' is not 1 to 40 letters, digits and hyphens (the token is signed for an endpoint name, but an ElastiCache token is signed for the cache name alone);"
    ));
    assert!(run.stdout().contains(
        "problem: invalid_name: the user id 'iam_user' is not 1 to 40 letters, digits and hyphens;"
    ));

    let run = inspect(&memorydb_serverless, None, &["--verify"]);
    reports(
        &run,
        1,
        &["memorydb_serverless"],
        &[
            "kind:          MemoryDB",
            "serverless:    yes",
            "signature:     not checked: the token has a port or a parameter its kind's tokens do not have",
        ],
    );
    assert!(problem(&run, "memorydb_serverless").starts_with(
        "the token has ResourceType='ServerlessCache', but MemoryDB has no serverless clusters"
    ));

    // Edited after signing.
    for (token, from, to, codes, signature) in [
        (
            &elasticache,
            "Action=connect",
            "Action=DbConnect",
            &["not_connect_action"][..],
            "signature:     not checked: the token is not an elasticache connect token",
        ),
        (
            &elasticache,
            "User=iam-user-01",
            "User=admin",
            &["signature_mismatch"],
            "signature:     does not match",
        ),
        (
            &elasticache,
            "&X-Amz-Algorithm",
            "&ResourceType=ServerlessCache&X-Amz-Algorithm",
            &["signature_mismatch"],
            "signature:     does not match",
        ),
        (
            &elasticache,
            "&X-Amz-Algorithm",
            "&ResourceType=Cluster&X-Amz-Algorithm",
            &["malformed_parameter"],
            "signature:     not checked: the token is malformed",
        ),
        (
            &elasticache,
            "User=iam-user-01",
            "DBUser=iam-user-01",
            &["missing_parameter", "foreign_parameter"],
            "signature:     not checked: the token has a port or a parameter its kind's tokens do not have",
        ),
        (
            &elasticache,
            "my-cache/?",
            "my-cache:6379/?",
            &["port_in_token"],
            "signature:     not checked: the token has a port or a parameter its kind's tokens do not have",
        ),
        (
            &memorydb,
            "%2Fmemorydb%2F",
            "%2Felasticache%2F",
            &["signature_mismatch"],
            "signature:     does not match",
        ),
        (
            &memorydb,
            "Action=connect",
            "Action=Connect",
            &["not_connect_action"],
            "signature:     not checked: the token is not a memorydb connect token",
        ),
    ] {
        let run = inspect(&token.replace(from, to), None, &["--verify"]);
        reports(&run, 1, codes, &[signature]);
    }
    let run = inspect(
        &elasticache.replace("Action=connect", "Action=DbConnect"),
        None,
        &[],
    );
    assert_eq!(
        problem(&run, "not_connect_action"),
        "Action is 'DbConnect', not connect; this is not an ElastiCache IAM auth token (DbConnect and DbConnectAdmin are Aurora DSQL's actions): make one with rds-auth-token elasticache and use it as it is printed"
    );
    // A token whose service was changed is read as the kind it now names.
    let run = inspect(
        &memorydb.replace("%2Fmemorydb%2F", "%2Felasticache%2F"),
        None,
        &[],
    );
    reports(
        &run,
        0,
        &[],
        &["kind:          ElastiCache", "serverless:    no"],
    );
}

#[test]
fn reads_a_token_whose_service_names_no_database_by_its_parameters() {
    let [dsql_token, elasticache] =
        <[String; 2]>::try_from(botocore(&[dsql(false), cache("elasticache", "c", "u")])).unwrap();
    for (token, codes, lines) in [
        (
            dsql_token.replace("%2Fdsql%2F", "%2Fs3%2F"),
            &["not_dsql_service"][..],
            &["kind:          Aurora DSQL", "service:       s3"][..],
        ),
        (
            elasticache.replace("%2Felasticache%2F", "%2Fsqs%2F"),
            &["not_cache_service"],
            &["kind:          ElastiCache", "service:       sqs"],
        ),
        // A service of another kind: read as that kind, with its rules.
        (
            dsql_token.replace("%2Fdsql%2F", "%2Frds-db%2F"),
            &[
                "malformed_endpoint",
                "missing_parameter",
                "not_connect_action",
                "not_rds_endpoint",
            ],
            &["kind:          RDS", "port:          (missing)"],
        ),
        (
            elasticache.replace("%2Felasticache%2F", "%2Fdsql%2F"),
            &["foreign_parameter", "not_dsql_action", "not_dsql_endpoint"],
            &["kind:          Aurora DSQL", "role:          (unknown)"],
        ),
        // Neither the service nor the parameters name a database.
        (
            elasticache
                .replace("%2Felasticache%2F", "%2Fs3%2F")
                .replace("User=u", "Key=u"),
            &[
                "malformed_endpoint",
                "missing_parameter",
                "unknown_parameter",
                "not_rds_db_service",
                "not_rds_endpoint",
            ],
            &["kind:          RDS"],
        ),
    ] {
        let run = inspect(&token, None, &["--verify"]);
        reports(&run, 1, codes, lines);
    }
    let run = inspect(&dsql_token.replace("%2Fdsql%2F", "%2Fs3%2F"), None, &[]);
    assert!(problem(&run, "not_dsql_service").starts_with(
        "the token is signed for service 's3', not dsql; its Action is Aurora DSQL's"
    ));
    let run = inspect(
        &elasticache.replace("%2Felasticache%2F", "%2Fsqs%2F"),
        None,
        &[],
    );
    assert!(problem(&run, "not_cache_service")
        .starts_with("the token is signed for service 'sqs', not elasticache or memorydb;"));
}

#[test]
fn compares_only_what_each_kind_has_with_what_was_meant() {
    let [dsql_token, elasticache, memorydb] = <[String; 3]>::try_from(botocore(&[
        dsql(true),
        cache("elasticache", "my-cache", "iam-user-01"),
        cache("memorydb", "my-cluster", "iam-user-01"),
    ]))
    .unwrap();
    // DSQL tokens name no port and no user: only the host and region count.
    let same = [
        "--hostname",
        "ABCDEFGHIJKLMNOPQRST.dsql.us-east-1.on.aws.",
        "--region",
        "us-east-1",
        "--port",
        "5432",
        "--username",
        "someone",
    ];
    reports(&inspect(&dsql_token, None, &same), 0, &[], &[]);
    let run = inspect(
        &dsql_token,
        None,
        &[
            "--hostname",
            "zyxwvutsrqponmlkjihg.dsql.us-east-1.on.aws",
            "--region",
            "us-east-2",
        ],
    );
    reports(&run, 1, &["hostname_differs", "region_differs"], &[]);
    assert_eq!(
        problem(&run, "hostname_differs"),
        "the token is for host 'abcdefghijklmnopqrst.dsql.us-east-1.on.aws', not 'zyxwvutsrqponmlkjihg.dsql.us-east-1.on.aws'; make it with --hostname 'zyxwvutsrqponmlkjihg.dsql.us-east-1.on.aws'"
    );

    // Caches: --hostname is the name, --username the user id; no port.
    let same = [
        "--hostname",
        "My-Cache",
        "--username",
        "iam-user-01",
        "--region",
        "us-west-2",
        "--port",
        "6379",
    ];
    reports(&inspect(&elasticache, None, &same), 0, &[], &[]);
    let other = [
        "--hostname",
        "other-cache",
        "--username",
        "iam-user-02",
        "--region",
        "us-west-2",
    ];
    let run = inspect(&elasticache, None, &other);
    reports(&run, 1, &["hostname_differs", "username_differs"], &[]);
    assert_eq!(
        problem(&run, "hostname_differs"),
        "the token is for cache 'my-cache', not 'other-cache'; make it with --cache-name 'other-cache'"
    );
    assert_eq!(
        problem(&run, "username_differs"),
        "the token is for user id 'iam-user-01', not 'iam-user-02'; make it with --user-id 'iam-user-02'"
    );
    let run = inspect(&memorydb, None, &other);
    reports(&run, 1, &["hostname_differs", "username_differs"], &[]);
    assert!(
        problem(&run, "hostname_differs").ends_with("make it with --cluster-name 'other-cache'")
    );
}

#[test]
fn verify_reports_another_secret_key_for_each_kind() {
    let cases = [
        Kind {
            session_token: Some(SESSION_TOKEN.into()),
            ..dsql(false)
        },
        Kind {
            session_token: Some(SESSION_TOKEN.into()),
            serverless: true,
            ..cache("elasticache", "my-cache", "iam-user-01")
        },
        Kind {
            session_token: Some(SESSION_TOKEN.into()),
            ..cache("memorydb", "my-cluster", "iam-user-01")
        },
    ];
    for token in botocore(&cases) {
        let mut env = TestEnv::new();
        env.with_env_keys()
            .env("AWS_SESSION_TOKEN", SESSION_TOKEN)
            .stdin(token.as_str());
        let args = ["inspect", "--at", A_MINUTE_LATER, "--verify"];
        reports(&env.run(args), 0, &[], &[MATCHES]);
        env.env(
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEZ",
        );
        let run = env.run(args);
        reports(
            &run,
            1,
            &["signature_mismatch"],
            &["signature:     does not match"],
        );
        let out = run.stdout() + &run.stderr();
        for secret in ["FwoG", "SESSION", "EXAMPLEKEY", "wJalr"] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        env.with_env_keys().remove_env("AWS_SESSION_TOKEN");
        reports(&env.run(args), 1, &["session_token_differs"], &[MATCHES]);
    }
}
