//! The relay's message-boundary scanner, `proxy::postgres::frames::Scanner`,
//! on any stream cut into any chunks.
//!
//! The input is a header, then the stream:
//!
//! - byte 0: bits 0-1 choose which tags' bodies are kept (none, all, the
//!   server side's `Z` and `S` as the relay keeps them, odd tags); bits 2-4
//!   a shift for the cap; bit 5 says to break at the Start of the tag in
//!   byte 2;
//! - byte 1: the cap, `byte 1 << shift`;
//! - byte 2: the tag to break at;
//! - byte 3: how many chunk sizes follow (at most 31);
//! - that many bytes: the chunk sizes, used in turn and again from the
//!   first (a 0 is an empty chunk; if all are 0 the chunks are of 1 byte,
//!   and with none the stream is fed whole);
//! - the rest: the stream.
//!
//! Checks, against a plain reading of the whole stream:
//!
//! - the End frames (tag and kept body), the Start frames (tag and offset
//!   in the stream), the error and `at_boundary` at the end are the same
//!   fed whole and fed in chunks, and the same as the plain reading;
//! - a kept body is never longer than the cap and is kept only for a tag
//!   the scanner keeps;
//! - a Start's `at` is inside the chunk fed;
//! - `feed` returns the chunk's length unless the callback broke, and the
//!   offset of the Start it broke at when it did; feeding on from there
//!   loses nothing;
//! - after an error the scanner is dropped, never fed again.
#![no_main]

use std::ops::ControlFlow;

use libfuzzer_sys::fuzz_target;
use rds_auth_token::proxy::postgres::frames::{Frame, FrameError, Scanner};

fn keeps_none(_: u8) -> bool {
    false
}
fn keeps_all(_: u8) -> bool {
    true
}
fn keeps_server_side(tag: u8) -> bool {
    matches!(tag, b'Z' | b'S')
}
fn keeps_odd(tag: u8) -> bool {
    tag & 1 == 1
}
const KEEPS: [fn(u8) -> bool; 4] = [keeps_none, keeps_all, keeps_server_side, keeps_odd];

/// What a scan reports in all: the Starts (tag, offset in the stream), the
/// Ends (tag, kept body), and how it ended.
#[derive(Debug, Default, PartialEq, Eq)]
struct Scan {
    starts: Vec<(u8, usize)>,
    ends: Vec<(u8, Option<Vec<u8>>)>,
    error: Option<FrameError>,
    at_boundary: bool,
}

/// The stream read plainly, whole.
fn plain(stream: &[u8], keeps: fn(u8) -> bool, cap: usize) -> Scan {
    let mut scan = Scan::default();
    let mut i = 0;
    loop {
        if i == stream.len() {
            scan.at_boundary = true;
            return scan;
        }
        let tag = stream[i];
        scan.starts.push((tag, i));
        let Some(length) = stream.get(i + 1..i + 5) else {
            return scan;
        };
        let length = u32::from_be_bytes(length.try_into().unwrap());
        if length < 4 {
            scan.error = Some(FrameError(length));
            return scan;
        }
        let from = i + 5;
        let body_len = (length - 4) as usize;
        if stream.len() - from < body_len {
            return scan;
        }
        let body = &stream[from..from + body_len];
        scan.ends
            .push((tag, (keeps(tag) && body_len <= cap).then(|| body.to_vec())));
        i = from + body_len;
    }
}

struct Setup<'a> {
    keeps: fn(u8) -> bool,
    cap: usize,
    break_at: Option<u8>,
    sizes: &'a [u8],
    stream: &'a [u8],
}

/// Feeds `chunk`, which starts at `base` in the stream, into `scanner`,
/// recording into `scan`. Feeds on after a break. Err after an error.
fn feed_chunk(
    setup: &Setup<'_>,
    scanner: &mut Scanner,
    scan: &mut Scan,
    chunk: &[u8],
    base: usize,
) -> Result<(), FrameError> {
    let mut from = 0;
    // Whether the Start at `from` is the one broken at before.
    let mut resumed = false;
    loop {
        let part = &chunk[from..];
        let mut broke_at = None;
        let mut first = true;
        let result = scanner.feed(part, |frame| {
            let resuming = std::mem::take(&mut first) && resumed;
            match frame {
                Frame::Start { tag, at } => {
                    assert!(at < part.len(), "a Start at {at} of {} bytes", part.len());
                    assert_eq!(part[at], tag, "a Start's tag is not the byte at its offset");
                    if !resuming && setup.break_at == Some(tag) {
                        broke_at = Some(at);
                        return ControlFlow::Break(());
                    }
                    scan.starts.push((tag, base + from + at));
                }
                Frame::End { tag, body } => {
                    if let Some(body) = body {
                        assert!(
                            body.len() <= setup.cap,
                            "kept a {}-byte body over the cap {}",
                            body.len(),
                            setup.cap
                        );
                        assert!((setup.keeps)(tag), "kept the body of tag {tag}");
                    }
                    scan.ends.push((tag, body.map(<[u8]>::to_vec)));
                }
            }
            ControlFlow::Continue(())
        });
        let n = result?;
        match broke_at {
            None => {
                assert_eq!(n, part.len(), "feed took {n} of {} bytes", part.len());
                return Ok(());
            }
            Some(at) => {
                assert_eq!(n, at, "broke at the Start at {at} but returned {n}");
                assert!(n < part.len());
                assert!(scanner.at_boundary(), "not at a boundary after a break");
                from += n;
                resumed = true;
            }
        }
    }
}

/// Scans the stream in the chunks `sizes` (whole if empty).
fn scan(setup: &Setup<'_>, sizes: &[u8]) -> Scan {
    let mut scanner = Scanner::new(setup.keeps, setup.cap);
    let mut scan = Scan::default();
    let stream = setup.stream;
    let mut at = 0;
    let mut turn = 0;
    let all_zero = sizes.iter().all(|&s| s == 0);
    loop {
        let size = match sizes.len() {
            0 => stream.len() - at,
            _ if all_zero => 1,
            n => sizes[turn % n] as usize,
        };
        turn += 1;
        let end = (at + size).min(stream.len());
        if let Err(error) = feed_chunk(setup, &mut scanner, &mut scan, &stream[at..end], at) {
            // The stream is broken: the scanner is not fed again.
            scan.error = Some(error);
            drop(scanner);
            return scan;
        }
        at = end;
        if at == stream.len() {
            break;
        }
    }
    scan.at_boundary = scanner.at_boundary();
    scan
}

fuzz_target!(|data: &[u8]| {
    let [flags, cap, break_tag, count, rest @ ..] = data else {
        return;
    };
    let count = usize::from(count % 32).min(rest.len());
    let (sizes, stream) = rest.split_at(count);
    let setup = Setup {
        keeps: KEEPS[usize::from(flags & 3)],
        cap: usize::from(*cap) << ((flags >> 2) & 7),
        break_at: (flags & 0x20 != 0).then_some(*break_tag),
        sizes,
        stream,
    };
    let want = plain(stream, setup.keeps, setup.cap);
    let whole = scan(&setup, &[]);
    assert_eq!(whole, want, "fed whole");
    let chunked = scan(&setup, setup.sizes);
    assert_eq!(chunked, want, "fed in chunks of {:?}", setup.sizes);
});
