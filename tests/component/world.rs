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

/// The component is built with wasm SIMD (`-C target-feature=+simd128`),
/// so its deflate, inflate and checksums run their vector paths; relaxed
/// SIMD, whose results may differ between hosts, is not used.
#[test]
fn the_component_runs_wasm_simd_and_no_relaxed_simd() {
    let (vector, relaxed) = simd_instructions(EMBEDDED_COMPONENT);
    assert!(vector > 100, "{vector} SIMD instructions: the guest was built without simd128");
    assert_eq!(relaxed, 0, "relaxed SIMD is not deterministic across hosts");
}

/// SIMD instructions, and relaxed ones among them, in the code of `wasm`
/// and of the core modules it nests.
fn simd_instructions(wasm: &[u8]) -> (usize, usize) {
    let (mut vector, mut relaxed) = (0usize, 0usize);
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload.unwrap() {
            wasmparser::Payload::ModuleSection { unchecked_range, .. } => {
                let range =
                    usize::try_from(unchecked_range.start).unwrap()..usize::try_from(unchecked_range.end).unwrap();
                let (v, r) = simd_instructions(&wasm[range]);
                (vector, relaxed) = (vector + v, relaxed + r);
            }
            wasmparser::Payload::CodeSectionEntry(body) => {
                let mut reader = body.get_operators_reader().unwrap();
                while !reader.eof() {
                    let name = format!("{:?}", reader.read().unwrap());
                    let simd = ["V128", "I8x16", "I16x8", "I32x4", "I64x2", "F32x4", "F64x2"];
                    if simd.iter().any(|prefix| name.starts_with(prefix)) {
                        vector += 1;
                        relaxed += usize::from(name.contains("Relaxed"));
                    }
                }
            }
            _ => {}
        }
    }
    (vector, relaxed)
}
