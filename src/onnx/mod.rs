//! ONNX Runtime: finding the shared library at run time, loading models, and sharing one
//! loaded session between every element that uses the same model with the same options.
//!
//! No GStreamer types here. ONNX Runtime is loaded with `dlopen` (ort's `load-dynamic`):
//! from `ORT_DYLIB_PATH` when set, else from where `scripts/setup.sh` puts it
//! (`~/.local/share/rsvision/lib/libonnxruntime.so`), else from the usual system paths.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, LazyLock, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use ort::environment::Environment;
use ort::ep::ExecutionProvider as _;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::{TensorElementType, TensorRef, ValueType};

/// Why loading failed; the element maps each kind to a GStreamer error domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// The ONNX Runtime shared library could not be found or loaded.
    Runtime(String),
    /// The model file does not exist.
    NotFound(String),
    /// The model file exists but cannot be read.
    Unreadable(String),
    /// The file is not a model ONNX Runtime can load (corrupt, truncated, unsupported).
    Corrupt(String),
    /// The model loads but does not fit (no image input, outputs of an unknown layout...).
    Unsupported(String),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Runtime(s)
            | LoadError::NotFound(s)
            | LoadError::Unreadable(s)
            | LoadError::Corrupt(s)
            | LoadError::Unsupported(s) => f.write_str(s),
        }
    }
}

/// Execution providers rsinfer can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Provider {
    #[default]
    Cpu,
    Cuda,
    TensorRt,
    OpenVino,
}

impl Provider {
    pub fn name(self) -> &'static str {
        match self {
            Provider::Cpu => "cpu",
            Provider::Cuda => "cuda",
            Provider::TensorRt => "tensorrt",
            Provider::OpenVino => "openvino",
        }
    }
}

/// The places searched for the ONNX Runtime library, in order.
pub fn runtime_candidates() -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        v.push(PathBuf::from(p));
        // An explicit path is the user's choice: do not silently use another library.
        return v;
    }
    if let Some(data) = std::env::var_os("XDG_DATA_HOME").filter(|p| !p.is_empty()) {
        v.push(PathBuf::from(data).join("rsvision/lib/libonnxruntime.so"));
    }
    if let Some(home) = std::env::var_os("HOME").filter(|p| !p.is_empty()) {
        v.push(PathBuf::from(home).join(".local/share/rsvision/lib/libonnxruntime.so"));
    }
    for dir in [
        "/usr/local/lib",
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/usr/lib",
    ] {
        v.push(PathBuf::from(dir).join("libonnxruntime.so"));
    }
    v
}

static ENVIRONMENT: OnceLock<Environment> = OnceLock::new();
static RUNTIME_LOCK: Mutex<()> = Mutex::new(());

/// Loads ONNX Runtime (once per process) and returns its environment, or an error that says
/// what to install or set. Never panics.
pub fn runtime() -> Result<&'static Environment, LoadError> {
    if let Some(env) = ENVIRONMENT.get() {
        return Ok(env);
    }
    let _guard = RUNTIME_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(env) = ENVIRONMENT.get() {
        return Ok(env);
    }
    let candidates = runtime_candidates();
    let mut tried = Vec::new();
    for path in &candidates {
        if !path.exists() {
            tried.push(format!("{} (absent)", path.display()));
            continue;
        }
        match ort::init_from(path) {
            Ok(builder) => {
                let env = builder
                    .with_name("rsvision")
                    .build()
                    .map_err(|e| LoadError::Runtime(format!("ONNX Runtime environment: {e}")))?;
                return Ok(ENVIRONMENT.get_or_init(|| env));
            }
            Err(e) => tried.push(format!("{}: {e}", path.display())),
        }
    }
    Err(LoadError::Runtime(format!(
        "ONNX Runtime library (libonnxruntime.so, version 1.17 or newer) not found or not \
         loadable. Run scripts/setup.sh (installs the PyPI onnxruntime wheel and copies its \
         library to ~/.local/share/rsvision/lib/), or set ORT_DYLIB_PATH to a \
         libonnxruntime.so.1.x. Tried: {}",
        tried.join("; ")
    )))
}

