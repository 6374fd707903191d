//! The database's TLS, as its clients meet it: PostgreSQL's SSLRequest, or
//! MySQL's greeting and its request to switch, then a TLS handshake that
//! verifies the certificate against the Amazon RDS CAs (or `--ssl-ca`) and
//! the endpoint's name, also when the connection goes through a tunnel.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};

use super::mysql::{self, Hello};
use super::{Check, CheckName, Engine};
pub use crate::tls::verify::Roots;
use crate::tls::verify::{refusal, rustls_error};

/// How long each step (an answer, the handshake) may take.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// How long to wait for a server to speak first, when the engine is not
/// known: MySQL servers greet at once, PostgreSQL servers wait.
const GREETING_WAIT: Duration = Duration::from_secs(2);

/// PostgreSQL's SSLRequest: length 8, code 80877103.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// What to check the server's TLS with.
#[derive(Debug, Clone)]
pub struct Probe {
    /// The name the certificate must carry: the endpoint's, even through a tunnel.
    pub server_name: String,
    pub roots: Roots,
    /// `None`: tell from whether the server speaks first.
    pub engine: Option<Engine>,
}

/// How the handshake went.
enum Outcome {
    /// Verified: the protocol version and cipher suite.
    Verified {
        version: String,
        suite: String,
        engine: Engine,
        server: Option<String>,
    },
    Failed {
        message: String,
        fix: String,
    },
}

/// The `tls` check over `stream`, a fresh connection to the database (or
/// its tunnel).
pub fn check(stream: TcpStream, probe: &Probe) -> Check {
    let _ = stream.set_read_timeout(Some(TIMEOUT));
    let _ = stream.set_write_timeout(Some(TIMEOUT));
    match run(stream, probe) {
        Outcome::Verified {
            version,
            suite,
            engine,
            server,
        } => {
            let server = server.unwrap_or_else(|| match engine {
                Engine::Postgres => "the server accepts PostgreSQL's SSLRequest".to_owned(),
                Engine::Mysql => "the server offers TLS".to_owned(),
            });
            Check::pass(
                CheckName::Tls,
                format!(
                    "{server}: {version} ({suite}), the certificate names {} and verifies against {}",
                    probe.server_name,
                    probe.roots.describe()
                ),
            )
        }
        Outcome::Failed { message, fix } => Check::fail(CheckName::Tls, message, fix),
    }
}

fn run(mut stream: TcpStream, probe: &Probe) -> Outcome {
    let config = match probe.roots.client_config() {
        Ok(config) => config,
        Err(refused) => return failed(refused.message, refused.fix),
    };
    let engine = match probe.engine {
        Some(engine) => engine,
        None => match speaks_first(&stream) {
            Ok(true) => Engine::Mysql,
            Ok(false) => Engine::Postgres,
            Err(err) => return io_failed(&err, "waiting for the server's greeting"),
        },
    };
    let server = match engine {
        Engine::Postgres => {
            if let Err(outcome) = postgres_start(&mut stream) {
                return outcome;
            }
            None
        }
        Engine::Mysql => match mysql_start(&mut stream) {
            Ok(server) => Some(server),
            Err(outcome) => return outcome,
        },
    };
    handshake(stream, config, probe, engine, server)
}

fn failed(message: impl Into<String>, fix: impl Into<String>) -> Outcome {
    Outcome::Failed {
        message: message.into(),
        fix: fix.into(),
    }
}

fn io_failed(err: &io::Error, during: &str) -> Outcome {
    match err.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => failed(
            format!("no answer within {} s {during}", TIMEOUT.as_secs()),
            "check that --port is the database's port (and --engine its engine); a tunnel that accepts but does not forward shows this too",
        ),
        io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset => failed(
            format!("the server closed the connection {during}"),
            "check that --port is the database's port and --engine its engine; a proxy or tunnel in between may have dropped the connection",
        ),
        _ => failed(
            format!("the connection failed {during}: {err}"),
            "check the network between here and the database",
        ),
    }
}

/// True when the server sends something before the client does (MySQL's
/// greeting) within [`GREETING_WAIT`].
fn speaks_first(stream: &TcpStream) -> io::Result<bool> {
    stream.set_read_timeout(Some(GREETING_WAIT))?;
    let mut byte = [0u8; 1];
    let spoke = match stream.peek(&mut byte) {
        Ok(0) => {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "closed at once",
            ))
        }
        Ok(_) => true,
        Err(err)
            if matches!(
                err.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            false
        }
        Err(err) => return Err(err),
    };
    stream.set_read_timeout(Some(TIMEOUT))?;
    Ok(spoke)
}

