//! The proxy's ErrorResponse reader and writer,
//! `proxy::postgres::message::{ErrorFields, fatal}`.
//!
//! - `ErrorFields::parse` on the input as a body never panics, and on a
//!   body that postgres-protocol (rust-postgres's codec) reads whole it
//!   finds the same code and message as the last `C` and `M` fields;
//! - `fatal` with the input as code, message and hint (the input after its
//!   first byte split at 0xFF bytes, lossily UTF-8; bit 0 of the first byte
//!   says whether there is a hint) writes one ErrorResponse whose length
//!   word is right, that `ErrorFields::parse` reads back as severity FATAL
//!   and the code and message written (with each NUL a space, as `fatal`
//!   writes them), and that postgres-protocol reads as an ErrorResponse
//!   with exactly the fields written, the hint included.
#![no_main]

use bytes::BytesMut;
use fallible_iterator::FallibleIterator;
use libfuzzer_sys::fuzz_target;
use postgres_protocol::message::backend::Message;
use rds_auth_token::proxy::postgres::message::{fatal, ErrorFields};

/// An ErrorResponse's fields as postgres-protocol reads them from `body`,
/// or None when it does not read them all.
fn fields_by_postgres_protocol(body: &[u8]) -> Option<Vec<(u8, Vec<u8>)>> {
    let len = i32::try_from(body.len() + 4).ok()?;
    let mut buf = BytesMut::new();
    buf.extend_from_slice(b"E");
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(body);
    let Ok(Some(Message::ErrorResponse(response))) = Message::parse(&mut buf) else {
        return None;
    };
    assert!(buf.is_empty());
    response
        .fields()
        .map(|f| Ok((f.type_(), f.value_bytes().to_vec())))
        .collect()
        .ok()
}

fn check_parse(body: &[u8]) {
    let parsed = ErrorFields::parse(body);
    for text in [&parsed.severity, &parsed.code, &parsed.message] {
        assert!(!text.contains('\0'), "a field holds a NUL: {parsed:?}");
    }
    let Some(fields) = fields_by_postgres_protocol(body) else {
        return;
    };
    let last = |kind: u8| {
        fields
            .iter()
            .rev()
            .find(|(t, _)| *t == kind)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default()
    };
    assert_eq!(parsed.code, last(b'C'), "{fields:?}");
    assert_eq!(parsed.message, last(b'M'), "{fields:?}");
}

fn check_fatal(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut parts = rest
        .splitn(3, |&b| b == 0xff)
        .map(|p| String::from_utf8_lossy(p).into_owned());
    let code = parts.next().unwrap_or_default();
    let text = parts.next().unwrap_or_default();
    let hint = (flags & 1 == 1).then(|| parts.next().unwrap_or_default());

    let mut buf = BytesMut::new();
    fatal(&mut buf, &code, &text, hint.as_deref());
    assert_eq!(buf[0], b'E');
    let len = u32::from_be_bytes(buf[1..5].try_into().unwrap()) as usize;
    assert_eq!(len + 1, buf.len(), "the length word is not the message's");
    let body = buf[5..].to_vec();

    let written = |s: &str| s.replace('\0', " ");
    assert_eq!(
        ErrorFields::parse(&body),
        ErrorFields {
            severity: "FATAL".into(),
            code: written(&code),
            message: written(&text),
        }
    );

    let fields = fields_by_postgres_protocol(&body)
        .expect("postgres-protocol does not read the ErrorResponse fatal wrote");
    let mut want = vec![
        (b'S', b"FATAL".to_vec()),
        (b'V', b"FATAL".to_vec()),
        (b'C', written(&code).into_bytes()),
        (b'M', written(&text).into_bytes()),
    ];
    if let Some(hint) = &hint {
        want.push((b'H', written(hint).into_bytes()));
    }
    assert_eq!(fields, want);
}

fuzz_target!(|data: &[u8]| {
    check_parse(data);
    check_fatal(data);
});
