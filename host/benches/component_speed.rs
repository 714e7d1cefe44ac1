//! The component's speed against its goals, every figure from one run:
//!
//! - capture inside the component (validate + tag + gzip) against gzip alone
//!   in the same wasm build, and through the real component's `capture`;
//! - the replay transform (gunzip + rewrite every timestamp) against gunzip
//!   alone, likewise;
//! - the same code in wasm against its native build;
//! - the wire-format path against the decoding path, natively and in wasm;
//! - every gzip level in wasm, and the engine's options (epoch checks,
//!   pooling allocator, instance reuse).
//!
//! Needs `pipeline_speed` built natively and for wasm32-wasip2 (`make bench`
//! does that). `COMPONENT_SPEED_QUICK=1` shortens every measurement;
//! `COMPONENT_SPEED_PERFMAP=1` names the wasm functions for `perf record`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use otlp_capture_test_support::generate;
use otlp_capture_test_support::processes;
use otlp_capture_test_support::timing;

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use otlp_capture::otlp::{Encoding as PayloadEncoding, Signal};
use otlp_capture::redaction_key::RedactionKey;
use otlp_capture::runtime::processor_types::{PutError, ReplayOptions, TimestampRewrite};
use otlp_capture::runtime::state::{Capabilities, FixedClock, InstanceLimits, ObjectSink, SequenceRandomness};
use otlp_capture::runtime::{EngineOptions, Runtime};
use otlp_capture::session::SessionConfig;
use serde_json::Value;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

const BASE: u64 = 1_764_000_000_000_000_000;
/// Capture against gzip alone on the same bytes, the goal of the second
/// performance round.
const CAPTURE_GOAL: f64 = 0.9;

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")))
}

fn quick() -> bool {
    std::env::var_os("COMPONENT_SPEED_QUICK").is_some()
}

/// One `pipeline_speed` measurement: (kernel, signal, level) -> JSON.
type Figures = BTreeMap<(String, String, u64), Value>;

fn parse(output: &str) -> Figures {
    output
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let key = (
                v["kernel"].as_str().unwrap().to_owned(),
                v["signal"].as_str().unwrap().to_owned(),
                v["level"].as_u64().unwrap(),
            );
            (key, v)
        })
        .collect()
}

fn args() -> Vec<String> {
    let mut args = vec!["pipeline_speed".to_owned()];
    if quick() {
        args.push("--quick".into());
    }
    args
}

fn run_native() -> Figures {
    let binary = target_dir().join("release/examples/pipeline_speed");
    let output = Command::new(&binary)
        .args(&args()[1..])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}; build it with `make bench`", binary.display()));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    parse(&String::from_utf8(output.stdout).unwrap())
}

struct WasiCommand {
    ctx: WasiCtx,
    table: ResourceTable,
}

impl WasiView for WasiCommand {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.ctx, table: &mut self.table }
    }
}

