//! Tracking in the metadata contract: what a tracker writes on each object and on each
//! frame, and the events it announces.
//!
//! On each object (region meta) it keeps, besides `detection`:
//! - `tracking` (ours): `id` (guint64), `predicted` (boolean: no detection on this frame, the
//!   box is the motion model's prediction), `frames_ago` (guint: buffers since the last
//!   detection), `lost` (boolean: missed on the latest detector frame), `hits` (guint:
//!   detector frames it was seen on), `first_seen` (guint64, running time in ns),
//!   `velocity_x`, `velocity_y` (double, box centre in pixels per second), `centre_x`,
//!   `centre_y` (double, frame pixels: the motion model's box centre, smoother than the
//!   detector's box, for drawing paths);
//! - `object_id` (DL Streamer's, as gvatrack writes it): `id` (gint), so `gvawatermark` and
//!   `gvametaconvert` show our ids.
//!
//! On each frame, a custom meta `RsvisionTrackerMeta` with `element` (string), `predicted`
//! (boolean: the frame had no fresh detections), `tracks` (guint: tracked objects on it) and
//! `events` (a list of `rstracker-event` structures, the events of this frame).
//!
//! An `rstracker-event` structure (also the element message the tracker posts) has
//! `track-id` (guint64), `event` (`entry`, `moving`, `stopped`, `exit`), `reason` (for
//! `exit`: `lost`, `left-frame`, `evicted`, `reset`; else empty), `label`, `label-id`,
//! `x`, `y`, `width`, `height` (double, frame pixels; the last observed box for `exit`),
//! `confidence`, `pts` (guint64 ns of the frame, `G_MAXUINT64` when unknown), `running-time`
//! (guint64 ns), `first-seen`, `last-seen` (guint64, running time in ns), `hits` (guint),
//! `velocity-x`, `velocity-y`, `speed` (double, pixels per second) and `direction` (double,
//! degrees, 0 = +x, 90 = +y: down the image).
//!
//! Tracks that end with the stream (EOS, flush, a new stream) have no frame left to carry
//! their `exit` events: they travel downstream as a serialized custom event
//! `rstracker-events` with `events` (the same list) before the EOS, flush-stop or
//! stream-start goes on.

use gst::meta::CustomMeta;

/// Name of the per-object tracking structure.
pub const TRACKING_STRUCTURE: &str = "tracking";
/// DL Streamer's per-object track id structure.
pub const OBJECT_ID_STRUCTURE: &str = "object_id";
/// The per-frame custom meta of a tracker.
pub const TRACKER_META: &str = "RsvisionTrackerMeta";
/// Structure name of an event (message, frame meta list item).
pub const EVENT_STRUCTURE: &str = "rstracker-event";
/// The custom downstream event carrying the events of tracks ended with the stream.
pub const EVENTS_EVENT: &str = "rstracker-events";

/// What a tracker says about one object (the `tracking` structure beyond its `id`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrackInfo {
    pub predicted: bool,
    pub frames_ago: u32,
    pub lost: bool,
    pub hits: u32,
    pub first_seen: Option<u64>,
    pub velocity: (f64, f64),
    /// The motion model's box centre (frame pixels).
    pub centre: Option<(f64, f64)>,
}

/// The `tracking` structure of track `id`: just the id for a foreign tracker's, every field
/// when `info` is given.
pub fn tracking_structure(id: u64, info: Option<&TrackInfo>) -> gst::Structure {
    let mut t = gst::Structure::builder(TRACKING_STRUCTURE).field("id", id);
    if let Some(info) = info {
        t = t
            .field("predicted", info.predicted)
            .field("frames_ago", info.frames_ago)
            .field("lost", info.lost)
            .field("hits", info.hits)
            .field("first_seen", info.first_seen.unwrap_or(u64::MAX))
            .field("velocity_x", info.velocity.0)
            .field("velocity_y", info.velocity.1);
        if let Some((cx, cy)) = info.centre {
            t = t.field("centre_x", cx).field("centre_y", cy);
        }
    }
    t.build()
}

