//! A doctor's report written out: one line a check for people, one JSON object for scripts.

use std::fmt::Write as _;

use super::{Report, Status};
use crate::inspect::text::escaped;
use crate::json::push_string;

/// The most characters of one message or fix shown: room for a policy
/// document, not for a hostile megabyte.
const TEXT_MAX: usize = 4000;

/// The width of the name column: the longest name, `iam-auth-enabled`, and two spaces.
const NAME_WIDTH: usize = 18;

pub(super) fn text(report: &Report) -> String {
    let mut out = String::with_capacity(2048);
    for check in report.checks() {
        let _ = writeln!(
            out,
            "{:<6}{:<NAME_WIDTH$}{}",
            check.status.as_str(),
            check.name.as_str(),
            escaped(&check.message, TEXT_MAX)
        );
        if let Some(fix) = &check.fix {
            let _ = writeln!(out, "{:6}fix: {}", "", escaped(fix, TEXT_MAX));
        }
    }
    let count = |status| {
        report
            .checks()
            .iter()
            .filter(|c| c.status == status)
            .count()
    };
    let _ = writeln!(
        out,
        "{} failed, {} passed, {} skipped",
        count(Status::Fail),
        count(Status::Pass),
        count(Status::Skip)
    );
    out
}

pub(super) fn json(report: &Report) -> String {
    let mut out = String::with_capacity(2048);
    out.push_str("{\"checks\":[");
    for (i, check) in report.checks().iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"name\":");
        push_string(&mut out, check.name.as_str());
        out.push_str(",\"status\":");
        push_string(&mut out, check.status.as_str());
        out.push_str(",\"message\":");
        push_string(&mut out, &check.message);
        out.push_str(",\"fix\":");
        match &check.fix {
            Some(fix) => push_string(&mut out, fix),
            None => out.push_str("null"),
        }
        out.push('}');
    }
    out.push_str("]}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::super::{Check, CheckName, Report};

    fn report() -> Report {
        Report::new([
            Check::pass(CheckName::Credentials, "from environment variables"),
            Check::fail(
                CheckName::Clock,
                "the local clock is 10 min ahead of AWS",
                "synchronize the clock",
            ),
            Check::skip(CheckName::Policy, "iam:SimulatePrincipalPolicy is denied")
                .with_fix("attach {\"Version\":\"2012-10-17\"}"),
            Check::pass(CheckName::Network, "host\u{1b}[2J\nname"),
        ])
    }

    #[test]
    fn writes_one_line_a_check_with_each_fix_under_it() {
        let text = report().to_text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 13, "{text}");
        assert_eq!(
            lines[0],
            "pass  credentials       from environment variables"
        );
        assert_eq!(
            lines[3],
            "fail  clock             the local clock is 10 min ahead of AWS"
        );
        assert_eq!(lines[4], "      fix: synchronize the clock");
        assert_eq!(lines[8], "      fix: attach {\"Version\":\"2012-10-17\"}");
        assert_eq!(lines[9], r"pass  network           host\u{1b}[2J\nname");
        assert_eq!(lines[12], "1 failed, 2 passed, 7 skipped");
    }

    #[test]
    fn writes_json_with_every_name_in_order_and_null_for_no_fix() {
        let json = report().to_json();
        assert!(json.starts_with(
            "{\"checks\":[{\"name\":\"credentials\",\"status\":\"pass\",\"message\":\"from environment variables\",\"fix\":null},{\"name\":\"region\",\"status\":\"skip\",\"message\":\"not run\",\"fix\":null},"
        ), "{json}");
        assert!(json.contains(
            "{\"name\":\"policy\",\"status\":\"skip\",\"message\":\"iam:SimulatePrincipalPolicy is denied\",\"fix\":\"attach {\\\"Version\\\":\\\"2012-10-17\\\"}\"}"
        ));
        assert!(json.contains("\"message\":\"host\\u001b[2J\\nname\""));
        assert!(json.ends_with("}]}\n"));
        assert_eq!(json.lines().count(), 1);
    }
}
