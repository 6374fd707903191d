//! The credential cache shared with the AWS CLI: JSON files in
//! `~/.aws/cli/cache`, named and shaped as botocore names and shapes them, so
//! that credentials one tool fetched are used by the other.
//!
//! Only temporary credentials fetched over the network are cached:
//! assume-role, assume-role-with-web-identity and IAM Identity Center (SSO)
//! role credentials, under the key botocore's fetcher for each computes
//! (`AssumeRoleCredentialFetcher`, `AssumeRoleWithWebIdentityCredentialFetcher`
//! and `SSOCredentialFetcher`, `_create_cache_key`; for web identity the AWS
//! CLI's own copy of botocore adds the token itself to the key, and so do
//! we). An entry is used until 15
//! minutes before it expires, botocore's window. Files are written as
//! [`crate::private_file`] writes them (a temporary file in the same folder,
//! synced, renamed into place, the folder synced), with mode 0600, in a
//! folder made with mode 0700; a folder that others can write
//! to, or that another user owns, is not used. A file that cannot be read as a
//! cache entry is a miss, and the next fetch replaces it.
//!
//! Files this tool writes carry one extra top-level key, `WrittenBy`, which
//! botocore does not read; `rds-auth-token cache clear` removes only the files
//! that still carry it.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use aws_config::profile::Profile;
use aws_credential_types::Credentials;
use aws_smithy_json::deserialize::token::skip_value;
use aws_smithy_json::deserialize::{json_token_iter, Token};
use aws_types::os_shim_internal::Env;
use sha1::{Digest, Sha1};

use crate::private_file::{self, Unsafety};

/// Credentials closer than this to their expiry are not taken from the
/// cache: botocore's `CachedCredentialFetcher.DEFAULT_EXPIRY_WINDOW_SECONDS`.
pub const EXPIRY_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Set to `1` to turn the cache off for every call.
pub const NO_CACHE_ENV: &str = "RDS_AUTH_TOKEN_NO_CACHE";

/// The top-level key that marks a file this tool wrote, and its value.
const WRITTEN_BY_KEY: &str = "WrittenBy";
const WRITTEN_BY: &str = "rds-auth-token";

/// A cache file larger than this is not a cache entry.
const MAX_FILE_LEN: u64 = 64 * 1024;

/// What a cache entry is keyed on: the parameters of botocore's fetcher.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CacheKey {
    /// `sts:AssumeRole` for a profile's `role_arn`.
    AssumeRole {
        role_arn: String,
        /// Left out when not configured: botocore makes one up then.
        role_session_name: Option<String>,
        external_id: Option<String>,
        /// The profile's `mfa_serial`.
        serial_number: Option<String>,
        /// The profile's `duration_seconds`, as Python's `int()` reads it.
        duration_seconds: Option<String>,
    },
    /// `sts:AssumeRoleWithWebIdentity`.
    WebIdentity {
        role_arn: String,
        role_session_name: Option<String>,
        /// The file that holds the web identity token: the AWS CLI keys on
        /// the token itself, read when the key is used.
        token_file: PathBuf,
    },
    /// `sso:GetRoleCredentials`.
    Sso {
        account_id: String,
        role_name: String,
        /// The `sso_session` name, or for a legacy profile its start URL.
        session: SsoSession,
    },
}

/// What names an IAM Identity Center sign-in in an SSO cache key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SsoSession {
    /// `sso_session = NAME`.
    Name(String),
    /// A legacy profile's `sso_start_url`.
    StartUrl(String),
}

