//! Tokens per second for the signing step alone, credentials already resolved.
//!
//! `cargo bench --bench signing`. Criterion reports the time per token; one
//! second divided by it is the single-core rate.

use std::hint::black_box;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rds_auth_token::AuthTokenConfig;

fn signing(c: &mut Criterion) {
    let config = AuthTokenConfig::builder()
        .hostname("mydb.123456789012.us-east-1.rds.amazonaws.com")
        .port(5432)
        .username("jane_doe")
        .region("us-east-1")
        .build()
        .unwrap();
    let static_keys = Credentials::new(
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        None,
        None,
        "bench",
    );
    let session = Credentials::new(
        "ASIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        Some("FQoGZXIvYXdzE+/=EXAMPLE".repeat(20)),
        None,
        "bench",
    );
    let start = UNIX_EPOCH + Duration::from_secs(1_795_310_467);
    let mut group = c.benchmark_group("sign");
    group.throughput(Throughput::Elements(1));
    for (name, creds) in [("static keys", &static_keys), ("session token", &session)] {
        let mut second = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                // A new signing time each token, as in real use.
                second += 1;
                let at: SystemTime = start + Duration::from_secs(second % 3600);
                black_box(config.generate(black_box(creds), at).unwrap())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, signing);
criterion_main!(benches);
