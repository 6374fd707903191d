//! Password files for clients that read one: `.pgpass` lines and MySQL option files.

use std::fmt::Write as _;
use std::path::Path;

/// A `.pgpass` field: `:` and `\` escaped with a backslash.
pub fn pgpass_escape(out: &mut String, value: &str) {
    for c in value.chars() {
        if c == ':' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
}

/// The `.pgpass` line for `host:port:*:user:password`, without a newline.
pub fn pgpass_line(host: &str, port: u16, user: &str, password: &str) -> String {
    let mut line = pgpass_prefix(host, port, user);
    pgpass_escape(&mut line, password);
    line
}

/// What a line for `host`, `port`, any database and `user` starts with.
fn pgpass_prefix(host: &str, port: u16, user: &str) -> String {
    let mut prefix = String::new();
    pgpass_escape(&mut prefix, host);
    let _ = write!(prefix, ":{port}:*:");
    pgpass_escape(&mut prefix, user);
    prefix.push(':');
    prefix
}

/// `existing` (a `.pgpass` file's text) with its `host:port:*:user:` line
/// set to `password`: that line is replaced where it is (and any repeat of
/// it dropped), or added at the end; every other line and comment is kept
/// byte for byte, with its own line ending. The result ends with a newline.
pub fn update_pgpass(existing: &str, host: &str, port: u16, user: &str, password: &str) -> String {
    let prefix = pgpass_prefix(host, port, user);
    let line = pgpass_line(host, port, user, password);
    replace_line(existing, &prefix, &line)
}

/// `existing` with the first line that starts with `prefix` replaced by
/// `line`, the other such lines dropped, or `line` added at the end when
/// there is none. Every other line is kept byte for byte, with its own line
/// ending (`\r\n` stays `\r\n`); the last gets a `\n` when it has none.
fn replace_line(existing: &str, prefix: &str, line: &str) -> String {
    let mut out = String::with_capacity(existing.len() + line.len() + 1);
    let mut written = false;
    for old in existing.split_inclusive('\n') {
        if old.starts_with(prefix) {
            if !written {
                out.push_str(line);
                out.push('\n');
                written = true;
            }
        } else {
            out.push_str(old);
            if !old.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    if !written {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// A pgbouncer `auth_file` (userlist.txt) field: in double quotes, with a
/// `"` written twice.
fn userlist_quote(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
}

/// `existing` (a pgbouncer `auth_file`'s text) with `user`'s line set to
/// `"user" "password"`: replaced where it is (repeats dropped) or added at
/// the end; every other line and comment is kept byte for byte, with its
/// own line ending. Ends with a newline.
pub fn update_userlist(existing: &str, user: &str, password: &str) -> String {
    let mut prefix = String::new();
    userlist_quote(&mut prefix, user);
    prefix.push(' ');
    let mut line = prefix.clone();
    userlist_quote(&mut line, password);
    replace_line(existing, &prefix, &line)
}

/// Which MySQL-family client reads an option file: their TLS options differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MysqlClient {
    /// MySQL's clients (`mysql`, `mysqldump`, ... from MySQL 8).
    Mysql,
    /// MariaDB's clients (`mariadb`, `mariadb-dump`, and Debian's `mysql`).
    Mariadb,
}

/// A MySQL option file's `[client]` group, for `--defaults-extra-file`.
/// Its `Debug` form leaves the password out.
pub struct MysqlOptionFile<'a> {
    pub client: MysqlClient,
    pub user: &'a str,
    pub password: &'a str,
    pub host: &'a str,
    pub port: u16,
    /// The CA file to verify the server with; `None` leaves TLS to the
    /// client's defaults (local testing only).
    pub ssl_ca: Option<&'a Path>,
    /// Check the server's name as well as its CA (false through a tunnel,
    /// where the client connects to an address the certificate does not
    /// name).
    pub verify_identity: bool,
    /// Connect over TCP even to `localhost` (`protocol=TCP`), which MySQL
    /// and MariaDB clients would otherwise reach through a Unix socket,
    /// where no certificate is checked: for the file handed to a client
    /// this tool runs, which reads nothing else from it.
    pub tcp_only: bool,
}

impl std::fmt::Debug for MysqlOptionFile<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MysqlOptionFile")
            .field("client", &self.client)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("ssl_ca", &self.ssl_ca)
            .field("verify_identity", &self.verify_identity)
            .field("tcp_only", &self.tcp_only)
            .finish()
    }
}

impl MysqlOptionFile<'_> {
    /// The file's text: user, password, host, port, the clear-text
    /// password plugin (MySQL's clients; MariaDB's send the token as the
    /// server asks), and TLS with the server's certificate verified:
    /// `ssl-mode=VERIFY_IDENTITY` (or `VERIFY_CA`) for MySQL,
    /// `ssl-verify-server-cert` (or only `ssl`) for MariaDB, with `ssl-ca`.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "# Written by rds-auth-token: an IAM auth token for the user below, valid\n\
             # for 15 minutes at most. Use with --defaults-extra-file=THIS_FILE.\n[client]\n",
        );
        let mut value = |key: &str, v: &str| {
            let _ = writeln!(out, "{key}={}", option_quote(v));
        };
        value("user", self.user);
        value("password", self.password);
        value("host", self.host);
        let _ = writeln!(out, "port={}", self.port);
        if self.tcp_only {
            out.push_str("protocol=TCP\n");
        }
        if self.client == MysqlClient::Mysql {
            out.push_str("enable-cleartext-plugin\n");
        }
        if let Some(ca) = self.ssl_ca {
            let _ = writeln!(out, "ssl-ca={}", option_quote(&ca.to_string_lossy()));
            out.push_str(match (self.client, self.verify_identity) {
                (MysqlClient::Mysql, true) => "ssl-mode=VERIFY_IDENTITY\n",
                (MysqlClient::Mysql, false) => "ssl-mode=VERIFY_CA\n",
                (MysqlClient::Mariadb, true) => "ssl-verify-server-cert\n",
                (MysqlClient::Mariadb, false) => "ssl\n",
            });
        }
        out
    }
}

