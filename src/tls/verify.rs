//! Verifying a database's certificate, as every part of this tool does it:
//! against the CAs this tool carries for the endpoint (or `--ssl-ca`), and
//! for the endpoint's own name, also when the connection goes through a
//! tunnel. `doctor` reports what it finds; the proxy refuses to send a token
//! over anything less.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{CertificateError, ClientConfig, RootCertStore};

use super::Bundle;

/// The CAs to verify the server's certificate with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Roots {
    /// A bundle this tool carries.
    Bundle(Bundle),
    /// A PEM file (`--ssl-ca`).
    File(PathBuf),
}

/// Why a server's TLS was not accepted, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub message: String,
    pub fix: String,
}

impl Refusal {
    fn new(message: impl Into<String>, fix: impl Into<String>) -> Refusal {
        Refusal {
            message: message.into(),
            fix: fix.into(),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}; {}", self.message, self.fix)
    }
}

impl Roots {
    /// The bundle for `hostname` (RDS Proxy's Amazon roots, else the RDS
    /// CAs), or `ssl_ca`.
    pub fn for_endpoint(hostname: &str, ssl_ca: Option<PathBuf>) -> Roots {
        ssl_ca.map_or_else(
            || Roots::Bundle(Bundle::for_hostname(hostname)),
            Roots::File,
        )
    }

    /// The CAs in words, for messages.
    pub fn describe(&self) -> String {
        match self {
            Roots::Bundle(Bundle::Rds) => "the Amazon RDS CAs this tool carries".into(),
            Roots::Bundle(Bundle::AmazonRoots) => {
                "the Amazon Trust Services roots this tool carries (RDS Proxy)".into()
            }
            Roots::File(path) => format!("the CAs in --ssl-ca {}", path.display()),
        }
    }

    /// The certificates, as rustls takes them.
    ///
    /// # Errors
    /// A one-line message when the file cannot be read or holds no CA.
    pub fn store(&self) -> Result<RootCertStore, String> {
        let pem = match self {
            Roots::Bundle(bundle) => bundle.pem().as_bytes().to_vec(),
            Roots::File(path) => std::fs::read(path)
                .map_err(|err| format!("could not read --ssl-ca {}: {err}", path.display()))?,
        };
        let mut store = RootCertStore::empty();
        let certs: Vec<CertificateDer> = CertificateDer::pem_slice_iter(&pem)
            .filter_map(Result::ok)
            .collect();
        store.add_parsable_certificates(certs);
        if store.is_empty() {
            return Err(format!("{} holds no CA certificate", self.describe()));
        }
        Ok(store)
    }

    /// A TLS client configuration that trusts these CAs only: TLS 1.2 and
    /// 1.3, ring's cipher suites, the name checked.
    ///
    /// # Errors
    /// A [`Refusal`] when the CAs cannot be loaded.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, Refusal> {
        let store = self.store().map_err(|message| {
            Refusal::new(
                message,
                "pass --ssl-ca a PEM file of CA certificates (for RDS: AWS's global-bundle.pem)",
            )
        })?;
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map(|b| Arc::new(b.with_root_certificates(store).with_no_client_auth()))
            .map_err(|err| Refusal::new(format!("no TLS settings: {err}"), "report this as a bug"))
    }
}