fn run_wasm(options: EngineOptions) -> Figures {
    // Built into a target directory of its own: its library build (without
    // the component's exports) must not replace the component in `target/`.
    let path = target_dir().join("speed/wasm32-wasip2/release/examples/pipeline_speed.wasm");
    let mut config = options.config(&InstanceLimits::default());
    if std::env::var_os("COMPONENT_SPEED_PERFMAP").is_some() {
        // Names the compiled wasm functions for `perf record` / `perf report`.
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    let engine = Engine::new(&config).unwrap();
    let component = Component::from_file(&engine, &path)
        .unwrap_or_else(|e| panic!("{}: {e:#}; build it with `make bench`", path.display()));
    let mut linker = Linker::<WasiCommand>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
    let stdout = MemoryOutputPipe::new(1 << 20);
    let ctx = WasiCtxBuilder::new().args(&args()).stdout(stdout.clone()).inherit_stderr().build();
    let mut store = Store::new(&engine, WasiCommand { ctx, table: ResourceTable::new() });
    store.set_epoch_deadline(u64::MAX / 2);
    let command = wasmtime_wasi::p2::bindings::sync::Command::instantiate(&mut store, &component, &linker).unwrap();
    command.wasi_cli_run().call_run(&mut store).unwrap().expect("pipeline_speed failed in wasm");
    drop(store);
    parse(std::str::from_utf8(&stdout.contents()).unwrap())
}

fn nanos(figures: &Figures, kernel: &str, signal: &str, level: u64) -> f64 {
    figures
        .get(&(kernel.to_owned(), signal.to_owned(), level))
        .unwrap_or_else(|| panic!("no figure for {kernel} {signal}"))["nanos"]
        .as_f64()
        .unwrap()
}

struct Discard;
impl ObjectSink for Discard {
    fn put(&self, _key: &str, body: Bytes, _content_type: &str) -> Result<(), PutError> {
        black_box(body);
        Ok(())
    }
}

/// Median nanoseconds of one run of `f`, over runs filling `budget`.
fn median(budget: Duration, f: impl FnMut()) -> f64 {
    timing::median_time(budget, f).as_nanos() as f64
}

fn config() -> SessionConfig {
    SessionConfig {
        session_id: "checkout-fault-7".into(),
        diagnostic_session_id: None,
        description: None,
        enabled_flags: vec!["paymentServiceFailure".into()],
        capture_traces: true,
        capture_metrics: true,
        capture_logs: true,
        sample_ratio: 1.0,
        created_by: "bench".into(),
        max_size_bytes: None,
        max_duration_millis: None,
        gzip_level: None,
        redaction: None,
    }
}

fn payloads() -> Vec<(Signal, &'static str, Vec<u8>)> {
    Signal::ALL.into_iter().zip(generate::bench_requests(BASE)).map(|(s, (name, bytes))| (s, name, bytes)).collect()
}

/// Median nanos of `capture` and `prepare-replay` through the real
/// component, per signal.
fn through_component(options: EngineOptions) -> BTreeMap<(&'static str, &'static str), f64> {
    let budget = Duration::from_millis(if quick() { 150 } else { 600 });
    let runtime =
        Runtime::with_options(otlp_capture::runtime::EMBEDDED_COMPONENT, InstanceLimits::default(), options).unwrap();
    let capabilities = Capabilities {
        sink: Arc::new(Discard),
        clock: Arc::new(FixedClock(BASE)),
        random: Arc::new(SequenceRandomness::default()),
        pseudonyms: None,
    };
    let mut instance = runtime.instantiate(capabilities.clone()).unwrap();
    let mut figures = BTreeMap::new();
    let config = config();
    let replay = ReplayOptions {
        rewrite: TimestampRewrite::Shift(86_400_000_000_000),
        id_remap_seed: None,
        services: Vec::new(),
        from_unix_nanos: 0,
        to_unix_nanos: 0,
        max_uncompressed_bytes: 1 << 30,
    };
    // The README's worked example: every detector, a key pattern, both sanitizers, HMAC pseudonyms.
    let rules =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/redaction/rules.json")).unwrap();
    let redacted = SessionConfig { redaction: Some(rules), ..config.clone() };
    let mut keyed = runtime
        .instantiate(Capabilities {
            pseudonyms: Some(Arc::new(RedactionKey::new(b"a bench key of thirty-two bytes!".to_vec()).unwrap())),
            ..capabilities.clone()
        })
        .unwrap();
    for (signal, name, payload) in payloads() {
        // In turns, so both see the same machine.
        let (mut plain, mut with_rules) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            plain.push(median(budget / 5, || {
                black_box(instance.capture(&config, signal, PayloadEncoding::Protobuf, &payload).unwrap());
            }));
            with_rules.push(median(budget / 5, || {
                black_box(keyed.capture(&redacted, signal, PayloadEncoding::Protobuf, &payload).unwrap());
            }));
        }
        plain.sort_by(f64::total_cmp);
        with_rules.sort_by(f64::total_cmp);
        let capture = plain[2];
        figures.insert(("capture", name), capture);
        figures.insert(("capture-redacted", name), with_rules[2]);
        let part = instance.prepare_capture(&config, signal, PayloadEncoding::Protobuf, &payload).unwrap();
        let stored = otlp_capture_guest::gzip::compress(&part.unwrap().protobuf, 1);
        let replayed = median(budget, || {
            black_box(instance.prepare_replay(signal, &stored, &replay).unwrap());
        });
        figures.insert(("replay", name), replayed);
    }
    let (signal, _, payload) = payloads().swap_remove(0);
    figures.insert(
        ("fresh-instance-capture", "traces"),
        median(budget, || {
            let mut fresh = runtime.instantiate(capabilities.clone()).unwrap();
            black_box(fresh.capture(&config, signal, PayloadEncoding::Protobuf, &payload).unwrap());
        }),
    );
    figures.insert(
        ("instantiate", "-"),
        median(budget, || drop(black_box(runtime.instantiate(capabilities.clone()).unwrap()))),
    );
    figures
}

