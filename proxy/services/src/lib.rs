//! The services adapter of the wasi:http proxy: it exports what the
//! processor component imports, served by what a wasi:http/proxy host
//! offers. `storage` puts objects into an S3 bucket over wasi:http with
//! SigV4 signing done here; `clock` is wasi:clocks' wall clock;
//! `randomness` is wasi:random; `pseudonyms` hashes with the key in
//! `OTLP_CAPTURE_REDACTION_KEY` (a wasi:http host has no files to read it
//! from). It also exports `object-store` (reads and conditional puts) for
//! the front adapter's metadata.json.
#![allow(unsafe_code)] // the bindings wit-bindgen generates

pub mod pseudonyms;
pub mod s3;
pub mod sigv4;

#[cfg(target_arch = "wasm32")]
mod bindings {
    wit_bindgen::generate!({
        world: "otlp:capture-proxy/services",
        path: ["../../wit", "../wit"],
        generate_all,
        pub_export_macro: true,
    });
}

#[cfg(target_arch = "wasm32")]
mod exports {
    use super::bindings::exports::otlp::capture::storage::StorageError;
    use super::bindings::exports::otlp::capture::{clock, pseudonyms, randomness, storage};
    use super::bindings::exports::otlp::capture_proxy::object_store::{self, StoreError, StoredObject};
    use super::s3::{Bucket, S3Error};

    struct Services;

    impl storage::Guest for Services {
        fn put(key: String, body: Vec<u8>, content_type: String) -> Result<(), StorageError> {
            let bucket = Bucket::from_env().map_err(StorageError::Backend)?;
            bucket.put(&key, &body, &content_type, None).map_err(|e| match e {
                S3Error::Throttled(message) => StorageError::Busy(message),
                S3Error::PreconditionFailed => StorageError::Backend(format!("{key}: precondition failed")),
                S3Error::Failed(message) => StorageError::Backend(message),
            })
        }
    }

    impl clock::Guest for Services {
        fn now_unix_nanos() -> u64 {
            let now = wasip2::clocks::wall_clock::now();
            (now.seconds.saturating_mul(1_000_000_000) + u64::from(now.nanoseconds)).max(1)
        }
    }

    impl randomness::Guest for Services {
        fn random_bytes(len: u32) -> Vec<u8> {
            wasip2::random::random::get_random_bytes(u64::from(len))
        }
    }

    impl pseudonyms::Guest for Services {
        fn hmac_sha256(text: Vec<u8>) -> Option<String> {
            let key = otlp_capture_proxy_wasi_host::setting("OTLP_CAPTURE_REDACTION_KEY")?;
            super::pseudonyms::hmac_sha256_hex(key.as_bytes(), &text)
        }
    }

    impl object_store::Guest for Services {
        fn get(key: String) -> Result<Option<StoredObject>, StoreError> {
            let bucket = Bucket::from_env().map_err(StoreError::Failed)?;
            match bucket.get(&key) {
                Ok(found) => Ok(found.map(|(body, etag)| StoredObject { body, etag })),
                Err(S3Error::PreconditionFailed) => Err(StoreError::Conflict),
                Err(S3Error::Throttled(message) | S3Error::Failed(message)) => Err(StoreError::Failed(message)),
            }
        }

        fn put_if(
            key: String,
            body: Vec<u8>,
            content_type: String,
            if_match: Option<String>,
        ) -> Result<(), StoreError> {
            let bucket = Bucket::from_env().map_err(StoreError::Failed)?;
            let condition = match &if_match {
                Some(etag) => ("if-match", etag.as_str()),
                None => ("if-none-match", "*"),
            };
            bucket.put(&key, &body, &content_type, Some(condition)).map_err(|e| match e {
                S3Error::PreconditionFailed => StoreError::Conflict,
                S3Error::Throttled(message) | S3Error::Failed(message) => StoreError::Failed(message),
            })
        }
    }

    super::bindings::export!(Services with_types_in super::bindings);
}
