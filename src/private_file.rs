//! Files only their owner can read: atomic writes at mode 0600, and private
//! folders. The one home of both: the credential cache, `refresh`'s files,
//! the CA bundle and the manual pages are written here.
//!
//! A reader never sees half a file: the text goes to a new file in the same
//! folder (created exclusively, mode 0600, named `.NAME.PID-N` and
//! [`TEMP_SUFFIX`]), is flushed to disk, and is then renamed over the old
//! one, and the folder is flushed too. [`write_atomic_readable`] writes the
//! same way at mode 0644, for files every user should read, such as manual
//! pages.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// Why a private file could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrivateFileError {
    /// A filesystem call failed.
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The folder is not safe to keep a file in: someone else owns it, or
    /// others may write to it.
    #[error("{path} {why}; {fix}")]
    Unsafe {
        path: PathBuf,
        why: String,
        fix: String,
    },
}

/// The end of every temporary file's name: what a crash may leave behind,
/// and `cache clear` removes.
pub const TEMP_SUFFIX: &str = ".rds-auth-token.tmp";

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> PrivateFileError {
    let path = path.to_owned();
    move |source| PrivateFileError::Io {
        action,
        path,
        source,
    }
}

/// Writes `contents` to `path` atomically with mode 0600: a temporary file
/// in the same folder, fsync, rename, then fsync of the folder. On failure
/// the old file, if any, is left as it was and the temporary file is removed.
///
/// # Errors
/// [`PrivateFileError::Io`] naming the step and the path.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), PrivateFileError> {
    write_atomic_with_mode(path, contents, 0o600)
}

/// Writes `contents` to `path` atomically, as [`write_atomic`] does, but
/// with mode 0644 (less the umask): for files every user should read.
///
/// # Errors
/// [`PrivateFileError::Io`] naming the step and the path.
pub fn write_atomic_readable(path: &Path, contents: &[u8]) -> Result<(), PrivateFileError> {
    write_atomic_with_mode(path, contents, 0o644)
}

fn write_atomic_with_mode(path: &Path, contents: &[u8], mode: u32) -> Result<(), PrivateFileError> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = folder.join(format!(
        ".{name}.{}-{}{TEMP_SUFFIX}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = create_new(&temp, mode).map_err(io_error("create", &temp))?;
        file.write_all(contents)
            .and_then(|()| file.sync_all())
            .map_err(io_error("write", &temp))?;
        drop(file);
        fs::rename(&temp, path).map_err(io_error("rename into", path))?;
        // The rename is durable once the folder is; a failure here leaves the
        // new file in place, so it is not worth an error.
        if let Ok(dir) = File::open(folder) {
            let _ = dir.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// A new file (never an existing one, nor through a symbolic link) with `mode`.
#[cfg(unix)]
fn create_new(path: &Path, mode: u32) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
}

#[cfg(not(unix))]
fn create_new(path: &Path, _mode: u32) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).open(path)
}

/// Makes `folder` (mode 0700) and its parents when missing, and checks that
/// it is private enough to keep files in: owned by this user and writable by
/// no one else.
///
/// # Errors
/// [`PrivateFileError::Unsafe`] when another user owns it or group or others
/// may write to it; [`PrivateFileError::Io`] when it cannot be made.
pub fn private_folder(folder: &Path) -> Result<(), PrivateFileError> {
    create_private_folder(folder)?;
    check_private_folder(folder)
}

/// Makes `folder` and the parents that are missing, each with mode 0700;
/// one that exists is left as it is (see [`check_private_folder`]).
///
/// # Errors
/// [`PrivateFileError::Io`] when it cannot be made.
pub fn create_private_folder(folder: &Path) -> Result<(), PrivateFileError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(folder).map_err(io_error("create", folder))
}

/// Why a folder is not private enough to keep files in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsafety {
    /// It is not a folder.
    NotAFolder,
    /// Another user (this uid) owns it.
    OwnedBy(u32),
    /// Group or others may write to it (its mode bits).
    Writable(u32),
}

/// What makes the folder of `meta` unsafe, if anything.
#[cfg(unix)]
pub fn unsafety(meta: &fs::Metadata) -> Option<Unsafety> {
    use std::os::unix::fs::MetadataExt;
    if !meta.is_dir() {
        return Some(Unsafety::NotAFolder);
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Some(Unsafety::OwnedBy(meta.uid()));
    }
    if meta.mode() & 0o022 != 0 {
        return Some(Unsafety::Writable(meta.mode() & 0o7777));
    }
    None
}

