//! A KServe v2 (Open Inference Protocol) client for remote inference on OpenVINO Model
//! Server, NVIDIA Triton, KServe and Seldon MLServer (REFERENCE.md section 5).
//!
//! No GStreamer types here. Two transports behind one [`Client`]:
//! - gRPC (`grpc://host:port`, TLS with `grpcs://` or `grpc+tls://`): tonic + prost with the
//!   messages of `proto/grpc_predict_v2.proto` ([`proto`]); the tensor travels as
//!   `raw_input_contents` (little-endian bytes), the answer as `raw_output_contents` (or
//!   typed `contents`).
//! - REST (`http://host:port`, TLS with `https://`): reqwest over rustls, the binary tensor
//!   extension (`Inference-Header-Content-Length`, `binary_data_size`); JSON answers with
//!   `data` arrays are read too.
//!
//! The client is async (tokio); the element owns the runtime.

mod client;
pub mod proto;

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Which protocol a server URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Grpc,
    Rest,
}

/// A parsed `server-url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUrl {
    pub transport: Transport,
    pub tls: bool,
    /// `host:port` (default port: 9000 for gRPC, 8000 for REST, OVMS' usual ones... only
    /// when no port is given).
    pub authority: String,
    /// Base URL the HTTP stacks use: `http(s)://host:port` (no trailing slash).
    pub base: String,
}

/// Parses `grpc://`, `grpcs://`, `grpc+tls://`, `http://` and `https://` URLs. A path after
/// the authority is kept for REST (a server behind a prefix) and refused for gRPC.
pub fn parse_url(url: &str) -> Result<ServerUrl, String> {
    let url = url.trim();
    let (scheme, rest) = url.split_once("://").ok_or_else(|| {
        format!(
            "server-url '{url}' has no scheme: use grpc://host:port (gRPC), http://host:port \
             (REST), or grpcs:// / https:// for TLS"
        )
    })?;
    let (transport, tls) = match scheme.to_ascii_lowercase().as_str() {
        "grpc" => (Transport::Grpc, false),
        "grpcs" | "grpc+tls" => (Transport::Grpc, true),
        "http" => (Transport::Rest, false),
        "https" => (Transport::Rest, true),
        other => {
            return Err(format!(
                "server-url '{url}': unknown scheme '{other}' (grpc, grpcs, grpc+tls, http, https)"
            ))
        }
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    if authority.is_empty() || authority.contains(['?', '#', ' ']) {
        return Err(format!("server-url '{url}' has no valid host"));
    }
    if transport == Transport::Grpc && !path.is_empty() {
        return Err(format!(
            "server-url '{url}': a gRPC URL has no path (grpc://host:port)"
        ));
    }
    let has_port = authority.rsplit_once(':').is_some_and(|(h, p)| {
        !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) && !h.ends_with('[')
    }) && !authority.ends_with(']');
    let authority = if has_port {
        authority.to_string()
    } else {
        let port = match (transport, tls) {
            (Transport::Grpc, _) => 9000,
            (Transport::Rest, false) => 8000,
            (Transport::Rest, true) => 443,
        };
        format!("{authority}:{port}")
    };
    let http = if tls { "https" } else { "http" };
    Ok(ServerUrl {
        transport,
        tls,
        base: format!("{http}://{authority}{path}"),
        authority,
    })
}

/// One tensor of the model metadata.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct TensorMeta {
    pub name: String,
    pub datatype: String,
    pub shape: Vec<i64>,
}

/// Model metadata (`GET /v2/models/{name}`, gRPC `ModelMetadata`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
pub struct ModelMetadata {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub versions: Option<Vec<String>>,
    #[serde(default)]
    pub platform: String,
    #[serde(default)]
    pub inputs: Vec<TensorMeta>,
    #[serde(default)]
    pub outputs: Vec<TensorMeta>,
}

