//! OTLP conventions as the Collector keeps them, one test per point: every
//! request encoding it accepts, over HTTP and gRPC (the Python SDK's deflate
//! as users send it, raw requests for what no SDK here offers); gRPC framing
//! and methods; push-back that stays retryable across protocols (RetryInfo).

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use otlp_capture_guest::codec::OtlpRequest;
use otlp_capture_guest::records::{PayloadEncoding, Signal};
use reqwest::StatusCode;
use reqwest::blocking::Client;

use crate::support::generate;
use crate::support::grpc_raw::{self, frame};
use crate::support::otlp::stored_requests;
use crate::support::processes::{S3Server, TapProcess, run_cli_ok};
use crate::support::receiver::{Receiver, Refusal};

fn spans(requests: &[OtlpRequest]) -> usize {
    requests
        .iter()
        .map(|r| match r {
            OtlpRequest::Traces(t) => t.resource_spans.iter().flat_map(|x| &x.scope_spans).map(|x| x.spans.len()).sum(),
            _ => 0,
        })
        .sum()
}

/// A protobuf request of 4 traces of 3 spans.
fn traces_request() -> Vec<u8> {
    OtlpRequest::Traces(generate::traces("checkout", 4, 3, 1_700_000_000_000_000_000)).encode_protobuf()
}

/// `data` in each encoding the Collector accepts over HTTP, by its Content-Encoding.
fn encoded(data: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let gzip = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    };
    let zlib = {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    };
    let framed_snappy = {
        let mut e = snap::write::FrameEncoder::new(Vec::new());
        e.write_all(data).unwrap();
        e.into_inner().unwrap()
    };
    let lz4 = {
        let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    };
    vec![
        ("gzip", gzip),
        ("deflate", zlib.clone()),
        ("zlib", zlib),
        ("zstd", ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)),
        ("snappy", snap::raw::Encoder::new().compress_vec(data).unwrap()),
        ("x-snappy-framed", framed_snappy),
        ("lz4", lz4),
    ]
}

/// POSTs [`traces_request`] as protobuf to the tap at `base`; its status.
fn post_traces(base: &str) -> StatusCode {
    Client::new()
        .post(format!("{base}/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .body(traces_request())
        .send()
        .unwrap()
        .status()
}

fn recording_tap(store: &Path, session: &str, args: &[&str]) -> TapProcess {
    let tap = TapProcess::start_with(store.to_str().unwrap(), &[], args);
    run_cli_ok(&["session", "start", session, "--tap", &tap.base], &[]);
    tap
}

fn stop(tap: &TapProcess, session: &str) {
    run_cli_ok(&["session", "stop", session, "--tap", &tap.base], &[]);
}

#[test]
fn http_takes_every_encoding_the_collector_takes_and_400s_an_unknown_one() {
    let store = tempfile::tempdir().unwrap();
    let tap = recording_tap(store.path(), "encodings", &[]);
    let client = Client::new();
    let request = traces_request();
    let encodings = encoded(&request);
    for (name, body) in &encodings {
        let answer = client
            .post(format!("{}/v1/traces", tap.base))
            .header("content-type", "application/x-protobuf")
            .header("content-encoding", *name)
            .body(body.clone())
            .send()
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "{name}");
    }
    let unknown = client
        .post(format!("{}/v1/traces", tap.base))
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "br")
        .body(request.clone())
        .send()
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST, "an unknown encoding is a 400, as the Collector answers");
    let corrupt = client
        .post(format!("{}/v1/traces", tap.base))
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "zstd")
        .body(&b"not zstd at all"[..])
        .send()
        .unwrap();
    assert_eq!(corrupt.status(), StatusCode::BAD_REQUEST);
    let metrics = client.get(format!("{}/metrics", tap.base)).send().unwrap().text().unwrap();
    for series in [
        "otlp_capture_request_duration_seconds_bucket{protocol=\"http\",signal=\"traces\",le=\"0.005\"}",
        "otlp_capture_request_size_bytes_count{signal=\"traces\"} 9",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
    ] {
        assert!(metrics.contains(series), "{series} missing from /metrics:\n{metrics}");
    }
    stop(&tap, "encodings");
    assert_eq!(spans(&stored_requests(store.path(), "encodings")), 12 * encodings.len());
}

