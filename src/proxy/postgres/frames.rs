//! Message boundaries in a PostgreSQL byte stream, found as the bytes pass
//! through: every message is a tag byte, a four-byte length and a body.
//! The relay forwards bytes unchanged and learns from this scanner where
//! each message starts and ends; the bodies it keeps (a ReadyForQuery's
//! status, a ParameterStatus) are capped, so no length a peer announces
//! makes it allocate more than its cap.

use std::ops::ControlFlow;

/// What the scanner reports.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A message with `tag` starts at byte `at` of the bytes fed.
    Start { tag: u8, at: usize },
    /// A message with `tag` is complete; `body` is its body when the
    /// scanner keeps this tag's bodies and it was within the cap.
    End { tag: u8, body: Option<&'a [u8]> },
}

/// A stream that is not PostgreSQL messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a message announced length {0}, below the 4 its length word takes")]
pub struct FrameError(pub u32);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Tag,
    Length { have: usize },
    Body,
}

/// Finds message boundaries; see the [module](self).
#[derive(Debug)]
pub struct Scanner {
    keeps: fn(u8) -> bool,
    cap: usize,
    state: State,
    tag: u8,
    length: [u8; 4],
    remaining: usize,
    keeping: bool,
    body: Vec<u8>,
}

impl Scanner {
    /// A scanner that keeps the bodies of the tags `keeps` names, up to
    /// `cap` bytes each.
    pub fn new(keeps: fn(u8) -> bool, cap: usize) -> Scanner {
        Scanner {
            keeps,
            cap,
            state: State::Tag,
            tag: 0,
            length: [0; 4],
            remaining: 0,
            keeping: false,
            body: Vec::new(),
        }
    }

    /// True between messages: every byte fed so far belongs to a whole
    /// message.
    pub fn at_boundary(&self) -> bool {
        self.state == State::Tag
    }

    /// Scans `data`, reporting each start and end to `on`. Stops early
    /// when `on` breaks at a [`Frame::Start`], and returns how many bytes
    /// were scanned: all of `data`, or those before the message at which
    /// `on` broke.
    ///
    /// # Errors
    /// [`FrameError`] for a length below 4; the stream is broken from there.
    pub fn feed(
        &mut self,
        data: &[u8],
        mut on: impl FnMut(Frame<'_>) -> ControlFlow<()>,
    ) -> Result<usize, FrameError> {
        let mut i = 0;
        while i < data.len() {
            match self.state {
                State::Tag => {
                    self.tag = data[i];
                    if on(Frame::Start {
                        tag: self.tag,
                        at: i,
                    })
                    .is_break()
                    {
                        return Ok(i);
                    }
                    i += 1;
                    self.state = State::Length { have: 0 };
                }
                State::Length { have } => {
                    let take = (4 - have).min(data.len() - i);
                    self.length[have..have + take].copy_from_slice(&data[i..i + take]);
                    i += take;
                    if have + take < 4 {
                        self.state = State::Length { have: have + take };
                        continue;
                    }
                    let len = u32::from_be_bytes(self.length);
                    if len < 4 {
                        return Err(FrameError(len));
                    }
                    self.remaining = (len - 4) as usize;
                    self.keeping = (self.keeps)(self.tag) && self.remaining <= self.cap;
                    self.body.clear();
                    self.state = State::Body;
                    if self.remaining == 0 {
                        self.end(&mut on);
                    }
                }
                State::Body => {
                    let take = self.remaining.min(data.len() - i);
                    if self.keeping {
                        self.body.extend_from_slice(&data[i..i + take]);
                    }
                    i += take;
                    self.remaining -= take;
                    if self.remaining == 0 {
                        self.end(&mut on);
                    }
                }
            }
        }
        Ok(i)
    }

    fn end(&mut self, on: &mut impl FnMut(Frame<'_>) -> ControlFlow<()>) {
        let body = self.keeping.then_some(self.body.as_slice());
        let _ = on(Frame::End {
            tag: self.tag,
            body,
        });
        self.state = State::Tag;
        if self.body.capacity() > self.cap.max(64) * 2 {
            self.body = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        out.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    fn ends(scanner: &mut Scanner, chunks: &[&[u8]]) -> Vec<(u8, Option<Vec<u8>>)> {
        let mut out = Vec::new();
        for chunk in chunks {
            let n = scanner
                .feed(chunk, |frame| {
                    if let Frame::End { tag, body } = frame {
                        out.push((tag, body.map(<[u8]>::to_vec)));
                    }
                    ControlFlow::Continue(())
                })
                .unwrap();
            assert_eq!(n, chunk.len());
        }
        out
    }

    #[test]
    fn finds_every_message_however_the_bytes_are_cut() {
        let mut stream = message(b'S', b"TimeZone\0UTC\0");
        stream.extend(message(b'D', &[7; 300]));
        stream.extend(message(b'Z', b"I"));
        stream.extend(message(b'1', b""));
        let want = vec![
            (b'S', Some(b"TimeZone\0UTC\0".to_vec())),
            (b'D', None),
            (b'Z', Some(b"I".to_vec())),
            (b'1', Some(Vec::new())),
        ];
        let keeps = |tag| matches!(tag, b'S' | b'Z' | b'1');
        for cut in 1..stream.len() {
            let mut scanner = Scanner::new(keeps, 64);
            let chunks: Vec<&[u8]> = stream.chunks(cut).collect();
            assert_eq!(ends(&mut scanner, &chunks), want, "chunks of {cut}");
            assert!(scanner.at_boundary());
        }
    }

    #[test]
    fn keeps_no_body_over_its_cap_and_allocates_nothing_for_an_announced_length() {
        let mut scanner = Scanner::new(|_| true, 8);
        let mut huge = vec![b'S'];
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        huge.extend_from_slice(&[1; 100]);
        assert!(ends(&mut scanner, &[&huge]).is_empty());
        assert!(!scanner.at_boundary());
        assert!(scanner.body.capacity() <= 8);
    }

    #[test]
    fn stops_before_a_message_when_told_to() {
        let mut stream = message(b'Q', b"select 1\0");
        let terminate_at = stream.len();
        stream.extend(message(b'X', b""));
        let mut scanner = Scanner::new(|_| false, 0);
        let n = scanner
            .feed(&stream, |frame| match frame {
                Frame::Start { tag: b'X', .. } => ControlFlow::Break(()),
                _ => ControlFlow::Continue(()),
            })
            .unwrap();
        assert_eq!(n, terminate_at);
    }

    #[test]
    fn refuses_a_length_below_four() {
        let mut scanner = Scanner::new(|_| false, 0);
        let err = scanner
            .feed(&[b'Z', 0, 0, 0, 3], |_| ControlFlow::Continue(()))
            .unwrap_err();
        assert_eq!(err, FrameError(3));
    }
}
