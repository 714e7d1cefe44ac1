//! Every telemetry timestamp field of the three signals, visited in one
//! place: time bounds for receipts and metadata, and rewriting on replay.
//!
//! Fields: span start/end and event times; data point start and time for
//! gauge, sum, histogram, exponential histogram and summary, and exemplar
//! times; log record time and observed time.

use crate::otlp::common::v1::{InstrumentationScope, KeyValue};
use crate::otlp::metrics::v1::metric::Data;
use crate::otlp::metrics::v1::{Exemplar, Metric};
use crate::otlp::resource::v1::Resource;
use prost::Message;

use crate::codec::OtlpRequest;
use crate::timing::{self, ATTRIBUTES_START, Planned, add_attribute, saturate, shift, stream_key, trace_key};
use crate::wire::{StreamPart, stream_part};

/// Calls `visit` with every timestamp field of `request`, zeros included.
pub fn for_each_mut(request: &mut OtlpRequest, mut visit: impl FnMut(&mut u64)) {
    match request {
        OtlpRequest::Traces(r) => {
            for span in r.resource_spans.iter_mut().flat_map(|rs| &mut rs.scope_spans).flat_map(|ss| &mut ss.spans) {
                visit(&mut span.start_time_unix_nano);
                visit(&mut span.end_time_unix_nano);
                for event in &mut span.events {
                    visit(&mut event.time_unix_nano);
                }
            }
        }
        OtlpRequest::Metrics(r) => {
            for metric in
                r.resource_metrics.iter_mut().flat_map(|rm| &mut rm.scope_metrics).flat_map(|sm| &mut sm.metrics)
            {
                metric_timestamps(metric, &mut visit);
            }
        }
        OtlpRequest::Logs(r) => {
            for record in
                r.resource_logs.iter_mut().flat_map(|rl| &mut rl.scope_logs).flat_map(|sl| &mut sl.log_records)
            {
                visit(&mut record.time_unix_nano);
                visit(&mut record.observed_time_unix_nano);
            }
        }
    }
}

fn metric_timestamps(metric: &mut Metric, visit: &mut impl FnMut(&mut u64)) {
    for_each_point_mut(metric, &mut |_, stamps| {
        for t in stamps {
            visit(t);
        }
    });
}

/// Calls `visit` once per data point of `metric`, every point type, with
/// the point's attributes and its timestamp fields (start, time, and the
/// times of its exemplars).
pub fn for_each_point_mut(metric: &mut Metric, visit: &mut dyn FnMut(&[KeyValue], &mut [&mut u64])) {
    fn with_exemplars<'a>(start: &'a mut u64, time: &'a mut u64, exemplars: &'a mut [Exemplar]) -> Vec<&'a mut u64> {
        let mut stamps = vec![start, time];
        stamps.extend(exemplars.iter_mut().map(|e| &mut e.time_unix_nano));
        stamps
    }
    match &mut metric.data {
        Some(Data::Gauge(g)) => {
            for p in &mut g.data_points {
                visit(
                    &p.attributes,
                    &mut with_exemplars(&mut p.start_time_unix_nano, &mut p.time_unix_nano, &mut p.exemplars),
                );
            }
        }
        Some(Data::Sum(s)) => {
            for p in &mut s.data_points {
                visit(
                    &p.attributes,
                    &mut with_exemplars(&mut p.start_time_unix_nano, &mut p.time_unix_nano, &mut p.exemplars),
                );
            }
        }
        Some(Data::Histogram(h)) => {
            for p in &mut h.data_points {
                visit(
                    &p.attributes,
                    &mut with_exemplars(&mut p.start_time_unix_nano, &mut p.time_unix_nano, &mut p.exemplars),
                );
            }
        }
        Some(Data::ExponentialHistogram(h)) => {
            for p in &mut h.data_points {
                visit(
                    &p.attributes,
                    &mut with_exemplars(&mut p.start_time_unix_nano, &mut p.time_unix_nano, &mut p.exemplars),
                );
            }
        }
        Some(Data::Summary(s)) => {
            for p in &mut s.data_points {
                visit(&p.attributes, &mut [&mut p.start_time_unix_nano, &mut p.time_unix_nano]);
            }
        }
        None => {}
    }
}

