//! One MySQL client connection, from its first byte to its end: the
//! proxy's handshake, the client's response, a server connection (kept
//! from an earlier client, or logged in anew with a token minted for this
//! user), OK to the client, then the relay; COM_CHANGE_USER logs in again
//! upstream with a token for the new user; and, when the client quits
//! between commands, the server connection reset and kept.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use mysql_common::constants::CapabilityFlags;
use mysql_common::io::ParseBuf;
use tokio::io::AsyncWriteExt;

use super::client::{self, Greeted, Unstarted};
use super::packet::{self, code};
use super::relay::{Event, Pipe};
use super::upstream::{self, Connected, Login, LoginError, Server, ServerInfo};
use super::Upstream;
use crate::proxy::log::Level;
use crate::proxy::pool::close;
use crate::proxy::{Client, ClientStream, Database, Proxy, Refused};
use crate::text::distinct_error_chain;

/// How long a client may take to send its handshake response (and finish
/// TLS).
pub const STARTUP_DEADLINE: Duration = Duration::from_secs(10);

/// A failure answered to the client as an ERR packet.
struct Fatal {
    code: &'static (u16, &'static str),
    message: String,
    hint: Option<String>,
    /// The server's own ERR packet's payload, to pass on as it is.
    raw: Option<Vec<u8>>,
    reason: &'static str,
    outcome: &'static str,
}

impl Fatal {
    fn new(code: &'static (u16, &'static str), message: String, reason: &'static str) -> Fatal {
        Fatal {
            code,
            message,
            hint: None,
            raw: None,
            reason,
            outcome: "refused",
        }
    }

    /// The ERR packet's payload: the server's, or the proxy's with its hint.
    fn payload(&self) -> Vec<u8> {
        match (&self.raw, &self.hint) {
            (Some(raw), None) => raw.clone(),
            (_, Some(hint)) => packet::err(*self.code, &format!("{}; {hint}", self.message)),
            (None, None) => packet::err(*self.code, &self.message),
        }
    }

    fn describe(&self) -> String {
        match &self.hint {
            Some(hint) => format!("{}; {hint}", self.message),
            None => self.message.clone(),
        }
    }
}

fn login_failure(err: LoginError) -> Fatal {
    let hint = err.hint();
    let reason = err.reason();
    let (code, raw, message) = match &err {
        LoginError::Refused {
            code, message, raw, ..
        } => {
            let ours = if *code == 1045 {
                &code::ACCESS_DENIED
            } else {
                &code::CANNOT_CONNECT
            };
            (ours, Some(raw.clone()), message.clone())
        }
        LoginError::Tls(refused) => (&code::CANNOT_CONNECT, None, refused.message.clone()),
        LoginError::NotIam(_) => (&code::NOT_SUPPORTED_AUTH, None, err.to_string()),
        other => (&code::CANNOT_CONNECT, None, other.to_string()),
    };
    Fatal {
        code,
        message,
        hint,
        raw,
        reason,
        outcome: if reason == "refused" {
            "refused"
        } else {
            "failed"
        },
    }
}

fn log_fields(proxy: &Proxy, level: Level, message: &str, fields: &[(&str, String)]) {
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    proxy.log.event(level, message, &borrowed);
}

/// Sends the ERR packet `payload` with sequence `seq` and closes.
async fn answer(stream: &mut ClientStream, seq: u8, payload: &[u8]) {
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        stream.write_all(&packet::frame(seq, payload)).await?;
        stream.flush().await?;
        stream.shutdown().await
    })
    .await;
}

