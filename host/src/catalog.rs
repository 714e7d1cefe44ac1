//! The store catalog: what a store holds, read without a running tap.
//! Lists sessions, reads one session's metadata.json and raw objects, and
//! renders or parses metadata through the component (which owns the
//! layout). `session list|show`, `replay` and `inspect` use it directly;
//! the tap's session registry uses it for what is not active.

use bytes::Bytes;

use crate::error::TapError;
use crate::otlp::compression::Coding;
use crate::otlp::{Encoding, PayloadSummary, Signal};
use crate::runtime::pool::ProcessorPool;
use crate::session::SessionState;
use crate::storage::Storage;

/// The folder under the store root that holds one folder per session.
const SESSIONS_FOLDER: &str = "sessions/";

/// Largest object rendered as JSON (inspect, the NDJSON stream), inflated.
pub const MAX_INFLATED: u64 = 1 << 30;

/// One raw object of a session, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    /// Its key under the store root.
    pub key: String,
    /// Its signal, from the key.
    pub signal: Signal,
    /// Capture time from the key, unix millis.
    pub capture_unix_millis: u64,
    /// Stored (compressed) size in bytes.
    pub size: u64,
}

/// Reads sessions out of a store.
#[derive(Clone)]
pub struct Catalog {
    storage: Storage,
    pool: ProcessorPool,
}

impl Catalog {
    /// A catalog of `storage`, using `pool`'s instances to read the layout.
    pub fn new(storage: Storage, pool: ProcessorPool) -> Self {
        Catalog { storage, pool }
    }

    /// The store it reads.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// The key of a session's metadata.json; `InvalidRequest` for an id that
    /// breaks the layout's rules.
    pub async fn metadata_key(&self, id: &str) -> Result<String, TapError> {
        let id = id.to_owned();
        Ok(self.pool.call(move |i| i.metadata_key(&id)).await?)
    }

    /// The folder of a session's objects, `sessions/{id}/`.
    pub async fn session_prefix(&self, id: &str) -> Result<String, TapError> {
        let metadata_key = self.metadata_key(id).await?;
        Ok(metadata_key.strip_suffix("metadata.json").unwrap_or(&metadata_key).to_owned())
    }

    /// A session's stored metadata; `None` when the store has no such session.
    pub async fn get(&self, id: &str) -> Result<Option<SessionState>, TapError> {
        let key = self.metadata_key(id).await?;
        match self.storage.get(&key).await? {
            Some(document) => Ok(Some(self.parse(document).await?)),
            None => Ok(None),
        }
    }

    /// The ids of the session folders the store holds (one listing).
    pub async fn session_ids(&self) -> Result<Vec<String>, TapError> {
        Ok(self.storage.list_folders(SESSIONS_FOLDER).await?)
    }

    /// Every session the store holds, oldest start first. Folders that are
    /// no session (an invalid id, no or unreadable metadata.json) are skipped,
    /// the unreadable ones with a warning.
    pub async fn list(&self) -> Result<Vec<SessionState>, TapError> {
        let mut sessions = Vec::new();
        for id in self.storage.list_folders(SESSIONS_FOLDER).await? {
            let Ok(key) = self.metadata_key(&id).await else { continue };
            let Some(document) = self.storage.get(&key).await? else { continue };
            match self.parse(document).await {
                Ok(state) => sessions.push(state),
                Err(e) => tracing::warn!(%key, error = %e, "skipping unreadable metadata.json"),
            }
        }
        sessions.sort_by_key(|s| s.start_unix_nanos);
        Ok(sessions)
    }

    /// The raw objects stored for a session, in no set order. Files that are
    /// not objects of the layout are skipped with a warning.
    pub async fn raw_objects(&self, id: &str) -> Result<Vec<StoredObject>, TapError> {
        let prefix = format!("{}raw/", self.session_prefix(id).await?);
        let listed = self.storage.list(&prefix).await?;
        let keys: Vec<String> = listed.iter().map(|o| o.key.clone()).collect();
        let parsed =
            self.pool.call(move |i| Ok(keys.iter().map(|k| i.parse_object_key(k)).collect::<Vec<_>>())).await?;
        let mut objects = Vec::with_capacity(listed.len());
        for (object, info) in listed.into_iter().zip(parsed) {
            match info {
                Ok(info) if info.session_id == id => objects.push(StoredObject {
                    key: object.key,
                    signal: info.signal,
                    capture_unix_millis: info.capture_unix_millis,
                    size: object.size,
                }),
                _ => tracing::warn!(key = %object.key, "skipping a file that is not an object of the layout"),
            }
        }
        Ok(objects)
    }

    /// The signal a raw object key names; `Internal` for a key that is not
    /// one of the layout.
    pub async fn object_signal(&self, key: &str) -> Result<Signal, TapError> {
        let key = key.to_owned();
        Ok(self.pool.call(move |i| i.parse_object_key(&key)).await?.signal)
    }

    /// An object's bytes; `None` when there is no such object.
    pub async fn object(&self, key: &str) -> Result<Option<Bytes>, TapError> {
        Ok(self.storage.get(key).await?)
    }

    /// A stored object as OTLP/JSON (the component refuses one that
    /// inflates beyond [`MAX_INFLATED`]).
    pub async fn object_json(&self, signal: Signal, object: Bytes) -> Result<String, TapError> {
        Ok(self.pool.call(move |i| i.object_to_json(signal, &object, MAX_INFLATED)).await?)
    }

    /// What a stored object holds (items, telemetry time bounds), read
    /// from the object: inflated (at most [`MAX_INFLATED`]) and summarized
    /// by the component. `None` when the object is gone.
    pub async fn object_summary(&self, object: &StoredObject) -> Result<Option<PayloadSummary>, TapError> {
        let Some(body) = self.storage.get(&object.key).await? else { return Ok(None) };
        let payload = Coding::Gzip
            .decode(&body, MAX_INFLATED as usize)
            .map_err(|e| TapError::Internal(format!("{}: {e}", object.key)))?;
        let signal = object.signal;
        Ok(Some(self.pool.call(move |i| i.summarize(signal, Encoding::Protobuf, &payload)).await?))
    }

    /// The metadata.json document of a state, exactly as it is written.
    pub async fn render(&self, state: SessionState) -> Result<serde_json::Value, TapError> {
        let text = self.render_text(state).await?;
        serde_json::from_str(&text).map_err(|e| TapError::Internal(format!("component rendered invalid JSON: {e}")))
    }

    /// The metadata.json text of a state, as it is written (its key order).
    pub async fn render_text(&self, state: SessionState) -> Result<String, TapError> {
        Ok(self.pool.call(move |i| i.render_metadata(&state)).await?)
    }

    /// Reads a metadata.json document (through the component).
    pub async fn parse(&self, document: Bytes) -> Result<SessionState, TapError> {
        let text = String::from_utf8_lossy(&document).into_owned();
        Ok(self.pool.call(move |i| i.parse_metadata(&text)).await?)
    }
}
