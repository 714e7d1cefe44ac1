//! TLS both ways with a CA made in the test setup: a tap serving OTLP and
//! its control API over TLS (and requiring client certificates), a tap
//! forwarding to it over https for HTTP and gRPC, and a replay into it.

use std::time::Duration;

use otlp_capture_guest::codec::OtlpRequest;
use reqwest::StatusCode;

use crate::support::generate;
use crate::support::processes::{TapProcess, run_cli};
use crate::support::tls::TestPki;
use crate::support::wait;

fn https(tap: &TapProcess) -> String {
    tap.base.replacen("http://", "https://", 1)
}

fn grpcs(tap: &TapProcess) -> String {
    tap.grpc.replacen("http://", "https://", 1)
}

/// A client trusting only the test CA, presenting its client certificate when asked to.
fn tls_client(pki: &TestPki, with_client_certificate: bool) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(&std::fs::read(pki.file("ca.pem")).unwrap()).unwrap();
    let mut client = reqwest::Client::builder().tls_certs_only([ca]);
    if with_client_certificate {
        let pem = [std::fs::read(pki.file("client.pem")).unwrap(), std::fs::read(pki.file("client-key.pem")).unwrap()]
            .concat();
        client = client.identity(reqwest::Identity::from_pem(&pem).unwrap());
    }
    client.build().unwrap()
}

/// POSTs `body` over https with [`tls_client`]; the status, or the connection error.
fn post(url: &str, pki: &TestPki, with_client_certificate: bool, body: Vec<u8>) -> Result<u16, String> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let request = tls_client(pki, with_client_certificate).post(url);
        let answer = request.header("content-type", "application/x-protobuf").body(body).send().await;
        answer.map(|a| a.status().as_u16()).map_err(|e| format!("{e:?}"))
    })
}

/// POSTs protobuf spans to a tap's plain-HTTP receiver; the status.
fn post_plain(tap: &TapProcess, spans: &[u8]) -> StatusCode {
    reqwest::blocking::Client::new()
        .post(format!("{}/v1/traces", tap.base))
        .header("content-type", "application/x-protobuf")
        .body(spans.to_vec())
        .send()
        .unwrap()
        .status()
}

