//! The full-schema message of a finished rssmartrecord clip ([`crate::detection::ClipDone`]):
//! what DeepStream's `nvmsgconv` writes for an `NvDsEventMsgMeta` of type
//! `NVDS_EVENT_CUSTOM` with an object of unknown type `Clip` and the clip as `videoPath`,
//! with the clip's facts as the attributes of that object.
//!
//! ```text
//! { "messageid", "mdsversion", "@timestamp": <end of the clip>, "place", "sensor", "analyticsModule",
//!   "object": { "id": "-1", "speed": 0.0, "direction": 0.0, "orientation": 0.0,
//!               "Clip": { "sessionId", "sensorId", "filename", "dirpath", "container", "codec",
//!                         "width", "height", "containsVideo", "containsAudio",
//!                         "start", "end", "requestedStart", "startTruncated", "duration" (ms),
//!                         "frames", "bytes", "reason", "complete", "fileKept"[, "error"] },
//!               "bbox": all 0, "location", "coordinate" },
//!   "event": { "id", "type": "custom" },
//!   "videoPath": <dirpath/filename; "" when no file was kept> }
//! ```
//!
//! Times are UTC in DeepStream's form (`2021-07-28T17:53:19.339Z`; `start`/`end` are empty
//! for a clip without frames), as in the cloud-to-device command that asks for a clip.

use std::fmt::Write;

use super::payload::{write_object, write_str, write_tail, Object, PayloadBuilder};
use crate::detection::ClipDone;
use crate::utc::write_iso8601;

/// `event.type` of a clip message: DeepStream's `NVDS_EVENT_CUSTOM`. None of the schema's
/// own types (entry, exit, moving, ...) is about a recording, and a back-end that counts
/// or follows objects by those types must not mistake a clip for one.
pub const CLIP_EVENT_TYPE: &str = "custom";

/// The type member of a clip message's object.
pub const CLIP_OBJECT_LABEL: &str = "Clip";

/// The members of the `Clip` object (without braces).
fn write_attributes(out: &mut String, c: &ClipDone) {
    let time = |out: &mut String, name: &str, ms: Option<i64>| {
        let _ = write!(out, ",\"{name}\":\"");
        if let Some(ms) = ms {
            write_iso8601(out, ms);
        }
        out.push('"');
    };
    let _ = write!(out, "\"sessionId\":{}", c.session_id);
    for (name, value) in [
        ("sensorId", &c.sensor_id),
        ("filename", &c.filename),
        ("dirpath", &c.dirpath),
        ("container", &c.container),
        ("codec", &c.codec),
    ] {
        let _ = write!(out, ",\"{name}\":");
        write_str(out, value);
    }
    let _ = write!(
        out,
        ",\"width\":{},\"height\":{},\"containsVideo\":{},\"containsAudio\":{}",
        c.width, c.height, c.contains_video, c.contains_audio
    );
    time(out, "start", c.start_ms);
    time(out, "end", c.end_ms);
    time(out, "requestedStart", Some(c.requested_start_ms));
    let _ = write!(
        out,
        ",\"startTruncated\":{},\"duration\":{},\"frames\":{},\"bytes\":{},\"reason\":",
        c.start_truncated, c.duration_ms, c.frames, c.bytes
    );
    write_str(out, &c.reason);
    let _ = write!(
        out,
        ",\"complete\":{},\"fileKept\":{}",
        c.complete, c.file_kept
    );
    if let Some(e) = &c.error {
        out.push_str(",\"error\":");
        write_str(out, e);
    }
}

