//! A loopback HTTP/1.1 server for tests: scripted answers, recorded exchanges.
//!
//! It listens on 127.0.0.1 only, on a port the kernel picks, and answers each
//! connection's one request from a handler, then closes it (`Connection:
//! close`, so clients never reuse it). Every request and answer is recorded.
//! Request bodies must carry a `Content-Length`; that is all the SDK sends.
//! The server stops when dropped, and on its own after [`LIFETIME`], so a
//! leaked one cannot keep a test run alive.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a server runs at most.
pub const LIFETIME: Duration = Duration::from_secs(120);
/// How long a connection may take to send its request, or an upstream its answer.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest request or upstream answer read.
const MAX_MESSAGE: usize = 1 << 20;

/// A request as received.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The request target: path and query, e.g. `/federation/credentials?role_name=x`.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The path without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    /// The body as text.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// An answer to send.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// 200 with `body`.
    pub fn ok(body: impl Into<Vec<u8>>) -> Self {
        Self::status(200, body)
    }

    /// `status` with `body`.
    pub fn status(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The body as text.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

type Exchanges = Arc<Mutex<Vec<(Request, Response)>>>;

/// A running loopback server; dropping it stops it.
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    exchanges: Exchanges,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Answers every request with `handler`.
    pub fn start(handler: impl Fn(&Request) -> Response + Send + Sync + 'static) -> Server {
        let handler = Arc::new(handler);
        Self::spawn(move |stream, exchanges, _held| {
            let exchanges = Arc::clone(exchanges);
            let handler = Arc::clone(&handler);
            std::thread::spawn(move || serve_one(stream, &*handler, &exchanges));
        })
    }

    /// Answers every request with `handler` on `listener` (bound by the
    /// caller on a loopback interface, e.g. inside a network namespace).
    pub fn start_on(
        listener: TcpListener,
        handler: impl Fn(&Request) -> Response + Send + Sync + 'static,
    ) -> Server {
        let handler = Arc::new(handler);
        Self::spawn_on(listener, move |stream, exchanges, _held| {
            let exchanges = Arc::clone(exchanges);
            let handler = Arc::clone(&handler);
            std::thread::spawn(move || serve_one(stream, &*handler, &exchanges));
        })
    }

    /// Answers every request with `handler`, over the stream `wrap` makes of
    /// each connection (a TLS session, say); a connection `wrap` refuses is
    /// closed.
    pub fn start_wrapped<S: Read + Write + 'static>(
        wrap: impl Fn(TcpStream) -> Option<S> + Send + Sync + 'static,
        handler: impl Fn(&Request) -> Response + Send + Sync + 'static,
    ) -> Server {
        let (wrap, handler) = (Arc::new(wrap), Arc::new(handler));
        Self::spawn(move |stream, exchanges, _held| {
            let exchanges = Arc::clone(exchanges);
            let (wrap, handler) = (Arc::clone(&wrap), Arc::clone(&handler));
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
                let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
                if let Some(stream) = wrap(stream) {
                    serve_stream(stream, &*handler, &exchanges);
                }
            });
        })
    }

    /// Accepts connections and never answers them (until dropped).
    pub fn silent() -> Server {
        Self::spawn(|stream, _exchanges, held| held.push(stream))
    }

    fn spawn(
        on_accept: impl FnMut(TcpStream, &Exchanges, &mut Vec<TcpStream>) + Send + 'static,
    ) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        Self::spawn_on(listener, on_accept)
    }

    fn spawn_on(
        listener: TcpListener,
        mut on_accept: impl FnMut(TcpStream, &Exchanges, &mut Vec<TcpStream>) + Send + 'static,
    ) -> Server {
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let exchanges: Exchanges = Arc::default();
        let thread = {
            let stop = Arc::clone(&stop);
            let accepted = Arc::clone(&accepted);
            let exchanges = Arc::clone(&exchanges);
            std::thread::spawn(move || {
                let deadline = Instant::now() + LIFETIME;
                let mut held = Vec::new();
                while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            accepted.fetch_add(1, Ordering::SeqCst);
                            stream.set_nonblocking(false).unwrap();
                            on_accept(stream, &exchanges, &mut held);
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
                for stream in held {
                    let _ = stream.shutdown(Shutdown::Both);
                }
            })
        };
        Server {
            addr,
            stop,
            accepted,
            exchanges,
            thread: Some(thread),
        }
    }

    /// `127.0.0.1:PORT`
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many connections it has accepted.
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Every request answered so far, with its answer, in order.
    pub fn exchanges(&self) -> Vec<(Request, Response)> {
        self.exchanges.lock().unwrap().clone()
    }

    /// Every request answered so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.exchanges().into_iter().map(|(req, _)| req).collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A handler that passes each request on to `upstream` (a loopback address)
/// and returns its answer: with [`Server::start`], a recording tap in front of
/// a real local service.
pub fn forward_to(upstream: SocketAddr) -> impl Fn(&Request) -> Response + Send + Sync {
    assert!(upstream.ip().is_loopback(), "only loopback upstreams");
    move |req| match forward(upstream, req) {
        Ok(resp) => resp,
        Err(err) => Response::status(502, format!("tap could not reach {upstream}: {err}")),
    }
}

