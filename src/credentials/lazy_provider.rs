//! A credentials provider that is built when the chain first reaches it.
//!
//! Building some of the SDK's providers is not free: the web identity and
//! profile providers construct an STS client, which parses the endpoint
//! partition table. A chain that stops at environment variables should not
//! pay for the providers after them.

use std::fmt;
use std::sync::OnceLock;

use aws_credential_types::provider::{future, ProvideCredentials};
use aws_credential_types::Credentials;

/// Builds `P` with `build` on the first call, then behaves as `P`.
pub(crate) struct LazyProvider<P, F> {
    build: F,
    provider: OnceLock<P>,
}

impl<P, F> LazyProvider<P, F>
where
    F: Fn() -> P,
{
    pub(crate) fn new(build: F) -> Self {
        LazyProvider {
            build,
            provider: OnceLock::new(),
        }
    }

    fn get(&self) -> &P {
        self.provider.get_or_init(&self.build)
    }
}

impl<P, F> fmt::Debug for LazyProvider<P, F>
where
    P: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.provider.get() {
            Some(provider) => provider.fmt(f),
            None => f.write_str("LazyProvider(not built)"),
        }
    }
}

impl<P, F> ProvideCredentials for LazyProvider<P, F>
where
    P: ProvideCredentials,
    F: Fn() -> P + Send + Sync,
{
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        self.get().provide_credentials()
    }

    fn fallback_on_interrupt(&self) -> Option<Credentials> {
        self.provider
            .get()
            .and_then(ProvideCredentials::fallback_on_interrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn builds_the_provider_once_and_only_when_asked() {
        static BUILT: AtomicUsize = AtomicUsize::new(0);
        let lazy = LazyProvider::new(|| {
            BUILT.fetch_add(1, Ordering::SeqCst);
            Credentials::new("AKID", "SECRET", None, None, "test")
        });
        assert_eq!(BUILT.load(Ordering::SeqCst), 0);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        for _ in 0..2 {
            let creds = rt.block_on(lazy.provide_credentials()).unwrap();
            assert_eq!(creds.access_key_id(), "AKID");
        }
        assert_eq!(BUILT.load(Ordering::SeqCst), 1);
    }
}
