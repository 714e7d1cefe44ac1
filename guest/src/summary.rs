//! What a request holds: items (spans, data points, log records), resources
//! and time bounds.

use crate::otlp::metrics::v1::Metric;
use crate::otlp::metrics::v1::metric::Data;

use crate::codec::OtlpRequest;
use crate::records::PayloadSummary;
use crate::timestamps;

/// The summary of `request`.
pub fn of(request: &mut OtlpRequest) -> PayloadSummary {
    let (items, resources) = match &*request {
        OtlpRequest::Traces(r) => (
            r.resource_spans.iter().flat_map(|rs| &rs.scope_spans).map(|ss| ss.spans.len() as u64).sum(),
            r.resource_spans.len(),
        ),
        OtlpRequest::Metrics(r) => (
            r.resource_metrics
                .iter()
                .flat_map(|rm| &rm.scope_metrics)
                .flat_map(|sm| &sm.metrics)
                .map(metric_points)
                .sum(),
            r.resource_metrics.len(),
        ),
        OtlpRequest::Logs(r) => (
            r.resource_logs.iter().flat_map(|rl| &rl.scope_logs).map(|sl| sl.log_records.len() as u64).sum(),
            r.resource_logs.len(),
        ),
    };
    let (min_unix_nanos, max_unix_nanos) = timestamps::bounds(request);
    PayloadSummary { signal: request.signal(), items, resources: resources as u64, min_unix_nanos, max_unix_nanos }
}

/// Data points of a metric, every type.
pub fn metric_points(metric: &Metric) -> u64 {
    (match &metric.data {
        Some(Data::Gauge(g)) => g.data_points.len(),
        Some(Data::Sum(s)) => s.data_points.len(),
        Some(Data::Histogram(h)) => h.data_points.len(),
        Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
        Some(Data::Summary(s)) => s.data_points.len(),
        None => 0,
    }) as u64
}