/// Options that identify a loaded session: elements with equal options share one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ModelOptions {
    pub path: PathBuf,
    /// Intra-op threads of each session (0 = ONNX Runtime's default: one per core).
    pub threads: u32,
    pub provider: Provider,
    /// Sessions that run at once (0 or 1 = one): each holds its own copy of the weights
    /// and runs one inference at a time, so `sessions` callers run in parallel.
    pub sessions: u32,
}

/// Sessions of `performance-hint=throughput`: one per core this process may use.
pub fn throughput_sessions() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
}

/// What the element needs to know about a loaded model.
#[derive(Debug, Clone)]
pub struct ModelInfo {
    pub input_name: String,
    pub input_width: usize,
    pub input_height: usize,
    pub output_name: String,
    /// The output shape seen on a warm-up run (dynamic dimensions resolved).
    pub output_shape: Vec<i64>,
    /// Every input and output, for error messages: `name: type [shape]`.
    pub signature: String,
    /// `names` metadata (Ultralytics), unparsed.
    pub names_metadata: Option<String>,
    /// Execution provider actually used.
    pub provider: Provider,
    /// Things the user should hear about (e.g. fallback to CPU).
    pub warnings: Vec<String>,
    /// Duration of one inference, measured at load (the second warm-up run).
    pub warm_up: Duration,
    /// Images one [`Model::run`] takes at most: 1 for a static batch axis; for a dynamic
    /// one (checked at load with a batch of 2) [`MAX_BATCH`].
    pub max_batch: usize,
}

/// The largest batch given to a model with a dynamic batch axis.
pub const MAX_BATCH: usize = 64;

/// A loaded model: a pool of `options.sessions` sessions (ort's `Session::run` takes the
/// session exclusively). `run` takes a free one, so that many callers run at once; the
/// pool is shared however many elements use the model.
pub struct Model {
    pool: Mutex<Vec<Session>>,
    returned: Condvar,
    pub info: ModelInfo,
    pub options: ModelOptions,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model").field("info", &self.info).finish()
    }
}

static CACHE: LazyLock<Mutex<HashMap<ModelOptions, Weak<Model>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Returns the shared model for `options`, loading it if no element holds it. The second
/// value tells whether this call loaded it.
pub fn load_shared(options: &ModelOptions) -> Result<(Arc<Model>, bool), LoadError> {
    let canonical = check_file(&options.path)?;
    let key = ModelOptions {
        path: canonical,
        ..options.clone()
    };
    // Held while loading: two elements starting together load the model once.
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    cache.retain(|_, w| w.strong_count() > 0);
    if let Some(model) = cache.get(&key).and_then(Weak::upgrade) {
        return Ok((model, false));
    }
    let model = Arc::new(load(&key)?);
    cache.insert(key, Arc::downgrade(&model));
    Ok((model, true))
}

/// Number of distinct sessions currently loaded (for tests and diagnostics).
pub fn loaded_sessions() -> usize {
    let cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    cache.values().filter(|w| w.strong_count() > 0).count()
}

/// Number of sessions currently loaded from the model file `path` (any options).
pub fn sessions_for(path: &Path) -> usize {
    let Ok(path) = path.canonicalize() else {
        return 0;
    };
    let cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .iter()
        .filter(|(k, w)| k.path == path && w.strong_count() > 0)
        .count()
}

pub(crate) fn check_file(path: &Path) -> Result<PathBuf, LoadError> {
    if path.as_os_str().is_empty() {
        return Err(LoadError::NotFound("no model file set".into()));
    }
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            LoadError::NotFound(format!("model file '{}' does not exist", path.display()))
        }
        _ => LoadError::Unreadable(format!(
            "cannot access model file '{}': {e}",
            path.display()
        )),
    })?;
    if meta.is_dir() {
        return Err(LoadError::Unreadable(format!(
            "model file '{}' is a directory",
            path.display()
        )));
    }
    // Open to get a clear permission error before ONNX Runtime's generic one.
    std::fs::File::open(path).map_err(|e| {
        LoadError::Unreadable(format!("cannot read model file '{}': {e}", path.display()))
    })?;
    path.canonicalize()
        .map_err(|e| LoadError::Unreadable(format!("model file '{}': {e}", path.display())))
}

fn describe(name: &str, ty: &ValueType) -> String {
    match ty {
        ValueType::Tensor { ty, shape, .. } => format!("{name}: {ty:?} {:?}", &shape[..]),
        other => format!("{name}: {other:?}"),
    }
}