/// The earliest non-zero and the latest timestamp of `request`, or `(0, 0)`
/// when it has none.
pub fn bounds(request: &mut OtlpRequest) -> (u64, u64) {
    let (mut min, mut max) = (u64::MAX, 0);
    for_each_mut(request, |t| {
        if *t != 0 {
            min = min.min(*t);
            max = max.max(*t);
        }
    });
    if max == 0 { (0, 0) } else { (min, max) }
}

/// How a replayed batch's timestamps are rewritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rewrite {
    /// Unchanged.
    None,
    /// Every non-zero timestamp moves by this many nanoseconds.
    Shift(i64),
    /// Every non-zero timestamp moves so that the newest becomes this instant.
    NewestAt(u64),
    /// Each trace and metric stream by its planned shift, the rest so that
    /// its newest lands at the send time ([`crate::timing`]).
    Planned(Planned),
}

impl Rewrite {
    /// The one offset every timestamp of an object whose newest timestamp
    /// is `newest` (0 for none) moves by; `None` for a planned rewrite,
    /// which moves groups by their own shifts.
    pub fn uniform_offset(&self, newest: u64) -> Option<i128> {
        match self {
            Rewrite::None => Some(0),
            Rewrite::Shift(offset) => Some(i128::from(*offset)),
            Rewrite::NewestAt(_) if newest == 0 => Some(0),
            Rewrite::NewestAt(instant) => Some(i128::from(*instant) - i128::from(newest)),
            Rewrite::Planned(_) => None,
        }
    }
}

/// Applies `rewrite` to every timestamp of `request`: zero stays zero (it
/// means unset), arithmetic saturates at 1 and `u64::MAX` and never wraps.
/// Returns the shift applied (for a planned rewrite, the newest item's).
pub fn rewrite(request: &mut OtlpRequest, rewrite: &Rewrite) -> i64 {
    let offset = match rewrite {
        Rewrite::Planned(planned) => {
            return timing::apply(planned, |visit| for_each_keyed_mut(request, |key, t| visit(key, t))).newest_shift;
        }
        Rewrite::NewestAt(_) => rewrite.uniform_offset(bounds(request).1),
        uniform => uniform.uniform_offset(0),
    }
    .unwrap_or(0);
    if offset != 0 {
        for_each_mut(request, |t| *t = shift(*t, offset));
    }
    saturate(offset)
}

/// Calls `visit` with every timestamp field of `request` and the key of
/// the group its item moves with; the same fields as
/// [`crate::timestamps::for_each_mut`], and the same keys as
/// [`crate::wire::keyed_stamps`] gives for the request's encoding.
pub fn for_each_keyed_mut(request: &mut OtlpRequest, mut visit: impl FnMut(u64, &mut u64)) {
    match request {
        OtlpRequest::Traces(r) => {
            for span in r.resource_spans.iter_mut().flat_map(|rs| &mut rs.scope_spans).flat_map(|ss| &mut ss.spans) {
                let key = trace_key(&span.trace_id);
                visit(key, &mut span.start_time_unix_nano);
                visit(key, &mut span.end_time_unix_nano);
                for event in &mut span.events {
                    visit(key, &mut event.time_unix_nano);
                }
            }
        }
        OtlpRequest::Logs(r) => {
            for record in
                r.resource_logs.iter_mut().flat_map(|rl| &mut rl.scope_logs).flat_map(|sl| &mut sl.log_records)
            {
                let key = trace_key(&record.trace_id);
                visit(key, &mut record.time_unix_nano);
                visit(key, &mut record.observed_time_unix_nano);
            }
        }
        OtlpRequest::Metrics(r) => {
            for rm in &mut r.resource_metrics {
                let resource = encoded_part(StreamPart::Resource, rm.resource.as_ref().map(Resource::encode_to_vec));
                for sm in &mut rm.scope_metrics {
                    let scope =
                        encoded_part(StreamPart::Scope, sm.scope.as_ref().map(InstrumentationScope::encode_to_vec));
                    for metric in &mut sm.metrics {
                        let name = stream_part(StreamPart::Name, metric.name.as_bytes());
                        for_each_point_mut(metric, &mut |attributes: &[KeyValue], stamps: &mut [&mut u64]| {
                            let part = attributes.iter().fold(ATTRIBUTES_START, |part, kv| {
                                add_attribute(part, stream_part(StreamPart::Attribute, &kv.encode_to_vec()))
                            });
                            let key = stream_key(part, name, scope, resource);
                            for t in stamps {
                                visit(key, t);
                            }
                        });
                    }
                }
            }
        }
    }
}

