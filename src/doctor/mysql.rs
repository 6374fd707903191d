//! The start of the MySQL client/server protocol, as far as TLS: the
//! server's greeting (protocol 10), its capabilities, and the client's
//! request to switch to TLS. MySQL, MariaDB and Aurora MySQL all speak it.

use std::io::{self, Read, Write};

/// The capability flag of a server that can switch to TLS.
pub const CLIENT_SSL: u32 = 0x0000_0800;
/// 4.1 protocol: the client's flags are four bytes.
const CLIENT_PROTOCOL_41: u32 = 0x0000_0200;
const CLIENT_LONG_PASSWORD: u32 = 0x0000_0001;
const CLIENT_SECURE_CONNECTION: u32 = 0x0000_8000;

/// The most a greeting may take; real ones are under 200 bytes.
const MAX_PACKET: usize = 64 * 1024;

/// What a server says first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hello {
    /// The handshake packet.
    Greeting(Greeting),
    /// An error packet instead, e.g. 1130 "Host ... is not allowed to
    /// connect", or 1040 "Too many connections".
    Error { code: u16, message: String },
}

/// A protocol 10 handshake packet, the parts of it this needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Greeting {
    /// The server's version, e.g. `8.0.35` or `5.5.5-10.11.6-MariaDB`.
    pub version: String,
    /// Its capability flags (the upper half is zero when it sends only the lower).
    pub capabilities: u32,
    /// The packet's sequence number; the client's answer takes the next one.
    pub sequence: u8,
}

impl Greeting {
    /// True when the server offers TLS.
    pub fn offers_tls(&self) -> bool {
        self.capabilities & CLIENT_SSL != 0
    }

    /// The version as people know it: MariaDB's without the `5.5.5-`
    /// prefix it sends for old clients' sake.
    pub fn version(&self) -> &str {
        self.version
            .strip_prefix("5.5.5-")
            .filter(|rest| rest.contains("MariaDB"))
            .unwrap_or(&self.version)
    }
}

/// Reads one packet: its sequence number and payload.
///
/// # Errors
/// The reader's, and [`io::ErrorKind::InvalidData`] for a packet longer
/// than a greeting can be.
pub fn read_packet(reader: &mut impl Read) -> io::Result<(u8, Vec<u8>)> {
    let mut header = [0u8; 4];
    reader.read_exact(&mut header)?;
    let len = usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
    if len > MAX_PACKET {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a first packet of {len} bytes"),
        ));
    }
    let mut payload = vec![0u8; len];
    reader.read_exact(&mut payload)?;
    Ok((header[3], payload))
}

/// Reads a server's first packet.
///
/// # Errors
/// `Err` with what is wrong, when it is not a MySQL greeting.
pub fn parse_hello(sequence: u8, payload: &[u8]) -> Result<Hello, String> {
    match payload.first() {
        None => Err("an empty first packet".into()),
        Some(0xff) => {
            let code = match payload.get(1..3) {
                Some(&[lo, hi]) => u16::from_le_bytes([lo, hi]),
                _ => return Err("a truncated error packet".into()),
            };
            let mut rest = &payload[3..];
            if rest.first() == Some(&b'#') && rest.len() >= 6 {
                rest = &rest[6..];
            }
            Ok(Hello::Error {
                code,
                message: String::from_utf8_lossy(rest).into_owned(),
            })
        }
        Some(10) => {
            let rest = &payload[1..];
            let nul = rest
                .iter()
                .position(|&b| b == 0)
                .ok_or("a greeting without the end of its version")?;
            let version = String::from_utf8_lossy(&rest[..nul]).into_owned();
            // thread id (4), auth data (8), filler (1), then the lower flags.
            let after = &rest[nul + 1..];
            let lower = after
                .get(13..15)
                .map(|b| u16::from_le_bytes([b[0], b[1]]))
                .ok_or("a greeting without its capability flags")?;
            // character set (1) and status (2), then the upper flags.
            let upper = after
                .get(18..20)
                .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]));
            Ok(Hello::Greeting(Greeting {
                version,
                capabilities: u32::from(lower) | u32::from(upper) << 16,
                sequence,
            }))
        }
        Some(&other) => Err(format!("a first packet of protocol {other}, not 10")),
    }
}

