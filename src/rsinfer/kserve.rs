//! `backend=ovms`: a KServe v2 server (OpenVINO Model Server, Triton, KServe, Seldon
//! MLServer) through `crate::kserve`. Start-up checks the server and the model and runs
//! one inference; afterwards each input is a request on the client's own runtime, and its
//! answer comes on the ticket later (frames wait in the element's in-flight window).

use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use gst::subclass::prelude::*;

use super::engine::{Engine, Info, Output, Ticket};
use super::imp::{RsInfer, CAT};
use super::settings::Settings;
use crate::kserve;

/// Start-up calls (readiness, metadata, the first inference) get at least this long.
const MIN_START_TIMEOUT: Duration = Duration::from_secs(5);

struct KserveEngine {
    /// Owned here, shut down with a timeout in `stop()`.
    runtime: Option<tokio::runtime::Runtime>,
    client: kserve::Client,
    spec: Arc<kserve::ImageModel>,
    model_name: Arc<str>,
    model_version: Arc<str>,
}

impl Engine for KserveEngine {
    fn submit(&mut self, tensor: &[f32]) -> Ticket {
        let (tx, rx) = mpsc::channel();
        let client = self.client.clone();
        let spec = self.spec.clone();
        let name = self.model_name.clone();
        let version = self.model_version.clone();
        let raw = kserve::tensor_bytes(tensor);
        let shape = [1, 3, spec.input_height as i64, spec.input_width as i64];
        if let Some(rt) = self.runtime.as_ref() {
            rt.spawn(async move {
                let started = Instant::now();
                let r = client.infer(&name, &version, &spec, &shape, raw).await;
                let r = r
                    .map(|o| Output {
                        shape: o.shape,
                        data: o.data,
                    })
                    .map_err(|e| e.to_string());
                let _ = tx.send((r, started.elapsed()));
            });
        }
        Ticket::waiting(rx)
    }

    fn pipelined(&self) -> bool {
        true
    }

    /// The server answers requests in parallel.
    fn concurrency(&self) -> usize {
        usize::MAX
    }

    fn default_in_flight(&self) -> usize {
        4
    }

    fn outages(&self) -> bool {
        true
    }

    fn stop(&mut self) -> Option<String> {
        self.runtime.take().map(|rt| {
            shut_down(rt);
            "Server client stopped".to_string()
        })
    }
}

/// Shuts a runtime down: requests still in flight are abandoned and their tasks end with it
/// (bounded by one second: never a hang in a state change). On a thread of its own, as a
/// runtime cannot be dropped inside another one (an application's).
pub(super) fn shut_down(runtime: tokio::runtime::Runtime) {
    std::thread::scope(|scope| {
        scope.spawn(|| runtime.shutdown_timeout(Duration::from_secs(1)));
    });
}

/// A start-up failure of the server backend as a GStreamer error.
fn server_error(url: &str, what: &str, e: &kserve::Error) -> gst::ErrorMessage {
    use kserve::ErrorKind;
    match e.kind {
        ErrorKind::Unreachable | ErrorKind::Timeout => gst::error_msg!(
            gst::ResourceError::OpenReadWrite,
            (
                "Cannot reach the inference server at {} ({}): {}",
                url,
                what,
                e
            )
        ),
        ErrorKind::NotFound => gst::error_msg!(
            gst::ResourceError::NotFound,
            (
                "The inference server at {} does not serve it ({}): {}",
                url,
                what,
                e
            )
        ),
        ErrorKind::Protocol => gst::error_msg!(
            gst::ResourceError::Read,
            (
                "The server at {} does not answer as a KServe v2 server ({}): {}",
                url,
                what,
                e
            )
        ),
        ErrorKind::Server => gst::error_msg!(
            gst::ResourceError::Failed,
            ("The inference server at {} failed ({}): {}", url, what, e)
        ),
    }
}

