//! `--version` names the commit the binary was built from: the real binary
//! against this checkout's own `git rev-parse HEAD`, and the build script's
//! logic (build.rs, included here) in repositories the tests make, in a
//! worktree, with packed refs, and where there is no commit or no git.

use crate::support;

#[allow(dead_code)]
#[path = "../../build.rs"]
mod build_script;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use build_script::{describe, INPUTS};
use support::TestEnv;

/// Runs git in `dir` with a configuration of its own; panics with its
/// output when it fails.
#[track_caller]
fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap_or_else(|err| panic!("git is needed for this test (apt-get install git): {err}"));
    assert!(
        output.status.success(),
        "git {args:?} in {dir:?}: {output:?}"
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .trim_end()
        .to_owned()
}

/// A package in `dir`: the files the build script watches.
fn package(dir: &Path) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("src/main.rs"), "fn main() {}\n").unwrap();
    std::fs::write(dir.join("build.rs"), "fn main() {}\n").unwrap();
    std::fs::write(dir.join("Cargo.toml"), "[package]\n").unwrap();
    std::fs::write(dir.join("Cargo.lock"), "").unwrap();
}

/// A repository in `dir` holding a package, with one commit; its hash.
fn repository_with_a_commit(dir: &Path) -> String {
    package(dir);
    git(dir, &["init", "--quiet"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "--quiet", "-m", "first"]);
    git(dir, &["rev-parse", "HEAD"])
}

fn describe_with_git(dir: &Path) -> build_script::Described {
    describe(dir, "1.2.3", OsStr::new("git"))
}

#[test]
fn names_the_commit_of_the_checkout_it_was_built_from() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let version = TestEnv::new().run(["--version"]).success().stdout();
    let plain = format!("rds-auth-token {}\n", env!("CARGO_PKG_VERSION"));
    if !root.join(".git").exists() {
        // A crate tarball: no checkout, no commit.
        assert_eq!(version, plain);
        return;
    }
    let head = git(root, &["rev-parse", "HEAD"]);
    // Changed or new files among the ones the binary is made from, asked
    // of git another way than the build script asks.
    let changed = !git(
        root,
        &[&["diff", "HEAD", "--name-only", "--"][..], &INPUTS[..]].concat(),
    )
    .is_empty();
    let untracked = !git(
        root,
        &[
            &["ls-files", "--others", "--exclude-standard", "--"][..],
            &INPUTS[..],
        ]
        .concat(),
    )
    .is_empty();
    let dirty = if changed || untracked { "-dirty" } else { "" };
    assert_eq!(
        version,
        format!(
            "rds-auth-token {} ({}{dirty})\n",
            env!("CARGO_PKG_VERSION"),
            &head[..12]
        )
    );
}

#[test]
fn the_help_and_the_man_page_carry_the_same_version() {
    let env = TestEnv::new();
    let version = env.run(["--version"]).success().stdout();
    let version = version
        .strip_prefix("rds-auth-token ")
        .unwrap()
        .trim_end()
        .to_owned();
    let page = env.run(["man"]).success().stdout();
    // roff writes a hyphen-minus as \-.
    let version = version.replace('-', "\\-");
    assert!(
        page.contains(&format!("\n.SH VERSION\nv{version}\n")),
        "{page}"
    );
}

#[test]
fn gives_the_plain_version_when_git_cannot_be_run() {
    let dir = tempfile::tempdir().unwrap();
    repository_with_a_commit(dir.path());
    let described = describe(dir.path(), "1.2.3", OsStr::new("/nonexistent/git"));
    assert_eq!(described.version, "1.2.3");
    // Still rerun when the sources change.
    assert!(described.rerun_if_changed.contains(&dir.path().join("src")));
}

#[test]
fn gives_the_plain_version_outside_a_checkout_as_from_a_crate_tarball() {
    let dir = tempfile::tempdir().unwrap();
    package(dir.path());
    let described = describe_with_git(dir.path());
    assert_eq!(described.version, "1.2.3");
    let expected: Vec<PathBuf> = INPUTS.iter().map(|i| dir.path().join(i)).collect();
    assert_eq!(described.rerun_if_changed, expected);
}

#[test]
fn gives_the_plain_version_for_a_package_inside_another_repository() {
    // As a vendored copy, or cargo package's verification build in
    // target/package/: the commit is someone else's.
    let dir = tempfile::tempdir().unwrap();
    repository_with_a_commit(dir.path());
    let vendored = dir.path().join("vendor/rds-auth-token");
    package(&vendored);
    assert_eq!(describe_with_git(&vendored).version, "1.2.3");
}