impl CacheKey {
    /// The key for the credentials a profile fetches itself, or `None` when
    /// they are not cached (static keys, `credential_process`, a
    /// `credential_source` without a role, no credentials).
    ///
    /// As in botocore and aws-config, a `role_arn` with a
    /// `web_identity_token_file` is web identity, a `role_arn` otherwise is
    /// assume-role, whatever the role's source; then SSO.
    pub fn for_profile(profile: &Profile) -> Option<CacheKey> {
        let get = |key: &str| profile.get(key).map(str::to_owned);
        let session_name = get("role_session_name").filter(|s| !s.is_empty());
        if let Some(role_arn) = get("role_arn") {
            if let Some(token_file) = get("web_identity_token_file") {
                return Some(CacheKey::WebIdentity {
                    role_arn,
                    role_session_name: session_name,
                    token_file: PathBuf::from(token_file),
                });
            }
            return Some(CacheKey::AssumeRole {
                role_arn,
                role_session_name: session_name,
                external_id: get("external_id"),
                serial_number: get("mfa_serial"),
                duration_seconds: profile.get("duration_seconds").and_then(python_int),
            });
        }
        if profile.get("credential_source").is_some() {
            return None;
        }
        let account_id = get("sso_account_id")?;
        let role_name = get("sso_role_name")?;
        let session = match (get("sso_session"), get("sso_start_url")) {
            (Some(name), _) => SsoSession::Name(name),
            (None, Some(url)) => SsoSession::StartUrl(url),
            (None, None) => return None,
        };
        Some(CacheKey::Sso {
            account_id,
            role_name,
            session,
        })
    }

    /// The key for web identity from the environment
    /// (`AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN`, `AWS_ROLE_SESSION_NAME`).
    pub fn for_web_identity_env(env: &Env) -> Option<CacheKey> {
        let var = |name: &str| env.get(name).ok().filter(|v| !v.is_empty());
        let token_file = PathBuf::from(var("AWS_WEB_IDENTITY_TOKEN_FILE")?);
        Some(CacheKey::WebIdentity {
            role_arn: var("AWS_ROLE_ARN")?,
            role_session_name: var("AWS_ROLE_SESSION_NAME"),
            token_file,
        })
    }

    /// The JSON botocore hashes: `json.dumps(args, sort_keys=True)` for the
    /// assume-role fetchers, and with `separators=(',', ':')` for SSO.
    /// `web_identity_token` is the token, for the AWS CLI's web identity key,
    /// or `None` for botocore's, which leaves it out.
    fn botocore_args(&self, web_identity_token: Option<&str>) -> String {
        let mut out = String::from("{");
        let mut fields: Vec<(&str, String)> = Vec::new();
        let separator = match self {
            CacheKey::AssumeRole {
                role_arn,
                role_session_name,
                external_id,
                serial_number,
                duration_seconds,
            } => {
                if let Some(d) = duration_seconds {
                    fields.push(("DurationSeconds", d.clone()));
                }
                if let Some(e) = external_id {
                    fields.push(("ExternalId", python_json_str(e)));
                }
                fields.push(("RoleArn", python_json_str(role_arn)));
                if let Some(n) = role_session_name {
                    fields.push(("RoleSessionName", python_json_str(n)));
                }
                if let Some(s) = serial_number {
                    fields.push(("SerialNumber", python_json_str(s)));
                }
                (", ", ": ")
            }
            CacheKey::WebIdentity {
                role_arn,
                role_session_name,
                ..
            } => {
                fields.push(("RoleArn", python_json_str(role_arn)));
                if let Some(n) = role_session_name {
                    fields.push(("RoleSessionName", python_json_str(n)));
                }
                if let Some(token) = web_identity_token {
                    fields.push(("WebIdentityToken", python_json_str(token)));
                }
                (", ", ": ")
            }
            CacheKey::Sso {
                account_id,
                role_name,
                session,
            } => {
                fields.push(("accountId", python_json_str(account_id)));
                fields.push(("roleName", python_json_str(role_name)));
                match session {
                    SsoSession::Name(n) => fields.push(("sessionName", python_json_str(n))),
                    SsoSession::StartUrl(u) => fields.push(("startUrl", python_json_str(u))),
                }
                (",", ":")
            }
        };
        // The fields are pushed in sorted order already.
        for (i, (name, value)) in fields.iter().enumerate() {
            if i > 0 {
                out.push_str(separator.0);
            }
            let _ = write!(out, "\"{name}\"{}{value}", separator.1);
        }
        out.push('}');
        out
    }

