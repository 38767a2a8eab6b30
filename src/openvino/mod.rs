//! OpenVINO Runtime: loading models (ONNX or OpenVINO IR) compiled for a device, sharing one
//! compiled model between every caller with the same options, and running it from several
//! threads at once. The engine behind rsinfer's `backend=openvino`.
//!
//! No GStreamer types here. OpenVINO's C library is loaded at run time (the `openvino`
//! crate with `runtime-linking`): the plugin builds and loads without OpenVINO installed,
//! and only [`load_shared`] fails, with [`LoadError::Runtime`] saying what to install. The
//! library is found as [`runtime_candidates`] lists: `OPENVINO_LIB_PATH` when set, else
//! where `scripts/setup.sh` copies the PyPI wheel's libraries
//! (`~/.local/share/rsvision/lib/openvino/`, the device plugins and frontends beside
//! `libopenvino.so`), else the usual system paths.
//!
//! - [`Options`] identify a compiled model: file, device (`CPU`, `GPU`, `NPU`, `AUTO`...),
//!   [`Precision`] (OpenVINO's `INFERENCE_PRECISION_HINT`; `auto` leaves OpenVINO's choice,
//!   bf16 on CPUs with AVX-512 BF16 or AMX), [`Hint`] (`PERFORMANCE_HINT`), streams and
//!   threads (0: OpenVINO's choice).
//! - [`Model::run`] takes an inference request from a pool inside the model, so callers on
//!   several threads infer in parallel: with [`Hint::Throughput`], OpenVINO runs one request
//!   per stream at the same time.
//! - The model must have one image input `[1, 3, H, W]` (dynamic sizes are fixed from the
//!   Ultralytics `imgsz` metadata, else 640x640) and is fed float32; [`ModelInfo`] has the
//!   first output's shape and the Ultralytics `names` metadata, read from the ONNX file by
//!   [`metadata`] since OpenVINO's C API does not expose it.
//!
//! Errors reuse [`LoadError`], so the element maps them as it does ONNX Runtime's.

mod device;
pub mod metadata;
mod model;
mod runtime;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, Weak};

pub use crate::onnx::LoadError;
pub use model::{Model, ModelInfo};
pub use runtime::{runtime, runtime_candidates, Runtime, LIB_PATH_ENV};

/// The default device.
pub const DEFAULT_DEVICE: &str = "CPU";

/// The precision OpenVINO computes in (`INFERENCE_PRECISION_HINT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Precision {
    /// OpenVINO's choice for the device: bf16 on CPUs with AVX-512 BF16 or AMX, f16 on GPUs.
    #[default]
    Auto,
    F32,
    Bf16,
    F16,
}

impl Precision {
    pub fn name(self) -> &'static str {
        match self {
            Precision::Auto => "auto",
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
            Precision::F16 => "f16",
        }
    }

    /// The `INFERENCE_PRECISION_HINT` value, `None` for OpenVINO's default.
    fn hint_value(self) -> Option<&'static str> {
        match self {
            Precision::Auto => None,
            p => Some(p.name()),
        }
    }
}

impl std::str::FromStr for Precision {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" | "" => Ok(Precision::Auto),
            "f32" | "fp32" | "float32" => Ok(Precision::F32),
            "bf16" | "bfloat16" => Ok(Precision::Bf16),
            "f16" | "fp16" | "float16" => Ok(Precision::F16),
            other => Err(format!(
                "unknown precision '{other}' (auto, f32, bf16 or f16)"
            )),
        }
    }
}

/// What OpenVINO optimises for (`PERFORMANCE_HINT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Hint {
    /// The shortest time per inference: one stream using every core.
    #[default]
    Latency,
    /// The most inferences per second with several callers: several streams, each running
    /// one request at a time.
    Throughput,
}

impl Hint {
    pub fn name(self) -> &'static str {
        match self {
            Hint::Latency => "latency",
            Hint::Throughput => "throughput",
        }
    }

    pub(crate) fn value(self) -> &'static str {
        match self {
            Hint::Latency => "LATENCY",
            Hint::Throughput => "THROUGHPUT",
        }
    }
}

impl std::str::FromStr for Hint {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "latency" | "" => Ok(Hint::Latency),
            "throughput" => Ok(Hint::Throughput),
            other => Err(format!(
                "unknown performance hint '{other}' (latency or throughput)"
            )),
        }
    }
}

/// Options that identify a compiled model: callers with equal options share one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Options {
    /// An `.onnx` file, or an OpenVINO IR `.xml` with its `.bin` beside it.
    pub path: PathBuf,
    /// An OpenVINO device name (`CPU`, `GPU`, `GPU.1`, `NPU`, `AUTO`, `AUTO:GPU,CPU`...);
    /// case does not matter.
    pub device: String,
    pub precision: Precision,
    pub hint: Hint,
    /// `NUM_STREAMS`; 0 lets the hint decide.
    pub streams: u32,
    /// `INFERENCE_NUM_THREADS`; 0 lets OpenVINO decide.
    pub threads: u32,
    /// `ENABLE_CPU_PINNING` on the CPU device. Off by default: pinned inference threads
    /// cannot move to the core a decoder or encoder leaves idle, and in a pipeline they
    /// share the cores with them.
    pub cpu_pinning: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            path: PathBuf::new(),
            device: DEFAULT_DEVICE.into(),
            precision: Precision::default(),
            hint: Hint::default(),
            streams: 0,
            threads: 0,
            cpu_pinning: false,
        }
    }
}

