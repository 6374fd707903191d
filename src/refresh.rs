//! Keeping a file fresh: write it now, then every `every`, until told to
//! stop. A failed write keeps the last good file and is tried again after
//! 1, 2, 4, ... seconds (at most a minute, and never later than the next
//! write was due). The writing, the waiting and the reporting are the
//! caller's: [`keep_fresh`] is the schedule alone, so that it can be tested
//! with a clock that does not wait, and run by `refresh` with tokio's.

use std::future::Future;
use std::time::{Duration, SystemTime};

/// The longest wait before a failed write is tried again.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// When to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Between two good writes.
    pub every: Duration,
    /// Write once and return, successful or not.
    pub once: bool,
}

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The time went by: write again.
    Elapsed,
    /// Asked to stop (SIGTERM, SIGINT): return.
    Stopped,
}

/// What happened, for the caller to tell.
#[derive(Debug)]
pub enum Event<'a, E> {
    /// The file was written; the token in it expires at `expires_at`.
    Wrote { expires_at: SystemTime },
    /// The write failed; the last good file stays, and the next try is
    /// `retry_in` from now.
    Failed { error: &'a E, retry_in: Duration },
}

/// The wait after the `failures`-th failed write in a row (from 1): 1, 2,
/// 4, ... seconds, at most [`MAX_BACKOFF`] and at most `every`.
pub fn backoff(failures: u32, every: Duration) -> Duration {
    let doubled = Duration::from_secs(1u64 << failures.saturating_sub(1).min(6));
    doubled.min(MAX_BACKOFF).min(every)
}

/// Writes with `write` on `schedule`, waiting with `wait`, and tells
/// `report` of each write. Returns `Ok` when `wait` says to stop, or after
/// the one write of [`Schedule::once`].
///
/// # Errors
/// The write's error with [`Schedule::once`], and the first write's when
/// `fatal` says retrying cannot fix it (bad input rather than a passing
/// failure); later failures are reported and retried.
pub async fn keep_fresh<E, W, WF, S, SF>(
    schedule: Schedule,
    mut write: W,
    mut wait: S,
    mut report: impl FnMut(Event<'_, E>),
    fatal: impl Fn(&E) -> bool,
) -> Result<(), E>
where
    W: FnMut() -> WF,
    WF: Future<Output = Result<SystemTime, E>>,
    S: FnMut(Duration) -> SF,
    SF: Future<Output = Wake>,
{
    let mut failures: u32 = 0;
    let mut first = true;
    loop {
        let delay = match write().await {
            Ok(expires_at) => {
                report(Event::Wrote { expires_at });
                if schedule.once {
                    return Ok(());
                }
                failures = 0;
                schedule.every
            }
            Err(error) if schedule.once || (first && fatal(&error)) => return Err(error),
            Err(error) => {
                failures = failures.saturating_add(1);
                let retry_in = backoff(failures, schedule.every);
                report(Event::Failed {
                    error: &error,
                    retry_in,
                });
                retry_in
            }
        };
        first = false;
        if wait(delay).await == Wake::Stopped {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::time::UNIX_EPOCH;

    use super::*;

    /// An error the test names: `fatal` ones are bad input.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Oops {
        fatal: bool,
    }

    /// The outcome of each write in turn; past the script, success.
    fn script(outcomes: &[Result<u64, bool>]) -> RefCell<VecDeque<Result<SystemTime, Oops>>> {
        RefCell::new(
            outcomes
                .iter()
                .map(|o| match *o {
                    Ok(secs) => Ok(UNIX_EPOCH + Duration::from_secs(secs)),
                    Err(fatal) => Err(Oops { fatal }),
                })
                .collect(),
        )
    }

    /// Runs `keep_fresh` with the scripted writes and a clock that returns
    /// at once, stopping after `waits` waits; returns the result, the waits
    /// asked for and what was reported.
    fn run(
        schedule: Schedule,
        outcomes: &[Result<u64, bool>],
        waits: usize,
    ) -> (Result<(), Oops>, Vec<Duration>, Vec<String>) {
        let writes = script(outcomes);
        let asked = RefCell::new(Vec::new());
        let mut told = Vec::new();
        let result = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(keep_fresh(
                schedule,
                || {
                    let next = writes.borrow_mut().pop_front().unwrap_or(Ok(UNIX_EPOCH));
                    async move { next }
                },
                |delay| {
                    asked.borrow_mut().push(delay);
                    let stop = asked.borrow().len() >= waits;
                    async move {
                        if stop {
                            Wake::Stopped
                        } else {
                            Wake::Elapsed
                        }
                    }
                },
                |event| {
                    told.push(match event {
                        Event::Wrote { expires_at } => format!(
                            "wrote {}",
                            expires_at.duration_since(UNIX_EPOCH).unwrap().as_secs()
                        ),
                        Event::Failed { error, retry_in } => {
                            format!("failed {error:?}, retry in {}", retry_in.as_secs())
                        }
                    })
                },
                |error: &Oops| error.fatal,
            ));
        (result, asked.into_inner(), told)
    }

    const EVERY_5_MIN: Schedule = Schedule {
        every: Duration::from_secs(300),
        once: false,
    };

    #[test]
    fn backs_off_1_2_4_to_a_minute_and_never_past_the_next_write() {
        let secs: Vec<u64> = (1..=9)
            .map(|n| backoff(n, Duration::from_secs(300)).as_secs())
            .collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(backoff(5, Duration::from_secs(10)), Duration::from_secs(10));
        assert_eq!(backoff(u32::MAX, Duration::from_secs(300)), MAX_BACKOFF);
    }

    #[test]
    fn writes_every_period_until_stopped() {
        let (result, waits, told) = run(EVERY_5_MIN, &[Ok(900), Ok(1800)], 2);
        assert_eq!(result, Ok(()));
        assert_eq!(waits, [Duration::from_secs(300); 2]);
        assert_eq!(told, ["wrote 900", "wrote 1800"]);
    }

    #[test]
    fn retries_failures_with_backoff_and_starts_over_after_a_good_write() {
        let outcomes = [Ok(1), Err(false), Err(false), Err(false), Ok(2), Err(false)];
        let (result, waits, told) = run(EVERY_5_MIN, &outcomes, 6);
        assert_eq!(result, Ok(()));
        let secs: Vec<u64> = waits.iter().map(Duration::as_secs).collect();
        assert_eq!(secs, [300, 1, 2, 4, 300, 1]);
        assert_eq!(told[1], "failed Oops { fatal: false }, retry in 1");
        assert_eq!(told[4], "wrote 2");
    }

    #[test]
    fn a_fatal_first_write_ends_it_and_a_fatal_later_one_is_retried() {
        let (result, waits, told) = run(EVERY_5_MIN, &[Err(true)], 5);
        assert_eq!(result, Err(Oops { fatal: true }));
        assert!(waits.is_empty() && told.is_empty());

        let (result, waits, _) = run(EVERY_5_MIN, &[Ok(1), Err(true)], 2);
        assert_eq!(result, Ok(()));
        assert_eq!(waits[1], Duration::from_secs(1));
    }

    #[test]
    fn once_writes_once_and_returns_the_failure() {
        let once = Schedule {
            once: true,
            ..EVERY_5_MIN
        };
        let (result, waits, told) = run(once, &[Ok(7)], 5);
        assert_eq!(result, Ok(()));
        assert!(waits.is_empty());
        assert_eq!(told, ["wrote 7"]);
        let (result, waits, _) = run(once, &[Err(false)], 5);
        assert_eq!(result, Err(Oops { fatal: false }));
        assert!(waits.is_empty());
    }
}
