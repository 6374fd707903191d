//! `rds-auth-token policy` against moto_server's RDS and STS, and loopback
//! stand-ins for what moto lacks (custom and proxy endpoints), denied calls
//! and an endpoint that never answers. Expected policies come from
//! tests/reference/moto_rds.py: moto's own resource ids and account, the
//! partition from botocore, the layout of the AWS CLI's JSON.

use crate::support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::http::{Request, Response, Server};
use support::iam::{error_response, form, value};
use support::moto::Moto;
use support::{TestEnv, SECRET_KEY};

/// A database endpoint moto knows, as tests/reference/moto_rds.py printed it.
#[derive(Debug, Clone)]
struct Db {
    region: String,
    kind: String,
    name: String,
    address: String,
    resource_id: String,
    iam: bool,
}

/// Creates the databases of tests/reference/moto_rds.py in `moto`, in
/// `regions`; returns them and the account.
#[track_caller]
fn moto_databases(moto: &Moto, regions: &[&str]) -> (Vec<Db>, String) {
    let url = format!("http://{}", moto.addr());
    let mut args = vec!["setup", url.as_str()];
    args.extend_from_slice(regions);
    let out = reference(&args);
    let mut dbs = Vec::new();
    let mut account = String::new();
    for line in out.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        match fields.as_slice() {
            ["account", id] => account = (*id).to_owned(),
            [region, kind, name, address, resource_id, iam] => dbs.push(Db {
                region: (*region).to_owned(),
                kind: (*kind).to_owned(),
                name: (*name).to_owned(),
                address: (*address).to_owned(),
                resource_id: (*resource_id).to_owned(),
                iam: *iam == "true",
            }),
            _ => panic!("unexpected line from moto_rds.py: {line:?}"),
        }
    }
    assert_eq!(account.len(), 12, "moto's account: {out}");
    (dbs, account)
}

/// The policy AWS documents for `users`, laid out as the AWS CLI prints JSON.
#[track_caller]
fn expected_policy(region: &str, account: &str, resource_id: &str, users: &[&str]) -> String {
    let mut args = vec!["policy", region, account, resource_id];
    args.extend_from_slice(users);
    reference(&args)
}

#[track_caller]
fn reference(args: &[&str]) -> String {
    let script = support::python::reference("moto_rds.py");
    let mut all = vec![script.as_os_str()];
    all.extend(args.iter().map(std::ffi::OsStr::new));
    support::python::current().run(&all, "")
}

/// Keys in the environment and every AWS call sent to `url`.
fn env_for(url: &str) -> TestEnv {
    let mut env = TestEnv::new();
    env.with_env_keys().env("AWS_ENDPOINT_URL", url);
    env
}

fn find<'a>(dbs: &'a [Db], region: &str, kind: &str, name: &str) -> &'a Db {
    dbs.iter()
        .find(|d| d.region == region && d.kind == kind && d.name == name)
        .unwrap_or_else(|| panic!("moto has no {kind} {name} in {region}: {dbs:?}"))
}

#[test]
fn finds_instances_cluster_writers_readers_members_and_proxies_by_endpoint_name_in_moto() {
    let moto = Moto::start();
    let (dbs, account) = moto_databases(&moto, &["us-east-1"]);
    let env = env_for(&format!("http://{}", moto.addr()));
    let cases = [
        ("instance", "pg-iam"),
        ("instance", "my-noiam"),
        ("instance", "aur-1"),
        ("writer", "aur"),
        ("reader", "aur"),
        ("writer", "aur-off"),
        ("reader", "aur-off"),
        ("proxy", "px"),
    ];
    for (kind, name) in cases {
        let db = find(&dbs, "us-east-1", kind, name);
        let run = env.run(["policy", "--hostname", &db.address, "--username", "app"]);
        run.success().stdout_is(&expected_policy(
            "us-east-1",
            &account,
            &db.resource_id,
            &["app"],
        ));
        if db.iam {
            run.stderr_is("");
        } else {
            // IAM authentication off: a warning with the command that turns it on.
            let command = if kind == "instance" {
                format!("aws rds modify-db-instance --db-instance-identifier {name} --enable-iam-database-authentication --apply-immediately")
            } else {
                format!("aws rds modify-db-cluster --db-cluster-identifier {name} --enable-iam-database-authentication --apply-immediately")
            };
            run.stderr_contains("rds-auth-token: warning: IAM database authentication is off")
                .stderr_contains(&command);
        }
    }
    // An Aurora member's own endpoint takes the cluster's resource id.
    assert_eq!(
        find(&dbs, "us-east-1", "instance", "aur-1").resource_id,
        find(&dbs, "us-east-1", "writer", "aur").resource_id
    );
    assert!(find(&dbs, "us-east-1", "proxy", "px")
        .resource_id
        .starts_with("prx-"));
}

