//! Every credential source, end to end through the binary, against real
//! local endpoints only (127.0.0.1): the token must carry that source's access
//! key and session token and verify, in botocore, with that source's secret;
//! `--debug` must name the source and never show a secret. Then the ways a
//! source fails, each on one line that helps and shows no secret.

use crate::support;

use std::time::{Duration, Instant};

use support::http::{self, Request, Response, Server};
use support::moto::Moto;
use support::{assert_signed_with, Run, TestEnv, Token, ACCESS_KEY, RDS_HOST, SECRET_KEY};

const REGION: &str = "us-east-1";
const FAR_FUTURE: &str = "2099-01-01T00:00:00Z";
const PAST: &str = "2020-01-01T00:00:00Z";

/// Credentials a source hands out.
struct Creds<'a> {
    access_key: &'a str,
    secret_key: &'a str,
    session_token: Option<&'a str>,
}

const SESSION_TOKEN: &str = "IQoJb3JpZ2luX2VjEnvSessionToken/+=Example";

const PROFILE_KEYS: Creds<'static> = Creds {
    access_key: "AKIAPROFILEDEFAULT01",
    secret_key: "profileDefaultSecret/0123456789abcdefghij",
    session_token: None,
};
const NAMED_KEYS: Creds<'static> = Creds {
    access_key: "AKIAPROFILENAMED0001",
    secret_key: "profileNamedSecret/0123456789abcdefghijkl",
    session_token: None,
};
const PROCESS_CREDS: Creds<'static> = Creds {
    access_key: "ASIAPROCESS000000001",
    secret_key: "processSecret/0123456789abcdefghijklmnopq",
    session_token: Some("processSessionToken/+=0123456789"),
};
const SSO_CREDS: Creds<'static> = Creds {
    access_key: "ASIASSO0000000000001",
    secret_key: "ssoSecret/0123456789abcdefghijklmnopqrstu",
    session_token: Some("ssoSessionToken/+=0123456789"),
};
const CONTAINER_CREDS: Creds<'static> = Creds {
    access_key: "ASIACONTAINER0000001",
    secret_key: "containerSecret/0123456789abcdefghijklmno",
    session_token: Some("containerSessionToken/+=0123456789"),
};
const IMDS_CREDS: Creds<'static> = Creds {
    access_key: "ASIAIMDS000000000001",
    secret_key: "imdsSecret/0123456789abcdefghijklmnopqrst",
    session_token: Some("imdsSessionToken/+=0123456789"),
};

/// `--hostname RDS_HOST --port 5432 --username jane_doe --debug` and `extra`.
fn run_debug(env: &TestEnv, extra: &[&str]) -> Run {
    let mut args = vec!["--debug"];
    args.extend_from_slice(extra);
    env.run_token(&args)
}

/// Checks a `--debug` run: the token carries `creds`' access key and session
/// token and is the one botocore makes with `creds`' secret; the debug line
/// says the credentials came from `source`; stderr holds neither the secret
/// nor the session token, nor any of `also_secret`.
#[track_caller]
fn assert_token_from(run: &Run, creds: &Creds, source: &str, also_secret: &[&str]) -> Token {
    let token = run.token();
    if token.access_key() != creds.access_key {
        run.fail(&format!("expected access key {}", creds.access_key));
    }
    if token.session_token().as_deref() != creds.session_token {
        run.fail(&format!("expected session token {:?}", creds.session_token));
    }
    let wanted = format!("rds-auth-token: debug: credentials from {source} (profile ");
    if !run.stderr().lines().any(|line| line.starts_with(&wanted)) {
        run.fail(&format!("expected a debug line starting {wanted:?}"));
    }
    assert_no_secret(run, creds, also_secret);
    assert_signed_with(&token, RDS_HOST, 5432, "jane_doe", REGION, creds.secret_key);
    token
}

#[track_caller]
fn assert_no_secret(run: &Run, creds: &Creds, also_secret: &[&str]) {
    run.stderr_lacks(creds.secret_key);
    for secret in creds.session_token.iter().chain(also_secret) {
        run.stderr_lacks(secret);
    }
}

/// The Version 1 document a `credential_process` prints.
fn process_json(creds: &Creds, expiration: &str) -> String {
    format!(
        "{{\"Version\": 1, \"AccessKeyId\": \"{}\", \"SecretAccessKey\": \"{}\", \
         \"SessionToken\": \"{}\", \"Expiration\": \"{expiration}\"}}",
        creds.access_key,
        creds.secret_key,
        creds.session_token.unwrap()
    )
}

fn write_process_profile(env: &TestEnv, script_body: &str) {
    let script = env.write_script("bin/creds.sh", &format!("#!/bin/sh\n{script_body}\n"));
    env.write(
        ".aws/config",
        &format!(
            "[profile proc]\ncredential_process = {}\n",
            script.display()
        ),
    );
}

/// The JSON the container endpoint and IMDS answer with.
fn metadata_json(creds: &Creds, expiration: &str) -> String {
    format!(
        "{{\"Code\": \"Success\", \"LastUpdated\": \"2024-01-01T00:00:00Z\", \"Type\": \"AWS-HMAC\", \
         \"AccessKeyId\": \"{}\", \"SecretAccessKey\": \"{}\", \"Token\": \"{}\", \
         \"Expiration\": \"{expiration}\"}}",
        creds.access_key,
        creds.secret_key,
        creds.session_token.unwrap()
    )
}

// ---------------------------------------------------------------------------
// 1. Environment variables and 2. shared credentials and config files:
// static keys, which file, which profile, and who wins, as the AWS CLI has it