#[test]
fn forwarding_passes_encoded_bodies_through_and_records_them() {
    let upstream = Receiver::start(0);
    let store = tempfile::tempdir().unwrap();
    let tap = recording_tap(store.path(), "forwarded", &["--forward", &upstream.base, "--forward-protocol", "http"]);
    let request = traces_request();
    let (name, zstd) = encoded(&request).into_iter().find(|(n, _)| *n == "zstd").unwrap();
    let answer = Client::new()
        .post(format!("{}/v1/traces", tap.base))
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", name)
        .body(zstd.clone())
        .send()
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let received = upstream.accepted();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].body, zstd, "the upstream gets the body as the client sent it");
    assert_eq!(received[0].headers["content-encoding"], "zstd");
    crate::support::wait::until_true("the forwarded request recorded", Duration::from_secs(30), || {
        let metadata = std::fs::read(store.path().join("sessions/forwarded/metadata.json")).unwrap_or_default();
        serde_json::from_slice::<serde_json::Value>(&metadata).is_ok_and(|m| m["spanCount"] == 12)
    });
    stop(&tap, "forwarded");
    assert_eq!(spans(&stored_requests(store.path(), "forwarded")), 12);
}

#[test]
fn grpc_takes_gzip_zstd_snappy_and_deflate_and_keeps_to_unary_framing() {
    let store = tempfile::tempdir().unwrap();
    let tap = recording_tap(store.path(), "grpc-encodings", &[]);
    let address = tap.grpc.trim_start_matches("http://").to_owned();
    let path = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    let request = traces_request();
    let call = |encoding: &str, body: Vec<u8>| {
        let mut headers = vec![("content-type", "application/grpc")];
        if !encoding.is_empty() {
            headers.push(("grpc-encoding", encoding));
        }
        grpc_raw::call(&address, path, &headers, body)
    };
    let encodings = encoded(&request);
    let body_of = |name: &str| encodings.iter().find(|(n, _)| *n == name).unwrap().1.clone();
    for (encoding, compressed) in [
        ("gzip", body_of("gzip")),
        ("zstd", body_of("zstd")),
        ("snappy", body_of("snappy")),
        ("deflate", body_of("deflate")),
    ] {
        let answer = call(encoding, frame(&compressed, true));
        assert_eq!(answer.grpc_status(), Some(0), "{encoding}: {:?}", answer.headers);
    }
    assert_eq!(call("", frame(&request, false)).grpc_status(), Some(0), "identity");

    let lz4 = call("lz4", frame(&body_of("lz4"), true));
    assert_eq!(lz4.grpc_status(), Some(12), "an encoding gRPC does not define here: UNIMPLEMENTED");
    assert!(lz4.headers["grpc-accept-encoding"].to_str().unwrap().contains("zstd"));
    let mut two = frame(&request, false);
    two.extend(frame(&request, false));
    assert_eq!(call("", two).grpc_status(), Some(13), "a unary call with two messages is refused (INTERNAL)");
    let plain = grpc_raw::call(&address, path, &[("content-type", "text/plain")], frame(&request, false));
    assert_eq!(plain.status.as_u16(), 415, "a content type that is not gRPC");
    let unknown = grpc_raw::call(
        &address,
        "/no.such.Service/Export",
        &[("content-type", "application/grpc")],
        frame(&request, false),
    );
    assert_eq!((unknown.status.as_u16(), unknown.grpc_status()), (200, Some(12)), "an unknown method: UNIMPLEMENTED");
    stop(&tap, "grpc-encodings");
    assert_eq!(spans(&stored_requests(store.path(), "grpc-encodings")), 12 * 5);
}

/// Runs the Python SDK's span exporter; fails the test when Python or the SDK is missing.
fn python_sdk(endpoint: &str, protocol: &str, compression: &str, spans: u32) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/python/emit_spans.py");
    let output = std::process::Command::new("python3")
        .arg(script)
        .args(["--endpoint", endpoint, "--protocol", protocol, "--compression", compression])
        .args(["--spans", &spans.to_string()])
        .output()
        .expect("python3: `make test` installs the OpenTelemetry Python SDK");
    assert!(output.status.success(), "the Python SDK failed: {}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn the_python_sdks_deflate_arrives_over_http_and_grpc() {
    let store = tempfile::tempdir().unwrap();
    let tap = recording_tap(store.path(), "python-deflate", &[]);
    python_sdk(&tap.base, "http", "deflate", 300);
    python_sdk(&tap.grpc, "grpc", "deflate", 300);
    python_sdk(&tap.grpc, "grpc", "gzip", 100);
    stop(&tap, "python-deflate");
    assert_eq!(spans(&stored_requests(store.path(), "python-deflate")), 700, "no span lost to an encoding");
}

