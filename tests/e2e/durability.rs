//! What the tap guarantees across a crash: `kill -9` while clients send,
//! into a directory and into S3 while S3 is down. After a restart every
//! acknowledged request is stored exactly once (none twice, whether it was
//! acknowledged or not), and the session's counts equal what is stored.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use otlp_capture_guest::codec::OtlpRequest;
use otlp_capture_guest::records::{PayloadEncoding, Signal};
use reqwest::blocking::Client;
use serde_json::Value;

use crate::support::generate;
use crate::support::otlp::stored_requests;
use crate::support::processes::{MotoServer, S3Server, TapProcess, run_cli_ok};
use crate::support::receiver::Receiver;
use crate::support::wait;

/// Log records in each request; their observed times name the request.
const RECORDS: u64 = 4;
const T0: u64 = 1_700_000_000_000_000_000;
const CLIENTS: u64 = 4;

fn request(n: u64) -> Vec<u8> {
    request_of(n, RECORDS)
}

/// Request `n`, of `records` log records.
fn request_of(n: u64, records: u64) -> Vec<u8> {
    OtlpRequest::Logs(generate::logs("payments", records, 1, T0 + n * 1_000_000_000)).encode_protobuf()
}

/// Clients posting numbered requests until told to stop or the tap is gone.
struct Senders {
    stop: Arc<AtomicBool>,
    acknowledged: Arc<Mutex<Vec<u64>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Senders {
    fn start(base: &str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let acknowledged = Arc::new(Mutex::new(Vec::new()));
        let threads = (0..CLIENTS)
            .map(|client_number| {
                let (stop, acknowledged, base) = (stop.clone(), acknowledged.clone(), base.to_owned());
                std::thread::spawn(move || {
                    let client = Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
                    let mut n = client_number;
                    while !stop.load(Ordering::Relaxed) {
                        let sent = client
                            .post(format!("{base}/v1/logs"))
                            .header("content-type", "application/x-protobuf")
                            .body(request(n))
                            .send();
                        match sent {
                            Ok(answer) if answer.status().is_success() => acknowledged.lock().unwrap().push(n),
                            Ok(_) => std::thread::sleep(Duration::from_millis(20)),
                            Err(_) => return,
                        }
                        n += CLIENTS;
                    }
                })
            })
            .collect();
        Senders { stop, acknowledged, threads }
    }

    fn count(&self) -> usize {
        self.acknowledged.lock().unwrap().len()
    }

    fn finish(self) -> Vec<u64> {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads {
            thread.join().unwrap();
        }
        std::mem::take(&mut *self.acknowledged.lock().unwrap())
    }
}

/// How many log records of each request a session's objects hold.
fn stored_records_by_request(store: &Path, session: &str) -> (BTreeMap<u64, u64>, usize) {
    records_by_request(&stored_requests(store, session))
}

/// How many log records of each request `requests` hold, and how many requests.
fn records_by_request(requests: &[OtlpRequest]) -> (BTreeMap<u64, u64>, usize) {
    let mut by_request = BTreeMap::new();
    for request in requests {
        let OtlpRequest::Logs(logs) = request else { panic!("only logs were sent") };
        for record in logs.resource_logs.iter().flat_map(|r| &r.scope_logs).flat_map(|s| &s.log_records) {
            *by_request.entry((record.observed_time_unix_nano - T0) / 1_000_000_000).or_insert(0) += 1;
        }
    }
    (by_request, requests.len())
}

/// Every acknowledged request stored once, nothing stored twice, and the
/// final metadata counting exactly what is stored.
fn assert_exactly_once(store: &Path, session: &str, acknowledged: &[u64], stopped: &Value) {
    assert_exactly_once_of(store, session, acknowledged, RECORDS, stopped);
}

fn assert_exactly_once_of(store: &Path, session: &str, acknowledged: &[u64], per_request: u64, stopped: &Value) {
    let (by_request, objects) = stored_records_by_request(store, session);
    check_exactly_once(&by_request, objects, acknowledged, per_request, stopped);
}

fn check_exactly_once(
    by_request: &BTreeMap<u64, u64>,
    objects: usize,
    acknowledged: &[u64],
    per_request: u64,
    stopped: &Value,
) {
    let twice: Vec<_> = by_request.iter().filter(|(_, records)| **records != per_request).collect();
    assert!(twice.is_empty(), "requests stored more or less than once: {twice:?}");
    let lost: Vec<_> = acknowledged.iter().filter(|n| !by_request.contains_key(n)).collect();
    assert!(lost.is_empty(), "{} of {} acknowledged requests lost: {lost:?}", lost.len(), acknowledged.len());
    let records: u64 = by_request.values().sum();
    assert_eq!(stopped["logRecordCount"].as_u64(), Some(records), "counts equal what is stored: {stopped}");
    assert_eq!(stopped["capturedLogs"].as_u64(), Some(objects as u64), "{stopped}");
    assert_eq!(stopped["status"], "completed");
}

#[test]
fn kill_9_mid_stream_into_a_directory_loses_and_repeats_nothing_acknowledged() {
    let store = tempfile::tempdir().unwrap();
    let spool = tempfile::tempdir().unwrap();
    let store_arg = store.path().to_str().unwrap();
    let args = ["--spool", spool.path().to_str().unwrap(), "--batch-max-kib", "8"];
    let tap = TapProcess::start_with(store_arg, &[], &args);
    run_cli_ok(&["session", "start", "crash-dir", "--tap", &tap.base], &[]);
    let senders = Senders::start(&tap.base);
    wait::until_true("400 acknowledged requests", Duration::from_secs(60), || senders.count() >= 400);
    tap.kill();
    let acknowledged = senders.finish();

    let tap = TapProcess::start_with(store_arg, &[], &args);
    let stopped: Value =
        serde_json::from_str(&run_cli_ok(&["session", "stop", "crash-dir", "--tap", &tap.base], &[])).unwrap();
    assert_exactly_once(store.path(), "crash-dir", &acknowledged, &stopped);
}

#[test]
fn s3_down_then_kill_9_loses_and_repeats_nothing_acknowledged() {
    let mut s3 = S3Server::start();
    let spool = tempfile::tempdir().unwrap();
    let args = ["--spool", spool.path().to_str().unwrap(), "--batch-max-kib", "8"];
    let tap = TapProcess::start_with("s3://otel-data", &s3.env(), &args);
    run_cli_ok(&["session", "start", "crash-s3", "--tap", &tap.base], &[]);
    let senders = Senders::start(&tap.base);
    wait::until_true("100 acknowledged requests", Duration::from_secs(60), || senders.count() >= 100);
    s3.stop();
    let before = senders.count();
    wait::until_true("200 more acknowledged with S3 down", Duration::from_secs(60), || senders.count() >= before + 200);
    // Objects failed, were retried and moved to the spool: the kill finds work in both.
    wait::until_true("objects in the spool", Duration::from_secs(60), || {
        tap.metric("otlp_capture_spooled_objects_total") > 0
    });
    tap.kill();
    let acknowledged = senders.finish();

    s3.restart();
    let tap = TapProcess::start_with("s3://otel-data", &s3.env(), &args);
    let stopped: Value =
        serde_json::from_str(&run_cli_ok(&["session", "stop", "crash-s3", "--tap", &tap.base], &[])).unwrap();
    assert_exactly_once(&s3.bucket_dir(), "crash-s3", &acknowledged, &stopped);
}

/// A directory store that fails every write while it is broken: its root
/// is moved aside and a file put in its place (root ignores permissions, so
/// an unwritable directory would not fail).
struct BreakableStore {
    root: tempfile::TempDir,
}

impl BreakableStore {
    fn new() -> Self {
        BreakableStore { root: tempfile::tempdir().unwrap() }
    }

