//! The certificate authorities a database client should trust, carried in the binary.
//!
//! RDS and Aurora DB instances present certificates issued by the Amazon RDS
//! CAs ([`RDS_CA_BUNDLE`]); RDS Proxy endpoints present public certificates
//! issued by Amazon Trust Services ([`AMAZON_ROOT_CAS`]). Clients (libpq, the
//! MySQL and MariaDB clients) read CAs from a file, so [`install`] writes the
//! bundle once to a private, content-addressed file in the user's cache
//! folder and returns its path.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::private_file::{private_folder, write_atomic, PrivateFileError};

pub mod verify;

/// The Amazon RDS CA certificates (PEM, with a provenance header of `#`
/// lines): the G1 roots of each region the bundle lists, and older ones.
pub const RDS_CA_BUNDLE: &str = include_str!("rds-ca-bundle.pem");

/// The Amazon Trust Services roots (PEM, with a provenance header) that RDS
/// Proxy endpoints' certificates chain to.
pub const AMAZON_ROOT_CAS: &str = include_str!("amazon-root-ca.pem");

/// The name of this tool's folder in the user's cache folder.
pub const CACHE_FOLDER_NAME: &str = "rds-auth-token";

/// Which set of CAs an endpoint's certificate chains to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bundle {
    /// The Amazon RDS CAs: DB instances and Aurora clusters.
    Rds,
    /// The Amazon Trust Services roots: RDS Proxy endpoints.
    AmazonRoots,
}

impl Bundle {
    /// The bundle for an endpoint: the Amazon roots for RDS Proxy endpoints
    /// (a `.proxy-` label, as in `p.proxy-abc123.us-east-1.rds.amazonaws.com`)
    /// and Aurora DSQL cluster endpoints (`ID.dsql.REGION.on.aws`), the RDS
    /// CAs for everything else.
    pub fn for_hostname(hostname: &str) -> Bundle {
        if hostname.to_ascii_lowercase().contains(".proxy-")
            || crate::token::dsql_region_from_hostname(hostname).is_some()
        {
            Bundle::AmazonRoots
        } else {
            Bundle::Rds
        }
    }

    /// The PEM text, provenance header included.
    pub fn pem(self) -> &'static str {
        match self {
            Bundle::Rds => RDS_CA_BUNDLE,
            Bundle::AmazonRoots => AMAZON_ROOT_CAS,
        }
    }

    /// The file name: the bundle's name and the start of its SHA-256, so that
    /// a new bundle in a new version of the tool gets a new file.
    pub fn file_name(self) -> String {
        let stem = match self {
            Bundle::Rds => "rds-ca-bundle",
            Bundle::AmazonRoots => "amazon-root-ca",
        };
        let digest = Sha256::digest(self.pem().as_bytes());
        let mut name = format!("{stem}-");
        for byte in &digest[..8] {
            let _ = write!(name, "{byte:02x}");
        }
        name.push_str(".pem");
        name
    }
}

/// Why the bundle file could not be provided.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// Neither `XDG_CACHE_HOME` nor `HOME` names a folder.
    #[error(
        "no folder for the CA bundle: set HOME or XDG_CACHE_HOME, or name a CA file of your own"
    )]
    NoCacheFolder,
    /// The file or its folder could not be written, or is not private.
    #[error("could not write the CA bundle: {0}; or name a CA file of your own")]
    File(#[from] PrivateFileError),
}

/// This tool's cache folder: `$XDG_CACHE_HOME/rds-auth-token` when
/// `XDG_CACHE_HOME` is an absolute path, else `$HOME/.cache/rds-auth-token`.
/// `env` reads an environment variable.
///
/// # Errors
/// [`TlsError::NoCacheFolder`] when neither is set.
pub fn cache_folder(env: impl Fn(&str) -> Option<OsString>) -> Result<PathBuf, TlsError> {
    let nonempty = |name: &str| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(xdg) = nonempty("XDG_CACHE_HOME").filter(|p| p.is_absolute()) {
        return Ok(xdg.join(CACHE_FOLDER_NAME));
    }
    nonempty("HOME")
        .map(|home| home.join(".cache").join(CACHE_FOLDER_NAME))
        .ok_or(TlsError::NoCacheFolder)
}