/// What makes the folder of `meta` unsafe: on systems without Unix
/// permissions, only not being a folder.
#[cfg(not(unix))]
pub fn unsafety(meta: &fs::Metadata) -> Option<Unsafety> {
    (!meta.is_dir()).then_some(Unsafety::NotAFolder)
}

/// Checks that `folder` is a folder owned by this user that group and others
/// cannot write to.
///
/// # Errors
/// [`PrivateFileError::Unsafe`] or [`PrivateFileError::Io`].
pub fn check_private_folder(folder: &Path) -> Result<(), PrivateFileError> {
    let meta = fs::metadata(folder).map_err(io_error("read", folder))?;
    let Some(unsafety) = unsafety(&meta) else {
        return Ok(());
    };
    let (why, fix) = match unsafety {
        Unsafety::NotAFolder => (
            "is not a folder".to_owned(),
            "remove it, or point XDG_CACHE_HOME elsewhere".to_owned(),
        ),
        Unsafety::OwnedBy(uid) => (
            format!("belongs to user id {uid}, not to you ({})", current_uid()),
            "remove it, or point XDG_CACHE_HOME at a folder of your own".to_owned(),
        ),
        Unsafety::Writable(mode) => (
            format!(
                "is writable by {} (mode {:o})",
                if mode & 0o002 != 0 {
                    "everyone"
                } else {
                    "its group"
                },
                mode & 0o777
            ),
            format!("run chmod 700 {}", folder.display()),
        ),
    };
    Err(PrivateFileError::Unsafe {
        path: folder.to_owned(),
        why,
        fix,
    })
}

#[cfg(unix)]
fn current_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

#[cfg(not(unix))]
fn current_uid() -> u32 {
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(unix)]
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writes_a_new_file_and_replaces_an_old_one_leaving_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgpass");
        write_atomic(&path, b"one\n").unwrap();
        write_atomic(&path, b"two\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "two\n");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["pgpass"]);
    }

    #[cfg(unix)]
    #[test]
    fn writes_with_mode_0600_even_over_a_file_others_could_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        write_atomic(&path, b"new").unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn writes_a_readable_file_at_mode_0644_less_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("page.1");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        write_atomic_readable(&path, b"new").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        // The process's umask, read without changing it.
        let status = fs::read_to_string("/proc/self/status").unwrap();
        let umask = status
            .lines()
            .find_map(|line| line.strip_prefix("Umask:"))
            .map(|mask| u32::from_str_radix(mask.trim(), 8).unwrap())
            .unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644 & !umask);
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["page.1"]);
    }

    #[test]
    fn leaves_the_old_file_when_the_folder_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("f");
        let err = write_atomic(&path, b"x").unwrap_err().to_string();
        assert!(err.starts_with("create "), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn makes_a_private_folder_and_refuses_one_others_can_write_to() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("cache").join("rds-auth-token");
        private_folder(&folder).unwrap();
        let mode = fs::metadata(&folder).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        fs::set_permissions(&folder, fs::Permissions::from_mode(0o777)).unwrap();
        let err = private_folder(&folder).unwrap_err().to_string();
        assert!(
            err.ends_with(&format!(
                "is writable by everyone (mode 777); run chmod 700 {}",
                folder.display()
            )),
            "{err}"
        );
        fs::set_permissions(&folder, fs::Permissions::from_mode(0o770)).unwrap();
        let err = private_folder(&folder).unwrap_err().to_string();
        assert!(err.contains("is writable by its group (mode 770)"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn refuses_a_folder_another_user_owns() {
        // SAFETY: geteuid has no preconditions.
        let folder = if unsafe { libc::geteuid() } == 0 {
            // As root: a private folder handed to "nobody".
            let dir = tempfile::tempdir().unwrap().keep();
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
            std::os::unix::fs::chown(&dir, Some(65534), None).unwrap();
            dir
        } else {
            // As anyone else: root's /.
            PathBuf::from("/")
        };
        let err = check_private_folder(&folder).unwrap_err().to_string();
        let _ = fs::remove_dir(&folder);
        assert!(err.contains(" belongs to user id "), "{err}");
        assert!(err.ends_with("remove it, or point XDG_CACHE_HOME at a folder of your own"));
    }
}
