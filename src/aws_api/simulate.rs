//! Whether a principal may log in: IAM `SimulatePrincipalPolicy` for
//! `rds-db:connect` on the exact `dbuser` ARNs.

use super::{Api, ApiError, MAX_PAGES};
use crate::policy::CONNECT_ACTION;

/// IAM's verdict for one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvalDecision {
    /// A statement allows it and none denies it.
    Allowed,
    /// A statement denies it.
    ExplicitDeny,
    /// No statement allows it.
    ImplicitDeny,
    /// A verdict this tool does not know, as IAM spelled it.
    Other(String),
}

impl EvalDecision {
    fn of(decision: &str) -> EvalDecision {
        match decision {
            "allowed" => EvalDecision::Allowed,
            "explicitDeny" => EvalDecision::ExplicitDeny,
            "implicitDeny" => EvalDecision::ImplicitDeny,
            other => EvalDecision::Other(other.to_owned()),
        }
    }
}

/// The simulation's answer for one resource ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The ARN simulated.
    pub resource_arn: String,
    pub decision: EvalDecision,
    /// The ids of the policies whose statements decided it.
    pub matched_policies: Vec<String>,
    /// Context keys the policies use that the simulation had no value for
    /// (the decision may then differ at log-in).
    pub missing_context: Vec<String>,
}

impl Api {
    /// Simulates `rds-db:connect` by `principal_arn` (a user, group or
    /// role ARN; see [`super::CallerIdentity::principal_arn`]) on each of
    /// `resource_arns`, with the principal's identity-based policies.
    ///
    /// # Errors
    /// An [`ApiError`]; [`ApiError::Denied`] when the caller may not call
    /// `iam:SimulatePrincipalPolicy`.
    pub async fn simulate_connect(
        &self,
        principal_arn: &str,
        resource_arns: &[String],
    ) -> Result<Vec<Decision>, ApiError> {
        let mut decisions = Vec::new();
        let mut marker: Option<String> = None;
        for page in 1..=MAX_PAGES {
            let output = self
                .iam
                .simulate_principal_policy()
                .policy_source_arn(principal_arn)
                .action_names(CONNECT_ACTION)
                .set_resource_arns(Some(resource_arns.to_vec()))
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| self.error("iam:SimulatePrincipalPolicy", e))?;
            for result in output.evaluation_results() {
                decisions.push(Decision {
                    resource_arn: result.eval_resource_name().unwrap_or_default().to_owned(),
                    decision: EvalDecision::of(result.eval_decision().as_str()),
                    matched_policies: result
                        .matched_statements()
                        .iter()
                        .filter_map(|s| s.source_policy_id().map(str::to_owned))
                        .collect(),
                    missing_context: result.missing_context_values().to_vec(),
                });
            }
            match output.marker() {
                Some(_) if output.is_truncated() && page == MAX_PAGES => {
                    return Err(ApiError::ListingCut {
                        operations: vec!["SimulatePrincipalPolicy"],
                        pages: MAX_PAGES,
                        unknown: "IAM's decisions for the rest of the users are not known",
                    })
                }
                Some(next) if output.is_truncated() => marker = Some(next.to_owned()),
                _ => break,
            }
        }
        Ok(decisions)
    }
}
