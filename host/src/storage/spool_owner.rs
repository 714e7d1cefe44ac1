//! The store a spool directory belongs to. A spool holds a journal of
//! acknowledged requests and objects waiting for their store: taken up by
//! a tap on another store, they would be recorded into sessions that store
//! never had. So the directory names its store in a file `STORE`, and a
//! tap on any other store refuses to use it.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The file, inside the spool directory, that names its store.
const OWNER_FILE: &str = "STORE";

/// Why a tap may not use a spool directory.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// The directory belongs to another store.
    #[error(
        "the spool {dir} holds the journal of the store {owner}, not of {store}: start a tap on {owner} \
         to recover it, or give this tap another --spool (the default is one per store)"
    )]
    OtherStore {
        /// The directory.
        dir: String,
        /// The store it belongs to.
        owner: String,
        /// The store of the tap that asked.
        store: String,
    },
    /// The directory holds a journal or objects from before spools named
    /// their store: whose they are is not known, so none are taken up.
    #[error(
        "the spool {dir} holds a journal or objects that name no store: if they are {store}'s, write \
         that name into {dir}/STORE and start again; otherwise start the tap of their store on it"
    )]
    Unowned {
        /// The directory.
        dir: String,
        /// The store of the tap that asked.
        store: String,
    },
    /// The directory or its owner file cannot be read or written.
    #[error("spool {dir}: {reason}")]
    Io {
        /// The directory.
        dir: String,
        /// The system's message.
        reason: String,
    },
}

/// Makes `dir` the spool of the store named `store` (its identity, see
/// `StoreLocation::identity`), creating it; refuses a directory that
/// belongs to another store, or one that holds unowned work.
pub fn claim(dir: &Path, store: &str) -> Result<(), ClaimError> {
    let shown = dir.display().to_string();
    let io = |e: std::io::Error| ClaimError::Io { dir: shown.clone(), reason: e.to_string() };
    std::fs::create_dir_all(dir).map_err(io)?;
    let owner_file = dir.join(OWNER_FILE);
    match std::fs::read_to_string(&owner_file) {
        Ok(owner) if owner.trim() == store => return Ok(()),
        Ok(owner) => {
            return Err(ClaimError::OtherStore { dir: shown, owner: owner.trim().to_owned(), store: store.to_owned() });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    if holds_work(dir).map_err(io)? {
        return Err(ClaimError::Unowned { dir: shown, store: store.to_owned() });
    }
    let written = owner_file.with_extension("new");
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&written)?;
        writeln!(file, "{store}")?;
        file.sync_all()?;
        std::fs::rename(&written, &owner_file)
    };
    write().map_err(io)
}

/// Whether `dir` holds spooled objects or journal segments.
fn holds_work(dir: &Path) -> std::io::Result<bool> {
    let has_files = |dir: PathBuf, extension: &str| -> std::io::Result<bool> {
        match std::fs::read_dir(dir) {
            Ok(entries) => {
                for entry in entries {
                    if entry?.path().extension().is_some_and(|e| e == extension) {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    };
    Ok(has_files(dir.to_owned(), "spool")? || has_files(dir.join("journal"), "wal")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spool_serves_the_store_that_claimed_it_first() {
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("spool");
        claim(&spool, "/data/a").unwrap();
        claim(&spool, "/data/a").unwrap();
        let refused = claim(&spool, "s3://b").unwrap_err().to_string();
        assert!(refused.contains("/data/a") && refused.contains("s3://b"), "{refused}");
    }

    #[test]
    fn work_that_names_no_store_is_not_taken_up() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("journal")).unwrap();
        std::fs::write(dir.path().join("journal").join("00000000000000000001.wal"), b"x").unwrap();
        assert!(matches!(claim(dir.path(), "/data/a"), Err(ClaimError::Unowned { .. })));
        std::fs::write(dir.path().join("STORE"), "/data/a\n").unwrap();
        claim(dir.path(), "/data/a").unwrap();
    }
}