#[test]
fn allows_several_users_and_every_user_and_keeps_the_secret_out_of_debug() {
    let moto = Moto::start();
    let (dbs, account) = moto_databases(&moto, &["us-east-1"]);
    let env = env_for(&format!("http://{}", moto.addr()));
    let db = find(&dbs, "us-east-1", "writer", "aur");
    let run = env.run([
        "policy",
        "--hostname",
        &db.address.to_uppercase(),
        "--username",
        "app",
        "--username",
        "report",
        "--username",
        "*",
        "--debug",
    ]);
    run.success()
        .stdout_is(&expected_policy(
            "us-east-1",
            &account,
            &db.resource_id,
            &["app", "report", "*"],
        ))
        .stderr_contains("rds-auth-token: debug: Aurora cluster writer endpoint 'aur'")
        .stderr_contains(&format!("resource id {}", db.resource_id))
        .stderr_contains(&format!("account {account}"))
        .stderr_lacks(SECRET_KEY);
}

#[test]
fn follows_the_partition_of_china_and_govcloud_regions() {
    let moto = Moto::start();
    let (dbs, account) = moto_databases(&moto, &["cn-north-1", "us-gov-west-1"]);
    let env = env_for(&format!("http://{}", moto.addr()));
    for region in ["cn-north-1", "us-gov-west-1"] {
        let db = find(&dbs, region, "instance", "pg-iam");
        // The region comes from the endpoint name.
        let run = env.run(["policy", "--hostname", &db.address, "--username", "app"]);
        let expected = expected_policy(region, &account, &db.resource_id, &["app"]);
        run.success().stdout_is(&expected);
        let partition = if region == "cn-north-1" {
            "arn:aws-cn:rds-db:"
        } else {
            "arn:aws-us-gov:rds-db:"
        };
        assert!(expected.contains(partition), "{expected}");
    }
}

#[test]
fn says_what_it_searched_and_how_to_go_on_when_no_database_has_the_name() {
    let moto = Moto::start();
    moto_databases(&moto, &["us-east-1"]);
    let env = env_for(&format!("http://{}", moto.addr()));
    let run = env.run([
        "policy",
        "--hostname",
        "gone.aaaaaaaaaa.us-east-1.rds.amazonaws.com",
        "--username",
        "app",
    ]);
    run.fails_with(1)
        .stderr_contains("no DB instance, Aurora cluster or RDS Proxy in us-east-1 has the endpoint 'gone.aaaaaaaaaa.us-east-1.rds.amazonaws.com'")
        .stderr_contains("asked DescribeDBInstances for the DB instance 'gone'")
        .stderr_contains("every DB instance, Aurora cluster and RDS Proxy in the region")
        .stderr_contains("--resource-id ID --account ACCOUNT --region REGION");
}

