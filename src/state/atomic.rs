//! Crash-safe file replacement and private (0600/0700) file creation.
//!
//! A replacement is: write a temporary file beside the target, `sync_all` it, rename it over
//! the target, then `sync_all` the directory so that the rename itself survives a power cut.
//! Readers see either the old file or the new one, never a mixture. `tempfile`'s `persist`
//! skips the two syncs, hence this module.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use super::paths::{directory_of, with_suffix};

/// Creates `directory` and its missing parents, readable by the owner only.
pub(crate) fn create_private_directory(directory: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(directory)
}

/// Open options that create files readable and writable by the owner only, from the
/// moment they exist.
pub(crate) fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Makes the directory entries of `directory` durable (new, renamed or removed files).
pub(crate) fn sync_directory(directory: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(directory)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = directory;
        Ok(())
    }
}

/// Replaces `target` with `contents` atomically; see the module documentation.
pub fn replace_file(target: &Path, contents: &[u8]) -> io::Result<()> {
    replace_file_with(target, None, |file| file.write_all(contents))
}

/// Replaces `target` with what `write` puts into the temporary file.
///
/// When `backup` is given and `target` exists, the previous `target` becomes `backup` (a
/// hard link, so it costs nothing and keeps the old file's inode and mode); the backup is
/// in place before the target is replaced. On any failure the temporary file is removed and
/// `target` is left as it was.
pub(crate) fn replace_file_with(
    target: &Path,
    backup: Option<&Path>,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let directory = directory_of(target);
    create_private_directory(directory)?;
    let temporary = with_suffix(target, ".tmp");
    // Only the lock holder writes, so a temporary file that exists is a leftover of a crash.
    remove_if_present(&temporary)?;
    let result = private_options()
        .write(true)
        .create_new(true)
        .open(&temporary)
        .and_then(|mut file| {
            write(&mut file)?;
            file.sync_all()?;
            if let Some(backup) = backup {
                keep_backup(target, backup)?;
            }
            fs::rename(&temporary, target)?;
            sync_directory(directory)
        });
    if result.is_err() {
        // Best effort: the original error is the one worth reporting.
        let _ = remove_if_present(&temporary);
    }
    result
}

/// Makes `backup` the current `target`, replacing any older backup atomically.
fn keep_backup(target: &Path, backup: &Path) -> io::Result<()> {
    if !target.exists() {
        return Ok(());
    }
    let temporary = with_suffix(backup, ".tmp");
    remove_if_present(&temporary)?;
    let result = fs::hard_link(target, &temporary).or_else(|_| {
        // Some filesystems have no hard links: copy instead, still 0600.
        let mut copy = private_options()
            .write(true)
            .create_new(true)
            .open(&temporary)?;
        io::copy(&mut File::open(target)?, &mut copy)?;
        copy.sync_all()
    });
    let result = result.and_then(|()| fs::rename(&temporary, backup));
    if result.is_err() {
        let _ = remove_if_present(&temporary);
    }
    result
}

/// Removes `path` when it is a file; a missing file is fine.
pub(crate) fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::state::fixtures::file_names;

    #[cfg(unix)]
    fn mode_of(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_failure_mid_write_leaves_the_old_file_and_no_temporary() {
        let directory = tempfile::tempdir().unwrap();
        let target = directory.path().join("state.json");
        fs::write(&target, b"old contents").unwrap();

        let error = replace_file_with(&target, None, |file| {
            file.write_all(b"half of the new")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();

        assert_eq!(error.to_string(), "disk full");
        assert_eq!(fs::read(&target).unwrap(), b"old contents");
        assert_eq!(file_names(directory.path()), ["state.json"]);
    }

    #[test]
    fn a_temporary_name_taken_by_a_directory_fails_without_touching_the_target() {
        let directory = tempfile::tempdir().unwrap();
        let target = directory.path().join("state.json");
        fs::write(&target, b"old contents").unwrap();
        fs::create_dir(directory.path().join("state.json.tmp")).unwrap();

        assert!(replace_file(&target, b"new contents").is_err());

        assert_eq!(fs::read(&target).unwrap(), b"old contents");
        assert_eq!(
            file_names(directory.path()),
            ["state.json", "state.json.tmp"]
        );
    }

    #[test]
    fn a_failing_backup_stops_the_replacement_and_removes_the_temporary() {
        let directory = tempfile::tempdir().unwrap();
        let target = directory.path().join("state.json");
        let backup = directory.path().join("state.json.backup");
        fs::write(&target, b"old contents").unwrap();
        // A non-empty directory cannot be replaced by a rename.
        fs::create_dir(&backup).unwrap();
        fs::write(backup.join("keep"), b"").unwrap();

        assert!(replace_file_with(&target, Some(&backup), |file| file.write_all(b"new")).is_err());

        assert_eq!(fs::read(&target).unwrap(), b"old contents");
        assert_eq!(
            file_names(directory.path()),
            ["state.json", "state.json.backup"]
        );
    }

    #[test]
    fn the_previous_version_becomes_the_backup() {
        let directory = tempfile::tempdir().unwrap();
        let target = directory.path().join("state.json");
        let backup = directory.path().join("state.json.backup");

        replace_file_with(&target, Some(&backup), |file| file.write_all(b"first")).unwrap();
        assert!(!backup.exists(), "nothing to back up on the first write");
        replace_file_with(&target, Some(&backup), |file| file.write_all(b"second")).unwrap();
        replace_file_with(&target, Some(&backup), |file| file.write_all(b"third")).unwrap();

        assert_eq!(fs::read(&target).unwrap(), b"third");
        assert_eq!(fs::read(&backup).unwrap(), b"second");
        assert_eq!(
            file_names(directory.path()),
            ["state.json", "state.json.backup"]
        );
    }

    #[test]
    fn a_leftover_temporary_file_is_replaced() {
        let directory = tempfile::tempdir().unwrap();
        let target = directory.path().join("state.json");
        fs::write(directory.path().join("state.json.tmp"), b"crashed").unwrap();

        replace_file(&target, b"new").unwrap();

        assert_eq!(fs::read(&target).unwrap(), b"new");
        assert_eq!(file_names(directory.path()), ["state.json"]);
    }

    #[cfg(unix)]
    #[test]
    fn files_and_new_directories_are_private() {
        let directory = tempfile::tempdir().unwrap();
        let target = directory.path().join("nested/.cityform/state.json");
        let backup = directory.path().join("nested/.cityform/state.json.backup");

        replace_file_with(&target, Some(&backup), |file| file.write_all(b"1")).unwrap();
        replace_file_with(&target, Some(&backup), |file| file.write_all(b"2")).unwrap();

        assert_eq!(mode_of(&target), 0o600);
        assert_eq!(mode_of(&backup), 0o600);
        assert_eq!(mode_of(&directory.path().join("nested/.cityform")), 0o700);
        assert_eq!(mode_of(&directory.path().join("nested")), 0o700);
    }

    #[cfg(unix)]
    #[test]
    fn the_temporary_file_is_private_while_it_is_written() {
        let directory = tempfile::tempdir().unwrap();
        let target = directory.path().join("state.json");
        let temporary = directory.path().join("state.json.tmp");
        let mut seen = None;

        replace_file_with(&target, None, |file| {
            seen = Some(mode_of(&temporary));
            file.write_all(b"secret-free but private")
        })
        .unwrap();

        assert_eq!(seen, Some(0o600));
    }
}
