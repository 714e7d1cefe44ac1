//! `otlp-capture replay` and `otlp-capture inspect`.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{ReplayArgs, StoreArgs};
use crate::commands::session::open;
use crate::exporters::Exporter;
use crate::replay::{self, ReplayChoices, ReplayCounts, ReplaySettings, plan};
use crate::runtime::bindings::Signal;

/// Parses a telemetry time: unix nanoseconds or RFC 3339.
pub fn parse_time(text: &str) -> anyhow::Result<u64> {
    if let Ok(nanos) = text.parse::<u64>() {
        return Ok(nanos);
    }
    let time = humantime::parse_rfc3339_weak(text)
        .with_context(|| format!("{text:?} is neither unix nanoseconds nor RFC 3339"))?;
    let since_epoch =
        time.duration_since(std::time::UNIX_EPOCH).context("times before 1970 are not telemetry times")?;
    Ok(u64::try_from(since_epoch.as_nanos()).unwrap_or(u64::MAX))
}

/// Validated replay settings for the command line.
pub fn settings(args: &ReplayArgs) -> anyhow::Result<ReplaySettings> {
    let choices = ReplayChoices {
        timestamps: &args.timestamps,
        speed: &args.speed,
        signals: &args.signals,
        max_idle_seconds: args.max_idle,
        services: &args.services,
        loops: args.loops,
        rewrite_ids: args.rewrite_ids,
    };
    let mut settings = ReplaySettings::choose(&args.id, choices).map_err(anyhow::Error::msg)?;
    settings.from_unix_nanos = args.from.as_deref().map(parse_time).transpose()?.unwrap_or(0);
    settings.to_unix_nanos = args.to.as_deref().map(parse_time).transpose()?.unwrap_or(0);
    settings.seed = args.seed;
    Ok(settings)
}

/// Runs `replay`.
pub async fn run(args: &ReplayArgs) -> anyhow::Result<()> {
    let settings = settings(args)?;
    let exporter = Exporter::new(&args.endpoint, &args.protocol, Duration::from_secs(args.timeout.max(1)))
        .map_err(anyhow::Error::msg)?;
    let tap = open(&args.store)?;
    if args.dry_run {
        return dry_run(&tap.sessions, &settings).await;
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
    let report = replay::run(&tap.sessions, &exporter, &settings, &progress).await?;
    bar.finish_and_clear();
    if report.session_was_active {
        eprintln!(
            "note: session {} is still marked active (its tap may have stopped); replayed what is stored",
            args.id
        );
    }
    for failure in &report.failures {
        eprintln!("not delivered: {failure}");
    }
    println!("replayed {} to {}: {}", args.id, exporter.endpoint(), report.summary_line());
    if !report.delivered_all() {
        bail!("{} objects were not delivered", report.counts.objects_failed.max(report.failures.len() as u64));
    }
    Ok(())
}

async fn dry_run(sessions: &crate::sessions::Sessions, settings: &ReplaySettings) -> anyhow::Result<()> {
    anyhow::ensure!(
        sessions.get(&settings.session_id).await?.is_some(),
        "no session {} in the store",
        settings.session_id
    );
    let objects = replay::plan(sessions, settings).await?;
    let schedule = plan::schedule(&objects, settings.speed, settings.max_idle);
    let per_signal = |signal| objects.iter().filter(|o| o.signal == signal).count();
    let bytes: u64 = objects.iter().map(|o| o.size).sum();
    let seconds = schedule.last().map_or(0.0, Duration::as_secs_f64) * f64::from(settings.loops);
    println!(
        "would send {} objects ({} traces, {} metrics, {} logs; {} bytes stored) {} time(s), over about {:.1}s plus send time; timestamps {:?}",
        objects.len(),
        per_signal(Signal::Traces),
        per_signal(Signal::Metrics),
        per_signal(Signal::Logs),
        bytes,
        settings.loops,
        seconds,
        settings.timestamps,
    );
    Ok(())
}

/// Runs `inspect`: prints each object as one line of OTLP/JSON.
pub async fn inspect(target: &str, store: &StoreArgs) -> anyhow::Result<()> {
    let tap = open(store)?;
    let sessions = Arc::clone(&tap.sessions);
    let keys: Vec<(String, Signal)> = if target.contains('/') {
        let key = target.to_owned();
        let info = sessions.pool().call(move |i| i.parse_object_key(&key)).await???;
        vec![(target.to_owned(), info.signal)]
    } else {
        anyhow::ensure!(sessions.get(target).await?.is_some(), "no session {target} in {}", store.store);
        let mut objects = sessions.raw_objects(target).await?;
        plan::order(&mut objects);
        objects.into_iter().map(|o| (o.key, o.signal)).collect()
    };
    for (key, signal) in keys {
        let object = sessions.uploader().storage().get(&key).await?.with_context(|| format!("no object {key}"))?;
        let json = sessions.pool().call(move |i| i.object_to_json(signal, &object, 1 << 30)).await???;
        println!("{json}");
    }
    Ok(())
}
