//! `rds-auth-token sql`: print the statements that make database users IAM logins.

use std::ffi::OsString;

use clap::{ArgAction, Args};
use rds_auth_token::sql::{self, Dialect};
use rds_auth_token::Username;

use crate::cli::exit_codes::ExitCode;
use crate::cli::failure::Failure;
use crate::cli::options::utf8;
use crate::cli::stdout::write_stdout;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  # Make app an IAM login on RDS for PostgreSQL or Aurora PostgreSQL, as the master user
  rds-auth-token sql --engine postgres --username app | psql -v ON_ERROR_STOP=1 -h H -U postgres

  # Two users on RDS for MySQL or Aurora MySQL
  rds-auth-token sql --engine mysql --username app --username report

  # A name with quotes and a backslash, quoted for MariaDB
  rds-auth-token sql --engine mariadb --username \"o'brien\\ops\"")]
pub struct SqlArgs {
    /// The database engine.
    #[arg(long, value_enum, value_name = "ENGINE", ignore_case = true)]
    pub engine: Dialect,

    /// A database user to create, exactly as it logs in (and as the token
    /// and the IAM policy name it). Repeat for several users. Any text
    /// without control characters: quotes, backslashes, spaces, `;`, `%`
    /// and non-ASCII letters are quoted, and --username=-x works.
    #[arg(
        long,
        value_name = "USERNAME",
        allow_hyphen_values = true,
        required = true,
        action = ArgAction::Append
    )]
    pub username: Vec<OsString>,
}

/// Prints the statements, one a line.
///
/// # Errors
/// A usage failure for a user name the engine would not create as given;
/// a runtime failure when stdout fails.
pub fn run(args: SqlArgs) -> Result<ExitCode, Failure> {
    let engine = args.engine;
    let users = args
        .username
        .iter()
        .map(|name| Ok(Username::new(utf8("--username", name)?)?))
        .collect::<anyhow::Result<Vec<_>>>()
        .map_err(Failure::usage)?;
    let statements = sql::create_users(engine, &users).map_err(Failure::usage)?;
    write_stdout(&statements.to_string(), "the statements")?;
    Ok(ExitCode::Success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::{CommandFactory, Parser};

    fn parse(args: &[&str]) -> SqlArgs {
        let cli = Cli::try_parse_from(["rds-auth-token", "sql"].iter().chain(args)).unwrap();
        match cli.command {
            Some(Command::Sql(args)) => args,
            other => panic!("expected sql, got {other:?}"),
        }
    }

    #[test]
    fn knows_the_engines_by_the_names_rds_gives_them_and_people_type() {
        for (name, engine) in [
            ("postgres", Dialect::Postgres),
            ("postgresql", Dialect::Postgres),
            ("PostgreSQL", Dialect::Postgres),
            ("pg", Dialect::Postgres),
            ("aurora-postgresql", Dialect::Postgres),
            ("mysql", Dialect::Mysql),
            ("aurora-mysql", Dialect::Mysql),
            ("MySQL", Dialect::Mysql),
            ("mariadb", Dialect::Mariadb),
            ("MariaDB", Dialect::Mariadb),
        ] {
            assert_eq!(
                parse(&["--engine", name, "--username", "u"]).engine,
                engine,
                "{name}"
            );
        }
    }

    #[test]
    fn takes_several_users_in_order_and_names_that_start_with_a_hyphen() {
        let args = parse(&[
            "--username",
            "-x",
            "--engine",
            "mysql",
            "--username=--y",
            "--username",
            "z",
        ]);
        assert_eq!(args.username, ["-x", "--y", "z"]);
    }

    #[test]
    fn every_help_example_parses_as_this_command() {
        let help = SqlArgs::augment_args(clap::Command::new("sql"))
            .get_after_help()
            .unwrap()
            .to_string();
        let examples: Vec<&str> = help
            .lines()
            .filter_map(|l| l.strip_prefix("  rds-auth-token "))
            .collect();
        assert_eq!(examples.len(), 3, "{help}");
        for example in examples {
            let command = example.split('|').next().unwrap();
            // The examples quote only with double quotes and no escapes.
            let mut words = vec!["rds-auth-token".to_owned()];
            let mut word = String::new();
            let mut quoted = false;
            for c in command.trim().chars() {
                match c {
                    '"' => quoted = !quoted,
                    ' ' if !quoted => words.push(std::mem::take(&mut word)),
                    c => word.push(c),
                }
            }
            words.push(word);
            let cli = Cli::try_parse_from(&words).unwrap_or_else(|e| panic!("{example}: {e}"));
            assert!(matches!(cli.command, Some(Command::Sql(_))), "{example}");
        }
        Cli::command().debug_assert();
    }
}