#[test]
fn warns_when_the_region_is_not_the_endpoints_in_policy_words() {
    let moto = Moto::start();
    moto_databases(&moto, &["us-east-1"]);
    let env = env_for(&format!("http://{}", moto.addr()));
    let run = env.run([
        "policy",
        "--hostname",
        "gone.aaaaaaaaaa.us-east-1.rds.amazonaws.com",
        "--username",
        "app",
        "--region",
        "eu-west-1",
    ]);
    assert_eq!(run.code(), Some(1));
    let stderr = run.stderr();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines[0],
        "rds-auth-token: warning: the region is eu-west-1 (from --region), but the endpoint is in us-east-1; \
         the resource id is looked up and the ARN written for eu-west-1: pass --region us-east-1 for the endpoint's"
    );
    assert!(
        !stderr.contains("refuse this token"),
        "a policy makes no token"
    );
    assert!(lines[1].starts_with(
        "rds-auth-token: error: no DB instance, Aurora cluster or RDS Proxy in eu-west-1"
    ));
    assert_eq!(lines.len(), 2, "{stderr}");
}

#[test]
fn makes_the_policy_offline_with_no_credentials_and_no_connection() {
    let silent = Server::silent();
    let mut env = TestEnv::new();
    env.env("AWS_ENDPOINT_URL", silent.url());
    for (region, id, users) in [
        ("us-east-1", "db-ABCDEFGHIJKL01234", &["app"][..]),
        (
            "cn-northwest-1",
            "cluster-ABCDEFGHIJKL01234",
            &["app", "*"][..],
        ),
        (
            "us-gov-east-1",
            "prx-0123456789abcdef0",
            &["a b", "report"][..],
        ),
    ] {
        let mut args = vec![
            "policy",
            "--resource-id",
            id,
            "--account",
            "111122223333",
            "--region",
            region,
        ];
        for user in users {
            args.extend(["--username", user]);
        }
        env.run(&args)
            .success()
            .stdout_is(&expected_policy(region, "111122223333", id, users))
            .stderr_is("");
    }
    assert_eq!(
        silent.connections(),
        0,
        "the offline policy made a connection"
    );
}

#[test]
fn refuses_an_offline_policy_with_a_bad_account_or_resource_id() {
    let env = TestEnv::new();
    env.run([
        "policy",
        "--resource-id",
        "mydb",
        "--account",
        "111122223333",
        "--region",
        "us-east-1",
        "--username",
        "app",
    ])
    .fails_with(2)
    .stderr_contains("--resource-id 'mydb' is not an RDS resource id");
    env.run([
        "policy",
        "--resource-id",
        "db-ABC",
        "--account",
        "1111-2222-3333",
        "--region",
        "us-east-1",
        "--username",
        "app",
    ])
    .fails_with(2)
    .stderr_contains("--account '1111-2222-3333' is not an AWS account id");
    env.run([
        "policy",
        "--resource-id",
        "db-ABC",
        "--account",
        "111122223333",
        "--username",
        "app",
    ])
    .fails_with(2)
    .stderr_contains("no region: pass --region");
}