/// PostgreSQL's SSLRequest and its one-byte answer.
fn postgres_start(stream: &mut TcpStream) -> Result<(), Outcome> {
    stream
        .write_all(&SSL_REQUEST)
        .map_err(|err| io_failed(&err, "sending PostgreSQL's SSLRequest"))?;
    let mut answer = [0u8; 1];
    stream
        .read_exact(&mut answer)
        .map_err(|err| io_failed(&err, "after PostgreSQL's SSLRequest"))?;
    match answer[0] {
        b'S' => Ok(()),
        b'N' => Err(failed(
            "the server answered PostgreSQL's SSLRequest with N: it does not offer TLS, and IAM logins need it (RDS refuses the token otherwise)",
            "connect to the RDS endpoint itself, where TLS is always on; a PostgreSQL or pgbouncer of your own in between needs TLS turned on",
        )),
        other => Err(failed(
            format!(
                "the server answered PostgreSQL's SSLRequest with byte {other:#04x}, not S or N: it is not a PostgreSQL server"
            ),
            "check --port; for MySQL, MariaDB or Aurora MySQL pass --engine mysql",
        )),
    }
}

/// MySQL's greeting, and the request to switch to TLS when it offers it;
/// the server's version in words.
fn mysql_start(stream: &mut TcpStream) -> Result<String, Outcome> {
    let (sequence, payload) = mysql::read_packet(stream)
        .map_err(|err| io_failed(&err, "waiting for the MySQL server's greeting"))?;
    let greeting = match mysql::parse_hello(sequence, &payload) {
        Ok(Hello::Greeting(greeting)) => greeting,
        Ok(Hello::Error { code, message }) => {
            return Err(failed(
                format!("the server refused the connection before its greeting: error {code}: {message}"),
                match code {
                    1129 => "the server blocked this host after failed connections: on RDS, reboot or raise max_connect_errors in the parameter group",
                    1040 => "the server has too many connections: close some, or raise max_connections",
                    _ => "the server's own message says why; for 1130 (host not allowed) the database user's host part must match this client",
                },
            ))
        }
        Err(why) => {
            return Err(failed(
                format!("the server's first packet is {why}: it is not a MySQL server"),
                "check --port; for PostgreSQL or Aurora PostgreSQL pass --engine postgres",
            ))
        }
    };
    let server = format!(
        "the server greets as MySQL protocol 10, version {}",
        greeting.version()
    );
    if !greeting.offers_tls() {
        return Err(failed(
            format!("{server}, and does not offer TLS (no CLIENT_SSL); IAM logins need it: the token must not travel in clear text"),
            "connect to the RDS endpoint itself, where TLS is always on; a server of your own needs ssl_cert and ssl_key set",
        ));
    }
    mysql::write_ssl_request(stream, &greeting)
        .map_err(|err| io_failed(&err, "asking the MySQL server to switch to TLS"))?;
    Ok(format!("{server}, and offers TLS"))
}

fn handshake(
    mut stream: TcpStream,
    config: Arc<ClientConfig>,
    probe: &Probe,
    engine: Engine,
    server: Option<String>,
) -> Outcome {
    let name = match ServerName::try_from(probe.server_name.clone()) {
        Ok(name) => name,
        Err(_) => {
            return failed(
                format!(
                    "{} is not a name a certificate can carry",
                    probe.server_name
                ),
                "pass the endpoint's DNS name as --hostname",
            )
        }
    };
    let mut connection = match ClientConnection::new(config, name) {
        Ok(connection) => connection,
        Err(err) => {
            return failed(
                format!("could not start TLS: {err}"),
                "report this as a bug",
            )
        }
    };
    while connection.is_handshaking() {
        if let Err(err) = connection.complete_io(&mut stream) {
            return handshake_failed(&err, probe);
        }
    }
    let version = connection
        .protocol_version()
        .and_then(|v| v.as_str())
        .map_or_else(
            || "TLS".to_owned(),
            |v| v.replace("TLSv1_", "TLS 1.").replace('_', "."),
        );
    let suite = connection
        .negotiated_cipher_suite()
        .and_then(|s| s.suite().as_str())
        .unwrap_or("unknown suite")
        .to_owned();
    connection.send_close_notify();
    let _ = connection.complete_io(&mut stream);
    Outcome::Verified {
        version,
        suite,
        engine,
        server,
    }
}

fn handshake_failed(err: &io::Error, probe: &Probe) -> Outcome {
    match rustls_error(err) {
        Some(tls) => {
            let refused = refusal(tls, &probe.roots, &probe.server_name);
            failed(refused.message, refused.fix)
        }
        None => io_failed(err, "during the TLS handshake"),
    }
}
