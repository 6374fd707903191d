//! The library against tokens botocore 1.43 (the AWS CLI) made for the same
//! credentials, inputs and signing time. Each expected token was printed by
//! `tests/reference/botocore_token.py`; the signatures are also the ones
//! published with the project's specification.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use rds_auth_token::AuthTokenConfig;

const ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// 2026-11-22T01:21:07Z
fn signing_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_310_467)
}

#[track_caller]
fn token(host: &str, port: u16, user: &str, region: &str, session_token: Option<&str>) -> String {
    let config = AuthTokenConfig::builder()
        .hostname(host)
        .port(port)
        .username(user)
        .region(region)
        .build()
        .unwrap();
    let credentials = Credentials::new(
        ACCESS_KEY,
        SECRET_KEY,
        session_token.map(str::to_owned),
        None,
        "test",
    );
    config
        .generate(&credentials, signing_time())
        .unwrap()
        .into_string()
}

#[test]
fn matches_botocore_for_a_plain_user() {
    assert_eq!(
        token("mydb.123456789012.us-east-1.rds.amazonaws.com", 5432, "jane_doe", "us-east-1", None),
        "mydb.123456789012.us-east-1.rds.amazonaws.com:5432/?Action=connect&DBUser=jane_doe&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261122%2Fus-east-1%2Frds-db%2Faws4_request&X-Amz-Date=20261122T012107Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=e98f76412b5623b4af930bc680745ac65f9e0da0b1113441bf74feb09c5397d6"
    );
}

#[test]
fn matches_botocore_for_a_user_with_reserved_characters() {
    assert_eq!(
        token("mydb.123456789012.us-east-1.rds.amazonaws.com", 5432, "jane doe+x@y/z", "us-east-1", None),
        "mydb.123456789012.us-east-1.rds.amazonaws.com:5432/?Action=connect&DBUser=jane%20doe%2Bx%40y%2Fz&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261122%2Fus-east-1%2Frds-db%2Faws4_request&X-Amz-Date=20261122T012107Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=d3fe867076c141f44368e8a220803132cb27f32440f8e052d3187f7ea68f685e"
    );
}

#[test]
fn matches_botocore_with_a_session_token_and_an_upper_case_host() {
    assert_eq!(
        token("MyCluster.cluster-abc.eu-west-1.rds.amazonaws.com", 3306, "db_userx", "eu-west-1", Some("FQoGZXIvYXdzE+/=EXAMPLE")),
        "MyCluster.cluster-abc.eu-west-1.rds.amazonaws.com:3306/?Action=connect&DBUser=db_userx&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261122%2Feu-west-1%2Frds-db%2Faws4_request&X-Amz-Date=20261122T012107Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Security-Token=FQoGZXIvYXdzE%2B%2F%3DEXAMPLE&X-Amz-Signature=aba6bd3ae01449684417607554edffac58f5b4120028276c9f1ee352e56d761f"
    );
}

#[test]
fn matches_botocore_on_port_443_which_is_left_out_of_the_signed_host() {
    assert_eq!(
        token("proxy.example.com", 443, "jane_doe", "us-east-1", None),
        "proxy.example.com:443/?Action=connect&DBUser=jane_doe&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261122%2Fus-east-1%2Frds-db%2Faws4_request&X-Amz-Date=20261122T012107Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=979b861d7b5eea797f330f31b4a12ad77762a0b98f3895dc01c8644a32a9f53e"
    );
}

#[test]
fn writes_no_empty_security_token_without_a_session_token() {
    let t = token("h.example.com", 5432, "u", "us-east-1", None);
    assert!(!t.contains("X-Amz-Security-Token"), "{t}");
}

#[test]
fn debug_of_a_token_hides_the_signature_and_session_token() {
    let config = AuthTokenConfig::builder()
        .hostname("h.example.com")
        .port(5432)
        .username("u")
        .region("us-east-1")
        .build()
        .unwrap();
    let creds = Credentials::new(
        ACCESS_KEY,
        SECRET_KEY,
        Some("SESSION+TOKEN".into()),
        None,
        "test",
    );
    let token = config.generate(&creds, signing_time()).unwrap();
    let debug = format!("{token:?} {creds:?} {config:?}");
    assert!(!debug.contains("Signature"), "{debug}");
    assert!(!debug.contains("SESSION"), "{debug}");
    assert!(!debug.contains(SECRET_KEY), "{debug}");
}