/// An RDS stand-in for what moto lacks: a cluster with a custom endpoint, a
/// proxy endpoint, and two pages of instances, the second holding one whose
/// address has no RDS shape. Answers as the RDS API reference and the SDK's
/// deserializers have it.
fn rds_stand_in(req: &Request) -> Response {
    let form = form(req);
    let xml = |action: &str, result: &str| {
        Response::ok(format!(
            "<{action}Response xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\"><{action}Result>{result}</{action}Result>\
             <ResponseMetadata><RequestId>5e0b5d1c-EXAMPLE</RequestId></ResponseMetadata></{action}Response>"
        ))
        .header("Content-Type", "text/xml")
    };
    let instance = |id: &str, address: &str, resource: &str| {
        format!(
            "<DBInstance><DBInstanceIdentifier>{id}</DBInstanceIdentifier><Engine>postgres</Engine>\
             <Endpoint><Address>{address}</Address><Port>5432</Port></Endpoint>\
             <DbiResourceId>{resource}</DbiResourceId>\
             <IAMDatabaseAuthenticationEnabled>true</IAMDatabaseAuthenticationEnabled></DBInstance>"
        )
    };
    match value(&form, "Action").unwrap_or_default() {
        "DescribeDBInstances" if value(&form, "DBInstanceIdentifier").is_some() => {
            error_response(404, "DBInstanceNotFound", "DBInstance not found.")
        }
        "DescribeDBInstances" => match value(&form, "Marker") {
            None => xml(
                "DescribeDBInstances",
                &format!(
                    "<DBInstances>{}</DBInstances><Marker>page-2</Marker>",
                    instance(
                        "first",
                        "first.abc123.us-east-1.rds.amazonaws.com",
                        "db-FIRSTPAGE"
                    )
                ),
            ),
            Some(_) => xml(
                "DescribeDBInstances",
                &format!(
                    "<DBInstances>{}</DBInstances>",
                    instance("internal", "db.internal.example", "db-SECONDPAGE")
                ),
            ),
        },
        "DescribeDBClusters" => xml(
            "DescribeDBClusters",
            "<DBClusters><DBCluster><DBClusterIdentifier>app</DBClusterIdentifier>\
             <Endpoint>app.cluster-abc123.us-east-1.rds.amazonaws.com</Endpoint>\
             <ReaderEndpoint>app.cluster-ro-abc123.us-east-1.rds.amazonaws.com</ReaderEndpoint>\
             <CustomEndpoints><member>reports.cluster-custom-abc123.us-east-1.rds.amazonaws.com</member></CustomEndpoints>\
             <Engine>aurora-postgresql</Engine><Port>5432</Port>\
             <DbClusterResourceId>cluster-CUSTOMSTANDIN</DbClusterResourceId>\
             <IAMDatabaseAuthenticationEnabled>true</IAMDatabaseAuthenticationEnabled>\
             </DBCluster></DBClusters>",
        ),
        "DescribeDBProxyEndpoints" if value(&form, "DBProxyEndpointName") == Some("ro") => xml(
            "DescribeDBProxyEndpoints",
            "<DBProxyEndpoints><member><DBProxyEndpointName>ro</DBProxyEndpointName>\
             <DBProxyName>px2</DBProxyName>\
             <Endpoint>ro.endpoint.proxy-abc123.us-east-1.rds.amazonaws.com</Endpoint>\
             <TargetRole>READ_ONLY</TargetRole></member></DBProxyEndpoints>",
        ),
        "DescribeDBProxyEndpoints" => {
            error_response(404, "DBProxyEndpointNotFoundFault", "not found")
        }
        "DescribeDBProxies" if value(&form, "DBProxyName") == Some("px2") => xml(
            "DescribeDBProxies",
            "<DBProxies><member><DBProxyName>px2</DBProxyName>\
             <DBProxyArn>arn:aws:rds:us-east-1:111122223333:db-proxy:prx-0123456789abcdef0</DBProxyArn>\
             <EngineFamily>POSTGRESQL</EngineFamily>\
             <Endpoint>px2.proxy-abc123.us-east-1.rds.amazonaws.com</Endpoint>\
             <Auth><member><AuthScheme>SECRETS</AuthScheme><IAMAuth>REQUIRED</IAMAuth></member></Auth>\
             </member></DBProxies>",
        ),
        "DescribeDBProxies" => xml("DescribeDBProxies", "<DBProxies></DBProxies>"),
        other => error_response(400, "InvalidAction", &format!("no {other} here")),
    }
}

