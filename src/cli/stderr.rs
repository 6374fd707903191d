//! Messages on stderr that never panic: `eprintln!` panics when stderr is a
//! closed pipe (`rds-auth-token --debug 2>&1 | grep -q ...`), and a message
//! nobody reads is no reason to lose the token.

/// `eprintln!`, but a failed write is ignored.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}
