//! What the tap holds stays guarded: web pages on other sites (DNS
//! rebinding, cross-site requests) reach no control route, no UI file and no
//! replay stream; a spool serves one store; a bound on active sessions;
//! numbers out of range are refused with a reason; everything written is
//! private to the user; S3 writes carry server-side encryption; control
//! actions leave audit lines; the CLI talks to a tap without a local store.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use otlp_capture_guest::codec::OtlpRequest;
use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder};
use serde_json::{Value, json};

use crate::support::generate;
use crate::support::processes::{Launch, MotoServer, TapProcess, binary, run_cli};
use crate::support::receiver::Receiver;
use crate::support::wait;

/// Every route of the control API, the UI and the stream, with a body where
/// the route takes one.
fn guarded_routes() -> Vec<(&'static str, &'static str, Option<Value>)> {
    vec![
        ("GET", "/api/capture/sessions", None),
        ("POST", "/api/capture/sessions", Some(json!({"sessionId": "rebound"}))),
        ("GET", "/api/capture/sessions/s1", None),
        ("DELETE", "/api/capture/sessions/s1", None),
        ("POST", "/api/capture/sessions/s1/phases", Some(json!({"name": "anomaly"}))),
        ("GET", "/api/capture/sessions/s1/timeline", None),
        ("GET", "/api/replay", None),
        ("POST", "/api/replay", Some(json!({"sessionId": "s1", "endpoint": "http://127.0.0.1:9"}))),
        ("GET", "/api/replay/available", None),
        ("POST", "/api/replay/start", Some(json!({"sessionId": "s1"}))),
        ("GET", "/api/replay/status/replay-1", None),
        ("GET", "/api/replay/stream/s1/traces", None),
        ("DELETE", "/api/replay/replay-1", None),
        ("GET", "/ui", None),
        ("GET", "/ui/app.js", None),
    ]
}

fn request(client: &Client, base: &str, (method, path, body): &(&str, &str, Option<Value>)) -> RequestBuilder {
    let url = format!("{base}{path}");
    let builder = match *method {
        "GET" => client.get(url),
        "POST" => client.post(url),
        "DELETE" => client.delete(url),
        other => unreachable!("{other}"),
    };
    match body {
        Some(body) => builder.json(body),
        None => builder,
    }
}

fn one_request() -> Vec<u8> {
    OtlpRequest::Traces(generate::traces("checkout", 20, 4, 1_700_000_000_000_000_000)).encode_protobuf()
}