#[test]
fn an_http_upstreams_429_reaches_grpc_clients_with_retry_info() {
    // The upstream pushes back once with Retry-After given as an HTTP date, then takes everything.
    let in_two_seconds = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(3));
    let refusal =
        Refusal { http: StatusCode::TOO_MANY_REQUESTS, retry_after: Some(in_two_seconds), ..Refusal::default() };
    let upstream = Receiver::refusing(1, refusal);
    let store = tempfile::tempdir().unwrap();
    let tap = recording_tap(store.path(), "push-back", &["--forward", &upstream.base, "--forward-protocol", "http"]);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let status = runtime.block_on(async {
        let channel = tonic::transport::Endpoint::from_shared(tap.grpc.clone()).unwrap().connect().await.unwrap();
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready().await.unwrap();
        let path = tonic::codegen::http::uri::PathAndQuery::from_static(
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        );
        let request = tonic::Request::new(bytes::Bytes::from(traces_request()));
        grpc.unary(request, path, otlp_capture::otlp::grpc::RawCodec).await.unwrap_err()
    });
    use tonic_types::StatusExt;
    assert_eq!(status.code(), tonic::Code::ResourceExhausted);
    let delay = status.get_details_retry_info().and_then(|i| i.retry_delay).expect("RetryInfo makes it retryable");
    assert!(delay >= Duration::from_secs(1) && delay <= Duration::from_secs(3), "the upstream's wait: {delay:?}");
    stop(&tap, "push-back");
}

#[test]
fn replay_retries_resource_exhausted_only_with_retry_info() {
    let store = tempfile::tempdir().unwrap();
    crate::support::stored_sessions::write_session(
        store.path(),
        "pushed",
        [(1_700_000_000_000, OtlpRequest::Traces(generate::traces("svc", 2, 2, 1_700_000_000_000_000_000)))],
    );
    let store_arg = store.path().to_str().unwrap();
    let with_info = Refusal {
        grpc: tonic::Code::ResourceExhausted,
        retry_info: Some(Duration::from_millis(200)),
        ..Refusal::default()
    };
    let receiver = Receiver::refusing(2, with_info);
    let args = ["replay", "pushed", "--store", store_arg, "--endpoint", &receiver.base, "--protocol", "grpc"];
    run_cli_ok(&args, &[]);
    assert_eq!((receiver.refused(), receiver.accepted().len()), (2, 1), "retried after the RetryInfo delay");

    let without = Refusal { grpc: tonic::Code::ResourceExhausted, ..Refusal::default() };
    let receiver = Receiver::refusing(1, without);
    let args = ["replay", "pushed", "--store", store_arg, "--endpoint", &receiver.base, "--protocol", "grpc"];
    let output = crate::support::processes::run_cli(&args, &[]);
    assert!(!output.status.success(), "RESOURCE_EXHAUSTED without RetryInfo is not retried");
    assert_eq!((receiver.refused(), receiver.accepted().len()), (1, 0));
}

#[test]
fn otlp_json_in_either_spelling_of_the_protobuf_mapping() {
    let store = tempfile::tempdir().unwrap();
    let tap = recording_tap(store.path(), "json-spellings", &[]);
    let camel = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c",
        "spanId":"eee19b7ec3c1b174","name":"camel","kind":2,"startTimeUnixNano":"1544712660000000000",
        "endTimeUnixNano":"1544712661000000000","status":{"code":2}}]}]}]}"#;
    let snake = r#"{"resource_spans":[{"scope_spans":[{"spans":[{"trace_id":"5b8efff798038103d269b633813fc60d",
        "span_id":"eee19b7ec3c1b175","name":"snake","kind":"SPAN_KIND_SERVER","start_time_unix_nano":"1544712660000000000",
        "end_time_unix_nano":"1544712661000000000","status":{"code":"STATUS_CODE_ERROR"}}]}]}]}"#;
    for body in [camel, snake] {
        let answer = Client::new()
            .post(format!("{}/v1/traces", tap.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "{body}");
    }
    stop(&tap, "json-spellings");
    let stored: Vec<_> = stored_requests(store.path(), "json-spellings")
        .into_iter()
        .flat_map(|r| match r {
            OtlpRequest::Traces(t) => {
                t.resource_spans.into_iter().flat_map(|x| x.scope_spans).flat_map(|x| x.spans).collect()
            }
            _ => vec![],
        })
        .collect();
    assert_eq!(stored.len(), 2);
    for span in stored {
        assert_eq!(span.start_time_unix_nano, 1_544_712_660_000_000_000, "{} keeps its times", span.name);
        assert_eq!((span.kind, span.status.unwrap().code), (2, 2), "{} keeps its enums", span.name);
    }
}

