//! How a failed run is reported: an exit status and one line on stderr.

use std::fmt;

use crate::cli::exit_codes::ExitCode;

/// A failed run.
#[derive(Debug)]
pub struct Failure {
    pub code: ExitCode,
    error: anyhow::Error,
}

impl Failure {
    /// Bad input: exit status 2.
    pub fn usage(error: impl Into<anyhow::Error>) -> Self {
        Failure {
            code: ExitCode::Usage,
            error: error.into(),
        }
    }

    /// Anything else that went wrong: exit status 1.
    pub fn runtime(error: impl Into<anyhow::Error>) -> Self {
        Failure {
            code: ExitCode::Failure,
            error: error.into(),
        }
    }

    /// A failure with its own exit status.
    pub fn with_code(code: ExitCode, error: impl Into<anyhow::Error>) -> Self {
        Failure {
            code,
            error: error.into(),
        }
    }

    /// A clap parse error, cut down to its message and tips on one line.
    pub fn from_clap(err: &clap::Error) -> Self {
        let rendered = err.render().to_string();
        let parts: Vec<String> = rendered
            .split("\n\n")
            .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|p| {
                !p.is_empty() && !p.starts_with("Usage:") && !p.starts_with("For more information")
            })
            .collect();
        let message = parts.join("; ");
        let message = message.strip_prefix("error: ").unwrap_or(&message);
        Failure::usage(anyhow::anyhow!("{message}; see 'rds-auth-token --help'"))
    }
}

/// The error chain on one line, with control, bidirectional and invisible
/// characters escaped ([`rds_auth_token::text`]).
impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&rds_auth_token::text::one_line(
            &crate::cli::worded::line(&self.error),
            usize::MAX,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

    #[test]
    fn puts_a_multi_line_error_on_one_line_with_escapes() {
        let failure = Failure::runtime(anyhow::anyhow!("process said:\n  bad\tthing\x1b[2J"));
        assert_eq!(failure.to_string(), r"process said: bad thing\u{1b}[2J");
        let failure = Failure::usage(anyhow::anyhow!("--hostname evil\u{202e}gnp.exe\u{200b}"));
        assert_eq!(
            failure.to_string(),
            r"--hostname evil\u{202e}gnp.exe\u{200b}"
        );
    }

    #[test]
    fn names_every_missing_flag_on_one_line() {
        let err = Cli::try_parse_from(["rds-auth-token", "--port", "5432"]).unwrap_err();
        let line = Failure::from_clap(&err).to_string();
        assert_eq!(
            line,
            "the following required arguments were not provided: --hostname <HOSTNAME> --username <USERNAME>; see 'rds-auth-token --help'"
        );
    }

    #[test]
    fn suggests_the_flag_meant_by_a_misspelt_one() {
        let err = Cli::try_parse_from(["rds-auth-token", "--hostnme", "h"]).unwrap_err();
        let line = Failure::from_clap(&err).to_string();
        assert!(line.starts_with("unexpected argument '--hostnme' found; tip: a similar argument exists: '--hostname'"), "{line}");
    }
}