fn send_traces(client: &Client, base: &str) {
    let response = client
        .post(format!("{base}/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .body(one_request())
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

fn start_session(client: &Client, base: &str, id: &str) -> reqwest::blocking::Response {
    client.post(format!("{base}/api/capture/sessions")).json(&json!({"sessionId": id})).send().unwrap()
}

#[test]
fn pages_of_other_sites_reach_nothing_the_tap_holds() {
    let dir = tempfile::tempdir().unwrap();
    let tap = TapProcess::start(dir.path().to_str().unwrap(), &[]);
    let client = Client::new();
    assert_eq!(start_session(&client, &tap.base, "s1").status(), StatusCode::CREATED);
    send_traces(&client, &tap.base);
    let port = tap.base.rsplit(':').next().unwrap().to_owned();
    let rebound = format!("evil.example:{port}");
    let foreign_origin = format!("http://evil.example:{port}");
    for route in guarded_routes() {
        // A page on a name rebound to 127.0.0.1: its Host and Origin are its own.
        let answer = request(&client, &tap.base, &route)
            .header("host", &rebound)
            .header("origin", &foreign_origin)
            .send()
            .unwrap();
        assert_eq!(answer.status(), StatusCode::FORBIDDEN, "{route:?}");
        assert!(answer.headers().keys().all(|k| !k.as_str().starts_with("access-control-")), "{route:?}: no CORS");
        let reason: Value = answer.json().unwrap();
        assert!(reason["error"].as_str().is_some_and(|e| !e.contains('\n')), "{route:?}: {reason}");
        // The Host alone is enough to refuse without a control token.
        let host_only = request(&client, &tap.base, &route).header("host", &rebound).send().unwrap();
        assert_eq!(host_only.status(), StatusCode::FORBIDDEN, "{route:?}");
        let cross_site = request(&client, &tap.base, &route).header("sec-fetch-site", "cross-site").send().unwrap();
        assert_eq!(cross_site.status(), StatusCode::FORBIDDEN, "{route:?}");
    }
    // Nothing was changed by the refused requests.
    let listed: Value = client.get(format!("{}/api/capture/sessions", tap.base)).send().unwrap().json().unwrap();
    let ids: Vec<&str> =
        listed["sessions"].as_array().unwrap().iter().map(|s| s["sessionId"].as_str().unwrap()).collect();
    assert_eq!(ids, ["s1"]);
    assert_eq!(listed["sessions"][0]["status"], "active");
    // Loopback names and the tap's own origin are served; OTLP receivers are not affected.
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}"), format!("[::1]:{port}")] {
        let own = client
            .get(format!("{}/api/capture/sessions/s1", tap.base))
            .header("host", &host)
            .header("origin", format!("http://{host}"))
            .header("sec-fetch-site", "same-origin")
            .send()
            .unwrap();
        assert_eq!(own.status(), StatusCode::OK, "{host}");
    }
    let otlp = client
        .post(format!("{}/v1/traces", tap.base))
        .header("host", &rebound)
        .header("content-type", "application/x-protobuf")
        .body(one_request())
        .send()
        .unwrap();
    assert_eq!(otlp.status(), StatusCode::OK);
}

#[test]
fn allowed_host_names_and_a_control_token_keep_origin_checks() {
    let dir = tempfile::tempdir().unwrap();
    let named = TapProcess::start_with(dir.path().to_str().unwrap(), &[], &["--allowed-host", "tap.internal"]);
    let client = Client::new();
    let port = named.base.rsplit(':').next().unwrap().to_owned();
    let list = |tap: &TapProcess, host: &str, origin: Option<&str>, token: Option<&str>| {
        let mut builder = client.get(format!("{}/api/capture/sessions", tap.base)).header("host", host);
        if let Some(origin) = origin {
            builder = builder.header("origin", origin);
        }
        if let Some(token) = token {
            builder = builder.bearer_auth(token);
        }
        builder.send().unwrap().status()
    };
    assert_eq!(list(&named, &format!("tap.internal:{port}"), None, None), StatusCode::OK);
    assert_eq!(list(&named, &format!("other.internal:{port}"), None, None), StatusCode::FORBIDDEN);
    drop(named);

    let secret = "c0ntrol-t0ken-value";
    let token_dir = tempfile::tempdir().unwrap();
    let guarded = TapProcess::start_with(token_dir.path().to_str().unwrap(), &[], &["--control-token", secret]);
    let port = guarded.base.rsplit(':').next().unwrap().to_owned();
    let host = format!("tap.example.com:{port}");
    assert_eq!(list(&guarded, &host, None, Some(secret)), StatusCode::OK, "the token admits any name");
    assert_eq!(list(&guarded, &host, None, None), StatusCode::UNAUTHORIZED);
    let foreign = format!("http://evil.example:{port}");
    assert_eq!(list(&guarded, &host, Some(&foreign), Some(secret)), StatusCode::FORBIDDEN, "origin checked too");
    // Control actions leave an audit line with the credential, never the token.
    let started = client
        .post(format!("{}/api/capture/sessions", guarded.base))
        .bearer_auth(secret)
        .json(&json!({"sessionId": "audited"}))
        .send()
        .unwrap();
    assert_eq!(started.status(), StatusCode::CREATED);
    let stopped =
        client.delete(format!("{}/api/capture/sessions/audited", guarded.base)).bearer_auth(secret).send().unwrap();
    assert_eq!(stopped.status(), StatusCode::OK);
    let log = wait::until("the audit lines", Duration::from_secs(10), {
        let mut seen = Vec::new();
        move || {
            seen.extend(guarded.log());
            let audits = seen.iter().filter(|l| l.contains("control action")).count();
            (audits >= 2).then(|| seen.clone())
        }
    });
    let audits: Vec<&String> = log.iter().filter(|l| l.contains("control action")).collect();
    assert!(audits[0].contains("session.start") && audits[0].contains("audited"), "{audits:?}");
    assert!(audits.iter().all(|l| l.contains("control token") && l.contains("127.0.0.1")), "{audits:?}");
    assert!(audits[1].contains("session.stop"), "{audits:?}");
    assert!(log.iter().all(|l| !l.contains(secret)), "the token never reaches the log");
}

/// `otlp-capture ARGS` in `dir`, as a user runs it there.
fn cli_in(dir: &Path, args: &[&str], env: &[(String, String)]) -> std::process::Output {
    Command::new(binary())
        .current_dir(dir)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("OTLP_CAPTURE_LOG", "warn")
        .output()
        .unwrap()
}

fn session_ids(store: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(store.join("sessions")) else { return Vec::new() };
    let mut ids: Vec<String> = entries.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    ids.sort();
    ids
}

#[test]
fn taps_on_different_stores_share_a_directory_and_never_each_others_journal() {
    let work = tempfile::tempdir().unwrap();
    let stores = tempfile::tempdir().unwrap();
    let (store_a, store_b, store_c) = (stores.path().join("a"), stores.path().join("b"), stores.path().join("c"));
    let in_work = Launch { workdir: Some(work.path()), ..Launch::default() };
    let client = Client::new();
    // Two taps on two stores from one working directory, each with its default spool.
    let tap_a = TapProcess::launch(store_a.to_str().unwrap(), &[], &[], in_work);
    let tap_b = TapProcess::launch(store_b.to_str().unwrap(), &[], &[], in_work);
    assert_eq!(start_session(&client, &tap_a.base, "in-a").status(), StatusCode::CREATED);
    assert_eq!(start_session(&client, &tap_b.base, "in-b").status(), StatusCode::CREATED);
    for _ in 0..3 {
        send_traces(&client, &tap_a.base);
        send_traces(&client, &tap_b.base);
    }
    // A crash with the session active: what the tap acknowledged is in its journal.
    tap_a.kill();
    drop(tap_b);
    let tap_c = TapProcess::launch(store_c.to_str().unwrap(), &[], &[], in_work);
    let listed: Value = client.get(format!("{}/api/capture/sessions", tap_c.base)).send().unwrap().json().unwrap();
    assert_eq!(listed["sessions"], json!([]), "nothing of the other stores");
    assert_eq!(session_ids(&store_c), Vec::<String>::new());
    drop(tap_c);
    // The killed tap's store gets its session back when a tap on it starts again.
    let tap_a = TapProcess::launch(store_a.to_str().unwrap(), &[], &[], in_work);
    // The recovered requests are batched again and counted as their objects are made.
    let shown = wait::until("the journal's requests recorded again", Duration::from_secs(20), || {
        let shown: Value =
            client.get(format!("{}/api/capture/sessions/in-a", tap_a.base)).send().unwrap().json().unwrap();
        (shown["spanCount"] == 3 * 20 * 4).then_some(shown)
    });
    assert_eq!(shown["status"], "active", "{shown}");
    assert_eq!(session_ids(&store_a), ["in-a"]);
    assert_eq!(session_ids(&store_c), Vec::<String>::new());
    // A spool named for one store is refused to a tap on another, with both stores named.
    let spools: Vec<_> =
        std::fs::read_dir(work.path().join("otel-spool")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(spools.len(), 3, "one spool per store: {spools:?}");
    let spool_of_a = spools.iter().find(|p| std::fs::read_to_string(p.join("STORE")).unwrap().contains("/a")).unwrap();
    let refused = cli_in(
        work.path(),
        &[
            "serve",
            "--store",
            store_c.to_str().unwrap(),
            "--http",
            "127.0.0.1:0",
            "--grpc",
            "off",
            "--spool",
            spool_of_a.to_str().unwrap(),
        ],
        &[],
    );
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{message}");
    assert!(message.contains(store_a.to_str().unwrap()) && message.contains(store_c.to_str().unwrap()), "{message}");
}

#[test]
fn a_tap_records_into_a_bounded_number_of_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let tap = TapProcess::start_with(dir.path().to_str().unwrap(), &[], &["--max-active-sessions", "2"]);
    let client = Client::new();
    assert_eq!(start_session(&client, &tap.base, "one").status(), StatusCode::CREATED);
    assert_eq!(start_session(&client, &tap.base, "two").status(), StatusCode::CREATED);
    let third = start_session(&client, &tap.base, "three");
    assert_eq!(third.status(), StatusCode::CONFLICT);
    let reason: Value = third.json().unwrap();
    assert!(reason["error"].as_str().unwrap().contains("--max-active-sessions"), "{reason}");
    send_traces(&client, &tap.base);
    let stopped = client.delete(format!("{}/api/capture/sessions/one", tap.base)).send().unwrap();
    assert_eq!(stopped.status(), StatusCode::OK);
    assert_eq!(start_session(&client, &tap.base, "three").status(), StatusCode::CREATED);
}

#[test]
fn numbers_out_of_range_are_refused_with_a_reason_and_the_tap_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let tap = TapProcess::start(dir.path().to_str().unwrap(), &[]);
    let client = Client::new();
    assert_eq!(start_session(&client, &tap.base, "s1").status(), StatusCode::CREATED);
    send_traces(&client, &tap.base);
    let stopped = client.delete(format!("{}/api/capture/sessions/s1", tap.base)).send().unwrap();
    assert_eq!(stopped.status(), StatusCode::OK);
    let replay = |extra: Value| {
        let mut body = json!({"sessionId": "s1", "endpoint": "http://127.0.0.1:9"});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        client.post(format!("{}/api/replay", tap.base)).json(&body).send().unwrap()
    };
    let bad_bodies = [
        json!({"maxIdleSeconds": 1e300}),
        json!({"maxIdleSeconds": -1}),
        json!({"timeout": "1e300"}),
        json!({"timeout": 1e300}),
        json!({"timeout": "9999999999999999h"}),
        json!({"speed": 1e-300}),
        json!({"speed": "1e300"}),
        json!({"maxRetryTime": "99999999999d"}),
        json!({"concurrency": 1_000_000}),
    ];
    for extra in bad_bodies {
        let answer = replay(extra.clone());
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "{extra}");
        let reason: Value = answer.json().unwrap();
        let reason = reason["error"].as_str().unwrap_or_default().to_owned();
        assert!(!reason.is_empty() && !reason.contains('\n') && reason.len() < 300, "{extra}: {reason}");
    }
    let otel_ai = client
        .post(format!("{}/api/replay/start", tap.base))
        .json(&json!({"sessionId": "s1", "speedMultiplier": 1e-300}))
        .send()
        .unwrap();
    assert_eq!(otel_ai.status(), StatusCode::BAD_REQUEST);
    for body in [
        json!({"sessionId": "n1", "maxSizeMB": 1e300}),
        json!({"sessionId": "n2", "maxDurationMinutes": 1e300}),
        json!({"sessionId": "n3", "sampleRatio": 5}),
    ] {
        let answer = client.post(format!("{}/api/capture/sessions", tap.base)).json(&body).send().unwrap();
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "{body}");
    }
    let step = client.get(format!("{}/api/capture/sessions/s1/timeline?step=1e300s", tap.base)).send().unwrap();
    assert_eq!(step.status(), StatusCode::BAD_REQUEST);
    // A job whose run fails ends failed, with the reason.
    let started = replay(json!({"maxRetryTime": "1s", "speed": "max"}));
    assert_eq!(started.status(), StatusCode::ACCEPTED);
    let job: Value = started.json().unwrap();
    let id = job["id"].as_str().unwrap().to_owned();
    let ended = wait::until("the replay job's end", Duration::from_secs(30), || {
        let status: Value = client.get(format!("{}/api/replay/status/{id}", tap.base)).send().unwrap().json().unwrap();
        (status["state"] != "running").then_some(status)
    });
    assert_eq!(ended["state"], "failed", "{ended}");
    let health = client.get(format!("{}/health", tap.base)).send().unwrap();
    assert_eq!(health.status(), StatusCode::OK);

    // The command line: exit 2 and one line naming the value, never a backtrace.
    let store = dir.path().to_str().unwrap();
    for args in [
        vec!["replay", "s1", "--store", store, "--endpoint", "http://127.0.0.1:9", "--speed", "1e-300"],
        vec!["replay", "s1", "--store", store, "--endpoint", "http://127.0.0.1:9", "--max-idle", "1e300"],
        vec!["replay", "s1", "--store", store, "--endpoint", "http://127.0.0.1:9", "--timeout", "1e300"],
        vec!["replay", "s1", "--store", store, "--endpoint", "http://127.0.0.1:9", "--max-retry-time", "1e300"],
        vec!["session", "prune", "--store", store, "--older-than", "99999999999999999d"],
        vec!["session", "start", "n4", "--max-size-mib", "1e300", "--tap", &tap.base],
        vec!["serve", "--store", store, "--backlog-mib", "18446744073709551615"],
        vec!["serve", "--store", store, "--forward-timeout", "9999999h"],
        vec!["serve", "--store", store, "--max-active-sessions", "0"],
    ] {
        let output = run_cli(&args, &[("OTEL_EXPORTER_OTLP_TIMEOUT".into(), String::new())]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"), "{args:?}: {stderr}");
    }
    let env_timeout = run_cli(
        &["replay", "s1", "--store", store, "--endpoint", "http://127.0.0.1:9"],
        &[("OTEL_EXPORTER_OTLP_TIMEOUT".into(), "99999999999999999".into())],
    );
    assert_eq!(env_timeout.status.code(), Some(1), "{}", String::from_utf8_lossy(&env_timeout.stderr));
    assert!(String::from_utf8_lossy(&env_timeout.stderr).contains("out of range"));
}