/// Serves `client` for `db`, whose server-side state is `upstream`.
pub async fn serve(client: Client, db: &Arc<Database>, upstream: &Upstream, proxy: &Arc<Proxy>) {
    let Client {
        mut stream,
        peer,
        refusal,
    } = client;
    let peer = peer.as_str();
    let log = proxy.log;
    if let Some(refusal) = refusal {
        // Refused before the handshake, as a server refuses a blocked host.
        log.warn(
            "connection refused",
            &[
                ("peer", peer),
                ("database", &db.name),
                ("reason", &refusal.message),
            ],
        );
        proxy.metrics.login(&db.label, "refused", refusal.reason);
        let code = match refusal.why {
            Refused::NotAllowed => code::ACCESS_DENIED,
            Refused::TooMany => code::TOO_MANY_CONNECTIONS,
        };
        answer(&mut stream, 0, &packet::err(code, &refusal.message)).await;
        return;
    }
    // The server's version and capabilities greet the client: known from an
    // earlier connection, else from one made now, which this client uses.
    let mut connected: Option<Connected> = None;
    let info = match upstream.info() {
        Some(info) => info,
        None => match connect(db, proxy).await {
            Ok(found) => {
                let info = found.info.clone();
                upstream.remember(&info);
                connected = Some(found);
                info
            }
            Err(fatal) => {
                log.warn(
                    "login failed",
                    &[
                        ("peer", peer),
                        ("upstream", &db.name),
                        ("reason", &fatal.describe()),
                    ],
                );
                proxy.metrics.login(&db.label, fatal.outcome, fatal.reason);
                answer(&mut stream, 0, &fatal.payload()).await;
                return;
            }
        },
    };
    let id = upstream.next_id();
    let greeted = tokio::time::timeout(
        STARTUP_DEADLINE,
        client::handshake(stream, &info, proxy.client_tls.as_ref(), id),
    )
    .await;
    let Greeted {
        mut stream,
        login,
        mut framed,
        plugin,
    } = match greeted {
        Err(_) => {
            log.warn(
                "client did not send its handshake response in time; closed",
                &[
                    ("peer", peer),
                    ("database", &db.name),
                    ("deadline_s", &STARTUP_DEADLINE.as_secs().to_string()),
                ],
            );
            proxy.metrics.login(&db.label, "refused", "startup_timeout");
            return;
        }
        Ok(Err(Unstarted::Silent)) => {
            log.event(
                Level::Debug,
                "connection closed before its first byte",
                &[("peer", peer), ("database", &db.name)],
            );
            return;
        }
        Ok(Err(Unstarted::Refused(stream, code, why))) => {
            log.warn(
                "client handshake refused",
                &[("peer", peer), ("database", &db.name), ("reason", &why)],
            );
            proxy.metrics.login(&db.label, "refused", "protocol");
            if let Some(answerable) = stream {
                let (mut stream, mut framed) = *answerable;
                let _ = framed.write(&mut stream, &packet::err(code, &why)).await;
                let _ = stream.shutdown().await;
            }
            return;
        }
        Ok(Ok(greeted)) => greeted,
    };
    let fields = |reason: &str| {
        vec![
            ("peer", peer.to_owned()),
            ("user", login.user.clone()),
            ("database", login.schema.clone().unwrap_or_default()),
            ("upstream", db.name.clone()),
            ("reason", reason.to_owned()),
        ]
    };
    let (mut server, reused) = match log_in(&login, connected, db, upstream, proxy).await {
        Ok(found) => found,
        Err(fatal) => {
            log_fields(
                proxy,
                Level::Warn,
                "login failed",
                &fields(&fatal.describe()),
            );
            proxy.metrics.login(&db.label, fatal.outcome, fatal.reason);
            let _ = framed.write(&mut stream, &fatal.payload()).await;
            let _ = stream.shutdown().await;
            return;
        }
    };
    if client::welcome(&mut stream, &mut framed).await.is_err() {
        proxy.metrics.login(&db.label, "failed", "client_left");
        give_back(upstream, server, true).await;
        return;
    }
    proxy
        .metrics
        .login(&db.label, "ok", if reused { "reused" } else { "new" });
    let mut login_fields = fields("");
    login_fields.pop();
    login_fields.push(("plugin", plugin));
    login_fields.push((
        "server_connection",
        (if reused { "reused" } else { "new" }).to_owned(),
    ));
    log_fields(proxy, Level::Info, "login", &login_fields);

    let traffic = proxy.metrics.traffic(&db.label);
    let mut up = Pipe::new(true, BytesMut::new(), traffic.client_to_server);
    let mut down = Pipe::new(false, BytesMut::new(), traffic.server_to_client);
    loop {
        let (from_client, event) = {
            let (mut client_read, mut client_write) = tokio::io::split(&mut stream);
            let (mut server_read, mut server_write) = tokio::io::split(&mut server.stream);
            loop {
                let (from_client, event) = tokio::select! {
                    event = up.step(&mut client_read, &mut server_write) => (true, event),
                    event = down.step(&mut server_read, &mut client_write) => (false, event),
                };
                if event != Event::Moved {
                    break (from_client, event);
                }
            }
        };
        let user = server.login.user.clone();
        match (from_client, event) {
            (_, Event::Moved) => {}
            (true, Event::Quit) => {
                let idle = down.at_boundary() && !down.infile;
                log.event(
                    Level::Debug,
                    "client quit",
                    &[("peer", peer), ("user", &user)],
                );
                give_back(upstream, server, idle).await;
                return;
            }
            (true, Event::ChangeUser(request)) => {
                match change_user(&request, &mut server, db, proxy).await {
                    Ok(ok) => {
                        let _ = stream.write_all(&packet::frame(1, &ok)).await;
                        let _ = stream.flush().await;
                        log.info(
                            "user changed",
                            &[("peer", peer), ("from", &user), ("to", &server.login.user)],
                        );
                    }
                    Err((fatal, keep)) => {
                        log_fields(
                            proxy,
                            Level::Warn,
                            "change of user failed",
                            &fields(&fatal.describe()),
                        );
                        proxy.metrics.login(&db.label, fatal.outcome, fatal.reason);
                        answer(&mut stream, 1, &fatal.payload()).await;
                        if keep {
                            give_back(upstream, server, true).await;
                        } else {
                            close(server).await;
                        }
                        return;
                    }
                }
            }
            (true, Event::ChangeUserTooLarge) => {
                let fatal = Fatal::new(
                    &code::BAD_HANDSHAKE,
                    format!(
                        "a COM_CHANGE_USER over {} bytes",
                        super::relay::MAX_CHANGE_USER
                    ),
                    "protocol",
                );
                log_fields(
                    proxy,
                    Level::Warn,
                    "change of user failed",
                    &fields(&fatal.message),
                );
                answer(&mut stream, 1, &fatal.payload()).await;
                close(server).await;
                return;
            }
            (true, Event::Closed { .. } | Event::WriteFailed) | (false, Event::WriteFailed) => {
                log.info(
                    "client left without COM_QUIT; its server connection is closed",
                    &[("peer", peer), ("user", &user)],
                );
                close(server).await;
                return;
            }
            (false, _) => {
                log.info(
                    "server closed the connection",
                    &[("peer", peer), ("user", &user), ("upstream", &db.name)],
                );
                return;
            }
        }
    }
}

