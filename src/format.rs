//! How a token is printed: `--format token|json|env|pgpass|uri` for RDS,
//! and the pieces the other kinds' formats are made of.

use std::fmt::Write as _;
use std::path::Path;
use std::time::SystemTime;

use crate::endpoint::Via;
use crate::engine::Engine;
use crate::json::push_string;
use crate::{rfc3339, AuthToken};

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Format {
    /// The bare token and a newline.
    Token,
    /// One JSON object: token, hostname, port, username, region, expiration
    /// (RFC 3339 UTC), seconds left, and credential_expiration (when the
    /// credentials expire, or null).
    Json,
    // No double quote or dollar sign in this help: clap_complete puts it
    // inside double quotes in fish's completion script, unescaped.
    /// Shell `export` lines for the engine's client variables, for the
    /// shell's `eval`.
    Env,
    /// One `.pgpass` line: `host:port:*:user:token`.
    Pgpass,
    /// A connection URI with the token as the password, and the server's
    /// certificate verified against the CA bundle.
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

/// A token and what a client needs to connect with it.
#[derive(Debug)]
pub struct Connection<'a> {
    pub token: &'a AuthToken,
    pub hostname: &'a str,
    pub port: u16,
    pub username: &'a str,
    pub region: &'a str,
    pub expires_at: SystemTime,
    /// When the credentials that signed the token expire, if they do.
    pub credential_expiration: Option<SystemTime>,
    /// The CA file clients verify the server with (`env` and `uri`).
    pub ca_file: Option<&'a Path>,
    /// The tunnel clients connect through.
    pub via: Option<Via>,
}

impl Connection<'_> {
    /// The port a client connects to: the tunnel's, else the database's.
    pub fn connect_port(&self) -> u16 {
        self.via.map_or(self.port, |v| v.port)
    }

    /// The host a MySQL client connects to (it has no hostaddr): the
    /// tunnel's address, else the database's name.
    pub fn mysql_host(&self) -> String {
        self.via
            .map_or_else(|| self.hostname.to_owned(), |v| v.ip.to_string())
    }

    /// MySQL's `--ssl-mode`: the name is checked unless a tunnel's address
    /// stands in for it.
    pub fn mysql_ssl_mode(&self) -> &'static str {
        if self.via.is_some() {
            "VERIFY_CA"
        } else {
            "VERIFY_IDENTITY"
        }
    }
}

/// The formats that differ by engine were asked for without one.
#[derive(Debug, thiserror::Error)]
#[error("the {0} format needs the database engine, which port {1} does not tell; give the engine")]
pub struct EngineNeeded(pub &'static str, pub u16);

/// The text to print on stdout, ending in a newline.
pub fn render(output: Output, issued: &Connection, now: SystemTime) -> String {
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
            push_string(&mut out, token);
            out.push_str(",\"hostname\":");
            push_string(&mut out, issued.hostname);
            let _ = write!(out, ",\"port\":{},\"username\":", issued.port);
            push_string(&mut out, issued.username);
            out.push_str(",\"region\":");
            push_string(&mut out, issued.region);
            out.push_str(",\"expiration\":");
            push_string(&mut out, &rfc3339(issued.expires_at));
            let _ = write!(out, ",\"expires_in\":{left},\"credential_expiration\":");
            match issued.credential_expiration {
                Some(at) => push_string(&mut out, &rfc3339(at)),
                None => out.push_str("null"),
            }
            out.push('}');
        }
        Output::Env(engine) => {
            let port = issued.connect_port().to_string();
            let ca = issued
                .ca_file
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            let hostaddr = issued.via.map(|v| v.ip.to_string());
            let mysql_host = issued.mysql_host();
            let mut vars: Vec<(&str, &str)> = Vec::with_capacity(7);
            match engine {
                Engine::Postgres => {
                    vars.push(("PGHOST", issued.hostname));
                    if let Some(addr) = &hostaddr {
                        vars.push(("PGHOSTADDR", addr));
                    }
                    vars.extend([
                        ("PGPORT", port.as_str()),
                        ("PGUSER", issued.username),
                        ("PGSSLMODE", "verify-full"),
                        ("PGSSLROOTCERT", &ca),
                        ("PGPASSWORD", token),
                    ]);
                }
                Engine::Mysql => vars.extend([
                    ("MYSQL_HOST", mysql_host.as_str()),
                    ("MYSQL_TCP_PORT", port.as_str()),
                    ("LIBMYSQL_ENABLE_CLEARTEXT_PLUGIN", "1"),
                    ("MYSQL_PWD", token),
                ]),
            }
            for (i, (name, value)) in vars.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                let _ = write!(out, "export {name}=");
                shell_quote(&mut out, value);
            }
        }
        Output::Pgpass => {
            // libpq matches the line against host (not hostaddr) and the
            // port it connects to.
            out.push_str(&crate::password_file::pgpass_line(
                issued.hostname,
                issued.connect_port(),
                issued.username,
                token,
            ));
        }
        Output::Uri(engine) => {
            let scheme = match engine {
                Engine::Postgres => "postgresql",
                Engine::Mysql => "mysql",
            };
            let _ = write!(out, "{scheme}://");
            userinfo_encode(&mut out, issued.username);
            out.push(':');
            userinfo_encode(&mut out, token);
            let ca = issued
                .ca_file
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            match engine {
                Engine::Postgres => {
                    let _ = write!(out, "@{}:{}/?", issued.hostname, issued.connect_port());
                    if let Some(via) = issued.via {
                        let _ = write!(out, "hostaddr={}&", via.ip);
                    }
                    out.push_str("sslmode=verify-full&sslrootcert=");
                }
                Engine::Mysql => {
                    let host = match issued.via {
                        Some(Via {
                            ip: ip @ std::net::IpAddr::V6(_),
                            ..
                        }) => format!("[{ip}]"),
                        _ => issued.mysql_host(),
                    };
                    let _ = write!(
                        out,
                        "@{host}:{}/?ssl-mode={}&ssl-ca=",
                        issued.connect_port(),
                        issued.mysql_ssl_mode()
                    );
                }
            }
            userinfo_encode(&mut out, &ca);
        }
    }
    out.push('\n');
    out
}

