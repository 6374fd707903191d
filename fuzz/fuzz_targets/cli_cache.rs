//! The reader of the AWS CLI's credential cache files (`~/.aws/cli/cache`,
//! `credentials::cache`), on any bytes, through `read_file_bytes`, which is
//! what `CredentialCache::load` and `clear` read a file with. Beyond never
//! panicking:
//!
//! - credentials it takes are good for at least the expiry window
//!   (15 minutes) after the time it is read at, and have a session token;
//! - where the bytes are JSON that serde_json reads too, the credentials are
//!   the `Credentials` object's fields as Python's `json.loads` (botocore)
//!   reads them, the last of repeated keys winning;
//! - what it takes, written again as `CredentialCache::store` writes it
//!   (`file_text`, for an SSO key and an assume-role key), is JSON that
//!   serde_json reads, is marked as this tool's, and reads back as the same
//!   credentials (the expiry to the second, as it is written); writing that
//!   again gives the same text.
#![no_main]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use libfuzzer_sys::fuzz_target;
use rds_auth_token::credentials::cache::{
    file_text, read_file_bytes, CacheKey, SsoSession, EXPIRY_WINDOW,
};

/// 2026-11-22T01:21:07Z.
const NOW: u64 = 1_795_310_467;

fn fields(credentials: &Credentials) -> (String, String, Option<String>, Option<String>) {
    (
        credentials.access_key_id().to_owned(),
        credentials.secret_access_key().to_owned(),
        credentials.session_token().map(str::to_owned),
        credentials.account_id().map(|a| a.as_str().to_owned()),
    )
}

/// The expiry as it is written: whole seconds.
fn whole_seconds(time: SystemTime) -> SystemTime {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => UNIX_EPOCH + Duration::from_secs(after.as_secs()),
        Err(before) => {
            let before = before.duration();
            let secs = before.as_secs() + u64::from(before.subsec_nanos() > 0);
            UNIX_EPOCH - Duration::from_secs(secs)
        }
    }
}

/// The `Credentials` string field `name` as Python's json module reads the
/// file: the last `Credentials` key's object, the last `name` in it.
fn python_field<'a>(value: &'a serde_json::Value, name: &str) -> Option<&'a str> {
    value.get("Credentials")?.get(name)?.as_str()
}

fn check_written_back(credentials: &Credentials, now: SystemTime) {
    let keys = [
        CacheKey::Sso {
            account_id: "123456789012".into(),
            role_name: "DbConnect".into(),
            session: SsoSession::Name("my-sso".into()),
        },
        CacheKey::AssumeRole {
            role_arn: "arn:aws:iam::123456789012:role/db-connect".into(),
            role_session_name: None,
            external_id: None,
            serial_number: None,
            duration_seconds: None,
        },
    ];
    for key in &keys {
        let text = file_text(key, credentials)
            .expect("credentials with a session token and an expiry are written");
        let json: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|err| panic!("{text:?} is not JSON: {err}"));
        assert_eq!(
            python_field(&json, "AccessKeyId"),
            Some(credentials.access_key_id())
        );
        let (again, ours) = read_file_bytes(text.as_bytes(), now)
            .unwrap_or_else(|| panic!("{text:?} is not read back"));
        assert!(ours, "{text:?} is not marked as written by rds-auth-token");
        let again = again.unwrap_or_else(|| panic!("{text:?} has no credentials once read back"));
        assert_eq!(fields(&again), fields(credentials), "{text:?}");
        let expiry = credentials.expiry().unwrap();
        assert_eq!(again.expiry(), Some(whole_seconds(expiry)), "{text:?}");
        assert_eq!(
            file_text(key, &again).as_deref(),
            Some(text.as_str()),
            "writing what was read back gives another file"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let now = UNIX_EPOCH + Duration::from_secs(NOW);
    let Some((credentials, _ours)) = read_file_bytes(data, now) else {
        return;
    };
    let Some(credentials) = credentials else {
        return;
    };
    let expiry = credentials
        .expiry()
        .expect("cached credentials have an expiry");
    assert!(
        expiry
            .duration_since(now)
            .is_ok_and(|left| left >= EXPIRY_WINDOW),
        "credentials expiring at {expiry:?} are taken at {now:?}"
    );
    assert!(credentials.session_token().is_some());

    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(data) {
        for (name, ours) in [
            ("AccessKeyId", Some(credentials.access_key_id())),
            ("SecretAccessKey", Some(credentials.secret_access_key())),
            ("SessionToken", credentials.session_token()),
            ("AccountId", credentials.account_id().map(|a| a.as_str())),
        ] {
            assert_eq!(
                python_field(&json, name),
                ours,
                "{name} is not what json.loads reads"
            );
        }
    }

    check_written_back(&credentials, now);
});
