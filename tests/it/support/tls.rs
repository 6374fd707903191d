//! A real TLS server on 127.0.0.1 whose certificate comes from a test CA
//! that the test makes with `openssl`, in front of the scripted HTTP server
//! of [`super::http`].
//!
//! The CA is trusted by nothing on the machine: a client that is not given
//! `ca.pem` refuses the server, as it would a TLS-inspecting proxy's. The
//! server's certificate names `127.0.0.1` and `localhost`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::http::{Request, Response, Server};

/// A certificate authority made for one test, and a server certificate it signed.
pub struct TestCa {
    dir: tempfile::TempDir,
}

impl TestCa {
    /// Makes the CA and a server certificate for 127.0.0.1 and localhost with
    /// `openssl` (P-256 keys, valid for two days).
    #[track_caller]
    pub fn new() -> TestCa {
        TestCa::with_names(&["IP:127.0.0.1", "DNS:localhost"])
    }

    /// The same, with a server certificate for `names` (`IP:...`, `DNS:...`).
    #[track_caller]
    pub fn with_names(names: &[&str]) -> TestCa {
        let dir = tempfile::tempdir().expect("a folder for the test CA");
        // A subject of its own, so that two test CAs are never mistaken for
        // one another.
        let subject = format!(
            "/CN=rds-auth-token test CA {}",
            dir.path().file_name().unwrap().to_string_lossy()
        );
        let ca = TestCa { dir };
        ca.openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            &subject,
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        ca.openssl(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ]);
        std::fs::write(
            ca.dir.path().join("server.ext"),
            format!(
                "subjectAltName = {}\nbasicConstraints = CA:FALSE\n\
                 keyUsage = critical, digitalSignature\nextendedKeyUsage = serverAuth\n",
                names.join(", ")
            ),
        )
        .unwrap();
        ca.openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ]);
        ca
    }

    #[track_caller]
    fn openssl(&self, args: &[&str]) {
        let output = Command::new("openssl")
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|err| {
                panic!("openssl is needed to make the test CA ({err}); scripts/test installs it")
            });
        assert!(
            output.status.success(),
            "openssl {args:?} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// The CA certificate, PEM: what a client must trust.
    pub fn ca_pem(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The server certificate (for 127.0.0.1 and localhost), PEM.
    pub fn server_cert(&self) -> PathBuf {
        self.path("server.pem")
    }

    /// The server certificate's private key, PEM.
    pub fn server_key(&self) -> PathBuf {
        self.path("server.key")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// TLS server settings with this CA's server certificate.
    pub fn server_config(&self) -> rustls::ServerConfig {
        server_config(&self.path("server.pem"), &self.path("server.key"))
    }

    /// An HTTPS server with this CA's server certificate, answering every
    /// request with `handler`.
    pub fn serve(
        &self,
        handler: impl Fn(&Request) -> Response + Send + Sync + 'static,
    ) -> TlsServer {
        let config = Arc::new(server_config(
            &self.path("server.pem"),
            &self.path("server.key"),
        ));
        let server = Server::start_wrapped(
            move |tcp| {
                let conn = rustls::ServerConnection::new(Arc::clone(&config)).ok()?;
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                // Finish the handshake here, so that a client that refuses
                // the certificate never counts as a request.
                while tls.conn.is_handshaking() {
                    tls.conn.complete_io(&mut tls.sock).ok()?;
                }
                Some(tls)
            },
            handler,
        );
        TlsServer { server }
    }
}

fn server_config(cert: &Path, key: &Path) -> rustls::ServerConfig {
    let certs = CertificateDer::pem_file_iter(cert)
        .expect("server.pem")
        .collect::<Result<Vec<_>, _>>()
        .expect("PEM certificates");
    let key = PrivateKeyDer::from_pem_file(key).expect("server.key");
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("a usable server certificate")
}

/// A running HTTPS server; dropping it stops it.
pub struct TlsServer {
    server: Server,
}

impl TlsServer {
    /// `https://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("https://{}", self.server.addr())
    }

    /// `127.0.0.1:PORT`
    pub fn authority(&self) -> String {
        self.server.addr().to_string()
    }

    /// How many TCP connections it has accepted, handshakes or not.
    pub fn connections(&self) -> usize {
        self.server.connections()
    }

    /// Every request answered so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.server.requests()
    }
}
