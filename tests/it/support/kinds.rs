//! botocore's Aurora DSQL, ElastiCache and MemoryDB tokens
//! (tests/reference/botocore_kinds.py) for inputs a test names, to compare
//! with what the binary prints at the same frozen second.

use super::{ACCESS_KEY, SECRET_KEY};

/// The second tests freeze the binary's clock at, as libfaketime takes it.
pub const FROZEN_AT: &str = "2026-11-22 01:21:07";
/// The same second as SigV4 writes it.
pub const FROZEN_AMZ: &str = "20261122T012107Z";

/// One token for botocore to make, with the test keys.
#[derive(Debug, Clone)]
pub struct KindCase<'a> {
    /// `dsql`, `dsql-admin`, `elasticache` or `memorydb`.
    pub kind: &'a str,
    /// The DSQL host name, or the cache or cluster name.
    pub name: &'a str,
    pub user: &'a str,
    pub serverless: bool,
    pub region: &'a str,
    pub expires_in: u64,
    pub session_token: Option<&'a str>,
}

fn json_str(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// botocore's tokens for `cases`, signed at [`FROZEN_AMZ`].
#[track_caller]
pub fn botocore_kind_tokens(cases: &[KindCase]) -> Vec<String> {
    let input: String = cases
        .iter()
        .map(|c| {
            format!(
                "{{\"kind\":{},\"name\":{},\"user\":{},\"serverless\":{},\"region\":{},\"expires_in\":{},\"access_key\":{},\"secret_key\":{},\"session_token\":{},\"timestamp\":\"{FROZEN_AMZ}\"}}\n",
                json_str(c.kind),
                json_str(c.name),
                json_str(c.user),
                c.serverless,
                json_str(c.region),
                c.expires_in,
                json_str(ACCESS_KEY),
                json_str(SECRET_KEY),
                c.session_token.map_or_else(|| "null".to_owned(), json_str),
            )
        })
        .collect();
    run_reference(&input, cases.len())
}

/// Runs tests/reference/botocore_kinds.py on `input` (one JSON case a line,
/// as its docstring says) and returns its `expected` tokens.
#[track_caller]
pub fn run_reference(input: &str, expected: usize) -> Vec<String> {
    let script = super::python::reference("botocore_kinds.py");
    let output = super::python::current().run(&[&script], input);
    let tokens: Vec<String> = output
        .lines()
        .map(|l| l.trim().trim_matches('"').to_owned())
        .collect();
    assert_eq!(tokens.len(), expected, "one token a case");
    tokens
}
