//! Client commands in a RESP byte stream, found as the bytes pass through:
//! arrays of bulk strings (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`) and inline
//! commands (`PING\r\n`), read as Redis reads them
//! (`processMultibulkBuffer` and `processInlineBuffer` in its
//! `networking.c`), with its limits.
//!
//! The [`Scanner`] holds back only what it must: the start of each array
//! until its command's name is known, an inline line until its newline
//! (both at most 64 KiB), and an AUTH or HELLO command whole (at most
//! [`MAX_HELD`] bytes), which it hands over parsed, never as bytes to pass
//! on: the proxy rewrites these with its own user and token. Every other
//! command streams through as it arrives, whatever its size, so a 100 MB
//! `SET` passes with the scanner holding a few bytes. No length a client
//! announces makes it allocate more than its bounds.
//!
//! The scanner is a pure function of the bytes fed: the same commands are
//! found however the stream is cut into chunks.

use std::fmt;
use std::ops::Range;

/// The longest inline command line, without its newline: Redis's
/// `PROTO_INLINE_MAX_SIZE`. Also the bound of an array's count or a bulk
/// string's length line.
pub const MAX_INLINE: usize = 64 * 1024;

/// The longest bulk string: Redis's default `proto-max-bulk-len`.
pub const MAX_BULK: u64 = 512 * 1024 * 1024;

/// The most elements an array command may have.
pub const MAX_ARGS: u64 = 1024 * 1024;

/// The longest AUTH or HELLO command, as sent: they are held whole.
pub const MAX_HELD: usize = 64 * 1024;

/// The longest number in a count or length line: `-9223372036854775808`.
const MAX_NUMBER: usize = 20;

/// The commands held whole, for the proxy to rewrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    Auth,
    Hello,
}

impl Held {
    /// The command `name` names, if it is one held whole (any case).
    pub fn of(name: &[u8]) -> Option<Held> {
        if name.eq_ignore_ascii_case(b"AUTH") {
            Some(Held::Auth)
        } else if name.eq_ignore_ascii_case(b"HELLO") {
            Some(Held::Hello)
        } else {
            None
        }
    }

    /// Its name, upper case.
    pub fn name(self) -> &'static str {
        match self {
            Held::Auth => "AUTH",
            Held::Hello => "HELLO",
        }
    }
}

/// An AUTH or HELLO command, whole: its arguments, the name first as the
/// client wrote it. Its `Debug` shows no argument but the name: they hold
/// passwords.
#[derive(Clone, PartialEq, Eq)]
pub struct Command {
    pub held: Held,
    pub args: Vec<Vec<u8>>,
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Command")
            .field("held", &self.held)
            .field("args", &self.args.len())
            .finish()
    }
}

/// What a [`Scanner::feed`] finds, in stream order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// These bytes of the chunk fed, to pass on as they are.
    Input(Range<usize>),
    /// Bytes of earlier chunks, held to read a command's name, to pass on
    /// as they are before what follows.
    Earlier(Vec<u8>),
    /// An AUTH or HELLO command, whole; none of its bytes is passed on.
    Command(Command),
}

/// Why the stream cannot be read on. The scanner answers every later feed
/// with the same error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    /// Not RESP: the reason, as Redis words it after `Protocol error: `.
    #[error("Protocol error: {0}")]
    Protocol(String),
    /// An AUTH or HELLO over [`MAX_HELD`] bytes.
    #[error("{} command over {MAX_HELD} bytes; the proxy holds AUTH and HELLO whole to put its own user and token in them", .0.name())]
    TooLong(Held),
}

fn protocol(reason: &str) -> ScanError {
    ScanError::Protocol(reason.to_owned())
}

/// Which number a line carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumberOf {
    /// An array's element count, after `*`.
    Count,
    /// A bulk string's length, after `$`.
    Length,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between commands.
    Idle,
    /// In an inline command's line.
    Inline,
    /// In a count or length line: `cr` once its `\r` is read (the byte
    /// after it is skipped unread, as Redis skips it).
    Number { of: NumberOf, cr: bool },
    /// Before an element's `$`.
    Dollar,
    /// In an element's bytes and the two that end it: how many remain.
    Body { remaining: u64 },
}

