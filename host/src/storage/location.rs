//! Parsing `--store`: a local directory, `s3://bucket[/prefix]`, or
//! `memory://` (an in-process store for tests).

use std::path::PathBuf;
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
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
    },
    /// A store in this process's memory, gone when it exits.
    Memory,
}

impl std::str::FromStr for StoreLocation {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!("{text:?} names no bucket; write s3://BUCKET[/PREFIX]"));
            }
            return Ok(StoreLocation::S3 { bucket: bucket.to_owned(), prefix: prefix.trim_matches('/').to_owned() });
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
            StoreLocation::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            StoreLocation::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
            StoreLocation::Memory => write!(f, "memory://"),
        }
    }
}

impl StoreLocation {
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
            StoreLocation::S3 { bucket, prefix } => {
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
            Ok(StoreLocation::S3 { bucket: "otel-data".into(), prefix: String::new() })
        );
        assert_eq!("s3://b/team/a/".parse(), Ok(StoreLocation::S3 { bucket: "b".into(), prefix: "team/a".into() }));
        assert_eq!("memory://".parse(), Ok(StoreLocation::Memory));
        assert!("s3://".parse::<StoreLocation>().is_err());
        assert!("gs://bucket".parse::<StoreLocation>().is_err());
        assert_eq!("s3://b/p".parse::<StoreLocation>().unwrap().to_string(), "s3://b/p");
    }
}
