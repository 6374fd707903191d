//! `rds-auth-token completions SHELL`: each shell's script names the flags
//! and commands, and the shells that are installed here load it and
//! complete with it: bash through the function it registers, fish with
//! `complete -C`, zsh through compinit's compdef, elvish through its
//! argument completer. (PowerShell has no interpreter in Debian: its script
//! is only read.)
#![cfg(unix)]

use crate::support;

use std::path::Path;
use std::process::Command;

use support::TestEnv;

const SHELLS: [&str; 5] = ["bash", "zsh", "fish", "powershell", "elvish"];

/// The completion script for `shell`, printed with status 0 and nothing on stderr.
fn script(shell: &str) -> String {
    let run = TestEnv::new().run(["completions", shell]);
    run.success().stderr_is("");
    run.stdout()
}

/// Runs `program args` with a sealed HOME; panics unless it is installed.
fn run_shell(env: &TestEnv, program: &str, args: &[&str]) -> support::Run {
    if Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .map_or(true, |o| !o.status.success())
    {
        panic!("{program} is needed for this test (apt-get install {program}; scripts/test installs it)");
    }
    env.run_program(program, args)
}

/// Writes the script for `shell` into HOME; returns its path.
fn script_file(env: &TestEnv, shell: &str, name: &str) -> String {
    env.write(name, &script(shell)).to_str().unwrap().to_owned()
}

#[test]
fn every_shell_s_script_names_the_flags_and_the_commands() {
    for shell in SHELLS {
        let script = script(shell);
        assert!(script.contains("rds-auth-token"), "{shell}:\n{script}");
        for flag in [
            "hostname",
            "port",
            "username",
            "region",
            "profile",
            "format",
            "admin",
            "cache-name",
            "cluster-name",
            "dir",
        ] {
            // fish names a long flag with -l.
            let flag = if shell == "fish" {
                format!("-l {flag}")
            } else {
                format!("--{flag}")
            };
            assert!(script.contains(&flag), "{shell}'s script lacks {flag}");
        }
        for word in [
            "exec",
            "inspect",
            "cache",
            "clear",
            "ca-bundle",
            "refresh",
            "dsql",
            "elasticache",
            "memorydb",
            "completions",
            "man",
        ] {
            assert!(script.contains(word), "{shell}'s script lacks {word}");
        }
    }
}

