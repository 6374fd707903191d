//! The first packet a PostgreSQL client sends, read within a bound: a
//! StartupMessage, an SSLRequest, a GSSENCRequest or a CancelRequest.
//! postgres-protocol writes these packets but reads only what servers send,
//! so this is the proxy's own reader.

use std::fmt;

/// The longest start-up packet PostgreSQL itself accepts
/// (`MAX_STARTUP_PACKET_LENGTH`), and so the most this reader takes.
pub const MAX_STARTUP_PACKET: usize = 10_000;

/// The protocol version code of a StartupMessage for protocol 3.0.
pub const PROTOCOL_3_0: u32 = 196_608;
const SSL_REQUEST_CODE: u32 = 80_877_103;
const GSSENC_REQUEST_CODE: u32 = 80_877_104;
const CANCEL_REQUEST_CODE: u32 = 80_877_102;

/// What a client opens with.
#[derive(Clone, PartialEq, Eq)]
pub enum ClientStart {
    /// SSLRequest: the client asks for TLS.
    Ssl,
    /// GSSENCRequest: the client asks for GSSAPI encryption.
    GssEnc,
    /// CancelRequest: cancel what the backend with this key runs.
    Cancel(CancelKey),
    /// StartupMessage: protocol `major.minor` and its parameters in order.
    Startup(Startup),
}

impl fmt::Debug for ClientStart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientStart::Ssl => f.write_str("Ssl"),
            ClientStart::GssEnc => f.write_str("GssEnc"),
            // The secret half of a cancel key is a credential.
            ClientStart::Cancel(key) => write!(f, "Cancel(pid {})", key.process_id),
            ClientStart::Startup(startup) => startup.fmt(f),
        }
    }
}

/// A backend's cancel key (BackendKeyData).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CancelKey {
    pub process_id: i32,
    pub secret_key: i32,
}

impl fmt::Debug for CancelKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CancelKey {{ process_id: {}, .. }}", self.process_id)
    }
}

/// A StartupMessage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Startup {
    pub major: u16,
    pub minor: u16,
    /// The parameters as sent, in order: `user`, `database`, `options`,
    /// `application_name` and the others.
    pub parameters: Vec<(String, String)>,
}

impl Startup {
    /// The value of parameter `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The database user: the `user` parameter.
    pub fn user(&self) -> Option<&str> {
        self.get("user").filter(|u| !u.is_empty())
    }

    /// The database: the `database` parameter, else the user's name, as
    /// PostgreSQL defaults it.
    pub fn database(&self) -> Option<&str> {
        self.get("database")
            .filter(|d| !d.is_empty())
            .or_else(|| self.user())
    }

    /// Sets `name` to `value`, replacing any value it had.
    pub fn set(&mut self, name: &str, value: &str) {
        set_parameter(&mut self.parameters, name, value);
    }
}

/// Sets `name` to `value` in `parameters` (start-up parameters, or a
/// server's ParameterStatus values), keeping the order of first appearance.
pub fn set_parameter(parameters: &mut Vec<(String, String)>, name: &str, value: &str) {
    match parameters.iter_mut().find(|(k, _)| k == name) {
        Some(pair) => value.clone_into(&mut pair.1),
        None => parameters.push((name.to_owned(), value.to_owned())),
    }
}

/// Why a start-up packet was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartupError {
    #[error("the start-up packet's length {0} is not from 8 to {MAX_STARTUP_PACKET} bytes")]
    Length(u32),
    #[error("the start-up packet's code {0} is no request this proxy knows")]
    Code(u32),
    #[error("protocol version {0}.{1} is not supported; the proxy speaks protocol 3")]
    Version(u16, u16),
    #[error("the start-up packet's parameters are not NUL-terminated names and values")]
    Parameters,
    #[error("a start-up parameter is not UTF-8")]
    NotUtf8,
    #[error("the start-up packet has no user")]
    NoUser,
}

/// The length a start-up packet's first four bytes announce, checked
/// against [`MAX_STARTUP_PACKET`]: how many bytes to read in all.
///
/// # Errors
/// [`StartupError::Length`] for a length outside 8 to the bound.
pub fn announced_length(header: [u8; 4]) -> Result<usize, StartupError> {
    let len = u32::from_be_bytes(header);
    if !(8..=MAX_STARTUP_PACKET as u32).contains(&len) {
        return Err(StartupError::Length(len));
    }
    Ok(len as usize)
}

/// Parses a whole start-up packet, its length word included.
///
/// # Errors
/// A [`StartupError`] saying what is wrong.
pub fn parse(packet: &[u8]) -> Result<ClientStart, StartupError> {
    let header: [u8; 4] = packet
        .get(..4)
        .and_then(|h| h.try_into().ok())
        .ok_or(StartupError::Length(packet.len() as u32))?;
    let len = announced_length(header)?;
    if len != packet.len() {
        return Err(StartupError::Length(packet.len() as u32));
    }
    let code = u32::from_be_bytes(packet[4..8].try_into().expect("four bytes"));
    let body = &packet[8..];
    match code {
        SSL_REQUEST_CODE | GSSENC_REQUEST_CODE | CANCEL_REQUEST_CODE => {
            let expected = if code == CANCEL_REQUEST_CODE { 8 } else { 0 };
            if body.len() != expected {
                return Err(StartupError::Length(len as u32));
            }
            Ok(match code {
                SSL_REQUEST_CODE => ClientStart::Ssl,
                GSSENC_REQUEST_CODE => ClientStart::GssEnc,
                _ => ClientStart::Cancel(CancelKey {
                    process_id: i32::from_be_bytes(body[..4].try_into().expect("four bytes")),
                    secret_key: i32::from_be_bytes(body[4..].try_into().expect("four bytes")),
                }),
            })
        }
        _ => {
            let (major, minor) = ((code >> 16) as u16, (code & 0xffff) as u16);
            if major != 3 {
                return if major >= 1000 {
                    Err(StartupError::Code(code))
                } else {
                    Err(StartupError::Version(major, minor))
                };
            }
            let parameters = parameters(body)?;
            let startup = Startup {
                major,
                minor,
                parameters,
            };
            if startup.user().is_none() {
                return Err(StartupError::NoUser);
            }
            Ok(ClientStart::Startup(startup))
        }
    }
}

