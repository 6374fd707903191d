//! The start of a PostgreSQL connection and nothing more, on 127.0.0.1: it
//! answers the client's SSLRequest with `S` and completes the TLS handshake
//! with a certificate for the names it is given, issued by a test CA made
//! with openssl ([`super::tls::TestCa`]). For checks that need a certificate
//! naming a host the real servers' does not (an endpoint name moto makes
//! up); logins go to the real servers of [`super::servers`].

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::tls::TestCa;

/// PostgreSQL's SSLRequest: length 8, code 80877103.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// A running stand-in; it stops when dropped.
pub struct PgTls {
    ca: TestCa,
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    handshakes: Arc<AtomicUsize>,
    /// Set while a connection is being served.
    busy: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl PgTls {
    /// Listens on a free loopback port, with a certificate for the DNS
    /// name `name`.
    #[track_caller]
    pub fn start(name: &str) -> PgTls {
        let ca = TestCa::with_names(&[&format!("DNS:{name}")]);
        let config = Arc::new(ca.server_config());
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let handshakes = Arc::new(AtomicUsize::new(0));
        let busy = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            let handshakes = Arc::clone(&handshakes);
            let busy = Arc::clone(&busy);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            busy.store(true, Ordering::SeqCst);
                            if serve(stream, Arc::clone(&config)) {
                                handshakes.fetch_add(1, Ordering::SeqCst);
                            }
                            busy.store(false, Ordering::SeqCst);
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
            })
        };
        PgTls {
            ca,
            addr,
            stop,
            handshakes,
            busy,
            thread: Some(thread),
        }
    }

    /// `127.0.0.1:PORT`
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The CA that issued its certificate.
    pub fn ca_pem(&self) -> PathBuf {
        self.ca.ca_pem()
    }

    /// How many TLS handshakes it has completed, once the connection it
    /// is serving (a client that has just exited, whose close it is still
    /// reading) is done, for at most 5 seconds.
    pub fn handshakes(&self) -> usize {
        let started = std::time::Instant::now();
        while self.busy.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.handshakes.load(Ordering::SeqCst)
    }
}

/// Answers one connection; true when the handshake completed.
fn serve(mut stream: TcpStream, config: Arc<rustls::ServerConfig>) -> bool {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut request = [0u8; 8];
    if stream.read_exact(&mut request).is_err() || request != SSL_REQUEST {
        return false;
    }
    if stream.write_all(b"S").is_err() {
        return false;
    }
    let Ok(mut conn) = rustls::ServerConnection::new(config) else {
        return false;
    };
    while conn.is_handshaking() {
        if conn.complete_io(&mut stream).is_err() {
            return false;
        }
    }
    // Read until the client closes (its close_notify, or EOF).
    let _ = conn.complete_io(&mut stream);
    true
}

impl Drop for PgTls {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