/// An option-file value in double quotes, with `\` and `"` escaped, as
/// MySQL's and MariaDB's option-file readers unescape them.
fn option_quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '\\' || c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_colons_and_backslashes_for_pgpass() {
        let mut out = String::new();
        pgpass_escape(&mut out, r"h:5432/?a\b");
        assert_eq!(out, r"h\:5432/?a\\b");
        assert_eq!(
            pgpass_line("h", 5432, r"u:\", "t:1"),
            r"h:5432:*:u\:\\:t\:1"
        );
    }

    #[test]
    fn updates_only_its_own_pgpass_line_and_keeps_the_others() {
        let existing = "# my passwords\n\
                        other.example.com:5432:*:app:secret\n\
                        db.example.com:5432:*:app:OLD\n\
                        db.example.com:6432:*:app:pooled\n\
                        db.example.com:5432:*:app:DUPLICATE\n\
                        db.example.com:5432:app:app:one-database";
        let updated = update_pgpass(existing, "db.example.com", 5432, "app", "NEW:1");
        assert_eq!(
            updated,
            "# my passwords\n\
             other.example.com:5432:*:app:secret\n\
             db.example.com:5432:*:app:NEW\\:1\n\
             db.example.com:6432:*:app:pooled\n\
             db.example.com:5432:app:app:one-database\n"
        );
        assert_eq!(
            update_pgpass("", "h", 1, "u", "t"),
            "h:1:*:u:t\n",
            "a new file has the one line"
        );
        assert_eq!(
            update_pgpass("a:1:*:b:c\n", "h", 1, "u", "t"),
            "a:1:*:b:c\nh:1:*:u:t\n"
        );
    }

    #[test]
    fn does_not_take_a_user_whose_name_starts_with_ours_for_ours() {
        let existing = "h:1:*:app\\:x:keep\n";
        assert_eq!(
            update_pgpass(existing, "h", 1, "app", "t"),
            "h:1:*:app\\:x:keep\nh:1:*:app:t\n"
        );
    }

    // Found by fuzz/fuzz_targets/password_file.rs: `str::lines` dropped the
    // `\r` of every `\r\n`, so the other lines of a file written on Windows
    // were not kept as they were.
    #[test]
    fn keeps_the_line_endings_of_the_other_lines() {
        let existing = "a:1:*:b:c\r\nh:1:*:u:old\r\n# windows\r\nlast";
        assert_eq!(
            update_pgpass(existing, "h", 1, "u", "t"),
            "a:1:*:b:c\r\nh:1:*:u:t\n# windows\r\nlast\n"
        );
        assert_eq!(
            update_userlist(";; users\r\n\"u\" \"old\"\r\n", "u", "t"),
            ";; users\r\n\"u\" \"t\"\n"
        );
        assert_eq!(
            update_pgpass("\r\n\n", "h", 1, "u", "t"),
            "\r\n\nh:1:*:u:t\n"
        );
    }

    #[test]
    fn updates_only_its_own_user_in_a_pgbouncer_userlist() {
        let existing = ";; pgbouncer users\n\"admin\" \"SCRAM-SHA-256$4096:x\"\n\"app\" \"OLD\"\n";
        assert_eq!(
            update_userlist(existing, "app", "tok\"en"),
            ";; pgbouncer users\n\"admin\" \"SCRAM-SHA-256$4096:x\"\n\"app\" \"tok\"\"en\"\n"
        );
        assert_eq!(update_userlist("", "a\"b", "t"), "\"a\"\"b\" \"t\"\n");
    }

    #[test]
    fn leaves_the_password_out_of_the_debug_form() {
        let file = MysqlOptionFile {
            client: MysqlClient::Mariadb,
            user: "u",
            password: "SECRET-TOKEN",
            host: "h",
            port: 1,
            ssl_ca: None,
            verify_identity: true,
            tcp_only: false,
        };
        let shown = format!("{file:?}");
        assert!(
            !shown.contains("SECRET-TOKEN") && shown.contains("<redacted>"),
            "{shown}"
        );
    }

    #[test]
    fn writes_each_clients_own_tls_options_to_the_option_file() {
        let file = |client, verify_identity| {
            MysqlOptionFile {
                client,
                user: "app \"x\"",
                password: "tok\\en",
                host: "db.example.com",
                port: 3306,
                ssl_ca: Some(Path::new("/c/ca.pem")),
                verify_identity,
                tcp_only: false,
            }
            .render()
        };
        let mysql = file(MysqlClient::Mysql, true);
        assert!(mysql.ends_with(
            "[client]\nuser=\"app \\\"x\\\"\"\npassword=\"tok\\\\en\"\nhost=\"db.example.com\"\nport=3306\n\
             enable-cleartext-plugin\nssl-ca=\"/c/ca.pem\"\nssl-mode=VERIFY_IDENTITY\n"
        ), "{mysql}");
        assert!(file(MysqlClient::Mysql, false).ends_with("ssl-mode=VERIFY_CA\n"));
        let mariadb = file(MysqlClient::Mariadb, true);
        assert!(
            mariadb.ends_with("port=3306\nssl-ca=\"/c/ca.pem\"\nssl-verify-server-cert\n"),
            "{mariadb}"
        );
        assert!(file(MysqlClient::Mariadb, false).ends_with("ssl-ca=\"/c/ca.pem\"\nssl\n"));
    }
}