impl ModelMetadata {
    /// `input images: FP32 [1, 3, 640, 640], output output0: FP32 [1, 10, 8400]`.
    pub fn signature(&self) -> String {
        self.inputs
            .iter()
            .map(|t| format!("input {}: {} {:?}", t.name, t.datatype, t.shape))
            .chain(
                self.outputs
                    .iter()
                    .map(|t| format!("output {}: {} {:?}", t.name, t.datatype, t.shape)),
            )
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What rsinfer needs from a served model: an FP32 NCHW image input and the output to
/// decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageModel {
    pub input_name: String,
    pub input_width: usize,
    pub input_height: usize,
    pub output_name: String,
    /// Output shape from the metadata; `-1` (dynamic) dimensions are resolved from the first
    /// answer.
    pub output_shape: Vec<i64>,
}

/// Checks that a served model can take images, as the local backend does: exactly one
/// input, FP32 `[1 or -1, 3, H, W]` with known H and W, a first output, and no 4-D mask
/// prototype output (a segmentation model).
pub fn image_model(meta: &ModelMetadata) -> Result<ImageModel, String> {
    let sig = meta.signature();
    let Some(input) = meta.inputs.first() else {
        return Err(format!("the model has no input; it has {sig}"));
    };
    let image = input.datatype == "FP32"
        && input.shape.len() == 4
        && (input.shape[0] == 1 || input.shape[0] == -1)
        && input.shape[1] == 3;
    if !image {
        let nhwc = input.shape.len() == 4 && input.shape[3] == 3;
        return Err(format!(
            "the model has no image input (an FP32 [1, 3, H, W] tensor{}); it has {sig}",
            if nhwc {
                "; NHWC inputs are not supported: serve the model with an NCHW layout"
            } else {
                ""
            }
        ));
    }
    if meta.inputs.len() != 1 {
        return Err(format!(
            "the model has {} inputs, rsinfer feeds exactly one image input; it has {sig}",
            meta.inputs.len()
        ));
    }
    if input.shape[2] <= 0 || input.shape[3] <= 0 {
        return Err(format!(
            "the model's input '{}' has a dynamic size {:?}: serve it with a fixed shape \
             (OVMS: --shape)",
            input.name, input.shape
        ));
    }
    let Some(output) = meta.outputs.first() else {
        return Err(format!("the model has no output; it has {sig}"));
    };
    if let Some(extra) = meta.outputs.iter().skip(1).find(|o| o.shape.len() == 4) {
        return Err(format!(
            "the model has a mask prototype output '{}' (a segmentation model); rsinfer \
             decodes detection models; it has {sig}",
            extra.name
        ));
    }
    if output.datatype != "FP32" {
        return Err(format!(
            "the model's output '{}' is {}, rsinfer decodes FP32; it has {sig}",
            output.name, output.datatype
        ));
    }
    Ok(ImageModel {
        input_name: input.name.clone(),
        input_width: input.shape[3] as usize,
        input_height: input.shape[2] as usize,
        output_name: output.name.clone(),
        output_shape: output.shape.clone(),
    })
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// Connection refused, DNS, TLS handshake, connection reset.
    Unreachable,
    /// No answer within the timeout.
    Timeout,
    /// The server says the model (or version) does not exist.
    NotFound,
    /// The server answered with an error status.
    Server,
    /// The answer is not a KServe v2 answer (garbage, wrong shapes, missing data).
    Protocol,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// An inference answer: the output tensor's shape and values.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub shape: Vec<i64>,
    pub data: Vec<f32>,
}

/// Little-endian bytes of an f32 tensor (what `raw_input_contents` and the REST binary
/// extension carry).
pub fn tensor_bytes(tensor: &[f32]) -> Vec<u8> {
    let mut v = Vec::with_capacity(tensor.len() * 4);
    for x in tensor {
        v.extend_from_slice(&x.to_le_bytes());
    }
    v
}

/// f32 values of little-endian bytes.
pub fn f32_from_bytes(bytes: &[u8]) -> Result<Vec<f32>, String> {
    if bytes.len() % 4 != 0 {
        return Err(format!(
            "{} bytes of FP32 output is not a whole number of values",
            bytes.len()
        ));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

fn check_output(shape: Vec<i64>, data: Vec<f32>) -> Result<Output, Error> {
    let expected: i64 = shape.iter().product();
    if shape.iter().any(|d| *d < 0) || expected as usize != data.len() {
        return Err(Error::new(
            ErrorKind::Protocol,
            format!(
                "the output holds {} values but its shape is {shape:?}",
                data.len()
            ),
        ));
    }
    Ok(Output { shape, data })
}

/// REST request body with the binary tensor extension: JSON header then raw bytes. Returns
/// the body and the JSON length (the `Inference-Header-Content-Length` value).
pub fn rest_infer_body(
    input_name: &str,
    shape: &[i64],
    output_name: &str,
    raw: &[u8],
) -> (Vec<u8>, usize) {
    let header = serde_json::json!({
        "inputs": [{
            "name": input_name,
            "shape": shape,
            "datatype": "FP32",
            "parameters": {"binary_data_size": raw.len()},
        }],
        "outputs": [{"name": output_name, "parameters": {"binary_data": true}}],
    });
    let mut body = serde_json::to_vec(&header).expect("JSON of plain values");
    let json_len = body.len();
    body.extend_from_slice(raw);
    (body, json_len)
}

#[derive(Deserialize)]
struct RestOutput {
    name: String,
    #[serde(default)]
    datatype: String,
    shape: Vec<i64>,
    #[serde(default)]
    parameters: Option<HashMap<String, serde_json::Value>>,
    #[serde(default)]
    data: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RestInferResponse {
    outputs: Vec<RestOutput>,
}

fn flatten_numbers(v: &serde_json::Value, out: &mut Vec<f32>) -> Result<(), String> {
    match v {
        serde_json::Value::Array(a) => a.iter().try_for_each(|x| flatten_numbers(x, out)),
        serde_json::Value::Number(n) => {
            out.push(n.as_f64().ok_or("a number out of range")? as f32);
            Ok(())
        }
        other => Err(format!("a non-number {other} in the output data")),
    }
}

/// Reads a REST inference answer: `json_len` from the `Inference-Header-Content-Length`
/// header (binary outputs follow the JSON in their order), else plain JSON with `data`.
pub fn parse_rest_infer(
    body: &[u8],
    json_len: Option<usize>,
    output_name: &str,
) -> Result<Output, Error> {
    let protocol = |m: String| Error::new(ErrorKind::Protocol, m);
    let json_len = json_len.unwrap_or(body.len());
    if json_len > body.len() {
        return Err(protocol(format!(
            "Inference-Header-Content-Length {json_len} exceeds the {} byte body",
            body.len()
        )));
    }
    let resp: RestInferResponse = serde_json::from_slice(&body[..json_len]).map_err(|e| {
        protocol(format!(
            "the answer is not a KServe v2 inference answer: {e}"
        ))
    })?;
    let mut offset = json_len;
    for o in resp.outputs {
        let size = o
            .parameters
            .as_ref()
            .and_then(|p| p.get("binary_data_size"))
            .and_then(|v| v.as_u64())
            .map(|v| v as usize);
        if o.name != output_name {
            offset += size.unwrap_or(0);
            continue;
        }
        if !o.datatype.is_empty() && o.datatype != "FP32" {
            return Err(protocol(format!(
                "output '{}' is {}, FP32 expected",
                o.name, o.datatype
            )));
        }
        let data = if let Some(size) = size {
            let bytes = body.get(offset..offset + size).ok_or_else(|| {
                protocol(format!(
                    "output '{}' announces {size} binary bytes beyond the body",
                    o.name
                ))
            })?;
            f32_from_bytes(bytes).map_err(protocol)?
        } else if let Some(data) = o.data.as_ref() {
            let mut v = Vec::new();
            flatten_numbers(data, &mut v).map_err(protocol)?;
            v
        } else {
            return Err(protocol(format!("output '{}' has no data", o.name)));
        };
        return check_output(o.shape, data);
    }
    Err(protocol(format!(
        "the answer has no output named '{output_name}'"
    )))
}

/// Reads a gRPC inference answer (raw contents, else typed `fp32_contents`).
pub fn parse_grpc_infer(
    resp: proto::ModelInferResponse,
    output_name: &str,
) -> Result<Output, Error> {
    let protocol = |m: String| Error::new(ErrorKind::Protocol, m);
    let Some(i) = resp.outputs.iter().position(|o| o.name == output_name) else {
        return Err(protocol(format!(
            "the answer has no output named '{output_name}'"
        )));
    };
    let mut resp = resp;
    let o = resp.outputs.swap_remove(i);
    if !o.datatype.is_empty() && o.datatype != "FP32" {
        return Err(protocol(format!(
            "output '{}' is {}, FP32 expected",
            o.name, o.datatype
        )));
    }
    let data = if !resp.raw_output_contents.is_empty() {
        let raw = resp.raw_output_contents.get(i).ok_or_else(|| {
            protocol(format!(
                "{} raw outputs for output number {i}",
                resp.raw_output_contents.len()
            ))
        })?;
        f32_from_bytes(raw).map_err(protocol)?
    } else if let Some(c) = o.contents {
        c.fp32_contents
    } else {
        return Err(protocol(format!("output '{}' has no data", o.name)));
    };
    check_output(o.shape, data)
}

#[derive(Clone)]
enum Inner {
    Grpc(tonic::transport::Channel),
    Rest(reqwest::Client),
}

pub use client::Client;
#[cfg(test)]
use client::{check_status, parse_ready};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = parse_url("grpc://127.0.0.1:9001").unwrap();
        assert_eq!(u.transport, Transport::Grpc);
        assert!(!u.tls);
        assert_eq!(u.base, "http://127.0.0.1:9001");
        let u = parse_url("grpcs://ovms.example").unwrap();
        assert!(u.tls);
        assert_eq!(u.base, "https://ovms.example:9000");
        assert!(parse_url("grpc+tls://h:1").unwrap().tls);
        let u = parse_url("https://h/prefix/").unwrap();
        assert_eq!((u.transport, u.tls), (Transport::Rest, true));
        assert_eq!(u.base, "https://h:443/prefix");
        assert_eq!(parse_url("http://h").unwrap().base, "http://h:8000");
        assert_eq!(parse_url("http://[::1]:81").unwrap().authority, "[::1]:81");
        assert!(parse_url("localhost:9000")
            .unwrap_err()
            .contains("no scheme"));
        assert!(parse_url("ftp://h").unwrap_err().contains("unknown scheme"));
        assert!(parse_url("grpc://h:1/x").is_err());
        assert!(parse_url("http://").is_err());
    }

    fn meta(inputs: &[(&str, &str, &[i64])], outputs: &[(&str, &str, &[i64])]) -> ModelMetadata {
        let t = |(n, d, s): &(&str, &str, &[i64])| TensorMeta {
            name: n.to_string(),
            datatype: d.to_string(),
            shape: s.to_vec(),
        };
        ModelMetadata {
            inputs: inputs.iter().map(t).collect(),
            outputs: outputs.iter().map(t).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn image_models_are_recognised() {
        let m = image_model(&meta(
            &[("images", "FP32", &[1, 3, 320, 480])],
            &[("output0", "FP32", &[1, 10, 3150])],
        ))
        .unwrap();
        assert_eq!((m.input_width, m.input_height), (480, 320));
        assert_eq!(m.output_name, "output0");
        assert!(image_model(&meta(
            &[("images", "FP32", &[-1, 3, 640, 640])],
            &[("o", "FP32", &[-1, 84, -1])]
        ))
        .is_ok());
        let e =
            image_model(&meta(&[("x", "FP32", &[1, 10])], &[("o", "FP32", &[1, 2])])).unwrap_err();
        assert!(
            e.contains("no image input") && e.contains("input x: FP32 [1, 10]"),
            "{e}"
        );
        let e = image_model(&meta(
            &[("x", "FP32", &[1, 640, 640, 3])],
            &[("o", "FP32", &[1, 2])],
        ))
        .unwrap_err();
        assert!(e.contains("NHWC"), "{e}");
        let e = image_model(&meta(&[("x", "UINT8", &[1, 3, 8, 8])], &[])).unwrap_err();
        assert!(e.contains("no image input"), "{e}");
        let e = image_model(&meta(
            &[("x", "FP32", &[1, 3, -1, -1])],
            &[("o", "FP32", &[1])],
        ))
        .unwrap_err();
        assert!(e.contains("dynamic size"), "{e}");
        let e = image_model(&meta(
            &[("x", "FP32", &[1, 3, 8, 8])],
            &[
                ("o", "FP32", &[1, 116, 8400]),
                ("p", "FP32", &[1, 32, 160, 160]),
            ],
        ))
        .unwrap_err();
        assert!(e.contains("segmentation"), "{e}");
    }

    #[test]
    fn rest_binary_round_trip() {
        let raw = tensor_bytes(&[1.0, -2.5]);
        let (body, json_len) = rest_infer_body("images", &[1, 2], "out", &raw);
        let header: serde_json::Value = serde_json::from_slice(&body[..json_len]).unwrap();
        assert_eq!(header["inputs"][0]["parameters"]["binary_data_size"], 8);
        assert_eq!(header["inputs"][0]["shape"], serde_json::json!([1, 2]));
        assert_eq!(&body[json_len..], &raw[..]);

        // Binary answer with two outputs: the second one is ours.
        let json = br#"{"model_name":"m","outputs":[{"name":"a","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":4}},{"name":"out","datatype":"FP32","shape":[1,2],"parameters":{"binary_data_size":8}}]}"#;
        let mut answer = json.to_vec();
        answer.extend_from_slice(&tensor_bytes(&[7.0]));
        answer.extend_from_slice(&tensor_bytes(&[3.0, 4.0]));
        let out = parse_rest_infer(&answer, Some(json.len()), "out").unwrap();
        assert_eq!(out.shape, [1, 2]);
        assert_eq!(out.data, [3.0, 4.0]);
        // Plain JSON answer.
        let json = br#"{"outputs":[{"name":"out","datatype":"FP32","shape":[1,2,2],"data":[[1,2],[3,4.5]]}]}"#;
        let out = parse_rest_infer(json, None, "out").unwrap();
        assert_eq!(out.data, [1.0, 2.0, 3.0, 4.5]);
        // Garbage and lies are protocol errors, not panics.
        for (body, len) in [
            (&b"HTTP/1.0 junk"[..], None),
            (&json[..], Some(json.len() + 5)),
            (
                &br#"{"outputs":[{"name":"out","shape":[1,3],"data":[1,2]}]}"#[..],
                None,
            ),
            (
                &br#"{"outputs":[{"name":"x","shape":[1],"data":[1]}]}"#[..],
                None,
            ),
            (
                &br#"{"outputs":[{"name":"out","shape":[2],"parameters":{"binary_data_size":8}}]}"#
                    [..],
                None,
            ),
        ] {
            let e = parse_rest_infer(body, len, "out").unwrap_err();
            assert_eq!(e.kind, ErrorKind::Protocol, "{e}");
        }
    }

    #[test]
    fn grpc_answers() {
        let resp = proto::ModelInferResponse {
            outputs: vec![proto::InferOutputTensor {
                name: "out".into(),
                datatype: "FP32".into(),
                shape: vec![1, 2],
                ..Default::default()
            }],
            raw_output_contents: vec![tensor_bytes(&[0.5, 1.5])],
            ..Default::default()
        };
        assert_eq!(
            parse_grpc_infer(resp.clone(), "out").unwrap().data,
            [0.5, 1.5]
        );
        assert_eq!(
            parse_grpc_infer(resp.clone(), "nope").unwrap_err().kind,
            ErrorKind::Protocol
        );
        let mut short = resp;
        short.raw_output_contents = vec![vec![1, 2, 3]];
        assert_eq!(
            parse_grpc_infer(short, "out").unwrap_err().kind,
            ErrorKind::Protocol
        );
    }

    #[test]
    fn error_statuses() {
        assert_eq!(
            check_status(404, br#"{"error":"Model with name m does not exist."}"#)
                .unwrap_err()
                .message,
            "HTTP 404: Model with name m does not exist."
        );
        assert_eq!(
            check_status(500, b"<html>").unwrap_err().kind,
            ErrorKind::Server
        );
        assert!(!parse_ready(200, br#"{"ready": false}"#, "x").unwrap());
        assert_eq!(
            parse_ready(200, b"junk", "x").unwrap_err().kind,
            ErrorKind::Protocol
        );
    }
}
