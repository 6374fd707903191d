//! Flags several commands share, each group one flattened struct: what a
//! token is made for, how a client connects, and the AWS CLI's global options.

use std::ffi::OsString;

use clap::Args;

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

    /// How long the token is valid, in seconds: 1 to 900.
    #[arg(long, value_name = "SECONDS", default_value = "900")]
    pub expires_in: OsString,

    #[command(flatten)]
    pub signing: SigningArgs,
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
    /// endpoint, so, as in the AWS CLI, this has no effect on it; `policy`
    /// sends its RDS calls there.
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

/// Where the region and credentials come from: one set of flags for every
/// command that signs or calls AWS with the credential chain (the token
/// kinds, `exec`, `refresh`, `doctor`, `policy`).
#[derive(Debug, Args)]
pub struct SigningArgs {
    /// The region [default: AWS_REGION, AWS_DEFAULT_REGION, the profile's
    /// region, or the region in an RDS or Aurora DSQL endpoint name].
    #[arg(long, value_name = "REGION")]
    pub region: Option<OsString>,

    /// The profile in the shared AWS config and credentials files
    /// [default: AWS_PROFILE, else "default"].
    #[arg(long, value_name = "NAME")]
    pub profile: Option<OsString>,

    /// Trace on stderr where the credentials and region came from, and what
    /// was signed or found. Never prints secrets or the token.
    #[arg(long)]
    pub debug: bool,
}

/// What an ElastiCache or MemoryDB token is made for: the IAM-enabled user.
#[derive(Debug, Args)]
pub struct CacheUserArgs {
    /// The IAM-enabled user's id (1 to 40 letters, digits and hyphens). It
    /// must also be the user's name, the one the client sends with AUTH
    /// (`--user`): AWS checks the token against the name it is sent with.
    #[arg(long, value_name = "USER_ID", required = true)]
    pub user_id: Option<OsString>,

    /// How long the token is valid, in seconds: 1 to 900 (the most
    /// ElastiCache and MemoryDB accept).
    #[arg(long, value_name = "SECONDS", default_value = "900")]
    pub expires_in: OsString,
}

/// Where a Valkey or Redis OSS client connects, and how it checks the server.
#[derive(Debug, Args)]
#[command(next_help_heading = "Connection")]
pub struct CacheConnectArgs {
    /// The endpoint to connect to, HOST or HOST:PORT [default port: 6379],
    /// e.g. the cache's configuration or primary endpoint
    /// (master.my-cache.abc123.use1.cache.amazonaws.com:6379), or a tunnel's
    /// 127.0.0.1:16379. A cache name is not a host name, so this is
    /// separate from it.
    #[arg(long, value_name = "HOST:PORT", required = true)]
    pub endpoint: Option<OsString>,

    /// A PEM file of CA certificates to trust for the server's certificate,
    /// handed to the client as --cacert, instead of the Amazon Trust Services
    /// roots this tool carries (`rds-auth-token ca-bundle --rds-proxy`),
    /// which ElastiCache and MemoryDB certificates chain to.
    #[arg(long, value_name = "FILE")]
    pub ssl_ca: Option<OsString>,
}
