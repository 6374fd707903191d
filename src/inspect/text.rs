//! Text from a token made safe to show on a terminal: escaped and bounded.

/// The most characters of one value a report shows: more than the longest
/// DNS name (253), far less than a hostile megabyte.
pub(crate) const FIELD_MAX: usize = 256;

/// The most characters of one value a finding's message shows.
pub(crate) const MESSAGE_MAX: usize = 80;

/// The longest value of a parameter other than the user and host that a
/// message shows. Every such value in a well-formed token is shorter; a
/// longer one has run into its neighbours (a lost `&` or `=`), and may have
/// taken in the session token, so only its length is told.
pub(crate) const SHORT: usize = 32;

/// `value` quoted when it has at most [`SHORT`] characters, else its length.
pub(crate) fn short(value: &str) -> String {
    if value.chars().nth(SHORT).is_none() {
        quoted(value, SHORT)
    } else {
        format!("a value of {} characters", value.chars().count())
    }
}

pub(crate) use crate::json::push_string as json_string;
pub(crate) use crate::text::{escaped, needs_escape, quoted};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_plain_fields_as_they_are_and_others_quoted() {
        assert_eq!(field("jane_doe"), "jane_doe");
        assert_eq!(field("名前"), "名前");
        assert_eq!(field("jane doe"), "'jane doe'");
        assert_eq!(field(""), "''");
        assert_eq!(field("O'Brien"), r"'O\'Brien'");
    }
}
