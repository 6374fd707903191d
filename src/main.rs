//! The `rds-auth-token` command: run, report a failure on one line, exit.

mod app;
mod ca_bundle_command;
mod cache_command;
mod cli;
mod engine;
mod exec;
mod exit_codes;
mod failure;
mod format;
mod inspect_command;
mod options;
mod refresh_command;

fn main() -> std::process::ExitCode {
    match app::run(std::env::args_os()) {
        Ok(code) => code.into(),
        Err(failure) => {
            eprintln!("rds-auth-token: error: {failure}");
            failure.code.into()
        }
    }
}
