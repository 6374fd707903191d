//! The credential cache shared with the AWS CLI (`~/.aws/cli/cache`), end to
//! end: the AWS CLI uses what we cached and we use what it cached, with no
//! STS call, for both generations of AWS CLI v1 (1.45, whose web identity
//! key leaves the token out, and the current one, whose key holds it; each
//! pinned in tests/python/) (counted by a loopback tap in front of
//! moto_server); file names and format against botocore's own fetchers where
//! the AWS CLI v1 does not cache (IAM Identity Center); the 15-minute rule;
//! damaged files; file modes; a folder others can write to; 16 processes at
//! once; `--no-cache`, `RDS_AUTH_TOKEN_NO_CACHE`; `cache clear`; what is
//! never cached; and the `mfa_serial` prompt on a real pseudo-terminal.
#![cfg(unix)]

use crate::support;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, SystemTime};

use support::http::{self, Response, Server};
use support::moto::Moto;
use support::python::{self, PyEnv};
use support::{
    assert_signed_with, aws_cli_cache_entry, botocore_cache, botocore_cache_file, Run, TestEnv,
    Token, ACCESS_KEY, RDS_HOST, SECRET_KEY,
};

const REGION: &str = "us-east-1";
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/db-connect";
const BASE_KEY: &str = "AKIAPROFILEBASE00001";
const BASE_SECRET: &str = "profileBaseSecret/0123456789abcdefghijklm";
const CACHED_KEY: &str = "ASIACACHED0000000001";
const CACHED_SECRET: &str = "cachedSecret/0123456789abcdefghijklmnopqr";
const CACHED_TOKEN: &str = "cachedSessionToken/+=0123456789";

/// moto's STS behind a tap that counts the calls.
struct Sts {
    tap: Server,
    _moto: Moto,
}

impl Sts {
    fn start() -> Sts {
        let moto = Moto::start();
        let tap = Server::start(http::forward_to(moto.addr()));
        Sts { tap, _moto: moto }
    }

    fn calls(&self) -> usize {
        self.tap.requests().len()
    }
}

/// A HOME with a `base` profile holding keys and `[profile db]` assuming
/// [`ROLE_ARN`] from it with `role_lines`, STS at `sts`.
fn role_env(sts: &Sts, role_lines: &str) -> TestEnv {
    let mut env = TestEnv::new();
    env.write(
        ".aws/credentials",
        &format!("[base]\naws_access_key_id = {BASE_KEY}\naws_secret_access_key = {BASE_SECRET}\n"),
    );
    env.write(
        ".aws/config",
        &format!("[profile db]\nrole_arn = {ROLE_ARN}\nsource_profile = base\n{role_lines}"),
    );
    env.env("AWS_ENDPOINT_URL_STS", sts.tap.url());
    env
}

/// Our token for profile `db`, with `--debug` and `extra`.
fn ours(env: &TestEnv, extra: &[&str]) -> Run {
    let mut args = vec!["--debug", "--profile", "db"];
    args.extend_from_slice(extra);
    env.run_token(&args)
}

/// `aws rds generate-db-auth-token` of the AWS CLI in `cli` for the same
/// database, with `extra`.
fn aws_cli(cli: &PyEnv, env: &TestEnv, extra: &[&str]) -> Token {
    let mut args = vec![
        "rds",
        "generate-db-auth-token",
        "--hostname",
        RDS_HOST,
        "--port",
        "5432",
        "--username",
        "jane_doe",
        "--region",
        REGION,
    ];
    args.extend_from_slice(extra);
    env.run_program(cli.aws(), &args).token()
}

fn cache_dir(env: &TestEnv) -> PathBuf {
    env.home().join(".aws/cli/cache")
}

/// The names of the files in the cache folder, sorted.
fn cache_files(env: &TestEnv) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(cache_dir(env))
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn read(env: &TestEnv, relative: &str) -> String {
    std::fs::read_to_string(env.home().join(relative)).unwrap()
}

#[track_caller]
fn assert_from_cache(run: &Run) {
    let line = run
        .stderr()
        .lines()
        .find(|l| l.starts_with("rds-auth-token: debug: credentials from "))
        .map(str::to_owned)
        .unwrap_or_else(|| run.fail("no credentials debug line"));
    if !line.ends_with(", from the cache") || !line.contains(", expire 20") {
        run.fail(
            "expected the debug line to say when they expire and that they came from the cache",
        );
    }
}

/// The assume-role key of profile `db` with `role_session_name = jane`.
const DB_ARGS: &str =
    r#"{"RoleArn": "arn:aws:iam::123456789012:role/db-connect", "RoleSessionName": "jane"}"#;

