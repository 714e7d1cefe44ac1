//! Parsing `--store`: a local directory, `s3://bucket[/prefix]`, or
//! `memory://` (an in-process store for tests).

use std::path::PathBuf;
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::prefix::PrefixStore;

use super::StorageError;

/// Where a store is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A local directory standing for the bucket.
    Directory(PathBuf),
    /// An S3 bucket, optionally under a key prefix. Endpoint, region and
    /// credentials come from the standard AWS environment variables.
    S3 {
        /// The bucket, as S3 names it (no `s3://`, no `/`).
        bucket: String,
        /// Key prefix without leading or trailing `/`; empty for the root.
        prefix: String,
        /// Server-side encryption asked of every write; `None` leaves it to
        /// the bucket's default (and to `AWS_SERVER_SIDE_ENCRYPTION`).
        encryption: Option<S3Encryption>,
    },
    /// A store in this process's memory, gone when it exits.
    Memory,
}

/// Server-side encryption of the objects an S3 store writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum S3Encryption {
    /// SSE-S3: keys S3 manages (`AES256`).
    Aes256,
    /// SSE-KMS (`aws:kms`), under this KMS key, or the bucket's default key without one.
    Kms {
        /// The KMS key id or ARN.
        key_id: Option<String>,
    },
}

impl S3Encryption {
    /// The encryption `--s3-sse` and `--s3-sse-kms-key-id` ask for.
    pub fn from_flags(kind: &str, kms_key_id: Option<&str>) -> Result<Self, String> {
        match (kind, kms_key_id) {
            ("AES256", None) => Ok(S3Encryption::Aes256),
            ("AES256", Some(_)) => Err("--s3-sse-kms-key-id goes with --s3-sse aws:kms, not AES256".into()),
            ("aws:kms", key_id) => Ok(S3Encryption::Kms { key_id: key_id.map(str::to_owned) }),
            (other, _) => Err(format!("--s3-sse {other:?}: use AES256 or aws:kms")),
        }
    }
}

impl std::str::FromStr for StoreLocation {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!("{text:?} names no bucket; write s3://BUCKET[/PREFIX]"));
            }
            let prefix = prefix.trim_matches('/').to_owned();
            return Ok(StoreLocation::S3 { bucket: bucket.to_owned(), prefix, encryption: None });
        }
        if text == "memory://" {
            return Ok(StoreLocation::Memory);
        }
        if text.contains("://") {
            return Err(format!("{text:?}: only local directories and s3:// stores are supported"));
        }
        if text.is_empty() {
            return Err("the store path is empty".into());
        }
        Ok(StoreLocation::Directory(PathBuf::from(text)))
    }
}

impl std::fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreLocation::Directory(path) => write!(f, "{}", path.display()),
            StoreLocation::S3 { bucket, prefix, .. } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            StoreLocation::S3 { bucket, prefix, .. } => write!(f, "s3://{bucket}/{prefix}"),
            StoreLocation::Memory => write!(f, "memory://"),
        }
    }
}

impl StoreLocation {
    /// What tells this store from every other on this machine: a
    /// directory's absolute path, a bucket and prefix with the endpoint that
    /// serves them. A spool and its journal belong to one identity.
    pub fn identity(&self) -> String {
        match self {
            // Lexical, not canonical: the same before and after the directory exists.
            StoreLocation::Directory(path) => std::path::absolute(path)
                .map_or_else(|_| path.clone(), |p| p.components().collect::<PathBuf>())
                .display()
                .to_string(),
            StoreLocation::S3 { .. } => {
                let endpoint = std::env::var("AWS_ENDPOINT_URL_S3").or_else(|_| std::env::var("AWS_ENDPOINT_URL"));
                match endpoint {
                    Ok(endpoint) if !endpoint.is_empty() => format!("{self} at {}", endpoint.trim_end_matches('/')),
                    _ => self.to_string(),
                }
            }
            StoreLocation::Memory => self.to_string(),
        }
    }

    /// This location with `encryption` on every write, when it is an S3
    /// store; a directory or memory store refuses it.
    pub fn with_encryption(self, encryption: Option<S3Encryption>) -> Result<Self, String> {
        match (self, encryption) {
            (location, None) => Ok(location),
            (StoreLocation::S3 { bucket, prefix, .. }, encryption) => {
                Ok(StoreLocation::S3 { bucket, prefix, encryption })
            }
            (location, Some(_)) => Err(format!("--s3-sse applies to s3:// stores, not {location}")),
        }
    }

