//! `otlp-capture inspect`: a session's objects, or one object, as OTLP/JSON
//! (one request per line).

use anyhow::Context;

use super::{open_store, output};
use crate::cli::StoreArgs;
use crate::replay::plan;

/// Largest object `inspect` inflates, in bytes.
const MAX_INFLATED: u64 = 1 << 30;

/// Prints each object of `target` (a session id or an object key) as one line of OTLP/JSON.
pub async fn run(target: &str, store: &StoreArgs) -> anyhow::Result<()> {
    let open = open_store(store)?;
    let keys = if target.contains('/') {
        vec![(target.to_owned(), open.catalog.object_signal(target).await?)]
    } else {
        anyhow::ensure!(open.catalog.get(target).await?.is_some(), "no session {target} in {}", store.store);
        let mut objects = open.catalog.raw_objects(target).await?;
        plan::order(&mut objects);
        objects.into_iter().map(|o| (o.key, o.signal)).collect()
    };
    for (key, signal) in keys {
        let object = open.catalog.object(&key).await?.with_context(|| format!("no object {key}"))?;
        let json = open.pool.call(move |i| i.object_to_json(signal, &object, MAX_INFLATED)).await?;
        output::line(json)?;
    }
    Ok(())
}
