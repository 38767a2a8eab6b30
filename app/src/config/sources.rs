//! `[[sources]]`: the URI and the keys of its kind (`transport`/`latency` for RTSP,
//! `mode`/`loop` for files), the per-source tracker and reconnect tables, and, for files,
//! the video codec found by the Discoverer (which decides whether it can be recorded).

use std::path::{Path, PathBuf};
use std::time::Duration;

use gst::glib;
use gst_pbutils::prelude::*;

use super::elements::Element;
use super::errors::suggest;
use super::schema::{self, names};
use super::sections::{reconnect, TRACKER};
use super::types::{redact_uri, FileMode, Input, Props, Reconnect, RtspTransport, Source};
use super::walk::{describe, valid_name, Ctx, Field, Section};

/// How long the Discoverer may take to read a file's streams.
const DISCOVER_TIMEOUT: gst::ClockTime = gst::ClockTime::from_seconds(5);

/// A parsed source with where its parts are, for the cross-field checks.
pub(super) struct RawSource {
    pub source: Source,
    pub path: String,
    pub at: usize,
    pub id_at: usize,
    /// The URI was valid (so `source.input` is real).
    pub input_ok: bool,
    /// Where each name of `model`/`models` is, and the key's path.
    pub models_at: Vec<usize>,
    pub models_key: String,
    /// Where each name of `events` is, when given.
    pub sinks_at: Option<Vec<usize>>,
    /// `record` as written, and where.
    pub record: Option<(bool, usize)>,
    pub tracker_at: Option<usize>,
    /// Where `analytics` is, when given.
    pub analytics_at: Option<usize>,
    /// Why a file's codec is unknown.
    pub codec_unknown: Option<String>,
}

impl RawSource {
    /// Why this source cannot be recorded, if it cannot.
    pub fn not_recordable(&self) -> Option<String> {
        match &self.source.input {
            Input::Rtsp { .. } => None,
            Input::V4l2 { .. } => Some(
                "a v4l2 camera gives raw video, which cannot be recorded (clips are H.264/H.265 \
                 without re-encoding)"
                    .into(),
            ),
            Input::File { codec, .. } => match codec.as_deref() {
                Some("h264" | "h265") => None,
                Some(other) => Some(format!(
                    "the file's video is {other}; only H.264 and H.265 can be recorded"
                )),
                None => Some(format!(
                    "the file's codec could not be discovered ({})",
                    self.codec_unknown.as_deref().unwrap_or("unknown")
                )),
            },
        }
    }
}

/// What the `uri` names, before the kind's own keys are applied.
enum Uri {
    Rtsp(String),
    File(PathBuf),
    V4l2(PathBuf),
}

const SCHEMES: &str = "rtsp://, rtsps://, file:///absolute/path, file:relative/path or \
                       v4l2:///dev/videoN";

fn parse_uri(ctx: &Ctx, uri: &str) -> Result<Uri, String> {
    let found = || format!("found \"{}\"", redact_uri(uri));
    if uri.starts_with("rtsp://") || uri.starts_with("rtsps://") {
        if uri
            .split_once("://")
            .is_some_and(|(_, rest)| rest.is_empty())
        {
            return Err(format!("expected rtsp://host[:port]/path, {}", found()));
        }
        return Ok(Uri::Rtsp(uri.to_string()));
    }
    if let Some(rest) = uri.strip_prefix("v4l2://") {
        if rest.starts_with('/') && rest.len() > 1 {
            return Ok(Uri::V4l2(PathBuf::from(rest)));
        }
        return Err(format!("expected v4l2:///dev/videoN, {}", found()));
    }
    if uri.starts_with("file://") {
        return glib::filename_from_uri(uri)
            .map(|(path, _)| Uri::File(path))
            .map_err(|_| {
                format!(
                    "expected file:///absolute/path (or file:relative/path), {}",
                    found()
                )
            });
    }
    if let Some(rest) = uri.strip_prefix("file:") {
        if !rest.is_empty() {
            return Ok(Uri::File(ctx.path(rest)));
        }
    }
    Err(format!("expected a URI {SCHEMES}, {}", found()))
}

/// The file's video codec (`h264`, `h265`, `vp9`, ...), `Ok(None)` when the Discoverer
/// timed out; an error when the file is not a video the pipeline could play.
fn discover(path: &Path) -> Result<Option<String>, String> {
    let uri = glib::filename_to_uri(path, None).map_err(|e| e.to_string())?;
    let discoverer = gst_pbutils::Discoverer::new(DISCOVER_TIMEOUT).map_err(|e| e.to_string())?;
    let info = discoverer.discover_uri(&uri).map_err(|e| e.to_string())?;
    if info.result() == gst_pbutils::DiscovererResult::Timeout {
        return Ok(None);
    }
    let caps = info.video_streams().iter().find_map(|v| v.caps());
    let Some(name) = caps
        .as_ref()
        .and_then(|c| c.structure(0))
        .map(|s| s.name().to_string())
    else {
        return Err("the file has no video stream".into());
    };
    Ok(Some(
        name.strip_prefix("video/x-")
            .or_else(|| name.strip_prefix("video/"))
            .unwrap_or(&name)
            .to_string(),
    ))
}

