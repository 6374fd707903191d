//! The quoting read back by small lexers of PostgreSQL's and MySQL's syntax,
//! written from the servers' manuals, not from the quoting code.

use super::*;
use proptest::prelude::*;

/// A token of either dialect, as far as these statements need.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A bare word, upper-cased (keywords and unquoted names).
    Word(String),
    /// A quoted identifier's value.
    Ident(String),
    /// A quoted string's value.
    Str(String),
    /// Any other character: `;`, `@`, `=`, ...
    Punct(char),
}

/// How the server reads quotes.
#[derive(Debug, Clone, Copy)]
struct Mode {
    /// The quote character of identifiers: `"` (PostgreSQL, MySQL with
    /// ANSI_QUOTES also) or `` ` `` (MySQL).
    mysql: bool,
    /// MySQL without NO_BACKSLASH_ESCAPES, PostgreSQL with
    /// standard_conforming_strings off: `\` escapes the next character
    /// inside '...' strings.
    backslash_escapes: bool,
    /// MySQL's ANSI_QUOTES: "..." is an identifier, not a string.
    ansi_quotes: bool,
}

const POSTGRES_MODES: [Mode; 2] = [
    Mode {
        mysql: false,
        backslash_escapes: false,
        ansi_quotes: true,
    },
    Mode {
        mysql: false,
        backslash_escapes: true,
        ansi_quotes: true,
    },
];

fn mysql_modes() -> Vec<Mode> {
    let mut modes = Vec::new();
    for backslash_escapes in [true, false] {
        for ansi_quotes in [false, true] {
            modes.push(Mode {
                mysql: true,
                backslash_escapes,
                ansi_quotes,
            });
        }
    }
    modes
}

/// Reads `text` into tokens; an unterminated quote or comment is an error.
fn lex(text: &str, mode: Mode) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    // The text from `start` (just after an opening quote) to the closing
    // `mark`, where a doubled mark is one mark, and with `escapes` a
    // backslash takes the next character as it is.
    let quoted = |start: usize, mark: char, escapes: bool| -> Result<(String, usize), String> {
        let mut value = String::new();
        let mut j = start;
        loop {
            match chars.get(j) {
                None => return Err(format!("unterminated {mark} quote at {}", start - 1)),
                Some('\\') if escapes => {
                    let next = chars.get(j + 1).ok_or("backslash at the end")?;
                    value.push(*next);
                    j += 2;
                }
                Some(&c) if c == mark => {
                    if chars.get(j + 1) == Some(&mark) {
                        value.push(mark);
                        j += 2;
                    } else {
                        return Ok((value, j + 1));
                    }
                }
                Some(&c) => {
                    value.push(c);
                    j += 1;
                }
            }
        }
    };
    while let Some(&c) = chars.get(i) {
        let next = chars.get(i + 1).copied();
        match c {
            c if c.is_whitespace() => i += 1,
            '-' if next == Some('-')
                && (!mode.mysql || chars.get(i + 2).is_none_or(|c| c.is_whitespace())) =>
            {
                while chars.get(i).is_some_and(|&c| c != '\n') {
                    i += 1;
                }
            }
            '#' if mode.mysql => {
                while chars.get(i).is_some_and(|&c| c != '\n') {
                    i += 1;
                }
            }
            '/' if next == Some('*') => {
                let end = (i + 2..chars.len().saturating_sub(1))
                    .find(|&j| chars[j] == '*' && chars[j + 1] == '/')
                    .ok_or("unterminated comment")?;
                i = end + 2;
            }
            '`' if mode.mysql => {
                let (value, end) = quoted(i + 1, '`', false)?;
                tokens.push(Token::Ident(value));
                i = end;
            }
            '"' if !mode.mysql || mode.ansi_quotes => {
                let (value, end) = quoted(i + 1, '"', false)?;
                tokens.push(Token::Ident(value));
                i = end;
            }
            '"' => {
                let (value, end) = quoted(i + 1, '"', mode.backslash_escapes)?;
                tokens.push(Token::Str(value));
                i = end;
            }
            '\'' => {
                let (value, end) = quoted(i + 1, '\'', mode.backslash_escapes)?;
                tokens.push(Token::Str(value));
                i = end;
            }
            c if c.is_alphanumeric() || c == '_' => {
                let start = i;
                while chars
                    .get(i)
                    .is_some_and(|&c| c.is_alphanumeric() || c == '_' || c == '$')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                tokens.push(Token::Word(word.to_uppercase()));
            }
            c => {
                tokens.push(Token::Punct(c));
                i += 1;
            }
        }
    }
    Ok(tokens)
}

fn words(text: &str) -> Vec<Token> {
    text.split(' ')
        .map(|w| Token::Word(w.to_uppercase()))
        .collect()
}

