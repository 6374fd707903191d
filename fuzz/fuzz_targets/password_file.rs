//! The line rewriters of `refresh`, `password_file::update_pgpass` and
//! `password_file::update_userlist`, on any existing file and any host,
//! port, user and token. The input is `HOST NUL PORT NUL USER NUL PASSWORD
//! NUL EXISTING` (missing parts take a default; a host or user the token
//! config refuses, as the command line would, takes a default too; control
//! characters are left out of the values, as `Username` and tokens have
//! none). For both files:
//!
//! - every line of the existing file that is not the user's own (does not
//!   start with the written line's prefix) is kept byte for byte, with its
//!   own line ending, in order; the last gains a `\n` when it has none;
//! - the written line appears exactly once, where the first old line for
//!   the user was, or at the end, and no other line starts with its prefix;
//! - the written line reads back: libpq's `.pgpass` matcher
//!   (`pwdfMatchesString`, password de-escaping) finds the host, port, any
//!   database and the user in it and reads the password; pgbouncer's
//!   quoting (`"` doubled) gives the user and the password;
//! - `.pgpass` as a whole: libpq's first matching line is the written one,
//!   or a line kept from the existing file that libpq also takes for this
//!   connection (a wildcard line written before it);
//! - rewriting again with the same password changes nothing (idempotence),
//!   and with another password then the first is the same as the first
//!   alone.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rds_auth_token::password_file::{update_pgpass, update_userlist};
use rds_auth_token::AuthTokenConfig;

const HOST: &str = "db.example.com";
const USER: &str = "app";

struct Case<'a> {
    host: String,
    port: u16,
    user: String,
    password: String,
    existing: &'a str,
}

fn case(text: &str) -> Case<'_> {
    let mut parts = text.splitn(5, '\0');
    let mut value = |default: &str| {
        let part = parts.next().unwrap_or(default);
        part.chars().filter(|c| !c.is_control()).collect::<String>()
    };
    let host = value(HOST);
    let port = value("5432");
    let user = value(USER);
    let password = value("token");
    let existing = text.splitn(5, '\0').nth(4).unwrap_or("");
    let port = port.parse::<u16>().ok().filter(|&p| p != 0).unwrap_or(5432);
    // What the command line would pass: a host and a user the token's
    // config takes.
    let takes = |host: &str, user: &str| {
        AuthTokenConfig::builder()
            .hostname(host)
            .port(port)
            .username(user)
            .region("us-east-1")
            .build()
            .is_ok()
    };
    let host = if takes(&host, USER) {
        host
    } else {
        HOST.to_owned()
    };
    let user = if takes(HOST, &user) {
        user
    } else {
        USER.to_owned()
    };
    Case {
        host,
        port,
        user,
        password,
        existing,
    }
}

/// Lines with their endings, as `update_*` splits them.
fn lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// Checks what both rewriters promise about lines: `out` is `existing`
/// with the lines starting with `prefix` replaced by one `line`.
fn check_lines(existing: &str, out: &str, prefix: &str, line: &str) {
    assert!(out.ends_with('\n'), "{out:?} does not end with a newline");
    let old = lines(existing);
    let new = lines(out);
    let first_own = old.iter().position(|l| l.starts_with(prefix));
    let mut expected: Vec<String> = Vec::with_capacity(old.len() + 1);
    for (i, l) in old.iter().enumerate() {
        if l.starts_with(prefix) {
            if Some(i) == first_own {
                expected.push(format!("{line}\n"));
            }
        } else if l.ends_with('\n') {
            expected.push((*l).to_owned());
        } else {
            expected.push(format!("{l}\n"));
        }
    }
    if first_own.is_none() {
        expected.push(format!("{line}\n"));
    }
    assert_eq!(
        new, expected,
        "the other lines are not kept as they were ({existing:?} -> {out:?})"
    );
    let own: Vec<&&str> = new.iter().filter(|l| l.starts_with(prefix)).collect();
    assert_eq!(own, [&format!("{line}\n").as_str()], "in {out:?}");
}

/// libpq's `pwdfMatchesString`: the rest of `field` after a match of
/// `token` and its `:`, a `*:` matching anything.
fn pwdf_matches<'a>(field: &'a [u8], token: &[u8]) -> Option<&'a [u8]> {
    if field.starts_with(b"*:") {
        return Some(&field[2..]);
    }
    let (mut f, mut t) = (0, 0);
    let mut backslash = false;
    while f < field.len() {
        if field[f] == b'\\' && !backslash {
            f += 1;
            backslash = true;
            if f == field.len() {
                return None;
            }
        }
        if field[f] == b':' && t == token.len() && !backslash {
            return Some(&field[f + 1..]);
        }
        backslash = false;
        if t == token.len() || field[f] != token[t] {
            return None;
        }
        f += 1;
        t += 1;
    }
    None
}

