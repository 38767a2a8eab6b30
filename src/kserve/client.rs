//! The KServe v2 client: gRPC and REST calls over one connection pool, their errors and
//! status checks; the protocol's pure parts are in the parent module.

use super::*;

/// A KServe v2 client. Cheap to clone (one connection pool shared by the clones). Must be
/// created inside a tokio runtime (the gRPC channel spawns its connection task there).
#[derive(Clone)]
pub struct Client {
    url: ServerUrl,
    inner: Inner,
    timeout: Duration,
}

fn grpc_error(s: tonic::Status) -> Error {
    use tonic::Code;
    let kind = match s.code() {
        Code::NotFound => ErrorKind::NotFound,
        Code::Unavailable => ErrorKind::Unreachable,
        Code::DeadlineExceeded => ErrorKind::Timeout,
        Code::Internal | Code::Unknown | Code::Unimplemented => {
            // tonic reports transport-level garbage (not HTTP/2, not gRPC) this way.
            if s.message().contains("protocol error")
                || s.message().contains("transport error")
                || s.message().contains("h2")
                || s.message().contains("content-type")
            {
                ErrorKind::Protocol
            } else {
                ErrorKind::Server
            }
        }
        _ => ErrorKind::Server,
    };
    let mut msg = format!("gRPC {:?}: {}", s.code(), s.message());
    if let Some(src) = std::error::Error::source(&s) {
        msg.push_str(&format!(" ({src})"));
    }
    Error::new(kind, msg)
}

fn rest_error(e: reqwest::Error) -> Error {
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else if e.is_connect() {
        ErrorKind::Unreachable
    } else if e.is_decode() || e.is_body() {
        ErrorKind::Protocol
    } else {
        ErrorKind::Unreachable
    };
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(&format!(": {s}"));
        src = s.source();
    }
    Error::new(kind, msg)
}

impl Client {
    /// A client for `url`; nothing is connected yet. `timeout` bounds each call. TLS trusts
    /// the public web PKI roots and, when given, the PEM certificates in `extra_roots` (a
    /// private CA).
    pub fn new(
        url: &ServerUrl,
        timeout: Duration,
        extra_roots: Option<&[u8]>,
    ) -> Result<Client, String> {
        let inner = match url.transport {
            Transport::Grpc => {
                let mut ep = tonic::transport::Endpoint::from_shared(url.base.clone())
                    .map_err(|e| format!("server-url '{}': {e}", url.base))?
                    .connect_timeout(timeout)
                    .tcp_nodelay(true);
                if url.tls {
                    let mut tls = tonic::transport::ClientTlsConfig::new().with_webpki_roots();
                    if let Some(pem) = extra_roots {
                        tls = tls.ca_certificate(tonic::transport::Certificate::from_pem(pem));
                    }
                    ep = ep
                        .tls_config(tls)
                        .map_err(|e| format!("TLS for '{}': {e}", url.base))?;
                }
                Inner::Grpc(ep.connect_lazy())
            }
            Transport::Rest => {
                let mut b = reqwest::Client::builder()
                    .connect_timeout(timeout)
                    .tcp_nodelay(true);
                if let Some(pem) = extra_roots {
                    for cert in reqwest::Certificate::from_pem_bundle(pem)
                        .map_err(|e| format!("the CA certificates are not PEM: {e}"))?
                    {
                        b = b.add_root_certificate(cert);
                    }
                }
                Inner::Rest(b.build().map_err(|e| format!("HTTP client: {e}"))?)
            }
        };
        Ok(Client {
            url: url.clone(),
            inner,
            timeout,
        })
    }

    pub fn url(&self) -> &ServerUrl {
        &self.url
    }

    async fn timed<T>(
        &self,
        what: &str,
        f: impl std::future::Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        match tokio::time::timeout(self.timeout, f).await {
            Ok(r) => r,
            Err(_) => Err(Error::new(
                ErrorKind::Timeout,
                format!("{what}: no answer within {} ms", self.timeout.as_millis()),
            )),
        }
    }

