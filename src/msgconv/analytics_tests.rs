//! Tests of the analytics payloads (`super`): every event kind's full-schema document, the
//! place rule, and the minimal schema's counts, parsed back with serde_json.

use super::super::config::MsgConvConfig;
use super::*;
use serde_json::{json, Value};

const CONFIG: &str = "[sensor0]\nenable=1\ntype=Camera\nid=cam0\nlocation=1.0;2.0;3.0\ndescription=Door camera\ncoordinate=0.0;0.0;0.0\n\n[place0]\nenable=1\nid=7\ntype=building\nname=HQ\nlocation=4.0;5.0;6.0\ncoordinate=1.0;2.0;3.0\nplace-sub-field1=F1\nplace-sub-field2=F2\nplace-sub-field3=F3\n\n[analytics0]\nenable=1\nid=A1\ndescription=Counting\nsource=rsanalytics\nversion=1.0\n";

fn builder() -> PayloadBuilder {
    let c = MsgConvConfig::parse(CONFIG).unwrap();
    PayloadBuilder {
        sensor: c.sensors[&0].clone(),
        place: c.places[&0].clone(),
        analytics: c.analytics[&0].clone(),
        event_type: "parked".into(),
        include_confidence: false,
    }
}

const FRAME: Frame = Frame {
    number: 12,
    timestamp_ms: 1_627_494_799_339,
};

fn person(track: u64) -> Object {
    Object {
        left: 10,
        top: 20,
        right: 50,
        bottom: 100,
        label: "person".into(),
        track_id: Some(track),
        confidence: 0.9,
        speed: Some(30.0),
        direction: Some(90.0),
        attributes: Vec::new(),
    }
}

fn crossing(inward: bool, label: &str) -> AnalyticsEvent {
    AnalyticsEvent {
        kind: EventKind::Crossing {
            line: "door".into(),
            inward,
            in_count: 5,
            out_count: 2,
        },
        track_id: Some(3),
        label: label.into(),
    }
}

