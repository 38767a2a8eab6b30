//! rsanalytics' results as DeepStream payloads ([`crate::detection::analytics`] is the
//! metadata they come from): one full-schema message per analytics event, and the frame's
//! counts as an `analytics` member of the minimal schema.
//!
//! **Events** (full schema, one document each): the usual members, with
//!
//! | event | `event.type` | place sub-object named after the line / zone |
//! |---|---|---|
//! | crossing `in` | `entry` | `entrance.name`, `aisle.name` for a vehicle |
//! | crossing `out` | `exit` | the same |
//! | zone entry / exit | `entry` / `exit` | the same |
//! | loitering start / end | `stopped` / `moving` | `aisle.name` |
//! | overcrowding start / end | `""` (not an object event) | `entrance.name` |
//!
//! which is DeepStream's rule for its place sub-objects (`aisle` for moving/stopped; for
//! entry/exit `aisle` for a vehicle, else `entrance`); the other fields of the sub-object
//! keep their `place-sub-field1..3` values (the sub-object's `name` is `place-sub-field1`
//! of an entrance and `place-sub-field2` of an aisle, which it replaces). The `object` is
//! the event's track on the frame (its box, label, id, attributes, the tracker's speed and
//! direction), or, when it is not on the frame (a zone exit after it left), the track id
//! and label with an empty box; an overcrowding's object is `"-1"` of type `Crowd`, box 0.
//! After `videoPath` an extra member, which DeepStream consumers ignore, says what
//! happened:
//!
//! ```text
//! "analytics": {"kind": "line", "name": "door", "direction": "in"|"out", "in": 5, "out": 2, ...}
//! "analytics": {"kind": "zone", "name": "room", "event": "entry"|"exit", "dwellMs": 1200, ...}
//! "analytics": {"kind": "loitering", "name": "room", "event": "start"|"end", "dwellMs": 10000, ...}
//! "analytics": {"kind": "overcrowding", "name": "room" ("" the whole frame), "event": "start"|"end", "count": 6}
//! ```
//!
//! `in`/`out` are the line's cumulative counts with this crossing, `dwellMs` the time in the
//! zone (0 at the entry). An object event adds what rsanalytics wrote on the object with
//! the names of DeepStream's `NvDsAnalyticsObjInfo`: `roiStatus` (zones it is in), `lcStatus`
//! (lines it crossed on this frame), `dirStatus` (named directions it moves in; an array,
//! DeepStream's is one string).
//!
//! **Counts** (minimal schema, after `objects`), with the names of DeepStream's
//! `NvDsAnalyticsFrameMeta` where they mean the same:
//!
//! ```text
//! "analytics": {"objects": 3, "objCnt": {"0": 2, "2": 1}, "overcrowded": false,
//!               "objInROIcnt": {"room": 1}, "roiEntryCumCnt": {"room": 4}, "ocStatus": {"room": false},
//!               "objLCCumCnt": {"door": {"in": 5, "out": 2}}}
//! ```
//!
//! `objects`: objects on the frame; `objCnt`: per class id, as DeepStream; `objInROIcnt`:
//! objects in each zone now; `roiEntryCumCnt` (ours): entries since the start; `ocStatus`:
//! the zone is overcrowded; `overcrowded`: the whole frame is; `objLCCumCnt`: each line's
//! cumulative crossings in both directions (DeepStream's lines count one direction, ours
//! both, so each line has `in` and `out`).

use std::collections::BTreeMap;
use std::fmt::Write;

use super::config::{Place, PlaceSubObject};
use super::payload::{write_str, write_tail_with, Frame, Object, PayloadBuilder};
use crate::detection::analytics::{LineCounts, ZoneCounts};

/// What happened, by kind (the `rsanalytics-*` messages).
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    /// `rsanalytics-crossing`: `inward` for the `in` direction; the line's counts with it.
    Crossing {
        line: String,
        inward: bool,
        in_count: u64,
        out_count: u64,
    },
    /// `rsanalytics-zone`: an entry (`entry`) or an exit.
    Zone {
        zone: String,
        entry: bool,
        dwell_ms: u64,
    },
    /// `rsanalytics-loitering`: a start or an end.
    Loitering {
        zone: String,
        start: bool,
        dwell_ms: u64,
    },
    /// `rsanalytics-overcrowding` (`zone` empty: the whole frame).
    Overcrowding {
        zone: String,
        start: bool,
        count: u64,
    },
}

