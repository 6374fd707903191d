//! The launch plan of a database client for `exec`: the program, its
//! arguments and environment, and the option file it reads. Running it is
//! the command line's (`rds-auth-token exec`).
//!
//! The token goes to libpq clients in `PGPASSWORD`, to MySQL and MariaDB
//! clients in an option file read from a pipe (`--defaults-extra-file=/dev/fd/N`),
//! and to other programs in the variable `--env-var` names: never in the
//! client's arguments, which every user of the machine can read in the
//! process list, and never in a file on disk.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::endpoint::Via;
use crate::engine::Engine;
use crate::password_file::{MysqlClient, MysqlOptionFile};

/// What `exec` was asked to run, checked.
#[derive(Debug)]
pub struct ExecOptions {
    /// The program and its arguments; never empty.
    pub client: Vec<OsString>,
    pub engine: Option<Engine>,
    pub env_var: Option<OsString>,
    pub allow_insecure_tls_modes: bool,
}

/// libpq's `sslmode` values that may send the password without TLS.
const CLEAR_TEXT_SSLMODES: [&str; 3] = ["disable", "allow", "prefer"];

/// The client's program, arguments and the environment variables to set,
/// worked out before the token is made, so that a usage error costs no
/// credentials lookup. Its `Debug` form shows the names of the variables,
/// not their values (one is the token).
#[derive(PartialEq, Eq)]
pub struct Launch {
    pub program: OsString,
    pub args: Vec<OsString>,
    pub env: Vec<(OsString, OsString)>,
    /// The variables that get the token.
    pub token_vars: Vec<OsString>,
    /// For MySQL and MariaDB clients: the option file, without the token
    /// until [`Launch::with_token`], handed over through a pipe.
    pub option_file: Option<OptionFile>,
}

/// A MySQL option file's settings, and the password once
/// [`Launch::with_token`] has put it in; `Debug` leaves the password out.
#[derive(Clone, PartialEq, Eq)]
pub struct OptionFile {
    pub client: MysqlClient,
    pub user: String,
    pub host: String,
    pub port: u16,
    pub ssl_ca: Option<PathBuf>,
    pub verify_identity: bool,
    /// Set by [`Launch::with_token`].
    pub password: String,
}

impl std::fmt::Debug for Launch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Launch")
            .field("program", &self.program)
            .field("args", &self.args)
            .field("env", &self.env_names())
            .field("option_file", &self.option_file)
            .finish()
    }
}

impl std::fmt::Debug for OptionFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OptionFile")
            .field("client", &self.client)
            .field("user", &self.user)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("ssl_ca", &self.ssl_ca)
            .field("verify_identity", &self.verify_identity)
            .finish_non_exhaustive()
    }
}

impl OptionFile {
    /// The file's text.
    pub fn render(&self) -> String {
        MysqlOptionFile {
            client: self.client,
            user: &self.user,
            password: &self.password,
            host: &self.host,
            port: self.port,
            ssl_ca: self.ssl_ca.as_deref(),
            verify_identity: self.verify_identity,
            // The token travels only over the TCP connection whose
            // certificate the client checks, also to `localhost`.
            tcp_only: true,
        }
        .render()
    }
}

impl Launch {
    /// The names of the variables set, for `--debug` (values are secret).
    pub fn env_names(&self) -> Vec<String> {
        let names = self.env.iter().map(|(k, _)| k).chain(&self.token_vars);
        names.map(|k| k.to_string_lossy().into_owned()).collect()
    }

    /// Puts the token in the variables and the option file that get it.
    pub fn with_token(mut self, token: &str) -> Launch {
        for var in std::mem::take(&mut self.token_vars) {
            self.env.push((var, token.into()));
        }
        if let Some(file) = &mut self.option_file {
            file.password = token.to_owned();
        }
        self
    }
}

/// Which MySQL-family client a program is: their flags differ.
pub type MysqlFamily = MysqlClient;

