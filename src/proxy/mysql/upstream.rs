//! The server side: a TCP connection to the database (or its tunnel), the
//! server's handshake read, the SSL request and a TLS handshake that
//! verifies the certificate for the endpoint's name, then the login with a
//! token through `mysql_clear_password` (or MariaDB's `dialog`, when the
//! server asks for it).

use std::fmt;
use std::time::Duration;

use mysql_common::constants::{CapabilityFlags, MariadbCapabilities};
use mysql_common::io::ParseBuf;
use mysql_common::packets::{
    AuthPlugin, AuthSwitchRequest, HandshakePacket, HandshakeResponse, SslRequest,
};
use mysql_common::proto::MySerialize;
use tokio::io::AsyncWriteExt;

use super::packet::{self, Framed, PacketError, COM_CHANGE_USER};
use crate::proxy::pool::Kept;
use crate::proxy::target::{HandshakeError, Target};
use crate::proxy::ServerStream;
use crate::tls::verify::Refusal;

/// How long connecting, TLS and the login may take together.
pub const LOGIN_TIMEOUT: Duration = Duration::from_secs(15);

/// The largest packet the proxy says it sends (`max_packet_size`).
pub const MAX_PACKET: u32 = 16 * 1024 * 1024;

/// What the server's handshake says of it, kept to greet clients with.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    pub version: Vec<u8>,
    pub capabilities: CapabilityFlags,
    pub mariadb: MariadbCapabilities,
    pub collation: u8,
}

/// What a server connection logs in with: the client's choices.
#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    pub user: String,
    /// The default schema, if any.
    pub schema: Option<String>,
    pub collation: u8,
    /// The client's capabilities, as it chose them from the proxy's.
    pub capabilities: CapabilityFlags,
    pub mariadb: MariadbCapabilities,
    /// Connection attributes passed on (program name and the like).
    pub attributes: Vec<(String, String)>,
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login")
            .field("user", &self.user)
            .field("schema", &self.schema)
            .field("collation", &self.collation)
            .finish_non_exhaustive()
    }
}

impl Login {
    /// The pool key: what a kept connection must have been logged in with
    /// to serve this client (attributes aside).
    pub fn key(&self) -> crate::proxy::pool::Key {
        vec![
            ("user".into(), self.user.clone()),
            ("schema".into(), self.schema.clone().unwrap_or_default()),
            ("collation".into(), self.collation.to_string()),
            (
                "capabilities".into(),
                format!("{:x}", self.capabilities.bits()),
            ),
            ("mariadb".into(), format!("{:x}", self.mariadb.bits())),
        ]
    }
}

/// A server connection whose handshake was read: TLS and the login are
/// still to come, with the capabilities of the client it is for (the SSL
/// request carries them, and the server keeps those).
pub struct Connected {
    tcp: tokio::net::TcpStream,
    pub info: ServerInfo,
    framed: Framed,
}

/// A server connection logged in, ready for commands.
pub struct Server {
    pub stream: ServerStream,
    pub login: Login,
    /// The capabilities it was logged in with.
    pub capabilities: CapabilityFlags,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("login", &self.login)
            .finish_non_exhaustive()
    }
}

impl Kept for Server {
    fn stream(&mut self) -> &mut ServerStream {
        &mut self.stream
    }

    fn goodbye(&self) -> &'static [u8] {
        // COM_QUIT.
        &[1, 0, 0, 0, packet::COM_QUIT]
    }
}

/// Why a server connection or login failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("could not connect to {address}: {source}")]
    Connect {
        address: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the server at {0} does not offer TLS, and the proxy sends a token over verified TLS only"
    )]
    NoTls(String),
    #[error("the server at {address} is not a MySQL or MariaDB server: {why}")]
    NotMysql { address: String, why: String },
    #[error("{0}")]
    Tls(Refusal),
    #[error("the connection to the server failed {during}: {source}")]
    Io {
        during: &'static str,
        #[source]
        source: PacketError,
    },
    #[error("the server did not finish {0} within {secs} s", secs = LOGIN_TIMEOUT.as_secs())]
    Timeout(&'static str),
    #[error("the server asked for the {0} plugin, not a clear-text password: the user is not an IAM user; create it IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' (rds-auth-token sql --engine mysql)")]
    NotIam(String),
    /// The server refused; `raw` is its ERR packet's payload.
    #[error("the server refused the login: {message} ({code}, {state})")]
    Refused {
        code: u16,
        state: String,
        message: String,
        raw: Vec<u8>,
    },
    #[error("the server broke the protocol during the login: {0}")]
    Protocol(String),
}

