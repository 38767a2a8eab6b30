//! `backend=onnx`: ONNX Runtime in this process, through `crate::onnx` (the library found
//! at run time, one pool of sessions shared by every element with the same model and
//! options). Inference runs on the element's inference threads, one per session (or in the
//! streaming thread with `max-in-flight=1`).

use std::sync::Arc;

use gst::subclass::prelude::*;

use super::engine::{Engine, Info, Output};
use super::imp::{RsInfer, CAT};
use super::settings::Settings;
use super::worker::LocalEngine;
use super::{ExecutionProvider, PerformanceHint};
use crate::onnx::{self, LoadError, Model, ModelOptions, Provider};

pub(super) fn map_load_error(e: &LoadError) -> gst::ErrorMessage {
    match e {
        LoadError::Runtime(s) => gst::error_msg!(gst::LibraryError::Init, ("{}", s)),
        LoadError::NotFound(s) => gst::error_msg!(gst::ResourceError::NotFound, ("{}", s)),
        LoadError::Unreadable(s) => gst::error_msg!(gst::ResourceError::OpenRead, ("{}", s)),
        LoadError::Corrupt(s) => gst::error_msg!(gst::StreamError::Decode, ("{}", s)),
        LoadError::Unsupported(s) => gst::error_msg!(gst::StreamError::WrongType, ("{}", s)),
    }
}

fn run(model: &Model, tensor: &[f32]) -> Result<Output, String> {
    model.run(tensor, |shape, data| Output {
        shape: shape.to_vec(),
        data: data.to_vec(),
    })
}

/// Loads (or shares) the model of `model-location`.
pub(super) fn start(
    imp: &RsInfer,
    settings: &Settings,
) -> Result<(Info, Box<dyn Engine>), gst::ErrorMessage> {
    let Some(location) = settings.model_location.clone().filter(|l| !l.is_empty()) else {
        return Err(gst::error_msg!(
            gst::ResourceError::NotFound,
            ("model-location is not set: give the path of a YOLO .onnx model")
        ));
    };
    // latency: one session using every core on each frame; throughput: one
    // single-threaded session per core, each on its own frame (no threads waiting on each
    // other inside a frame: measured 1.5-1.9x the frames per second of one two-thread
    // session at 320 on 2 cores, 1.3-1.45x at 640).
    let (sessions, threads) = match settings.performance_hint {
        PerformanceHint::Latency => (1, settings.threads),
        PerformanceHint::Throughput => (onnx::throughput_sessions(), settings.threads.max(1)),
    };
    let options = ModelOptions {
        path: location.into(),
        threads,
        sessions,
        provider: match settings.execution_provider {
            ExecutionProvider::Cpu => Provider::Cpu,
            ExecutionProvider::Cuda => Provider::Cuda,
            ExecutionProvider::TensorRt => Provider::TensorRt,
            ExecutionProvider::OpenVino => Provider::OpenVino,
        },
    };
    let (model, loaded) = onnx::load_shared(&options).map_err(|e| map_load_error(&e))?;
    gst::info!(
        CAT,
        imp = imp,
        "{} model {:?}: {} ({}x{} input, warm-up {:?}, provider {})",
        if loaded { "Loaded" } else { "Sharing" },
        options.path,
        model.info.signature,
        model.info.input_width,
        model.info.input_height,
        model.info.warm_up,
        model.info.provider.name()
    );
    for w in &model.info.warnings {
        gst::element_imp_warning!(imp, gst::LibraryError::Init, ("{}", w));
    }
    let info = Info {
        name: format!("'{}'", options.path.display()),
        model: options
            .path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        signature: model.info.signature.clone(),
        input_width: model.info.input_width,
        input_height: model.info.input_height,
        output_shape: model.info.output_shape.clone(),
        names_metadata: model.info.names_metadata.clone(),
        warm_up: model.info.warm_up,
        max_batch: model.info.max_batch,
    };
    // One thread per session: a session runs one inference at a time, so more would queue.
    let threads = match settings.max_in_flight as usize {
        0 => model.sessions(),
        n => n.min(model.sessions()),
    };
    let engine = LocalEngine::start(
        Arc::new(move |t: &[f32]| run(&model, t)),
        threads,
        "rsinfer-onnx",
        settings.max_in_flight,
    )?;
    Ok((info, Box::new(engine)))
}
