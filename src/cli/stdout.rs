//! Writing the result to stdout: in one write, and quietly when the reader has gone.

use std::io::{self, Write};

use crate::cli::failure::Failure;

/// Writes the output in one write. A closed stdout (`| true`) is not an
/// error: whoever wanted the token has gone.
pub fn write_stdout(text: &str, what: &str) -> Result<(), Failure> {
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(err) if err.kind() != io::ErrorKind::BrokenPipe => Err(Failure::runtime(
            anyhow::Error::new(err).context(format!("could not write {what} to stdout")),
        )),
        _ => Ok(()),
    }
}
