//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod broker;
pub mod rtsp;
pub mod scenes;

use std::path::PathBuf;
use std::sync::Once;

/// Initialises GStreamer and registers the plugin statically (no GST_PLUGIN_PATH needed).
pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        gst::init().unwrap();
        gstrsvision::plugin_register_static().expect("register rsvision");
    });
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared` beside the repository (benchmark models and sample videos).
pub fn shared() -> PathBuf {
    let p = root().join("../shared");
    assert!(
        p.is_dir(),
        "{} is missing: the tests read ../shared/models and ../shared/video",
        p.display()
    );
    p
}

/// The shipped demo model.
pub fn shapes_model() -> PathBuf {
    root().join("models/rsvision-shapes.onnx")
}

/// The Python of the project's venv (onnxruntime, numpy, pillow), made by scripts/setup.sh --test.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("RSVISION_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = std::env::var_os("RSVISION_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/rsvision/venv")
        });
    let p = venv.join("bin/python");
    assert!(
        p.exists(),
        "{} is missing: run scripts/setup.sh --test first",
        p.display()
    );
    p
}

/// The Python of a peer venv made by `scripts/setup.sh --test`: `env` overrides, else
/// `~/.cache/rsvision/<name>`.
pub fn peer_python(env: &str, name: &str) -> PathBuf {
    let venv = std::env::var_os(env).map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var("HOME").unwrap())
            .join(".cache/rsvision")
            .join(name)
    });
    let p = venv.join("bin/python");
    assert!(
        p.exists(),
        "{} is missing: run scripts/setup.sh --test first",
        p.display()
    );
    p
}

/// Number of frames of a video file, decoded (`filesrc ! decodebin ! appsink`).
pub fn decoded_frames(path: &std::path::Path) -> usize {
    use gst::prelude::*;
    let pipeline = launch(&format!(
        "filesrc location={} ! decodebin ! appsink name=sink sync=false",
        path.display()
    ));
    let sink = element::<gst_app::AppSink>(&pipeline, "sink");
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut n = 0;
    while sink.pull_sample().is_ok() {
        n += 1;
    }
    pipeline.set_state(gst::State::Null).unwrap();
    n
}

/// Counts the buffers that pass `pad` (a probe that lets them through).
pub fn count_buffers(pad: &gst::Pad) -> std::sync::Arc<std::sync::atomic::AtomicUsize> {
    use gst::prelude::*;
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = count.clone();
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
        c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        gst::PadProbeReturn::Ok
    });
    count
}

/// Collects every GStreamer debug log line (all categories, with `category` raised to
/// `level`) until dropped: for checking what reaches the log (e.g. never a secret).
pub struct LogCapture {
    text: std::sync::Arc<std::sync::Mutex<String>>,
    function: Option<gst::log::DebugLogFunction>,
    category: String,
}

impl LogCapture {
    pub fn start(category: &str, level: gst::DebugLevel) -> Self {
        let text = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let t = text.clone();
        gst::log::set_threshold_for_name(category, level);
        gst::log::set_active(true);
        let function =
            gst::log::add_log_function(move |_cat, _lvl, _file, _fn, _line, _obj, msg| {
                if let Some(m) = msg.get() {
                    t.lock().unwrap().push_str(&format!("{m}\n"));
                }
            });
        LogCapture {
            text,
            function: Some(function),
            category: category.to_string(),
        }
    }

    /// Stops collecting and returns what was logged.
    pub fn finish(mut self) -> String {
        self.stop();
        self.text.lock().unwrap().clone()
    }

    fn stop(&mut self) {
        if let Some(f) = self.function.take() {
            gst::log::remove_log_function(f);
            gst::log::unset_threshold_for_name(&self.category);
        }
    }
}

impl Drop for LogCapture {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A fresh temporary directory under the target directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let p = root().join("target/test-tmp").join(format!(
            "{name}-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64
}

/// Runs a pipeline to EOS, panicking on an error message or after `timeout_s` seconds.
pub fn run_to_eos(pipeline: &gst::Pipeline, timeout_s: u64) {
    use gst::prelude::*;
    pipeline
        .set_state(gst::State::Playing)
        .expect("pipeline plays");
    let bus = pipeline.bus().unwrap();
    let mut done = false;
    for msg in bus.iter_timed(gst::ClockTime::from_seconds(timeout_s)) {
        match msg.view() {
            gst::MessageView::Eos(..) => {
                done = true;
                break;
            }
            gst::MessageView::Error(e) => {
                pipeline.set_state(gst::State::Null).unwrap();
                panic!(
                    "pipeline error from {:?}: {} ({:?})",
                    e.src().map(|s| s.path_string()),
                    e.error(),
                    e.debug()
                );
            }
            _ => {}
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(done, "no EOS within {timeout_s} s");
}

/// Parses a launch line into a pipeline.
pub fn launch(description: &str) -> gst::Pipeline {
    use gst::prelude::*;
    gst::parse::launch(description)
        .unwrap_or_else(|e| panic!("{description}: {e}"))
        .downcast::<gst::Pipeline>()
        .expect("a pipeline")
}

/// The element named `name` in `pipeline`, as type `T` (e.g. `gst_app::AppSink`).
pub fn element<T: gst::prelude::IsA<gst::Element>>(pipeline: &gst::Pipeline, name: &str) -> T {
    use gst::prelude::*;
    pipeline
        .by_name(name)
        .unwrap_or_else(|| panic!("no element {name}"))
        .downcast::<T>()
        .unwrap_or_else(|_| panic!("{name} has another type"))
}

/// The plugin library cargo built with this test: `target/<profile>/deps/libgstrsvision.so`
/// (what `cargo test` builds) or `target/<profile>/libgstrsvision.so` (`cargo build`),
/// whichever is newer.
pub fn plugin_library() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    let candidates = [
        deps.join("libgstrsvision.so"),
        deps.parent().unwrap().join("libgstrsvision.so"),
    ];
    candidates
        .iter()
        .filter_map(|p| Some((std::fs::metadata(p).ok()?.modified().ok()?, p)))
        .max()
        .map(|(_, p)| p.clone())
        .unwrap_or_else(|| panic!("no libgstrsvision.so in {candidates:?}"))
}
