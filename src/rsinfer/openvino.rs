//! `backend=openvino`: OpenVINO Runtime in this process, through `crate::openvino` (the
//! library found at run time, one compiled model shared by every element with the same
//! model and options). Inference runs on worker threads, one per request OpenVINO wants in
//! flight (`OPTIMAL_NUMBER_OF_INFER_REQUESTS`: 1 with the latency hint, one per stream with
//! the throughput hint), so frames of one stream and of several elements sharing the model
//! keep every stream busy.

use std::sync::Arc;

use gst::subclass::prelude::*;

use super::engine::{Engine, Info, Output};
use super::imp::{RsInfer, CAT};
use super::onnx::map_load_error;
use super::settings::Settings;
use super::worker::LocalEngine;
use super::{PerformanceHint, Precision};
use crate::openvino::{self, Hint, Model, Options};

fn run(model: &Model, tensor: &[f32]) -> Result<Output, String> {
    model.run(tensor, |shape, data| Output {
        shape: shape.to_vec(),
        data: data.to_vec(),
    })
}

/// Compiles (or shares) the model of `model-location` for `device`.
pub(super) fn start(
    imp: &RsInfer,
    settings: &Settings,
) -> Result<(Info, Box<dyn Engine>), gst::ErrorMessage> {
    let Some(location) = settings.model_location.clone().filter(|l| !l.is_empty()) else {
        return Err(gst::error_msg!(
            gst::ResourceError::NotFound,
            ("model-location is not set: give the path of a YOLO .onnx model (or an OpenVINO IR .xml)")
        ));
    };
    let options = Options {
        path: location.into(),
        device: settings.device.clone(),
        precision: match settings.precision {
            Precision::Auto => openvino::Precision::Auto,
            Precision::F32 => openvino::Precision::F32,
            Precision::Bf16 => openvino::Precision::Bf16,
            Precision::F16 => openvino::Precision::F16,
        },
        hint: match settings.performance_hint {
            PerformanceHint::Latency => Hint::Latency,
            PerformanceHint::Throughput => Hint::Throughput,
        },
        streams: 0,
        threads: settings.threads,
        cpu_pinning: false,
    };
    let (model, loaded) = openvino::load_shared(&options).map_err(|e| map_load_error(&e))?;
    gst::info!(
        CAT,
        imp = imp,
        "{} model {:?}: {}",
        if loaded { "Compiled" } else { "Sharing" },
        options.path,
        model.info.summary()
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
        // The model is compiled for a static [1, 3, H, W] input (faster code).
        max_batch: 1,
    };
    let optimal = model.optimal_requests().max(1);
    let threads = match settings.max_in_flight as usize {
        0 => optimal,
        n => n.min(optimal),
    };
    let engine = LocalEngine::start(
        Arc::new(move |t: &[f32]| run(&model, t)),
        threads,
        "rsinfer-ov",
        settings.max_in_flight,
    )?;
    Ok((info, Box::new(engine)))
}
