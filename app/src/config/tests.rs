//! `config::load` on real files: the shipped model and sample video, configs written to a
//! temporary directory. The table of bad configs is in `tests/bad.rs`.

use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::Duration;

use gst::prelude::*;

use super::*;

mod analytics;
mod bad;
mod web;

fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        gst::init().expect("gst::init");
        gstrsvision::plugin_register_static().expect("register rsvision");
    });
}

/// The repository root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("repository root")
}

fn model_path() -> PathBuf {
    root().join("models/rsvision-shapes.onnx")
}

fn video_path() -> PathBuf {
    root().join("data/sample-shapes.mp4")
}

/// A fresh directory for one test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rsvision-config-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Writes `text` (with `@MODEL@`, `@VIDEO@` and `@ROOT@` replaced by absolute paths) as
/// `dir/config.toml` and loads it.
fn load_text(dir: &Path, text: &str) -> (PathBuf, Result<Config, ConfigErrors>) {
    init();
    let text = text
        .replace("@MODEL@", &model_path().to_string_lossy())
        .replace("@VIDEO@", &video_path().to_string_lossy())
        .replace("@ROOT@", &root().to_string_lossy());
    let path = dir.join("config.toml");
    std::fs::write(&path, text).expect("write config");
    let result = load(&path);
    (path, result)
}

const VALID: &str = r#"
[app]
stats-interval = "2s"

[reconnect]
initial-delay = "500ms"
max-attempts = 5

[models.shapes]
location = "@ROOT@/models/rsvision-shapes.onnx"
conf-threshold = 0.1
inference-interval = 3
classes = "circle, star"

[tracker]
min-hits = 3
class-mode = "agnostic"

[events]
conn-str = "file:///tmp/rsvision-config-test.jsonl"
publish = "tracks"

[sinks.minimal]
conn-str = "localhost;9092;topic"
payload-type = "deepstream-minimal"

[record]
location = "clips"
cache-size = 8

[[record.rules]]
label = "star"
min-confidence = 0.6
post = 2

[[sources]]
id = "cam1"
uri = "rtsp://user:pw@127.0.0.1:8554/test"
model = "shapes"
transport = "udp"
latency = "1.5s"
events = ["events", "minimal"]

[[sources]]
id = "file.1"
uri = "file:video.mp4"
models = ["shapes"]
loop = false
tracker = { lost-track-time = 2000 }
record = true
[sources.reconnect]
stall-timeout = "3s"

[[sources]]
id = "usb"
uri = "v4l2:///dev/video9"
tracker = false
events = []
"#;

#[test]
fn valid_config_loads_to_the_expected_types() {
    let dir = temp_dir("valid");
    std::os::unix::fs::symlink(video_path(), dir.join("video.mp4")).expect("symlink");
    let (path, result) = load_text(&dir, VALID);
    let c = result.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.path, path);
    assert_eq!(c.app.stats_interval, Duration::from_secs(2));
    assert_eq!(c.app.shutdown_timeout, Duration::from_secs(10));

    let m = &c.models["shapes"];
    // The shipped model's names metadata (see models/rsvision-shapes.txt).
    assert_eq!(
        m.labels,
        ["circle", "square", "triangle", "star", "cross", "ring"]
    );
    assert_eq!(
        m.props.launch(),
        format!(
            " model-location=\"{}\" conf-threshold=0.1 inference-interval=3 classes=\"circle, star\"",
            model_path().display()
        )
    );
    assert_eq!(c.sinks["events"].props.get("publish"), Some("tracks"));
    assert_eq!(
        c.sinks["minimal"].props.get("conn-str"),
        Some("\"localhost;9092;topic\"")
    );

    let record = c.record.as_ref().expect("record");
    assert_eq!(record.location, dir.join("clips"));
    assert_eq!(record.props.launch(), " cache-size=8");
    assert_eq!(
        record.rules,
        [Rule {
            name: "star".into(),
            label: "star".into(),
            min_confidence: 0.6,
            min_duration: Duration::from_secs(1),
            pre: Duration::from_secs(5),
            post: Duration::from_secs(2),
            cooldown: Duration::ZERO,
            sources: None,
        }]
    );

    let [cam, file, usb] = &c.sources[..] else {
        panic!("three sources: {:?}", c.sources)
    };
    assert_eq!(
        cam.input,
        Input::Rtsp {
            url: "rtsp://user:pw@127.0.0.1:8554/test".into(),
            transport: RtspTransport::Udp,
            latency: Duration::from_millis(1500),
        }
    );
    assert_eq!(cam.models, ["shapes"]);
    assert_eq!(cam.sinks, ["events", "minimal"]);
    // [tracker] for every tracked source, a source's own table on top.
    assert_eq!(
        cam.tracker.as_ref().map(Props::launch).as_deref(),
        Some(" min-hits=3 class-mode=agnostic")
    );
    assert!(cam.record, "rtsp records by default when [record] exists");
    // [reconnect] for every source (the rest at their defaults).
    assert_eq!(cam.reconnect.initial_delay, Duration::from_millis(500));
    assert_eq!(cam.reconnect.max_attempts, 5);
    assert_eq!(cam.reconnect.max_delay, Duration::from_secs(30));

    assert_eq!(
        file.input,
        Input::File {
            path: dir.join("video.mp4"),
            mode: FileMode::Live,
            looped: false,
            codec: Some("h264".into()),
        }
    );
    assert_eq!(file.id, "file.1");
    assert_eq!(file.sinks, ["events"], "default: the [events] sink");
    assert_eq!(
        file.tracker.as_ref().map(Props::launch).as_deref(),
        Some(" min-hits=3 class-mode=agnostic lost-track-time=2000")
    );
    assert!(file.record);
    assert_eq!(file.reconnect.stall_timeout, Duration::from_secs(3));
    assert_eq!(file.reconnect.initial_delay, Duration::from_millis(500));

    assert_eq!(
        usb.input,
        Input::V4l2 {
            device: "/dev/video9".into()
        }
    );
    assert!(usb.models.is_empty() && usb.sinks.is_empty() && usb.tracker.is_none());
    assert!(!usb.record, "v4l2 cannot be recorded: off by default");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A minimal valid source, appended where a case needs one.
