//! One MySQL client connection.

use std::sync::Arc;

use super::Upstream;
use crate::proxy::pool::Kept;
use crate::proxy::{Client, Database, Proxy, ServerStream};

pub struct Server {
    pub stream: ServerStream,
}

impl Kept for Server {
    fn stream(&mut self) -> &mut ServerStream {
        &mut self.stream
    }

    fn goodbye(&self) -> &'static [u8] {
        &[1, 0, 0, 0, 1]
    }
}

pub async fn serve(
    _client: Client,
    _db: &Arc<Database>,
    _upstream: &Upstream,
    _proxy: &Arc<Proxy>,
) {
}

pub async fn test_login(_db: &Database) -> Result<String, String> {
    Err("not yet".into())
}
