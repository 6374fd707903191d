//! `rds-auth-token sql`: the statements it prints, piped into the real psql
//! and mariadb clients as the superuser of real PostgreSQL and MariaDB
//! servers (tests/it/support/bare_postgres.rs, tests/it/support/bare_mariadb.rs),
//! make exactly the user named, with IAM authentication, whatever the name,
//! and nothing else. Names are compared as bytes, read back from the
//! servers' catalogs as hex.
#![cfg(target_os = "linux")]

use crate::support;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use support::bare_mariadb::BareMariadb;
use support::bare_postgres::BarePostgres;
use support::{Run, TestEnv};

/// Names that are valid for every engine, each meant to break quoting, the
/// client's own syntax (psql's `\!` and `:x`, mysql's `\!` and `#`), or the
/// encoding.
const HOSTILE: [&str; 26] = [
    r#"x"; DROP TABLE canary; --"#,
    "x`; DROP TABLE canary; --",
    "x'; DROP TABLE canary; --",
    r"a'b\c",
    "名前",
    "%",
    "_",
    "%_%",
    " leading",
    "-x",
    "--",
    r"end\",
    r"\`",
    "\"",
    "`",
    "'",
    "' OR '1'='1",
    "/* x",
    "# x",
    r"\! touch pwned",
    r#":x :'x' :"x""#,
    "$$",
    "a;b",
    "Zoë Ünïcødé ß",
    "CamelCase",
    "ʻokina ‘quotes’ «x» ＂",
];

/// Names PostgreSQL takes as they are and MySQL refuses or changes.
fn postgres_only() -> Vec<String> {
    vec![
        " spaced ".into(),
        "trailing ".into(),
        "x".repeat(63),
        "名".repeat(21),
        "current_user".into(),
        "PUBLIC".into(),
        "smile 😀".into(),
    ]
}

/// Names MySQL takes as they are and PostgreSQL refuses: the longest
/// MySQL names, 32 characters (96 bytes).
fn mysql_only() -> Vec<String> {
    vec!["名".repeat(32), "u".repeat(32)]
}

fn hex(text: &str) -> String {
    text.bytes().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// `rds-auth-token sql ARGS`, which must succeed.
#[track_caller]
fn statements(args: &[&str]) -> Vec<u8> {
    let run = TestEnv::new().run(["sql"].iter().chain(args));
    run.success();
    if !run.output.stderr.is_empty() {
        run.fail("expected nothing on stderr");
    }
    run.output.stdout.clone()
}

fn sql_args<'a>(engine: &'a str, names: &'a [&'a str]) -> Vec<&'a str> {
    let mut args = vec!["--engine", engine];
    for name in names {
        args.extend(["--username", name]);
    }
    args
}

/// A sealed environment whose stdin is `statements` then `trailer`, with `vars`.
fn piped(statements: &[u8], trailer: &str, vars: &[(&str, &str)]) -> TestEnv {
    let mut env = TestEnv::new();
    for (key, value) in vars {
        env.env(key, value);
    }
    let mut input = statements.to_vec();
    input.extend_from_slice(trailer.as_bytes());
    env.stdin(input);
    env
}

/// No client ran `\! touch pwned` as a shell command.
#[track_caller]
fn no_shell_escape(env: &TestEnv, run: &Run) {
    if env.home().join("pwned").exists() || Path::new("pwned").exists() {
        run.fail("the client ran a shell command from a user name");
    }
}

// ---------------------------------------------------------------- PostgreSQL

