//! A gRPC call made frame by frame over HTTP/2 (h2), for what gRPC client
//! libraries will not send: encodings they lack (snappy, zstd), two
//! messages in a unary call, a wrong content type, a method nobody serves.

use http::{HeaderMap, Request, StatusCode};

/// What came back: the HTTP status, and the headers with the trailers
/// merged in (a trailers-only answer has its grpc-status among the headers).
pub struct GrpcAnswer {
    pub status: StatusCode,
    pub headers: HeaderMap,
}

impl GrpcAnswer {
    /// The grpc-status, when there is one.
    pub fn grpc_status(&self) -> Option<i32> {
        self.headers.get("grpc-status")?.to_str().ok()?.parse().ok()
    }
}

/// One gRPC frame of `message`, flagged compressed when `compressed`.
pub fn frame(message: &[u8], compressed: bool) -> Vec<u8> {
    let mut framed = vec![u8::from(compressed)];
    framed.extend_from_slice(&(message.len() as u32).to_be_bytes());
    framed.extend_from_slice(message);
    framed
}

/// POSTs `body` (frames as given) to `path` at `address` (`host:port`) with
/// `headers` besides `te: trailers`.
pub fn call(address: &str, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> GrpcAnswer {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let tcp = tokio::net::TcpStream::connect(address).await.unwrap();
        let (client, connection) = h2::client::handshake(tcp).await.unwrap();
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let mut client = client.ready().await.unwrap();
        let mut request = Request::post(format!("http://{address}{path}")).header("te", "trailers");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let (response, mut stream) = client.send_request(request.body(()).unwrap(), false).unwrap();
        stream.send_data(body.into(), true).unwrap();
        let response = response.await.unwrap();
        let status = response.status();
        let mut headers = response.headers().clone();
        let mut body = response.into_body();
        while let Some(chunk) = body.data().await {
            let chunk = chunk.unwrap();
            let _ = body.flow_control().release_capacity(chunk.len());
        }
        if let Ok(Some(trailers)) = body.trailers().await {
            headers.extend(trailers);
        }
        GrpcAnswer { status, headers }
    })
}
