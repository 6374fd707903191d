//! Loopback ports for servers that a test starts and that bind the port
//! themselves (PostgreSQL, MariaDB, Redis, moto, pgbouncer).
//!
//! A port the kernel hands out with `bind(127.0.0.1:0)` and takes back is
//! not reserved: the next `bind(0)` of a test running beside it, or the
//! local end of any outgoing connection, may get it before the server binds
//! it. So the ports come from below the kernel's ephemeral range
//! (`/proc/sys/net/ipv4/ip_local_port_range`), which neither ever uses;
//! each is handed out once in this process, starting at a place that
//! depends on the process id so that two test processes at once start
//! apart, and is checked to be free when handed out.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU32, Ordering};

/// The lowest port handed out.
const FIRST: u32 = 10_000;

/// The ephemeral range's first port, or Linux's default one.
fn ephemeral_start() -> u32 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .filter(|&start: &u32| start > FIRST + 1000 && start <= 65_535)
        .unwrap_or(32_768)
}

/// A port on 127.0.0.1 that was free when asked, that no other caller in
/// this process gets, and that the kernel does not hand out by itself.
#[track_caller]
pub fn free() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let span = ephemeral_start() - FIRST;
    let start = std::process::id().wrapping_mul(7919) % span;
    for _ in 0..span {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = FIRST + (start + n) % span;
        let port = u16::try_from(port).expect("below 65536");
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port on 127.0.0.1 from {FIRST} to {}", FIRST + span);
}

/// `n` distinct ports, as [`free`].
#[track_caller]
pub fn free_n<const N: usize>() -> [u16; N] {
    std::array::from_fn(|_| free())
}
