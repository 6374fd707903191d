//! The IAM policy that lets a principal log in to a database with a token:
//! the partition of a region, the `dbuser` ARN, and the policy document.
//!
//! AWS documents the resource as
//! `arn:aws:rds-db:REGION:ACCOUNT-ID:dbuser:DB-RESOURCE-ID/DB-USER-NAME`, where
//! the resource id is the instance's `DbiResourceId` (`db-...`), an Aurora
//! cluster's `DbClusterResourceId` (`cluster-...`), or, through RDS Proxy, the
//! proxy's id (`prx-...`), and the user name may be `*` for every user
//! ("Creating and using an IAM policy for IAM database access",
//! <https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy.html>
//! and the Aurora guide's page of the same name; the resource type `db-user`,
//! `arn:${Partition}:rds-db:${Region}:${Account}:dbuser:${DbiResourceId}/${DbUserName}`,
//! in the Service Authorization Reference,
//! <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonrdsiamauthentication.html>).
//!
//! # Example
//! ```
//! use rds_auth_token::policy::{DbUserArn, PolicyDocument};
//!
//! let arn = DbUserArn::new("us-east-1", "123456789012", "db-ABCDEFGHIJKL01234", "app")?;
//! assert_eq!(
//!     arn.to_string(),
//!     "arn:aws:rds-db:us-east-1:123456789012:dbuser:db-ABCDEFGHIJKL01234/app"
//! );
//! let policy = PolicyDocument::new(vec![arn]);
//! assert!(policy.to_json().contains(r#""Action": "rds-db:connect""#));
//! # Ok::<(), rds_auth_token::policy::PolicyError>(())
//! ```

#[cfg(feature = "aws-api")]
pub mod lookup;

use std::fmt;

use crate::error::Shown;
use crate::json::push_string;
use crate::region;

/// The IAM action a token needs.
pub const CONNECT_ACTION: &str = "rds-db:connect";

/// The policy language version that policy variables (and so `${*}`) need.
pub const POLICY_VERSION: &str = "2012-10-17";

/// The AWS partition a region belongs to: `aws`, `aws-cn` (`cn-*`),
/// `aws-us-gov` (`us-gov-*`), the ISO partitions (`us-iso-*`, `us-isob-*`,
/// `eu-isoe-*`, `us-isof-*`) and the European Sovereign Cloud (`eusc-*`).
///
/// # Example
/// ```
/// use rds_auth_token::policy::partition;
/// assert_eq!(partition("eu-west-1"), "aws");
/// assert_eq!(partition("cn-northwest-1"), "aws-cn");
/// assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
/// ```
pub fn partition(region: &str) -> &'static str {
    const PREFIXES: [(&str, &str); 7] = [
        ("cn-", "aws-cn"),
        ("us-gov-", "aws-us-gov"),
        ("us-isob-", "aws-iso-b"),
        ("us-isof-", "aws-iso-f"),
        ("us-iso-", "aws-iso"),
        ("eu-isoe-", "aws-iso-e"),
        ("eusc-", "aws-eusc"),
    ];
    PREFIXES
        .iter()
        .find(|(prefix, _)| region.starts_with(prefix))
        .map_or("aws", |(_, partition)| partition)
}

/// Why an ARN cannot be made from the values given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    #[error("the account {0} is not an AWS account id; give the 12 digits, e.g. 123456789012 (`aws sts get-caller-identity --query Account`)")]
    Account(Shown),
    #[error("the resource id {0} is not an RDS resource id; give the instance's DbiResourceId (db-...), the Aurora cluster's DbClusterResourceId (cluster-...) or the proxy's id (prx-...), e.g. from `aws rds describe-db-instances --query 'DBInstances[].DbiResourceId'`")]
    ResourceId(Shown),
    #[error(
        "the region {0} is not a region name; use one like us-east-1, eu-west-1 or cn-north-1"
    )]
    Region(Shown),
    #[error("the user name is empty; give the database user's name, or '*' for every user")]
    EmptyUser,
    #[error("the user name {0} holds a control character, which no database user name has; give the name as it is in the database")]
    UserControlCharacter(Shown),
}