// ---------------------------------------------------------------------------
// Both directions with the AWS CLI

/// Both AWS CLI generations: the current one and 1.45.
fn both_aws_clis() -> [PyEnv; 2] {
    [python::current(), python::awscli_1_45()]
}

#[test]
fn the_aws_cli_uses_the_assume_role_credentials_we_cached_without_calling_sts() {
    for cli in both_aws_clis() {
        the_aws_cli_uses_the_assume_role_credentials_we_cached(&cli);
    }
}

fn the_aws_cli_uses_the_assume_role_credentials_we_cached(cli: &PyEnv) {
    let sts = Sts::start();
    let env = role_env(&sts, "role_session_name = jane\n");
    let run = ours(&env, &[]);
    let token = run.token();
    assert_eq!(sts.calls(), 1);
    run.stderr_contains("credentials written to the cache file");
    let file = botocore_cache_file("assume-role", DB_ARGS);
    assert!(
        env.home().join(&file).is_file(),
        "expected botocore's file {file}, found {:?}",
        cache_files(&env)
    );
    let theirs = aws_cli(cli, &env, &["--profile", "db"]);
    assert_eq!(sts.calls(), 1, "the AWS CLI ({}) called STS", cli.name());
    assert_eq!(theirs.access_key(), token.access_key());
    assert_eq!(theirs.session_token(), token.session_token());
}

#[test]
fn we_use_the_assume_role_credentials_the_aws_cli_cached_without_calling_sts() {
    for cli in both_aws_clis() {
        we_use_the_assume_role_credentials_the_aws_cli_cached(&cli);
    }
}

