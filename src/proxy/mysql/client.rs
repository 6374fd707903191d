//! The client side of a login, the proxy in the server's role: its own
//! handshake (the server's version and capabilities, compression off, TLS
//! only when client-side TLS is set up), then the client's handshake
//! response read for its user, schema, character set, capabilities and
//! attributes. Whatever its authentication plugin answered is ignored: the
//! client needs no password, and its password goes nowhere.

use mysql_common::constants::{CapabilityFlags, StatusFlags};
use mysql_common::io::ParseBuf;
use mysql_common::packets::{HandshakePacket, HandshakeResponse, SslRequest};
use mysql_common::proto::MySerialize;
use tokio_rustls::TlsAcceptor;

use super::packet::{self, code, Framed, PacketError};
use super::upstream::{Login, ServerInfo};
use crate::proxy::ClientStream;

/// The plugin named in the proxy's handshake: every client has it.
pub const GREETING_PLUGIN: &[u8] = b"mysql_native_password";

/// The most connection attributes passed on, and their longest text.
const MAX_ATTRIBUTES: usize = 64;
const MAX_ATTRIBUTE_LEN: usize = 1024;

/// A client whose handshake response was read.
pub struct Greeted {
    pub stream: ClientStream,
    pub login: Login,
    /// The sequence of the client's packets, for the answer to its login.
    pub framed: Framed,
    /// The plugin the client answered with, for the log.
    pub plugin: String,
}

