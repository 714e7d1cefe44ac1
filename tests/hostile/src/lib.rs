//! A hostile component of the `capture-processor` world, built for the
//! host's sandbox tests (`make test` builds it for wasm32-wasip2). Sessions
//! start and stop as a real component's do, so a tap can run it; a
//! captured payload's first byte says how to misbehave:
//!
//! - `L`: loop forever (the epoch deadline must end the call);
//! - `M`: allocate until the host refuses memory;
//! - `T`: trap (a panic);
//! - `R`: recurse until the stack runs out;
//! - `P`: ask the host to store a 300 MiB object;
//! - anything else: take nothing (`ok(none)`).
//!
//! Natively it is an empty library, so workspace builds stay cheap.
#![cfg_attr(target_arch = "wasm32", allow(missing_docs, unsafe_code))]

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({
        world: "capture-processor",
        path: "../../wit",
    });

    use exports::otlp::capture::otlp_processor::Guest;
    use otlp::capture::types::{
        CaptureReceipt, ObjectKeyInfo, ObjectTiming, PayloadEncoding, PayloadSummary, PreparedCapture, ProcessorError,
        ReplayBatch, ReplayOptions, SessionConfig, SessionCounts, SessionState, SessionStatus, Signal,
    };

    struct Hostile;

    export!(Hostile);

    fn unsupported<T>() -> Result<T, ProcessorError> {
        Err(ProcessorError::InvalidPayload("the hostile component does not do this".into()))
    }

    /// Recursion the optimiser cannot turn into a loop.
    #[inline(never)]
    #[allow(unconditional_recursion)]
    fn recurse(depth: u64, trail: &mut Vec<u64>) -> u64 {
        let frame = [depth; 64];
        trail.push(frame[(depth % 64) as usize]);
        recurse(depth + 1, trail) + frame[3]
    }

    fn misbehave(payload: &[u8]) -> Result<Option<PreparedCapture>, ProcessorError> {
        match payload.first() {
            Some(b'L') => {
                let mut spins = 0u64;
                loop {
                    spins = std::hint::black_box(spins.wrapping_add(1));
                }
            }
            Some(b'M') => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 16 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            Some(b'T') => panic!("a hostile trap"),
            Some(b'R') => {
                let mut trail = Vec::new();
                let depth = recurse(0, &mut trail);
                Err(ProcessorError::InvalidPayload(format!("recursed {depth} deep")))
            }
            Some(b'P') => {
                let huge = vec![0u8; 300 << 20];
                otlp::capture::storage::put("sessions/hostile/raw/huge.otlp.gz", &huge, "application/gzip")
                    .map_err(ProcessorError::Storage)?;
                Ok(None)
            }
            _ => Ok(None),
        }
    }

    impl Guest for Hostile {
        fn validate_session_id(_session_id: String) -> Result<(), ProcessorError> {
            Ok(())
        }

        fn new_session(config: SessionConfig) -> Result<SessionState, ProcessorError> {
            Self::start_session(config)
        }

        fn start_session(config: SessionConfig) -> Result<SessionState, ProcessorError> {
            let now = otlp::capture::clock::now_unix_nanos();
            Ok(SessionState {
                config,
                status: SessionStatus::Active,
                start_unix_nanos: now,
                end_unix_nanos: None,
                updated_unix_nanos: now,
                end_reason: None,
                counts: SessionCounts {
                    trace_batches: 0,
                    metric_batches: 0,
                    log_batches: 0,
                    spans: 0,
                    data_points: 0,
                    log_records: 0,
                    compressed_bytes: 0,
                    uncompressed_bytes: 0,
                    first_telemetry_unix_nanos: 0,
                    last_telemetry_unix_nanos: 0,
                    dropped_requests: 0,
                    dropped_items: 0,
                    masked_values: 0,
                    removed_keys: 0,
                },
                phases: Vec::new(),
            })
        }

        fn summarize(
            signal: Signal,
            _encoding: PayloadEncoding,
            payload: Vec<u8>,
        ) -> Result<PayloadSummary, ProcessorError> {
            misbehave(&payload)?;
            Ok(PayloadSummary { signal, items: 0, resources: 0, min_unix_nanos: 0, max_unix_nanos: 0 })
        }

        fn to_protobuf(
            _signal: Signal,
            _encoding: PayloadEncoding,
            payload: Vec<u8>,
        ) -> Result<Vec<u8>, ProcessorError> {
            Ok(payload)
        }

        fn capture(
            _config: SessionConfig,
            _signal: Signal,
            _encoding: PayloadEncoding,
            payload: Vec<u8>,
        ) -> Result<Option<CaptureReceipt>, ProcessorError> {
            misbehave(&payload)?;
            Ok(None)
        }

        fn prepare_capture(
            _config: SessionConfig,
            _signal: Signal,
            _encoding: PayloadEncoding,
            payload: Vec<u8>,
        ) -> Result<Option<PreparedCapture>, ProcessorError> {
            misbehave(&payload)
        }

        fn store_batch(
            _config: SessionConfig,
            _signal: Signal,
            _parts: Vec<PreparedCapture>,
        ) -> Result<CaptureReceipt, ProcessorError> {
            unsupported()
        }

        fn refresh_metadata(state: SessionState) -> Result<SessionState, ProcessorError> {
            Ok(state)
        }

        fn stop_session(
            mut state: SessionState,
            status: SessionStatus,
            reason: Option<String>,
        ) -> Result<SessionState, ProcessorError> {
            state.status = status;
            state.end_reason = reason;
            state.end_unix_nanos = Some(otlp::capture::clock::now_unix_nanos());
            Ok(state)
        }

        fn render_metadata(state: SessionState) -> String {
            format!("{{\"sessionId\":\"{}\",\"status\":\"active\"}}", state.config.session_id)
        }

        fn parse_metadata(_document: String) -> Result<SessionState, ProcessorError> {
            unsupported()
        }

        fn metadata_key(session_id: String) -> Result<String, ProcessorError> {
            Ok(format!("sessions/{session_id}/metadata.json"))
        }

        fn parse_object_key(_key: String) -> Result<ObjectKeyInfo, ProcessorError> {
            unsupported()
        }

        fn prepare_replay(
            _signal: Signal,
            _object: Vec<u8>,
            _options: ReplayOptions,
        ) -> Result<Option<ReplayBatch>, ProcessorError> {
            unsupported()
        }

        fn replay_timing(
            _signal: Signal,
            _object: Vec<u8>,
            _options: ReplayOptions,
        ) -> Result<Option<ObjectTiming>, ProcessorError> {
            unsupported()
        }

        fn object_to_json(
            _signal: Signal,
            _object: Vec<u8>,
            _max_uncompressed_bytes: u64,
        ) -> Result<String, ProcessorError> {
            unsupported()
        }
    }
}
