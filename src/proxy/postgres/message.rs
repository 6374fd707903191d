//! The messages the proxy itself sends a PostgreSQL client, in the server's
//! role (postgres-protocol writes only a client's): the login's end, the
//! server's parameters, a cancel key, ready-for-query, and errors.

use bytes::{BufMut, BytesMut};

use super::startup::CancelKey;

/// SQLSTATE classes the proxy answers with.
pub mod sqlstate {
    /// `08001`: the proxy could not reach or log in to the database.
    pub const CANNOT_CONNECT: &str = "08001";
    /// `08P01`: the client broke the protocol.
    pub const PROTOCOL_VIOLATION: &str = "08P01";
    /// `28000`: who may log in, as whom.
    pub const INVALID_AUTHORIZATION: &str = "28000";
    /// `53300`: `--max-connections` reached.
    pub const TOO_MANY_CONNECTIONS: &str = "53300";
    /// `57P01`: the proxy is shutting down.
    pub const ADMIN_SHUTDOWN: &str = "57P01";
    /// `0A000`: asked for something the proxy does not do.
    pub const FEATURE_NOT_SUPPORTED: &str = "0A000";
}

fn message(buf: &mut BytesMut, tag: u8, body: impl FnOnce(&mut BytesMut)) {
    buf.put_u8(tag);
    let at = buf.len();
    buf.put_i32(0);
    body(buf);
    let len = i32::try_from(buf.len() - at).expect("a message under 2 GiB");
    buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
}

fn cstr(buf: &mut BytesMut, text: &str) {
    // A NUL would end the field early; no text the proxy sends has one.
    buf.put_slice(text.replace('\0', " ").as_bytes());
    buf.put_u8(0);
}

/// AuthenticationOk.
pub fn authentication_ok(buf: &mut BytesMut) {
    message(buf, b'R', |b| b.put_i32(0));
}

/// ParameterStatus `name` = `value`.
pub fn parameter_status(buf: &mut BytesMut, name: &str, value: &str) {
    message(buf, b'S', |b| {
        cstr(b, name);
        cstr(b, value);
    });
}

/// BackendKeyData with `key`.
pub fn backend_key_data(buf: &mut BytesMut, key: CancelKey) {
    message(buf, b'K', |b| {
        b.put_i32(key.process_id);
        b.put_i32(key.secret_key);
    });
}

/// ReadyForQuery with transaction status `status` (`I`, `T` or `E`).
pub fn ready_for_query(buf: &mut BytesMut, status: u8) {
    message(buf, b'Z', |b| b.put_u8(status));
}

/// A FATAL ErrorResponse with `code`, `message` and, if any, `hint`.
pub fn fatal(buf: &mut BytesMut, code: &str, text: &str, hint: Option<&str>) {
    message(buf, b'E', |b| {
        for (field, value) in [(b'S', "FATAL"), (b'V', "FATAL"), (b'C', code)] {
            b.put_u8(field);
            cstr(b, value);
        }
        b.put_u8(b'M');
        cstr(b, text);
        if let Some(hint) = hint {
            b.put_u8(b'H');
            cstr(b, hint);
        }
        b.put_u8(0);
    });
}

/// The fields of an ErrorResponse or NoticeResponse body that a log line
/// and a refusal need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorFields {
    pub severity: String,
    pub code: String,
    pub message: String,
}

impl ErrorFields {
    /// Reads an ErrorResponse body; unknown fields are skipped, bad ones
    /// end the reading.
    pub fn parse(body: &[u8]) -> ErrorFields {
        let mut out = ErrorFields::default();
        let mut rest = body;
        while let Some((&field, tail)) = rest.split_first() {
            if field == 0 {
                break;
            }
            let Some(end) = tail.iter().position(|&b| b == 0) else {
                break;
            };
            let value = String::from_utf8_lossy(&tail[..end]).into_owned();
            match field {
                b'V' => out.severity = value,
                b'S' if out.severity.is_empty() => out.severity = value,
                b'C' => out.code = value,
                b'M' => out.message = value,
                _ => {}
            }
            rest = &tail[end + 1..];
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postgres_protocol::message::backend::Message;

    fn parse(buf: &mut BytesMut) -> Message {
        Message::parse(buf).unwrap().expect("a whole message")
    }

    #[test]
    fn writes_messages_that_postgres_protocol_reads_back() {
        let mut buf = BytesMut::new();
        authentication_ok(&mut buf);
        parameter_status(&mut buf, "TimeZone", "UTC");
        backend_key_data(
            &mut buf,
            CancelKey {
                process_id: 7,
                secret_key: -9,
            },
        );
        ready_for_query(&mut buf, b'I');
        assert!(matches!(parse(&mut buf), Message::AuthenticationOk));
        let Message::ParameterStatus(status) = parse(&mut buf) else {
            panic!()
        };
        assert_eq!(
            (status.name().unwrap(), status.value().unwrap()),
            ("TimeZone", "UTC")
        );
        let Message::BackendKeyData(key) = parse(&mut buf) else {
            panic!()
        };
        assert_eq!((key.process_id(), key.secret_key()), (7, -9));
        let Message::ReadyForQuery(ready) = parse(&mut buf) else {
            panic!()
        };
        assert_eq!(ready.status(), b'I');
        assert!(buf.is_empty());
    }

    #[test]
    fn writes_a_fatal_error_with_its_code_message_and_hint() {
        let mut buf = BytesMut::new();
        fatal(
            &mut buf,
            sqlstate::CANNOT_CONNECT,
            "no\0way",
            Some("fix it"),
        );
        let body = buf[5..].to_vec();
        assert!(matches!(parse(&mut buf), Message::ErrorResponse(_)));
        assert!(body.windows(7).any(|w| w == b"Hfix it"));
        assert_eq!(
            ErrorFields::parse(&body),
            ErrorFields {
                severity: "FATAL".into(),
                code: "08001".into(),
                message: "no way".into()
            }
        );
    }
}