/// A TCP connection to `db` with the server's handshake read.
async fn connect(db: &Database, proxy: &Proxy) -> Result<Connected, Fatal> {
    match tokio::time::timeout(upstream::LOGIN_TIMEOUT, upstream::connect(&db.target)).await {
        Ok(Ok((connected, took))) => {
            proxy
                .metrics
                .connect_seconds
                .get_or_create(&db.label)
                .observe(took.as_secs_f64());
            Ok(connected)
        }
        Ok(Err(err)) => Err(login_failure(err)),
        Err(_) => Err(login_failure(LoginError::Timeout("the connection"))),
    }
}

/// The token for `user`, or why there is none.
async fn token(db: &Database, proxy: &Proxy, user: &str) -> Result<crate::issuer::Issued, Fatal> {
    let issued = db.token(user).await.map_err(|err| {
        let mut fatal = Fatal::new(
            &code::ACCESS_DENIED,
            format!("no IAM token for {user}: {}", distinct_error_chain(&err)),
            "token",
        );
        fatal.outcome = "failed";
        fatal
    })?;
    proxy.metrics.tokens.get_or_create(&db.label).inc();
    Ok(issued)
}

/// Refuses a user other than the pinned one.
fn check_pinned(db: &Database, user: &str) -> Result<(), Fatal> {
    match &db.username {
        Some(pinned) if pinned != user => Err(Fatal::new(&code::ACCESS_DENIED,
            format!("this proxy logs in to {} as {pinned} only (--username), not as {user}; connect as user {pinned}", db.name),
            "user_pinned",
        )),
        _ => Ok(()),
    }
}

