//! The sections other than `[models]` and `[[sources]]`: `[app]`, `[reconnect]` (also a
//! source's own `reconnect`), `[tracker]`, the event sinks and `[record]` with its rules.

use gstrsvision::kafka;

use super::elements::{unquote, Element, Policy};
use super::schema::{self, names};
use super::types::{App, Props, Reconnect, Record, Rule, Sink};
use super::walk::{Ctx, Section};

pub(super) fn app(ctx: &mut Ctx, s: &Section) -> App {
    let mut app = App::default();
    ctx.unknown_keys(s, &names(schema::APP));
    for f in s.fields() {
        match f.name {
            "stats-interval" => app.stats_interval = ctx.duration(&f).unwrap_or_default(),
            "shutdown-timeout" => app.shutdown_timeout = ctx.duration(&f).unwrap_or_default(),
            _ => {}
        }
    }
    app
}

/// `[reconnect]` keys of `s` applied on top of `base`.
pub(super) fn reconnect(ctx: &mut Ctx, s: &Section, base: &Reconnect) -> Reconnect {
    let mut r = base.clone();
    ctx.unknown_keys(s, &names(schema::RECONNECT));
    for f in s.fields() {
        let d = |ctx: &mut Ctx, slot: &mut std::time::Duration| {
            if let Some(v) = ctx.duration(&f) {
                *slot = v;
            }
        };
        match f.name {
            "initial-delay" => d(ctx, &mut r.initial_delay),
            "max-delay" => d(ctx, &mut r.max_delay),
            "healthy-after" => d(ctx, &mut r.healthy_after),
            "stall-timeout" => d(ctx, &mut r.stall_timeout),
            "connect-timeout" => d(ctx, &mut r.connect_timeout),
            "multiplier" => r.multiplier = ctx.float(&f, 1.0, 1000.0).unwrap_or(r.multiplier),
            "jitter" => r.jitter = ctx.float(&f, 0.0, 1.0).unwrap_or(r.jitter),
            "max-attempts" => {
                if let Some(n) = ctx.integer(&f, 0, u32::MAX.into()) {
                    r.max_attempts = n as u32;
                }
            }
            _ => {}
        }
    }
    if r.max_delay < r.initial_delay {
        let at = s.get("max-delay").or_else(|| s.get("initial-delay"));
        let (at, key) = at.map_or((s.at, s.path.clone()), |f| (f.at, f.path));
        let message = format!(
            "max-delay ({:?}) must be at least initial-delay ({:?})",
            r.max_delay, r.initial_delay
        );
        ctx.error(at, &key, message);
    }
    r
}

pub(super) const TRACKER: Policy = Policy {
    app_keys: &[],
    forbidden: &[],
    paths: &[],
};

pub(super) const SINK: Policy = Policy {
    app_keys: &[],
    forbidden: &[
        ("sensor-id", "each source's id is its sensor id"),
        (
            "source-index",
            "it is per source: set `source-index` in [[sources]]",
        ),
    ],
    paths: &["config", "broker-config"],
};

/// A `conn-str` (rsmsgbroker's or rssmartrecord's syntax): parsed as the elements do. A
/// file given relative to the config file (`file:events/x.jsonl`) becomes `file:///abs`;
/// its directory is created at run when missing.
fn conn_str(ctx: &mut Ctx, s: &Section, props: &mut Props) {
    let (Some(f), Some(value)) = (s.get("conn-str"), props.get("conn-str")) else {
        return;
    };
    let mut value = unquote(value);
    if let Some(rel) = value.strip_prefix("file:").filter(|r| !r.starts_with("//")) {
        let path = ctx.path(rel);
        value = format!("file://{}", path.display());
        props.set("conn-str", crate::pipeline::quote(&value));
    }
    match kafka::parse_conn_str(&value) {
        Ok(kafka::Endpoint::File(path)) => {
            if path.is_dir() {
                let message = format!("is a directory, not a file: {}", path.display());
                ctx.error(f.at, &f.path, message);
            }
        }
        Ok(kafka::Endpoint::Kafka { .. }) => {}
        Err(e) => ctx.error(f.at, &f.path, e.0),
    }
}

/// `proto-cfg` must be librdkafka `key=value` items (never echoed: it may hold secrets).
fn proto_cfg(ctx: &mut Ctx, s: &Section, props: &Props) {
    if let (Some(f), Some(value)) = (s.get("proto-cfg"), props.get("proto-cfg")) {
        if let Err(e) = kafka::parse_proto_cfg(&unquote(value)) {
            ctx.error(f.at, &f.path, e.0);
        }
    }
}

