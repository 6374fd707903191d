//! The one action: find the region and credentials, sign, print the token.

use std::ffi::OsString;
use std::io::{self, Write};
use std::time::SystemTime;

use clap::error::ErrorKind;
use clap::Parser;
use rds_auth_token::credentials::{self, Profiles};
use rds_auth_token::{region, rfc3339, AuthToken, AuthTokenConfig};

use crate::ca_bundle_command;
use crate::cli::Cli;
use crate::exec::{self, Launch, Target};
use crate::exit_codes::ExitCode;
use crate::failure::Failure;
use crate::format::{self, Issued, Output};
use crate::inspect_command;
use crate::options::{Action, Request, TokenOptions};

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
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err)
            if matches!(
                err.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
            ) =>
        {
            return err
                .print()
                .map(|()| ExitCode::Success)
                .map_err(Failure::runtime);
        }
        Err(err) => return Err(Failure::from_clap(&err)),
    };
    let options = match Request::from_cli(cli).map_err(Failure::usage)? {
        Request::Token(options) => options,
        Request::Inspect(options) => return inspect_command::run(&options),
        Request::CaBundle(args) => return ca_bundle_command::run(&args),
    };
    let target = Target {
        hostname: &options.token.hostname,
        port: options.token.port,
        username: options.token.username.as_str(),
    };
    // Everything that can be wrong with the input is found before the
    // credentials are looked up.
    let plan = match options.action {
        Action::Print(output) => Plan::Print(output),
        Action::Exec(exec_options) => Plan::Exec(exec::plan(
            &exec_options,
            &target,
            |k| std::env::var_os(k),
            exec::mysql_family,
        )?),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Failure::runtime)?;
    let made = runtime.block_on(generate(&options.token))?;
    drop(runtime);
    match plan {
        Plan::Print(output) => {
            let issued = Issued {
                token: &made.token,
                hostname: target.hostname,
                port: target.port,
                username: target.username,
                region: &made.region,
                expires_at: made.expires_at,
            };
            write_stdout(
                &format::render(output, &issued, SystemTime::now()),
                "the token",
            )
            .map(|()| ExitCode::Success)
        }
        Plan::Exec(launch) => {
            if options.token.debug {
                eprintln!(
                    "rds-auth-token: debug: running {:?} with arguments {:?} and {}",
                    launch.program,
                    launch.args,
                    launch.env_names().join(", ")
                );
            }
            Err(exec::run(launch.with_token(made.token.as_str())))
        }
    }
}

/// What happens to the token once it is made.
enum Plan {
    Print(Output),
    Exec(Launch),
}

/// A token and what it was made with.
struct Made {
    token: AuthToken,
    region: String,
    expires_at: SystemTime,
}

async fn generate(options: &TokenOptions) -> Result<Made, Failure> {
    let debug = |message: std::fmt::Arguments| {
        if options.debug {
            eprintln!("rds-auth-token: debug: {message}");
        }
    };
    let profiles = Profiles::load(options.profile.as_deref())
        .await
        .map_err(Failure::runtime)?;
    let region = region::resolve(
        options.region.as_deref(),
        |var| std::env::var(var).ok(),
        profiles.region().map(|r| (profiles.selected(), r)),
        &options.hostname,
    )
    .map_err(Failure::usage)?;
    debug(format_args!(
        "region {} (from {})",
        region.name, region.source
    ));
    if let Some(host_region) = &region.hostname_disagrees {
        eprintln!(
            "rds-auth-token: warning: signing for {} (from {}), but the endpoint is in {host_region}; \
             the database will refuse this token, pass --region {host_region}",
            region.name, region.source
        );
    }

    let resolved = credentials::resolve(&profiles, &region.name, SystemTime::now(), &options.chain)
        .await
        .map_err(Failure::runtime)?;
    let creds = resolved.credentials();
    debug(format_args!(
        "credentials from {} (profile '{}' from {}): access key {}, session token {}, expire {}",
        resolved.source(),
        profiles.selected(),
        profiles.origin(),
        creds.access_key_id(),
        if creds.session_token().is_some() {
            "present"
        } else {
            "absent"
        },
        creds.expiry().map_or_else(|| "never".to_owned(), rfc3339),
    ));

    let config = AuthTokenConfig::builder()
        .hostname(&options.hostname)
        .port(options.port)
        .username(options.username.as_str())
        .region(&region.name)
        .expires_in_secs(options.expires_in.as_secs())
        .build()
        .map_err(Failure::usage)?;
    let signed_at = SystemTime::now();
    let token = config
        .generate(creds, signed_at)
        .map_err(Failure::runtime)?;
    let expires_at = signed_at + options.expires_in.as_duration();
    debug(format_args!(
        "signed at {} for {} seconds, expires at {}",
        rfc3339(signed_at),
        options.expires_in.as_secs(),
        rfc3339(expires_at),
    ));
    if let Some(cred_expiry) = creds.expiry().filter(|e| *e < expires_at) {
        eprintln!(
            "rds-auth-token: warning: the credentials expire at {}, before the token does; the token stops working then",
            rfc3339(cred_expiry)
        );
    }
    Ok(Made {
        token,
        region: region.name,
        expires_at,
    })
}

/// Writes the output in one write. A closed stdout (`| true`) is not an
/// error: whoever wanted the token has gone.
pub fn write_stdout(text: &str, what: &str) -> Result<(), Failure> {
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(err) if err.kind() != io::ErrorKind::BrokenPipe => Err(Failure::runtime(
            anyhow::Error::new(err).context(format!("could not write {what} to stdout")),
        )),
        _ => Ok(()),
    }
}
