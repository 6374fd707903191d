//! The integration tests, one test binary: the command line end to end in a
//! sealed environment, against botocore, the AWS CLI and moto (pinned in
//! tests/python/), and against real PostgreSQL, MariaDB, Redis and pgbouncer
//! servers on loopback. One binary links once: `cargo test --test it NAME`
//! runs the tests whose path contains NAME (a file's name, say).

mod support;

mod aws_api;
mod aws_cli_options;
mod ca_bundle;
mod cli;
mod completions;
mod credential_cache;
mod credential_https;
mod credential_sources;
mod differential;
mod doctor;
mod dsql;
mod elasticache;
mod exec;
mod formats;
mod golden_vectors;
mod help;
mod inspect;
mod inspect_kinds;
mod install_docs;
mod man;
mod memorydb;
mod policy;
mod proxy;
mod proxy_mysql;
mod proxy_redis;
mod readme;
mod readme_recipes;
mod real_servers;
mod refresh;
mod sql;
mod startup;
mod token_kinds;
mod token_lifetime;
mod verified_tls;
mod version;