    /// The file names without `.json` (the SHA-1 of botocore's arguments,
    /// in hex) under which the entry is looked for, the one written first.
    ///
    /// For web identity the AWS CLI (1.46 and later) keys on the token too,
    /// read here as Python reads a text file; the key without it, which
    /// standalone botocore and older AWS CLIs use, comes second.
    /// A token file that cannot be read gives no names: nothing is cached.
    pub fn file_stems(&self) -> Vec<String> {
        match self {
            CacheKey::WebIdentity { token_file, .. } => match read_token(token_file) {
                Some(token) => vec![
                    sha1_hex(&self.botocore_args(Some(&token))),
                    sha1_hex(&self.botocore_args(None)),
                ],
                None => Vec::new(),
            },
            _ => vec![sha1_hex(&self.botocore_args(None))],
        }
    }

    /// The entry's `ProviderType`, which the AWS CLI v2's `aws sso logout`
    /// looks for.
    fn provider_type(&self) -> Option<&'static str> {
        matches!(self, CacheKey::Sso { .. }).then_some("sso")
    }
}

fn sha1_hex(text: &str) -> String {
    Sha1::digest(text.as_bytes())
        .iter()
        .fold(String::with_capacity(40), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// A web identity token file as Python's `open(path).read()` gives it: UTF-8
/// text with universal newlines. `None` when it cannot be read or is larger
/// than any token.
fn read_token(path: &Path) -> Option<String> {
    let file = fs::File::open(path).ok()?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_LEN + 1).read_to_end(&mut bytes).ok()?;
    if bytes.len() as u64 > MAX_FILE_LEN {
        return None;
    }
    let text = String::from_utf8(bytes).ok()?;
    Some(text.replace("\r\n", "\n").replace('\r', "\n"))
}

/// Python's `int(value)` as botocore applies it to `duration_seconds`, in
/// canonical form; `None` where Python raises `ValueError` (and botocore
/// leaves the setting out).
fn python_int(value: &str) -> Option<String> {
    let v = value.trim();
    let (sign, digits) = match v.as_bytes().first()? {
        b'-' => ("-", &v[1..]),
        b'+' => ("", &v[1..]),
        _ => ("", v),
    };
    let bytes = digits.as_bytes();
    let ok = !bytes.is_empty()
        && bytes[0].is_ascii_digit()
        && bytes[bytes.len() - 1].is_ascii_digit()
        && bytes.iter().all(|b| b.is_ascii_digit() || *b == b'_')
        && !digits.contains("__");
    if !ok {
        return None;
    }
    let plain: String = digits.chars().filter(|c| *c != '_').collect();
    let trimmed = plain.trim_start_matches('0');
    Some(if trimmed.is_empty() {
        "0".to_owned()
    } else {
        format!("{sign}{trimmed}")
    })
}

/// A JSON string as Python's `json.dumps` writes it (`ensure_ascii=True`).
fn python_json_str(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
    out
}

/// A JSON string for a cache file.
fn json_str(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Why the cache is not used for a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unusable(pub String);

/// The cache folder, checked.
#[derive(Debug, Clone)]
pub struct CredentialCache {
    dir: PathBuf,
}

/// The cache folder the AWS CLI uses, `~/.aws/cli/cache`, for `HOME` from
/// `env` (the AWS CLI has no setting that moves it).
pub fn cache_dir(env: &Env) -> Option<PathBuf> {
    let home = env
        .get("HOME")
        .ok()
        .filter(|h| !h.is_empty())
        .map(OsString::from)?;
    Some(PathBuf::from(home).join(".aws").join("cli").join("cache"))
}

/// True when `RDS_AUTH_TOKEN_NO_CACHE` turns the cache off: any value but
/// empty, `0` and `false`.
pub fn disabled_by_env(env: &Env) -> bool {
    env.get(NO_CACHE_ENV)
        .is_ok_and(|v| !matches!(v.trim().to_ascii_lowercase().as_str(), "" | "0" | "false"))
}

impl CredentialCache {
    /// The cache for this call, or why there is none: turned off, no HOME,
    /// or a folder others can write to.
    ///
    /// Nothing is created here; a missing folder is made by the first
    /// [`CredentialCache::store`].
    pub fn open(env: &Env, no_cache: bool) -> Result<CredentialCache, Unusable> {
        if no_cache {
            return Err(Unusable("the credential cache is off (--no-cache)".into()));
        }
        if disabled_by_env(env) {
            return Err(Unusable(format!(
                "the credential cache is off ({NO_CACHE_ENV})"
            )));
        }
        let dir = cache_dir(env)
            .ok_or_else(|| Unusable("the credential cache is not used: HOME is not set".into()))?;
        let cache = CredentialCache { dir };
        match fs::metadata(&cache.dir) {
            Ok(meta) => cache.check_folder(&meta)?,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => {
                return Err(Unusable(format!(
                    "the credential cache {} is not used: {err}",
                    cache.dir.display()
                )))
            }
        }
        Ok(cache)
    }

    /// A cache in `dir`, unchecked: for `cache clear` and tests.
    pub fn at(dir: impl Into<PathBuf>) -> CredentialCache {
        CredentialCache { dir: dir.into() }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The files that may hold `key`'s entry, the one written first.
    pub fn paths(&self, key: &CacheKey) -> Vec<PathBuf> {
        key.file_stems()
            .iter()
            .map(|stem| self.dir.join(format!("{stem}.json")))
            .collect()
    }

    /// Whether the folder of `meta` may be used: one that others can
    /// write to, or that another user owns, could hand us credentials of
    /// theirs.
    fn check_folder(&self, meta: &fs::Metadata) -> Result<(), Unusable> {
        let why = match private_file::unsafety(meta) {
            None => return Ok(()),
            Some(Unsafety::NotAFolder) => "it is not a folder".to_owned(),
            Some(Unsafety::Writable(mode)) => {
                format!("other users can write to it (mode {mode:o}); run chmod 700 on it")
            }
            Some(Unsafety::OwnedBy(_)) => "another user owns it".to_owned(),
        };
        Err(Unusable(format!(
            "the credential cache {} is not used: {why}",
            self.dir.display()
        )))
    }

    /// The credentials cached under `key`, and the file they came from,
    /// when there is a readable entry that is good for at least
    /// [`EXPIRY_WINDOW`] more after `now`.
    pub fn load(&self, key: &CacheKey, now: SystemTime) -> Option<(Credentials, PathBuf)> {
        self.paths(key)
            .into_iter()
            .find_map(|path| Some((Self::load_file(&path, now)?, path)))
    }

    fn load_file(path: &Path, now: SystemTime) -> Option<Credentials> {
        read_entry(path)?.credentials(now)
    }

    /// Writes `credentials` under `key` (under each of its names, for web
    /// identity): to a temporary file in the folder, synced, then renamed
    /// over the entry, mode 0600. Credentials without a session token or an
    /// expiry are not written. Returns the first name's file.
    ///
    /// # Errors
    /// The I/O error that stopped it; the entry is then left as it was.
    pub fn store(&self, key: &CacheKey, credentials: &Credentials) -> io::Result<PathBuf> {
        let Some(text) = file_text(key, credentials) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "only temporary credentials are cached",
            ));
        };
        self.make_folder()?;
        let paths = self.paths(key);
        let path = paths.first().cloned().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "the web identity token file cannot be read",
            )
        })?;
        // Every name the entry is looked for under: AWS CLIs old and new
        // (and botocore) each find it.
        for path in &paths {
            private_file::write_atomic(path, text.as_bytes()).map_err(io::Error::other)?;
        }
        Ok(path)
    }

    /// Makes the folder (and `~/.aws/cli`) with mode 0700 when missing, and
    /// checks it.
    fn make_folder(&self) -> io::Result<()> {
        private_file::create_private_folder(&self.dir).map_err(io::Error::other)?;
        let meta = fs::metadata(&self.dir)?;
        self.check_folder(&meta)
            .map_err(|Unusable(why)| io::Error::new(io::ErrorKind::PermissionDenied, why))
    }

    /// Removes the entries this tool wrote (those still marked as ours) and
    /// its leftover temporary files; everything else stays.
    ///
    /// # Errors
    /// An error reading the folder, or removing one of our files.
    pub fn clear(&self) -> io::Result<Cleared> {
        let mut cleared = Cleared::default();
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(cleared),
            Err(err) => return Err(err),
        };
        for entry in entries {
            let entry = entry?;
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if !entry.file_type()?.is_file() {
                continue;
            }
            let ours = if name.ends_with(private_file::TEMP_SUFFIX) {
                true
            } else if name.ends_with(".json") {
                read_entry(&path).is_some_and(|e| e.written_by_us)
            } else {
                false
            };
            if ours {
                match fs::remove_file(&path) {
                    Ok(()) => cleared.removed += 1,
                    Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                    Err(err) => return Err(err),
                }
            } else {
                cleared.kept += 1;
            }
        }
        Ok(cleared)
    }
}

