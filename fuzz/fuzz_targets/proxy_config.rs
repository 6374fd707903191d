//! The proxy's configuration file reader, `proxy::config::parse`, on any
//! text. Beyond never panicking:
//!
//! - an error is one line;
//! - what it accepts is TOML to the `toml` crate's own reader too, with the
//!   same top-level names (the table names, kept as written, quoted or
//!   not), each a table with the same `hostname`;
//! - what it accepts, written out again by `toml` and read again, gives the
//!   same databases;
//! - the same file with a key no table has added to one of its tables is
//!   refused, naming the key (`deny_unknown_fields`).
//!
//! Nothing here lists the keys a table may have, so keys added to
//! `DatabaseTable` later are covered as they are.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rds_auth_token::proxy::config::{parse, ConfigError};

/// A key no table has.
const UNKNOWN: &str = "zz-fuzz-unknown-key";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let databases = match parse(text) {
        Ok(databases) => databases,
        Err(err) => {
            let message = err.to_string();
            assert!(!message.contains('\n'), "{message:?}");
            assert!(!message.is_empty());
            if matches!(err, ConfigError::Empty) {
                if let Ok(table) = toml::from_str::<toml::Table>(text) {
                    assert!(table.is_empty(), "{text:?} has tables, but no database");
                }
            }
            return;
        }
    };
    assert!(!databases.is_empty());

    let table: toml::Table = toml::from_str(text)
        .unwrap_or_else(|err| panic!("parse took {text:?}, which is not TOML: {err}"));
    let names: Vec<&String> = table.keys().collect();
    let kept: Vec<&String> = databases.keys().collect();
    assert_eq!(names, kept, "the table names are not kept");
    for (name, database) in &databases {
        let value = table[name]
            .as_table()
            .unwrap_or_else(|| panic!("{name:?} is a database but not a table"));
        assert_eq!(
            value.get("hostname").and_then(toml::Value::as_str),
            database.hostname.as_deref(),
            "{name:?}"
        );
    }

    // Written out again and read again: the same databases.
    let written = toml::to_string(&table).expect("a table is written");
    let again = parse(&written)
        .unwrap_or_else(|err| panic!("{text:?} written as {written:?} is refused: {err}"));
    assert_eq!(
        format!("{again:?}"),
        format!("{databases:?}"),
        "{text:?} written as {written:?} reads as other databases"
    );

    // A key no table has is refused.
    let mut with_unknown = table;
    let first = with_unknown.keys().next().cloned().expect("a database");
    with_unknown
        .get_mut(&first)
        .and_then(toml::Value::as_table_mut)
        .expect("a database table")
        .insert(UNKNOWN.to_owned(), toml::Value::Boolean(true));
    let written = toml::to_string(&with_unknown).expect("a table is written");
    match parse(&written) {
        Ok(_) => panic!("{written:?} has an unknown key, and is taken"),
        Err(err) => {
            let message = err.to_string();
            assert!(
                message.contains("unknown field") && message.contains(UNKNOWN),
                "{written:?}: {message}"
            );
        }
    }
});
