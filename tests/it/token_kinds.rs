//! Aurora DSQL, ElastiCache and MemoryDB tokens from the library, byte for
//! byte against botocore (tests/reference/botocore_kinds.py) over generated
//! inputs: many host and cache names, users, regions (China and GovCloud
//! among them), expiries and session tokens.
//!
//! The cases come from a seeded generator; a failure names its seed, and
//! `KINDS_SEED=0x... cargo test --test token_kinds` runs the same cases again.

use crate::support;

use std::fmt::Write as _;
use std::time::{Duration, UNIX_EPOCH};

use aws_credential_types::Credentials;
use rds_auth_token::token::{DsqlTokenConfig, ElastiCacheTokenConfig, MemoryDbTokenConfig};
use rds_auth_token::TokenSigner;

/// How many cases of each kind.
const CASES: usize = 120;

const REGIONS: [&str; 12] = [
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-northeast-1",
    "ap-southeast-2",
    "sa-east-1",
    "ca-central-1",
    "cn-north-1",
    "cn-northwest-1",
    "us-gov-west-1",
    "il-central-1",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn string(&mut self, alphabet: &str, min: usize, max: usize) -> String {
        let chars: Vec<char> = alphabet.chars().collect();
        let len = min + self.below((max - min + 1) as u64) as usize;
        (0..len)
            .map(|_| chars[self.below(chars.len() as u64) as usize])
            .collect()
    }
}

const NAME_CHARS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-";
const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// One generated case: what the reference is told, and the library's token.
struct Case {
    json: String,
    ours: String,
}

fn seed() -> u64 {
    std::env::var("KINDS_SEED")
        .ok()
        .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        })
}

fn json_str(value: &str) -> String {
    // The generated values are printable ASCII without quotes or backslashes.
    assert!(value
        .chars()
        .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\'));
    format!("\"{value}\"")
}

fn generate(rng: &mut Rng, index: usize) -> Case {
    let region = REGIONS[index % REGIONS.len()];
    let access_key = format!(
        "AKIA{}",
        rng.string("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16, 16)
    );
    let secret_key = rng.string(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/",
        40,
        40,
    );
    let session_token = (!index.is_multiple_of(3)).then(|| {
        rng.string(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=",
            20,
            400,
        )
    });
    // Any second from 2015 to 2099.
    let secs = 1_420_070_400 + rng.below(2_650_000_000);
    let at = UNIX_EPOCH + Duration::from_secs(secs);
    let timestamp = time::OffsetDateTime::from_unix_timestamp(secs as i64)
        .unwrap()
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap();
    let credentials = Credentials::new(
        &access_key,
        &secret_key,
        session_token.clone(),
        None,
        "test",
    );
    let mut signer = TokenSigner::new();
    let mut json = format!(
        "{{\"region\":{},\"access_key\":{},\"secret_key\":{},\"session_token\":{},\"timestamp\":{}",
        json_str(region),
        json_str(&access_key),
        json_str(&secret_key),
        session_token.as_deref().map_or("null".to_owned(), json_str),
        json_str(&timestamp),
    );
    let ours = match index % 4 {
        // DSQL, both actions, a DSQL endpoint (mixed case) or any host with --region.
        0 | 1 => {
            let admin = index % 4 == 1;
            let id = rng.string("abcdefghijklmnopqrstuvwxyz0123456789", 20, 26);
            let host = if rng.below(4) == 0 {
                format!("db-{}.example.com", rng.string("abcdefgh", 1, 8))
            } else {
                let host = format!("{id}.dsql.{region}.on.aws");
                if rng.below(3) == 0 {
                    host.to_ascii_uppercase()
                } else {
                    host
                }
            };
            let expires = match rng.below(4) {
                0 => 900,
                1 => 604_800,
                _ => 1 + rng.below(604_800),
            };
            let config = DsqlTokenConfig::builder()
                .hostname(&host)
                .region(region)
                .admin(admin)
                .expires_in_secs(expires)
                .build()
                .unwrap();
            let _ = write!(
                json,
                ",\"kind\":{},\"name\":{},\"expires_in\":{expires}}}",
                json_str(if admin { "dsql-admin" } else { "dsql" }),
                json_str(&host)
            );
            signer.sign(&config, &credentials, at).unwrap()
        }
        // ElastiCache, replication groups and serverless caches.
        2 => {
            let name = rng.string(NAME_CHARS, 1, 40);
            // A user id begins with a letter.
            let user = rng.string(LETTERS, 1, 1) + &rng.string(NAME_CHARS, 0, 39);
            let serverless = rng.below(2) == 0;
            let expires = 1 + rng.below(900);
            let config = ElastiCacheTokenConfig::builder()
                .cache_name(&name)
                .user_id(&user)
                .region(region)
                .serverless(serverless)
                .expires_in_secs(expires)
                .build()
                .unwrap();
            let _ = write!(
                json,
                ",\"kind\":\"elasticache\",\"name\":{},\"user\":{},\"serverless\":{serverless},\"expires_in\":{expires}}}",
                json_str(&name.to_ascii_lowercase()),
                json_str(&user)
            );
            signer.sign(&config, &credentials, at).unwrap()
        }
        // MemoryDB.
        _ => {
            let name = rng.string(NAME_CHARS, 1, 40);
            // A user id begins with a letter.
            let user = rng.string(LETTERS, 1, 1) + &rng.string(NAME_CHARS, 0, 39);
            let config = MemoryDbTokenConfig::builder()
                .cluster_name(&name)
                .user_id(&user)
                .region(region)
                .build()
                .unwrap();
            let _ = write!(
                json,
                ",\"kind\":\"memorydb\",\"name\":{},\"user\":{},\"expires_in\":900}}",
                json_str(&name.to_ascii_lowercase()),
                json_str(&user)
            );
            signer.sign(&config, &credentials, at).unwrap()
        }
    };
    Case {
        json,
        ours: ours.into_string(),
    }
}

/// botocore's tokens for `cases`, one a line.
fn botocore(cases: &[Case]) -> Vec<String> {
    let input: String = cases.iter().map(|c| format!("{}\n", c.json)).collect();
    support::kinds::run_reference(&input, cases.len())
}

#[test]
fn makes_the_dsql_elasticache_and_memorydb_tokens_botocore_makes_for_generated_inputs() {
    let seed = seed();
    let mut rng = Rng(seed);
    let cases: Vec<Case> = (0..CASES * 4).map(|i| generate(&mut rng, i)).collect();
    let expected = botocore(&cases);
    let mismatches: Vec<usize> = (0..cases.len())
        .filter(|&i| cases[i].ours != expected[i])
        .collect();
    if let Some(&first) = mismatches.first() {
        panic!(
            "{} of {} tokens differ from botocore's (seed {seed:#x}; rerun with KINDS_SEED={seed:#x})\n\
             first: {}\n ours: {}\n botocore: {}",
            mismatches.len(),
            cases.len(),
            cases[first].json,
            cases[first].ours,
            expected[first]
        );
    }
    // Every kind and both DSQL actions were covered.
    for needle in [
        "?Action=DbConnect&",
        "?Action=DbConnectAdmin&",
        "&ResourceType=ServerlessCache&",
        "%2Felasticache%2F",
        "%2Fmemorydb%2F",
        "%2Fcn-north-1%2F",
        "X-Amz-Security-Token=",
    ] {
        assert!(
            cases.iter().any(|c| c.ours.contains(needle)),
            "no case covered {needle}"
        );
    }
}