/// What a failed TLS handshake with `host`, verified against `roots`,
/// means, and the fix.
pub fn refusal(err: &rustls::Error, roots: &Roots, host: &str) -> Refusal {
    let described = roots.describe();
    let new_ca = match roots {
        Roots::Bundle(_) => "if the database's CA is newer than this tool's bundle, or your own, pass it with --ssl-ca FILE (for RDS: AWS's global-bundle.pem, https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem)",
        Roots::File(_) => "pass --ssl-ca a file with the CA that issued the database's certificate (for RDS: AWS's global-bundle.pem), or leave it out to trust the Amazon RDS CAs this tool carries",
    };
    match err {
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer => Refusal::new(
                format!("the server's certificate is not issued by {described}; clients that verify it (verify-full, VERIFY_IDENTITY) refuse it with \"certificate verify failed\""),
                new_ca,
            ),
            CertificateError::NotValidForName
            | CertificateError::NotValidForNameContext { .. } => {
                let names = match cert {
                    CertificateError::NotValidForNameContext { presented, .. }
                        if !presented.is_empty() =>
                    {
                        format!(" (it names {})", presented.join(", "))
                    }
                    _ => String::new(),
                };
                Refusal::new(
                    format!("the server's certificate does not name {host}{names}; clients that check the name refuse it"),
                    "pass the endpoint name RDS shows as --hostname, not a CNAME or an address of your own; to connect elsewhere (a tunnel), keep --hostname and pass --via IP:PORT",
                )
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => Refusal::new(
                "the server's certificate has expired (by this machine's clock)",
                "if the clock is right (see clock), rotate the database's certificate: aws rds modify-db-instance --db-instance-identifier ID --ca-certificate-identifier rds-ca-rsa2048-g1 --apply-immediately",
            ),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => Refusal::new(
                "the server's certificate is not valid yet (by this machine's clock)",
                "the local clock is probably behind: synchronize it with NTP (see clock)",
            ),
            other => Refusal::new(
                format!("the server's certificate does not verify against {described}: {other:?}"),
                new_ca,
            ),
        },
        rustls::Error::AlertReceived(alert) => Refusal::new(
            format!("the server ended the TLS handshake with alert {alert:?}"),
            "the server and this client share no TLS version or cipher: RDS offers TLS 1.2 and 1.3; a server of your own needs one of them",
        ),
        other => Refusal::new(
            format!("the TLS handshake failed: {other}"),
            "check that --port is the database's TLS-capable port and --engine its engine",
        ),
    }
}

/// The rustls error inside an I/O error from a handshake, if that is what
/// it is.
pub fn rustls_error(err: &std::io::Error) -> Option<&rustls::Error> {
    err.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusts_the_bundle_for_the_endpoint_or_the_ssl_ca_file() {
        assert_eq!(
            Roots::for_endpoint("db.abc.us-east-1.rds.amazonaws.com", None),
            Roots::Bundle(Bundle::Rds)
        );
        assert_eq!(
            Roots::for_endpoint("p.proxy-abc.us-east-1.rds.amazonaws.com", None),
            Roots::Bundle(Bundle::AmazonRoots)
        );
        assert_eq!(
            Roots::for_endpoint("x", Some("/ca.pem".into())),
            Roots::File("/ca.pem".into())
        );
    }

    #[test]
    fn loads_every_carried_bundle_as_roots() {
        assert!(Roots::Bundle(Bundle::Rds).store().unwrap().len() > 10);
        assert!(Roots::Bundle(Bundle::AmazonRoots).store().unwrap().len() >= 4);
        let empty = tempfile::NamedTempFile::new().unwrap();
        let err = Roots::File(empty.path().into()).store().unwrap_err();
        assert!(err.ends_with("holds no CA certificate"), "{err}");
        let refusal = Roots::File(empty.path().into())
            .client_config()
            .unwrap_err();
        assert!(refusal.fix.starts_with("pass --ssl-ca"), "{refusal:?}");
    }

    #[test]
    fn says_which_ca_to_pass_for_an_unknown_issuer() {
        let err = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        let bundle = refusal(&err, &Roots::Bundle(Bundle::Rds), "db.example.com");
        assert!(bundle.message.contains("not issued by the Amazon RDS CAs"));
        assert!(bundle.fix.contains("--ssl-ca FILE"));
        let file = refusal(&err, &Roots::File("/ca.pem".into()), "db.example.com");
        assert!(file.message.contains("--ssl-ca /ca.pem"), "{file:?}");
    }
}
