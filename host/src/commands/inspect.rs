//! `otlp-capture inspect`: a session's objects, or one object, as OTLP/JSON
//! (one request per line); with `--phase`, only the items inside that
//! phase's telemetry window.

use std::io::Write;

use anyhow::Context;
use bytes::Bytes;

use super::{OpenStore, open_store, output};
use crate::cli::{SessionFilterArgs, StoreArgs};
use crate::otlp::Signal;
use crate::replay::plan;
use crate::runtime::processor_types::{ReplayOptions, TimestampRewrite};
use crate::{phases, session_pick};

/// Largest object `inspect` inflates, in bytes (as [`crate::catalog::Catalog::object_json`]).
const MAX_INFLATED: u64 = crate::catalog::MAX_INFLATED;

/// Prints each object of `target` (a session id or picker, or an object
/// key) as one line of OTLP/JSON.
pub async fn run(
    target: &str,
    store: &StoreArgs,
    filter: &SessionFilterArgs,
    phase: Option<&str>,
) -> anyhow::Result<()> {
    let open = open_store(store)?;
    let (keys, window) = if target.contains('/') {
        anyhow::ensure!(phase.is_none(), "--phase needs a session, not an object key");
        (vec![(target.to_owned(), open.catalog.object_signal(target).await?)], None)
    } else {
        let id = session_pick::resolve(&open.catalog, target, &filter.filter()).await?;
        let state = open.catalog.get(&id).await?.with_context(|| format!("no session {id} in {}", store.store))?;
        let window = phase.map(|name| phases::window(&state, name)).transpose()?;
        let mut objects = open.catalog.raw_objects(&id).await?;
        plan::order(&mut objects);
        (objects.into_iter().map(|o| (o.key, o.signal)).collect(), window)
    };
    for (key, signal) in keys {
        let object = open.catalog.object(&key).await?.with_context(|| format!("no object {key}"))?;
        let json = match window {
            None => open.catalog.object_json(signal, object).await?,
            Some(window) => match inside(&open, signal, object, window).await? {
                Some(json) => json,
                None => continue,
            },
        };
        output::line(json)?;
    }
    Ok(())
}

/// The object's items inside `(from, to)` as OTLP/JSON; `None` when it has none there.
async fn inside(
    open: &OpenStore,
    signal: Signal,
    object: Bytes,
    (from, to): (u64, u64),
) -> anyhow::Result<Option<String>> {
    let options = ReplayOptions {
        rewrite: TimestampRewrite::None,
        id_remap_seed: None,
        services: Vec::new(),
        from_unix_nanos: from,
        to_unix_nanos: to,
        max_uncompressed_bytes: MAX_INFLATED,
    };
    let Some(batch) = open.pool.call(move |i| i.prepare_replay(signal, &object, &options)).await? else {
        return Ok(None);
    };
    // The component renders stored objects, which are gzip: the kept items go back in one.
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gzip.write_all(&batch.payload)?;
    let kept = gzip.finish()?;
    Ok(Some(open.catalog.object_json(signal, Bytes::from(kept)).await?))
}
