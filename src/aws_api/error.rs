//! Why an AWS API call failed, on one line and without secrets.

use aws_sdk_rds::error::{ProvideErrorMetadata, SdkError};

/// A failed AWS API call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The caller may not make the call: an IAM policy (or an SCP, or a
    /// permissions boundary) denies it.
    #[error("{permission} was denied: {message}")]
    Denied {
        /// The IAM action the call needs, e.g. `rds:DescribeDBInstances`.
        permission: String,
        /// AWS's words.
        message: String,
    },
    /// No answer in time.
    #[error("{operation} got no answer in time ({message}); check the network path to AWS (proxy settings, a VPC endpoint), or allow longer connect and read timeouts")]
    Timeout { operation: String, message: String },
    /// The endpoint could not be reached or spoken to.
    #[error("{operation} could not reach AWS: {message}")]
    Unreachable { operation: String, message: String },
    /// The listing of `operations` stopped at `pages` pages with more
    /// left, and what was looked for is not known: `unknown` says what.
    #[error("{} stopped after {pages} pages with more left; {unknown}", .operations.join(", "))]
    ListingCut {
        operations: Vec<&'static str>,
        pages: usize,
        unknown: &'static str,
    },
    /// Anything else: the credentials refused, a malformed answer, an
    /// error AWS returned.
    #[error("{operation} failed: {message}")]
    Other {
        operation: String,
        /// AWS's error code, e.g. `InvalidClientTokenId`.
        code: Option<String>,
        message: String,
    },
}

/// Error codes AWS answers a denied call with.
const DENIED_CODES: [&str; 5] = [
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedAccess",
    "AuthorizationError",
];

/// `DescribeDBInstances` for `rds:DescribeDBInstances`.
pub(crate) fn operation_of(permission: &str) -> &str {
    permission
        .split_once(':')
        .map_or(permission, |(_, operation)| operation)
}

impl ApiError {
    /// The permission a denied call needs, for a [`ApiError::Denied`].
    pub fn denied_permission(&self) -> Option<&str> {
        match self {
            ApiError::Denied { permission, .. } => Some(permission),
            _ => None,
        }
    }

    /// The SDK's error for the call that needs `permission`.
    pub(crate) fn from_sdk<E, R>(permission: &str, err: SdkError<E, R>) -> ApiError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let operation = operation_of(permission).to_owned();
        match &err {
            SdkError::TimeoutError(_) => ApiError::Timeout {
                operation,
                message: "the call's time limit passed".to_owned(),
            },
            SdkError::DispatchFailure(failure) if failure.is_timeout() => ApiError::Timeout {
                operation,
                message: one_line(&crate::text::distinct_error_chain(&err)),
            },
            SdkError::DispatchFailure(_) => ApiError::Unreachable {
                operation,
                message: one_line(&crate::text::distinct_error_chain(&err)),
            },
            SdkError::ServiceError(service) => {
                let code = service.err().code().map(str::to_owned);
                let message = service
                    .err()
                    .message()
                    .map_or_else(|| crate::text::distinct_error_chain(&err), str::to_owned);
                match code.as_deref() {
                    Some(code) if DENIED_CODES.contains(&code) => ApiError::Denied {
                        permission: permission.to_owned(),
                        message: one_line(&message),
                    },
                    _ => ApiError::Other {
                        operation,
                        message: one_line(&match &code {
                            Some(code) => format!("{code}: {message}"),
                            None => message,
                        }),
                        code,
                    },
                }
            }
            _ => ApiError::Other {
                operation,
                code: None,
                message: one_line(&crate::text::distinct_error_chain(&err)),
            },
        }
    }
}

/// `text` on one line, escaped, at most 600 characters.
pub(crate) fn one_line(text: &str) -> String {
    crate::text::one_line(text, 600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn puts_any_text_on_one_short_line() {
        assert_eq!(one_line("a\n  b\tc\u{1b}[2J"), r"a b c\u{1b}[2J");
        assert!(one_line(&"x ".repeat(1000)).ends_with("..."));
    }

    #[test]
    fn says_which_permission_was_denied_on_one_line() {
        let err = ApiError::Denied {
            permission: "rds:DescribeDBInstances".into(),
            message: "User: arn:aws:iam::123456789012:user/x is not authorized".into(),
        };
        assert_eq!(err.denied_permission(), Some("rds:DescribeDBInstances"));
        assert_eq!(
            err.to_string(),
            "rds:DescribeDBInstances was denied: User: arn:aws:iam::123456789012:user/x is not authorized"
        );
        assert_eq!(
            operation_of("iam:SimulatePrincipalPolicy"),
            "SimulatePrincipalPolicy"
        );
    }
}
