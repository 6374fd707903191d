//! The exit statuses, in one place.

/// How the process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// A token was printed (or help, or the version).
    Success = 0,
    /// Runtime failure: credentials, profiles, files, the network.
    Failure = 1,
    /// Usage error: a flag missing, unknown, or with a value that cannot work.
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
