//! `otlp-capture session start|stop|list|show`: start and stop talk to a
//! running tap's control API; list and show read the store.

use anyhow::{Context, bail};

use super::{open_store, output};
use crate::cli::{StartArgs, StoreArgs, TapArgs};
use crate::control::StartRequest;
use crate::otlp::Signal;

/// The control API request for `session start`'s arguments.
pub fn start_request(args: &StartArgs) -> anyhow::Result<StartRequest> {
    let signals: Vec<Signal> =
        args.signals.iter().map(|s| s.parse()).collect::<Result<_, String>>().map_err(anyhow::Error::msg)?;
    Ok(StartRequest {
        session_id: args.id.clone(),
        diagnostic_session_id: args.diagnostic_session.clone(),
        description: args.description.clone(),
        enabled_flags: Some(args.flags.clone()),
        capture_traces: Some(signals.contains(&Signal::Traces)),
        capture_metrics: Some(signals.contains(&Signal::Metrics)),
        capture_logs: Some(signals.contains(&Signal::Logs)),
        sample_ratio: Some(args.sample_ratio),
        created_by: args.created_by.clone().or_else(|| std::env::var("USER").ok()),
        max_size_mb: args.max_size_mb,
        max_duration_minutes: args.max_duration_minutes,
        gzip_level: args.gzip_level,
    })
}

/// Starts a session on the tap and prints its metadata.
pub async fn start(args: &StartArgs) -> anyhow::Result<()> {
    let request = start_request(args)?;
    let url = format!("{}/api/capture/sessions", args.tap.tap.trim_end_matches('/'));
    let response = authorized(client(&args.tap)?.post(&url), &args.tap).json(&request).send().await;
    print_answer(response, &url).await
}

/// Stops a session on the tap and prints its final metadata.
pub async fn stop(id: &str, tap: &TapArgs) -> anyhow::Result<()> {
    let url = format!("{}/api/capture/sessions/{id}", tap.tap.trim_end_matches('/'));
    let response = authorized(client(tap)?.delete(&url), tap).send().await;
    print_answer(response, &url).await
}

/// A client for the tap's control API, trusting `--ca-file` besides the system's roots.
fn client(tap: &TapArgs) -> anyhow::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder();
    if let Some(path) = &tap.ca_file {
        let pem = std::fs::read(path).with_context(|| format!("--ca-file {}", path.display()))?;
        let roots =
            reqwest::Certificate::from_pem_bundle(&pem).with_context(|| format!("--ca-file {}", path.display()))?;
        builder = builder.tls_certs_merge(roots);
    }
    Ok(builder.build()?)
}

/// Adds the control token, when one was given.
fn authorized(request: reqwest::RequestBuilder, tap: &TapArgs) -> reqwest::RequestBuilder {
    match tap.control_token.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(token) => request.bearer_auth(token),
        None => request,
    }
}

async fn print_answer(response: reqwest::Result<reqwest::Response>, url: &str) -> anyhow::Result<()> {
    let response = response.with_context(|| format!("cannot reach the tap at {url}"))?;
    let status = response.status();
    let body: serde_json::Value =
        response.json().await.with_context(|| format!("{url} answered {status} without JSON"))?;
    if !status.is_success() {
        let message = body.get("error").and_then(|e| e.as_str()).unwrap_or("no message");
        bail!("{status}: {message}");
    }
    output::line(serde_json::to_string_pretty(&body)?)?;
    Ok(())
}

/// Prints one line per session in the store.
pub async fn list(store: &StoreArgs) -> anyhow::Result<()> {
    let open = open_store(store)?;
    output::line(format_args!(
        "{:<32} {:<10} {:<24} {:>8} {:>10} {:>10} {:>10} {:>12}",
        "SESSION", "STATUS", "STARTED", "OBJECTS", "SPANS", "POINTS", "LOGS", "BYTES"
    ))?;
    for state in open.catalog.list().await? {
        let metadata = open.catalog.render(state.clone()).await?;
        let c = &state.counts;
        output::line(format_args!(
            "{:<32} {:<10} {:<24} {:>8} {:>10} {:>10} {:>10} {:>12}",
            state.id(),
            metadata["status"].as_str().unwrap_or("?"),
            metadata["startTime"].as_str().unwrap_or("?"),
            c.objects(),
            c.spans,
            c.data_points,
            c.log_records,
            c.compressed_bytes,
        ))?;
    }
    Ok(())
}

/// Prints a session's metadata.json.
pub async fn show(id: &str, store: &StoreArgs) -> anyhow::Result<()> {
    let open = open_store(store)?;
    let state = open.catalog.get(id).await?.with_context(|| format!("no session {id} in {}", store.store))?;
    output::line(serde_json::to_string_pretty(&open.catalog.render(state).await?)?)?;
    Ok(())
}