/// Writes the client's request to switch to TLS, answering `greeting`.
///
/// # Errors
/// The writer's.
pub fn write_ssl_request(writer: &mut impl Write, greeting: &Greeting) -> io::Result<()> {
    let mut packet = Vec::with_capacity(36);
    packet.extend_from_slice(&[32, 0, 0, greeting.sequence.wrapping_add(1)]);
    let flags = CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_SSL | CLIENT_SECURE_CONNECTION;
    packet.extend_from_slice(&flags.to_le_bytes());
    packet.extend_from_slice(&(16u32 << 20).to_le_bytes());
    packet.push(33); // utf8_general_ci
    packet.extend_from_slice(&[0; 23]);
    writer.write_all(&packet)?;
    writer.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A greeting laid out as MariaDB 10.11 sends one (the protocol's
    /// HandshakeV10; tests/it/doctor.rs reads a real one), cut after the upper
    /// capability flags.
    fn mariadb_greeting() -> Vec<u8> {
        let mut payload = vec![10];
        payload.extend_from_slice(b"5.5.5-10.11.6-MariaDB-0+deb12u1\0");
        payload.extend_from_slice(&[7, 0, 0, 0]); // thread id
        payload.extend_from_slice(b"abcdefgh"); // auth data 1
        payload.push(0);
        payload.extend_from_slice(&[0xfe, 0xff]); // lower flags: CLIENT_SSL on
        payload.push(45);
        payload.extend_from_slice(&[2, 0]);
        payload.extend_from_slice(&[0xff, 0x81]); // upper flags
        payload
    }

    #[test]
    fn reads_the_version_and_tls_capability_from_a_greeting() {
        let Hello::Greeting(greeting) = parse_hello(0, &mariadb_greeting()).unwrap() else {
            panic!("a greeting")
        };
        assert_eq!(greeting.version, "5.5.5-10.11.6-MariaDB-0+deb12u1");
        assert_eq!(greeting.version(), "10.11.6-MariaDB-0+deb12u1");
        assert!(greeting.offers_tls());
        assert_eq!(greeting.capabilities, 0x81ff_fffe);
        let mut without = mariadb_greeting();
        let flags = without.len() - 7;
        without[flags] = 0xfe;
        without[flags + 1] = 0xf7; // CLIENT_SSL (0x0800) off
        let Hello::Greeting(greeting) = parse_hello(0, &without).unwrap() else {
            panic!("a greeting")
        };
        assert!(!greeting.offers_tls());
    }

    #[test]
    fn reads_an_error_packet_in_place_of_a_greeting() {
        let mut payload = vec![0xff, 0x6a, 0x04];
        payload
            .extend_from_slice(b"Host '10.0.0.9' is not allowed to connect to this MySQL server");
        assert_eq!(
            parse_hello(0, &payload).unwrap(),
            Hello::Error {
                code: 1130,
                message: "Host '10.0.0.9' is not allowed to connect to this MySQL server".into()
            }
        );
        let mut with_state = vec![0xff, 0x10, 0x04, b'#'];
        with_state.extend_from_slice(b"08004Too many connections");
        assert_eq!(
            parse_hello(0, &with_state).unwrap(),
            Hello::Error {
                code: 1040,
                message: "Too many connections".into()
            }
        );
    }

    #[test]
    fn refuses_what_is_not_a_protocol_10_greeting() {
        assert!(parse_hello(0, b"").is_err());
        assert_eq!(
            parse_hello(0, b"N").unwrap_err(),
            "a first packet of protocol 78, not 10"
        );
        assert!(parse_hello(0, &[10, b'8', 0, 1, 2]).is_err());
    }

    #[test]
    fn reads_packets_and_refuses_huge_ones() {
        let mut input: &[u8] = &[3, 0, 0, 5, b'a', b'b', b'c'];
        assert_eq!(read_packet(&mut input).unwrap(), (5, b"abc".to_vec()));
        let mut huge: &[u8] = &[0xff, 0xff, 0xff, 0];
        assert_eq!(
            read_packet(&mut huge).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }

    #[test]
    fn asks_for_tls_with_the_next_sequence_number_and_a_32_byte_payload() {
        let greeting = Greeting {
            version: "8.0.35".into(),
            capabilities: CLIENT_SSL,
            sequence: 0,
        };
        let mut out = Vec::new();
        write_ssl_request(&mut out, &greeting).unwrap();
        assert_eq!(out.len(), 36);
        assert_eq!(&out[..4], &[32, 0, 0, 1]);
        let flags = u32::from_le_bytes(out[4..8].try_into().unwrap());
        assert_eq!(flags & CLIENT_SSL, CLIENT_SSL);
        assert_eq!(flags & CLIENT_PROTOCOL_41, CLIENT_PROTOCOL_41);
    }
}
