//! The auth token: a secret, shown only through `as_str` and `Display`.

use std::fmt;

/// An RDS IAM auth token, `HOST:PORT/?Action=connect&DBUser=...&X-Amz-Signature=...`.
///
/// It is a password for up to 15 minutes, so its `Debug` form shows only the
/// endpoint; `Display` and [`as_str`](Self::as_str) give the whole token.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthToken(String);

impl AuthToken {
    pub(crate) fn new(token: String) -> Self {
        AuthToken(token)
    }

    /// The whole token, to use as the database password.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The whole token, owned.
    pub fn into_string(self) -> String {
        self.0
    }

    /// `HOST:PORT`, the part before `/?`: not secret.
    pub fn endpoint(&self) -> &str {
        self.0.split_once('/').map_or("", |(endpoint, _)| endpoint)
    }
}

impl fmt::Display for AuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthToken")
            .field("endpoint", &self.endpoint())
            .field("token", &"** redacted **")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_the_endpoint_and_hides_signature_and_session_token() {
        let token = AuthToken::new(
            "db.example.com:5432/?Action=connect&DBUser=u&X-Amz-Security-Token=SESSIONTOKEN&X-Amz-Signature=abc123".into(),
        );
        let debug = format!("{token:?}");
        assert_eq!(
            debug,
            r#"AuthToken { endpoint: "db.example.com:5432", token: "** redacted **" }"#
        );
        assert!(token.to_string().ends_with("X-Amz-Signature=abc123"));
    }
}