impl Options {
    /// The default options for the model file `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Options {
            path: path.into(),
            ..Options::default()
        }
    }

    /// The properties these options set on the hardware device `device` before compiling,
    /// in order.
    pub(crate) fn properties_for(&self, device: &str) -> Vec<(&'static str, String)> {
        let mut v = self.properties();
        if device == "CPU" {
            let pin = if self.cpu_pinning { "YES" } else { "NO" };
            v.push(("ENABLE_CPU_PINNING", pin.to_string()));
        }
        v
    }

    /// The device properties these options set before compiling, in order.
    pub(crate) fn properties(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![("PERFORMANCE_HINT", self.hint.value().to_string())];
        if let Some(p) = self.precision.hint_value() {
            v.push(("INFERENCE_PRECISION_HINT", p.to_string()));
        }
        if self.streams > 0 {
            v.push(("NUM_STREAMS", self.streams.to_string()));
        }
        if self.threads > 0 {
            v.push(("INFERENCE_NUM_THREADS", self.threads.to_string()));
        }
        v
    }
}

/// OpenVINO's spelling of a device name: trimmed, upper case, `CPU` when empty.
fn normalize_device(device: &str) -> Result<String, LoadError> {
    let d = device.trim();
    if d.contains('\0') {
        return Err(LoadError::Runtime(format!(
            "invalid OpenVINO device name {d:?}"
        )));
    }
    Ok(if d.is_empty() {
        DEFAULT_DEVICE.to_string()
    } else {
        d.to_ascii_uppercase()
    })
}

static CACHE: LazyLock<Mutex<HashMap<Options, Weak<Model>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Returns the shared compiled model for `options`, loading it if no caller holds it. The
/// second value tells whether this call loaded it.
pub fn load_shared(options: &Options) -> Result<(Arc<Model>, bool), LoadError> {
    let key = Options {
        path: crate::onnx::check_file(&options.path)?,
        device: normalize_device(&options.device)?,
        ..options.clone()
    };
    // Held while loading: two callers starting together compile the model once.
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    cache.retain(|_, w| w.strong_count() > 0);
    if let Some(model) = cache.get(&key).and_then(Weak::upgrade) {
        return Ok((model, false));
    }
    let model = Arc::new(model::load(&key)?);
    cache.insert(key, Arc::downgrade(&model));
    Ok((model, true))
}

/// Number of compiled models currently loaded from the model file `path` (any options).
pub fn models_for(path: &Path) -> usize {
    let Ok(path) = path.canonicalize() else {
        return 0;
    };
    let cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .iter()
        .filter(|(k, w)| k.path == path && w.strong_count() > 0)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_threads_are_unpinned_unless_asked_and_only_on_the_cpu() {
        let o = Options::new("m.onnx");
        let pin = |o: &Options, d: &str| {
            o.properties_for(d)
                .into_iter()
                .find(|(k, _)| *k == "ENABLE_CPU_PINNING")
                .map(|(_, v)| v)
        };
        assert_eq!(pin(&o, "CPU").as_deref(), Some("NO"));
        assert_eq!(pin(&o, "GPU"), None);
        let pinned = Options {
            cpu_pinning: true,
            ..o
        };
        assert_eq!(pin(&pinned, "CPU").as_deref(), Some("YES"));
    }

    #[test]
    fn precision_and_hint_parse() {
        assert_eq!("auto".parse(), Ok(Precision::Auto));
        assert_eq!("F32".parse(), Ok(Precision::F32));
        assert_eq!(" fp16 ".parse(), Ok(Precision::F16));
        assert_eq!("bf16".parse(), Ok(Precision::Bf16));
        assert!("int8".parse::<Precision>().unwrap_err().contains("int8"));
        assert_eq!("THROUGHPUT".parse(), Ok(Hint::Throughput));
        assert_eq!("latency".parse(), Ok(Hint::Latency));
        assert!("fast".parse::<Hint>().is_err());
        for p in [
            Precision::Auto,
            Precision::F32,
            Precision::Bf16,
            Precision::F16,
        ] {
            assert_eq!(p.name().parse(), Ok(p));
        }
        for h in [Hint::Latency, Hint::Throughput] {
            assert_eq!(h.name().parse(), Ok(h));
        }
    }

    #[test]
    fn defaults() {
        let o = Options::new("m.onnx");
        assert_eq!(o.device, "CPU");
        assert_eq!(
            (o.precision, o.hint, o.streams, o.threads),
            (Precision::Auto, Hint::Latency, 0, 0)
        );
    }

    #[test]
    fn properties_set_only_what_is_asked() {
        let o = Options::new("m.onnx");
        assert_eq!(
            o.properties(),
            vec![("PERFORMANCE_HINT", "LATENCY".to_string())]
        );
        let o = Options {
            precision: Precision::Bf16,
            hint: Hint::Throughput,
            streams: 2,
            threads: 4,
            ..Options::new("m.onnx")
        };
        assert_eq!(
            o.properties(),
            vec![
                ("PERFORMANCE_HINT", "THROUGHPUT".to_string()),
                ("INFERENCE_PRECISION_HINT", "bf16".to_string()),
                ("NUM_STREAMS", "2".to_string()),
                ("INFERENCE_NUM_THREADS", "4".to_string()),
            ]
        );
    }

    #[test]
    fn device_names() {
        assert_eq!(normalize_device(" gpu.1 ").unwrap(), "GPU.1");
        assert_eq!(normalize_device("auto:gpu,cpu").unwrap(), "AUTO:GPU,CPU");
        assert_eq!(normalize_device("").unwrap(), "CPU");
        assert!(matches!(
            normalize_device("C\0PU"),
            Err(LoadError::Runtime(_))
        ));
    }
}
