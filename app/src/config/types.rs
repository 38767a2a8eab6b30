//! The validated configuration: what `config::load` returns once every key, type and
//! cross-reference has been checked. The runtime (pipeline descriptions, sources, rules,
//! stats) only ever sees these types, never TOML.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Element properties given in the config under their property names, already checked
/// against the element's own property specs, in the order written. Each value is in
/// `gst-launch-1.0` syntax (`conf-threshold=0.25`, strings quoted where needed), so the
/// pipeline `check` prints is exactly the one `run` builds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Props(pub Vec<(String, String)>);

impl Props {
    /// The value of `name`, as written in launch syntax (quotes included).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Sets `name` (replacing an earlier value).
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name.to_string(), value)),
        }
    }

    /// ` name=value name=value` (with a leading space when not empty).
    pub fn launch(&self) -> String {
        self.0.iter().map(|(k, v)| format!(" {k}={v}")).collect()
    }
}

/// The whole deployment.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    /// `[app]`.
    pub app: App,
    /// `[models.NAME]`, by NAME.
    pub models: BTreeMap<String, Model>,
    /// Event sinks by name: `[events]` is the sink named `events`, `[sinks.NAME]` the others.
    pub sinks: BTreeMap<String, Sink>,
    /// `[record]`, when clips are recorded at all.
    pub record: Option<Record>,
    /// `[[sources]]`, in file order.
    pub sources: Vec<Source>,
    /// `[web]`: the web console (on by default, on 127.0.0.1:8080).
    pub web: crate::web::Settings,
    /// What is valid but probably not what was meant (`check` prints them, `run` logs
    /// them), in file order.
    pub warnings: Vec<super::ConfigError>,
}

/// `[app]`: the program's own settings.
#[derive(Debug, Clone, PartialEq)]
pub struct App {
    /// `stats-interval`: the periodic one-line stats per source (`0s` turns them off).
    pub stats_interval: Duration,
    /// `shutdown-timeout`: how long a signal waits for EOS to reach every sink (clips
    /// finalised, events flushed) before exiting anyway with a non-zero status.
    pub shutdown_timeout: Duration,
}

impl Default for App {
    fn default() -> Self {
        App {
            stats_interval: Duration::from_secs(10),
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}

/// `[reconnect]`: how a source that failed, ended or stalled comes back.
#[derive(Debug, Clone, PartialEq)]
pub struct Reconnect {
    /// `initial-delay`: the first wait after a failure.
    pub initial_delay: Duration,
    /// `max-delay`: the cap of the doubling waits.
    pub max_delay: Duration,
    /// `multiplier`: each wait is the previous times this.
    pub multiplier: f64,
    /// `jitter`: each wait is drawn in `[w * (1 - jitter), w * (1 + jitter)]`.
    pub jitter: f64,
    /// `max-attempts`: attempts before the source is declared failed (0 = unlimited).
    pub max_attempts: u32,
    /// `healthy-after`: this long live resets the wait to `initial-delay`.
    pub healthy_after: Duration,
    /// `stall-timeout`: a live source with no buffer for this long is stalled and
    /// reconnected (rtspsrc alone takes ~27 s to notice a frozen server).
    pub stall_timeout: Duration,
    /// `connect-timeout`: a source that has not produced its first buffer this long after
    /// starting is treated as failed and retried.
    pub connect_timeout: Duration,
}

impl Default for Reconnect {
    fn default() -> Self {
        Reconnect {
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            multiplier: 2.0,
            jitter: 0.2,
            max_attempts: 0,
            healthy_after: Duration::from_secs(30),
            stall_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(20),
        }
    }
}

/// `[models.NAME]`: one model, loaded once and shared by every source naming it.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub name: String,
    /// rsinfer properties: `location` became `model-location`; everything else is under
    /// rsinfer's own property names (`conf-threshold`, `inference-interval`, `backend`,
    /// `server-url`, `model-name`, ...).
    pub props: Props,
    /// The model's class labels when they could be read at load time (from the ONNX
    /// metadata or `labels-location`); empty when unknown (e.g. a KServe model without a
    /// labels file), in which case label references are not checked.
    pub labels: Vec<String>,
}

impl Model {
    /// Whether it runs on the objects already found (`inference-region = "objects"`: a
    /// secondary classifier) rather than on whole frames.
    pub fn on_objects(&self) -> bool {
        self.props
            .get("inference-region")
            .is_some_and(|r| r.trim_matches('"') == "objects")
    }
}

/// An event sink: one rsmsgbroker per source that feeds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sink {
    pub name: String,
    /// rsmsgbroker properties (`conn-str`, `payload-type`, `frame-interval`, `publish`,
    /// `topic`, `config`, ...). `sensor-id` is set per source to the source's id.
    pub props: Props,
}