/// A server connection for `login`: a kept one, else a new login with a
/// token over `connected` (made already) or a new connection. The bool
/// says whether it was kept.
async fn log_in(
    login: &Login,
    connected: Option<Connected>,
    db: &Database,
    upstream: &Upstream,
    proxy: &Proxy,
) -> Result<(Server, bool), Fatal> {
    check_pinned(db, &login.user)?;
    if connected.is_none() {
        if let Some(server) = upstream.pool.take(&login.key()).await {
            proxy.metrics.server_reuses.get_or_create(&db.label).inc();
            return Ok((server, true));
        }
    }
    let issued = token(db, proxy, &login.user).await?;
    let connected = match connected {
        Some(connected) => connected,
        None => connect(db, proxy).await?,
    };
    match tokio::time::timeout(
        upstream::LOGIN_TIMEOUT,
        upstream::login(connected, &db.target, login.clone(), issued.token.as_str()),
    )
    .await
    {
        Ok(Ok((server, tls))) => {
            proxy
                .metrics
                .tls_seconds
                .get_or_create(&db.label)
                .observe(tls.as_secs_f64());
            proxy.metrics.server_logins.get_or_create(&db.label).inc();
            Ok((server, false))
        }
        Ok(Err(err)) => Err(login_failure(err)),
        Err(_) => Err(login_failure(LoginError::Timeout("the login"))),
    }
}

/// The new login a client's COM_CHANGE_USER packet (header included)
/// asks for, from the current one.
///
/// # Errors
/// Why it cannot be read, in words for the client.
pub fn read_change_user(request: &[u8], current: &Login) -> Result<Login, String> {
    let mut buf = ParseBuf(request.get(5..).unwrap_or_default());
    let malformed = || "a malformed COM_CHANGE_USER".to_owned();
    let user = buf.eat_null_str();
    let user = String::from_utf8(user.to_vec()).map_err(|_| malformed())?;
    if current
        .capabilities
        .contains(CapabilityFlags::CLIENT_SECURE_CONNECTION)
    {
        buf.checked_eat_u8_str().ok_or_else(malformed)?;
    } else {
        buf.eat_null_str();
    }
    let schema = buf.eat_null_str();
    let schema = (!schema.is_empty())
        .then(|| String::from_utf8(schema.to_vec()).map_err(|_| malformed()))
        .transpose()?;
    let mut collation = current.collation;
    if !buf.is_empty() {
        // The character set; the plugin and attributes after it are the
        // client's own business.
        let set = buf.checked_eat_u16_le().ok_or_else(malformed)?;
        collation = u8::try_from(set).unwrap_or(current.collation);
    }
    if user.is_empty() {
        return Err("COM_CHANGE_USER names no user".into());
    }
    Ok(Login {
        user,
        schema,
        collation,
        ..current.clone()
    })
}

/// Logs `server` in again as the user a client's COM_CHANGE_USER names,
/// with a token for that user: the server's OK packet's payload for the
/// client, or the failure and whether the server connection is still as it
/// was (the request refused before it went upstream).
async fn change_user(
    request: &[u8],
    server: &mut Server,
    db: &Database,
    proxy: &Proxy,
) -> Result<Vec<u8>, (Fatal, bool)> {
    let login = read_change_user(request, &server.login)
        .map_err(|why| (Fatal::new(&code::BAD_HANDSHAKE, why, "protocol"), true))?;
    check_pinned(db, &login.user).map_err(|fatal| (fatal, true))?;
    let issued = token(db, proxy, &login.user)
        .await
        .map_err(|fatal| (fatal, true))?;
    match tokio::time::timeout(
        upstream::LOGIN_TIMEOUT,
        upstream::change_user(server, login, issued.token.as_str()),
    )
    .await
    {
        Ok(Ok(ok)) => {
            proxy.metrics.server_logins.get_or_create(&db.label).inc();
            Ok(ok)
        }
        Ok(Err(err)) => Err((login_failure(err), false)),
        Err(_) => Err((
            login_failure(LoginError::Timeout("the change of user")),
            false,
        )),
    }
}

/// Resets and keeps `server` when its client left it idle and reuse is
/// on; closes it otherwise.
async fn give_back(upstream: &Upstream, mut server: Server, idle: bool) {
    if idle && upstream.pool.enabled() && upstream::reset(&mut server).await {
        let key = server.login.key();
        upstream.pool.put(key, server).await;
    } else {
        close(server).await;
    }
}