fn credentials_file(sections: &[(&str, &Creds)]) -> String {
    sections
        .iter()
        .map(|(name, c)| {
            format!(
                "[{name}]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
                c.access_key, c.secret_key
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const ENV_KEYS: Creds<'static> = Creds {
    access_key: ACCESS_KEY,
    secret_key: SECRET_KEY,
    session_token: None,
};

/// One way to give static keys: the set-up, the arguments, and the keys the
/// token must be signed with, from which source, with which `--debug`
/// words, and which other secrets must not show.
struct StaticCase {
    what: &'static str,
    setup: fn(&mut TestEnv),
    args: &'static [&'static str],
    creds: Creds<'static>,
    source: &'static str,
    debug: Option<&'static str>,
    also_secret: &'static [&'static str],
}

/// `default` with [`PROFILE_KEYS`] and `named` with [`NAMED_KEYS`].
fn default_and_named(env: &mut TestEnv) {
    env.write(
        ".aws/credentials",
        &credentials_file(&[("default", &PROFILE_KEYS), ("named", &NAMED_KEYS)]),
    );
}

fn named_only(env: &mut TestEnv) {
    env.write(
        ".aws/credentials",
        &credentials_file(&[("named", &NAMED_KEYS)]),
    );
}

const STATIC_CASES: &[StaticCase] = &[
    StaticCase {
        what: "access keys from the environment",
        setup: |env| {
            env.with_env_keys();
        },
        args: &[],
        creds: ENV_KEYS,
        source: "environment variables",
        debug: None,
        also_secret: &[],
    },
    StaticCase {
        what: "a session token from the environment",
        setup: |env| {
            env.with_env_keys().env("AWS_SESSION_TOKEN", SESSION_TOKEN);
        },
        args: &[],
        creds: Creds {
            session_token: Some(SESSION_TOKEN),
            ..ENV_KEYS
        },
        source: "environment variables",
        debug: None,
        also_secret: &[],
    },
    StaticCase {
        what: "the default profile of the shared credentials file",
        setup: default_and_named,
        args: &[],
        creds: PROFILE_KEYS,
        source: "static keys in a profile",
        debug: Some("(profile 'default' from default)"),
        also_secret: &[],
    },
    StaticCase {
        what: "the profile named by --profile",
        setup: default_and_named,
        args: &["--profile", "named"],
        creds: NAMED_KEYS,
        source: "static keys in a profile",
        debug: Some("(profile 'named' from --profile)"),
        also_secret: &[],
    },
    StaticCase {
        what: "the profile named by AWS_PROFILE",
        setup: |env| {
            default_and_named(env);
            env.env("AWS_PROFILE", "named");
        },
        args: &[],
        creds: NAMED_KEYS,
        source: "static keys in a profile",
        debug: Some("(profile 'named' from AWS_PROFILE)"),
        also_secret: &[],
    },
    StaticCase {
        what: "the credentials file named by AWS_SHARED_CREDENTIALS_FILE",
        setup: |env| {
            env.write(
                ".aws/credentials",
                &credentials_file(&[("default", &PROFILE_KEYS)]),
            );
            let elsewhere = env.write(
                "elsewhere/creds.ini",
                &credentials_file(&[("default", &NAMED_KEYS)]),
            );
            env.env("AWS_SHARED_CREDENTIALS_FILE", &elsewhere);
        },
        args: &[],
        creds: NAMED_KEYS,
        source: "static keys in a profile",
        debug: None,
        also_secret: &[],
    },
    StaticCase {
        what: "keys in the config file named by AWS_CONFIG_FILE",
        setup: |env| {
            env.write(
                ".aws/config",
                "[profile other]\naws_access_key_id = AKIAWRONGWRONGWRONG1\naws_secret_access_key = wrong\n",
            );
            let elsewhere = env.write(
                "elsewhere/config.ini",
                &format!(
                    "[profile other]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
                    NAMED_KEYS.access_key, NAMED_KEYS.secret_key
                ),
            );
            env.env("AWS_CONFIG_FILE", &elsewhere);
        },
        args: &["--profile", "other"],
        creds: NAMED_KEYS,
        source: "static keys in a profile",
        debug: None,
        also_secret: &[],
    },
    // botocore drops the environment provider when --profile is given.
    StaticCase {
        what: "--profile over keys in the environment",
        setup: |env| {
            env.with_env_keys();
            named_only(env);
        },
        args: &["--profile", "named"],
        creds: NAMED_KEYS,
        source: "static keys in a profile",
        debug: None,
        also_secret: &[SECRET_KEY],
    },
    StaticCase {
        what: "keys in the environment over AWS_PROFILE",
        setup: |env| {
            env.with_env_keys().env("AWS_PROFILE", "named");
            named_only(env);
        },
        args: &[],
        creds: ENV_KEYS,
        source: "environment variables",
        debug: None,
        also_secret: &[NAMED_KEYS.secret_key],
    },
    // With --profile the AWS CLI does not read keys from the environment at
    // all, not even an access key without its secret.
    StaticCase {
        what: "--profile with an access key alone in the environment",
        setup: |env| {
            env.env("AWS_ACCESS_KEY_ID", ACCESS_KEY);
            named_only(env);
        },
        args: &["--profile", "named"],
        creds: NAMED_KEYS,
        source: "static keys in a profile",
        debug: None,
        also_secret: &[],
    },
];

#[test]
fn signs_with_static_keys_from_where_the_aws_cli_finds_them() {
    for case in STATIC_CASES {
        let mut env = TestEnv::new();
        (case.setup)(&mut env);
        let run = run_debug(&env, case.args);
        eprintln!("case: {}", case.what);
        assert_token_from(&run, &case.creds, case.source, case.also_secret);
        if let Some(words) = case.debug {
            run.stderr_contains(words);
        }
    }
}

#[test]
fn signs_for_the_region_of_the_selected_profile_when_no_region_is_given() {
    let env = TestEnv::new();
    env.write(
        ".aws/credentials",
        &credentials_file(&[("west", &NAMED_KEYS)]),
    );
    env.write(
        ".aws/config",
        "[default]\nregion = eu-central-1\n\n[profile west]\nregion = us-west-2\n",
    );
    // A hostname with no region in it, so the region can only come from the profile.
    let host = "db.internal.example.com";
    let run = env.run([
        "--hostname",
        host,
        "--port",
        "5432",
        "--username",
        "jane_doe",
        "--profile",
        "west",
        "--debug",
    ]);
    let token = run.token();
    run.stderr_contains("region us-west-2 (from the region setting of profile 'west')");
    if !token
        .param("X-Amz-Credential")
        .unwrap()
        .contains("%2Fus-west-2%2Frds-db%2F")
    {
        run.fail("expected a credential scope in us-west-2");
    }
    assert_eq!(token.access_key(), NAMED_KEYS.access_key);
    assert_signed_with(
        &token,
        host,
        5432,
        "jane_doe",
        "us-west-2",
        NAMED_KEYS.secret_key,
    );
}

// ---------------------------------------------------------------------------
// 3. credential_process

#[test]
fn signs_with_credentials_from_a_credential_process() {
    let env = TestEnv::new();
    write_process_profile(
        &env,
        &format!(
            "cat <<'EOF'\n{}\nEOF",
            process_json(&PROCESS_CREDS, FAR_FUTURE)
        ),
    );
    let run = run_debug(&env, &["--profile", "proc"]);
    assert_token_from(&run, &PROCESS_CREDS, "credential_process", &[]);
    run.stderr_contains("expire 2099-01-01T00:00:00Z");
}

// ---------------------------------------------------------------------------
// 4. IAM Identity Center (SSO)

/// sha1("my-sso"), the name of the cached token file for `sso_session = my-sso`.
const SSO_CACHE_FILE: &str = ".aws/sso/cache/0ad374308c5a4e22f723adf10145eafad7c4031c.json";
const SSO_BEARER: &str = "aoaAAAAAGcachedSsoAccessToken-0123456789";

#[test]
fn signs_with_role_credentials_from_iam_identity_center() {
    let server = Server::start(|req| {
        if req.method == "GET" && req.path() == "/federation/credentials" {
            let c = &SSO_CREDS;
            Response::ok(format!(
                "{{\"roleCredentials\": {{\"accessKeyId\": \"{}\", \"secretAccessKey\": \"{}\", \
                 \"sessionToken\": \"{}\", \"expiration\": 4070908800000}}}}",
                c.access_key,
                c.secret_key,
                c.session_token.unwrap()
            ))
            .header("Content-Type", "application/json")
        } else {
            Response::status(404, "{}")
        }
    });
    let mut env = TestEnv::new();
    env.write(
        ".aws/config",
        "[profile sso]\nsso_session = my-sso\nsso_account_id = 123456789012\n\
         sso_role_name = DbConnect\n\n\
         [sso-session my-sso]\nsso_region = us-east-1\n\
         sso_start_url = https://d-0123456789.awsapps.com/start\n\
         sso_registration_scopes = sso:account:access\n",
    );
    env.write(
        SSO_CACHE_FILE,
        &format!(
            "{{\"accessToken\": \"{SSO_BEARER}\", \"expiresAt\": \"{FAR_FUTURE}\", \
             \"region\": \"us-east-1\", \"startUrl\": \"https://d-0123456789.awsapps.com/start\"}}"
        ),
    );
    env.env("AWS_ENDPOINT_URL_SSO", server.url());
    let run = run_debug(&env, &["--profile", "sso"]);
    assert_token_from(&run, &SSO_CREDS, "IAM Identity Center (SSO)", &[SSO_BEARER]);
    let requests = server.requests();
    if requests.len() != 1 {
        run.fail(&format!(
            "expected one request to the SSO portal, got {requests:#?}"
        ));
    }
    let req = &requests[0];
    assert_eq!(req.method, "GET");
    assert_eq!(req.path(), "/federation/credentials");
    let query = req.target.split_once('?').map_or("", |(_, q)| q);
    assert_eq!(
        form_param(query, "account_id").as_deref(),
        Some("123456789012")
    );
    assert_eq!(form_param(query, "role_name").as_deref(), Some("DbConnect"));
    assert_eq!(req.header("x-amz-sso_bearer_token"), Some(SSO_BEARER));
}

// ---------------------------------------------------------------------------
// 5 and 6. Assume-role and web identity, against moto's STS

/// moto's STS behind a recording tap, so that tests see what was sent and what
/// credentials moto handed out.
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

    /// The one STS call made: its form parameters, and the credentials moto
    /// answered with.
    #[track_caller]
    fn one_call(&self, run: &Run) -> (Request, StsCreds) {
        let exchanges = self.tap.exchanges();
        if exchanges.len() != 1 {
            run.fail(&format!("expected one STS call, got {exchanges:#?}"));
        }
        let (req, resp) = exchanges.into_iter().next().unwrap();
        if resp.status != 200 {
            run.fail(&format!(
                "moto answered {}: {}",
                resp.status,
                resp.body_text()
            ));
        }
        let body = resp.body_text();
        let creds = StsCreds {
            access_key: xml_text(&body, "AccessKeyId"),
            secret_key: xml_text(&body, "SecretAccessKey"),
            session_token: xml_text(&body, "SessionToken"),
        };
        (req, creds)
    }
}

struct StsCreds {
    access_key: String,
    secret_key: String,
    session_token: String,
}

