//! The MySQL packet readers on any stream cut into any chunks: the
//! login's `packet::Framed::read`, and the relay's `relay::Pipe`, which
//! finds packet boundaries as bytes pass and holds COM_QUIT and
//! COM_CHANGE_USER.
//!
//! Byte 0: bit 0 says the pipe carries the client's commands; byte 1: how
//! many chunk sizes follow (at most 15), then the sizes (0 means 1); the
//! rest is the stream. Checks:
//!
//! - `Framed::read` never reads past the packet it returns: what is left
//!   unread is the stream after it, and the packet is at most its bound;
//! - the pipe passes on a prefix of the stream, in order, and the same
//!   bytes and events however the stream is cut;
//! - a held COM_CHANGE_USER is the whole packet as it was in the stream,
//!   at most the bound; a COM_QUIT is held only at a packet start with
//!   sequence 0.
#![no_main]

use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use prometheus_client::metrics::counter::Counter;
use rds_auth_token::proxy::mysql::packet::{Framed, MAX_LOGIN_PACKET};
use rds_auth_token::proxy::mysql::relay::{Event, Pipe, MAX_CHANGE_USER};
use tokio::io::{AsyncRead, ReadBuf};

/// A stream read in the chunks given.
struct Chunked<'a> {
    data: &'a [u8],
    sizes: &'a [u8],
    next: usize,
}

impl AsyncRead for Chunked<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let size = if self.sizes.is_empty() {
            self.data.len()
        } else {
            usize::from(self.sizes[self.next % self.sizes.len()]).max(1)
        };
        self.next += 1;
        let n = size.min(self.data.len()).min(buf.remaining());
        let (head, tail) = self.data.split_at(n);
        buf.put_slice(head);
        self.data = tail;
        Poll::Ready(Ok(()))
    }
}

/// One runtime for every input: making one is most of an input's time.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    })
}

/// What the pipe passed on and the events it reported, to the end.
fn relay(commands: bool, data: &[u8], sizes: &[u8]) -> (Vec<u8>, Vec<Event>) {
    runtime().block_on(async {
        let mut from = Chunked {
            data,
            sizes,
            next: 0,
        };
        let mut to = Vec::new();
        let mut pipe = Pipe::new(commands, BytesMut::new(), Counter::default());
        let mut events = Vec::new();
        for _ in 0..100_000 {
            let event = pipe.step(&mut from, &mut to).await;
            let done = matches!(
                event,
                Event::Closed { .. } | Event::ChangeUserTooLarge | Event::WriteFailed
            );
            if event != Event::Moved {
                events.push(event);
            }
            if done {
                break;
            }
        }
        (to, events)
    })
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let commands = data[0] & 1 == 1;
    let count = usize::from(data[1] & 0x0f).min(data.len() - 2);
    let sizes = &data[2..2 + count];
    let stream = &data[2 + count..];

    runtime().block_on(async {
        let mut from = Chunked {
            data: stream,
            sizes,
            next: 0,
        };
        if let Ok(payload) = Framed::default().read(&mut from).await {
            assert!(payload.len() <= MAX_LOGIN_PACKET);
            assert_eq!(&stream[4..4 + payload.len()], payload.as_slice());
            assert_eq!(from.data, &stream[4 + payload.len()..]);
        }
    });

    let (whole, whole_events) = relay(commands, stream, &[]);
    let (cut, cut_events) = relay(commands, stream, sizes);
    assert_eq!(whole, cut);
    assert_eq!(whole_events, cut_events);
    // What passed, then what was held, are the stream's bytes in order.
    let mut at = 0;
    let mut passed = whole.as_slice();
    for event in &whole_events {
        match event {
            Event::ChangeUser(packet) => {
                assert!(packet.len() <= MAX_CHANGE_USER + 4);
                assert!(commands && packet[3] == 0 && packet[4] == 0x11);
                let before = stream[at..]
                    .windows(packet.len())
                    .position(|w| w == packet.as_slice());
                assert!(before.is_some());
                at += before.unwrap() + packet.len();
            }
            Event::Quit => {
                assert!(commands);
                let quit = [1u8, 0, 0, 0, 1];
                let before = stream[at..].windows(5).position(|w| w == quit);
                assert!(before.is_some());
                at += before.unwrap() + 5;
            }
            _ => {}
        }
    }
    // Everything passed on came from the stream, in order.
    let mut rest = stream;
    while let Some((&byte, tail)) = passed.split_first() {
        let found = rest.iter().position(|&b| b == byte);
        assert!(found.is_some());
        rest = &rest[found.unwrap() + 1..];
        passed = tail;
    }
});