fn forward(upstream: SocketAddr, req: &Request) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect_timeout(&upstream, IO_TIMEOUT)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.target);
    for (name, value) in &req.headers {
        if !name.eq_ignore_ascii_case("connection") {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str("Connection: close\r\n\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(&req.body)?;
    let mut reader = BufReader::new(stream);
    let (status_line, headers) = read_head(&mut reader)?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid(format!("bad status line {status_line:?}")))?;
    if find_header(&headers, "transfer-encoding").is_some() {
        return Err(invalid("chunked upstream answers are not supported".into()));
    }
    let body = match find_header(&headers, "content-length") {
        Some(len) => read_body(&mut reader, len)?,
        None => {
            let mut body = Vec::new();
            reader.take(MAX_MESSAGE as u64).read_to_end(&mut body)?;
            body
        }
    };
    let headers = headers
        .into_iter()
        .filter(|(name, _)| {
            !["connection", "content-length", "keep-alive"]
                .iter()
                .any(|hop| name.eq_ignore_ascii_case(hop))
        })
        .collect();
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn serve_one(stream: TcpStream, handler: &dyn Fn(&Request) -> Response, exchanges: &Exchanges) {
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let Ok(closer) = stream.try_clone() else {
        return;
    };
    serve_stream(stream, handler, exchanges);
    let _ = closer.shutdown(Shutdown::Both);
}

/// Reads one request from `stream`, answers it with `handler` and records both.
fn serve_stream<S: Read + Write>(
    stream: S,
    handler: &dyn Fn(&Request) -> Response,
    exchanges: &Exchanges,
) {
    let mut reader = BufReader::new(stream);
    let Ok(req) = read_request(&mut reader) else {
        return;
    };
    let resp = handler(&req);
    let mut head = format!("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
    for (name, value) in &resp.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        resp.body.len()
    ));
    // Record before answering, so that a client that has its answer also
    // finds the exchange recorded.
    exchanges.lock().unwrap().push((req, resp.clone()));
    let writer = reader.get_mut();
    let _ = writer
        .write_all(head.as_bytes())
        .and_then(|()| writer.write_all(&resp.body))
        .and_then(|()| writer.flush());
}

fn read_request(reader: &mut impl BufRead) -> std::io::Result<Request> {
    let (request_line, headers) = read_head(reader)?;
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(invalid(format!("bad request line {request_line:?}")));
    };
    if find_header(&headers, "transfer-encoding").is_some() {
        return Err(invalid("chunked requests are not supported".into()));
    }
    let body = match find_header(&headers, "content-length") {
        Some(len) => read_body(reader, len)?,
        None => Vec::new(),
    };
    Ok(Request {
        method: method.to_owned(),
        target: target.to_owned(),
        headers,
        body,
    })
}

/// The first line and the headers, up to the blank line.
fn read_head(reader: &mut impl BufRead) -> std::io::Result<(String, Vec<(String, String)>)> {
    let mut first = String::new();
    let mut headers = Vec::new();
    let mut total = 0;
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line)?;
        total += n;
        if n == 0 || total > MAX_MESSAGE {
            return Err(invalid("connection closed or head too long".into()));
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if first.is_empty() {
            first = line.to_owned();
        } else if line.is_empty() {
            return Ok((first, headers));
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
}

fn read_body(reader: &mut impl Read, len: &str) -> std::io::Result<Vec<u8>> {
    let len: usize = len
        .parse()
        .map_err(|_| invalid(format!("bad Content-Length {len:?}")))?;
    if len > MAX_MESSAGE {
        return Err(invalid("body too long".into()));
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    Ok(body)
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        _ => "Status",
    }
}

fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message)
}

/// A loopback port whose backlog is full: connecting to it hangs until the
/// client gives up, as with a host that drops packets. Stops on drop.
/// (Linux: it makes the socket with Linux's flags.)
#[cfg(target_os = "linux")]
pub struct Backlogged {
    addr: SocketAddr,
    _listener: TcpListener,
    _queued: TcpStream,
}

#[cfg(target_os = "linux")]
impl Backlogged {
    pub fn start() -> Backlogged {
        use std::os::fd::FromRawFd;
        // SAFETY: plain socket calls on a descriptor this function owns until
        // it is handed to the TcpListener.
        let listener = unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
            assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
            let listener = TcpListener::from_raw_fd(fd);
            let addr = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: 0,
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes([127, 0, 0, 1]),
                },
                sin_zero: [0; 8],
            };
            let rc = libc::bind(
                fd,
                (&addr as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            );
            assert_eq!(rc, 0, "bind: {}", std::io::Error::last_os_error());
            // A backlog of 0 holds one connection; the next ones wait.
            let rc = libc::listen(fd, 0);
            assert_eq!(rc, 0, "listen: {}", std::io::Error::last_os_error());
            listener
        };
        let addr = listener.local_addr().unwrap();
        let queued =
            TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("the one queued connection");
        Backlogged {
            addr,
            _listener: listener,
            _queued: queued,
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}
