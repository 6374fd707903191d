//! The exit statuses, in one place.

/// How the process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// A token was printed (or help, or the version); `inspect` found no problem.
    Success = 0,
    /// Runtime failure: credentials, profiles, files, the network; for
    /// `inspect`, a token with a problem.
    Failure = 1,
    /// Usage error: a flag missing, unknown, or with a value that cannot
    /// work; for `inspect`, input that is not a token at all.
    Usage = 2,
    /// `exec`: the client was found but could not be run.
    CannotExecute = 126,
    /// `exec`: the client was not found.
    CommandNotFound = 127,
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code as u8)
    }
}
