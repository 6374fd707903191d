//! Tokens per second for the signing step alone, credentials already resolved.
//!
//! `cargo bench --bench signing`. Criterion reports the time per token; one
//! second divided by it is the single-core rate.

use std::hint::black_box;
use std::time::{Duration, UNIX_EPOCH};

use aws_credential_types::Credentials;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rds_auth_token::{AuthTokenConfig, TokenSigner};

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
        // A new signing time each token, as in real use; the day, and so the
        // derived signing key, stays the same.
        let mut second = 0;
        let mut next_time = move || {
            second += 1;
            start + Duration::from_secs(second % 3600)
        };
        let mut signer = TokenSigner::new();
        group.bench_function(format!("{name}, reused signer"), |b| {
            b.iter(|| black_box(signer.sign(&config, black_box(creds), next_time()).unwrap()))
        });
        group.bench_function(format!("{name}, key derived each time"), |b| {
            b.iter(|| black_box(config.generate(black_box(creds), next_time()).unwrap()))
        });
    }
    group.finish();
}

criterion_group!(benches, signing);
criterion_main!(benches);
