//! JSON string literals that are safe to print on a terminal.

use std::fmt::Write as _;

pub use crate::text::needs_escape;

/// Appends `value` to `out` as a JSON string literal: `"` and `\` escaped,
/// `\n`, `\r` and `\t` as such, and every other character of
/// [`needs_escape`] as `\uXXXX`.
///
/// # Example
/// ```
/// let mut out = String::new();
/// rds_auth_token::json::push_string(&mut out, "a\"b\n\u{1b}[2J");
/// assert_eq!(out, r#""a\"b\n\u001b[2J""#);
/// ```
pub fn push_string(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                // Every such character is in the Basic Multilingual Plane.
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_quotes_backslashes_and_every_terminal_control() {
        let mut out = String::new();
        push_string(&mut out, "a\"b\\c\nd\u{1}e\u{2028}\u{7f}\u{9b}\u{202e}é");
        assert_eq!(out, r#""a\"b\\c\nd\u0001e\u2028\u007f\u009b\u202eé""#);
    }

    #[test]
    fn leaves_printable_text_as_it_is() {
        let mut out = String::new();
        push_string(&mut out, "host:5432/?Action=connect&名前");
        assert_eq!(out, "\"host:5432/?Action=connect&名前\"");
    }
}