impl StsCreds {
    fn creds(&self) -> Creds<'_> {
        Creds {
            access_key: &self.access_key,
            secret_key: &self.secret_key,
            session_token: Some(&self.session_token),
        }
    }
}

#[track_caller]
fn xml_text(xml: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml
        .find(&open)
        .unwrap_or_else(|| panic!("no <{tag}> in {xml}"))
        + open.len();
    let len = xml[start..].find(&close).expect("closing tag");
    xml[start..start + len].to_owned()
}

/// The decoded value of `name` in a form-encoded body or query string.
fn form_param(form: &str, name: &str) -> Option<String> {
    form.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| form_decode(v))
    })
}

fn form_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                out.push(u8::from_str_radix(&value[i + 1..i + 3], 16).unwrap());
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// The access key that signed an AWS request, from its Authorization header.
fn signing_access_key(req: &Request) -> Option<&str> {
    let auth = req.header("authorization")?;
    let credential = auth.split("Credential=").nth(1)?;
    credential.split('/').next()
}

const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/db-connect";

#[test]
fn assumes_the_role_of_a_profile_with_keys_from_its_source_profile() {
    let sts = Sts::start();
    let mut env = TestEnv::new();
    env.write(
        ".aws/credentials",
        &credentials_file(&[("base", &PROFILE_KEYS)]),
    );
    env.write(
        ".aws/config",
        &format!(
            "[profile db]\nrole_arn = {ROLE_ARN}\nsource_profile = base\n\
             role_session_name = jane-at-db\n"
        ),
    );
    env.env("AWS_ENDPOINT_URL_STS", sts.tap.url());
    let run = run_debug(&env, &["--profile", "db"]);
    let (req, moto_creds) = sts.one_call(&run);
    let form = req.body_text();
    assert_eq!(form_param(&form, "Action").as_deref(), Some("AssumeRole"));
    assert_eq!(form_param(&form, "RoleArn").as_deref(), Some(ROLE_ARN));
    assert_eq!(
        form_param(&form, "RoleSessionName").as_deref(),
        Some("jane-at-db")
    );
    assert_eq!(signing_access_key(&req), Some(PROFILE_KEYS.access_key));
    assert_token_from(
        &run,
        &moto_creds.creds(),
        "assume-role (STS) <- static keys in a profile",
        &[PROFILE_KEYS.secret_key],
    );
}

#[test]
fn assumes_the_role_of_a_profile_with_keys_from_the_environment_as_its_credential_source() {
    let sts = Sts::start();
    let mut env = TestEnv::new();
    env.with_env_keys();
    env.write(
        ".aws/config",
        &format!(
            "[profile db]\nrole_arn = {ROLE_ARN}\ncredential_source = Environment\n\
             role_session_name = jane-from-env\n"
        ),
    );
    env.env("AWS_ENDPOINT_URL_STS", sts.tap.url());
    let run = run_debug(&env, &["--profile", "db"]);
    let (req, moto_creds) = sts.one_call(&run);
    let form = req.body_text();
    assert_eq!(form_param(&form, "Action").as_deref(), Some("AssumeRole"));
    assert_eq!(form_param(&form, "RoleArn").as_deref(), Some(ROLE_ARN));
    assert_eq!(
        form_param(&form, "RoleSessionName").as_deref(),
        Some("jane-from-env")
    );
    assert_eq!(signing_access_key(&req), Some(ACCESS_KEY));
    assert_token_from(
        &run,
        &moto_creds.creds(),
        "assume-role (STS) <- environment variables",
        &[SECRET_KEY],
    );
}

const WEB_IDENTITY_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJqYW5lIn0.c2lnbmF0dXJl";

#[track_caller]
fn assert_web_identity_call(run: &Run, req: &Request, session_name: &str) {
    let form = req.body_text();
    assert_eq!(
        form_param(&form, "Action").as_deref(),
        Some("AssumeRoleWithWebIdentity")
    );
    assert_eq!(form_param(&form, "RoleArn").as_deref(), Some(ROLE_ARN));
    assert_eq!(
        form_param(&form, "RoleSessionName").as_deref(),
        Some(session_name)
    );
    assert_eq!(
        form_param(&form, "WebIdentityToken").as_deref(),
        Some(WEB_IDENTITY_TOKEN)
    );
    if req.header("authorization").is_some() {
        run.fail("AssumeRoleWithWebIdentity must be sent unsigned");
    }
}

#[test]
fn assumes_a_role_with_the_web_identity_token_named_in_the_environment() {
    let sts = Sts::start();
    let mut env = TestEnv::new();
    let token_file = env.write("eks/token", WEB_IDENTITY_TOKEN);
    env.env("AWS_WEB_IDENTITY_TOKEN_FILE", &token_file)
        .env("AWS_ROLE_ARN", ROLE_ARN)
        .env("AWS_ROLE_SESSION_NAME", "jane-pod")
        .env("AWS_ENDPOINT_URL_STS", sts.tap.url());
    let run = run_debug(&env, &[]);
    let (req, moto_creds) = sts.one_call(&run);
    assert_web_identity_call(&run, &req, "jane-pod");
    assert_token_from(
        &run,
        &moto_creds.creds(),
        "web identity token from the environment (AWS_WEB_IDENTITY_TOKEN_FILE)",
        &[WEB_IDENTITY_TOKEN],
    );
}

#[test]
fn assumes_a_role_with_the_web_identity_token_file_of_a_profile() {
    let sts = Sts::start();
    let mut env = TestEnv::new();
    let token_file = env.write("eks/token", WEB_IDENTITY_TOKEN);
    env.write(
        ".aws/config",
        &format!(
            "[profile web]\nweb_identity_token_file = {}\nrole_arn = {ROLE_ARN}\n\
             role_session_name = jane-web\n",
            token_file.display()
        ),
    );
    env.env("AWS_ENDPOINT_URL_STS", sts.tap.url());
    let run = run_debug(&env, &["--profile", "web"]);
    let (req, moto_creds) = sts.one_call(&run);
    assert_web_identity_call(&run, &req, "jane-web");
    assert_token_from(
        &run,
        &moto_creds.creds(),
        "web_identity_token_file in a profile",
        &[WEB_IDENTITY_TOKEN],
    );
}

// ---------------------------------------------------------------------------
// 7. Container credentials (ECS, EKS Pod Identity)

const CONTAINER_AUTH: &str = "Basic containerAuthorizationToken0123";

fn container_server(expiration: &'static str) -> Server {
    Server::start(move |req| {
        if req.method == "GET" && req.path() == "/v2/credentials/db" {
            Response::ok(metadata_json(&CONTAINER_CREDS, expiration))
                .header("Content-Type", "application/json")
        } else {
            Response::status(404, "not here")
        }
    })
}

fn container_env(server: &Server) -> TestEnv {
    let mut env = TestEnv::new();
    env.env(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        format!("{}/v2/credentials/db", server.url()),
    )
    .env("AWS_CONTAINER_AUTHORIZATION_TOKEN", CONTAINER_AUTH);
    env
}

#[test]
fn signs_with_credentials_from_the_container_endpoint() {
    let server = container_server(FAR_FUTURE);
    let env = container_env(&server);
    let run = run_debug(&env, &[]);
    assert_token_from(
        &run,
        &CONTAINER_CREDS,
        "container credentials endpoint",
        &[CONTAINER_AUTH],
    );
    let requests = server.requests();
    if requests.len() != 1 {
        run.fail(&format!("expected one request, got {requests:#?}"));
    }
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].path(), "/v2/credentials/db");
    assert_eq!(requests[0].header("authorization"), Some(CONTAINER_AUTH));
}

// ---------------------------------------------------------------------------
// 8. EC2 instance metadata (IMDSv2)

const IMDS_SESSION: &str = "AQAEAImdsSessionToken0123456789==";
const IMDS_ROLE: &str = "db-instance-role";

/// IMDSv2: a session token from PUT /latest/api/token, then the role name and
/// its credentials, each only with that token.
fn imds_server(expiration: &'static str) -> Server {
    Server::start(move |req| {
        let creds_path = "/latest/meta-data/iam/security-credentials/";
        if req.method == "PUT" && req.path() == "/latest/api/token" {
            let ttl = req
                .header("x-aws-ec2-metadata-token-ttl-seconds")
                .unwrap_or("21600")
                .to_owned();
            return Response::ok(IMDS_SESSION).header("x-aws-ec2-metadata-token-ttl-seconds", &ttl);
        }
        if req.method != "GET" {
            return Response::status(405, "");
        }
        if req.header("x-aws-ec2-metadata-token") != Some(IMDS_SESSION) {
            return Response::status(401, "");
        }
        if req.path() == creds_path {
            Response::ok(IMDS_ROLE)
        } else if req.path() == format!("{creds_path}{IMDS_ROLE}") {
            Response::ok(metadata_json(&IMDS_CREDS, expiration))
        } else {
            Response::status(404, "")
        }
    })
}

