//! The SQL that makes database users IAM logins, with names quoted so that any name makes exactly that user.
//!
//! The statements are the ones AWS documents ("Creating a database account
//! using IAM authentication", RDS and Aurora user guides):
//!
//! - PostgreSQL: `CREATE USER "u" WITH LOGIN;` then `GRANT rds_iam TO "u";`,
//!   all users in one transaction (`BEGIN;` ... `COMMIT;`), so that a failure
//!   (no `rds_iam` role, a user that exists) leaves no user half made,
//!   whether or not psql stops at the first error.
//! - MySQL and MariaDB: `` CREATE USER `u`@`%` IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL; ``
//!   (AWS's `CREATE USER` and its `ALTER USER ... REQUIRE SSL` in one).
//!
//! # Quoting
//! PostgreSQL role names are written as quoted identifiers, `"` doubled.
//! Backslashes mean nothing inside them whatever `standard_conforming_strings`
//! says, and psql does not interpolate variables inside them.
//!
//! MySQL and MariaDB user names are written as backtick-quoted identifiers,
//! `` ` `` doubled. `CREATE USER` takes the user and host parts only as
//! identifiers or as quoted strings, not as hex literals or expressions; a
//! quoted string cannot be written the same way for servers with and without
//! `NO_BACKSLASH_ESCAPES` (`'\\'` is one backslash with it off and two with it
//! on, and a name ending in a backslash breaks out of `'...'` when it is
//! off). Inside backticks a backslash is an ordinary character in every
//! `sql_mode`, `ANSI_QUOTES` included, and the mysql and mariadb clients split
//! statements the same way. Unlike a quoted string, whose characters outside
//! the user table's utf8mb3 the server silently turns into `?`, an identifier
//! with such a character is refused by the server; they are refused here first.
//!
//! When a name is not ASCII the statements start with `SET client_encoding =
//! 'UTF8';` (PostgreSQL) or `SET NAMES utf8mb4;` (MySQL), since the
//! statements are UTF-8 and a client whose locale is C talks latin1 to MySQL
//! by default, which would make a different user.
//!
//! # Names refused
//! Besides what [`Username`] refuses (empty names, control characters, NUL
//! included), names the server would cut, change or refuse:
//! - PostgreSQL: more than [`POSTGRES_MAX_NAME_BYTES`] bytes (the server cuts
//!   longer identifiers with only a NOTICE), names starting with `pg_`, and
//!   `public` and `none`.
//! - MySQL: more than [`MYSQL_MAX_NAME_CHARS`] characters; MariaDB: more than
//!   [`MARIADB_MAX_NAME_CHARS`]. Both: a trailing space (the user table's
//!   `CHAR` column drops it), and characters above U+FFFF.
//!
//! # Example
//! ```
//! use rds_auth_token::sql::{self, Dialect};
//! use rds_auth_token::Username;
//!
//! let users = [Username::new("jane_doe")?, Username::new("O'Brien")?];
//! let statements = sql::create_users(Dialect::Postgres, &users)?;
//! assert_eq!(
//!     statements.to_string(),
//!     "BEGIN;\n\
//!      CREATE USER \"jane_doe\" WITH LOGIN;\nGRANT rds_iam TO \"jane_doe\";\n\
//!      CREATE USER \"O'Brien\" WITH LOGIN;\nGRANT rds_iam TO \"O'Brien\";\n\
//!      COMMIT;\n"
//! );
//! let statements = sql::create_users(Dialect::Mysql, &users[..1])?;
//! assert_eq!(
//!     statements.to_string(),
//!     "CREATE USER `jane_doe`@`%` IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL;\n"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashSet;
use std::fmt;

use crate::error::Shown;
use crate::Username;

/// The longest PostgreSQL role name, in bytes: `NAMEDATALEN` (64) less one.
pub const POSTGRES_MAX_NAME_BYTES: usize = 63;
/// The longest MySQL user name, in characters (MySQL 5.7.8 and later, so
/// RDS for MySQL and Aurora MySQL).
pub const MYSQL_MAX_NAME_CHARS: usize = 32;
/// The longest MariaDB user name, in characters (MariaDB 10.11 refuses
/// longer ones with error 1470).
pub const MARIADB_MAX_NAME_CHARS: usize = 128;
/// The host part of the MySQL accounts: any client host, as AWS's examples
/// create them (a user named without a host is `'user'@'%'`).
pub const MYSQL_ANY_HOST: &str = "%";
/// The PostgreSQL role whose members RDS checks with IAM.
pub const RDS_IAM_ROLE: &str = "rds_iam";
/// The MySQL authentication plugin that checks IAM tokens on RDS.
pub const MYSQL_IAM_PLUGIN: &str = "AWSAuthenticationPlugin";

