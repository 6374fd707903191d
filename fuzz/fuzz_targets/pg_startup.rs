//! The proxy's reader of a PostgreSQL client's first packet,
//! `proxy::postgres::startup`, on any bytes. Beyond never panicking:
//!
//! - `announced_length` takes exactly the lengths from 8 to
//!   `MAX_STARTUP_PACKET` and returns the length word itself;
//! - `parse` accepts nothing whose length word differs from the packet's
//!   length or is outside 8..=`MAX_STARTUP_PACKET`;
//! - an SSLRequest, a GSSENCRequest or a CancelRequest it accepts is exactly
//!   that request's bytes, the cancel key read from them;
//! - a StartupMessage it accepts is protocol 3, has a non-empty `user`, no
//!   empty, repeated or NUL-holding name, and re-encodes with
//!   `encode_startup` to a packet that parses back to the same parameters,
//!   byte for byte the input when the input's version is 3.0;
//! - the other way round, parameters made from the input's bytes after the
//!   eight-byte header (NUL-separated names and values) are encoded with
//!   `encode_startup`, and `parse` takes them back unchanged exactly when
//!   they are a valid start-up (a non-empty user, no empty or repeated
//!   names, within the length bound).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rds_auth_token::proxy::postgres::startup::{
    announced_length, encode_startup, parse, CancelKey, ClientStart, StartupError,
    MAX_STARTUP_PACKET, PROTOCOL_3_0,
};

const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
const GSSENC_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30];
const CANCEL_REQUEST_CODE: u32 = 80_877_102;

fn be_u32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes(bytes[..4].try_into().unwrap())
}

fn check_announced_length(data: &[u8]) {
    let Some(header) = data.get(..4) else {
        return;
    };
    let header: [u8; 4] = header.try_into().unwrap();
    let word = u32::from_be_bytes(header);
    let in_bound = (8..=MAX_STARTUP_PACKET as u32).contains(&word);
    match announced_length(header) {
        Ok(len) => {
            assert!(in_bound, "announced_length took {word}");
            assert_eq!(len, word as usize);
        }
        Err(StartupError::Length(len)) => {
            assert!(!in_bound, "announced_length refused {word}");
            assert_eq!(len, word);
        }
        Err(other) => panic!("announced_length({word}) gave {other:?}"),
    }
}

fn check_parse(data: &[u8]) {
    let start = match parse(data) {
        Ok(start) => start,
        Err(error) => {
            // Every error can be shown.
            let _ = error.to_string();
            if data.len() >= 4 && be_u32(data) as usize != data.len() {
                assert!(
                    matches!(error, StartupError::Length(_)),
                    "a length word that is not the packet's length gave {error:?}"
                );
            }
            return;
        }
    };
    let _ = format!("{start:?}");
    assert!(data.len() >= 8, "accepted a {}-byte packet", data.len());
    let word = be_u32(data);
    assert_eq!(
        word as usize,
        data.len(),
        "accepted a packet whose length word is not its length"
    );
    assert!(
        (8..=MAX_STARTUP_PACKET).contains(&data.len()),
        "accepted a packet of {} bytes",
        data.len()
    );
    let code = be_u32(&data[4..]);
    match start {
        ClientStart::Ssl => assert_eq!(data, SSL_REQUEST),
        ClientStart::GssEnc => assert_eq!(data, GSSENC_REQUEST),
        ClientStart::Cancel(CancelKey {
            process_id,
            secret_key,
        }) => {
            assert_eq!(data.len(), 16);
            assert_eq!(code, CANCEL_REQUEST_CODE);
            assert_eq!(process_id, be_u32(&data[8..]) as i32);
            assert_eq!(secret_key, be_u32(&data[12..]) as i32);
        }
        ClientStart::Startup(startup) => {
            assert_eq!(startup.major, 3);
            assert_eq!(
                code,
                (u32::from(startup.major) << 16) | u32::from(startup.minor)
            );
            let user = startup.user().expect("a Startup without a user");
            assert!(!user.is_empty(), "a Startup with an empty user");
            assert!(startup.database().is_some_and(|d| !d.is_empty()));
            for (i, (name, value)) in startup.parameters.iter().enumerate() {
                assert!(!name.is_empty(), "an empty parameter name");
                assert!(!name.contains('\0') && !value.contains('\0'));
                assert!(
                    !startup.parameters[..i].iter().any(|(k, _)| k == name),
                    "parameter {name:?} twice"
                );
            }
            let encoded = encode_startup(&startup.parameters);
            if code == PROTOCOL_3_0 {
                assert_eq!(encoded, data, "3.0 re-encoded to other bytes");
            } else {
                // Only the version word differs.
                assert_eq!(encoded.len(), data.len());
                assert_eq!(encoded[..4], data[..4]);
                assert_eq!(be_u32(&encoded[4..]), PROTOCOL_3_0);
                assert_eq!(encoded[8..], data[8..]);
            }
            match parse(&encoded) {
                Ok(ClientStart::Startup(again)) => {
                    assert_eq!((again.major, again.minor), (3, 0));
                    assert_eq!(again.parameters, startup.parameters);
                }
                other => panic!("the re-encoded packet parsed as {other:?}"),
            }
        }
    }
}

/// Parameters from the bytes after an eight-byte header: NUL-separated
/// names and values, lossily UTF-8, with the trailing NULs (a packet's
/// terminator) left off.
fn parameters_from(data: &[u8]) -> Vec<(String, String)> {
    let mut rest = data.get(8..).unwrap_or_default();
    while let [head @ .., 0] = rest {
        rest = head;
    }
    if rest.is_empty() {
        return Vec::new();
    }
    let parts: Vec<String> = rest
        .split(|&b| b == 0)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    parts
        .chunks(2)
        .map(|pair| (pair[0].clone(), pair.get(1).cloned().unwrap_or_default()))
        .collect()
}

fn check_encode(data: &[u8]) {
    let parameters = parameters_from(data);
    let encoded = encode_startup(&parameters);
    assert_eq!(be_u32(&encoded) as usize, encoded.len());
    let names_ok = parameters
        .iter()
        .enumerate()
        .all(|(i, (k, _))| !k.is_empty() && !parameters[..i].iter().any(|(j, _)| j == k));
    let user_ok = parameters
        .iter()
        .find(|(k, _)| k == "user")
        .is_some_and(|(_, v)| !v.is_empty());
    let length_ok = encoded.len() <= MAX_STARTUP_PACKET;
    match parse(&encoded) {
        Ok(ClientStart::Startup(startup)) => {
            assert!(
                names_ok && user_ok && length_ok,
                "accepted {parameters:?} (names ok {names_ok}, user ok {user_ok}, length ok {length_ok})"
            );
            assert_eq!((startup.major, startup.minor), (3, 0));
            assert_eq!(startup.parameters, parameters);
            assert_eq!(encode_startup(&startup.parameters), encoded);
        }
        Ok(other) => panic!("parameters {parameters:?} parsed as {other:?}"),
        Err(error) => {
            assert!(
                !(names_ok && user_ok && length_ok),
                "refused valid parameters {parameters:?}: {error:?}"
            );
            if !length_ok {
                assert!(matches!(error, StartupError::Length(_)), "{error:?}");
            } else if !names_ok {
                assert_eq!(error, StartupError::Parameters);
            } else {
                assert_eq!(error, StartupError::NoUser);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    check_announced_length(data);
    check_parse(data);
    check_encode(data);
});
