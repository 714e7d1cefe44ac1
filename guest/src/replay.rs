//! Preparing a stored object for replay: gunzip, filter, rewrite timestamps,
//! remap ids, and re-encode as the protobuf request to send.

use crate::codec::OtlpRequest;
use crate::filter::Filter;
use crate::id_remap::IdRemap;
use crate::processor::invalid_protobuf;
use crate::records::{PayloadEncoding, PayloadSummary, ProcessorError, Signal};
use crate::timestamps::{self, Rewrite};
use crate::timing::{self, Extents};
use crate::{gzip, summary, wire};

/// How one replay run treats every object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayOptions {
    /// Timestamp rewriting for this object.
    pub rewrite: Rewrite,
    /// Seed of the run's id remapping; `None` keeps ids.
    pub id_remap_seed: Option<u64>,
    /// What to keep.
    pub filter: Filter,
    /// Refuse objects that inflate beyond this many bytes.
    pub max_uncompressed_bytes: u64,
}

/// One request ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayBatch {
    /// The protobuf `Export*ServiceRequest`.
    pub payload: Vec<u8>,
    /// What it holds, with rewritten time bounds.
    pub summary: PayloadSummary,
    /// The shift applied to its timestamps, in nanoseconds.
    pub applied_shift: i64,
}

fn inflate(object: &[u8], limit: u64) -> Result<Vec<u8>, ProcessorError> {
    gzip::decompress(object, limit).map_err(|e| ProcessorError::InvalidPayload(format!("stored object: {e}")))
}

/// Prepares a stored object (`signal` from its key); `None` when the filter
/// leaves nothing to send.
///
/// Without a filter the request is rewritten in place on the wire format
/// ([`wire`]); filters and irregular requests go through
/// [`prepare_by_decoding`], which gives the same decoded result.
pub fn prepare(signal: Signal, object: &[u8], options: &ReplayOptions) -> Result<Option<ReplayBatch>, ProcessorError> {
    let mut protobuf = inflate(object, options.max_uncompressed_bytes)?;
    let Some(scan) = regular_scan(signal, &protobuf, options)? else {
        return transform_decoded(signal, &protobuf, options);
    };
    let mut summary = scan.summary(signal);
    let applied_shift = if let Rewrite::Planned(planned) = &options.rewrite {
        let stamps = wire::keyed_stamps(signal, &protobuf).map_err(invalid_protobuf)?;
        let applied = wire::apply_planned(&mut protobuf, &stamps, planned);
        (summary.min_unix_nanos, summary.max_unix_nanos) = applied.bounds;
        applied.newest_shift
    } else {
        let offset = options.rewrite.uniform_offset(summary.max_unix_nanos).unwrap_or(0);
        wire::shift_timestamps(&mut protobuf, &scan, offset);
        if summary.max_unix_nanos != 0 {
            summary.min_unix_nanos = timing::shift(summary.min_unix_nanos, offset);
            summary.max_unix_nanos = timing::shift(summary.max_unix_nanos, offset);
        }
        timing::saturate(offset)
    };
    if let Some(seed) = options.id_remap_seed {
        wire::remap_ids(&mut protobuf, &scan, &IdRemap::new(seed));
    }
    Ok(Some(ReplayBatch { payload: protobuf, summary, applied_shift }))
}

/// The scan of a stored object the wire path can take; `None` when the
/// decoding path must (a filter, or an irregular request).
fn regular_scan(
    signal: Signal,
    protobuf: &[u8],
    options: &ReplayOptions,
) -> Result<Option<wire::Scan>, ProcessorError> {
    if !options.filter.is_empty() {
        return Ok(None);
    }
    let scan = wire::Scan::of(signal, protobuf, wire::Collect::Offsets).map_err(invalid_protobuf)?;
    Ok((!scan.irregular).then_some(scan))
}