const SRC: &str = "[[sources]]\nid = \"a\"\nuri = \"rtsp://h/s\"\n";

#[test]
fn every_error_is_reported_at_once_in_file_order() {
    let dir = temp_dir("many");
    let text = "\
[models.shapes]
location = \"@MODEL@\"
iou-treshold = 0.5
[reconnect]
multiplier = 0.5
[[sources]]
id = \"a\"
uri = \"rtsp://h/s\"
model = \"shapez\"
[[sources]]
id = \"a\"
uri = \"file:missing.mp4\"
latency = \"1s\"
";
    let (path, result) = load_text(&dir, text);
    let errors = result.expect_err("invalid");
    let got: Vec<(usize, usize, &str)> = errors
        .0
        .iter()
        .map(|e| (e.line, e.column, e.key.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (3, 1, "models.shapes.iou-treshold"),
            (5, 14, "reconnect.multiplier"),
            (9, 9, "sources[0].model"),
            (11, 6, "sources[1].id"),
            (12, 7, "sources[1].uri"),
            (13, 1, "sources[1].latency"),
        ],
        "{errors}"
    );
    let shown = errors.to_string();
    let p = path.display();
    assert!(
        shown.starts_with(&format!(
            "{p}:3:1: models.shapes.iou-treshold: unknown key \"iou-treshold\" in \
             [models.shapes]: not a key of the section nor a property of rsinfer\n  did you \
             mean `iou-threshold`?\n{p}:5:14: reconnect.multiplier: expected a number from 1 \
             to 1000, found the float 0.5\n"
        )),
        "{shown}"
    );
    assert_eq!(
        shown.lines().count(),
        8,
        "six errors, two suggestions:\n{shown}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_corrupt_model_is_an_error_naming_the_file() {
    let dir = temp_dir("corrupt");
    std::fs::write(dir.join("bad.onnx"), b"this is not an ONNX model").expect("write");
    let (_, result) = load_text(&dir, &format!("[models.m]\nlocation = \"bad.onnx\"\n{SRC}"));
    let errors = result.expect_err("corrupt model");
    let [e] = &errors.0[..] else {
        panic!("one error: {errors}")
    };
    assert_eq!(
        (e.line, e.column, e.key.as_str()),
        (2, 12, "models.m.location")
    );
    assert!(
        e.message
            .starts_with("cannot load the model: ONNX Runtime cannot load model")
            && e.message
                .contains(&dir.join("bad.onnx").display().to_string()),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_kserve_model_takes_its_labels_from_labels_location() {
    let dir = temp_dir("kserve");
    std::fs::write(dir.join("labels.txt"), "person\ncar\n").expect("labels");
    let text = "\
[models.remote]
server-url = \"grpc://127.0.0.1:9000\"
model-name = \"yolo\"
labels-location = \"labels.txt\"
[record]
location = \"clips\"
[[record.rules]]
label = \"persn\"
[[sources]]
id = \"a\"
uri = \"rtsp://h/s\"
model = \"remote\"
";
    let (_, result) = load_text(&dir, text);
    let errors = result.expect_err("label not in the labels file");
    let [e] = &errors.0[..] else {
        panic!("one error: {errors}")
    };
    assert_eq!((e.line, e.column), (8, 9), "{e}");
    assert!(e.message.contains("its labels: person, car"), "{e}");
    assert_eq!(e.suggestion.as_deref(), Some("person"));

    let (_, result) = load_text(&dir, &text.replace("persn", "car"));
    let c = result.unwrap_or_else(|e| panic!("{e}"));
    let m = &c.models["remote"];
    assert_eq!(m.labels, ["person", "car"]);
    assert_eq!(
        m.props.get("backend"),
        Some("ovms"),
        "ovms is the default with server-url"
    );
    assert_eq!(
        m.props.get("labels-location").map(str::to_string),
        Some(format!("\"{}\"", dir.join("labels.txt").display()))
    );

    let no_name = text
        .replace("persn", "car")
        .replace("model-name = \"yolo\"\n", "");
    let (_, result) = load_text(&dir, &no_name);
    let errors = result.expect_err("model-name missing");
    assert_eq!(errors.0.len(), 1, "{errors}");
    assert_eq!(errors.0[0].key, "models.remote.model-name");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_file_that_is_not_h264_or_h265_cannot_record() {
    init();
    let dir = temp_dir("mjpeg");
    let clip = dir.join("clip.avi");
    let pipeline = gst::parse::launch(&format!(
        "videotestsrc num-buffers=5 ! video/x-raw,width=64,height=48 ! jpegenc ! avimux ! \
         filesink location={}",
        clip.display()
    ))
    .expect("jpegenc and avimux");
    pipeline.set_state(gst::State::Playing).expect("play");
    let bus = pipeline.bus().expect("bus");
    bus.timed_pop_filtered(gst::ClockTime::from_seconds(10), &[gst::MessageType::Eos])
        .expect("eos");
    pipeline.set_state(gst::State::Null).expect("stop");

    let record = "[record]\nlocation = \"clips\"\n";
    let text = format!("{record}[[sources]]\nid = \"a\"\nuri = \"file:clip.avi\"\n");
    let (_, result) = load_text(&dir, &text);
    let c = result.unwrap_or_else(|e| panic!("{e}"));
    let Input::File { codec, .. } = &c.sources[0].input else {
        panic!("a file")
    };
    assert_eq!(codec.as_deref(), Some("image/jpeg"));
    assert!(!c.sources[0].record, "not recordable: off by default");

    let (_, result) = load_text(&dir, &format!("{text}record = true\n"));
    let errors = result.expect_err("record = true on MJPEG");
    assert_eq!(errors.0.len(), 1, "{errors}");
    assert!(
        errors.0[0]
            .message
            .contains("the file's video is image/jpeg; only H.264 and H.265 can be recorded"),
        "{errors}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_shipped_example_loads() {
    init();
    let path = root().join("configs/two-cameras.toml");
    let c = load(&path).unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<&str> = c.sources.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["entrance", "yard"]);
    let labels = &c.models["shapes"].labels;
    let record = c.record.as_ref().expect("[record]");
    for rule in &record.rules {
        assert!(
            labels.contains(&rule.label),
            "{} not in {labels:?}",
            rule.label
        );
    }
    assert!(c.sources.iter().all(|s| s.record && s.sinks == ["events"]));
    assert_eq!(
        c.models["shapes"].props.get("model-location"),
        Some(format!("\"{}\"", model_path().display()).as_str()),
        "relative to the config file, normalised"
    );
    assert_eq!(c.sources[1].reconnect.max_delay, Duration::from_secs(60));
    assert_eq!(
        c.sources[1].reconnect.initial_delay,
        c.sources[0].reconnect.initial_delay
    );
}

#[test]
fn keys_help_lists_every_key_and_the_elements_properties() {
    init();
    let help = keys_help();
    let tables = [
        schema::APP,
        schema::RECONNECT,
        schema::MODEL,
        schema::RECORD,
        schema::RULE,
        schema::SOURCE,
        schema::WEB,
    ];
    for k in tables.iter().flat_map(|t| t.iter()) {
        assert!(
            help.contains(&format!("  {:<18} {}", k.name, k.ty)),
            "{}",
            k.name
        );
    }
    for header in [
        "[app]",
        "[models.NAME]",
        "[tracker]",
        "[events], [sinks.NAME]",
        "[web]",
        "[[sources]]",
    ] {
        assert!(help.contains(&format!("\n{header}\n")), "{header}");
    }
    // Introspected from the registered elements, with their blurbs.
    for (factory, property) in [
        ("rsinfer", "conf-threshold"),
        ("rstracker", "min-hits"),
        ("rsmsgbroker", "payload-type"),
        ("rssmartrecord", "cache-size"),
    ] {
        let e = gst::ElementFactory::make(factory).build().expect(factory);
        let blurb = e
            .find_property(property)
            .and_then(|p| p.blurb().map(str::to_string));
        let blurb = blurb.expect("a blurb");
        assert!(
            help.contains(&format!("plus any {factory} property")),
            "{factory}"
        );
        assert!(help.contains(&blurb), "{factory} {property}: {blurb}");
    }
    assert!(help.contains("one of frames|tracks, default frames"));
    assert!(
        help.contains("number 0..1, default 0.45\n"),
        "f32 defaults as written"
    );
    assert!(!help.contains("\n    name "), "name is not settable");
    assert!(
        !help.contains("\n    model-location "),
        "not allowed: location"
    );
    assert!(
        !help.contains("\n    sensor-id "),
        "not allowed: the source's id"
    );
    assert!(
        !help.contains("\n    stats "),
        "read-only properties are not listed"
    );
}

#[test]
fn documented_defaults_are_the_real_ones() {
    let doc = |keys: &[schema::KeyDoc], name: &str| {
        let k = keys.iter().find(|k| k.name == name).expect(name);
        walk::parse_duration(k.default).expect(k.default)
    };
    let r = Reconnect::default();
    assert_eq!(doc(schema::RECONNECT, "initial-delay"), r.initial_delay);
    assert_eq!(doc(schema::RECONNECT, "max-delay"), r.max_delay);
    assert_eq!(doc(schema::RECONNECT, "healthy-after"), r.healthy_after);
    assert_eq!(doc(schema::RECONNECT, "stall-timeout"), r.stall_timeout);
    assert_eq!(doc(schema::RECONNECT, "connect-timeout"), r.connect_timeout);
    let a = App::default();
    assert_eq!(doc(schema::APP, "stats-interval"), a.stats_interval);
    assert_eq!(doc(schema::APP, "shutdown-timeout"), a.shutdown_timeout);
}

#[test]
fn an_openvino_model_takes_its_labels_from_the_file_and_checks_classes() {
    let dir = temp_dir("openvino");
    let (_, result) = load_text(
        &dir,
        &format!(
            "[models.m]\nlocation = \"@MODEL@\"\nbackend = \"openvino\"\nprecision = \"bf16\"\n{SRC}"
        ),
    );
    let c = result.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.models["m"].labels[3], "star");
    assert_eq!(c.models["m"].props.get("precision"), Some("bf16"));
    let (_, result) = load_text(
        &dir,
        &format!(
            "[models.m]\nlocation = \"@MODEL@\"\nbackend = \"openvino\"\nclasses = \"sta\"\n{SRC}"
        ),
    );
    let errors = result.expect_err("unknown class");
    assert!(
        errors.to_string().contains("did you mean `star`"),
        "{errors}"
    );
    let (_, result) = load_text(
        &dir,
        &format!("[models.m]\nlocation = \"missing.onnx\"\nbackend = \"openvino\"\n{SRC}"),
    );
    let errors = result.expect_err("missing model");
    assert!(errors.to_string().contains("missing.onnx"), "{errors}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn models_on_objects_run_after_the_tracker_in_chain_order() {
    let dir = temp_dir("chain");
    let text = "\
[models.colours]
location = \"@ROOT@/tests/data/colour_logits.onnx\"
inference-region = \"objects\"
attribute-name = \"colour\"
[models.shapes]
location = \"@MODEL@\"
[[sources]]
id = \"a\"
uri = \"rtsp://h/s\"
models = [\"colours\", \"shapes\"]
";
    let (_, result) = load_text(&dir, text);
    let c = result.unwrap_or_else(|e| panic!("{e}"));
    let d = crate::pipeline::describe(&c, &c.sources[0], true);
    let at = |needle: &str| d.find(needle).unwrap_or_else(|| panic!("{needle} in {d}"));
    assert!(at("name=infer0") < at("rstracker name=tracker"), "{d}");
    assert!(at("rstracker name=tracker") < at("name=infer1"), "{d}");
    assert!(
        at("rsvision-shapes.onnx") < at("name=infer1"),
        "the detector first: {d}"
    );
    assert!(at("colour_logits.onnx") > at("name=infer1"), "{d}");
}
