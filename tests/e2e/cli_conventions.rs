//! The command line as shell users meet it: a reader that closes the pipe
//! early ends a command quietly with exit 0, and reading a store that is
//! not there is an error that creates nothing; completions and the man
//! page come from the command line itself.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use otlp_capture_guest::codec::OtlpRequest;

use crate::support::generate;
use crate::support::processes::{binary, run_cli, run_cli_ok};
use crate::support::stored_sessions::write_session;

#[test]
fn a_closed_pipe_ends_a_command_with_exit_0() {
    let store = tempfile::tempdir().unwrap();
    // About 2 MB of OTLP/JSON: more than a pipe holds, so the writer meets the closed end.
    let objects = (0..30).map(|n| {
        let base = 1_700_000_000_000_000_000 + n * 1_000_000_000;
        (1_700_000_000_000 + n * 1000, OtlpRequest::Traces(generate::traces("checkout", 20, 10, base)))
    });
    write_session(store.path(), "big", objects);
    let store = store.path().to_str().unwrap();
    for args in [vec!["inspect", "big", "--store", store], vec!["session", "list", "--store", store]] {
        let mut child =
            Command::new(binary()).args(&args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        assert!(!first.is_empty(), "{args:?} printed a line");
        // Like `| head -1`: the reader is gone now.
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{args:?}: {:?} {stderr}", output.status);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn reading_a_store_that_is_not_there_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("otel-data");
    for args in [vec!["session", "list"], vec!["session", "show", "s1"], vec!["inspect", "s1"]] {
        let mut args = args;
        args.extend(["--store", missing.to_str().unwrap()]);
        let output = run_cli(&args, &[]);
        assert!(!output.status.success(), "{args:?}");
        assert!(String::from_utf8_lossy(&output.stderr).contains("no store at"), "{args:?}");
        assert!(!missing.exists(), "{args:?} created the store");
    }
}

#[test]
fn completions_and_the_man_page_come_from_the_command_line_itself() {
    let bash = run_cli_ok(&["generate", "bash"], &[]);
    assert!(bash.contains("otlp__capture") && bash.contains("replay") && bash.contains("--timestamps"), "{bash}");
    let zsh = run_cli_ok(&["generate", "zsh"], &[]);
    assert!(zsh.starts_with("#compdef otlp-capture"), "{zsh}");
    let man = run_cli_ok(&["generate", "man"], &[]);
    assert!(man.contains(".TH otlp-capture 1") && man.contains("serve"), "{man}");
    let refused = run_cli(&["generate", "tcsh"], &[]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("use bash, zsh"));
}

#[test]
fn a_perf_map_names_the_components_functions_for_profilers() {
    let store = tempfile::tempdir().unwrap();
    let tap = crate::support::processes::TapProcess::start(
        store.path().to_str().unwrap(),
        &[("OTLP_CAPTURE_PERF_MAP".into(), "1".into()), ("OTLP_CAPTURE_CACHE_DIR".into(), "off".into())],
    );
    let map = std::path::PathBuf::from(format!("/tmp/perf-{}.map", tap.pid()));
    let text = std::fs::read_to_string(&map).unwrap_or_default();
    let _ = std::fs::remove_file(&map);
    // `perf` reads lines of `START SIZE NAME`; the component's own functions are there by name.
    assert!(text.lines().all(|l| l.split(' ').count() >= 3), "{}", &text[..text.len().min(300)]);
    assert!(text.contains("otlp_capture_guest") && text.contains("zlib_rs"), "{}", &text[..text.len().min(300)]);
}

#[test]
fn the_embedded_component_starts_from_its_installed_compilation_and_another_is_compiled() {
    let store = tempfile::tempdir().unwrap();
    // `make build` installed the compilation; installing again finds it there.
    let installed = run_cli(&["generate", "compilation"], &[]);
    assert!(installed.status.success(), "{}", String::from_utf8_lossy(&installed.stderr));
    // run_cli sets OTLP_CAPTURE_LOG; the flag comes first.
    let env = [("OTLP_CAPTURE_CACHE_DIR".to_owned(), "off".to_owned())];
    let listed = run_cli(&["--log", "debug", "session", "list", "--store", store.path().to_str().unwrap()], &env);
    let log = String::from_utf8_lossy(&listed.stderr);
    assert!(listed.status.success() && log.contains("compilation installed beside the binary"), "{log}");
    // Another component (here the same with one more custom section) is compiled, as before.
    let mut other = otlp_capture::runtime::EMBEDDED_COMPONENT.to_vec();
    other.extend_from_slice(b"\x00\x02\x01x");
    let path = store.path().join("other.wasm");
    std::fs::write(&path, other).unwrap();
    let store_arg = store.path().to_str().unwrap();
    let args = ["--log", "debug", "session", "list", "--store", store_arg, "--component", path.to_str().unwrap()];
    let compiled = run_cli(&args, &env);
    let log = String::from_utf8_lossy(&compiled.stderr);
    assert!(compiled.status.success() && !log.contains("installed beside"), "{log}");
}