/// Writes `bundle` to its content-addressed file in `folder` unless that
/// file already holds exactly it, and returns the file's path. The folder is
/// made private (0700) when missing and refused when another user owns it or
/// others may write to it; the file is written atomically with mode 0600, so
/// no other user can replace the CAs a client trusts.
///
/// # Errors
/// [`TlsError::File`] naming the path and the problem.
pub fn install(bundle: Bundle, folder: &std::path::Path) -> Result<PathBuf, TlsError> {
    private_folder(folder)?;
    let path = folder.join(bundle.file_name());
    if fs::read(&path).is_ok_and(|existing| existing == bundle.pem().as_bytes()) {
        return Ok(path);
    }
    write_atomic(&path, bundle.pem().as_bytes())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusts_the_amazon_roots_for_rds_proxy_endpoints_only() {
        for proxy in [
            "myproxy.proxy-abc123def456.us-east-1.rds.amazonaws.com",
            "ro.endpoint.proxy-abc123def456.eu-west-1.rds.amazonaws.com",
            "P.PROXY-ABC.us-east-1.rds.amazonaws.com",
            "abcdefghijklmnopqrst.dsql.us-east-1.on.aws",
        ] {
            assert_eq!(Bundle::for_hostname(proxy), Bundle::AmazonRoots, "{proxy}");
        }
        for db in [
            "mydb.abc123.us-east-1.rds.amazonaws.com",
            "app.cluster-ro-abc123.eu-west-1.rds.amazonaws.com",
            "proxy-db.abc123.us-east-1.rds.amazonaws.com",
        ] {
            assert_eq!(Bundle::for_hostname(db), Bundle::Rds, "{db}");
        }
    }

    #[test]
    fn names_each_bundle_file_after_its_contents() {
        let name = Bundle::Rds.file_name();
        let hex = name
            .strip_prefix("rds-ca-bundle-")
            .and_then(|n| n.strip_suffix(".pem"))
            .unwrap();
        assert_eq!(hex.len(), 16);
        let full = Sha256::digest(RDS_CA_BUNDLE.as_bytes());
        let full: String = full.iter().map(|b| format!("{b:02x}")).collect();
        assert!(full.starts_with(hex));
        assert_ne!(Bundle::AmazonRoots.file_name(), name);
    }

    #[test]
    fn finds_the_cache_folder_from_xdg_cache_home_or_home() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        assert_eq!(
            cache_folder(env(&[("XDG_CACHE_HOME", "/c"), ("HOME", "/h")])).unwrap(),
            PathBuf::from("/c/rds-auth-token")
        );
        // A relative XDG_CACHE_HOME is to be ignored, says the XDG spec.
        assert_eq!(
            cache_folder(env(&[("XDG_CACHE_HOME", "c"), ("HOME", "/h")])).unwrap(),
            PathBuf::from("/h/.cache/rds-auth-token")
        );
        assert!(matches!(
            cache_folder(env(&[("HOME", "")])),
            Err(TlsError::NoCacheFolder)
        ));
    }

    #[test]
    fn installs_the_bundle_once_and_repairs_a_changed_file() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("rds-auth-token");
        let path = install(Bundle::Rds, &folder).unwrap();
        assert_eq!(path, folder.join(Bundle::Rds.file_name()));
        assert_eq!(fs::read_to_string(&path).unwrap(), RDS_CA_BUNDLE);
        fs::write(&path, "tampered").unwrap();
        assert_eq!(install(Bundle::Rds, &folder).unwrap(), path);
        assert_eq!(fs::read_to_string(&path).unwrap(), RDS_CA_BUNDLE);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &std::path::Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!((mode(&folder), mode(&path)), (0o700, 0o600));
        }
    }
}
