//! Schema checks shared by tests/rsmsgbroker.rs and tests/rsmsgbroker_kafka.rs: every field
//! of REFERENCE.md section 3 present with its JSON type.
#![allow(dead_code)]

use serde_json::Value;

/// Asserts every field of REFERENCE.md section 3's full schema is present with its type.
pub fn check_full_schema(m: &Value) {
    check_document(m);
    assert!(
        ["entry", "exit", "moving", "stopped", "parked", "empty", "reset"]
            .contains(&m["event"]["type"].as_str().unwrap()),
        "event.type"
    );
    assert_eq!(m["videoPath"], "");
}

/// Asserts a finished clip's message has every field of the full schema, `event.type`
/// `custom`, a `videoPath` and the typed attributes of its `Clip` object.
pub fn check_clip_schema(m: &Value) {
    check_document(m);
    assert_eq!(m["event"]["type"], "custom", "{m}");
    assert!(m["videoPath"].is_string(), "{m}");
    let c = &m["object"]["Clip"];
    for k in [
        "sensorId",
        "filename",
        "dirpath",
        "container",
        "codec",
        "start",
        "end",
        "requestedStart",
        "reason",
    ] {
        assert!(c[k].is_string(), "Clip.{k} not a string in {m}");
    }
    for k in [
        "sessionId",
        "width",
        "height",
        "duration",
        "frames",
        "bytes",
    ] {
        assert!(c[k].is_u64(), "Clip.{k} not an integer in {m}");
    }
    for k in [
        "containsVideo",
        "containsAudio",
        "startTruncated",
        "complete",
        "fileKept",
    ] {
        assert!(c[k].is_boolean(), "Clip.{k} not a boolean in {m}");
    }
}

/// The members common to every full-schema document (all but `event.type`, `videoPath`).
fn check_document(m: &Value) {
    let s = |v: &Value, what: &str| assert!(v.is_string(), "{what} not a string in {m}");
    let f = |v: &Value, what: &str| assert!(v.is_f64(), "{what} not a double in {m}");
    let i = |v: &Value, what: &str| assert!(v.is_i64(), "{what} not an integer in {m}");
    let uuid = |v: &Value, what: &str| {
        let t = v
            .as_str()
            .unwrap_or_else(|| panic!("{what} missing in {m}"));
        let u = uuid::Uuid::parse_str(t).unwrap_or_else(|_| panic!("{what} {t} not a uuid"));
        assert_eq!(u.get_version_num(), 4, "{what} not uuid4");
    };
    uuid(&m["messageid"], "messageid");
    assert_eq!(m["mdsversion"], "1.0");
    let ts = m["@timestamp"].as_str().expect("@timestamp");
    assert_eq!(ts.len(), 24, "{ts}");
    assert!(
        ts.ends_with('Z') && &ts[10..11] == "T" && &ts[19..20] == ".",
        "{ts}"
    );
    let loc = |v: &Value, what: &str| {
        for k in ["lat", "lon", "alt"] {
            f(&v[k], &format!("{what}.{k}"));
        }
    };
    let coord = |v: &Value, what: &str| {
        for k in ["x", "y", "z"] {
            f(&v[k], &format!("{what}.{k}"));
        }
    };
    let p = &m["place"];
    for k in ["id", "name", "type"] {
        s(&p[k], &format!("place.{k}"));
    }
    loc(&p["location"], "place.location");
    let sub = ["entrance", "aisle", "parkingSpot"]
        .iter()
        .filter(|k| p.get(**k).is_some())
        .collect::<Vec<_>>();
    assert_eq!(sub.len(), 1, "place sub-object in {m}");
    coord(&p[*sub[0]]["coordinate"], "place.sub.coordinate");
    let sn = &m["sensor"];
    for k in ["id", "type", "description"] {
        s(&sn[k], &format!("sensor.{k}"));
    }
    loc(&sn["location"], "sensor.location");
    coord(&sn["coordinate"], "sensor.coordinate");
    for k in ["id", "description", "source", "version"] {
        s(&m["analyticsModule"][k], &format!("analyticsModule.{k}"));
    }
    let o = &m["object"];
    s(&o["id"], "object.id");
    for k in ["speed", "direction", "orientation"] {
        f(&o[k], &format!("object.{k}"));
    }
    for k in ["topleftx", "toplefty", "bottomrightx", "bottomrighty"] {
        i(&o["bbox"][k], &format!("object.bbox.{k}"));
    }
    loc(&o["location"], "object.location");
    coord(&o["coordinate"], "object.coordinate");
    let typed = o
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, v)| {
            v.is_object()
                && !["bbox", "location", "coordinate"].contains(&k.as_str())
                && k.chars().next().unwrap().is_uppercase()
        })
        .count();
    assert_eq!(typed, 1, "object type member in {m}");
    uuid(&m["event"]["id"], "event.id");
}

/// Every field of the minimal schema; returns the objects split into their fields.
pub fn check_minimal_schema(m: &Value) -> Vec<Vec<String>> {
    assert_eq!(m["version"], "4.0");
    m["id"]
        .as_str()
        .expect("id")
        .parse::<u64>()
        .expect("id is a frame number");
    assert_eq!(m["@timestamp"].as_str().expect("@timestamp").len(), 24);
    assert!(m["sensorId"].is_string());
    m["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .map(|o| {
            let parts: Vec<String> = o
                .as_str()
                .expect("object string")
                .split('|')
                .map(str::to_string)
                .collect();
            assert!(parts.len() >= 6, "{o}");
            for p in &parts[1..5] {
                p.parse::<i64>().expect("integer box edge");
            }
            parts
        })
        .collect()
}
