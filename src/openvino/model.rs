//! Reading, checking and compiling a model, and running it with a pool of inference
//! requests.
//!
//! Each compiled model has its own `Core`: device properties are set on the core before
//! compiling (the `openvino` crate's `compile_model` takes none), and a core of its own
//! keeps one model's options from leaking into the next.
//!
//! Lock order: `requests` and `compiled` are never held together; `run` holds neither
//! while inferring or decoding.

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use openvino::prepostprocess::Pipeline;
use openvino::{
    CompiledModel, Core, DeviceType, ElementType, InferRequest, PartialShape, PropertyKey, Shape,
    Tensor,
};

use super::{device, metadata, runtime, LoadError, Options};

/// What the element needs to know about a compiled model.
#[derive(Debug, Clone)]
pub struct ModelInfo {
    pub input_name: String,
    pub input_width: usize,
    pub input_height: usize,
    /// The model's input element type (`F32`, `F16`...); callers always feed float32.
    pub input_type: String,
    pub output_name: String,
    /// The first output's shape, seen on the warm-up run (dynamic dimensions resolved).
    pub output_shape: Vec<i64>,
    /// Every input and output, for logs and error messages: `name: type [shape]`.
    pub signature: String,
    /// `names` metadata (Ultralytics) of an ONNX file, unparsed; `None` for IR.
    pub names_metadata: Option<String>,
    /// The device asked for, in OpenVINO's spelling.
    pub device: String,
    /// The devices actually running it (`EXECUTION_DEVICES`, e.g. `CPU` behind `AUTO`).
    pub execution_devices: Option<String>,
    /// The precision OpenVINO computes in (`INFERENCE_PRECISION_HINT` read back).
    pub precision: Option<String>,
    /// `PERFORMANCE_HINT`, `NUM_STREAMS` and `INFERENCE_NUM_THREADS` read back.
    pub hint: Option<String>,
    pub streams: Option<String>,
    pub threads: Option<String>,
    /// `OPTIMAL_NUMBER_OF_INFER_REQUESTS`: concurrent callers that keep the device busy.
    pub optimal_requests: usize,
    /// OpenVINO's build number.
    pub version: String,
    /// Things the user should hear about.
    pub warnings: Vec<String>,
    /// Duration of the warm-up inference (the first one, on a grey image).
    pub warm_up: Duration,
}

impl ModelInfo {
    /// One line for the element's info log.
    pub fn summary(&self) -> String {
        let or = |o: &Option<String>| o.clone().unwrap_or_else(|| "?".into());
        format!(
            "OpenVINO {} on {} (executing on {}), precision {}, hint {}, {} streams, {} threads, \
             {} optimal requests; {}; warm-up {:.1} ms",
            self.version,
            self.device,
            or(&self.execution_devices),
            or(&self.precision),
            or(&self.hint),
            or(&self.streams),
            or(&self.threads),
            self.optimal_requests,
            self.signature,
            self.warm_up.as_secs_f64() * 1e3
        )
    }
}

/// A compiled model. [`Model::run`] may be called from any number of threads at once: each
/// call uses an inference request of its own.
pub struct Model {
    // Fields drop in order: requests before the compiled model, the core last.
    requests: Mutex<Vec<InferRequest>>,
    compiled: Mutex<CompiledModel>,
    _core: Mutex<Core>,
    /// Idle requests kept for reuse.
    max_idle: usize,
    input_len: usize,
    pub info: ModelInfo,
    pub options: Options,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model").field("info", &self.info).finish()
    }
}

impl Model {
    /// Runs the model on a planar float32 `[1, 3, H, W]` tensor and hands the first output's
    /// shape and values to `decode`, without copying them.
    pub fn run<R>(
        &self,
        input: &[f32],
        decode: impl FnOnce(&[i64], &[f32]) -> R,
    ) -> Result<R, String> {
        if input.len() != self.input_len {
            return Err(format!(
                "input has {} values, the model takes 1x3x{}x{} = {}",
                input.len(),
                self.info.input_height,
                self.info.input_width,
                self.input_len
            ));
        }
        let mut request = self.take_request()?;
        let result = infer(&mut request, input, decode);
        // A request that failed is dropped, not reused.
        if result.is_ok() {
            let mut idle = self.requests.lock().unwrap_or_else(|e| e.into_inner());
            if idle.len() < self.max_idle {
                idle.push(request);
            }
        }
        result
    }