/// Every file and folder under `root` with a mode other than 0600 / 0700.
fn not_private(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let mode = meta.permissions().mode() & 0o777;
            if meta.is_dir() {
                if mode != 0o700 {
                    found.push(format!("{} {mode:o}", path.display()));
                }
                pending.push(path);
            } else if mode != 0o600 {
                found.push(format!("{} {mode:o}", path.display()));
            }
        }
    }
    found
}

#[test]
fn everything_written_is_private_whatever_the_umask() {
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("otel-data");
    let launch = Launch { workdir: Some(work.path()), umask: Some("000") };
    let client = Client::new();
    let tap = TapProcess::launch("otel-data", &[], &[], launch);
    assert_eq!(start_session(&client, &tap.base, "private").status(), StatusCode::CREATED);
    for _ in 0..3 {
        send_traces(&client, &tap.base);
    }
    wait::until_true("an object in the store", Duration::from_secs(20), || {
        walk_files(&store).iter().any(|p| p.to_string_lossy().ends_with(".otlp.gz"))
    });
    assert_eq!(not_private(work.path()), Vec::<String>::new(), "after a capture");
    // A crash, and the recovery from the journal.
    tap.kill();
    let tap = TapProcess::launch("otel-data", &[], &[], launch);
    let stopped = client.delete(format!("{}/api/capture/sessions/private", tap.base)).send().unwrap();
    assert_eq!(stopped.status(), StatusCode::OK);
    drop(tap);
    assert_eq!(not_private(work.path()), Vec::<String>::new(), "after a crash recovery");
    // A replay (and the phase the CLI writes into the store) under the same mask.
    let receiver = Receiver::start(0);
    let replayed = Command::new("sh")
        .current_dir(work.path())
        .args(["-c", "umask 000 && exec \"$0\" \"$@\""])
        .arg(binary())
        .args(["replay", "private", "--endpoint", &receiver.base, "--speed", "max"])
        .output()
        .unwrap();
    assert!(replayed.status.success(), "{}", String::from_utf8_lossy(&replayed.stderr));
    let marked = Command::new("sh")
        .current_dir(work.path())
        .args(["-c", "umask 000 && exec \"$0\" \"$@\""])
        .arg(binary())
        .args(["session", "mark", "private", "recovery"])
        .output()
        .unwrap();
    assert!(marked.status.success(), "{}", String::from_utf8_lossy(&marked.stderr));
    assert_eq!(not_private(work.path()), Vec::<String>::new(), "after a replay and a mark");
}

