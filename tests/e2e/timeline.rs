//! `GET /api/capture/sessions/{id}/timeline`: items per step by signal,
//! adding up to the session's counts, with phases as bands; read from the
//! index the tap writes, and from the objects themselves for a session
//! recorded before the index (after which the index covers it), on a local
//! directory and on a real S3 server.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::blocking::Client;
use serde_json::{Value, json};

use crate::sessions_surface::{Store, seed};
use crate::support::processes::TapProcess;
use crate::support::sdk::emit;
use crate::support::wait;

fn get(client: &Client, url: &str) -> (StatusCode, Value) {
    let response = client.get(url).send().unwrap();
    let status = response.status();
    (status, response.json().unwrap_or(Value::Null))
}

/// The sum of a series' items.
fn sum(series: &Value) -> u64 {
    series.as_array().unwrap().iter().map(|point| point[1].as_u64().unwrap()).sum()
}

/// Checks that every signal's series adds up to the metadata's count, in
/// time order on step boundaries; returns the timeline's sources.
fn assert_adds_up(timeline: &Value, metadata: &Value) -> Value {
    let step = timeline["stepMillis"].as_u64().unwrap();
    for (signal, count) in [("traces", "spanCount"), ("metrics", "dataPointCount"), ("logs", "logRecordCount")] {
        let series = &timeline["series"][signal];
        assert_eq!(sum(series), metadata[count].as_u64().unwrap(), "{signal} against {count}: {timeline}");
        assert_eq!(timeline["totals"][signal], metadata[count], "{timeline}");
        let times: Vec<u64> = series.as_array().unwrap().iter().map(|p| p[0].as_u64().unwrap()).collect();
        assert!(times.windows(2).all(|w| w[0] < w[1]), "{signal} in time order: {times:?}");
        assert!(times.iter().all(|t| t % step == 0), "{signal} on step boundaries: {times:?}");
    }
    timeline["sources"].clone()
}

fn timeline_on(store: &Store) {
    let tap = TapProcess::start(&store.arg, &store.env);
    let client = Client::new();
    let api = |path: &str| format!("{}/api/capture/sessions{path}", tap.base);
    let started = client.post(api("")).json(&json!({"sessionId": "load-test"})).send().unwrap();
    assert_eq!(started.status(), StatusCode::CREATED);
    let mark = |name: &str| {
        let marked = client.post(api("/load-test/phases")).json(&json!({"name": name})).send().unwrap();
        assert_eq!(marked.status(), StatusCode::CREATED);
    };
    mark("baseline");
    emit(&tap.base, "checkout", 3);
    wait::next_second();
    mark("anomaly");
    emit(&tap.base, "payments", 2);

    // While active: the objects this tap has not indexed (or stored) yet count too. Batches
    // still become objects, so the timeline is compared with counts that did not move around it.
    let counts = |m: &Value| [m["spanCount"].clone(), m["dataPointCount"].clone(), m["logRecordCount"].clone()];
    let (live, shown) = wait::until("counts that hold still around a timeline", Duration::from_secs(10), || {
        let (_, before) = get(&client, &api("/load-test"));
        let (status, live) = get(&client, &api("/load-test/timeline"));
        assert_eq!(status, StatusCode::OK, "{live}");
        let (_, after) = get(&client, &api("/load-test"));
        (counts(&before) == counts(&after)).then_some((live, after))
    });
    assert_adds_up(&live, &shown);
    assert_eq!(live["step"], "1s");

    let index = store.dir.join("sessions/load-test/index");
    let segments = || std::fs::read_dir(&index).map_or(0, |d| d.count());
    wait::until_true("a refresh writes an index segment", Duration::from_secs(10), || segments() >= 1);
    let stopped = client.delete(api("/load-test")).send().unwrap();
    assert_eq!(stopped.status(), StatusCode::OK);
    let metadata: Value = stopped.json().unwrap();
    // The stop's own segment and the refreshes' are merged into one.
    wait::until_true("the index merged", Duration::from_secs(10), || segments() == 1);
    let (_, timeline) = get(&client, &api("/load-test/timeline?step=1s"));
    let sources = assert_adds_up(&timeline, &metadata);
    assert_eq!(sources["indexed"], sources["objects"], "the tap indexed every object: {sources}");
    assert_eq!(sources["summarized"], 0);
    assert_eq!(sources["objects"], metadata["objectCount"]);
    let phases = timeline["phases"].as_array().unwrap();
    let names: Vec<&str> = phases.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["baseline", "anomaly"]);
    assert_eq!(phases[0]["endUnixMillis"], phases[1]["startUnixMillis"], "a band ends where the next starts");
    assert_eq!(phases[1]["endUnixMillis"], timeline["endUnixMillis"], "the last ends with the session");
    assert!(timeline["startUnixMillis"].as_u64() <= phases[0]["startUnixMillis"].as_u64());

    // A wider step holds the same items in fewer steps.
    let (_, minute) = get(&client, &api("/load-test/timeline?step=1m"));
    assert_adds_up(&minute, &metadata);
    assert!(
        minute["series"]["traces"].as_array().unwrap().len() <= timeline["series"]["traces"].as_array().unwrap().len()
    );

    // Without its index (a session from before the index), the objects are read; then indexed.
    std::fs::remove_dir_all(store.dir.join("sessions/load-test/index")).unwrap();
    let (_, read) = get(&client, &api("/load-test/timeline"));
    let sources = assert_adds_up(&read, &metadata);
    assert_eq!((&sources["indexed"], &sources["summarized"]), (&json!(0), &sources["objects"]));
    assert_eq!(read["series"], timeline["series"], "the objects say what the index said");
    let (_, again) = get(&client, &api("/load-test/timeline"));
    assert_eq!(assert_adds_up(&again, &metadata)["indexed"], sources["objects"], "indexed on the first read");

    // A session written before the index existed: one object a second, 15 spans each.
    let start = 1_700_000_000_000;
    seed(&store.dir, "old", start, 4);
    let (status, old) = get(&client, &api("/old/timeline"));
    assert_eq!(status, StatusCode::OK, "{old}");
    let expected: Vec<Value> = (0..4).map(|n| json!([start + n * 1000, 15])).collect();
    assert_eq!(old["series"]["traces"], Value::Array(expected), "{old}");
    assert_eq!(old["sources"]["summarized"], 4);
    let (_, latest) = get(&client, &api("/latest/timeline"));
    assert_eq!(latest["sessionId"], "load-test", "pickers work here too");

    // Bad steps and unknown sessions are refused plainly.
    for (path, expected) in [
        ("/old/timeline?step=0s", StatusCode::BAD_REQUEST),
        ("/old/timeline?step=soon", StatusCode::BAD_REQUEST),
        ("/missing/timeline", StatusCode::NOT_FOUND),
        ("/..%2Fetc/timeline", StatusCode::BAD_REQUEST),
    ] {
        let (status, body) = get(&client, &api(path));
        assert_eq!(status, expected, "{path}: {body}");
        assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "{path}: {body}");
    }
}

#[test]
fn timeline_on_a_directory() {
    timeline_on(&Store::directory());
}

#[test]
fn timeline_on_s3() {
    timeline_on(&Store::s3());
}
