//! An inspection written out: one field a line for people, one JSON object for scripts.

use std::fmt::Write as _;

use super::checks::timestamp;
use super::finding::span;
use super::kind::TokenKind;
use super::text::{field, json_string};
use super::verify::SignatureCheck;
use super::Inspection;
use crate::token::DsqlAction;

/// The labels, padded to one width.
const WIDTH: usize = 15;

pub(crate) fn text(inspection: &Inspection) -> String {
    let token = &inspection.token;
    let mut out = String::with_capacity(1024);
    let mut line = |label: &str, value: &str| {
        let _ = writeln!(out, "{:<WIDTH$}{value}", format!("{label}:"));
    };
    let or_missing = |value: Option<&str>| value.map_or_else(|| "(missing)".to_owned(), field);
    let kind = token.kind();
    line("kind", kind.name());
    match kind {
        TokenKind::Rds => {
            line("host", &or_missing(token.host()));
            line(
                "port",
                &token
                    .port()
                    .map_or_else(|| "(missing)".to_owned(), |p| p.to_string()),
            );
            line("user", &or_missing(token.username()));
        }
        TokenKind::Dsql => {
            line("host", &or_missing(token.host()));
            let role = match token.dsql_role() {
                Some(DsqlAction::ConnectAdmin) => "admin",
                Some(DsqlAction::Connect) => "a custom role, not admin",
                None => "(unknown)",
            };
            line("role", role);
        }
        TokenKind::ElastiCache | TokenKind::MemoryDb => {
            let label = if kind == TokenKind::MemoryDb {
                "cluster name"
            } else {
                "cache name"
            };
            line(label, &or_missing(token.host()));
            line("user id", &or_missing(token.user_id()));
            if kind == TokenKind::ElastiCache || token.resource_type().is_some() {
                line("serverless", if token.serverless() { "yes" } else { "no" });
            }
        }
    }
    line("action", &or_missing(token.action()));
    line("service", &or_missing(token.service()));
    line("region", &or_missing(token.region()));
    line("access key id", &or_missing(token.access_key_id()));
    line(
        "session token",
        match token.session_token() {
            None => "none",
            Some("") => "present but empty",
            Some(_) => "present (not shown)",
        },
    );
    line(
        "signed at",
        &token
            .signed_at
            .map_or_else(|| "(missing)".to_owned(), timestamp),
    );
    let expires_at = match (token.expires_at_secs(), token.expires_in()) {
        (Some(at), Some(secs)) => format!("{} (valid for {secs} s)", timestamp(at)),
        (None, Some(secs)) if token.signed_at.is_some() => {
            format!("after 9999 (valid for {secs} s)")
        }
        _ => "(unknown)".to_owned(),
    };
    line("expires at", &expires_at);
    match token.expires_at_secs() {
        Some(at) if at >= inspection.now => line("time left", &span(at.abs_diff(inspection.now))),
        Some(at) => line(
            "expired",
            &format!("{} ago", span(inspection.now.abs_diff(at))),
        ),
        None => line("time left", "(unknown)"),
    }
    if let Some(signature) = &inspection.signature {
        let text = match signature {
            SignatureCheck::Matches => format!(
                "matches the secret key of {}",
                inspection
                    .verified_with
                    .as_deref()
                    .unwrap_or("the credentials")
            ),
            SignatureCheck::DoesNotMatch => "does not match".to_owned(),
            SignatureCheck::NotChecked(why) => format!("not checked: {why}"),
        };
        line("signature", &text);
    }
    if inspection.findings.is_empty() {
        line("problems", "none");
    } else {
        line("problems", &inspection.findings.len().to_string());
        for finding in &inspection.findings {
            let _ = writeln!(out, "problem: {}: {finding}", finding.code());
        }
    }
    out
}

pub(crate) fn json(inspection: &Inspection) -> String {
    let token = &inspection.token;
    let mut out = String::with_capacity(1024);
    let string = |out: &mut String, key: &str, value: Option<&str>| {
        let _ = write!(out, ",\"{key}\":");
        match value {
            Some(v) => json_string(out, v),
            None => out.push_str("null"),
        }
    };
    let number = |out: &mut String, key: &str, value: Option<String>| {
        let _ = write!(out, ",\"{key}\":{}", value.as_deref().unwrap_or("null"));
    };
    let kind = token.kind();
    let _ = write!(out, "{{\"ok\":{}", inspection.is_ok());
    string(&mut out, "kind", Some(kind.as_str()));
    string(&mut out, "host", token.host());
    number(&mut out, "port", token.port().map(|p| p.to_string()));
    string(&mut out, "username", token.username());
    let role = match (kind, token.dsql_role()) {
        (TokenKind::Dsql, Some(DsqlAction::ConnectAdmin)) => Some("admin"),
        (TokenKind::Dsql, Some(DsqlAction::Connect)) => Some("custom"),
        _ => None,
    };
    string(&mut out, "role", role);
    string(&mut out, "user_id", token.user_id());
    number(
        &mut out,
        "serverless",
        kind.is_cache().then(|| token.serverless().to_string()),
    );
    string(&mut out, "action", token.action());
    string(&mut out, "service", token.service());
    string(&mut out, "region", token.region());
    string(&mut out, "access_key_id", token.access_key_id());
    let _ = write!(
        out,
        ",\"session_token_present\":{}",
        token.has_session_token()
    );
    string(
        &mut out,
        "signed_at",
        token.signed_at.map(timestamp).as_deref(),
    );
    number(
        &mut out,
        "expires_in",
        token.expires_in().map(|s| s.to_string()),
    );
    string(
        &mut out,
        "expires_at",
        token.expires_at_secs().map(timestamp).as_deref(),
    );
    number(
        &mut out,
        "seconds_left",
        token
            .expires_at_secs()
            .map(|at| at.saturating_sub(inspection.now).to_string()),
    );
    string(
        &mut out,
        "signature",
        inspection.signature.as_ref().map(|s| match s {
            SignatureCheck::Matches => "matches",
            SignatureCheck::DoesNotMatch => "does_not_match",
            SignatureCheck::NotChecked(_) => "not_checked",
        }),
    );
    out.push_str(",\"problems\":[");
    for (i, finding) in inspection.findings.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"code\":");
        json_string(&mut out, finding.code());
        out.push_str(",\"message\":");
        json_string(&mut out, &finding.to_string());
        out.push('}');
    }
    out.push_str("]}\n");
    out
}
