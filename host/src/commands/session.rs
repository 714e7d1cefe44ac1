//! `otlp-capture session start|stop|list|show|delete|prune`: start and
//! stop talk to a running tap's control API; the others read or change the
//! store (delete --force stops an active session through its tap first).

use anyhow::{Context, bail};

use std::time::{SystemTime, UNIX_EPOCH};

use super::{open_store, output};
use crate::cli::{InvalidArgs, SessionFilterArgs, StartArgs, StoreArgs, TapArgs};
use crate::control::StartRequest;
use crate::otlp::Signal;
use crate::phases::{self, MarkRequest};
use crate::retention::{self, PruneRule};
use crate::session::SessionStatus;
use crate::session_pick;

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
        max_size_mb: args.max_size_mib,
        max_duration_minutes: args.max_duration.map(|d| d.as_secs_f64() / 60.0).or(args.max_duration_minutes),
        gzip_level: args.gzip_level,
        redaction: args.redaction.as_deref().map(read_rules).transpose()?,
    })
}

/// The redaction rules in the JSON file at `path`; an unreadable file or
/// one that is not a JSON object is a usage error (exit 2).
fn read_rules(path: &std::path::Path) -> anyhow::Result<serde_json::Value> {
    let text =
        std::fs::read_to_string(path).map_err(|e| InvalidArgs(format!("--redaction {}: {e}", path.display())))?;
    match serde_json::from_str(&text) {
        Ok(rules @ serde_json::Value::Object(_)) => Ok(rules),
        Ok(_) => Err(InvalidArgs(format!("--redaction {}: the rules must be a JSON object", path.display())).into()),
        Err(e) => Err(InvalidArgs(format!("--redaction {}: {e}", path.display())).into()),
    }
}

/// Starts a session on the tap and prints its metadata.
pub async fn start(args: &StartArgs) -> anyhow::Result<()> {
    let request = start_request(args)?;
    // Checked here too, so a number out of range is refused before any tap is asked (exit 2).
    request.clone().into_config().map_err(|e| InvalidArgs(e.to_string()))?;
    let url = format!("{}/api/capture/sessions", args.tap.url());
    let response = authorized(client(&args.tap)?.post(&url), &args.tap).json(&request).send().await;
    print_answer(response, &url).await
}

