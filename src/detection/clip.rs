//! Clip completions in the metadata contract: what `rssmartrecord` says when a clip is
//! finished, on the bus and down the stream.
//!
//! An `rssmartrecord-done` structure (the element message rssmartrecord posts, the argument
//! of its `recording-done` signal, and the structure of the serialized custom downstream
//! event it pushes on its source pad) has `session-id` (guint), `sensor-id`, `filename`,
//! `dirpath`, `container` (`mp4`/`mkv`), `start-time` and `end-time` (UTC, ISO-8601 with
//! milliseconds as DeepStream writes them, empty when the clip holds no frame),
//! `requested-start` (UTC), `start-truncated` (gboolean), `duration-ms` (guint64), `width`,
//! `height` (gint), `codec` (`h264`/`h265`), `contains-video`, `contains-audio` (gboolean),
//! `frames`, `bytes` (guint64), `reason` (`end`, `default-duration`, `max-duration`, `stop`,
//! `eos`, `caps-changed`, `flush`, `stopped`, `writer-too-slow`, `error`), `complete`
//! (gboolean: the muxer finalised the file), `file-kept` (gboolean: the file exists) and, on
//! trouble, `error` (string).
//!
//! The downstream event goes in order with the stream, after the clip's last frame and
//! before the EOS that finished it, through decoders, queues and the other rsvision
//! elements, so an `rsmsgbroker` further down publishes the clip as an event.

use std::path::PathBuf;

use crate::utc::{format_iso8601, parse_iso8601};

/// The structure name of the message, the signal argument and the downstream event.
pub const CLIP_DONE: &str = "rssmartrecord-done";

/// A finished clip.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClipDone {
    pub session_id: u32,
    pub sensor_id: String,
    pub filename: String,
    pub dirpath: String,
    pub container: String,
    /// UTC milliseconds of the first frame and of the end of the last one (`None` without
    /// frames).
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    /// UTC milliseconds of the start that was asked for.
    pub requested_start_ms: i64,
    pub start_truncated: bool,
    pub duration_ms: u64,
    pub width: i32,
    pub height: i32,
    pub codec: String,
    pub contains_video: bool,
    pub contains_audio: bool,
    pub frames: u64,
    pub bytes: u64,
    pub reason: String,
    pub complete: bool,
    pub file_kept: bool,
    pub error: Option<String>,
}

impl ClipDone {
    /// The clip's file: `dirpath` joined with `filename`.
    pub fn path(&self) -> PathBuf {
        PathBuf::from(&self.dirpath).join(&self.filename)
    }

    /// The `rssmartrecord-done` structure.
    pub fn to_structure(&self) -> gst::Structure {
        let time = |ms: Option<i64>| ms.map(format_iso8601).unwrap_or_default();
        let mut b = gst::Structure::builder(CLIP_DONE)
            .field("session-id", self.session_id)
            .field("sensor-id", &self.sensor_id)
            .field("filename", &self.filename)
            .field("dirpath", &self.dirpath)
            .field("container", &self.container)
            .field("start-time", time(self.start_ms))
            .field("end-time", time(self.end_ms))
            .field("requested-start", format_iso8601(self.requested_start_ms))
            .field("start-truncated", self.start_truncated)
            .field("duration-ms", self.duration_ms)
            .field("width", self.width)
            .field("height", self.height)
            .field("codec", &self.codec)
            .field("contains-video", self.contains_video)
            .field("contains-audio", self.contains_audio)
            .field("frames", self.frames)
            .field("bytes", self.bytes)
            .field("reason", &self.reason)
            .field("complete", self.complete)
            .field("file-kept", self.file_kept);
        if let Some(e) = &self.error {
            b = b.field("error", e);
        }
        b.build()
    }

