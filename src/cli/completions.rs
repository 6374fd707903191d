//! `rds-auth-token completions SHELL`: the shell's completion script, made
//! from the command line's own definition, so it knows every flag this
//! binary has.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::cli::exit_codes::ExitCode;
use crate::cli::failure::Failure;
use crate::cli::stdout::write_stdout;
use crate::cli::Cli;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  # bash: where bash-completion looks for it
  rds-auth-token completions bash \\
      > ~/.local/share/bash-completion/completions/rds-auth-token

  # zsh: into a folder on $fpath (fpath+=~/.zfunc before compinit, in ~/.zshrc)
  rds-auth-token completions zsh > ~/.zfunc/_rds-auth-token

  # fish
  rds-auth-token completions fish \\
      > ~/.config/fish/completions/rds-auth-token.fish")]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

/// Prints the completion script for `args.shell`.
///
/// # Errors
/// A runtime failure when stdout fails.
pub fn run(args: &CompletionsArgs) -> Result<ExitCode, Failure> {
    write_stdout(&script(args.shell), "the completion script")?;
    Ok(ExitCode::Success)
}

/// The completion script for `shell`.
pub fn script(shell: Shell) -> String {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "rds-auth-token", &mut script);
    let script = String::from_utf8_lossy(&script).into_owned();
    match shell {
        // clap_complete's bash script spells the state for a subcommand one
        // way where it walks the words (rds__auth__token__subcmd__dsql) and
        // another in the arms that complete it
        // (rds__subcmd__auth__subcmd__token__subcmd__dsql) when the
        // program's name has a hyphen, so nothing after a subcommand
        // completes (clap-rs/clap#6421). The arms are spelt as the walk
        // spells them; once clap_complete does so itself, this changes
        // nothing.
        Shell::Bash => script.replace("rds__subcmd__auth__subcmd__token", "rds__auth__token"),
        _ => script,
    }
}