/// Why no launch plan was made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError<E> {
    /// `PGSSLMODE` names a mode that may send the token without TLS.
    #[error("PGSSLMODE={0} can send the token in clear text; unset PGSSLMODE (verify-full is the default) or set it to verify-full, verify-ca or require")]
    ClearTextSslMode(String),
    /// Neither the program, nor the engine asked for, nor the port tells
    /// the engine, and no variable was named for the token.
    #[error("cannot tell which database {} is a client of; give the engine, or a variable to hand it the token in", .0.display())]
    UnknownClient(PathBuf),
    /// The CA file could not be had.
    #[error(transparent)]
    CaFile(E),
}

/// What the client connects to.
pub struct Target<'a> {
    pub hostname: &'a str,
    pub port: u16,
    pub username: &'a str,
    /// The tunnel to connect through, if any.
    pub via: Option<Via>,
}

/// Works out the client's arguments and environment.
///
/// `env` reads the caller's environment (for `PGSSLMODE` and
/// `PGSSLROOTCERT`); `family` tells a MySQL client from a MariaDB one;
/// `ssl_ca` is the CA file the user named, if any, which wins over
/// `PGSSLROOTCERT`; `ca_file` gives the CA file clients verify the server
/// with (that one, else the bundle, written when first asked for).
///
/// # Errors
/// [`PlanError`]: the engine cannot be told, `PGSSLMODE` is a mode that can
/// send the token in clear text, or `ca_file` failed.
pub fn plan<E>(
    options: &ExecOptions,
    ssl_ca: Option<&Path>,
    target: &Target,
    env: impl Fn(&str) -> Option<OsString>,
    family: impl Fn(&OsStr) -> MysqlFamily,
    ca_file: impl FnOnce() -> Result<PathBuf, E>,
) -> Result<Launch, PlanError<E>> {
    let (program, user_args) = options
        .client
        .split_first()
        .expect("clap requires a client");
    let known = Engine::from_client(program);
    let engine = options.engine.or(known).or_else(|| {
        // A client this tool does not know gets the token where --env-var
        // says; only without it does the port choose the engine's variables.
        options
            .env_var
            .is_none()
            .then(|| Engine::from_port(target.port))
            .flatten()
    });
    let mut launch = Launch {
        program: program.clone(),
        args: Vec::new(),
        env: Vec::new(),
        token_vars: Vec::new(),
        option_file: None,
    };
    let mut token_vars: Vec<OsString> = Vec::new();
    let mut env_set: Vec<(OsString, OsString)> = Vec::new();
    let mut set = |k: &str, v: &OsStr| env_set.push((k.into(), v.to_owned()));
    let port = target.via.map_or(target.port, |v| v.port);
    match engine {
        Some(Engine::Postgres) => {
            set("PGHOST", target.hostname.as_ref());
            if let Some(via) = target.via {
                // libpq connects to hostaddr and checks the certificate
                // against host.
                set("PGHOSTADDR", via.ip.to_string().as_ref());
            }
            set("PGPORT", port.to_string().as_ref());
            set("PGUSER", target.username.as_ref());
            token_vars.push("PGPASSWORD".into());
            let needs_root_cert = match env("PGSSLMODE") {
                None => {
                    set("PGSSLMODE", "verify-full".as_ref());
                    true
                }
                Some(mode) => {
                    let mode = mode.to_string_lossy();
                    if CLEAR_TEXT_SSLMODES.contains(&mode.as_ref())
                        && !options.allow_insecure_tls_modes
                    {
                        return Err(PlanError::ClearTextSslMode(mode.into_owned()));
                    }
                    mode.starts_with("verify-")
                }
            };
            // --ssl-ca wins over PGSSLROOTCERT; the bundle does not.
            if ssl_ca.is_some() || (needs_root_cert && env("PGSSLROOTCERT").is_none()) {
                set(
                    "PGSSLROOTCERT",
                    ca_file().map_err(PlanError::CaFile)?.as_os_str(),
                );
            }
        }
        Some(Engine::Mysql) if known == Some(Engine::Mysql) => {
            set("LIBMYSQL_ENABLE_CLEARTEXT_PLUGIN", "1".as_ref());
            let ssl_ca = if options.allow_insecure_tls_modes {
                None
            } else {
                Some(ca_file().map_err(PlanError::CaFile)?)
            };
            launch.option_file = Some(OptionFile {
                client: family(program),
                user: target.username.to_owned(),
                host: target
                    .via
                    .map_or_else(|| target.hostname.to_owned(), |v| v.ip.to_string()),
                port,
                ssl_ca,
                verify_identity: target.via.is_none(),
                password: String::new(),
            });
        }
        Some(Engine::Mysql) => {
            // A program this tool does not know reads what MySQL's
            // libraries read from the environment.
            token_vars.push("MYSQL_PWD".into());
            set("LIBMYSQL_ENABLE_CLEARTEXT_PLUGIN", "1".as_ref());
            let host = target
                .via
                .map_or_else(|| target.hostname.to_owned(), |v| v.ip.to_string());
            set("MYSQL_HOST", host.as_ref());
            set("MYSQL_TCP_PORT", port.to_string().as_ref());
        }
        None if options.env_var.is_none() => {
            return Err(PlanError::UnknownClient(PathBuf::from(program)));
        }
        None => {}
    }
    launch.env = env_set;
    token_vars.extend(options.env_var.iter().cloned());
    launch.token_vars = token_vars;
    launch.args.extend(user_args.iter().cloned());
    Ok(launch)
}

