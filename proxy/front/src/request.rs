//! What an incoming request asks for, decided from its method, path and
//! headers alone (plain Rust, tested natively).

use std::io::Read;

/// The largest request body taken, compressed or not (the bundled tap's
/// default limit).
pub const MAX_BODY_BYTES: usize = 16 << 20;

/// An OTLP signal, by its `/v1/...` path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// `/v1/traces`.
    Traces,
    /// `/v1/metrics`.
    Metrics,
    /// `/v1/logs`.
    Logs,
}

/// What the front does with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// An OTLP export of `signal`, JSON when `json`.
    Export {
        /// The signal of the path.
        signal: Signal,
        /// OTLP/JSON rather than protobuf.
        json: bool,
    },
    /// `POST /otlp-capture/stop`: complete the session.
    Stop,
    /// An answer without doing anything: status and message.
    Refuse(u16, String),
}

/// Routes a request by method, path (query ignored) and content type.
pub fn route(method: &str, path: &str, content_type: Option<&str>) -> Route {
    let path = path.split('?').next().unwrap_or_default();
    let signal = match path {
        "/v1/traces" => Signal::Traces,
        "/v1/metrics" => Signal::Metrics,
        "/v1/logs" => Signal::Logs,
        "/otlp-capture/stop" if method == "POST" => return Route::Stop,
        _ => return Route::Refuse(404, format!("{path}: not an OTLP/HTTP path (/v1/traces, /v1/metrics, /v1/logs)")),
    };
    if method != "POST" {
        return Route::Refuse(405, format!("{method} {path}: OTLP exports are POSTed"));
    }
    let media = content_type.unwrap_or_default().split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    match media.as_str() {
        "application/x-protobuf" | "application/protobuf" => Route::Export { signal, json: false },
        "application/json" => Route::Export { signal, json: true },
        other => Route::Refuse(415, format!("content type {other:?}: use application/x-protobuf or application/json")),
    }
}

/// The request body without its content encoding (gzip or identity), at
/// most [`MAX_BODY_BYTES`] either way.
pub fn decode_body(body: &[u8], content_encoding: Option<&str>) -> Result<Vec<u8>, (u16, String)> {
    match content_encoding.map(|e| e.trim().to_ascii_lowercase()).as_deref() {
        None | Some("" | "identity") => Ok(body.to_vec()),
        Some("gzip") => {
            let mut out = Vec::new();
            let limit = MAX_BODY_BYTES as u64 + 1;
            flate2::read::MultiGzDecoder::new(body)
                .take(limit)
                .read_to_end(&mut out)
                .map_err(|e| (400, format!("the gzip body does not decode: {e}")))?;
            if out.len() > MAX_BODY_BYTES {
                return Err((413, format!("the request inflates past {MAX_BODY_BYTES} bytes")));
            }
            Ok(out)
        }
        Some(other) => Err((415, format!("content encoding {other:?}: use gzip or none"))),
    }
}

/// The empty `Export*ServiceResponse` a receiver answers with, in the
/// request's encoding: full success.
pub fn empty_response(json: bool) -> (&'static str, &'static [u8]) {
    if json { ("application/json", b"{}") } else { ("application/x-protobuf", b"") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otlp_paths_and_media_types_route_to_exports() {
        assert_eq!(
            route("POST", "/v1/traces", Some("application/x-protobuf")),
            Route::Export { signal: Signal::Traces, json: false }
        );
        assert_eq!(
            route("POST", "/v1/logs?x=1", Some("application/json; charset=utf-8")),
            Route::Export { signal: Signal::Logs, json: true }
        );
        assert_eq!(route("POST", "/otlp-capture/stop", None), Route::Stop);
        assert!(matches!(route("GET", "/v1/metrics", None), Route::Refuse(405, _)));
        assert!(matches!(route("POST", "/v1/metrics", Some("text/plain")), Route::Refuse(415, _)));
        assert!(matches!(route("POST", "/v2/traces", None), Route::Refuse(404, _)));
    }

    #[test]
    fn gzip_bodies_inflate_and_unknown_encodings_are_refused() {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(b"payload").unwrap();
        let gz = encoder.finish().unwrap();
        assert_eq!(decode_body(&gz, Some("gzip")).unwrap(), b"payload");
        assert_eq!(decode_body(b"raw", None).unwrap(), b"raw");
        assert_eq!(decode_body(b"raw", Some("br")).unwrap_err().0, 415);
        assert_eq!(decode_body(b"not gzip", Some("gzip")).unwrap_err().0, 400);
    }
}
