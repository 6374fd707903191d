//! `rds-auth-token inspect`: read a token, check it (and with `--verify` its
//! signature), print the report, and exit 0 only when nothing is wrong.

use std::io::{self, IsTerminal, Read};
use std::time::SystemTime;

use anyhow::anyhow;
use rds_auth_token::credentials::{self, Profiles, ResolvedCredentials};
use rds_auth_token::inspect::{self, Inspection, ParsedToken, MAX_INPUT_LEN};
use rds_auth_token::region;

use crate::exit_codes::ExitCode;
use crate::failure::Failure;
use crate::options::{InspectOptions, TokenInput};

/// Inspects the token `options` name.
///
/// # Errors
/// A usage [`Failure`] when the input is not a token or cannot be read.
pub fn run(options: &InspectOptions) -> Result<ExitCode, Failure> {
    let input = match &options.input {
        TokenInput::Argument(bytes) => bytes.clone(),
        TokenInput::Stdin { asked } => read_stdin(*asked)?,
    };
    let token = inspect::parse(&input).map_err(Failure::usage)?;
    drop(input);
    let mut inspection = Inspection::new(
        token,
        &options.expected,
        options.at.unwrap_or_else(SystemTime::now),
    );
    if options.verify {
        match resolve_credentials(options, inspection.token()) {
            Ok(resolved) => {
                let creds = resolved.credentials();
                let verification = inspect::verify(inspection.token(), creds, &resolved.source());
                inspection.add_verification(
                    verification,
                    creds.access_key_id(),
                    &resolved.source(),
                );
            }
            Err(reason) => inspection.credentials_unavailable(reason),
        }
    }
    let report = if options.json {
        inspection.to_json()
    } else {
        inspection.to_text()
    };
    crate::app::write_stdout(&report, "the report")?;
    Ok(if inspection.is_ok() {
        ExitCode::Success
    } else {
        ExitCode::Failure
    })
}

/// Reads at most [`MAX_INPUT_LEN`] bytes; more is not a token.
fn read_stdin(asked: bool) -> Result<Vec<u8>, Failure> {
    let stdin = io::stdin();
    if !asked && stdin.is_terminal() {
        return Err(Failure::usage(anyhow!(
            "no token to inspect; pass it on stdin (rds-auth-token ... | rds-auth-token inspect) or as the argument, or pass - to paste it here"
        )));
    }
    let mut input = Vec::new();
    stdin
        .lock()
        .take(MAX_INPUT_LEN as u64 + 1)
        .read_to_end(&mut input)
        .map_err(|err| Failure::usage(anyhow::Error::new(err).context("could not read stdin")))?;
    if input.len() > MAX_INPUT_LEN {
        return Err(Failure::usage(anyhow!(
            "stdin has more than 1 MiB; a token is a few KiB at most: pass one token"
        )));
    }
    Ok(input)
}

/// Credentials from the same chain as token generation. The region (for
/// the STS and IAM Identity Center calls the chain may make) is `--region`,
/// else the token's, else the environment's or the profile's.
fn resolve_credentials(
    options: &InspectOptions,
    token: &ParsedToken,
) -> Result<ResolvedCredentials, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| err.to_string())?;
    runtime.block_on(async {
        let profiles = Profiles::load(options.profile.as_deref())
            .await
            .map_err(|err| err.to_string())?;
        let region = options
            .expected
            .region
            .clone()
            .or_else(|| {
                token
                    .region()
                    .filter(|r| region::is_region_name(r))
                    .map(str::to_owned)
            })
            .or_else(|| {
                region::resolve(
                    None,
                    |var| std::env::var(var).ok(),
                    profiles.region().map(|r| (profiles.selected(), r)),
                    token.host().unwrap_or_default(),
                )
                .ok()
                .map(|r| r.name)
            })
            .ok_or("no region to get credentials in; pass --region")?;
        credentials::resolve(&profiles, &region, SystemTime::now(), &options.chain)
            .await
            .map_err(|err| err.to_string())
    })
}
