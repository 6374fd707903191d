//! Credentials over HTTPS as a corporate network needs them: a real TLS
//! server on 127.0.0.1 (an IAM Identity Center portal stand-in) whose
//! certificate comes from a test CA, trusted through `AWS_CA_BUNDLE`, the
//! profile's `ca_bundle` or `--ca-bundle`; a real CONNECT proxy on 127.0.0.1
//! named by `HTTPS_PROXY` and bypassed with `NO_PROXY`; the command line's
//! timeouts.

use crate::support;

use std::time::{Duration, Instant};

use support::http::{Response, Server};
use support::proxy::Proxy;
use support::tls::{TestCa, TlsServer};
use support::{Run, TestEnv};

const SSO_ACCESS_KEY: &str = "ASIASSOOVERTLS000001";
const SSO_SECRET: &str = "ssoOverTlsSecret/0123456789abcdefghijklm";
const SSO_SESSION_TOKEN: &str = "ssoOverTlsSessionToken/+=0123456789";
const SSO_BEARER: &str = "aoaAAAAAGssoBearerOverTls-0123456789";

/// The IAM Identity Center portal's GetRoleCredentials.
fn portal(req: &support::http::Request) -> Response {
    if req.method == "GET" && req.path() == "/federation/credentials" {
        Response::ok(format!(
            "{{\"roleCredentials\": {{\"accessKeyId\": \"{SSO_ACCESS_KEY}\", \
             \"secretAccessKey\": \"{SSO_SECRET}\", \"sessionToken\": \"{SSO_SESSION_TOKEN}\", \
             \"expiration\": 4070908800000}}}}"
        ))
        .header("Content-Type", "application/json")
    } else {
        Response::status(404, "{}")
    }
}

/// A legacy SSO profile `sso` whose portal is `endpoint`, with a cached
/// sign-in; `extra` goes into the profile.
fn sso_env(endpoint: &str, extra: &str) -> TestEnv {
    let mut env = TestEnv::new();
    env.write(
        ".aws/config",
        &format!(
            "[profile sso]\nsso_start_url = https://d-0123456789.awsapps.com/start\n\
             sso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = DbConnect\n\
             {extra}"
        ),
    );
    env.write(
        &sso_cache_file(),
        &format!(
            "{{\"accessToken\": \"{SSO_BEARER}\", \"expiresAt\": \"2099-01-01T00:00:00Z\", \
             \"region\": \"us-east-1\", \"startUrl\": \"https://d-0123456789.awsapps.com/start\"}}"
        ),
    );
    env.env("AWS_ENDPOINT_URL_SSO", endpoint);
    env
}

/// The cache file name the AWS CLI uses for the start URL: its SHA-1, from
/// `sha1sum` rather than from our own code.
fn sso_cache_file() -> String {
    let output = std::process::Command::new("sh")
        .args([
            "-c",
            "printf %s https://d-0123456789.awsapps.com/start | sha1sum",
        ])
        .output()
        .expect("sha1sum");
    let hash = String::from_utf8(output.stdout).unwrap();
    let hash = hash.split_whitespace().next().unwrap().to_owned();
    format!(".aws/sso/cache/{hash}.json")
}

fn run(env: &TestEnv, extra: &[&str]) -> Run {
    let mut args = vec!["--profile", "sso", "--debug"];
    args.extend_from_slice(extra);
    env.run_token(&args)
}

/// The run made a token with the portal's credentials, after exactly one
/// request to `server`.
#[track_caller]
fn assert_token_from_portal(run: &Run, server: &TlsServer) {
    let token = run.token();
    if token.access_key() != SSO_ACCESS_KEY {
        run.fail("expected the portal's access key in the token");
    }
    run.stderr_lacks(SSO_SECRET).stderr_lacks(SSO_BEARER);
    let requests = server.requests();
    if requests.len() != 1 || requests[0].header("x-amz-sso_bearer_token") != Some(SSO_BEARER) {
        run.fail(&format!(
            "expected one request with the bearer token, got {requests:#?}"
        ));
    }
}

#[test]
fn refuses_a_portal_whose_certificate_comes_from_an_unknown_ca_and_says_how_to_trust_it() {
    let ca = TestCa::new();
    let server = ca.serve(portal);
    let env = sso_env(&server.url(), "");
    let run = env.run_token(&["--profile", "sso"]);
    run.fails_with(1)
        .stderr_contains("UnknownIssuer")
        .stderr_contains("AWS_CA_BUNDLE=/path/to/ca.pem")
        .stderr_contains("--ca-bundle")
        .stderr_lacks(SSO_BEARER);
    if server.connections() == 0 {
        run.fail("expected the client to have reached the TLS server");
    }
    if !server.requests().is_empty() {
        run.fail("no request may be sent to a server that is not trusted");
    }
}