fn walk_files(root: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_owned()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// Each live object moto holds under `prefix`: its key, and the server-side
/// encryption and KMS key it was written with (moto's own record of the
/// request's headers; anonymous reads of objects are refused).
fn stored_encryption(moto: &MotoServer, prefix: &str) -> Vec<(String, Value, Value)> {
    let data: Value =
        Client::new().get(format!("{}/moto-api/data.json", moto.endpoint)).send().unwrap().json().unwrap();
    let mut keys: Vec<(String, Value, Value)> = data["s3"]["FakeKey"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|key| key["disposed"] != true && key["name"].as_str().is_some_and(|n| n.starts_with(prefix)))
        .map(|key| (key["name"].as_str().unwrap().to_owned(), key["encryption"].clone(), key["kms_key_id"].clone()))
        .collect();
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    keys
}

#[test]
fn s3_writes_carry_server_side_encryption() {
    let moto = MotoServer::start();
    let env = moto.env();
    let tap = TapProcess::start_with("s3://otel-data", &env, &["--s3-sse", "AES256"]);
    let client = Client::new();
    assert_eq!(start_session(&client, &tap.base, "sealed").status(), StatusCode::CREATED);
    send_traces(&client, &tap.base);
    let stopped = client.delete(format!("{}/api/capture/sessions/sealed", tap.base)).send().unwrap();
    assert_eq!(stopped.status(), StatusCode::OK);
    drop(tap);
    let written = stored_encryption(&moto, "sessions/sealed/");
    let names: Vec<&str> = written.iter().map(|(name, _, _)| name.as_str()).collect();
    assert!(
        names.iter().any(|k| k.ends_with(".otlp.gz")) && names.contains(&"sessions/sealed/metadata.json"),
        "{names:?}"
    );
    for (name, encryption, _) in &written {
        assert_eq!(encryption, "AES256", "{name}");
    }
    // The command line's writes too, here with SSE-KMS under a named key.
    let marked = run_cli(
        &[
            "session",
            "mark",
            "sealed",
            "anomaly",
            "--store",
            "s3://otel-data",
            "--s3-sse",
            "aws:kms",
            "--s3-sse-kms-key-id",
            "test-key-1",
        ],
        &env,
    );
    assert!(marked.status.success(), "{}", String::from_utf8_lossy(&marked.stderr));
    let metadata = stored_encryption(&moto, "sessions/sealed/metadata.json");
    assert_eq!(metadata.len(), 1, "{metadata:?}");
    assert_eq!((&metadata[0].1, &metadata[0].2), (&json!("aws:kms"), &json!("test-key-1")));
    let wrong = run_cli(&["session", "list", "--store", "./nowhere", "--s3-sse", "AES256"], &[]);
    assert_eq!(wrong.status.code(), Some(2), "{}", String::from_utf8_lossy(&wrong.stderr));
}

#[test]
fn the_cli_reaches_a_tap_without_a_local_store() {
    let stores = tempfile::tempdir().unwrap();
    let tap = TapProcess::start(stores.path().join("otel-data").to_str().unwrap(), &[]);
    let client = Client::new();
    assert_eq!(start_session(&client, &tap.base, "remote").status(), StatusCode::CREATED);
    send_traces(&client, &tap.base);
    // A working directory with no store at all.
    let elsewhere = tempfile::tempdir().unwrap();
    let marked = cli_in(elsewhere.path(), &["session", "mark", "remote", "anomaly", "--tap", &tap.base], &[]);
    assert!(marked.status.success(), "{}", String::from_utf8_lossy(&marked.stderr));
    let shown = cli_in(elsewhere.path(), &["session", "show", "remote", "--tap", &tap.base], &[]);
    assert!(shown.status.success(), "{}", String::from_utf8_lossy(&shown.stderr));
    let metadata: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(metadata["phases"][0]["name"], "anomaly", "{metadata}");
    let stopped = cli_in(elsewhere.path(), &["session", "stop", "remote", "--tap", &tap.base], &[]);
    assert!(stopped.status.success(), "{}", String::from_utf8_lossy(&stopped.stderr));
    assert!(!elsewhere.path().join("otel-data").exists());

    // Replay with only a signal's own endpoint variable: that signal goes, the others are noted.
    let receiver = Receiver::start(0);
    let store = stores.path().join("otel-data");
    let traces_only = [("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT".to_owned(), format!("{}/v1/traces", receiver.base))];
    let replayed = cli_in(
        elsewhere.path(),
        &["replay", "remote", "--store", store.to_str().unwrap(), "--speed", "max"],
        &traces_only,
    );
    let stderr = String::from_utf8_lossy(&replayed.stderr);
    assert!(replayed.status.success(), "{stderr}");
    assert!(stderr.contains("no endpoint for metrics, logs"), "{stderr}");
    let paths: Vec<String> = receiver.accepted().into_iter().map(|r| r.path).collect();
    assert!(!paths.is_empty() && paths.iter().all(|p| p == "/v1/traces"), "{paths:?}");
    let asked = cli_in(
        elsewhere.path(),
        &["replay", "remote", "--store", store.to_str().unwrap(), "--signals", "traces,metrics"],
        &traces_only,
    );
    assert_eq!(asked.status.code(), Some(2), "{}", String::from_utf8_lossy(&asked.stderr));
}
