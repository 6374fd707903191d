//! A PostgreSQL login with no password, by hand: the StartupMessage, then
//! every message up to ReadyForQuery. For holding many connections open
//! through the proxy without a client process each.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Logs in as `user` to `database` through 127.0.0.1:`port` (the proxy) and
/// returns the open connection, ready for a query.
#[track_caller]
pub fn login(port: u16, user: &str, database: &str) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the proxy");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let startup = rds_auth_token::proxy::postgres::startup::encode_startup(&[
        ("user".to_owned(), user.to_owned()),
        ("database".to_owned(), database.to_owned()),
    ]);
    stream.write_all(&startup).unwrap();
    loop {
        let mut header = [0u8; 5];
        stream
            .read_exact(&mut header)
            .expect("a message from the proxy");
        let len = u32::from_be_bytes(header[1..].try_into().unwrap()) as usize;
        let mut body = vec![0u8; len.saturating_sub(4)];
        stream.read_exact(&mut body).unwrap();
        match header[0] {
            b'Z' => return stream,
            b'E' => panic!("login refused: {}", String::from_utf8_lossy(&body)),
            _ => {}
        }
    }
}