/// What becomes of the array command being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Its name is not known yet: its bytes are held.
    Undecided,
    /// Passed on as it arrives.
    Passing,
    /// Held whole.
    Held(Held),
}

/// Finds command boundaries and names; see the [module](self).
///
/// # Example
/// ```
/// use rds_auth_token::proxy::redis::resp::{Piece, Scanner};
///
/// let mut scanner = Scanner::new();
/// let mut pieces = Vec::new();
/// scanner.feed(b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n", &mut pieces).unwrap();
/// assert_eq!(pieces[0], Piece::Input(0..14));
/// let Piece::Command(auth) = &pieces[1] else { panic!() };
/// assert_eq!(auth.args, [b"AUTH".to_vec(), b"pw".to_vec()]);
/// ```
#[derive(Debug)]
pub struct Scanner {
    state: State,
    fate: Fate,
    /// The digits of the count or length line being read.
    number: Vec<u8>,
    /// Elements still to come in the array, the current one included.
    left: u64,
    /// Whether the current element is the array's first (the name).
    first: bool,
    /// The bytes of the current element, when kept (a name that may be
    /// AUTH or HELLO, or any element of a held command).
    element: Vec<u8>,
    keep_element: bool,
    /// The elements of the command held whole.
    args: Vec<Vec<u8>>,
    /// Bytes of the held command read so far, as sent.
    held_bytes: usize,
    /// Bytes of earlier chunks held: the start of an undecided array, or
    /// an inline line.
    earlier: Vec<u8>,
    broken: Option<ScanError>,
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner::new()
    }
}

/// Where the current command's bytes in this chunk go; kept while a chunk
/// is fed.
struct Chunk<'a> {
    out: &'a mut Vec<Piece>,
    /// Start of the bytes of this chunk to pass on, not yet in `out`.
    pass: Option<usize>,
    /// Start of the current command in this chunk, if it started in it.
    command: Option<usize>,
}

impl Chunk<'_> {
    fn input(&mut self, range: Range<usize>) {
        if range.is_empty() {
            return;
        }
        if let Some(Piece::Input(last)) = self.out.last_mut() {
            if last.end == range.start {
                last.end = range.end;
                return;
            }
        }
        self.out.push(Piece::Input(range));
    }

    /// Puts the bytes to pass on before `end` in `out`.
    fn flush(&mut self, end: usize) {
        if let Some(from) = self.pass.take() {
            self.input(from..end.max(from));
        }
    }
}

impl Scanner {
    pub fn new() -> Scanner {
        Scanner {
            state: State::Idle,
            fate: Fate::Passing,
            number: Vec::with_capacity(MAX_NUMBER),
            left: 0,
            first: false,
            element: Vec::new(),
            keep_element: false,
            args: Vec::new(),
            held_bytes: 0,
            earlier: Vec::new(),
            broken: None,
        }
    }

    /// True between commands: every byte fed so far belongs to a whole
    /// command.
    pub fn at_boundary(&self) -> bool {
        self.state == State::Idle && self.broken.is_none()
    }

    /// How many bytes the scanner holds now: never more than
    /// [`MAX_HELD`] or [`MAX_INLINE`] and a few.
    pub fn holding(&self) -> usize {
        self.earlier.len()
            + self.element.len()
            + self.number.len()
            + self.args.iter().map(Vec::len).sum::<usize>()
    }

