//! A frozen clock for a child process: libfaketime (Debian's `faketime`)
//! preloaded with an absolute `FAKETIME`, so the AWS CLI and this tool sign
//! at the very same second and their tokens can be compared byte for byte.

use std::path::PathBuf;

use super::TestEnv;

/// Where Debian installs the preload library.
const CANDIDATES: [&str; 3] = [
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
];

/// The libfaketime preload library; panics, naming the package, when it is
/// missing (scripts/test installs it).
#[track_caller]
pub fn library() -> PathBuf {
    CANDIDATES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!("libfaketime is missing: apt-get install faketime (scripts/test installs it)")
        })
}

/// Freezes the clock of every later run in `env` at `at`, UTC
/// (`2026-11-22 01:21:07`).
pub fn freeze(env: &mut TestEnv, at: &str) {
    env.env("LD_PRELOAD", library())
        .env("FAKETIME", at)
        .env("TZ", "UTC");
}

/// Moves the clock of every later run in `env` by `offset` from the real
/// one (`+10m`, `-90s`), leaving the monotonic clock alone so that timers
/// and timeouts still work.
pub fn shift(env: &mut TestEnv, offset: &str) {
    env.env("LD_PRELOAD", library())
        .env("FAKETIME", offset)
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .env("TZ", "UTC");
}
