//! Everything after the login, relayed both ways unchanged, sequence ids
//! and all, while the proxy follows packet boundaries to find the two
//! commands it answers itself: `COM_QUIT` (the client is done; its server
//! connection may be reset and kept) and `COM_CHANGE_USER` (a new login,
//! with a token for the new user).
//!
//! Each direction is a [`Pipe`] whose state lives outside the future that
//! moves its bytes, so that either can be dropped at any await (the other
//! direction had something to say) without losing a byte: a read that has
//! not finished took nothing, and a write that has not finished wrote
//! nothing.

use bytes::{Buf, BytesMut};
use prometheus_client::metrics::counter::Counter;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::packet::{COM_CHANGE_USER, COM_QUIT};

/// How many bytes each direction reads at a time.
const CHUNK: usize = 16 * 1024;

/// The longest COM_CHANGE_USER the proxy reads.
pub const MAX_CHANGE_USER: usize = 64 * 1024;

/// What a step of a direction found. Its `Debug` shows a held
/// COM_CHANGE_USER's length only: the packet carries the client's answer
/// to its password plugin.
#[derive(PartialEq, Eq)]
pub enum Event {
    /// Bytes went through.
    Moved,
    /// The sender closed its side (or it failed); `clean` when at a packet
    /// boundary with nothing left to pass on.
    Closed { clean: bool },
    /// The client sent COM_QUIT, everything before it passed on.
    Quit,
    /// The client sent COM_CHANGE_USER, whole (header and payload), and
    /// everything before it passed on.
    ChangeUser(Vec<u8>),
    /// A COM_CHANGE_USER over [`MAX_CHANGE_USER`].
    ChangeUserTooLarge,
    /// The receiver failed.
    WriteFailed,
}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Event::Moved => f.write_str("Moved"),
            Event::Closed { clean } => f.debug_struct("Closed").field("clean", clean).finish(),
            Event::Quit => f.write_str("Quit"),
            Event::ChangeUser(packet) => write!(f, "ChangeUser({} bytes)", packet.len()),
            Event::ChangeUserTooLarge => f.write_str("ChangeUserTooLarge"),
            Event::WriteFailed => f.write_str("WriteFailed"),
        }
    }
}

/// One direction's bytes and what is known of their packets.
#[derive(Debug)]
pub struct Pipe {
    buf: BytesMut,
    /// Bytes at the head of `buf` whose packets are known: to pass on.
    cleared: usize,
    /// Bytes of the packet being passed on that are not in `buf` yet.
    in_packet: usize,
    /// Whether this direction carries the client's commands, to look at.
    commands: bool,
    /// Written but maybe not flushed (TLS holds bytes back).
    unflushed: bool,
    /// The last packet to start (server side): 0xFB at sequence 1, a
    /// LOCAL INFILE request, which the client answers with file bytes.
    pub infile: bool,
    bytes: Counter,
}

impl Pipe {
    /// A direction: `commands` for the client's, whose COM_QUIT and
    /// COM_CHANGE_USER are held; `rest`, bytes already read.
    pub fn new(commands: bool, rest: BytesMut, bytes: Counter) -> Pipe {
        Pipe {
            buf: rest,
            cleared: 0,
            in_packet: 0,
            commands,
            unflushed: false,
            infile: false,
            bytes,
        }
    }

    /// At a packet boundary with nothing held.
    pub fn at_boundary(&self) -> bool {
        self.buf.is_empty() && self.in_packet == 0
    }

    /// Marks what the buffer's packets allow to pass, up to a command to
    /// hold; returns it when it is at the head.
    fn scan(&mut self) -> Option<Event> {
        loop {
            if self.in_packet > 0 {
                let take = self.in_packet.min(self.buf.len() - self.cleared);
                self.cleared += take;
                self.in_packet -= take;
                if self.in_packet > 0 {
                    return None;
                }
            }
            let rest = &self.buf[self.cleared..];
            if rest.len() < 4 {
                return None;
            }
            let len = usize::from(rest[0]) | usize::from(rest[1]) << 8 | usize::from(rest[2]) << 16;
            let seq = rest[3];
            if len > 0 && rest.len() < 5 {
                return None;
            }
            // An empty packet has no first byte: the next packet's is not its.
            let first = if len > 0 { rest.get(4).copied() } else { None };
            if self.commands {
                if seq == 0 {
                    self.infile = false;
                    match first {
                        Some(COM_QUIT) if len == 1 => {
                            if self.cleared > 0 {
                                return None;
                            }
                            self.buf.advance(5);
                            return Some(Event::Quit);
                        }
                        Some(COM_CHANGE_USER) => {
                            if self.cleared > 0 {
                                return None;
                            }
                            if len > MAX_CHANGE_USER {
                                return Some(Event::ChangeUserTooLarge);
                            }
                            if rest.len() < 4 + len {
                                return None;
                            }
                            let packet = self.buf.split_to(4 + len).to_vec();
                            return Some(Event::ChangeUser(packet));
                        }
                        _ => {}
                    }
                }
            } else if seq == 1 {
                self.infile = first == Some(0xfb);
            }
            self.in_packet = 4 + len;
        }
    }