fn builder(
    env: &Environment,
    options: &ModelOptions,
) -> Result<ort::session::builder::SessionBuilder, String> {
    let b = Session::builder(env).map_err(|e| e.to_string())?;
    let b = b
        .with_optimization_level(GraphOptimizationLevel::All)
        .map_err(|e| e.to_string())?
        // Spinning worker threads burn the cores the rest of the pipeline (decoders,
        // other streams) needs: measured 1.7x slower on a busy 2-core machine.
        .with_intra_op_spinning(false)
        .map_err(|e| e.to_string())?
        .with_inter_op_spinning(false)
        .map_err(|e| e.to_string())?;
    if options.threads > 0 {
        b.with_intra_threads(options.threads as usize)
            .map_err(|e| e.to_string())
    } else {
        Ok(b)
    }
}

fn with_provider(
    b: ort::session::builder::SessionBuilder,
    provider: Provider,
) -> Result<ort::session::builder::SessionBuilder, String> {
    let available = |r: ort::Result<bool>| r.unwrap_or(false);
    let dispatch = match provider {
        Provider::Cpu => return Ok(b),
        Provider::Cuda => {
            available(ort::ep::CUDA::is_available()).then(|| ort::ep::CUDA::default().build())
        }
        Provider::TensorRt => available(ort::ep::TensorRT::is_available())
            .then(|| ort::ep::TensorRT::default().build()),
        Provider::OpenVino => available(ort::ep::OpenVINO::is_available())
            .then(|| ort::ep::OpenVINO::default().build()),
    };
    let dispatch = dispatch.ok_or_else(|| {
        format!(
            "the loaded ONNX Runtime has no {} execution provider",
            provider.name()
        )
    })?;
    b.with_execution_providers([dispatch.error_on_failure()])
        .map_err(|e| e.to_string())
}