/// The text [`CredentialCache::store`] writes for `credentials` under
/// `key`, or `None` for credentials without a session token or an expiry,
/// which are not cached. Public for the fuzz targets (`fuzz/`).
#[doc(hidden)]
pub fn file_text(key: &CacheKey, credentials: &Credentials) -> Option<String> {
    let (token, expiry) = (credentials.session_token()?, credentials.expiry()?);
    let mut text = String::from("{");
    if let Some(provider) = key.provider_type() {
        let _ = write!(text, "\"ProviderType\": {}, ", json_str(provider));
    }
    let _ = write!(
        text,
        "\"Credentials\": {{\"AccessKeyId\": {}, \"SecretAccessKey\": {}, \"SessionToken\": {}, \"Expiration\": {}",
        json_str(credentials.access_key_id()),
        json_str(credentials.secret_access_key()),
        json_str(token),
        json_str(&crate::rfc3339(expiry)),
    );
    if let Some(account) = credentials.account_id() {
        let _ = write!(text, ", \"AccountId\": {}", json_str(account.as_str()));
    }
    let _ = write!(text, "}}, \"{WRITTEN_BY_KEY}\": {}}}", json_str(WRITTEN_BY));
    Some(text)
}

/// A cache file's bytes as [`CredentialCache::load`] and
/// [`CredentialCache::clear`] read them: the credentials, when the entry has
/// them all and they are good for [`EXPIRY_WINDOW`] more after `now`, and
/// whether this tool wrote it; `None` when the bytes are not one JSON
/// object. Public for the fuzz targets (`fuzz/`).
#[doc(hidden)]
pub fn read_file_bytes(bytes: &[u8], now: SystemTime) -> Option<(Option<Credentials>, bool)> {
    let entry = parse_entry(bytes)?;
    let ours = entry.written_by_us;
    Some((entry.credentials(now), ours))
}