    async fn grpc_unary<Req, Resp>(
        channel: tonic::transport::Channel,
        method: &'static str,
        req: Req,
    ) -> Result<Resp, Error>
    where
        Req: prost::Message + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        let mut grpc = tonic::client::Grpc::new(channel)
            .max_decoding_message_size(256 << 20)
            .max_encoding_message_size(256 << 20);
        grpc.ready()
            .await
            .map_err(|e| Error::new(ErrorKind::Unreachable, format!("gRPC connection: {e}")))?;
        let path = http::uri::PathAndQuery::from_static(method);
        let codec = tonic_prost::ProstCodec::<Req, Resp>::default();
        grpc.unary(tonic::Request::new(req), path, codec)
            .await
            .map(tonic::Response::into_inner)
            .map_err(grpc_error)
    }

    async fn rest_get(client: &reqwest::Client, url: String) -> Result<(u16, Vec<u8>), Error> {
        let resp = client.get(&url).send().await.map_err(rest_error)?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(rest_error)?;
        Ok((status, body.to_vec()))
    }

    fn model_path(&self, name: &str, version: &str) -> String {
        if version.is_empty() {
            format!("{}/v2/models/{name}", self.url.base)
        } else {
            format!("{}/v2/models/{name}/versions/{version}", self.url.base)
        }
    }

    /// Whether the server says it is ready.
    pub async fn server_ready(&self) -> Result<bool, Error> {
        self.timed("server readiness", async {
            match &self.inner {
                Inner::Grpc(ch) => {
                    let r: proto::ServerReadyResponse = Self::grpc_unary(
                        ch.clone(),
                        "/inference.GRPCInferenceService/ServerReady",
                        proto::ServerReadyRequest {},
                    )
                    .await?;
                    Ok(r.ready)
                }
                Inner::Rest(c) => {
                    let (status, body) =
                        Self::rest_get(c, format!("{}/v2/health/ready", self.url.base)).await?;
                    parse_ready(status, &body, "server readiness")
                }
            }
        })
        .await
    }

    /// Whether the model is loaded and ready ([`ErrorKind::NotFound`] when unknown).
    pub async fn model_ready(&self, name: &str, version: &str) -> Result<bool, Error> {
        self.timed("model readiness", async {
            match &self.inner {
                Inner::Grpc(ch) => {
                    let r: proto::ModelReadyResponse = Self::grpc_unary(
                        ch.clone(),
                        "/inference.GRPCInferenceService/ModelReady",
                        proto::ModelReadyRequest {
                            name: name.into(),
                            version: version.into(),
                        },
                    )
                    .await?;
                    Ok(r.ready)
                }
                Inner::Rest(c) => {
                    let (status, body) =
                        Self::rest_get(c, format!("{}/ready", self.model_path(name, version)))
                            .await?;
                    parse_ready(status, &body, "model readiness")
                }
            }
        })
        .await
    }

    /// The model's metadata.
    pub async fn model_metadata(&self, name: &str, version: &str) -> Result<ModelMetadata, Error> {
        self.timed("model metadata", async {
            match &self.inner {
                Inner::Grpc(ch) => {
                    let r: proto::ModelMetadataResponse = Self::grpc_unary(
                        ch.clone(),
                        "/inference.GRPCInferenceService/ModelMetadata",
                        proto::ModelMetadataRequest {
                            name: name.into(),
                            version: version.into(),
                        },
                    )
                    .await?;
                    let conv = |t: proto::TensorMetadata| TensorMeta {
                        name: t.name,
                        datatype: t.datatype,
                        shape: t.shape,
                    };
                    Ok(ModelMetadata {
                        name: r.name,
                        versions: Some(r.versions),
                        platform: r.platform,
                        inputs: r.inputs.into_iter().map(conv).collect(),
                        outputs: r.outputs.into_iter().map(conv).collect(),
                    })
                }
                Inner::Rest(c) => {
                    let (status, body) = Self::rest_get(c, self.model_path(name, version)).await?;
                    check_status(status, &body)?;
                    serde_json::from_slice(&body).map_err(|e| {
                        Error::new(
                            ErrorKind::Protocol,
                            format!(
                                "the model metadata is not KServe v2 metadata: {e}: {}",
                                snippet(&body)
                            ),
                        )
                    })
                }
            }
        })
        .await
    }

    /// Runs the model on one FP32 tensor of `shape` given as little-endian bytes.
    pub async fn infer(
        &self,
        model: &str,
        version: &str,
        spec: &ImageModel,
        shape: &[i64],
        raw: Vec<u8>,
    ) -> Result<Output, Error> {
        self.timed("inference", async {
            match &self.inner {
                Inner::Grpc(ch) => {
                    let req = proto::ModelInferRequest {
                        model_name: model.into(),
                        model_version: version.into(),
                        inputs: vec![proto::InferInputTensor {
                            name: spec.input_name.clone(),
                            datatype: "FP32".into(),
                            shape: shape.to_vec(),
                            ..Default::default()
                        }],
                        outputs: vec![proto::InferRequestedOutputTensor {
                            name: spec.output_name.clone(),
                            ..Default::default()
                        }],
                        raw_input_contents: vec![raw],
                        ..Default::default()
                    };
                    let resp: proto::ModelInferResponse = Self::grpc_unary(
                        ch.clone(),
                        "/inference.GRPCInferenceService/ModelInfer",
                        req,
                    )
                    .await?;
                    parse_grpc_infer(resp, &spec.output_name)
                }
                Inner::Rest(c) => {
                    let (body, json_len) =
                        rest_infer_body(&spec.input_name, shape, &spec.output_name, &raw);
                    drop(raw);
                    let resp = c
                        .post(format!("{}/infer", self.model_path(model, version)))
                        .header("Inference-Header-Content-Length", json_len.to_string())
                        .header("Content-Type", "application/octet-stream")
                        .body(body)
                        .send()
                        .await
                        .map_err(rest_error)?;
                    let status = resp.status().as_u16();
                    let header_len = resp
                        .headers()
                        .get("inference-header-content-length")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<usize>().ok());
                    let body = resp.bytes().await.map_err(rest_error)?;
                    check_status(status, &body)?;
                    parse_rest_infer(&body, header_len, &spec.output_name)
                }
            }
        })
        .await
    }
}