fn full(event: &AnalyticsEvent, obj: &Object, status: Option<&ObjectStatus>) -> Value {
    let mut s = String::new();
    builder().write_analytics_event(&mut s, &FRAME, event, obj, status, "m-1", "e-1");
    serde_json::from_str(&s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// The whole document of an inward crossing: DeepStream's members, `event.type` entry, the
/// line in `place.entrance.name` (the other sub-fields kept), the object, the extra member.
#[test]
fn a_crossing_is_an_entry_with_the_line_as_the_entrance() {
    let status = ObjectStatus {
        zones: vec!["hall".into()],
        lines_crossed: vec!["door".into()],
        directions: vec![],
    };
    let got = full(&crossing(true, "person"), &person(3), Some(&status));
    let want = json!({
        "messageid": "m-1", "mdsversion": "1.0", "@timestamp": "2021-07-28T17:53:19.339Z",
        "place": {"id": "7", "name": "HQ", "type": "building",
                  "location": {"lat": 4.0, "lon": 5.0, "alt": 6.0},
                  "entrance": {"name": "door", "lane": "F2", "level": "F3",
                               "coordinate": {"x": 1.0, "y": 2.0, "z": 3.0}}},
        "sensor": {"id": "cam0", "type": "Camera", "description": "Door camera",
                   "location": {"lat": 1.0, "lon": 2.0, "alt": 3.0},
                   "coordinate": {"x": 0.0, "y": 0.0, "z": 0.0}},
        "analyticsModule": {"id": "A1", "description": "Counting", "source": "rsanalytics", "version": "1.0"},
        "object": {"id": "3", "speed": 30.0, "direction": 90.0, "orientation": 0.0, "Person": {},
                   "bbox": {"topleftx": 10, "toplefty": 20, "bottomrightx": 50, "bottomrighty": 100},
                   "location": {"lat": 0.0, "lon": 0.0, "alt": 0.0},
                   "coordinate": {"x": 0.0, "y": 0.0, "z": 0.0}},
        "event": {"id": "e-1", "type": "entry"},
        "videoPath": "",
        "analytics": {"kind": "line", "name": "door", "direction": "in", "in": 5, "out": 2,
                      "roiStatus": ["hall"], "lcStatus": ["door"], "dirStatus": []}
    });
    assert_eq!(got, want);
}

#[test]
fn an_outward_crossing_is_an_exit_and_a_vehicle_names_the_aisle() {
    let mut car = person(3);
    car.label = "Car".into();
    let got = full(&crossing(false, "Car"), &car, None);
    assert_eq!(got["event"]["type"], "exit");
    // aisle: id = place-sub-field1, name = the line, level = place-sub-field3.
    assert_eq!(
        got["place"]["aisle"],
        json!({"id": "F1", "name": "door", "level": "F3", "coordinate": {"x": 1.0, "y": 2.0, "z": 3.0}})
    );
    assert!(got["place"].get("entrance").is_none());
    assert_eq!(
        got["analytics"],
        json!({"kind": "line", "name": "door", "direction": "out", "in": 5, "out": 2})
    );
    assert!(got["object"]["Car"].is_object());
}

#[test]
fn zone_visits_loitering_and_overcrowding() {
    let zone = |entry: bool| AnalyticsEvent {
        kind: EventKind::Zone {
            zone: "room".into(),
            entry,
            dwell_ms: if entry { 0 } else { 1200 },
        },
        track_id: Some(9),
        label: "person".into(),
    };
    let v = full(&zone(true), &person(9), None);
    assert_eq!(v["event"]["type"], "entry");
    assert_eq!(v["place"]["entrance"]["name"], "room");
    assert_eq!(
        v["analytics"],
        json!({"kind": "zone", "name": "room", "event": "entry", "dwellMs": 0})
    );
    // The exit of a track no longer on the frame: its id and label, box 0.
    let ev = zone(false);
    let v = full(&ev, &ev.absent_object(), None);
    assert_eq!(v["event"]["type"], "exit");
    assert_eq!(v["object"]["id"], "9");
    assert!(v["object"]["Person"].is_object());
    assert_eq!(
        v["object"]["bbox"],
        json!({"topleftx": 0, "toplefty": 0, "bottomrightx": 0, "bottomrighty": 0})
    );
    assert_eq!(
        v["analytics"],
        json!({"kind": "zone", "name": "room", "event": "exit", "dwellMs": 1200})
    );

    let loiter = |start: bool| AnalyticsEvent {
        kind: EventKind::Loitering {
            zone: "room".into(),
            start,
            dwell_ms: 10_000,
        },
        track_id: Some(9),
        label: "person".into(),
    };
    for (start, t, e) in [(true, "stopped", "start"), (false, "moving", "end")] {
        let v = full(&loiter(start), &person(9), None);
        assert_eq!(v["event"]["type"], t);
        // DeepStream: moving and stopped name an aisle, also for a person.
        assert_eq!(v["place"]["aisle"]["name"], "room");
        assert_eq!(
            v["analytics"],
            json!({"kind": "loitering", "name": "room", "event": e, "dwellMs": 10000})
        );
    }

    let crowd = AnalyticsEvent {
        kind: EventKind::Overcrowding {
            zone: String::new(),
            start: true,
            count: 6,
        },
        track_id: None,
        label: String::new(),
    };
    let v = full(&crowd, &AnalyticsEvent::crowd_object(), None);
    assert_eq!(v["event"]["type"], "");
    assert_eq!(v["object"]["id"], "-1");
    assert!(v["object"]["Crowd"].is_object());
    assert_eq!(v["place"]["entrance"]["name"], "");
    assert_eq!(
        v["analytics"],
        json!({"kind": "overcrowding", "name": "", "event": "start", "count": 6})
    );
}

#[test]
fn vehicles_for_the_place_rule() {
    for l in ["car", "Car", "TRUCK", "bus", "vehicle", "motorbike"] {
        assert!(is_vehicle(l), "{l}");
    }
    for l in ["person", "bicycle", "", "carpet"] {
        assert!(!is_vehicle(l), "{l}");
    }
}

#[test]
fn attributes_and_names_are_escaped() {
    let mut obj = person(3);
    obj.attributes = vec![("color".into(), "red".into(), 0.8)];
    let mut ev = crossing(true, "person");
    if let EventKind::Crossing { line, .. } = &mut ev.kind {
        *line = "door \"A\"".into();
    }
    let v = full(&ev, &obj, None);
    assert_eq!(
        v["object"]["Person"],
        json!({"confidence": 0.9, "color": "red"})
    );
    assert_eq!(v["place"]["entrance"]["name"], "door \"A\"");
    assert_eq!(v["analytics"]["name"], "door \"A\"");
}

#[test]
fn minimal_counts() {
    let counts = FrameCounts {
        objects: 3,
        class_counts: [(0, 2), (2, 1)].into_iter().collect(),
        overcrowded: true,
        zones: vec![
            ZoneCounts {
                name: "room".into(),
                count: 1,
                entries: 4,
                overcrowded: false,
            },
            ZoneCounts {
                name: "hall".into(),
                count: 2,
                entries: 2,
                overcrowded: true,
            },
        ],
        lines: vec![LineCounts {
            name: "door".into(),
            in_count: 5,
            out_count: 2,
        }],
    };
    let mut s = String::new();
    builder().write_minimal_with_counts(&mut s, &FRAME, &[person(3)], &counts);
    let v: Value = serde_json::from_str(&s).unwrap_or_else(|e| panic!("{s}: {e}"));
    assert_eq!(
        v,
        json!({
            "version": "4.0", "id": "12", "@timestamp": "2021-07-28T17:53:19.339Z",
            "sensorId": "cam0", "objects": ["3|10|20|50|100|person"],
            "analytics": {"objects": 3, "objCnt": {"0": 2, "2": 1}, "overcrowded": true,
                          "objInROIcnt": {"room": 1, "hall": 2},
                          "roiEntryCumCnt": {"room": 4, "hall": 2},
                          "ocStatus": {"room": false, "hall": true},
                          "objLCCumCnt": {"door": {"in": 5, "out": 2}}}
        })
    );
    // No zones, lines or objects: empty maps, still valid JSON.
    let mut s = String::new();
    builder().write_minimal_with_counts(&mut s, &FRAME, &[], &FrameCounts::default());
    let v: Value = serde_json::from_str(&s).unwrap();
    assert_eq!(
        v["analytics"],
        json!({"objects": 0, "objCnt": {}, "overcrowded": false, "objInROIcnt": {},
               "roiEntryCumCnt": {}, "ocStatus": {}, "objLCCumCnt": {}})
    );
    assert_eq!(v["objects"], json!([]));
}