/// What [`CredentialCache::clear`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cleared {
    /// Files removed.
    pub removed: usize,
    /// Files left alone: the AWS CLI's, and anything else.
    pub kept: usize,
}

/// What a cache file holds, as far as it could be read.
#[derive(Default)]
struct Entry {
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    session_token: Option<String>,
    expiry: Option<SystemTime>,
    account_id: Option<String>,
    written_by_us: bool,
}

impl Entry {
    /// The credentials, when the entry has them all and they are good for
    /// [`EXPIRY_WINDOW`] more after `now`.
    fn credentials(self, now: SystemTime) -> Option<Credentials> {
        let expiry = self.expiry?;
        if crate::lifetime::left(expiry, now) < EXPIRY_WINDOW {
            return None;
        }
        let mut builder = Credentials::builder()
            .access_key_id(self.access_key_id?)
            .secret_access_key(self.secret_access_key?)
            .session_token(self.session_token?)
            .expiry(expiry)
            .provider_name("CredentialCache");
        if let Some(account) = self.account_id {
            builder = builder.account_id(account);
        }
        Some(builder.build())
    }
}

/// Reads a cache file; `None` when it is missing, too large, not a regular
/// file or not a JSON object.
fn read_entry(path: &Path) -> Option<Entry> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        // A FIFO in place of the file must not block the read.
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let mut file = options.open(path).ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() > MAX_FILE_LEN {
        return None;
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    Read::take(&mut file, MAX_FILE_LEN + 1)
        .read_to_end(&mut bytes)
        .ok()?;
    parse_entry(&bytes)
}