/// The tokens the statements for `users` must read as, whatever the mode.
fn expected(engine: Dialect, users: &[&str]) -> Vec<Token> {
    let mut tokens = Vec::new();
    if users.iter().any(|u| !u.is_ascii()) {
        match engine {
            Dialect::Postgres => {
                tokens.extend(words("SET client_encoding"));
                tokens.push(Token::Punct('='));
                tokens.push(Token::Str("UTF8".into()));
            }
            _ => tokens.extend(words("SET NAMES utf8mb4")),
        }
        tokens.push(Token::Punct(';'));
    }
    if engine == Dialect::Postgres {
        tokens.extend(words("BEGIN"));
        tokens.push(Token::Punct(';'));
    }
    for user in users {
        match engine {
            Dialect::Postgres => {
                tokens.extend(words("CREATE USER"));
                tokens.push(Token::Ident(user.to_string()));
                tokens.extend(words("WITH LOGIN"));
                tokens.push(Token::Punct(';'));
                tokens.extend(words("GRANT rds_iam TO"));
                tokens.push(Token::Ident(user.to_string()));
                tokens.push(Token::Punct(';'));
            }
            _ => {
                tokens.extend(words("CREATE USER"));
                tokens.push(Token::Ident(user.to_string()));
                tokens.push(Token::Punct('@'));
                tokens.push(Token::Ident("%".into()));
                tokens.extend(words("IDENTIFIED WITH AWSAuthenticationPlugin AS"));
                tokens.push(Token::Str("RDS".into()));
                tokens.extend(words("REQUIRE SSL"));
                tokens.push(Token::Punct(';'));
            }
        }
    }
    if engine == Dialect::Postgres {
        tokens.extend(words("COMMIT"));
        tokens.push(Token::Punct(';'));
    }
    tokens
}

fn modes(engine: Dialect) -> Vec<Mode> {
    match engine {
        Dialect::Postgres => POSTGRES_MODES.to_vec(),
        _ => mysql_modes(),
    }
}

/// The statements for `users` read back as exactly those users, in every
/// mode, one statement a line.
#[track_caller]
fn assert_reads_back(engine: Dialect, users: &[&str]) {
    let names: Vec<Username> = users.iter().map(|u| Username::new(*u).unwrap()).collect();
    let statements = create_users(engine, &names).unwrap();
    let text = statements.to_string();
    for mode in modes(engine) {
        assert_eq!(
            lex(&text, mode),
            Ok(expected(engine, users)),
            "{engine:?} {mode:?}:\n{text}"
        );
    }
    for line in text.lines() {
        let tokens = lex(line, modes(engine)[0]).unwrap();
        assert_eq!(
            tokens.iter().filter(|t| **t == Token::Punct(';')).count(),
            1,
            "one statement a line: {line}"
        );
        assert_eq!(tokens.last(), Some(&Token::Punct(';')), "{line}");
    }
}

const HOSTILE: [&str; 16] = [
    r#"x"; DROP TABLE canary; --"#,
    "x`; DROP TABLE canary; --",
    r"a'b\c",
    "名前",
    "%",
    "_",
    " leading space",
    "-x",
    r"end\",
    r"\`",
    "\"",
    "`",
    "' OR '1'='1",
    "/* x",
    "# x",
    r"\! echo pwned",
];

#[test]
fn reads_back_hostile_names_as_themselves_on_every_engine_and_mode() {
    for engine in [Dialect::Postgres, Dialect::Mysql, Dialect::Mariadb] {
        for name in HOSTILE {
            assert_reads_back(engine, &[name]);
        }
        assert_reads_back(engine, &HOSTILE);
    }
    assert_reads_back(Dialect::Postgres, &["trailing space "]);
}

#[test]
fn prints_the_statements_aws_documents() {
    let users = [Username::new("jane_doe").unwrap()];
    assert_eq!(
        create_users(Dialect::Postgres, &users).unwrap().as_slice(),
        [
            "BEGIN;",
            "CREATE USER \"jane_doe\" WITH LOGIN;",
            "GRANT rds_iam TO \"jane_doe\";",
            "COMMIT;"
        ]
    );
    for engine in [Dialect::Mysql, Dialect::Mariadb] {
        assert_eq!(
            create_users(engine, &users).unwrap().to_string(),
            "CREATE USER `jane_doe`@`%` IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL;\n"
        );
    }
}

#[test]
fn sets_the_client_encoding_first_only_for_names_that_are_not_ascii() {
    let users = [Username::new("a").unwrap(), Username::new("é").unwrap()];
    let pg = create_users(Dialect::Postgres, &users).unwrap();
    assert_eq!(pg.as_slice()[0], "SET client_encoding = 'UTF8';");
    assert_eq!(pg.as_slice()[1], "BEGIN;");
    assert_eq!(pg.as_slice().len(), 7);
    let my = create_users(Dialect::Mysql, &users).unwrap();
    assert_eq!(my.as_slice()[0], "SET NAMES utf8mb4;");
    assert_eq!(my.as_slice().len(), 3);
    let ascii = create_users(Dialect::Mysql, &users[..1]).unwrap();
    assert!(ascii.as_slice()[0].starts_with("CREATE USER"));
}

