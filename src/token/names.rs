//! The names ElastiCache and MemoryDB tokens carry: a cache or cluster name
//! and a user id, each 1 to 40 letters, digits and hyphens; a user id (a
//! MemoryDB user name) begins with a letter, as both APIs' models say
//! (`[a-zA-Z][a-zA-Z0-9\-]*`).

use std::borrow::Cow;

use crate::error::{Error, Field, Shown};

/// The longest name AWS gives a cache, cluster or user.
const MAX_LEN: usize = 40;

/// Checks `value` as the name `field` takes (a cache name, a cluster name,
/// a user id): 1 to 40 letters, digits and hyphens.
///
/// # Errors
/// [`Error::InvalidName`], naming `field`.
pub fn check(field: Field, value: &str) -> Result<(), Error> {
    if is_name(value) {
        Ok(())
    } else {
        Err(Error::InvalidName {
            field,
            value: Shown::new(value),
        })
    }
}

/// Checks `value` as a user id: a name ([`check`]) that begins with a
/// letter.
///
/// # Errors
/// [`Error::InvalidName`] or [`Error::UserIdWithoutLetter`].
pub fn check_user_id(value: &str) -> Result<(), Error> {
    check(Field::UserId, value)?;
    if is_user_id(value) {
        Ok(())
    } else {
        Err(Error::UserIdWithoutLetter {
            field: Field::UserId,
            value: Shown::new(value),
        })
    }
}

/// Whether `value` is a user id: a name that begins with a letter.
pub(crate) fn is_user_id(value: &str) -> bool {
    is_name(value) && value.as_bytes()[0].is_ascii_alphabetic()
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
            assert_eq!(check(Field::CacheName, ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn takes_user_ids_that_begin_with_a_letter_only() {
        for ok in ["a", "iam-user-01", "Z9"] {
            assert_eq!(check_user_id(ok), Ok(()), "{ok}");
        }
        for bad in ["1abc", "-a", "9"] {
            let err = check_user_id(bad).unwrap_err();
            assert!(
                matches!(err, Error::UserIdWithoutLetter { .. }),
                "{bad}: {err}"
            );
            assert!(
                err.to_string().contains("does not begin with a letter"),
                "{err}"
            );
        }
        assert!(matches!(
            check_user_id("a b"),
            Err(Error::InvalidName { .. })
        ));
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
            let err = check(Field::UserId, bad).unwrap_err();
            assert!(err.to_string().starts_with("the user id '"), "{bad}: {err}");
        }
    }
}
