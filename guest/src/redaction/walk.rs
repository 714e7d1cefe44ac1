//! Every place of a request the rules apply to, visited once: resource,
//! scope, span, span event, span link, log record, data point and exemplar
//! attributes, log bodies and span names.

use super::Pass;
use crate::codec::OtlpRequest;
use crate::otlp::common::v1::{InstrumentationScope, KeyValue};
use crate::otlp::metrics::v1::Exemplar;
use crate::otlp::metrics::v1::metric::Data;
use crate::otlp::resource::v1::Resource;
use crate::records::ProcessorError;

/// Applies `pass` to every part of `request`.
pub(super) fn each_part(request: &mut OtlpRequest, pass: &mut Pass<'_>) -> Result<(), ProcessorError> {
    match request {
        OtlpRequest::Traces(r) => {
            for rs in &mut r.resource_spans {
                resource(pass, rs.resource.as_mut())?;
                for ss in &mut rs.scope_spans {
                    scope(pass, ss.scope.as_mut())?;
                    for span in &mut ss.spans {
                        // The name reads the statement before the attributes' own pass changes it.
                        pass.span_name(&mut span.name, &span.attributes);
                        pass.attributes(&mut span.attributes)?;
                        for event in &mut span.events {
                            pass.attributes(&mut event.attributes)?;
                        }
                        for link in &mut span.links {
                            pass.attributes(&mut link.attributes)?;
                        }
                    }
                }
            }
        }
        OtlpRequest::Metrics(r) => {
            for rm in &mut r.resource_metrics {
                resource(pass, rm.resource.as_mut())?;
                for sm in &mut rm.scope_metrics {
                    scope(pass, sm.scope.as_mut())?;
                    for metric in &mut sm.metrics {
                        each_point(metric.data.as_mut(), &mut |attributes, exemplars| {
                            pass.attributes(attributes)?;
                            for exemplar in exemplars {
                                pass.attributes(&mut exemplar.filtered_attributes)?;
                            }
                            Ok(())
                        })?;
                    }
                }
            }
        }
        OtlpRequest::Logs(r) => {
            for rl in &mut r.resource_logs {
                resource(pass, rl.resource.as_mut())?;
                for sl in &mut rl.scope_logs {
                    scope(pass, sl.scope.as_mut())?;
                    for record in &mut sl.log_records {
                        pass.attributes(&mut record.attributes)?;
                        pass.body(record.body.as_mut(), &mut record.attributes)?;
                    }
                }
            }
        }
    }
    Ok(())
}

fn resource(pass: &mut Pass<'_>, resource: Option<&mut Resource>) -> Result<(), ProcessorError> {
    resource.map_or(Ok(()), |r| pass.attributes(&mut r.attributes))
}

fn scope(pass: &mut Pass<'_>, scope: Option<&mut InstrumentationScope>) -> Result<(), ProcessorError> {
    scope.map_or(Ok(()), |s| pass.attributes(&mut s.attributes))
}

type PointVisit<'a> = dyn FnMut(&mut Vec<KeyValue>, &mut [Exemplar]) -> Result<(), ProcessorError> + 'a;

/// Calls `visit` with the attributes and exemplars of every data point.
fn each_point(data: Option<&mut Data>, visit: &mut PointVisit<'_>) -> Result<(), ProcessorError> {
    match data {
        Some(Data::Gauge(g)) => g.data_points.iter_mut().try_for_each(|p| visit(&mut p.attributes, &mut p.exemplars)),
        Some(Data::Sum(s)) => s.data_points.iter_mut().try_for_each(|p| visit(&mut p.attributes, &mut p.exemplars)),
        Some(Data::Histogram(h)) => {
            h.data_points.iter_mut().try_for_each(|p| visit(&mut p.attributes, &mut p.exemplars))
        }
        Some(Data::ExponentialHistogram(h)) => {
            h.data_points.iter_mut().try_for_each(|p| visit(&mut p.attributes, &mut p.exemplars))
        }
        Some(Data::Summary(s)) => s.data_points.iter_mut().try_for_each(|p| visit(&mut p.attributes, &mut [])),
        None => Ok(()),
    }
}