/// The password libpq reads from one `.pgpass` line for the connection, if
/// the line is for it.
fn libpq_password(line: &str, host: &str, port: u16, db: &str, user: &str) -> Option<Vec<u8>> {
    // fgets and C strings: the line ends at a NUL; the newline and carriage
    // returns at its end are stripped (pg_strip_crlf).
    let bytes = line.as_bytes();
    let bytes = &bytes[..bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len())];
    let mut end = bytes.len();
    while end > 0 && matches!(bytes[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    let bytes = &bytes[..end];
    if bytes.first() == Some(&b'#') || bytes.is_empty() {
        return None;
    }
    let port = port.to_string();
    let rest = pwdf_matches(bytes, host.as_bytes())?;
    let rest = pwdf_matches(rest, port.as_bytes())?;
    let rest = pwdf_matches(rest, db.as_bytes())?;
    let rest = pwdf_matches(rest, user.as_bytes())?;
    let mut password = Vec::new();
    let mut i = 0;
    while i < rest.len() && rest[i] != b':' {
        if rest[i] == b'\\' && i + 1 < rest.len() {
            i += 1;
        }
        password.push(rest[i]);
        i += 1;
    }
    Some(password)
}

/// A pgbouncer auth_file line's two quoted fields, `""` inside for `"`.
fn userlist_fields(line: &str) -> Option<(String, String)> {
    fn quoted(text: &str) -> Option<(String, &str)> {
        let mut rest = text.strip_prefix('"')?;
        let mut value = String::new();
        loop {
            let end = rest.find('"')?;
            value.push_str(&rest[..end]);
            rest = &rest[end + 1..];
            match rest.strip_prefix('"') {
                Some(more) => {
                    value.push('"');
                    rest = more;
                }
                None => return Some((value, rest)),
            }
        }
    }
    let (user, rest) = quoted(line.strip_suffix('\n').unwrap_or(line))?;
    let (password, rest) = quoted(rest.strip_prefix(' ')?)?;
    rest.is_empty().then_some((user, password))
}

fn check_pgpass(c: &Case<'_>) {
    let out = update_pgpass(c.existing, &c.host, c.port, &c.user, &c.password);
    let line = rds_auth_token::password_file::pgpass_line(&c.host, c.port, &c.user, &c.password);
    let prefix = &line[..line.len() - escaped_len(&c.password)];
    check_lines(c.existing, &out, prefix, &line);

    // The written line reads back, for any database.
    for db in ["postgres", "*", "a:b"] {
        assert_eq!(
            libpq_password(&line, &c.host, c.port, db, &c.user).as_deref(),
            Some(c.password.as_bytes()),
            "libpq does not read {line:?} back"
        );
    }
    // The file as libpq reads it: the first line for the connection is the
    // written one, or one of the existing file's that libpq also takes for
    // it (a wildcard line written before it).
    let new = lines(&out);
    let first = new
        .iter()
        .position(|l| libpq_password(l, &c.host, c.port, "postgres", &c.user).is_some())
        .expect("libpq finds no line for the connection");
    if new[first] != format!("{line}\n") {
        assert!(
            lines(c.existing).iter().any(|l| l.trim_end_matches('\n')
                == new[first].trim_end_matches('\n')
                && !l.starts_with(prefix)),
            "libpq takes {:?}, which was not in the file, before {line:?}",
            new[first]
        );
    }

    let again = update_pgpass(&out, &c.host, c.port, &c.user, &c.password);
    assert_eq!(
        again, out,
        "rewriting .pgpass twice is not rewriting it once"
    );
    let other = update_pgpass(c.existing, &c.host, c.port, &c.user, "another");
    assert_eq!(
        update_pgpass(&other, &c.host, c.port, &c.user, &c.password),
        out,
        "the last password written does not win"
    );
}

/// The length of `value` with `:` and `\` escaped.
fn escaped_len(value: &str) -> usize {
    value.len() + value.bytes().filter(|b| matches!(b, b':' | b'\\')).count()
}

fn check_userlist(c: &Case<'_>) {
    let out = update_userlist(c.existing, &c.user, &c.password);
    let quote = |v: &str| format!("\"{}\"", v.replace('"', "\"\""));
    let prefix = format!("{} ", quote(&c.user));
    let line = format!("{prefix}{}", quote(&c.password));
    check_lines(c.existing, &out, &prefix, &line);
    assert_eq!(
        userlist_fields(&line),
        Some((c.user.clone(), c.password.clone())),
        "{line:?} does not read back"
    );

    let again = update_userlist(&out, &c.user, &c.password);
    assert_eq!(
        again, out,
        "rewriting the userlist twice is not rewriting it once"
    );
    let other = update_userlist(c.existing, &c.user, "another");
    assert_eq!(
        update_userlist(&other, &c.user, &c.password),
        out,
        "the last password written does not win"
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let c = case(text);
    check_pgpass(&c);
    check_userlist(&c);
});