    /// Reads `input`, the next bytes of the stream, and appends to `out`
    /// what it finds, in order: bytes to pass on and AUTH or HELLO
    /// commands. Consecutive bytes to pass on are one piece.
    ///
    /// # Errors
    /// [`ScanError`] when the stream is not RESP or an AUTH or HELLO is
    /// too long; `out` then has what came before the command in error.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<Piece>) -> Result<(), ScanError> {
        if let Some(err) = &self.broken {
            return Err(err.clone());
        }
        let mut chunk = Chunk {
            out,
            pass: None,
            command: None,
        };
        // A command that started earlier: its bytes here are passed on or
        // held as it is.
        if self.state != State::Idle && self.fate == Fate::Passing {
            chunk.pass = Some(0);
        }
        match self.scan(input, &mut chunk) {
            Ok(()) => {
                if self.holds_bytes() {
                    // The start of a command not settled yet, held.
                    let from = chunk.command.unwrap_or(0);
                    chunk.flush(from);
                    self.earlier.extend_from_slice(&input[from..]);
                } else {
                    chunk.flush(input.len());
                }
                Ok(())
            }
            Err(err) => {
                chunk.flush(chunk.command.unwrap_or(0));
                Err(self.break_with(err))
            }
        }
    }

    fn break_with(&mut self, err: ScanError) -> ScanError {
        self.broken = Some(err.clone());
        self.earlier = Vec::new();
        self.args = Vec::new();
        self.element = Vec::new();
        err
    }

    /// Whether the current command's raw bytes are held (not passed on,
    /// not parsed into a held command).
    fn holds_bytes(&self) -> bool {
        self.state != State::Idle && self.fate == Fate::Undecided
    }

    fn scan(&mut self, input: &[u8], chunk: &mut Chunk<'_>) -> Result<(), ScanError> {
        let mut i = 0;
        while i < input.len() {
            match self.state {
                State::Idle => {
                    chunk.command = Some(i);
                    self.fate = Fate::Undecided;
                    self.held_bytes = 0;
                    if input[i] == b'*' {
                        self.number.clear();
                        self.state = State::Number {
                            of: NumberOf::Count,
                            cr: false,
                        };
                        i += 1;
                        self.count(1)?;
                    } else {
                        self.state = State::Inline;
                    }
                }
                State::Inline => {
                    let from = chunk.command.unwrap_or(0);
                    let Some(newline) = input[i..].iter().position(|&b| b == b'\n') else {
                        let have = self.earlier.len() + (input.len() - from);
                        if have > MAX_INLINE {
                            return Err(protocol("too big inline request"));
                        }
                        return Ok(());
                    };
                    let end = i + newline + 1;
                    self.inline(input, from, end, chunk)?;
                    i = end;
                }
                State::Number { of, cr } => {
                    let start = i;
                    if cr {
                        // The byte after `\r`, skipped as Redis skips it.
                        i += 1;
                        self.count(1)?;
                        self.number_done(of, chunk)?;
                        continue;
                    }
                    let room = MAX_NUMBER + 1 - self.number.len();
                    let rest = &input[i..];
                    match rest.iter().take(room).position(|&b| b == b'\r') {
                        Some(at) => {
                            self.number.extend_from_slice(&rest[..at]);
                            i += at + 1;
                            self.state = State::Number { of, cr: true };
                        }
                        None if rest.len() >= room => {
                            return Err(protocol(match of {
                                NumberOf::Count => "invalid multibulk length",
                                NumberOf::Length => "invalid bulk length",
                            }))
                        }
                        None => {
                            self.number.extend_from_slice(rest);
                            i = input.len();
                        }
                    }
                    self.count(i - start)?;
                }
                State::Dollar => {
                    if input[i] != b'$' {
                        let got = input[i];
                        let shown = if got.is_ascii_graphic() || got == b' ' {
                            char::from(got).to_string()
                        } else {
                            format!("\\x{got:02x}")
                        };
                        return Err(ScanError::Protocol(format!("expected '$', got '{shown}'")));
                    }
                    i += 1;
                    self.count(1)?;
                    self.number.clear();
                    self.state = State::Number {
                        of: NumberOf::Length,
                        cr: false,
                    };
                }
                State::Body { remaining } => {
                    let take = remaining.min((input.len() - i) as u64) as usize;
                    if self.keep_element {
                        // The element's bytes, without the two that end it.
                        let content = remaining.saturating_sub(2);
                        let keep = (take as u64).min(content) as usize;
                        self.element.extend_from_slice(&input[i..i + keep]);
                        self.count(take)?;
                    }
                    i += take;
                    let remaining = remaining - take as u64;
                    self.state = State::Body { remaining };
                    if remaining == 0 {
                        self.element_done(chunk);
                    }
                }
            }
        }
        Ok(())
    }

    /// Counts `n` more bytes of a command not passed on; a held one's
    /// against [`MAX_HELD`].
    fn count(&mut self, n: usize) -> Result<(), ScanError> {
        match self.fate {
            Fate::Passing => {}
            Fate::Undecided => self.held_bytes += n,
            Fate::Held(held) => {
                self.held_bytes += n;
                if self.held_bytes > MAX_HELD {
                    return Err(ScanError::TooLong(held));
                }
            }
        }
        Ok(())
    }

    /// A count or length line is read.
    fn number_done(&mut self, of: NumberOf, chunk: &mut Chunk<'_>) -> Result<(), ScanError> {
        let value = parse_number(&self.number);
        self.number.clear();
        match of {
            NumberOf::Count => {
                let count = match value {
                    Some(n) if n <= MAX_ARGS as i64 => n,
                    _ => return Err(protocol("invalid multibulk length")),
                };
                if count <= 0 {
                    // An empty command, which Redis skips: passed on.
                    self.decide(Fate::Passing, chunk);
                    self.state = State::Idle;
                    return Ok(());
                }
                self.left = count as u64;
                self.first = true;
                self.state = State::Dollar;
            }
            NumberOf::Length => {
                let length = match value {
                    Some(n) if n >= 0 && n as u64 <= MAX_BULK => n as u64,
                    _ => return Err(protocol("invalid bulk length")),
                };
                if self.first && self.fate == Fate::Undecided && !matches!(length, 4 | 5) {
                    self.decide(Fate::Passing, chunk);
                }
                if let Fate::Held(held) = self.fate {
                    if self.held_bytes as u64 + length + 2 > MAX_HELD as u64 {
                        return Err(ScanError::TooLong(held));
                    }
                }
                self.keep_element = self.fate != Fate::Passing;
                self.element.clear();
                self.state = State::Body {
                    remaining: length + 2,
                };
            }
        }
        Ok(())
    }

    /// An element is read.
    fn element_done(&mut self, chunk: &mut Chunk<'_>) {
        if self.first {
            self.first = false;
            if self.fate == Fate::Undecided {
                match Held::of(&self.element) {
                    Some(held) => self.decide(Fate::Held(held), chunk),
                    None => self.decide(Fate::Passing, chunk),
                }
            }
        }
        if let Fate::Held(_) = self.fate {
            self.args.push(std::mem::take(&mut self.element));
        } else {
            self.element.clear();
        }
        self.left -= 1;
        if self.left > 0 {
            self.state = State::Dollar;
            return;
        }
        self.state = State::Idle;
        if let Fate::Held(held) = self.fate {
            let args = std::mem::take(&mut self.args);
            chunk.out.push(Piece::Command(Command { held, args }));
        }
        self.fate = Fate::Passing;
        self.keep_element = false;
    }

    /// Settles what becomes of the array command being read.
    fn decide(&mut self, fate: Fate, chunk: &mut Chunk<'_>) {
        match fate {
            Fate::Passing => {
                if chunk.command.is_none() && !self.earlier.is_empty() {
                    // It started in an earlier chunk: nothing of this one
                    // comes before it.
                    chunk
                        .out
                        .push(Piece::Earlier(std::mem::take(&mut self.earlier)));
                    chunk.pass = Some(0);
                } else if chunk.pass.is_none() {
                    chunk.pass = Some(chunk.command.unwrap_or(0));
                }
            }
            Fate::Held(_) => {
                chunk.flush(chunk.command.unwrap_or(0));
                self.earlier.clear();
            }
            Fate::Undecided => {}
        }
        self.fate = fate;
    }

    /// An inline line, from `from` (of this chunk, after what `earlier`
    /// holds) to `end` (after its newline).
    fn inline(
        &mut self,
        input: &[u8],
        from: usize,
        end: usize,
        chunk: &mut Chunk<'_>,
    ) -> Result<(), ScanError> {
        let started_here = chunk.command.is_some();
        let mut line = std::mem::take(&mut self.earlier);
        line.extend_from_slice(&input[from..end]);
        // Without the newline, and the `\r` before it.
        let mut text = &line[..line.len() - 1];
        if text.len() > MAX_INLINE {
            return Err(protocol("too big inline request"));
        }
        if let Some(stripped) = text.strip_suffix(b"\r") {
            text = stripped;
        }
        let args = split_args(text).ok_or_else(|| protocol("unbalanced quotes in request"))?;
        self.state = State::Idle;
        self.fate = Fate::Passing;
        match args.first().and_then(|name| Held::of(name)) {
            Some(held) => {
                chunk.flush(if started_here { from } else { 0 });
                chunk.out.push(Piece::Command(Command { held, args }));
            }
            None if started_here => {
                if chunk.pass.is_none() {
                    chunk.pass = Some(from);
                }
            }
            None => {
                chunk
                    .out
                    .push(Piece::Earlier(line[..line.len() - end].to_vec()));
                chunk.pass = Some(0);
            }
        }
        Ok(())
    }
}