#[test]
fn gives_the_plain_version_in_a_repository_without_a_commit() {
    let dir = tempfile::tempdir().unwrap();
    package(dir.path());
    git(dir.path(), &["init", "--quiet"]);
    assert_eq!(describe_with_git(dir.path()).version, "1.2.3");
}

#[test]
fn names_the_commit_and_watches_head_and_the_branch() {
    let dir = tempfile::tempdir().unwrap();
    let head = repository_with_a_commit(dir.path());
    let described = describe_with_git(dir.path());
    assert_eq!(described.version, format!("1.2.3 ({})", &head[..12]));
    let git_dir = dir.path().join(".git");
    for watched in [git_dir.join("HEAD"), git_dir.join("refs/heads/main")] {
        assert!(
            described.rerun_if_changed.contains(&watched),
            "{watched:?} not in {:?}",
            described.rerun_if_changed
        );
    }
    // Every watched file exists: cargo reruns a script on every build
    // while a file it watches is missing.
    for path in &described.rerun_if_changed {
        assert!(path.exists(), "{path:?}");
    }
}

#[test]
fn says_dirty_when_a_source_file_changes_or_is_added_and_not_for_other_files() {
    let dir = tempfile::tempdir().unwrap();
    let head = repository_with_a_commit(dir.path());
    let short = &head[..12];
    std::fs::write(dir.path().join("NOTES.md"), "not a source\n").unwrap();
    assert_eq!(
        describe_with_git(dir.path()).version,
        format!("1.2.3 ({short})")
    );
    std::fs::write(dir.path().join("src/new.rs"), "\n").unwrap();
    assert_eq!(
        describe_with_git(dir.path()).version,
        format!("1.2.3 ({short}-dirty)")
    );
    std::fs::remove_file(dir.path().join("src/new.rs")).unwrap();
    std::fs::write(dir.path().join("Cargo.lock"), "# changed\n").unwrap();
    assert_eq!(
        describe_with_git(dir.path()).version,
        format!("1.2.3 ({short}-dirty)")
    );
    git(dir.path(), &["commit", "--quiet", "-am", "second"]);
    let second = git(dir.path(), &["rev-parse", "HEAD"]);
    assert_eq!(
        describe_with_git(dir.path()).version,
        format!("1.2.3 ({})", &second[..12])
    );
}

#[test]
fn watches_packed_refs_and_the_folder_a_packed_branch_comes_back_in() {
    let dir = tempfile::tempdir().unwrap();
    repository_with_a_commit(dir.path());
    git(dir.path(), &["pack-refs", "--all"]);
    let git_dir = dir.path().join(".git");
    assert!(!git_dir.join("refs/heads/main").exists());
    let described = describe_with_git(dir.path());
    assert!(described
        .rerun_if_changed
        .contains(&git_dir.join("packed-refs")));
    assert!(described
        .rerun_if_changed
        .contains(&git_dir.join("refs/heads")));
    for path in &described.rerun_if_changed {
        assert!(path.exists(), "{path:?}");
    }
}

#[test]
fn names_a_worktree_s_own_commit_and_watches_its_head_where_git_keeps_it() {
    // A worktree's .git is a file naming its folder in the main repository.
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("main");
    std::fs::create_dir(&main).unwrap();
    let first = repository_with_a_commit(&main);
    git(
        &main,
        &["worktree", "add", "--quiet", "-b", "other", "../other"],
    );
    let worktree = dir.path().join("other");
    std::fs::write(worktree.join("src/main.rs"), "fn main() { }\n").unwrap();
    git(&worktree, &["commit", "--quiet", "-am", "in the worktree"]);
    let second = git(&worktree, &["rev-parse", "HEAD"]);
    assert_ne!(first, second);
    assert!(worktree.join(".git").is_file());

    let described = describe_with_git(&worktree);
    assert_eq!(described.version, format!("1.2.3 ({})", &second[..12]));
    let common = main.join(".git");
    for watched in [
        common.join("worktrees/other/HEAD"),
        common.join("refs/heads/other"),
    ] {
        let found = described
            .rerun_if_changed
            .iter()
            .any(|p| p.canonicalize().ok() == watched.canonicalize().ok());
        assert!(found, "{watched:?} not in {:?}", described.rerun_if_changed);
    }
    // The main checkout still names its own commit.
    assert_eq!(
        describe_with_git(&main).version,
        format!("1.2.3 ({})", &first[..12])
    );
}
