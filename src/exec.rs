//! `rds-auth-token exec`: what a database client is run with, and running it.
//!
//! The token goes to the client in its environment (`PGPASSWORD`,
//! `MYSQL_PWD`, or the variable `--env-var` names), never in its arguments,
//! which every user of the machine can read in the process list, and never
//! in a file.

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::Command;

use anyhow::anyhow;

use crate::engine::Engine;
use crate::exit_codes::ExitCode;
use crate::failure::Failure;
use crate::options::ExecOptions;

/// libpq's `sslmode` values that may send the password without TLS.
const CLEAR_TEXT_SSLMODES: [&str; 3] = ["disable", "allow", "prefer"];

/// The client's program, arguments and the environment variables to set,
/// worked out before the token is made, so that a usage error costs no
/// credentials lookup.
#[derive(Debug, PartialEq, Eq)]
pub struct Launch {
    pub program: OsString,
    pub args: Vec<OsString>,
    pub env: Vec<(OsString, OsString)>,
    /// The variables that get the token.
    pub token_vars: Vec<OsString>,
}

impl Launch {
    /// The names of the variables set, for `--debug` (values are secret).
    pub fn env_names(&self) -> Vec<String> {
        let names = self.env.iter().map(|(k, _)| k).chain(&self.token_vars);
        names.map(|k| k.to_string_lossy().into_owned()).collect()
    }

    /// Puts the token in the variables that get it.
    pub fn with_token(mut self, token: &str) -> Launch {
        for var in std::mem::take(&mut self.token_vars) {
            self.env.push((var, token.into()));
        }
        self
    }
}

/// Which MySQL-family client a program is: their flags differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MysqlFamily {
    Mysql,
    Mariadb,
}

/// What the client connects to.
pub struct Target<'a> {
    pub hostname: &'a str,
    pub port: u16,
    pub username: &'a str,
}

/// Works out the client's arguments and environment.
///
/// `env` reads the caller's environment (for `PGSSLMODE`); `family` tells a
/// MySQL client from a MariaDB one.
///
/// # Errors
/// A usage failure when the engine cannot be told, or when `PGSSLMODE` is a
/// mode that can send the token in clear text.
pub fn plan(
    options: &ExecOptions,
    target: &Target,
    env: impl Fn(&str) -> Option<OsString>,
    family: impl Fn(&OsStr) -> MysqlFamily,
) -> Result<Launch, Failure> {
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
    };
    let mut token_vars: Vec<OsString> = Vec::new();
    let mut set = |k: &str, v: &str| launch.env.push((k.into(), v.into()));
    match engine {
        Some(Engine::Postgres) => {
            set("PGHOST", target.hostname);
            set("PGPORT", &target.port.to_string());
            set("PGUSER", target.username);
            token_vars.push("PGPASSWORD".into());
            match env("PGSSLMODE") {
                None => set("PGSSLMODE", "require"),
                Some(mode) => {
                    let mode = mode.to_string_lossy();
                    if CLEAR_TEXT_SSLMODES.contains(&mode.as_ref())
                        && !options.allow_insecure_tls_modes
                    {
                        return Err(Failure::usage(anyhow!(
                            "PGSSLMODE={mode} can send the token in clear text; unset PGSSLMODE or set it to require, verify-ca or verify-full"
                        )));
                    }
                }
            }
        }
        Some(Engine::Mysql) => {
            token_vars.push("MYSQL_PWD".into());
            set("LIBMYSQL_ENABLE_CLEARTEXT_PLUGIN", "1");
            if known == Some(Engine::Mysql) {
                launch.args.extend(mysql_args(
                    target,
                    family(program),
                    options.allow_insecure_tls_modes,
                ));
            } else {
                set("MYSQL_HOST", target.hostname);
                set("MYSQL_TCP_PORT", &target.port.to_string());
            }
        }
        None if options.env_var.is_none() => {
            return Err(Failure::usage(anyhow!(
                "cannot tell which database {} is a client of; pass --engine postgres or --engine mysql, or --env-var NAME to hand it the token in that variable",
                Path::new(program).display()
            )));
        }
        None => {}
    }
    token_vars.extend(options.env_var.iter().cloned());
    launch.token_vars = token_vars;
    launch.args.extend(user_args.iter().cloned());
    Ok(launch)
}