fn encoded_part(part: StreamPart, encoded: Option<Vec<u8>>) -> u64 {
    match encoded {
        Some(bytes) => stream_part(part, &bytes),
        None => stream_part(StreamPart::Absent, &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::tests::spec_example;
    use crate::records::{PayloadEncoding, Signal};

    fn decode(signal: Signal, file: &str) -> OtlpRequest {
        OtlpRequest::decode(signal, PayloadEncoding::Json, &spec_example(file)).unwrap()
    }

    #[test]
    fn visits_every_metric_point_type_and_exemplars() {
        let mut request = decode(Signal::Metrics, "metrics.json");
        let mut count = 0;
        for_each_mut(&mut request, |_| count += 1);
        // The example has one sum, gauge, histogram and exponential histogram point: two fields each.
        assert_eq!(count, 8);
    }

    #[test]
    fn bounds_skip_zero_and_span_both_ends() {
        let mut request = decode(Signal::Traces, "trace.json");
        assert_eq!(bounds(&mut request), (1544712660000000000, 1544712661000000000));
        let mut logs = decode(Signal::Logs, "logs.json");
        let (min, max) = bounds(&mut logs);
        assert!(min > 0 && min <= max);
    }

    #[test]
    fn shift_keeps_zero_and_saturates() {
        assert_eq!(shift(0, 5), 0);
        assert_eq!(shift(0, -5), 0);
        assert_eq!(shift(10, -3), 7);
        assert_eq!(shift(10, -30), 1);
        assert_eq!(shift(u64::MAX - 1, 5), u64::MAX);
        assert_eq!(shift(5, i128::from(i64::MIN)), 1);
        assert_eq!(shift(u64::MAX, i128::from(i64::MAX)), u64::MAX);
        assert_eq!(shift(1, i128::from(u64::MAX)), u64::MAX);
    }

    #[test]
    fn newest_at_moves_the_newest_to_the_instant_and_keeps_offsets() {
        let mut request = decode(Signal::Traces, "trace.json");
        let applied = rewrite(&mut request, &Rewrite::NewestAt(2_000_000_000_000_000_000));
        assert_eq!(applied, 2_000_000_000_000_000_000 - 1544712661000000000);
        assert_eq!(bounds(&mut request), (2_000_000_000_000_000_000 - 1_000_000_000, 2_000_000_000_000_000_000));
    }

    #[test]
    fn bounds_of_an_empty_request_are_zero() {
        let mut request = OtlpRequest::decode(Signal::Logs, PayloadEncoding::Json, b"{}").unwrap();
        assert_eq!(bounds(&mut request), (0, 0));
    }

    #[test]
    fn every_timestamp_is_visited_with_its_group() {
        let mut traces = decode(Signal::Traces, "trace.json");
        let mut keys = Vec::new();
        for_each_keyed_mut(&mut traces, |key, _| keys.push(key));
        assert!(keys.iter().all(|k| *k != timing::UNGROUPED));
        let mut metrics = decode(Signal::Metrics, "metrics.json");
        let mut count = 0;
        for_each_keyed_mut(&mut metrics, |key, _| {
            assert_ne!(key, timing::UNGROUPED);
            count += 1;
        });
        assert_eq!(count, 8);
    }
}
