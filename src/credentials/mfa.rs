//! Assume-role for a profile with `mfa_serial`, which the AWS SDK's profile
//! provider does not support: ask for the code on the terminal as the AWS
//! CLI does (`Enter MFA code for ARN: `, read from `/dev/tty` without echo,
//! never from stdin), then call STS `AssumeRole` with `SerialNumber` and
//! `TokenCode`, using the AWS SDK's STS client.
//!
//! With no terminal to ask on, it fails with a message that names the
//! profile and the fix.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::profile::Profile;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_credential_types::credential_feature::AwsCredentialFeature;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{future, ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_types::region::Region;

use super::http_client::LazyHttpsClient;
use super::ChainSettings;

/// The AWS CLI's prompt (botocore's `AssumeRoleCredentialFetcher`).
pub(crate) fn prompt_text(serial: &str) -> String {
    format!("Enter MFA code for {serial}: ")
}

/// The selected profile's role, when it asks for an MFA code.
#[derive(Debug, Clone)]
pub(crate) struct MfaRole {
    profile: String,
    role_arn: String,
    serial: String,
    session_name: Option<String>,
    external_id: Option<String>,
    duration_seconds: Option<i32>,
    settings: ChainSettings,
}

impl MfaRole {
    /// The role of `profile` when it has `role_arn` and `mfa_serial` (and is
    /// not web identity); `None` otherwise.
    pub(crate) fn for_profile(profile: &Profile, settings: &ChainSettings) -> Option<MfaRole> {
        let serial = profile.get("mfa_serial")?;
        let role_arn = profile.get("role_arn")?;
        if profile.get("web_identity_token_file").is_some() {
            return None;
        }
        Some(MfaRole {
            profile: profile.name().to_owned(),
            role_arn: role_arn.to_owned(),
            serial: serial.to_owned(),
            session_name: profile
                .get("role_session_name")
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            external_id: profile.get("external_id").map(str::to_owned),
            duration_seconds: profile
                .get("duration_seconds")
                .and_then(|d| d.trim().parse().ok()),
            settings: settings.clone(),
        })
    }

    /// Assumes this role with credentials from `source` (the role chain up
    /// to this profile), through `http_client`.
    pub(crate) fn provider(
        &self,
        source: Arc<dyn ProvideCredentials>,
        region: &str,
        http_client: LazyHttpsClient,
    ) -> MfaAssumeRole {
        MfaAssumeRole {
            role: self.clone(),
            source: SharedCredentialsProvider::new(source),
            region: region.to_owned(),
            http_client,
        }
    }
}

/// Assume-role with an MFA code, for one profile.
pub(crate) struct MfaAssumeRole {
    role: MfaRole,
    source: SharedCredentialsProvider,
    region: String,
    http_client: LazyHttpsClient,
}

impl fmt::Debug for MfaAssumeRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MfaAssumeRole")
            .field("profile", &self.role.profile)
            .field("role_arn", &self.role.role_arn)
            .field("serial", &self.role.serial)
            .finish_non_exhaustive()
    }
}

