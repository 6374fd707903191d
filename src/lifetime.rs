//! How long a token may live: never longer than the credentials that sign it.
//!
//! A token signed with temporary credentials stops working when they expire,
//! whatever its `X-Amz-Expires` says. Rather than print a token that claims
//! fifteen minutes and dies in two, its expiry is cut to the credentials'
//! own; and credentials with less than [`MIN_CREDENTIAL_LIFETIME`] left are
//! not used at all, since a token made from them could die in flight.

use std::time::{Duration, SystemTime};

/// Credentials with less time left than this are too close to expiry to
/// sign with: refresh them first.
pub const MIN_CREDENTIAL_LIFETIME: Duration = Duration::from_secs(60);

/// What is left at `now` of something that expires at `expiry`: zero once
/// it has expired. The one expiry check: token lifetimes, the credential
/// cache's 15-minute rule and the chain's refusal of expired credentials
/// all ask it.
///
/// # Example
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use rds_auth_token::lifetime::left;
/// let now = UNIX_EPOCH + Duration::from_secs(1_000);
/// assert_eq!(left(now + Duration::from_secs(90), now), Duration::from_secs(90));
/// assert_eq!(left(now - Duration::from_secs(1), now), Duration::ZERO);
/// ```
pub fn left(expiry: SystemTime, now: SystemTime) -> Duration {
    expiry.duration_since(now).unwrap_or(Duration::ZERO)
}

/// How long a token signed at a given time may live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenLifetime {
    /// The validity asked for, in seconds: the credentials outlive it (or
    /// never expire).
    AsAsked(u64),
    /// Cut short to end when the credentials expire.
    Shortened {
        /// The validity to sign for: whole seconds up to the credentials' expiry.
        expires_in: u64,
        /// The validity that was asked for, in seconds.
        asked: u64,
    },
    /// The credentials expire within [`MIN_CREDENTIAL_LIFETIME`] of signing
    /// (or already have): refresh them instead of signing.
    CredentialsExpiring {
        /// What is left of the credentials' life; zero once expired.
        left: Duration,
    },
}

impl TokenLifetime {
    /// The lifetime of a token valid for `asked` seconds (any kind's: DSQL
    /// tokens may ask for a week), signed at `signed_at` with credentials
    /// that expire at `credentials_expiry` (`None`: never).
    ///
    /// # Example
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use rds_auth_token::TokenLifetime;
    ///
    /// let signed_at = UNIX_EPOCH + Duration::from_secs(1_795_310_467);
    /// let expiry = Some(signed_at + Duration::from_secs(300));
    /// assert_eq!(
    ///     TokenLifetime::new(900, expiry, signed_at),
    ///     TokenLifetime::Shortened { expires_in: 300, asked: 900 },
    /// );
    /// ```
    pub fn new(
        asked: u64,
        credentials_expiry: Option<SystemTime>,
        signed_at: SystemTime,
    ) -> TokenLifetime {
        let Some(expiry) = credentials_expiry else {
            return TokenLifetime::AsAsked(asked);
        };
        let left = left(expiry, signed_at);
        if left < MIN_CREDENTIAL_LIFETIME {
            return TokenLifetime::CredentialsExpiring { left };
        }
        if left.as_secs() >= asked {
            return TokenLifetime::AsAsked(asked);
        }
        TokenLifetime::Shortened {
            expires_in: left.as_secs(),
            asked,
        }
    }

    /// The validity to sign for, in seconds, unless the credentials are too
    /// close to expiry.
    pub fn expires_in(self) -> Option<u64> {
        match self {
            TokenLifetime::AsAsked(expires_in) | TokenLifetime::Shortened { expires_in, .. } => {
                Some(expires_in)
            }
            TokenLifetime::CredentialsExpiring { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_795_310_467 + secs)
    }

    #[test]
    fn keeps_the_asked_validity_for_credentials_that_never_expire_or_outlive_it() {
        assert_eq!(
            TokenLifetime::new(900, None, at(0)),
            TokenLifetime::AsAsked(900)
        );
        assert_eq!(
            TokenLifetime::new(900, Some(at(900)), at(0)),
            TokenLifetime::AsAsked(900)
        );
        assert_eq!(
            TokenLifetime::new(120, Some(at(121)), at(0)),
            TokenLifetime::AsAsked(120)
        );
    }

    #[test]
    fn cuts_the_validity_to_whole_seconds_before_the_credentials_expire() {
        let expiry = at(899) + Duration::from_millis(999);
        assert_eq!(
            TokenLifetime::new(900, Some(expiry), at(0)),
            TokenLifetime::Shortened {
                expires_in: 899,
                asked: 900
            }
        );
        assert_eq!(
            TokenLifetime::new(900, Some(at(60)), at(0)).expires_in(),
            Some(60)
        );
    }

    #[test]
    fn refuses_credentials_with_less_than_a_minute_left_or_already_expired() {
        assert_eq!(
            TokenLifetime::new(900, Some(at(59)), at(0)),
            TokenLifetime::CredentialsExpiring {
                left: Duration::from_secs(59)
            }
        );
        assert_eq!(
            TokenLifetime::new(30, Some(at(59)), at(0)).expires_in(),
            None,
            "even a short token needs credentials that last a minute"
        );
        assert_eq!(
            TokenLifetime::new(900, Some(at(0)), at(10)),
            TokenLifetime::CredentialsExpiring {
                left: Duration::ZERO
            }
        );
    }
}