/// Stops a session on the tap and prints its final metadata.
pub async fn stop(id: &str, tap: &TapArgs) -> anyhow::Result<()> {
    let url = format!("{}/api/capture/sessions/{id}", tap.url());
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

/// Prints the tap's JSON answer as it came (metadata in the order it is
/// stored), or fails with its error.
async fn print_answer(response: reqwest::Result<reqwest::Response>, url: &str) -> anyhow::Result<()> {
    let response = response.with_context(|| format!("cannot reach the tap at {url}"))?;
    let status = response.status();
    let text = response.text().await.with_context(|| format!("{url} answered {status} without a body"))?;
    let body: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{url} answered {status} without JSON"))?;
    if !status.is_success() {
        let message = body.get("error").and_then(|e| e.as_str()).unwrap_or("no message");
        bail!("{status}: {message}");
    }
    output::line(text.trim_end())?;
    Ok(())
}

/// Prints one line per session in the store that passes the filter (or,
/// with `json`, their metadata as one document).
pub async fn list(store: &StoreArgs, filter: &SessionFilterArgs, json: bool) -> anyhow::Result<()> {
    let open = open_store(store)?;
    let sessions = session_pick::list(&open.catalog, &filter.filter()).await?;
    if json {
        let mut rendered = Vec::with_capacity(sessions.len());
        for state in sessions {
            rendered.push(open.catalog.render_text(state).await?);
        }
        output::line(format_args!("{{\"sessions\": [{}]}}", rendered.join(", ")))?;
        return Ok(());
    }
    output::line(format_args!(
        "{:<32} {:<10} {:<24} {:>8} {:>10} {:>10} {:>10} {:>12}",
        "SESSION", "STATUS", "STARTED", "OBJECTS", "SPANS", "POINTS", "LOGS", "BYTES"
    ))?;
    for state in sessions {
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

/// Prints a session's metadata.json as stored; with `--tap`, as that tap
/// answers it (live counts of an active session, no local store needed).
pub async fn show(id: &str, store: &StoreArgs, filter: &SessionFilterArgs, tap: &TapArgs) -> anyhow::Result<()> {
    if tap.tap.is_some() {
        let url = format!("{}/api/capture/sessions/{id}", tap.url());
        let response = authorized(client(tap)?.get(&url), tap).send().await;
        return print_answer(response, &url).await;
    }
    let open = open_store(store)?;
    let id = session_pick::resolve(&open.catalog, id, &filter.filter()).await?;
    let key = open.catalog.metadata_key(&id).await?;
    let document =
        open.catalog.storage().get(&key).await?.with_context(|| format!("no session {id} in {}", store.store))?;
    // Read through the component first: a document it cannot read is reported, not printed.
    open.catalog.parse(document.clone()).await?;
    output::line(String::from_utf8_lossy(&document).trim_end())?;
    Ok(())
}

/// What `session mark` was asked.
pub struct MarkArgs<'a> {
    /// The session id or picker.
    pub id: &'a str,
    /// The phase.
    pub request: MarkRequest,
    /// Where the session is stored.
    pub store: &'a StoreArgs,
    /// Which sessions a picker chooses from.
    pub filter: &'a SessionFilterArgs,
    /// The tap recording it, when active.
    pub tap: &'a TapArgs,
}

/// `session mark`: through the tap while the session is active (the tap
/// keeps the phase through its refreshes), on the store directly once it
/// has stopped. With `--tap`, that tap marks it in its own store, active
/// or not, so no local store is needed. Prints the metadata.
pub async fn mark(args: MarkArgs<'_>) -> anyhow::Result<()> {
    let through_tap = |id: &str| {
        let url = format!("{}/api/capture/sessions/{id}/phases", args.tap.url());
        let request = client(args.tap).map(|c| authorized(c.post(&url), args.tap).json(&args.request));
        (url, request)
    };
    if args.tap.tap.is_some() {
        let (url, request) = through_tap(args.id);
        return print_answer(request?.send().await, &url).await;
    }
    let open = open_store(args.store)?;
    let id = session_pick::resolve(&open.catalog, args.id, &args.filter.filter()).await?;
    let state = open.catalog.get(&id).await?.with_context(|| format!("no session {id} in {}", args.store.store))?;
    if state.status == SessionStatus::Active {
        let (url, request) = through_tap(&id);
        return print_answer(request?.send().await, &url).await;
    }
    let now = u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos()).unwrap_or(u64::MAX);
    let state = phases::mark(&open.catalog, &id, args.request.into_phase(now)?).await?;
    output::line(open.catalog.render_text(state).await?.trim_end())?;
    Ok(())
}

/// `session delete`: a stopped session, or with `force` an active one
/// stopped through its tap first.
pub async fn delete(
    id: &str,
    store: &StoreArgs,
    filter: &SessionFilterArgs,
    force: bool,
    tap: &TapArgs,
) -> anyhow::Result<()> {
    let open = open_store(store)?;
    let id = session_pick::resolve(&open.catalog, id, &filter.filter()).await?;
    let state = open.catalog.get(&id).await?.with_context(|| format!("no session {id} in {}", store.store))?;
    let deleted = if state.status == SessionStatus::Active && force {
        let url = format!("{}/api/capture/sessions/{id}", tap.url());
        let response = authorized(client(tap)?.delete(&url), tap).send().await;
        let response = response.with_context(|| format!("--force: cannot reach the tap at {url} to stop {id}"))?;
        match response.status() {
            status if status.is_success() => retention::delete(&open.catalog, &id).await?,
            reqwest::StatusCode::NOT_FOUND => {
                eprintln!("note: the tap at {} does not hold {id}; deleting it as stored", tap.url());
                retention::delete_stored(&open.catalog, &id).await?
            }
            status => bail!("--force: the tap at {url} answered {status} to stopping {id}"),
        }
    } else {
        retention::delete(&open.catalog, &id).await?
    };
    audit_local("session.delete", &id);
    output::line(serde_json::to_string(&deleted)?)?;
    Ok(())
}

/// `session prune`: prints one line per session deleted (or, with
/// `dry_run`, that would be), then a total.
pub async fn prune(store: &StoreArgs, rule: PruneRule, dry_run: bool) -> anyhow::Result<()> {
    let open = open_store(store)?;
    let now = u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos()).unwrap_or(u64::MAX);
    let deleted = retention::prune(&open.catalog, rule, now, dry_run).await?;
    let verb = if dry_run { "would delete" } else { "deleted" };
    if !dry_run {
        for d in &deleted {
            audit_local("session.prune", &d.session_id);
        }
    }
    for d in &deleted {
        output::line(format_args!("{verb} {} ({} objects, {} bytes)", d.session_id, d.objects, d.bytes))?;
    }
    let bytes: u64 = deleted.iter().map(|d| d.bytes).sum();
    output::line(format_args!("{verb} {} sessions, {bytes} bytes", deleted.len()))?;
    Ok(())
}

/// The audit line of an action the command line takes on the store itself
/// (no tap, so no peer: the store's own credentials admitted it).
fn audit_local(action: &str, session: &str) {
    tracing::info!(target: "otlp_capture::audit", action, session, peer = "local", credential = "store", "control action");
}
