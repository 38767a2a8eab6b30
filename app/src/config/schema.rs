//! The keys of every section, with their types, defaults and meaning: the walkers check
//! against these tables and [`keys_help`] prints them (the source of README's table).

use super::elements::{Element, Policy};
use super::{analytics, models, sections};

/// One key of a section.
pub(super) struct KeyDoc {
    pub name: &'static str,
    pub ty: &'static str,
    pub default: &'static str,
    pub doc: &'static str,
}

const fn key(
    name: &'static str,
    ty: &'static str,
    default: &'static str,
    doc: &'static str,
) -> KeyDoc {
    KeyDoc {
        name,
        ty,
        default,
        doc,
    }
}

/// The names of `keys`.
pub(super) fn names(keys: &[KeyDoc]) -> Vec<&'static str> {
    keys.iter().map(|k| k.name).collect()
}

/// The top-level sections.
pub(super) const SECTIONS: &[&str] = &[
    "app",
    "reconnect",
    "models",
    "tracker",
    "analytics",
    "events",
    "sinks",
    "record",
    "web",
    "sources",
];

pub(super) const APP: &[KeyDoc] = &[
    key(
        "stats-interval",
        "duration",
        "10s",
        "period of the one-line stats per source in the log (0s: off)",
    ),
    key(
        "shutdown-timeout",
        "duration",
        "10s",
        "on a signal, how long to wait for every clip and event to be flushed before \
         exiting anyway (non-zero status)",
    ),
];

pub(super) const RECONNECT: &[KeyDoc] = &[
    key(
        "initial-delay",
        "duration",
        "1s",
        "first wait after a source failed, ended or stalled",
    ),
    key(
        "max-delay",
        "duration",
        "30s",
        "cap of the growing waits (at least initial-delay)",
    ),
    key(
        "multiplier",
        "number >= 1",
        "2.0",
        "each wait is the previous one times this",
    ),
    key(
        "jitter",
        "number 0..1",
        "0.2",
        "each wait is drawn in [w * (1 - jitter), w * (1 + jitter)]",
    ),
    key(
        "max-attempts",
        "integer >= 0",
        "0",
        "attempts before the source is declared failed (0: unlimited)",
    ),
    key(
        "healthy-after",
        "duration",
        "30s",
        "this long live resets the wait to initial-delay",
    ),
    key(
        "stall-timeout",
        "duration",
        "5s",
        "a live source without a frame for this long is reconnected",
    ),
    key(
        "connect-timeout",
        "duration",
        "20s",
        "a source without its first frame this long after starting is retried",
    ),
];

pub(super) const MODEL: &[KeyDoc] = &[key(
    "location",
    "path",
    "required unless server-url",
    "local ONNX model file (rsinfer model-location); for a KServe server give \
     server-url and model-name instead (backend then defaults to ovms)",
)];

pub(super) const RECORD: &[KeyDoc] = &[
    key(
        "location",
        "path",
        "required",
        "clip directory (relative to the config file); created at run when missing",
    ),
    key(
        "rules",
        "array of tables",
        "none",
        "[[record.rules]]: local recording rules (below)",
    ),
];

pub(super) const RULE: &[KeyDoc] = &[
    key(
        "name",
        "string",
        "the label",
        "unique; in logs and clip events",
    ),
    key(
        "label",
        "string",
        "required",
        "class that triggers a clip; a label of every model of the sources it applies to",
    ),
    key(
        "min-confidence",
        "number 0..1",
        "0.5",
        "detections below this do not count",
    ),
    key(
        "min-duration",
        "duration",
        "1s",
        "the object must have been in view this long",
    ),
    key(
        "pre",
        "duration",
        "5s",
        "the clip starts this long before the object was first seen",
    ),
    key(
        "post",
        "duration",
        "10s",
        "the clip ends this long after the last matching object left",
    ),
    key(
        "cooldown",
        "duration",
        "0s",
        "no new clip from this rule on a source within this time after the previous one",
    ),
    key(
        "sources",
        "array of source ids",
        "every recording source",
        "sources the rule applies to (each must record)",
    ),
];

pub(super) const WEB: &[KeyDoc] = &[
    key(
        "enabled",
        "boolean",
        "true",
        "false: no web console, no JPEG branch in the pipelines",
    ),
    key(
        "listen",
        "address:port",
        "\"127.0.0.1:8080\"",
        "where the console listens (port 0: any free port; the log says which); \
         \"0.0.0.0:8080\" opens it to the network (then set user and password-hash)",
    ),
    key(
        "fps",
        "integer 1..60",
        "5",
        "frames per second at most, encoded and sent to each viewer",
    ),
    key(
        "max-width",
        "integer 16..16384",
        "1280",
        "the annotated frames are scaled down to fit max-width x max-height, aspect kept",
    ),
    key("max-height", "integer 16..16384", "720", "see max-width"),
    key("quality", "integer 1..100", "80", "JPEG quality"),
    key(
        "events",
        "integer 1..1000000",
        "500",
        "recent events kept in memory for /api/events",
    ),
    key(
        "user",
        "string",
        "none",
        "basic authentication user (with password-hash)",
    ),
    key(
        "password-hash",
        "argon2 PHC string",
        "none",
        "the password's hash, printed by `rsvision hash-password` (reads the password on stdin)",
    ),
    key(
        "tls-cert",
        "path",
        "none",
        "PEM certificate chain: HTTPS when given with tls-key",
    ),
    key("tls-key", "path", "none", "PEM private key of tls-cert"),
];

