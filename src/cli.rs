//! The command-line definition: flags named as `aws rds generate-db-auth-token` names them.

use std::ffi::OsString;

use clap::Parser;

/// Make an AWS IAM authentication token for an RDS or Aurora database.
///
/// The token is the password for one login within its lifetime (15 minutes
/// by default). It is printed on stdout followed by a newline, and nothing
/// else is: use it as `PGPASSWORD=$(rds-auth-token ...) psql ...` or
/// `mysql --password="$(rds-auth-token ...)" --enable-cleartext-plugin ...`.
///
/// The flags are those of `aws rds generate-db-auth-token`, and for the same
/// credentials, inputs and signing time the token is the same, byte for byte.
/// Credentials come from the standard AWS provider chain: environment,
/// shared config and credentials files (profiles, IAM Identity Center,
/// assume-role, web identity, credential_process), container credentials,
/// and EC2 instance metadata.
#[derive(Debug, Parser)]
#[command(name = "rds-auth-token", version, max_term_width = 100)]
pub struct Cli {
    /// The database endpoint host name, exactly as RDS shows it, without
    /// scheme, port or path
    /// (e.g. mydb.123456789012.us-east-1.rds.amazonaws.com).
    #[arg(long, value_name = "HOSTNAME")]
    pub hostname: OsString,

    /// The database port, 1 to 65535 (PostgreSQL 5432, MySQL 3306).
    #[arg(long, value_name = "PORT")]
    pub port: OsString,

    /// The database user to log in as.
    #[arg(long, value_name = "USERNAME", allow_hyphen_values = true)]
    pub username: OsString,

    /// The region to sign for [default: AWS_REGION, AWS_DEFAULT_REGION, the
    /// profile's region, or the region in an RDS endpoint name].
    #[arg(long, value_name = "REGION")]
    pub region: Option<OsString>,

    /// The profile in the shared AWS config and credentials files
    /// [default: AWS_PROFILE, else "default"].
    #[arg(long, value_name = "NAME")]
    pub profile: Option<OsString>,

    /// How long the token is valid, in seconds: 1 to 900.
    #[arg(long, value_name = "SECONDS", default_value = "900")]
    pub expires_in: OsString,

    /// Trace on stderr where the credentials and region came from, and the
    /// signing time and expiry. Never prints secrets or the token.
    #[arg(long)]
    pub debug: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    #[test]
    fn accepts_a_user_name_that_starts_with_a_hyphen() {
        let cli = Cli::try_parse_from([
            "rds-auth-token",
            "--hostname",
            "h",
            "--port",
            "5432",
            "--username",
            "-x",
        ])
        .unwrap();
        assert_eq!(cli.username, "-x");
        let cli = Cli::try_parse_from([
            "rds-auth-token",
            "--hostname=h",
            "--port=5432",
            "--username=-x y",
        ])
        .unwrap();
        assert_eq!(cli.username, "-x y");
    }
}
