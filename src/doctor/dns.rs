//! The canonical name of a host as the system's resolver gives it: the end
//! of its CNAME chain, or the first name of its /etc/hosts line. A CNAME of
//! your own for an RDS endpoint leads back to the endpoint this way.

use std::ffi::{CStr, CString};
use std::sync::mpsc;
use std::time::Duration;

/// Looks `host` up with `AI_CANONNAME` (glibc's `getaddrinfo`, which reads
/// /etc/hosts and DNS as `/etc/nsswitch.conf` says) and returns the
/// canonical name, lower-cased, without a trailing dot; `None` when it is
/// `host` itself. Gives up after `timeout`.
///
/// # Errors
/// The resolver's message when the name does not resolve, or that it did
/// not answer in time.
pub fn canonical_name(host: &str, timeout: Duration) -> Result<Option<String>, String> {
    let c_host = CString::new(host).map_err(|_| "a host name with a NUL byte".to_owned())?;
    let (send, receive) = mpsc::channel();
    // A lookup that hangs is left to its thread, which ends with the process.
    std::thread::Builder::new()
        .name("canonical-name".into())
        .spawn(move || {
            let _ = send.send(lookup(&c_host));
        })
        .map_err(|err| err.to_string())?;
    let name = receive
        .recv_timeout(timeout)
        .map_err(|_| format!("no answer from the resolver within {} s", timeout.as_secs()))??;
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let same = name.is_empty() || name.eq_ignore_ascii_case(host.trim_end_matches('.'));
    Ok((!same).then_some(name))
}

#[cfg(unix)]
fn lookup(host: &CStr) -> Result<String, String> {
    // SAFETY: an all-zero addrinfo is a valid "no hints" value; the fields
    // set below are plain integers.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_flags = libc::AI_CANONNAME;
    hints.ai_family = libc::AF_UNSPEC;
    hints.ai_socktype = libc::SOCK_STREAM;
    let mut result: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: `host` is NUL-terminated, `hints` lives across the call, and
    // `result` is freed below with freeaddrinfo when the call succeeds.
    let rc = unsafe { libc::getaddrinfo(host.as_ptr(), std::ptr::null(), &hints, &mut result) };
    if rc != 0 {
        let message = if rc == libc::EAI_SYSTEM {
            std::io::Error::last_os_error().to_string()
        } else {
            // SAFETY: gai_strerror returns a static NUL-terminated string.
            unsafe { CStr::from_ptr(libc::gai_strerror(rc)) }
                .to_string_lossy()
                .into_owned()
        };
        return Err(message);
    }
    // SAFETY: on success `result` is a valid list; the first entry carries
    // the canonical name (or NULL), copied out before the list is freed.
    let name = unsafe {
        let canon = (*result).ai_canonname;
        let name = if canon.is_null() {
            String::new()
        } else {
            CStr::from_ptr(canon).to_string_lossy().into_owned()
        };
        libc::freeaddrinfo(result);
        name
    };
    Ok(name)
}

#[cfg(not(unix))]
fn lookup(_host: &CStr) -> Result<String, String> {
    Ok(String::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_that_is_its_own_canonical_name_has_none_other() {
        assert_eq!(
            canonical_name("localhost", Duration::from_secs(3)),
            Ok(None)
        );
        assert_eq!(
            canonical_name("127.0.0.1", Duration::from_secs(3)),
            Ok(None)
        );
    }

    #[test]
    fn a_name_that_does_not_resolve_is_an_error() {
        assert!(canonical_name("no-such-host.invalid", Duration::from_secs(3)).is_err());
    }
}
