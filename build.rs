//! The build script: puts the git commit in `--version` when the binary is
//! built from a checkout of this repository.
//!
//! `rds-auth-token --version` then says `rds-auth-token 0.1.0 (3664ff8a1b2c)`,
//! with `-dirty` after the commit when the files the binary is made from
//! (`src/`, `build.rs`, `Cargo.toml`, `Cargo.lock`) differ from it. Anywhere
//! else (a crate tarball, a machine without git, this package unpacked
//! inside another repository) it says `rds-auth-token 0.1.0`. Nothing here
//! fails the build.
//!
//! The logic is [`describe`], a function the tests call with their own
//! repositories (tests/version.rs includes this file).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The files the binary is made from: a change to any of them makes the
/// checkout dirty, and makes cargo run this script again.
pub const INPUTS: [&str; 4] = ["src", "build.rs", "Cargo.toml", "Cargo.lock"];

/// The name of the variable the version is handed to the crate in.
pub const VERSION_VARIABLE: &str = "RDS_AUTH_TOKEN_BUILD_VERSION";

/// What the build script tells cargo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    /// The version `--version` prints after the program's name.
    pub version: String,
    /// The files and folders whose change makes cargo run the script again.
    pub rerun_if_changed: Vec<PathBuf>,
}

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let described = describe(&manifest_dir, &version, OsStr::new("git"));
    println!("cargo:rustc-env={VERSION_VARIABLE}={}", described.version);
    for path in &described.rerun_if_changed {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

/// The version of the package in `manifest_dir`: `version (COMMIT)`, with
/// the commit's first 12 hex digits and `-dirty` when [`INPUTS`] differ from
/// it, when `manifest_dir` is the top of a git checkout with a commit;
/// `version` alone otherwise, including when `git` cannot be run.
///
/// The files to watch name the checkout's HEAD, the branch HEAD points to
/// (its loose ref, else the folder it would be created in, and
/// packed-refs), found through git so that a worktree, whose `.git` is a
/// file, is watched where its HEAD and refs really are. Only files that
/// exist are named: cargo runs a script again on every build while a file
/// it watches is missing.
pub fn describe(manifest_dir: &Path, version: &str, git: &OsStr) -> Described {
    let mut rerun_if_changed: Vec<PathBuf> = INPUTS
        .iter()
        .map(|input| manifest_dir.join(input))
        .filter(|path| path.exists())
        .collect();
    let commit = commit(manifest_dir, git, &mut rerun_if_changed);
    Described {
        version: match commit {
            Some(commit) => format!("{version} ({commit})"),
            None => version.to_owned(),
        },
        rerun_if_changed,
    }
}

/// The commit (12 hex digits, `-dirty` when changed), adding the git files
/// to watch; `None` when `manifest_dir` is not the top of a checkout with a
/// commit, or git fails.
fn commit(manifest_dir: &Path, git: &OsStr, watch: &mut Vec<PathBuf>) -> Option<String> {
    let run = |args: &[&str]| -> Option<String> {
        let output = Command::new(git)
            .args(args)
            .current_dir(manifest_dir)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        let text = String::from_utf8(output.stdout).ok()?;
        output
            .status
            .success()
            .then(|| text.trim_end_matches(['\n', '\r']).to_owned())
    };
    // A package unpacked inside another repository (vendored, or cargo
    // package's own verification build) was not built from a commit of ours.
    let top = run(&["rev-parse", "--show-toplevel"])?;
    if !same_folder(Path::new(&top), manifest_dir) {
        return None;
    }
    let head = run(&["rev-parse", "--verify", "--quiet", "HEAD^{commit}"])?;
    if head.len() < 12 || !head.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    // git prints these relative to the current folder, or absolute.
    let git_dir = manifest_dir.join(run(&["rev-parse", "--git-dir"])?);
    let common_dir = manifest_dir.join(run(&["rev-parse", "--git-common-dir"])?);
    watch.push(git_dir.join("HEAD"));
    if let Some(branch) = run(&["symbolic-ref", "--quiet", "HEAD"]) {
        let loose = common_dir.join(&branch);
        // A packed branch gets its loose file back at the next commit, in a
        // folder that then changes.
        let refs = common_dir.join("refs");
        let watched = loose
            .ancestors()
            .take_while(|path| path.starts_with(&refs))
            .find(|path| path.exists())
            .map(Path::to_path_buf);
        watch.extend(watched);
    }
    watch.push(common_dir.join("packed-refs"));
    watch.retain(|path| path.exists());
    let dirty = run(&[
        "--no-optional-locks",
        "status",
        "--porcelain",
        "--untracked-files=normal",
        "--",
    ]
    .into_iter()
    .chain(INPUTS)
    .collect::<Vec<_>>())
    .is_some_and(|changes| !changes.is_empty());
    Some(format!(
        "{}{}",
        &head[..12],
        if dirty { "-dirty" } else { "" }
    ))
}

/// Whether two paths name the same folder.
fn same_folder(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
