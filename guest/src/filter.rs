//! Replay filters: by resource `service.name` and by telemetry time window.
//! Items are dropped whole; scopes and resources left empty go with them.

use crate::otlp::common::v1::any_value::Value;
use crate::otlp::metrics::v1::Metric;
use crate::otlp::metrics::v1::metric::Data;
use crate::otlp::resource::v1::Resource;

use crate::codec::OtlpRequest;
use crate::summary;

/// What a replay keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Keep only resources whose `service.name` is one of these; empty keeps all.
    pub services: Vec<String>,
    /// Keep items at or after this unix-nanos time; 0 for no bound.
    pub from_unix_nanos: u64,
    /// Keep items at or before this unix-nanos time; 0 for no bound.
    pub to_unix_nanos: u64,
}

impl Filter {
    /// Whether the filter keeps everything.
    pub fn is_empty(&self) -> bool {
        self.services.is_empty() && self.from_unix_nanos == 0 && self.to_unix_nanos == 0
    }

    fn keeps_resource(&self, resource: &Option<Resource>) -> bool {
        if self.services.is_empty() {
            return true;
        }
        let name = resource.iter().flat_map(|r| &r.attributes).find(|kv| kv.key == "service.name").and_then(|kv| {
            match kv.value.as_ref()?.value.as_ref()? {
                Value::StringValue(name) => Some(name.as_str()),
                _ => None,
            }
        });
        name.is_some_and(|name| self.services.iter().any(|s| s == name))
    }

    /// Whether an item stamped `time` is in the window; unstamped items are kept.
    fn keeps_time(&self, time: u64) -> bool {
        time == 0 || (time >= self.from_unix_nanos && (self.to_unix_nanos == 0 || time <= self.to_unix_nanos))
    }

    /// Applies the filter; returns whether anything is left.
    pub fn apply(&self, request: &mut OtlpRequest) -> bool {
        if self.is_empty() {
            return true;
        }
        match request {
            OtlpRequest::Traces(r) => {
                r.resource_spans.retain(|rs| self.keeps_resource(&rs.resource));
                for rs in &mut r.resource_spans {
                    for ss in &mut rs.scope_spans {
                        ss.spans.retain(|s| self.keeps_time(s.start_time_unix_nano));
                    }
                    rs.scope_spans.retain(|ss| !ss.spans.is_empty());
                }
                r.resource_spans.retain(|rs| !rs.scope_spans.is_empty());
                !r.resource_spans.is_empty()
            }
            OtlpRequest::Logs(r) => {
                r.resource_logs.retain(|rl| self.keeps_resource(&rl.resource));
                for rl in &mut r.resource_logs {
                    for sl in &mut rl.scope_logs {
                        sl.log_records.retain(|l| {
                            self.keeps_time(if l.time_unix_nano != 0 {
                                l.time_unix_nano
                            } else {
                                l.observed_time_unix_nano
                            })
                        });
                    }
                    rl.scope_logs.retain(|sl| !sl.log_records.is_empty());
                }
                r.resource_logs.retain(|rl| !rl.scope_logs.is_empty());
                !r.resource_logs.is_empty()
            }
            OtlpRequest::Metrics(r) => {
                r.resource_metrics.retain(|rm| self.keeps_resource(&rm.resource));
                for rm in &mut r.resource_metrics {
                    for sm in &mut rm.scope_metrics {
                        for metric in &mut sm.metrics {
                            self.retain_points(metric);
                        }
                        sm.metrics.retain(|m| summary::metric_points(m) > 0);
                    }
                    rm.scope_metrics.retain(|sm| !sm.metrics.is_empty());
                }
                r.resource_metrics.retain(|rm| !rm.scope_metrics.is_empty());
                !r.resource_metrics.is_empty()
            }
        }
    }

    fn retain_points(&self, metric: &mut Metric) {
        match &mut metric.data {
            Some(Data::Gauge(g)) => g.data_points.retain(|p| self.keeps_time(p.time_unix_nano)),
            Some(Data::Sum(s)) => s.data_points.retain(|p| self.keeps_time(p.time_unix_nano)),
            Some(Data::Histogram(h)) => h.data_points.retain(|p| self.keeps_time(p.time_unix_nano)),
            Some(Data::ExponentialHistogram(h)) => h.data_points.retain(|p| self.keeps_time(p.time_unix_nano)),
            Some(Data::Summary(s)) => s.data_points.retain(|p| self.keeps_time(p.time_unix_nano)),
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::tests::spec_example;
    use crate::records::{PayloadEncoding, Signal};

    fn traces() -> OtlpRequest {
        OtlpRequest::decode(Signal::Traces, PayloadEncoding::Json, &spec_example("trace.json")).unwrap()
    }

    #[test]
    fn filters_by_service_name() {
        let keep = Filter { services: vec!["my.service".into()], ..Default::default() };
        assert!(keep.apply(&mut traces()));
        let drop = Filter { services: vec!["other".into()], ..Default::default() };
        assert!(!drop.apply(&mut traces()));
    }

    #[test]
    fn filters_by_time_window() {
        let start = 1544712660000000000;
        assert!(Filter { from_unix_nanos: start, to_unix_nanos: start, ..Default::default() }.apply(&mut traces()));
        assert!(!Filter { from_unix_nanos: start + 1, ..Default::default() }.apply(&mut traces()));
        assert!(!Filter { to_unix_nanos: start - 1, ..Default::default() }.apply(&mut traces()));
        let mut metrics =
            OtlpRequest::decode(Signal::Metrics, PayloadEncoding::Json, &spec_example("metrics.json")).unwrap();
        assert!(!Filter { from_unix_nanos: u64::MAX, ..Default::default() }.apply(&mut metrics));
    }
}
