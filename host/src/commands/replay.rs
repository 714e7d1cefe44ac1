//! `otlp-capture replay`: a session from the store to an OTLP endpoint,
//! with a progress bar on a terminal and a one-line summary.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::bail;
use indicatif::{ProgressBar, ProgressStyle};

use super::{OpenStore, open_store_with, output};
use crate::cli::{InvalidArgs, ReplayArgs};
use crate::config::env_timeout;
use crate::exporters::headers;
use crate::exporters::per_signal::SignalExporters;
use crate::exporters::tls::ClientTlsFiles;
use crate::otlp::Signal;
use crate::replay::settings::{DEFAULT_CONCURRENCY, Timeout};
use crate::replay::{self, ReplayChoices, ReplayCounts, ReplaySettings, plan};
use crate::{phases, session_pick};

/// Runs `replay`.
pub async fn run(args: &ReplayArgs) -> anyhow::Result<()> {
    // As many instances as requests in flight, up to the cores: preparing is the replay's CPU work.
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let flags = args.flags.choices();
    let instances = flags.concurrency.unwrap_or(DEFAULT_CONCURRENCY).clamp(1, cores);
    let open = open_store_with(&args.store, instances)?;
    let id = session_pick::resolve(&open.catalog, &args.id, &args.filter.filter()).await?;
    let choices = with_environment(&flags)?;
    let mut settings = ReplaySettings::choose(&id, &choices).map_err(InvalidArgs)?;
    if let Some(phase) = &args.phase {
        let state = open.catalog.get(&id).await?.ok_or_else(|| anyhow::anyhow!("no session {id} in the store"))?;
        let (from, to) = phases::window(&state, phase)?;
        settings.narrow_window(from, to);
    }
    // The SDK's variable, under the flags: only the command line reads the environment.
    if let Ok(list) = std::env::var("OTEL_EXPORTER_OTLP_HEADERS") {
        let from_env = headers::parse_list(&list).map_err(|e| anyhow::anyhow!("OTEL_EXPORTER_OTLP_HEADERS: {e}"))?;
        for (name, value) in &from_env {
            if !settings.headers.contains_key(name) {
                settings.headers.append(name.clone(), value.clone());
            }
        }
    }
    let tls = ClientTlsFiles {
        ca: args.ca_file.clone(),
        client_certificate: args.client_cert.clone(),
        client_key: args.client_key.clone(),
    };
    settings.tls = tls.or_from_env().load().map_err(|e| anyhow::anyhow!("TLS: {e}"))?;
    let endpoint = args
        .endpoint
        .clone()
        .or_else(|| std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok().filter(|e| !e.trim().is_empty()));
    if endpoint.is_none() {
        keep_signals_with_endpoints(&mut settings, flags.signals.is_some())?;
    }
    let exporter = signal_exporters(&settings, endpoint.as_deref(), args.endpoint.is_some(), &flags)?;
    if args.dry_run {
        return dry_run(&open, &settings).await;
    }
    let bar = if std::io::stderr().is_terminal() { ProgressBar::new(0) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} objects {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let progress_bar = bar.clone();
    let progress = move |c: &ReplayCounts| {
        progress_bar.set_length(c.objects_planned);
        progress_bar.set_position(c.objects_sent + c.objects_skipped + c.objects_failed);
        progress_bar.set_message(format!(
            "{} spans, {} points, {} logs, {} retries",
            c.spans, c.data_points, c.log_records, c.retries
        ));
    };
    let report = replay::run(&open.catalog, &open.pool, &exporter, &settings, &progress).await?;
    bar.finish_and_clear();
    if report.session_was_active {
        eprintln!("note: session {id} is still marked active (its tap may have stopped); replayed what is stored");
    }
    for failure in &report.failures {
        eprintln!("not delivered: {failure}");
    }
    output::line(format_args!("replayed {id} to {}: {}", exporter.describe(), report.summary_line()))?;
    if !report.delivered_all() {
        let failed = report.counts.objects_failed.max(report.failures.len() as u64);
        match report.failures.last() {
            Some(last) => bail!("{failed} objects were not delivered; the last: {last}"),
            None => bail!("{failed} objects were not delivered"),
        }
    }
    Ok(())
}

/// A signal's own endpoint variable (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`...), when set.
fn own_endpoint(signal: Signal) -> Option<String> {
    let variable = format!("OTEL_EXPORTER_OTLP_{}_ENDPOINT", signal.name().to_ascii_uppercase());
    std::env::var(variable).ok().filter(|v| !v.trim().is_empty())
}

/// With no shared endpoint, only signals with their own endpoint variable
/// can be sent: the others are left out with a note, or refused when the
/// user asked for them with `--signals`.
fn keep_signals_with_endpoints(settings: &mut ReplaySettings, asked: bool) -> anyhow::Result<()> {
    let (kept, missing): (Vec<Signal>, Vec<Signal>) =
        settings.signals.iter().partition(|signal| own_endpoint(**signal).is_some());
    let names = |signals: &[Signal]| signals.iter().map(|s| s.name()).collect::<Vec<_>>().join(", ");
    if kept.is_empty() {
        return Err(InvalidArgs(
            "pass --endpoint or set OTEL_EXPORTER_OTLP_ENDPOINT (or a signal's own, such as OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)"
                .into(),
        )
        .into());
    }
    if !missing.is_empty() {
        let which = names(&missing);
        if asked {
            return Err(InvalidArgs(format!(
                "--signals asks for {which}, which has no endpoint: pass --endpoint or set OTEL_EXPORTER_OTLP_ENDPOINT \
                 or its own OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT"
            ))
            .into());
        }
        eprintln!(
            "note: no endpoint for {which} (no --endpoint, OTEL_EXPORTER_OTLP_ENDPOINT or its own variable): not replayed"
        );
    }
    settings.signals = kept;
    Ok(())
}

/// The exporters of each signal: the shared one to `endpoint`, and one of its
/// own for a signal that `OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_*`
/// variables configure (an endpoint there is the signal's whole URL and
/// applies unless `--endpoint` was given; its headers join the shared ones;
/// its protocol, timeout and compression apply unless flags set them; its
/// certificate files replace the shared ones).
fn signal_exporters(
    settings: &ReplaySettings,
    endpoint: Option<&str>,
    endpoint_flag: bool,
    flags: &ReplayChoices,
) -> anyhow::Result<SignalExporters> {
    let shared = match endpoint {
        Some(endpoint) => Some(settings.exporter(endpoint).map_err(anyhow::Error::msg)?),
        None => None,
    };
    let mut own_exporters = Vec::new();
    for signal in Signal::ALL {
        let prefix = format!("OTEL_EXPORTER_OTLP_{}_", signal.name().to_ascii_uppercase());
        let variable = |name: &str| std::env::var(format!("{prefix}{name}")).ok().filter(|v| !v.trim().is_empty());
        let names = ["ENDPOINT", "PROTOCOL", "HEADERS", "TIMEOUT", "COMPRESSION", "CERTIFICATE", "CLIENT_CERTIFICATE"];
        if names.iter().all(|name| variable(name).is_none()) {
            continue;
        }
        let fail = |name: &str, e: String| anyhow::anyhow!("{prefix}{name}: {e}");
        let mut own = settings.clone();
        if let (None, Some(protocol)) = (flags.protocol, variable("PROTOCOL")) {
            own.protocol = protocol.parse().map_err(|e| fail("PROTOCOL", e))?;
        }
        if let Some(list) = variable("HEADERS") {
            for (name, value) in &headers::parse_list(&list).map_err(|e| fail("HEADERS", e))? {
                own.headers.insert(name.clone(), value.clone());
            }
        }
        if let (None, Some(timeout)) = (flags.timeout, env_timeout(&format!("{prefix}TIMEOUT"))) {
            own.timeout = timeout.map_err(anyhow::Error::msg)?;
        }
        if let (None, Some(compression)) = (flags.compression, variable("COMPRESSION")) {
            own.compression = compression.parse().map_err(|e| fail("COMPRESSION", e))?;
        }
        if variable("CERTIFICATE").is_some() || variable("CLIENT_CERTIFICATE").is_some() {
            let path = |name: &str| variable(name).map(std::path::PathBuf::from);
            let files = ClientTlsFiles {
                ca: path("CERTIFICATE"),
                client_certificate: path("CLIENT_CERTIFICATE"),
                client_key: path("CLIENT_KEY"),
            };
            own.tls = files.load().map_err(|e| fail("CERTIFICATE", e))?;
        }
        let exporter = match (variable("ENDPOINT").filter(|_| !endpoint_flag), endpoint) {
            (Some(url), _) => own.exporter(&url).map_err(|e| fail("ENDPOINT", e))?.exact(),
            (None, Some(endpoint)) => own.exporter(endpoint).map_err(anyhow::Error::msg)?,
            // Without a shared endpoint a signal without its own is not sent (see keep_signals_with_endpoints).
            (None, None) => continue,
        };
        own_exporters.push((signal, exporter));
    }
    // Without a shared endpoint, the signals that are sent all have their own.
    let first = own_exporters.first().map(|(_, exporter)| exporter.clone());
    let Some(base) = shared.or(first) else {
        return Err(InvalidArgs("pass --endpoint or set OTEL_EXPORTER_OTLP_ENDPOINT".into()).into());
    };
    Ok(own_exporters
        .into_iter()
        .fold(SignalExporters::single(base), |all, (signal, exporter)| all.with(signal, exporter)))
}

/// The choices with the OpenTelemetry exporter variables filling what the
/// flags left unset (`OTEL_EXPORTER_OTLP_PROTOCOL`, `_TIMEOUT` in
/// milliseconds, `_COMPRESSION`); the command line wins.
fn with_environment(choices: &ReplayChoices) -> anyhow::Result<ReplayChoices> {
    let mut choices = choices.clone();
    let variable = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    if choices.protocol.is_none()
        && let Some(protocol) = variable("OTEL_EXPORTER_OTLP_PROTOCOL")
    {
        choices.protocol =
            Some(protocol.parse().map_err(|e: String| anyhow::anyhow!("OTEL_EXPORTER_OTLP_PROTOCOL: {e}"))?);
    }
    if choices.timeout.is_none()
        && let Some(timeout) = env_timeout("OTEL_EXPORTER_OTLP_TIMEOUT")
    {
        choices.timeout = Some(Timeout(timeout.map_err(anyhow::Error::msg)?));
    }
    if choices.compression.is_none()
        && let Some(compression) = variable("OTEL_EXPORTER_OTLP_COMPRESSION")
    {
        choices.compression =
            Some(compression.parse().map_err(|e: String| anyhow::anyhow!("OTEL_EXPORTER_OTLP_COMPRESSION: {e}"))?);
    }
    Ok(choices)
}

async fn dry_run(open: &OpenStore, settings: &ReplaySettings) -> anyhow::Result<()> {
    anyhow::ensure!(
        open.catalog.get(&settings.session_id).await?.is_some(),
        "no session {} in the store",
        settings.session_id
    );
    let objects = replay::plan(&open.catalog, settings).await?;
    let schedule = plan::schedule(&objects, settings.speed, settings.max_idle);
    let per_signal = |signal| objects.iter().filter(|o| o.signal == signal).count();
    let bytes: u64 = objects.iter().map(|o| o.size).sum();
    let seconds = schedule.last().map_or(0.0, Duration::as_secs_f64) * f64::from(settings.loops);
    output::line(format_args!(
        "would send {} objects ({} traces, {} metrics, {} logs; {} bytes stored) {} time(s), over about {:.1}s plus send time; timestamps {}, speed {}",
        objects.len(),
        per_signal(Signal::Traces),
        per_signal(Signal::Metrics),
        per_signal(Signal::Logs),
        bytes,
        settings.loops,
        seconds,
        settings.timestamps.name(),
        settings.speed,
    ))?;
    Ok(())
}