/// Median wall time of a whole `otlp-capture session list` on an empty store
/// (start, component ready, list, exit) with `cache_dir` as the compilation
/// cache (`off` disables it).
fn session_list(cache_dir: &str) -> Duration {
    let store = tempfile::tempdir().unwrap();
    let run = || {
        let started = Instant::now();
        let output = Command::new(processes::binary())
            .args(["session", "list", "--store", store.path().to_str().unwrap()])
            .env("OTLP_CAPTURE_CACHE_DIR", cache_dir)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        started.elapsed()
    };
    run();
    let mut runs: Vec<Duration> = (0..5).map(|_| run()).collect();
    runs.sort();
    runs[2]
}

/// Median time from starting `otlp-capture serve` with no compilation cache
/// to its first answer on /health, with `extra` arguments.
fn first_health(extra: &[&str]) -> Duration {
    use std::io::{Read, Write};
    let store = tempfile::tempdir().unwrap();
    // The tap's working directory, where its journal goes by default.
    let workdir = tempfile::tempdir().unwrap();
    let run = || {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let http = format!("127.0.0.1:{port}");
        let started = Instant::now();
        let mut child = Command::new(processes::binary())
            .args(["serve", "--store", store.path().to_str().unwrap(), "--http", &http, "--grpc", "127.0.0.1:0"])
            .args(extra)
            .env("OTLP_CAPTURE_CACHE_DIR", "off")
            .current_dir(workdir.path())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let answered = loop {
            let asked = std::net::TcpStream::connect(&http).and_then(|mut c| {
                c.write_all(b"GET /health HTTP/1.1\r\nhost: tap\r\nconnection: close\r\n\r\n")?;
                let mut answer = String::new();
                c.read_to_string(&mut answer)?;
                Ok(answer)
            });
            if asked.is_ok_and(|a| a.starts_with("HTTP/1.1 200")) {
                break started.elapsed();
            }
            assert!(started.elapsed() < Duration::from_secs(20), "the tap did not answer /health");
            std::thread::sleep(Duration::from_micros(500));
        };
        child.kill().unwrap();
        child.wait().unwrap();
        answered
    };
    let mut runs: Vec<Duration> = (0..5).map(|_| run()).collect();
    runs.sort();
    runs[2]
}

fn verdict(ratio: f64, goal: f64) -> &'static str {
    if ratio >= goal { "meets" } else { "MISSES" }
}

fn print_times(native: &Figures, wasm: &Figures) {
    let signals = ["traces", "metrics", "logs"];
    let level = 1;
    println!("\nmedian time per request, us (native / wasm)");
    for kernel in ["gzip", "capture", "capture-decoding", "scan", "decode", "gunzip", "replay", "replay-decoding"] {
        let cells: Vec<String> = signals
            .iter()
            .map(|s| {
                format!("{s} {:.0} / {:.0}", nanos(native, kernel, s, level) / 1e3, nanos(wasm, kernel, s, level) / 1e3)
            })
            .collect();
        println!("  {kernel:<17} {}", cells.join("  "));
    }
}