impl LoginError {
    /// A short label for metrics and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            LoginError::Connect { .. } => "connect",
            LoginError::NoTls(_) | LoginError::Tls(_) => "tls",
            LoginError::NotMysql { .. } | LoginError::Protocol(_) => "protocol",
            LoginError::Io { .. } => "io",
            LoginError::Timeout(_) => "timeout",
            LoginError::NotIam(_) => "not_iam",
            LoginError::Refused { .. } => "refused",
        }
    }

    /// What to do about it, if there is more to say than the message.
    pub fn hint(&self) -> Option<String> {
        match self {
            LoginError::Connect { .. } => Some("check the endpoint's name and port (--hostname, --port), or the tunnel's address (--via), and that a security group lets this machine in".into()),
            LoginError::NoTls(_) => Some("connect to the RDS endpoint itself, where TLS is always on".into()),
            LoginError::Tls(refused) => Some(refused.fix.clone()),
            LoginError::Refused { code: 1045, .. } => Some("the token was refused: check that the user is an IAM user (IDENTIFIED WITH AWSAuthenticationPlugin), that the IAM policy allows rds-db:connect for this user and the database's resource id (rds-auth-token policy), and the region (--region)".into()),
            _ => None,
        }
    }
}

fn io(during: &'static str) -> impl FnOnce(PacketError) -> LoginError {
    move |source| LoginError::Io { during, source }
}

/// Connects to `target` and reads the server's handshake.
///
/// # Errors
/// [`LoginError`]: no connection, a server that is not MySQL's, or one
/// that does not offer TLS.
pub async fn connect(target: &Target) -> Result<(Connected, std::time::Duration), LoginError> {
    let address = target.address();
    let (mut tcp, connect) = target.tcp().await.map_err(|source| LoginError::Connect {
        address: address.clone(),
        source,
    })?;
    let mut framed = Framed::default();
    let greeting = framed
        .read(&mut tcp)
        .await
        .map_err(io("reading the server's handshake"))?;
    let info = parse_greeting(&greeting, &address)?;
    Ok((Connected { tcp, info, framed }, connect))
}

/// What the server's first packet says of it: its handshake (protocol 10,
/// offering TLS), or why the proxy cannot log in there.
///
/// # Errors
/// [`LoginError::Refused`] for an ERR packet (too many connections, a
/// blocked host), [`LoginError::NotMysql`] for anything but a handshake,
/// [`LoginError::NoTls`] for a server without TLS.
pub fn parse_greeting(greeting: &[u8], address: &str) -> Result<ServerInfo, LoginError> {
    if greeting.first() == Some(&0xff) {
        // Refused before the handshake: too many connections, a blocked host.
        let (code, state, message) = packet::parse_err(greeting).unwrap_or_default();
        return Err(LoginError::Refused {
            code,
            state,
            message,
            raw: greeting.to_vec(),
        });
    }
    // mysql_common reads the scramble's length byte as a signed number,
    // which overflows (a panic in debug builds) from 128 on: refuse those
    // first. Found by the mysql_login fuzz target.
    // The protocol version's byte, then the server version up to its NUL.
    let version_end = greeting
        .get(1..)
        .and_then(|version| version.iter().position(|b| *b == 0))
        .map_or(greeting.len(), |at| at + 1);
    if greeting
        .get(version_end + 21)
        .is_some_and(|len| *len >= 0x80)
    {
        return Err(LoginError::NotMysql {
            address: address.to_owned(),
            why: "its handshake announces a scramble of 128 bytes or more".into(),
        });
    }
    let handshake: HandshakePacket<'_> =
        ParseBuf(greeting)
            .parse(())
            .map_err(|err| LoginError::NotMysql {
                address: address.to_owned(),
                why: format!("its first packet is not a handshake ({err})"),
            })?;
    if handshake.protocol_version() != 10 {
        return Err(LoginError::NotMysql {
            address: address.to_owned(),
            why: format!("protocol version {}", handshake.protocol_version()),
        });
    }
    let info = ServerInfo {
        version: handshake.server_version_ref().to_vec(),
        capabilities: handshake.capabilities(),
        mariadb: handshake.mariadb_ext_capabilities(),
        collation: handshake.default_collation(),
    };
    if !info.capabilities.contains(CapabilityFlags::CLIENT_SSL) {
        return Err(LoginError::NoTls(address.to_owned()));
    }
    Ok(info)
}

