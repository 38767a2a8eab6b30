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
fn write_f64(out: &mut String, v: f64) {
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
        let confidence = self.include_confidence.then_some(obj.confidence);
        // As DeepStream's newapi full schema: the classifiers' labels keyed by their type,
        // with the object's confidence, inside the type member.
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
        write_tail(out, event_id, event_type, "");
    }

    /// The start of a full-schema document: `messageid` to `analyticsModule`, with
    /// `@timestamp` at `timestamp_ms`.
    pub(super) fn write_head(&self, out: &mut String, timestamp_ms: i64, message_id: &str) {
        out.push_str("{\"messageid\":");
        write_str(out, message_id);
        out.push_str(",\"mdsversion\":\"1.0\",\"@timestamp\":\"");
        write_timestamp(out, timestamp_ms);
        out.push('"');

        let p = &self.place;
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
        out.push_str("]}");
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
    out.push_str(",\"event\":{\"id\":");
    write_str(out, event_id);
    out.push_str(",\"type\":");
    write_str(out, event_type);
    out.push_str("},\"videoPath\":");
    write_str(out, video_path);
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
mod tests {
    use super::super::config::{MsgConvConfig, PlaceSubObject};
    use super::*;
    use serde_json::{json, Value};

    const SAMPLE: &str = "[sensor0]\nenable=1\ntype=Camera\nid=HWY_20_AND_LOCUST__EBA__4_11_2018_4_59_59_508_AM_UTC-07_00\nlocation=45.293701447;-75.8303914499;48.1557479338\ndescription=Aisle Camera\ncoordinate=5.2;10.1;11.2\n\n[place0]\nenable=1\nid=0\ntype=intersection/road\nname=HWY_20_AND_LOCUST__EBA\nlocation=30.32;-40.55;100.0\ncoordinate=1.0;2.0;3.0\nplace-sub-field1=C_127_158\nplace-sub-field2=Lane 1\nplace-sub-field3=P1\n\n[analytics0]\nenable=1\nid=XYZ_1\ndescription=Vehicle Detection and License Plate Recognition\nsource=OpenALR\nversion=1.0\n";

    fn builder() -> PayloadBuilder {
        let c = MsgConvConfig::parse(SAMPLE).unwrap();
        PayloadBuilder {
            sensor: c.sensors[&0].clone(),
            place: c.places[&0].clone(),
            analytics: c.analytics[&0].clone(),
            event_type: "entry".into(),
            include_confidence: false,
        }
    }

    fn person() -> Object {
        Object {
            left: 251,
            top: 315,
            right: 317,
            bottom: 512,
            label: "person".into(),
            track_id: Some(13103),
            confidence: 0.5,
            speed: None,
            direction: None,
            attributes: Vec::new(),
        }
    }

    #[test]
    fn timestamps() {
        assert_eq!(format_timestamp(0), "1970-01-01T00:00:00.000Z");
        // date -u -d @1627494799.339
        assert_eq!(
            format_timestamp(1_627_494_799_339),
            "2021-07-28T17:53:19.339Z"
        );
        assert_eq!(
            format_timestamp(951_782_400_007),
            "2000-02-29T00:00:00.007Z"
        );
        assert_eq!(format_timestamp(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(
            format_timestamp(4_102_444_800_000),
            "2100-01-01T00:00:00.000Z"
        );
    }

    /// The full document equals the DeepStream 5.1 consumer output of seeds/003 (apart from
    /// the ids and time, which are per message).
    #[test]
    fn full_matches_deepstream_example() {
        let mut s = String::new();
        let frame = Frame {
            number: 7,
            timestamp_ms: 1_627_494_799_339,
        };
        builder().write_full(
            &mut s,
            &frame,
            &person(),
            "c332e7f2-e4a1-4913-94ec-4573a134e2f8",
            "332e71a4-0281-40fa-be86-d91f71095594",
        );
        let got: Value = serde_json::from_str(&s).unwrap();
        let want = json!({"messageid": "c332e7f2-e4a1-4913-94ec-4573a134e2f8", "mdsversion": "1.0", "@timestamp": "2021-07-28T17:53:19.339Z", "place": {"id": "0", "name": "HWY_20_AND_LOCUST__EBA", "type": "intersection/road", "location": {"lat": 30.32, "lon": -40.55, "alt": 100.0}, "entrance": {"name": "C_127_158", "lane": "Lane 1", "level": "P1", "coordinate": {"x": 1.0, "y": 2.0, "z": 3.0}}}, "sensor": {"id": "HWY_20_AND_LOCUST__EBA__4_11_2018_4_59_59_508_AM_UTC-07_00", "type": "Camera", "description": "Aisle Camera", "location": {"lat": 45.293701447, "lon": -75.8303914499, "alt": 48.1557479338}, "coordinate": {"x": 5.2, "y": 10.1, "z": 11.2}}, "analyticsModule": {"id": "XYZ_1", "description": "Vehicle Detection and License Plate Recognition", "source": "OpenALR", "version": "1.0"}, "object": {"id": "13103", "speed": 0.0, "direction": 0.0, "orientation": 0.0, "Person": {}, "bbox": {"topleftx": 251, "toplefty": 315, "bottomrightx": 317, "bottomrighty": 512}, "location": {"lat": 0.0, "lon": 0.0, "alt": 0.0}, "coordinate": {"x": 0.0, "y": 0.0, "z": 0.0}}, "event": {"id": "332e71a4-0281-40fa-be86-d91f71095594", "type": "entry"}, "videoPath": ""});
        assert_eq!(got, want);
        // bbox values are JSON integers, doubles keep a fraction.
        assert!(s.contains("\"topleftx\":251,"));
        assert!(s.contains("\"alt\":100.0"));
    }

    #[test]
    fn full_options() {
        let mut b = builder();
        b.include_confidence = true;
        b.place.sub_object = PlaceSubObject::ParkingSpot;
        let mut o = person();
        o.track_id = None;
        o.label = "weird \"label\"\n".into();
        let mut s = String::new();
        b.write_full(
            &mut s,
            &Frame {
                number: 0,
                timestamp_ms: 0,
            },
            &o,
            "m",
            "e",
        );
        let v: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["object"]["id"], "-1");
        assert_eq!(v["object"]["confidence"], 0.5);
        assert!(v["object"]["Weird \"label\"\n"].is_object());
        assert_eq!(v["place"]["parkingSpot"]["id"], "C_127_158");
        assert_eq!(v["place"]["parkingSpot"]["type"], "Lane 1");
    }

    #[test]
    fn minimal_schema() {
        let mut b = builder();
        let mut car = person();
        car.label = "Car".into();
        car.track_id = None;
        let mut s = String::new();
        let f = Frame {
            number: 42,
            timestamp_ms: 1_627_494_799_339,
        };
        b.write_minimal(&mut s, &f, &[person(), car.clone()]);
        let v: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(
            v,
            json!({"version": "4.0", "id": "42", "@timestamp": "2021-07-28T17:53:19.339Z",
                   "sensorId": "HWY_20_AND_LOCUST__EBA__4_11_2018_4_59_59_508_AM_UTC-07_00",
                   "objects": ["13103|251|315|317|512|person", "-1|251|315|317|512|Car"]})
        );
        b.include_confidence = true;
        s.clear();
        b.write_minimal(&mut s, &f, &[car]);
        let v: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["objects"][0], "-1|251|315|317|512|Car|#|0.5");
        s.clear();
        b.write_minimal(&mut s, &f, &[]);
        assert_eq!(
            serde_json::from_str::<Value>(&s).unwrap()["objects"],
            json!([])
        );
    }

    #[test]
    fn classification_attributes_in_both_schemas() {
        let mut b = builder();
        let mut car = person();
        car.label = "car".into();
        car.attributes = vec![
            ("color".into(), "red".into(), 0.9),
            ("make".into(), "bmw".into(), 0.6),
        ];
        let f = Frame {
            number: 1,
            timestamp_ms: 0,
        };
        let mut s = String::new();
        b.write_minimal(&mut s, &f, &[car.clone()]);
        let v: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["objects"][0], "13103|251|315|317|512|car|#|red|bmw|0.5");
        s.clear();
        b.write_full(&mut s, &f, &car, "m", "e");
        let v: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(
            v["object"]["Car"],
            json!({"confidence": 0.5, "color": "red", "make": "bmw"})
        );
        b.include_confidence = true;
        s.clear();
        b.write_minimal(&mut s, &f, &[car]);
        let v: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(
            v["objects"][0], "13103|251|315|317|512|car|#|red|bmw|0.5",
            "the confidence once"
        );
    }

    #[test]
    fn keys() {
        let b = builder();
        let o = person();
        let mut full = String::new();
        b.write_full(
            &mut full,
            &Frame {
                number: 1,
                timestamp_ms: 5,
            },
            &o,
            "m",
            "e",
        );
        let sid = "HWY_20_AND_LOCUST__EBA__4_11_2018_4_59_59_508_AM_UTC-07_00";
        assert_eq!(
            KeyPath::parse("sensor.id")
                .key(&b, Some(&o), &full)
                .as_deref(),
            Some(sid)
        );
        assert_eq!(
            KeyPath::parse("sensorId").key(&b, None, "{}").as_deref(),
            Some(sid)
        );
        assert_eq!(
            KeyPath::parse("object.id")
                .key(&b, Some(&o), &full)
                .as_deref(),
            Some("13103")
        );
        assert_eq!(
            KeyPath::parse("place.name")
                .key(&b, Some(&o), &full)
                .as_deref(),
            Some("HWY_20_AND_LOCUST__EBA")
        );
        assert_eq!(
            KeyPath::parse("object.bbox.topleftx")
                .key(&b, Some(&o), &full)
                .as_deref(),
            Some("251")
        );
        assert_eq!(KeyPath::parse("no.such").key(&b, Some(&o), &full), None);
        assert_eq!(KeyPath::parse("").key(&b, Some(&o), &full), None);
        let mut min = String::new();
        b.write_minimal(
            &mut min,
            &Frame {
                number: 9,
                timestamp_ms: 5,
            },
            &[o],
        );
        assert_eq!(
            KeyPath::parse("id").key(&b, None, &min).as_deref(),
            Some("9")
        );
        assert_eq!(
            KeyPath::parse("objects.0").key(&b, None, &min).as_deref(),
            Some("13103|251|315|317|512|person")
        );
    }

    #[test]
    fn boxes_from_detections() {
        let d = crate::detection::Detection {
            x: 10.4,
            y: -3.0,
            width: 100.2,
            height: 50.0,
            confidence: 0.9,
            label_id: 1,
            label: "circle".into(),
            track_id: Some(3),
            tracking: None,
            attributes: Vec::new(),
        };
        let o = Object::from_detection(&d, 100, 480);
        assert_eq!((o.left, o.top, o.right, o.bottom), (10, 0, 100, 47));
        let o = Object::from_detection(&d, 0, 0);
        assert_eq!((o.left, o.top, o.right, o.bottom), (10, 0, 111, 47));
    }
    fn track_event() -> crate::detection::TrackEvent {
        crate::detection::TrackEvent {
            track_id: 42,
            event: "moving".into(),
            reason: String::new(),
            label: "car".into(),
            label_id: 2,
            // Crosses the right and top edges of a 640x480 frame.
            x: 630.6,
            y: -2.4,
            width: 20.0,
            height: 50.2,
            confidence: 0.7,
            pts: Some(1_000_000_000),
            running_time: Some(1_000_000_000),
            first_seen: Some(0),
            last_seen: Some(1_000_000_000),
            hits: 12,
            // 3-4-5 triangle: 50 px/s, up and to the left.
            velocity: (-30.0, -40.0),
        }
    }

    /// A track event's message: every field, with the event as event.type, the track id as
    /// object.id, the clipped integer box and the track's speed and direction.
    #[test]
    fn full_document_of_a_track_event() {
        let mut b = builder();
        b.include_confidence = true;
        b.event_type = "entry".into();
        let o = Object::from_track_event(&track_event(), 640, 480);
        assert_eq!((o.left, o.top, o.right, o.bottom), (631, 0, 640, 48));
        let mut s = String::new();
        b.write_full_with_event(
            &mut s,
            &Frame {
                number: 3,
                timestamp_ms: 1_627_494_799_339,
            },
            &o,
            "moving",
            "m-1",
            "e-1",
        );
        let mut got: Value = serde_json::from_str(&s).unwrap();
        // atan2(-40, -30) = -126.87 degrees, i.e. 233.13 in 0..360 (0 = +x, 90 = down).
        let direction = got["object"]["direction"].as_f64().unwrap();
        assert!(
            (direction - (180.0 + (40.0f64 / 30.0).atan().to_degrees())).abs() < 1e-9,
            "{direction}"
        );
        got["object"]["direction"] = json!(0.0);
        let want = json!({"messageid": "m-1", "mdsversion": "1.0", "@timestamp": "2021-07-28T17:53:19.339Z", "place": {"id": "0", "name": "HWY_20_AND_LOCUST__EBA", "type": "intersection/road", "location": {"lat": 30.32, "lon": -40.55, "alt": 100.0}, "entrance": {"name": "C_127_158", "lane": "Lane 1", "level": "P1", "coordinate": {"x": 1.0, "y": 2.0, "z": 3.0}}}, "sensor": {"id": "HWY_20_AND_LOCUST__EBA__4_11_2018_4_59_59_508_AM_UTC-07_00", "type": "Camera", "description": "Aisle Camera", "location": {"lat": 45.293701447, "lon": -75.8303914499, "alt": 48.1557479338}, "coordinate": {"x": 5.2, "y": 10.1, "z": 11.2}}, "analyticsModule": {"id": "XYZ_1", "description": "Vehicle Detection and License Plate Recognition", "source": "OpenALR", "version": "1.0"}, "object": {"id": "42", "speed": 50.0, "direction": 0.0, "orientation": 0.0, "Car": {}, "confidence": 0.7, "bbox": {"topleftx": 631, "toplefty": 0, "bottomrightx": 640, "bottomrighty": 48}, "location": {"lat": 0.0, "lon": 0.0, "alt": 0.0}, "coordinate": {"x": 0.0, "y": 0.0, "z": 0.0}}, "event": {"id": "e-1", "type": "moving"}, "videoPath": ""});
        assert_eq!(got, want);
        // Speed and direction are JSON doubles, the box integers.
        assert!(s.contains("\"speed\":50.0,"), "{s}");
        assert!(s.contains("\"topleftx\":631,"), "{s}");
        // The builder's own event type is untouched and still used by write_full.
        s.clear();
        b.write_full(
            &mut s,
            &Frame {
                number: 3,
                timestamp_ms: 0,
            },
            &o,
            "m",
            "e",
        );
        let v: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["event"]["type"], "entry");
        assert_eq!(v["object"]["speed"], 50.0);
    }

    #[test]
    fn track_event_objects() {
        let mut ev = track_event();
        // Unknown frame size: rounded, not clipped (negative edges to 0 as for detections).
        let o = Object::from_track_event(&ev, 0, 0);
        assert_eq!((o.left, o.top, o.right, o.bottom), (631, 0, 651, 48));
        assert_eq!(o.track_id, Some(42));
        assert_eq!(o.id_string(), "42");
        assert_eq!(o.label, "car");
        assert_eq!(o.confidence, 0.7);
        assert_eq!(o.speed, Some(50.0));
        // Still: speed and direction 0, written as 0.0.
        ev.velocity = (0.0, 0.0);
        let o = Object::from_track_event(&ev, 640, 480);
        assert_eq!((o.speed, o.direction), (Some(0.0), Some(0.0)));
        let mut s = String::new();
        builder().write_full_with_event(
            &mut s,
            &Frame {
                number: 0,
                timestamp_ms: 0,
            },
            &o,
            "stopped",
            "m",
            "e",
        );
        assert!(s.contains("\"speed\":0.0,\"direction\":0.0,"), "{s}");
        // Straight down the image: 90 degrees.
        ev.velocity = (0.0, 12.5);
        let o = Object::from_track_event(&ev, 640, 480);
        assert_eq!((o.speed, o.direction), (Some(12.5), Some(90.0)));
        // Detections carry no speed: frames mode writes 0.0 as DeepStream does.
        let d = crate::detection::Detection {
            x: 1.0,
            y: 1.0,
            width: 2.0,
            height: 2.0,
            confidence: 0.9,
            label_id: 0,
            label: "person".into(),
            track_id: Some(1),
            tracking: Some(crate::detection::TrackInfo {
                velocity: (3.0, 4.0),
                ..Default::default()
            }),
            attributes: Vec::new(),
        };
        let o = Object::from_detection(&d, 640, 480);
        assert_eq!((o.speed, o.direction), (None, None));
    }
}
