//! The tap's gRPC receiver over a real HTTP/2 connection: OTLP status codes.
//! (The HTTP surface's status codes are tested in-process, in the component
//! suite's `http_surface`.)

use crate::support::processes::TapProcess;

fn tap() -> (tempfile::TempDir, TapProcess) {
    let dir = tempfile::tempdir().unwrap();
    let tap = TapProcess::start_with(dir.path().to_str().unwrap(), &[], &["--max-request-mib", "1"]);
    (dir, tap)
}

#[test]
fn otlp_grpc_answers_with_otlp_status_codes() {
    use otlp_capture::otlp::grpc::{RawCodec, TRACES_PATH};
    let (_dir, tap) = tap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let channel = tonic::transport::Endpoint::from_shared(tap.grpc.clone()).unwrap().connect().await.unwrap();
        let call = |payload: &'static [u8]| {
            let channel = channel.clone();
            async move {
                let mut grpc = tonic::client::Grpc::new(channel);
                grpc.ready().await.unwrap();
                let path = tonic::codegen::http::uri::PathAndQuery::from_static(TRACES_PATH);
                grpc.unary(tonic::Request::new(bytes::Bytes::from_static(payload)), path, RawCodec).await
            }
        };
        assert!(call(b"").await.is_ok(), "an empty request is a valid one");
        let refused = call(b"\x0a\x05\x0a").await.unwrap_err();
        assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    });
}