    /// `OPTIMAL_NUMBER_OF_INFER_REQUESTS`: how many concurrent [`Model::run`] callers keep
    /// the device busy (1 with the latency hint).
    pub fn optimal_requests(&self) -> usize {
        self.info.optimal_requests
    }

    fn take_request(&self) -> Result<InferRequest, String> {
        let idle = self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop();
        match idle {
            Some(r) => Ok(r),
            None => self
                .compiled
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .create_infer_request()
                .map_err(|e| {
                    format!(
                        "OpenVINO cannot create an inference request: {}",
                        message(&e)
                    )
                }),
        }
    }
}

fn infer<R>(
    request: &mut InferRequest,
    input: &[f32],
    decode: impl FnOnce(&[i64], &[f32]) -> R,
) -> Result<R, String> {
    let err = |what: &str, e: openvino::InferenceError| format!("OpenVINO {what}: {}", message(&e));
    let mut tensor = request
        .get_input_tensor()
        .map_err(|e| err("input tensor", e))?;
    let data = tensor
        .get_data_mut::<f32>()
        .map_err(|e| err("input tensor", e))?;
    if data.len() != input.len() {
        return Err(format!(
            "OpenVINO input tensor has {} values, not {}",
            data.len(),
            input.len()
        ));
    }
    data.copy_from_slice(input);
    request.infer().map_err(|e| err("inference", e))?;
    let output = request
        .get_output_tensor_by_index(0)
        .map_err(|e| err("output tensor", e))?;
    let shape = output.get_shape().map_err(|e| err("output shape", e))?;
    let values = output
        .get_data::<f32>()
        .map_err(|e| err("output tensor", e))?;
    Ok(decode(shape.get_dimensions(), values))
}

/// One input or output port, read from the model.
struct Port {
    name: String,
    ty: ElementType,
    /// Dimensions, -1 where dynamic; `None` for a dynamic rank.
    dims: Option<Vec<i64>>,
}

impl Port {
    fn read(node: &openvino::Node) -> Result<Port, openvino::InferenceError> {
        let shape = node.get_partial_shape()?;
        let dims = (!shape.get_rank().is_dynamic()).then(|| {
            shape
                .get_dimensions()
                .iter()
                .map(|d| if d.is_dynamic() { -1 } else { d.get_min() })
                .collect()
        });
        Ok(Port {
            name: node.get_name().unwrap_or_default(),
            ty: node.get_element_type()?,
            dims,
        })
    }

