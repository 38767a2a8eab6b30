//! DeepStream payloads: the full schema (one document per object) and the minimal schema
//! (one document per frame), field for field as REFERENCE.md section 3.

use std::fmt::Write;

use crate::utc::write_iso8601 as write_timestamp;

use super::config::{Analytics, Place, Sensor};

/// One object of a frame, as it goes into a payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// Bounding box in source-frame pixels (integers, right/bottom exclusive edges).
    pub left: i64,
    pub top: i64,
    pub right: i64,
    pub bottom: i64,
    /// Class label as the detector names it.
    pub label: String,
    /// Track id, when a tracker assigned one.
    pub track_id: Option<u64>,
    /// Confidence in 0..1.
    pub confidence: f64,
    /// `object.speed`: a tracker's speed estimate in pixels per second (`0.0` when unset).
    pub speed: Option<f64>,
    /// `object.direction`: the direction of motion in degrees, 0 = +x, 90 = +y (down the
    /// image) (`0.0` when unset).
    pub direction: Option<f64>,
    /// Classification results: (attribute name, label, confidence), as DeepStream's
    /// `classifier-type` keys.
    pub attributes: Vec<(String, String, f64)>,
}

impl Object {
    /// The object of a detection in a `frame_width` x `frame_height` frame: the box rounded
    /// to whole pixels and clipped to the frame.
    pub fn from_detection(
        det: &crate::detection::Detection,
        frame_width: u32,
        frame_height: u32,
    ) -> Self {
        let (x, y, w, h) = if frame_width > 0 && frame_height > 0 {
            det.pixel_rect(frame_width, frame_height)
        } else {
            // Unknown frame size: round without clipping.
            let x0 = det.x.round().max(0.0);
            let y0 = det.y.round().max(0.0);
            (
                x0 as u32,
                y0 as u32,
                (det.x_max().round() - x0).max(0.0) as u32,
                (det.y_max().round() - y0).max(0.0) as u32,
            )
        };
        Object {
            left: i64::from(x),
            top: i64::from(y),
            right: i64::from(x) + i64::from(w),
            bottom: i64::from(y) + i64::from(h),
            label: det.label.clone(),
            track_id: det.track_id,
            confidence: det.confidence,
            speed: None,
            direction: None,
            attributes: det
                .attributes
                .iter()
                .map(|a| (a.name.clone(), a.label.clone(), a.confidence))
                .collect(),
        }
    }

    /// The object of a tracker's lifecycle event in a `frame_width` x `frame_height` frame:
    /// its track id, label and box (rounded and clipped as [`Object::from_detection`]), with
    /// the track's speed and direction.
    pub fn from_track_event(
        ev: &crate::detection::TrackEvent,
        frame_width: u32,
        frame_height: u32,
    ) -> Self {
        let det = crate::detection::Detection {
            x: ev.x,
            y: ev.y,
            width: ev.width,
            height: ev.height,
            confidence: ev.confidence,
            label_id: ev.label_id,
            label: ev.label.clone(),
            track_id: Some(ev.track_id),
            tracking: None,
            attributes: Vec::new(),
        };
        Object {
            speed: Some(ev.speed()),
            direction: Some(ev.direction()),
            ..Object::from_detection(&det, frame_width, frame_height)
        }
    }

    /// `object.id` / the minimal schema's tracking id: the track id, or `-1` untracked.
    pub fn id_string(&self) -> String {
        match self.track_id {
            Some(id) => id.to_string(),
            None => "-1".to_string(),
        }
    }
}

/// What the frame contributes to a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// Frame number in the stream, from 0.
    pub number: u64,
    /// Capture time, milliseconds since the Unix epoch (UTC).
    pub timestamp_ms: i64,
}

/// DeepStream event types.
pub const EVENT_TYPES: [&str; 7] = [
    "entry", "exit", "moving", "stopped", "parked", "empty", "reset",
];

