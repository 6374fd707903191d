//! Tokens: one presigning core, and one module per token kind that supplies
//! its host, query, service and limits.

mod auth_token;
mod encoding;
pub(crate) mod presign;
mod rds;

pub use auth_token::AuthToken;
pub use presign::{PresignRequest, Presignable, TokenSigner};
pub use rds::{AuthTokenConfig, AuthTokenConfigBuilder, ExpiresIn, ACTION, SERVICE};
