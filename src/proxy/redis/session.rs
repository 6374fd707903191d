//! One Redis client connection.

use std::sync::Arc;

use crate::proxy::{Client, Database, Proxy};

pub async fn serve(_client: Client, _db: &Arc<Database>, _proxy: &Arc<Proxy>) {}

pub async fn test_login(_db: &Database) -> Result<String, String> {
    Err("not yet".into())
}