/// Reads a cache file's bytes as botocore's `json.loads` reads them: keys
/// unescaped, the last of repeated keys winning (a repeated `Credentials`
/// replaces the whole object), a value that is not a string taken for none.
fn parse_entry(bytes: &[u8]) -> Option<Entry> {
    let mut tokens = json_token_iter(bytes).peekable();
    let mut entry = Entry::default();
    if !matches!(tokens.next(), Some(Ok(Token::StartObject { .. }))) {
        return None;
    }
    loop {
        match tokens.next()?.ok()? {
            Token::EndObject { .. } => break,
            Token::ObjectKey { key, .. } => match &*key.to_unescaped().ok()? {
                "Credentials" => {
                    if !matches!(tokens.next(), Some(Ok(Token::StartObject { .. }))) {
                        return None;
                    }
                    entry = Entry {
                        written_by_us: entry.written_by_us,
                        ..Entry::default()
                    };
                    loop {
                        match tokens.next()?.ok()? {
                            Token::EndObject { .. } => break,
                            Token::ObjectKey { key, .. } => {
                                let field = match &*key.to_unescaped().ok()? {
                                    "AccessKeyId" => &mut entry.access_key_id,
                                    "SecretAccessKey" => &mut entry.secret_access_key,
                                    "SessionToken" => &mut entry.session_token,
                                    "AccountId" => &mut entry.account_id,
                                    "Expiration" => {
                                        entry.expiry = string_value(&mut tokens)?
                                            .as_deref()
                                            .and_then(parse_expiration);
                                        continue;
                                    }
                                    _ => {
                                        skip_value(&mut tokens).ok()?;
                                        continue;
                                    }
                                };
                                *field = string_value(&mut tokens)?;
                            }
                            _ => return None,
                        }
                    }
                }
                WRITTEN_BY_KEY => {
                    entry.written_by_us = string_value(&mut tokens)?.as_deref() == Some(WRITTEN_BY);
                }
                _ => skip_value(&mut tokens).ok()?,
            },
            _ => return None,
        }
    }
    if tokens.next().is_some() {
        return None;
    }
    Some(entry)
}

/// The next value: `Some(Some(text))` for a string, `Some(None)` for any
/// other value (skipped whole), `None` when the JSON is broken.
fn string_value<'a, I>(tokens: &mut std::iter::Peekable<I>) -> Option<Option<String>>
where
    I: Iterator<Item = Result<Token<'a>, aws_smithy_json::deserialize::error::DeserializeError>>,
{
    if let Some(Ok(Token::ValueString { value, .. })) = tokens.peek() {
        let text = value.to_unescaped().ok()?.into_owned();
        tokens.next();
        return Some(Some(text));
    }
    skip_value(tokens).ok()?;
    Some(None)
}

