//! One client connection, from its first byte to its end: TLS or not, its
//! start-up, a server connection (kept from an earlier client, or logged in
//! anew with a token minted for this user), the login replayed to the
//! client, then the relay; and, when the client leaves an idle session,
//! the server connection reset and kept.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::message::{self, sqlstate};
use super::relay::{self, Ended};
use super::startup::{self, ClientStart, Startup, MAX_STARTUP_PACKET};
use super::upstream::{self, LoginError, Server};
use crate::proxy::log::Level;
use crate::proxy::pool::{self, close, Pool};
use crate::proxy::{Client, ClientStream, Database, Proxy, Refused};
use crate::text::distinct_error_chain;

/// How long a client may take to send its start-up (and finish TLS).
pub const STARTUP_DEADLINE: Duration = Duration::from_secs(10);

/// A failure answered to the client as a FATAL ErrorResponse.
struct Fatal {
    code: &'static str,
    message: String,
    hint: Option<String>,
    /// The server's own ErrorResponse, to pass on as it is.
    raw: Option<Vec<u8>>,
    reason: &'static str,
    outcome: &'static str,
}

impl Fatal {
    fn new(code: &'static str, message: String, reason: &'static str) -> Fatal {
        Fatal {
            code,
            message,
            hint: None,
            raw: None,
            reason,
            outcome: "refused",
        }
    }
}

/// Serves `client` for `db`, whose kept server connections are `pool`.
pub async fn serve(client: Client, db: &Arc<Database>, pool: &Pool<Server>, proxy: &Arc<Proxy>) {
    let Client {
        stream,
        peer,
        refusal,
    } = client;
    serve_inner(stream, &peer, refusal, db, pool, proxy).await;
}

