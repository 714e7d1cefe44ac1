//! The web UI in a real browser: tests/browser/ui.mjs drives Debian's
//! Chromium (headless, through playwright-core) against a real tap through
//! list → session → mark phase → stop → replay, with screenshots kept in
//! target/ui-screenshots/; this side checks what the store and the replay's
//! receiver hold afterwards, and what the page kept and fetched. Skipped,
//! with a message saying why, where Chromium or the npm package is missing
//! (`make test` installs both where it can). The stored session's page is
//! the README's screenshot (docs/ui-session.png).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use otlp_capture_guest::codec::OtlpRequest;
use otlp_capture_guest::records::{PayloadEncoding, Signal};
use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder};
use serde_json::{Value, json};

use crate::sessions_surface::Store;
use crate::support::generate;
use crate::support::processes::{TapProcess, installed, workspace};
use crate::support::receiver::Receiver;
use crate::support::sdk::emit;
use crate::support::stored_sessions::write_session;
use crate::support::wait;

const SESSION: &str = "checkout-incident";
const OTHER: &str = "nightly-load";

/// Chromium and the driver, or why they are not there.
fn browser() -> Result<PathBuf, String> {
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| installed("chromium"))
        .ok_or("Chromium is not installed (make test installs Debian's chromium with apt-get where it can)")?;
    if !workspace().join("tests/browser/node_modules/playwright-core").is_dir() {
        return Err("playwright-core is not installed (make test runs npm ci in tests/browser)".into());
    }
    Ok(chromium)
}

/// When the stored session starts, unix millis.
const STORED_START: u64 = 1_764_000_000_000;

/// A stored session of three minutes, an object a second, whose middle
/// minute (the anomaly) carries more spans and error logs; a metrics object
/// every ten seconds. Returns its phases' starts (unix millis).
fn seed_stored(store: &Path) -> [(&'static str, u64); 3] {
    let objects = (0..180u64).flat_map(|second| {
        let at = STORED_START + second * 1000;
        let nanos = at * 1_000_000;
        let anomaly = (60..120).contains(&second);
        let traces = if anomaly { 20 + second % 7 } else { 8 + second % 3 };
        let mut requests = vec![
            (at, OtlpRequest::Traces(generate::traces("checkout", traces, 3, nanos))),
            (at, OtlpRequest::Logs(generate::logs("checkout", if anomaly { 30 } else { 4 }, traces, nanos))),
        ];
        if second % 10 == 0 {
            requests.push((at, OtlpRequest::Metrics(generate::metrics("checkout", 2, nanos))));
        }
        requests
    });
    write_session(store, OTHER, objects);
    [("baseline", STORED_START), ("anomaly", STORED_START + 60_000), ("recovery", STORED_START + 120_000)]
}

/// Spans in what the receiver got.
fn received_spans(receiver: &Receiver) -> u64 {
    receiver
        .accepted()
        .iter()
        .filter(|r| r.path == "/v1/traces")
        .map(|r| {
            let mut decoded = OtlpRequest::decode(Signal::Traces, PayloadEncoding::Protobuf, &r.message()).unwrap();
            otlp_capture_guest::summary::of(&mut decoded).items
        })
        .sum()
}

/// A count as the page shows it (en-US).
fn with_commas(n: u64) -> String {
    let digits = n.to_string();
    let mut shown = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            shown.push(',');
        }
        shown.push(digit);
    }
    shown
}

