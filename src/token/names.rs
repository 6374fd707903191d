//! The names ElastiCache and MemoryDB tokens carry: a cache or cluster name
//! and a user id, each 1 to 40 letters, digits and hyphens.

use std::borrow::Cow;

use crate::error::{Error, Shown};

/// The longest name AWS gives a cache, cluster or user.
const MAX_LEN: usize = 40;

/// Checks `value` as the name `flag` takes (`--cache-name`,
/// `--cluster-name`, `--user-id`): 1 to 40 letters, digits and hyphens.
///
/// # Errors
/// [`Error::InvalidName`], naming `flag`.
pub fn check(flag: &'static str, value: &str) -> Result<(), Error> {
    if is_name(value) {
        Ok(())
    } else {
        Err(Error::InvalidName {
            flag,
            value: Shown::new(value),
        })
    }
}

/// Whether `value` is 1 to 40 letters, digits and hyphens.
pub(crate) fn is_name(value: &str) -> bool {
    (1..=MAX_LEN).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The `host` header a token for the cache or cluster `name` signs: the name
/// in lower case, as botocore signs it (borrowed when it already is, as every
/// built config's name is).
pub(crate) fn signed_host(name: &str) -> Cow<'_, str> {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_letters_digits_and_hyphens_up_to_40() {
        for ok in ["a", "my-cache-01", "A1-b2", &"x".repeat(40)] {
            assert_eq!(check("--cache-name", ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn refuses_empty_long_and_other_characters() {
        for bad in [
            "",
            &"x".repeat(41),
            "my_cache",
            "my.cache",
            "a b",
            "é",
            "a/b",
        ] {
            let err = check("--user-id", bad).unwrap_err();
            assert!(err.to_string().starts_with("--user-id '"), "{bad}: {err}");
        }
    }
}