/// Checks the server and the model, reads the metadata and runs one inference (resolves
/// dynamic output shapes, measures the round trip).
pub(super) fn start(
    imp: &RsInfer,
    settings: &Settings,
) -> Result<(Info, Box<dyn Engine>), gst::ErrorMessage> {
    let Some(url) = settings.server_url.clone().filter(|u| !u.trim().is_empty()) else {
        return Err(gst::error_msg!(
            gst::ResourceError::NotFound,
            ("backend=ovms needs server-url: grpc://host:port (gRPC) or http://host:port (REST)")
        ));
    };
    let parsed = kserve::parse_url(&url)
        .map_err(|e| gst::error_msg!(gst::ResourceError::Settings, ("{}", e)))?;
    let Some(model_name) = settings.model_name.clone().filter(|m| !m.is_empty()) else {
        return Err(gst::error_msg!(
            gst::ResourceError::NotFound,
            ("backend=ovms needs model-name: the name the server serves the model under")
        ));
    };
    let version = settings.model_version.clone().unwrap_or_default();
    let timeout = Duration::from_millis(u64::from(settings.timeout_ms.max(1)));
    let extra_roots = match settings.tls_ca_location.as_deref() {
        Some(path) => Some(std::fs::read(path).map_err(|e| {
            gst::error_msg!(
                gst::ResourceError::OpenRead,
                ("Cannot read tls-ca-location '{}': {}", path, e)
            )
        })?),
        None => None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("rsinfer-ovms")
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| {
            gst::error_msg!(
                gst::LibraryError::Init,
                ("Cannot start the network runtime: {}", e)
            )
        })?;
    let start_client = {
        let _guard = runtime.enter();
        kserve::Client::new(
            &parsed,
            timeout.max(MIN_START_TIMEOUT),
            extra_roots.as_deref(),
        )
    }
    .map_err(|e| gst::error_msg!(gst::ResourceError::Settings, ("{}", e)))?;
    let client = {
        let _guard = runtime.enter();
        kserve::Client::new(&parsed, timeout, extra_roots.as_deref())
    }
    .map_err(|e| gst::error_msg!(gst::ResourceError::Settings, ("{}", e)))?;
    let model_desc = if version.is_empty() {
        format!("model '{model_name}'")
    } else {
        format!("model '{model_name}' version {version}")
    };

    // On a thread of its own: the application may itself run inside a tokio runtime,
    // where block_on would panic.
    let checked = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                runtime.block_on(async {
                    let ready = start_client
                        .server_ready()
                        .await
                        .map_err(|e| server_error(&url, "server readiness", &e))?;
                    if !ready {
                        return Err(gst::error_msg!(
                            gst::ResourceError::Busy,
                            ("The inference server at {} is not ready", url)
                        ));
                    }
                    let ready = start_client
                        .model_ready(&model_name, &version)
                        .await
                        .map_err(|e| server_error(&url, &format!("{model_desc} readiness"), &e))?;
                    if !ready {
                        return Err(gst::error_msg!(
                            gst::ResourceError::NotFound,
                            (
                                "The inference server at {} has {} but it is not ready",
                                url,
                                model_desc
                            )
                        ));
                    }
                    let meta = start_client
                        .model_metadata(&model_name, &version)
                        .await
                        .map_err(|e| server_error(&url, &format!("{model_desc} metadata"), &e))?;
                    let spec = kserve::image_model(&meta).map_err(|e| {
                        gst::error_msg!(
                            gst::StreamError::WrongType,
                            ("The {} on {} cannot take images: {}", model_desc, url, e)
                        )
                    })?;
                    // One inference on a grey image: catches a model that fails at run time and
                    // resolves dynamic output dimensions.
                    let zeros = vec![0.5f32; 3 * spec.input_width * spec.input_height];
                    let shape = [1, 3, spec.input_height as i64, spec.input_width as i64];
                    let started = Instant::now();
                    let out = start_client
                        .infer(
                            &model_name,
                            &version,
                            &spec,
                            &shape,
                            kserve::tensor_bytes(&zeros),
                        )
                        .await
                        .map_err(|e| {
                            server_error(&url, &format!("first inference on {model_desc}"), &e)
                        })?;
                    let first = started.elapsed();
                    // The first call may pay for connections and allocations: measure a second.
                    let started = Instant::now();
                    let second = start_client
                        .infer(
                            &model_name,
                            &version,
                            &spec,
                            &shape,
                            kserve::tensor_bytes(&zeros),
                        )
                        .await
                        .is_ok();
                    let warm_up = if second { started.elapsed() } else { first };
                    Ok((meta, spec, out.shape, warm_up))
                })
            })
            .join()
            .unwrap_or_else(|_| {
                Err(gst::error_msg!(
                    gst::LibraryError::Failed,
                    ("The server checks panicked")
                ))
            })
    });
    let (meta, spec, output_shape, warm_up) = match checked {
        Ok(c) => c,
        Err(e) => {
            shut_down(runtime);
            return Err(e);
        }
    };
    drop(start_client);
    gst::info!(
        CAT,
        imp = imp,
        "Server {} ({:?}{}): {} ready: {}; output {:?}, round trip {:?}",
        url,
        parsed.transport,
        if parsed.tls { ", TLS" } else { "" },
        model_desc,
        meta.signature(),
        output_shape,
        warm_up
    );
    let info = Info {
        name: format!("{model_desc} on {url}"),
        model: model_name.to_string(),
        signature: meta.signature(),
        input_width: spec.input_width,
        input_height: spec.input_height,
        output_shape,
        names_metadata: None,
        warm_up,
        // Requests carry one image (the server batches requests itself when configured to).
        max_batch: 1,
    };
    let engine = KserveEngine {
        runtime: Some(runtime),
        client,
        spec: Arc::new(spec),
        model_name: model_name.into(),
        model_version: version.into(),
    };
    Ok((info, Box::new(engine)))
}