#[test]
fn bash_loads_the_script_registers_it_and_completes_through_the_registered_function() {
    let env = TestEnv::new();
    let file = script_file(&env, "bash", "rds-auth-token.bash");
    // COMP_WORDS and COMP_CWORD as bash sets them for the line, then the
    // function `complete -p` names, called as bash calls it.
    let test = format!(
        r#"set -eu
source {file}
registered=$(complete -p rds-auth-token)
echo "$registered"
function=$(sed -n 's/.* -F \([^ ]*\) .*/\1/p' <<<"$registered")
complete_line() {{
  COMP_WORDS=("$@")
  COMP_CWORD=$(($# - 1))
  COMP_LINE="$*"
  COMP_POINT=${{#COMP_LINE}}
  COMPREPLY=()
  "$function" rds-auth-token "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD - 1]}}"
  echo "$* => ${{COMPREPLY[*]}}"
}}
complete_line rds-auth-token --ho
complete_line rds-auth-token dsql ex
complete_line rds-auth-token dsql exec --ad
complete_line rds-auth-token completions p
complete_line rds-auth-token --hostname h --format ''
complete_line rds-auth-token man --d
"#
    );
    let run = run_shell(&env, "bash", &["--norc", "--noprofile", "-c", &test]);
    run.success().stderr_is("");
    let stdout = run.stdout();
    let mut lines = stdout.lines();
    let registered = lines.next().unwrap();
    assert!(
        registered.starts_with("complete ")
            && registered.contains(" -F _rds__auth__token ")
            && registered.ends_with(" rds-auth-token"),
        "{stdout}"
    );
    assert_eq!(
        lines.collect::<Vec<_>>(),
        [
            "rds-auth-token --ho => --hostname",
            "rds-auth-token dsql ex => exec",
            "rds-auth-token dsql exec --ad => --admin",
            "rds-auth-token completions p => powershell",
            "rds-auth-token --hostname h --format  => token json env pgpass uri",
            "rds-auth-token man --d => --dir",
        ],
        "{stdout}"
    );
}

#[test]
fn bash_loads_the_script_from_the_command_in_the_help() {
    // `source <(rds-auth-token completions bash)`, with the binary on PATH.
    let mut env = TestEnv::new();
    let bin = Path::new(env!("CARGO_BIN_EXE_rds-auth-token"))
        .parent()
        .unwrap();
    env.env(
        "PATH",
        format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
    );
    let run = run_shell(
        &env,
        "bash",
        &[
            "--norc",
            "--noprofile",
            "-c",
            "source <(rds-auth-token completions bash) && complete -p rds-auth-token",
        ],
    );
    run.success().stderr_is("");
    assert!(
        run.stdout().contains(" -F _rds__auth__token "),
        "{}",
        run.stdout()
    );
}

#[test]
fn fish_loads_the_script_without_errors_and_completes_flags_commands_and_values() {
    let env = TestEnv::new();
    let file = script_file(&env, "fish", "rds-auth-token.fish");
    run_shell(&env, "fish", &["--no-config", "--no-execute", &file])
        .success()
        .stderr_is("");
    let test = format!(
        "source {file}
complete -C 'rds-auth-token --ho'
complete -C 'rds-auth-token dsql ex'
complete -C 'rds-auth-token --hostname h --format=js'"
    );
    let run = run_shell(&env, "fish", &["--no-config", "-c", &test]);
    // A help text that breaks the script's quoting shows up on stderr
    // only when the script is sourced.
    run.success().stderr_is("");
    let stdout = run.stdout();
    let candidates: Vec<&str> = stdout
        .lines()
        .map(|line| line.split('\t').next().unwrap())
        .collect();
    assert_eq!(candidates, ["--hostname", "exec", "--format=json"]);
}

#[test]
fn zsh_parses_the_script_and_compinit_registers_it() {
    let env = TestEnv::new();
    let file = script_file(&env, "zsh", "_rds-auth-token");
    run_shell(&env, "zsh", &["-n", &file])
        .success()
        .stderr_is("");
    let test = format!(
        "autoload -U compinit && compinit -u -D && source {file} && print -r -- $_comps[rds-auth-token]"
    );
    let run = run_shell(&env, "zsh", &["-f", "-c", &test]);
    run.success().stderr_is("").stdout_is("_rds-auth-token\n");
}

#[test]
fn elvish_s_argument_completer_offers_the_flags_and_the_subcommands() {
    // The editor's namespace exists only in an interactive shell: a
    // stand-in holds the completer the script sets, and candidates are
    // plain strings.
    let env = TestEnv::new();
    let stand_in = "var edit: = (ns [&completion:=(ns [&arg-completer=[&]]) \
                    &complex-candidate~={|text &display=''| put $text }])\n";
    let file = env.write(
        "rds-auth-token.elv",
        &format!(
            "{stand_in}{}\n\
             echo ($edit:completion:arg-completer[rds-auth-token] rds-auth-token --ho)\n\
             echo ($edit:completion:arg-completer[rds-auth-token] rds-auth-token dsql '')\n",
            script("elvish")
        ),
    );
    let run = run_shell(&env, "elvish", &["-norc", file.to_str().unwrap()]);
    run.success().stderr_is("");
    let stdout = run.stdout();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    let root: Vec<&str> = lines[0].split(' ').collect();
    for flag in [
        "--hostname",
        "--port",
        "--username",
        "--format",
        "exec",
        "dsql",
        "man",
    ] {
        assert!(root.contains(&flag), "{flag} missing: {stdout}");
    }
    let dsql: Vec<&str> = lines[1].split(' ').collect();
    for word in ["--hostname", "--admin", "exec"] {
        assert!(dsql.contains(&word), "{word} missing: {stdout}");
    }
    assert!(!dsql.contains(&"--port"), "{stdout}");
}

#[test]
fn powershell_s_script_registers_a_native_completer_for_the_program() {
    let script = script("powershell");
    assert!(
        script.contains("Register-ArgumentCompleter -Native -CommandName 'rds-auth-token'"),
        "{script}"
    );
}

#[test]
fn refuses_a_missing_or_unknown_shell_in_one_line() {
    let env = TestEnv::new();
    env.run(["completions"])
        .fails_with(2)
        .stderr_contains("<SHELL>");
    env.run(["completions", "tcsh"])
        .fails_with(2)
        .stderr_contains("invalid value 'tcsh'")
        .stderr_contains("bash, elvish, fish, powershell, zsh");
}
