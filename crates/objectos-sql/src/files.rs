//! Folders and files that hold tenant data, created private to the owner whatever the umask:
//! folders `0700`, files `0600` (SQLite gives a database's `-wal` and `-shm` files the mode of the
//! database itself). Only what objectos creates is restricted; an existing folder or file keeps
//! the mode its owner chose. On other platforms these are plain creations.

use std::io;
use std::path::Path;

/// The mode of every folder objectos creates.
pub const PRIVATE_DIR_MODE: u32 = 0o700;

/// The mode of every database and secret file objectos creates.
pub const PRIVATE_FILE_MODE: u32 = 0o600;

/// Creates `path` and any missing parents, each new one readable by its owner only; an existing
/// folder is left as it is.
pub fn create_private_dir(path: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, PRIVATE_DIR_MODE);
    builder.create(path)
}

/// Creates an empty file at `path`, readable by its owner only, unless one exists already (an
/// existing file is neither truncated nor changed). Called before SQLite opens a new database, so
/// the database, and the journal files SQLite derives from it, are never readable by others.
pub fn create_private_file(path: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, PRIVATE_FILE_MODE);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Opens (creating if needed) the file at `path` for writing, a new file readable by its owner
/// only; `truncate` empties an existing one.
pub fn open_private_file(path: &Path, truncate: bool) -> io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(truncate);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, PRIVATE_FILE_MODE);
    options.open(path)
}

#[cfg(all(test, unix))]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_folders_and_files_are_private_and_existing_ones_are_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        create_private_dir(&nested).unwrap();
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        assert_eq!(mode(&nested), 0o700);
        create_private_dir(&nested).unwrap();

        let file = nested.join("x.db");
        create_private_file(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        std::fs::write(&file, b"data").unwrap();
        create_private_file(&file).unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"data", "never truncated");

        let open = nested.join("token");
        open_private_file(&open, true).unwrap();
        assert_eq!(mode(&open), 0o600);

        let theirs = dir.path().join("theirs");
        std::fs::create_dir(&theirs).unwrap();
        std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o750)).unwrap();
        create_private_dir(&theirs).unwrap();
        assert_eq!(mode(&theirs), 0o750);
    }
}