/// Why a client's handshake was not read.
pub enum Unstarted {
    /// Closed before its first byte: a port check, not a client.
    Silent,
    /// What is wrong, the stream (when it can still be answered) with its
    /// packet sequence, and the error code for it.
    Refused(
        Option<Box<(ClientStream, Framed)>>,
        (u16, &'static str),
        String,
    ),
}

/// The capabilities the proxy offers: the server's, less compression and
/// (unless `tls`) TLS, with what the handshake needs.
pub fn offered(info: &ServerInfo, tls: bool) -> CapabilityFlags {
    let mut caps = info.capabilities
        | CapabilityFlags::CLIENT_PROTOCOL_41
        | CapabilityFlags::CLIENT_SECURE_CONNECTION
        | CapabilityFlags::CLIENT_PLUGIN_AUTH;
    caps.remove(
        CapabilityFlags::CLIENT_COMPRESS
            | CapabilityFlags::CLIENT_ZSTD_COMPRESSION_ALGORITHM
            | CapabilityFlags::CLIENT_SSL
            | CapabilityFlags::CLIENT_SSL_VERIFY_SERVER_CERT
            | CapabilityFlags::CLIENT_REMEMBER_OPTIONS,
    );
    caps.set(CapabilityFlags::CLIENT_SSL, tls);
    caps
}

/// The proxy's handshake packet for a server with `info`.
pub fn greeting(info: &ServerInfo, tls: bool, connection_id: u32, scramble: [u8; 20]) -> Vec<u8> {
    let mut first = [0u8; 8];
    first.copy_from_slice(&scramble[..8]);
    let mut second = scramble[8..].to_vec();
    second.push(0);
    let packet = HandshakePacket::new(
        10,
        info.version.as_slice(),
        connection_id,
        first,
        Some(second),
        offered(info, tls),
        info.collation,
        StatusFlags::SERVER_STATUS_AUTOCOMMIT,
        Some(GREETING_PLUGIN),
    )
    .with_mariadb_ext_capabilities(info.mariadb);
    let mut out = Vec::with_capacity(128);
    packet.serialize(&mut out);
    out
}

/// Greets the client and reads its handshake response, with TLS first when
/// it asks and `tls` is set up.
pub async fn handshake(
    mut stream: ClientStream,
    info: &ServerInfo,
    tls: Option<&TlsAcceptor>,
    connection_id: u32,
) -> Result<Greeted, Unstarted> {
    let mut framed = Framed::default();
    let scramble = scramble(connection_id);
    if framed
        .write(
            &mut stream,
            &greeting(info, tls.is_some(), connection_id, scramble),
        )
        .await
        .is_err()
    {
        return Err(Unstarted::Silent);
    }
    let mut payload = match framed.read(&mut stream).await {
        Ok(payload) => payload,
        Err(PacketError::Closed) => return Err(Unstarted::Silent),
        Err(err) => return Err(refused(stream, framed, &err)),
    };
    let mut encrypted = false;
    if payload.len() == 32 {
        let request: Result<SslRequest, _> = ParseBuf(&payload).parse(());
        let asks_tls = request
            .as_ref()
            .is_ok_and(|r| r.capabilities().contains(CapabilityFlags::CLIENT_SSL));
        if !asks_tls {
            return Err(Unstarted::Refused(
                Some(Box::new((stream, framed))),
                code::BAD_HANDSHAKE,
                "a handshake response of 32 bytes that is not an SSL request".into(),
            ));
        }
        let Some(acceptor) = tls else {
            return Err(Unstarted::Refused(
                None,
                code::BAD_HANDSHAKE,
                "the client asked for TLS, which the proxy offers only with --client-tls-cert; connect without TLS (--ssl-mode=DISABLED, --skip-ssl, sslMode=DISABLED): the connection is local".into(),
            ));
        };
        stream = match acceptor.accept(stream).await {
            Ok(tls) => Box::new(tls),
            Err(err) => {
                return Err(Unstarted::Refused(
                    None,
                    code::BAD_HANDSHAKE,
                    format!("the client's TLS handshake failed: {err}"),
                ))
            }
        };
        encrypted = true;
        payload = match framed.read(&mut stream).await {
            Ok(payload) => payload,
            Err(err) => return Err(refused(stream, framed, &err)),
        };
    }
    match read_response(&payload, encrypted) {
        Ok((login, plugin)) => Ok(Greeted {
            stream,
            login,
            framed,
            plugin,
        }),
        Err(why) => Err(Unstarted::Refused(
            Some(Box::new((stream, framed))),
            code::BAD_HANDSHAKE,
            why,
        )),
    }
}

fn refused(stream: ClientStream, framed: Framed, err: &PacketError) -> Unstarted {
    let answerable = !matches!(
        err,
        PacketError::Closed | PacketError::Truncated | PacketError::Io(_)
    );
    Unstarted::Refused(
        answerable.then(|| Box::new((stream, framed))),
        code::BAD_HANDSHAKE,
        format!("the client's handshake response could not be read: {err}"),
    )
}

/// The login a handshake response asks for, and the plugin it answered
/// with; else why it cannot be read.
///
/// # Errors
/// A one-line reason.
pub fn read_response(payload: &[u8], encrypted: bool) -> Result<(Login, String), String> {
    let response: HandshakeResponse<'_> = ParseBuf(payload)
        .parse(())
        .map_err(|err| format!("a malformed handshake response ({err})"))?;
    let caps = response.capabilities();
    if !caps.contains(CapabilityFlags::CLIENT_PROTOCOL_41) {
        return Err(
            "the client speaks the protocol of MySQL before 4.1, which the proxy does not".into(),
        );
    }
    if caps.contains(CapabilityFlags::CLIENT_SSL) && !encrypted {
        return Err("the client set CLIENT_SSL but sent no SSL request".into());
    }
    let text = |what: &str, bytes: &[u8]| {
        String::from_utf8(bytes.to_vec()).map_err(|_| format!("the {what} is not UTF-8"))
    };
    let user = text("user name", response.user())?;
    if user.is_empty() {
        return Err(
            "the handshake response names no user; connect as the database user (-u USER)".into(),
        );
    }
    let schema = response
        .db_name()
        .filter(|db| !db.is_empty())
        .map(|db| text("database name", db))
        .transpose()?;
    let mut attributes: Vec<(String, String)> = response
        .connect_attributes()
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, v)| k.len() <= MAX_ATTRIBUTE_LEN && v.len() <= MAX_ATTRIBUTE_LEN)
        .collect();
    attributes.sort();
    attributes.truncate(MAX_ATTRIBUTES);
    let mut capabilities = caps;
    capabilities.remove(CapabilityFlags::CLIENT_SSL | CapabilityFlags::CLIENT_CONNECT_WITH_DB);
    let plugin = response
        .auth_plugin()
        .map(|p| String::from_utf8_lossy(p.as_bytes()).into_owned())
        .unwrap_or_default();
    Ok((
        Login {
            user,
            schema,
            collation: response.collation(),
            capabilities,
            mariadb: response.mariadb_ext_capabilities(),
            attributes,
        },
        plugin,
    ))
}

/// Twenty printable bytes for the handshake's scramble: the client's
/// answer to it is ignored, so they need not be secret, only not NUL.
fn scramble(seed: u32) -> [u8; 20] {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut state = u64::from(seed) << 32 | u64::from(nanos) | 1;
    let mut out = [0u8; 20];
    for byte in &mut out {
        // xorshift64
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *byte = b'!' + (state % 94) as u8;
    }
    out
}

