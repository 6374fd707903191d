//! `rds_auth_token::inspect` on any bytes: parse, check, verify and both
//! reports must never panic, must never put a raw control character in a
//! report, must keep the text report short, and must write valid JSON.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use aws_credential_types::Credentials;
use libfuzzer_sys::fuzz_target;
use rds_auth_token::inspect::{self, Expected, Inspection};

const ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";

/// What a terminal would act on: control characters, and the invisible
/// characters that reorder or hide text.
fn unsafe_for_a_terminal(c: char) -> bool {
    c != '\n'
        && (c.is_control()
            || matches!(
                c,
                '\u{061C}'
                    | '\u{200B}'..='\u{200F}'
                    | '\u{2028}'..='\u{202E}'
                    | '\u{2060}'..='\u{2069}'
                    | '\u{FEFF}'
            ))
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = inspect::parse(data) else {
        return;
    };
    // 2026-11-22T01:22:07Z, a minute after the seeds were signed.
    let now = UNIX_EPOCH + Duration::from_secs(1_795_310_527);
    let expected = Expected {
        hostname: Some("mydb.123456789012.us-east-1.rds.amazonaws.com".into()),
        port: Some(5432),
        username: Some("jane_doe".into()),
        region: Some("us-east-1".into()),
    };
    let mut inspection = Inspection::new(token, &expected, now);
    let credentials = Credentials::new(
        ACCESS_KEY,
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        None,
        None,
        "fuzz",
    );
    let verification = inspect::verify(inspection.token(), &credentials, "fuzz");
    inspection.add_verification(verification, ACCESS_KEY, "fuzz");

    let text = inspection.to_text();
    assert!(!text.chars().any(unsafe_for_a_terminal), "{text:?}");
    assert!(
        text.len() < 32 * 1024,
        "a text report of {} bytes",
        text.len()
    );
    let json = inspection.to_json();
    assert!(!json.chars().any(unsafe_for_a_terminal), "{json:?}");
    let value: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    assert_eq!(value["ok"], serde_json::Value::Bool(inspection.is_ok()));
    assert_eq!(
        value["problems"].as_array().map(Vec::len),
        Some(inspection.findings().len())
    );
});
