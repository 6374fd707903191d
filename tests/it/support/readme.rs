//! The README's command blocks, for the tests that run them.
//!
//! Every fenced block of README.md in a shell or configuration language
//! (`sh`, `bash`, `console`, `yaml`, ...) is either
//!
//! - named by an HTML comment `<!-- test: NAME -->` on the line before its
//!   fence, and run by a test that finds it with [`block`] or [`run_block`]
//!   under that name, so the commands a reader copies are the ones tested;
//! - or opened by a comment line saying what it needs that no test here can
//!   have, e.g. `# Needs a real AWS account.` (the reader sees it too).
//!
//! `tests/it/readme.rs` checks that every block is one or the other, and that
//! every named block is run by some test.

use std::path::{Path, PathBuf};

use super::{Run, TestEnv};

/// Fence languages whose blocks hold commands or configuration to check.
pub const CHECKED_LANGUAGES: &[&str] = &[
    "sh",
    "bash",
    "shell",
    "console",
    "yaml",
    "powershell",
    "elvish",
    "crontab",
];

/// The comment that opens a block no test can run here.
pub const NEEDS: &str = "# Needs ";

/// One fenced block of a Markdown file.
#[derive(Debug, Clone)]
pub struct Block {
    /// The file, relative to the repository.
    pub file: String,
    /// The line of the opening fence (1-based).
    pub line: usize,
    /// The fence's language, e.g. `sh`.
    pub language: String,
    /// `NAME` of a `<!-- test: NAME -->` comment before the fence.
    pub name: Option<String>,
    /// The lines between the fences, each ending with a newline.
    pub text: String,
}

impl Block {
    /// True when the block says, on its first line, what it needs that no
    /// test here has (`# Needs a real AWS account.`).
    pub fn needs(&self) -> Option<&str> {
        let first = self.text.lines().next()?.trim_start();
        first.starts_with(NEEDS).then_some(first)
    }

    /// The block as a shell script: a `console` block's commands (lines
    /// after `$ `, with their `\` continuation lines), a `crontab` block's
    /// commands (each line without its five time fields), else the whole
    /// text.
    pub fn script(&self) -> String {
        if self.language == "crontab" {
            return self
                .text
                .lines()
                .filter(|l| !l.trim_start().starts_with('#'))
                .map(|l| l.split_whitespace().skip(5).collect::<Vec<_>>().join(" ") + "\n")
                .collect();
        }
        if self.language != "console" {
            return self.text.clone();
        }
        let mut script = String::new();
        let mut continued = false;
        for line in self.text.lines() {
            if let Some(command) = line.strip_prefix("$ ") {
                script.push_str(command);
            } else if continued {
                script.push_str(line);
            } else {
                continue;
            }
            script.push('\n');
            continued = line.ends_with('\\');
        }
        script
    }
}

impl Block {
    /// A `console` block's output: the lines that are neither commands
    /// (`$ `) nor their continuation lines.
    pub fn output(&self) -> String {
        let mut output = String::new();
        let mut continued = false;
        for line in self.text.lines() {
            let command = line.starts_with("$ ") || continued;
            continued = command && line.ends_with('\\');
            if !command {
                output.push_str(line);
                output.push('\n');
            }
        }
        output
    }
}

/// The repository's root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Markdown files whose blocks are checked: README.md and docs/*.md.
pub fn documents() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md")];
    if let Ok(entries) = std::fs::read_dir(root().join("docs")) {
        let mut docs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "md"))
            .collect();
        docs.sort();
        files.extend(docs);
    }
    files
}

/// Every fenced block of `path`.
pub fn blocks_of(path: &Path) -> Vec<Block> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    let file = path
        .strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string();
    let lines: Vec<&str> = text.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(language) = lines[i].trim_start().strip_prefix("```") else {
            i += 1;
            continue;
        };
        let fence_indent = lines[i].len() - lines[i].trim_start().len();
        let name = i
            .checked_sub(1)
            .map(|p| lines[p].trim())
            .and_then(|l| l.strip_prefix("<!-- test: "))
            .and_then(|l| l.strip_suffix(" -->"))
            .map(str::to_owned);
        let start = i;
        let mut body = String::new();
        i += 1;
        while i < lines.len() && lines[i].trim_start() != "```" {
            let line = lines[i];
            let cut = line.len() - line.trim_start().len();
            body.push_str(&line[cut.min(fence_indent)..]);
            body.push('\n');
            i += 1;
        }
        assert!(
            i < lines.len(),
            "{file}:{}: a block that is never closed",
            start + 1
        );
        blocks.push(Block {
            file: file.clone(),
            line: start + 1,
            language: language.trim().to_owned(),
            name,
            text: body,
        });
        i += 1;
    }
    blocks
}

/// Every fenced block of every checked document.
pub fn blocks() -> Vec<Block> {
    documents().iter().flat_map(|p| blocks_of(p)).collect()
}

/// The block named `name` (`<!-- test: NAME -->`).
#[track_caller]
pub fn block(name: &str) -> Block {
    let mut found: Vec<Block> = blocks()
        .into_iter()
        .filter(|b| b.name.as_deref() == Some(name))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected exactly one block named {name:?} in the README or docs/"
    );
    found.remove(0)
}

/// Runs the block named `name` with bash (`set -euo pipefail`) in `env`,
/// with this build's `rds-auth-token` first on PATH and each `(from, to)` of
/// `replace` applied to the text first: the example host name, port or CA
/// file become the test server's. PATH stays so for `env`'s later runs.
#[track_caller]
pub fn run_block(env: &mut TestEnv, name: &str, replace: &[(&str, &str)]) -> Run {
    let block = block(name);
    let mut script = block.script();
    for (from, to) in replace {
        assert!(
            script.contains(from),
            "{}:{}: block {name:?} no longer contains {from:?}",
            block.file,
            block.line
        );
        script = script.replace(from, to);
    }
    let file = env.write(
        &format!("readme-{name}.sh"),
        &format!("set -euo pipefail\n{script}"),
    );
    let bin = Path::new(env!("CARGO_BIN_EXE_rds-auth-token"))
        .parent()
        .expect("the binary's folder")
        .to_owned();
    let path = env.var("PATH").map(ToOwned::to_owned).unwrap_or_default();
    let path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(&path)))
        .expect("a PATH");
    env.env("PATH", path);
    env.run_program("bash", [file])
}