/// What a replay planning pass needs of one stored object: its summary and
/// the newest timestamp of each trace and metric stream in it, after the
/// filters (`options.rewrite` is not applied). `None` when the filters
/// leave nothing.
pub fn timing(signal: Signal, object: &[u8], options: &ReplayOptions) -> Result<Option<ObjectTiming>, ProcessorError> {
    let protobuf = inflate(object, options.max_uncompressed_bytes)?;
    if let Some(scan) = regular_scan(signal, &protobuf, options)? {
        let stamps = wire::keyed_stamps(signal, &protobuf).map_err(invalid_protobuf)?;
        let extents = Extents::of(stamps.iter().map(|&(key, at)| {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&protobuf[at..at + 8]);
            (key, u64::from_le_bytes(bytes))
        }));
        return Ok(Some(ObjectTiming { summary: scan.summary(signal), extents }));
    }
    let mut request = OtlpRequest::decode(signal, PayloadEncoding::Protobuf, &protobuf)?;
    if !options.filter.apply(&mut request) {
        return Ok(None);
    }
    let mut stamps = Vec::new();
    timestamps::for_each_keyed_mut(&mut request, |key, t| stamps.push((key, *t)));
    Ok(Some(ObjectTiming { summary: summary::of(&mut request), extents: Extents::of(stamps) }))
}

/// What [`timing`] found in one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectTiming {
    /// What the object holds after the filters.
    pub summary: PayloadSummary,
    /// The newest timestamp of each group.
    pub extents: Extents,
}

/// [`prepare`] by decoding the request into structs and encoding it again:
/// the reference the wire-format path is tested against.
pub fn prepare_by_decoding(
    signal: Signal,
    object: &[u8],
    options: &ReplayOptions,
) -> Result<Option<ReplayBatch>, ProcessorError> {
    transform_decoded(signal, &inflate(object, options.max_uncompressed_bytes)?, options)
}

fn transform_decoded(
    signal: Signal,
    protobuf: &[u8],
    options: &ReplayOptions,
) -> Result<Option<ReplayBatch>, ProcessorError> {
    let mut request = OtlpRequest::decode(signal, PayloadEncoding::Protobuf, protobuf)?;
    if !options.filter.apply(&mut request) {
        return Ok(None);
    }
    let applied_shift = timestamps::rewrite(&mut request, &options.rewrite);
    if let Some(seed) = options.id_remap_seed {
        remap_ids(&IdRemap::new(seed), &mut request);
    }
    let summary = summary::of(&mut request);
    Ok(Some(ReplayBatch { payload: request.encode_protobuf(), summary, applied_shift }))
}

/// Maps every trace and span id of a decoded `request`: spans, parents, links, log
/// records and exemplars alike.
fn remap_ids(remap: &IdRemap, request: &mut OtlpRequest) {
    use crate::otlp::metrics::v1::metric::Data;
    match request {
        OtlpRequest::Traces(r) => {
            for span in r.resource_spans.iter_mut().flat_map(|x| &mut x.scope_spans).flat_map(|x| &mut x.spans) {
                remap.trace_id(&mut span.trace_id);
                remap.span_id(&mut span.span_id);
                remap.span_id(&mut span.parent_span_id);
                for link in &mut span.links {
                    remap.trace_id(&mut link.trace_id);
                    remap.span_id(&mut link.span_id);
                }
            }
        }
        OtlpRequest::Logs(r) => {
            for record in r.resource_logs.iter_mut().flat_map(|x| &mut x.scope_logs).flat_map(|x| &mut x.log_records) {
                remap.trace_id(&mut record.trace_id);
                remap.span_id(&mut record.span_id);
            }
        }
        OtlpRequest::Metrics(r) => {
            for metric in r.resource_metrics.iter_mut().flat_map(|x| &mut x.scope_metrics).flat_map(|x| &mut x.metrics)
            {
                let exemplars: Vec<_> = match &mut metric.data {
                    Some(Data::Gauge(g)) => g.data_points.iter_mut().flat_map(|p| &mut p.exemplars).collect(),
                    Some(Data::Sum(s)) => s.data_points.iter_mut().flat_map(|p| &mut p.exemplars).collect(),
                    Some(Data::Histogram(h)) => h.data_points.iter_mut().flat_map(|p| &mut p.exemplars).collect(),
                    Some(Data::ExponentialHistogram(h)) => {
                        h.data_points.iter_mut().flat_map(|p| &mut p.exemplars).collect()
                    }
                    Some(Data::Summary(_)) | None => Vec::new(),
                };
                for exemplar in exemplars {
                    remap.trace_id(&mut exemplar.trace_id);
                    remap.span_id(&mut exemplar.span_id);
                }
            }
        }
    }
}