impl MfaAssumeRole {
    async fn assume_role(&self) -> Result<Credentials, CredentialsError> {
        let code = terminal::ask(&prompt_text(&self.role.serial)).map_err(|err| {
            CredentialsError::provider_error(NoCode {
                profile: self.role.profile.clone(),
                serial: self.role.serial.clone(),
                cause: err,
            })
        })?;
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(self.region.clone()))
            .http_client(self.http_client.clone())
            .credentials_provider(self.source.clone())
            .profile_name(&self.role.profile);
        let mut timeouts = TimeoutConfig::builder();
        if let Some(t) = self.role.settings.connect_timeout.filter(|t| !t.is_zero()) {
            timeouts = timeouts.connect_timeout(t);
        }
        if let Some(t) = self.role.settings.read_timeout.filter(|t| !t.is_zero()) {
            timeouts = timeouts.read_timeout(t);
        }
        loader = loader.timeout_config(timeouts.build());
        let sdk_config = loader.load().await;
        let sts = aws_sdk_sts::Client::new(&sdk_config);
        let session_name = self.role.session_name.clone().unwrap_or_else(|| {
            let millis = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
            // botocore's name when the profile gives none.
            format!("botocore-session-{}", millis / 1000)
        });
        let output = sts
            .assume_role()
            .role_arn(&self.role.role_arn)
            .role_session_name(session_name)
            .set_external_id(self.role.external_id.clone())
            .set_duration_seconds(self.role.duration_seconds)
            .serial_number(&self.role.serial)
            .token_code(code)
            .send()
            .await
            .map_err(|err| {
                CredentialsError::provider_error(StsFailed {
                    role_arn: self.role.role_arn.clone(),
                    message: crate::text::distinct_error_chain(&aws_sdk_sts::Error::from(err)),
                })
            })?;
        let creds = output.credentials().ok_or_else(|| {
            CredentialsError::unhandled("STS AssumeRole answered without credentials")
        })?;
        let mut builder = Credentials::builder()
            .access_key_id(creds.access_key_id())
            .secret_access_key(creds.secret_access_key())
            .session_token(creds.session_token())
            .expiry(SystemTime::try_from(*creds.expiration()).map_err(|_| {
                CredentialsError::unhandled("STS AssumeRole answered with an unusable expiration")
            })?)
            .provider_name("AssumeRoleWithMfa");
        if let Some(account) = output
            .assumed_role_user()
            .and_then(|u| u.arn().split(':').nth(4))
            .filter(|a| !a.is_empty())
        {
            builder = builder.account_id(account);
        }
        let mut credentials = builder.build();
        credentials.set_property(vec![AwsCredentialFeature::CredentialsProfile]);
        Ok(credentials)
    }
}

impl ProvideCredentials for MfaAssumeRole {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.assume_role())
    }
}

/// No MFA code could be had.
#[derive(Debug)]
struct NoCode {
    profile: String,
    serial: String,
    cause: io::Error,
}

impl fmt::Display for NoCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if terminal::is_missing(&self.cause) {
            write!(
                f,
                "profile '{}' needs an MFA code for {} and there is no terminal to ask for it on; \
                 run the command once in a terminal (the credentials are then cached and reused \
                 until 15 minutes before they expire), or use a profile without mfa_serial",
                self.profile, self.serial
            )
        } else {
            write!(
                f,
                "profile '{}' needs an MFA code for {}: {}",
                self.profile, self.serial, self.cause
            )
        }
    }
}

impl std::error::Error for NoCode {}

/// STS refused the role.
#[derive(Debug)]
struct StsFailed {
    role_arn: String,
    message: String,
}

impl fmt::Display for StsFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "STS AssumeRole for {} with an MFA code failed (check the code and the profile's mfa_serial): {}",
            self.role_arn, self.message
        )
    }
}

impl std::error::Error for StsFailed {}

/// Asking on the controlling terminal, as Python's `getpass` does.
#[cfg(unix)]
mod terminal {
    use std::fs::OpenOptions;
    use std::io::{self, Read, Write};
    use std::os::unix::io::AsRawFd;
    use std::sync::atomic::{AtomicI32, Ordering};

    /// The longest answer read.
    const MAX_ANSWER: usize = 256;

    /// The terminal, and its settings to put back if a signal ends the
    /// process while echo is off.
    static SAVED_FD: AtomicI32 = AtomicI32::new(-1);
    static mut SAVED_FOR_SIGNAL: Option<libc::termios> = None;

    /// True when `err` says there is no terminal.
    pub(super) fn is_missing(err: &io::Error) -> bool {
        err.raw_os_error() == Some(libc::ENXIO)
            || err.raw_os_error() == Some(libc::ENOENT)
            || err.raw_os_error() == Some(libc::ENOTTY)
            || err.kind() == io::ErrorKind::NotFound
    }