fn load(options: &ModelOptions) -> Result<Model, LoadError> {
    let env = runtime()?;
    let mut warnings = Vec::new();
    let corrupt = |e: String| {
        LoadError::Corrupt(format!(
            "ONNX Runtime cannot load model '{}': {e}",
            options.path.display()
        ))
    };
    let mut used = options.provider;
    let mut session = None;
    if options.provider != Provider::Cpu {
        let attempt = builder(env, options)
            .and_then(|b| with_provider(b, options.provider))
            .and_then(|mut b| b.commit_from_file(&options.path).map_err(|e| e.to_string()));
        match attempt {
            Ok(s) => session = Some(s),
            Err(e) => {
                warnings.push(format!(
                    "execution provider '{}' unavailable ({e}); falling back to CPU",
                    options.provider.name()
                ));
                used = Provider::Cpu;
            }
        }
    }
    let mut session = match session {
        Some(s) => s,
        None => builder(env, options)
            .map_err(|e| LoadError::Runtime(e.to_string()))?
            .commit_from_file(&options.path)
            .map_err(|e| corrupt(e.to_string()))?,
    };

    let signature = session
        .inputs()
        .iter()
        .map(|i| format!("input {}", describe(i.name(), i.dtype())))
        .chain(
            session
                .outputs()
                .iter()
                .map(|o| format!("output {}", describe(o.name(), o.dtype()))),
        )
        .collect::<Vec<_>>()
        .join(", ");

    // The image input: a float32 NCHW tensor with 3 channels.
    let image_input = session.inputs().iter().find_map(|i| match i.dtype() {
        ValueType::Tensor {
            ty: TensorElementType::Float32,
            shape,
            ..
        } if shape.len() == 4 && shape[1] == 3 && (shape[0] == 1 || shape[0] == -1) => {
            Some((i.name().to_string(), shape[2], shape[3], shape[0] == -1))
        }
        _ => None,
    });
    let Some((input_name, h, w, dynamic_batch)) = image_input else {
        return Err(LoadError::Unsupported(format!(
            "model '{}' has no image input (a float32 [1, 3, H, W] tensor); it has {signature}",
            options.path.display()
        )));
    };
    if session.inputs().len() != 1 {
        return Err(LoadError::Unsupported(format!(
            "model '{}' has {} inputs, rsinfer feeds exactly one image input; it has {signature}",
            options.path.display(),
            session.inputs().len()
        )));
    }
    let metadata = session.metadata().ok();
    // Ultralytics records the task: pose, segment and obb models have outputs that would
    // decode as garbage detections (e.g. pose keypoints read as classes).
    if let Some(task) = metadata.as_ref().and_then(|m| m.custom("task")) {
        if task != "detect" && task != "classify" {
            return Err(LoadError::Unsupported(format!(
                "model '{}' is a '{task}' model (Ultralytics task metadata); rsinfer decodes \
                 detection and classification models: export a detect or classify model",
                options.path.display()
            )));
        }
    }
    // A second, 4-D output is the mask prototypes of a segmentation model.
    if let Some(extra) = session
        .outputs()
        .iter()
        .skip(1)
        .find(|o| matches!(o.dtype(), ValueType::Tensor { shape, .. } if shape.len() == 4))
    {
        return Err(LoadError::Unsupported(format!(
            "model '{}' has a mask prototype output '{}' (a segmentation model); rsinfer \
             decodes detection models; it has {signature}",
            options.path.display(),
            extra.name()
        )));
    }
    let names_metadata = metadata.as_ref().and_then(|m| m.custom("names"));
    let imgsz = metadata
        .as_ref()
        .and_then(|m| m.custom("imgsz"))
        .and_then(|s| parse_imgsz(&s));
    drop(metadata);
    // Dynamic spatial dimensions: Ultralytics' imgsz metadata, else 640.
    let (input_height, input_width) = match (h, w) {
        (h, w) if h > 0 && w > 0 => (h as usize, w as usize),
        _ => imgsz.unwrap_or((640, 640)),
    };
    let Some(output) = session.outputs().first() else {
        return Err(LoadError::Unsupported(format!(
            "model '{}' has no output",
            options.path.display()
        )));
    };
    let output_name = output.name().to_string();

    // Warm-up: resolves dynamic output shapes and catches run-time failures at start.
    let zeros = vec![0.5f32; 3 * input_width * input_height];
    let started = Instant::now();
    let output_shape = {
        let input =
            TensorRef::from_array_view(([1usize, 3, input_height, input_width], &zeros[..]))
                .map_err(|e| corrupt(e.to_string()))?;
        let outputs = session
            .run(ort::inputs![input_name.as_str() => input])
            .map_err(|e| {
                LoadError::Unsupported(format!(
                    "model '{}' fails on a {input_width}x{input_height} image: {e}",
                    options.path.display()
                ))
            })?;
        let value = &outputs[output_name.as_str()];
        match value.try_extract_tensor::<f32>() {
            Ok((shape, _)) => shape.to_vec(),
            Err(_) => {
                return Err(LoadError::Unsupported(format!(
                "model '{}': output '{output_name}' is not a float32 tensor; it has {signature}",
                options.path.display()
            )))
            }
        }
    };
    // The first run allocates; a second one measures a steady-state inference.
    let first = started.elapsed();
    let started = Instant::now();
    let second = TensorRef::from_array_view(([1usize, 3, input_height, input_width], &zeros[..]))
        .ok()
        .and_then(|input| session.run(ort::inputs![input_name.as_str() => input]).ok())
        .is_some();
    let warm_up = if second { started.elapsed() } else { first };
    // A dynamic batch axis is used only when a batch of 2 really runs and answers two rows
    // (an export may declare the axis dynamic and still reshape to 1 inside).
    let max_batch = if dynamic_batch {
        let twice: Vec<f32> = zeros.iter().chain(zeros.iter()).copied().collect();
        let ok = TensorRef::from_array_view(([2usize, 3, input_height, input_width], &twice[..]))
            .ok()
            .and_then(|input| session.run(ort::inputs![input_name.as_str() => input]).ok())
            .and_then(|out| {
                out[output_name.as_str()]
                    .try_extract_tensor::<f32>()
                    .ok()
                    .map(|(shape, _)| shape.first() == Some(&2))
            })
            .unwrap_or(false);
        if ok {
            MAX_BATCH
        } else {
            1
        }
    } else {
        1
    };

    // The other sessions of the pool, as the first one was made (same provider).
    let mut pool = vec![session];
    for _ in 1..options.sessions.max(1) {
        let mut extra = builder(env, options)
            .and_then(|b| match used {
                Provider::Cpu => Ok(b),
                p => with_provider(b, p),
            })
            .and_then(|mut b| b.commit_from_file(&options.path).map_err(|e| e.to_string()))
            .map_err(corrupt)?;
        let input =
            TensorRef::from_array_view(([1usize, 3, input_height, input_width], &zeros[..]))
                .map_err(|e| corrupt(e.to_string()))?;
        extra
            .run(ort::inputs![input_name.as_str() => input])
            .map_err(|e| corrupt(e.to_string()))?;
        pool.push(extra);
    }

    Ok(Model {
        pool: Mutex::new(pool),
        returned: Condvar::new(),
        info: ModelInfo {
            input_name,
            input_width,
            input_height,
            output_name,
            output_shape,
            signature,
            names_metadata,
            provider: used,
            warnings,
            warm_up,
            max_batch,
        },
        options: options.clone(),
    })
}

