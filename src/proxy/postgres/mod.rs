//! The PostgreSQL side of the proxy (also Aurora DSQL's): a client's
//! start-up read and answered in the server's role, the login upstream
//! with a fresh token over verified TLS, and the session relayed.

pub mod cancel;
pub mod frames;
pub mod message;
pub mod relay;
pub mod session;
pub mod startup;
pub mod upstream;