fn main() {
    let native = run_native();
    let wasm = run_wasm(EngineOptions::default());
    let signals = ["traces", "metrics", "logs"];
    let level = 1;
    if std::env::var_os("COMPONENT_SPEED_PIPELINE_ONLY").is_some() {
        print_times(&native, &wasm);
        return;
    }
    let component = through_component(EngineOptions::default());

    println!("payloads (protobuf bytes, ~1000 items each):");
    for s in signals {
        println!("  {s:<8} {:>8} bytes", native[&("gzip".to_owned(), s.to_owned(), level)]["bytes"]);
    }
    println!("\ngoal: capture >= {CAPTURE_GOAL}x gzip alone (wasm, level {level}; in wasm, the two taking turns)");
    for s in signals {
        let gzip = nanos(&wasm, "gzip", s, level);
        let inside = nanos(&wasm, "capture", s, level);
        let api = component[&("capture", s)];
        println!(
            "  {s:<8} gzip {:>7.0} us  capture in wasm {:>7.0} us ({:.2}x {})  through the component {:>7.0} us ({:.2}x {})",
            gzip / 1e3,
            inside / 1e3,
            gzip / inside,
            verdict(gzip / inside, CAPTURE_GOAL),
            api / 1e3,
            gzip / api,
            verdict(gzip / api, CAPTURE_GOAL)
        );
    }
    println!("\ngoal: recording with the README's redaction rules >= 0.6x without rules (through the component)");
    for s in signals {
        let (plain, redacted) = (component[&("capture", s)], component[&("capture-redacted", s)]);
        println!(
            "  {s:<8} without rules {:>7.0} us  with rules {:>7.0} us  ({:.2}x {})",
            plain / 1e3,
            redacted / 1e3,
            plain / redacted,
            verdict(plain / redacted, 0.6)
        );
    }
    println!("\ngoal: replay transform >= 0.8x gunzip alone (wasm)");
    for s in signals {
        let gunzip = nanos(&wasm, "gunzip", s, level);
        let inside = nanos(&wasm, "replay", s, level);
        let api = component[&("replay", s)];
        println!(
            "  {s:<8} gunzip {:>7.0} us  replay in wasm {:>7.0} us ({:.2}x {})  through the component {:>7.0} us ({:.2}x {})",
            gunzip / 1e3,
            inside / 1e3,
            gunzip / inside,
            verdict(gunzip / inside, 0.8),
            api / 1e3,
            gunzip / api,
            verdict(gunzip / api, 0.8)
        );
    }
    println!("\ngoal: component code >= 0.7x native (native time / wasm time)");
    for kernel in ["capture", "replay", "gzip", "gunzip", "scan", "capture-decoding", "replay-decoding", "decode"] {
        let ratios: Vec<String> = signals
            .iter()
            .map(|s| {
                let r = nanos(&native, kernel, s, level) / nanos(&wasm, kernel, s, level);
                format!("{s} {r:.2}x")
            })
            .collect();
        println!("  {kernel:<17} {}", ratios.join("  "));
    }
    print_times(&native, &wasm);
    println!("\nwire-format path against decoding (time by decoding / time on the wire)");
    for (fast, slow) in [("capture", "capture-decoding"), ("replay", "replay-decoding"), ("scan", "decode")] {
        for (name, figures) in [("native", &native), ("wasm", &wasm)] {
            let ratios: Vec<String> = signals
                .iter()
                .map(|s| format!("{s} {:.2}x", nanos(figures, slow, s, level) / nanos(figures, fast, s, level)))
                .collect();
            println!("  {fast:<8} {name:<7} {}", ratios.join("  "));
        }
    }
    println!("\ngzip levels on traces, wasm (MB/s of protobuf in, compressed size, ratio)");
    for l in 0..=9 {
        let v = &wasm[&("gzip-level".to_owned(), "traces".to_owned(), l)];
        let n = &native[&("gzip-level".to_owned(), "traces".to_owned(), l)];
        println!(
            "  level {l}  wasm {:>6.0} MB/s  native {:>6.0} MB/s  {:>7} bytes  {:.1}:1",
            v["mb_per_s"].as_f64().unwrap(),
            n["mb_per_s"].as_f64().unwrap(),
            v["out_bytes"],
            v["bytes"].as_f64().unwrap() / v["out_bytes"].as_f64().unwrap()
        );
    }

    let zlib =
        |figures: &Figures, kernel: &str, l: u64| figures.get(&(kernel.to_owned(), "traces".to_owned(), l)).cloned();
    // Both examples are built with compare-zlib-rs by `make bench`; a hand-built one may lack it.
    if zlib(&wasm, "zlib-rs-level", 1).is_some() && zlib(&native, "zlib-rs-level", 1).is_some() {
        println!("\nfor the record: zlib-rs (gzip framing) on traces, wasm / native MB/s, compressed size");
        for l in 0..=9 {
            let (v, n) = (zlib(&wasm, "zlib-rs-level", l).unwrap(), zlib(&native, "zlib-rs-level", l).unwrap());
            println!(
                "  level {l}  wasm {:>6.0} MB/s  native {:>6.0} MB/s  {:>7} bytes",
                v["mb_per_s"].as_f64().unwrap(),
                n["mb_per_s"].as_f64().unwrap(),
                v["out_bytes"]
            );
        }
        let (v, n) = (zlib(&wasm, "zlib-rs-gunzip", 1).unwrap(), zlib(&native, "zlib-rs-gunzip", 1).unwrap());
        println!(
            "  gunzip   wasm {:>6.0} MB/s  native {:>6.0} MB/s (miniz_oxide: wasm {:.0}, native {:.0})",
            v["mb_per_s"].as_f64().unwrap(),
            n["mb_per_s"].as_f64().unwrap(),
            wasm[&("gunzip".to_owned(), "traces".to_owned(), 1)]["mb_per_s"].as_f64().unwrap(),
            native[&("gunzip".to_owned(), "traces".to_owned(), 1)]["mb_per_s"].as_f64().unwrap()
        );
    }

    let cache = tempfile::tempdir().unwrap();
    let uncached = session_list("off");
    let cached = session_list(cache.path().to_str().unwrap());
    println!(
        "\ngoal: component ready <= 50 ms from a cached compilation (a whole `session list`, median of 5)\n  \
         cached {:.1} ms ({}), cache off {:.1} ms (the compilation installed beside the binary)",
        cached.as_secs_f64() * 1e3,
        if cached <= Duration::from_millis(50) { "meets" } else { "MISSES" },
        uncached.as_secs_f64() * 1e3
    );

    // The embedded component loads the compilation installed beside the binary; one that differs by a custom section compiles.
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.wasm");
    let mut bytes = otlp_capture::runtime::EMBEDDED_COMPONENT.to_vec();
    bytes.extend_from_slice(b"\x00\x02\x01x");
    std::fs::write(&other, bytes).unwrap();
    let embedded = first_health(&[]);
    let compiled = first_health(&["--component", other.to_str().unwrap()]);
    println!(
        "\ngoal: first /health <= 50 ms with no cache (median of 5)\n  \
         installed compilation {:.1} ms ({}), compiled at start {:.1} ms",
        embedded.as_secs_f64() * 1e3,
        if embedded <= Duration::from_millis(50) { "meets" } else { "MISSES" },
        compiled.as_secs_f64() * 1e3
    );

    println!("\nengine options (capture of traces through the component)");
    let no_epoch = EngineOptions { epoch_interruption: false, ..EngineOptions::default() };
    let pooling = EngineOptions { pooling: true, ..EngineOptions::default() };
    let wasm_no_epoch = run_wasm(no_epoch);
    let component_no_epoch = through_component(no_epoch);
    let component_pooling = through_component(pooling);
    let with = component[&("capture", "traces")];
    println!(
        "  epoch checks: capture {:.0} us with, {:.0} us without ({:+.1}%); in-wasm capture {:+.1}%",
        with / 1e3,
        component_no_epoch[&("capture", "traces")] / 1e3,
        (with / component_no_epoch[&("capture", "traces")] - 1.0) * 100.0,
        (nanos(&wasm, "capture", "traces", level) / nanos(&wasm_no_epoch, "capture", "traces", level) - 1.0) * 100.0
    );
    println!(
        "  instantiate: {:.0} us on demand, {:.0} us pooled",
        component[&("instantiate", "-")] / 1e3,
        component_pooling[&("instantiate", "-")] / 1e3
    );
    println!(
        "  capture on a reused instance {:.0} us, on a fresh one {:.0} us (pooled: {:.0} us / {:.0} us)",
        with / 1e3,
        component[&("fresh-instance-capture", "traces")] / 1e3,
        component_pooling[&("capture", "traces")] / 1e3,
        component_pooling[&("fresh-instance-capture", "traces")] / 1e3
    );
}
