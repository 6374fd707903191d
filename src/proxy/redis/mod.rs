//! The Redis side of the proxy: ElastiCache and MemoryDB, Valkey or Redis
//! OSS. A client's commands pass through as they are, but for its own
//! AUTH and HELLO, which get the proxy's IAM user id and a fresh token.

pub mod auth;
pub mod relay;
pub mod resp;
pub mod session;
pub mod upstream;
