//! Which database engine a client or port belongs to.

use std::ffi::OsStr;
use std::path::Path;

/// The database engines RDS IAM authentication serves, as far as their
/// clients and protocols go (MariaDB speaks MySQL's; their SQL differs, see
/// [`crate::sql::Dialect`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Engine {
    /// PostgreSQL, and Aurora PostgreSQL: libpq clients (psql, pg_dump, ...).
    #[cfg_attr(feature = "cli", value(alias = "postgresql", alias = "pg"))]
    Postgres,
    /// MySQL and MariaDB, and Aurora MySQL: mysql, mariadb, mysqldump, ...
    #[cfg_attr(feature = "cli", value(alias = "mariadb"))]
    Mysql,
}

impl Engine {
    /// The engine of a default port: 5432 PostgreSQL, 3306 MySQL.
    pub fn from_port(port: u16) -> Option<Engine> {
        match port {
            5432 => Some(Engine::Postgres),
            3306 => Some(Engine::Mysql),
            _ => None,
        }
    }

    /// The engine of a client program, from its file name: `psql`, `pg_*`,
    /// `pgbench` and the other libpq tools are PostgreSQL's; `mysql*` and
    /// `mariadb*` are MySQL's.
    pub fn from_client(program: &OsStr) -> Option<Engine> {
        let name = Path::new(program).file_name()?.to_str()?;
        const LIBPQ: [&str; 10] = [
            "psql",
            "pgbench",
            "createdb",
            "dropdb",
            "createuser",
            "dropuser",
            "clusterdb",
            "reindexdb",
            "vacuumdb",
            "pgcli",
        ];
        if LIBPQ.contains(&name) || name.starts_with("pg_") {
            Some(Engine::Postgres)
        } else if name.starts_with("mysql") || name.starts_with("mariadb") {
            Some(Engine::Mysql)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_postgres_and_mysql_clients_by_name_wherever_they_live() {
        for pg in [
            "psql",
            "/usr/bin/pg_dump",
            "pg_restore",
            "pgbench",
            "vacuumdb",
        ] {
            assert_eq!(
                Engine::from_client(OsStr::new(pg)),
                Some(Engine::Postgres),
                "{pg}"
            );
        }
        for my in [
            "mysql",
            "/usr/local/bin/mariadb",
            "mysqldump",
            "mariadb-dump",
            "mysqladmin",
        ] {
            assert_eq!(
                Engine::from_client(OsStr::new(my)),
                Some(Engine::Mysql),
                "{my}"
            );
        }
        for other in ["python3", "env", "xpsql", "/opt/app"] {
            assert_eq!(Engine::from_client(OsStr::new(other)), None, "{other}");
        }
    }

    #[test]
    fn knows_the_default_ports() {
        assert_eq!(Engine::from_port(5432), Some(Engine::Postgres));
        assert_eq!(Engine::from_port(3306), Some(Engine::Mysql));
        assert_eq!(Engine::from_port(6432), None);
    }
}
