//! The local spool: objects the store would not take (S3 down or failing)
//! are written here and uploaded later, oldest first, so nothing the tap
//! acknowledged is lost, across restarts too. Bounded in bytes.
//!
//! Each spooled object is one file, `{sequence}.spool`: a JSON header line
//! (key, content type) and the body.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::locks::MutexExt;

#[derive(Serialize, Deserialize)]
struct Header {
    key: String,
    content_type: String,
}

/// One spooled object.
#[derive(Debug, Clone)]
pub struct Spooled {
    /// Its place in the spool.
    pub sequence: u64,
    /// The object key.
    pub key: String,
    /// The media type.
    pub content_type: String,
    /// The object's bytes, as the store will get them.
    pub body: Bytes,
}

#[derive(Default)]
struct Index {
    /// sequence -> (key, size)
    entries: BTreeMap<u64, (String, u64)>,
    /// key -> sequences of its spooled versions
    by_key: HashMap<String, Vec<u64>>,
    bytes: u64,
    next: u64,
}

impl Index {
    fn insert(&mut self, sequence: u64, key: String, size: u64) {
        self.bytes += size;
        self.by_key.entry(key.clone()).or_default().push(sequence);
        self.entries.insert(sequence, (key, size));
    }

    fn remove(&mut self, sequence: u64) -> bool {
        let Some((key, size)) = self.entries.remove(&sequence) else { return false };
        self.bytes -= size;
        if let Some(versions) = self.by_key.get_mut(&key) {
            versions.retain(|s| *s != sequence);
            if versions.is_empty() {
                self.by_key.remove(&key);
            }
        }
        true
    }
}

/// A spool directory.
pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    index: Mutex<Index>,
}

/// Why an object could not be spooled.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// The spool holds as many bytes as it may.
    #[error("spool full ({0} bytes)")]
    Full(u64),
    /// The spool directory failed.
    #[error("spool: {0}")]
    Io(#[from] std::io::Error),
}

impl Spool {
    /// Opens (creating) the spool at `dir`, indexing what a previous run left.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Self, SpoolError> {
        std::fs::create_dir_all(dir)?;
        let mut index = Index::default();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            let Some(sequence) = path.file_stem().and_then(|s| s.to_str()).and_then(|s| s.parse::<u64>().ok()) else {
                continue;
            };
            if path.extension().and_then(|e| e.to_str()) != Some("spool") {
                continue;
            }
            match read(&path) {
                Ok((header, body)) => {
                    index.insert(sequence, header.key, body.len() as u64);
                    index.next = index.next.max(sequence + 1);
                }
                Err(e) => tracing::warn!(path = %path.display(), error = %e, "skipping an unreadable spool file"),
            }
        }
        Ok(Spool { dir: dir.to_owned(), max_bytes, index: Mutex::new(index) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Index> {
        self.index.locked()
    }

    fn path(&self, sequence: u64) -> PathBuf {
        self.dir.join(format!("{sequence:020}.spool"))
    }

    /// Bytes and objects spooled.
    pub fn usage(&self) -> (u64, usize) {
        let index = self.lock();
        (index.bytes, index.entries.len())
    }

    /// Writes an object durably (fsync) to the spool.
    pub fn push(&self, key: &str, content_type: &str, body: &Bytes) -> Result<(), SpoolError> {
        let sequence = {
            let mut index = self.lock();
            if index.bytes + body.len() as u64 > self.max_bytes && !index.entries.is_empty() {
                return Err(SpoolError::Full(self.max_bytes));
            }
            let sequence = index.next;
            index.next += 1;
            index.insert(sequence, key.to_owned(), body.len() as u64);
            sequence
        };
        let written = (|| {
            let header = serde_json::to_string(&Header { key: key.to_owned(), content_type: content_type.to_owned() })
                .map_err(std::io::Error::other)?;
            let temporary = self.dir.join(format!("{sequence:020}.partial"));
            let mut file = std::fs::File::create(&temporary)?;
            file.write_all(header.as_bytes())?;
            file.write_all(b"\n")?;
            file.write_all(body)?;
            file.sync_all()?;
            std::fs::rename(&temporary, self.path(sequence))
        })();
        if let Err(e) = written {
            self.forget(sequence);
            return Err(e.into());
        }
        Ok(())
    }

    /// The oldest spooled object.
    pub fn oldest(&self) -> Result<Option<Spooled>, SpoolError> {
        let Some(sequence) = self.lock().entries.keys().next().copied() else { return Ok(None) };
        let (header, body) = read(&self.path(sequence))?;
        Ok(Some(Spooled { sequence, key: header.key, content_type: header.content_type, body }))
    }

    /// Whether an object is still spooled (not uploaded or superseded since).
    pub fn contains(&self, sequence: u64) -> bool {
        self.lock().entries.contains_key(&sequence)
    }

    /// Sequences of spooled versions of `key`.
    pub fn versions_of(&self, key: &str) -> Vec<u64> {
        self.lock().by_key.get(key).cloned().unwrap_or_default()
    }

    /// Removes a spooled object (uploaded, or superseded by a newer version).
    pub fn remove(&self, sequence: u64) {
        if self.forget(sequence) {
            let _ = std::fs::remove_file(self.path(sequence));
        }
    }

    fn forget(&self, sequence: u64) -> bool {
        self.lock().remove(sequence)
    }
}

fn read(path: &Path) -> Result<(Header, Bytes), std::io::Error> {
    let data = std::fs::read(path)?;
    let newline = data.iter().position(|b| *b == b'\n').ok_or_else(|| std::io::Error::other("no header line"))?;
    let header: Header = serde_json::from_slice(&data[..newline]).map_err(std::io::Error::other)?;
    Ok((header, Bytes::copy_from_slice(&data[newline + 1..])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_objects_in_order_across_reopening_and_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), 100).unwrap();
        spool.push("sessions/s/a", "application/gzip", &Bytes::from_static(b"first")).unwrap();
        spool.push("sessions/s/b", "application/json", &Bytes::from(vec![7u8; 90])).unwrap();
        assert!(matches!(spool.push("sessions/s/c", "x", &Bytes::from_static(b"too much")), Err(SpoolError::Full(_))));
        drop(spool);
        let reopened = Spool::open(dir.path(), 100).unwrap();
        assert_eq!(reopened.usage(), (95, 2));
        let oldest = reopened.oldest().unwrap().unwrap();
        assert_eq!(
            (oldest.key.as_str(), oldest.content_type.as_str(), &oldest.body[..]),
            ("sessions/s/a", "application/gzip", &b"first"[..])
        );
        reopened.remove(oldest.sequence);
        assert_eq!(reopened.versions_of("sessions/s/b").len(), 1);
        assert_eq!(reopened.oldest().unwrap().unwrap().key, "sessions/s/b");
        assert_eq!(reopened.usage(), (90, 1));
    }
}
