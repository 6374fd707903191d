//! Setting a proxy up from checked settings: an issuer per profile and
//! region, the TLS settings for each database and for clients, and every
//! listener bound, before anything is served.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use super::listener::{self, BindError, Bound, Socket};
use super::log::Log;
use super::metrics::{DatabaseLabel, Metrics};
use super::pool::Reuse;
use super::target::Target;
use super::{Access, Database, Kind, Proxy, Wire};
use crate::issuer::{IssueError, Issuer, IssuerSettings};
use crate::tls::verify::{Refusal, Roots};
use crate::tls::Bundle;

/// One database, as the flags or a configuration table give it, checked.
#[derive(Debug, Clone)]
pub struct DatabaseSpec {
    pub name: String,
    pub kind: Kind,
    /// The endpoint's name (for ElastiCache and MemoryDB, the host of
    /// `--endpoint`).
    pub hostname: String,
    pub port: u16,
    pub username: Option<String>,
    pub signing: IssuerSettings,
    pub via: Option<SocketAddr>,
    pub ssl_ca: Option<PathBuf>,
    /// Where to listen; empty: 127.0.0.1 and the database's port, or the
    /// next free one (unless only a Unix socket is asked for).
    pub listen: Vec<SocketAddr>,
    pub unix_socket: Option<PathBuf>,
    pub expires_in: u64,
    /// How server connections are kept; `None`: not at all.
    pub reuse: Option<Reuse>,
}

/// Everything a proxy is set up from.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub databases: Vec<DatabaseSpec>,
    pub log: Log,
    /// Client-side TLS: a certificate chain and its key, PEM files.
    pub client_tls: Option<(PathBuf, PathBuf)>,
    pub access: Access,
    pub max_connections: Option<usize>,
    pub max_sigterm_delay: Duration,
    pub quitquitquit: bool,
}