/// Asks for TLS with the capabilities of the login to come, and verifies
/// the certificate against the target's CAs and for its name.
async fn start_tls(
    connected: Connected,
    target: &Target,
    caps: CapabilityFlags,
    login: &Login,
) -> Result<(ServerStream, Framed, std::time::Duration), LoginError> {
    let Connected {
        mut tcp,
        info,
        mut framed,
    } = connected;
    let request = SslRequest::new(caps, MAX_PACKET, login.collation)
        .with_mariadb_capabilities(login.mariadb & info.mariadb);
    let mut out = Vec::with_capacity(32);
    request.serialize(&mut out);
    framed
        .write(&mut tcp, &out)
        .await
        .map_err(|err| io("sending the SSL request")(err.into()))?;
    let (stream, tls) = target.handshake(tcp).await.map_err(|err| match err {
        HandshakeError::Name(why) => LoginError::Protocol(why),
        HandshakeError::Tls(refused) => LoginError::Tls(refused),
        HandshakeError::Io(source) => LoginError::Io {
            during: "during the TLS handshake",
            source: source.into(),
        },
    })?;
    Ok((stream, framed, tls))
}

/// Sets up verified TLS over `connected` and closes it: the connection
/// test's check when it has no user to log in as.
///
/// # Errors
/// [`LoginError`]: no TLS, or a certificate that does not verify.
pub async fn check_tls(connected: Connected, target: &Target) -> Result<(), LoginError> {
    let login = Login {
        user: String::new(),
        schema: None,
        collation: connected.info.collation,
        capabilities: required(),
        mariadb: MariadbCapabilities::empty(),
        attributes: Vec::new(),
    };
    let (mut stream, _, _) = start_tls(
        connected,
        target,
        required() | CapabilityFlags::CLIENT_SSL,
        &login,
    )
    .await?;
    let _ = stream.shutdown().await;
    Ok(())
}

/// The capabilities every login upstream has.
fn required() -> CapabilityFlags {
    CapabilityFlags::CLIENT_PROTOCOL_41
        | CapabilityFlags::CLIENT_SECURE_CONNECTION
        | CapabilityFlags::CLIENT_PLUGIN_AUTH
}

/// The capabilities sent upstream for `login` on a server with `info`:
/// the client's, TLS on, compression off, what the login needs.
fn upstream_capabilities(login: &Login, info: &ServerInfo) -> CapabilityFlags {
    let mut caps =
        (login.capabilities & info.capabilities) | required() | CapabilityFlags::CLIENT_SSL;
    caps.remove(
        CapabilityFlags::CLIENT_COMPRESS | CapabilityFlags::CLIENT_ZSTD_COMPRESSION_ALGORITHM,
    );
    caps.set(
        CapabilityFlags::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA,
        info.capabilities
            .contains(CapabilityFlags::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA),
    );
    caps.set(
        CapabilityFlags::CLIENT_CONNECT_WITH_DB,
        login.schema.is_some(),
    );
    caps
}

/// The clear-text auth data: the token and its NUL.
fn clear_text(token: &str) -> Vec<u8> {
    let mut data = Vec::with_capacity(token.len() + 1);
    data.extend_from_slice(token.as_bytes());
    data.push(0);
    data
}