/// A source's `analytics`: `true`/`false`, or a table of rsanalytics properties on top of
/// `[analytics]` (`base`).
fn source_analytics(
    ctx: &mut Ctx,
    f: &Field,
    base: Option<&Props>,
    element: &Element,
    source: &mut Source,
) {
    let owner = format!("source \"{}\": analytics", source.id);
    if let Some(b) = f.item.as_bool() {
        source.analytics = b.then(|| base.cloned().unwrap_or_default());
    } else if let Some(t) = f.item.as_table_like() {
        let t = Section::new(f.path.clone(), f.at, t);
        let base = base.cloned().unwrap_or_default();
        source.analytics = Some(super::analytics::section(ctx, &t, element, &base, &owner));
    } else {
        let message = format!(
            "expected a boolean or a table of rsanalytics properties, found {}",
            describe(f.item)
        );
        ctx.error(f.at, &f.path, message);
    }
}

/// The value of a string key that must be one of `choices`.
fn choice<'c>(ctx: &mut Ctx, f: &Field, choices: &[&'c str]) -> Option<&'c str> {
    let found = f
        .item
        .as_str()
        .and_then(|s| choices.iter().find(|c| **c == s));
    if found.is_none() {
        let message = format!(
            "expected one of {}, found {}",
            choices.join(", "),
            describe(f.item)
        );
        let hint = f
            .item
            .as_str()
            .and_then(|s| suggest(s, choices.iter().copied()));
        ctx.error_hint(f.at, &f.path, message, hint);
    }
    found.copied()
}

/// The introspected elements whose properties a source may set.
pub(super) struct Elements<'e> {
    pub tracker: &'e Element,
    pub analytics: &'e Element,
}

/// What a source starts from: `[reconnect]`, the `[tracker]` properties and the
/// `[analytics]` ones (`None` without the section); a source's own tables go on top.
pub(super) struct Defaults<'d> {
    pub reconnect: &'d Reconnect,
    pub tracker: &'d Props,
    pub analytics: Option<&'d Props>,
}

