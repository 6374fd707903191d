//! `rds-auth-token man`: the manual pages, made from the command line's own
//! definition: the main page on stdout, or one page per command in a folder.

use std::io;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, CommandFactory};
use clap_mangen::roff::{roman, Roff};
use clap_mangen::Man;
use rds_auth_token::private_file::write_atomic_readable;

use crate::cli::examples::{self, Example};
use crate::cli::exit_codes::ExitCode;
use crate::cli::failure::Failure;
use crate::cli::stdout::write_stdout;
use crate::cli::Cli;

/// The program and its version, for the foot of every page.
const SOURCE: &str = concat!("rds-auth-token ", env!("RDS_AUTH_TOKEN_BUILD_VERSION"));

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  # Read the main page
  rds-auth-token man | man -l -

  # A page for every command, where man finds them (next to ~/.local/bin)
  rds-auth-token man --dir ~/.local/share/man/man1

  # Then read a command's page
  rds-auth-token man --dir ~/.local/share/man/man1 && man rds-auth-token-exec")]
pub struct ManArgs {
    /// Write one page per command into DIR (made when missing) instead of
    /// printing the main page: rds-auth-token.1, rds-auth-token-exec.1,
    /// rds-auth-token-dsql-exec.1 and so on, each replaced atomically, and
    /// print their paths.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// A manual page.
#[derive(Debug)]
pub struct Page {
    /// The file name, such as `rds-auth-token-dsql-exec.1`.
    pub file_name: String,
    /// The page, in roff.
    pub text: String,
}

/// Prints the main page, or writes every page into `--dir`.
///
/// # Errors
/// A runtime failure when a page cannot be made or written, or stdout
/// fails. (clap refuses an empty `--dir`.)
pub fn run(args: &ManArgs) -> Result<ExitCode, Failure> {
    let pages = pages().map_err(Failure::runtime)?;
    match &args.dir {
        None => write_stdout(&pages[0].text, "the manual page")?,
        Some(dir) => {
            let written = write_pages(dir, &pages).map_err(Failure::runtime)?;
            let list: String = written
                .iter()
                .map(|path| format!("{}\n", path.display()))
                .collect();
            write_stdout(&list, "the pages' paths")?;
        }
    }
    Ok(ExitCode::Success)
}

/// Every page: the main one first, then one per command, depth first.
///
/// # Errors
/// When roff cannot be written (it is written to memory, so never in practice).
pub fn pages() -> io::Result<Vec<Page>> {
    fn no_help_command(command: clap::Command) -> clap::Command {
        command
            .disable_help_subcommand(true)
            .mut_subcommands(no_help_command)
    }
    fn collect(command: &clap::Command, pages: &mut Vec<Page>) -> io::Result<()> {
        pages.push(page(command)?);
        for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
            collect(sub, pages)?;
        }
        Ok(())
    }
    let mut root = no_help_command(Cli::command());
    root.build();
    let mut pages = Vec::new();
    collect(&root, &mut pages)?;
    Ok(pages)
}

/// One command's page: clap_mangen's sections, with the help's examples as
/// an EXAMPLES section in place of its plain EXTRA one.
fn page(command: &clap::Command) -> io::Result<Page> {
    let examples = command
        .get_after_help()
        .map(|text| examples::parse(&text.to_string()))
        .transpose()
        .map_err(io::Error::other)?
        .unwrap_or_default();
    let man = Man::new(command.clone().after_help(None::<&str>)).source(SOURCE);
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    if command.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(&mut out)?;
    }
    if !examples.is_empty() {
        examples_section(&examples).to_writer(&mut out)?;
    }
    if command.get_version().is_some() {
        man.render_version_section(&mut out)?;
    }
    Ok(Page {
        file_name: man.get_filename(),
        text: String::from_utf8(out).map_err(io::Error::other)?,
    })
}

/// EXAMPLES: each comment as a paragraph, each command on a line of its own.
fn examples_section(examples: &[Example]) -> Roff {
    let mut roff = Roff::default();
    roff.control("SH", ["EXAMPLES"]);
    for example in examples {
        roff.control("PP", []);
        if let Some(comment) = &example.comment {
            roff.text([roman(comment.as_str())]);
            roff.control("PP", []);
        }
        roff.control("RS", ["4"]);
        roff.control("nf", []);
        roff.text([roman(example.command.as_str())]);
        roff.control("fi", []);
        roff.control("RE", []);
    }
    roff
}

/// Writes every page into `dir`, made when missing, each file atomically;
/// returns their paths. Every page is made before the first is written.
fn write_pages(dir: &Path, pages: &[Page]) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("could not make the folder {}", dir.display()))?;
    pages
        .iter()
        .map(|page| {
            let path = dir.join(&page.file_name);
            write_atomic_readable(&path, page.text.as_bytes())
                .context("could not write a manual page")?;
            Ok(path)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makes_a_page_for_every_command_named_after_its_path() {
        let names: Vec<String> = pages().unwrap().into_iter().map(|p| p.file_name).collect();
        assert_eq!(names[0], "rds-auth-token.1");
        for name in [
            "rds-auth-token-exec.1",
            "rds-auth-token-cache-clear.1",
            "rds-auth-token-dsql-exec.1",
            "rds-auth-token-completions.1",
            "rds-auth-token-man.1",
        ] {
            assert!(names.iter().any(|n| n == name), "{name} missing: {names:?}");
        }
        assert!(
            !names.iter().any(|n| n.contains("-help")),
            "a page for clap's help command: {names:?}"
        );
    }

    #[test]
    fn puts_the_examples_in_an_examples_section() {
        let page = &pages().unwrap()[0].text;
        assert!(page.contains("\n.SH EXAMPLES\n"), "{page}");
        assert!(!page.contains(".SH EXTRA"), "{page}");
    }
}
