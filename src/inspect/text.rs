//! Text from a token made safe to show on a terminal: escaped and bounded.

use std::fmt::Write as _;

/// The most characters of one value a report shows: more than the longest
/// DNS name (253), far less than a hostile megabyte.
pub(crate) const FIELD_MAX: usize = 256;

/// The most characters of one value a finding's message shows.
pub(crate) const MESSAGE_MAX: usize = 80;

pub(crate) use crate::json::{needs_escape, push_string as json_string};

/// `value` in single quotes, with `'`, `\` and the characters of
/// [`needs_escape`] escaped, cut after `max` characters with `...`.
pub(crate) fn quoted(value: &str, max: usize) -> String {
    let mut out = String::with_capacity(value.len().min(max) + 8);
    out.push('\'');
    push_escaped(&mut out, value, max, true);
    out.push('\'');
    out
}

/// `value` as a report shows a field: as it is when it is plain (no white
/// space, quote, backslash or character of [`needs_escape`], and not too
/// long), else [`quoted`].
pub(crate) fn field(value: &str) -> String {
    let plain = !value.is_empty()
        && value.chars().count() <= FIELD_MAX
        && !value
            .chars()
            .any(|c| c.is_whitespace() || c == '\'' || c == '\\' || needs_escape(c));
    if plain {
        value.to_owned()
    } else {
        quoted(value, FIELD_MAX)
    }
}

/// `value` with the characters of [`needs_escape`] escaped, not quoted, cut
/// after `max` characters: for messages of this program's own that may
/// carry a name from the user.
pub(crate) fn escaped(value: &str, max: usize) -> String {
    let mut out = String::with_capacity(value.len().min(max) + 4);
    push_escaped(&mut out, value, max, false);
    out
}

fn push_escaped(out: &mut String, value: &str, max: usize, in_quotes: bool) {
    for (i, c) in value.chars().enumerate() {
        if i == max {
            out.push_str("...");
            break;
        }
        match c {
            '\'' if in_quotes => out.push_str("\\'"),
            '\\' | '\n' | '\r' | '\t' => out.extend(c.escape_default()),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_escapes_control_bidi_and_quote_characters() {
        assert_eq!(
            quoted("a\nb\x1b[31m'\\\u{202e}\u{9b}", 80),
            r"'a\nb\u{1b}[31m\'\\\u{202e}\u{9b}'"
        );
    }

    #[test]
    fn cuts_long_values_short() {
        assert_eq!(quoted(&"x".repeat(100), 5), "'xxxxx...'");
        assert_eq!(field(&"y".repeat(300)), format!("'{}...'", "y".repeat(256)));
    }

    #[test]
    fn shows_plain_fields_as_they_are_and_others_quoted() {
        assert_eq!(field("jane_doe"), "jane_doe");
        assert_eq!(field("名前"), "名前");
        assert_eq!(field("jane doe"), "'jane doe'");
        assert_eq!(field(""), "''");
        assert_eq!(field("O'Brien"), r"'O\'Brien'");
    }
}
