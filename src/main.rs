//! The `rds-auth-token` command: run, report a failure on one line, exit.

#[macro_use]
mod cli;

fn main() -> std::process::ExitCode {
    match cli::run(std::env::args_os()) {
        Ok(code) => code.into(),
        Err(failure) => {
            say!("rds-auth-token: error: {failure}");
            failure.code.into()
        }
    }
}