    /// Reads an `rssmartrecord-done` structure; `None` for another structure or one
    /// without a session id and file name.
    pub fn from_structure(s: &gst::StructureRef) -> Option<Self> {
        if s.name() != CLIP_DONE {
            return None;
        }
        let string = |f: &str| s.get::<&str>(f).unwrap_or("").to_string();
        let time = |f: &str| s.get::<&str>(f).ok().and_then(parse_iso8601);
        Some(ClipDone {
            session_id: s.get::<u32>("session-id").ok()?,
            sensor_id: string("sensor-id"),
            filename: s.get::<&str>("filename").ok()?.to_string(),
            dirpath: string("dirpath"),
            container: string("container"),
            start_ms: time("start-time"),
            end_ms: time("end-time"),
            requested_start_ms: time("requested-start").unwrap_or(0),
            start_truncated: s.get::<bool>("start-truncated").unwrap_or(false),
            duration_ms: s.get::<u64>("duration-ms").unwrap_or(0),
            width: s.get::<i32>("width").unwrap_or(0),
            height: s.get::<i32>("height").unwrap_or(0),
            codec: string("codec"),
            contains_video: s.get::<bool>("contains-video").unwrap_or(false),
            contains_audio: s.get::<bool>("contains-audio").unwrap_or(false),
            frames: s.get::<u64>("frames").unwrap_or(0),
            bytes: s.get::<u64>("bytes").unwrap_or(0),
            reason: string("reason"),
            complete: s.get::<bool>("complete").unwrap_or(false),
            file_kept: s.get::<bool>("file-kept").unwrap_or(false),
            error: s.get::<&str>("error").ok().map(str::to_string),
        })
    }
}

/// The serialized downstream event that carries a finished clip down the stream.
pub fn clip_done_event(clip: &ClipDone) -> gst::Event {
    gst::event::CustomDownstream::new(clip.to_structure())
}

/// The clip of an `rssmartrecord-done` event; `None` for any other event.
pub fn clip_done_from_event(event: &gst::EventRef) -> Option<ClipDone> {
    let gst::EventView::CustomDownstream(e) = event.view() else {
        return None;
    };
    ClipDone::from_structure(e.structure()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clip() -> ClipDone {
        ClipDone {
            session_id: 7,
            sensor_id: "cam1".into(),
            filename: "clip_cam1_00007_20240102-030405.mp4".into(),
            dirpath: "/var/clips".into(),
            container: "mp4".into(),
            start_ms: Some(1_704_164_645_120),
            end_ms: Some(1_704_164_650_160),
            requested_start_ms: 1_704_164_645_500,
            start_truncated: false,
            duration_ms: 5040,
            width: 640,
            height: 480,
            codec: "h264".into(),
            contains_video: true,
            contains_audio: false,
            frames: 126,
            bytes: 123_456,
            reason: "eos".into(),
            complete: true,
            file_kept: true,
            error: None,
        }
    }

    #[test]
    fn round_trips_through_the_structure_and_the_event() {
        gst::init().unwrap();
        let c = clip();
        let s = c.to_structure();
        assert_eq!(s.name(), CLIP_DONE);
        assert_eq!(
            s.get::<&str>("start-time").unwrap(),
            "2024-01-02T03:04:05.120Z"
        );
        assert_eq!(s.get::<u32>("session-id").unwrap(), 7);
        assert!(!s.has_field("error"));
        assert_eq!(ClipDone::from_structure(&s), Some(c.clone()));
        let ev = clip_done_event(&c);
        assert!(ev.is_serialized());
        assert_eq!(clip_done_from_event(&ev), Some(c.clone()));
        assert_eq!(
            c.path(),
            PathBuf::from("/var/clips/clip_cam1_00007_20240102-030405.mp4")
        );

        let failed = ClipDone {
            start_ms: None,
            end_ms: None,
            frames: 0,
            file_kept: false,
            complete: false,
            reason: "error".into(),
            error: Some("disk full".into()),
            ..c
        };
        let s = failed.to_structure();
        assert_eq!(s.get::<&str>("start-time").unwrap(), "");
        assert_eq!(s.get::<&str>("error").unwrap(), "disk full");
        assert_eq!(ClipDone::from_structure(&s), Some(failed));
    }

    #[test]
    fn other_events_and_structures_are_not_clips() {
        gst::init().unwrap();
        assert_eq!(clip_done_from_event(&gst::event::Eos::new()), None);
        let other = gst::event::CustomDownstream::new(gst::Structure::new_empty("other"));
        assert_eq!(clip_done_from_event(&other), None);
        let s = gst::Structure::builder(CLIP_DONE).build();
        assert_eq!(ClipDone::from_structure(&s), None);
    }
}