/// The answer to a client's login: OK, with the sequence it expects.
///
/// # Errors
/// The write's.
pub async fn welcome(stream: &mut ClientStream, framed: &mut Framed) -> std::io::Result<()> {
    framed
        .write(
            stream,
            &packet::ok(StatusFlags::SERVER_STATUS_AUTOCOMMIT.bits()),
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use mysql_common::constants::MariadbCapabilities;
    use mysql_common::packets::AuthPlugin;
    use std::collections::HashMap;

    fn info() -> ServerInfo {
        ServerInfo {
            version: b"5.5.5-10.11.6-MariaDB".to_vec(),
            capabilities: CapabilityFlags::all() - CapabilityFlags::CLIENT_LONG_PASSWORD,
            mariadb: MariadbCapabilities::MARIADB_CLIENT_STMT_BULK_OPERATIONS,
            collation: 45,
        }
    }

    #[test]
    fn greets_with_the_servers_version_and_no_compression_or_tls_unless_set_up() {
        let bytes = greeting(&info(), false, 7, scramble(7));
        let packet: HandshakePacket<'_> = ParseBuf(&bytes).parse(()).unwrap();
        assert_eq!(packet.server_version_ref(), b"5.5.5-10.11.6-MariaDB");
        assert_eq!(packet.connection_id(), 7);
        assert!(!packet
            .capabilities()
            .contains(CapabilityFlags::CLIENT_COMPRESS));
        assert!(!packet.capabilities().contains(CapabilityFlags::CLIENT_SSL));
        assert_eq!(packet.auth_plugin_name_ref(), Some(GREETING_PLUGIN));
        assert_eq!(
            packet.mariadb_ext_capabilities(),
            MariadbCapabilities::MARIADB_CLIENT_STMT_BULK_OPERATIONS
        );
        assert!(!packet.nonce().contains(&0));
        let bytes = greeting(&info(), true, 7, scramble(7));
        let tls: HandshakePacket<'_> = ParseBuf(&bytes).parse(()).unwrap();
        assert!(tls.capabilities().contains(CapabilityFlags::CLIENT_SSL));
    }

    fn response(plugin: AuthPlugin<'static>, db: Option<&str>) -> Vec<u8> {
        let attrs: HashMap<String, String> =
            [("_client_name".to_owned(), "libmariadb".to_owned())].into();
        let packet = HandshakeResponse::new(
            Some(b"ignored-password-hash".as_slice()),
            (10, 11, 6),
            Some(b"app_user".as_slice()),
            db.map(str::as_bytes),
            Some(plugin),
            CapabilityFlags::CLIENT_PROTOCOL_41
                | CapabilityFlags::CLIENT_SECURE_CONNECTION
                | CapabilityFlags::CLIENT_DEPRECATE_EOF,
            Some(attrs),
            1 << 24,
        );
        let mut out = Vec::new();
        packet.serialize(&mut out);
        out
    }

    #[test]
    fn reads_user_schema_and_capabilities_whatever_the_plugin() {
        for plugin in [
            AuthPlugin::MysqlNativePassword,
            AuthPlugin::CachingSha2Password,
            AuthPlugin::MysqlClearPassword,
            AuthPlugin::Ed25519,
        ] {
            let name = String::from_utf8_lossy(plugin.as_bytes()).into_owned();
            let (login, used) = read_response(&response(plugin, Some("shop")), false).unwrap();
            assert_eq!(used, name);
            assert_eq!(login.user, "app_user");
            assert_eq!(login.schema.as_deref(), Some("shop"));
            assert!(login
                .capabilities
                .contains(CapabilityFlags::CLIENT_DEPRECATE_EOF));
            assert!(!login
                .capabilities
                .contains(CapabilityFlags::CLIENT_CONNECT_WITH_DB));
            assert_eq!(
                login.attributes,
                [("_client_name".into(), "libmariadb".into())]
            );
        }
        let (login, _) =
            read_response(&response(AuthPlugin::MysqlNativePassword, None), false).unwrap();
        assert_eq!(login.schema, None);
    }

    #[test]
    fn refuses_what_it_cannot_read_with_a_reason() {
        assert!(read_response(b"\x00\x00", false)
            .unwrap_err()
            .contains("malformed"));
        let mut old = response(AuthPlugin::MysqlNativePassword, None);
        old[1] &= !0x02; // CLIENT_PROTOCOL_41 is 0x200: byte 1, bit 1.
        assert!(read_response(&old, false).unwrap_err().contains("4.1"));
    }
}