/// The Valkey and Redis OSS clients whose flags this tool knows.
const CACHE_CLIENTS: [&str; 2] = ["redis-cli", "valkey-cli"];

/// Where a Valkey or Redis OSS client connects and as whom.
pub struct CacheTarget<'a> {
    pub host: &'a str,
    pub port: u16,
    /// The user id, which is also the user name sent with AUTH.
    pub user: &'a str,
    /// The CA file the server's certificate is checked against.
    pub ca_file: &'a Path,
}

/// Works out an ElastiCache or MemoryDB client's arguments: `redis-cli` and
/// `valkey-cli` get `-h`, `-p`, `--tls`, `--cacert` and `--user` ahead of
/// the user's own arguments, and read the token from `REDISCLI_AUTH`; any
/// other program gets `REDISCLI_AUTH` alone. The token is never an
/// argument.
pub fn plan_cache_client(client: &[OsString], target: &CacheTarget) -> Launch {
    let (program, user_args) = client.split_first().expect("clap requires a client");
    let known = Path::new(program)
        .file_name()
        .and_then(OsStr::to_str)
        .is_some_and(|name| CACHE_CLIENTS.contains(&name));
    let mut args: Vec<OsString> = Vec::new();
    if known {
        args.extend(
            [
                "-h",
                target.host,
                "-p",
                &target.port.to_string(),
                "--tls",
                "--cacert",
            ]
            .map(OsString::from),
        );
        args.push(target.ca_file.as_os_str().to_owned());
        args.extend(["--user", target.user].map(OsString::from));
    }
    args.extend(user_args.iter().cloned());
    Launch {
        program: program.clone(),
        args,
        env: Vec::new(),
        token_vars: vec!["REDISCLI_AUTH".into()],
        option_file: None,
    }
}

