//! The HTTPS client the credential chain uses, built on first use only.
//!
//! The SDK's STS and IAM Identity Center clients check their HTTP client when
//! they are constructed, and for the default client that check builds the TLS
//! connector: it reads every root certificate on the machine. The default
//! credential chain constructs those clients up front, so without this
//! wrapper a token from environment variables would pay for TLS set-up it
//! never uses. This client is built as the SDK's default is (rustls, the
//! system's root certificates, proxy settings from the environment), with
//! ring as the crypto provider and without that up-front check: the
//! connector is built when a provider first sends a request.

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// An HTTPS client whose connector (and TLS configuration) is made on the
/// first request.
#[derive(Debug, Clone)]
pub(crate) struct LazyHttpsClient {
    inner: SharedHttpClient,
}

impl LazyHttpsClient {
    pub(crate) fn new() -> Self {
        let inner = Builder::new().build_with_connector_fn(|settings, components| {
            let mut connector =
                ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(CryptoMode::Ring));
            connector.set_connector_settings(settings.cloned());
            if let Some(components) = components {
                connector.set_sleep_impl(components.sleep_impl());
            }
            connector.set_proxy_config(Some(ProxyConfig::from_env()));
            connector.build()
        });
        LazyHttpsClient { inner }
    }
}

impl HttpClient for LazyHttpsClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.inner.http_connector(settings, components)
    }
}
