//! Where sessions are kept: a local directory standing for a bucket (the
//! default), an S3/MinIO bucket, or memory (tests), behind one [`Storage`]
//! type over `object_store`.

pub mod location;
pub mod spool;
pub mod uploader;

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{Attribute, Attributes, ObjectStore, ObjectStoreExt, PutOptions, PutPayload};

pub use location::StoreLocation;

/// A storage failure, with the backend's message.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The key is not a valid object path.
    #[error("invalid object key {key:?}: {reason}")]
    InvalidKey {
        /// The key as given.
        key: String,
        /// Why it was refused.
        reason: String,
    },
    /// The store could not be configured or opened.
    #[error("cannot open store {0}")]
    Open(String),
    /// The backend failed.
    #[error(transparent)]
    Backend(#[from] object_store::Error),
}

/// An object listed under a prefix.
#[derive(Debug, Clone)]
pub struct ListedObject {
    /// The key relative to the store root.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
}

/// A store root: every key is relative to it.
#[derive(Debug, Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    /// Whether the backend keeps object attributes such as Content-Type.
    keeps_attributes: bool,
    location: StoreLocation,
}

impl Storage {
    /// Opens the store at `location` (creating a local directory if needed).
    pub fn open(location: &StoreLocation) -> Result<Self, StorageError> {
        let (store, keeps_attributes) = location.connect()?;
        Ok(Storage { store, keeps_attributes, location: location.clone() })
    }

    /// Where this store is, as the user wrote it.
    pub fn location(&self) -> &StoreLocation {
        &self.location
    }

    /// Writes `body` under `key`, replacing any object there.
    pub async fn put(&self, key: &str, body: Bytes, content_type: &str) -> Result<(), StorageError> {
        let path = object_path(key)?;
        let mut options = PutOptions::default();
        if self.keeps_attributes {
            let mut attributes = Attributes::new();
            attributes.insert(Attribute::ContentType, content_type.to_owned().into());
            options.attributes = attributes;
        }
        self.store.put_opts(&path, PutPayload::from_bytes(body), options).await?;
        Ok(())
    }

    /// Reads an object; `None` when it does not exist.
    pub async fn get(&self, key: &str) -> Result<Option<Bytes>, StorageError> {
        match self.store.get(&object_path(key)?).await {
            Ok(result) => Ok(Some(result.bytes().await?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Every object under `prefix` (a folder ending in `/`), in no set order.
    pub async fn list(&self, prefix: &str) -> Result<Vec<ListedObject>, StorageError> {
        let prefix = object_path(prefix.trim_end_matches('/'))?;
        let objects: Vec<_> = self.store.list(Some(&prefix)).try_collect().await?;
        Ok(objects.into_iter().map(|o| ListedObject { key: o.location.to_string(), size: o.size }).collect())
    }

    /// The names of the folders directly under `prefix`.
    pub async fn list_folders(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        let prefix = object_path(prefix.trim_end_matches('/'))?;
        let listing = self.store.list_with_delimiter(Some(&prefix)).await?;
        Ok(listing.common_prefixes.iter().filter_map(|p| p.filename().map(str::to_owned)).collect())
    }
}

/// Turns a key into an object path, refusing anything that is not a plain
/// relative path of non-empty, non-dot segments.
fn object_path(key: &str) -> Result<Path, StorageError> {
    let invalid = |reason: &str| StorageError::InvalidKey { key: key.to_owned(), reason: reason.to_owned() };
    if key.starts_with('/') || key.split('/').any(|s| s.is_empty() || s == "." || s == "..") {
        return Err(invalid("keys are relative paths of non-empty segments without '.' or '..'"));
    }
    Path::parse(key).map_err(|e| invalid(&e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_keys_that_leave_the_root() {
        for key in ["/abs", "a//b", "../x", "a/./b", "a/../b", ""] {
            assert!(object_path(key).is_err(), "{key:?}");
        }
        assert!(object_path("sessions/s1/metadata.json").is_ok());
    }

    #[tokio::test]
    async fn puts_gets_and_lists_in_a_local_directory() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(&StoreLocation::Directory(dir.path().to_owned())).unwrap();
        storage.put("sessions/a/metadata.json", Bytes::from_static(b"{}"), "application/json").await.unwrap();
        storage.put("sessions/b/raw/x.otlp.gz", Bytes::from_static(b"gz"), "application/gzip").await.unwrap();
        assert_eq!(std::fs::read(dir.path().join("sessions/a/metadata.json")).unwrap(), b"{}");
        assert_eq!(storage.get("sessions/a/metadata.json").await.unwrap().unwrap(), Bytes::from_static(b"{}"));
        assert!(storage.get("sessions/none/metadata.json").await.unwrap().is_none());
        let mut folders = storage.list_folders("sessions/").await.unwrap();
        folders.sort();
        assert_eq!(folders, ["a", "b"]);
        let objects = storage.list("sessions/b/").await.unwrap();
        assert_eq!(objects.len(), 1);
        assert_eq!(objects[0].key, "sessions/b/raw/x.otlp.gz");
    }
}
