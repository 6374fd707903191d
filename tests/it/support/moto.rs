//! A local `moto_server` (PyPI `moto[server]`): a real STS on 127.0.0.1.
//!
//! Each [`Moto`] is its own child process on a free loopback port, killed
//! when dropped. It is the pinned one (tests/it/support/python.rs); a missing
//! environment fails the test with the command that builds it, never skips.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long `moto_server` may take to start answering.
const STARTUP: Duration = Duration::from_secs(30);

/// A running `moto_server`.
pub struct Moto {
    child: Child,
    addr: SocketAddr,
}

impl Moto {
    /// Starts the pinned `moto_server -H 127.0.0.1 -p PORT` and waits until
    /// it answers, on a port of [`super::ports::free`]; should another
    /// process bind it first, moto exits and starts again on another (three
    /// tries).
    #[track_caller]
    pub fn start() -> Moto {
        let program = super::python::current().moto_server();
        for _ in 0..3 {
            let port = super::ports::free();
            let child = Command::new(&program)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|err| panic!("{} could not be started: {err}", program.display()));
            let mut moto = Moto {
                child,
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
            };
            let deadline = Instant::now() + STARTUP;
            loop {
                // Exited first: whatever answers on the port is not this moto.
                if let Ok(Some(_)) = moto.child.try_wait() {
                    break;
                }
                if moto.answers() {
                    return moto;
                }
                assert!(
                    Instant::now() < deadline,
                    "moto_server did not answer on {} within {STARTUP:?}",
                    moto.addr
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        panic!("{} exited at start-up three times", program.display());
    }

    /// Its address, `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// True when `GET /moto-api/` gets an HTTP answer.
    fn answers(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect_timeout(&self.addr, Duration::from_millis(500))
        else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let request = format!(
            "GET /moto-api/ HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        );
        let mut head = [0u8; 12];
        stream.write_all(request.as_bytes()).is_ok()
            && stream.read_exact(&mut head).is_ok()
            && head.starts_with(b"HTTP/1.")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