    /// Moves bytes from `from` to `to` until something happens.
    pub async fn step(
        &mut self,
        from: &mut (impl AsyncRead + Unpin),
        to: &mut (impl AsyncWrite + Unpin),
    ) -> Event {
        loop {
            if let Some(event) = self.scan() {
                return event;
            }
            if self.cleared > 0 {
                match to.write(&self.buf[..self.cleared]).await {
                    Ok(0) | Err(_) => return Event::WriteFailed,
                    Ok(n) => {
                        self.buf.advance(n);
                        self.cleared -= n;
                        self.bytes.inc_by(n as u64);
                        self.unflushed = true;
                    }
                }
                continue;
            }
            if self.unflushed {
                if to.flush().await.is_err() {
                    return Event::WriteFailed;
                }
                self.unflushed = false;
                return Event::Moved;
            }
            self.buf.reserve(CHUNK);
            match from.read_buf(&mut self.buf).await {
                Ok(0) | Err(_) => {
                    return Event::Closed {
                        clean: self.at_boundary(),
                    }
                }
                Ok(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(seq: u8, payload: &[u8]) -> Vec<u8> {
        let len = payload.len();
        let mut out = vec![len as u8, (len >> 8) as u8, (len >> 16) as u8, seq];
        out.extend_from_slice(payload);
        out
    }

    async fn run(pipe: &mut Pipe, input: &[u8]) -> (Vec<Event>, Vec<u8>) {
        let mut from = input;
        let mut to = Vec::new();
        let mut events = Vec::new();
        loop {
            let event = pipe.step(&mut from, &mut to).await;
            let done = !matches!(event, Event::Moved);
            events.push(event);
            if done {
                return (events, to);
            }
        }
    }

    #[tokio::test]
    async fn passes_commands_on_and_holds_quit_and_change_user() {
        let query = packet(0, b"\x03SELECT 1");
        let quit = packet(0, &[COM_QUIT]);
        let mut input = query.clone();
        input.extend_from_slice(&quit);
        let mut pipe = Pipe::new(true, BytesMut::new(), Counter::default());
        let (events, out) = run(&mut pipe, &input).await;
        assert_eq!(out, query);
        assert_eq!(events.last(), Some(&Event::Quit));

        let change = packet(0, b"\x11bob\0\0shop\0");
        let mut input = query.clone();
        input.extend_from_slice(&change);
        let mut pipe = Pipe::new(true, BytesMut::new(), Counter::default());
        let (events, out) = run(&mut pipe, &input).await;
        assert_eq!(out, query);
        assert_eq!(events.last(), Some(&Event::ChangeUser(change)));
    }

    #[tokio::test]
    async fn a_quit_byte_inside_a_packet_or_a_later_sequence_is_data() {
        // COM_QUIT's bytes as LOCAL INFILE data (sequence 2) and inside a query.
        let mut input = packet(2, &[COM_QUIT]);
        input.extend_from_slice(&packet(0, b"\x03\x01\x00\x00\x00\x01"));
        let mut pipe = Pipe::new(true, BytesMut::new(), Counter::default());
        let (events, out) = run(&mut pipe, &input).await;
        assert_eq!(out, input);
        assert_eq!(events.last(), Some(&Event::Closed { clean: true }));
    }

    #[tokio::test]
    async fn the_server_side_marks_local_infile_requests_and_ends_unclean_mid_packet() {
        let mut pipe = Pipe::new(false, BytesMut::new(), Counter::default());
        let (_, out) = run(&mut pipe, &packet(1, b"\xfb/etc/data.csv")).await;
        assert_eq!(out.len(), 18);
        assert!(pipe.infile);
        let mut pipe = Pipe::new(false, BytesMut::new(), Counter::default());
        let half = &packet(1, b"\x00\x00\x00\x02\x00\x00\x00")[..6];
        let (events, _) = run(&mut pipe, half).await;
        assert_eq!(events.last(), Some(&Event::Closed { clean: false }));
    }

    #[test]
    fn a_held_change_of_user_shows_its_length_only() {
        let event = Event::ChangeUser(packet(0, b"\x11bob\0\x06secret\0"));
        assert_eq!(format!("{event:?}"), "ChangeUser(17 bytes)");
    }

    #[tokio::test]
    async fn an_empty_packet_is_not_a_command_whatever_follows_it() {
        // Found by the mysql_packets fuzz target: the byte after an empty
        // packet's header was taken for its command.
        let mut input = packet(0, b"");
        input.extend_from_slice(&packet(1, b"\x11bob\0\0\0"));
        input.extend_from_slice(&packet(0, b""));
        input.extend_from_slice(&[1, 0, 0, 0, COM_QUIT]);
        let mut pipe = Pipe::new(true, BytesMut::new(), Counter::default());
        let (events, out) = run(&mut pipe, &input).await;
        assert_eq!(out, input[..input.len() - 5]);
        assert_eq!(events.last(), Some(&Event::Quit));
    }

    #[tokio::test]
    async fn a_change_user_over_the_bound_is_refused_before_it_is_read() {
        let header = [0xff, 0xff, 0x01, 0, COM_CHANGE_USER];
        let mut pipe = Pipe::new(true, BytesMut::new(), Counter::default());
        let (events, out) = run(&mut pipe, &header).await;
        assert!(out.is_empty());
        assert_eq!(events.last(), Some(&Event::ChangeUserTooLarge));
    }
}