/// `[record]`: clips.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// `location`: the clip directory (created when missing; must be writable).
    pub location: PathBuf,
    /// Other rssmartrecord properties (`cache-duration`, `fragment-duration`,
    /// `max-duration`, `file-template`, `conn-str`, `topic`, ... for remote commands).
    pub props: Props,
    /// `[[record.rules]]`.
    pub rules: Vec<Rule>,
}

/// `[[record.rules]]`: record when an object of `label` is seen long enough.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// `name` (default `label`), in logs and clip events.
    pub name: String,
    /// `label`: the class that triggers it (one of the model's labels).
    pub label: String,
    /// `min-confidence` (0.5): detections below this do not count.
    pub min_confidence: f64,
    /// `min-duration` (1s): the object must have been in view this long.
    pub min_duration: Duration,
    /// `pre` (5s): the clip starts this long before the object was first seen.
    pub pre: Duration,
    /// `post` (10s): the clip ends this long after the last matching object left.
    pub post: Duration,
    /// `cooldown` (0s): no new clip from this rule on this source within this time after
    /// the previous one ended.
    pub cooldown: Duration,
    /// `sources` (default all recording sources): the source ids it applies to.
    pub sources: Option<Vec<String>>,
}

/// `[[sources]]`: one camera or file.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    /// `id`: unique; the events' sensor id and the clips' sensor id.
    pub id: String,
    /// `uri`.
    pub input: Input,
    /// `model` / `models`: names of `[models.NAME]`, run side by side in this order, each at
    /// its own `inference-interval`. Empty: no inference (recording by remote command only).
    pub models: Vec<String>,
    /// `tracker` (default true): rstracker after the models, with its properties: those of
    /// `[tracker]`, then this source's own when `tracker` is a table (`[sources.tracker]`
    /// or `{ ... }`), which replace any of the same name. `None`: no tracker.
    pub tracker: Option<Props>,
    /// `analytics` (default true when `[analytics]` exists): rsanalytics after the tracker
    /// and the models on objects, with its properties: those of `[analytics]`, then this
    /// source's own when `analytics` is a table (`[sources.analytics]` or `{ ... }`), which
    /// replace any of the same name (`config-file` made absolute). `None`: no analytics.
    pub analytics: Option<Props>,
    /// `events` (default `["events"]` when `[events]` exists): sink names this source feeds.
    pub sinks: Vec<String>,
    /// `record` (default true when `[record]` exists and the source can be recorded).
    pub record: bool,
    /// `source-index`: which `[sensorN]`/`[placeN]` of the sinks' msgconv `config` file
    /// describes this source (rsmsgbroker's property of that name).
    pub source_index: Option<u32>,
    /// `[reconnect]` with this source's own `reconnect` keys applied.
    pub reconnect: Reconnect,
}

/// Where a source's video comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// `rtsp://` or `rtsps://`.
    Rtsp {
        /// As written, credentials included (never printed: see [`redact_uri`]).
        url: String,
        /// `transport`: `tcp` (default) or `udp`.
        transport: RtspTransport,
        /// `latency` (200ms): rtspsrc's jitter buffer.
        latency: Duration,
    },
    /// `file://`.
    File {
        path: PathBuf,
        /// `mode`: `live` (default: paced by the clock like a camera) or `offline` (as
        /// fast as possible, every frame, with progress and ETA).
        mode: FileMode,
        /// `loop` (default true in live mode): start again at the end.
        looped: bool,
        /// The file's video codec as discovered (`h264`, `h265`, other), for the record
        /// check; `None` when it could not be read.
        codec: Option<String>,
    },
    /// `v4l2:///dev/videoN`.
    V4l2 { device: PathBuf },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtspTransport {
    Tcp,
    Udp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileMode {
    Live,
    Offline,
}

impl Input {
    /// Live inputs are kept near real time (leaky queue, QoS) and reconnected; offline
    /// files process every frame and end.
    pub fn is_live(&self) -> bool {
        !matches!(
            self,
            Input::File {
                mode: FileMode::Offline,
                ..
            }
        )
    }
}

/// `uri` with any `user:password@` replaced by `***@`, for every log line and printout.
pub fn redact_uri(uri: &str) -> String {
    let Some(scheme_end) = uri.find("://") else {
        return uri.to_string();
    };
    let rest = &uri[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}://***@{}", &uri[..scheme_end], &rest[at + 1..]),
        None => uri.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_printed() {
        assert_eq!(
            redact_uri("rtsp://admin:s3cret@10.0.0.2:554/live?x=1"),
            "rtsp://***@10.0.0.2:554/live?x=1"
        );
        assert_eq!(redact_uri("rtsp://10.0.0.2/a@b"), "rtsp://10.0.0.2/a@b");
        assert_eq!(redact_uri("file:///x.mp4"), "file:///x.mp4");
    }

    #[test]
    fn props_keep_order_and_replace() {
        let mut p = Props::default();
        p.set("a", "1");
        p.set("b", "\"x y\"");
        p.set("a", "2");
        assert_eq!(p.launch(), " a=2 b=\"x y\"");
        assert_eq!(p.get("b"), Some("\"x y\""));
    }
}
