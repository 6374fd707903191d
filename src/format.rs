//! How a token is printed: `--format token|json|env|pgpass|uri`.

use std::fmt::Write as _;
use std::time::SystemTime;

use clap::ValueEnum;
use rds_auth_token::{rfc3339, AuthToken};

use crate::engine::Engine;

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The bare token and a newline.
    Token,
    /// One JSON object: token, hostname, port, username, region, expiration
    /// (RFC 3339 UTC), seconds left, and credential_expiration (when the
    /// credentials expire, or null).
    Json,
    /// Shell `export` lines for the engine's client variables, for
    /// `eval "$(rds-auth-token ... --format env)"`.
    Env,
    /// One `.pgpass` line: `host:port:*:user:token`.
    Pgpass,
    /// A connection URI with the token as the password, TLS required.
    Uri,
}

/// A format with the engine it needs, when it needs one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Token,
    Json,
    Env(Engine),
    Pgpass,
    Uri(Engine),
}

impl Output {
    /// Pairs `format` with `engine` (the flag's, else the port's).
    ///
    /// # Errors
    /// [`EngineNeeded`] for `env` and `uri` without an engine.
    pub fn new(format: Format, engine: Option<Engine>, port: u16) -> Result<Output, EngineNeeded> {
        Ok(match (format, engine) {
            (Format::Token, _) => Output::Token,
            (Format::Json, _) => Output::Json,
            (Format::Pgpass, _) => Output::Pgpass,
            (Format::Env, Some(engine)) => Output::Env(engine),
            (Format::Uri, Some(engine)) => Output::Uri(engine),
            (Format::Env, None) => return Err(EngineNeeded("env", port)),
            (Format::Uri, None) => return Err(EngineNeeded("uri", port)),
        })
    }
}

/// A token and what it was made for.
#[derive(Debug)]
pub struct Issued<'a> {
    pub token: &'a AuthToken,
    pub hostname: &'a str,
    pub port: u16,
    pub username: &'a str,
    pub region: &'a str,
    pub expires_at: SystemTime,
    /// When the credentials that signed the token expire, if they do.
    pub credential_expiration: Option<SystemTime>,
}

/// The formats that differ by engine were asked for without one.
#[derive(Debug, thiserror::Error)]
#[error("--format {0} needs the database engine, which port {1} does not tell; pass --engine postgres or --engine mysql")]
pub struct EngineNeeded(&'static str, u16);

/// The text to print on stdout, ending in a newline.
pub fn render(output: Output, issued: &Issued, now: SystemTime) -> String {
    let token = issued.token.as_str();
    let mut out = String::with_capacity(token.len() * 2);
    match output {
        Output::Token => out.push_str(token),
        Output::Json => {
            let left = issued
                .expires_at
                .duration_since(now)
                .map_or(0, |d| d.as_secs());
            out.push_str("{\"token\":");
            json_string(&mut out, token);
            out.push_str(",\"hostname\":");
            json_string(&mut out, issued.hostname);
            let _ = write!(out, ",\"port\":{},\"username\":", issued.port);
            json_string(&mut out, issued.username);
            out.push_str(",\"region\":");
            json_string(&mut out, issued.region);
            out.push_str(",\"expiration\":");
            json_string(&mut out, &rfc3339(issued.expires_at));
            let _ = write!(out, ",\"expires_in\":{left},\"credential_expiration\":");
            match issued.credential_expiration {
                Some(at) => json_string(&mut out, &rfc3339(at)),
                None => out.push_str("null"),
            }
            out.push('}');
        }
        Output::Env(engine) => {
            let port = issued.port.to_string();
            let vars: [(&str, &str); 4] = match engine {
                Engine::Postgres => [
                    ("PGHOST", issued.hostname),
                    ("PGPORT", &port),
                    ("PGUSER", issued.username),
                    ("PGPASSWORD", token),
                ],
                Engine::Mysql => [
                    ("MYSQL_HOST", issued.hostname),
                    ("MYSQL_TCP_PORT", &port),
                    ("LIBMYSQL_ENABLE_CLEARTEXT_PLUGIN", "1"),
                    ("MYSQL_PWD", token),
                ],
            };
            for (i, (name, value)) in vars.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                let _ = write!(out, "export {name}=");
                shell_quote(&mut out, value);
            }
        }
        Output::Pgpass => {
            pgpass_escape(&mut out, issued.hostname);
            let _ = write!(out, ":{}:*:", issued.port);
            pgpass_escape(&mut out, issued.username);
            out.push(':');
            pgpass_escape(&mut out, token);
        }
        Output::Uri(engine) => {
            let (scheme, tls) = match engine {
                Engine::Postgres => ("postgresql", "sslmode=require"),
                Engine::Mysql => ("mysql", "ssl-mode=REQUIRED"),
            };
            let _ = write!(out, "{scheme}://");
            userinfo_encode(&mut out, issued.username);
            out.push(':');
            userinfo_encode(&mut out, token);
            let _ = write!(out, "@{}:{}/?{tls}", issued.hostname, issued.port);
        }
    }
    out.push('\n');
    out
}

/// A JSON string literal.
fn json_string(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A POSIX shell word: single-quoted, with `'` written as `'\''`.
fn shell_quote(out: &mut String, value: &str) {
    out.push('\'');
    for c in value.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
}

/// A `.pgpass` field: `:` and `\` escaped with a backslash.
fn pgpass_escape(out: &mut String, value: &str) {
    for c in value.chars() {
        if c == ':' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
}

/// URI userinfo: everything but the unreserved set percent-encoded, so the
/// token's `:`, `/`, `?`, `&`, `=` and `%` survive any URI parser.
fn userinfo_encode(out: &mut String, value: &str) {
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_json_control_characters_quotes_and_backslashes() {
        let mut out = String::new();
        json_string(&mut out, "a\"b\\c\nd\u{1}e\u{2028}é");
        assert_eq!(out, r#""a\"b\\c\nd\u0001e\u2028é""#);
    }

    #[test]
    fn quotes_single_quotes_for_the_shell() {
        let mut out = String::new();
        shell_quote(&mut out, "it's $HOME `x`");
        assert_eq!(out, r#"'it'\''s $HOME `x`'"#);
    }

    #[test]
    fn escapes_colons_and_backslashes_for_pgpass() {
        let mut out = String::new();
        pgpass_escape(&mut out, r"h:5432/?a\b");
        assert_eq!(out, r"h\:5432/?a\\b");
    }
}