impl PayloadBuilder {
    /// Appends the full-schema document of a finished clip to `out`: `@timestamp` is the
    /// clip's end (`now_ms` when it has no frame), `event.type` [`CLIP_EVENT_TYPE`],
    /// `videoPath` the file (empty when it was not kept). `message_id` and `event_id` are
    /// uuid4 strings.
    pub fn write_clip(
        &self,
        out: &mut String,
        clip: &ClipDone,
        now_ms: i64,
        message_id: &str,
        event_id: &str,
    ) {
        self.write_head(out, clip.end_ms.unwrap_or(now_ms), message_id);
        let object = Object {
            left: 0,
            top: 0,
            right: 0,
            bottom: 0,
            label: CLIP_OBJECT_LABEL.to_string(),
            track_id: None,
            confidence: 0.0,
            speed: None,
            direction: None,
            attributes: Vec::new(),
        };
        let mut attributes = String::with_capacity(512);
        write_attributes(&mut attributes, clip);
        write_object(out, &object, &attributes, None);
        let path = if clip.file_kept {
            clip.path().to_string_lossy().to_string()
        } else {
            String::new()
        };
        write_tail(out, event_id, CLIP_EVENT_TYPE, &path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msgconv::Sensor;
    use serde_json::{json, Value};

    fn clip() -> ClipDone {
        ClipDone {
            session_id: 3,
            sensor_id: "cam \"1\"".into(),
            filename: "clip_cam_1_00003_20210728-175314.mp4".into(),
            dirpath: "/var/clips".into(),
            container: "mp4".into(),
            start_ms: Some(1_627_494_794_299),
            end_ms: Some(1_627_494_799_339),
            requested_start_ms: 1_627_494_794_500,
            start_truncated: false,
            duration_ms: 5040,
            width: 640,
            height: 480,
            codec: "h264".into(),
            contains_video: true,
            contains_audio: false,
            frames: 126,
            bytes: 98_765,
            reason: "eos".into(),
            complete: true,
            file_kept: true,
            error: None,
        }
    }

    fn builder() -> PayloadBuilder {
        PayloadBuilder {
            sensor: Sensor {
                id: "cam1".into(),
                ..Default::default()
            },
            event_type: "entry".into(),
            // Clips have no confidence: the setting does not add one.
            include_confidence: true,
            ..Default::default()
        }
    }

    #[test]
    fn clip_document() {
        let mut s = String::new();
        builder().write_clip(&mut s, &clip(), 0, "m-1", "e-1");
        let v: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["messageid"], "m-1");
        assert_eq!(v["@timestamp"], "2021-07-28T17:53:19.339Z");
        assert_eq!(v["sensor"]["id"], "cam1");
        assert_eq!(v["event"], json!({"id": "e-1", "type": "custom"}));
        assert_eq!(
            v["videoPath"],
            "/var/clips/clip_cam_1_00003_20210728-175314.mp4"
        );
        assert_eq!(
            v["object"],
            json!({"id": "-1", "speed": 0.0, "direction": 0.0, "orientation": 0.0,
                "Clip": {"sessionId": 3, "sensorId": "cam \"1\"",
                    "filename": "clip_cam_1_00003_20210728-175314.mp4", "dirpath": "/var/clips",
                    "container": "mp4", "codec": "h264", "width": 640, "height": 480,
                    "containsVideo": true, "containsAudio": false,
                    "start": "2021-07-28T17:53:14.299Z", "end": "2021-07-28T17:53:19.339Z",
                    "requestedStart": "2021-07-28T17:53:14.500Z", "startTruncated": false,
                    "duration": 5040, "frames": 126, "bytes": 98765, "reason": "eos",
                    "complete": true, "fileKept": true},
                "bbox": {"topleftx": 0, "toplefty": 0, "bottomrightx": 0, "bottomrighty": 0},
                "location": {"lat": 0.0, "lon": 0.0, "alt": 0.0},
                "coordinate": {"x": 0.0, "y": 0.0, "z": 0.0}})
        );
        // The same members as a frame's message.
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        let mut frame = String::new();
        builder().write_full(
            &mut frame,
            &super::super::Frame {
                number: 0,
                timestamp_ms: 0,
            },
            &Object {
                left: 0,
                top: 0,
                right: 1,
                bottom: 1,
                label: "person".into(),
                track_id: None,
                confidence: 0.5,
                speed: None,
                direction: None,
                attributes: Vec::new(),
            },
            "m",
            "e",
        );
        let f: Value = serde_json::from_str(&frame).unwrap();
        let frame_keys: Vec<&str> = f.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(keys, frame_keys);
    }

    #[test]
    fn failed_clip_has_no_video_path_and_says_why() {
        let c = ClipDone {
            start_ms: None,
            end_ms: None,
            frames: 0,
            contains_video: false,
            complete: false,
            file_kept: false,
            reason: "error".into(),
            error: Some("No space left on device".into()),
            ..clip()
        };
        let mut s = String::new();
        builder().write_clip(&mut s, &c, 1_627_494_800_000, "m", "e");
        let v: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["videoPath"], "");
        assert_eq!(v["@timestamp"], "2021-07-28T17:53:20.000Z");
        let a = &v["object"]["Clip"];
        assert_eq!(a["start"], "");
        assert_eq!(a["end"], "");
        assert_eq!(a["fileKept"], false);
        assert_eq!(a["error"], "No space left on device");
    }
}