#[test]
fn replay_follows_the_otlp_exporter_environment_and_gzips_by_default() {
    let store = tempfile::tempdir().unwrap();
    crate::support::stored_sessions::write_session(
        store.path(),
        "env",
        [(1_700_000_000_000, OtlpRequest::Traces(generate::traces("svc", 2, 2, 1_700_000_000_000_000_000)))],
    );
    let store_arg = store.path().to_str().unwrap();
    let receiver = Receiver::start(0);
    let env: Vec<(String, String)> = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.base.as_str()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=team%20a"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "5000"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "none"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    run_cli_ok(&["replay", "env", "--store", store_arg, "--speed", "max"], &env);
    let sent = &receiver.accepted()[0];
    assert_eq!(sent.headers["x-tenant"], "team a");
    assert!(sent.headers.get("content-encoding").is_none(), "OTEL_EXPORTER_OTLP_COMPRESSION=none");
    assert!(sent.headers["user-agent"].to_str().unwrap().starts_with("otlp-capture/"));

    let gzipped = Receiver::start(0);
    let args = ["replay", "env", "--store", store_arg, "--endpoint", &gzipped.base, "--timeout", "5s"];
    run_cli_ok(&args, &[]);
    let sent = &gzipped.accepted()[0];
    assert_eq!(sent.headers["content-encoding"], "gzip", "gzip by default, as the Collector's exporter");
    assert_eq!(spans(&[OtlpRequest::decode(Signal::Traces, PayloadEncoding::Protobuf, &sent.message()).unwrap()]), 4);
    let grpc = Receiver::start(0);
    let args = ["replay", "env", "--store", store_arg, "--endpoint", &grpc.base, "--protocol", "grpc"];
    run_cli_ok(&args, &[]);
    assert_eq!(grpc.accepted()[0].headers["grpc-encoding"], "gzip");
    let missing = crate::support::processes::run_cli(&["replay", "env", "--store", store_arg], &[]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("OTEL_EXPORTER_OTLP_ENDPOINT"));
}

#[test]
fn health_names_what_is_down_and_a_flood_of_refusals_is_a_few_log_lines() {
    let store = tempfile::tempdir().unwrap();
    // Nothing listens on port 9 of loopback: the upstream is unreachable.
    let tap = TapProcess::start_with(store.path().to_str().unwrap(), &[], &["--forward", "http://127.0.0.1:9"]);
    let client = Client::new();
    for _ in 0..40 {
        assert_eq!(post_traces(&tap.base), StatusCode::SERVICE_UNAVAILABLE);
    }
    let health = client.get(format!("{}/health", tap.base)).send().unwrap();
    assert_eq!(health.status(), StatusCode::OK, "liveness: the process serves");
    let health: serde_json::Value = health.json().unwrap();
    assert_eq!((health["status"].as_str(), health["upstream"].as_str()), (Some("degraded"), Some("unreachable")));
    let ready = client.get(format!("{}/ready", tap.base)).send().unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let log = tap.log();
    let lines = log.iter().filter(|l| l.contains("upstream unreachable")).count();
    assert!((1..=2).contains(&lines), "40 refusals, {lines} log lines:\n{}", log.join("\n"));
    assert!(log.iter().all(|l| !l.contains('\u{1b}')), "no colour codes in a log that is not a terminal");
}

