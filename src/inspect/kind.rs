//! Which of the four token kinds a token is, and each kind's own rules: its
//! service, its parameters, its longest validity, and how to make one.

use std::fmt;

use crate::token::{
    DSQL_MAX_EXPIRES_IN, DSQL_SERVICE, ELASTICACHE_MAX_EXPIRES_IN, ELASTICACHE_SERVICE,
    MEMORYDB_EXPIRES_IN, MEMORYDB_SERVICE, SERVICE,
};

/// The database a token is for, as [`parse`](super::parse) reads it.
///
/// The kind is the one the signing service in `X-Amz-Credential` names.
/// When that service is missing or names no database, the parameters tell:
/// an `Action` of `DbConnect` or `DbConnectAdmin` is Aurora DSQL's, a
/// `User` parameter (and no `DBUser`) ElastiCache's, anything else RDS's;
/// the token then has a problem saying its service is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TokenKind {
    /// Amazon RDS or Aurora: `HOST:PORT/?Action=connect&DBUser=USER`, service `rds-db`.
    #[default]
    Rds,
    /// Aurora DSQL: `HOST/?Action=DbConnect` (or `DbConnectAdmin`), service `dsql`.
    Dsql,
    /// ElastiCache: `NAME/?Action=connect&User=USER[&ResourceType=ServerlessCache]`,
    /// service `elasticache`.
    ElastiCache,
    /// MemoryDB: `NAME/?Action=connect&User=USER`, service `memorydb`.
    MemoryDb,
}

impl TokenKind {
    /// Every kind.
    pub const ALL: [TokenKind; 4] = [
        TokenKind::Rds,
        TokenKind::Dsql,
        TokenKind::ElastiCache,
        TokenKind::MemoryDb,
    ];

    /// The stable name scripts match on (`kind` in `--json` output): `rds`,
    /// `dsql`, `elasticache` or `memorydb`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Rds => "rds",
            TokenKind::Dsql => "dsql",
            TokenKind::ElastiCache => "elasticache",
            TokenKind::MemoryDb => "memorydb",
        }
    }

    /// The name people know the database by: `RDS`, `Aurora DSQL`, `ElastiCache`, `MemoryDB`.
    pub fn name(self) -> &'static str {
        match self {
            TokenKind::Rds => "RDS",
            TokenKind::Dsql => "Aurora DSQL",
            TokenKind::ElastiCache => "ElastiCache",
            TokenKind::MemoryDb => "MemoryDB",
        }
    }

    /// The name with its article: `an RDS`, `an Aurora DSQL`, `an ElastiCache`, `a MemoryDB`.
    pub(crate) fn a_name(self) -> &'static str {
        match self {
            TokenKind::Rds => "an RDS",
            TokenKind::Dsql => "an Aurora DSQL",
            TokenKind::ElastiCache => "an ElastiCache",
            TokenKind::MemoryDb => "a MemoryDB",
        }
    }

    /// The SigV4 signing name its tokens are signed for.
    pub fn service(self) -> &'static str {
        match self {
            TokenKind::Rds => SERVICE,
            TokenKind::Dsql => DSQL_SERVICE,
            TokenKind::ElastiCache => ELASTICACHE_SERVICE,
            TokenKind::MemoryDb => MEMORYDB_SERVICE,
        }
    }

    /// The longest `X-Amz-Expires` the database accepts, in seconds.
    pub fn max_expires_in(self) -> u64 {
        match self {
            TokenKind::Rds => 900,
            TokenKind::Dsql => DSQL_MAX_EXPIRES_IN,
            TokenKind::ElastiCache => ELASTICACHE_MAX_EXPIRES_IN,
            TokenKind::MemoryDb => MEMORYDB_EXPIRES_IN,
        }
    }

    /// The kind whose tokens are signed for `service`.
    pub(crate) fn from_service(service: &str) -> Option<TokenKind> {
        TokenKind::ALL.into_iter().find(|k| k.service() == service)
    }

    /// Whether its tokens have `:PORT` after the host (only RDS's do).
    pub(crate) fn has_port(self) -> bool {
        self == TokenKind::Rds
    }

    /// Whether its tokens start with a cache or cluster name, not a host name.
    pub(crate) fn is_cache(self) -> bool {
        matches!(self, TokenKind::ElastiCache | TokenKind::MemoryDb)
    }

    /// What the part before `/?` names: `host`, `cache` or `cluster`.
    pub(crate) fn endpoint_noun(self) -> &'static str {
        match self {
            TokenKind::Rds | TokenKind::Dsql => "host",
            TokenKind::ElastiCache => "cache",
            TokenKind::MemoryDb => "cluster",
        }
    }

    /// The flag of `rds-auth-token` that sets what the token starts with.
    pub(crate) fn endpoint_flag(self) -> &'static str {
        match self {
            TokenKind::Rds | TokenKind::Dsql => "--hostname",
            TokenKind::ElastiCache => "--cache-name",
            TokenKind::MemoryDb => "--cluster-name",
        }
    }

    /// The end of a message whose fix is a new token.
    pub(crate) fn make_one(self) -> &'static str {
        match self {
            TokenKind::Rds => "make one with rds-auth-token or aws rds generate-db-auth-token and use it as it is printed",
            TokenKind::Dsql => "make one with rds-auth-token dsql or aws dsql generate-db-connect-auth-token and use it as it is printed",
            TokenKind::ElastiCache => "make one with rds-auth-token elasticache and use it as it is printed",
            TokenKind::MemoryDb => "make one with rds-auth-token memorydb and use it as it is printed",
        }
    }
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_own_service_and_stable_name() {
        let names: Vec<&str> = TokenKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names, ["rds", "dsql", "elasticache", "memorydb"]);
        for kind in TokenKind::ALL {
            assert_eq!(TokenKind::from_service(kind.service()), Some(kind));
        }
        assert_eq!(TokenKind::from_service("s3"), None);
        assert_eq!(TokenKind::Dsql.max_expires_in(), 604_800);
        assert_eq!(TokenKind::MemoryDb.max_expires_in(), 900);
    }
}
