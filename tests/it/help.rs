//! Every command's help, `-h` and `--help`, at every level, ends with its
//! examples, as the real binary prints them. The commands are found the way
//! a user finds them: in the "Commands:" list of each help. (The unit test
//! in src/cli/examples.rs parses every example with the real parser.)

use crate::support;

use support::TestEnv;

/// The command paths below `path`, read from its help's "Commands:" list,
/// clap's own `help` left out.
fn subcommands(env: &TestEnv, path: &[String]) -> Vec<String> {
    let help = env
        .run(path.iter().map(String::as_str).chain(["--help"]))
        .success()
        .stdout();
    let Some((_, list)) = help.split_once("\nCommands:\n") else {
        return Vec::new();
    };
    list.lines()
        .take_while(|line| !line.is_empty())
        .filter_map(|line| line.strip_prefix("  "))
        .filter(|line| !line.starts_with(' '))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// Every command path: the root (empty) first, then depth first.
fn every_command(env: &TestEnv) -> Vec<Vec<String>> {
    let mut found = vec![Vec::new()];
    let mut i = 0;
    while i < found.len() {
        let path = found[i].clone();
        for name in subcommands(env, &path) {
            let mut sub = path.clone();
            sub.push(name);
            found.push(sub);
        }
        i += 1;
    }
    found
}

/// The help's last block, from `Examples:` to the end.
fn examples_block(help: &str) -> Option<&str> {
    let at = help.rfind("\n\nExamples:\n")?;
    Some(&help[at + 2..])
}

/// The examples in a block as printed, each a list of lines.
fn examples(block: &str) -> Vec<Vec<&str>> {
    let mut lines = block.lines();
    assert_eq!(lines.next(), Some("Examples:"));
    let mut examples: Vec<Vec<&str>> = vec![Vec::new()];
    for line in lines {
        if line.is_empty() {
            examples.push(Vec::new());
        } else {
            examples.last_mut().unwrap().push(line);
        }
    }
    examples
}

/// `Err` when a line of an example is not where the form puts it, as
/// when the help broke a long line in two: an example is an optional
/// `  # comment` line, one command line, and lines it goes on in, each
/// after a line ending in ` \` and indented further.
fn check_lines(example: &[&str]) -> Result<(), String> {
    let mut seen_command = false;
    for (i, line) in example.iter().enumerate() {
        let goes_on = i > 0 && example[i - 1].ends_with(" \\");
        let fits = if goes_on {
            line.starts_with("   ")
        } else if line.starts_with("  # ") {
            i == 0
        } else {
            let first = line.starts_with("  ") && !line.starts_with("   ") && !seen_command;
            seen_command = true;
            first
        };
        if !fits {
            return Err(format!("{line:?} is not where an example's lines go"));
        }
    }
    Ok(())
}

#[test]
fn every_command_s_short_and_long_help_end_with_the_same_two_or_three_examples() {
    let env = TestEnv::new();
    let commands = every_command(&env);
    for expected in [
        &["dsql", "exec"][..],
        &["cache", "clear"],
        &["completions"],
        &["man"],
    ] {
        assert!(
            commands.iter().any(|c| c == expected),
            "{expected:?} not found among {commands:?}"
        );
    }
    for path in &commands {
        let name = format!("rds-auth-token {}", path.join(" "));
        let args = |flag: &'static str| path.iter().map(String::as_str).chain([flag]);
        let short = env.run(args("-h")).success().stdout();
        let long = env.run(args("--help")).success().stdout();
        let short_block = examples_block(&short)
            .unwrap_or_else(|| panic!("`{name} -h` does not end with examples:\n{short}"));
        let long_block = examples_block(&long)
            .unwrap_or_else(|| panic!("`{name} --help` does not end with examples:\n{long}"));
        assert_eq!(short_block, long_block, "{name}");
        assert!(short_block.ends_with('\n'));
        let examples = examples(short_block);
        assert!(
            (2..=3).contains(&examples.len()),
            "`{name}` shows {} examples:\n{short_block}",
            examples.len()
        );
        for example in &examples {
            assert!(
                example.iter().any(|line| line.contains("rds-auth-token ")),
                "`{name}`: an example runs no rds-auth-token:\n{short_block}"
            );
        }
    }
}

#[test]
fn no_example_is_broken_over_two_lines_at_100_columns() {
    // clap wraps the help at the terminal's width, at most 100 columns: a
    // longer example line is printed as two lines that no longer run. A
    // long command goes on over lines ending in " \".
    let env = TestEnv::new();
    for path in every_command(&env) {
        let help = env
            .run(path.iter().map(String::as_str).chain(["--help"]))
            .success()
            .stdout();
        let block = examples_block(&help).unwrap();
        for example in examples(block) {
            if let Err(err) = check_lines(&example) {
                panic!(
                    "`rds-auth-token {}`: an example line is too long (over 100 columns), so the help breaks it: {err}\n{block}",
                    path.join(" ")
                );
            }
        }
    }
}
