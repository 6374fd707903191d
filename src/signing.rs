//! The one action: find the region and credentials, sign, print the token.

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::PathBuf;
use std::time::SystemTime;

use clap::error::ErrorKind;
use clap::Parser;
use rds_auth_token::credentials::{self, Profiles};
use rds_auth_token::tls::{self, Bundle};
use rds_auth_token::{
    region, rfc3339, AuthToken, AuthTokenConfig, TokenLifetime, MIN_CREDENTIAL_LIFETIME,
};

use crate::ca_bundle_command;
use crate::cache_command;
use crate::cli::Cli;
use crate::exec::{self, Launch, Target};
use crate::exit_codes::ExitCode;
use crate::failure::Failure;
use crate::format::{self, Issued, Output};
use crate::inspect_command;
use crate::options::{Action, ConnectOptions, Request, TokenOptions};
use crate::refresh_command;

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
        Request::CacheClear => return cache_command::clear(),
        Request::CaBundle(args) => return ca_bundle_command::run(&args),
        Request::Refresh(options) => return refresh_command::run(&options),
    };
    let target = Target {
        hostname: &options.token.hostname,
        port: options.token.port,
        username: options.token.username.as_str(),
        via: options.connect.via,
    };
    // Everything that can be wrong with the input is found before the
    // credentials are looked up.
    let ca_file = || ca_file(&options.connect, &options.token.hostname);
    let plan = match options.action {
        Action::Print(output) => {
            // Only the formats that tell a client how to connect need the
            // CA file: the bare token's start-up stays free of file writes.
            let ca = match output {
                Output::Env(_) | Output::Uri(_) => Some(ca_file()?),
                _ => None,
            };
            Plan::Print(output, ca)
        }
        Action::Exec(exec_options) => Plan::Exec(exec::plan(
            &exec_options,
            &options.connect,
            &target,
            |k| std::env::var_os(k),
            exec::mysql_family,
            ca_file,
        )?),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Failure::runtime)?;
    let made = runtime.block_on(generate(&options.token))?;
    drop(runtime);
    match plan {
        Plan::Print(output, ca) => {
            let issued = Issued {
                token: &made.token,
                hostname: target.hostname,
                port: target.port,
                username: target.username,
                region: &made.region,
                expires_at: made.expires_at,
                credential_expiration: made.credential_expiration,
                ca_file: ca.as_deref(),
                via: target.via,
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
                    "rds-auth-token: debug: running {:?} with arguments {:?} and {}{}",
                    launch.program,
                    launch.args,
                    launch.env_names().join(", "),
                    if launch.option_file.is_some() {
                        ", and an option file (user, password, host, port, TLS) read through a pipe"
                    } else {
                        ""
                    }
                );
            }
            Err(exec::run(launch.with_token(made.token.as_str())))
        }
    }
}

/// What happens to the token once it is made.
enum Plan {
    Print(Output, Option<PathBuf>),
    Exec(Launch),
}

/// The CA file clients verify the server with: `--ssl-ca`, else the bundle
/// for `hostname` (the Amazon roots for RDS Proxy), written to its private
/// file in the cache folder.
pub fn ca_file(connect: &ConnectOptions, hostname: &str) -> Result<PathBuf, Failure> {
    if let Some(path) = &connect.ssl_ca {
        return Ok(path.clone());
    }
    let folder = tls::cache_folder(|k| std::env::var_os(k)).map_err(Failure::runtime)?;
    tls::install(Bundle::for_hostname(hostname), &folder).map_err(Failure::runtime)
}

/// A token and what it was made with.
pub struct Made {
    pub token: AuthToken,
    pub region: String,
    pub expires_at: SystemTime,
    /// When the credentials that signed it expire, if they do.
    pub credential_expiration: Option<SystemTime>,
}

/// Finds the region and credentials and makes a token.
pub async fn generate(options: &TokenOptions) -> Result<Made, Failure> {
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

    let mut resolved =
        credentials::resolve(&profiles, &region.name, SystemTime::now(), &options.chain)
            .await
            .map_err(Failure::runtime)?;
    let mut signed_at = SystemTime::now();
    let mut lifetime = lifetime_with(&resolved, options, signed_at);
    if matches!(lifetime, TokenLifetime::CredentialsExpiring { .. }) {
        // Too close to expiry to sign with: fetch them again, past any cache.
        debug(format_args!(
            "credentials from {} expire within {} seconds; fetching them again",
            resolved.source(),
            MIN_CREDENTIAL_LIFETIME.as_secs()
        ));
        let fresh = options.chain.clone().no_cache(true);
        resolved = credentials::resolve(&profiles, &region.name, SystemTime::now(), &fresh)
            .await
            .map_err(Failure::runtime)?;
        signed_at = SystemTime::now();
        lifetime = lifetime_with(&resolved, options, signed_at);
    }
    let creds = resolved.credentials();
    debug(format_args!(
        "credentials from {} (profile '{}' from {}): access key {}, session token {}, expire {}{}",
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
        if resolved.from_cache() {
            ", from the cache"
        } else {
            ""
        },
    ));
    if let Some(note) = resolved.cache_note() {
        debug(format_args!("{note}"));
    }
    let expires_in = match lifetime {
        TokenLifetime::AsAsked(expires_in) => expires_in,
        TokenLifetime::Shortened { expires_in, asked } => {
            eprintln!(
                "rds-auth-token: warning: the credentials expire at {}, so the token is valid for {expires_in} seconds, not {asked}",
                creds.expiry().map_or_else(String::new, rfc3339),
            );
            expires_in
        }
        TokenLifetime::CredentialsExpiring { left } => {
            return Err(Failure::runtime(anyhow::anyhow!(
                "the credentials from {} expire at {}, {} seconds from now, too soon for a token to be of use, and fetching them again gave no later ones; refresh them at their source (for IAM Identity Center: aws sso login) and try again",
                resolved.source(),
                creds.expiry().map_or_else(String::new, rfc3339),
                left.as_secs(),
            )));
        }
    };

    let config = AuthTokenConfig::builder()
        .hostname(&options.hostname)
        .port(options.port)
        .username(options.username.as_str())
        .region(&region.name)
        .expires_in_secs(expires_in)
        .build()
        .map_err(Failure::usage)?;
    let token = config
        .generate(creds, signed_at)
        .map_err(Failure::runtime)?;
    let expires_at = signed_at + std::time::Duration::from_secs(expires_in);
    debug(format_args!(
        "signed at {} for {expires_in} seconds, expires at {}",
        rfc3339(signed_at),
        rfc3339(expires_at),
    ));
    Ok(Made {
        token,
        region: region.name,
        expires_at,
        credential_expiration: creds.expiry(),
    })
}

/// How long a token signed at `signed_at` with `resolved` may live.
fn lifetime_with(
    resolved: &credentials::ResolvedCredentials,
    options: &TokenOptions,
    signed_at: SystemTime,
) -> TokenLifetime {
    TokenLifetime::new(
        options.expires_in.as_secs(),
        resolved.credentials().expiry(),
        signed_at,
    )
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
