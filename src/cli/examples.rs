//! The examples that end every command's help: read back from clap's
//! `after_help`, for the manual pages and for the test that parses every one.
//!
//! The block is clap's `after_help`, in this form:
//!
//! ```text
//! Examples:
//!   # A token for psql
//!   rds-auth-token --hostname mydb.123456789012.us-east-1.rds.amazonaws.com --port 5432 --username app
//!
//!   rds-auth-token cache clear
//! ```
//!
//! the line `Examples:`, then two or three examples separated by a blank
//! line, each an optional `  # comment` line and one command line indented
//! by two spaces that runs `rds-auth-token` (alone, or in a pipe or a
//! `$(...)`). clap wraps the help's lines at the terminal's width, which
//! breaks a command in two, so a long command goes on over more lines the
//! shell's way: ` \` at the end of a line, and the next indented further
//! (six spaces).

/// The line that starts the block.
pub const HEADING: &str = "Examples:";

/// One example: what it shows, and the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// The comment line's text, without `# `.
    pub comment: Option<String>,
    /// The command, without the indent of its first line: one line, or
    /// several joined by ` \` and a newline, each indented as in the help.
    pub command: String,
}

/// The examples in a command's `after_help`.
///
/// # Errors
/// Which line is not in the form above, and why.
pub fn parse(after_help: &str) -> Result<Vec<Example>, String> {
    let mut lines = after_help.lines();
    if lines.next() != Some(HEADING) {
        return Err(format!(
            "the block does not start with the line {HEADING:?}"
        ));
    }
    if after_help.ends_with('\n') {
        return Err("the block does not end with a command line, but a newline".into());
    }
    let mut examples: Vec<Example> = Vec::new();
    let mut comment: Option<String> = None;
    // Where the last line leaves off: a blank line, a comment, a command
    // line that goes on, or one that ends.
    let mut after_blank = true;
    let mut goes_on = false;
    for line in lines {
        if goes_on {
            let text = line
                .strip_prefix("  ")
                .filter(|t| t.starts_with(' ') && !t.trim().is_empty())
                .ok_or_else(|| format!("{line:?} should go on the command before it"))?;
            let command = &mut examples.last_mut().expect("a command goes on").command;
            command.push('\n');
            command.push_str(text);
            goes_on = command.ends_with(" \\");
            continue;
        }
        if line.is_empty() {
            if comment.is_some() || after_blank {
                return Err("a blank line where a command line should be".into());
            }
            after_blank = true;
            continue;
        }
        if !after_blank {
            return Err(format!("no blank line between examples, before {line:?}"));
        }
        let text = line
            .strip_prefix("  ")
            .filter(|t| !t.starts_with(char::is_whitespace) && !t.is_empty())
            .filter(|t| !t.ends_with(char::is_whitespace))
            .ok_or_else(|| {
                format!("{line:?} is not indented by exactly two spaces (or ends with spaces)")
            })?;
        if let Some(text) = text.strip_prefix("# ") {
            if comment.is_some() {
                return Err(format!("two comment lines in a row: {line:?}"));
            }
            comment = Some(text.to_owned());
        } else if text.starts_with('#') {
            return Err(format!("a comment starts with \"# \": {line:?}"));
        } else {
            examples.push(Example {
                comment: comment.take(),
                command: text.to_owned(),
            });
            after_blank = false;
            goes_on = text.ends_with(" \\");
        }
    }
    if comment.is_some() || after_blank || goes_on {
        return Err("the block does not end with a command line".into());
    }
    Ok(examples)
}

