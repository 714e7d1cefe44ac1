//! Which headers travel with an exported request: the client's own when the
//! tap forwards (its authorization, tenant and routing headers reach the
//! upstream), less the hop-by-hop ones and those the exporter sets itself,
//! plus the headers configured for the endpoint (`--forward-header`,
//! `--header`, `OTEL_EXPORTER_OTLP_HEADERS`), which win over the client's.

use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// The header a forwarding tap adds with its own id, so that a request that
/// comes back to it through other proxies is recognised as a loop.
pub const VIA_HEADER: &str = "x-otlp-capture-via";

/// Headers that describe one connection or one body encoding, never the
/// request's meaning: the exporter's own connection and body set them.
const NOT_FORWARDED: [HeaderName; 12] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::HOST,
    header::CONTENT_LENGTH,
    header::ACCEPT_ENCODING,
    header::USER_AGENT,
];

/// The client headers worth forwarding: all but the hop-by-hop ones, the
/// body's framing, gRPC's own (`grpc-*`, which the gRPC client sets), and
/// `authorization` when `keep_authorization` is false (the tap checked it
/// for itself and must not pass its own token on).
pub fn forwardable(client: &HeaderMap, keep_authorization: bool) -> HeaderMap {
    let mut kept = HeaderMap::with_capacity(client.len());
    for (name, value) in client {
        let dropped = NOT_FORWARDED.contains(name)
            || name.as_str().starts_with("grpc-")
            || (*name == header::AUTHORIZATION && !keep_authorization);
        if !dropped {
            kept.append(name.clone(), value.clone());
        }
    }
    kept
}

/// Sets every configured header on `headers`, replacing the client's value
/// of the same name.
pub fn apply(headers: &mut HeaderMap, configured: &HeaderMap) {
    for name in configured.keys() {
        headers.remove(name);
    }
    for (name, value) in configured {
        headers.append(name.clone(), value.clone());
    }
}

/// Parses headers written as `key=value` pairs separated by commas, values
/// percent-encoded: the format of `OTEL_EXPORTER_OTLP_HEADERS`.
pub fn parse_list(list: &str) -> Result<HeaderMap, String> {
    let mut headers = HeaderMap::new();
    for pair in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = parse_pair(pair)?;
        headers.append(name, value);
    }
    Ok(headers)
}

/// Parses one `key=value` header (the value percent-encoded, as in
/// `OTEL_EXPORTER_OTLP_HEADERS`); the message says what is wrong.
pub fn parse_pair(pair: &str) -> Result<(HeaderName, HeaderValue), String> {
    let (name, value) = pair.split_once('=').ok_or_else(|| format!("header {pair:?} is not KEY=VALUE"))?;
    let name = HeaderName::try_from(name.trim()).map_err(|_| format!("{:?} is not a header name", name.trim()))?;
    let decoded = percent_encoding::percent_decode_str(value.trim())
        .decode_utf8()
        .map_err(|_| format!("the value of header {name} is not UTF-8 once percent-decoded"))?;
    let value =
        HeaderValue::try_from(decoded.as_ref()).map_err(|_| format!("the value of header {name} is not valid"))?;
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (HeaderName::try_from(*k).unwrap(), HeaderValue::from_str(v).unwrap())).collect()
    }

    #[test]
    fn the_clients_meaningful_headers_are_forwarded() {
        let client = map(&[
            ("authorization", "Bearer t"),
            ("x-scope-orgid", "tenant1"),
            ("content-type", "application/x-protobuf"),
            ("content-encoding", "gzip"),
            ("host", "tap:4318"),
            ("content-length", "12"),
            ("connection", "keep-alive"),
            ("te", "trailers"),
            ("grpc-timeout", "10S"),
        ]);
        let kept = forwardable(&client, true);
        let names: Vec<&str> = kept.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["authorization", "x-scope-orgid", "content-type", "content-encoding"]);
        assert!(forwardable(&client, false).get("authorization").is_none(), "the tap's own token stays");
    }

    #[test]
    fn configured_headers_win_and_parse_like_the_sdk_variable() {
        let mut headers = map(&[("x-scope-orgid", "client"), ("x-other", "kept")]);
        let configured = parse_list("x-scope-orgid=tenant%201, api-key = abc ,").unwrap();
        apply(&mut headers, &configured);
        assert_eq!(headers["x-scope-orgid"], "tenant 1");
        assert_eq!(headers["api-key"], "abc");
        assert_eq!(headers["x-other"], "kept");
        assert!(parse_list("novalue").is_err());
        assert!(parse_list("bad name=1").is_err());
        assert!(parse_pair("k=%ff").is_err());
    }
}