/// Any kind's token and when it expires, for the other kinds' formats.
#[derive(Debug)]
pub struct Printed<'a> {
    pub token: &'a str,
    pub region: &'a str,
    pub expires_at: SystemTime,
    /// When the credentials that signed the token expire, if they do.
    pub credential_expiration: Option<SystemTime>,
}

/// The bare token and a newline.
pub fn bare(printed: &Printed) -> String {
    format!("{}\n", printed.token)
}

/// One JSON object and a newline: the token, then `fields` (strings), the
/// region, the expiration (RFC 3339 UTC), the seconds left at `now`, and
/// when the credentials expire (or null).
pub fn json(printed: &Printed, fields: &[(&str, &str)], now: SystemTime) -> String {
    let mut out = String::with_capacity(printed.token.len() * 2);
    out.push_str("{\"token\":");
    push_string(&mut out, printed.token);
    for (name, value) in fields {
        out.push(',');
        push_string(&mut out, name);
        out.push(':');
        push_string(&mut out, value);
    }
    out.push_str(",\"region\":");
    push_string(&mut out, printed.region);
    out.push_str(",\"expiration\":");
    push_string(&mut out, &rfc3339(printed.expires_at));
    let left = printed
        .expires_at
        .duration_since(now)
        .map_or(0, |d| d.as_secs());
    let _ = write!(out, ",\"expires_in\":{left},\"credential_expiration\":");
    match printed.credential_expiration {
        Some(at) => push_string(&mut out, &rfc3339(at)),
        None => out.push_str("null"),
    }
    out.push_str("}\n");
    out
}

/// Shell `export NAME='value'` lines, one a variable, ending in a newline.
pub fn exports(vars: &[(&str, String)]) -> String {
    let mut out = String::new();
    for (name, value) in vars {
        let _ = write!(out, "export {name}=");
        shell_quote(&mut out, value);
        out.push('\n');
    }
    out
}

/// A `postgresql://` URI with the token as the password and the server's
/// certificate verified against `ca`, and a newline.
pub fn postgres_uri(
    host: &str,
    port: u16,
    user: &str,
    token: &str,
    database: &str,
    ca: Option<&Path>,
) -> String {
    let mut out = String::from("postgresql://");
    userinfo_encode(&mut out, user);
    out.push(':');
    userinfo_encode(&mut out, token);
    let _ = write!(out, "@{host}:{port}/");
    userinfo_encode(&mut out, database);
    out.push_str("?sslmode=verify-full&sslrootcert=");
    userinfo_encode(
        &mut out,
        &ca.map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default(),
    );
    out.push('\n');
    out
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

/// URI userinfo and query values: everything but the unreserved set
/// percent-encoded, so the token's `:`, `/`, `?`, `&`, `=` and `%` survive any URI parser.
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
    fn quotes_single_quotes_for_the_shell() {
        let mut out = String::new();
        shell_quote(&mut out, "it's $HOME `x`");
        assert_eq!(out, r#"'it'\''s $HOME `x`'"#);
    }
}
