//! Tests of the DeepStream payloads (`super`): the full and minimal schemas against
//! DeepStream's examples, keys, boxes, track events and classification attributes.

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