fn imds_env(server: &Server) -> TestEnv {
    let mut env = TestEnv::new();
    env.remove_env("AWS_EC2_METADATA_DISABLED")
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", server.url());
    env
}

#[test]
fn signs_with_role_credentials_from_instance_metadata_v2() {
    let server = imds_server(FAR_FUTURE);
    let env = imds_env(&server);
    let run = run_debug(&env, &[]);
    assert_token_from(
        &run,
        &IMDS_CREDS,
        "EC2 instance metadata (IMDS)",
        &[IMDS_SESSION],
    );
    let requests = server.requests();
    let first = &requests[0];
    if first.method != "PUT" || first.path() != "/latest/api/token" {
        run.fail(&format!(
            "expected a session token first, got {requests:#?}"
        ));
    }
    assert!(first
        .header("x-aws-ec2-metadata-token-ttl-seconds")
        .is_some_and(|ttl| ttl.parse::<u32>().is_ok()));
    let gets: Vec<&Request> = requests[1..].iter().collect();
    assert!(
        gets.iter().all(
            |r| r.method == "GET" && r.header("x-aws-ec2-metadata-token") == Some(IMDS_SESSION)
        ),
        "every read must carry the session token: {requests:#?}"
    );
    assert!(
        gets.iter()
            .any(|r| r.path() == format!("/latest/meta-data/iam/security-credentials/{IMDS_ROLE}")),
        "the role's credentials must have been read: {requests:#?}"
    );
}

#[test]
fn accepts_expired_instance_metadata_credentials_by_extending_them_as_the_aws_cli_does() {
    // Both the SDK and botocore keep using credentials IMDS hands out after
    // their expiry (an outage must not stop an instance), for a few minutes.
    let server = imds_server(PAST);
    let env = imds_env(&server);
    let run = run_debug(&env, &[]);
    assert_token_from(
        &run,
        &IMDS_CREDS,
        "EC2 instance metadata (IMDS)",
        &[IMDS_SESSION],
    );
    let stderr = run.stderr();
    let after = |prefix: &str| {
        let start = stderr.find(prefix).map(|i| i + prefix.len());
        start.map(|i| stderr[i..i + "2000-01-01T00:00:00Z".len()].to_owned())
    };
    let (Some(expires), Some(signed)) = (after(", expire "), after("signed at ")) else {
        run.fail("expected the expiry and signing time in the debug output");
    };
    // Both are RFC 3339 in UTC, so they order as strings.
    if expires <= signed {
        run.fail("expected the credentials' expiry to have been extended past now");
    }
    // The extension is a few minutes: the token ends with it, and says so.
    let token = run.token();
    let secs: u64 = token.param("X-Amz-Expires").unwrap().parse().unwrap();
    if !(60..900).contains(&secs) {
        run.fail("expected the token cut short to the extended expiry");
    }
    run.stderr_contains(&format!(
        ", so the token is valid for {secs} seconds, not 900\n"
    ));
}

// ---------------------------------------------------------------------------
// Failures

#[test]
fn refuses_credentials_from_a_credential_process_that_have_expired() {
    let env = TestEnv::new();
    write_process_profile(
        &env,
        &format!("cat <<'EOF'\n{}\nEOF", process_json(&PROCESS_CREDS, PAST)),
    );
    let run = env.run_token(&["--profile", "proc"]);
    run.fails_with(1)
        .stderr_contains("expired at 2020-01-01T00:00:00Z")
        .stderr_contains("credential_process");
    assert_no_secret(&run, &PROCESS_CREDS, &[]);
}

#[test]
fn refuses_credentials_from_the_container_endpoint_that_have_expired() {
    let server = container_server(PAST);
    let env = container_env(&server);
    let run = env.run_token(&[]);
    run.fails_with(1)
        .stderr_contains("expired at 2020-01-01T00:00:00Z")
        .stderr_contains("container credentials endpoint");
    assert_no_secret(&run, &CONTAINER_CREDS, &[CONTAINER_AUTH]);
}

#[test]
fn reports_a_credential_process_that_fails_with_what_it_said() {
    let env = TestEnv::new();
    write_process_profile(
        &env,
        "echo 'token service unreachable: run vault login' >&2\nexit 3",
    );
    env.run_token(&["--profile", "proc"])
        .fails_with(1)
        .stderr_contains("could not load AWS credentials")
        .stderr_contains("exit status: 3")
        .stderr_contains("token service unreachable: run vault login");
}

#[test]
fn reports_a_credential_process_that_prints_malformed_json_without_echoing_it() {
    let env = TestEnv::new();
    write_process_profile(
        &env,
        &format!(
            "echo '{{\"Version\": 1, \"AccessKeyId\": \"{}\", \"SecretAccessKey\": \"{}\" \"SessionToken\": '",
            PROCESS_CREDS.access_key, PROCESS_CREDS.secret_key
        ),
    );
    let run = env.run_token(&["--profile", "proc"]);
    run.fails_with(1)
        .stderr_contains("could not load AWS credentials")
        .stderr_contains("could not parse");
    assert_no_secret(&run, &PROCESS_CREDS, &[]);
}

/// A set-up the chain refuses: the arguments, and what stderr must say.
struct RefusedCase {
    setup: fn(&mut TestEnv),
    args: &'static [&'static str],
    says: &'static [&'static str],
}

const REFUSED_CASES: &[RefusedCase] = &[
    RefusedCase {
        setup: |env| {
            env.write(
                ".aws/config",
                &format!("[profile loop]\nrole_arn = {ROLE_ARN}\nsource_profile = loop\n"),
            );
        },
        args: &["--profile", "loop"],
        says: &[
            "profile 'loop' names itself as its source_profile",
            "add them, or set source_profile to a profile that has them",
        ],
    },
    RefusedCase {
        setup: |env| {
            env.write(
                ".aws/credentials",
                &credentials_file(&[("default", &PROFILE_KEYS)]),
            );
        },
        args: &["--profile", "nope"],
        says: &["profile 'nope' (from --profile) is not in the shared config or credentials file"],
    },
    RefusedCase {
        setup: |env| {
            env.write(
                ".aws/credentials",
                &credentials_file(&[("default", &PROFILE_KEYS)]),
            );
            env.env("AWS_PROFILE", "nope");
        },
        args: &[],
        says: &[
            "profile 'nope' (from AWS_PROFILE) is not in the shared config or credentials file",
        ],
    },
    RefusedCase {
        setup: |env| {
            env.write(
                ".aws/config",
                &format!(
                    "[profile a]\nrole_arn = {ROLE_ARN}\nsource_profile = b\n\n\
                     [profile b]\nrole_arn = {ROLE_ARN}\nsource_profile = a\n"
                ),
            );
        },
        args: &["--profile", "a"],
        says: &["infinite loop"],
    },
];

#[test]
fn refuses_profiles_that_are_missing_or_source_themselves_saying_which() {
    for case in REFUSED_CASES {
        let mut env = TestEnv::new();
        (case.setup)(&mut env);
        let run = env.run_token(case.args);
        run.fails_with(1);
        for words in case.says {
            run.stderr_contains(words);
        }
    }
}

#[test]
fn reports_an_access_key_in_the_environment_without_its_secret() {
    let mut env = TestEnv::new();
    env.env("AWS_ACCESS_KEY_ID", ACCESS_KEY);
    env.write(
        ".aws/credentials",
        &credentials_file(&[("default", &PROFILE_KEYS)]),
    );
    env.run_token(&[]).fails_with(1).stderr_is(
        "rds-auth-token: error: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not; \
         set both, or unset AWS_ACCESS_KEY_ID to use a profile\n",
    );
}

#[test]
fn gives_up_quickly_when_instance_metadata_accepts_but_never_answers() {
    let silent = Server::silent();
    let mut env = TestEnv::new();
    env.remove_env("AWS_EC2_METADATA_DISABLED")
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", silent.url());
    let started = Instant::now();
    let run = env.run_token(&[]);
    let took = started.elapsed();
    run.fails_with(1)
        .stderr_contains("no AWS credentials found");
    if silent.connections() == 0 {
        run.fail("expected a connection to the loopback metadata endpoint");
    }
    if took >= Duration::from_secs(10) {
        run.fail(&format!(
            "took {took:?}; expected to give up within seconds"
        ));
    }
}