/// Logs in over `connected` as `login.user` with `token`, over TLS
/// verified for `target`; how long the TLS handshake took.
///
/// # Errors
/// [`LoginError`]: no TLS, a certificate that does not verify, the server
/// refused, asked for a method other than a clear-text password, or broke
/// the protocol.
pub async fn login(
    connected: Connected,
    target: &Target,
    login: Login,
    token: &str,
) -> Result<(Server, std::time::Duration), LoginError> {
    let caps = upstream_capabilities(&login, &connected.info);
    let mariadb = login.mariadb & connected.info.mariadb;
    let (mut stream, mut framed, tls) = start_tls(connected, target, caps, &login).await?;
    // The token goes in the handshake response when its length can be
    // written there (lenenc); else an empty answer for another plugin makes
    // the server ask for the clear-text one.
    let lenenc = caps.contains(CapabilityFlags::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA);
    let (plugin, data) = if lenenc {
        (AuthPlugin::MysqlClearPassword, clear_text(token))
    } else {
        (AuthPlugin::MysqlNativePassword, Vec::new())
    };
    let attributes = (caps.contains(CapabilityFlags::CLIENT_CONNECT_ATTRS)
        && !login.attributes.is_empty())
    .then(|| login.attributes.iter().cloned().collect());
    let response = HandshakeResponse::new(
        Some(data),
        (8, 0, 0),
        Some(login.user.as_bytes()),
        login.schema.as_deref().map(str::as_bytes),
        Some(plugin),
        caps,
        attributes,
        MAX_PACKET,
    )
    .with_mariadb_ext_capabilities(mariadb);
    let mut out = Vec::with_capacity(token.len() + 256);
    response.serialize(&mut out);
    // The client's character set, which HandshakeResponse::new does not take.
    out[8] = login.collation;
    framed
        .write(&mut stream, &out)
        .await
        .map_err(|err| io("sending the handshake response")(err.into()))?;
    authenticate(&mut stream, &mut framed, token).await?;
    Ok((
        Server {
            stream,
            login,
            capabilities: caps,
        },
        tls,
    ))
}

/// Answers the server after a handshake response or COM_CHANGE_USER: the
/// token for an auth switch to `mysql_clear_password` or `dialog`, until
/// OK (returned) or ERR.
async fn authenticate(
    stream: &mut ServerStream,
    framed: &mut Framed,
    token: &str,
) -> Result<Vec<u8>, LoginError> {
    for _ in 0..4 {
        let answer = framed
            .read(stream)
            .await
            .map_err(io("reading the server's answer to the login"))?;
        match answer.first() {
            Some(0x00) => return Ok(answer),
            Some(0xff) => {
                let (code, state, message) = packet::parse_err(&answer)
                    .ok_or_else(|| LoginError::Protocol("a malformed ERR packet".into()))?;
                return Err(LoginError::Refused {
                    code,
                    state,
                    message,
                    raw: answer,
                });
            }
            Some(0xfe) => {
                let switch: AuthSwitchRequest<'_> = ParseBuf(&answer)
                    .parse(())
                    .map_err(|_| LoginError::Protocol("a malformed auth switch request".into()))?;
                match switch.auth_plugin() {
                    AuthPlugin::MysqlClearPassword => {}
                    AuthPlugin::Other(name) if &*name == b"dialog" => {}
                    other => {
                        return Err(LoginError::NotIam(
                            String::from_utf8_lossy(other.as_bytes()).into_owned(),
                        ))
                    }
                }
                framed
                    .write(stream, &clear_text(token))
                    .await
                    .map_err(|err| io("sending the token")(err.into()))?;
            }
            // MariaDB's dialog asks again with a 0x02 or 0x04 prompt.
            Some(0x02 | 0x04) => {
                framed
                    .write(stream, &clear_text(token))
                    .await
                    .map_err(|err| io("sending the token")(err.into()))?;
            }
            Some(0x01) => {
                return Err(LoginError::NotIam(
                    "caching_sha2_password or sha256_password".into(),
                ))
            }
            _ => {
                return Err(LoginError::Protocol(
                    "an unexpected answer to the login".into(),
                ))
            }
        }
    }
    Err(LoginError::Protocol(
        "too many authentication rounds".into(),
    ))
}