/// The constant part of every payload: sensor, place, analytics module, event type.
#[derive(Debug, Clone, Default)]
pub struct PayloadBuilder {
    pub sensor: Sensor,
    pub place: Place,
    pub analytics: Analytics,
    /// `event.type`, one of [`EVENT_TYPES`].
    pub event_type: String,
    /// Adds `object.confidence` (full) / `|#|confidence` (minimal).
    pub include_confidence: bool,
}

/// Formats Unix milliseconds as DeepStream does: `2021-07-28T17:53:19.339Z`.
pub use crate::utc::format_iso8601 as format_timestamp;

/// Appends `s` as a JSON string literal.
pub(super) fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends a JSON number for a double, always with a fraction or exponent as json-glib
/// writes them (`0.0`, `45.293701447`); non-finite values become `0.0`.
pub(super) fn write_f64(out: &mut String, v: f64) {
    if v.is_finite() {
        let _ = write!(out, "{v:?}");
    } else {
        out.push_str("0.0");
    }
}

fn write_location(out: &mut String, l: &super::config::Location) {
    out.push_str("{\"lat\":");
    write_f64(out, l.lat);
    out.push_str(",\"lon\":");
    write_f64(out, l.lon);
    out.push_str(",\"alt\":");
    write_f64(out, l.alt);
    out.push('}');
}

fn write_coordinate(out: &mut String, c: &super::config::Coordinate) {
    out.push_str("{\"x\":");
    write_f64(out, c.x);
    out.push_str(",\"y\":");
    write_f64(out, c.y);
    out.push_str(",\"z\":");
    write_f64(out, c.z);
    out.push('}');
}

/// The full schema's object type member: the label with its first letter upper-cased, as
/// DeepStream names its types (`Person`, `Car`, `Vehicle`).
pub fn type_name(label: &str) -> String {
    let mut c = label.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => "Unknown".to_string(),
    }
}

impl PayloadBuilder {
    /// The sensor id (`sensor.id` / `sensorId`).
    pub fn sensor_id(&self) -> &str {
        &self.sensor.id
    }

    /// Appends one full-schema document for `obj` (DeepStream's PAYLOAD_DEEPSTREAM) to `out`,
    /// with the builder's `event_type`. `message_id` and `event_id` are uuid4 strings.
    pub fn write_full(
        &self,
        out: &mut String,
        frame: &Frame,
        obj: &Object,
        message_id: &str,
        event_id: &str,
    ) {
        self.write_full_with_event(out, frame, obj, &self.event_type, message_id, event_id);
    }

    /// [`PayloadBuilder::write_full`] with `event_type` (one of [`EVENT_TYPES`]) as
    /// `event.type`, e.g. a tracker's event for this object.
    pub fn write_full_with_event(
        &self,
        out: &mut String,
        frame: &Frame,
        obj: &Object,
        event_type: &str,
        message_id: &str,
        event_id: &str,
    ) {
        self.write_head(out, frame.timestamp_ms, message_id);
        self.write_object_of(out, obj);
        write_tail(out, event_id, event_type, "");
    }

    /// The full schema's `object` member of `obj`: as DeepStream's newapi full schema, the
    /// classifiers' labels keyed by their type, with the object's confidence, inside the
    /// type member; `object.confidence` when `include_confidence`.
    pub(super) fn write_object_of(&self, out: &mut String, obj: &Object) {
        let confidence = self.include_confidence.then_some(obj.confidence);
        let mut members = String::new();
        if !obj.attributes.is_empty() {
            members.push_str("\"confidence\":");
            write_f64(&mut members, obj.confidence);
            for (name, label, _) in &obj.attributes {
                members.push(',');
                write_str(&mut members, name);
                members.push(':');
                write_str(&mut members, label);
            }
        }
        write_object(out, obj, &members, confidence);
    }

    /// The start of a full-schema document: `messageid` to `analyticsModule`, with
    /// `@timestamp` at `timestamp_ms`.
    pub(super) fn write_head(&self, out: &mut String, timestamp_ms: i64, message_id: &str) {
        self.write_head_with_place(out, timestamp_ms, message_id, &self.place);
    }