async fn serve_inner(
    stream: ClientStream,
    peer: &str,
    refusal: Option<crate::proxy::Refusal>,
    db: &Arc<Database>,
    pool: &Pool<Server>,
    proxy: &Arc<Proxy>,
) {
    let log = proxy.log;
    let started = tokio::time::timeout(STARTUP_DEADLINE, negotiate(stream, proxy)).await;
    let (mut stream, start) = match started {
        Err(_) => {
            log.warn(
                "client did not send its start-up in time; closed",
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
        Ok(Err(Unstarted::Refused(stream, err))) => {
            log.warn(
                "client start-up refused",
                &[("peer", peer), ("database", &db.name), ("reason", &err)],
            );
            proxy.metrics.login(&db.label, "refused", "protocol");
            if let Some(mut stream) = stream {
                let _ = answer(
                    &mut stream,
                    &Fatal::new(sqlstate::PROTOCOL_VIOLATION, err, "protocol"),
                )
                .await;
            }
            return;
        }
        Ok(Ok(found)) => found,
    };
    let startup = match start {
        ClientStart::Cancel(key) => {
            // A client not let in may not cancel either.
            match refusal {
                Some(refusal) => log.warn(
                    "cancel request refused",
                    &[("peer", peer), ("reason", &refusal.message)],
                ),
                None => cancel(key, peer, proxy).await,
            }
            return;
        }
        ClientStart::Startup(startup) => startup,
        // negotiate answers these and reads on.
        ClientStart::Ssl | ClientStart::GssEnc => return,
    };
    let user = startup.user().unwrap_or_default().to_owned();
    let database = startup.database().unwrap_or_default().to_owned();
    let fields = |reason: &str| {
        vec![
            ("peer", peer.to_owned()),
            ("user", user.clone()),
            ("database", database.clone()),
            ("upstream", db.name.clone()),
            ("reason", reason.to_owned()),
        ]
    };
    let result = match refusal {
        Some(refusal) => Err(Fatal::new(
            match refusal.why {
                Refused::NotAllowed => sqlstate::INVALID_AUTHORIZATION,
                Refused::TooMany => sqlstate::TOO_MANY_CONNECTIONS,
            },
            refusal.message,
            refusal.reason,
        )),
        None => login(&startup, db, pool, proxy).await,
    };
    let (mut server, reused) = match result {
        Ok(found) => found,
        Err(fatal) => {
            let fields = fields(&fatal.message);
            log_fields(proxy, Level::Warn, "login failed", &fields);
            proxy.metrics.login(&db.label, fatal.outcome, fatal.reason);
            let _ = answer(&mut stream, &fatal).await;
            return;
        }
    };
    let client_key = proxy.cancels.register(super::cancel::Route {
        target: Arc::clone(&db.target),
        server_key: server.key,
        database: db.name.clone(),
    });
    let mut replay = BytesMut::with_capacity(512);
    message::authentication_ok(&mut replay);
    for (name, value) in &server.parameters {
        message::parameter_status(&mut replay, name, value);
    }
    message::backend_key_data(&mut replay, client_key);
    message::ready_for_query(&mut replay, b'I');
    if stream.write_all(&replay).await.is_err() || stream.flush().await.is_err() {
        proxy.cancels.forget(&client_key);
        proxy.metrics.login(&db.label, "failed", "client_left");
        give_back(db, pool, &startup, server, true).await;
        return;
    }
    proxy
        .metrics
        .login(&db.label, "ok", if reused { "reused" } else { "new" });
    let mut login_fields = fields("");
    login_fields.pop();
    login_fields.push((
        "server_connection",
        (if reused { "reused" } else { "new" }).to_owned(),
    ));
    log_fields(proxy, Level::Info, "login", &login_fields);

    let traffic = proxy.metrics.traffic(&db.label);
    let ended = relay::relay(&mut stream, &mut server, &traffic).await;
    proxy.cancels.forget(&client_key);
    drop(stream);
    match ended {
        Ended::ClientLeft { idle: true } => {
            log.event(
                Level::Debug,
                "client left",
                &[("peer", peer), ("user", &user)],
            );
            give_back(db, pool, &startup, server, true).await;
        }
        Ended::ClientLeft { idle: false } => {
            // What the client started would run on for nothing: cancel it,
            // then close the connection, which rolls back a transaction.
            let cancelled = tokio::time::timeout(
                upstream::LOGIN_TIMEOUT,
                upstream::cancel(&db.target, server.key),
            )
            .await;
            give_back(db, pool, &startup, server, false).await;
            log.info(
                "client left during a query or a transaction; what it ran is cancelled and its server connection closed",
                &[
                    ("peer", peer),
                    ("user", &user),
                    ("database", &database),
                    ("cancel", if matches!(cancelled, Ok(Ok(()))) { "sent" } else { "failed" }),
                ],
            );
        }
        Ended::ServerLeft | Ended::ServerBroken => {
            log.info(
                "server closed the connection",
                &[("peer", peer), ("user", &user), ("database", &database)],
            );
        }
    }
}

fn log_fields(proxy: &Proxy, level: Level, message: &str, fields: &[(&str, String)]) {
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    proxy.log.event(level, message, &borrowed);
}

/// Resets and keeps `server` when it is idle and reuse is on; closes it
/// otherwise.
async fn give_back(
    db: &Database,
    pool: &Pool<Server>,
    startup: &Startup,
    mut server: Server,
    idle: bool,
) {
    if idle && pool.enabled() && relay::reset(&mut server).await {
        let key = pool::key(&upstream_parameters(startup, db));
        pool.put(key, server).await;
    } else {
        close(server).await;
    }
}

/// Reads the client's start-up: SSLRequest and GSSENCRequest are answered
/// (TLS when client-side TLS is set up, else `N`) and reading goes on, to
/// a StartupMessage or a CancelRequest; else why not.
async fn negotiate(
    mut stream: ClientStream,
    proxy: &Proxy,
) -> Result<(ClientStream, ClientStart), Unstarted> {
    let mut encrypted = false;
    for _ in 0..3 {
        let start = match read_start(&mut stream).await {
            Ok(start) => start,
            Err(ReadError::Silent) if !encrypted => return Err(Unstarted::Silent),
            Err(ReadError::Silent | ReadError::Closed) => {
                return Err(Unstarted::Refused(
                    None,
                    "the client closed the connection".into(),
                ))
            }
            Err(ReadError::Invalid(why)) => return Err(Unstarted::Refused(Some(stream), why)),
        };
        match start {
            ClientStart::Ssl if !encrypted => match &proxy.client_tls {
                Some(acceptor) => {
                    if stream.write_all(b"S").await.is_err() {
                        return Err(Unstarted::Refused(
                            None,
                            "the client closed the connection".into(),
                        ));
                    }
                    match acceptor.accept(stream).await {
                        Ok(tls) => stream = Box::new(tls),
                        Err(err) => {
                            return Err(Unstarted::Refused(
                                None,
                                format!("the client's TLS handshake failed: {err}"),
                            ))
                        }
                    }
                    encrypted = true;
                }
                None => {
                    if stream.write_all(b"N").await.is_err() {
                        return Err(Unstarted::Refused(
                            None,
                            "the client closed the connection".into(),
                        ));
                    }
                }
            },
            ClientStart::GssEnc if !encrypted => {
                if stream.write_all(b"N").await.is_err() {
                    return Err(Unstarted::Refused(
                        None,
                        "the client closed the connection".into(),
                    ));
                }
            }
            ClientStart::Ssl | ClientStart::GssEnc => {
                return Err(Unstarted::Refused(
                    Some(stream),
                    "the client asked for encryption twice".into(),
                ))
            }
            other => return Ok((stream, other)),
        }
    }
    Err(Unstarted::Refused(
        Some(stream),
        "the client sent no StartupMessage".into(),
    ))
}

/// Why a client's start-up was not read.
enum Unstarted {
    /// Closed before its first byte: a port check (a load balancer's, the
    /// kubelet's tcpSocket), not a client.
    Silent,
    /// What is wrong, and the stream when it can still be answered.
    Refused(Option<ClientStream>, String),
}

enum ReadError {
    /// Closed before sending a byte: a port check, not a client.
    Silent,
    Closed,
    Invalid(String),
}

/// One start-up packet, never more than [`MAX_STARTUP_PACKET`] bytes.
async fn read_start(stream: &mut ClientStream) -> Result<ClientStart, ReadError> {
    let mut header = [0u8; 4];
    match stream.read(&mut header).await {
        Ok(0) | Err(_) => return Err(ReadError::Silent),
        Ok(n) => stream
            .read_exact(&mut header[n..])
            .await
            .map(drop)
            .map_err(|_| ReadError::Closed)?,
    }
    let len =
        startup::announced_length(header).map_err(|err| ReadError::Invalid(err.to_string()))?;
    debug_assert!(len <= MAX_STARTUP_PACKET);
    let mut packet = vec![0u8; len];
    packet[..4].copy_from_slice(&header);
    stream
        .read_exact(&mut packet[4..])
        .await
        .map_err(|_| ReadError::Closed)?;
    startup::parse(&packet).map_err(|err| ReadError::Invalid(err.to_string()))
}

/// Sends `fatal` to the client and ends the connection.
async fn answer(stream: &mut ClientStream, fatal: &Fatal) -> std::io::Result<()> {
    let mut out = BytesMut::new();
    match &fatal.raw {
        Some(raw) if fatal.hint.is_none() => out.extend_from_slice(raw),
        _ => message::fatal(&mut out, fatal.code, &fatal.message, fatal.hint.as_deref()),
    }
    stream.write_all(&out).await?;
    stream.flush().await?;
    stream.shutdown().await
}

/// The start-up parameters sent upstream: the client's, with the user the
/// proxy logs in as.
fn upstream_parameters(startup: &Startup, db: &Database) -> Vec<(String, String)> {
    let mut startup = startup.clone();
    if let Some(user) = &db.username {
        startup.set("user", user);
    }
    startup.parameters
}

/// A server connection for `startup`: a kept one, else a new login with a
/// token. The bool says whether it was kept.
async fn login(
    startup: &Startup,
    db: &Database,
    pool: &Pool<Server>,
    proxy: &Proxy,
) -> Result<(Server, bool), Fatal> {
    let user = startup.user().unwrap_or_default();
    if let Some(pinned) = &db.username {
        if user != pinned {
            return Err(Fatal::new(
                sqlstate::INVALID_AUTHORIZATION,
                format!("this proxy logs in to {} as {pinned} only (--username), not as {user}; connect as user {pinned}", db.name),
                "user_pinned",
            ));
        }
    }
    let parameters = upstream_parameters(startup, db);
    let key = pool::key(&parameters);
    if let Some(server) = pool.take(&key).await {
        proxy.metrics.server_reuses.get_or_create(&db.label).inc();
        return Ok((server, true));
    }
    let issued = db.token(user).await.map_err(|err| {
        let mut fatal = Fatal::new(
            sqlstate::INVALID_AUTHORIZATION,
            format!("no IAM token for {user}: {}", distinct_error_chain(&err)),
            "token",
        );
        fatal.outcome = "failed";
        fatal
    })?;
    proxy.metrics.tokens.get_or_create(&db.label).inc();
    let attempt = async {
        let (stream, timings) = upstream::connect(&db.target).await?;
        proxy
            .metrics
            .connect_seconds
            .get_or_create(&db.label)
            .observe(timings.connect.as_secs_f64());
        proxy
            .metrics
            .tls_seconds
            .get_or_create(&db.label)
            .observe(timings.tls.as_secs_f64());
        upstream::login(stream, &parameters, issued.token.as_str()).await
    };
    let server = match tokio::time::timeout(upstream::LOGIN_TIMEOUT, attempt).await {
        Ok(Ok(server)) => server,
        Ok(Err(err)) => return Err(login_failure(err)),
        Err(_) => {
            return Err(login_failure(LoginError::Timeout(
                "the connection and login",
            )))
        }
    };
    proxy.metrics.server_logins.get_or_create(&db.label).inc();
    Ok((server, false))
}

fn login_failure(err: LoginError) -> Fatal {
    let hint = err.hint();
    let reason = err.reason();
    let (code, raw) = match &err {
        LoginError::Refused { fields, raw } => {
            let code: &'static str = if fields.code == sqlstate::INVALID_AUTHORIZATION {
                sqlstate::INVALID_AUTHORIZATION
            } else {
                sqlstate::CANNOT_CONNECT
            };
            (code, Some(raw.clone()))
        }
        _ => (sqlstate::CANNOT_CONNECT, None),
    };
    let message = match &err {
        LoginError::Refused { fields, .. } => fields.message.clone(),
        LoginError::Tls(refused) => refused.message.clone(),
        other => other.to_string(),
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

/// Passes a client's CancelRequest to the server connection its key leads
/// to. The client gets no answer, as from PostgreSQL.
async fn cancel(key: startup::CancelKey, peer: &str, proxy: &Proxy) {
    let Some(route) = proxy.cancels.route(&key) else {
        proxy.log.warn(
            "cancel request with an unknown key; ignored",
            &[("peer", peer)],
        );
        return;
    };
    match upstream::cancel(&route.target, route.server_key).await {
        Ok(()) => proxy.log.info(
            "cancel request passed on",
            &[("peer", peer), ("upstream", &route.database)],
        ),
        Err(err) => proxy.log.warn(
            "cancel request failed",
            &[
                ("peer", peer),
                ("upstream", &route.database),
                ("reason", &err.to_string()),
            ],
        ),
    }
}

/// One login to `db` as its pinned user, then Terminate; with no user
/// pinned, a verified TLS connection and credentials that resolve. What was
/// checked, or why it failed.
///
/// # Errors
/// The one-line reason, as a client would be told.
pub async fn test_login(db: &Database) -> Result<String, String> {
    let attempt = async {
        let (stream, _) = upstream::connect(&db.target).await?;
        let Some(user) = &db.username else {
            drop(stream);
            return Ok(None);
        };
        Ok(Some((stream, user.clone())))
    };
    let connected = match tokio::time::timeout(upstream::LOGIN_TIMEOUT, attempt).await {
        Ok(Ok(connected)) => connected,
        Ok(Err(err)) => return Err(describe(&login_failure(err))),
        Err(_) => {
            return Err(describe(&login_failure(LoginError::Timeout(
                "the connection",
            ))))
        }
    };
    let Some((stream, user)) = connected else {
        db.credentials_ready()
            .await
            .map_err(|err| distinct_error_chain(&err))?;
        return Ok("TLS verified and credentials resolved; no --username to log in as".into());
    };
    let issued = db
        .token(&user)
        .await
        .map_err(|err| distinct_error_chain(&err))?;
    // Every PostgreSQL server and DSQL cluster has this database.
    let database = "postgres";
    let parameters = vec![
        ("user".to_owned(), user.clone()),
        ("database".to_owned(), database.to_owned()),
        (
            "application_name".to_owned(),
            "rds-auth-token proxy connection test".to_owned(),
        ),
    ];
    match tokio::time::timeout(
        upstream::LOGIN_TIMEOUT,
        upstream::login(stream, &parameters, issued.token.as_str()),
    )
    .await
    {
        Ok(Ok(server)) => {
            close(server).await;
            Ok(format!("logged in as {user}"))
        }
        Ok(Err(err)) => Err(describe(&login_failure(err))),
        Err(_) => Err(describe(&login_failure(LoginError::Timeout("the login")))),
    }
}

fn describe(fatal: &Fatal) -> String {
    match &fatal.hint {
        Some(hint) => format!("{}; {hint}", fatal.message),
        None => fatal.message.clone(),
    }
}