/// The `rds-auth-token ...` commands on a command line, each split into
/// words as a shell would (quotes and backslashes; no expansion), from the
/// word `rds-auth-token` to the first `|`, `)`, `;`, `&`, `<`, `>` or `#`
/// outside quotes. A command starts where `rds-auth-token ` follows the
/// start of the line, a blank, `(`, `|`, `;`, `&` or `` ` ``.
///
/// # Errors
/// An unterminated quote, or a backslash at the end.
#[cfg(test)]
pub fn invocations(command: &str) -> Result<Vec<Vec<String>>, String> {
    const PROGRAM: &str = "rds-auth-token ";
    let mut found = Vec::new();
    for (at, _) in command.match_indices(PROGRAM) {
        let starts_a_command = command[..at]
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || "(|;&`".contains(c));
        if starts_a_command {
            found.push(split(&command[at..])?);
        }
    }
    Ok(found)
}

/// The words of `text` up to the first operator outside quotes.
#[cfg(test)]
fn split(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => words.extend(word.take()),
            '|' | ')' | ';' | '&' | '<' | '>' => break,
            '#' if word.is_none() => break,
            '\'' => {
                let word = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(format!("an unterminated ' in {text:?}")),
                    }
                }
            }
            '"' => {
                let word = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some('\n') => {}
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err(format!("an unterminated \" in {text:?}")),
                        },
                        Some(c) => word.push(c),
                        None => return Err(format!("an unterminated \" in {text:?}")),
                    }
                }
            }
            '\\' => match chars.next() {
                // A line that goes on: the backslash and newline are not there.
                Some('\n') => {}
                Some(c) => word.get_or_insert_with(String::new).push(c),
                None => return Err(format!("a backslash at the end of {text:?}")),
            },
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::error::ErrorKind;
    use clap::{CommandFactory, Parser};

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn reads_examples_with_and_without_comments() {
        let block = "Examples:\n  # One\n  rds-auth-token a 'b c'\n\n  rds-auth-token d | x";
        assert_eq!(
            parse(block).unwrap(),
            [
                Example {
                    comment: Some("One".into()),
                    command: "rds-auth-token a 'b c'".into()
                },
                Example {
                    comment: None,
                    command: "rds-auth-token d | x".into()
                }
            ]
        );
    }

    #[test]
    fn reads_a_command_that_goes_on_over_several_lines() {
        let block = "Examples:\n  # Long\n  rds-auth-token a \\\n      --b c \\\n      --d 'e f'\n\n  rds-auth-token g";
        let examples = parse(block).unwrap();
        assert_eq!(
            examples[0].command,
            "rds-auth-token a \\\n    --b c \\\n    --d 'e f'"
        );
        assert_eq!(examples[1].command, "rds-auth-token g");
        assert_eq!(
            invocations(&examples[0].command).unwrap(),
            [words(&["rds-auth-token", "a", "--b", "c", "--d", "e f"])]
        );
        for (block, why) in [
            ("Examples:\n  rds-auth-token a \\\n  --b c", "should go on"),
            (
                "Examples:\n  rds-auth-token a \\\n\n  rds-auth-token b",
                "should go on",
            ),
            (
                "Examples:\n  rds-auth-token a \\",
                "does not end with a command",
            ),
        ] {
            let err = parse(block).unwrap_err();
            assert!(err.contains(why), "{block:?}: {err}");
        }
    }

    #[test]
    fn refuses_blocks_not_in_the_form() {
        for (block, why) in [
            ("Example:\n  rds-auth-token a", "does not start"),
            ("Examples:\n\n  rds-auth-token a", "blank line where"),
            (
                "Examples:\n  rds-auth-token a\n  rds-auth-token b",
                "no blank line",
            ),
            ("Examples:\n   rds-auth-token a", "exactly two spaces"),
            ("Examples:\n  rds-auth-token a ", "ends with spaces"),
            (
                "Examples:\n  # a\n  # b\n  rds-auth-token a",
                "two comment lines",
            ),
            ("Examples:\n  #a\n  rds-auth-token a", "starts with \"# \""),
            ("Examples:\n  # a", "does not end with a command"),
            (
                "Examples:\n  rds-auth-token a\n",
                "does not end with a command",
            ),
            ("Examples:\n  rds-auth-token a\n\n", "but a newline"),
        ] {
            let err = parse(block).unwrap_err();
            assert!(err.contains(why), "{block:?}: {err}");
        }
    }

    #[test]
    fn finds_each_command_in_pipes_and_substitutions_and_splits_it_as_a_shell_does() {
        assert_eq!(
            invocations(
                r#"PGPASSWORD="$(rds-auth-token --hostname "a b" --username 'it''s' --x=\$y)" psql "host=h""#
            )
            .unwrap(),
            [words(&["rds-auth-token", "--hostname", "a b", "--username", "its", "--x=$y"])]
        );
        assert_eq!(
            invocations("rds-auth-token a --b c | rds-auth-token inspect --verify").unwrap(),
            [
                words(&["rds-auth-token", "a", "--b", "c"]),
                words(&["rds-auth-token", "inspect", "--verify"])
            ]
        );
        assert_eq!(
            invocations("rds-auth-token ca-bundle > rds-ca-bundle.pem; rds-auth-token x&&y")
                .unwrap(),
            [
                words(&["rds-auth-token", "ca-bundle"]),
                words(&["rds-auth-token", "x"])
            ]
        );
        assert_eq!(
            invocations("source <(rds-auth-token completions bash) # bash").unwrap(),
            [words(&["rds-auth-token", "completions", "bash"])]
        );
        // Not a command: part of another word, or quoted text.
        assert!(
            invocations("man my-rds-auth-token x; echo 'rds-auth-token a'")
                .unwrap()
                .is_empty()
        );
        assert!(invocations("rds-auth-token 'a").is_err());
        assert!(invocations("rds-auth-token \"a").is_err());
        assert!(invocations("rds-auth-token a\\").is_err());
    }

    /// Checks `command`'s examples, and its subcommands', recursively;
    /// `path` is the subcommand names that lead to it.
    fn check(command: &clap::Command, path: &mut Vec<String>, checked: &mut usize) {
        let name = format!("rds-auth-token {}", path.join(" "));
        let after_help = command
            .get_after_help()
            .unwrap_or_else(|| panic!("`{name}` has no examples (after_help)"))
            .to_string();
        assert!(
            command.get_after_long_help().is_none(),
            "`{name}`: -h and --help end with the same examples; set after_help only"
        );
        let examples = parse(&after_help).unwrap_or_else(|err| panic!("`{name}`: {err}"));
        assert!(
            (2..=3).contains(&examples.len()),
            "`{name}` has {} examples, not 2 or 3",
            examples.len()
        );
        let mut runs_itself = false;
        for example in &examples {
            let invocations =
                invocations(&example.command).unwrap_or_else(|err| panic!("`{name}`: {err}"));
            assert!(
                !invocations.is_empty(),
                "`{name}`: the example {:?} runs no `rds-auth-token ...`",
                example.command
            );
            for words in invocations {
                match Cli::try_parse_from(&words) {
                    Ok(_) => {}
                    Err(err)
                        if matches!(
                            err.kind(),
                            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
                        ) => {}
                    Err(err) => panic!(
                        "`{name}`: the example {:?} does not parse: {err}",
                        example.command
                    ),
                }
                runs_itself |= if path.is_empty() {
                    words.get(1).is_some_and(|w| w.starts_with('-'))
                } else {
                    words.get(1..=path.len()) == Some(path.as_slice())
                };
            }
        }
        assert!(
            runs_itself,
            "`{name}`: no example runs `{name}` itself (with its flags after the command's name)"
        );
        *checked += 1;
        for sub in command.get_subcommands() {
            path.push(sub.get_name().to_owned());
            check(sub, path, checked);
            path.pop();
        }
    }

    #[test]
    fn every_command_ends_its_help_with_two_or_three_examples_that_parse() {
        let mut checked = 0;
        check(&Cli::command(), &mut Vec::new(), &mut checked);
        // The root, and at least exec, inspect, cache, cache clear,
        // ca-bundle, refresh, dsql, dsql exec, elasticache, elasticache exec,
        // memorydb, memorydb exec, completions and man.
        assert!(checked >= 15, "only {checked} commands were checked");
    }
}
