//! The wasi:http/incoming-handler: reads the request, forwards it, records
//! it, answers.

use otlp_capture_proxy_wasi_host::http::{self, BodyError, Url};
use otlp_capture_proxy_wasi_host::setting;
use wasip2::http::types::{Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam};

use crate::bindings::otlp::capture::types::Signal as WitSignal;
use crate::request::{self, MAX_BODY_BYTES, Route, Signal};
use crate::session;

/// Headers that belong to one hop and are not forwarded.
const HOP_BY_HOP: &[&str] =
    &["host", "connection", "content-length", "transfer-encoding", "te", "upgrade", "keep-alive", "trailer"];

/// An answer: status, content type, body.
type Answer = (u16, String, Vec<u8>);

struct Front;

impl wasip2::exports::http::incoming_handler::Guest for Front {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let (status, content_type, body) = answer(&request);
        respond(out, status, &content_type, &body);
    }
}

wasip2::http::proxy::export!(Front);

fn text(status: u16, message: impl Into<String>) -> Answer {
    let mut message = message.into();
    message.push('\n');
    (status, "text/plain; charset=utf-8".into(), message.into_bytes())
}

fn answer(request: &IncomingRequest) -> Answer {
    let method = match request.method() {
        Method::Get => "GET".to_owned(),
        Method::Head => "HEAD".to_owned(),
        Method::Post => "POST".to_owned(),
        Method::Put => "PUT".to_owned(),
        Method::Delete => "DELETE".to_owned(),
        Method::Connect => "CONNECT".to_owned(),
        Method::Options => "OPTIONS".to_owned(),
        Method::Trace => "TRACE".to_owned(),
        Method::Patch => "PATCH".to_owned(),
        Method::Other(name) => name,
    };
    let path = request.path_with_query().unwrap_or_else(|| "/".into());
    let headers = request.headers().entries();
    let header = |name: &str| {
        headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    };
    let config = match session::config() {
        Ok(config) => config,
        Err(message) => return text(500, format!("the proxy is misconfigured: {message}")),
    };
    match request::route(&method, &path, header("content-type").as_deref()) {
        Route::Refuse(status, message) => text(status, message),
        Route::Stop => match config {
            None => text(404, "OTLP_CAPTURE_SESSION is not set: there is no session to stop"),
            Some(config) => match session::stop(&config) {
                Ok(metadata) => (200, "application/json".into(), metadata.into_bytes()),
                Err(message) => text(409, message),
            },
        },
        Route::Export { signal, json } => {
            let raw = match read_body(request) {
                Ok(raw) => raw,
                Err((status, message)) => return text(status, message),
            };
            let payload = match request::decode_body(&raw, header("content-encoding").as_deref()) {
                Ok(payload) => payload,
                Err((status, message)) => return text(status, message),
            };
            let forwarded = match setting("OTLP_CAPTURE_FORWARD") {
                Some(upstream) => match forward(&upstream, &path, &headers, &raw) {
                    Ok(answer) => Some(answer),
                    Err(message) => return text(502, format!("the upstream failed: {message}")),
                },
                None => None,
            };
            if let Some(config) = config
                && let Err((status, message)) = session::record(&config, wit(signal), json, &payload)
            {
                // Recording never fails traffic the upstream took.
                eprintln!("otlp-capture-proxy: not recorded ({status}): {message}");
                if forwarded.is_none() {
                    return text(status, message);
                }
            }
            forwarded.unwrap_or_else(|| {
                let (content_type, body) = request::empty_response(json);
                (200, content_type.into(), body.to_vec())
            })
        }
    }
}

fn wit(signal: Signal) -> WitSignal {
    match signal {
        Signal::Traces => WitSignal::Traces,
        Signal::Metrics => WitSignal::Metrics,
        Signal::Logs => WitSignal::Logs,
    }
}

/// Sends the request on as it came (body still encoded, the client's
/// headers but hop-by-hop ones) and returns the upstream's answer.
fn forward(upstream: &str, path: &str, headers: &[(String, Vec<u8>)], raw: &[u8]) -> Result<Answer, String> {
    let url = Url::parse(upstream)?;
    let target = url.join(path.split('?').next().unwrap_or_default());
    let headers: Vec<(String, Vec<u8>)> =
        headers.iter().filter(|(name, _)| !HOP_BY_HOP.contains(&name.to_ascii_lowercase().as_str())).cloned().collect();
    let response = http::send("POST", &target, &target.path, &headers, raw)?;
    let content_type = response.header("content-type").unwrap_or_else(|| "application/x-protobuf".into());
    Ok((response.status, content_type, response.body))
}

fn read_body(request: &IncomingRequest) -> Result<Vec<u8>, (u16, String)> {
    let gone = || (400, "the request body was already taken".to_owned());
    let body = request.consume().map_err(|()| gone())?;
    let stream = body.stream().map_err(|()| gone())?;
    http::read_to_end(&stream, MAX_BODY_BYTES).map_err(|e| match e {
        BodyError::TooLarge => (413, format!("the request body is over {MAX_BODY_BYTES} bytes")),
        BodyError::Failed(message) => (400, format!("reading the request: {message}")),
    })
}

fn respond(out: ResponseOutparam, status: u16, content_type: &str, body: &[u8]) {
    let headers = Fields::from_list(&[("content-type".to_owned(), content_type.as_bytes().to_vec())])
        .unwrap_or_else(|_| Fields::new());
    let response = OutgoingResponse::new(headers);
    let _ = response.set_status_code(status);
    let Ok(outgoing) = response.body() else { return };
    ResponseOutparam::set(out, Ok(response));
    if let Ok(stream) = outgoing.write() {
        // A client that went away gets nothing more; there is no one to tell.
        let _ = http::write_all(&stream, body);
    }
    let _ = OutgoingBody::finish(outgoing, None);
}
