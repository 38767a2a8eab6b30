//! `/api/status` (the supervisor's status document completed with what only the server
//! knows: viewers, uptime, version) and `/metrics`, the same numbers in the Prometheus text
//! exposition format 0.0.4 (`# HELP` and `# TYPE` per family, escaped label values,
//! counters named `_total`). A value that is absent or `null` gives no sample.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use serde_json::{json, Map, Value};

use super::Hub;

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A source the supervisor has not described yet.
fn source_defaults(id: &str) -> Map<String, Value> {
    let v = json!({
        "id": id, "state": "starting", "state_text": "starting", "retry_in_s": null,
        "fps_in": null, "fps_processed": null, "dropped": 0, "inference_ms": null,
        "latency_ms": null, "reconnects": 0, "last_frame_age_s": null, "objects": 0,
        "viewers": 0, "clips_recording": 0,
    });
    match v {
        Value::Object(m) => m,
        _ => unreachable!("a json! object"),
    }
}

/// The `/api/status` document: the supervisor's latest, one entry per configured source
/// (in config order) with every field, `viewers` from the hub, `version` and `uptime_s`.
pub fn status_document(hub: &Hub) -> Value {
    let mut doc = match hub.status() {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let reported = match doc.remove("sources") {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    };
    let mut sources: Vec<Value> = hub
        .sources
        .iter()
        .map(|s| {
            let mut entry = source_defaults(&s.id);
            if let Some(Value::Object(theirs)) =
                reported.iter().find(|r| r["id"].as_str() == Some(&s.id))
            {
                entry.extend(theirs.clone());
            }
            entry.insert("viewers".into(), s.viewers.load(Ordering::Relaxed).into());
            Value::Object(entry)
        })
        .collect();
    // Sources the hub does not know (none when both come from the same config) stay.
    sources.extend(
        reported
            .into_iter()
            .filter(|r| !hub.sources.iter().any(|s| r["id"].as_str() == Some(&s.id))),
    );
    doc.insert("version".into(), VERSION.into());
    let uptime = hub.started.elapsed().as_millis() as f64 / 1000.0;
    doc.insert("uptime_s".into(), json!(uptime));
    doc.insert("sources".into(), Value::Array(sources));
    for list in ["models", "sinks"] {
        if !doc.get(list).is_some_and(Value::is_array) {
            doc.insert(list.into(), json!([]));
        }
    }
    let finished = hub.clips.lock().unwrap_or_else(|e| e.into_inner()).len();
    let clips = doc.entry("clips").or_insert_with(|| json!({}));
    if !clips.is_object() {
        *clips = json!({});
    }
    if let Value::Object(c) = clips {
        c.entry("recording").or_insert(json!(0));
        c.entry("finished").or_insert(json!(finished));
    }
    Value::Object(doc)
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Counter,
    Gauge,
}

/// One metric family: its samples, each with its labels (names and raw values).
struct Family {
    name: &'static str,
    help: &'static str,
    kind: Kind,
    samples: Vec<(Vec<(&'static str, String)>, f64)>,
}

/// Families in the order they are first declared; samples added as the document is walked.
#[derive(Default)]
struct Exposition {
    families: Vec<Family>,
}

impl Exposition {
    fn add(
        &mut self,
        name: &'static str,
        kind: Kind,
        help: &'static str,
        labels: &[(&'static str, &str)],
        value: Option<f64>,
    ) {
        let index = match self.families.iter().position(|f| f.name == name) {
            Some(i) => i,
            None => {
                self.families.push(Family {
                    name,
                    help,
                    kind,
                    samples: Vec::new(),
                });
                self.families.len() - 1
            }
        };
        if let Some(value) = value {
            let labels = labels.iter().map(|(k, v)| (*k, v.to_string())).collect();
            self.families[index].samples.push((labels, value));
        }
    }

    fn render(&self) -> String {
        let mut out = String::new();
        for f in self.families.iter().filter(|f| !f.samples.is_empty()) {
            let kind = match f.kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
            };
            let _ = writeln!(out, "# HELP {} {}", f.name, escape_help(f.help));
            let _ = writeln!(out, "# TYPE {} {kind}", f.name);
            for (labels, value) in &f.samples {
                out.push_str(f.name);
                if !labels.is_empty() {
                    out.push('{');
                    for (i, (k, v)) in labels.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        let _ = write!(out, "{k}=\"{}\"", escape_label(v));
                    }
                    out.push('}');
                }
                let _ = writeln!(out, " {}", format_value(*value));
            }
        }
        out
    }
}

/// A label value as the text format wants it: `\` `"` and newline escaped.
pub fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A `# HELP` text: `\` and newline escaped.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A sample value: integers without a fraction, `NaN`, `+Inf`, `-Inf`.
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        // Rust prints the shortest text that reads back the same, never an exponent.
        format!("{v}")
    }
}

fn number(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn list<'a>(doc: &'a Value, key: &str) -> &'a [Value] {
    doc.get(key)
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
}

/// Per-source families: name, type, field of the source's status entry, help.
const SOURCE_FAMILIES: &[(&str, Kind, &str, &str)] = &[
    (
        "rsvision_source_fps_in",
        Kind::Gauge,
        "fps_in",
        "Frames per second from the source.",
    ),
    (
        "rsvision_source_fps_processed",
        Kind::Gauge,
        "fps_processed",
        "Frames per second through inference.",
    ),
    (
        "rsvision_source_frames_total",
        Kind::Counter,
        "frames",
        "Frames processed since start.",
    ),
    (
        "rsvision_source_dropped_total",
        Kind::Counter,
        "dropped",
        "Frames dropped since start.",
    ),
    (
        "rsvision_source_inference_ms",
        Kind::Gauge,
        "inference_ms",
        "Mean inference time per frame, ms.",
    ),
    (
        "rsvision_source_latency_ms",
        Kind::Gauge,
        "latency_ms",
        "Mean latency from capture to the sinks, ms.",
    ),
    (
        "rsvision_source_reconnects_total",
        Kind::Counter,
        "reconnects",
        "Reconnections since start.",
    ),
    (
        "rsvision_source_last_frame_age_seconds",
        Kind::Gauge,
        "last_frame_age_s",
        "Seconds since the source's last frame.",
    ),
    (
        "rsvision_source_objects",
        Kind::Gauge,
        "objects",
        "Objects on the latest frame.",
    ),
    (
        "rsvision_source_viewers",
        Kind::Gauge,
        "viewers",
        "Web viewers of the source now.",
    ),
    (
        "rsvision_source_clips_recording",
        Kind::Gauge,
        "clips_recording",
        "Clips of the source being written.",
    ),
];

/// Per-model families (label `model`).
const MODEL_FAMILIES: &[(&str, Kind, &str, &str)] = &[
    (
        "rsvision_model_inferences_per_second",
        Kind::Gauge,
        "inferences_per_s",
        "Inferences per second of the model.",
    ),
    (
        "rsvision_model_inference_ms",
        Kind::Gauge,
        "inference_ms",
        "Mean inference time of the model, ms.",
    ),
    (
        "rsvision_model_sessions",
        Kind::Gauge,
        "sessions",
        "Inference sessions of the model.",
    ),
];

/// Per-sink families (labels `sink` and `source`).
const SINK_FAMILIES: &[(&str, Kind, &str, &str)] = &[
    (
        "rsvision_sink_sent_total",
        Kind::Counter,
        "sent",
        "Messages the sink delivered.",
    ),
    (
        "rsvision_sink_queued",
        Kind::Gauge,
        "queued",
        "Messages waiting in the sink.",
    ),
    (
        "rsvision_sink_dropped_total",
        Kind::Counter,
        "dropped",
        "Messages the sink dropped.",
    ),
    (
        "rsvision_sink_failed_total",
        Kind::Counter,
        "failed",
        "Messages the sink failed to deliver.",
    ),
];

/// The Prometheus text of a status document (as [`status_document`] makes it).
pub fn render(doc: &Value) -> String {
    let mut e = Exposition::default();
    let version = text(doc, "version");
    e.add(
        "rsvision_build_info",
        Kind::Gauge,
        "The version of rsvision that runs (always 1).",
        &[("version", version)],
        Some(1.0),
    );
    e.add(
        "rsvision_uptime_seconds",
        Kind::Gauge,
        "Seconds since rsvision started.",
        &[],
        number(doc, "uptime_s"),
    );
    for s in list(doc, "sources") {
        let labels = [("source", text(s, "id"))];
        let up = if text(s, "state") == "live" { 1.0 } else { 0.0 };
        let help = "1 while the source is live, else 0.";
        e.add("rsvision_source_up", Kind::Gauge, help, &labels, Some(up));
        for (name, kind, field, help) in SOURCE_FAMILIES {
            e.add(name, *kind, help, &labels, number(s, field));
        }
    }
    for m in list(doc, "models") {
        let labels = [("model", text(m, "name"))];
        for (name, kind, field, help) in MODEL_FAMILIES {
            e.add(name, *kind, help, &labels, number(m, field));
        }
    }
    for k in list(doc, "sinks") {
        let labels = [("sink", text(k, "name")), ("source", text(k, "source"))];
        for (name, kind, field, help) in SINK_FAMILIES {
            e.add(name, *kind, help, &labels, number(k, field));
        }
    }
    let clips = doc.get("clips").unwrap_or(&Value::Null);
    let (recording, finished) = (number(clips, "recording"), number(clips, "finished"));
    let help = "Clips being written now.";
    e.add(
        "rsvision_clips_recording",
        Kind::Gauge,
        help,
        &[],
        recording,
    );
    let help = "Clips finished since start.";
    e.add(
        "rsvision_clips_finished_total",
        Kind::Counter,
        help,
        &[],
        finished,
    );
    e.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape_label("two\nlines"), "two\\nlines");
        assert_eq!(escape_label("plain {,=} é"), "plain {,=} é");
        assert_eq!(escape_help("a\\b\nc"), "a\\\\b\\nc");
    }

    #[test]
    fn values_use_the_format_s_spelling() {
        assert_eq!(format_value(5.0), "5");
        assert_eq!(format_value(0.25), "0.25");
        assert_eq!(format_value(-3.5), "-3.5");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_value(1e21), "1000000000000000000000");
    }

    #[test]
    fn a_document_renders_families_once_with_their_samples() {
        let doc = json!({
            "version": "1.2.3",
            "uptime_s": 12.5,
            "sources": [
                {"id": "cam\"1", "state": "live", "fps_in": 25, "frames": 100, "dropped": 2,
                 "reconnects": 0, "last_frame_age_s": null, "viewers": 1},
                {"id": "cam2", "state": "reconnecting", "fps_in": 0.5, "frames": 7},
            ],
            "models": [{"name": "yolo", "inferences_per_s": 30.0, "inference_ms": 12.25}],
            "sinks": [{"name": "kafka", "source": "cam2", "sent": 9, "queued": 1, "dropped": 0}],
            "clips": {"recording": 0, "finished": 3},
        });
        let expected = "\
# HELP rsvision_build_info The version of rsvision that runs (always 1).
# TYPE rsvision_build_info gauge
rsvision_build_info{version=\"1.2.3\"} 1
# HELP rsvision_uptime_seconds Seconds since rsvision started.
# TYPE rsvision_uptime_seconds gauge
rsvision_uptime_seconds 12.5
# HELP rsvision_source_up 1 while the source is live, else 0.
# TYPE rsvision_source_up gauge
rsvision_source_up{source=\"cam\\\"1\"} 1
rsvision_source_up{source=\"cam2\"} 0
# HELP rsvision_source_fps_in Frames per second from the source.
# TYPE rsvision_source_fps_in gauge
rsvision_source_fps_in{source=\"cam\\\"1\"} 25
rsvision_source_fps_in{source=\"cam2\"} 0.5
# HELP rsvision_source_frames_total Frames processed since start.
# TYPE rsvision_source_frames_total counter
rsvision_source_frames_total{source=\"cam\\\"1\"} 100
rsvision_source_frames_total{source=\"cam2\"} 7
# HELP rsvision_source_dropped_total Frames dropped since start.
# TYPE rsvision_source_dropped_total counter
rsvision_source_dropped_total{source=\"cam\\\"1\"} 2
# HELP rsvision_source_reconnects_total Reconnections since start.
# TYPE rsvision_source_reconnects_total counter
rsvision_source_reconnects_total{source=\"cam\\\"1\"} 0
# HELP rsvision_source_viewers Web viewers of the source now.
# TYPE rsvision_source_viewers gauge
rsvision_source_viewers{source=\"cam\\\"1\"} 1
# HELP rsvision_model_inferences_per_second Inferences per second of the model.
# TYPE rsvision_model_inferences_per_second gauge
rsvision_model_inferences_per_second{model=\"yolo\"} 30
# HELP rsvision_model_inference_ms Mean inference time of the model, ms.
# TYPE rsvision_model_inference_ms gauge
rsvision_model_inference_ms{model=\"yolo\"} 12.25
# HELP rsvision_sink_sent_total Messages the sink delivered.
# TYPE rsvision_sink_sent_total counter
rsvision_sink_sent_total{sink=\"kafka\",source=\"cam2\"} 9
# HELP rsvision_sink_queued Messages waiting in the sink.
# TYPE rsvision_sink_queued gauge
rsvision_sink_queued{sink=\"kafka\",source=\"cam2\"} 1
# HELP rsvision_sink_dropped_total Messages the sink dropped.
# TYPE rsvision_sink_dropped_total counter
rsvision_sink_dropped_total{sink=\"kafka\",source=\"cam2\"} 0
# HELP rsvision_clips_recording Clips being written now.
# TYPE rsvision_clips_recording gauge
rsvision_clips_recording 0
# HELP rsvision_clips_finished_total Clips finished since start.
# TYPE rsvision_clips_finished_total counter
rsvision_clips_finished_total 3
";
        assert_eq!(render(&doc), expected);
    }

    #[test]
    fn the_status_document_has_every_source_and_the_viewers() {
        let hub = Hub::new(&["a".into(), "b".into()], 10, None);
        let _viewer = hub.sources[1].watch();
        hub.set_status(json!({
            "sources": [{"id": "b", "state": "live", "fps_in": 10.0, "viewers": 99}],
            "models": [{"name": "m"}],
        }));
        let doc = status_document(&hub);
        assert_eq!(doc["version"], VERSION);
        assert!(doc["uptime_s"].as_f64().unwrap() >= 0.0);
        let ids: Vec<&str> = doc["sources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["a", "b"], "config order");
        assert_eq!(doc["sources"][0]["state"], "starting");
        assert!(doc["sources"][0]["fps_in"].is_null());
        assert_eq!(doc["sources"][1]["state"], "live");
        assert_eq!(doc["sources"][1]["viewers"], 1, "counted by the hub");
        assert_eq!(doc["models"][0]["name"], "m");
        assert_eq!(doc["sinks"], json!([]));
        assert_eq!(doc["clips"], json!({"recording": 0, "finished": 0}));
    }
}