#[test]
fn finds_custom_endpoints_proxies_proxy_endpoints_and_names_of_no_rds_shape_through_a_stand_in() {
    // moto has no custom endpoints, DescribeDBProxyEndpoints or paging.
    let rds = Server::start(rds_stand_in);
    let env = TestEnv::new();
    let env = {
        let mut env = env;
        env.with_env_keys();
        env
    };
    for (hostname, resource_id) in [
        (
            "reports.cluster-custom-abc123.us-east-1.rds.amazonaws.com",
            "cluster-CUSTOMSTANDIN",
        ),
        (
            "ro.endpoint.proxy-abc123.us-east-1.rds.amazonaws.com",
            "prx-0123456789abcdef0",
        ),
        ("db.internal.example", "db-SECONDPAGE"),
        (
            "PX2.proxy-abc123.us-east-1.rds.amazonaws.com.",
            "prx-0123456789abcdef0",
        ),
    ] {
        env.run([
            "policy",
            "--hostname",
            hostname,
            "--username",
            "app",
            "--account",
            "111122223333",
            "--region",
            "us-east-1",
            "--endpoint-url",
            &rds.url(),
        ])
        .success()
        .stdout_is(&expected_policy(
            "us-east-1",
            "111122223333",
            resource_id,
            &["app"],
        ));
    }
    let actions: Vec<String> = rds
        .requests()
        .iter()
        .map(|r| {
            let form = form(r);
            let mut action = value(&form, "Action").unwrap_or_default().to_owned();
            for key in ["DBProxyEndpointName", "DBProxyName", "Marker"] {
                if let Some(v) = value(&form, key) {
                    action.push_str(&format!(" {key}={v}"));
                }
            }
            action
        })
        .collect();
    assert_eq!(
        actions,
        [
            // The custom endpoint: the instances' two pages, then the clusters.
            "DescribeDBInstances",
            "DescribeDBInstances Marker=page-2",
            "DescribeDBClusters",
            // The proxy endpoint, then its proxy.
            "DescribeDBProxyEndpoints DBProxyEndpointName=ro",
            "DescribeDBProxies DBProxyName=px2",
            // A name of no RDS shape: listed, found on the second page.
            "DescribeDBInstances",
            "DescribeDBInstances Marker=page-2",
            // A proxy's own endpoint (the name in upper case, with a final dot).
            "DescribeDBProxies DBProxyName=px2",
        ]
    );
}

#[test]
fn says_when_it_stopped_listing_with_pages_left_instead_of_claiming_every_database() {
    // Instances without end: every page has a Marker; no cluster, no proxy.
    let rds = Server::start(|req| {
        let form = form(req);
        let action = value(&form, "Action").unwrap_or_default().to_owned();
        let page = value(&form, "Marker").unwrap_or("0").to_owned();
        let result = match action.as_str() {
            "DescribeDBInstances" => format!(
                "<DBInstances><DBInstance><DBInstanceIdentifier>db{page}</DBInstanceIdentifier>\
                 <Endpoint><Address>db{page}.abc123.us-east-1.rds.amazonaws.com</Address><Port>5432</Port></Endpoint>\
                 <DbiResourceId>db-PAGE{page}</DbiResourceId></DBInstance></DBInstances>\
                 <Marker>{}</Marker>",
                page.parse::<u32>().unwrap() + 1
            ),
            "DescribeDBClusters" => "<DBClusters></DBClusters>".to_owned(),
            "DescribeDBProxies" => "<DBProxies></DBProxies>".to_owned(),
            "DescribeDBProxyEndpoints" => "<DBProxyEndpoints></DBProxyEndpoints>".to_owned(),
            other => return error_response(400, "InvalidAction", &format!("no {other} here")),
        };
        Response::ok(format!(
            "<{action}Response xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\"><{action}Result>{result}</{action}Result>\
             <ResponseMetadata><RequestId>5e0b5d1c-EXAMPLE</RequestId></ResponseMetadata></{action}Response>"
        ))
        .header("Content-Type", "text/xml")
    });
    let mut env = TestEnv::new();
    env.with_env_keys();
    let run = env.run([
        "policy",
        "--hostname",
        "db.internal.example",
        "--username",
        "app",
        "--account",
        "111122223333",
        "--region",
        "us-east-1",
        "--endpoint-url",
        &rds.url(),
    ]);
    run.fails_with(1)
        .stderr_contains("DescribeDBInstances stopped after 20 pages with more left; the endpoint was not in them")
        .stderr_contains("--resource-id ID --account ACCOUNT --region REGION")
        .stderr_lacks("every DB instance");
    let listed = rds
        .requests()
        .iter()
        .filter(|r| value(&form(r), "Action") == Some("DescribeDBInstances"))
        .count();
    assert_eq!(listed, 20, "20 pages, then it stopped");
}