/// Changes the user of `server` to `login.user` with `token`
/// (COM_CHANGE_USER, then the clear-text password the server asks for).
/// The server's OK packet's payload is returned for the client.
///
/// # Errors
/// [`LoginError`], after which the connection is not to be used.
pub async fn change_user(
    server: &mut Server,
    login: Login,
    token: &str,
) -> Result<Vec<u8>, LoginError> {
    let mut command = vec![COM_CHANGE_USER];
    command.extend_from_slice(login.user.as_bytes());
    command.push(0);
    // An empty answer for mysql_native_password: the token is longer than
    // the 255 bytes this field holds, so the server is made to ask for the
    // clear-text plugin, whose answer has no such limit.
    command.push(0);
    command.extend_from_slice(login.schema.as_deref().unwrap_or_default().as_bytes());
    command.push(0);
    command.extend_from_slice(&u16::from(login.collation).to_le_bytes());
    command.extend_from_slice(b"mysql_native_password\0");
    if server
        .capabilities
        .contains(CapabilityFlags::CLIENT_CONNECT_ATTRS)
    {
        // No attributes: the server reads their length.
        command.push(0);
    }
    let mut framed = Framed::default();
    framed
        .write(&mut server.stream, &command)
        .await
        .map_err(|err| io("sending COM_CHANGE_USER")(err.into()))?;
    let ok = authenticate(&mut server.stream, &mut framed, token).await?;
    server.login = login;
    Ok(ok)
}

/// How long the reset of a server connection may take.
pub const RESET_TIMEOUT: Duration = Duration::from_secs(5);

/// The most bytes read while resetting: what the client left unread, and
/// the answers.
const MAX_RESET_BYTES: usize = 1024 * 1024;

/// Resets a connection its client has left, for the next client with the
/// same login: `COM_RESET_CONNECTION` (which rolls back, drops temporary
/// tables and prepared statements, and resets variables), `COM_INIT_DB`
/// back to the login's schema, then a query whose answer carries a random
/// nonce and whether the schema is the login's. Everything the server
/// sends before that answer (what the client asked for and never read) is
/// passed over. True when the connection may be kept.
pub async fn reset(server: &mut Server) -> bool {
    matches!(
        tokio::time::timeout(RESET_TIMEOUT, reset_inner(server)).await,
        Ok(Ok(true))
    )
}

async fn reset_inner(server: &mut Server) -> std::io::Result<bool> {
    use tokio::io::AsyncReadExt;
    let mut nonce = [0u8; 16];
    if rustls::crypto::ring::default_provider()
        .secure_random
        .fill(&mut nonce)
        .is_err()
    {
        return Ok(false);
    }
    let nonce: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
    let login = &server.login;
    let check = match &login.schema {
        Some(schema) => {
            let hex: String = schema.bytes().map(|b| format!("{b:02x}")).collect();
            format!("DATABASE() = X'{hex}'")
        }
        None => "DATABASE() IS NULL".into(),
    };
    let query = format!("SELECT {check}, '{nonce}'");
    let mut out = Vec::new();
    let mut command = |payload: &[u8]| {
        let len = payload.len();
        out.extend_from_slice(&[len as u8, (len >> 8) as u8, (len >> 16) as u8, 0]);
        out.extend_from_slice(payload);
    };
    command(&[packet::COM_RESET_CONNECTION]);
    if let Some(schema) = &login.schema {
        let mut init = vec![packet::COM_INIT_DB];
        init.extend_from_slice(schema.as_bytes());
        command(&init);
    }
    let mut select = vec![packet::COM_QUERY];
    if login
        .capabilities
        .contains(CapabilityFlags::CLIENT_QUERY_ATTRIBUTES)
    {
        // No attributes, one set of them.
        select.extend_from_slice(&[0, 1]);
    }
    select.extend_from_slice(query.as_bytes());
    command(&select);
    server.stream.write_all(&out).await?;
    server.stream.flush().await?;
    // The nonce's row: "1" and the nonce, each length-prefixed.
    let mut row = vec![1, b'1', nonce.len() as u8];
    row.extend_from_slice(nonce.as_bytes());
    let answers_before = if login.schema.is_some() { 2 } else { 1 };
    // The first bytes of the latest packets that begin an answer
    // (sequence 1), newest last.
    let mut answers: Vec<u8> = Vec::new();
    let mut read = 0usize;
    loop {
        let mut header = [0u8; 4];
        server.stream.read_exact(&mut header).await?;
        let len =
            usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
        read += 4 + len;
        if read > MAX_RESET_BYTES {
            return Ok(false);
        }
        let mut payload = vec![0u8; len];
        server.stream.read_exact(&mut payload).await?;
        if header[3] == 1 {
            answers.push(payload.first().copied().unwrap_or_default());
            if answers.len() > 4 {
                answers.remove(0);
            }
        }
        if payload.len() == row.len() && payload[2..] == row[2..] && payload[0] == 1 {
            // The column count (2) began our answer; before it, an OK for
            // each command before the query; the schema is the login's.
            let ours = payload[1] == b'1'
                && answers.len() > answers_before
                && answers[answers.len() - 1] == 2
                && answers[answers.len() - 1 - answers_before..answers.len() - 1]
                    .iter()
                    .all(|first| *first == 0x00);
            let mut end = [0u8; 4];
            server.stream.read_exact(&mut end).await?;
            let len = usize::from(end[0]) | usize::from(end[1]) << 8 | usize::from(end[2]) << 16;
            if len > 64 {
                return Ok(false);
            }
            let mut terminator = vec![0u8; len];
            server.stream.read_exact(&mut terminator).await?;
            return Ok(ours && terminator.first() == Some(&0xfe));
        }
    }
}