/// Every role, as the hex of its name.
fn roles(pg: &BarePostgres) -> BTreeSet<String> {
    pg.query("SELECT encode(convert_to(rolname::text, 'UTF8'), 'hex') FROM pg_roles")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn set_up_postgres(pg: &BarePostgres) {
    pg.query(
        "CREATE ROLE rds_iam NOLOGIN; CREATE TABLE canary (x int); INSERT INTO canary VALUES (1)",
    );
}

/// Exactly the roles `names` are new since `before`, each a login, not a
/// superuser, a member of rds_iam and of nothing else; rds_iam has no other
/// members; the canary table is intact.
#[track_caller]
fn assert_postgres_made_exactly(pg: &BarePostgres, before: &BTreeSet<String>, names: &[&str]) {
    let after = roles(pg);
    let expected: BTreeSet<String> = names.iter().map(|n| hex(n)).collect();
    let made: BTreeSet<String> = after.difference(before).cloned().collect();
    assert_eq!(made, expected, "roles made for {names:?}");
    assert!(before.is_subset(&after), "a role went missing");
    for name in names {
        let row = pg.query(&format!(
            "SELECT r.rolcanlogin, r.rolsuper, r.rolcreaterole, r.rolcreatedb, \
             array_to_string(ARRAY(SELECT g.rolname FROM pg_auth_members m \
             JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid ORDER BY 1), ',') \
             FROM pg_roles r WHERE encode(convert_to(r.rolname::text, 'UTF8'), 'hex') = '{}'",
            hex(name)
        ));
        assert_eq!(row.trim(), "t|f|f|f|rds_iam", "{name:?}");
    }
    let members: BTreeSet<String> = pg
        .query(
            "SELECT encode(convert_to(r.rolname::text, 'UTF8'), 'hex') FROM pg_auth_members m \
             JOIN pg_roles r ON r.oid = m.member JOIN pg_roles g ON g.oid = m.roleid \
             WHERE g.rolname = 'rds_iam'",
        )
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(members, expected, "members of rds_iam");
    assert_eq!(pg.query("SELECT count(*) FROM canary").trim(), "1");
}

/// Drops the roles `names`, quoted by the server's own format('%I').
fn drop_roles(pg: &BarePostgres, names: &[&str]) {
    for name in names {
        pg.query(&format!(
            "DO $$BEGIN EXECUTE format('DROP ROLE %I', convert_from(decode('{}', 'hex'), 'UTF8')); END$$",
            hex(name)
        ));
    }
}

/// psql settings a user may have: the defaults, and a session with
/// standard_conforming_strings off (backslashes escape in '...') and a
/// LATIN1 client encoding.
const PSQL_SETTINGS: [(&[(&str, &str)], &str); 2] = [
    (&[], "on"),
    (
        &[
            ("PGOPTIONS", "-c standard_conforming_strings=off"),
            ("PGCLIENTENCODING", "LATIN1"),
        ],
        "off",
    ),
];

/// Pipes `statements` into psql as the superuser, which must succeed with
/// the setting it was given.
#[track_caller]
fn run_in_psql(pg: &BarePostgres, statements: &[u8], vars: &[(&str, &str)], conforming: &str) {
    let env = piped(statements, "SHOW standard_conforming_strings;\n", vars);
    let run = pg.psql(&env, &["-v", "ON_ERROR_STOP=1", "-q", "-A", "-t"]);
    run.success().stdout_is(&format!("{conforming}\n"));
    no_shell_escape(&env, &run);
}

#[test]
fn postgres_makes_exactly_the_named_login_in_rds_iam_for_every_hostile_name() {
    let pg = BarePostgres::start();
    set_up_postgres(&pg);
    let before = roles(&pg);
    let extra = postgres_only();
    let names: Vec<&str> = HOSTILE
        .iter()
        .copied()
        .chain(extra.iter().map(String::as_str))
        .collect();
    for (vars, conforming) in PSQL_SETTINGS {
        for name in &names {
            let stdout = statements(&sql_args("postgres", &[name]));
            run_in_psql(&pg, &stdout, vars, conforming);
            assert_postgres_made_exactly(&pg, &before, &[name]);
            drop_roles(&pg, &[name]);
        }
    }
    // All at once, in one transaction.
    let stdout = statements(&sql_args("postgresql", &names));
    run_in_psql(&pg, &stdout, &[], "on");
    assert_postgres_made_exactly(&pg, &before, &names);
}

#[test]
fn postgres_without_rds_iam_says_so_and_makes_no_user() {
    let pg = BarePostgres::start();
    let before = roles(&pg);
    let stdout = statements(&sql_args("postgres", &["jane_doe", "report"]));
    for stop in ["ON_ERROR_STOP=1", "ON_ERROR_STOP=0"] {
        let run = pg.psql(&piped(&stdout, "", &[]), &["-v", stop, "-q"]);
        let first = run.stderr().lines().next().unwrap_or_default().to_owned();
        assert_eq!(first, "ERROR:  role \"rds_iam\" does not exist", "{stop}");
        assert_eq!(roles(&pg), before, "{stop}: no role is made");
        readme_cites(&first);
    }
}

#[test]
fn postgres_refuses_an_existing_user_and_leaves_it_as_it_was() {
    let pg = BarePostgres::start();
    set_up_postgres(&pg);
    pg.query("CREATE ROLE jane_doe NOLOGIN");
    let before = roles(&pg);
    let stdout = statements(&sql_args("postgres", &["report", "jane_doe"]));
    let run = pg.psql(&piped(&stdout, "", &[]), &["-v", "ON_ERROR_STOP=1", "-q"]);
    if run.output.status.success() {
        run.fail("expected psql to stop at the error");
    }
    let first = run.stderr().lines().next().unwrap_or_default().to_owned();
    assert_eq!(first, "ERROR:  role \"jane_doe\" already exists");
    readme_cites(&first.replace("jane_doe", "USER"));
    // report, made in the same transaction, is gone again.
    assert_eq!(roles(&pg), before);
    assert_eq!(
        pg.query("SELECT rolcanlogin FROM pg_roles WHERE rolname = 'jane_doe'")
            .trim(),
        "f"
    );
}

#[test]
fn postgres_with_a_latin1_client_needs_the_encoding_statement() {
    // The control: without `SET client_encoding`, the same CREATE USER from
    // a LATIN1 client makes another role. The check above would see it.
    let pg = BarePostgres::start();
    set_up_postgres(&pg);
    let before = roles(&pg);
    let stdout = String::from_utf8(statements(&sql_args("postgres", &["名前"]))).unwrap();
    assert!(
        stdout.starts_with("SET client_encoding = 'UTF8';\n"),
        "{stdout}"
    );
    let without = stdout.replacen("SET client_encoding = 'UTF8';\n", "", 1);
    let run = pg.psql(
        &piped(without.as_bytes(), "", &[("PGCLIENTENCODING", "LATIN1")]),
        &["-v", "ON_ERROR_STOP=1", "-q"],
    );
    run.success();
    let made: Vec<String> = roles(&pg).difference(&before).cloned().collect();
    assert_eq!(made.len(), 1);
    assert_ne!(made[0], hex("名前"), "LATIN1 bytes read as characters");
}

// ------------------------------------------------------------------- MariaDB

/// Every account, as `hex(user)@hex(host)`.
fn accounts(db: &BareMariadb) -> BTreeSet<String> {
    db.query("SELECT CONCAT(LOWER(HEX(User)), '@', LOWER(HEX(Host))) FROM mysql.global_priv")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn set_up_mariadb(db: &BareMariadb) {
    db.query(
        "CREATE DATABASE app; CREATE TABLE app.canary (x int); INSERT INTO app.canary VALUES (1)",
    );
}

fn schemas(db: &BareMariadb) -> String {
    db.query("SELECT schema_name FROM information_schema.schemata ORDER BY 1")
}

/// Exactly the accounts `names`@`%` are new since `before`, each with
/// AWSAuthenticationPlugin, authentication string RDS and REQUIRE SSL, and
/// no privileges; the canary table is intact.
#[track_caller]
fn assert_mariadb_made_exactly(db: &BareMariadb, before: &BTreeSet<String>, names: &[&str]) {
    let after = accounts(db);
    let expected: BTreeSet<String> = names
        .iter()
        .map(|n| format!("{}@{}", hex(n), hex("%")))
        .collect();
    let made: BTreeSet<String> = after.difference(before).cloned().collect();
    assert_eq!(made, expected, "accounts made for {names:?}");
    assert!(before.is_subset(&after), "an account went missing");
    for name in names {
        let user = format!("LOWER(HEX(User)) = '{}' AND Host = '%'", hex(name));
        assert_eq!(
            db.query(&format!(
                "SELECT plugin, authentication_string, ssl_type FROM mysql.user WHERE {user}"
            )),
            "AWSAuthenticationPlugin\tRDS\tANY\n",
            "{name:?}"
        );
        assert_eq!(
            db.query(&format!(
                "SELECT JSON_VALUE(Priv, '$.plugin'), JSON_VALUE(Priv, '$.authentication_string'), \
                 JSON_VALUE(Priv, '$.ssl_type'), JSON_VALUE(Priv, '$.access') \
                 FROM mysql.global_priv WHERE {user}"
            )),
            "AWSAuthenticationPlugin\tRDS\t1\t0\n",
            "{name:?}"
        );
    }
    assert_eq!(db.query("SELECT COUNT(*) FROM mysql.db").trim(), "0");
    assert_eq!(db.query("SELECT COUNT(*) FROM app.canary").trim(), "1");
}

/// Drops the accounts `names`@`%`, quoted by the server's own QUOTE().
fn drop_accounts(db: &BareMariadb, names: &[&str]) {
    for name in names {
        db.query(&format!(
            "SET @u = CONVERT(UNHEX('{}') USING utf8mb4); \
             SET @s = CONCAT('DROP USER ', QUOTE(@u), '@''%'''); \
             PREPARE st FROM @s; EXECUTE st; DEALLOCATE PREPARE st",
            hex(name)
        ));
    }
}

/// The sql_mode flags the statements must read the same under: none, and
/// each one that changes how quotes are read.
const SQL_MODES: [&str; 3] = ["", "NO_BACKSLASH_ESCAPES", "ANSI_QUOTES"];

/// Pipes `statements` into the mariadb client, in the C locale (so its
/// default character set is latin1), in a session with `mode` added to the
/// sql_mode; it must succeed, in that mode.
#[track_caller]
fn run_in_mariadb(db: &BareMariadb, statements: &[u8], mode: &str) {
    let env = piped(statements, "SELECT @@sql_mode;\n", &[("LC_ALL", "C")]);
    let init = format!("--init-command=SET sql_mode = CONCAT(@@sql_mode, ',{mode}')");
    let run = db.client(&env, &[&init, "-N", "-B"]);
    run.success();
    let sql_mode = run.stdout();
    if !sql_mode.trim().split(',').any(|m| m == mode) && !mode.is_empty() {
        run.fail(&format!("the session's sql_mode lacks {mode}"));
    }
    no_shell_escape(&env, &run);
}

#[test]
fn mariadb_makes_exactly_the_named_account_with_the_aws_plugin_and_ssl_in_every_sql_mode() {
    let db = BareMariadb::with_aws_plugin();
    set_up_mariadb(&db);
    let before = accounts(&db);
    let schemas_before = schemas(&db);
    let extra = mysql_only();
    let all: Vec<&str> = HOSTILE
        .iter()
        .copied()
        .chain(extra.iter().map(String::as_str))
        .collect();
    for mode in SQL_MODES {
        for (i, name) in all.iter().enumerate() {
            let engine = if i % 2 == 0 { "mysql" } else { "aurora-mysql" };
            let stdout = statements(&sql_args(engine, &[name]));
            run_in_mariadb(&db, &stdout, mode);
            assert_mariadb_made_exactly(&db, &before, &[name]);
            drop_accounts(&db, &[name]);
        }
    }
    // MariaDB's own limit, and all at once.
    let long = "m".repeat(128);
    let mut names = all.clone();
    names.push(&long);
    let stdout = statements(&sql_args("mariadb", &names));
    run_in_mariadb(&db, &stdout, "NO_BACKSLASH_ESCAPES");
    assert_mariadb_made_exactly(&db, &before, &names);
    assert_eq!(schemas(&db), schemas_before);
}

#[test]
fn mariadb_without_the_aws_plugin_says_it_is_not_loaded() {
    let db = BareMariadb::without_aws_plugin();
    let before = accounts(&db);
    let stdout = statements(&sql_args("mysql", &["jane_doe"]));
    let run = db.client(&piped(&stdout, "", &[]), &[]);
    if run.output.status.success() {
        run.fail("expected the server to refuse the statement");
    }
    // Before it, the client repeats the statement (--print-query-on-error).
    let message = run.stderr().lines().last().unwrap_or_default().to_owned();
    assert_eq!(
        message,
        "ERROR 1524 (HY000) at line 1: Plugin 'AWSAuthenticationPlugin' is not loaded"
    );
    assert_eq!(accounts(&db), before);
    readme_cites(&message);
}

#[test]
fn mariadb_with_a_client_in_the_c_locale_needs_set_names() {
    // The control: without `SET NAMES utf8mb4`, the same CREATE USER from a
    // client in the C locale (latin1) makes another account. The check
    // above would see it.
    let db = BareMariadb::with_aws_plugin();
    let before = accounts(&db);
    let stdout = String::from_utf8(statements(&sql_args("mysql", &["名前"]))).unwrap();
    assert!(stdout.starts_with("SET NAMES utf8mb4;\n"), "{stdout}");
    let without = stdout.replacen("SET NAMES utf8mb4;\n", "", 1);
    db.client(&piped(without.as_bytes(), "", &[("LC_ALL", "C")]), &[])
        .success();
    let made: Vec<String> = accounts(&db).difference(&before).cloned().collect();
    assert_eq!(made.len(), 1);
    assert_ne!(made[0], format!("{}@{}", hex("名前"), hex("%")));
}

// ----------------------------------------------------------------------- CLI

#[test]
fn prints_the_statements_for_each_username_in_order_and_nothing_else() {
    TestEnv::new()
        .run([
            "sql",
            "--engine",
            "postgres",
            "--username",
            "app",
            "--username=-report",
        ])
        .success()
        .stderr_is("")
        .stdout_is(
            "BEGIN;\nCREATE USER \"app\" WITH LOGIN;\nGRANT rds_iam TO \"app\";\n\
             CREATE USER \"-report\" WITH LOGIN;\nGRANT rds_iam TO \"-report\";\nCOMMIT;\n",
        );
    TestEnv::new()
        .run([
            "sql",
            "--username",
            "a",
            "--engine",
            "MariaDB",
            "--username",
            "b",
        ])
        .success()
        .stdout_is(
            "CREATE USER `a`@`%` IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL;\n\
             CREATE USER `b`@`%` IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL;\n",
        );
}

#[test]
fn refuses_an_unknown_or_missing_engine_in_one_line_with_status_2() {
    TestEnv::new()
        .run(["sql", "--engine", "oracle", "--username", "a"])
        .fails_with(2)
        .stderr_is("rds-auth-token: error: invalid value 'oracle' for '--engine <ENGINE>' [possible values: postgres, mysql, mariadb]; see 'rds-auth-token --help'\n");
    TestEnv::new()
        .run(["sql", "--username", "a"])
        .fails_with(2)
        .stderr_contains("--engine <ENGINE>");
}

#[test]
fn refuses_a_missing_or_empty_username_in_one_line_with_status_2() {
    TestEnv::new()
        .run(["sql", "--engine", "mysql"])
        .fails_with(2)
        .stderr_is("rds-auth-token: error: the following required arguments were not provided: --username <USERNAME>; see 'rds-auth-token --help'\n");
    TestEnv::new()
        .run(["sql", "--engine", "mysql", "--username", "a", "--username="])
        .fails_with(2)
        .stderr_contains("--username is empty");
}

#[test]
fn refuses_names_too_long_for_the_engine_in_one_line_with_status_2() {
    let pg64 = "x".repeat(64);
    TestEnv::new()
        .run(["sql", "--engine", "postgres", "--username", &pg64])
        .fails_with(2)
        .stderr_is(&format!("rds-auth-token: error: --username '{pg64}' is 64 bytes long; PostgreSQL cuts role names to 63 bytes (NAMEDATALEN 64), so pass a name of at most 63 bytes\n"));
    let my33 = "y".repeat(33);
    TestEnv::new()
        .run(["sql", "--engine", "aurora-mysql", "--username", &my33])
        .fails_with(2)
        .stderr_is(&format!("rds-auth-token: error: --username '{my33}' is 33 characters long; MySQL user names have at most 32, so pass a shorter name\n"));
    TestEnv::new()
        .run(["sql", "--engine", "mariadb", "--username", &my33])
        .success();
    TestEnv::new()
        .run(["sql", "--engine", "mariadb", "--username", &"z".repeat(129)])
        .fails_with(2)
        .stderr_contains("MariaDB user names have at most 128");
}

#[test]
fn refuses_control_characters_and_what_the_server_would_change_with_status_2() {
    // NUL cannot be passed in an argument at all; the library refuses it
    // (src/sql/tests.rs) as it refuses these.
    for bad in ["a\nb", "tab\tx", "esc\x1b[2J"] {
        TestEnv::new()
            .run(["sql", "--engine", "postgres", "--username", bad])
            .fails_with(2)
            .stderr_contains("contains a control character; pass the database user name exactly")
            .stderr_lacks("\x1b");
    }
    use std::os::unix::ffi::OsStrExt;
    let latin1 = std::ffi::OsStr::from_bytes(b"caf\xe9");
    TestEnv::new()
        .run([
            std::ffi::OsStr::new("sql"),
            "--engine".as_ref(),
            "mysql".as_ref(),
            "--username".as_ref(),
            latin1,
        ])
        .fails_with(2)
        .stderr_is("rds-auth-token: error: --username is not valid UTF-8; pass it as UTF-8 text\n");
    TestEnv::new()
        .run(["sql", "--engine", "mysql", "--username", "spaced "])
        .fails_with(2)
        .stderr_is("rds-auth-token: error: --username 'spaced ' ends with a space, which MySQL drops from user names, so the user made would not be the one that logs in; pass the name without it\n");
    TestEnv::new()
        .run(["sql", "--engine", "postgres", "--username", "pg_app"])
        .fails_with(2)
        .stderr_contains("starts with pg_");
    TestEnv::new()
        .run([
            "sql",
            "--engine",
            "mysql",
            "--username",
            "a",
            "--username",
            "a",
        ])
        .fails_with(2)
        .stderr_is("rds-auth-token: error: --username 'a' is given twice; pass each user once\n");
}

// ---------------------------------------------------------------- docs/setup.md

/// The section on `sql` of docs/setup.md.
fn readme_section() -> String {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/setup.md")).unwrap();
    let start = doc
        .find("\n## Database users: sql\n")
        .expect("docs/setup.md has a section '## Database users: sql'");
    let rest = &doc[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 4);
    rest[..end].to_owned()
}

/// The docs' section on `sql` quotes `message` exactly.
#[track_caller]
fn readme_cites(message: &str) {
    assert!(
        readme_section().contains(message),
        "the docs' sql section should quote the server's message exactly: {message}"
    );
}

#[test]
fn the_documented_commands_print_what_the_docs_show() {
    let block = support::readme::block("sql-examples");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_rds-auth-token"))
        .parent()
        .unwrap()
        .to_owned();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let lines: Vec<&str> = block.text.lines().collect();
    let mut ran = 0;
    // `$ command` lines, each followed by its exact output.
    let mut i = 0;
    while i < lines.len() {
        let command = lines[i]
            .strip_prefix("$ ")
            .unwrap_or_else(|| panic!("expected a '$ ' line: {}", lines[i]));
        let mut expected = String::new();
        i += 1;
        while i < lines.len() && !lines[i].starts_with("$ ") {
            expected.push_str(lines[i]);
            expected.push('\n');
            i += 1;
        }
        let mut env = TestEnv::new();
        env.env("PATH", &path);
        env.run_program("/bin/sh", ["-c", command])
            .success()
            .stderr_is("")
            .stdout_is(&expected);
        ran += 1;
    }
    assert!(ran >= 3, "ran {ran} documented commands");
}
