//! Untrusted text made safe to show on a terminal: the one place that
//! decides which characters are escaped. Control characters (C0, DEL, C1),
//! and the invisible and bidirectional formatting ones (U+202E and its
//! kin, zero-width spaces and joiners) could make printed text read
//! differently from what it holds, or drive the terminal; each is shown as
//! `\u{..}`. Every message that echoes an input goes through here: the
//! command line's one-line errors, values in library errors, `inspect`'s
//! and `doctor`'s reports, AWS's error texts.

use std::fmt::Write as _;

/// True for the characters this module escapes: control characters (C0,
/// DEL and C1), and the invisible and bidirectional formatting ones.
pub fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

/// `value` in single quotes, with `'`, `\`, `\n`, `\r`, `\t` and the
/// characters of [`needs_escape`] escaped, cut after `max` characters with
/// `...`.
///
/// # Example
/// ```
/// use rds_auth_token::text::quoted;
/// assert_eq!(quoted("evil\u{202e}gnp.exe", 80), r"'evil\u{202e}gnp.exe'");
/// assert_eq!(quoted("it's", 2), r"'it...'");
/// ```
pub fn quoted(value: &str, max: usize) -> String {
    let mut out = String::with_capacity(value.len().min(max) + 8);
    out.push('\'');
    push_escaped(&mut out, value, max, true);
    out.push('\'');
    out
}

/// `value` with `\`, `\n`, `\r`, `\t` and the characters of
/// [`needs_escape`] escaped, not quoted, cut after `max` characters.
pub fn escaped(value: &str, max: usize) -> String {
    let mut out = String::with_capacity(value.len().min(max) + 4);
    push_escaped(&mut out, value, max, false);
    out
}

/// `text` on one line: runs of white space joined by one space, the
/// characters of [`needs_escape`] escaped, cut after `max` characters.
///
/// # Example
/// ```
/// use rds_auth_token::text::one_line;
/// assert_eq!(one_line("a\n  b\tc\u{1b}[2J\u{200b}", 600), r"a b c\u{1b}[2J\u{200b}");
/// ```
pub fn one_line(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut shown = 0;
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
            shown += 1;
        }
        for c in word.chars() {
            if shown >= max {
                out.push_str("...");
                return out;
            }
            push_char(&mut out, c);
            shown += 1;
        }
    }
    out
}

/// `err` and its causes, each as `words` puts it, joined with `: `
/// (not escaped: see [`one_line`]).
pub fn error_chain(
    err: &(dyn std::error::Error + 'static),
    words: impl Fn(&(dyn std::error::Error + 'static)) -> String,
) -> String {
    let mut text = words(err);
    let mut cause = err.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&words(inner));
        cause = inner.source();
    }
    text
}

/// [`error_chain`] in each error's own words, leaving out a cause whose
/// text an earlier part already holds (the AWS SDK's errors repeat their
/// causes).
pub fn distinct_error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![err.to_string()];
    let mut cause = err.source();
    while let Some(inner) = cause {
        let text = inner.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cause = inner.source();
    }
    parts.join(": ")
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
            c => push_char(out, c),
        }
    }
}

fn push_char(out: &mut String, c: char) {
    if needs_escape(c) {
        let _ = write!(out, "\\u{{{:x}}}", c as u32);
    } else {
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_control_bidi_and_zero_width_characters_and_nothing_else() {
        for c in [
            '\u{1b}', '\u{7f}', '\u{9b}', '\u{202e}', '\u{2066}', '\u{200b}', '\u{feff}',
        ] {
            assert!(needs_escape(c), "{c:?}");
        }
        for c in ['a', 'é', '日', '\u{1F600}', ' '] {
            assert!(!needs_escape(c), "{c:?}");
        }
    }

    #[test]
    fn quotes_and_escapes_control_bidi_and_quote_characters() {
        assert_eq!(
            quoted("a\nb\x1b[31m'\\\u{202e}\u{9b}", 80),
            r"'a\nb\u{1b}[31m\'\\\u{202e}\u{9b}'"
        );
        assert_eq!(escaped("a'b\u{202e}", 80), r"a'b\u{202e}");
    }

    #[test]
    fn cuts_long_values_short() {
        assert_eq!(quoted(&"x".repeat(100), 5), "'xxxxx...'");
        assert!(one_line(&"x ".repeat(1000), 600).ends_with("..."));
        assert_eq!(one_line("ab cd", 600), "ab cd");
    }
}
