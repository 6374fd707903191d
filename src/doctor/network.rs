//! A TCP connection to the database (or the tunnel to it), within a time limit.

use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::{Check, CheckName};

/// How long a connection (and, apart, the name's lookup) may take.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// Where to connect: the database's endpoint, or the tunnel `--via` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// A host name or an IP address.
    pub host: String,
    pub port: u16,
    /// True when this is a tunnel's local end rather than the database.
    pub tunnel: bool,
}

impl Target {
    fn describe(&self) -> String {
        let at = match self.host.parse::<IpAddr>() {
            Ok(IpAddr::V6(ip)) => format!("[{ip}]:{}", self.port),
            _ => format!("{}:{}", self.host, self.port),
        };
        if self.tunnel {
            format!("the tunnel at {at}")
        } else {
            at
        }
    }
}

/// An open connection.
#[derive(Debug)]
pub struct Connected {
    pub stream: TcpStream,
    /// The address it is connected to.
    pub addr: SocketAddr,
    /// How long the connection took.
    pub took: Duration,
}

/// Why no connection was made.
#[derive(Debug)]
pub enum NetworkError {
    /// The name does not resolve.
    Resolve { error: String },
    /// The lookup did not finish in time.
    ResolveTimeout,
    /// Each address tried, and what became of it; the last one decides the
    /// report.
    Connect {
        attempts: Vec<(SocketAddr, io::Error)>,
    },
}

/// The addresses of `host` (an IP address, or a name looked up as the
/// system does, in at most `timeout`).
///
/// # Errors
/// [`NetworkError::Resolve`] or [`NetworkError::ResolveTimeout`].
pub fn resolve(host: &str, port: u16, timeout: Duration) -> Result<Vec<SocketAddr>, NetworkError> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let (send, receive) = mpsc::channel();
    let name = host.to_owned();
    // The system resolver cannot be given a time limit; a lookup that hangs
    // is left to its thread, which ends with the process.
    std::thread::Builder::new()
        .name("resolve".into())
        .spawn(move || {
            let _ = send.send((name.as_str(), port).to_socket_addrs());
        })
        .map_err(|err| NetworkError::Resolve {
            error: err.to_string(),
        })?;
    match receive.recv_timeout(timeout) {
        Ok(Ok(addrs)) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            if addrs.is_empty() {
                Err(NetworkError::Resolve {
                    error: "no address".into(),
                })
            } else {
                Ok(addrs)
            }
        }
        Ok(Err(err)) => Err(NetworkError::Resolve {
            error: err.to_string(),
        }),
        Err(_) => Err(NetworkError::ResolveTimeout),
    }
}

/// Connects to `target` within [`TIMEOUT`]: each address in turn, until
/// one answers or the time is up.
///
/// # Errors
/// Why no connection was made.
pub fn connect(target: &Target) -> Result<Connected, NetworkError> {
    let addrs = resolve(&target.host, target.port, TIMEOUT)?;
    let start = Instant::now();
    let mut attempts = Vec::new();
    for addr in addrs {
        let left = TIMEOUT.saturating_sub(start.elapsed());
        if left.is_zero() {
            break;
        }
        let tried = Instant::now();
        match TcpStream::connect_timeout(&addr, left) {
            Ok(stream) => {
                return Ok(Connected {
                    stream,
                    addr,
                    took: tried.elapsed(),
                })
            }
            Err(err) => attempts.push((addr, err)),
        }
    }
    Err(NetworkError::Connect { attempts })
}