/// `[events]` (name `events`) or `[sinks.NAME]`.
pub(super) fn sink(ctx: &mut Ctx, s: &Section, name: &str, element: &Element) -> Sink {
    let mut props = Props::default();
    element.properties(ctx, s, &SINK, &mut props);
    if s.get("conn-str").is_none() {
        let message = format!(
            "missing required key \"conn-str\" in {} (e.g. \"file:///var/lib/rsvision/events.jsonl\" \
             or \"kafka-host;9092;topic\")",
            s.header()
        );
        ctx.error(s.at, &s.child("conn-str"), message);
    }
    conn_str(ctx, s, &mut props);
    proto_cfg(ctx, s, &props);
    let minimal = props.get("payload-type") == Some("deepstream-minimal");
    if let (Some("tracks"), true, Some(f)) = (props.get("publish"), minimal, s.get("payload-type"))
    {
        ctx.error(
            f.at,
            &f.path,
            "publish = \"tracks\" needs payload-type = \"deepstream\" (the full schema)",
        );
    }
    Sink {
        name: name.to_string(),
        props,
    }
}

pub(super) const RECORD: Policy = Policy {
    app_keys: &["location", "rules"],
    forbidden: &[
        ("sensor-id", "each source's id is its sensor id"),
        (
            "recording",
            "clips are started by [[record.rules]] and remote commands",
        ),
    ],
    paths: &["broker-config"],
};

/// Where each rule's parts are, for the cross-field checks.
pub(super) struct RuleAt {
    pub path: String,
    pub at: usize,
    pub name: usize,
    pub label: usize,
    /// Each entry of `sources`.
    pub sources: Vec<usize>,
}

pub(super) fn record(ctx: &mut Ctx, s: &Section, element: &Element) -> (Record, Vec<RuleAt>) {
    let mut props = Props::default();
    element.properties(ctx, s, &RECORD, &mut props);
    conn_str(ctx, s, &mut props);
    proto_cfg(ctx, s, &props);
    let mut record = Record {
        location: Default::default(),
        props,
        rules: Vec::new(),
    };
    match s.get("location") {
        Some(f) => {
            if let Some(loc) = ctx.string(&f) {
                let path = ctx.path(&loc);
                if path.exists() && !path.is_dir() {
                    let message = format!("not a directory: {}", path.display());
                    ctx.error(f.at, &f.path, message);
                }
                record.location = path;
            }
        }
        None => ctx.error(
            s.at,
            &s.child("location"),
            "missing required key \"location\" in [record] (the clip directory)",
        ),
    }
    let mut marks = Vec::new();
    if let Some(f) = s.get("rules") {
        for r in ctx.tables(&f).unwrap_or_default() {
            let (rule, at) = rule(ctx, &r);
            record.rules.push(rule);
            marks.push(at);
        }
    }
    (record, marks)
}

fn rule(ctx: &mut Ctx, s: &Section) -> (Rule, RuleAt) {
    ctx.unknown_keys(s, &names(schema::RULE));
    let mut rule = Rule {
        name: String::new(),
        label: String::new(),
        min_confidence: 0.5,
        min_duration: std::time::Duration::from_secs(1),
        pre: std::time::Duration::from_secs(5),
        post: std::time::Duration::from_secs(10),
        cooldown: std::time::Duration::ZERO,
        sources: None,
    };
    let mut at = RuleAt {
        path: s.path.clone(),
        at: s.at,
        name: s.at,
        label: s.at,
        sources: Vec::new(),
    };
    let mut name = None;
    for f in s.fields() {
        let d = |ctx: &mut Ctx, slot: &mut std::time::Duration| {
            if let Some(v) = ctx.duration(&f) {
                *slot = v;
            }
        };
        match f.name {
            "name" => {
                name = ctx.string(&f);
                at.name = f.at;
            }
            "label" => {
                rule.label = ctx.string(&f).unwrap_or_default();
                at.label = f.at;
            }
            "min-confidence" => {
                rule.min_confidence = ctx.float(&f, 0.0, 1.0).unwrap_or(rule.min_confidence)
            }
            "min-duration" => d(ctx, &mut rule.min_duration),
            "pre" => d(ctx, &mut rule.pre),
            "post" => d(ctx, &mut rule.post),
            "cooldown" => d(ctx, &mut rule.cooldown),
            "sources" => {
                let ids = ctx.names(&f).unwrap_or_default();
                at.sources = ids.iter().map(|(_, a)| *a).collect();
                rule.sources = Some(ids.into_iter().map(|(id, _)| id).collect());
            }
            _ => {}
        }
    }
    if s.get("label").is_none() {
        let message = format!(
            "missing required key \"label\" in {} (the class that triggers a clip)",
            s.header()
        );
        ctx.error(s.at, &s.child("label"), message);
    }
    if s.get("name").is_none() {
        at.name = at.label;
    }
    rule.name = name.unwrap_or_else(|| rule.label.clone());
    (rule, at)
}