/// A stored object as OTLP/JSON.
pub fn to_json(signal: Signal, object: &[u8], max_uncompressed_bytes: u64) -> Result<String, ProcessorError> {
    let protobuf = inflate(object, max_uncompressed_bytes)?;
    OtlpRequest::decode(signal, PayloadEncoding::Protobuf, &protobuf)?.encode_json()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::tests::spec_example;

    fn object(signal: Signal, file: &str) -> Vec<u8> {
        let request = OtlpRequest::decode(signal, PayloadEncoding::Json, &spec_example(file)).unwrap();
        gzip::compress(&request.encode_protobuf(), 1)
    }

    fn options(rewrite: Rewrite) -> ReplayOptions {
        ReplayOptions { rewrite, id_remap_seed: None, filter: Filter::default(), max_uncompressed_bytes: 1 << 20 }
    }

    #[test]
    fn none_sends_the_stored_request_unchanged() {
        let stored = object(Signal::Logs, "logs.json");
        let batch = prepare(Signal::Logs, &stored, &options(Rewrite::None)).unwrap().unwrap();
        assert_eq!(batch.payload, inflate(&stored, 1 << 20).unwrap());
        assert_eq!(batch.applied_shift, 0);
    }

    #[test]
    fn shift_and_newest_at_move_bounds() {
        let stored = object(Signal::Traces, "trace.json");
        let batch = prepare(Signal::Traces, &stored, &options(Rewrite::Shift(5))).unwrap().unwrap();
        assert_eq!(
            (batch.summary.min_unix_nanos, batch.summary.max_unix_nanos),
            (1544712660000000005, 1544712661000000005)
        );
        let batch =
            prepare(Signal::Traces, &stored, &options(Rewrite::NewestAt(1_800_000_000_000_000_000))).unwrap().unwrap();
        assert_eq!(batch.summary.max_unix_nanos, 1_800_000_000_000_000_000);
        assert_eq!(batch.summary.min_unix_nanos, 1_800_000_000_000_000_000 - 1_000_000_000);
    }

    #[test]
    fn filtered_out_objects_send_nothing_and_corrupt_ones_fail() {
        let stored = object(Signal::Traces, "trace.json");
        let mut only_other = options(Rewrite::None);
        only_other.filter.services = vec!["other".into()];
        assert_eq!(prepare(Signal::Traces, &stored, &only_other), Ok(None));
        assert!(matches!(
            prepare(Signal::Traces, b"junk", &options(Rewrite::None)),
            Err(ProcessorError::InvalidPayload(_))
        ));
        let mut tiny = options(Rewrite::None);
        tiny.max_uncompressed_bytes = 10;
        assert!(matches!(prepare(Signal::Traces, &stored, &tiny), Err(ProcessorError::InvalidPayload(_))));
    }

    #[test]
    fn json_of_an_object_uses_the_otlp_mapping() {
        let json = to_json(Signal::Traces, &object(Signal::Traces, "trace.json"), 1 << 20).unwrap();
        assert!(json.contains("\"traceId\":\"5b8efff798038103d269b633813fc60c\""), "{json}");
    }
}
