//! AWS's clock: the `Date` header of an API response, read by an interceptor.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use aws_sdk_rds::config::ConfigBag;
use aws_sdk_rds::primitives::{DateTime, DateTimeFormat};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// Keeps the `Date` of the last response of the call it is attached to.
#[derive(Debug, Clone, Default)]
pub(crate) struct DateRecorder(Arc<Mutex<Option<SystemTime>>>);

impl DateRecorder {
    /// The last response's `Date`, when it had one that parses.
    pub(crate) fn get(&self) -> Option<SystemTime> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`) as a time.
pub(crate) fn parse_http_date(value: &str) -> Option<SystemTime> {
    let date = DateTime::from_str(value.trim(), DateTimeFormat::HttpDate).ok()?;
    SystemTime::try_from(date).ok()
}

impl Intercept for DateRecorder {
    fn name(&self) -> &'static str {
        "DateRecorder"
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(date) = context
            .response()
            .headers()
            .get("date")
            .and_then(parse_http_date)
        {
            *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(date);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn reads_an_http_date() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(UNIX_EPOCH + Duration::from_secs(784_111_777))
        );
        assert_eq!(parse_http_date("yesterday"), None);
    }
}