/// `[[sources]]` entry `s`.
pub(super) fn source(
    ctx: &mut Ctx,
    s: &Section,
    defaults: &Defaults,
    elements: &Elements,
) -> RawSource {
    let (base, tracked, tracker) = (defaults.reconnect, defaults.tracker, elements.tracker);
    ctx.unknown_keys(s, &names(schema::SOURCE));
    let mut raw = RawSource {
        source: Source {
            id: String::new(),
            input: Input::V4l2 {
                device: PathBuf::new(),
            },
            models: Vec::new(),
            tracker: Some(tracked.clone()),
            analytics: defaults.analytics.cloned(),
            sinks: Vec::new(),
            record: false,
            source_index: None,
            reconnect: base.clone(),
        },
        path: s.path.clone(),
        at: s.at,
        id_at: s.at,
        input_ok: false,
        models_at: Vec::new(),
        models_key: s.child("model"),
        sinks_at: None,
        record: None,
        tracker_at: None,
        analytics_at: None,
        codec_unknown: None,
    };
    for required in ["id", "uri"] {
        if s.get(required).is_none() {
            let message = format!("missing required key \"{required}\" in {}", s.header());
            ctx.error(s.at, &s.child(required), message);
        }
    }
    let mut uri = None;
    let mut analytics = None;
    let (mut transport, mut latency, mut mode, mut looped) = (None, None, None, None);
    for f in s.fields() {
        match f.name {
            "id" => {
                raw.id_at = f.at;
                if let Some(id) = ctx.string(&f) {
                    if !valid_name(&id, "_.-") {
                        let message = format!(
                            "invalid source id \"{id}\": expected letters, digits, '_', '.' and \
                             '-' only (it is used in file names)"
                        );
                        ctx.error(f.at, &f.path, message);
                    }
                    raw.source.id = id;
                }
            }
            "uri" => {
                if let Some(u) = ctx.string(&f) {
                    match parse_uri(ctx, &u) {
                        Ok(parsed) => uri = Some((parsed, f.clone())),
                        Err(message) => ctx.error(f.at, &f.path, message),
                    }
                }
            }
            "model" | "models" => {
                if !raw.models_at.is_empty() || !raw.source.models.is_empty() {
                    ctx.error(f.key_at, &f.path, "give either model or models, not both");
                    continue;
                }
                raw.models_key = f.path.clone();
                let list = if f.name == "model" {
                    ctx.string(&f).map(|m| vec![(m, f.at)])
                } else {
                    ctx.names(&f)
                };
                for (m, at) in list.unwrap_or_default() {
                    raw.source.models.push(m);
                    raw.models_at.push(at);
                }
                if raw.models_at.is_empty() {
                    // An invalid value still counts as given, for the "both" check.
                    raw.models_at.push(f.at);
                    raw.source.models.push(String::new());
                }
            }
            "tracker" => {
                raw.tracker_at = Some(f.at);
                if let Some(b) = f.item.as_bool() {
                    raw.source.tracker = b.then(|| tracked.clone());
                } else if let Some(t) = f.item.as_table_like() {
                    let t = Section::new(f.path.clone(), f.at, t);
                    let mut props = tracked.clone();
                    tracker.properties(ctx, &t, &TRACKER, &mut props);
                    raw.source.tracker = Some(props);
                } else {
                    let message = format!(
                        "expected a boolean or a table of rstracker properties, found {}",
                        describe(f.item)
                    );
                    ctx.error(f.at, &f.path, message);
                }
            }
            // After the loop: its messages name the source's id.
            "analytics" => analytics = Some(f.clone()),
            "events" => {
                let list = ctx.names(&f).unwrap_or_default();
                raw.sinks_at = Some(list.iter().map(|(_, a)| *a).collect());
                raw.source.sinks = list.into_iter().map(|(n, _)| n).collect();
            }
            "record" => {
                if let Some(b) = ctx.boolean(&f) {
                    raw.record = Some((b, f.at));
                }
            }
            "source-index" => {
                raw.source.source_index = ctx.integer(&f, 0, u32::MAX.into()).map(|i| i as u32)
            }
            "transport" => transport = Some((choice(ctx, &f, &["tcp", "udp"]), f.clone())),
            "latency" => latency = Some((ctx.duration(&f), f.clone())),
            "mode" => mode = Some((choice(ctx, &f, &["live", "offline"]), f.clone())),
            "loop" => looped = Some((ctx.boolean(&f), f.clone())),
            "reconnect" => {
                if let Some(t) = ctx.table(&f) {
                    raw.source.reconnect = reconnect(ctx, &t, base);
                }
            }
            _ => {}
        }
    }
    if raw.models_at.len() == 1 && raw.source.models[0].is_empty() {
        raw.models_at.clear();
        raw.source.models.clear();
    }
    if let Some(f) = analytics {
        raw.analytics_at = Some(f.at);
        source_analytics(
            ctx,
            &f,
            defaults.analytics,
            elements.analytics,
            &mut raw.source,
        );
    }
    if let Some(props) = &raw.source.analytics {
        let (at, key) = match raw.analytics_at {
            Some(at) => (at, s.child("analytics")),
            None => (s.at, s.path.clone()),
        };
        super::analytics::check_source(ctx, at, &key, &raw.source.id, props);
    }

    let Some((uri, uri_field)) = uri else {
        return raw;
    };
    let kind = match uri {
        Uri::Rtsp(_) => "an rtsp source",
        Uri::File(_) => "a file source",
        Uri::V4l2(_) => "a v4l2 source",
    };
    let misplaced = |ctx: &mut Ctx, f: &Field, only: &str| {
        let message = format!("\"{}\" is only for {only} sources; this is {kind}", f.name);
        ctx.error(f.key_at, &f.path, message);
    };
    let rtsp_only = [
        transport.as_ref().map(|(_, f)| f),
        latency.as_ref().map(|(_, f)| f),
    ];
    if !matches!(uri, Uri::Rtsp(_)) {
        for f in rtsp_only.into_iter().flatten() {
            misplaced(ctx, f, "rtsp://");
        }
    }
    let file_only = [
        mode.as_ref().map(|(_, f)| f),
        looped.as_ref().map(|(_, f)| f),
    ];
    if !matches!(uri, Uri::File(_)) {
        for f in file_only.into_iter().flatten() {
            misplaced(ctx, f, "file:");
        }
    }
    raw.input_ok = true;
    raw.source.input = match uri {
        Uri::Rtsp(url) => Input::Rtsp {
            url,
            transport: match transport.and_then(|(t, _)| t) {
                Some("udp") => RtspTransport::Udp,
                _ => RtspTransport::Tcp,
            },
            latency: latency
                .and_then(|(l, _)| l)
                .unwrap_or(Duration::from_millis(200)),
        },
        Uri::V4l2(device) => Input::V4l2 { device },
        Uri::File(path) => {
            let mode = match mode.and_then(|(m, _)| m) {
                Some("offline") => FileMode::Offline,
                _ => FileMode::Live,
            };
            let looped = match looped {
                Some((Some(true), f)) if mode == FileMode::Offline => {
                    ctx.error(
                        f.at,
                        &f.path,
                        "loop = true is not possible with mode = \"offline\" (an offline file is \
                         processed once, to its end)",
                    );
                    false
                }
                Some((Some(b), _)) => b,
                _ => mode == FileMode::Live,
            };
            let mut codec = None;
            if !path.is_file() {
                let message = format!("file not found: {}", path.display());
                ctx.error(uri_field.at, &uri_field.path, message);
                raw.input_ok = false;
            } else {
                match discover(&path) {
                    Ok(Some(c)) => codec = Some(c),
                    Ok(None) => raw.codec_unknown = Some("the Discoverer timed out".into()),
                    Err(e) => {
                        let message = format!("cannot read the video file {}: {e}", path.display());
                        ctx.error(uri_field.at, &uri_field.path, message);
                        raw.codec_unknown = Some(e);
                    }
                }
            }
            Input::File {
                path,
                mode,
                looped,
                codec,
            }
        }
    };
    raw
}