/// DL Streamer's `object_id` structure of track `id` (gint): `None` for ids beyond it.
pub fn object_id_structure(id: u64) -> Option<gst::Structure> {
    i32::try_from(id).ok().map(|id| {
        gst::Structure::builder(OBJECT_ID_STRUCTURE)
            .field("id", id)
            .build()
    })
}

/// One lifecycle event of a track.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackEvent {
    pub track_id: u64,
    /// `entry`, `moving`, `stopped`, `exit`.
    pub event: String,
    /// Why an `exit` happened (empty otherwise).
    pub reason: String,
    pub label: String,
    pub label_id: i32,
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    pub confidence: f64,
    pub pts: Option<u64>,
    pub running_time: Option<u64>,
    pub first_seen: Option<u64>,
    pub last_seen: Option<u64>,
    pub hits: u32,
    pub velocity: (f64, f64),
}

impl TrackEvent {
    /// Speed in pixels per second.
    pub fn speed(&self) -> f64 {
        self.velocity.0.hypot(self.velocity.1)
    }

    /// Direction of motion in degrees (0 = +x, 90 = +y), 0 when still.
    pub fn direction(&self) -> f64 {
        if self.speed() > 0.0 {
            let d = self.velocity.1.atan2(self.velocity.0).to_degrees();
            if d < 0.0 {
                d + 360.0
            } else {
                d
            }
        } else {
            0.0
        }
    }

    pub fn to_structure(&self) -> gst::Structure {
        let t = |v: Option<u64>| v.unwrap_or(u64::MAX);
        gst::Structure::builder(EVENT_STRUCTURE)
            .field("track-id", self.track_id)
            .field("event", self.event.as_str())
            .field("reason", self.reason.as_str())
            .field("label", self.label.as_str())
            .field("label-id", self.label_id)
            .field("x", self.x)
            .field("y", self.y)
            .field("width", self.width)
            .field("height", self.height)
            .field("confidence", self.confidence)
            .field("pts", t(self.pts))
            .field("running-time", t(self.running_time))
            .field("first-seen", t(self.first_seen))
            .field("last-seen", t(self.last_seen))
            .field("hits", self.hits)
            .field("velocity-x", self.velocity.0)
            .field("velocity-y", self.velocity.1)
            .field("speed", self.speed())
            .field("direction", self.direction())
            .build()
    }

    /// Reads an `rstracker-event` structure; `None` when it is something else or has no
    /// `track-id` and `event`.
    pub fn from_structure(s: &gst::StructureRef) -> Option<Self> {
        if s.name() != EVENT_STRUCTURE {
            return None;
        }
        let f = |n: &str| s.get::<f64>(n).unwrap_or(0.0);
        let t = |n: &str| s.get::<u64>(n).ok().filter(|v| *v != u64::MAX);
        let text = |n: &str| s.get::<&str>(n).unwrap_or("").to_string();
        Some(TrackEvent {
            track_id: s.get::<u64>("track-id").ok()?,
            event: s.get::<&str>("event").ok()?.to_string(),
            reason: text("reason"),
            label: text("label"),
            label_id: s.get::<i32>("label-id").unwrap_or(-1),
            x: f("x"),
            y: f("y"),
            width: f("width"),
            height: f("height"),
            confidence: f("confidence"),
            pts: t("pts"),
            running_time: t("running-time"),
            first_seen: t("first-seen"),
            last_seen: t("last-seen"),
            hits: s.get::<u32>("hits").unwrap_or(0),
            velocity: (f("velocity-x"), f("velocity-y")),
        })
    }
}

/// What a tracker writes on a frame.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrackerFrame {
    pub element: String,
    pub predicted: bool,
    pub tracks: u32,
    pub events: Vec<TrackEvent>,
}

fn event_list(events: &[TrackEvent]) -> gst::List {
    gst::List::new(events.iter().map(|e| e.to_structure()))
}

fn events_of(list: &gst::List) -> Vec<TrackEvent> {
    list.iter()
        .filter_map(|v| v.get::<gst::Structure>().ok())
        .filter_map(|s| TrackEvent::from_structure(&s))
        .collect()
}