/// Checks an account id: 12 digits.
///
/// # Errors
/// [`PolicyError::Account`], which names `--account` and the fix.
pub fn validate_account(account: &str) -> Result<(), PolicyError> {
    if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(PolicyError::Account(Shown::new(account)))
    }
}

/// Checks a resource id: `db-`, `cluster-` or `prx-` and letters and
/// digits (AWS's are upper case for instances and clusters, lower case for
/// proxies), or `*` for every database of the account in the region.
///
/// # Errors
/// [`PolicyError::ResourceId`], which names `--resource-id` and the fix.
pub fn validate_resource_id(id: &str) -> Result<(), PolicyError> {
    let ok = id == "*"
        || ["db-", "cluster-", "prx-"].iter().any(|prefix| {
            id.strip_prefix(prefix).is_some_and(|rest| {
                !rest.is_empty()
                    && rest.len() <= 64
                    && rest.bytes().all(|b| b.is_ascii_alphanumeric())
            })
        });
    if ok {
        Ok(())
    } else {
        Err(PolicyError::ResourceId(Shown::new(id)))
    }
}

/// The resource of `rds-db:connect` for one database user on one database:
/// `arn:PARTITION:rds-db:REGION:ACCOUNT:dbuser:RESOURCE-ID/USER`.
///
/// Its [`Display`](fmt::Display) form is the ARN itself, the name IAM
/// evaluates a login against (e.g. for `iam:SimulatePrincipalPolicy`);
/// [`DbUserArn::policy_resource`] is the same ARN as a policy's `Resource`
/// must spell it, with a literal `*`, `?` or `$` in the user name written as
/// a policy variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbUserArn {
    partition: &'static str,
    region: String,
    account: String,
    resource_id: String,
    user: String,
}

impl DbUserArn {
    /// The ARN for `user` (`*` for every user) on the database with
    /// `resource_id` in `region` of `account`; the partition follows the
    /// region.
    ///
    /// # Errors
    /// A [`PolicyError`] naming the flag whose value is not of its shape.
    pub fn new(
        region: &str,
        account: &str,
        resource_id: &str,
        user: &str,
    ) -> Result<DbUserArn, PolicyError> {
        if !region::is_region_name(region) {
            return Err(PolicyError::Region(Shown::new(region)));
        }
        validate_account(account)?;
        validate_resource_id(resource_id)?;
        if user.is_empty() {
            return Err(PolicyError::EmptyUser);
        }
        if user.chars().any(char::is_control) {
            return Err(PolicyError::UserControlCharacter(Shown::new(user)));
        }
        Ok(DbUserArn {
            partition: partition(region),
            region: region.to_owned(),
            account: account.to_owned(),
            resource_id: resource_id.to_owned(),
            user: user.to_owned(),
        })
    }

    /// The partition, e.g. `aws-cn`.
    pub fn partition(&self) -> &str {
        self.partition
    }

    /// The database user, `*` for every user.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The resource id, e.g. `db-ABCDEFGHIJKL01234`.
    pub fn resource_id(&self) -> &str {
        &self.resource_id
    }

    /// The ARN as a policy's `Resource` spells it. In a `Resource`, `*` and
    /// `?` are wildcards, so a user name that holds one literally has it
    /// written as the policy variable `${*}` or `${?}` (and `$` as `${$}`),
    /// as the IAM User Guide says ("Special characters", IAM policy
    /// elements: Variables and tags,
    /// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html>);
    /// the user `*` alone stays the wildcard for every user.
    pub fn policy_resource(&self) -> String {
        let mut user = String::with_capacity(self.user.len());
        if self.user == "*" {
            user.push('*');
        } else {
            for c in self.user.chars() {
                match c {
                    '*' => user.push_str("${*}"),
                    '?' => user.push_str("${?}"),
                    '$' => user.push_str("${$}"),
                    c => user.push(c),
                }
            }
        }
        format!("{}/{user}", self.prefix())
    }

    fn prefix(&self) -> String {
        format!(
            "arn:{}:rds-db:{}:{}:dbuser:{}",
            self.partition, self.region, self.account, self.resource_id
        )
    }
}

