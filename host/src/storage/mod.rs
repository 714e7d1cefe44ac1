//! Where sessions are kept: a local directory standing for a bucket (the
//! default), an S3/MinIO bucket, or memory (tests), behind one [`Storage`]
//! type over `object_store`.

mod aws_credentials;
pub mod index;
pub mod location;
pub mod spool;
pub mod spool_owner;
pub mod uploader;

use std::sync::Arc;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{
    Attribute, Attributes, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion,
};

pub use location::{S3Encryption, StoreLocation};

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

/// The version of an object as read, for a write that must not overwrite a
/// newer one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectVersion(UpdateVersion);

/// What a conditional write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionalWrite {
    /// Written: the object was as expected.
    Written,
    /// Not written: someone wrote the object since it was read.
    Conflict,
    /// Written unconditionally: this store has no conditional writes (a
    /// local directory), so a concurrent write may have been replaced.
    Unconditional,
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
        self.store.put_opts(&path, PutPayload::from_bytes(body), self.put_options(content_type)).await?;
        Ok(())
    }

    /// A write of `content_type`, labelled where the backend keeps labels.
    fn put_options(&self, content_type: &str) -> PutOptions {
        let mut options = PutOptions::default();
        if self.keeps_attributes {
            let mut attributes = Attributes::new();
            attributes.insert(Attribute::ContentType, content_type.to_owned().into());
            options.attributes = attributes;
        }
        options
    }

    /// Reads an object with its version; `None` when it does not exist.
    pub async fn get_versioned(&self, key: &str) -> Result<Option<(Bytes, ObjectVersion)>, StorageError> {
        match self.store.get(&object_path(key)?).await {
            Ok(result) => {
                let version = UpdateVersion { e_tag: result.meta.e_tag.clone(), version: result.meta.version.clone() };
                Ok(Some((result.bytes().await?, ObjectVersion(version))))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes `body` under `key` only if the object is still at `expected`
    /// (`None`: only if there is none). Where the store cannot write
    /// conditionally, writes anyway and says so.
    pub async fn put_if(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
        expected: Option<&ObjectVersion>,
    ) -> Result<ConditionalWrite, StorageError> {
        let path = object_path(key)?;
        let mut options = self.put_options(content_type);
        options.mode = match expected {
            Some(ObjectVersion(version)) => PutMode::Update(version.clone()),
            None => PutMode::Create,
        };
        match self.store.put_opts(&path, PutPayload::from_bytes(body.clone()), options).await {
            Ok(_) => Ok(ConditionalWrite::Written),
            Err(object_store::Error::Precondition { .. } | object_store::Error::AlreadyExists { .. }) => {
                Ok(ConditionalWrite::Conflict)
            }
            Err(object_store::Error::NotImplemented { .. }) => {
                self.put(key, body, content_type).await?;
                Ok(ConditionalWrite::Unconditional)
            }
            Err(e) => Err(e.into()),
        }
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

    /// Deletes `keys`: on S3 in batches (DeleteObjects, up to 1,000 keys a
    /// request), elsewhere one by one. A key already gone counts as deleted.
    pub async fn delete_all(&self, keys: &[String]) -> Result<(), StorageError> {
        let paths: Vec<object_store::Result<Path>> = keys
            .iter()
            .map(|k| object_path(k).map_err(|e| object_store::Error::Generic { store: "key", source: Box::new(e) }))
            .collect();
        let mut deleted = self.store.delete_stream(futures::stream::iter(paths).boxed());
        while let Some(result) = deleted.next().await {
            match result {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
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
    async fn a_conditional_write_loses_to_a_newer_one_and_a_directory_says_it_cannot() {
        let storage = Storage::open(&StoreLocation::Memory).unwrap();
        let key = "sessions/s/metadata.json";
        assert_eq!(
            storage.put_if(key, Bytes::from("1"), "application/json", None).await.unwrap(),
            ConditionalWrite::Written
        );
        let (_, read) = storage.get_versioned(key).await.unwrap().unwrap();
        storage.put(key, Bytes::from("2"), "application/json").await.unwrap();
        let stale = storage.put_if(key, Bytes::from("3"), "application/json", Some(&read)).await.unwrap();
        assert_eq!(stale, ConditionalWrite::Conflict);
        assert_eq!(
            storage.put_if(key, Bytes::from("4"), "application/json", None).await.unwrap(),
            ConditionalWrite::Conflict
        );
        let (body, current) = storage.get_versioned(key).await.unwrap().unwrap();
        assert_eq!(body, Bytes::from("2"));
        let fresh = storage.put_if(key, Bytes::from("5"), "application/json", Some(&current)).await.unwrap();
        assert_eq!(fresh, ConditionalWrite::Written);

        let dir = tempfile::tempdir().unwrap();
        let local = Storage::open(&StoreLocation::Directory(dir.path().to_owned())).unwrap();
        local.put(key, Bytes::from("1"), "application/json").await.unwrap();
        let (_, read) = local.get_versioned(key).await.unwrap().unwrap();
        let written = local.put_if(key, Bytes::from("2"), "application/json", Some(&read)).await.unwrap();
        assert_eq!(written, ConditionalWrite::Unconditional);
        assert_eq!(local.get(key).await.unwrap().unwrap(), Bytes::from("2"));
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