/// Adds the tracker's frame meta.
pub fn mark_frame(buffer: &mut gst::BufferRef, frame: &TrackerFrame) {
    super::frame::register();
    let Ok(mut meta) = CustomMeta::add(buffer, TRACKER_META) else {
        return;
    };
    let s = meta.mut_structure();
    s.set("element", frame.element.as_str());
    s.set("predicted", frame.predicted);
    s.set("tracks", frame.tracks);
    s.set("events", event_list(&frame.events));
}

/// The tracker frame metas on `buffer` (one per tracker it went through).
pub fn tracker_frames(buffer: &gst::BufferRef) -> Vec<TrackerFrame> {
    let mut out = Vec::new();
    for meta in buffer.iter_meta::<gst::Meta>() {
        let Some(custom) = meta.try_as_custom_meta() else {
            continue;
        };
        if !custom.has_name(TRACKER_META) {
            continue;
        }
        let s = custom.structure();
        out.push(TrackerFrame {
            element: s.get::<&str>("element").unwrap_or("").to_string(),
            predicted: s.get::<bool>("predicted").unwrap_or(false),
            tracks: s.get::<u32>("tracks").unwrap_or(0),
            events: s
                .get::<gst::List>("events")
                .map(|l| events_of(&l))
                .unwrap_or_default(),
        });
    }
    out
}

/// Every track event carried by `buffer`'s tracker metas.
pub fn events(buffer: &gst::BufferRef) -> Vec<TrackEvent> {
    tracker_frames(buffer)
        .into_iter()
        .flat_map(|f| f.events)
        .collect()
}

/// The serialized downstream event that carries the `exit` events of tracks ended with the
/// stream.
pub fn events_event(events: &[TrackEvent]) -> gst::Event {
    let s = gst::Structure::builder(EVENTS_EVENT)
        .field("events", event_list(events))
        .build();
    gst::event::CustomDownstream::new(s)
}

/// The events of an `rstracker-events` event; `None` for any other event.
pub fn events_from_event(event: &gst::EventRef) -> Option<Vec<TrackEvent>> {
    let gst::EventView::CustomDownstream(e) = event.view() else {
        return None;
    };
    let s = e.structure()?;
    if s.name() != EVENTS_EVENT {
        return None;
    }
    Some(
        s.get::<gst::List>("events")
            .map(|l| events_of(&l))
            .unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> TrackEvent {
        TrackEvent {
            track_id: 12,
            event: "exit".into(),
            reason: "lost".into(),
            label: "person".into(),
            label_id: 0,
            x: 1.5,
            y: 2.0,
            width: 30.0,
            height: 60.0,
            confidence: 0.8,
            pts: Some(40),
            running_time: None,
            first_seen: Some(10),
            last_seen: Some(30),
            hits: 9,
            velocity: (0.0, -5.0),
        }
    }

    #[test]
    fn events_round_trip_through_frames_and_stream_events() {
        gst::init().unwrap();
        let e = event();
        assert_eq!(e.speed(), 5.0);
        assert_eq!(e.direction(), 270.0);
        let mut b = gst::Buffer::new();
        let frame = TrackerFrame {
            element: "rstracker0".into(),
            predicted: true,
            tracks: 3,
            events: vec![e.clone()],
        };
        mark_frame(b.get_mut().unwrap(), &frame);
        assert_eq!(tracker_frames(&b), vec![frame]);
        assert_eq!(events(&b), vec![e.clone()]);
        let ev = events_event(std::slice::from_ref(&e));
        assert_eq!(events_from_event(&ev), Some(vec![e]));
        assert_eq!(events_from_event(&gst::event::Eos::new()), None);
    }

    #[test]
    fn foreign_structures_are_not_events() {
        gst::init().unwrap();
        let s = gst::Structure::builder("other")
            .field("track-id", 1u64)
            .build();
        assert_eq!(TrackEvent::from_structure(&s), None);
        let s = gst::Structure::builder(EVENT_STRUCTURE).build();
        assert_eq!(TrackEvent::from_structure(&s), None);
    }
}
