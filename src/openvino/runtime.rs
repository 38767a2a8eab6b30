//! Finding and loading OpenVINO's C library (`libopenvino_c.so`) at run time, once per
//! process, the way [`crate::onnx::runtime`] finds ONNX Runtime.
//!
//! The `openvino` crate's `runtime-linking` loads the library with `dlopen`, but its own
//! checks `unwrap()` on an unexpected version string and its function wrappers panic when a
//! symbol is missing. So each candidate is first opened here and checked (the C API's
//! symbols this module calls, version 2025.1 or newer), and only a library that passes is
//! handed to `openvino_sys::library::load_from`, which keeps it for the process.

use std::ffi::{c_void, CStr};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use crate::onnx::LoadError;

/// The environment variable naming the C library (`libopenvino_c.so`, or its directory).
pub const LIB_PATH_ENV: &str = "OPENVINO_LIB_PATH";

/// The loaded OpenVINO Runtime.
#[derive(Debug)]
pub struct Runtime {
    /// The C library loaded.
    pub library: PathBuf,
    /// OpenVINO's build number, e.g. `2026.4.0-20918-...`.
    pub version: String,
}

/// C API functions this module calls through the `openvino` crate: a library lacking one
/// would panic at the call, so it is refused at load.
const REQUIRED_SYMBOLS: &[&str] = &[
    "ov_get_openvino_version",
    "ov_version_free",
    "ov_get_last_err_msg",
    "ov_core_create",
    "ov_core_free",
    "ov_core_read_model",
    "ov_core_set_property",
    "ov_core_compile_model",
    "ov_core_get_available_devices",
    "ov_available_devices_free",
    "ov_model_inputs_size",
    "ov_model_outputs_size",
    "ov_model_const_input_by_index",
    "ov_model_const_output_by_index",
    "ov_model_reshape_single_input",
    "ov_model_free",
    "ov_port_get_any_name",
    "ov_port_get_element_type",
    "ov_port_get_partial_shape",
    "ov_partial_shape_create_static",
    "ov_partial_shape_free",
    "ov_preprocess_prepostprocessor_create",
    "ov_preprocess_prepostprocessor_build",
    "ov_preprocess_input_tensor_info_set_from",
    "ov_preprocess_output_set_element_type",
    "ov_compiled_model_get_property",
    "ov_compiled_model_create_infer_request",
    "ov_compiled_model_free",
    "ov_infer_request_get_input_tensor",
    "ov_infer_request_get_output_tensor_by_index",
    "ov_infer_request_infer",
    "ov_infer_request_free",
    "ov_tensor_create",
    "ov_tensor_data",
    "ov_tensor_get_shape",
    "ov_tensor_get_byte_size",
    "ov_tensor_free",
    "ov_shape_create",
    "ov_shape_free",
];

/// The oldest OpenVINO the `openvino` crate 0.11 accepts (its element type enum changed).
const MIN_VERSION: (u32, u32) = (2025, 1);

/// The places searched for `libopenvino_c.so`, in order.
pub fn runtime_candidates() -> Vec<PathBuf> {
    candidates_with(|name| std::env::var_os(name))
}

/// [`runtime_candidates`] with the environment read through `env`.
fn candidates_with(env: impl Fn(&str) -> Option<std::ffi::OsString>) -> Vec<PathBuf> {
    const LIB: &str = "libopenvino_c.so";
    let mut v = Vec::new();
    let env = |name: &str| env(name).filter(|p| !p.is_empty());
    if let Some(p) = env(LIB_PATH_ENV) {
        let p = PathBuf::from(p);
        // An explicit path is the user's choice: do not silently use another library.
        v.push(if p.is_dir() { p.join(LIB) } else { p });
        return v;
    }
    if let Some(data) = env("XDG_DATA_HOME") {
        v.push(PathBuf::from(data).join("rsvision/lib/openvino").join(LIB));
    }
    if let Some(home) = env("HOME") {
        v.push(
            PathBuf::from(home)
                .join(".local/share/rsvision/lib/openvino")
                .join(LIB),
        );
    }
    for dir in [
        "/usr/local/lib",
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/usr/lib",
        "/opt/intel/openvino/runtime/lib/intel64",
        "/opt/intel/openvino/runtime/lib/aarch64",
    ] {
        v.push(PathBuf::from(dir).join(LIB));
    }
    v
}

static RUNTIME: OnceLock<Runtime> = OnceLock::new();
static RUNTIME_LOCK: Mutex<()> = Mutex::new(());

/// Loads OpenVINO's C library (once per process), or says what to install or set. Never
/// panics.
pub fn runtime() -> Result<&'static Runtime, LoadError> {
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let _guard = RUNTIME_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let mut tried = Vec::new();
    for path in runtime_candidates() {
        if !path.exists() {
            tried.push(format!("{} (absent)", path.display()));
            continue;
        }
        match probe(&path) {
            Ok((library, version)) => {
                if let Err(e) = openvino_sys::library::load_from(path.clone()) {
                    tried.push(format!("{}: {e}", path.display()));
                    continue;
                }
                // Keep the checked handle open: the library must never be unloaded.
                std::mem::forget(library);
                return Ok(RUNTIME.get_or_init(|| Runtime {
                    library: path,
                    version,
                }));
            }
            Err(e) => tried.push(format!("{}: {e}", path.display())),
        }
    }
    Err(LoadError::Runtime(format!(
        "OpenVINO Runtime library (libopenvino_c.so, version {}.{} or newer) not found or not \
         loadable. Run scripts/setup.sh (installs the PyPI openvino wheel and copies its \
         libraries to ~/.local/share/rsvision/lib/openvino/), or set {LIB_PATH_ENV} to a \
         libopenvino_c.so. Tried: {}",
        MIN_VERSION.0,
        MIN_VERSION.1,
        tried.join("; ")
    )))
}

