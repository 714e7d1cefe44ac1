//! Sessions as users of the otel-ai capture package know them: retention
//! (`session delete`, `session prune`, `DELETE ...?purge=true`), pickers
//! (`latest`, `largest`, `smallest` with filters), phases (`session mark`,
//! `replay --phase`, `inspect --phase`) and otel-ai's `/api/replay/...`
//! routes, on a local directory and on a real S3 server.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use otlp_capture_guest::codec::OtlpRequest;
use otlp_capture_guest::timestamps;
use reqwest::StatusCode;
use reqwest::blocking::Client;
use serde_json::{Value, json};

use crate::support::generate;
use crate::support::processes::{S3Server, TapProcess, run_cli, run_cli_ok};
use crate::support::receiver::Receiver;
use crate::support::sdk::emit;
use crate::support::stored_sessions::write_session;
use crate::support::wait;

const DAY_MILLIS: u64 = 86_400_000;

fn now_millis() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// A completed session of `objects` trace objects, captured a second apart from `start_millis`.
pub(crate) fn seed(dir: &Path, id: &str, start_millis: u64, objects: u64) {
    let requests = (0..objects).map(|n| {
        let at = start_millis + n * 1000;
        (at, OtlpRequest::Traces(generate::traces("checkout", 5, 3, at * 1_000_000)))
    });
    write_session(dir, id, requests);
}

/// Files below `dir`, at any depth (0 when it does not exist).
fn files_under(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries.map(|e| e.unwrap().path()).map(|path| if path.is_dir() { files_under(&path) } else { 1 }).sum()
}

/// A store the CLI reaches: a directory, or s3s-fs (whose bucket is a directory too).
pub(crate) struct Store {
    pub(crate) arg: String,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) dir: std::path::PathBuf,
    _keep: Keep,
}

