//! Composes the unchanged processor component with the proxy's two adapter
//! components into one component of the wasi:http/proxy world:
//!
//! ```text
//! services --storage, clock, randomness, pseudonyms, types--> processor
//! services --object-store, clock, types, storage--> front <--otlp-processor-- processor
//! front --wasi:http/incoming-handler--> (exported)
//! ```
//!
//! What stays unsatisfied (the adapters' wasi imports) becomes the composed
//! component's imports, which any wasi:http/proxy host supplies.
//!
//! Usage: `otlp-capture-proxy-compose PROCESSOR SERVICES FRONT OUT`

use anyhow::{Context, bail};
use wac_graph::types::Package;
use wac_graph::{CompositionGraph, EncodeOptions, NodeId};

/// The processor's imports the services adapter serves.
const PROCESSOR_IMPORTS: &[&str] = &[
    "otlp:capture/types@0.1.0",
    "otlp:capture/storage@0.1.0",
    "otlp:capture/clock@0.1.0",
    "otlp:capture/randomness@0.1.0",
    "otlp:capture/pseudonyms@0.1.0",
];
/// The front's imports the services adapter serves.
const FRONT_SERVICE_IMPORTS: &[&str] = &[
    "otlp:capture/types@0.1.0",
    "otlp:capture/storage@0.1.0",
    "otlp:capture/clock@0.1.0",
    "otlp:capture-proxy/object-store@0.1.0",
];
const PROCESSOR_EXPORT: &str = "otlp:capture/otlp-processor@0.1.0";
/// The prefix of the handler's export name (its version is the adapter's).
const HANDLER: &str = "wasi:http/incoming-handler@";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [processor, services, front, out] = args.as_slice() else {
        bail!("usage: otlp-capture-proxy-compose PROCESSOR.wasm SERVICES.wasm FRONT.wasm OUT.wasm");
    };
    let mut graph = CompositionGraph::new();
    let mut register = |name: &str, path: &str| -> anyhow::Result<_> {
        let package = Package::from_file(name, None, path, graph.types_mut()).with_context(|| path.to_owned())?;
        let exports: Vec<String> = graph.types()[package.ty()].exports.keys().cloned().collect();
        Ok((graph.register_package(package)?, exports))
    };
    let (processor, _) = register("otlp:capture-processor", processor)?;
    let (services, _) = register("otlp:proxy-services", services)?;
    let (front, front_exports) = register("otlp:proxy-front", front)?;
    let handler = front_exports
        .into_iter()
        .find(|name| name.starts_with(HANDLER))
        .context("the front exports no wasi:http/incoming-handler")?;

    let services = graph.instantiate(services);
    let processor = graph.instantiate(processor);
    wire(&mut graph, services, processor, PROCESSOR_IMPORTS)?;
    let front = graph.instantiate(front);
    wire(&mut graph, services, front, FRONT_SERVICE_IMPORTS)?;
    let handle = graph.alias_instance_export(processor, PROCESSOR_EXPORT)?;
    graph.set_instantiation_argument(front, PROCESSOR_EXPORT, handle)?;

    let exported = graph.alias_instance_export(front, &handler)?;
    graph.export(exported, &handler)?;
    let bytes = graph.encode(EncodeOptions::default())?;
    std::fs::write(out, bytes).with_context(|| out.clone())?;
    Ok(())
}

/// Passes each of `names` from `source`'s exports to `target`'s imports.
fn wire(graph: &mut CompositionGraph, source: NodeId, target: NodeId, names: &[&str]) -> anyhow::Result<()> {
    for name in names {
        let export = graph.alias_instance_export(source, name).with_context(|| format!("the export {name}"))?;
        graph.set_instantiation_argument(target, name, export).with_context(|| format!("the import {name}"))?;
    }
    Ok(())
}