#[test]
fn assumes_the_role_of_a_profile_with_instance_metadata_as_its_credential_source() {
    let sts = Sts::start();
    let server = imds_server(FAR_FUTURE);
    let mut env = imds_env(&server);
    env.write(
        ".aws/config",
        &format!(
            "[profile db]\nrole_arn = {ROLE_ARN}\ncredential_source = Ec2InstanceMetadata\n\
             role_session_name = jane-from-imds\n"
        ),
    );
    env.env("AWS_ENDPOINT_URL_STS", sts.tap.url());
    let run = run_debug(&env, &["--profile", "db"]);
    let (req, moto_creds) = sts.one_call(&run);
    assert_eq!(signing_access_key(&req), Some(IMDS_CREDS.access_key));
    assert_token_from(
        &run,
        &moto_creds.creds(),
        "assume-role (STS) <- EC2 instance metadata (IMDS)",
        &[IMDS_CREDS.secret_key, IMDS_SESSION],
    );
}

// ---------------------------------------------------------------------------
// 9. `aws login` sessions (AWS Sign-In)

const LOGIN_ARN: &str = "arn:aws:iam::123456789012:user/Admin";
const LOGIN_CREDS: Creds<'static> = Creds {
    access_key: "ASIALOGIN00000000001",
    secret_key: "loginSecret/0123456789abcdefghijklmnopqr",
    session_token: Some("loginSessionToken/+=0123456789"),
};
const REFRESHED_LOGIN_CREDS: Creds<'static> = Creds {
    access_key: "ASIALOGINREFRESHED01",
    secret_key: "loginRefreshedSecret/0123456789abcdefghi",
    session_token: Some("loginRefreshedSessionToken/+=0123456789"),
};
const LOGIN_REFRESH_TOKEN: &str = "loginRefreshToken-0123456789";

