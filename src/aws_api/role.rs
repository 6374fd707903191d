//! A role's full ARN: IAM `GetRole`. An assumed role's session ARN names
//! the role without its path, and `iam:SimulatePrincipalPolicy` needs the
//! ARN with it (`arn:aws:iam::123456789012:role/service-role/app`).

use super::{Api, ApiError};

impl Api {
    /// The ARN of the role called `name`, with its path.
    ///
    /// # Errors
    /// An [`ApiError`]; [`ApiError::Denied`] when the caller may not call
    /// `iam:GetRole`.
    pub async fn role_arn(&self, name: &str) -> Result<String, ApiError> {
        let output = self
            .iam
            .get_role()
            .role_name(name)
            .send()
            .await
            .map_err(|e| self.error("iam:GetRole", e))?;
        Ok(output
            .role()
            .map(|r| r.arn().to_owned())
            .unwrap_or_default())
    }
}