/// Host, port and user, the clear-text password plugin (RDS for MySQL checks
/// the token as a clear-text password) and TLS (without which that plugin
/// would send the token in the open), as each client family spells them.
fn mysql_args(target: &Target, family: MysqlFamily, allow_insecure: bool) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![
        format!("--host={}", target.hostname).into(),
        format!("--port={}", target.port).into(),
        format!("--user={}", target.username).into(),
    ];
    match family {
        MysqlFamily::Mysql => {
            args.push("--enable-cleartext-plugin".into());
            if !allow_insecure {
                args.push("--ssl-mode=REQUIRED".into());
            }
        }
        MysqlFamily::Mariadb => {
            if !allow_insecure {
                args.push("--ssl-verify-server-cert".into());
            }
        }
    }
    args
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

/// Runs the client. On Unix it replaces this process, so this returns only
/// when the client could not be started.
pub fn run(launch: Launch) -> Failure {
    let mut command = Command::new(&launch.program);
    command
        .args(&launch.args)
        .envs(launch.env.iter().map(|(k, v)| (k, v)));
    let shown = Path::new(&launch.program).display().to_string();
    let failed = |err: std::io::Error| {
        let code = match err.kind() {
            std::io::ErrorKind::NotFound => ExitCode::CommandNotFound,
            std::io::ErrorKind::PermissionDenied => ExitCode::CannotExecute,
            _ => ExitCode::Failure,
        };
        let hint = match code {
            ExitCode::CommandNotFound => "; install it or check PATH",
            _ => "",
        };
        Failure::with_code(code, anyhow!("could not run {shown:?}: {err}{hint}"))
    };
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        failed(command.exec())
    }
    #[cfg(not(unix))]
    {
        match command.status() {
            Ok(status) => std::process::exit(status.code().unwrap_or(1)),
            Err(err) => failed(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TARGET: Target = Target {
        hostname: "db.example.com",
        port: 5432,
        username: "app",
    };

    /// `plan`, then the token "TOKEN" put in place.
    fn planned(
        options: &ExecOptions,
        target: &Target,
        env: impl Fn(&str) -> Option<OsString>,
        family: impl Fn(&OsStr) -> MysqlFamily,
    ) -> Result<Launch, Failure> {
        plan(options, target, env, family).map(|launch| launch.with_token("TOKEN"))
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
    fn gives_psql_the_libpq_variables_and_requires_tls() {
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
            ("PGSSLMODE", "require"),
        ] {
            assert_eq!(env_of(&launch, k).as_deref(), Some(v), "{k}");
        }
    }

    #[test]
    fn keeps_a_users_safe_sslmode_and_refuses_clear_text_ones() {
        let verify = |k: &str| (k == "PGSSLMODE").then(|| OsString::from("verify-full"));
        let launch = planned(&options(&["psql"]), &TARGET, verify, |_| unreachable!()).unwrap();
        assert_eq!(
            env_of(&launch, "PGSSLMODE"),
            None,
            "the user's own mode is left to the client"
        );
        for mode in CLEAR_TEXT_SSLMODES {
            let env = |k: &str| (k == "PGSSLMODE").then(|| OsString::from(mode));
            let err =
                planned(&options(&["pg_dump"]), &TARGET, env, |_| unreachable!()).unwrap_err();
            assert_eq!(err.code, ExitCode::Usage);
            assert!(err.to_string().starts_with(&format!(
                "PGSSLMODE={mode} can send the token in clear text"
            )));
            let mut insecure = options(&["pg_dump"]);
            insecure.allow_insecure_tls_modes = true;
            assert!(planned(&insecure, &TARGET, env, |_| unreachable!()).is_ok());
        }
    }

    #[test]
    fn gives_mysql_clients_flags_for_their_family_and_the_token_in_mysql_pwd() {
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
        assert_eq!(
            launch.args,
            [
                "--host=db.example.com",
                "--port=3306",
                "--user=app",
                "--enable-cleartext-plugin",
                "--ssl-mode=REQUIRED",
                "-e",
                "select 1"
            ]
        );
        assert_eq!(env_of(&launch, "MYSQL_PWD").as_deref(), Some("TOKEN"));
        let launch = planned(&options(&["mariadb-dump", "db"]), &target, no_env, |_| {
            MysqlFamily::Mariadb
        })
        .unwrap();
        assert_eq!(
            launch.args,
            [
                "--host=db.example.com",
                "--port=3306",
                "--user=app",
                "--ssl-verify-server-cert",
                "db"
            ]
        );
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
                .starts_with("cannot tell which database python3 is a client of; pass --engine"),
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