    /// [`PayloadBuilder::write_head`] with `place` instead of the builder's.
    pub(super) fn write_head_with_place(
        &self,
        out: &mut String,
        timestamp_ms: i64,
        message_id: &str,
        place: &Place,
    ) {
        out.push_str("{\"messageid\":");
        write_str(out, message_id);
        out.push_str(",\"mdsversion\":\"1.0\",\"@timestamp\":\"");
        write_timestamp(out, timestamp_ms);
        out.push('"');

        let p = place;
        out.push_str(",\"place\":{\"id\":");
        write_str(out, &p.id);
        out.push_str(",\"name\":");
        write_str(out, &p.name);
        out.push_str(",\"type\":");
        write_str(out, &p.kind);
        out.push_str(",\"location\":");
        write_location(out, &p.location);
        out.push_str(",\"");
        out.push_str(p.sub_object.json_name());
        out.push_str("\":{");
        for (i, (name, value)) in p
            .sub_object
            .field_names()
            .iter()
            .zip(p.sub_fields.iter())
            .enumerate()
        {
            if i > 0 {
                out.push(',');
            }
            write_str(out, name);
            out.push(':');
            write_str(out, value);
        }
        out.push_str(",\"coordinate\":");
        write_coordinate(out, &p.coordinate);
        out.push_str("}}");

        let s = &self.sensor;
        out.push_str(",\"sensor\":{\"id\":");
        write_str(out, &s.id);
        out.push_str(",\"type\":");
        write_str(out, &s.kind);
        out.push_str(",\"description\":");
        write_str(out, &s.description);
        out.push_str(",\"location\":");
        write_location(out, &s.location);
        out.push_str(",\"coordinate\":");
        write_coordinate(out, &s.coordinate);
        out.push('}');

        let a = &self.analytics;
        out.push_str(",\"analyticsModule\":{\"id\":");
        write_str(out, &a.id);
        out.push_str(",\"description\":");
        write_str(out, &a.description);
        out.push_str(",\"source\":");
        write_str(out, &a.source);
        out.push_str(",\"version\":");
        write_str(out, &a.version);
        out.push('}');
    }

    /// Appends one minimal-schema document for a frame's `objects` (DeepStream's
    /// PAYLOAD_DEEPSTREAM_MINIMAL) to `out`.
    pub fn write_minimal(&self, out: &mut String, frame: &Frame, objects: &[Object]) {
        self.write_minimal_with(out, frame, objects, "");
    }

    /// [`PayloadBuilder::write_minimal`] with `extra` (members, each starting with a comma,
    /// e.g. `,"analytics":{...}`) after `objects`.
    pub fn write_minimal_with(
        &self,
        out: &mut String,
        frame: &Frame,
        objects: &[Object],
        extra: &str,
    ) {
        let _ = write!(out, "{{\"version\":\"4.0\",\"id\":\"{}\"", frame.number);
        out.push_str(",\"@timestamp\":\"");
        write_timestamp(out, frame.timestamp_ms);
        out.push_str("\",\"sensorId\":");
        write_str(out, &self.sensor.id);
        out.push_str(",\"objects\":[");
        let mut item = String::new();
        for (i, o) in objects.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            item.clear();
            let _ = write!(
                item,
                "{}|{}|{}|{}|{}|{}",
                o.id_string(),
                o.left,
                o.top,
                o.right,
                o.bottom,
                o.label
            );
            // DeepStream's minimal form: `|#|` then the classifiers' labels and the
            // confidence.
            if !o.attributes.is_empty() {
                item.push_str("|#|");
                for (_, label, _) in &o.attributes {
                    item.push_str(label);
                    item.push('|');
                }
                write_f64(&mut item, o.confidence);
            } else if self.include_confidence {
                item.push_str("|#|");
                write_f64(&mut item, o.confidence);
            }
            write_str(out, &item);
        }
        out.push(']');
        out.push_str(extra);
        out.push('}');
    }
}