#[test]
fn log_lines_are_json_objects_with_log_format_json() {
    let store = tempfile::tempdir().unwrap();
    let workdir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(crate::support::processes::binary())
        .current_dir(workdir.path())
        .args(["serve", "--log-format", "json", "--store", store.path().to_str().unwrap()])
        .args(["--http", "127.0.0.1:0", "--grpc", "off"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let first = std::io::BufRead::lines(std::io::BufReader::new(stderr)).next().unwrap().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let line: serde_json::Value = serde_json::from_str(&first).unwrap_or_else(|e| panic!("{e}: {first}"));
    assert_eq!(line["message"], "otlp-capture tap ready");
    assert_eq!(line["level"], "INFO");
    assert!(line["http"].as_str().unwrap().starts_with("127.0.0.1:"));
}

/// `s3`'s environment without its keys, and a shared config whose profile
/// `recorder` gets them: statically from a credentials file, or from a
/// `credential_process`.
fn profile_env(s3: &S3Server, dir: &Path, process: bool) -> Vec<(String, String)> {
    let env = s3.env();
    let value = |name: &str| env.iter().find(|(k, _)| k == name).unwrap().1.clone();
    let (key, secret) = (value("AWS_ACCESS_KEY_ID"), value("AWS_SECRET_ACCESS_KEY"));
    let config = dir.join("config");
    let credentials = dir.join("credentials");
    if process {
        let script = dir.join("credentials.sh");
        let json = format!(r#"{{"Version": 1, "AccessKeyId": "{key}", "SecretAccessKey": "{secret}"}}"#);
        std::fs::write(&script, format!("#!/bin/sh\necho '{json}'\n")).unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        std::fs::write(&config, format!("[profile recorder]\ncredential_process = {}\n", script.display())).unwrap();
        std::fs::write(&credentials, "").unwrap();
    } else {
        std::fs::write(&config, "[profile recorder]\nregion = us-east-1\n").unwrap();
        std::fs::write(
            &credentials,
            format!("[recorder]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"),
        )
        .unwrap();
    }
    let mut env: Vec<(String, String)> =
        env.into_iter().filter(|(k, _)| !k.starts_with("AWS_ACCESS_KEY") && !k.starts_with("AWS_SECRET")).collect();
    env.extend([
        ("AWS_PROFILE".to_owned(), "recorder".to_owned()),
        ("AWS_CONFIG_FILE".to_owned(), config.display().to_string()),
        ("AWS_SHARED_CREDENTIALS_FILE".to_owned(), credentials.display().to_string()),
        ("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned()),
    ]);
    env
}

#[test]
fn s3_credentials_come_from_a_profile_or_a_credential_process() {
    for process in [false, true] {
        let s3 = S3Server::start();
        let dir = tempfile::tempdir().unwrap();
        let env = profile_env(&s3, dir.path(), process);
        let tap = TapProcess::start("s3://otel-data", &env);
        run_cli_ok(&["session", "start", "profiled", "--tap", &tap.base], &[]);
        assert_eq!(post_traces(&tap.base), StatusCode::OK);
        run_cli_ok(&["session", "stop", "profiled", "--tap", &tap.base], &[]);
        let listed = run_cli_ok(&["session", "list", "--store", "s3://otel-data", "--json"], &env);
        assert!(listed.contains("\"spanCount\": 12"), "process={process}: {listed}");
    }
}

#[test]
fn a_tap_starts_while_s3_is_down_and_records_once_it_is_up() {
    let mut s3 = S3Server::start();
    let env = s3.env();
    s3.stop();
    // It exited after 2 s before; now it serves (a store it cannot read yet is retried at every refresh).
    let tap = TapProcess::start("s3://otel-data", &env);
    let health = Client::new().get(format!("{}/health", tap.base)).send().unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    s3.restart();
    run_cli_ok(&["session", "start", "late-store", "--tap", &tap.base], &[]);
    assert_eq!(post_traces(&tap.base), StatusCode::OK);
    run_cli_ok(&["session", "stop", "late-store", "--tap", &tap.base], &[]);
    let listed = run_cli_ok(&["session", "list", "--store", "s3://otel-data", "--json"], &env);
    assert!(listed.contains("\"spanCount\": 12") && listed.contains("completed"), "{listed}");
}

#[test]
fn replay_takes_per_signal_exporter_variables() {
    let store = tempfile::tempdir().unwrap();
    crate::support::stored_sessions::write_session(
        store.path(),
        "signals",
        [
            (1_700_000_000_000, OtlpRequest::Traces(generate::traces("svc", 2, 2, 1_700_000_000_000_000_000))),
            (1_700_000_000_001, OtlpRequest::Logs(generate::logs("svc", 3, 1, 1_700_000_000_000_000_000))),
        ],
    );
    let (shared, logs) = (Receiver::start(0), Receiver::start(0));
    let logs_url = format!("{}/custom/logs", logs.base);
    let env: Vec<(String, String)> = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", shared.base.as_str()),
        ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", logs_url.as_str()),
        ("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", "none"),
        ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-signal=traces"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let printed = run_cli_ok(&["replay", "signals", "--store", store.path().to_str().unwrap(), "--speed", "max"], &env);
    assert!(printed.contains("logs to"), "{printed}");
    let (to_shared, to_logs) = (shared.accepted(), logs.accepted());
    assert_eq!(to_shared.len(), 1);
    assert_eq!(
        (to_shared[0].path.as_str(), to_shared[0].headers["x-signal"].to_str().unwrap()),
        ("/v1/traces", "traces")
    );
    assert_eq!(to_logs.len(), 1);
    assert_eq!(to_logs[0].path, "/custom/logs", "a per-signal endpoint is the whole URL");
    assert!(to_logs[0].headers.get("content-encoding").is_none() && to_logs[0].headers.get("x-signal").is_none());
}
