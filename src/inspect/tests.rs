//! Inspection as a whole: generated tokens read back, hostile input, the report.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use proptest::prelude::*;

use super::*;
use crate::token::{DsqlTokenConfig, ElastiCacheTokenConfig, MemoryDbTokenConfig};
use crate::{AuthTokenConfig, TokenSigner};

/// 2026-11-22T01:21:07Z
const SIGNED_AT: u64 = 1_795_310_467;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// True when `text` has nothing a terminal would act on.
fn safe_for_a_terminal(text: &str) -> bool {
    !text.chars().any(|c| c != '\n' && text::needs_escape(c))
}

fn token(user: &str, session: Option<&str>) -> String {
    let config = AuthTokenConfig::builder()
        .hostname("mydb.123456789012.us-east-1.rds.amazonaws.com")
        .port(5432)
        .username(user)
        .region("us-east-1")
        .build()
        .unwrap();
    let creds = Credentials::new(
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        session.map(str::to_owned),
        None,
        "test",
    );
    config
        .generate(&creds, at(SIGNED_AT))
        .unwrap()
        .into_string()
}

fn rds_host() -> impl Strategy<Value = (String, &'static str)> {
    (
        "[A-Za-z][A-Za-z0-9-]{0,30}",
        prop::sample::select(vec!["", "cluster-", "cluster-ro-", "proxy-"]),
        "[a-z0-9]{6,12}",
        prop::sample::select(vec![
            "us-east-1",
            "eu-west-1",
            "cn-north-1",
            "us-gov-west-1",
            "ap-southeast-2",
        ]),
    )
        .prop_map(|(name, kind, id, region)| {
            let suffix = if region.starts_with("cn-") {
                "rds.amazonaws.com.cn"
            } else {
                "rds.amazonaws.com"
            };
            (format!("{name}.{kind}{id}.{region}.{suffix}"), region)
        })
}

/// What a token of another kind than RDS is made from, and what inspect
/// must read back from it.
#[derive(Debug, Clone)]
struct OtherKind {
    kind: TokenKind,
    host: String,
    user: Option<String>,
    serverless: bool,
    action: &'static str,
    region: &'static str,
    expires: u64,
}

fn other_kind() -> impl Strategy<Value = OtherKind> {
    let region = prop::sample::select(vec![
        "us-east-1",
        "eu-west-1",
        "cn-north-1",
        "us-gov-west-1",
        "ap-southeast-2",
    ]);
    let name = "[A-Za-z0-9-]{1,40}";
    // A user id begins with a letter.
    let user = "[A-Za-z][A-Za-z0-9-]{0,39}";
    prop_oneof![
        (
            "[a-z0-9]{20,26}",
            region.clone(),
            any::<bool>(),
            1u64..=604_800
        )
            .prop_map(|(id, region, admin, expires)| OtherKind {
                kind: TokenKind::Dsql,
                host: format!("{id}.dsql.{region}.on.aws"),
                user: None,
                serverless: false,
                action: if admin { "DbConnectAdmin" } else { "DbConnect" },
                region,
                expires,
            }),
        (name, user, region.clone(), any::<bool>(), 1u64..=900).prop_map(
            |(cache, user, region, serverless, expires)| OtherKind {
                kind: TokenKind::ElastiCache,
                host: cache.to_ascii_lowercase(),
                user: Some(user),
                serverless,
                action: "connect",
                region,
                expires,
            }
        ),
        (name, user, region).prop_map(|(cluster, user, region)| OtherKind {
            kind: TokenKind::MemoryDb,
            host: cluster.to_ascii_lowercase(),
            user: Some(user),
            serverless: false,
            action: "connect",
            region,
            expires: 900,
        }),
    ]
}

/// The token for `values`, from the library's own config for its kind.
fn make(values: &OtherKind, creds: &Credentials, secs: u64) -> String {
    let mut signer = TokenSigner::new();
    let user = values.user.as_deref().unwrap_or_default();
    let token = match values.kind {
        TokenKind::Rds => unreachable!("RDS has its own test"),
        TokenKind::Dsql => {
            let config = DsqlTokenConfig::builder()
                .hostname(&values.host)
                .admin(values.action == "DbConnectAdmin")
                .expires_in_secs(values.expires)
                .build()
                .unwrap();
            assert_eq!(config.region(), values.region);
            signer.sign(&config, creds, at(secs))
        }
        TokenKind::ElastiCache => {
            let config = ElastiCacheTokenConfig::builder()
                .cache_name(&values.host)
                .user_id(user)
                .region(values.region)
                .serverless(values.serverless)
                .expires_in_secs(values.expires)
                .build()
                .unwrap();
            signer.sign(&config, creds, at(secs))
        }
        TokenKind::MemoryDb => {
            let config = MemoryDbTokenConfig::builder()
                .cluster_name(&values.host)
                .user_id(user)
                .region(values.region)
                .build()
                .unwrap();
            signer.sign(&config, creds, at(secs))
        }
    };
    token.unwrap().into_string()
}

