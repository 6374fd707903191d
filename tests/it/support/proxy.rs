//! A real HTTP proxy on 127.0.0.1 that records every request line: `CONNECT`
//! tunnels (HTTPS) and absolute-form requests (`GET http://HOST:PORT/...`,
//! plain HTTP), which it passes on with the path alone.
//!
//! It goes only to loopback addresses (`127.x.x.x:PORT` or
//! `localhost:PORT`); anything else is recorded and refused. It stops when
//! dropped, and on its own after [`super::http::LIFETIME`].

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::http::LIFETIME;

/// How long a tunnel may stay idle.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A running proxy; dropping it stops it.
pub struct Proxy {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<String>>>,
    thread: Option<JoinHandle<()>>,
}

impl Proxy {
    pub fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let requests: Arc<Mutex<Vec<String>>> = Arc::default();
        let thread = {
            let (stop, requests) = (Arc::clone(&stop), Arc::clone(&requests));
            std::thread::spawn(move || {
                let deadline = Instant::now() + LIFETIME;
                while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            stream.set_nonblocking(false).unwrap();
                            let requests = Arc::clone(&requests);
                            std::thread::spawn(move || tunnel(stream, &requests));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        Proxy {
            addr,
            stop,
            requests,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`, for `HTTPS_PROXY` and `HTTP_PROXY`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The request line of every request it received, in order, e.g.
    /// `CONNECT 127.0.0.1:4321 HTTP/1.1`.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    /// The targets of the `CONNECT` requests it received, e.g. `127.0.0.1:4321`.
    /// (Plain HTTP requests are in [`Proxy::requests`], with their URL.)
    pub fn connect_targets(&self) -> Vec<String> {
        self.requests()
            .iter()
            .filter_map(|line| {
                let mut parts = line.split_whitespace();
                (parts.next() == Some("CONNECT")).then(|| parts.next().unwrap_or("").to_owned())
            })
            .collect()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn tunnel(client: TcpStream, requests: &Mutex<Vec<String>>) {
    let _ = client.set_read_timeout(Some(IO_TIMEOUT));
    let _ = client.set_write_timeout(Some(IO_TIMEOUT));
    let Ok(mut to_client) = client.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(client);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let request_line = request_line.trim_end().to_owned();
    requests.lock().unwrap().push(request_line.clone());
    let mut head = String::new();
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) if line.trim_end().is_empty() => break,
            Ok(_) => head.push_str(&line),
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, target, version) = (parts.next(), parts.next(), parts.next());
    // For an absolute-form request: the origin-form request line to send on.
    let mut forward = None;
    let upstream = match (method, target) {
        (Some("CONNECT"), Some(target)) => loopback(target),
        (Some(method), Some(url)) => url.strip_prefix("http://").and_then(|rest| {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let path = if path.is_empty() { "/" } else { path };
            forward = Some(format!(
                "{method} {path} {}\r\n{head}\r\n",
                version.unwrap_or("HTTP/1.1")
            ));
            loopback(authority)
        }),
        _ => None,
    };
    let Some(mut upstream) = upstream.and_then(|addr| TcpStream::connect(addr).ok()) else {
        let _ = to_client.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    let _ = upstream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = upstream.set_write_timeout(Some(IO_TIMEOUT));
    let started = match &forward {
        Some(head) => upstream.write_all(head.as_bytes()),
        None => to_client.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n"),
    };
    if started.is_err() {
        return;
    }
    let Ok(mut from_upstream) = upstream.try_clone() else {
        return;
    };
    let mut to_upstream = upstream;
    let up = std::thread::spawn(move || {
        // Bytes the client sent after the CONNECT head, then the rest.
        let buffered = reader.buffer().to_vec();
        let _ = to_upstream.write_all(&buffered);
        reader.consume(buffered.len());
        let _ = std::io::copy(&mut reader.get_mut().take(u64::MAX), &mut to_upstream);
        let _ = to_upstream.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut from_upstream, &mut to_client);
    let _ = to_client.shutdown(Shutdown::Both);
    let _ = up.join();
}

/// `target` as a loopback socket address, or `None`.
fn loopback(target: &str) -> Option<SocketAddr> {
    let (host, port) = target.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    let ip = match host {
        "localhost" => [127, 0, 0, 1].into(),
        host => host.parse().ok()?,
    };
    let addr = SocketAddr::new(ip, port);
    addr.ip().is_loopback().then_some(addr)
}