#[test]
fn a_denied_call_exits_1_naming_the_permission_and_the_offline_way() {
    let denied = Server::start(|req| {
        let form = form(req);
        let action = value(&form, "Action").unwrap_or_default().to_owned();
        error_response(
            403,
            "AccessDenied",
            &format!("User: arn:aws:iam::111122223333:user/dev is not authorized to perform: rds:{action} on resource: arn:aws:rds:us-east-1:111122223333:db:* because no identity-based policy allows the rds:{action} action"),
        )
    });
    let mut env = TestEnv::new();
    env.with_env_keys();
    for (hostname, permission) in [
        (
            "mydb.abc123.us-east-1.rds.amazonaws.com",
            "rds:DescribeDBInstances",
        ),
        (
            "app.cluster-abc123.us-east-1.rds.amazonaws.com",
            "rds:DescribeDBClusters",
        ),
        (
            "px.proxy-abc123.us-east-1.rds.amazonaws.com",
            "rds:DescribeDBProxies",
        ),
    ] {
        env.run([
            "policy",
            "--hostname",
            hostname,
            "--username",
            "app",
            "--endpoint-url",
            &denied.url(),
        ])
        .fails_with(1)
        .stderr_contains(&format!("rds-auth-token: error: {permission} was denied: User: arn:aws:iam::111122223333:user/dev is not authorized"))
        .stderr_contains(&format!("allow {permission} to the caller, or pass the resource id yourself: --resource-id ID --account ACCOUNT --region REGION"))
        .stderr_lacks(SECRET_KEY);
    }
}

#[test]
fn gives_up_within_seconds_on_an_endpoint_that_never_answers() {
    let silent = Server::silent();
    let env = env_for(&silent.url());
    let started = Instant::now();
    let run = env.run([
        "policy",
        "--hostname",
        "mydb.abc123.us-east-1.rds.amazonaws.com",
        "--username",
        "app",
    ]);
    let took = started.elapsed();
    run.fails_with(1)
        .stderr_contains("DescribeDBInstances got no answer in time")
        .stderr_contains("--cli-read-timeout");
    assert!(
        took < Duration::from_secs(12),
        "a call to an endpoint that never answers took {took:?}"
    );
    assert!(silent.connections() >= 1);
}

#[test]
fn needs_credentials_only_to_look_something_up() {
    let mut env = TestEnv::new();
    let silent = Server::silent();
    env.env("AWS_ENDPOINT_URL", silent.url());
    env.run([
        "policy",
        "--hostname",
        "mydb.abc123.us-east-1.rds.amazonaws.com",
        "--username",
        "app",
    ])
    .fails_with(1)
    .stderr_contains("no AWS credentials found")
    .stderr_contains("--resource-id ID --account ACCOUNT --region REGION");
    assert_eq!(silent.connections(), 0);
}

#[test]
fn help_ends_with_examples_that_name_the_offline_way() {
    let env = TestEnv::new();
    let run = env.run(["policy", "--help"]);
    run.success();
    let help = run.stdout();
    let examples = help.split("Examples:\n").nth(1).expect("an Examples block");
    let commands = examples
        .lines()
        .filter(|l| l.starts_with("  rds-auth-token policy "))
        .count();
    assert_eq!(commands, 3, "{examples}");
    assert!(examples.contains("--resource-id db-ABCDEFGHIJKL01234 --account 123456789012"));
}

#[test]
fn the_documented_offline_example_prints_the_policy_shown_there() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/setup.md"))
        .unwrap();
    let section = doc
        .split("\n## IAM policy: `policy`\n")
        .nth(1)
        .expect("the policy section of docs/setup.md");
    let shown = {
        let fence = "```json\n";
        let start = section.find(fence).expect(fence) + fence.len();
        section[start..].split("```").next().unwrap().to_owned()
    };
    let mut env = TestEnv::new();
    support::readme::run_block(&mut env, "policy-offline", &[])
        .success()
        .stdout_is(&shown)
        .stdout_is(&expected_policy(
            "us-east-1",
            "123456789012",
            "db-ABCDEFGHIJKL01234",
            &["app", "report"],
        ));
}
