//! A local `moto_server` (PyPI `moto[server]`): a real STS on 127.0.0.1.
//!
//! Each [`Moto`] is its own child process on a free loopback port, killed
//! when dropped. A missing `moto_server` fails the test with what to install;
//! it never skips.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
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
    /// Starts `moto_server -H 127.0.0.1 -p PORT` and waits until it answers.
    #[track_caller]
    pub fn start() -> Moto {
        // The kernel picks a free port; the listener is closed just before
        // moto binds it.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| {
                panic!(
                    "moto_server could not be started ({err}); install it with \
                     `python3 -m pip install -r tests/requirements.txt` (.ci/run does){}",
                    if super::in_ci() {
                        " - CI=true, so this is a failure, not a skip"
                    } else {
                        ""
                    }
                )
            });
        let mut moto = Moto {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        let deadline = Instant::now() + STARTUP;
        loop {
            if moto.answers() {
                return moto;
            }
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!("moto_server exited at startup with {status}; is `moto[server]` installed?");
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not answer on {} within {STARTUP:?}",
                moto.addr
            );
            std::thread::sleep(Duration::from_millis(100));
        }
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