    /// The spool directory a tap on this store uses when none is given:
    /// one per store under `./otel-spool`, so taps on different stores run
    /// from one working directory and never take up each other's journal.
    pub fn default_spool(&self) -> PathBuf {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(self.identity().as_bytes());
        let short: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
        PathBuf::from("./otel-spool").join(short)
    }

    /// Opens the backend; returns it and whether it keeps object attributes.
    pub(super) fn connect(&self) -> Result<(Arc<dyn ObjectStore>, bool), StorageError> {
        let open = |e: &dyn std::fmt::Display| StorageError::Open(format!("{self}: {e}"));
        match self {
            StoreLocation::Directory(path) => {
                std::fs::create_dir_all(path).map_err(|e| open(&e))?;
                // Deleting a session's last file removes its emptied folders too.
                let store = LocalFileSystem::new_with_prefix(path).map_err(|e| open(&e))?.with_automatic_cleanup(true);
                Ok((Arc::new(store), false))
            }
            StoreLocation::S3 { bucket, prefix, encryption } => {
                let mut builder = AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .with_credentials(Arc::new(super::aws_credentials::AwsChain::default()));
                let endpoint = std::env::var("AWS_ENDPOINT_URL_S3").or_else(|_| std::env::var("AWS_ENDPOINT_URL"));
                if let Ok(endpoint) = endpoint {
                    // MinIO and other local servers speak plain HTTP, path-style.
                    builder = builder
                        .with_allow_http(endpoint.starts_with("http://"))
                        .with_virtual_hosted_style_request(false);
                }
                // The same keys as AWS_SERVER_SIDE_ENCRYPTION and AWS_SSE_KMS_KEY_ID, which the flags override.
                let key = |name: &str| name.parse::<AmazonS3ConfigKey>().map_err(|e| open(&e));
                match encryption {
                    None => {}
                    Some(S3Encryption::Aes256) => {
                        builder = builder.with_config(key("aws_server_side_encryption")?, "AES256");
                    }
                    Some(S3Encryption::Kms { key_id }) => {
                        builder = builder.with_config(key("aws_server_side_encryption")?, "aws:kms");
                        if let Some(key_id) = key_id {
                            builder = builder.with_config(key("aws_sse_kms_key_id")?, key_id.as_str());
                        }
                    }
                }
                if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none() {
                    builder = builder.with_region("us-east-1");
                }
                let s3: Arc<dyn ObjectStore> = Arc::new(builder.build().map_err(|e| open(&e))?);
                let store: Arc<dyn ObjectStore> =
                    if prefix.is_empty() { s3 } else { Arc::new(PrefixStore::new(s3, prefix.as_str())) };
                Ok((store, true))
            }
            StoreLocation::Memory => Ok((Arc::new(InMemory::new()), true)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind() {
        assert_eq!("./otel-data".parse(), Ok(StoreLocation::Directory("./otel-data".into())));
        assert_eq!(
            "s3://otel-data".parse(),
            Ok(StoreLocation::S3 { bucket: "otel-data".into(), prefix: String::new(), encryption: None })
        );
        assert_eq!(
            "s3://b/team/a/".parse(),
            Ok(StoreLocation::S3 { bucket: "b".into(), prefix: "team/a".into(), encryption: None })
        );
        assert_eq!("memory://".parse(), Ok(StoreLocation::Memory));
        assert!("s3://".parse::<StoreLocation>().is_err());
        assert!("gs://bucket".parse::<StoreLocation>().is_err());
        assert_eq!("s3://b/p".parse::<StoreLocation>().unwrap().to_string(), "s3://b/p");
    }

    #[test]
    fn each_store_has_its_own_default_spool() {
        let spool = |text: &str| text.parse::<StoreLocation>().unwrap().default_spool();
        assert_eq!(spool("./otel-data"), spool("otel-data/"));
        assert_eq!(spool("otel-data"), spool("./otel-data/."));
        assert_ne!(spool("./otel-data"), spool("./other-data"));
        assert_ne!(spool("./otel-data"), spool("s3://otel-data"));
        assert!(spool("s3://b").starts_with("./otel-spool"));
    }
}