fn we_use_the_assume_role_credentials_the_aws_cli_cached(cli: &PyEnv) {
    let sts = Sts::start();
    // No role_session_name (botocore leaves it out of the key), an external
    // id and a duration (botocore puts both in).
    let env = role_env(&sts, "external_id = ext-42\nduration_seconds = 3600\n");
    let theirs = aws_cli(cli, &env, &["--profile", "db"]);
    assert_eq!(sts.calls(), 1);
    let file = botocore_cache_file(
        "assume-role",
        r#"{"RoleArn": "arn:aws:iam::123456789012:role/db-connect", "ExternalId": "ext-42", "DurationSeconds": 3600}"#,
    );
    let written = read(&env, &file);
    let run = ours(&env, &[]);
    let token = run.token();
    assert_eq!(sts.calls(), 1, "we called STS");
    assert_from_cache(&run);
    assert_eq!(token.access_key(), theirs.access_key());
    assert_eq!(token.session_token(), theirs.session_token());
    let secret = written
        .split("\"SecretAccessKey\": \"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap();
    run.stderr_lacks(secret);
    run.stderr_lacks(&token.session_token().unwrap());
    assert_signed_with(&token, RDS_HOST, 5432, "jane_doe", REGION, secret);
    assert_eq!(
        read(&env, &file),
        written,
        "a hit must not rewrite the file"
    );
}

#[test]
fn shares_web_identity_credentials_with_the_current_aws_cli_both_ways() {
    shares_web_identity_credentials_both_ways(&python::current());
}

#[test]
fn shares_web_identity_credentials_with_aws_cli_1_45_both_ways() {
    shares_web_identity_credentials_both_ways(&python::awscli_1_45());
}

/// We write web identity credentials under both keys; the AWS CLI in `cli`
/// writes them under its own: 1.46 and later (their own copy of botocore)
/// key on the token itself, 1.45 and standalone botocore leave it out. We
/// read either, so a new token is a new entry for the current AWS CLI and
/// the same entry for 1.45, for us as for it.
fn shares_web_identity_credentials_both_ways(cli: &PyEnv) {
    let keys_on_the_token = cli.name() == "current";
    let sts = Sts::start();
    let mut env = TestEnv::new();
    let token_file = env.write("eks/token", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJqYW5lIn0.c2ln");
    env.env("AWS_WEB_IDENTITY_TOKEN_FILE", &token_file)
        .env("AWS_ROLE_ARN", ROLE_ARN)
        .env("AWS_ROLE_SESSION_NAME", "jane-pod")
        .env("AWS_ENDPOINT_URL_STS", sts.tap.url());
    let args = format!(
        "{{\"RoleArn\": \"{ROLE_ARN}\", \"RoleSessionName\": \"jane-pod\", \"TokenFile\": \"{}\"}}",
        token_file.display()
    );
    // The current AWS CLI's key holds the token itself.
    let with_token = botocore_cache_file("web-identity", &args);
    // Standalone botocore's key (AWS CLI 1.45 and older) leaves it out.
    let without_token = botocore_cache_file("web-identity-botocore", &args);
    let (theirs_file, other_file) = if keys_on_the_token {
        (&with_token, &without_token)
    } else {
        (&without_token, &with_token)
    };

    let run = env.run_token(&["--debug"]);
    let token = run.token();
    assert_eq!(sts.calls(), 1);
    for file in [&with_token, &without_token] {
        assert!(
            env.home().join(file).is_file(),
            "{file}: {:?}",
            cache_files(&env)
        );
    }
    let theirs = aws_cli(cli, &env, &[]);
    assert_eq!(sts.calls(), 1, "the AWS CLI ({}) called STS", cli.name());
    assert_eq!(theirs.access_key(), token.access_key());

    env.run(["cache", "clear"]).success();
    assert!(!env.home().join(&with_token).exists() && !env.home().join(&without_token).exists());
    let theirs = aws_cli(cli, &env, &[]);
    assert_eq!(sts.calls(), 2);
    assert!(
        env.home().join(theirs_file).is_file() && !env.home().join(other_file).exists(),
        "the AWS CLI ({}) wrote {:?}, expected {theirs_file} alone",
        cli.name(),
        cache_files(&env)
    );
    let run = env.run_token(&["--debug"]);
    assert_eq!(sts.calls(), 2, "we called STS");
    assert_from_cache(&run);
    assert_eq!(run.token().access_key(), theirs.access_key());
    run.stderr_contains("web identity token from the environment");

    env.write(
        "eks/token",
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyb3RhdGVkIn0.c2ln",
    );
    if keys_on_the_token {
        // A new token is a new key: STS is asked again, as the AWS CLI would.
        ours_again_calls_sts(&env, &sts, 3);
        aws_cli(cli, &env, &[]);
        assert_eq!(sts.calls(), 3, "the AWS CLI read what we cached");
    } else {
        // The same key: the cached credentials serve us, and the AWS CLI.
        let run = env.run_token(&["--debug"]);
        assert_from_cache(&run);
        assert_eq!(run.token().access_key(), theirs.access_key());
        assert_eq!(aws_cli(cli, &env, &[]).access_key(), theirs.access_key());
        assert_eq!(sts.calls(), 2, "a new token, the same key: no STS call");
    }
}

#[track_caller]
fn ours_again_calls_sts(env: &TestEnv, sts: &Sts, calls: usize) {
    let run = env.run_token(&["--debug"]);
    run.token();
    assert_eq!(sts.calls(), calls, "expected an STS call");
    run.stderr_contains("credentials written to the cache file");
}

#[test]
fn uses_web_identity_credentials_cached_under_botocores_key_without_the_token() {
    // Standalone botocore, and AWS CLI v1 before 1.46, leave the token out.
    let sts = Sts::start();
    let mut env = TestEnv::new();
    let token_file = env.write("eks/token", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJqYW5lIn0.c2ln");
    env.env("AWS_WEB_IDENTITY_TOKEN_FILE", &token_file)
        .env("AWS_ROLE_ARN", ROLE_ARN)
        .env("AWS_ENDPOINT_URL_STS", sts.tap.url());
    let file = botocore_cache_file(
        "web-identity-botocore",
        &format!(
            "{{\"RoleArn\": \"{ROLE_ARN}\", \"TokenFile\": \"{}\"}}",
            token_file.display()
        ),
    );
    env.write(
        &file,
        &aws_cli_cache_entry(
            CACHED_KEY,
            CACHED_SECRET,
            CACHED_TOKEN,
            SystemTime::now() + Duration::from_secs(3600),
        ),
    );
    let run = env.run_token(&["--debug"]);
    assert_eq!(run.token().access_key(), CACHED_KEY);
    assert_from_cache(&run);
    assert_eq!(sts.calls(), 0);
}

// ---------------------------------------------------------------------------
// IAM Identity Center, against botocore's SSOCredentialFetcher

const SSO_KEY: &str = "ASIASSOCACHE00000001";
const SSO_SECRET: &str = "ssoCacheSecret/0123456789abcdefghijklmnop";
const SSO_SESSION_TOKEN: &str = "ssoCacheSessionToken/+=0123456789";
const START_URL: &str = "https://d-0123456789.awsapps.com/start";

/// A portal that hands out [`SSO_KEY`]'s credentials.
fn sso_portal() -> Server {
    Server::start(|req| {
        if req.method == "GET" && req.path() == "/federation/credentials" {
            Response::ok(format!(
                "{{\"roleCredentials\": {{\"accessKeyId\": \"{SSO_KEY}\", \"secretAccessKey\": \"{SSO_SECRET}\", \
                 \"sessionToken\": \"{SSO_SESSION_TOKEN}\", \"expiration\": 4070908800000}}}}"
            ))
            .header("Content-Type", "application/json")
        } else {
            Response::status(404, "{}")
        }
    })
}

const SSO_SESSION_PROFILE: &str =
    "[profile db]\nsso_session = my-sso\nsso_account_id = 123456789012\n\
     sso_role_name = DbConnect\n\n[sso-session my-sso]\nsso_region = us-east-1\n\
     sso_start_url = https://d-0123456789.awsapps.com/start\n";
const SSO_LEGACY_PROFILE: &str =
    "[profile db]\nsso_start_url = https://d-0123456789.awsapps.com/start\n\
     sso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = DbConnect\n";

#[test]
fn we_use_iam_identity_center_credentials_that_botocore_cached_without_a_request() {
    for (profile, session) in [
        (SSO_SESSION_PROFILE, Some("my-sso")),
        (SSO_LEGACY_PROFILE, None),
    ] {
        let portal = sso_portal();
        let mut env = TestEnv::new();
        env.write(".aws/config", profile);
        env.env("AWS_ENDPOINT_URL_SSO", portal.url());
        let args = format!(
            "{{\"start_url\": \"{START_URL}\", \"role_name\": \"DbConnect\", \"account_id\": \"123456789012\", \
             \"sso_session_name\": {}, \"credentials\": {{\"accessKeyId\": \"{CACHED_KEY}\", \
             \"secretAccessKey\": \"{CACHED_SECRET}\", \"sessionToken\": \"{CACHED_TOKEN}\", \
             \"expiration\": 4070908800000}}}}",
            session.map_or("null".to_owned(), |s| format!("\"{s}\""))
        );
        let dir = cache_dir(&env);
        botocore_cache(&["sso-write", dir.to_str().unwrap(), &args]);
        let run = ours(&env, &[]);
        let token = run.token();
        assert_eq!(token.access_key(), CACHED_KEY, "{profile}");
        assert_from_cache(&run);
        assert!(portal.requests().is_empty(), "the portal was asked");
        run.stderr_lacks(CACHED_SECRET).stderr_lacks(CACHED_TOKEN);
        assert_signed_with(&token, RDS_HOST, 5432, "jane_doe", REGION, CACHED_SECRET);
    }
}

#[test]
fn botocore_uses_the_iam_identity_center_credentials_we_cached() {
    let portal = sso_portal();
    let mut env = TestEnv::new();
    env.write(".aws/config", SSO_SESSION_PROFILE);
    env.write(
        ".aws/sso/cache/0ad374308c5a4e22f723adf10145eafad7c4031c.json",
        &format!(
            "{{\"accessToken\": \"bearer-0123\", \"expiresAt\": \"2099-01-01T00:00:00Z\", \
             \"region\": \"us-east-1\", \"startUrl\": \"{START_URL}\"}}"
        ),
    );
    env.env("AWS_ENDPOINT_URL_SSO", portal.url());
    ours(&env, &[]).token();
    assert_eq!(portal.requests().len(), 1);
    let args = format!(
        "{{\"start_url\": \"{START_URL}\", \"role_name\": \"DbConnect\", \"account_id\": \"123456789012\", \
         \"sso_session_name\": \"my-sso\"}}"
    );
    let dir = cache_dir(&env);
    let access_key = botocore_cache(&["sso-read", dir.to_str().unwrap(), &args]);
    assert_eq!(access_key, SSO_KEY);
    // The AWS CLI v2's `aws sso logout` removes the files marked so.
    let files = cache_files(&env);
    assert_eq!(files.len(), 1);
    assert!(
        read(&env, &format!(".aws/cli/cache/{}", files[0])).contains("\"ProviderType\": \"sso\"")
    );
    // And a second token is made from the cache.
    assert_from_cache(&ours(&env, &[]));
    assert_eq!(portal.requests().len(), 1);
}

// ---------------------------------------------------------------------------
// The 15-minute rule, damaged files, modes, concurrency

#[test]
fn reuses_cached_credentials_until_15_minutes_before_they_expire_then_fetches_new_ones() {
    let sts = Sts::start();
    let env = role_env(&sts, "role_session_name = jane\n");
    let file = botocore_cache_file("assume-role", DB_ARGS);
    let now = SystemTime::now();

    env.write(
        &file,
        &aws_cli_cache_entry(
            CACHED_KEY,
            CACHED_SECRET,
            CACHED_TOKEN,
            now + Duration::from_secs(16 * 60),
        ),
    );
    let run = ours(&env, &[]);
    assert_eq!(run.token().access_key(), CACHED_KEY);
    assert_eq!(sts.calls(), 0);
    assert_from_cache(&run);

    env.write(
        &file,
        &aws_cli_cache_entry(
            CACHED_KEY,
            CACHED_SECRET,
            CACHED_TOKEN,
            now + Duration::from_secs(14 * 60),
        ),
    );
    let run = ours(&env, &[]);
    let fresh = run.token();
    assert_ne!(fresh.access_key(), CACHED_KEY);
    assert_eq!(sts.calls(), 1);
    assert!(
        read(&env, &file).contains(fresh.access_key()),
        "the entry was not replaced"
    );
}

#[test]
fn replaces_a_corrupt_truncated_or_foreign_cache_file_without_an_error() {
    let sts = Sts::start();
    let env = role_env(&sts, "role_session_name = jane\n");
    let file = botocore_cache_file("assume-role", DB_ARGS);
    let good = aws_cli_cache_entry(
        CACHED_KEY,
        CACHED_SECRET,
        CACHED_TOKEN,
        SystemTime::now() + Duration::from_secs(3600),
    );
    let contents: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"{not json".to_vec(),
        good.as_bytes()[..good.len() / 2].to_vec(),
        b"{\"Credentials\": null}".to_vec(),
        b"[\"a list\"]".to_vec(),
        b"{\"clientId\": \"x\", \"clientSecret\": \"y\"}".to_vec(),
        b"{\"Credentials\": {\"AccessKeyId\": \"A\", \"Expiration\": \"tomorrow\"}}".to_vec(),
        vec![0xff, 0xfe, 0x00, 0x7b],
    ];
    std::fs::create_dir_all(cache_dir(&env)).unwrap();
    for (i, content) in contents.iter().enumerate() {
        std::fs::write(env.home().join(&file), content).unwrap();
        let run = ours(&env, &[]);
        let token = run.token();
        assert_eq!(sts.calls(), i + 1, "case {i}: expected an STS call");
        let now = read(&env, &file);
        assert!(
            now.contains(token.access_key()),
            "case {i}: not replaced: {now}"
        );
    }
    // What replaced them is a good entry.
    let run = ours(&env, &[]);
    assert_from_cache(&run);
    assert_eq!(sts.calls(), contents.len());
}

#[test]
fn writes_cache_files_0600_in_folders_0700_and_leaves_no_temporary_files() {
    let sts = Sts::start();
    let env = role_env(&sts, "role_session_name = jane\n");
    ours(&env, &[]).token();
    let mode = |relative: &str| {
        std::fs::metadata(env.home().join(relative))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(".aws/cli"), 0o700);
    assert_eq!(mode(".aws/cli/cache"), 0o700);
    assert_eq!(mode(&botocore_cache_file("assume-role", DB_ARGS)), 0o600);
    assert_eq!(cache_files(&env).len(), 1, "{:?}", cache_files(&env));
}

#[test]
fn does_not_use_a_cache_folder_that_others_can_write_to_and_says_so_under_debug() {
    for mode in [0o777, 0o770] {
        let sts = Sts::start();
        let env = role_env(&sts, "role_session_name = jane\n");
        let file = botocore_cache_file("assume-role", DB_ARGS);
        let planted = aws_cli_cache_entry(
            CACHED_KEY,
            CACHED_SECRET,
            CACHED_TOKEN,
            SystemTime::now() + Duration::from_secs(3600),
        );
        env.write(&file, &planted);
        std::fs::set_permissions(cache_dir(&env), std::fs::Permissions::from_mode(mode)).unwrap();
        let run = ours(&env, &[]);
        assert_ne!(
            run.token().access_key(),
            CACHED_KEY,
            "a planted entry was used"
        );
        assert_eq!(sts.calls(), 1);
        run.stderr_contains("is not used: other users can write to it");
        assert_eq!(read(&env, &file), planted, "the folder was written to");
    }
}

#[test]
fn sixteen_processes_at_once_on_a_cold_cache_all_succeed_and_leave_a_valid_file() {
    let sts = Sts::start();
    let env = role_env(&sts, "role_session_name = jane\n");
    let children: Vec<_> = (0..16)
        .map(|_| {
            env.command([
                "--hostname",
                RDS_HOST,
                "--port",
                "5432",
                "--username",
                "jane_doe",
                "--profile",
                "db",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{output:?}");
        assert!(String::from_utf8_lossy(&output.stdout).contains("X-Amz-Signature="));
    }
    let calls = sts.calls();
    assert!((1..=16).contains(&calls), "{calls} STS calls");
    assert_eq!(
        cache_files(&env),
        [format!(
            "{}.json",
            botocore_cache(&["key", "assume-role", DB_ARGS])
        )],
        "one entry and no temporary files"
    );
    assert_from_cache(&ours(&env, &[]));
    assert_eq!(sts.calls(), calls);
    // And the AWS CLI reads it too.
    aws_cli(&python::current(), &env, &["--profile", "db"]);
    assert_eq!(sts.calls(), calls);
}

// ---------------------------------------------------------------------------
// Turning it off, clearing it

#[test]
fn no_cache_and_rds_auth_token_no_cache_neither_read_nor_write_the_cache() {
    let sts = Sts::start();
    let mut env = role_env(&sts, "role_session_name = jane\n");
    let file = botocore_cache_file("assume-role", DB_ARGS);
    let entry = aws_cli_cache_entry(
        CACHED_KEY,
        CACHED_SECRET,
        CACHED_TOKEN,
        SystemTime::now() + Duration::from_secs(3600),
    );
    env.write(&file, &entry);

    let run = ours(&env, &["--no-cache"]);
    assert_ne!(run.token().access_key(), CACHED_KEY);
    assert_eq!(sts.calls(), 1);
    run.stderr_contains("the credential cache is off (--no-cache)");
    assert_eq!(read(&env, &file), entry);

    env.env("RDS_AUTH_TOKEN_NO_CACHE", "1");
    let run = ours(&env, &[]);
    assert_ne!(run.token().access_key(), CACHED_KEY);
    assert_eq!(sts.calls(), 2);
    run.stderr_contains("the credential cache is off (RDS_AUTH_TOKEN_NO_CACHE)");
    assert_eq!(read(&env, &file), entry);

    // Cold, nothing is written either.
    std::fs::remove_dir_all(env.home().join(".aws/cli")).unwrap();
    ours(&env, &[]).token();
    env.remove_env("RDS_AUTH_TOKEN_NO_CACHE");
    ours(&env, &["--no-cache"]).token();
    assert_eq!(sts.calls(), 4);
    assert!(!env.home().join(".aws/cli").exists());
}

#[test]
fn cache_clear_removes_only_the_files_we_wrote() {
    let sts = Sts::start();
    let env = role_env(
        &sts,
        "role_session_name = jane\n\n\
         [profile other]\nrole_arn = arn:aws:iam::123456789012:role/other\nsource_profile = base\n\n\
         [profile over]\nrole_arn = arn:aws:iam::123456789012:role/over\nsource_profile = base\n",
    );
    let ours_file = botocore_cache_file("assume-role", DB_ARGS);
    let theirs_file = botocore_cache_file(
        "assume-role",
        r#"{"RoleArn": "arn:aws:iam::123456789012:role/other"}"#,
    );
    let over_file = botocore_cache_file(
        "assume-role",
        r#"{"RoleArn": "arn:aws:iam::123456789012:role/over"}"#,
    );
    ours(&env, &[]).token();
    aws_cli(&python::current(), &env, &["--profile", "other"]);
    // A file we wrote that the AWS CLI then rewrote is no longer ours: make
    // ours expire within the AWS CLI's window so that it fetches anew.
    env.run_token(&["--profile", "over"]).token();
    let near = read(&env, &over_file);
    let expiring = near.replacen(
        &near
            .split("\"Expiration\": \"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned(),
        "2020-01-01T00:00:00Z",
        1,
    );
    env.write(&over_file, &expiring);
    aws_cli(&python::current(), &env, &["--profile", "over"]);
    assert_eq!(sts.calls(), 4);
    assert!(!read(&env, &over_file).contains("2020-01-01"));
    env.write(".aws/cli/cache/notes.txt", "mine");
    env.write(
        ".aws/cli/cache/foreign.json",
        "{\"WrittenBy\": \"another-tool\", \"Credentials\": {}}",
    );

    let run = env.run(["cache", "clear"]);
    run.success();
    let dir = cache_dir(&env);
    run.stdout_is(&format!(
        "removed 1 file from {}; left 4 other files alone\n",
        dir.display()
    ));
    assert!(!env.home().join(&ours_file).exists());
    for kept in [&theirs_file, &over_file] {
        assert!(env.home().join(kept).exists(), "{kept} was removed");
    }
    assert!(dir.join("notes.txt").exists() && dir.join("foreign.json").exists());
    // Clearing again, or with no cache at all, is fine.
    env.run(["cache", "clear"]).success().stdout_is(&format!(
        "removed 0 files from {}; left 4 other files alone\n",
        dir.display()
    ));
    let empty = TestEnv::new();
    empty.run(["cache", "clear"]).success();
    assert!(!empty.home().join(".aws/cli/cache").exists());
}

// ---------------------------------------------------------------------------
// What is never cached

#[test]
fn static_keys_container_and_instance_metadata_credentials_are_never_cached() {
    let mut env = TestEnv::new();
    env.with_env_keys()
        .env("AWS_SESSION_TOKEN", "envSessionToken");
    env.run_token(&[]).token();
    assert!(!env.home().join(".aws/cli").exists());

    let env = TestEnv::new();
    env.write(
        ".aws/credentials",
        &format!("[db]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\naws_session_token = t\n"),
    );
    env.run_token(&["--profile", "db"]).token();
    assert!(!env.home().join(".aws/cli").exists());

    let creds = "{\"AccessKeyId\": \"ASIACONTAINER0000001\", \"SecretAccessKey\": \"s\", \
                 \"Token\": \"t\", \"Expiration\": \"2099-01-01T00:00:00Z\", \"Code\": \"Success\", \
                 \"Type\": \"AWS-HMAC\", \"LastUpdated\": \"2024-01-01T00:00:00Z\"}";
    let container =
        Server::start(move |_| Response::ok(creds).header("Content-Type", "application/json"));
    let mut env = TestEnv::new();
    env.env(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        format!("{}/v2/credentials/db", container.url()),
    );
    assert_eq!(
        env.run_token(&[]).token().access_key(),
        "ASIACONTAINER0000001"
    );
    assert!(!env.home().join(".aws/cli").exists());

    let imds = Server::start(move |req| {
        let path = "/latest/meta-data/iam/security-credentials/";
        if req.method == "PUT" {
            Response::ok("imds-session").header("x-aws-ec2-metadata-token-ttl-seconds", "21600")
        } else if req.path() == path {
            Response::ok("role")
        } else if req.path() == format!("{path}role") {
            Response::ok(creds.replace("CONTAINER", "IMDS00000"))
        } else {
            Response::status(404, "")
        }
    });
    let mut env = TestEnv::new();
    env.remove_env("AWS_EC2_METADATA_DISABLED")
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url());
    assert_eq!(
        env.run_token(&[]).token().access_key(),
        "ASIAIMDS000000000001"
    );
    assert!(!env.home().join(".aws/cli").exists());
}

// ---------------------------------------------------------------------------
// mfa_serial

const MFA_SERIAL: &str = "arn:aws:iam::123456789012:mfa/jane";
const MFA_ARGS: &str = r#"{"RoleArn": "arn:aws:iam::123456789012:role/db-connect", "RoleSessionName": "jane", "SerialNumber": "arn:aws:iam::123456789012:mfa/jane"}"#;

/// Runs the binary with `args` on a new pseudo-terminal (python3's `pty`),
/// its stdin from /dev/null and its stdout to a file: the prompt can only go
/// through /dev/tty. Answers `code` once the prompt has appeared. Returns
/// (what the terminal showed, stdout, exit status).
fn run_on_a_terminal(env: &TestEnv, args: &[&str], code: &str) -> (String, String, i32) {
    let script = r#"
import os, pty, select, sys, time
out_path, code, prompt, argv = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
pid, fd = pty.fork()
if pid == 0:
    os.dup2(os.open("/dev/null", os.O_RDONLY), 0)
    os.dup2(os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 1)
    os.execv(argv[0], argv)
seen, answered, deadline = b"", False, time.time() + 60
while time.time() < deadline:
    ready, _, _ = select.select([fd], [], [], 0.2)
    if ready:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    if not answered and prompt.encode() in seen:
        os.write(fd, code.encode() + b"\n")
        answered = True
_, status = os.waitpid(pid, 0)
sys.stdout.write(f"{os.waitstatus_to_exitcode(status)}\n" + seen.decode("utf-8", "replace"))
"#;
    let out = env.home().join("stdout.txt");
    let prompt = format!("Enter MFA code for {MFA_SERIAL}: ");
    let mut command = vec![
        "-c",
        script,
        out.to_str().unwrap(),
        code,
        &prompt,
        env!("CARGO_BIN_EXE_rds-auth-token"),
    ];
    command.extend_from_slice(args);
    let run = env.run_program(python::current().python(), &command);
    run.success();
    let report = run.stdout();
    let (status, seen) = report.split_once('\n').unwrap();
    let seen = seen.replace("\r\n", "\n");
    let status: i32 = status.parse().unwrap();
    (seen, std::fs::read_to_string(out).unwrap(), status)
}

#[test]
fn asks_for_the_mfa_code_on_the_terminal_and_caches_the_role_under_botocores_key() {
    let sts = Sts::start();
    let mut env = role_env(
        &sts,
        &format!("role_session_name = jane\nmfa_serial = {MFA_SERIAL}\n"),
    );
    env.env("AWS_DEFAULT_REGION", REGION);
    let token_args = [
        "--hostname",
        RDS_HOST,
        "--port",
        "5432",
        "--username",
        "jane_doe",
        "--profile",
        "db",
    ];
    let (seen, stdout, status) = run_on_a_terminal(&env, &token_args, "908172");
    assert_eq!(status, 0, "terminal showed: {seen}");
    assert!(
        seen.starts_with(&format!("Enter MFA code for {MFA_SERIAL}: ")),
        "terminal showed: {seen:?}"
    );
    assert!(!seen.contains("908172"), "the code was echoed: {seen:?}");
    assert!(stdout.contains("X-Amz-Signature="), "stdout: {stdout}");
    let requests = sts.tap.requests();
    assert_eq!(requests.len(), 1);
    let form = requests[0].body_text();
    for part in [
        "Action=AssumeRole",
        "SerialNumber=arn%3Aaws%3Aiam%3A%3A123456789012%3Amfa%2Fjane",
        "TokenCode=908172",
        "RoleSessionName=jane",
    ] {
        assert!(form.contains(part), "{part} not in {form}");
    }
    let file = botocore_cache_file("assume-role", MFA_ARGS);
    assert!(env.home().join(&file).is_file(), "{:?}", cache_files(&env));

    // No terminal now, and no prompt needed: the cache answers, for us and
    // for the AWS CLI.
    let mut args = vec!["-w", env!("CARGO_BIN_EXE_rds-auth-token"), "--debug"];
    args.extend_from_slice(&token_args);
    let run = env.run_program("setsid", &args);
    assert_from_cache(&run);
    let aws = python::current().aws();
    let setsid_aws = env.run_program(
        "setsid",
        [
            "-w",
            aws.to_str().unwrap(),
            "rds",
            "generate-db-auth-token",
            "--hostname",
            RDS_HOST,
            "--port",
            "5432",
            "--username",
            "jane_doe",
            "--region",
            REGION,
            "--profile",
            "db",
        ],
    );
    assert_eq!(setsid_aws.token().access_key(), run.token().access_key());
    assert_eq!(sts.calls(), 1);
}

#[test]
fn fails_clearly_when_an_mfa_code_is_needed_and_there_is_no_terminal() {
    let sts = Sts::start();
    let env = role_env(
        &sts,
        &format!("role_session_name = jane\nmfa_serial = {MFA_SERIAL}\n"),
    );
    let run = env.run_program(
        "setsid",
        [
            "-w",
            env!("CARGO_BIN_EXE_rds-auth-token"),
            "--hostname",
            RDS_HOST,
            "--port",
            "5432",
            "--username",
            "jane_doe",
            "--profile",
            "db",
        ],
    );
    run.fails_with(1)
        .stderr_contains("profile 'db' needs an MFA code for arn:aws:iam::123456789012:mfa/jane and there is no terminal")
        .stderr_contains("run the command once in a terminal");
    assert_eq!(sts.calls(), 0);
}

#[test]
fn cache_without_a_subcommand_is_a_one_line_usage_error() {
    TestEnv::new()
        .run(["cache"])
        .fails_with(2)
        .stderr_contains("requires a subcommand")
        .stderr_contains("clear");
}

#[test]
fn turns_echo_off_for_the_mfa_code_and_back_on_when_ctrl_c_ends_the_prompt() {
    let sts = Sts::start();
    let env = role_env(
        &sts,
        &format!("role_session_name = jane\nmfa_serial = {MFA_SERIAL}\n"),
    );
    let script = r#"
import os, pty, select, sys, termios, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
seen, deadline = b"", time.time() + 60
while b"Enter MFA code for " not in seen and time.time() < deadline:
    if select.select([fd], [], [], 0.2)[0]:
        seen += os.read(fd, 4096)
during = termios.tcgetattr(fd)[3] & termios.ECHO
os.write(fd, b"\x03")
_, status = os.waitpid(pid, 0)
after = termios.tcgetattr(fd)[3] & termios.ECHO
print(bool(during), bool(after), os.waitstatus_to_exitcode(status))
"#;
    let run = env.run_program(
        python::current().python(),
        [
            "-c",
            script,
            env!("CARGO_BIN_EXE_rds-auth-token"),
            "--hostname",
            RDS_HOST,
            "--port",
            "5432",
            "--username",
            "jane_doe",
            "--profile",
            "db",
        ],
    );
    run.success();
    // Echo off while asking; Ctrl-C ends the process by SIGINT (-2) with
    // echo back on.
    assert_eq!(run.stdout().trim(), "False True -2");
    assert_eq!(sts.calls(), 0);
}