/// Opens `path` and checks it is a usable OpenVINO C library; returns the open handle and
/// OpenVINO's version.
fn probe(path: &Path) -> Result<(libloading::Library, String), String> {
    // SAFETY: loading a shared library runs its initialisers; this is the library the user
    // (or setup.sh) designated as OpenVINO's.
    let library = unsafe { libloading::Library::new(path) }.map_err(|e| e.to_string())?;
    let missing: Vec<&str> = REQUIRED_SYMBOLS
        .iter()
        .copied()
        // SAFETY: only the symbol's presence is checked; nothing is called.
        .filter(|s| unsafe { library.get::<*const c_void>(s.as_bytes()) }.is_err())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "not an OpenVINO C API library, or too old: lacks {}",
            missing.join(", ")
        ));
    }
    let version = library_version(&library)?;
    match parse_version(&version) {
        Some(v) if v >= MIN_VERSION => Ok((library, version)),
        Some(_) => Err(format!(
            "OpenVINO {version} is too old: rsvision needs {}.{} or newer",
            MIN_VERSION.0, MIN_VERSION.1
        )),
        None => Err(format!("unrecognised OpenVINO version '{version}'")),
    }
}

fn library_version(library: &libloading::Library) -> Result<String, String> {
    type GetVersion =
        unsafe extern "C" fn(*mut openvino_sys::ov_version_t) -> openvino_sys::ov_status_e;
    type FreeVersion = unsafe extern "C" fn(*mut openvino_sys::ov_version_t);
    // SAFETY: the C API's signatures (openvino_sys declares the same).
    let (get, free) = unsafe {
        (
            library
                .get::<GetVersion>(b"ov_get_openvino_version")
                .map_err(|e| e.to_string())?,
            library
                .get::<FreeVersion>(b"ov_version_free")
                .map_err(|e| e.to_string())?,
        )
    };
    let mut v = openvino_sys::ov_version_t {
        buildNumber: std::ptr::null(),
        description: std::ptr::null(),
    };
    // SAFETY: `v` is a valid out-parameter; its strings are freed by ov_version_free.
    unsafe {
        if get(&mut v) != openvino_sys::ov_status_e::OK || v.buildNumber.is_null() {
            return Err("ov_get_openvino_version failed".into());
        }
        let version = CStr::from_ptr(v.buildNumber).to_string_lossy().into_owned();
        free(&mut v);
        Ok(version)
    }
}

/// `2026.4.0-20918-...` to `(2026, 4)`, split the way the `openvino` crate splits it.
fn parse_version(s: &str) -> Option<(u32, u32)> {
    let mut parts = s.split(['.', '-']);
    let year = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((year, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(parse_version("2026.4.0-20918-abc"), Some((2026, 4)));
        assert_eq!(parse_version("2025.1.0"), Some((2025, 1)));
        assert_eq!(parse_version("custom_master_abc"), None);
        assert_eq!(parse_version("2024"), None);
        assert!(parse_version("2024.6.0").unwrap() < MIN_VERSION);
    }

    fn candidates(vars: &[(&str, &str)]) -> Vec<PathBuf> {
        candidates_with(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| std::ffi::OsString::from(v))
        })
    }

    #[test]
    fn candidates_in_order() {
        let v = candidates(&[("HOME", "/home/u"), ("XDG_DATA_HOME", "/data")]);
        assert_eq!(
            v[0],
            Path::new("/data/rsvision/lib/openvino/libopenvino_c.so")
        );
        assert_eq!(
            v[1],
            Path::new("/home/u/.local/share/rsvision/lib/openvino/libopenvino_c.so")
        );
        assert_eq!(v[2], Path::new("/usr/local/lib/libopenvino_c.so"));
        assert!(v.contains(&PathBuf::from(
            "/opt/intel/openvino/runtime/lib/intel64/libopenvino_c.so"
        )));
        // Empty variables count as unset.
        let v = candidates(&[("HOME", ""), ("XDG_DATA_HOME", ""), (LIB_PATH_ENV, "")]);
        assert_eq!(v[0], Path::new("/usr/local/lib/libopenvino_c.so"));
    }

    #[test]
    fn explicit_path_is_the_only_candidate() {
        let v = candidates(&[
            ("HOME", "/home/u"),
            (LIB_PATH_ENV, "/x/libopenvino_c.so.2640"),
        ]);
        assert_eq!(v, vec![PathBuf::from("/x/libopenvino_c.so.2640")]);
        // A directory names the library inside it.
        let v = candidates(&[(LIB_PATH_ENV, "/tmp")]);
        assert_eq!(v, vec![PathBuf::from("/tmp/libopenvino_c.so")]);
    }

    #[test]
    fn probe_refuses_what_is_not_openvino() {
        let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/rsvision-shapes.onnx");
        assert!(probe(&model).is_err());
        // A real library that is not OpenVINO's C API.
        let libc = [
            "/lib/x86_64-linux-gnu/libm.so.6",
            "/lib/aarch64-linux-gnu/libm.so.6",
        ]
        .into_iter()
        .find(|p| Path::new(p).exists());
        if let Some(libm) = libc {
            let e = probe(Path::new(libm)).unwrap_err();
            assert!(e.contains("lacks ov_get_openvino_version"), "{e}");
        }
    }
}