impl fmt::Display for DbUserArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.prefix(), self.user)
    }
}

/// An identity-based policy allowing `rds-db:connect` on some database users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDocument {
    resources: Vec<DbUserArn>,
}

impl PolicyDocument {
    /// A policy for `resources`, in their order, each once.
    pub fn new(resources: Vec<DbUserArn>) -> PolicyDocument {
        let mut unique: Vec<DbUserArn> = Vec::with_capacity(resources.len());
        for arn in resources {
            if !unique.contains(&arn) {
                unique.push(arn);
            }
        }
        PolicyDocument { resources: unique }
    }

    /// The ARNs it allows, each once.
    pub fn resources(&self) -> &[DbUserArn] {
        &self.resources
    }

    /// The document as JSON, laid out as the AWS CLI prints JSON (Python's
    /// `json.dumps(..., indent=4)`) and the AWS guides show policies:
    /// `Version` 2012-10-17, one `Statement` that allows `rds-db:connect` on
    /// `Resource`, a string for one ARN and an array for several. Ends with
    /// a newline. Strings go through [`crate::json::push_string`], so
    /// nothing in a user name can break out of its string or act on a
    /// terminal.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        let line = |out: &mut String, depth: usize, text: &str| {
            out.push_str(&"    ".repeat(depth));
            out.push_str(text);
        };
        let string = |value: &str| {
            let mut s = String::new();
            push_string(&mut s, value);
            s
        };
        out.push_str("{\n");
        line(
            &mut out,
            1,
            &format!("\"Version\": {},\n", string(POLICY_VERSION)),
        );
        line(&mut out, 1, "\"Statement\": [\n");
        line(&mut out, 2, "{\n");
        line(&mut out, 3, "\"Effect\": \"Allow\",\n");
        line(
            &mut out,
            3,
            &format!("\"Action\": {},\n", string(CONNECT_ACTION)),
        );
        match self.resources.as_slice() {
            [one] => line(
                &mut out,
                3,
                &format!("\"Resource\": {}\n", string(&one.policy_resource())),
            ),
            many => {
                line(&mut out, 3, "\"Resource\": [\n");
                for (i, arn) in many.iter().enumerate() {
                    let comma = if i + 1 < many.len() { "," } else { "" };
                    line(
                        &mut out,
                        4,
                        &format!("{}{comma}\n", string(&arn.policy_resource())),
                    );
                }
                line(&mut out, 3, "]\n");
            }
        }
        line(&mut out, 2, "}\n");
        line(&mut out, 1, "]\n");
        out.push_str("}\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arn(region: &str, user: &str) -> DbUserArn {
        DbUserArn::new(region, "123456789012", "db-ABCDEFGHIJKL01234", user).unwrap()
    }

    #[test]
    fn knows_the_partition_of_each_kind_of_region() {
        for (region, partition_name) in [
            ("us-east-1", "aws"),
            ("eu-central-2", "aws"),
            ("cn-north-1", "aws-cn"),
            ("cn-northwest-1", "aws-cn"),
            ("us-gov-west-1", "aws-us-gov"),
            ("us-gov-east-1", "aws-us-gov"),
            ("us-iso-east-1", "aws-iso"),
            ("us-isob-east-1", "aws-iso-b"),
            ("eu-isoe-west-1", "aws-iso-e"),
            ("us-isof-south-1", "aws-iso-f"),
            ("eusc-de-east-1", "aws-eusc"),
        ] {
            assert_eq!(partition(region), partition_name, "{region}");
        }
    }

    #[test]
    fn makes_the_arn_aws_documents_for_instances_clusters_and_proxies() {
        // The examples of the RDS and Aurora user guides.
        assert_eq!(
            DbUserArn::new(
                "us-east-2",
                "111122223333",
                "db-ABCDEFGHIJKL01234",
                "db_user"
            )
            .unwrap()
            .to_string(),
            "arn:aws:rds-db:us-east-2:111122223333:dbuser:db-ABCDEFGHIJKL01234/db_user"
        );
        assert_eq!(
            DbUserArn::new(
                "us-east-2",
                "111122223333",
                "cluster-ABCDEFGHIJKL01234",
                "db_user"
            )
            .unwrap()
            .to_string(),
            "arn:aws:rds-db:us-east-2:111122223333:dbuser:cluster-ABCDEFGHIJKL01234/db_user"
        );
        assert_eq!(
            DbUserArn::new("cn-north-1", "111122223333", "prx-0123456789abcdef0", "*")
                .unwrap()
                .policy_resource(),
            "arn:aws-cn:rds-db:cn-north-1:111122223333:dbuser:prx-0123456789abcdef0/*"
        );
    }

    #[test]
    fn writes_a_literal_wildcard_in_a_user_name_as_a_policy_variable() {
        let odd = arn("us-east-1", "a*b?c$d");
        assert_eq!(
            odd.to_string(),
            "arn:aws:rds-db:us-east-1:123456789012:dbuser:db-ABCDEFGHIJKL01234/a*b?c$d"
        );
        assert_eq!(
            odd.policy_resource(),
            "arn:aws:rds-db:us-east-1:123456789012:dbuser:db-ABCDEFGHIJKL01234/a${*}b${?}c${$}d"
        );
        assert!(arn("us-east-1", "*").policy_resource().ends_with("/*"));
    }

    #[test]
    fn refuses_accounts_resource_ids_regions_and_users_of_the_wrong_shape() {
        let try_new = |region, account, id, user| {
            DbUserArn::new(region, account, id, user)
                .unwrap_err()
                .to_string()
        };
        for account in ["12345678901", "1234567890123", "12345678901a", ""] {
            let err = try_new("us-east-1", account, "db-ABC", "u");
            assert!(err.starts_with("the account "), "{err}");
            assert!(!err.contains('\n'));
        }
        for id in [
            "ABC",
            "db-",
            "db-AB/C",
            "cluster-",
            "prx-a b",
            "arn:aws:rds:x",
            "db-ABC\n",
        ] {
            let err = try_new("us-east-1", "123456789012", id, "u");
            assert!(err.starts_with("the resource id "), "{err}");
            assert!(err.contains("DbiResourceId"), "{err}");
            assert!(!err.contains('\n'), "{err}");
        }
        assert!(try_new("US-EAST-1", "123456789012", "db-A", "u").starts_with("the region "));
        assert!(try_new("us-east-1", "123456789012", "db-A", "").starts_with("the user name "));
        assert!(
            try_new("us-east-1", "123456789012", "db-A", "a\u{1b}b").starts_with("the user name ")
        );
        for id in ["db-ABC123", "cluster-XYZ", "prx-0123456789abcdef0", "*"] {
            assert_eq!(validate_resource_id(id), Ok(()), "{id}");
        }
    }

    #[test]
    fn lays_out_one_resource_as_a_string_and_several_as_an_array() {
        let one = PolicyDocument::new(vec![arn("us-east-1", "app")]).to_json();
        assert_eq!(
            one,
            r#"{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "rds-db:connect",
            "Resource": "arn:aws:rds-db:us-east-1:123456789012:dbuser:db-ABCDEFGHIJKL01234/app"
        }
    ]
}
"#
        );
        let two = PolicyDocument::new(vec![
            arn("us-east-1", "app"),
            arn("us-east-1", "report"),
            arn("us-east-1", "app"),
        ]);
        assert_eq!(two.resources().len(), 2);
        assert!(two.to_json().contains(
            "            \"Resource\": [\n                \"arn:aws:rds-db:us-east-1:123456789012:dbuser:db-ABCDEFGHIJKL01234/app\",\n                \"arn:aws:rds-db:us-east-1:123456789012:dbuser:db-ABCDEFGHIJKL01234/report\"\n            ]\n"
        ));
    }

    #[test]
    fn escapes_quotes_and_backslashes_in_a_user_name() {
        let json = PolicyDocument::new(vec![arn("us-east-1", "a\"b\\c")]).to_json();
        assert!(json.contains(r#"/a\"b\\c""#), "{json}");
    }
}