/// The database engines, as far as their SQL differs: by the names RDS
/// gives them and the names people type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Dialect {
    /// RDS for PostgreSQL and Aurora PostgreSQL.
    #[cfg_attr(
        feature = "cli",
        value(alias = "postgresql", alias = "pg", alias = "aurora-postgresql")
    )]
    Postgres,
    /// RDS for MySQL and Aurora MySQL: user names up to 32 characters.
    #[cfg_attr(feature = "cli", value(alias = "aurora-mysql"))]
    Mysql,
    /// RDS for MariaDB: as MySQL, with user names up to 128 characters.
    Mariadb,
}

impl Dialect {
    /// The engine's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Postgres => "PostgreSQL",
            Dialect::Mysql => "MySQL",
            Dialect::Mariadb => "MariaDB",
        }
    }

    /// Checks that `user` can be created on this engine as it is: not cut,
    /// changed or refused by the server.
    ///
    /// # Errors
    /// An [`Error`] naming `--username` and the rule.
    pub fn check_username(self, user: &Username) -> Result<(), Error> {
        let name = user.as_str();
        let shown = || Shown::new(name);
        match self {
            Dialect::Postgres => {
                if name.len() > POSTGRES_MAX_NAME_BYTES {
                    return Err(Error::PostgresTooLong {
                        name: shown(),
                        bytes: name.len(),
                    });
                }
                if name.starts_with("pg_") {
                    return Err(Error::PostgresReservedPrefix(shown()));
                }
                if name == "public" || name == "none" {
                    return Err(Error::PostgresReservedName(shown()));
                }
            }
            Dialect::Mysql | Dialect::Mariadb => {
                let max = match self {
                    Dialect::Mysql => MYSQL_MAX_NAME_CHARS,
                    _ => MARIADB_MAX_NAME_CHARS,
                };
                let chars = name.chars().count();
                if chars > max {
                    return Err(Error::MysqlTooLong {
                        name: shown(),
                        chars,
                        max,
                        engine: self.name(),
                    });
                }
                if name.ends_with(' ') {
                    return Err(Error::TrailingSpace {
                        name: shown(),
                        engine: self.name(),
                    });
                }
                if let Some(c) = name.chars().find(|&c| u32::from(c) > 0xFFFF) {
                    return Err(Error::BeyondBmp {
                        name: shown(),
                        character: format!("U+{:04X}", u32::from(c)),
                        engine: self.name(),
                    });
                }
            }
        }
        Ok(())
    }
}

/// Why the statements for a user name could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("no user name; give the database user to create, e.g. jane_doe")]
    NoUsers,
    #[error("the user name {0} is given twice; give each user once")]
    Duplicate(Shown),
    #[error("the user name {name} is {bytes} bytes long; PostgreSQL cuts role names to 63 bytes (NAMEDATALEN 64), so give a name of at most 63 bytes")]
    PostgresTooLong { name: Shown, bytes: usize },
    #[error("the user name {0} starts with pg_, which PostgreSQL reserves for its own roles; give another name")]
    PostgresReservedPrefix(Shown),
    #[error(
        "the user name {0} is a name PostgreSQL reserves (every role, or no role); give another name"
    )]
    PostgresReservedName(Shown),
    #[error("the user name {name} is {chars} characters long; {engine} user names have at most {max}, so give a shorter name")]
    MysqlTooLong {
        name: Shown,
        chars: usize,
        max: usize,
        engine: &'static str,
    },
    #[error("the user name {name} ends with a space, which {engine} drops from user names, so the user made would not be the one that logs in; give the name without it")]
    TrailingSpace { name: Shown, engine: &'static str },
    #[error("the user name {name} contains {character}; {engine} user names hold only characters up to U+FFFF, so give a name without it")]
    BeyondBmp {
        name: Shown,
        character: String,
        engine: &'static str,
    },
}