/// The hex digest of `text` from a coreutils tool (`sha1sum`, `sha256sum`):
/// cache file names come from the reference tools, not from our code.
fn digest(tool: &str, text: &str) -> String {
    let output = std::process::Command::new("sh")
        .args(["-c", &format!("printf %s \"$1\" | {tool}"), "sh", text])
        .output()
        .unwrap_or_else(|err| panic!("{tool}: {err}"));
    assert!(output.status.success(), "{tool} failed");
    String::from_utf8(output.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

/// RFC 3339 for `seconds` from now.
fn from_now(seconds: i64) -> String {
    let now = std::time::SystemTime::now();
    let then = if seconds >= 0 {
        now + Duration::from_secs(seconds.unsigned_abs())
    } else {
        now - Duration::from_secs(seconds.unsigned_abs())
    };
    rds_auth_token::rfc3339(then)
}

/// A P-256 key in SEC1 PEM, made by openssl, as `aws login` stores its DPoP key.
fn dpop_key() -> String {
    let output = std::process::Command::new("openssl")
        .args(["ecparam", "-name", "prime256v1", "-genkey", "-noout"])
        .output()
        .expect("openssl (scripts/test installs it)");
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

/// A profile `console` signed in with `aws login`, its cached session
/// expiring at `expires_at`, in the login cache under `cache_dir` (relative
/// to HOME); returns the cache file's path.
fn write_login_session(env: &TestEnv, cache_dir: &str, expires_at: &str) -> std::path::PathBuf {
    env.write(
        ".aws/config",
        &format!("[profile console]\nlogin_session = {LOGIN_ARN}\nregion = {REGION}\n"),
    );
    let c = &LOGIN_CREDS;
    let key = dpop_key().replace('\n', "\\n");
    env.write(
        &format!("{cache_dir}/{}.json", digest("sha256sum", LOGIN_ARN)),
        &format!(
            "{{\"accessToken\": {{\"accessKeyId\": \"{}\", \"secretAccessKey\": \"{}\", \
             \"sessionToken\": \"{}\", \"accountId\": \"123456789012\", \"expiresAt\": \"{expires_at}\"}}, \
             \"tokenType\": \"aws_sigv4\", \"refreshToken\": \"{LOGIN_REFRESH_TOKEN}\", \
             \"idToken\": \"eyJhbGciOiJSUzI1NiJ9.e30.c2ln\", \
             \"clientId\": \"arn:aws:signin:::devtools/same-device\", \"dpopKey\": \"{key}\"}}",
            c.access_key,
            c.secret_key,
            c.session_token.unwrap()
        ),
    )
}

/// The AWS Sign-In CreateOAuth2Token stand-in: refreshes with
/// [`REFRESHED_LOGIN_CREDS`].
fn signin_server() -> Server {
    Server::start(|req| {
        if req.method == "POST" && req.path() == "/v1/token" {
            let c = &REFRESHED_LOGIN_CREDS;
            Response::ok(format!(
                "{{\"accessToken\": {{\"accessKeyId\": \"{}\", \"secretAccessKey\": \"{}\", \
                 \"sessionToken\": \"{}\"}}, \"tokenType\": \"aws_sigv4\", \"expiresIn\": 900, \
                 \"refreshToken\": \"loginRefreshToken-rotated\"}}",
                c.access_key,
                c.secret_key,
                c.session_token.unwrap()
            ))
            .header("Content-Type", "application/json")
        } else {
            Response::status(404, "{}")
        }
    })
}

#[test]
fn signs_with_the_cached_session_of_an_aws_login_profile() {
    let server = signin_server();
    let mut env = TestEnv::new();
    write_login_session(&env, ".aws/login/cache", FAR_FUTURE);
    env.env("AWS_ENDPOINT_URL_SIGNIN", server.url());
    let run = run_debug(&env, &["--profile", "console"]);
    assert_token_from(
        &run,
        &LOGIN_CREDS,
        "aws login session",
        &[LOGIN_REFRESH_TOKEN],
    );
    if !server.requests().is_empty() {
        run.fail("a session that is still good must not be refreshed");
    }
}

#[test]
fn reads_the_login_cache_named_by_aws_login_cache_directory() {
    let mut env = TestEnv::new();
    write_login_session(&env, "elsewhere/login", FAR_FUTURE);
    env.env(
        "AWS_LOGIN_CACHE_DIRECTORY",
        env.home().join("elsewhere/login"),
    );
    let run = run_debug(&env, &["--profile", "console"]);
    assert_token_from(&run, &LOGIN_CREDS, "aws login session", &[]);
}

#[test]
fn refreshes_an_aws_login_session_near_its_expiry_and_writes_it_back() {
    let server = signin_server();
    let mut env = TestEnv::new();
    let cache = write_login_session(&env, ".aws/login/cache", &from_now(120));
    env.env("AWS_ENDPOINT_URL_SIGNIN", server.url());
    let run = run_debug(&env, &["--profile", "console"]);
    assert_token_from(
        &run,
        &REFRESHED_LOGIN_CREDS,
        "aws login session",
        &[LOGIN_REFRESH_TOKEN, LOGIN_CREDS.secret_key],
    );
    let requests = server.requests();
    if requests.len() != 1 {
        run.fail(&format!("expected one refresh, got {requests:#?}"));
    }
    let body = requests[0].body_text();
    for expected in [
        "\"grantType\":\"refresh_token\"",
        &format!("\"refreshToken\":\"{LOGIN_REFRESH_TOKEN}\""),
        "\"clientId\":\"arn:aws:signin:::devtools/same-device\"",
    ] {
        if !body.replace(' ', "").contains(expected) {
            run.fail(&format!(
                "expected {expected} in the refresh request {body}"
            ));
        }
    }
    // RFC 9449: the refresh proves possession of the session's key.
    if requests[0]
        .header("dpop")
        .is_none_or(|jwt| jwt.split('.').count() != 3)
    {
        run.fail(&format!("expected a DPoP proof, got {:#?}", requests[0]));
    }
    let written = std::fs::read_to_string(&cache).unwrap();
    for expected in [
        REFRESHED_LOGIN_CREDS.access_key,
        "loginRefreshToken-rotated",
        "-----BEGIN EC PRIVATE KEY-----",
    ] {
        if !written.contains(expected) {
            run.fail(&format!(
                "expected {expected} in the rewritten cache:\n{written}"
            ));
        }
    }
}

// ---------------------------------------------------------------------------
// 10. EKS Pod Identity and ECS

#[test]
fn sends_the_pod_identity_token_read_from_its_file_on_every_run() {
    let server = Server::start(|req| {
        if req.method == "GET" && req.path() == "/v1/credentials" {
            Response::ok(metadata_json(&CONTAINER_CREDS, FAR_FUTURE))
                .header("Content-Type", "application/json")
        } else {
            Response::status(404, "not here")
        }
    });
    let mut env = TestEnv::new();
    let token_file = env.write("eks-pod-identity-token", "podIdentityTokenOne");
    env.env(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        format!("{}/v1/credentials", server.url()),
    )
    .env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", &token_file)
    // The file wins over a token in the environment, as in botocore.
    .env(
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "staleTokenFromTheEnvironment",
    );
    let first = run_debug(&env, &[]);
    assert_token_from(
        &first,
        &CONTAINER_CREDS,
        "container credentials endpoint",
        &["podIdentityTokenOne"],
    );
    // The kubelet rotates the token in place.
    std::fs::write(&token_file, "podIdentityTokenTwo").unwrap();
    let second = run_debug(&env, &[]);
    assert_token_from(
        &second,
        &CONTAINER_CREDS,
        "container credentials endpoint",
        &["podIdentityTokenTwo"],
    );
    let sent: Vec<Option<String>> = server
        .requests()
        .iter()
        .map(|r| r.header("authorization").map(str::to_owned))
        .collect();
    assert_eq!(
        sent,
        [
            Some("podIdentityTokenOne".to_owned()),
            Some("podIdentityTokenTwo".to_owned())
        ]
    );
}

#[cfg(target_os = "linux")]
#[test]
fn signs_with_ecs_task_credentials_from_169_254_170_2_in_a_namespace_of_its_own() {
    let ns = support::netns::NetNs::new();
    ns.add_address("169.254.170.2");
    let listener = ns.bind("169.254.170.2:80".parse().unwrap());
    let server = Server::start_on(listener, |req| {
        if req.method == "GET" && req.path() == "/v2/credentials/task-role-id" {
            Response::ok(metadata_json(&CONTAINER_CREDS, FAR_FUTURE))
                .header("Content-Type", "application/json")
        } else {
            Response::status(404, "not here")
        }
    });
    let mut env = TestEnv::new();
    env.env(
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "/v2/credentials/task-role-id",
    );
    let mut args = ns.wrap(env!("CARGO_BIN_EXE_rds-auth-token"));
    args.extend(
        [
            "--hostname",
            RDS_HOST,
            "--port",
            "5432",
            "--username",
            "jane_doe",
            "--debug",
        ]
        .map(String::from),
    );
    let run = env.run_program("nsenter", &args);
    assert_token_from(
        &run,
        &CONTAINER_CREDS,
        "container credentials endpoint",
        &[],
    );
    let requests = server.requests();
    if requests.len() != 1 || requests[0].header("host") != Some("169.254.170.2") {
        run.fail(&format!(
            "expected one request to 169.254.170.2, got {requests:#?}"
        ));
    }
}

// ---------------------------------------------------------------------------
// 11. IAM Identity Center: legacy profiles, refresh, expiry

const SSO_START_URL: &str = "https://d-0123456789.awsapps.com/start";

/// The portal's GetRoleCredentials, for `bearer` only; any other token is
/// refused as the real portal refuses it.
fn sso_portal(bearer: &'static str) -> Server {
    Server::start(move |req| {
        if req.method != "GET" || req.path() != "/federation/credentials" {
            return Response::status(404, "{}");
        }
        if req.header("x-amz-sso_bearer_token") != Some(bearer) {
            return Response::status(401, "{\"message\":\"Session token not found or invalid\"}")
                .header("x-amzn-ErrorType", "UnauthorizedException")
                .header("Content-Type", "application/json");
        }
        let c = &SSO_CREDS;
        Response::ok(format!(
            "{{\"roleCredentials\": {{\"accessKeyId\": \"{}\", \"secretAccessKey\": \"{}\", \
             \"sessionToken\": \"{}\", \"expiration\": 4070908800000}}}}",
            c.access_key,
            c.secret_key,
            c.session_token.unwrap()
        ))
        .header("Content-Type", "application/json")
    })
}

fn legacy_sso_env(portal: &Server, expires_at: &str) -> TestEnv {
    let mut env = TestEnv::new();
    env.write(
        ".aws/config",
        &format!(
            "[profile legacy]\nsso_start_url = {SSO_START_URL}\nsso_region = us-east-1\n\
             sso_account_id = 123456789012\nsso_role_name = DbConnect\n"
        ),
    );
    env.write(
        &format!(".aws/sso/cache/{}.json", digest("sha1sum", SSO_START_URL)),
        &format!(
            "{{\"accessToken\": \"{SSO_BEARER}\", \"expiresAt\": \"{expires_at}\", \
             \"region\": \"us-east-1\", \"startUrl\": \"{SSO_START_URL}\"}}"
        ),
    );
    env.env("AWS_ENDPOINT_URL_SSO", portal.url());
    env
}

#[test]
fn signs_with_role_credentials_from_a_legacy_sso_start_url_profile() {
    let portal = sso_portal(SSO_BEARER);
    let env = legacy_sso_env(&portal, FAR_FUTURE);
    let run = run_debug(&env, &["--profile", "legacy"]);
    assert_token_from(&run, &SSO_CREDS, "IAM Identity Center (SSO)", &[SSO_BEARER]);
    assert_eq!(portal.requests().len(), 1);
}

#[test]
fn names_aws_sso_login_when_the_legacy_sso_sign_in_has_expired() {
    let portal = sso_portal("aoaAAAAAGnotTheExpiredToken");
    let env = legacy_sso_env(&portal, PAST);
    let run = env.run_token(&["--profile", "legacy"]);
    run.fails_with(1)
        .stderr_contains("run `aws sso login --profile legacy` and try again")
        .stderr_lacks(SSO_BEARER);
}

#[test]
fn names_aws_sso_login_when_no_sso_sign_in_is_cached() {
    let portal = sso_portal(SSO_BEARER);
    let mut env = legacy_sso_env(&portal, FAR_FUTURE);
    std::fs::remove_dir_all(env.home().join(".aws/sso")).unwrap();
    env.env("AWS_PROFILE", "legacy");
    let run = env.run_token(&[]);
    run.fails_with(1)
        .stderr_contains("run `aws sso login --profile legacy` and try again");
    if !portal.requests().is_empty() {
        run.fail("nothing to send without a sign-in");
    }
}

const SSO_REFRESH_TOKEN: &str = "aorAAAAAGssoRefreshToken-0123456789";
const SSO_CLIENT_SECRET: &str = "ssoClientSecret-0123456789abcdef";
const REFRESHED_BEARER: &str = "aoaAAAAAGrefreshedSsoAccessToken-0123";

/// An `sso-session` profile `dev` whose cached token expires at
/// `expires_at`, with a refresh token if `refreshable`.
fn sso_session_env(portal: &Server, expires_at: &str, refreshable: bool) -> TestEnv {
    let mut env = TestEnv::new();
    env.write(
        ".aws/config",
        &format!(
            "[profile dev]\nsso_session = my-sso\nsso_account_id = 123456789012\n\
             sso_role_name = DbConnect\n\n\
             [sso-session my-sso]\nsso_region = us-east-1\nsso_start_url = {SSO_START_URL}\n\
             sso_registration_scopes = sso:account:access\n"
        ),
    );
    let refresh = if refreshable {
        format!(
            ", \"clientId\": \"ssoClientId-0123\", \"clientSecret\": \"{SSO_CLIENT_SECRET}\", \
             \"registrationExpiresAt\": \"{FAR_FUTURE}\", \"refreshToken\": \"{SSO_REFRESH_TOKEN}\""
        )
    } else {
        String::new()
    };
    env.write(
        &format!(".aws/sso/cache/{}.json", digest("sha1sum", "my-sso")),
        &format!(
            "{{\"accessToken\": \"{SSO_BEARER}\", \"expiresAt\": \"{expires_at}\", \
             \"region\": \"us-east-1\", \"startUrl\": \"{SSO_START_URL}\"{refresh}}}"
        ),
    );
    env.env("AWS_ENDPOINT_URL_SSO", portal.url());
    env
}

/// SSO OIDC's CreateToken, refreshing to [`REFRESHED_BEARER`].
fn sso_oidc() -> Server {
    Server::start(|req| {
        if req.method == "POST" && req.path() == "/token" {
            Response::ok(format!(
                "{{\"accessToken\": \"{REFRESHED_BEARER}\", \"expiresIn\": 28800, \
                 \"refreshToken\": \"aorAAAAAGrotatedRefreshToken\", \"tokenType\": \"Bearer\"}}"
            ))
            .header("Content-Type", "application/json")
        } else {
            Response::status(404, "{}")
        }
    })
}

#[test]
fn refreshes_an_sso_session_token_near_expiry_and_writes_it_back_for_the_aws_cli() {
    let portal = sso_portal(REFRESHED_BEARER);
    let oidc = sso_oidc();
    let mut env = sso_session_env(&portal, &from_now(120), true);
    env.env("AWS_ENDPOINT_URL_SSO_OIDC", oidc.url());
    let run = run_debug(&env, &["--profile", "dev"]);
    assert_token_from(
        &run,
        &SSO_CREDS,
        "IAM Identity Center (SSO)",
        &[
            SSO_BEARER,
            REFRESHED_BEARER,
            SSO_REFRESH_TOKEN,
            SSO_CLIENT_SECRET,
        ],
    );
    let refreshes = oidc.requests();
    if refreshes.len() != 1 {
        run.fail(&format!("expected one CreateToken, got {refreshes:#?}"));
    }
    let body = refreshes[0].body_text().replace(' ', "");
    for expected in [
        "\"grantType\":\"refresh_token\"",
        &format!("\"refreshToken\":\"{SSO_REFRESH_TOKEN}\""),
        &format!("\"clientSecret\":\"{SSO_CLIENT_SECRET}\""),
        "\"clientId\":\"ssoClientId-0123\"",
    ] {
        if !body.contains(expected) {
            run.fail(&format!("expected {expected} in CreateToken's body {body}"));
        }
    }
    // The refreshed token is in the cache, where botocore's own SSO token
    // loader (the AWS CLI's) finds it.
    let check = format!(
        "import botocore.utils, os\n\
         cache = botocore.utils.JSONFileCache(os.path.expanduser('~/.aws/sso/cache'))\n\
         token = botocore.utils.SSOTokenLoader(cache=cache)('{SSO_START_URL}', session_name='my-sso')\n\
         print(token['accessToken'], token['refreshToken'], token['expiresAt'])\n"
    );
    let loaded = env.run_program(support::python::current().python(), ["-c", &check]);
    loaded.success();
    let fields: Vec<String> = loaded
        .stdout()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert_eq!(fields[0], REFRESHED_BEARER, "{fields:?}");
    assert_eq!(fields[1], "aorAAAAAGrotatedRefreshToken", "{fields:?}");
    assert!(
        fields[2] > from_now(7 * 3600),
        "expected about 8 hours left: {fields:?}"
    );
}

#[test]
fn names_aws_sso_login_when_an_sso_session_has_expired_and_cannot_be_refreshed() {
    let portal = sso_portal(SSO_BEARER);
    let env = sso_session_env(&portal, PAST, false);
    let run = env.run_token(&["--profile", "dev"]);
    run.fails_with(1)
        .stderr_contains("run `aws sso login --profile dev` and try again")
        .stderr_lacks(SSO_BEARER);
    if !portal.requests().is_empty() {
        run.fail("an expired sign-in must not be sent to the portal");
    }
}

// ---------------------------------------------------------------------------
// 12. Role chains and their settings

impl Sts {
    /// Every STS call made, in order, with the credentials moto answered.
    #[track_caller]
    fn calls(&self, run: &Run) -> Vec<(Request, StsCreds)> {
        self.tap
            .exchanges()
            .into_iter()
            .map(|(req, resp)| {
                if resp.status != 200 {
                    run.fail(&format!(
                        "moto answered {}: {}",
                        resp.status,
                        resp.body_text()
                    ));
                }
                let body = resp.body_text();
                let creds = StsCreds {
                    access_key: xml_text(&body, "AccessKeyId"),
                    secret_key: xml_text(&body, "SecretAccessKey"),
                    session_token: xml_text(&body, "SessionToken"),
                };
                (req, creds)
            })
            .collect()
    }
}

/// The STS call `req` is an AssumeRole of `role` with exactly these optional
/// parameters.
#[track_caller]
fn assert_assume_role(
    run: &Run,
    req: &Request,
    role: &str,
    session_name: Option<&str>,
    external_id: Option<&str>,
    duration: Option<&str>,
) {
    let form = req.body_text();
    let got = |name| form_param(&form, name);
    if got("Action").as_deref() != Some("AssumeRole") || got("RoleArn").as_deref() != Some(role) {
        run.fail(&format!("expected AssumeRole of {role}, sent {form}"));
    }
    if let Some(name) = session_name {
        if got("RoleSessionName").as_deref() != Some(name) {
            run.fail(&format!("expected RoleSessionName={name}, sent {form}"));
        }
    }
    if got("ExternalId").as_deref() != external_id {
        run.fail(&format!("expected ExternalId {external_id:?}, sent {form}"));
    }
    if got("DurationSeconds").as_deref() != duration {
        run.fail(&format!(
            "expected DurationSeconds {duration:?}, sent {form}"
        ));
    }
}

const ROLE_1: &str = "arn:aws:iam::111111111111:role/hop-one";
const ROLE_2: &str = "arn:aws:iam::222222222222:role/hop-two";
const ROLE_3: &str = "arn:aws:iam::333333333333:role/db-connect";

#[test]
fn assumes_a_chain_of_three_roles_each_with_the_credentials_of_the_one_before() {
    let sts = Sts::start();
    let mut env = TestEnv::new();
    env.write(
        ".aws/credentials",
        &credentials_file(&[("base", &PROFILE_KEYS)]),
    );
    env.write(
        ".aws/config",
        &format!(
            "[profile one]\nrole_arn = {ROLE_1}\nsource_profile = base\n\
             role_session_name = hop-one-session\nexternal_id = partner-one\n\n\
             [profile two]\nrole_arn = {ROLE_2}\nsource_profile = one\nduration_seconds = 1800\n\n\
             [profile db]\nrole_arn = {ROLE_3}\nsource_profile = two\n\
             role_session_name = jane-db\nexternal_id = partner-three\nduration_seconds = 3600\n"
        ),
    );
    env.env("AWS_ENDPOINT_URL_STS", sts.tap.url());
    let run = run_debug(&env, &["--profile", "db"]);
    let calls = sts.calls(&run);
    if calls.len() != 3 {
        run.fail(&format!(
            "expected three AssumeRole calls, got {}",
            calls.len()
        ));
    }
    assert_assume_role(
        &run,
        &calls[0].0,
        ROLE_1,
        Some("hop-one-session"),
        Some("partner-one"),
        None,
    );
    assert_assume_role(&run, &calls[1].0, ROLE_2, None, None, Some("1800"));
    assert_assume_role(
        &run,
        &calls[2].0,
        ROLE_3,
        Some("jane-db"),
        Some("partner-three"),
        Some("3600"),
    );
    // Each hop is signed with the credentials of the one before.
    assert_eq!(
        signing_access_key(&calls[0].0),
        Some(PROFILE_KEYS.access_key)
    );
    assert_eq!(
        signing_access_key(&calls[1].0),
        Some(calls[0].1.access_key.as_str())
    );
    assert_eq!(
        signing_access_key(&calls[2].0),
        Some(calls[1].1.access_key.as_str())
    );
    assert_token_from(
        &run,
        &calls[2].1.creds(),
        "assume-role (STS) <- assume-role (STS) <- assume-role (STS) <- static keys in a profile",
        &[
            PROFILE_KEYS.secret_key,
            &calls[0].1.secret_key,
            &calls[1].1.secret_key,
        ],
    );
}

#[test]
fn names_a_role_session_as_the_aws_cli_does_when_the_profile_names_none() {
    let sts = Sts::start();
    let mut env = TestEnv::new();
    env.with_env_keys();
    env.write(
        ".aws/config",
        &format!("[profile db]\nrole_arn = {ROLE_ARN}\ncredential_source = Environment\n"),
    );
    env.env("AWS_ENDPOINT_URL_STS", sts.tap.url());
    let run = run_debug(&env, &["--profile", "db"]);
    let (req, _) = sts.one_call(&run);
    // botocore: 'botocore-session-%s' % int(time.time())
    let name = form_param(&req.body_text(), "RoleSessionName").unwrap_or_default();
    let digits = name.strip_prefix("botocore-session-").unwrap_or("");
    if digits.len() < 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        run.fail(&format!(
            "expected botocore-session-<unix time>, got {name:?}"
        ));
    }
}

#[test]
fn assumes_the_role_of_a_profile_with_the_container_endpoint_as_its_credential_source() {
    let sts = Sts::start();
    let server = container_server(FAR_FUTURE);
    let mut env = container_env(&server);
    env.write(
        ".aws/config",
        &format!(
            "[profile db]\nrole_arn = {ROLE_ARN}\ncredential_source = EcsContainer\n\
             external_id = partner-ecs\nduration_seconds = 900\nrole_session_name = jane-ecs\n"
        ),
    );
    env.env("AWS_ENDPOINT_URL_STS", sts.tap.url());
    let run = run_debug(&env, &["--profile", "db"]);
    let (req, moto_creds) = sts.one_call(&run);
    assert_assume_role(
        &run,
        &req,
        ROLE_ARN,
        Some("jane-ecs"),
        Some("partner-ecs"),
        Some("900"),
    );
    assert_eq!(signing_access_key(&req), Some(CONTAINER_CREDS.access_key));
    assert_token_from(
        &run,
        &moto_creds.creds(),
        "assume-role (STS) <- container credentials endpoint",
        &[CONTAINER_CREDS.secret_key, CONTAINER_AUTH],
    );
}

#[test]
fn reports_a_credential_source_it_does_not_know() {
    let env = TestEnv::new();
    env.write(
        ".aws/config",
        &format!("[profile db]\nrole_arn = {ROLE_ARN}\ncredential_source = Vault\n"),
    );
    env.run_token(&["--profile", "db"])
        .fails_with(1)
        .stderr_contains(
            "credential_source = Vault; use Environment, Ec2InstanceMetadata or EcsContainer",
        );
}

#[test]
fn reports_a_duration_seconds_that_is_not_a_number() {
    let env = TestEnv::new();
    env.write(
        ".aws/credentials",
        &credentials_file(&[("base", &PROFILE_KEYS)]),
    );
    env.write(
        ".aws/config",
        &format!(
            "[profile db]\nrole_arn = {ROLE_ARN}\nsource_profile = base\nduration_seconds = 1h\n"
        ),
    );
    env.run_token(&["--profile", "db"])
        .fails_with(1)
        .stderr_contains(
            "profile 'db' has duration_seconds = \"1h\"; use a whole number of seconds",
        );
}

// ---------------------------------------------------------------------------
// 13. Instance metadata settings and web identity with a selected profile

#[test]
fn reaches_instance_metadata_at_the_endpoint_of_the_profile_named_by_the_profile_flag() {
    let server = imds_server(FAR_FUTURE);
    let silent = Server::silent();
    let mut env = TestEnv::new();
    env.remove_env("AWS_EC2_METADATA_DISABLED");
    env.write(
        ".aws/config",
        &format!(
            "[default]\nec2_metadata_service_endpoint = {}\n\n\
             [profile box]\nec2_metadata_service_endpoint = {}\nregion = {REGION}\n",
            silent.url(),
            server.url()
        ),
    );
    let run = run_debug(&env, &["--profile", "box"]);
    assert_token_from(
        &run,
        &IMDS_CREDS,
        "EC2 instance metadata (IMDS)",
        &[IMDS_SESSION],
    );
    if silent.connections() != 0 {
        run.fail("the default profile's endpoint must not be used with --profile box");
    }
}

#[test]
fn waits_for_instance_metadata_as_long_as_the_profile_named_by_the_profile_flag_says() {
    let silent = Server::silent();
    let mut env = TestEnv::new();
    env.remove_env("AWS_EC2_METADATA_DISABLED");
    env.write(
        ".aws/config",
        &format!(
            "[default]\nmetadata_service_timeout = 30\nmetadata_service_num_attempts = 3\n\n\
             [profile box]\nec2_metadata_service_endpoint = {}\nmetadata_service_timeout = 1\n\
             metadata_service_num_attempts = 1\n",
            silent.url()
        ),
    );
    let started = Instant::now();
    let run = env.run_token(&["--profile", "box"]);
    let took = started.elapsed();
    run.fails_with(1)
        .stderr_contains("no AWS credentials found");
    if took >= Duration::from_secs(10) {
        run.fail(&format!(
            "took {took:?}; profile box says one attempt of 1 s"
        ));
    }
}

/// Web identity in the environment and a profile `p` with only a region,
/// with STS at `sts`.
fn web_identity_env(sts: &Sts, profile_extra: &str) -> TestEnv {
    let mut env = TestEnv::new();
    let token_file = env.write("eks/token", WEB_IDENTITY_TOKEN);
    env.write(
        ".aws/config",
        &format!("[profile p]\nregion = {REGION}\n{profile_extra}"),
    );
    env.env("AWS_WEB_IDENTITY_TOKEN_FILE", &token_file)
        .env("AWS_ROLE_ARN", ROLE_ARN)
        .env("AWS_ROLE_SESSION_NAME", "jane-pod")
        .env("AWS_ENDPOINT_URL_STS", sts.tap.url());
    env
}

#[test]
fn uses_web_identity_from_the_environment_for_a_profile_from_aws_profile_with_no_credentials() {
    // botocore: the web identity provider reads AWS_WEB_IDENTITY_TOKEN_FILE
    // unless the profile was given explicitly (--profile).
    let sts = Sts::start();
    let mut env = web_identity_env(&sts, "");
    env.env("AWS_PROFILE", "p");
    let run = run_debug(&env, &[]);
    let (req, moto_creds) = sts.one_call(&run);
    assert_web_identity_call(&run, &req, "jane-pod");
    assert_token_from(
        &run,
        &moto_creds.creds(),
        "web identity token from the environment (AWS_WEB_IDENTITY_TOKEN_FILE)",
        &[WEB_IDENTITY_TOKEN],
    );
}

#[test]
fn prefers_web_identity_from_the_environment_to_keys_in_the_profile_from_aws_profile() {
    // botocore asks the web identity provider before the profile's keys.
    let sts = Sts::start();
    let mut env = web_identity_env(
        &sts,
        &format!(
            "aws_access_key_id = {}\naws_secret_access_key = {}\n",
            PROFILE_KEYS.access_key, PROFILE_KEYS.secret_key
        ),
    );
    env.env("AWS_PROFILE", "p");
    let run = run_debug(&env, &[]);
    let (req, moto_creds) = sts.one_call(&run);
    assert_web_identity_call(&run, &req, "jane-pod");
    assert_token_from(
        &run,
        &moto_creds.creds(),
        "web identity token from the environment (AWS_WEB_IDENTITY_TOKEN_FILE)",
        &[WEB_IDENTITY_TOKEN, PROFILE_KEYS.secret_key],
    );
}

#[test]
fn ignores_web_identity_from_the_environment_with_the_profile_flag_as_the_aws_cli_does() {
    // botocore disables the web identity environment variables when the
    // profile is given explicitly; a profile with no credentials then has
    // none, as `aws --profile p` finds.
    let sts = Sts::start();
    let env = web_identity_env(&sts, "");
    let run = env.run_token(&["--profile", "p"]);
    run.fails_with(1)
        .stderr_contains("no AWS credentials found");
    if !sts.tap.requests().is_empty() {
        run.fail("no STS call expected");
    }
}

#[test]
fn names_aws_login_when_the_login_session_is_not_cached() {
    let env = TestEnv::new();
    let cache = write_login_session(&env, ".aws/login/cache", FAR_FUTURE);
    std::fs::remove_file(cache).unwrap();
    env.run_token(&["--profile", "console"])
        .fails_with(1)
        .stderr_contains("run `aws login --profile console` and try again");
}

#[test]
fn names_aws_login_when_the_sign_in_service_refuses_to_refresh_the_session() {
    let server = Server::start(|_| {
        Response::status(
            403,
            "{\"error\": \"TOKEN_EXPIRED\", \"message\": \"session expired\"}",
        )
        .header("x-amzn-ErrorType", "AccessDeniedException")
        .header("Content-Type", "application/json")
    });
    let mut env = TestEnv::new();
    write_login_session(&env, ".aws/login/cache", PAST);
    env.env("AWS_ENDPOINT_URL_SIGNIN", server.url());
    let run = env.run_token(&["--profile", "console"]);
    run.fails_with(1)
        .stderr_contains("run `aws login --profile console` and try again")
        .stderr_lacks(LOGIN_REFRESH_TOKEN)
        .stderr_lacks(LOGIN_CREDS.secret_key);
    if server.requests().len() != 1 {
        run.fail("expected one refresh attempt");
    }
}
