//! The `types` interface: shared records and variants, no functions. Its
//! host trait is empty, but the linker needs it implemented.

use crate::runtime::bindings::otlp::capture::types::Host;
use crate::runtime::state::HostState;

impl Host for HostState {}