/// `name` as a PostgreSQL quoted identifier: in `"`, each `"` doubled.
///
/// Any text without NUL comes back from the server's parser exactly as it
/// is (up to 63 bytes; see [`Dialect::check_username`]).
///
/// # Example
/// ```
/// use rds_auth_token::sql::postgres_identifier;
/// assert_eq!(postgres_identifier(r#"x"; DROP TABLE t; --"#), r#""x""; DROP TABLE t; --""#);
/// ```
pub fn postgres_identifier(name: &str) -> String {
    quote(name, '"')
}

/// `name` as a MySQL or MariaDB backtick-quoted identifier: in `` ` ``, each
/// `` ` `` doubled. Backslashes stay as they are: inside backticks they are
/// ordinary characters whether or not `NO_BACKSLASH_ESCAPES` is set.
///
/// # Example
/// ```
/// use rds_auth_token::sql::mysql_identifier;
/// assert_eq!(mysql_identifier(r"a'b\c`d"), r"`a'b\c``d`");
/// ```
pub fn mysql_identifier(name: &str) -> String {
    quote(name, '`')
}

fn quote(name: &str, mark: char) -> String {
    let mut quoted = String::with_capacity(name.len() + 2);
    quoted.push(mark);
    for c in name.chars() {
        if c == mark {
            quoted.push(mark);
        }
        quoted.push(c);
    }
    quoted.push(mark);
    quoted
}

/// SQL statements, one a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statements(Vec<String>);

impl Statements {
    /// Each statement, with its `;` and without a newline.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

/// Each statement followed by a newline.
impl fmt::Display for Statements {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for statement in &self.0 {
            writeln!(f, "{statement}")?;
        }
        Ok(())
    }
}

/// The statements that make each of `users` a login that authenticates
/// with IAM tokens on `engine`, in order; when a name is not ASCII, first
/// the statement that makes the session's client encoding UTF-8. On
/// PostgreSQL they are one transaction.
///
/// # Errors
/// [`Error::NoUsers`] for no users, [`Error::Duplicate`] for a name given
/// twice, and those of [`Dialect::check_username`].
///
/// # Example
/// ```
/// use rds_auth_token::sql::{create_users, Dialect};
/// use rds_auth_token::Username;
///
/// let statements = create_users(Dialect::Mariadb, &[Username::new("名前")?])?;
/// assert_eq!(statements.as_slice(), [
///     "SET NAMES utf8mb4;",
///     "CREATE USER `名前`@`%` IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL;",
/// ]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn create_users(engine: Dialect, users: &[Username]) -> Result<Statements, Error> {
    if users.is_empty() {
        return Err(Error::NoUsers);
    }
    let mut seen = HashSet::new();
    for user in users {
        engine.check_username(user)?;
        if !seen.insert(user.as_str()) {
            return Err(Error::Duplicate(Shown::new(user.as_str())));
        }
    }
    let mut statements = Vec::with_capacity(users.len() * 2 + 1);
    if users.iter().any(|u| !u.as_str().is_ascii()) {
        statements.push(
            match engine {
                Dialect::Postgres => "SET client_encoding = 'UTF8';",
                Dialect::Mysql | Dialect::Mariadb => "SET NAMES utf8mb4;",
            }
            .to_owned(),
        );
    }
    if engine == Dialect::Postgres {
        statements.push("BEGIN;".to_owned());
    }
    for user in users {
        match engine {
            Dialect::Postgres => {
                let role = postgres_identifier(user.as_str());
                statements.push(format!("CREATE USER {role} WITH LOGIN;"));
                statements.push(format!("GRANT {RDS_IAM_ROLE} TO {role};"));
            }
            Dialect::Mysql | Dialect::Mariadb => statements.push(format!(
                "CREATE USER {}@{} IDENTIFIED WITH {MYSQL_IAM_PLUGIN} AS 'RDS' REQUIRE SSL;",
                mysql_identifier(user.as_str()),
                mysql_identifier(MYSQL_ANY_HOST),
            )),
        }
    }
    if engine == Dialect::Postgres {
        statements.push("COMMIT;".to_owned());
    }
    Ok(Statements(statements))
}

#[cfg(test)]
mod tests;
