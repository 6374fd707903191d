//! `rds-auth-token man`: the main page and every command's page render with
//! man-db's `man -l` (groff with warnings on) without a warning, `--dir`
//! writes one complete page per command where `man` then finds them, and
//! its errors are one line.
#![cfg(target_os = "linux")]

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::TestEnv;

/// What `man` prints on stderr (its warnings) and stdout for a page file.
fn render(page: &Path) -> support::Run {
    if Command::new("man").arg("--version").output().is_err()
        || Command::new("groff").arg("--version").output().is_err()
    {
        panic!("man and groff are needed for this test (apt-get install man-db groff-base; scripts/test installs them)");
    }
    let mut env = TestEnv::new();
    env.env("MANWIDTH", "80").env("LANG", "C.UTF-8");
    env.run_program(
        "man",
        ["--warnings", "-E", "UTF-8", "-l", page.to_str().unwrap()],
    )
}

#[track_caller]
fn renders_without_warnings(page: &Path) -> String {
    let run = render(page);
    run.success().stderr_is("");
    run.stdout()
}

#[test]
fn the_main_page_renders_without_warnings_and_has_the_options_commands_and_examples() {
    let env = TestEnv::new();
    let run = env.run(["man"]);
    run.success().stderr_is("");
    let page = env.write("rds-auth-token.1", &run.stdout());
    let text = renders_without_warnings(&page);
    for section in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "SUBCOMMANDS",
        "EXAMPLES",
        "VERSION",
    ] {
        assert!(
            text.lines().any(|line| line == section),
            "no {section} section:\n{text}"
        );
    }
    for text_in_page in [
        "rds-auth-token - Make an AWS IAM authentication token",
        "--hostname <HOSTNAME>",
        "--port <PORT>",
        "--username <USERNAME>",
        "rds-auth-token-exec(1)",
        "rds-auth-token-dsql(1)",
        // An example, as the help shows it, continuation and all.
        "rds-auth-token --hostname mydb.123456789012.us-east-1.rds.amazonaws.com \\",
    ] {
        assert!(text.contains(text_in_page), "no {text_in_page:?}:\n{text}");
    }
    assert!(!text.contains("EXTRA"), "{text}");
    assert!(
        !text.contains("rds-auth-token-help"),
        "a page for clap's help command is named:\n{text}"
    );
}

/// The umask this test runs with (the binary inherits it).
fn umask() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let mask = status
        .lines()
        .find_map(|line| line.strip_prefix("Umask:"))
        .unwrap();
    u32::from_str_radix(mask.trim(), 8).unwrap()
}

#[test]
fn writes_a_page_per_command_into_a_new_folder_and_each_renders_without_warnings() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    let dir = env.home().join("share/man/man1");
    let run = env.run(["man", "--dir", dir.to_str().unwrap()]);
    run.success().stderr_is("");
    let listed: Vec<PathBuf> = run.stdout().lines().map(PathBuf::from).collect();
    let mut written: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    written.sort();
    let mut sorted = listed.clone();
    sorted.sort();
    // The paths printed are the files there, and nothing else is there
    // (no temporary file left behind).
    assert_eq!(sorted, written);
    assert_eq!(listed[0], dir.join("rds-auth-token.1"));
    for name in [
        "rds-auth-token-exec.1",
        "rds-auth-token-inspect.1",
        "rds-auth-token-cache-clear.1",
        "rds-auth-token-ca-bundle.1",
        "rds-auth-token-refresh.1",
        "rds-auth-token-dsql.1",
        "rds-auth-token-dsql-exec.1",
        "rds-auth-token-elasticache-exec.1",
        "rds-auth-token-memorydb-exec.1",
        "rds-auth-token-completions.1",
        "rds-auth-token-man.1",
    ] {
        assert!(
            listed.contains(&dir.join(name)),
            "{name} not written: {listed:?}"
        );
    }
    for page in &listed {
        let text = renders_without_warnings(page);
        assert!(text.contains("EXAMPLES"), "{page:?}:\n{text}");
        let mode = std::fs::metadata(page).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644 & !umask(), "{page:?}");
    }
    let exec = renders_without_warnings(&dir.join("rds-auth-token-dsql-exec.1"));
    assert!(
        exec.contains("rds-auth-token dsql exec") && exec.contains("--admin"),
        "{exec}"
    );
    // The main page on stdout is the one --dir writes.
    assert_eq!(
        env.run(["man"]).success().stdout(),
        std::fs::read_to_string(dir.join("rds-auth-token.1")).unwrap()
    );
}

#[test]
fn replaces_old_pages_whole() {
    let env = TestEnv::new();
    let old = "old page that is much longer than nothing ".repeat(1000);
    let page = env.write("man1/rds-auth-token-exec.1", &old);
    env.run(["man", "--dir", page.parent().unwrap().to_str().unwrap()])
        .success();
    let new = std::fs::read_to_string(&page).unwrap();
    assert!(!new.contains("old page"));
    assert!(new.starts_with(".ie \\n(.g .ds Aq"), "{new}");
    assert!(new.contains(".SH EXAMPLES"), "{new}");
}

#[test]
fn man_finds_the_pages_written_next_to_a_bin_folder_on_path() {
    // man-db looks in DIR/../share/man for every DIR/bin on PATH, so
    // ~/.local/share/man needs no MANPATH when ~/.local/bin is on PATH.
    let mut env = TestEnv::new();
    let bin = env.home().join(".local/bin");
    std::fs::create_dir_all(&bin).unwrap();
    env.env(
        "PATH",
        format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
    );
    let dir = env.home().join(".local/share/man/man1");
    env.run(["man", "--dir", dir.to_str().unwrap()]).success();
    let found = env.run_program("man", ["-w", "rds-auth-token-dsql-exec"]);
    found.success().stdout_is(&format!(
        "{}\n",
        dir.join("rds-auth-token-dsql-exec.1").display()
    ));
}

#[test]
fn says_in_one_line_when_the_folder_cannot_be_made_or_is_empty() {
    let env = TestEnv::new();
    let file = env.write("not-a-folder", "x");
    env.run(["man", "--dir", file.to_str().unwrap()])
        .fails_with(1)
        .stderr_contains("could not make the folder ");
    env.run(["man", "--dir", ""])
        .fails_with(2)
        .stderr_contains("a value is required for '--dir <DIR>'");
    env.run(["man", "--dir"])
        .fails_with(2)
        .stderr_contains("--dir");
    env.run(["man", "extra"]).fails_with(2);
}