fn snippet(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(&body[..body.len().min(120)]).into_owned();
    format!("{s:?}")
}

pub(super) fn check_status(status: u16, body: &[u8]) -> Result<(), Error> {
    #[derive(Deserialize)]
    struct ErrorBody {
        error: Option<String>,
        detail: Option<serde_json::Value>,
    }
    if (200..300).contains(&status) {
        return Ok(());
    }
    let detail = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .and_then(|b| b.error.or(b.detail.map(|d| d.to_string())))
        .unwrap_or_else(|| snippet(body));
    let kind = if status == 404 {
        ErrorKind::NotFound
    } else {
        ErrorKind::Server
    };
    Err(Error::new(kind, format!("HTTP {status}: {detail}")))
}

pub(super) fn parse_ready(status: u16, body: &[u8], what: &str) -> Result<bool, Error> {
    check_status(status, body)?;
    // A 200 is ready; bodies, when present, say so too ({"ready": true}).
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(true);
    }
    #[derive(Deserialize)]
    struct Ready {
        ready: Option<bool>,
    }
    let r: Ready = serde_json::from_slice(body).map_err(|e| {
        Error::new(
            ErrorKind::Protocol,
            format!("{what}: not a KServe v2 answer: {e}: {}", snippet(body)),
        )
    })?;
    Ok(r.ready.unwrap_or(true))
}
