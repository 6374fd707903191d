//! The Redis side of the proxy (ElastiCache and MemoryDB).

pub mod session;