/// One analytics event of a frame.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyticsEvent {
    pub kind: EventKind,
    /// The track the event is about (none for overcrowding).
    pub track_id: Option<u64>,
    /// The track's label (empty for overcrowding).
    pub label: String,
}

/// What rsanalytics wrote on the event's object (its `analytics` structure).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectStatus {
    /// `roiStatus`: zones the object is in.
    pub zones: Vec<String>,
    /// `lcStatus`: lines it crossed on this frame.
    pub lines_crossed: Vec<String>,
    /// `dirStatus`: named directions it moves in.
    pub directions: Vec<String>,
}

/// The type member of an overcrowding message's object.
pub const CROWD_OBJECT_LABEL: &str = "Crowd";

/// Labels DeepStream's place rule treats as vehicles (`NVDS_OBJECT_TYPE_VEHICLE`): the
/// place sub-object of their entry/exit is an `aisle`. Compared without case.
pub const VEHICLE_LABELS: [&str; 7] = [
    "vehicle",
    "car",
    "truck",
    "bus",
    "van",
    "motorcycle",
    "motorbike",
];

/// Whether `label` is a vehicle for the place rule.
pub fn is_vehicle(label: &str) -> bool {
    VEHICLE_LABELS.iter().any(|v| v.eq_ignore_ascii_case(label))
}

impl AnalyticsEvent {
    /// `event.type`: `entry` / `exit` for crossings (`in` / `out`) and zone visits,
    /// `stopped` / `moving` for a loitering start / end, `""` for overcrowding.
    pub fn event_type(&self) -> &'static str {
        match &self.kind {
            EventKind::Crossing { inward: true, .. } | EventKind::Zone { entry: true, .. } => {
                "entry"
            }
            EventKind::Crossing { .. } | EventKind::Zone { .. } => "exit",
            EventKind::Loitering { start: true, .. } => "stopped",
            EventKind::Loitering { .. } => "moving",
            EventKind::Overcrowding { .. } => "",
        }
    }

    /// The line or zone the event is about.
    pub fn name(&self) -> &str {
        match &self.kind {
            EventKind::Crossing { line, .. } => line,
            EventKind::Zone { zone, .. }
            | EventKind::Loitering { zone, .. }
            | EventKind::Overcrowding { zone, .. } => zone,
        }
    }

    /// The place sub-object (DeepStream's rule, see the module doc).
    pub fn place_sub_object(&self) -> PlaceSubObject {
        match self.event_type() {
            "stopped" | "moving" => PlaceSubObject::Aisle,
            "entry" | "exit" if is_vehicle(&self.label) => PlaceSubObject::Aisle,
            _ => PlaceSubObject::Entrance,
        }
    }

    /// `place` with the event's sub-object named after its line or zone.
    pub fn place(&self, place: &Place) -> Place {
        let sub_object = self.place_sub_object();
        let mut p = place.clone();
        p.sub_object = sub_object;
        let name = sub_object
            .field_names()
            .iter()
            .position(|f| *f == "name")
            .unwrap_or(0);
        p.sub_fields[name] = self.name().to_string();
        p
    }

    /// The object of an overcrowding (no track): `-1` of type [`CROWD_OBJECT_LABEL`], box 0.
    pub fn crowd_object() -> Object {
        Object {
            left: 0,
            top: 0,
            right: 0,
            bottom: 0,
            label: CROWD_OBJECT_LABEL.to_string(),
            track_id: None,
            confidence: 0.0,
            speed: None,
            direction: None,
            attributes: Vec::new(),
        }
    }

    /// The object of a track that is not on the frame: its id and label, box 0.
    pub fn absent_object(&self) -> Object {
        Object {
            label: self.label.clone(),
            track_id: self.track_id,
            ..Self::crowd_object()
        }
    }

    /// Appends the `,"analytics":{...}` member of the event (`status`: the object's).
    pub fn write_member(&self, out: &mut String, status: Option<&ObjectStatus>) {
        out.push_str(",\"analytics\":{\"kind\":");
        let kind = match &self.kind {
            EventKind::Crossing { .. } => "line",
            EventKind::Zone { .. } => "zone",
            EventKind::Loitering { .. } => "loitering",
            EventKind::Overcrowding { .. } => "overcrowding",
        };
        write_str(out, kind);
        out.push_str(",\"name\":");
        write_str(out, self.name());
        match &self.kind {
            EventKind::Crossing {
                inward,
                in_count,
                out_count,
                ..
            } => {
                let d = if *inward { "in" } else { "out" };
                let _ = write!(
                    out,
                    ",\"direction\":\"{d}\",\"in\":{in_count},\"out\":{out_count}"
                );
            }
            EventKind::Zone {
                entry, dwell_ms, ..
            } => {
                let e = if *entry { "entry" } else { "exit" };
                let _ = write!(out, ",\"event\":\"{e}\",\"dwellMs\":{dwell_ms}");
            }
            EventKind::Loitering {
                start, dwell_ms, ..
            } => {
                let e = if *start { "start" } else { "end" };
                let _ = write!(out, ",\"event\":\"{e}\",\"dwellMs\":{dwell_ms}");
            }
            EventKind::Overcrowding { start, count, .. } => {
                let e = if *start { "start" } else { "end" };
                let _ = write!(out, ",\"event\":\"{e}\",\"count\":{count}");
            }
        }
        if let Some(s) = status {
            for (name, values) in [
                ("roiStatus", &s.zones),
                ("lcStatus", &s.lines_crossed),
                ("dirStatus", &s.directions),
            ] {
                let _ = write!(out, ",\"{name}\":");
                write_strings(out, values);
            }
        }
        out.push('}');
    }
}