/// One login to `db` as its pinned user, then COM_QUIT; with no user
/// pinned, a verified TLS connection and credentials that resolve. What
/// was checked, or why it failed.
///
/// # Errors
/// The one-line reason, as a client would be told.
pub async fn test_login(db: &Database) -> Result<String, String> {
    let connected =
        match tokio::time::timeout(upstream::LOGIN_TIMEOUT, upstream::connect(&db.target)).await {
            Ok(Ok((connected, _))) => connected,
            Ok(Err(err)) => return Err(login_failure(err).describe()),
            Err(_) => return Err(login_failure(LoginError::Timeout("the connection")).describe()),
        };
    let Some(user) = &db.username else {
        match tokio::time::timeout(
            upstream::LOGIN_TIMEOUT,
            upstream::check_tls(connected, &db.target),
        )
        .await
        {
            Ok(Ok(())) => {}
            Ok(Err(err)) => return Err(login_failure(err).describe()),
            Err(_) => {
                return Err(login_failure(LoginError::Timeout("the TLS handshake")).describe())
            }
        }
        db.credentials_ready()
            .await
            .map_err(|err| distinct_error_chain(&err))?;
        return Ok("TLS verified and credentials resolved; no --username to log in as".into());
    };
    let issued = db
        .token(user)
        .await
        .map_err(|err| distinct_error_chain(&err))?;
    let login = Login {
        user: user.clone(),
        schema: None,
        collation: connected.info.collation,
        capabilities: CapabilityFlags::CLIENT_PROTOCOL_41
            | CapabilityFlags::CLIENT_SECURE_CONNECTION
            | CapabilityFlags::CLIENT_CONNECT_ATTRS,
        mariadb: mysql_common::constants::MariadbCapabilities::empty(),
        attributes: vec![(
            "program_name".into(),
            "rds-auth-token proxy connection test".into(),
        )],
    };
    match tokio::time::timeout(
        upstream::LOGIN_TIMEOUT,
        upstream::login(connected, &db.target, login, issued.token.as_str()),
    )
    .await
    {
        Ok(Ok((mut server, _))) => {
            upstream::quit(&mut server).await;
            Ok(format!("logged in as {user}"))
        }
        Ok(Err(err)) => Err(login_failure(err).describe()),
        Err(_) => Err(login_failure(LoginError::Timeout("the login")).describe()),
    }
}

impl Upstream {
    /// The server's handshake, once one was read.
    fn info(&self) -> Option<ServerInfo> {
        self.info
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn remember(&self, info: &ServerInfo) {
        *self
            .info
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(info.clone());
    }

    /// The connection id the next client's handshake carries.
    fn next_id(&self) -> u32 {
        self.ids.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mysql_common::constants::MariadbCapabilities;

    #[test]
    fn reads_the_new_user_schema_and_character_set_of_a_change_user() {
        let current = Login {
            user: "app".into(),
            schema: Some("shop".into()),
            collation: 45,
            capabilities: CapabilityFlags::CLIENT_PROTOCOL_41
                | CapabilityFlags::CLIENT_SECURE_CONNECTION
                | CapabilityFlags::CLIENT_PLUGIN_AUTH,
            mariadb: MariadbCapabilities::empty(),
            attributes: vec![],
        };
        let mut payload = b"\x11report\0\x03abcstats\0".to_vec();
        payload.extend_from_slice(&8u16.to_le_bytes());
        payload.extend_from_slice(b"mysql_native_password\0");
        let request = packet::frame(0, &payload);
        let login = read_change_user(&request, &current).unwrap();
        assert_eq!(login.user, "report");
        assert_eq!(login.schema.as_deref(), Some("stats"));
        assert_eq!(login.collation, 8);
        let bare = packet::frame(0, b"\x11report\0\0\0");
        let login = read_change_user(&bare, &current).unwrap();
        assert_eq!((login.schema, login.collation), (None, 45));
        assert!(read_change_user(&packet::frame(0, b"\x11\0\0\0"), &current).is_err());
        assert!(read_change_user(&packet::frame(0, b"\x11bob\0\x09ab"), &current).is_err());
    }
}