fn click_through(token: Option<&str>) {
    let chromium = match browser() {
        Ok(chromium) => chromium,
        // In CI a missing browser is a broken set-up, not a reason to pass.
        Err(why) if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
            panic!("CI=true and the web UI cannot be driven in a browser: {why} (`make test` installs Chromium)")
        }
        Err(why) => {
            eprintln!("SKIPPED: the web UI is not driven in a browser here: {why}");
            return;
        }
    };
    let store = Store::directory();
    let stored_phases = seed_stored(&store.dir);
    let args: Vec<&str> = token.map(|t| vec!["--control-token", t]).unwrap_or_default();
    let tap = TapProcess::start_with(&store.arg, &store.env, &args);
    let client = Client::new();
    let authorized = |request: RequestBuilder| match token {
        Some(t) => request.bearer_auth(t),
        None => request,
    };
    let api = |path: &str| format!("{}/api/capture/sessions{path}", tap.base);
    for (name, millis) in stored_phases {
        let phase = json!({"name": name, "at": (millis * 1_000_000).to_string()});
        let marked = authorized(client.post(api(&format!("/{OTHER}/phases")))).json(&phase).send().unwrap();
        assert_eq!(marked.status(), StatusCode::CREATED);
    }
    let stored: Value = authorized(client.get(api(&format!("/{OTHER}")))).send().unwrap().json().unwrap();
    let start = json!({"sessionId": SESSION, "enabledFlags": ["paymentServiceFailure"]});
    assert_eq!(authorized(client.post(api(""))).json(&start).send().unwrap().status(), StatusCode::CREATED);
    let marked = authorized(client.post(api(&format!("/{SESSION}/phases")))).json(&json!({"name": "baseline"}));
    assert_eq!(marked.send().unwrap().status(), StatusCode::CREATED);
    emit(&tap.base, "checkout", 3);
    wait::until_true("spans counted", Duration::from_secs(10), || {
        let shown: Value = authorized(client.get(api(&format!("/{SESSION}")))).send().unwrap().json().unwrap();
        shown["spanCount"].as_u64().unwrap_or(0) > 0
    });
    // The phase the page marks falls into a later step of the timeline than the baseline.
    wait::next_second();

    let page = client.get(format!("{}/ui", tap.base)).send().unwrap();
    assert_eq!(page.status(), StatusCode::OK, "the page needs no token: it holds no data");
    let policy = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(policy.contains("default-src 'none'") && policy.contains("frame-ancestors 'none'"), "{policy}");

    let receiver = Receiver::start(0);
    let shots = workspace().join("target/ui-screenshots").join(if token.is_some() { "token" } else { "loopback" });
    std::fs::create_dir_all(&shots).unwrap();
    let output = Command::new("node")
        .arg(workspace().join("tests/browser/ui.mjs"))
        .env("UI_BASE", &tap.base)
        .env("UI_SESSION", SESSION)
        .env("UI_OTHER", OTHER)
        .env("UI_RECEIVER", &receiver.base)
        .env("UI_SHOTS", &shots)
        .env("UI_TOKEN", token.unwrap_or(""))
        .env("CHROMIUM", &chromium)
        .output()
        .expect("node runs tests/browser/ui.mjs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the browser run failed:\n{stderr}\n(screenshots in {})", shots.display());
    let seen: Value = serde_json::from_slice(output.stdout.trim_ascii()).unwrap();

    // What the page showed.
    assert_eq!(seen["listed"], json!([SESSION, OTHER]), "newest first: {seen}");
    assert_eq!(seen["filtered"], json!([SESSION]), "{seen}");
    assert_eq!(seen["listStatus"], "active");
    assert_eq!(seen["bandsBefore"], json!(["baseline"]));
    assert_eq!(seen["bandsAfter"], json!(["baseline", "anomaly"]));
    assert!(seen["readout"].as_str().unwrap().contains("spans"), "{seen}");
    // The browser logs the 401 that makes the page ask for the token; nothing else may fail.
    let errors: Vec<&str> = seen["consoleErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .filter(|e| !(token.is_some() && e.contains("401")))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    // Offline by construction: nothing fetched from anywhere but the tap.
    assert_eq!(seen["origins"], json!([tap.base]), "{seen}");
    // The token lives in the tab's session storage only.
    assert_eq!((seen["localStorageKeys"].clone(), seen["cookies"].clone()), (json!([]), json!(0)), "{seen}");
    let kept = if token.is_some() { json!(["otlp-capture.control-token"]) } else { json!([]) };
    assert_eq!(seen["sessionStorageKeys"], kept, "{seen}");
    if token.is_some() {
        assert_eq!(seen["askedForToken"], true);
        let refused = client.get(api("")).send().unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "the API itself still wants the token");
    }

    // What the clicks did.
    let session: Value = authorized(client.get(api(&format!("/{SESSION}")))).send().unwrap().json().unwrap();
    assert_eq!(session["status"], "completed", "{session}");
    let phases: Vec<&str> = session["phases"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(phases, ["baseline", "anomaly"]);
    assert_eq!(session["phases"][1]["value"]["flag"], "paymentServiceFailure");
    let spans = session["spanCount"].as_u64().unwrap();
    assert!(seen["legend"].as_str().unwrap().contains("spans:"), "{seen}");
    // The stored session's chart: its totals, its three phases, a step of a second over three minutes.
    let legend = seen["storedLegend"].as_str().unwrap();
    for (label, count) in [("spans", "spanCount"), ("data points", "dataPointCount"), ("log records", "logRecordCount")]
    {
        let expected = stored[count].as_u64().unwrap();
        let shown = format!("{label}: {}", with_commas(expected));
        assert!(expected > 0 && legend.contains(&shown), "{shown} in {legend}");
    }
    assert!(legend.contains("step 1s"), "{legend}");
    assert_eq!(seen["storedBands"], json!(["baseline", "anomaly", "recovery"]));
    let objects = session["objectCount"].as_u64().unwrap();
    assert_eq!(seen["replayProgress"].as_str().unwrap().trim(), format!("{objects}/{objects} objects"), "{seen}");
    assert_eq!(received_spans(&receiver), spans, "the replay sent every span");
    eprintln!("screenshots of the web UI: {}", shots.display());
}

#[test]
fn the_web_ui_lists_shows_marks_stops_and_replays_a_session() {
    click_through(None);
}

#[test]
fn the_web_ui_asks_for_the_control_token_and_keeps_it_in_the_tab() {
    click_through(Some("ui-s3cret"));
}
