//! A loopback stand-in for IAM's `SimulatePrincipalPolicy` (moto has none),
//! and the AWS query protocol's pieces other stand-ins share: form bodies
//! in, XML answers and errors out.
//!
//! It speaks IAM's query protocol as the IAM API reference and the SDK's
//! deserializer (aws-sdk-iam `shape_simulate_principal_policy.rs`) have it:
//! a form POST `Action=SimulatePrincipalPolicy&Version=2010-05-08&
//! PolicySourceArn=...&ActionNames.member.1=...&ResourceArns.member.N=...`
//! answered with `SimulatePrincipalPolicyResponse` /
//! `SimulatePrincipalPolicyResult` / `EvaluationResults` / `member` ...
//! Each resource ARN gets the verdict configured for it (`implicitDeny`
//! otherwise), and every question is recorded.

use std::sync::Arc;

use super::http::{Request, Response, Server};

/// IAM's verdict for a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    ImplicitDeny,
    ExplicitDeny,
}

impl Verdict {
    fn as_str(self) -> &'static str {
        match self {
            Verdict::Allowed => "allowed",
            Verdict::ImplicitDeny => "implicitDeny",
            Verdict::ExplicitDeny => "explicitDeny",
        }
    }
}

/// One `SimulatePrincipalPolicy` question, as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Simulation {
    pub policy_source_arn: String,
    pub action_names: Vec<String>,
    pub resource_arns: Vec<String>,
    /// The `Marker` it continued from, if any.
    pub marker: Option<String>,
    /// The credential scope of its SigV4 signature: `KEY/DATE/REGION/iam/aws4_request`.
    pub credential_scope: String,
}

/// A running stand-in; it stops when dropped.
pub struct Iam {
    server: Server,
}

impl Iam {
    /// Answers each resource ARN with its verdict in `verdicts`
    /// (`implicitDeny` for any other), at most `per_page` results an
    /// answer (then `IsTruncated` and a `Marker`).
    pub fn start(verdicts: &[(&str, Verdict)], per_page: usize) -> Iam {
        let verdicts: Arc<Vec<(String, Verdict)>> = Arc::new(
            verdicts
                .iter()
                .map(|(arn, v)| ((*arn).to_owned(), *v))
                .collect(),
        );
        let server = Server::start(move |req| answer(req, &verdicts, per_page.max(1)));
        Iam { server }
    }

    /// Answers every call with `AccessDenied`, as IAM does for a caller
    /// without `iam:SimulatePrincipalPolicy`.
    pub fn denying() -> Iam {
        let server = Server::start(|_req| {
            error_response(
                403,
                "AccessDenied",
                "User: arn:aws:sts::123456789012:assumed-role/app/s is not authorized to perform: iam:SimulatePrincipalPolicy on resource: role app because no identity-based policy allows the iam:SimulatePrincipalPolicy action",
            )
        });
        Iam { server }
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL_IAM`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Every question asked, in order.
    pub fn asked(&self) -> Vec<Simulation> {
        self.server
            .requests()
            .iter()
            .filter_map(|req| {
                let form = form(req);
                (value(&form, "Action") == Some("SimulatePrincipalPolicy")).then(|| Simulation {
                    policy_source_arn: value(&form, "PolicySourceArn")
                        .unwrap_or_default()
                        .to_owned(),
                    action_names: members(&form, "ActionNames"),
                    resource_arns: members(&form, "ResourceArns"),
                    marker: value(&form, "Marker").map(str::to_owned),
                    credential_scope: req
                        .header("authorization")
                        .and_then(|a| a.split("Credential=").nth(1))
                        .and_then(|c| c.split(',').next())
                        .unwrap_or_default()
                        .to_owned(),
                })
            })
            .collect()
    }
}

fn answer(req: &Request, verdicts: &[(String, Verdict)], per_page: usize) -> Response {
    let form = form(req);
    if value(&form, "Action") != Some("SimulatePrincipalPolicy") {
        return error_response(400, "InvalidAction", "only SimulatePrincipalPolicy is here");
    }
    let actions = members(&form, "ActionNames");
    let resources = members(&form, "ResourceArns");
    let results: Vec<(String, String)> = actions
        .iter()
        .flat_map(|action| resources.iter().map(move |r| (action.clone(), r.clone())))
        .collect();
    let start: usize = value(&form, "Marker")
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    let end = (start + per_page).min(results.len());
    let mut members_xml = String::new();
    for (action, resource) in &results[start.min(end)..end] {
        let verdict = verdicts
            .iter()
            .find(|(arn, _)| arn == resource)
            .map_or(Verdict::ImplicitDeny, |(_, v)| *v);
        let matched = if verdict == Verdict::ImplicitDeny {
            String::new()
        } else {
            "<member><SourcePolicyId>db-connect</SourcePolicyId><SourcePolicyType>IAM Policy</SourcePolicyType>\
             <StartPosition><Line>1</Line><Column>52</Column></StartPosition>\
             <EndPosition><Line>1</Line><Column>220</Column></EndPosition></member>"
                .to_owned()
        };
        members_xml.push_str(&format!(
            "<member><EvalActionName>{}</EvalActionName><EvalResourceName>{}</EvalResourceName>\
             <EvalDecision>{}</EvalDecision><MatchedStatements>{matched}</MatchedStatements>\
             <MissingContextValues/></member>",
            xml_escape(action),
            xml_escape(resource),
            verdict.as_str(),
        ));
    }
    let more = if end < results.len() {
        format!("<IsTruncated>true</IsTruncated><Marker>{end}</Marker>")
    } else {
        "<IsTruncated>false</IsTruncated>".to_owned()
    };
    Response::ok(format!(
        "<SimulatePrincipalPolicyResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
         <SimulatePrincipalPolicyResult>{more}<EvaluationResults>{members_xml}</EvaluationResults>\
         </SimulatePrincipalPolicyResult>\
         <ResponseMetadata><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId></ResponseMetadata>\
         </SimulatePrincipalPolicyResponse>"
    ))
    .header("Content-Type", "text/xml")
}

/// The request's form body as decoded pairs.
pub fn form(req: &Request) -> Vec<(String, String)> {
    req.body_text()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (form_decode(k), form_decode(v))
        })
        .collect()
}

/// The first value of `key`.
pub fn value<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// The list `NAME.member.1`, `NAME.member.2`, ... in order.
pub fn members(form: &[(String, String)], name: &str) -> Vec<String> {
    (1..)
        .map_while(|i| value(form, &format!("{name}.member.{i}")).map(str::to_owned))
        .collect()
}

fn form_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `text` with `&`, `<`, `>` and `"` escaped for XML.
pub fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An AWS query-protocol error answer (IAM, STS and RDS share its shape).
pub fn error_response(status: u16, code: &str, message: &str) -> Response {
    Response::status(
        status,
        format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error>\
             <RequestId>0c8e5d3e-EXAMPLE</RequestId></ErrorResponse>",
            xml_escape(code),
            xml_escape(message)
        ),
    )
    .header("Content-Type", "text/xml")
}