/// Ends a logged-in connection that will not be kept: COM_QUIT, TLS close.
pub async fn quit(server: &mut Server) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = server.stream.write_all(server.goodbye()).await;
        let _ = server.stream.flush().await;
        let _ = server.stream.shutdown().await;
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login(caps: CapabilityFlags) -> Login {
        Login {
            user: "app".into(),
            schema: Some("shop".into()),
            collation: 45,
            capabilities: caps,
            mariadb: MariadbCapabilities::empty(),
            attributes: vec![],
        }
    }

    #[test]
    fn asks_upstream_for_tls_and_no_compression_whatever_the_client_chose() {
        let server = ServerInfo {
            version: b"8.0.36".to_vec(),
            capabilities: CapabilityFlags::all(),
            mariadb: MariadbCapabilities::empty(),
            collation: 255,
        };
        let client = CapabilityFlags::CLIENT_PROTOCOL_41
            | CapabilityFlags::CLIENT_COMPRESS
            | CapabilityFlags::CLIENT_DEPRECATE_EOF
            | CapabilityFlags::CLIENT_MULTI_RESULTS;
        let caps = upstream_capabilities(&login(client), &server);
        assert!(caps.contains(
            CapabilityFlags::CLIENT_SSL
                | CapabilityFlags::CLIENT_PLUGIN_AUTH
                | CapabilityFlags::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
                | CapabilityFlags::CLIENT_DEPRECATE_EOF
                | CapabilityFlags::CLIENT_MULTI_RESULTS
                | CapabilityFlags::CLIENT_CONNECT_WITH_DB
        ));
        assert!(!caps.contains(CapabilityFlags::CLIENT_COMPRESS));
        assert!(!caps.contains(CapabilityFlags::CLIENT_MULTI_STATEMENTS));
    }

    #[test]
    fn refuses_a_greeting_whose_scramble_length_mysql_common_cannot_read() {
        // Found by the mysql_login fuzz target: a length byte of 128 or
        // more overflowed mysql_common's reader.
        let mut greeting = vec![10];
        greeting.extend_from_slice(b"8.0.36\0");
        greeting.extend_from_slice(&[1, 0, 0, 0]);
        greeting.extend_from_slice(b"abcdefgh\0");
        greeting.extend_from_slice(&[0xff, 0xff, 45, 2, 0, 0xff, 0xff, 0xf0]);
        greeting.extend_from_slice(&[0; 10]);
        greeting.extend_from_slice(&[b'x'; 13]);
        let err = parse_greeting(&greeting, "db:3306").unwrap_err();
        assert!(matches!(err, LoginError::NotMysql { .. }), "{err}");
        // A protocol byte of 0 is not the version's end.
        let mut zero = greeting.clone();
        zero[0] = 0;
        assert!(parse_greeting(&zero, "db:3306").is_err());
        // A protocol byte of 0 is not the version's end.
        let mut zero = greeting.clone();
        zero[0] = 0;
        assert!(parse_greeting(&zero, "db:3306").is_err());
        greeting[7 + 21] = 21;
        assert!(parse_greeting(&greeting, "db:3306").is_ok());
    }

    #[test]
    fn the_pool_key_names_what_a_kept_connection_must_match_and_no_secret() {
        let a = login(CapabilityFlags::CLIENT_PROTOCOL_41);
        let mut b = a.clone();
        b.attributes.push(("program_name".into(), "mysql".into()));
        assert_eq!(a.key(), b.key());
        b.collation = 8;
        assert_ne!(a.key(), b.key());
        assert!(!format!("{a:?}").contains("attributes"));
    }
}