    fn describe(&self) -> String {
        let dims = match &self.dims {
            Some(d) => d
                .iter()
                .map(|&x| {
                    if x < 0 {
                        "?".to_string()
                    } else {
                        x.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join(", "),
            None => "...".into(),
        };
        format!("{}: {} [{dims}]", self.name, self.ty)
    }
}

/// The model's inputs and outputs.
fn ports(model: &openvino::Model) -> Result<(Vec<Port>, Vec<Port>), openvino::InferenceError> {
    let inputs = (0..model.get_inputs_len()?)
        .map(|i| Port::read(&model.get_input_by_index(i)?))
        .collect::<Result<_, _>>()?;
    let outputs = (0..model.get_outputs_len()?)
        .map(|i| Port::read(&model.get_output_by_index(i)?))
        .collect::<Result<_, _>>()?;
    Ok((inputs, outputs))
}

fn is_float(ty: ElementType) -> bool {
    matches!(
        ty,
        ElementType::F32 | ElementType::F16 | ElementType::Bf16 | ElementType::F64
    )
}

/// The ONNX metadata (empty for other formats, or when unreadable: OpenVINO's reading of
/// the file decides whether it is a model).
fn onnx_metadata(path: &Path) -> Vec<(String, String)> {
    let onnx = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("onnx"));
    if onnx {
        metadata::onnx_metadata(path).unwrap_or_default()
    } else {
        Vec::new()
    }
}

/// Reads, checks, reshapes and compiles the model of `options` (already normalised).
pub(super) fn load(options: &Options) -> Result<Model, LoadError> {
    let rt = runtime()?;
    let path = &options.path;
    let shown = path.display();
    let path_str = path
        .to_str()
        .ok_or_else(|| LoadError::Unreadable(format!("model path '{shown}' is not UTF-8")))?;
    let is_ir = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xml"));
    let weights = if is_ir {
        let bin = path.with_extension("bin");
        crate::onnx::check_file(&bin).map_err(|e| match e {
            LoadError::NotFound(_) => LoadError::NotFound(format!(
                "OpenVINO IR '{shown}' has no weights file '{}' beside it",
                bin.display()
            )),
            other => other,
        })?;
        bin.to_str()
            .ok_or_else(|| LoadError::Unreadable(format!("'{}' is not UTF-8", bin.display())))?
            .to_string()
    } else {
        String::new()
    };

    let mut core = Core::new().map_err(|e| LoadError::Runtime(format!("OpenVINO core: {e}")))?;
    let mut model = core.read_model_from_file(path_str, &weights).map_err(|e| {
        LoadError::Corrupt(format!(
            "OpenVINO cannot read model '{shown}': {}",
            message(&e)
        ))
    })?;

    let corrupt = |e: openvino::InferenceError| {
        LoadError::Corrupt(format!(
            "OpenVINO cannot inspect model '{shown}': {}",
            message(&e)
        ))
    };
    let (inputs, outputs) = ports(&model).map_err(corrupt)?;
    let signature = inputs
        .iter()
        .map(|p| format!("input {}", p.describe()))
        .chain(outputs.iter().map(|p| format!("output {}", p.describe())))
        .collect::<Vec<_>>()
        .join(", ");

    // The image input: [1, 3, H, W] (batch and sizes may be dynamic), of a float type.
    let unsupported =
        |why: String| LoadError::Unsupported(format!("model '{shown}' {why}; it has {signature}"));
    if inputs.len() != 1 {
        return Err(unsupported(format!(
            "has {} inputs, rsinfer feeds exactly one image input",
            inputs.len()
        )));
    }
    let input = &inputs[0];
    let (h, w) = match input.dims.as_deref() {
        Some(&[n, 3, h, w]) if (n == 1 || n < 0) && is_float(input.ty) => (h, w),
        _ => {
            return Err(unsupported(
                "has no image input (a float [1, 3, H, W] tensor)".into(),
            ))
        }
    };
    let Some(output) = outputs.first() else {
        return Err(unsupported("has no output".into()));
    };
    if !is_float(output.ty) {
        return Err(unsupported(format!(
            "has a {} first output, not a float tensor",
            output.ty
        )));
    }
    // A second, 4-D output is the mask prototypes of a segmentation model.
    if let Some(extra) = outputs
        .iter()
        .skip(1)
        .find(|o| o.dims.as_ref().is_some_and(|d| d.len() == 4))
    {
        return Err(unsupported(format!(
            "has a mask prototype output '{}' (a segmentation model); rsinfer decodes \
             detection models",
            extra.name
        )));
    }
    let meta = onnx_metadata(path);
    // Ultralytics records the task: pose, segment and obb outputs would decode as garbage
    // detections.
    if let Some(task) =
        metadata::lookup(&meta, "task").filter(|t| *t != "detect" && *t != "classify")
    {
        return Err(LoadError::Unsupported(format!(
            "model '{shown}' is a '{task}' model (Ultralytics task metadata); rsinfer decodes \
             detection and classification models: export a detect or classify model"
        )));
    }
    let names_metadata = metadata::lookup(&meta, "names").map(str::to_string);
    let (height, width) = if h > 0 && w > 0 {
        (h as usize, w as usize)
    } else {
        metadata::lookup(&meta, "imgsz")
            .and_then(crate::onnx::parse_imgsz)
            .unwrap_or((640, 640))
    };

    // A static [1, 3, H, W] input compiles to faster code than a dynamic one.
    if input.dims.as_deref() != Some(&[1, 3, h, w]) || h <= 0 || w <= 0 {
        let shape =
            PartialShape::new_static(4, &[1, 3, height as i64, width as i64]).map_err(corrupt)?;
        model.reshape_single_input(&shape).map_err(|e| {
            unsupported(format!(
                "cannot be reshaped to [1, 3, {height}, {width}]: {}",
                message(&e)
            ))
        })?;
    }
    // Float32 in and out, whatever the model computes in.
    if input.ty != ElementType::F32 || output.ty != ElementType::F32 {
        model = to_f32(&model, height, width)
            .map_err(|e| unsupported(format!("cannot take and give float32: {}", message(&e))))?;
    }

    let device = options.device.as_str();
    let device_warnings = device::configure(&mut core, device, options)?;
    let mut compiled = core
        .compile_model(&model, DeviceType::from(device))
        .map_err(|e| {
            let e = message(&e);
            device::unavailable(&core, device, &e).unwrap_or_else(|| {
                LoadError::Unsupported(format!(
                    "OpenVINO cannot compile model '{shown}' for {device}: {e}"
                ))
            })
        })?;
    drop(model);

    let read = |key: &str| {
        compiled
            .get_property(&PropertyKey::Other(key.to_string().into()))
            .ok()
            .map(|v| v.into_owned())
    };
    let optimal_requests = read("OPTIMAL_NUMBER_OF_INFER_REQUESTS")
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(1);
    let mut info = ModelInfo {
        input_name: input.name.clone(),
        input_width: width,
        input_height: height,
        input_type: input.ty.to_string(),
        output_name: output.name.clone(),
        output_shape: Vec::new(),
        signature: signature.clone(),
        names_metadata,
        device: device.to_string(),
        execution_devices: read("EXECUTION_DEVICES"),
        precision: read("INFERENCE_PRECISION_HINT")
            .or_else(|| device::execution_precision(&core, read("EXECUTION_DEVICES").as_deref())),
        hint: read("PERFORMANCE_HINT"),
        streams: read("NUM_STREAMS"),
        threads: read("INFERENCE_NUM_THREADS"),
        optimal_requests,
        version: rt.version.clone(),
        warnings: device_warnings,
        warm_up: Duration::ZERO,
    };
    if options.precision.hint_value().is_some()
        && info
            .precision
            .as_deref()
            .is_some_and(|p| !p.eq_ignore_ascii_case(options.precision.name()))
    {
        info.warnings.push(format!(
            "precision {} asked, {device} computes in {}",
            options.precision.name(),
            info.precision.as_deref().unwrap_or("?")
        ));
    }

    // Warm-up: resolves dynamic output shapes and catches run-time failures at start.
    let grey = vec![0.5f32; 3 * width * height];
    let mut request = compiled.create_infer_request().map_err(|e| {
        LoadError::Runtime(format!(
            "OpenVINO cannot create an inference request: {}",
            message(&e)
        ))
    })?;
    let started = Instant::now();
    info.output_shape = infer(&mut request, &grey, |shape, _| shape.to_vec())
        .map_err(|e| unsupported(format!("fails on a {width}x{height} image: {e}")))?;
    info.warm_up = started.elapsed();

    Ok(Model {
        requests: Mutex::new(vec![request]),
        compiled: Mutex::new(compiled),
        _core: Mutex::new(core),
        max_idle: optimal_requests,
        input_len: 3 * width * height,
        info,
        options: options.clone(),
    })
}

/// The model with float32 input and first output (OpenVINO converts at the edges).
fn to_f32(
    model: &openvino::Model,
    height: usize,
    width: usize,
) -> Result<openvino::Model, openvino::InferenceError> {
    let pipeline = Pipeline::new(model)?;
    let example = Tensor::new(
        ElementType::F32,
        &Shape::new(&[1, 3, height as i64, width as i64])?,
    )?;
    pipeline
        .get_input_info_by_index(0)?
        .get_tensor_info()?
        .set_from(&example)?;
    pipeline
        .get_output_info_by_index(0)?
        .get_tensor_info()?
        .set_element_type(ElementType::F32)?;
    pipeline.build_new_model()
}

/// OpenVINO's message on one line, without the C++ source locations it is wrapped in
/// (`Exception from src/inference/src/cpp/core.cpp:84:`).
pub(super) fn message(e: &openvino::InferenceError) -> String {
    let Some(text) = &e.message else {
        return e.kind.to_string();
    };
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| {
            let location = l.starts_with("Exception from ") && l.ends_with(':');
            !(l.is_empty() || location)
        })
        .collect();
    if lines.is_empty() {
        e.kind.to_string()
    } else {
        lines.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_lose_their_source_locations() {
        let e = openvino::InferenceError {
            kind: openvino::InferenceErrorKind::GeneralError,
            message: Some(
                "Exception from src/inference/src/cpp/core.cpp:264:\nException from \
                 src/inference/src/dev/core_impl.cpp:1422:\nDevice with \"NOPE\" name is not \
                 registered in the OpenVINO Runtime\n\n"
                    .into(),
            ),
        };
        assert_eq!(
            message(&e),
            "Device with \"NOPE\" name is not registered in the OpenVINO Runtime"
        );
        let e = openvino::InferenceError {
            kind: openvino::InferenceErrorKind::NotFound,
            message: None,
        };
        assert_eq!(message(&e), "not found");
    }

    #[test]
    fn port_descriptions() {
        let p = Port {
            name: "images".into(),
            ty: ElementType::F32,
            dims: Some(vec![1, 3, -1, -1]),
        };
        assert_eq!(p.describe(), "images: F32 [1, 3, ?, ?]");
        let p = Port { dims: None, ..p };
        assert_eq!(p.describe(), "images: F32 [...]");
    }
}