fn items(url: &str, pki: &TestPki) -> u64 {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let text = runtime.block_on(async {
        let answer = tls_client(pki, true).get(format!("{url}/metrics")).send().await.unwrap();
        answer.text().await.unwrap()
    });
    let line = text.lines().find(|l| l.starts_with("otlp_capture_items_total{signal=\"traces\"}")).unwrap();
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn tls_in_and_out_with_client_certificates() {
    let pki = TestPki::new();
    let spans = OtlpRequest::Traces(generate::traces("checkout", 1, 3, 1_700_000_000_000_000_000)).encode_protobuf();
    let secure_dir = tempfile::tempdir().unwrap();
    let secure = TapProcess::start_with(
        secure_dir.path().to_str().unwrap(),
        &[],
        &[
            "--tls-cert",
            &pki.file("server.pem"),
            "--tls-key",
            &pki.file("server-key.pem"),
            "--tls-client-ca",
            &pki.file("ca.pem"),
        ],
    );
    let secure_traces = format!("{}/v1/traces", https(&secure));
    assert_eq!(post(&secure_traces, &pki, true, spans.clone()), Ok(200));
    assert!(post(&secure_traces, &pki, false, spans.clone()).is_err(), "no client certificate, no connection");
    let plain = std::panic::catch_unwind(|| post_plain(&secure, &spans));
    assert!(plain.is_err() || plain.unwrap() != StatusCode::OK, "plain HTTP is not served");
    assert_eq!(items(&https(&secure), &pki), 3);

    // A tap forwarding over https, HTTP and gRPC, with the CA and a client certificate from the SDK's variables.
    let tls_env = vec![
        ("OTEL_EXPORTER_OTLP_CERTIFICATE".to_owned(), pki.file("ca.pem")),
        ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE".to_owned(), pki.file("client.pem")),
        ("OTEL_EXPORTER_OTLP_CLIENT_KEY".to_owned(), pki.file("client-key.pem")),
    ];
    for (upstream, protocol, expected) in [(https(&secure), "http", 6), (grpcs(&secure), "grpc", 9)] {
        let dir = tempfile::tempdir().unwrap();
        let forwarder = TapProcess::start_with(
            dir.path().to_str().unwrap(),
            &tls_env,
            &["--forward", &upstream, "--forward-protocol", protocol],
        );
        assert_eq!(post_plain(&forwarder, &spans), StatusCode::OK, "forwarded over {protocol} with TLS");
        wait::until_true("the secure tap counting the forwarded spans", Duration::from_secs(10), || {
            items(&https(&secure), &pki) == expected
        });
    }

    // Without the client certificate the upstream refuses the connection: 503, retry later.
    let dir = tempfile::tempdir().unwrap();
    let forwarder = TapProcess::start_with(
        dir.path().to_str().unwrap(),
        &[],
        &["--forward", &https(&secure), "--forward-ca-file", &pki.file("ca.pem")],
    );
    assert_eq!(post_plain(&forwarder, &spans), StatusCode::SERVICE_UNAVAILABLE);
}

#[test]
fn replay_reaches_an_https_endpoint_over_http_and_grpc() {
    let pki = TestPki::new();
    let store = tempfile::tempdir().unwrap();
    let objects = (0..3).map(|n| {
        (1_700_000_000_000 + n * 10, OtlpRequest::Traces(generate::traces("svc", 1, 2, 1_700_000_000_000_000_000 + n)))
    });
    crate::support::stored_sessions::write_session(store.path(), "s", objects);
    let target_dir = tempfile::tempdir().unwrap();
    let target = TapProcess::start_with(
        target_dir.path().to_str().unwrap(),
        &[],
        &["--tls-cert", &pki.file("server.pem"), "--tls-key", &pki.file("server-key.pem")],
    );
    let store = store.path().to_str().unwrap();
    for (endpoint, protocol) in [(https(&target), "http"), (grpcs(&target), "grpc")] {
        let replayed = run_cli(
            &["replay", "s", "--store", store, "--endpoint", &endpoint, "--protocol", protocol, "--speed", "max"],
            &[("OTEL_EXPORTER_OTLP_CERTIFICATE".into(), pki.file("ca.pem"))],
        );
        assert!(replayed.status.success(), "{protocol}: {}", String::from_utf8_lossy(&replayed.stderr));
        let with_flag = run_cli(
            &[
                "replay",
                "s",
                "--store",
                store,
                "--endpoint",
                &endpoint,
                "--protocol",
                protocol,
                "--speed",
                "max",
                "--ca-file",
                &pki.file("ca.pem"),
            ],
            &[],
        );
        assert!(with_flag.status.success(), "{protocol}: {}", String::from_utf8_lossy(&with_flag.stderr));
    }
}

#[test]
fn the_session_commands_reach_a_tap_over_tls_with_a_control_token() {
    let pki = TestPki::new();
    let dir = tempfile::tempdir().unwrap();
    let tap = TapProcess::start_with(
        dir.path().to_str().unwrap(),
        &[("OTLP_CAPTURE_CONTROL_TOKEN".into(), "c0ntrol".into())],
        &["--tls-cert", &pki.file("server.pem"), "--tls-key", &pki.file("server-key.pem")],
    );
    let base = https(&tap);
    let start = |extra: &[&str]| {
        let mut args = vec!["session", "start", "tls-1", "--tap", base.as_str()];
        args.extend_from_slice(extra);
        args.iter().map(|a| a.to_string()).collect::<Vec<_>>()
    };
    let run = |args: Vec<String>| run_cli(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    let untrusted = run(start(&["--control-token", "c0ntrol"]));
    assert!(!untrusted.status.success(), "the test CA is no system root");
    let tokenless = run(start(&["--ca-file", &pki.file("ca.pem")]));
    assert!(
        String::from_utf8_lossy(&tokenless.stderr).contains("401"),
        "{}",
        String::from_utf8_lossy(&tokenless.stderr)
    );
    let started = run(start(&["--ca-file", &pki.file("ca.pem"), "--control-token", "c0ntrol"]));
    assert!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));
    let stop = [
        "session",
        "stop",
        "tls-1",
        "--tap",
        &https(&tap),
        "--ca-file",
        &pki.file("ca.pem"),
        "--control-token",
        "c0ntrol",
    ];
    let stopped = run_cli(&stop, &[]);
    assert!(stopped.status.success(), "{}", String::from_utf8_lossy(&stopped.stderr));
    assert!(String::from_utf8_lossy(&stopped.stdout).contains("completed"));
}
