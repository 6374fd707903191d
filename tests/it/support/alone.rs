//! A test that must change its own process (its environment, say) runs
//! alone: in a child process of the test binary that runs that one test and
//! nothing else beside it.

use std::process::Command;

/// Set in the child process.
const CHILD: &str = "RDS_AUTH_TOKEN_TEST_ALONE";

/// True in the child process that [`run`] started.
pub fn in_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

/// Runs the test `path` (its full name, `module::test`) alone in a child
/// process of this test binary, and fails unless it ran and passed.
#[track_caller]
pub fn run(path: &str) {
    let output = Command::new(std::env::current_exe().expect("the test binary"))
        .args([path, "--exact", "--test-threads=1", "--nocapture"])
        .env(CHILD, "1")
        .output()
        .expect("run the test binary again");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("test result: ok. 1 passed"),
        "{path}, run alone, failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
}
