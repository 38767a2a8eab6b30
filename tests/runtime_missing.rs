//! Without a loadable ONNX Runtime library, rsinfer fails to start with an error that says
//! what to install or set, and the process exits normally (no panic, no crash). ONNX
//! Runtime is loaded once per process, so each case runs gst-launch-1.0 in its own process
//! with the freshly built plugin.

mod common;

use std::process::Command;

fn launch_with_ort(ort_dylib_path: &str) -> (Option<i32>, String) {
    let dir = common::TempDir::new("ort-missing");
    std::os::unix::fs::symlink(
        common::plugin_library(),
        dir.path().join("libgstrsvision.so"),
    )
    .unwrap();
    let model = common::root().join("tests/data/const_v8.onnx");
    let out = Command::new("gst-launch-1.0")
        .args(["videotestsrc", "num-buffers=3", "!", "rsinfer"])
        .arg(format!("model-location={}", model.display()))
        .args(["!", "fakesink"])
        .env("GST_PLUGIN_PATH", dir.path())
        .env("GST_REGISTRY", dir.path().join("registry.bin"))
        .env("ORT_DYLIB_PATH", ort_dylib_path)
        .output()
        .expect("run gst-launch-1.0");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[test]
fn missing_or_broken_onnx_runtime_is_a_clear_start_error() {
    for path in [
        "/nonexistent/libonnxruntime.so.1.31.0".to_string(),
        // Exists but is not a library.
        common::root()
            .join("tests/data/const_v8.onnx")
            .display()
            .to_string(),
    ] {
        let (code, text) = launch_with_ort(&path);
        // An exit code (not a signal), and a failing one.
        assert!(
            code.is_some_and(|c| c != 0),
            "gst-launch exits with an error, not a crash ({code:?}):
{text}"
        );
        assert!(text.contains("ONNX Runtime library"), "{text}");
        assert!(
            text.contains("ORT_DYLIB_PATH") && text.contains("scripts/setup.sh"),
            "{text}"
        );
        assert!(text.contains(&path), "names what it tried:\n{text}");
        assert!(!text.contains("panicked"), "{text}");
    }
}
