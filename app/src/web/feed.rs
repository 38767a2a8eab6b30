//! What a source tells the web console as it happens: tracker lifecycle events, rule hits,
//! rsanalytics' crossings, zone visits, loitering and overcrowding, finished clips and its
//! own state changes, as [`Event`]s in the hub (and finished clips
//! in its clip list). The event builders are plain functions of the facts; [`attach_tracker`]
//! reads the tracker's events off its source pad (the frame metas, and the
//! `rstracker-events` event that carries the exits of tracks ended with the stream), so the
//! events do not depend on the tracker's `post-messages`.
//!
//! Called from streaming threads (tracker probe, rule engine) and the supervisor: each call
//! is one short push into the hub's ring and broadcast, nothing else is locked.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use gst::prelude::*;
use gstrsvision::detection::{tracking, ClipDone, TrackEvent};
use serde_json::{json, Value};

use super::{ClipInfo, Event, Hub};

/// Unix time now, in ms.
pub fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// `circle #3`, or `circle` without a track id.
fn object(label: &str, track: Option<u64>) -> String {
    let label = if label.is_empty() { "object" } else { label };
    match track {
        Some(id) => format!("{label} #{id}"),
        None => label.to_string(),
    }
}

/// The event of a tracker lifecycle event (`track-entry`, `track-moving`, `track-stopped`,
/// `track-exit`).
pub fn track_event(source: &str, e: &TrackEvent, time_ms: i64) -> Event {
    let who = object(&e.label, Some(e.track_id));
    let text = match e.event.as_str() {
        "entry" => format!("{who} entered"),
        "exit" if !e.reason.is_empty() => format!("{who} left ({})", e.reason),
        "exit" => format!("{who} left"),
        "moving" => format!("{who} is moving"),
        "stopped" => format!("{who} stopped"),
        other => format!("{who}: {other}"),
    };
    Event {
        seq: 0,
        time_ms,
        source: source.to_string(),
        kind: format!("track-{}", e.event),
        text,
        data: json!({
            "track_id": e.track_id,
            "event": e.event,
            "reason": e.reason,
            "label": e.label,
            "confidence": e.confidence,
            "box": {"x": e.x, "y": e.y, "width": e.width, "height": e.height},
            "speed": e.speed(),
            "direction": e.direction(),
        }),
    }
}

/// A rule started a clip.
pub fn rule_event(
    source: &str,
    rule: &str,
    label: &str,
    track: Option<u64>,
    from_s: f64,
    time_ms: i64,
) -> Event {
    Event {
        seq: 0,
        time_ms,
        source: source.to_string(),
        kind: "rule".into(),
        text: format!("rule {rule}: recording ({})", object(label, track)),
        data: json!({"rule": rule, "label": label, "track_id": track, "from_s": from_s}),
    }
}