/// The full schema's `object`: `obj`'s id, speed, direction, box and its type member (the
/// label with a capital) holding `attributes` (the members of a JSON object, or nothing),
/// plus `confidence` when given.
pub(super) fn write_object(
    out: &mut String,
    obj: &Object,
    attributes: &str,
    confidence: Option<f64>,
) {
    out.push_str(",\"object\":{\"id\":");
    write_str(out, &obj.id_string());
    out.push_str(",\"speed\":");
    write_f64(out, obj.speed.unwrap_or(0.0));
    out.push_str(",\"direction\":");
    write_f64(out, obj.direction.unwrap_or(0.0));
    out.push_str(",\"orientation\":0.0,");
    write_str(out, &type_name(&obj.label));
    out.push_str(":{");
    out.push_str(attributes);
    out.push('}');
    if let Some(c) = confidence {
        out.push_str(",\"confidence\":");
        write_f64(out, c);
    }
    let _ = write!(
        out,
        ",\"bbox\":{{\"topleftx\":{},\"toplefty\":{},\"bottomrightx\":{},\"bottomrighty\":{}}}",
        obj.left, obj.top, obj.right, obj.bottom
    );
    out.push_str(
        ",\"location\":{\"lat\":0.0,\"lon\":0.0,\"alt\":0.0},\"coordinate\":{\"x\":0.0,\"y\":0.0,\"z\":0.0}}",
    );
}

/// The end of a full-schema document: `event` (`event_id`, `event_type`) and `videoPath`.
pub(super) fn write_tail(out: &mut String, event_id: &str, event_type: &str, video_path: &str) {
    write_tail_with(out, event_id, event_type, video_path, "");
}

/// [`write_tail`] with `extra` (members, each starting with a comma) after `videoPath`.
pub(super) fn write_tail_with(
    out: &mut String,
    event_id: &str,
    event_type: &str,
    video_path: &str,
    extra: &str,
) {
    out.push_str(",\"event\":{\"id\":");
    write_str(out, event_id);
    out.push_str(",\"type\":");
    write_str(out, event_type);
    out.push_str("},\"videoPath\":");
    write_str(out, video_path);
    out.push_str(extra);
    out.push('}');
}

/// Where the message key comes from: a dotted JSON path into the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyPath {
    /// No key.
    None,
    /// `sensor.id` (full) / `sensorId` (minimal; both spellings are understood for either).
    SensorId,
    /// `object.id` (full schema).
    ObjectId,
    /// Any other path, looked up in the payload.
    Path(Vec<String>),
}

impl KeyPath {
    /// Parses a dotted path; empty means no key.
    pub fn parse(path: &str) -> KeyPath {
        match path.trim() {
            "" => KeyPath::None,
            "sensor.id" | "sensorId" => KeyPath::SensorId,
            "object.id" => KeyPath::ObjectId,
            p => KeyPath::Path(p.split('.').map(str::to_string).collect()),
        }
    }

    /// The key of a message: `payload` is the document, `object` the object of a
    /// full-schema message. Strings are used as they are, other JSON values as their JSON
    /// text; `None` when the path does not exist.
    pub fn key(
        &self,
        builder: &PayloadBuilder,
        object: Option<&Object>,
        payload: &str,
    ) -> Option<String> {
        match self {
            KeyPath::None => None,
            KeyPath::SensorId => Some(builder.sensor.id.clone()),
            KeyPath::ObjectId => match object {
                Some(o) => Some(o.id_string()),
                None => lookup(payload, &["object".to_string(), "id".to_string()]),
            },
            KeyPath::Path(p) => lookup(payload, p),
        }
    }
}

fn lookup(payload: &str, path: &[String]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(payload).ok()?;
    let mut cur = &v;
    for part in path {
        cur = match cur {
            serde_json::Value::Object(m) => m.get(part)?,
            serde_json::Value::Array(a) => a.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    match cur {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
#[path = "payload_tests.rs"]
mod tests;