#[test]
fn trusts_the_ca_named_by_aws_ca_bundle() {
    let ca = TestCa::new();
    let server = ca.serve(portal);
    let mut env = sso_env(&server.url(), "");
    env.env("AWS_CA_BUNDLE", ca.ca_pem());
    assert_token_from_portal(&run(&env, &[]), &server);
}

#[test]
fn trusts_the_ca_named_by_the_profile_ca_bundle() {
    let ca = TestCa::new();
    let server = ca.serve(portal);
    let env = sso_env(
        &server.url(),
        &format!("ca_bundle = {}\n", ca.ca_pem().display()),
    );
    assert_token_from_portal(&run(&env, &[]), &server);
}

#[test]
fn trusts_the_ca_named_by_the_ca_bundle_flag_over_aws_ca_bundle_and_the_profile() {
    let ca = TestCa::new();
    let server = ca.serve(portal);
    let mut env = sso_env(&server.url(), "ca_bundle = /nonexistent/profile-ca.pem\n");
    env.env("AWS_CA_BUNDLE", "/nonexistent/env-ca.pem");
    let ca_pem = ca.ca_pem();
    let run = run(&env, &["--ca-bundle", ca_pem.to_str().unwrap()]);
    assert_token_from_portal(&run, &server);
}

#[test]
fn keeps_trusting_the_system_roots_beside_the_ca_bundle() {
    // A bundle of one CA that did not sign the server: the server stays
    // untrusted (the bundle adds, it does not replace), and the error is
    // the certificate's, not the bundle's.
    let ca = TestCa::new();
    let other = TestCa::new();
    let server = ca.serve(portal);
    let mut env = sso_env(&server.url(), "");
    env.env("AWS_CA_BUNDLE", other.ca_pem());
    env.run_token(&["--profile", "sso"])
        .fails_with(1)
        .stderr_contains("UnknownIssuer");
}

#[test]
fn reports_a_missing_ca_bundle_flag_file_naming_the_flag() {
    let ca = TestCa::new();
    let server = ca.serve(portal);
    let env = sso_env(&server.url(), "");
    let run = env.run_token(&["--profile", "sso", "--ca-bundle", "/nonexistent/ca.pem"]);
    run.fails_with(1)
        .stderr_contains("cannot read the CA bundle /nonexistent/ca.pem (from --ca-bundle)");
    if server.connections() != 0 {
        run.fail("nothing may be sent without the CA bundle");
    }
}

#[test]
fn reports_a_ca_bundle_that_holds_no_certificate_naming_aws_ca_bundle() {
    let ca = TestCa::new();
    let server = ca.serve(portal);
    let mut env = sso_env(&server.url(), "");
    let not_pem = env.write("ca/not-a-bundle.txt", "this is not a certificate\n");
    env.env("AWS_CA_BUNDLE", &not_pem);
    env.run_token(&["--profile", "sso"])
        .fails_with(1)
        .stderr_contains(&format!(
            "the CA bundle {} (from AWS_CA_BUNDLE) holds no PEM certificate",
            not_pem.display()
        ));
}

#[test]
fn reports_a_ca_bundle_with_a_broken_certificate_naming_the_profile() {
    let ca = TestCa::new();
    let server = ca.serve(portal);
    let env = sso_env(&server.url(), "ca_bundle = ~/ca/broken.pem\n");
    env.write(
        "ca/broken.pem",
        "-----BEGIN CERTIFICATE-----\nTm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
    );
    env.run_token(&["--profile", "sso"])
        .fails_with(1)
        .stderr_contains("(from ca_bundle in profile 'sso') is not usable");
}

#[test]
fn sends_credential_requests_through_the_proxy_named_by_https_proxy() {
    let ca = TestCa::new();
    let server = ca.serve(portal);
    let proxy = Proxy::start();
    let mut env = sso_env(&server.url(), "");
    env.env("AWS_CA_BUNDLE", ca.ca_pem())
        .env("HTTPS_PROXY", proxy.url());
    let run = run(&env, &[]);
    assert_token_from_portal(&run, &server);
    if proxy.connect_targets() != [server.authority()] {
        run.fail(&format!(
            "expected one CONNECT to {}, the proxy saw {:?}",
            server.authority(),
            proxy.requests()
        ));
    }
}

#[test]
fn sends_credential_requests_through_the_proxy_named_by_lower_case_https_proxy() {
    let ca = TestCa::new();
    let server = ca.serve(portal);
    let proxy = Proxy::start();
    let mut env = sso_env(&server.url(), "");
    env.env("AWS_CA_BUNDLE", ca.ca_pem())
        .env("https_proxy", proxy.url());
    let run = run(&env, &[]);
    assert_token_from_portal(&run, &server);
    if proxy.connect_targets() != [server.authority()] {
        run.fail(&format!("the proxy saw {:?}", proxy.requests()));
    }
}