/// Parses Ultralytics' `imgsz` metadata, e.g. `[640, 640]` (height, width).
pub(crate) fn parse_imgsz(s: &str) -> Option<(usize, usize)> {
    let v: Vec<usize> = s
        .trim_matches(|c| c == '[' || c == ']' || c == '(' || c == ')')
        .split(',')
        .map(|x| x.trim().parse().ok())
        .collect::<Option<_>>()?;
    match v[..] {
        [h, w] if h > 0 && w > 0 => Some((h, w)),
        [s] if s > 0 => Some((s, s)),
        _ => None,
    }
}

impl Model {
    /// Runs the model on a planar `[N, 3, H, W]` tensor (`N` images one after the other, at
    /// most [`ModelInfo::max_batch`]) and hands the output's shape and values to `f`, while
    /// the session is held.
    pub fn run<R>(&self, tensor: &[f32], f: impl FnOnce(&[i64], &[f32]) -> R) -> Result<R, String> {
        let image = 3 * self.info.input_height * self.info.input_width;
        let batch = tensor.len() / image.max(1);
        if batch == 0 || batch * image != tensor.len() || batch > self.info.max_batch {
            return Err(format!(
                "input has {} values, the model takes {} to {} images of 3x{}x{}",
                tensor.len(),
                1,
                self.info.max_batch,
                self.info.input_height,
                self.info.input_width
            ));
        }
        let input = TensorRef::from_array_view((
            [batch, 3, self.info.input_height, self.info.input_width],
            tensor,
        ))
        .map_err(|e| e.to_string())?;
        let mut lease = self.take();
        let session = lease
            .0
            .as_mut()
            .expect("a lease holds its session until dropped");
        let outputs = session
            .run(ort::inputs![self.info.input_name.as_str() => input])
            .map_err(|e| e.to_string())?;
        let (shape, data) = outputs[self.info.output_name.as_str()]
            .try_extract_tensor::<f32>()
            .map_err(|e| e.to_string())?;
        Ok(f(shape, data))
    }

    /// Sessions in the pool (how many inferences run at once).
    pub fn sessions(&self) -> usize {
        self.options.sessions.max(1) as usize
    }

    /// A free session, waiting for one when all are running.
    fn take(&self) -> Lease<'_> {
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(s) = pool.pop() {
                return Lease(Some(s), self);
            }
            pool = self.returned.wait(pool).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// A session taken from the pool; dropping it puts it back (also on an early return).
struct Lease<'a>(Option<Session>, &'a Model);

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(s) = self.0.take() {
            let model = self.1;
            model.pool.lock().unwrap_or_else(|e| e.into_inner()).push(s);
            model.returned.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imgsz_forms() {
        assert_eq!(parse_imgsz("[640, 480]"), Some((640, 480)));
        assert_eq!(parse_imgsz("320"), Some((320, 320)));
        assert_eq!(parse_imgsz("[a]"), None);
        assert_eq!(parse_imgsz("[0, 3]"), None);
    }

    #[test]
    fn missing_and_directory_models_are_named() {
        let e = check_file(Path::new("/nonexistent/model.onnx")).unwrap_err();
        assert!(matches!(e, LoadError::NotFound(ref s) if s.contains("/nonexistent/model.onnx")));
        let e = check_file(Path::new("/tmp")).unwrap_err();
        assert!(matches!(e, LoadError::Unreadable(_)));
        assert!(matches!(
            check_file(Path::new("")),
            Err(LoadError::NotFound(_))
        ));
    }
}
