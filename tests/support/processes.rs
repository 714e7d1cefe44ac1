//! Real processes on loopback: the otlp-capture binary as a tap, and the
//! s3s-fs S3 server. Both stop when dropped.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_otlp-capture");

/// Runs the binary with `args` and `env` to completion.
pub fn run_cli(args: &[&str], env: &[(String, String)]) -> Output {
    Command::new(BIN)
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

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

fn wait_for_port(port: u16, child: &mut Child, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited early: {status}");
        }
        assert!(Instant::now() < deadline, "{what} did not listen on port {port} in 20 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A running `otlp-capture serve`.
pub struct TapProcess {
    child: Child,
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

    /// Starts a tap with extra `serve` arguments.
    pub fn start_with(store: &str, env: &[(String, String)], args: &[&str]) -> Self {
        let port = free_port();
        let http = format!("127.0.0.1:{port}");
        let grpc_port = free_port();
        let grpc = format!("127.0.0.1:{grpc_port}");
        let mut child = Command::new(BIN)
            .args(["serve", "--store", store, "--http", &http, "--grpc", &grpc, "--refresh-seconds", "1"])
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
        wait_for_port(port, &mut child, "otlp-capture serve");
        wait_for_port(grpc_port, &mut child, "otlp-capture serve (gRPC)");
        TapProcess { child, base: format!("http://{http}"), grpc: format!("http://{grpc}"), log }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The tap's log lines so far.
    pub fn log(&self) -> Vec<String> {
        self.log.try_iter().collect()
    }

    /// Sends SIGTERM and waits for the exit; returns whether it exited 0.
    pub fn terminate(mut self) -> bool {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            assert!(Instant::now() < deadline, "the tap did not exit within 30 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
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
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .chain(std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo/bin")))
        .map(|dir| dir.join("s3s-fs"))
        .find(|p| p.is_file());
    found.expect("s3s-fs is not installed: `make test` installs it (cargo install s3s-fs --features binary)")
}

impl S3Server {
    /// Starts s3s-fs on a free loopback port, serving a fresh directory.
    pub fn start() -> Self {
        let root = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(root.path().join(BUCKET)).expect("bucket dir");
        let port = free_port();
        let child = Self::spawn(port, root.path());
        S3Server { child, port, endpoint: format!("http://127.0.0.1:{port}"), root }
    }

    fn spawn(port: u16, root: &Path) -> Child {
        let mut child = Command::new(s3s_fs())
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start s3s-fs");
        wait_for_port(port, &mut child, "s3s-fs");
        child
    }

    /// Stops the server (an outage); its data stays.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same port and data.
    pub fn restart(&mut self) {
        self.child = Self::spawn(self.port, self.root.path());
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
