//! The configuration file (`--config FILE`): TOML, one table per database,
//! with the keys of the command line's flags, as the Cloud SQL Auth Proxy
//! takes several instances in one process.
//!
//! ```toml
//! [orders]
//! hostname = "orders.cluster-abc.eu-west-1.rds.amazonaws.com"
//! port = 5432
//! listen = "127.0.0.1:5432"
//! profile = "prod"
//!
//! [analytics]
//! hostname = "analytics.abc.us-east-1.rds.amazonaws.com"
//! port = 5432
//! username = "reporting"
//! unix-socket = "/run/user/1000/analytics"
//!
//! [billing]
//! hostname = "billing.abc.us-east-1.rds.amazonaws.com"
//! port = 3306
//! engine = "mysql"
//! listen = "127.0.0.1:3306"
//!
//! [sessions]
//! cache-name = "sessions"
//! user-id = "app-user"
//! endpoint = "master.sessions.abc123.use1.cache.amazonaws.com:6379"
//! listen = "127.0.0.1:6379"
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

/// One database's table, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DatabaseTable {
    /// An RDS, Aurora or DSQL endpoint; or, for a cache, none.
    pub hostname: Option<String>,
    pub port: Option<u16>,
    /// `postgres` or `mysql` (`mariadb`) [default: from the port].
    pub engine: Option<String>,
    /// An ElastiCache cache (with `user-id` and `endpoint`).
    pub cache_name: Option<String>,
    /// A MemoryDB cluster (with `user-id` and `endpoint`).
    pub cluster_name: Option<String>,
    pub user_id: Option<String>,
    pub serverless: Option<bool>,
    /// A cache's or cluster's endpoint, `HOST[:PORT]`.
    pub endpoint: Option<String>,
    pub username: Option<String>,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub via: Option<String>,
    pub ssl_ca: Option<PathBuf>,
    /// One address, or a list.
    pub listen: Option<Listen>,
    pub unix_socket: Option<PathBuf>,
    pub expires_in: Option<u64>,
    pub no_reuse: Option<bool>,
}

/// `listen = "ADDR:PORT"` or `listen = ["ADDR:PORT", ...]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Listen {
    One(String),
    Many(Vec<String>),
}

impl Listen {
    /// The addresses, as written.
    pub fn addresses(&self) -> Vec<String> {
        match self {
            Listen::One(one) => vec![one.clone()],
            Listen::Many(many) => many.clone(),
        }
    }
}

/// Why the file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("could not read it: {0}")]
    Read(#[from] std::io::Error),
    #[error("{0}")]
    Toml(String),
    #[error(
        "it has no database tables; add one like [main] with hostname = \"...\" and port = 5432"
    )]
    Empty,
}

/// The databases of a configuration file's text, by table name.
///
/// # Errors
/// [`ConfigError`]: not TOML, an unknown key, a value of the wrong type,
/// or no tables.
pub fn parse(text: &str) -> Result<BTreeMap<String, DatabaseTable>, ConfigError> {
    let tables: BTreeMap<String, DatabaseTable> =
        toml::from_str(text).map_err(|err| ConfigError::Toml(one_line(&err)))?;
    if tables.is_empty() {
        return Err(ConfigError::Empty);
    }
    Ok(tables)
}

/// Reads and parses `path`.
///
/// # Errors
/// As [`parse`], and when it cannot be read.
pub fn read(path: &std::path::Path) -> Result<BTreeMap<String, DatabaseTable>, ConfigError> {
    parse(&std::fs::read_to_string(path)?)
}

/// A TOML error on one line: its message and where.
fn one_line(err: &toml::de::Error) -> String {
    let message = err.message().trim_end_matches('.').to_owned();
    match err.span() {
        Some(span) => format!("{message} (at byte {})", span.start),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_table_per_database_with_the_flags_keys() {
        let tables = parse(
            r#"
            [orders]
            hostname = "orders.abc.eu-west-1.rds.amazonaws.com"
            port = 5432
            listen = ["127.0.0.1:6432", "[::1]:6432"]
            no-reuse = true

            [dsql]
            hostname = "abcdefghijklmnopqrst.dsql.us-east-1.on.aws"
            unix-socket = "/run/dsql"
            username = "admin"
            "#,
        )
        .unwrap();
        assert_eq!(tables.len(), 2);
        let orders = &tables["orders"];
        assert_eq!(orders.port, Some(5432));
        assert_eq!(
            orders.listen.as_ref().unwrap().addresses(),
            ["127.0.0.1:6432", "[::1]:6432"]
        );
        assert_eq!(orders.no_reuse, Some(true));
        assert_eq!(tables["dsql"].username.as_deref(), Some("admin"));
    }

    #[test]
    fn refuses_unknown_keys_wrong_types_and_an_empty_file() {
        let err = parse("[a]\nhostname = \"h\"\npassword = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("unknown field `password`"), "{err}");
        assert!(!err.contains('\n'), "{err}");
        let err = parse("[a]\nhostname = \"h\"\nport = \"5432\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid type"), "{err}");
        assert!(matches!(parse(""), Err(ConfigError::Empty)));
        assert!(matches!(
            parse("[a]\nserverless = \"yes\"\n"),
            Err(ConfigError::Toml(_))
        ));
    }
}