    fn path(&self) -> std::path::PathBuf {
        self.root.path().join("store")
    }

    fn aside(&self) -> std::path::PathBuf {
        self.root.path().join("store-aside")
    }

    fn break_it(&self) {
        std::fs::rename(self.path(), self.aside()).unwrap();
        std::fs::write(self.path(), b"the disk is full").unwrap();
    }

    fn repair(&self) {
        std::fs::remove_file(self.path()).unwrap();
        std::fs::rename(self.aside(), self.path()).unwrap();
    }
}

fn get(client: &Client, url: &str) -> Option<(u16, String)> {
    let answer = client.get(url).send().ok()?;
    Some((answer.status().as_u16(), answer.text().unwrap_or_default()))
}

#[test]
fn a_full_store_pushes_back_promptly_sigterm_exits_in_time_and_a_restart_stores_everything_once() {
    let store = BreakableStore::new();
    std::fs::create_dir(store.path()).unwrap();
    let spool = tempfile::tempdir().unwrap();
    let store_arg = store.path().to_str().unwrap().to_owned();
    let args =
        ["--spool", spool.path().to_str().unwrap(), "--spool-mib", "1", "--backlog-mib", "1", "--batch-max-kib", "8"];
    let tap = TapProcess::start_with(&store_arg, &[], &[&args[..], &["--shutdown-timeout", "3s"]].concat());
    let client = Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    run_cli_ok(&["session", "start", "full-disk", "--tap", &tap.base], &[]);
    assert_eq!(get(&client, &format!("{}/ready", tap.base)).unwrap().0, 200);

    store.break_it();
    let senders = Senders::start(&tap.base);
    let mut n = 1_000_000;
    let refused = wait::until("a 503 with Retry-After once the backlog is full", Duration::from_secs(60), || {
        let answer = client
            .post(format!("{}/v1/logs", tap.base))
            .header("content-type", "application/x-protobuf")
            .body(request(n))
            .send()
            .unwrap();
        n += 1;
        (answer.status() == 503).then(|| answer.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned()))
    });
    assert!(refused.is_some(), "503 carries Retry-After");
    let (status, body) = get(&client, &format!("{}/ready", tap.base)).unwrap();
    assert_eq!(status, 503, "{body}");
    let metrics = get(&client, &format!("{}/metrics", tap.base)).unwrap().1;
    assert!(metrics.contains("otlp_capture_store_up 0"), "{metrics}");
    let acknowledged = senders.finish();

