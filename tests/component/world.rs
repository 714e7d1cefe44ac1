//! The built component's world is self-contained: it imports exactly the
//! interfaces its WIT world declares and nothing from WASI, so a host that
//! supplies storage, clock, randomness and pseudonyms can run it.

use std::collections::BTreeSet;

use otlp_capture::runtime::EMBEDDED_COMPONENT;
use wasmtime::component::Component;
use wasmtime::{Config, Engine};

fn names(items: impl Iterator<Item = String>) -> BTreeSet<String> {
    items.collect()
}

#[test]
fn the_component_imports_only_what_its_world_declares() {
    let engine = Engine::new(&Config::new()).unwrap();
    let component = Component::new(&engine, EMBEDDED_COMPONENT).unwrap();
    let world = component.component_type();
    let imports = names(world.imports(&engine).map(|(name, _)| name.to_owned()));
    let expected = names(
        ["types", "storage", "clock", "randomness", "pseudonyms"]
            .iter()
            .map(|interface| format!("otlp:capture/{interface}@0.1.0")),
    );
    assert_eq!(imports, expected, "no wasi:cli, wasi:io or wasi:random: only the world's own interfaces");
    let exports = names(world.exports(&engine).map(|(name, _)| name.to_owned()));
    assert_eq!(exports, names(["otlp:capture/otlp-processor@0.1.0".to_owned()].into_iter()));
}
