//! The README's "Install, completions and man pages" section, run as
//! written: every `sh` block in bash and the `elvish` block in elvish, in a
//! fresh HOME with the binary on PATH; then each shell finds and uses what
//! they installed the way it does at start-up, and man finds the pages.
//! (tests/it/readme.rs checks that every other block says what it needs.)
#![cfg(target_os = "linux")]

use crate::support;

use std::path::Path;
use std::process::Command;

use support::TestEnv;

/// HOME, and PATH with the binary's folder and ~/.local/bin.
fn environment() -> TestEnv {
    let mut env = TestEnv::new();
    let bin = Path::new(env!("CARGO_BIN_EXE_rds-auth-token"))
        .parent()
        .unwrap();
    let local_bin = env.home().join(".local/bin");
    std::fs::create_dir_all(&local_bin).unwrap();
    env.env(
        "PATH",
        format!(
            "{}:{}:{}",
            bin.display(),
            local_bin.display(),
            std::env::var("PATH").unwrap()
        ),
    );
    env
}

#[track_caller]
fn needs(program: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "{program} is needed for this test (scripts/test installs it)"
    );
}

#[test]
fn the_completion_commands_install_scripts_each_shell_loads_and_completes_with() {
    for program in ["bash", "zsh", "fish", "elvish"] {
        needs(program);
    }
    let loader = "/usr/share/bash-completion/bash_completion";
    assert!(
        Path::new(loader).exists(),
        "bash-completion is needed for this test (apt-get install bash-completion; scripts/test installs it)"
    );
    let env = environment();
    let completions = support::readme::block("install-completions").text;
    env.run_program("bash", ["-euo", "pipefail", "-c", &completions])
        .success()
        .stderr_is("");

    // bash-completion loads the script on first use, from the folder the
    // README names.
    let bash = env.run_program(
        "bash",
        [
            "--norc",
            "--noprofile",
            "-c",
            &format!(
                "source {loader}; __load_completion rds-auth-token && complete -p rds-auth-token"
            ),
        ],
    );
    bash.success();
    assert!(
        bash.stdout().contains(" -F _rds__auth__token "),
        "{}",
        bash.stdout()
    );

    // zsh: compinit finds it on fpath, as ~/.zshrc is told to set it.
    env.run_program(
        "zsh",
        [
            "-f",
            "-c",
            "fpath+=~/.zfunc; autoload -U compinit && compinit -u -D && print -r -- $_comps[rds-auth-token]",
        ],
    )
    .success()
    .stderr_is("")
    .stdout_is("_rds-auth-token\n");

    // fish loads it from its completions folder by itself.
    let fish = env.run_program(
        "fish",
        ["-c", "complete -C 'rds-auth-token dsql exec --ad'"],
    );
    fish.success().stderr_is("");
    assert!(fish.stdout().starts_with("--admin\t"), "{}", fish.stdout());

    // elvish: the rc.elv line, evaluated with a stand-in for the editor's
    // namespace, which only an interactive shell has.
    let elvish = support::readme::block("install-elvish").text;
    let line = elvish
        .trim_end()
        .strip_prefix("eval ")
        .expect("the elvish line evaluates the script");
    let script = env.write(
        "rc-test.elv",
        &format!(
            "var edit = (ns [&completion:=(ns [&arg-completer=[&]]) \
             &complex-candidate~={{|text &display=''| put $text }}])\n\
             eval &ns=(ns [&edit:=$edit]) {line}\n\
             echo ($edit[completion:][arg-completer][rds-auth-token] rds-auth-token dsql '')\n"
        ),
    );
    let run = env.run_program("elvish", ["-norc", script.to_str().unwrap()]);
    run.success().stderr_is("");
    let candidates: Vec<String> = run.stdout().split_whitespace().map(str::to_owned).collect();
    for word in ["--hostname", "--admin", "exec"] {
        assert!(
            candidates.iter().any(|c| c == word),
            "{word}: {candidates:?}"
        );
    }
}

#[test]
fn the_man_page_commands_show_the_main_page_and_install_every_page_where_man_finds_it() {
    needs("man");
    let env = environment();
    let man = support::readme::block("install-man").text;
    let run = env.run_program("bash", ["-euo", "pipefail", "-c", &man]);
    run.success();
    // man justifies its lines with more spaces.
    let stdout = run
        .stdout()
        .split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    // The main page from stdin, then the dsql exec page man found.
    let main = stdout.find("rds-auth-token - Make an AWS IAM authentication token");
    let dsql_exec = stdout.find("rds-auth-token-dsql-exec - Make a fresh Aurora DSQL token");
    assert!(
        main.is_some() && dsql_exec.is_some() && main < dsql_exec,
        "{stdout}"
    );
    assert_eq!(stdout.matches("\nEXAMPLES\n").count(), 2, "{stdout}");
    assert!(env
        .home()
        .join(".local/share/man/man1/rds-auth-token-exec.1")
        .exists());
}
