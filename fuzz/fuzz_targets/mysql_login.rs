//! The MySQL readers of a login: the client's handshake response
//! (`client::read_response`), a client's COM_CHANGE_USER
//! (`session::read_change_user`) and the server's first packet
//! (`upstream::parse_greeting`).
//!
//! Byte 0 chooses the reader (0: handshake response, 1: change of user,
//! 2: server greeting; bit 7: the response came over TLS); the rest is the
//! packet's payload. Checks:
//!
//! - a handshake response read gives a user that is not empty, and a login
//!   whose pool key names its user, schema and character set; the
//!   capabilities never keep CLIENT_SSL or CLIENT_CONNECT_WITH_DB;
//! - a change of user read keeps the current login's capabilities and
//!   attributes, and names a user that is not empty;
//! - a greeting read offers TLS (else it is refused), and the proxy's own
//!   greeting made from it reads back with the same version and character
//!   set, no compression and TLS only when asked to offer it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mysql_common::constants::{CapabilityFlags, MariadbCapabilities};
use mysql_common::io::ParseBuf;
use mysql_common::packets::HandshakePacket;
use rds_auth_token::proxy::mysql::client::{greeting, read_response};
use rds_auth_token::proxy::mysql::session::read_change_user;
use rds_auth_token::proxy::mysql::upstream::{parse_greeting, Login};

fuzz_target!(|data: &[u8]| {
    let Some((&choice, payload)) = data.split_first() else {
        return;
    };
    match choice & 0x7f {
        0 => {
            if let Ok((login, _plugin)) = read_response(payload, choice & 0x80 != 0) {
                assert!(!login.user.is_empty());
                assert!(!login.capabilities.intersects(
                    CapabilityFlags::CLIENT_SSL | CapabilityFlags::CLIENT_CONNECT_WITH_DB
                ));
                let key = login.key();
                assert_eq!(key[0].1, login.user);
                assert_eq!(key[1].1, login.schema.clone().unwrap_or_default());
                assert_eq!(key[2].1, login.collation.to_string());
            }
        }
        1 => {
            let current = Login {
                user: "app".into(),
                schema: None,
                collation: 45,
                capabilities: CapabilityFlags::from_bits_truncate(u32::from(choice) << 8 | 0x8200),
                mariadb: MariadbCapabilities::empty(),
                attributes: vec![("program_name".into(), "fuzz".into())],
            };
            let mut packet = vec![0, 0, 0, 0];
            packet.extend_from_slice(payload);
            if let Ok(login) = read_change_user(&packet, &current) {
                assert!(!login.user.is_empty());
                assert_eq!(login.capabilities, current.capabilities);
                assert_eq!(login.attributes, current.attributes);
            }
        }
        _ => {
            if let Ok(info) = parse_greeting(payload, "fuzz:3306") {
                assert!(info.capabilities.contains(CapabilityFlags::CLIENT_SSL));
                for tls in [false, true] {
                    let ours = greeting(&info, tls, 7, [b'a'; 20]);
                    let read: HandshakePacket<'_> =
                        ParseBuf(&ours).parse(()).expect("our greeting reads back");
                    assert_eq!(read.server_version_ref(), info.version.as_slice());
                    assert_eq!(read.default_collation(), info.collation);
                    assert!(!read
                        .capabilities()
                        .contains(CapabilityFlags::CLIENT_COMPRESS));
                    assert_eq!(
                        read.capabilities().contains(CapabilityFlags::CLIENT_SSL),
                        tls
                    );
                }
            }
        }
    }
});