/// `name\0value\0 ... \0`.
fn parameters(mut body: &[u8]) -> Result<Vec<(String, String)>, StartupError> {
    let mut out: Vec<(String, String)> = Vec::new();
    loop {
        let (name, rest) = cstr(body)?;
        if name.is_empty() {
            if !rest.is_empty() {
                return Err(StartupError::Parameters);
            }
            return Ok(out);
        }
        let (value, rest) = cstr(rest)?;
        let name = std::str::from_utf8(name).map_err(|_| StartupError::NotUtf8)?;
        let value = std::str::from_utf8(value).map_err(|_| StartupError::NotUtf8)?;
        if out.iter().any(|(k, _)| k == name) {
            return Err(StartupError::Parameters);
        }
        out.push((name.to_owned(), value.to_owned()));
        body = rest;
    }
}

fn cstr(buf: &[u8]) -> Result<(&[u8], &[u8]), StartupError> {
    let end = buf
        .iter()
        .position(|&b| b == 0)
        .ok_or(StartupError::Parameters)?;
    Ok((&buf[..end], &buf[end + 1..]))
}

/// A StartupMessage for protocol 3.0 with `parameters`, as PostgreSQL
/// reads it.
pub fn encode_startup(parameters: &[(String, String)]) -> Vec<u8> {
    let mut buf = bytes::BytesMut::new();
    postgres_protocol::message::frontend::startup_message(
        parameters.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        &mut buf,
    )
    .expect("start-up parameters hold no NUL");
    buf.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn startup(params: &[(&str, &str)]) -> Vec<u8> {
        encode_startup(
            &params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn reads_a_startup_message_as_postgres_protocol_writes_it() {
        let packet = startup(&[
            ("user", "app"),
            ("database", "db"),
            ("application_name", "psql"),
        ]);
        let ClientStart::Startup(s) = parse(&packet).unwrap() else {
            panic!("not a startup")
        };
        assert_eq!((s.major, s.minor), (3, 0));
        assert_eq!(s.user(), Some("app"));
        assert_eq!(s.database(), Some("db"));
        assert_eq!(s.get("application_name"), Some("psql"));
        assert_eq!(encode_startup(&s.parameters), packet);
    }

    #[test]
    fn defaults_the_database_to_the_user() {
        let ClientStart::Startup(s) = parse(&startup(&[("user", "app")])).unwrap() else {
            panic!()
        };
        assert_eq!(s.database(), Some("app"));
    }

    #[test]
    fn reads_the_requests() {
        let mut buf = bytes::BytesMut::new();
        postgres_protocol::message::frontend::ssl_request(&mut buf);
        assert_eq!(parse(&buf).unwrap(), ClientStart::Ssl);
        let gss = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30];
        assert_eq!(parse(&gss).unwrap(), ClientStart::GssEnc);
        let mut buf = bytes::BytesMut::new();
        postgres_protocol::message::frontend::cancel_request(42, -7, &mut buf);
        assert_eq!(
            parse(&buf).unwrap(),
            ClientStart::Cancel(CancelKey {
                process_id: 42,
                secret_key: -7
            })
        );
    }

    #[test]
    fn refuses_lengths_outside_the_bound_before_reading_them() {
        assert_eq!(
            announced_length(1_000_000_000u32.to_be_bytes()),
            Err(StartupError::Length(1_000_000_000))
        );
        assert_eq!(
            announced_length(4u32.to_be_bytes()),
            Err(StartupError::Length(4))
        );
        assert_eq!(announced_length(10_000u32.to_be_bytes()), Ok(10_000));
    }

    #[test]
    fn refuses_malformed_packets() {
        let mut no_user = startup(&[("database", "x")]);
        assert_eq!(parse(&no_user), Err(StartupError::NoUser));
        no_user.pop();
        no_user[3] -= 1;
        assert_eq!(parse(&no_user), Err(StartupError::Parameters));
        let mut v2 = startup(&[("user", "u")]);
        v2[4..8].copy_from_slice(&0x0002_0000u32.to_be_bytes());
        assert_eq!(parse(&v2), Err(StartupError::Version(2, 0)));
        let mut twice = startup(&[("user", "u"), ("user", "v")]);
        assert_eq!(parse(&twice), Err(StartupError::Parameters));
        twice[10] = 0xff;
        assert!(parse(&twice).is_err());
        let cancel_short = [0, 0, 0, 12, 0x04, 0xd2, 0x16, 0x2e, 0, 0, 0, 1];
        assert_eq!(parse(&cancel_short), Err(StartupError::Length(12)));
    }

    #[test]
    fn never_shows_a_cancel_secret() {
        let key = CancelKey {
            process_id: 12,
            secret_key: 987_654,
        };
        for shown in [
            format!("{key:?}"),
            format!("{:?}", ClientStart::Cancel(key)),
        ] {
            assert!(!shown.contains("987654"), "{shown}");
        }
    }
}
