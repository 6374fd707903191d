//! The bare minimum: one token from keys read straight from the environment,
//! with no provider chain, no region resolution and no argument parsing.
//!
//! `benches/e2e.sh` runs it beside the real command to show what the
//! provider chain and the checks cost on top of signing.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use rds_auth_token::AuthTokenConfig;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let credentials = Credentials::new(
        std::env::var("AWS_ACCESS_KEY_ID")?,
        std::env::var("AWS_SECRET_ACCESS_KEY")?,
        std::env::var("AWS_SESSION_TOKEN").ok(),
        None,
        "environment",
    );
    let token = AuthTokenConfig::builder()
        .hostname("mydb.123456789012.us-east-1.rds.amazonaws.com")
        .port(5432)
        .username("jane_doe")
        .region("us-east-1")
        .build()?
        .generate(&credentials, SystemTime::now())?;
    println!("{token}");
    Ok(())
}