    // SIGTERM with the store still failing: /health answers during the drain, exit 0 within the timeout.
    let mut tap = tap;
    let asked = std::time::Instant::now();
    tap.send_sigterm();
    let mut health_during_drain = 0;
    while !tap.exited() && asked.elapsed() < Duration::from_secs(20) {
        if get(&client, &format!("{}/health", tap.base)).is_some_and(|(status, _)| status == 200) {
            health_during_drain += 1;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let log = tap.log();
    assert!(tap.wait_exit(Duration::from_secs(20)), "exit 0 after the shutdown timeout");
    assert!(asked.elapsed() < Duration::from_secs(10), "exited in {:?} with a 3 s timeout", asked.elapsed());
    assert!(health_during_drain > 0, "/health answered while draining");
    let store_errors = log.iter().filter(|l| l.contains("ERROR") && l.contains("the store is failing")).count();
    assert_eq!(store_errors, 1, "one ERROR line for the outage, not one per object:\n{}", log.join("\n"));

    store.repair();
    let tap = TapProcess::start_with(&store_arg, &[], &args);
    let stopped: Value =
        serde_json::from_str(&run_cli_ok(&["session", "stop", "full-disk", "--tap", &tap.base], &[])).unwrap();
    assert_exactly_once(&store.path(), "full-disk", &acknowledged, &stopped);
}

const PER_REQUEST: u64 = 300;
const SENDERS: u64 = 8;
const EACH: u64 = 25;

/// A tap forwarding to a real receiver, its recording starved (one worker,
/// room for two recordings in memory), flooded by 8 clients; every
/// client's answer must be the upstream's.
fn flood_a_saturated_forwarding_tap(durability: &str) -> (TapProcess, Receiver, tempfile::TempDir, tempfile::TempDir) {
    let upstream = Receiver::start(0);
    let store = tempfile::tempdir().unwrap();
    let spool = tempfile::tempdir().unwrap();
    let args = [
        "--forward",
        &upstream.base,
        "--forward-protocol",
        "http",
        "--spool",
        spool.path().to_str().unwrap(),
        "--workers",
        "1",
        "--recording-queue",
        "2",
        "--durability",
        durability,
    ];
    let tap = TapProcess::start_with(store.path().to_str().unwrap(), &[], &args);
    run_cli_ok(&["session", "start", "saturated", "--tap", &tap.base], &[]);
    let answers: Vec<Vec<u16>> = std::thread::scope(|scope| {
        let senders: Vec<_> = (0..SENDERS)
            .map(|s| {
                let base = tap.base.clone();
                scope.spawn(move || {
                    let client = Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
                    (0..EACH)
                        .map(|k| {
                            let answer = client
                                .post(format!("{base}/v1/logs"))
                                .header("content-type", "application/x-protobuf")
                                .body(request_of(s + k * SENDERS, PER_REQUEST))
                                .send()
                                .unwrap();
                            answer.status().as_u16()
                        })
                        .collect()
                })
            })
            .collect();
        senders.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let refused: Vec<u16> = answers.iter().flatten().copied().filter(|status| *status != 200).collect();
    assert!(refused.is_empty(), "the tap refused forwarded traffic: {refused:?}");
    assert_eq!(upstream.accepted().len() as u64, SENDERS * EACH, "every request reached the upstream");
    (tap, upstream, store, spool)
}

#[test]
fn forwarding_while_recording_is_saturated_is_never_refused_and_the_journal_catches_up() {
    let (tap, _upstream, store, _spool) = flood_a_saturated_forwarding_tap("durable");
    assert!(tap.metric("otlp_capture_spilled_requests_total") > 0, "recording fell behind and spilled");
    wait::until_true("the journal to catch up", Duration::from_secs(120), || {
        tap.metric("otlp_capture_journal_backlog_bytes") == 0
    });
    let stopped: Value =
        serde_json::from_str(&run_cli_ok(&["session", "stop", "saturated", "--tap", &tap.base], &[])).unwrap();
    let sent: Vec<u64> = (0..SENDERS * EACH).collect();
    assert_exactly_once_of(store.path(), "saturated", &sent, PER_REQUEST, &stopped);
    assert_eq!(stopped["droppedRequests"].as_u64(), Some(0), "{stopped}");
}

#[test]
fn in_memory_mode_a_saturated_recording_counts_what_it_drops_and_forwarding_goes_on() {
    let (tap, _upstream, store, _spool) = flood_a_saturated_forwarding_tap("memory");
    // Recordings and drop counts run after the answers: wait until they are done.
    let mut last = u64::MAX;
    wait::until_true("the recording to settle", Duration::from_secs(60), || {
        std::thread::sleep(Duration::from_millis(500));
        let now = tap.metric("otlp_capture_dropped_requests_total");
        let idle = tap.metric("otlp_capture_processor_queue") == 0;
        std::mem::replace(&mut last, now) == now && idle
    });
    let dropped = tap.metric("otlp_capture_dropped_requests_total");
    assert!(dropped > 0, "with room for two recordings, some of 200 floods are dropped");
    let stopped: Value =
        serde_json::from_str(&run_cli_ok(&["session", "stop", "saturated", "--tap", &tap.base], &[])).unwrap();
    let (by_request, _) = stored_records_by_request(store.path(), "saturated");
    assert!(by_request.values().all(|records| *records == PER_REQUEST), "none stored twice or in part");
    assert_eq!(stopped["droppedRequests"].as_u64(), Some(dropped), "{stopped}");
    assert_eq!(by_request.len() as u64 + dropped, SENDERS * EACH, "stored + dropped = sent: the loss is honest");
    assert_eq!(stopped["droppedItems"].as_u64().unwrap() % PER_REQUEST, 0, "{stopped}");
    assert!(tap.log().iter().filter(|l| l.contains("ERROR") && l.contains("dropped from the recording")).count() == 1);
}

/// Posts request `n` to `base`, routed to `session`; the status.
fn post_routed(client: &Client, base: &str, session: &str, n: u64) -> u16 {
    let answer = client
        .post(format!("{base}/v1/logs"))
        .header("content-type", "application/x-protobuf")
        .header("x-otlp-capture-session", session)
        .body(request(n))
        .send()
        .unwrap();
    answer.status().as_u16()
}

fn stored_metadata(store_dir: &Path, session: &str) -> Value {
    serde_json::from_slice(&std::fs::read(store_dir.join("sessions").join(session).join("metadata.json")).unwrap())
        .unwrap()
}

/// What a store holds of the session "shared": read from its directory, or
/// through the S3 API (the CLI) for a server that keeps objects in memory.
enum StoreView<'a> {
    Directory(&'a Path),
    Api(&'a [(String, String)]),
}

impl StoreView<'_> {
    fn metadata(&self) -> Value {
        match self {
            StoreView::Directory(dir) => stored_metadata(dir, "shared"),
            StoreView::Api(env) => {
                serde_json::from_str(&run_cli_ok(&["session", "show", "shared", "--store", "s3://otel-data"], env))
                    .unwrap()
            }
        }
    }

    /// Records by request and objects: replayed unchanged into a receiver
    /// when the objects cannot be read as files.
    fn records(&self) -> (BTreeMap<u64, u64>, usize) {
        match self {
            StoreView::Directory(dir) => stored_records_by_request(dir, "shared"),
            StoreView::Api(env) => {
                let receiver = Receiver::start(0);
                let args = ["replay", "shared", "--store", "s3://otel-data", "--endpoint", &receiver.base];
                run_cli_ok(&[&args[..], &["--timestamps", "none", "--speed", "max"]].concat(), env);
                let requests: Vec<OtlpRequest> = receiver
                    .accepted()
                    .iter()
                    .map(|r| OtlpRequest::decode(Signal::Logs, PayloadEncoding::Protobuf, &r.message()).unwrap())
                    .collect();
                records_by_request(&requests)
            }
        }
    }
}

/// Two taps behind one balancer: a session started on one is joined by the
/// other within a refresh, both record, a stop on either ends it on both,
/// and metadata.json is their merge, equal to what is stored.
fn two_taps_record_one_session(store: &str, env: &[(String, String)], view: &StoreView) {
    let a = TapProcess::start_with(store, env, &[]);
    let b = TapProcess::start_with(store, env, &[]);
    let client = Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    run_cli_ok(&["session", "start", "shared", "--tap", &a.base], &[]);
    let mut n = 0;
    wait::until_true("the second tap to join within a refresh", Duration::from_secs(5), || {
        n += 1;
        post_routed(&client, &b.base, "shared", 1_000_000 + n) == 200
    });
    let mut acknowledged = vec![1_000_000 + n];
    for n in 0..200 {
        let tap = if n % 2 == 0 { &a } else { &b };
        assert_eq!(post_routed(&client, &tap.base, "shared", n), 200);
        acknowledged.push(n);
    }
    run_cli_ok(&["session", "stop", "shared", "--tap", &b.base], &[]);
    let mut probe = 5_000_000;
    wait::until_true("the first tap to follow the stop within a refresh", Duration::from_secs(5), || {
        probe += 1;
        match post_routed(&client, &a.base, "shared", probe) {
            200 => {
                acknowledged.push(probe);
                false
            }
            status => status == 404,
        }
    });
    let (stopped, (by_request, objects)) =
        wait::until("both taps' objects stored and metadata.json their merge", Duration::from_secs(10), || {
            let document = view.metadata();
            let (by_request, objects) = view.records();
            let records: u64 = by_request.values().sum();
            let all_stored = acknowledged.iter().all(|n| by_request.contains_key(n));
            (all_stored && document["logRecordCount"].as_u64() == Some(records))
                .then_some((document, (by_request, objects)))
        });
    check_exactly_once(&by_request, objects, &acknowledged, RECORDS, &stopped);
    // Three refreshes of either tap: none turns the completed session back.
    wait::holds_for("the completed session as stopped", Duration::from_secs(3), || view.metadata() == stopped);
    if let StoreView::Directory(dir) = view {
        let parts = std::fs::read_dir(dir.join("sessions/shared/taps")).unwrap().count();
        assert_eq!(parts, 2, "each tap keeps its own part");
    }
}

#[test]
fn two_taps_on_one_directory_store_record_one_session() {
    let store = tempfile::tempdir().unwrap();
    two_taps_record_one_session(store.path().to_str().unwrap(), &[], &StoreView::Directory(store.path()));
}

#[test]
fn two_taps_on_one_s3_bucket_record_one_session() {
    let s3 = S3Server::start();
    two_taps_record_one_session("s3://otel-data", &s3.env(), &StoreView::Directory(&s3.bucket_dir()));
}

#[test]
fn two_taps_on_a_store_with_atomic_conditional_writes_record_one_session() {
    let moto = MotoServer::start();
    let env = moto.env();
    two_taps_record_one_session("s3://otel-data", &env, &StoreView::Api(&env));
}
