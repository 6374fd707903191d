//! The HTTPS client the credential chain uses, built on first use only.
//!
//! The SDK's STS and IAM Identity Center clients check their HTTP client when
//! they are constructed, and for the default client that check builds the TLS
//! connector: it reads every root certificate on the machine. The default
//! credential chain constructs those clients up front, so without this
//! wrapper a token from environment variables would pay for TLS set-up it
//! never uses. This client is built as the SDK's default is (rustls with ring,
//! the system's root certificates), without that up-front check: the
//! connector, and with it the TLS configuration and the CA bundle file, is
//! made when a provider first sends a request.
//!
//! On top of the SDK's default it adds what the AWS CLI honours: a CA bundle
//! whose certificates are trusted besides the system's, `HTTPS_PROXY` /
//! `HTTP_PROXY` / `NO_PROXY` (and their lower-case forms), and the
//! `--cli-connect-timeout` / `--cli-read-timeout` limits.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// Where a CA bundle setting came from, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CaBundleOrigin {
    /// `--ca-bundle`.
    Flag,
    /// `AWS_CA_BUNDLE`.
    Environment,
    /// The `ca_bundle` setting of the named profile.
    Profile,
}

/// A PEM file of extra certificates to trust, and where it was named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CaBundle {
    pub(crate) path: PathBuf,
    pub(crate) origin: CaBundleOrigin,
    /// The profile, for [`CaBundleOrigin::Profile`].
    pub(crate) profile: String,
}

impl fmt::Display for CaBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match self.origin {
            CaBundleOrigin::Flag => write!(f, "{path} (from --ca-bundle)"),
            CaBundleOrigin::Environment => write!(f, "{path} (from AWS_CA_BUNDLE)"),
            CaBundleOrigin::Profile => {
                write!(f, "{path} (from ca_bundle in profile '{}')", self.profile)
            }
        }
    }
}

/// How a [`LazyHttpsClient`] connects.
#[derive(Debug, Clone, Default)]
pub(crate) struct HttpsSettings {
    /// Certificates to trust besides the system's.
    pub(crate) ca_bundle: Option<CaBundle>,
    /// Overrides the connect timeout the SDK asks for; zero means none.
    pub(crate) connect_timeout: Option<Duration>,
    /// Overrides the read timeout the SDK asks for; zero means none.
    pub(crate) read_timeout: Option<Duration>,
    /// Route requests through the proxies named in the environment.
    pub(crate) proxy_from_env: bool,
}

/// What went wrong with the CA bundle, kept for the chain to report: the
/// SDK only sees a failed request.
pub(crate) type CaBundleFailure = Arc<Mutex<Option<String>>>;

/// An HTTPS client whose connector (and TLS configuration) is made on the
/// first request.
#[derive(Debug, Clone)]
pub(crate) struct LazyHttpsClient {
    inner: SharedHttpClient,
    bundle: Option<CaBundle>,
    /// The CA bundle's certificates, read on the first request.
    certificates: Arc<OnceLock<Result<Option<Vec<u8>>, String>>>,
    failure: CaBundleFailure,
}

impl LazyHttpsClient {
    /// A client with `settings`; a CA bundle that cannot be used is recorded
    /// in `failure` and fails every request.
    pub(crate) fn new(settings: HttpsSettings, failure: CaBundleFailure) -> Self {
        let certificates: Arc<OnceLock<Result<Option<Vec<u8>>, String>>> = Arc::default();
        let bundle = settings.ca_bundle.clone();
        let inner = {
            let certificates = Arc::clone(&certificates);
            Builder::new().build_with_connector_fn(move |sdk_settings, components| {
                let mut trust = TrustStore::default();
                if let Some(Ok(Some(pem))) = certificates.get() {
                    trust = trust.with_pem_certificate(pem.clone());
                }
                let tls_context = TlsContext::builder()
                    .with_trust_store(trust)
                    .build()
                    .expect("building a TLS context cannot fail");
                let mut connector = ConnectorBuilder::default()
                    .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
                    .tls_context(tls_context);
                connector.set_connector_settings(Some(connector_settings(&settings, sdk_settings)));
                if let Some(components) = components {
                    connector.set_sleep_impl(components.sleep_impl());
                }
                connector.set_proxy_config(Some(if settings.proxy_from_env {
                    ProxyConfig::from_env()
                } else {
                    ProxyConfig::disabled()
                }));
                connector.build()
            })
        };
        LazyHttpsClient {
            inner,
            bundle,
            certificates,
            failure,
        }
    }
}