/// A count or length as Redis's `string2ll` reads it: an optional `-`,
/// then digits with no leading zero (but `0` itself), in range.
fn parse_number(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, text),
    };
    match digits {
        [] => return None,
        [b'0'] => return (!negative).then_some(0),
        [b'0', ..] => return None,
        _ => {}
    }
    let mut value: i64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        let digit = i64::from(b - b'0');
        value = value.checked_mul(10)?;
        value = if negative {
            value.checked_sub(digit)?
        } else {
            value.checked_add(digit)?
        };
    }
    Some(value)
}

/// An inline command's arguments, split as Redis's `sdssplitargs` splits
/// them: on spaces, with `"..."` (and its `\n`, `\r`, `\t`, `\b`, `\a`,
/// `\xHH` and `\\` escapes) and `'...'` quoting; `None` for unbalanced
/// quotes or a closing quote not followed by a space. A NUL byte ends the
/// line, as it ends Redis's C string.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let line = match line.iter().position(|&b| b == 0) {
        Some(nul) => &line[..nul],
        None => line,
    };
    let is_space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c);
    let mut args = Vec::new();
    let mut p = 0;
    loop {
        while p < line.len() && is_space(line[p]) {
            p += 1;
        }
        if p == line.len() {
            return Some(args);
        }
        let mut current = Vec::new();
        let (mut in_double, mut in_single) = (false, false);
        loop {
            let c = line.get(p).copied();
            if in_double {
                match c {
                    None => return None,
                    Some(b'\\')
                        if line.get(p + 1) == Some(&b'x')
                            && line.get(p + 2).is_some_and(u8::is_ascii_hexdigit)
                            && line.get(p + 3).is_some_and(u8::is_ascii_hexdigit) =>
                    {
                        let hex = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
                        current.push(hex(line[p + 2]) * 16 + hex(line[p + 3]));
                        p += 3;
                    }
                    Some(b'\\') if p + 1 < line.len() => {
                        p += 1;
                        current.push(match line[p] {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 0x08,
                            b'a' => 0x07,
                            other => other,
                        });
                    }
                    Some(b'"') => {
                        if line.get(p + 1).is_some_and(|&b| !is_space(b)) {
                            return None;
                        }
                        p += 1;
                        break;
                    }
                    Some(other) => current.push(other),
                }
            } else if in_single {
                match c {
                    None => return None,
                    Some(b'\\') if line.get(p + 1) == Some(&b'\'') => {
                        p += 1;
                        current.push(b'\'');
                    }
                    Some(b'\'') => {
                        if line.get(p + 1).is_some_and(|&b| !is_space(b)) {
                            return None;
                        }
                        p += 1;
                        break;
                    }
                    Some(other) => current.push(other),
                }
            } else {
                match c {
                    None | Some(b' ' | b'\n' | b'\r' | b'\t') => break,
                    Some(b'"') => in_double = true,
                    Some(b'\'') => in_single = true,
                    Some(other) => current.push(other),
                }
            }
            p += 1;
        }
        args.push(current);
    }
}

/// `args` as a RESP array of bulk strings.
pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let size: usize = args.iter().map(|a| a.len() + 16).sum();
    let mut out = Vec::with_capacity(size + 16);
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[cfg(test)]
mod tests;
