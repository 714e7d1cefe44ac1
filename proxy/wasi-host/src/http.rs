//! One HTTP exchange through wasi:http: the request is sent whole and the
//! response read whole, bounded, since the adapters move objects and OTLP
//! requests, never streams.

use wasip2::http::outgoing_handler;
use wasip2::http::types::{ErrorCode, Fields, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme};
use wasip2::io::streams::{InputStream, OutputStream, StreamError};

/// The most bytes of a response body read (larger answers are an error).
pub const MAX_RESPONSE_BYTES: usize = 16 << 20;
/// wasi:io output streams take at most this much per write.
const WRITE_CHUNK: usize = 4096;

/// An absolute `http://` or `https://` URL, split the way wasi:http wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// `http` or `https`.
    pub https: bool,
    /// `host[:port]`.
    pub authority: String,
    /// The path, starting with `/` (empty paths become `/`), without a query.
    pub path: String,
}

impl Url {
    /// Parses an absolute URL; a query or fragment is refused (none of the
    /// settings takes one).
    pub fn parse(text: &str) -> Result<Url, String> {
        let (https, rest) = if let Some(rest) = text.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = text.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(format!("{text:?} is not an http:// or https:// URL"));
        };
        if rest.contains(['?', '#']) {
            return Err(format!("{text:?}: a query or fragment is not supported here"));
        }
        let (authority, path) = match rest.find('/') {
            Some(slash) => (&rest[..slash], rest[slash..].trim_end_matches('/')),
            None => (rest, ""),
        };
        if authority.is_empty() {
            return Err(format!("{text:?} has no host"));
        }
        Ok(Url { https, authority: authority.to_owned(), path: if path.is_empty() { "/".into() } else { path.into() } })
    }

    /// This URL with `suffix` (starting with `/`) appended to its path.
    pub fn join(&self, suffix: &str) -> Url {
        let base = self.path.trim_end_matches('/');
        Url { path: format!("{base}{suffix}"), ..self.clone() }
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Its headers, names lowercase.
    pub headers: Vec<(String, Vec<u8>)>,
    /// Its body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (lowercase), as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }
}

/// Sends one request and reads its response. `path_and_query` starts with
/// `/`. Errors are messages: the callers report them, they never retry here.
pub fn send(
    method: &str,
    url: &Url,
    path_and_query: &str,
    headers: &[(String, Vec<u8>)],
    body: &[u8],
) -> Result<Response, String> {
    let mut headers = headers.to_vec();
    if !body.is_empty() || matches!(method, "PUT" | "POST") {
        // Without it the body goes chunked, which S3 refuses (411).
        headers.retain(|(name, _)| !name.eq_ignore_ascii_case("content-length"));
        headers.push(("content-length".to_owned(), body.len().to_string().into_bytes()));
    }
    let fields = Fields::from_list(&headers).map_err(|e| format!("request headers: {e:?}"))?;
    let request = OutgoingRequest::new(fields);
    let method = match method {
        "GET" => Method::Get,
        "PUT" => Method::Put,
        "POST" => Method::Post,
        "HEAD" => Method::Head,
        "DELETE" => Method::Delete,
        other => Method::Other(other.to_owned()),
    };
    let set = |ok: Result<(), ()>, what: &str| ok.map_err(|()| format!("the host refused the request's {what}"));
    set(request.set_method(&method), "method")?;
    set(request.set_scheme(Some(if url.https { &Scheme::Https } else { &Scheme::Http })), "scheme")?;
    set(request.set_authority(Some(&url.authority)), "authority")?;
    set(request.set_path_with_query(Some(path_and_query)), "path")?;
    let outgoing = request.body().map_err(|()| "the request body was already taken".to_owned())?;
    let options = RequestOptions::new();
    let pending = outgoing_handler::handle(request, Some(options)).map_err(describe)?;
    write_body(&outgoing, body)?;
    OutgoingBody::finish(outgoing, None).map_err(describe)?;
    pending.subscribe().block();
    let response = match pending.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => return Err(describe(code)),
        Some(Err(())) | None => return Err("the host lost the response".to_owned()),
    };
    let status = response.status();
    let headers = response.headers().entries();
    let incoming = response.consume().map_err(|()| "the response body was already taken".to_owned())?;
    let stream = incoming.stream().map_err(|()| "the response body stream was already taken".to_owned())?;
    let body = read_to_end(&stream, MAX_RESPONSE_BYTES).map_err(|e| match e {
        BodyError::TooLarge => format!("the response body is over {MAX_RESPONSE_BYTES} bytes"),
        BodyError::Failed(message) => format!("reading the response: {message}"),
    })?;
    drop(stream);
    Ok(Response { status, headers, body })
}

fn write_body(outgoing: &OutgoingBody, body: &[u8]) -> Result<(), String> {
    let stream = outgoing.write().map_err(|()| "the request body stream was already taken".to_owned())?;
    write_all(&stream, body).map_err(|e| format!("writing the request: {e}"))
}

/// Why a body could not be read whole.
#[derive(Debug)]
pub enum BodyError {
    /// It is longer than the limit.
    TooLarge,
    /// The stream failed, with its message.
    Failed(String),
}

/// Reads a wasi:io stream to its end, at most `limit` bytes.
pub fn read_to_end(stream: &InputStream, limit: usize) -> Result<Vec<u8>, BodyError> {
    let mut out = Vec::new();
    loop {
        match stream.blocking_read(64 << 10) {
            Ok(chunk) => {
                out.extend_from_slice(&chunk);
                if out.len() > limit {
                    return Err(BodyError::TooLarge);
                }
            }
            Err(StreamError::Closed) => return Ok(out),
            Err(StreamError::LastOperationFailed(e)) => return Err(BodyError::Failed(e.to_debug_string())),
        }
    }
}

/// Writes `body` to a wasi:io stream, in the chunks a write takes.
pub fn write_all(stream: &OutputStream, body: &[u8]) -> Result<(), String> {
    for chunk in body.chunks(WRITE_CHUNK) {
        stream.blocking_write_and_flush(chunk).map_err(|e| match e {
            StreamError::Closed => "the peer closed the stream".to_owned(),
            StreamError::LastOperationFailed(e) => e.to_debug_string(),
        })?;
    }
    Ok(())
}

fn describe(code: ErrorCode) -> String {
    match code {
        ErrorCode::ConnectionRefused => "connection refused".to_owned(),
        ErrorCode::ConnectionTimeout => "connection timed out".to_owned(),
        ErrorCode::DnsError(e) => format!("DNS lookup failed: {e:?}"),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::Url;

    #[test]
    fn urls_split_into_scheme_authority_and_path() {
        let url = Url::parse("http://127.0.0.1:9000/").unwrap();
        assert_eq!((url.https, url.authority.as_str(), url.path.as_str()), (false, "127.0.0.1:9000", "/"));
        assert_eq!(Url::parse("https://s3.example/base/").unwrap().join("/v1/traces").path, "/base/v1/traces");
        assert!(Url::parse("ftp://x").is_err());
        assert!(Url::parse("http://x/?q=1").is_err());
        assert!(Url::parse("http:///path").is_err());
    }
}
