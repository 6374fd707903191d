//! The local clock against a server's `Date`: AWS refuses a signature made
//! more than five minutes away from its own time.

use std::time::{Duration, SystemTime};

use super::{Check, CheckName};
use crate::inspect::span;

/// How far the clocks may be apart before AWS refuses signatures.
pub const MAX_SKEW: Duration = Duration::from_secs(5 * 60);

/// How close the clocks are said to be when they agree: an HTTP `Date` has
/// whole seconds, and the answer takes time to arrive.
pub const RESOLUTION: Duration = Duration::from_secs(2);

/// The local clock's distance from the server's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skew {
    /// The local clock shows a later time than the server's.
    Ahead(Duration),
    /// The local clock shows an earlier time.
    Behind(Duration),
}

impl Skew {
    /// How far `local` is from `server`.
    pub fn between(local: SystemTime, server: SystemTime) -> Skew {
        match local.duration_since(server) {
            Ok(ahead) => Skew::Ahead(ahead),
            Err(behind) => Skew::Behind(behind.duration()),
        }
    }

    /// The distance, either way.
    pub fn size(self) -> Duration {
        match self {
            Skew::Ahead(d) | Skew::Behind(d) => d,
        }
    }
}

/// The `clock` check: `local` is the local time when the answer that
/// carried `server` (its `Date`) arrived; `whose` says whose answer it was,
/// e.g. `the STS response`.
pub fn check(local: SystemTime, server: SystemTime, whose: &str) -> Check {
    let skew = Skew::between(local, server);
    let size = skew.size();
    if size <= RESOLUTION {
        return Check::pass(
            CheckName::Clock,
            format!(
                "the local clock is within {} s of AWS's (the Date of {whose})",
                RESOLUTION.as_secs()
            ),
        );
    }
    let how_far = span(size.as_secs());
    let way = match skew {
        Skew::Ahead(_) => "ahead of",
        Skew::Behind(_) => "behind",
    };
    if size <= MAX_SKEW {
        return Check::pass(
            CheckName::Clock,
            format!(
                "the local clock is {how_far} {way} AWS's (the Date of {whose}), within the 5 minutes AWS allows"
            ),
        );
    }
    let effect = match skew {
        Skew::Ahead(_) => {
            "tokens made here look signed in the future, and the database refuses them (\"PAM authentication failed\")"
        }
        Skew::Behind(_) => {
            "tokens made here look signed in the past and expire early or at once, and AWS refuses requests signed here"
        }
    };
    Check::fail(
        CheckName::Clock,
        format!("the local clock is {how_far} {way} AWS's (the Date of {whose}); {effect}"),
        "synchronize the clock with NTP (timedatectl set-ntp true, or chronyc makestep), then make a new token",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn passes_clocks_within_two_seconds_as_agreeing() {
        let now = 1_795_310_467;
        for local in [now - 2, now, now + 2] {
            let check = check(at(local), at(now), "the STS response");
            assert_eq!(check.status, Status::Pass);
            assert_eq!(
                check.message,
                "the local clock is within 2 s of AWS's (the Date of the STS response)"
            );
        }
    }

    #[test]
    fn passes_a_skew_of_up_to_five_minutes_and_says_how_far_and_which_way() {
        let now = 1_795_310_467;
        let ahead = check(at(now + 60), at(now), "x");
        assert_eq!(ahead.status, Status::Pass);
        assert!(ahead
            .message
            .starts_with("the local clock is 1 min ahead of AWS's"));
        let behind = check(at(now - 300), at(now), "x");
        assert_eq!(behind.status, Status::Pass);
        assert!(behind
            .message
            .starts_with("the local clock is 5 min behind AWS's"));
    }

    #[test]
    fn fails_a_skew_of_more_than_five_minutes_with_the_fix() {
        let now = 1_795_310_467;
        let ahead = check(at(now + 603), at(now), "the STS response");
        assert_eq!(ahead.status, Status::Fail);
        assert_eq!(
            ahead.message,
            "the local clock is 10 min 3 s ahead of AWS's (the Date of the STS response); tokens made here look signed in the future, and the database refuses them (\"PAM authentication failed\")"
        );
        assert!(ahead
            .fix
            .unwrap()
            .starts_with("synchronize the clock with NTP"));
        let behind = check(at(now - 7200), at(now), "x");
        assert_eq!(behind.status, Status::Fail);
        assert!(behind
            .message
            .starts_with("the local clock is 2 h behind AWS's"));
    }
}
