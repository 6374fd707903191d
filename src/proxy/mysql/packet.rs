//! MySQL packets during a login, on either side: whole packets read with
//! mysql_common's codec (sequence ids checked) under a size bound, and the
//! few packets the proxy writes in the server's role (OK and ERR).

use std::io;

use bytes::BytesMut;
use mysql_common::packets::{ErrPacket, ServerError, SqlState};
use mysql_common::proto::codec::error::PacketCodecError;
use mysql_common::proto::codec::PacketCodec;
use mysql_common::proto::MySerialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The longest packet read during a login, either side: handshakes,
/// attributes and errors are short.
pub const MAX_LOGIN_PACKET: usize = 64 * 1024;

/// `COM_QUIT`.
pub const COM_QUIT: u8 = 0x01;
/// `COM_INIT_DB`.
pub const COM_INIT_DB: u8 = 0x02;
/// `COM_QUERY`.
pub const COM_QUERY: u8 = 0x03;
/// `COM_CHANGE_USER`.
pub const COM_CHANGE_USER: u8 = 0x11;
/// `COM_RESET_CONNECTION`.
pub const COM_RESET_CONNECTION: u8 = 0x1f;

/// MySQL's error codes and SQL states the proxy answers with.
pub mod code {
    /// `ER_ACCESS_DENIED_ERROR`: no token, a refused or pinned user.
    pub const ACCESS_DENIED: (u16, &str) = (1045, "28000");
    /// `ER_CON_COUNT_ERROR`: `--max-connections` reached.
    pub const TOO_MANY_CONNECTIONS: (u16, &str) = (1040, "08004");
    /// `ER_HANDSHAKE_ERROR`: a handshake the proxy cannot read.
    pub const BAD_HANDSHAKE: (u16, &str) = (1043, "08S01");
    /// `ER_CONNECT_TO_FOREIGN_DATA_SOURCE`: the proxy cannot reach or
    /// verify the server. (Client codes, 2000 to 2999, are not for servers
    /// to send: libmariadb calls such a packet malformed.)
    pub const CANNOT_CONNECT: (u16, &str) = (1429, "HY000");
    /// `ER_NOT_SUPPORTED_AUTH_MODE`: the server wants another method.
    pub const NOT_SUPPORTED_AUTH: (u16, &str) = (1251, "08004");
}

/// Why reading a packet failed.
#[derive(Debug, thiserror::Error)]
pub enum PacketError {
    #[error("the connection closed")]
    Closed,
    #[error("the connection closed mid-packet")]
    Truncated,
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("a packet over the {MAX_LOGIN_PACKET} bytes a login takes")]
    TooLarge,
    #[error("a packet out of sequence")]
    OutOfSequence,
    #[error("a compressed packet, though compression is off")]
    Compressed,
}

/// One side of a login: the codec that frames packets and keeps their
/// sequence ids.
#[derive(Debug)]
pub struct Framed {
    codec: PacketCodec,
    buf: BytesMut,
}

impl Default for Framed {
    fn default() -> Self {
        let mut codec = PacketCodec::default();
        codec.max_allowed_packet = MAX_LOGIN_PACKET;
        Framed {
            codec,
            buf: BytesMut::with_capacity(1024),
        }
    }
}

impl Framed {
    /// The sequence id the next packet carries, either way.
    pub fn reset(&mut self) {
        self.codec.reset_seq_id();
    }

    /// Reads one whole packet's payload, and not a byte past it: what
    /// follows may be a TLS handshake, for another reader.
    ///
    /// # Errors
    /// [`PacketError`]; [`PacketError::Closed`] only when the connection
    /// closed before the packet's first byte.
    pub async fn read(
        &mut self,
        stream: &mut (impl AsyncRead + Unpin),
    ) -> Result<Vec<u8>, PacketError> {
        let mut header = [0u8; 4];
        let mut filled = 0;
        while filled < 4 {
            match stream.read(&mut header[filled..]).await? {
                0 if filled == 0 => return Err(PacketError::Closed),
                0 => return Err(PacketError::Truncated),
                n => filled += n,
            }
        }
        let len =
            usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
        if len > MAX_LOGIN_PACKET {
            return Err(PacketError::TooLarge);
        }
        self.buf.clear();
        self.buf.extend_from_slice(&header);
        self.buf.resize(4 + len, 0);
        stream
            .read_exact(&mut self.buf[4..])
            .await
            .map_err(|err| match err.kind() {
                io::ErrorKind::UnexpectedEof => PacketError::Truncated,
                _ => PacketError::Io(err),
            })?;
        let mut payload = Vec::with_capacity(len);
        match self.codec.decode(&mut self.buf, &mut payload) {
            Ok(true) => Ok(payload),
            // A whole packet was read: only a bad sequence id is left.
            Ok(false) | Err(PacketCodecError::PacketsOutOfSync) => Err(PacketError::OutOfSequence),
            Err(PacketCodecError::PacketTooLarge) => Err(PacketError::TooLarge),
            Err(PacketCodecError::BadCompressedPacketHeader) => Err(PacketError::Compressed),
            Err(PacketCodecError::Io(err)) => Err(PacketError::Io(err)),
        }
    }

