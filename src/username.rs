//! Database user names as `--username` takes them.

use std::fmt;

use crate::error::{Error, Shown};

/// A database user name: any non-empty text without control characters.
///
/// Spaces, `+`, `@`, `/` and non-ASCII letters are all allowed; they are
/// percent-encoded in the token exactly as botocore encodes them.
///
/// # Example
/// ```
/// use rds_auth_token::Username;
/// assert_eq!(Username::new("jane doe+x@y/z")?.as_str(), "jane doe+x@y/z");
/// assert!(Username::new("").is_err());
/// # Ok::<(), rds_auth_token::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    /// Checks and wraps a user name.
    ///
    /// # Errors
    /// [`Error::EmptyUsername`] or [`Error::UsernameControlCharacter`].
    pub fn new(name: impl Into<String>) -> Result<Self, Error> {
        let name = name.into();
        if name.is_empty() {
            return Err(Error::EmptyUsername);
        }
        if name.chars().any(char::is_control) {
            return Err(Error::UsernameControlCharacter(Shown::new(&name)));
        }
        Ok(Username(name))
    }

    /// A user name as it is, unchecked: for re-signing a token someone else made.
    pub(crate) fn unchecked(name: String) -> Self {
        Username(name)
    }

    /// The user name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_empty_names_and_control_characters() {
        assert_eq!(Username::new(""), Err(Error::EmptyUsername));
        for bad in ["a\nb", "tab\there", "nul\0", "del\x7f"] {
            assert!(
                matches!(Username::new(bad), Err(Error::UsernameControlCharacter(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn keeps_reserved_and_non_ascii_characters() {
        for ok in ["-x", "jane doe", "a+b@c/d", "名前", "O'Brien"] {
            assert_eq!(Username::new(ok).unwrap().as_str(), ok);
        }
    }
}