fn write_strings(out: &mut String, values: &[String]) {
    out.push('[');
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, v);
    }
    out.push(']');
}

/// A frame's counts (one analytics element's, or several merged).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FrameCounts {
    /// `objects`: objects on the frame.
    pub objects: u64,
    /// `objCnt`: objects per class id.
    pub class_counts: BTreeMap<i32, u64>,
    /// `overcrowded`: the whole frame.
    pub overcrowded: bool,
    pub zones: Vec<ZoneCounts>,
    pub lines: Vec<LineCounts>,
}

impl FrameCounts {
    /// Appends the `,"analytics":{...}` member of the minimal schema.
    pub fn write_member(&self, out: &mut String) {
        let _ = write!(out, ",\"analytics\":{{\"objects\":{}", self.objects);
        out.push_str(",\"objCnt\":{");
        for (i, (class, n)) in self.class_counts.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "\"{class}\":{n}");
        }
        let _ = write!(out, "}},\"overcrowded\":{}", self.overcrowded);
        let zone_map = |out: &mut String, name: &str, value: &dyn Fn(&ZoneCounts) -> String| {
            let _ = write!(out, ",\"{name}\":{{");
            for (i, z) in self.zones.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, &z.name);
                out.push(':');
                out.push_str(&value(z));
            }
            out.push('}');
        };
        zone_map(out, "objInROIcnt", &|z| z.count.to_string());
        zone_map(out, "roiEntryCumCnt", &|z| z.entries.to_string());
        zone_map(out, "ocStatus", &|z| z.overcrowded.to_string());
        out.push_str(",\"objLCCumCnt\":{");
        for (i, l) in self.lines.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_str(out, &l.name);
            let _ = write!(out, ":{{\"in\":{},\"out\":{}}}", l.in_count, l.out_count);
        }
        out.push_str("}}");
    }
}

impl PayloadBuilder {
    /// Appends the full-schema document of an analytics event to `out`: `obj` is the
    /// event's object (see the module doc), `status` what rsanalytics wrote on it.
    #[allow(clippy::too_many_arguments)]
    pub fn write_analytics_event(
        &self,
        out: &mut String,
        frame: &Frame,
        event: &AnalyticsEvent,
        obj: &Object,
        status: Option<&ObjectStatus>,
        message_id: &str,
        event_id: &str,
    ) {
        self.write_head_with_place(
            out,
            frame.timestamp_ms,
            message_id,
            &event.place(&self.place),
        );
        self.write_object_of(out, obj);
        let mut member = String::with_capacity(160);
        event.write_member(&mut member, status);
        write_tail_with(out, event_id, event.event_type(), "", &member);
    }

    /// Appends the minimal-schema document of a frame with its analytics `counts`.
    pub fn write_minimal_with_counts(
        &self,
        out: &mut String,
        frame: &Frame,
        objects: &[Object],
        counts: &FrameCounts,
    ) {
        let mut member = String::with_capacity(256);
        counts.write_member(&mut member);
        self.write_minimal_with(out, frame, objects, &member);
    }
}

#[cfg(test)]
#[path = "analytics_tests.rs"]
mod tests;
