//! The component's own OTLP messages (generated from the .proto files in
//! `guest/proto`) and opentelemetry-proto's, which the host and its tests
//! use, read each other's protobuf and OTLP/JSON for every signal: what one
//! writes, the other decodes to the same message and writes back byte for
//! byte.

use opentelemetry_proto::tonic::collector::logs::v1 as host_logs;
use opentelemetry_proto::tonic::collector::metrics::v1 as host_metrics;
use opentelemetry_proto::tonic::collector::trace::v1 as host_trace;
use prost::Message;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::support::generate;
use crate::support::otlp::spec_example;

const BASE: u64 = 1_700_000_000_000_000_000;

/// `ours` and `theirs` (one request in both types) agree in protobuf and in
/// OTLP/JSON, in both directions.
fn agree<Ours, Theirs>(ours: &Ours)
where
    Ours: Message + Default + PartialEq + Serialize + DeserializeOwned + std::fmt::Debug,
    Theirs: Message + Default + PartialEq + Serialize + DeserializeOwned + std::fmt::Debug,
{
    let bytes = ours.encode_to_vec();
    let theirs = Theirs::decode(&bytes[..]).unwrap();
    assert_eq!(theirs.encode_to_vec(), bytes, "opentelemetry-proto writes back the component's protobuf");
    assert_eq!(&Ours::decode(&theirs.encode_to_vec()[..]).unwrap(), ours);

    let json = serde_json::to_value(ours).unwrap();
    assert_eq!(serde_json::to_value(&theirs).unwrap(), json, "the same OTLP/JSON");
    let read_back: Theirs = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(read_back, theirs, "opentelemetry-proto reads the component's OTLP/JSON");
    let ours_again: Ours = serde_json::from_value(serde_json::to_value(&theirs).unwrap()).unwrap();
    assert_eq!(&ours_again, ours, "the component reads opentelemetry-proto's OTLP/JSON");
}

#[test]
fn both_message_sets_read_each_others_protobuf_and_json_for_every_signal() {
    agree::<_, host_trace::ExportTraceServiceRequest>(&generate::traces("checkout", 5, 4, BASE));
    agree::<_, host_metrics::ExportMetricsServiceRequest>(&generate::metrics("checkout", 6, BASE));
    agree::<_, host_logs::ExportLogsServiceRequest>(&generate::logs("checkout", 8, 2, BASE));
}

#[test]
fn the_specifications_examples_read_alike() {
    use otlp_capture_guest::otlp::collector::{logs, metrics, trace};
    fn both<Ours: DeserializeOwned + Message, Theirs: DeserializeOwned + Message>(name: &str) {
        let json = spec_example(name);
        let ours: Ours = serde_json::from_slice(&json).unwrap();
        let theirs: Theirs = serde_json::from_slice(&json).unwrap();
        assert_eq!(ours.encode_to_vec(), theirs.encode_to_vec(), "{name}");
    }
    both::<trace::v1::ExportTraceServiceRequest, host_trace::ExportTraceServiceRequest>("trace.json");
    both::<metrics::v1::ExportMetricsServiceRequest, host_metrics::ExportMetricsServiceRequest>("metrics.json");
    both::<logs::v1::ExportLogsServiceRequest, host_logs::ExportLogsServiceRequest>("logs.json");
}