/// An `Expiration` as botocore writes it: `2026-11-23T01:00:00UTC` (a
/// `datetime` through `strftime`), `2026-11-23T01:00:00Z`, or with an offset
/// and fractional seconds (`isoformat()`).
fn parse_expiration(value: &str) -> Option<SystemTime> {
    crate::times::parse_botocore_expiration(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_arguments_as_python_json_dumps_does() {
        let key = CacheKey::AssumeRole {
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            role_session_name: Some("s".into()),
            external_id: Some("x\"é".into()),
            serial_number: None,
            duration_seconds: Some("3600".into()),
        };
        assert_eq!(
            key.botocore_args(None),
            r#"{"DurationSeconds": 3600, "ExternalId": "x\"\u00e9", "RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": "s"}"#
        );
        let sso = CacheKey::Sso {
            account_id: "1".into(),
            role_name: "r".into(),
            session: SsoSession::Name("n".into()),
        };
        assert_eq!(
            sso.botocore_args(None),
            r#"{"accountId":"1","roleName":"r","sessionName":"n"}"#
        );
    }

    fn profile(pairs: &[(&str, &str)]) -> Profile {
        use aws_config::profile::Property;
        let properties = pairs
            .iter()
            .map(|(k, v)| {
                (
                    (*k).to_owned(),
                    Property::new((*k).to_owned(), (*v).to_owned()),
                )
            })
            .collect();
        Profile::new("p", properties)
    }

    // The expected names were printed by botocore 1.43's own fetchers
    // (tests/reference/botocore_cache.py key ...).
    #[test]
    fn names_the_files_as_botocores_fetchers_do() {
        let key = |pairs: &[(&str, &str)]| {
            CacheKey::for_profile(&profile(pairs)).map(|k| k.file_stems().join(" "))
        };
        assert_eq!(
            key(&[
                ("role_arn", "arn:aws:iam::123456789012:role/r"),
                ("source_profile", "base"),
                ("external_id", "x\"é"),
                ("duration_seconds", "3600"),
                ("mfa_serial", "arn:aws:iam::123456789012:mfa/j"),
                ("role_session_name", ""),
            ])
            .as_deref(),
            Some("58891448991fd6475db229b279b5b313fde5430c")
        );
        assert_eq!(
            key(&[
                ("role_arn", "arn:aws:iam::123456789012:role/db-connect"),
                ("credential_source", "Environment"),
                ("role_session_name", "jane"),
            ])
            .as_deref(),
            Some("e9c9e101d97096cf5b2db5a203546bdcd91e9c8d")
        );
        // The AWS CLI's key holds the token as Python reads it ("tok\n"),
        // botocore's leaves it out.
        let token = std::env::temp_dir().join(format!("cache-key-token-{}", std::process::id()));
        fs::write(&token, "tok\r\n").unwrap();
        assert_eq!(
            key(&[
                ("role_arn", "arn:x"),
                ("web_identity_token_file", token.to_str().unwrap())
            ])
            .as_deref(),
            Some(
                "1887ae69312cdfd7d6faa26c94d00d00d46037fc 059f43cb60278a87957ef1d96225ec1a3b1d0169"
            )
        );
        fs::remove_file(&token).unwrap();
        assert_eq!(
            key(&[
                ("role_arn", "arn:x"),
                ("web_identity_token_file", "/no/such/token")
            ])
            .as_deref(),
            Some("")
        );
        assert_eq!(
            key(&[
                ("sso_session", "s"),
                ("sso_start_url", "https://x"),
                ("sso_account_id", "1"),
                ("sso_role_name", "r"),
            ])
            .as_deref(),
            Some("c5a16f1e78f48dca91be86ba2e308f4d622bae1b")
        );
        assert_eq!(
            key(&[
                ("sso_start_url", "https://d-0123456789.awsapps.com/start"),
                ("sso_region", "us-east-1"),
                ("sso_account_id", "123456789012"),
                ("sso_role_name", "DbConnect"),
            ])
            .as_deref(),
            Some("69caba5b33cb330dde9b5a730faa912b487e2cab")
        );
    }

    #[test]
    fn caches_nothing_for_profiles_that_fetch_nothing_over_the_network() {
        let key = |pairs: &[(&str, &str)]| CacheKey::for_profile(&profile(pairs));
        assert_eq!(
            key(&[("aws_access_key_id", "A"), ("aws_secret_access_key", "S")]),
            None
        );
        assert_eq!(key(&[("credential_process", "/bin/creds")]), None);
        assert_eq!(key(&[("credential_source", "Ec2InstanceMetadata")]), None);
        assert_eq!(
            key(&[("sso_account_id", "1"), ("sso_role_name", "r")]),
            None
        );
    }

    #[test]
    fn reads_duration_seconds_as_python_int_does() {
        assert_eq!(python_int(" 3600 ").as_deref(), Some("3600"));
        assert_eq!(python_int("+0900").as_deref(), Some("900"));
        assert_eq!(python_int("1_800").as_deref(), Some("1800"));
        assert_eq!(python_int("-0").as_deref(), Some("0"));
        for bad in ["", "1h", "1__0", "_1", "1.5", "+"] {
            assert_eq!(python_int(bad), None, "{bad}");
        }
    }

    #[test]
    fn reads_the_expiration_formats_botocore_writes() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_310_467);
        for s in [
            "2026-11-22T01:21:07UTC",
            "2026-11-22T01:21:07Z",
            "2026-11-22T01:21:07+00:00",
            "2026-11-22T02:21:07+01:00",
        ] {
            assert_eq!(parse_expiration(s), Some(t), "{s}");
        }
        assert_eq!(parse_expiration("2026-11-22T01:21:07"), None);
    }

    #[test]
    fn refuses_files_that_are_not_whole_entries() {
        let good = br#"{"Credentials": {"AccessKeyId": "A", "SecretAccessKey": "S", "SessionToken": "T", "Expiration": "2099-01-01T00:00:00Z"}, "Other": [1, {"a": null}]}"#;
        let entry = parse_entry(good).unwrap();
        assert_eq!(entry.access_key_id.as_deref(), Some("A"));
        assert!(!entry.written_by_us);
        for cut in 1..good.len() {
            assert!(parse_entry(&good[..cut]).is_none(), "{cut}");
        }
        assert!(parse_entry(b"[]").is_none());
        assert!(parse_entry(b"{} {}").is_none());
    }

    // Found by fuzz/fuzz_targets/cli_cache.rs, which reads each file with
    // serde_json too: these files gave other credentials than botocore's
    // json.loads reads, or (past 9999) credentials whose expiry panicked
    // when written.
    #[test]
    fn reads_the_credentials_json_loads_reads() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_310_467);
        let creds = r#""AccessKeyId": "A", "SecretAccessKey": "S", "SessionToken": "T", "Expiration": "2099-01-01T00:00:00Z""#;
        let read = |text: String| {
            read_file_bytes(text.as_bytes(), now)
                .map(|(c, ours)| (c.map(|c| c.access_key_id().to_owned()), ours))
        };
        // A repeated Credentials object replaces the first whole.
        assert_eq!(
            read(format!(
                r#"{{"Credentials": {{{creds}}}, "Credentials": {{"AccessKeyId": "B"}}}}"#
            )),
            Some((None, false))
        );
        // Keys are compared unescaped.
        assert_eq!(
            read(format!(
                r#"{{"Credentials": {{{creds}, "AccessKeyId": "B"}}, "WrittenBy": "rds-auth-token"}}"#
            )),
            Some((Some("B".to_owned()), true))
        );
        // A value that is not a string is skipped whole, nested keys and all.
        assert_eq!(
            read(format!(
                r#"{{"Credentials": {{{creds}, "AccountId": {{"AccessKeyId": "B"}}}}, "WrittenBy": ["rds-auth-token"]}}"#
            )),
            Some((Some("A".to_owned()), false))
        );
        // An expiration past 9999 in UTC is no expiration.
        let past_9999 = creds.replace("2099-01-01T00:00:00Z", "9999-12-31T23:59:59-23:59");
        assert_eq!(
            read(format!(r#"{{"Credentials": {{{past_9999}}}}}"#)),
            Some((None, false))
        );
    }
}