/// Tells MariaDB's clients from MySQL's: by name, else by what
/// `PROGRAM --version` says (Debian's `mysql` is MariaDB's).
pub fn mysql_family(program: &OsStr) -> MysqlFamily {
    let name = Path::new(program).file_name().unwrap_or(program);
    if name.to_string_lossy().starts_with("mariadb") {
        return MysqlFamily::Mariadb;
    }
    match Command::new(program).arg("--version").output() {
        Ok(out) if String::from_utf8_lossy(&out.stdout).contains("MariaDB") => MysqlFamily::Mariadb,
        _ => MysqlFamily::Mysql,
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use super::*;

    const TARGET: Target = Target {
        hostname: "db.example.com",
        port: 5432,
        username: "app",
        via: None,
    };

    const BUNDLE: &str = "/home/u/.cache/rds-auth-token/rds-ca-bundle-0.pem";

    /// `plan` with the bundle as the CA file, then the token "TOKEN" put in place.
    fn planned(
        options: &ExecOptions,
        target: &Target,
        env: impl Fn(&str) -> Option<OsString>,
        family: impl Fn(&OsStr) -> MysqlFamily,
    ) -> Result<Launch, PlanError<Infallible>> {
        planned_with(options, None, target, env, family)
    }

    fn planned_with(
        options: &ExecOptions,
        ssl_ca: Option<&Path>,
        target: &Target,
        env: impl Fn(&str) -> Option<OsString>,
        family: impl Fn(&OsStr) -> MysqlFamily,
    ) -> Result<Launch, PlanError<Infallible>> {
        let ca = || Ok(ssl_ca.map_or_else(|| BUNDLE.into(), Path::to_path_buf));
        plan(options, ssl_ca, target, env, family, ca).map(|launch| launch.with_token("TOKEN"))
    }

    fn options(client: &[&str]) -> ExecOptions {
        ExecOptions {
            client: client.iter().map(OsString::from).collect(),
            engine: None,
            env_var: None,
            allow_insecure_tls_modes: false,
        }
    }

    fn env_of(launch: &Launch, name: &str) -> Option<String> {
        launch
            .env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.to_string_lossy().into_owned())
    }

    fn no_env(_: &str) -> Option<OsString> {
        None
    }

    #[test]
    fn gives_psql_the_libpq_variables_and_verifies_the_server_against_the_bundle() {
        let launch = planned(
            &options(&["psql", "-d", "app"]),
            &TARGET,
            no_env,
            |_| unreachable!(),
        )
        .unwrap();
        assert_eq!(launch.program, "psql");
        assert_eq!(launch.args, ["-d", "app"]);
        for (k, v) in [
            ("PGHOST", "db.example.com"),
            ("PGPORT", "5432"),
            ("PGUSER", "app"),
            ("PGPASSWORD", "TOKEN"),
            ("PGSSLMODE", "verify-full"),
            ("PGSSLROOTCERT", BUNDLE),
        ] {
            assert_eq!(env_of(&launch, k).as_deref(), Some(v), "{k}");
        }
        assert_eq!(env_of(&launch, "PGHOSTADDR"), None);
    }

    #[test]
    fn keeps_a_users_safe_sslmode_and_root_cert_and_refuses_clear_text_modes() {
        let verify = |k: &str| match k {
            "PGSSLMODE" => Some(OsString::from("verify-full")),
            "PGSSLROOTCERT" => Some(OsString::from("/my/ca.pem")),
            _ => None,
        };
        let launch = planned(&options(&["psql"]), &TARGET, verify, |_| unreachable!()).unwrap();
        assert_eq!(
            (
                env_of(&launch, "PGSSLMODE"),
                env_of(&launch, "PGSSLROOTCERT")
            ),
            (None, None),
            "the user's own settings are left to the client"
        );
        let verify_ca = |k: &str| (k == "PGSSLMODE").then(|| OsString::from("verify-ca"));
        let launch = planned(&options(&["psql"]), &TARGET, verify_ca, |_| unreachable!()).unwrap();
        assert_eq!(env_of(&launch, "PGSSLROOTCERT").as_deref(), Some(BUNDLE));
        let require = |k: &str| (k == "PGSSLMODE").then(|| OsString::from("require"));
        let launch = planned(&options(&["psql"]), &TARGET, require, |_| unreachable!()).unwrap();
        assert_eq!(
            env_of(&launch, "PGSSLROOTCERT"),
            None,
            "a root certificate would turn the user's require into verify-ca"
        );
        for mode in CLEAR_TEXT_SSLMODES {
            let env = |k: &str| (k == "PGSSLMODE").then(|| OsString::from(mode));
            let err =
                planned(&options(&["pg_dump"]), &TARGET, env, |_| unreachable!()).unwrap_err();
            assert!(matches!(err, PlanError::ClearTextSslMode(_)), "{err}");
            assert!(err.to_string().starts_with(&format!(
                "PGSSLMODE={mode} can send the token in clear text"
            )));
            let mut insecure = options(&["pg_dump"]);
            insecure.allow_insecure_tls_modes = true;
            assert!(planned(&insecure, &TARGET, env, |_| unreachable!()).is_ok());
        }
    }

    #[test]
    fn ssl_ca_wins_over_the_users_pgsslrootcert() {
        let env = |k: &str| (k == "PGSSLROOTCERT").then(|| OsString::from("/theirs.pem"));
        let launch = planned_with(
            &options(&["psql"]),
            Some(Path::new("/etc/ours.pem")),
            &TARGET,
            env,
            |_| unreachable!(),
        )
        .unwrap();
        assert_eq!(
            env_of(&launch, "PGSSLROOTCERT").as_deref(),
            Some("/etc/ours.pem")
        );
    }

    #[test]
    fn connects_psql_through_a_tunnel_and_checks_the_rds_name() {
        let target = Target {
            via: Some(Via {
                ip: [127, 0, 0, 1].into(),
                port: 15432,
            }),
            ..TARGET
        };
        let launch = planned(&options(&["psql"]), &target, no_env, |_| unreachable!()).unwrap();
        for (k, v) in [
            ("PGHOST", "db.example.com"),
            ("PGHOSTADDR", "127.0.0.1"),
            ("PGPORT", "15432"),
            ("PGSSLMODE", "verify-full"),
        ] {
            assert_eq!(env_of(&launch, k).as_deref(), Some(v), "{k}");
        }
    }

    #[test]
    fn gives_mysql_clients_an_option_file_for_their_family_and_no_password_variable() {
        let target = Target {
            port: 3306,
            ..TARGET
        };
        let launch = planned(
            &options(&["mysql", "-e", "select 1"]),
            &target,
            no_env,
            |_| MysqlFamily::Mysql,
        )
        .unwrap();
        assert_eq!(launch.args, ["-e", "select 1"]);
        assert_eq!(env_of(&launch, "MYSQL_PWD"), None);
        let file = launch.option_file.unwrap();
        assert_eq!(
            file.render().split_once("[client]\n").unwrap().1,
            format!(
                "user=\"app\"\npassword=\"TOKEN\"\nhost=\"db.example.com\"\nport=3306\nprotocol=TCP\n\
                 enable-cleartext-plugin\nssl-ca=\"{BUNDLE}\"\nssl-mode=VERIFY_IDENTITY\n"
            )
        );
        let launch = planned(&options(&["mariadb-dump", "db"]), &target, no_env, |_| {
            MysqlFamily::Mariadb
        })
        .unwrap();
        assert_eq!(launch.args, ["db"]);
        assert!(launch
            .option_file
            .unwrap()
            .render()
            .ends_with("port=3306\nprotocol=TCP\nssl-ca=\"/home/u/.cache/rds-auth-token/rds-ca-bundle-0.pem\"\nssl-verify-server-cert\n"));
        let tunnel = Target {
            via: Some(Via {
                ip: [127, 0, 0, 1].into(),
                port: 13306,
            }),
            ..target
        };
        let launch = planned(&options(&["mysql"]), &tunnel, no_env, |_| {
            MysqlFamily::Mysql
        })
        .unwrap();
        let text = launch.option_file.unwrap().render();
        assert!(text.contains("host=\"127.0.0.1\"\nport=13306\n"), "{text}");
        assert!(text.ends_with("ssl-mode=VERIFY_CA\n"), "{text}");
    }

    #[test]
    fn never_puts_the_token_in_the_arguments() {
        for client in [["psql"], ["mysql"], ["mariadb"], ["custom-tool"]] {
            let mut opts = options(&client);
            opts.env_var = Some("DB_TOKEN".into());
            let launch = planned(&opts, &TARGET, no_env, |_| MysqlFamily::Mysql).unwrap();
            assert!(
                launch
                    .args
                    .iter()
                    .all(|a| !a.to_string_lossy().contains("TOKEN")),
                "{launch:?}"
            );
            assert_eq!(env_of(&launch, "DB_TOKEN").as_deref(), Some("TOKEN"));
        }
    }

    #[test]
    fn gives_redis_and_valkey_clients_tls_the_user_and_the_token_in_rediscli_auth() {
        let target = CacheTarget {
            host: "master.c.abc.use1.cache.amazonaws.com",
            port: 6380,
            user: "iam-user",
            ca_file: Path::new("/ca.pem"),
        };
        for program in ["redis-cli", "/usr/bin/valkey-cli"] {
            let client = [program, "PING"].map(OsString::from);
            let launch = plan_cache_client(&client, &target).with_token("TOKEN");
            assert_eq!(
                launch.args,
                [
                    "-h",
                    "master.c.abc.use1.cache.amazonaws.com",
                    "-p",
                    "6380",
                    "--tls",
                    "--cacert",
                    "/ca.pem",
                    "--user",
                    "iam-user",
                    "PING"
                ]
            );
            assert_eq!(env_of(&launch, "REDISCLI_AUTH").as_deref(), Some("TOKEN"));
            assert!(!format!("{launch:?}").contains("TOKEN"));
        }
        let other = plan_cache_client(&["python3", "app.py"].map(OsString::from), &target)
            .with_token("TOKEN");
        assert_eq!(other.args, ["app.py"]);
        assert_eq!(env_of(&other, "REDISCLI_AUTH").as_deref(), Some("TOKEN"));
    }

    #[test]
    fn shows_no_token_in_the_debug_form() {
        for client in ["psql", "mysql"] {
            let launch =
                planned(&options(&[client]), &TARGET, no_env, |_| MysqlFamily::Mysql).unwrap();
            let shown = format!("{launch:?}");
            assert!(!shown.contains("TOKEN"), "{shown}");
        }
    }

    #[test]
    fn hands_an_unknown_client_the_token_in_the_named_variable_only() {
        let mut opts = options(&["python3", "app.py"]);
        opts.env_var = Some("DB_PASSWORD".into());
        let launch = planned(&opts, &TARGET, no_env, |_| unreachable!()).unwrap();
        assert_eq!(
            launch.env,
            [(OsString::from("DB_PASSWORD"), OsString::from("TOKEN"))]
        );
        assert_eq!(launch.args, ["app.py"]);
    }

    #[test]
    fn uses_the_port_or_the_engine_flag_for_an_unknown_client() {
        let launch = planned(&options(&["python3"]), &TARGET, no_env, |_| unreachable!()).unwrap();
        assert_eq!(env_of(&launch, "PGPASSWORD").as_deref(), Some("TOKEN"));
        let other_port = Target {
            port: 6543,
            ..TARGET
        };
        let err = planned(
            &options(&["python3"]),
            &other_port,
            no_env,
            |_| unreachable!(),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot tell which database python3 is a client of; give the engine"),
            "{err}"
        );
        let mut forced = options(&["python3"]);
        forced.engine = Some(Engine::Mysql);
        let launch = planned(&forced, &other_port, no_env, |_| unreachable!()).unwrap();
        assert_eq!(env_of(&launch, "MYSQL_PWD").as_deref(), Some("TOKEN"));
        assert_eq!(env_of(&launch, "MYSQL_TCP_PORT").as_deref(), Some("6543"));
        assert!(launch.args.is_empty());
    }
}
