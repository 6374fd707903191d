//! A network namespace of the test's own, for endpoints at fixed link-local
//! addresses such as the ECS credentials endpoint, 169.254.170.2.
//!
//! The namespace has only its own loopback interface, with the addresses the
//! test adds to it: nothing in it reaches, or is reachable from, any network.
//! It is held open by a child `unshare --net sleep` that is killed on drop.
//! Needs root (CI runs as root) and `unshare`, `nsenter` and `ip`.

use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsRawFd;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A network namespace, removed when dropped.
pub struct NetNs {
    holder: Child,
}

impl NetNs {
    /// A new namespace with its loopback interface up.
    #[track_caller]
    pub fn new() -> NetNs {
        let holder = Command::new("unshare")
            .args(["--net", "sleep", "300"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| {
                panic!("unshare (util-linux) is needed for this test ({err}); scripts/test installs it")
            });
        let ns = NetNs { holder };
        let ours = std::fs::read_link("/proc/self/ns/net").unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::fs::read_link(ns.path()).ok().as_ref() == Some(&ours) {
            assert!(
                Instant::now() < deadline,
                "unshare --net did not make a namespace (run the tests as root)"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// `/proc/PID/ns/net`
    pub fn path(&self) -> String {
        format!("/proc/{}/ns/net", self.holder.id())
    }

    /// Runs `ip ARGS` in the namespace.
    #[track_caller]
    pub fn ip(&self, args: &[&str]) {
        let output = Command::new("nsenter")
            .arg(format!("--net={}", self.path()))
            .arg("ip")
            .args(args)
            .output()
            .expect("nsenter and ip (util-linux, iproute2; scripts/test installs them)");
        assert!(
            output.status.success(),
            "ip {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Gives the namespace's loopback interface the address `ip`.
    #[track_caller]
    pub fn add_address(&self, ip: &str) {
        self.ip(&["addr", "add", &format!("{ip}/32"), "dev", "lo"]);
    }

    /// A listener bound to `addr` inside the namespace (made on a thread
    /// that enters the namespace; the socket stays in it).
    #[track_caller]
    pub fn bind(&self, addr: SocketAddr) -> TcpListener {
        let path = self.path();
        std::thread::spawn(move || {
            let ns = std::fs::File::open(&path).expect("the namespace");
            // SAFETY: setns on an open namespace file; it changes only this
            // thread, which ends right after binding.
            let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
            TcpListener::bind(addr).unwrap_or_else(|err| panic!("bind {addr}: {err}"))
        })
        .join()
        .expect("bind in the namespace")
    }

    /// The arguments that run `program` in the namespace with `nsenter`.
    pub fn wrap(&self, program: &str) -> Vec<String> {
        vec![format!("--net={}", self.path()), program.to_owned()]
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}
