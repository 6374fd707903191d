//! The Redis proxy's reader of client commands, `proxy::redis::resp::Scanner`,
//! on any stream cut into any chunks.
//!
//! Byte 0: how many chunk sizes follow (at most 15), then the sizes (0 means
//! 1); the rest is the stream. Checks:
//!
//! - the bytes passed on, the AUTH and HELLO commands held, and the error
//!   are the same fed whole and fed in chunks; but for an error: then what
//!   passed of the broken command before it was found depends on the
//!   chunks (the proxy closes the server connection then), so the whole
//!   stream's bytes passed are a prefix of the chunked stream's;
//! - what passes on comes from the stream, in order;
//! - the scanner never holds more than its bounds (an inline line or a
//!   number line, and a held command);
//! - a held command written again with `encode` is read back as the same
//!   command, and nothing passes on from it;
//! - after an error the scanner is not fed again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rds_auth_token::proxy::redis::resp::{
    encode, Command, Piece, ScanError, Scanner, MAX_HELD, MAX_INLINE,
};

/// What the scanner made of `stream` fed in `sizes`: the bytes passed on,
/// the held commands, and the error that stopped it.
fn scan(stream: &[u8], sizes: &[u8]) -> (Vec<u8>, Vec<Command>, Option<ScanError>) {
    let mut scanner = Scanner::new();
    let mut passed = Vec::new();
    let mut commands = Vec::new();
    let mut at = 0;
    let mut turn = 0;
    while at < stream.len() {
        let size = if sizes.is_empty() {
            stream.len()
        } else {
            usize::from(sizes[turn % sizes.len()]).max(1)
        };
        turn += 1;
        let chunk = &stream[at..(at + size).min(stream.len())];
        at += chunk.len();
        let mut out = Vec::new();
        let result = scanner.feed(chunk, &mut out);
        for piece in out {
            match piece {
                Piece::Input(range) => passed.extend_from_slice(&chunk[range]),
                Piece::Earlier(bytes) => passed.extend_from_slice(&bytes),
                Piece::Command(command) => commands.push(command),
            }
        }
        assert!(
            scanner.holding() <= MAX_HELD + MAX_INLINE + 64,
            "holding {}",
            scanner.holding()
        );
        if let Err(err) = result {
            return (passed, commands, Some(err));
        }
    }
    (passed, commands, None)
}

fuzz_target!(|data: &[u8]| {
    let Some((&count, rest)) = data.split_first() else {
        return;
    };
    let count = usize::from(count & 0x0f).min(rest.len());
    let (sizes, stream) = rest.split_at(count);

    let whole = scan(stream, &[]);
    let cut = scan(stream, sizes);
    assert_eq!(whole.1, cut.1);
    assert_eq!(whole.2, cut.2);
    if whole.2.is_none() {
        assert_eq!(whole.0, cut.0);
    } else {
        assert!(cut.0.starts_with(&whole.0));
    }
    let (passed, commands, _) = cut;

    let mut rest = stream;
    for &byte in &passed {
        let found = rest.iter().position(|&b| b == byte);
        assert!(
            found.is_some(),
            "a byte passed on that the stream does not have next"
        );
        rest = &rest[found.unwrap() + 1..];
    }

    for command in &commands {
        let args: Vec<&[u8]> = command.args.iter().map(Vec::as_slice).collect();
        let again = encode(&args);
        let (passed, read, err) = scan(&again, &[]);
        if again.len() <= MAX_HELD {
            assert!(err.is_none(), "{err:?}");
            assert!(passed.is_empty());
            assert_eq!(read, [command.clone()]);
        }
    }
});