/// The event of an rsanalytics element message (`rsanalytics-crossing`, `-zone`,
/// `-loitering`, `-overcrowding`; fields as in the plugin's `detection::analytics`), kind
/// `analytics-crossing` and so on; `None` for any other structure. Its text is also the
/// log line's (`analytics SOURCE: TEXT`).
pub fn analytics_event(source: &str, s: &gst::StructureRef, time_ms: i64) -> Option<Event> {
    let name = s.name().as_str().strip_prefix("rsanalytics-")?;
    let text_of = |f: &str| s.get::<String>(f).unwrap_or_default();
    let count = |f: &str| s.get::<u64>(f).unwrap_or(0);
    let track = s.get::<u64>("track-id").ok();
    let label = text_of("label");
    let who = object(&label, track);
    let event = text_of("event");
    let (text, data) = match name {
        "crossing" => {
            let (line, direction) = (text_of("line"), text_of("direction"));
            let (inc, outc) = (count("in-count"), count("out-count"));
            (
                format!("{who} crossed {line} {direction} (in {inc}, out {outc})"),
                json!({"line": line, "direction": direction, "in_count": inc, "out_count": outc}),
            )
        }
        "zone" | "loitering" => {
            let (zone, dwell) = (text_of("zone"), count("dwell-ms"));
            let what = match (name, event.as_str()) {
                ("zone", "entry") => format!("{who} entered {zone}"),
                ("zone", "exit") => format!("{who} left {zone} after {:.1} s", dwell as f64 / 1e3),
                ("loitering", "start") => format!("{who} loiters in {zone}"),
                ("loitering", _) => format!("{who} stopped loitering in {zone}"),
                _ => format!("{who} {zone}: {event}"),
            };
            (
                what,
                json!({"zone": zone, "event": event, "dwell_ms": dwell}),
            )
        }
        "overcrowding" => {
            let zone = text_of("zone");
            let place = if zone.is_empty() {
                "the frame".to_string()
            } else {
                zone.clone()
            };
            let n = count("count");
            let what = match event.as_str() {
                "start" => format!("{place} overcrowded ({n} objects)"),
                _ => format!("{place} no longer overcrowded ({n} objects)"),
            };
            (what, json!({"zone": zone, "event": event, "count": n}))
        }
        _ => return None,
    };
    let mut data = match data {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    if name != "overcrowding" {
        data.insert("track_id".into(), json!(track));
        data.insert("label".into(), label.into());
    }
    Some(Event {
        seq: 0,
        time_ms,
        source: source.to_string(),
        kind: format!("analytics-{name}"),
        text,
        data: Value::Object(data),
    })
}

/// What the console knows of a finished clip, from its `rssmartrecord-done` structure;
/// `None` when no file was written. The start and end are the element's (UTC of the first
/// frame and of the end of the last one); when it has none, the end is `now_ms` and the
/// start its duration before.
pub fn clip_info(
    source: &str,
    s: &gst::StructureRef,
    reason: &str,
    now_ms: i64,
) -> Option<ClipInfo> {
    let done = ClipDone::from_structure(s)?;
    if !done.file_kept {
        return None;
    }
    let end_ms = done.end_ms.unwrap_or(now_ms);
    let start_ms = done
        .start_ms
        .unwrap_or_else(|| end_ms - done.duration_ms as i64);
    let size = std::fs::metadata(done.path())
        .map(|m| m.len())
        .unwrap_or(done.bytes);
    Some(ClipInfo {
        name: done.filename,
        source: source.to_string(),
        start_ms,
        end_ms,
        duration_ms: done.duration_ms,
        reason: reason.to_string(),
        size,
    })
}

/// A finished clip.
pub fn clip_event(clip: &ClipInfo, time_ms: i64) -> Event {
    Event {
        seq: 0,
        time_ms,
        source: clip.source.clone(),
        kind: "clip".into(),
        text: format!(
            "clip {} ({:.1} s, {})",
            clip.name,
            clip.duration_ms as f64 / 1000.0,
            clip.reason
        ),
        data: json!({
            "name": clip.name,
            "start_ms": clip.start_ms,
            "end_ms": clip.end_ms,
            "duration_ms": clip.duration_ms,
            "reason": clip.reason,
            "size": clip.size,
            "url": format!("/clips/{}", clip.name),
        }),
    }
}

/// A change of the source's state (`live`, `reconnecting`, `failed`, `ended`), `text` as the
/// status document's `state_text`.
pub fn state_event(source: &str, state: &str, text: &str, data: Value, time_ms: i64) -> Event {
    let mut data = match data {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    data.insert("state".into(), state.into());
    Event {
        seq: 0,
        time_ms,
        source: source.to_string(),
        kind: "state".into(),
        text: format!("source {source}: {text}"),
        data: Value::Object(data),
    }
}

/// One source's way into the hub.
#[derive(Debug, Clone)]
pub struct Feed {
    hub: Arc<Hub>,
    source: String,
}

impl Feed {
    pub fn new(hub: Arc<Hub>, source: &str) -> Feed {
        Feed {
            hub,
            source: source.to_string(),
        }
    }

    pub fn push(&self, event: Event) {
        self.hub.events.push(event);
    }

    pub fn tracks(&self, events: &[TrackEvent]) {
        let now = unix_ms();
        for e in events {
            self.push(track_event(&self.source, e, now));
        }
    }

    pub fn rule(&self, rule: &str, label: &str, track: Option<u64>, from_s: f64) {
        self.push(rule_event(
            &self.source,
            rule,
            label,
            track,
            from_s,
            unix_ms(),
        ));
    }

    pub fn state(&self, state: &str, text: &str, data: Value) {
        self.push(state_event(&self.source, state, text, data, unix_ms()));
    }

    /// An rsanalytics element message, as built by [`analytics_event`].
    pub fn analytics(&self, event: Event) {
        self.push(event);
    }

    /// A clip is finished (`rssmartrecord-done`): into the hub's clip list and the events.
    pub fn clip_done(&self, s: &gst::StructureRef, reason: &str) {
        let now = unix_ms();
        if let Some(clip) = clip_info(&self.source, s, reason, now) {
            self.push(clip_event(&clip, now));
            self.hub.clip_finished(clip);
        }
    }
}

/// Feeds the tracker's events leaving `pad` (rstracker's source pad) into `feed`.
pub fn attach_tracker(pad: &gst::Pad, feed: Feed) {
    pad.add_probe(
        gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM,
        move |_, info| {
            match &info.data {
                Some(gst::PadProbeData::Buffer(b)) => {
                    let events = tracking::events(b);
                    if !events.is_empty() {
                        feed.tracks(&events);
                    }
                }
                Some(gst::PadProbeData::Event(e)) => {
                    if let Some(events) = tracking::events_from_event(e) {
                        feed.tracks(&events);
                    }
                }
                _ => {}
            }
            gst::PadProbeReturn::Ok
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn init() {
        let _ = gst::init();
    }

    fn exit() -> TrackEvent {
        TrackEvent {
            track_id: 7,
            event: "exit".into(),
            reason: "lost".into(),
            label: "circle".into(),
            label_id: 0,
            x: 1.0,
            y: 2.0,
            width: 3.0,
            height: 4.0,
            confidence: 0.9,
            pts: None,
            running_time: None,
            first_seen: None,
            last_seen: None,
            hits: 3,
            velocity: (3.0, 4.0),
        }
    }

    #[test]
    fn track_events_read_like_sentences() {
        let e = track_event("cam1", &exit(), 42);
        assert_eq!(
            (
                e.kind.as_str(),
                e.text.as_str(),
                e.source.as_str(),
                e.time_ms
            ),
            ("track-exit", "circle #7 left (lost)", "cam1", 42)
        );
        assert_eq!(e.data["track_id"], 7);
        assert_eq!(e.data["speed"], 5.0);
        assert_eq!(e.data["box"]["height"], 4.0);
        let entry = TrackEvent {
            event: "entry".into(),
            reason: String::new(),
            ..exit()
        };
        assert_eq!(track_event("c", &entry, 0).text, "circle #7 entered");
        assert_eq!(track_event("c", &entry, 0).kind, "track-entry");
        let r = rule_event("c", "circle-seen", "circle", None, 1.5, 0);
        assert_eq!(r.text, "rule circle-seen: recording (circle)");
        assert_eq!(r.data["track_id"], Value::Null);
        let s = state_event(
            "c",
            "reconnecting",
            "reconnecting in 3 s",
            json!({"retry_in_s": 3}),
            0,
        );
        assert_eq!(s.text, "source c: reconnecting in 3 s");
        assert_eq!(
            (s.data["state"].as_str(), s.data["retry_in_s"].as_i64()),
            (Some("reconnecting"), Some(3))
        );
    }

    #[test]
    fn analytics_messages_become_events_of_their_own_kinds() {
        init();
        let crossing = gst::Structure::builder("rsanalytics-crossing")
            .field("line", "middle")
            .field("track-id", 3u64)
            .field("direction", "in")
            .field("label", "circle")
            .field("in-count", 4u64)
            .field("out-count", 2u64)
            .build();
        let e = analytics_event("cam1", &crossing, 42).unwrap();
        assert_eq!(
            (
                e.kind.as_str(),
                e.text.as_str(),
                e.source.as_str(),
                e.time_ms
            ),
            (
                "analytics-crossing",
                "circle #3 crossed middle in (in 4, out 2)",
                "cam1",
                42
            )
        );
        assert_eq!(
            e.data,
            json!({"line": "middle", "direction": "in", "in_count": 4, "out_count": 2,
                   "track_id": 3, "label": "circle"})
        );
        let exit = gst::Structure::builder("rsanalytics-zone")
            .field("zone", "bay")
            .field("track-id", 5u64)
            .field("event", "exit")
            .field("label", "star")
            .field("dwell-ms", 2500u64)
            .build();
        let e = analytics_event("cam1", &exit, 0).unwrap();
        assert_eq!(e.kind, "analytics-zone");
        assert_eq!(e.text, "star #5 left bay after 2.5 s");
        assert_eq!(
            (e.data["event"].as_str(), e.data["dwell_ms"].as_u64()),
            (Some("exit"), Some(2500))
        );
        let crowd = gst::Structure::builder("rsanalytics-overcrowding")
            .field("zone", "")
            .field("event", "start")
            .field("count", 9u64)
            .build();
        let e = analytics_event("cam1", &crowd, 0).unwrap();
        assert_eq!(e.text, "the frame overcrowded (9 objects)");
        assert_eq!(e.data.get("track_id"), None);
        let other = gst::Structure::new_empty("rstracker-entry");
        assert!(analytics_event("cam1", &other, 0).is_none());
    }

    #[test]
    fn clips_take_their_times_from_the_recorder_or_from_now() {
        init();
        let done = ClipDone {
            session_id: 3,
            filename: "cam1-1.mp4".into(),
            dirpath: "/nonexistent".into(),
            start_ms: Some(1_000),
            end_ms: Some(5_500),
            duration_ms: 4_500,
            bytes: 1234,
            file_kept: true,
            ..ClipDone::default()
        };
        let c = clip_info("cam1", &done.to_structure(), "circle-seen", 99_000).unwrap();
        assert_eq!(
            c,
            ClipInfo {
                name: "cam1-1.mp4".into(),
                source: "cam1".into(),
                start_ms: 1_000,
                end_ms: 5_500,
                duration_ms: 4_500,
                reason: "circle-seen".into(),
                size: 1234,
            }
        );
        let e = clip_event(&c, 0);
        assert_eq!(e.text, "clip cam1-1.mp4 (4.5 s, circle-seen)");
        assert_eq!(e.data["url"], "/clips/cam1-1.mp4");
        let no_times = ClipDone {
            start_ms: None,
            end_ms: None,
            ..done.clone()
        };
        let c = clip_info("cam1", &no_times.to_structure(), "command", 99_000).unwrap();
        assert_eq!((c.start_ms, c.end_ms), (94_500, 99_000));
        let not_kept = ClipDone {
            file_kept: false,
            ..done
        };
        assert_eq!(clip_info("cam1", &not_kept.to_structure(), "x", 0), None);
    }
}
