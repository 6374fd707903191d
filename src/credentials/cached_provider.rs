//! A credentials provider that first looks in the credential cache shared
//! with the AWS CLI, and stores what the provider it wraps fetches.
//!
//! The key is computed from the profile before anything is built; a hit
//! costs one small file read and builds no provider, client or connection.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use aws_credential_types::credential_feature::AwsCredentialFeature;
use aws_credential_types::provider::{future, ProvideCredentials};
use aws_credential_types::Credentials;
use aws_types::os_shim_internal::Env;

use super::cache::{CacheKey, CredentialCache};

/// What the cache did for a call, for `--debug`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CacheEvent {
    /// The credentials came from this file.
    Hit(String),
    /// The fetched credentials were written to this file.
    Stored(String),
    /// The cache was not used, and why.
    NotUsed(String),
    /// Writing failed, and why.
    StoreFailed(String),
}

/// Where the wrappers of one chain report what the cache did.
pub(crate) type CacheLog = Arc<Mutex<Option<CacheEvent>>>;

/// `P`, behind the cache entry for `key`.
pub(crate) struct Cached<P> {
    inner: P,
    key: Option<CacheKey>,
    /// The feature the credentials carry on a hit, so that they are
    /// described as the provider's own would be.
    feature: AwsCredentialFeature,
    no_cache: bool,
    now: SystemTime,
    log: CacheLog,
}

impl<P> Cached<P> {
    /// `inner` behind the entry for `key`; with no key, `inner` alone.
    pub(crate) fn new(
        inner: P,
        key: Option<CacheKey>,
        feature: AwsCredentialFeature,
        no_cache: bool,
        now: SystemTime,
        log: CacheLog,
    ) -> Self {
        Cached {
            inner,
            key,
            feature,
            no_cache,
            now,
            log,
        }
    }

    fn record(&self, event: CacheEvent) {
        if let Ok(mut slot) = self.log.lock() {
            *slot = Some(event);
        }
    }
}

impl<P: fmt::Debug> fmt::Debug for Cached<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cached")
            .field("inner", &self.inner)
            .field("key", &self.key)
            .finish()
    }
}

impl<P> ProvideCredentials for Cached<P>
where
    P: ProvideCredentials,
{
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            let Some(key) = &self.key else {
                return self.inner.provide_credentials().await;
            };
            let cache = match CredentialCache::open(&Env::real(), self.no_cache) {
                Ok(cache) => Some(cache),
                Err(why) => {
                    self.record(CacheEvent::NotUsed(why.0));
                    None
                }
            };
            if let Some(cache) = &cache {
                if let Some((mut credentials, path)) = cache.load(key, self.now) {
                    credentials.set_property(vec![self.feature.clone()]);
                    self.record(CacheEvent::Hit(path.display().to_string()));
                    return Ok(credentials);
                }
            }
            let credentials = self.inner.provide_credentials().await?;
            if let Some(cache) = &cache {
                if credentials.session_token().is_some() && credentials.expiry().is_some() {
                    self.record(match cache.store(key, &credentials) {
                        Ok(path) => CacheEvent::Stored(path.display().to_string()),
                        Err(err) => CacheEvent::StoreFailed(format!(
                            "could not write the credential cache {}: {err}",
                            cache.dir().display()
                        )),
                    });
                }
            }
            Ok(credentials)
        })
    }

    fn fallback_on_interrupt(&self) -> Option<Credentials> {
        self.inner.fallback_on_interrupt()
    }
}