#[test]
fn goes_direct_to_hosts_named_by_no_proxy() {
    let ca = TestCa::new();
    let server = ca.serve(portal);
    let proxy = Proxy::start();
    let mut env = sso_env(&server.url(), "");
    env.env("AWS_CA_BUNDLE", ca.ca_pem())
        .env("HTTPS_PROXY", proxy.url())
        .env("NO_PROXY", "example.com,127.0.0.1");
    let run = run(&env, &[]);
    assert_token_from_portal(&run, &server);
    if !proxy.requests().is_empty() {
        run.fail(&format!("the proxy saw {:?}", proxy.requests()));
    }
}

#[test]
fn gives_up_on_a_portal_that_never_answers_after_the_read_timeout_flag() {
    let silent = Server::silent();
    let env = sso_env(&silent.url(), "");
    let started = Instant::now();
    let run = env.run_token(&["--profile", "sso", "--cli-read-timeout", "1"]);
    let took = started.elapsed();
    run.fails_with(1)
        .stderr_contains("could not load AWS credentials");
    if silent.connections() == 0 {
        run.fail("expected a connection to the portal");
    }
    if took >= Duration::from_secs(15) {
        run.fail(&format!(
            "took {took:?}; expected the 1 s read timeout to end it"
        ));
    }
}

/// A plain-HTTP portal stand-in (as behind `AWS_ENDPOINT_URL_SSO=http://...`).
fn plain_portal() -> Server {
    Server::start(portal)
}

#[test]
fn sends_plain_http_credential_requests_through_the_proxy_named_by_http_proxy() {
    let server = plain_portal();
    let proxy = Proxy::start();
    let mut env = sso_env(&server.url(), "");
    env.env("HTTP_PROXY", proxy.url());
    let run = run(&env, &[]);
    run.token();
    let wanted = format!("GET {}/federation/credentials?", server.url());
    let seen = proxy.requests();
    if seen.len() != 1 || !seen[0].starts_with(&wanted) {
        run.fail(&format!(
            "expected the proxy to see {wanted}..., it saw {seen:?}"
        ));
    }
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn goes_direct_for_plain_http_to_hosts_named_by_lower_case_no_proxy() {
    let server = plain_portal();
    let proxy = Proxy::start();
    let mut env = sso_env(&server.url(), "");
    env.env("http_proxy", proxy.url())
        .env("no_proxy", "127.0.0.1");
    let run = run(&env, &[]);
    run.token();
    if !proxy.requests().is_empty() {
        run.fail(&format!("the proxy saw {:?}", proxy.requests()));
    }
}

#[test]
fn reaches_the_container_credentials_endpoint_directly_whatever_the_proxy_settings() {
    // botocore's container fetcher uses no proxy: the endpoint is on the
    // task's or pod's own link-local network.
    let container = Server::start(|req| {
        if req.path() == "/v1/credentials" {
            Response::ok(format!(
                "{{\"AccessKeyId\": \"{SSO_ACCESS_KEY}\", \"SecretAccessKey\": \"{SSO_SECRET}\", \
                 \"Token\": \"{SSO_SESSION_TOKEN}\", \"Expiration\": \"2099-01-01T00:00:00Z\"}}"
            ))
        } else {
            Response::status(404, "")
        }
    });
    let proxy = Proxy::start();
    let mut env = TestEnv::new();
    env.env(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        format!("{}/v1/credentials", container.url()),
    )
    .env("HTTP_PROXY", proxy.url())
    .env("HTTPS_PROXY", proxy.url());
    let run = env.run_token(&[]);
    if run.token().access_key() != SSO_ACCESS_KEY {
        run.fail("expected the container's credentials");
    }
    if !proxy.requests().is_empty() {
        run.fail(&format!("the proxy saw {:?}", proxy.requests()));
    }
}

#[cfg(target_os = "linux")]
#[test]
fn gives_up_connecting_after_the_connect_timeout_flag() {
    // Without the flag the SDK waits 3.1 s a try, three tries.
    let backlogged = support::http::Backlogged::start();
    let env = sso_env(&backlogged.url(), "");
    let started = Instant::now();
    let run = env.run_token(&["--profile", "sso", "--cli-connect-timeout", "1"]);
    let took = started.elapsed();
    run.fails_with(1).stderr_contains("timeout");
    if took >= Duration::from_secs(8) {
        run.fail(&format!(
            "took {took:?}; expected the 1 s connect timeout to end it"
        ));
    }
}