/// Why a proxy could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{0}")]
    Issuer(#[from] IssueError),
    #[error("{database}: {refusal}")]
    Roots { database: String, refusal: Refusal },
    #[error("--client-tls-cert/--client-tls-key: {0}")]
    ClientTls(String),
    #[error("{0}")]
    Bind(#[from] BindError),
    #[error("{0}")]
    Unsupported(String),
}

/// A proxy for `settings`, its listeners bound (unless `listen` is false:
/// for a connection test), and one line per listener saying where it
/// listens.
///
/// # Errors
/// [`SetupError`]: the AWS config files cannot be read, a CA file or the
/// client-side certificate cannot be loaded, or an address cannot be bound.
pub async fn start(
    settings: Settings,
    listen: bool,
) -> Result<(Arc<Proxy>, Vec<Bound>, Vec<String>), SetupError> {
    if settings.access.allow_remote {
        settings.log.warn(
            "--allow-remote: connections from other machines are let in; whoever reaches the port logs in as this proxy's AWS identity",
            &[],
        );
    }
    let client_tls = settings
        .client_tls
        .as_ref()
        .map(|(cert, key)| acceptor(cert, key))
        .transpose()?;
    let observer: Arc<dyn crate::issuer::Observer> =
        Arc::new(super::log::IssuerLog::new(settings.log));
    let mut issuers: HashMap<(Option<String>, Option<String>), Arc<Issuer>> = HashMap::new();
    let mut databases = Vec::new();
    for spec in &settings.databases {
        let id = (spec.signing.profile.clone(), spec.signing.region.clone());
        let issuer = match issuers.get(&id) {
            Some(issuer) => Arc::clone(issuer),
            None => {
                let issuer =
                    Arc::new(Issuer::new(spec.signing.clone(), Arc::clone(&observer)).await?);
                issuers.insert(id, Arc::clone(&issuer));
                issuer
            }
        };
        let roots = match (&spec.kind, &spec.ssl_ca) {
            // Their certificates chain to the Amazon Trust Services roots,
            // which `elasticache exec` and `memorydb exec` trust too.
            (Kind::ElastiCache { .. } | Kind::MemoryDb { .. }, None) => {
                Roots::Bundle(Bundle::AmazonRoots)
            }
            _ => Roots::for_endpoint(&spec.hostname, spec.ssl_ca.clone()),
        };
        let tls = roots.client_config().map_err(|refusal| SetupError::Roots {
            database: spec.name.clone(),
            refusal,
        })?;
        let kind = spec.kind.clone();
        databases.push(Arc::new(Database {
            name: spec.name.clone(),
            kind: kind.clone(),
            target: Arc::new(Target {
                hostname: spec.hostname.clone(),
                port: spec.port,
                via: spec.via,
                roots,
                tls,
            }),
            username: spec.username.clone(),
            expires_in: spec.expires_in,
            issuer,
            listen: spec.listen.clone(),
            unix_socket: spec.unix_socket.clone(),
            wire: Wire::new(kind.protocol(), spec.reuse),
            label: DatabaseLabel {
                database: spec.name.clone(),
                engine: kind.engine().to_owned(),
            },
        }));
    }
    let mut bound = Vec::new();
    let mut lines = Vec::new();
    for db in databases.iter().filter(|_| listen) {
        let mut tcp: Vec<(SocketAddr, bool)> = db.listen.iter().map(|a| (*a, false)).collect();
        if tcp.is_empty() && db.unix_socket.is_none() {
            tcp.push((
                SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), db.target.port),
                true,
            ));
        }
        for (address, next_free) in tcp {
            let socket = listener::bind_tcp(address, next_free, &db.name).await?;
            let local = socket.local_addr().map_or(address, |a| a);
            let note = if local.port() != address.port() {
                format!(" ({} is in use)", address.port())
            } else {
                String::new()
            };
            lines.push(format!(
                "listening on {local}{note} for {} ({}:{})",
                db.name, db.target.hostname, db.target.port
            ));
            bound.push(Bound {
                database: Arc::clone(db),
                socket: Socket::Tcp(socket),
            });
        }
        if let Some(folder) = &db.unix_socket {
            #[cfg(not(unix))]
            return Err(SetupError::Unsupported(format!(
                "--unix-socket {}: Unix sockets are for Unix systems; use --listen",
                folder.display()
            )));
            #[cfg(unix)]
            let (socket, path) = listener::bind_unix(
                folder,
                &listener::socket_name(db.kind.protocol(), db.target.port),
                !settings.access.allow_uids.is_empty(),
            )?;
            lines.push(format!(
                "listening on {} for {} ({}:{})",
                path.display(),
                db.name,
                db.target.hostname,
                db.target.port
            ));
            #[cfg(unix)]
            bound.push(Bound {
                database: Arc::clone(db),
                socket: Socket::Unix(socket, path),
            });
        }
    }
    let proxy = Arc::new(Proxy {
        databases,
        log: settings.log,
        metrics: Metrics::new(),
        cancels: super::postgres::cancel::Cancels::default(),
        client_tls,
        access: settings.access,
        max_connections: settings.max_connections,
        max_sigterm_delay: settings.max_sigterm_delay,
        quitquitquit: settings.quitquitquit,
        started: AtomicBool::new(false),
        stopping: AtomicBool::new(false),
        stop: tokio::sync::Notify::new(),
    });
    Ok((proxy, bound, lines))
}

/// Client-side TLS from a PEM certificate chain and key.
fn acceptor(cert: &std::path::Path, key: &std::path::Path) -> Result<TlsAcceptor, SetupError> {
    let fail = |what: &std::path::Path, err: &dyn std::fmt::Display| {
        SetupError::ClientTls(format!("{}: {err}", what.display()))
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|err| fail(cert, &err))?
        .collect::<Result<_, _>>()
        .map_err(|err| fail(cert, &err))?;
    if certs.is_empty() {
        return Err(fail(cert, &"holds no certificate"));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|err| fail(key, &err))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|err| SetupError::ClientTls(err.to_string()))?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|err| {
        SetupError::ClientTls(format!("the certificate and key do not go together: {err}"))
    })?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