    /// Writes `prompt` to `/dev/tty`, reads one line from it with echo off,
    /// and returns it without surrounding white space.
    pub(super) fn ask(prompt: &str) -> io::Result<String> {
        let tty = OpenOptions::new().read(true).write(true).open("/dev/tty")?;
        let fd = tty.as_raw_fd();
        let echo_off = EchoOff::new(fd);
        (&tty).write_all(prompt.as_bytes())?;
        (&tty).flush()?;
        let mut answer = Vec::new();
        let mut byte = [0u8; 1];
        loop {
            match (&tty).read(&mut byte) {
                Ok(0) => break,
                Ok(_) if byte[0] == b'\n' => break,
                Ok(_) => {
                    if answer.len() < MAX_ANSWER {
                        answer.push(byte[0]);
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
        drop(echo_off);
        let _ = (&tty).write_all(b"\n");
        let answer = String::from_utf8_lossy(&answer).trim().to_owned();
        if answer.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no MFA code was entered",
            ));
        }
        Ok(answer)
    }

    /// Echo off on `fd` until dropped; a SIGINT, SIGTERM or SIGHUP in the
    /// meantime puts the settings back before the process ends.
    struct EchoOff {
        fd: i32,
        saved: Option<libc::termios>,
    }

    impl EchoOff {
        fn new(fd: i32) -> EchoOff {
            // SAFETY: a zeroed termios is a valid value for tcgetattr to fill.
            let mut term: libc::termios = unsafe { std::mem::zeroed() };
            // SAFETY: fd is an open descriptor and term a valid termios.
            if unsafe { libc::tcgetattr(fd, &mut term) } != 0 {
                return EchoOff { fd, saved: None };
            }
            let saved = term;
            // SAFETY: written before the handlers that read it are installed,
            // and only read by them.
            unsafe {
                SAVED_FOR_SIGNAL = Some(saved);
            }
            SAVED_FD.store(fd, Ordering::SeqCst);
            let handler: extern "C" fn(libc::c_int) = restore_and_reraise;
            for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                // SAFETY: restore_and_reraise only calls async-signal-safe functions.
                unsafe {
                    libc::signal(signal, handler as libc::sighandler_t);
                }
            }
            term.c_lflag &= !libc::ECHO;
            // SAFETY: fd is open and term is the terminal's own settings, changed.
            unsafe {
                libc::tcsetattr(fd, libc::TCSAFLUSH, &term);
            }
            EchoOff {
                fd,
                saved: Some(saved),
            }
        }
    }

    impl Drop for EchoOff {
        fn drop(&mut self) {
            if let Some(saved) = self.saved {
                // SAFETY: fd is still open; saved is what tcgetattr returned.
                unsafe {
                    libc::tcsetattr(self.fd, libc::TCSAFLUSH, &saved);
                }
                for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                    // SAFETY: putting back the default action.
                    unsafe {
                        libc::signal(signal, libc::SIG_DFL);
                    }
                }
                SAVED_FD.store(-1, Ordering::SeqCst);
            }
        }
    }

    extern "C" fn restore_and_reraise(signal: libc::c_int) {
        let fd = SAVED_FD.load(Ordering::SeqCst);
        // SAFETY: tcsetattr, signal and raise are async-signal-safe; the
        // saved settings were written before this handler was installed.
        unsafe {
            if fd >= 0 {
                if let Some(saved) = &*std::ptr::addr_of!(SAVED_FOR_SIGNAL) {
                    libc::tcsetattr(fd, libc::TCSANOW, saved);
                }
            }
            libc::signal(signal, libc::SIG_DFL);
            libc::raise(signal);
        }
    }
}

#[cfg(not(unix))]
mod terminal {
    use std::io;

    pub(super) fn is_missing(_: &io::Error) -> bool {
        true
    }

    pub(super) fn ask(_: &str) -> io::Result<String> {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            "no terminal prompt on this platform",
        ))
    }
}