#[test]
fn refuses_names_the_server_would_cut_change_or_refuse() {
    let check = |engine: Dialect, name: &str| {
        create_users(engine, &[Username::new(name).unwrap()])
            .unwrap_err()
            .to_string()
    };
    let pg64 = "x".repeat(64);
    assert_eq!(
        check(Dialect::Postgres, &pg64),
        format!("the user name '{pg64}' is 64 bytes long; PostgreSQL cuts role names to 63 bytes (NAMEDATALEN 64), so give a name of at most 63 bytes")
    );
    // 21 three-byte characters are 63 bytes; 22 are 66.
    assert!(create_users(
        Dialect::Postgres,
        &[Username::new("名".repeat(21)).unwrap()]
    )
    .is_ok());
    assert!(check(Dialect::Postgres, &"名".repeat(22)).contains("is 66 bytes long"));
    assert!(create_users(Dialect::Postgres, &[Username::new("x".repeat(63)).unwrap()]).is_ok());
    assert_eq!(
        check(Dialect::Postgres, "pg_monitor"),
        "the user name 'pg_monitor' starts with pg_, which PostgreSQL reserves for its own roles; give another name"
    );
    for reserved in ["public", "none"] {
        assert!(check(Dialect::Postgres, reserved).contains("a name PostgreSQL reserves"));
    }
    for allowed in ["PUBLIC", "current_user", "Pg_x", "rds_iam_user"] {
        assert!(create_users(Dialect::Postgres, &[Username::new(allowed).unwrap()]).is_ok());
    }

    assert!(create_users(Dialect::Mysql, &[Username::new("名".repeat(32)).unwrap()]).is_ok());
    assert_eq!(
        check(Dialect::Mysql, &"名".repeat(33)),
        format!(
            "the user name '{}' is 33 characters long; MySQL user names have at most 32, so give a shorter name",
            "名".repeat(33)
        )
    );
    assert!(create_users(Dialect::Mariadb, &[Username::new("x".repeat(128)).unwrap()]).is_ok());
    assert!(check(Dialect::Mariadb, &"x".repeat(129))
        .contains("is 129 characters long; MariaDB user names have at most 128"));
    assert_eq!(
        check(Dialect::Mariadb, " spaced "),
        "the user name ' spaced ' ends with a space, which MariaDB drops from user names, so the user made would not be the one that logs in; give the name without it"
    );
    assert_eq!(
        check(Dialect::Mysql, "smile😀"),
        "the user name 'smile😀' contains U+1F600; MySQL user names hold only characters up to U+FFFF, so give a name without it"
    );
    assert!(create_users(Dialect::Postgres, &[Username::new("smile😀 ").unwrap()]).is_ok());
}

#[test]
fn refuses_no_users_and_a_user_given_twice() {
    assert_eq!(
        create_users(Dialect::Postgres, &[])
            .unwrap_err()
            .to_string(),
        "no user name; give the database user to create, e.g. jane_doe"
    );
    let twice = [Username::new("a").unwrap(), Username::new("a").unwrap()];
    assert_eq!(
        create_users(Dialect::Mysql, &twice)
            .unwrap_err()
            .to_string(),
        "the user name 'a' is given twice; give each user once"
    );
    let cases = [Username::new("a").unwrap(), Username::new("A").unwrap()];
    assert!(create_users(Dialect::Mysql, &cases).is_ok());
}

#[test]
fn usernames_with_nul_or_other_control_characters_never_reach_the_sql() {
    for bad in ["nul\0", "line\nbreak", "\x1b[2J"] {
        assert!(matches!(
            Username::new(bad),
            Err(crate::Error::UsernameControlCharacter(_))
        ));
    }
}

/// Names drawn mostly from the characters that matter to the lexers.
fn names() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        '"', '\'', '`', '\\', ';', '%', '_', ' ', '-', '#', '/', '*', '@', ':', '$', '名', 'é',
        'a', 'Z', '0',
    ]);
    prop::collection::vec(prop_oneof![3 => special, 1 => any::<char>()], 1..40)
        .prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #[test]
    fn quoting_round_trips_for_any_text(name in any::<String>()) {
        for (engine, quoted) in [
            (Dialect::Postgres, postgres_identifier(&name)),
            (Dialect::Mysql, mysql_identifier(&name)),
        ] {
            for mode in modes(engine) {
                // Whitespace and comment starts at either end would be
                // read as such only outside the quotes.
                prop_assert_eq!(lex(&quoted, mode), Ok(vec![Token::Ident(name.clone())]));
            }
        }
    }

    #[test]
    fn statements_read_back_as_exactly_the_users_given(
        names in prop::collection::vec(names(), 1..4)
    ) {
        for engine in [Dialect::Postgres, Dialect::Mysql, Dialect::Mariadb] {
            let users: Result<Vec<Username>, _> = names.iter().map(|n| Username::new(n.as_str())).collect();
            let Ok(users) = users else { continue };
            match create_users(engine, &users) {
                Ok(statements) => {
                    let text = statements.to_string();
                    let names: Vec<&str> = names.iter().map(String::as_str).collect();
                    for mode in modes(engine) {
                        prop_assert_eq!(lex(&text, mode), Ok(expected(engine, &names)), "{}", text);
                    }
                    prop_assert_eq!(text.lines().count(), statements.as_slice().len());
                }
                Err(err) => prop_assert!(err.to_string().starts_with("the user name "), "{}", err),
            }
        }
    }
}
