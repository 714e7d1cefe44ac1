//! The session store as an S3 bucket (AWS, MinIO, s3s and the like), path
//! style, reached through wasi:http and configured like the bundled host:
//!
//! - `OTLP_CAPTURE_STORE`: `s3://bucket` or `s3://bucket/prefix`
//! - `AWS_ENDPOINT_URL`: the endpoint (default `https://s3.{region}.amazonaws.com`)
//! - `AWS_REGION` (or `AWS_DEFAULT_REGION`; default `us-east-1`)
//! - `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`

use otlp_capture_proxy_wasi_host::http::{self, Url};
use otlp_capture_proxy_wasi_host::setting;

use crate::sigv4::{self, Credentials};

/// Where and how to reach the bucket.
#[derive(Debug, Clone)]
pub struct Bucket {
    endpoint: Url,
    bucket: String,
    prefix: String,
    region: String,
    credentials: Credentials,
}

/// Why an S3 request did not succeed.
#[derive(Debug)]
pub enum S3Error {
    /// 412: a condition did not hold.
    PreconditionFailed,
    /// 503 SlowDown and the like: retry later.
    Throttled(String),
    /// Anything else, with the store's answer.
    Failed(String),
}

impl Bucket {
    /// The bucket the environment names, or why it cannot be used.
    pub fn from_env() -> Result<Bucket, String> {
        let store = setting("OTLP_CAPTURE_STORE").ok_or("OTLP_CAPTURE_STORE is not set (s3://bucket[/prefix])")?;
        let rest = store.strip_prefix("s3://").ok_or_else(|| {
            format!("OTLP_CAPTURE_STORE={store:?}: the proxy records to S3 only (s3://bucket[/prefix])")
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(format!("OTLP_CAPTURE_STORE={store:?} names no bucket"));
        }
        let region = setting("AWS_REGION").or_else(|| setting("AWS_DEFAULT_REGION")).unwrap_or("us-east-1".into());
        let endpoint = setting("AWS_ENDPOINT_URL").unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com"));
        let credentials = Credentials {
            access_key_id: setting("AWS_ACCESS_KEY_ID").ok_or("AWS_ACCESS_KEY_ID is not set")?,
            secret_access_key: setting("AWS_SECRET_ACCESS_KEY").ok_or("AWS_SECRET_ACCESS_KEY is not set")?,
            session_token: setting("AWS_SESSION_TOKEN"),
        };
        let prefix = prefix.trim_matches('/');
        Ok(Bucket {
            endpoint: Url::parse(&endpoint)?,
            bucket: bucket.to_owned(),
            prefix: if prefix.is_empty() { String::new() } else { format!("{prefix}/") },
            region,
            credentials,
        })
    }

    /// PUTs an object; `condition` is an `if-match` or `if-none-match` header.
    pub fn put(
        &self,
        key: &str,
        body: &[u8],
        content_type: &str,
        condition: Option<(&str, &str)>,
    ) -> Result<(), S3Error> {
        let mut headers = vec![("content-type".to_owned(), content_type.to_owned())];
        if let Some((name, value)) = condition {
            headers.push((name.to_owned(), value.to_owned()));
        }
        self.request("PUT", key, body, headers).map(drop)
    }

    /// GETs an object with its ETag, or `None` for 404.
    pub fn get(&self, key: &str) -> Result<Option<(Vec<u8>, String)>, S3Error> {
        match self.request("GET", key, b"", Vec::new()) {
            Ok(response) => {
                let etag = response.header("etag").unwrap_or_default();
                Ok(Some((response.body, etag)))
            }
            Err(S3Error::Failed(message)) if message.starts_with("404") => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn request(
        &self,
        method: &str,
        key: &str,
        body: &[u8],
        headers: Vec<(String, String)>,
    ) -> Result<http::Response, S3Error> {
        let path = sigv4::encode_path(&format!(
            "{}/{}/{}{key}",
            self.endpoint.path.trim_end_matches('/'),
            self.bucket,
            self.prefix
        ));
        let now = wasip2::clocks::wall_clock::now().seconds;
        let request = sigv4::Request { method, host: &self.endpoint.authority, path: &path, body, headers: &headers };
        let signed = sigv4::sign(&request, &self.credentials, &self.region, now);
        let signed: Vec<(String, Vec<u8>)> = signed.into_iter().map(|(n, v)| (n, v.into_bytes())).collect();
        let response = http::send(method, &self.endpoint, &path, &signed, body)
            .map_err(|e| S3Error::Failed(format!("{method} {key}: {e}")))?;
        match response.status {
            200..=299 => Ok(response),
            // 409: a concurrent conditional write won (AWS's ConditionalRequestConflict).
            409 | 412 => Err(S3Error::PreconditionFailed),
            429 | 503 => Err(S3Error::Throttled(format!("{method} {key}: {}", response.status))),
            status => Err(S3Error::Failed(format!(
                "{status} from {method} {key}: {}",
                String::from_utf8_lossy(&response.body[..response.body.len().min(512)])
            ))),
        }
    }
}
