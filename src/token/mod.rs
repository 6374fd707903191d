//! Tokens: one presigning core ([`presign`](TokenSigner)), and one module
//! per token kind that supplies its host, query, service and limits: RDS and
//! Aurora, Aurora DSQL, ElastiCache, MemoryDB.

mod auth_token;
mod dsql;
mod elasticache;
mod encoding;
mod memorydb;
pub(crate) mod names;
pub(crate) mod presign;
mod rds;

pub use auth_token::AuthToken;
pub use dsql::{
    dsql_region_from_hostname, DsqlAction, DsqlTokenConfig, DsqlTokenConfigBuilder,
    DSQL_DEFAULT_EXPIRES_IN, DSQL_MAX_EXPIRES_IN, DSQL_SERVICE,
};
pub use elasticache::{
    ElastiCacheTokenConfig, ElastiCacheTokenConfigBuilder, ELASTICACHE_MAX_EXPIRES_IN,
    ELASTICACHE_SERVICE,
};
pub use memorydb::{
    MemoryDbTokenConfig, MemoryDbTokenConfigBuilder, MEMORYDB_EXPIRES_IN, MEMORYDB_SERVICE,
};
pub use names::{check as check_name, check_user_id};
pub use presign::{PresignRequest, Presignable, TokenSigner};
pub use rds::{AuthTokenConfig, AuthTokenConfigBuilder, ExpiresIn, ACTION, SERVICE};
