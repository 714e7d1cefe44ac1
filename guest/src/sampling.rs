//! Trace sampling by trace id: a trace is kept or dropped whole, on every
//! tap and in every batch, and logs carrying its trace id follow it.
//!
//! The decision compares the trace id's 56 random low-order bits (W3C trace
//! context level 2) with a threshold, as OpenTelemetry's consistent
//! probability sampling does.

use crate::codec::OtlpRequest;

/// Whether a trace with this id is kept at `ratio` (in (0, 1]). Ids that are
/// not 16 bytes (absent) are always kept: they belong to no trace.
pub fn keeps(trace_id: &[u8], ratio: f64) -> bool {
    if ratio >= 1.0 || trace_id.len() != 16 {
        return true;
    }
    let mut low = [0u8; 8];
    low[1..].copy_from_slice(&trace_id[9..16]);
    let randomness = u64::from_be_bytes(low);
    let threshold = ((1.0 - ratio) * (1u64 << 56) as f64) as u64;
    randomness >= threshold
}

/// Drops the spans and trace-linked log records of traces not kept at
/// `ratio`, then any scope or resource left empty by that. Metrics are
/// untouched. Returns whether anything is left to store.
pub fn apply(request: &mut OtlpRequest, ratio: f64) -> bool {
    if ratio >= 1.0 {
        return true;
    }
    match request {
        OtlpRequest::Traces(r) => {
            for rs in &mut r.resource_spans {
                for ss in &mut rs.scope_spans {
                    ss.spans.retain(|s| keeps(&s.trace_id, ratio));
                }
                rs.scope_spans.retain(|ss| !ss.spans.is_empty());
            }
            r.resource_spans.retain(|rs| !rs.scope_spans.is_empty());
            !r.resource_spans.is_empty()
        }
        OtlpRequest::Logs(r) => {
            for rl in &mut r.resource_logs {
                for sl in &mut rl.scope_logs {
                    sl.log_records.retain(|l| keeps(&l.trace_id, ratio));
                }
                rl.scope_logs.retain(|sl| !sl.log_records.is_empty());
            }
            r.resource_logs.retain(|rl| !rl.scope_logs.is_empty());
            !r.resource_logs.is_empty()
        }
        OtlpRequest::Metrics(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace_id(n: u64) -> Vec<u8> {
        // Spread n over the random bits the way real ids are spread.
        let mixed = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut id = vec![0u8; 8];
        id.extend_from_slice(&mixed.to_be_bytes());
        id
    }

    #[test]
    fn ratio_one_keeps_all_and_absent_ids_are_kept() {
        assert!((0..1000).all(|n| keeps(&trace_id(n), 1.0)));
        assert!(keeps(&[], 0.01));
    }

    #[test]
    fn keeps_about_the_ratio() {
        for ratio in [0.1, 0.5, 0.9] {
            let kept = (0..20_000).filter(|&n| keeps(&trace_id(n), ratio)).count() as f64 / 20_000.0;
            assert!((kept - ratio).abs() < 0.02, "ratio {ratio}: kept {kept}");
        }
    }

    #[test]
    fn lower_ratios_keep_a_subset() {
        for n in 0..5000 {
            if keeps(&trace_id(n), 0.2) {
                assert!(keeps(&trace_id(n), 0.5));
            }
        }
    }
}
