//! The library's AWS API calls (`rds_auth_token::aws_api`) made in this
//! process: `simulate_connect` against the loopback IAM stand-in, and
//! `caller_identity` against moto_server's STS, with AWS's clock.
//!
//! The clients read their endpoints and profiles from the process
//! environment, so this file holds one test, which runs alone in a child
//! process of the test binary and sets that environment there.

use crate::support;

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use rds_auth_token::aws_api::{Api, ApiError, EvalDecision};
use rds_auth_token::credentials::{ChainSettings, Profiles};
use support::iam::{Iam, Verdict};
use support::moto::Moto;
use support::{ACCESS_KEY, SECRET_KEY};

const ROLE: &str = "arn:aws:iam::111122223333:role/app";

fn arn(user: &str) -> String {
    format!("arn:aws:rds-db:us-east-1:111122223333:dbuser:db-ABCDEFGHIJKL01234/{user}")
}

async fn api() -> Api {
    let profiles = Profiles::load(None).await.expect("no profile files");
    let credentials = Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "test");
    Api::new(&profiles, "us-east-1", credentials, &ChainSettings::new()).await
}

#[test]
fn simulates_connect_through_the_iam_stand_in_and_reads_the_callers_identity_and_clock() {
    if !support::alone::in_child() {
        return support::alone::run(
            "aws_api::simulates_connect_through_the_iam_stand_in_and_reads_the_callers_identity_and_clock",
        );
    }
    let home = tempfile::tempdir().unwrap();
    let iam = Iam::start(
        &[
            (&arn("app"), Verdict::Allowed),
            (&arn("admin"), Verdict::ExplicitDeny),
        ],
        2,
    );
    let denying = Iam::denying();
    let moto = Moto::start();
    // Only this test runs in this child process: its environment is the
    // clients'.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("AWS_") {
            std::env::remove_var(key);
        }
    }
    std::env::set_var("HOME", home.path());
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    std::env::set_var("AWS_ENDPOINT_URL_IAM", iam.url());
    std::env::set_var("AWS_ENDPOINT_URL_STS", format!("http://{}", moto.addr()));

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        // The clients' Debug form, with temporary credentials, shows
        // neither the secret key nor the session token.
        let profiles = Profiles::load(None).await.expect("no profile files");
        let session = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN";
        let temporary =
            Credentials::new(ACCESS_KEY, SECRET_KEY, Some(session.into()), None, "test");
        let shown = format!(
            "{:?}",
            Api::new(&profiles, "us-east-1", temporary, &ChainSettings::new()).await
        );
        assert!(
            !shown.contains(SECRET_KEY) && !shown.contains(session),
            "{shown}"
        );
        // The credentials are in it (by their access key id), so the
        // check above looked at them.
        assert!(shown.contains(ACCESS_KEY));

        let api = api().await;
        let resources = [arn("app"), arn("report"), arn("admin")];
        let decisions = api.simulate_connect(ROLE, &resources).await.unwrap();
        let got: Vec<(&str, &EvalDecision)> = decisions
            .iter()
            .map(|d| (d.resource_arn.as_str(), &d.decision))
            .collect();
        assert_eq!(
            got,
            [
                (resources[0].as_str(), &EvalDecision::Allowed),
                (resources[1].as_str(), &EvalDecision::ImplicitDeny),
                (resources[2].as_str(), &EvalDecision::ExplicitDeny),
            ]
        );
        assert_eq!(decisions[0].matched_policies, ["db-connect"]);
        assert!(decisions[1].matched_policies.is_empty());

        // Two pages of two: the second continues from the first's marker.
        let asked = iam.asked();
        assert_eq!(asked.len(), 2, "{asked:?}");
        for question in &asked {
            assert_eq!(question.policy_source_arn, ROLE);
            assert_eq!(question.action_names, ["rds-db:connect"]);
            assert_eq!(question.resource_arns, resources);
            assert!(
                question
                    .credential_scope
                    .starts_with(&format!("{ACCESS_KEY}/"))
                    && question
                        .credential_scope
                        .ends_with("/us-east-1/iam/aws4_request"),
                "{}",
                question.credential_scope
            );
        }
        assert_eq!(asked[0].marker, None);
        assert_eq!(asked[1].marker.as_deref(), Some("2"));

        // Pages of two for 42 users: it stops at 20 pages and says so,
        // rather than answer for 40 users as if for all.
        let many: Vec<String> = (0..42).map(|n| arn(&format!("user{n}"))).collect();
        let err = api.simulate_connect(ROLE, &many).await.unwrap_err();
        assert!(
            matches!(err, ApiError::ListingCut { pages: 20, .. }),
            "{err}"
        );
        assert!(
            err.to_string()
                .starts_with("SimulatePrincipalPolicy stopped after 20 pages with more left;"),
            "{err}"
        );
        assert_eq!(iam.asked().len(), 2 + 20);

        // STS: the caller, and the Date of moto's answer as AWS's clock.
        let me = api.caller_identity().await.unwrap();
        assert_eq!(me.account.len(), 12);
        assert!(me.arn.starts_with("arn:aws:"), "{}", me.arn);
        let date = me.server_date.expect("moto's answer has a Date");
        let skew = match SystemTime::now().duration_since(date) {
            Ok(d) => d,
            Err(e) => e.duration(),
        };
        assert!(skew < Duration::from_secs(60), "Date is {skew:?} off");
    });

    // A caller that may not simulate gets the permission named, not a panic.
    std::env::set_var("AWS_ENDPOINT_URL_IAM", denying.url());
    runtime.block_on(async {
        let err = api()
            .await
            .simulate_connect(ROLE, &[arn("app")])
            .await
            .unwrap_err();
        assert_eq!(err.denied_permission(), Some("iam:SimulatePrincipalPolicy"));
        assert!(matches!(err, ApiError::Denied { .. }));
        let line = err.to_string();
        assert!(
            line.starts_with("iam:SimulatePrincipalPolicy was denied: User: "),
            "{line}"
        );
        assert!(!line.contains('\n') && !line.contains(SECRET_KEY), "{line}");
    });
}
