//! The proxy's log on stderr: one line an event, as text or, with
//! `--structured-logs`, one JSON object a line. Fields name who connected,
//! as which database user, to which database, and why a login failed;
//! never a token, a password or a key. Text that came from a client or a
//! server is escaped, so no log line can be split or hide a terminal
//! control sequence.

use std::fmt;
use std::io::Write as _;
use std::time::SystemTime;

use crate::issuer::{Observer, Warning};
use crate::times::rfc3339;

/// The longest value a field shows.
const MAX_FIELD: usize = 200;

/// How bad an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// Where and how events are written.
#[derive(Debug, Clone, Copy, Default)]
pub struct Log {
    /// One JSON object a line.
    pub structured: bool,
    /// Write [`Level::Debug`] events too.
    pub debug: bool,
}

impl Log {
    /// Writes one event: `message` and its `fields`, at `level`.
    pub fn event(&self, level: Level, message: &str, fields: &[(&str, &str)]) {
        if level == Level::Debug && !self.debug {
            return;
        }
        let line = self.line(SystemTime::now(), level, message, fields);
        // One write a line, so lines from several tasks never interleave.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    /// The line [`event`](Self::event) writes, ending in a newline.
    pub fn line(
        &self,
        at: SystemTime,
        level: Level,
        message: &str,
        fields: &[(&str, &str)],
    ) -> String {
        let mut out = String::with_capacity(128);
        if self.structured {
            out.push_str("{\"time\":");
            crate::json::push_string(&mut out, &rfc3339(at));
            out.push_str(",\"level\":");
            crate::json::push_string(&mut out, level.as_str());
            out.push_str(",\"message\":");
            crate::json::push_string(&mut out, message);
            for (name, value) in fields {
                out.push(',');
                crate::json::push_string(&mut out, name);
                out.push(':');
                crate::json::push_string(&mut out, &cut(value));
            }
            out.push('}');
        } else {
            out.push_str("rds-auth-token proxy: ");
            if level != Level::Info {
                out.push_str(level.as_str());
                out.push_str(": ");
            }
            out.push_str(&crate::text::one_line(message, 600));
            for (name, value) in fields {
                out.push(' ');
                out.push_str(name);
                out.push('=');
                out.push_str(&crate::text::quoted(value, MAX_FIELD));
            }
        }
        out.push('\n');
        out
    }

    pub fn info(&self, message: &str, fields: &[(&str, &str)]) {
        self.event(Level::Info, message, fields);
    }

    pub fn warn(&self, message: &str, fields: &[(&str, &str)]) {
        self.event(Level::Warn, message, fields);
    }

    pub fn error(&self, message: &str, fields: &[(&str, &str)]) {
        self.event(Level::Error, message, fields);
    }
}

fn cut(value: &str) -> String {
    match value.char_indices().nth(MAX_FIELD) {
        Some((at, _)) => format!("{}...", &value[..at]),
        None => value.to_owned(),
    }
}

/// The issuer's debug lines and warnings as log events, each warning once:
/// short credentials cut every token made with them, and one line for each
/// new server login would say the same thing again and again.
#[derive(Debug, Default)]
pub struct IssuerLog {
    log: Log,
    said: std::sync::Mutex<Vec<Warning>>,
}

impl IssuerLog {
    pub fn new(log: Log) -> IssuerLog {
        IssuerLog {
            log,
            said: std::sync::Mutex::default(),
        }
    }
}

impl Observer for IssuerLog {
    fn debug(&self, line: fmt::Arguments<'_>) {
        self.log.debug(line);
    }

    fn warning(&self, warning: &Warning) {
        let key = match warning {
            // The same credentials cut each token to a different length.
            Warning::Shortened {
                credentials_expire, ..
            } => Warning::Shortened {
                credentials_expire: *credentials_expire,
                expires_in: 0,
                asked: 0,
            },
            other => other.clone(),
        };
        let mut said = self
            .said
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if said.contains(&key) {
            return;
        }
        if said.len() >= 64 {
            said.clear();
        }
        said.push(key);
        drop(said);
        self.log.warning(warning);
    }
}

/// The issuer's debug lines and warnings, as log events.
impl Observer for Log {
    fn debug(&self, line: fmt::Arguments<'_>) {
        if self.debug {
            self.event(Level::Debug, &line.to_string(), &[]);
        }
    }

    fn warning(&self, warning: &Warning) {
        let message = match warning {
            Warning::EndpointInAnotherRegion {
                region,
                source,
                endpoint_region,
            } => format!("signing for {region} (from {source}), but the endpoint is in {endpoint_region}; the database will refuse these tokens, pass --region {endpoint_region}"),
            Warning::Shortened {
                credentials_expire,
                expires_in,
                ..
            } => format!(
                "the credentials expire at {}, so tokens are valid for {expires_in} seconds; they are fetched again before they run out",
                rfc3339(*credentials_expire)
            ),
        };
        self.event(Level::Warn, &message, &[]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn writes_text_or_one_json_object_a_line_with_client_text_escaped() {
        let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let fields = [("user", "evil\n\u{1b}[2J"), ("database", "db")];
        let text = Log::default().line(at, Level::Warn, "login refused", &fields);
        assert_eq!(
            text,
            "rds-auth-token proxy: warn: login refused user='evil\\n\\u{1b}[2J' database='db'\n"
        );
        let json = Log {
            structured: true,
            debug: false,
        }
        .line(at, Level::Info, "login", &fields);
        assert_eq!(
            json,
            "{\"time\":\"2023-11-14T22:13:20Z\",\"level\":\"info\",\"message\":\"login\",\"user\":\"evil\\n\\u001b[2J\",\"database\":\"db\"}\n"
        );
    }

    #[test]
    fn says_each_issuer_warning_once() {
        let issuer_log = IssuerLog::new(Log::default());
        let expire = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        for expires_in in [120, 110, 100] {
            issuer_log.warning(&Warning::Shortened {
                credentials_expire: expire,
                expires_in,
                asked: 900,
            });
        }
        assert_eq!(issuer_log.said.lock().unwrap().len(), 1);
        issuer_log.warning(&Warning::Shortened {
            credentials_expire: expire + Duration::from_secs(120),
            expires_in: 120,
            asked: 900,
        });
        assert_eq!(issuer_log.said.lock().unwrap().len(), 2);
    }

    #[test]
    fn cuts_long_fields() {
        let long = "x".repeat(1000);
        let json = Log {
            structured: true,
            debug: false,
        }
        .line(UNIX_EPOCH, Level::Info, "m", &[("f", &long)]);
        assert!(json.len() < 300, "{json}");
    }
}