impl HttpClient for LazyHttpsClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let certificates = self
            .certificates
            .get_or_init(|| read_ca_bundle(self.bundle.as_ref()));
        if let Err(message) = certificates {
            *self.failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(message.clone());
            return SharedHttpConnector::new(Refuse(message.clone()));
        }
        self.inner.http_connector(settings, components)
    }
}

/// The SDK's timeouts, with ours in their place where given (zero: none).
fn connector_settings(
    ours: &HttpsSettings,
    sdk: Option<&HttpConnectorSettings>,
) -> HttpConnectorSettings {
    let pick = |ours: Option<Duration>, sdk: Option<Duration>| match ours {
        Some(d) if d.is_zero() => None,
        Some(d) => Some(d),
        None => sdk,
    };
    let mut builder = HttpConnectorSettings::builder();
    builder.set_connect_timeout(pick(
        ours.connect_timeout,
        sdk.and_then(HttpConnectorSettings::connect_timeout),
    ));
    builder.set_read_timeout(pick(
        ours.read_timeout,
        sdk.and_then(HttpConnectorSettings::read_timeout),
    ));
    builder.build()
}

/// The CA bundle's PEM text, checked here: the TLS layer panics on a
/// certificate it cannot use.
fn read_ca_bundle(bundle: Option<&CaBundle>) -> Result<Option<Vec<u8>>, String> {
    let Some(bundle) = bundle else {
        return Ok(None);
    };
    let pem = std::fs::read(&bundle.path)
        .map_err(|e| format!("cannot read the CA bundle {bundle}: {e}"))?;
    let count = check_pem_certificates(&pem)
        .map_err(|why| format!("the CA bundle {bundle} is not usable: {why}"))?;
    if count == 0 {
        return Err(format!(
            "the CA bundle {bundle} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        ));
    }
    Ok(Some(pem))
}

/// How many certificates `pem` holds, each one the TLS layer accepts as a
/// trust anchor.
fn check_pem_certificates(pem: &[u8]) -> Result<usize, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    let mut count = 0;
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| format!("bad PEM: {e}"))?;
        count += 1;
        roots
            .add(cert)
            .map_err(|e| format!("certificate {count} cannot be used: {e}"))?;
    }
    Ok(count)
}

/// A connector that fails every request with one message.
#[derive(Debug)]
struct Refuse(String);

impl HttpConnector for Refuse {
    fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
        HttpConnectorFuture::ready(Err(ConnectorError::user(self.0.clone().into())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_means_no_timeout_and_none_keeps_the_sdk_one() {
        let sdk = HttpConnectorSettings::builder()
            .connect_timeout(Duration::from_secs(3))
            .read_timeout(Duration::from_secs(5))
            .build();
        let ours = HttpsSettings {
            connect_timeout: Some(Duration::ZERO),
            read_timeout: None,
            ..HttpsSettings::default()
        };
        let merged = connector_settings(&ours, Some(&sdk));
        assert_eq!(merged.connect_timeout(), None);
        assert_eq!(merged.read_timeout(), Some(Duration::from_secs(5)));
        let ours = HttpsSettings {
            connect_timeout: Some(Duration::from_secs(7)),
            ..HttpsSettings::default()
        };
        let merged = connector_settings(&ours, None);
        assert_eq!(merged.connect_timeout(), Some(Duration::from_secs(7)));
        assert_eq!(merged.read_timeout(), None);
    }

    #[test]
    fn a_pem_file_with_no_certificate_counts_none() {
        assert_eq!(check_pem_certificates(b"just text\n"), Ok(0));
        let bad = b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n";
        assert!(check_pem_certificates(bad).is_err());
    }
}