/// The `network` check for a connection to `target`.
pub fn check(target: &Target, result: &Result<Connected, NetworkError>) -> Check {
    let name = CheckName::Network;
    let what = target.describe();
    let port = target.port;
    let tunnel_fix = "start the tunnel (aws ssm start-session with AWS-StartPortForwardingSessionToRemoteHost, or ssh -L) and pass its local IP:PORT to --via";
    match result {
        Ok(connected) => {
            let address = if target.host.parse::<IpAddr>().is_ok() {
                String::new()
            } else {
                format!(" ({})", connected.addr.ip())
            };
            Check::pass(
                name,
                format!(
                    "connected to {what}{address} in {} ms",
                    connected.took.as_millis()
                ),
            )
        }
        Err(NetworkError::Resolve { error }) => Check::fail(
            name,
            format!("{} does not resolve: {error}", target.host),
            "check the name against the endpoint RDS shows; a private endpoint's name resolves only inside its VPC: run this there, or connect through a tunnel with --via IP:PORT",
        ),
        Err(NetworkError::ResolveTimeout) => Check::fail(
            name,
            format!(
                "{} did not resolve within {} s",
                target.host,
                TIMEOUT.as_secs()
            ),
            "check the DNS servers in /etc/resolv.conf (or the VPC's resolver) answer",
        ),
        Err(NetworkError::Connect { attempts }) => {
            let Some((addr, err)) = attempts.last() else {
                return Check::fail(
                    name,
                    format!("could not connect to {what} within {} s", TIMEOUT.as_secs()),
                    "try again; the name's lookup took all the time",
                );
            };
            let at = if target.host.parse::<IpAddr>().is_ok() {
                what.clone()
            } else {
                format!("{what} ({})", addr.ip())
            };
            match err.kind() {
                io::ErrorKind::ConnectionRefused if target.tunnel => Check::fail(
                    name,
                    format!("{at} refused the connection: no tunnel listens there"),
                    tunnel_fix,
                ),
                io::ErrorKind::ConnectionRefused => Check::fail(
                    name,
                    format!("{at} refused the connection: nothing listens on port {port} there"),
                    "check --port against the endpoint's port (RDS shows it), and that the DB is available (not stopped or rebooting)",
                ),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Check::fail(
                    name,
                    format!("no answer from {at} within {} s", TIMEOUT.as_secs()),
                    format!(
                        "the packets are dropped on the way: allow inbound TCP {port} from this machine in the DB's security group and network ACLs; from outside the VPC, make the DB publicly accessible or connect through a tunnel (--via)"
                    ),
                ),
                io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => {
                    Check::fail(
                        name,
                        format!("{at} is unreachable from here: {err}"),
                        "this machine has no route to the DB's network: connect from inside the VPC, over its VPN or peering, or through a tunnel (--via)",
                    )
                }
                _ => Check::fail(
                    name,
                    format!("could not connect to {at}: {err}"),
                    "check the host, the port and the network between here and the DB",
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;
    use std::net::TcpListener;

    fn target(host: &str, port: u16, tunnel: bool) -> Target {
        Target {
            host: host.into(),
            port,
            tunnel,
        }
    }

    #[test]
    fn connects_to_a_listening_port_and_says_where() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let t = target("127.0.0.1", port, false);
        let result = connect(&t);
        let check = check(&t, &result);
        assert_eq!(check.status, Status::Pass, "{check:?}");
        assert!(check
            .message
            .starts_with(&format!("connected to 127.0.0.1:{port} in ")));
        let t = target("localhost", port, true);
        let check = super::check(&t, &connect(&t));
        assert!(
            check.message.starts_with(&format!(
                "connected to the tunnel at localhost:{port} (127.0.0.1) in "
            )),
            "{check:?}"
        );
    }

    #[test]
    fn says_a_closed_port_refused_the_connection() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let t = target("127.0.0.1", port, false);
        let check = check(&t, &connect(&t));
        assert_eq!(check.status, Status::Fail);
        assert_eq!(
            check.message,
            format!(
                "127.0.0.1:{port} refused the connection: nothing listens on port {port} there"
            )
        );
        let t = target("127.0.0.1", port, true);
        let check = super::check(&t, &connect(&t));
        assert!(check.fix.unwrap().starts_with("start the tunnel"));
    }

    #[test]
    fn says_a_name_that_does_not_resolve_does_not() {
        let t = target("no-such-host.invalid", 5432, false);
        let check = check(&t, &connect(&t));
        assert_eq!(check.status, Status::Fail);
        assert!(
            check
                .message
                .starts_with("no-such-host.invalid does not resolve: "),
            "{check:?}"
        );
    }
}