pub(super) const SOURCE: &[KeyDoc] = &[
    key(
        "id",
        "string [A-Za-z0-9_.-]+",
        "required",
        "unique; the sensor id of events and clips",
    ),
    key(
        "uri",
        "string",
        "required",
        "rtsp://[user:pass@]host[:port]/path, rtsps://..., file:///absolute/path, \
         file:relative/path (to the config file) or v4l2:///dev/videoN",
    ),
    key(
        "model",
        "model name",
        "none",
        "the [models.NAME] this source runs (no model: no inference)",
    ),
    key(
        "models",
        "array of model names",
        "none",
        "several models side by side, each at its own inference-interval (not with model)",
    ),
    key(
        "tracker",
        "boolean or table",
        "true",
        "rstracker after the models; a table ([sources.tracker] or { ... }) gives rstracker \
         properties on top of [tracker]",
    ),
    key(
        "analytics",
        "boolean or table",
        "true when [analytics] exists",
        "rsanalytics (zones, lines, directions) after the tracker and the models on objects; a \
         table ([sources.analytics] or { ... }) gives rsanalytics properties on top of \
         [analytics]",
    ),
    key(
        "events",
        "sink name or array",
        "[\"events\"] when [events] exists, else []",
        "event sinks this source feeds",
    ),
    key(
        "record",
        "boolean",
        "true when [record] exists and the source can be recorded",
        "record clips (H.264/H.265 only: not v4l2)",
    ),
    key(
        "source-index",
        "integer >= 0",
        "rsmsgbroker's",
        "which [sensorN]/[placeN] of the sinks' msgconv config describes this source",
    ),
    key("transport", "tcp|udp", "tcp", "rtsp only: RTP transport"),
    key("latency", "duration", "200ms", "rtsp only: jitter buffer"),
    key(
        "mode",
        "live|offline",
        "live",
        "file only: live is paced like a camera; offline runs as fast as possible, every \
         frame, and ends",
    ),
    key(
        "loop",
        "boolean",
        "true in live mode",
        "file only: start again at the end (not in offline mode)",
    ),
    key(
        "reconnect",
        "table",
        "[reconnect]",
        "this source's own [reconnect] keys ({ ... } or [sources.reconnect])",
    ),
];

fn section(out: &mut String, header: &str, about: &str, keys: &[KeyDoc]) {
    out.push_str(&format!("\n{header}\n  {about}\n"));
    for k in keys {
        let default = if k.default.starts_with("required") {
            k.default.to_string()
        } else {
            format!("default {}", k.default)
        };
        out.push_str(&format!(
            "  {:<18} {}, {default}\n{:<21}{}\n",
            k.name, k.ty, "", k.doc
        ));
    }
}

fn element(out: &mut String, factory: &'static str, policy: &Policy) {
    out.push_str(&format!("  plus any {factory} property:\n"));
    out.push_str(&Element::new(factory).help(policy));
}

/// Every key of every section: its type, default and meaning. Element-property sections
/// list the element's settable properties with their blurbs, introspected from the
/// registered elements (call after `gst::init()` and `plugin_register_static()`).
pub fn keys_help() -> String {
    let mut out = String::from(
        "Configuration file (TOML). Durations are \"500ms\", \"1.5s\", \"2m\", \"1h\" or a number \
         of seconds;\nrelative paths are relative to the config file's directory.\n",
    );
    section(&mut out, "[app]", "the program's own settings", APP);
    section(
        &mut out,
        "[reconnect]",
        "how a failed, ended or stalled source comes back; defaults for every source",
        RECONNECT,
    );
    section(
        &mut out,
        "[models.NAME]",
        "a model (NAME: [A-Za-z0-9_-]+), loaded once, shared by the sources naming it; \
         not model-location (use location), not name",
        MODEL,
    );
    element(&mut out, "rsinfer", &models::MODEL);
    section(
        &mut out,
        "[tracker]",
        "rstracker properties for every tracked source",
        &[],
    );
    element(&mut out, "rstracker", &sections::TRACKER);
    section(
        &mut out,
        "[analytics]",
        "rsanalytics properties for every source (each then runs rsanalytics unless it says \
         analytics = false); config-file is relative to the config file; zones, lines and \
         directions are checked when the config is loaded",
        &[],
    );
    element(&mut out, "rsanalytics", &analytics::ANALYTICS);
    section(
        &mut out,
        "[events], [sinks.NAME]",
        "event sinks: [events] is the sink named \"events\", [sinks.NAME] the others; \
         conn-str is required; not sensor-id (the source's id) nor source-index (per source)",
        &[],
    );
    element(&mut out, "rsmsgbroker", &sections::SINK);
    section(
        &mut out,
        "[record]",
        "clips, one rssmartrecord per recording source; not sensor-id, recording",
        RECORD,
    );
    element(&mut out, "rssmartrecord", &sections::RECORD);
    section(
        &mut out,
        "[[record.rules]]",
        "record when an object of a label is seen long enough",
        RULE,
    );
    section(
        &mut out,
        "[web]",
        "the web console of `rsvision run`: live annotated views, status, metrics, events and \
         clips over HTTP",
        WEB,
    );
    section(&mut out, "[[sources]]", "one camera or file each", SOURCE);
    out
}
