//! Make AWS IAM database authentication tokens for Amazon RDS and Aurora.
//!
//! An IAM auth token is a SigV4 query-presigned URL for
//! `GET https://HOST:PORT/?Action=connect&DBUser=USER` (service `rds-db`),
//! printed without the `https://` prefix. For the same credentials, inputs and
//! signing time, [`AuthTokenConfig::generate`] makes the same token, byte for
//! byte, as botocore's `generate_db_auth_token` (the AWS CLI's
//! `aws rds generate-db-auth-token`).
//!
//! # Example
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use aws_credential_types::Credentials;
//! use rds_auth_token::AuthTokenConfig;
//!
//! let config = AuthTokenConfig::builder()
//!     .hostname("mydb.123456789012.us-east-1.rds.amazonaws.com")
//!     .port(5432)
//!     .username("jane_doe")
//!     .region("us-east-1")
//!     .build()?;
//! let credentials = Credentials::new(
//!     "AKIAIOSFODNN7EXAMPLE",
//!     "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
//!     None, // session token
//!     None, // expiry
//!     "example",
//! );
//! let signed_at = UNIX_EPOCH + Duration::from_secs(1_795_310_467); // 2026-11-22T01:21:07Z
//! let token = config.generate(&credentials, signed_at)?;
//! assert!(token.as_str().starts_with(
//!     "mydb.123456789012.us-east-1.rds.amazonaws.com:5432/?Action=connect&DBUser=jane_doe&"
//! ));
//! # Ok::<(), rds_auth_token::Error>(())
//! ```

#[cfg(feature = "aws-api")]
pub mod aws_api;
pub mod credentials;
pub mod doctor;
pub mod endpoint;
pub mod engine;
mod error;
pub mod format;
pub mod inspect;
pub mod issuer;
pub mod json;
pub mod launch;
pub mod lifetime;
pub mod password_file;
pub mod policy;
pub mod private_file;
#[cfg(feature = "proxy")]
pub mod proxy;
pub mod refresh;
pub mod region;
pub mod sql;
pub mod text;
pub mod times;
pub mod tls;
pub mod token;
mod username;

pub use error::{Error, Field};

/// The Rust examples of docs/, run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../docs/library.md")]
#[doc = include_str!("../docs/setup.md")]
pub struct DocsDoctests;
pub use lifetime::{TokenLifetime, MIN_CREDENTIAL_LIFETIME};
pub use token::{
    AuthToken, AuthTokenConfig, AuthTokenConfigBuilder, ExpiresIn, Presignable, TokenSigner,
    ACTION, SERVICE,
};
pub use username::Username;

pub use times::rfc3339;
