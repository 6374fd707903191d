//! The `rds-auth-token` command: run, report a failure on one line, exit.

mod app;
mod cli;
mod engine;
mod exec;
mod exit_codes;
mod failure;
mod format;
mod options;

use exit_codes::ExitCode;

fn main() -> std::process::ExitCode {
    match app::run(std::env::args_os()) {
        Ok(()) => ExitCode::Success.into(),
        Err(failure) => {
            eprintln!("rds-auth-token: error: {failure}");
            failure.code.into()
        }
    }
}
