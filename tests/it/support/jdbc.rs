//! A JDBC driver from Debian's packages, run on the installed JRE with a
//! one-file program: connect to a URL, run one query, print the first
//! column of its first row.

use std::path::Path;

use super::{Run, TestEnv};

/// Runs `sql` through the driver in `jar` (a Debian package's, which
/// `package` installs) at `url`.
#[track_caller]
pub fn query(jar: &str, package: &str, url: &str, sql: &str) -> Run {
    assert!(
        Path::new(jar).is_file(),
        "{jar} is missing: install Debian's {package} (scripts/test does)"
    );
    let work = tempfile::tempdir().unwrap();
    let probe = work.path().join("Probe.java");
    std::fs::write(
        &probe,
        "import java.sql.*;\n\
         public class Probe {\n\
         \x20 public static void main(String[] args) throws Exception {\n\
         \x20   try (Connection c = DriverManager.getConnection(args[0]);\n\
         \x20        ResultSet r = c.createStatement().executeQuery(args[1])) {\n\
         \x20     r.next();\n\
         \x20     System.out.println(r.getString(1));\n\
         \x20   }\n\
         \x20 }\n\
         }\n",
    )
    .unwrap();
    TestEnv::new().run_program("java", ["-cp", jar, probe.to_str().unwrap(), url, sql])
}
