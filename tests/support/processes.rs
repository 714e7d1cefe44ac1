//! Real processes on loopback: the otlp-capture binary as a tap, and the
//! s3s-fs S3 server. Both stop when dropped. The tap binds port 0 and the
//! test reads its ports from its "ready" line, so no two tests race for a
//! port.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::wait;

/// The workspace's root folder.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The binary under test: `target/<profile>/otlp-capture`, beside the
/// `deps/` folder the test or bench executable runs from
/// (`OTLP_CAPTURE_BIN` overrides).
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("OTLP_CAPTURE_BIN") {
        return path.into();
    }
    let exe = std::env::current_exe().expect("the test's own path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("a test executable under target/<profile>/deps");
    let bin = profile_dir.join("otlp-capture");
    assert!(bin.is_file(), "{} is not built (cargo builds it for the host's tests and benches)", bin.display());
    bin
}

/// Runs the binary with `args` and `env` to completion.
pub fn run_cli(args: &[&str], env: &[(String, String)]) -> Output {
    Command::new(binary())
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("OTLP_CAPTURE_LOG", "warn")
        .output()
        .expect("run otlp-capture")
}

/// Runs the binary and returns its stdout, failing the test on a non-zero exit.
pub fn run_cli_ok(args: &[&str], env: &[(String, String)]) -> String {
    let output = run_cli(args, env);
    assert!(
        output.status.success(),
        "otlp-capture {args:?} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}

/// A port on 127.0.0.1 that was free a moment ago, for servers that cannot
/// bind port 0 and say which port they got (s3s-fs); see [`S3Server::start`].
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// Waits until `port` accepts connections; `false` when `child` exited first.
fn wait_for_port(port: u16, child: &mut Child, what: &str) -> bool {
    wait::until(&format!("{what} listening on port {port}"), Duration::from_secs(20), || {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(true);
        }
        matches!(child.try_wait(), Ok(Some(_))).then_some(false)
    })
}

/// `http=ADDR` or `grpc=ADDR` out of the tap's ready line.
fn address_in(line: &str, field: &str) -> Option<String> {
    let plain: String = strip_ansi(line);
    let start = plain.find(&format!("{field}="))? + field.len() + 1;
    let rest = &plain[start..];
    Some(rest.split_whitespace().next()?.to_owned())
}

fn strip_ansi(line: &str) -> String {
    let mut plain = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // An escape sequence runs to its final letter.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

/// CPU seconds (user + system) process `pid` has used, from /proc (Linux).
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/PID/stat");
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let after = &stat[stat.rfind(')').expect("a command name") + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().expect("utime") + fields[12].parse::<f64>().expect("stime");
    // Linux reports these in USER_HZ, 100 per second on every mainstream architecture.
    ticks / 100.0
}

/// Where and how a tap process is started, besides its arguments.
#[derive(Debug, Clone, Copy, Default)]
pub struct Launch<'a> {
    /// The working directory (a fresh temporary one when `None`, so its
    /// default spool is its own); taps given one directory share it.
    pub workdir: Option<&'a Path>,
    /// The file mode creation mask to start under (`000` to show the tap
    /// keeps its files private itself); the shell's when `None`.
    pub umask: Option<&'a str>,
}

/// A running `otlp-capture serve`.
pub struct TapProcess {
    child: Child,
    /// The tap's own working directory, when it was not given one.
    _workdir: Option<tempfile::TempDir>,
    /// `http://127.0.0.1:PORT`: OTLP/HTTP and the control API.
    pub base: String,
    /// `http://127.0.0.1:PORT`: OTLP/gRPC.
    pub grpc: String,
    log: mpsc::Receiver<String>,
}

impl TapProcess {
    /// Starts a tap on `store` with extra environment `env`.
    pub fn start(store: &str, env: &[(String, String)]) -> Self {
        Self::start_with(store, env, &[])
    }

    /// Starts a tap with extra `serve` arguments, on ports it chooses.
    pub fn start_with(store: &str, env: &[(String, String)], args: &[&str]) -> Self {
        Self::launch(store, env, args, Launch::default())
    }

    /// Starts a tap as `launch` says, with extra `serve` arguments.
    pub fn launch(store: &str, env: &[(String, String)], args: &[&str], launch: Launch<'_>) -> Self {
        let own_workdir = match launch.workdir {
            Some(_) => None,
            None => Some(tempfile::tempdir().expect("a working directory for the tap")),
        };
        let workdir =
            launch.workdir.or(own_workdir.as_ref().map(tempfile::TempDir::path)).expect("a working directory");
        let mut command = match launch.umask {
            // The shell sets the mask and then becomes the tap, so the pid is the tap's.
            Some(mask) => {
                let mut shell = Command::new("sh");
                shell.args(["-c", &format!("umask {mask} && exec \"$0\" \"$@\"")]).arg(binary());
                shell
            }
            None => Command::new(binary()),
        };
        let mut child = command
            .current_dir(workdir)
            .args([
                "serve",
                "--store",
                store,
                "--http",
                "127.0.0.1:0",
                "--grpc",
                "127.0.0.1:0",
                "--refresh-interval",
                "1s",
            ])
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("OTLP_CAPTURE_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start otlp-capture serve");
        let (sender, log) = mpsc::channel();
        if let Some(stderr) = child.stderr.take() {
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    let _ = sender.send(line);
                }
            });
        }
        let mut early = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let ready = wait::until("otlp-capture serve ready", Duration::from_secs(21), || {
            for line in log.try_iter() {
                if line.contains("tap ready") {
                    return Some(line);
                }
                early.push(line);
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("otlp-capture serve exited early ({status}):\n{}", early.join("\n"));
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the tap was not ready within 20s; its log:\n{}",
                early.join("\n")
            );
            None
        });
        let http = address_in(&ready, "http").expect("the ready line names the HTTP address");
        let grpc = address_in(&ready, "grpc").expect("the ready line names the gRPC address");
        TapProcess { child, _workdir: own_workdir, base: format!("http://{http}"), grpc: format!("http://{grpc}"), log }
    }

    /// A metric of the tap's /metrics, summed over its label sets (so a
    /// per-signal counter gives its total); panics when the tap has none.
    pub fn metric(&self, name: &str) -> u64 {
        let text =
            reqwest::blocking::get(format!("{}/metrics", self.base)).and_then(|r| r.text()).expect("GET /metrics");
        let values: Vec<u64> = text
            .lines()
            .filter(|l| l.strip_prefix(name).is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{')))
            .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
            .collect();
        assert!(!values.is_empty(), "{name} missing from /metrics");
        values.iter().sum()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The tap's log lines so far.
    pub fn log(&self) -> Vec<String> {
        self.log.try_iter().collect()
    }

    /// Kills the tap with SIGKILL, as a crash or an OOM killer would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits for the exit; returns whether it exited 0.
    pub fn terminate(self) -> bool {
        self.send_sigterm();
        self.wait_exit(Duration::from_secs(40))
    }

    /// Sends SIGTERM without waiting.
    pub fn send_sigterm(&self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
    }

    /// Whether the tap has exited.
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Waits up to `limit` for the tap to exit; returns whether it exited 0.
    pub fn wait_exit(mut self, limit: Duration) -> bool {
        wait::until("the tap's exit", limit, || self.child.try_wait().ok().flatten().map(|status| status.success()))
    }
}

impl Drop for TapProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real S3 server (s3s-fs) on 127.0.0.1 with one bucket, `otel-data`.
pub struct S3Server {
    child: Child,
    port: u16,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    root: tempfile::TempDir,
}

/// The bucket the S3 tests use.
pub const BUCKET: &str = "otel-data";
const ACCESS_KEY: &str = "otlp-capture-test";
const SECRET_KEY: &str = "otlp-capture-test-secret";

fn s3s_fs() -> PathBuf {
    if let Some(path) = std::env::var_os("S3S_FS") {
        return path.into();
    }
    installed("s3s-fs")
        .expect("s3s-fs is not installed: `make test` installs it (cargo install s3s-fs --features binary)")
}

/// A program on PATH or in cargo's bin directory (where `cargo install` puts
/// it, even when that is not on PATH).
pub fn installed(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .chain(std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo/bin")))
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

impl S3Server {
    /// Starts s3s-fs on a free loopback port, serving a fresh directory.
    /// s3s-fs cannot bind port 0, so a port another process took in the
    /// meantime is answered by trying another (five times at most).
    pub fn start() -> Self {
        let root = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(root.path().join(BUCKET)).expect("bucket dir");
        for _ in 0..5 {
            let port = free_port();
            if let Some(child) = Self::spawn(port, root.path()) {
                return S3Server { child, port, endpoint: format!("http://127.0.0.1:{port}"), root };
            }
        }
        panic!("s3s-fs did not start on any of five free ports");
    }

    /// s3s-fs serving `root` on `port`; `None` when it exited (the port was taken).
    fn spawn(port: u16, root: &Path) -> Option<Child> {
        let mut child = Command::new(s3s_fs())
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start s3s-fs");
        wait_for_port(port, &mut child, "s3s-fs").then_some(child)
    }

    /// Stops the server (an outage); its data stays.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same port and data.
    pub fn restart(&mut self) {
        self.child = Self::spawn(self.port, self.root.path()).expect("s3s-fs restarts on its port");
    }

    /// The AWS environment a client of this server needs.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
            ("AWS_REGION", "us-east-1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// The directory s3s-fs keeps the bucket's objects in, one file per key.
    pub fn bucket_dir(&self) -> PathBuf {
        self.root.path().join(BUCKET)
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real S3 server with atomic conditional writes (moto, in Python) on
/// 127.0.0.1 with one bucket, `otel-data`; its objects live in its memory,
/// so tests read them back through the S3 API (the CLI).
pub struct MotoServer {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

impl MotoServer {
    /// Starts moto's server on a free loopback port and creates the bucket.
    pub fn start() -> Self {
        for _ in 0..5 {
            let port = free_port();
            let mut child = Command::new("python3")
                .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect(
                    "python3 -m moto.server: `make test` installs moto (pip install \"moto[s3]\" flask flask-cors)",
                );
            if wait_for_port(port, &mut child, "moto") {
                let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("moto accepts");
                let request = format!(
                    "PUT /{BUCKET} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                std::io::Write::write_all(&mut stream, request.as_bytes()).expect("create the bucket");
                let mut answer = String::new();
                let _ = std::io::Read::read_to_string(&mut stream, &mut answer);
                assert!(answer.starts_with("HTTP/1.1 200"), "moto did not create the bucket: {answer}");
                return MotoServer { child, endpoint: format!("http://127.0.0.1:{port}") };
            }
        }
        panic!("moto did not start on any of five free ports");
    }

    /// The AWS environment a client of this server needs.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The two independent wasi:http hosts the proxy is run under, neither of
/// them ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpHost {
    /// `wasmtime serve` (wasmtime-cli, installed by `make test-proxy`); the
    /// guest's environment is what `--env` gives it.
    Wasmtime,
    /// `jco serve` in Node (tests/jco, installed by `make test`): the
    /// component transpiled to JavaScript on preview2-shim, whose
    /// wasi:cli/environment is the Node process's own environment.
    Jco,
}

/// A wasi:http host serving a component on a free loopback port.
pub struct HttpServe {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    stderr: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl HttpServe {
    /// Serves `component` under `host` with the environment `env` (given to
    /// the guest, which reads it through wasi:cli/environment).
    pub fn start(host: HttpHost, component: &Path, env: &[(String, String)]) -> Self {
        for _ in 0..5 {
            let port = free_port();
            let mut command = match host {
                HttpHost::Wasmtime => {
                    let wasmtime = installed("wasmtime").expect(
                        "wasmtime is not installed: `make test-proxy` installs it (cargo install wasmtime-cli)",
                    );
                    let mut command = Command::new(wasmtime);
                    command.args(["serve", "--addr", &format!("127.0.0.1:{port}"), "-S", "cli"]);
                    for (name, value) in env {
                        command.arg("--env").arg(format!("{name}={value}"));
                    }
                    command.arg(component);
                    command
                }
                HttpHost::Jco => {
                    let jco = workspace().join("tests/jco/node_modules/@bytecodealliance/jco/dist/jco.js");
                    assert!(jco.is_file(), "jco is not installed: `make test` runs npm ci in tests/jco");
                    let mut command = Command::new("node");
                    command.arg(jco).arg("serve").arg(component);
                    command.args(["--host", "127.0.0.1", "--port", &port.to_string()]);
                    command.envs(env.iter().map(|(k, v)| (k, v)));
                    command
                }
            };
            let mut child =
                command.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("start the wasi:http host");
            let stderr = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let lines = stderr.clone();
            let pipe = child.stderr.take().expect("piped stderr");
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    lines.lock().expect("stderr lines").push(line);
                }
            });
            if wait_for_port(port, &mut child, &format!("{host:?} serve")) {
                return HttpServe { child, base: format!("http://127.0.0.1:{port}"), stderr };
            }
        }
        panic!("{host:?} serve did not start on any of five free ports");
    }

    /// What the host and the guest wrote to stderr so far.
    pub fn log(&self) -> Vec<String> {
        self.stderr.lock().expect("stderr lines").clone()
    }
}

impl Drop for HttpServe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
