//! Percent-encoding with the AWS unreserved set, as SigV4 and botocore use it.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but `A-Z a-z 0-9 - _ . ~` is encoded, with upper-case hex: a
/// space is `%20` (never `+`), `+` is `%2B`, `/` is `%2F`.
const AWS_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Appends `value` to `out`, percent-encoded with the AWS unreserved set.
pub(crate) fn push_encoded(out: &mut String, value: &str) {
    out.extend(utf8_percent_encode(value, AWS_UNRESERVED));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(value: &str) -> String {
        let mut out = String::new();
        push_encoded(&mut out, value);
        out
    }

    #[test]
    fn leaves_the_unreserved_set_alone() {
        let unreserved = "ABCXYZabcxyz0189-_.~";
        assert_eq!(encoded(unreserved), unreserved);
    }

    #[test]
    fn encodes_reserved_characters_with_upper_case_hex() {
        assert_eq!(encoded("jane doe+x@y/z"), "jane%20doe%2Bx%40y%2Fz");
        assert_eq!(encoded("a=b&c%d"), "a%3Db%26c%25d");
    }

    #[test]
    fn encodes_non_ascii_as_utf8_bytes() {
        assert_eq!(encoded("é"), "%C3%A9");
    }
}