proptest! {
    #[test]
    fn every_generated_token_of_another_kind_reads_back_checks_and_verifies(
        values in other_kind(),
        secs in 0u64..(parse::MAX_SECS as u64 - 604_800),
        temporary in any::<bool>(),
        secret in "[A-Za-z0-9/+]{40}",
        session in "[A-Za-z0-9/+=]{1,400}",
    ) {
        let key = if temporary { "ASIAIOSFODNN7EXAMPLE" } else { "AKIAIOSFODNN7EXAMPLE" };
        let session = temporary.then_some(session);
        let creds = Credentials::new(key, &secret, session.clone(), None, "test");
        let made = make(&values, &creds, secs);
        let OtherKind { kind, host, user, serverless, action, region, expires } = values;
        let token = parse(made.as_bytes()).unwrap();

        prop_assert_eq!(token.kind(), kind);
        prop_assert_eq!(token.host(), Some(host.as_str()));
        prop_assert_eq!(token.port(), None);
        prop_assert_eq!(token.username(), None);
        prop_assert_eq!(token.user_id(), user.as_deref());
        prop_assert_eq!(token.serverless(), serverless);
        prop_assert_eq!(token.action(), Some(action));
        prop_assert_eq!(token.service(), Some(kind.service()));
        prop_assert_eq!(token.region(), Some(region));
        prop_assert_eq!(token.session_token(), session.as_deref());
        prop_assert_eq!(token.expires_in(), Some(expires));

        let expected = Expected {
            hostname: Some(host.to_ascii_uppercase()),
            port: Some(1),
            username: user.clone(),
            region: Some(region.to_owned()),
        };
        let mut inspection = Inspection::new(token, &expected, at(secs));
        prop_assert_eq!(inspection.findings(), &[]);
        let verification = verify(inspection.token(), &creds, "test");
        prop_assert_eq!(&verification.signature, &SignatureCheck::Matches);
        inspection.add_verification(verification, key, "test");
        prop_assert!(inspection.is_ok());
        let text = inspection.to_text();
        let kind_line = format!("kind:          {}\n", kind.name());
        prop_assert!(text.starts_with(&kind_line), "{}", text);
        let kind_key = format!(",\"kind\":\"{}\",", kind.as_str());
        prop_assert!(inspection.to_json().contains(&kind_key));
        prop_assert!(safe_for_a_terminal(&text));
        prop_assert!(safe_for_a_terminal(&inspection.to_json()));
    }

    #[test]
    fn reads_edited_tokens_of_every_kind_without_panicking_or_showing_secrets(
        values in other_kind(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let creds = Credentials::new("AKIAIOSFODNN7EXAMPLE", "x", Some("SESSIONxSECRET".into()), None, "t");
        let mut input = make(&values, &creds, SIGNED_AT).into_bytes();
        for (index, byte) in edits {
            let i = index.index(input.len());
            input[i] = byte;
        }
        input.truncate(cut.index(input.len() + 1));
        if let Ok(token) = parse(&input) {
            let mut inspection = Inspection::new(token, &Expected::default(), at(SIGNED_AT));
            let verification = verify(inspection.token(), &creds, "test");
            inspection.add_verification(verification, "AKIAIOSFODNN7EXAMPLE", "test");
            let text = inspection.to_text();
            let json = inspection.to_json();
            prop_assert!(safe_for_a_terminal(&text) && safe_for_a_terminal(&json));
            prop_assert!(!text.contains("SECRET") && !json.contains("SECRET"));
        }
    }

    #[test]
    fn every_generated_token_reads_back_with_the_fields_it_was_made_from(
        (host, region) in rds_host(),
        port in 1u16..,
        user in "[^\\p{Cc}]{1,40}",
        expires in 1u64..=900,
        secs in 0u64..(parse::MAX_SECS as u64 - 900),
        temporary in any::<bool>(),
        key in "[A-Z0-9]{16}",
        secret in "[A-Za-z0-9/+]{40}",
        session in "[A-Za-z0-9/+=]{1,400}",
    ) {
        let key = format!("{}{key}", if temporary { "ASIA" } else { "AKIA" });
        let session = temporary.then_some(session);
        let config = AuthTokenConfig::builder()
            .hostname(&host)
            .port(port)
            .username(&user)
            .region(region)
            .expires_in_secs(expires)
            .build()
            .unwrap();
        let creds = Credentials::new(&key, &secret, session.clone(), None, "test");
        let made = config.generate(&creds, at(secs)).unwrap();
        let token = parse(made.as_str().as_bytes()).unwrap();

        prop_assert_eq!(token.host(), Some(host.as_str()));
        prop_assert_eq!(token.port(), Some(port));
        prop_assert_eq!(token.username(), Some(user.as_str()));
        prop_assert_eq!(token.action(), Some("connect"));
        prop_assert_eq!(token.service(), Some("rds-db"));
        prop_assert_eq!(token.region(), Some(region));
        prop_assert_eq!(token.access_key_id(), Some(key.as_str()));
        prop_assert_eq!(token.session_token(), session.as_deref());
        prop_assert_eq!(token.signed_at(), Some(at(secs)));
        prop_assert_eq!(token.expires_in(), Some(expires));
        prop_assert_eq!(token.expires_at(), Some(at(secs + expires)));

        let expected = Expected {
            hostname: Some(host.clone()),
            port: Some(port),
            username: Some(user.clone()),
            region: Some(region.to_owned()),
        };
        let mut inspection = Inspection::new(token, &expected, at(secs));
        prop_assert_eq!(inspection.findings(), &[]);
        let verification = verify(inspection.token(), &creds, "test");
        prop_assert_eq!(&verification.signature, &SignatureCheck::Matches);
        inspection.add_verification(verification, &key, "test");
        prop_assert!(inspection.is_ok());
        prop_assert!(safe_for_a_terminal(&inspection.to_text()));
        prop_assert!(safe_for_a_terminal(&inspection.to_json()));
    }

    #[test]
    fn reads_any_bytes_without_panicking_and_shows_nothing_raw(
        input in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        if let Ok(token) = parse(&input) {
            let inspection = Inspection::new(token, &Expected::default(), at(SIGNED_AT));
            prop_assert!(safe_for_a_terminal(&inspection.to_text()));
            prop_assert!(safe_for_a_terminal(&inspection.to_json()));
        }
    }

    #[test]
    fn reads_edited_tokens_without_panicking_and_never_shows_the_session_token(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut input = token("jane doe", Some("SESSIONxSECRET")).into_bytes();
        for (index, byte) in edits {
            let i = index.index(input.len());
            input[i] = byte;
        }
        input.truncate(cut.index(input.len() + 1));
        if let Ok(token) = parse(&input) {
            let creds = Credentials::new("AKIAIOSFODNN7EXAMPLE", "x", None, None, "t");
            let mut inspection = Inspection::new(token, &Expected::default(), at(SIGNED_AT));
            let verification = verify(inspection.token(), &creds, "test");
            inspection.add_verification(verification, "AKIAIOSFODNN7EXAMPLE", "test");
            let text = inspection.to_text();
            let json = inspection.to_json();
            prop_assert!(safe_for_a_terminal(&text) && safe_for_a_terminal(&json));
            prop_assert!(!text.contains("SECRET") && !json.contains("SECRET"));
        }
    }
}

#[test]
fn writes_one_field_a_line_and_each_problem_with_its_fix() {
    let input = token("jane_doe", Some("SESSIONTOKEN"));
    let inspection = Inspection::new(
        parse(input.as_bytes()).unwrap(),
        &Expected::default(),
        at(SIGNED_AT + 60),
    );
    assert_eq!(
        inspection.to_text(),
        "\
kind:          RDS
host:          mydb.123456789012.us-east-1.rds.amazonaws.com
port:          5432
user:          jane_doe
action:        connect
service:       rds-db
region:        us-east-1
access key id: AKIAIOSFODNN7EXAMPLE
session token: present (not shown)
signed at:     2026-11-22T01:21:07Z
expires at:    2026-11-22T01:36:07Z (valid for 900 s)
time left:     14 min
problems:      none
"
    );
    let expired = Inspection::new(
        parse(input.as_bytes()).unwrap(),
        &Expected::default(),
        at(SIGNED_AT + 900 + 190),
    );
    let text = expired.to_text();
    assert!(text.contains("\nexpired:       3 min 10 s ago\n"), "{text}");
    assert!(
        text.ends_with("problems:      1\nproblem: expired: the token expired 3 min 10 s ago, at 2026-11-22T01:36:07Z; a token works for 15 minutes at most: make a new one just before connecting\n"),
        "{text}"
    );
    assert!(!text.contains("SESSIONTOKEN"));
}

#[test]
fn writes_the_same_as_one_json_object() {
    let input = token("jane\u{202e}doe", None);
    let mut inspection = Inspection::new(
        parse(input.as_bytes()).unwrap(),
        &Expected::default(),
        at(SIGNED_AT + 1000),
    );
    inspection.credentials_unavailable("no AWS credentials found");
    assert_eq!(
        inspection.to_json(),
        concat!(
            r#"{"ok":false,"kind":"rds","host":"mydb.123456789012.us-east-1.rds.amazonaws.com","port":5432,"#,
            r#""username":"jane\u202edoe","role":null,"user_id":null,"serverless":null,"#,
            r#""action":"connect","service":"rds-db","region":"us-east-1","#,
            r#""access_key_id":"AKIAIOSFODNN7EXAMPLE","session_token_present":false,"#,
            r#""signed_at":"2026-11-22T01:21:07Z","expires_in":900,"expires_at":"2026-11-22T01:36:07Z","#,
            r#""seconds_left":-100,"signature":"not_checked","problems":["#,
            r#"{"code":"expired","message":"the token expired 1 min 40 s ago, at 2026-11-22T01:36:07Z; a token works for 15 minutes at most: make a new one just before connecting"},"#,
            r#"{"code":"credentials_unavailable","message":"could not check the signature: no AWS credentials found"}]}"#,
            "\n"
        )
    );
}

#[test]
fn shows_missing_fields_as_missing_and_a_user_with_a_space_quoted() {
    let input = token("jane doe", None);
    let cut = &input[..input.find("&X-Amz-Credential").unwrap()];
    let inspection = Inspection::new(
        parse(cut.as_bytes()).unwrap(),
        &Expected::default(),
        at(SIGNED_AT),
    );
    let text = inspection.to_text();
    for line in [
        "user:          'jane doe'\n",
        "region:        (missing)\n",
        "signed at:     (missing)\n",
        "expires at:    (unknown)\n",
        "time left:     (unknown)\n",
        "problems:      5\n",
        "problem: missing_parameter: the token has no X-Amz-Credential parameter;",
    ] {
        assert!(text.contains(line), "{line:?} in\n{text}");
    }
    let json = inspection.to_json();
    assert!(json.contains(r#""region":null,"#), "{json}");
    assert!(json.contains(r#""signed_at":null,"#), "{json}");
}

/// Found by the fuzzing property above: an edited `=` or a stray `&` in
/// `X-Amz-Security-Token=...` turned the session token into the name of an
/// unknown parameter, which the report quoted. Every one-byte edit to `&`,
/// `=` or a letter, and every cut, of DSQL and RDS tokens: the session
/// token never shows.
#[test]
fn never_shows_the_session_token_as_an_unknown_parameters_name() {
    let creds = Credentials::new(
        "ASIAIOSFODNN7EXAMPLE",
        "x",
        Some("SESSIONxSECRET".into()),
        None,
        "t",
    );
    let dsql = OtherKind {
        kind: TokenKind::Dsql,
        host: "aaa0a000aaa0a00aa0aa.dsql.us-gov-west-1.on.aws".into(),
        user: None,
        serverless: false,
        action: "DbConnect",
        region: "us-gov-west-1",
        expires: 1,
    };
    let rds = AuthTokenConfig::builder()
        .hostname("mydb.123456789012.us-east-1.rds.amazonaws.com")
        .port(5432)
        .username("jane")
        .region("us-east-1")
        .build()
        .unwrap();
    let rds = TokenSigner::new()
        .sign(&rds, &creds, at(SIGNED_AT))
        .unwrap()
        .into_string();
    let mut hidden = 0;
    for token in [make(&dsql, &creds, SIGNED_AT), rds] {
        let base = token.into_bytes();
        let mut inputs: Vec<Vec<u8>> = (0..=base.len()).map(|cut| base[..cut].to_vec()).collect();
        for i in 0..base.len() {
            for byte in [b'&', b'=', b'x'] {
                let mut edited = base.clone();
                edited[i] = byte;
                inputs.push(edited);
            }
        }
        for input in inputs {
            let Ok(token) = parse(&input) else { continue };
            let mut inspection = Inspection::new(token, &Expected::default(), at(SIGNED_AT));
            let verification = verify(inspection.token(), &creds, "test");
            inspection.add_verification(verification, "ASIAIOSFODNN7EXAMPLE", "test");
            let (text, json) = (inspection.to_text(), inspection.to_json());
            assert!(
                !text.contains("SECRET") && !json.contains("SECRET"),
                "{}\n{text}",
                String::from_utf8_lossy(&input)
            );
            hidden += usize::from(text.contains("may be part of the session token"));
        }
    }
    assert!(
        hidden > 0,
        "no input made a piece of the session token a parameter"
    );
}