    /// Writes `payload` as the next packet, and flushes it.
    ///
    /// # Errors
    /// The write's.
    pub async fn write(
        &mut self,
        stream: &mut (impl AsyncWrite + Unpin),
        payload: &[u8],
    ) -> io::Result<()> {
        let mut out = BytesMut::with_capacity(payload.len() + 4);
        self.codec
            .encode(&mut &payload[..], &mut out)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a packet too large"))?;
        stream.write_all(&out).await?;
        stream.flush().await
    }
}

/// `payload` as a packet with sequence id `seq`.
pub fn frame(seq: u8, payload: &[u8]) -> Vec<u8> {
    let len = payload.len();
    let mut out = Vec::with_capacity(len + 4);
    out.extend_from_slice(&[len as u8, (len >> 8) as u8, (len >> 16) as u8, seq]);
    out.extend_from_slice(payload);
    out
}

/// The longest message of an ERR packet: clients keep 512 bytes with the
/// NUL (MYSQL_ERRMSG_SIZE), and libmariadb calls a longer one malformed.
pub const MAX_MESSAGE: usize = 511;

/// An ERR packet's payload: `code`, its SQL state and `message`, cut to
/// [`MAX_MESSAGE`] bytes at a character boundary.
pub fn err(code: (u16, &str), message: &str) -> Vec<u8> {
    let mut end = message.len().min(MAX_MESSAGE);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    let message = &message[..end];
    let mut state = [b'H', b'Y', b'0', b'0', b'0'];
    if code.1.len() == 5 {
        state.copy_from_slice(code.1.as_bytes());
    }
    let packet = ErrPacket::Error(ServerError::new(
        code.0,
        Some(SqlState::new(state)),
        message.as_bytes(),
    ));
    let mut out = Vec::with_capacity(message.len() + 9);
    packet.serialize(&mut out);
    out
}

/// An OK packet's payload with `status` flags and nothing affected.
pub fn ok(status: u16) -> Vec<u8> {
    let [low, high] = status.to_le_bytes();
    vec![0x00, 0, 0, low, high, 0, 0]
}

/// The error code, SQL state and message of an ERR packet's payload.
pub fn parse_err(payload: &[u8]) -> Option<(u16, String, String)> {
    use mysql_common::constants::CapabilityFlags;
    use mysql_common::io::ParseBuf;
    let packet: ErrPacket<'_> = ParseBuf(payload)
        .parse(CapabilityFlags::CLIENT_PROTOCOL_41)
        .ok()?;
    match packet {
        ErrPacket::Error(error) => Some((
            error.error_code(),
            error
                .sql_state_ref()
                .map(|s| s.as_str().into_owned())
                .unwrap_or_default(),
            String::from_utf8_lossy(error.message_ref()).into_owned(),
        )),
        ErrPacket::Progress(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_err_packets_mysql_common_reads_back() {
        let payload = err(code::ACCESS_DENIED, "no token for app");
        assert_eq!(payload[0], 0xff);
        assert_eq!(
            parse_err(&payload),
            Some((1045, "28000".into(), "no token for app".into()))
        );
        assert_eq!(ok(2), [0, 0, 0, 2, 0, 0, 0]);
        let long = "é".repeat(400);
        let (_, _, message) = parse_err(&err(code::CANNOT_CONNECT, &long)).unwrap();
        assert_eq!(message.len(), 510);
    }

    #[tokio::test]
    async fn reads_packets_in_sequence_under_the_bound() {
        let mut framed = Framed::default();
        let mut wire = Vec::new();
        framed.write(&mut wire, b"hello").await.unwrap();
        framed.write(&mut wire, b"again").await.unwrap();
        assert_eq!(&wire[..4], &[5, 0, 0, 0]);
        assert_eq!(&wire[9..13], &[5, 0, 0, 1]);
        let mut reader = Framed::default();
        let mut input = &wire[..];
        assert_eq!(reader.read(&mut input).await.unwrap(), b"hello");
        assert_eq!(reader.read(&mut input).await.unwrap(), b"again");
        assert!(matches!(
            reader.read(&mut input).await,
            Err(PacketError::Closed)
        ));
        // Sequence 5 where 0 is due.
        let mut input: &[u8] = &[1, 0, 0, 5, b'x'];
        assert!(matches!(
            Framed::default().read(&mut input).await,
            Err(PacketError::OutOfSequence)
        ));
        // A header announcing 16 MiB - 1 is refused before it is read.
        let mut input: &[u8] = &[0xff, 0xff, 0xff, 0, 0];
        assert!(matches!(
            Framed::default().read(&mut input).await,
            Err(PacketError::TooLarge)
        ));
        // Half a packet.
        let mut input: &[u8] = &[5, 0, 0, 0, b'x'];
        assert!(matches!(
            Framed::default().read(&mut input).await,
            Err(PacketError::Truncated)
        ));
    }
}