enum Keep {
    Dir(#[allow(dead_code)] tempfile::TempDir),
    S3(#[allow(dead_code)] S3Server),
}

impl Store {
    pub(crate) fn directory() -> Store {
        let dir = tempfile::tempdir().unwrap();
        Store {
            arg: dir.path().to_str().unwrap().to_owned(),
            env: vec![],
            dir: dir.path().to_owned(),
            _keep: Keep::Dir(dir),
        }
    }

    pub(crate) fn s3() -> Store {
        let s3 = S3Server::start();
        Store { arg: "s3://otel-data".into(), env: s3.env(), dir: s3.bucket_dir(), _keep: Keep::S3(s3) }
    }

    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let mut all = args.to_vec();
        all.extend(["--store", &self.arg]);
        run_cli_ok(&all, &self.env)
    }

    fn fails(&self, args: &[&str]) -> String {
        let mut all = args.to_vec();
        all.extend(["--store", &self.arg]);
        let output = run_cli(&all, &self.env);
        assert!(!output.status.success(), "{args:?} should fail");
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    fn ids(&self) -> Vec<String> {
        let listed: Value = serde_json::from_str(&self.ok(&["session", "list", "--json"])).unwrap();
        listed["sessions"].as_array().unwrap().iter().map(|s| s["sessionId"].as_str().unwrap().to_owned()).collect()
    }
}

fn retention_on(store: &Store) {
    let now = now_millis();
    seed(&store.dir, "old-a", now - 400 * DAY_MILLIS, 2);
    seed(&store.dir, "old-b", now - 200 * DAY_MILLIS, 3);
    seed(&store.dir, "new-c", now - 60_000, 1);
    assert_eq!(store.ids(), ["old-a", "old-b", "new-c"], "listed by start time");

    let dry = store.ok(&["session", "prune", "--older-than", "30d", "--keep", "1", "--dry-run"]);
    assert!(dry.contains("would delete old-a (3 objects") && dry.contains("would delete old-b"), "{dry}");
    assert_eq!(store.ids().len(), 3, "a dry run deletes nothing");
    let pruned = store.ok(&["session", "prune", "--older-than", "30d", "--keep", "2"]);
    assert!(pruned.contains("deleted old-a") && pruned.contains("deleted 1 sessions"), "{pruned}");
    assert_eq!(store.ids(), ["old-b", "new-c"]);
    assert_eq!(files_under(&store.dir.join("sessions/old-a")), 0, "no object of old-a is left");

    // A phase on a stopped session goes to the store directly.
    let marked: Value =
        serde_json::from_str(&store.ok(&["session", "mark", "old-b", "reviewed", "--value", "ok"])).unwrap();
    assert_eq!(marked["phases"][0]["name"], "reviewed");
    assert_eq!(marked["phases"][0]["value"], "ok", "text that is not JSON is kept as a string");

    let deleted: Value = serde_json::from_str(&store.ok(&["session", "delete", "old-b"])).unwrap();
    assert_eq!((deleted["sessionId"].as_str(), deleted["objects"].as_u64()), (Some("old-b"), Some(4)));
    assert!(store.fails(&["session", "show", "old-b"]).contains("no session old-b"));
    store.ok(&["session", "delete", "latest", "--prefix", "new-"]);
    assert!(store.ids().is_empty());
    let empty = store.fails(&["session", "delete", "latest", "--prefix", "new-"]);
    assert!(empty.contains("no session to pick as latest") && empty.contains("--prefix new-"), "{empty}");
}

#[test]
fn delete_and_prune_on_a_directory() {
    retention_on(&Store::directory());
}

#[test]
fn delete_prune_and_mark_on_s3() {
    retention_on(&Store::s3());
}

#[test]
fn an_active_session_is_deleted_only_with_force_and_the_api_purges() {
    let store = Store::directory();
    let tap = TapProcess::start(&store.arg, &[]);
    run_cli_ok(&["session", "start", "live", "--tap", &tap.base], &[]);
    emit(&tap.base, "checkout", 2);
    let refused = store.fails(&["session", "delete", "live"]);
    assert!(refused.contains("active") && refused.contains("--force"), "{refused}");
    let deleted: Value =
        serde_json::from_str(&store.ok(&["session", "delete", "live", "--force", "--tap", &tap.base])).unwrap();
    assert!(deleted["objects"].as_u64().unwrap() >= 2, "{deleted}");
    let client = Client::new();
    let gone = client.get(format!("{}/api/capture/sessions/live", tap.base)).send().unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);

    run_cli_ok(&["session", "start", "purged", "--tap", &tap.base], &[]);
    emit(&tap.base, "checkout", 1);
    let purged = client.delete(format!("{}/api/capture/sessions/purged?purge=true", tap.base)).send().unwrap();
    assert_eq!(purged.status(), StatusCode::OK);
    let purged: Value = purged.json().unwrap();
    assert_eq!(purged["sessionId"], "purged");
    assert_eq!(files_under(&store.dir.join("sessions/purged")), 0);
    assert!(store.ids().is_empty());
}

#[test]
fn pickers_choose_by_start_and_size_within_the_filters() {
    pickers_on(&Store::directory());
}

#[test]
fn pickers_choose_on_s3() {
    pickers_on(&Store::s3());
}

fn pickers_on(store: &Store) {
    let day = |d: u64| 1_700_000_000_000 + d * DAY_MILLIS;
    seed(&store.dir, "a-small", day(10), 1);
    seed(&store.dir, "a-large", day(100), 6);
    seed(&store.dir, "b-mid", day(200), 3);
    // A session whose id is a picker word stays reachable as =latest.
    seed(&store.dir, "latest", day(1), 2);
    let shown = |args: &[&str]| -> String {
        let mut all = vec!["session", "show"];
        all.extend(args);
        serde_json::from_str::<Value>(&store.ok(&all)).unwrap()["sessionId"].as_str().unwrap().to_owned()
    };
    assert_eq!(shown(&["latest"]), "b-mid");
    assert_eq!(shown(&["=latest"]), "latest");
    assert_eq!(shown(&["largest"]), "a-large");
    assert_eq!(shown(&["smallest"]), "a-small");
    assert_eq!(shown(&["largest", "--prefix", "b-"]), "b-mid");
    // a-small started on 2023-11-24, a-large on 2024-02-22, b-mid on 2024-06-01.
    let window = ["--since", "2023-11-20T00:00:00Z", "--until", "1711929600000000000"];
    let mut args = vec!["latest"];
    args.extend(window);
    assert_eq!(shown(&args), "a-large");
    let listed: Value = serde_json::from_str(&store.ok(&["session", "list", "--json", "--prefix", "a-"])).unwrap();
    let ids: Vec<&str> =
        listed["sessions"].as_array().unwrap().iter().map(|s| s["sessionId"].as_str().unwrap()).collect();
    assert_eq!(ids, ["a-small", "a-large"]);
    let table = store.ok(&["session", "list", "--since", "2024-01-01T00:00:00Z"]);
    assert!(table.contains("b-mid") && !table.contains("a-small"), "{table}");
    let empty = store.fails(&["session", "show", "smallest", "--prefix", "zzz", "--since", "2h"]);
    assert!(empty.contains("--prefix zzz") && empty.contains("--since"), "{empty}");
    // Inspect and replay take pickers too.
    assert_eq!(store.ok(&["inspect", "largest"]).lines().count(), 6);
}

/// Every non-zero timestamp of what the receiver got.
fn received_times(receiver: &Receiver) -> Vec<u64> {
    let mut times = Vec::new();
    for request in receiver.accepted() {
        let signal = otlp_capture_guest::records::Signal::from_name(request.path.trim_start_matches("/v1/")).unwrap();
        let mut decoded =
            OtlpRequest::decode(signal, otlp_capture_guest::records::PayloadEncoding::Protobuf, &request.message())
                .unwrap();
        timestamps::for_each_mut(&mut decoded, |t| times.push(*t));
    }
    times.retain(|t| *t != 0);
    times
}

#[test]
fn phases_mark_a_recording_and_replay_one_of_them() {
    phases_on(&Store::directory());
}

#[test]
fn phases_on_s3() {
    phases_on(&Store::s3());
}

/// The worked example: mark baseline, inject the fault, mark anomaly, mark
/// recovery, stop, replay latest --phase anomaly.
fn phases_on(store: &Store) {
    let tap = TapProcess::start(&store.arg, &store.env);
    let mark = |phase: &str, extra: &[&str]| {
        let mut args = vec!["session", "mark", "incident", phase, "--tap", &tap.base];
        args.extend(extra);
        store.ok(&args)
    };
    run_cli_ok(&["session", "start", "incident", "--flag", "paymentServiceFailure", "--tap", &tap.base], &[]);
    mark("baseline", &[]);
    wait::next_millisecond();
    emit(&tap.base, "checkout", 2);
    wait::next_millisecond();
    mark("anomaly", &["--value", r#"{"flag":"paymentServiceFailure","severity":3}"#]);
    wait::next_millisecond();
    emit(&tap.base, "payments", 2);
    wait::next_millisecond();
    // The API does what the command does.
    let response = Client::new()
        .post(format!("{}/api/capture/sessions/incident/phases", tap.base))
        .json(&json!({"name": "recovery"}))
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    wait::next_millisecond();
    emit(&tap.base, "checkout", 1);
    // A refresh of the tap keeps the phases (they are in the stored document it starts from).
    wait::until_true("a refresh", Duration::from_secs(10), || {
        let shown: Value = serde_json::from_str(&store.ok(&["session", "show", "incident"])).unwrap();
        shown["spanCount"].as_u64().unwrap_or(0) > 0
    });
    run_cli_ok(&["session", "stop", "incident", "--tap", &tap.base], &[]);
    mark("reviewed", &["--at", "1h"]);

    let shown: Value = serde_json::from_str(&store.ok(&["session", "show", "latest"])).unwrap();
    let names: Vec<&str> = shown["phases"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["reviewed", "baseline", "anomaly", "recovery"], "in start order ({shown})");
    assert_eq!(shown["phases"][2]["value"]["severity"], 3);
    let start = |n: usize| -> u64 {
        let text = shown["phases"][n]["startTime"].as_str().unwrap();
        humantime::parse_rfc3339(text).unwrap().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
    };
    let (anomaly, recovery) = (start(2), start(3));

    let receiver = Receiver::start(0);
    store.ok(&[
        "replay",
        "latest",
        "--phase",
        "anomaly",
        "--endpoint",
        &receiver.base,
        "--timestamps",
        "none",
        "--speed",
        "max",
    ]);
    let times = received_times(&receiver);
    assert!(!times.is_empty(), "the anomaly phase has telemetry");
    assert!(times.iter().all(|t| *t >= anomaly && *t < recovery), "only the anomaly phase's window is replayed");
    let all = Receiver::start(0);
    store.ok(&["replay", "incident", "--endpoint", &all.base, "--timestamps", "none", "--speed", "max"]);
    assert!(received_times(&all).len() > times.len());
    let inspected = store.ok(&["inspect", "latest", "--phase", "anomaly"]);
    let service = |name: &str| format!("{{\"stringValue\":\"{name}\"}}");
    assert!(inspected.contains(&service("payments")), "the anomaly's items: {inspected}");
    assert!(!inspected.contains(&service("checkout")), "and only those: {inspected}");
    let unknown = store.fails(&["replay", "incident", "--phase", "nope", "--endpoint", &receiver.base]);
    assert!(unknown.contains("no phase \"nope\"") && unknown.contains("anomaly"), "{unknown}");
}

#[test]
fn otel_ai_replay_routes_start_report_list_cancel_and_stream() {
    otel_ai_routes_on(&Store::directory());
}

#[test]
fn otel_ai_replay_routes_on_s3() {
    otel_ai_routes_on(&Store::s3());
}

fn otel_ai_routes_on(store: &Store) {
    seed(&store.dir, "recorded", now_millis() - 60_000, 3);
    // Objects an hour apart: a replay at speed 1 is still running when it is cancelled.
    write_session(
        &store.dir,
        "slow",
        [0, 3_600_000].map(|gap| (1_700_000_000_000 + gap, OtlpRequest::Logs(generate::logs("svc", 3, 1, 1)))),
    );
    let tap = TapProcess::start(&store.arg, &store.env);
    let client = Client::new();
    let api = |path: &str| format!("{}{path}", tap.base);

    let available: Value = client.get(api("/api/replay/available")).send().unwrap().json().unwrap();
    let ids: Vec<&str> =
        available["sessions"].as_array().unwrap().iter().map(|s| s["sessionId"].as_str().unwrap()).collect();
    assert_eq!(ids, ["recorded", "slow"], "completed sessions, newest first");

    // Pickers and filters on the session routes, as on the command line.
    let largest: Value = client.get(api("/api/capture/sessions/largest?prefix=sl")).send().unwrap().json().unwrap();
    assert_eq!(largest["sessionId"], "slow");
    let listed: Value = client.get(api("/api/capture/sessions?since=1h")).send().unwrap().json().unwrap();
    assert_eq!(listed["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(listed["sessions"][0]["sessionId"], "recorded");

    let receiver = Receiver::start(0);
    let body = json!({"sessionId": "recorded", "targetEndpoint": receiver.base, "timestampAdjustment": "relative",
        "speedMultiplier": 50, "replayMetrics": false, "replayLogs": false});
    let started = client.post(api("/api/replay/start")).json(&body).send().unwrap();
    assert_eq!(started.status(), StatusCode::ACCEPTED);
    let job: Value = started.json().unwrap();
    let id = job["id"].as_str().unwrap().to_owned();
    wait::until_true("the replay to finish", Duration::from_secs(30), || {
        let status: Value = client.get(api(&format!("/api/replay/status/{id}"))).send().unwrap().json().unwrap();
        status["state"] == "completed"
    });
    assert_eq!(receiver.accepted().len(), 3);
    assert!(receiver.accepted().iter().all(|r| r.path == "/v1/traces"));

    let slow = client
        .post(api("/api/replay/start"))
        .json(&json!({"sessionId": "slow", "targetEndpoint": receiver.base}))
        .send()
        .unwrap()
        .json::<Value>()
        .unwrap();
    let slow_id = slow["id"].as_str().unwrap();
    let cancelled: Value = client.delete(api(&format!("/api/replay/{slow_id}"))).send().unwrap().json().unwrap();
    assert_eq!(cancelled["state"], "cancelled");
    let jobs: Value = client.get(api("/api/replay")).send().unwrap().json().unwrap();
    let states: Vec<&str> = jobs["jobs"].as_array().unwrap().iter().map(|j| j["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["cancelled", "completed"], "newest first");
    wait::holds_for("a cancelled job as cancelled", Duration::from_millis(300), || {
        let after: Value = client.get(api(&format!("/api/replay/status/{slow_id}"))).send().unwrap().json().unwrap();
        after["state"] == "cancelled"
    });

    let streamed = client.get(api("/api/replay/stream/recorded/traces")).send().unwrap();
    assert_eq!(streamed.headers()["content-type"], "application/x-ndjson");
    let text = streamed.text().unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(|l| l["resourceSpans"].is_array()));
    let none = client.get(api("/api/replay/stream/recorded/metrics")).send().unwrap().text().unwrap();
    assert!(none.is_empty());
    assert_eq!(client.get(api("/api/replay/stream/nothing/traces")).send().unwrap().status(), StatusCode::NOT_FOUND);
    let refused = client
        .post(api("/api/replay/start"))
        .json(&json!({"sessionId": "recorded", "targetEndpoint": "http://198.51.100.7:4318"}))
        .send()
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN, "the allow-list applies to otel-ai's route too");
}
