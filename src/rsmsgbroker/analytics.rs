//! rsanalytics' results on a buffer ([`crate::detection::analytics`]), read for publishing
//! (`publish-analytics`): the frame's events with the objects they are about, and its
//! counts. The payloads are [`crate::msgconv::analytics`].

use std::collections::HashSet;

use gst_video::VideoRegionOfInterestMeta;

use crate::detection::analytics::{self as contract, AnalyticsFrame};
use crate::detection::{self, Detection};
use crate::msgconv::analytics::{AnalyticsEvent, EventKind, FrameCounts, ObjectStatus};
use crate::msgconv::Object;

/// One event with what the frame says about its object.
pub(super) struct EventObject {
    pub(super) event: AnalyticsEvent,
    /// The track's object on the frame; `None`: not on it (or no track: overcrowding).
    pub(super) object: Option<Object>,
    /// What rsanalytics wrote on that object.
    pub(super) status: Option<ObjectStatus>,
}

/// A frame's analytics: every analytics element's events, in order, and their counts
/// merged.
pub(super) struct FrameAnalytics {
    pub(super) events: Vec<EventObject>,
    pub(super) counts: FrameCounts,
}

/// The analytics of `buf` (a `width` x `height` frame); `None` without an
/// `RsvisionAnalyticsMeta`. The objects are only read when there are events, or with
/// `class_counts` (for `objCnt`).
pub(super) fn read(
    buf: &gst::BufferRef,
    width: u32,
    height: u32,
    class_counts: bool,
) -> Option<FrameAnalytics> {
    let frames = contract::analytics_frames(buf);
    if frames.is_empty() {
        return None;
    }
    let objects = if class_counts || frames.iter().any(|f| !f.events.is_empty()) {
        top_level(buf, width, height)
    } else {
        Vec::new()
    };
    let mut counts = FrameCounts::default();
    if class_counts {
        for (d, _) in &objects {
            *counts.class_counts.entry(d.label_id).or_default() += 1;
        }
    }
    let mut events = Vec::new();
    for AnalyticsFrame {
        objects: n,
        overcrowded,
        zones,
        lines,
        events: structures,
        ..
    } in frames
    {
        counts.objects = counts.objects.max(n);
        counts.overcrowded |= overcrowded;
        counts.zones.extend(zones);
        counts.lines.extend(lines);
        for s in &structures {
            let Some(event) = event_from_structure(s) else {
                continue;
            };
            let found = event
                .track_id
                .and_then(|id| objects.iter().find(|(d, _)| d.track_id == Some(id)));
            events.push(EventObject {
                object: found.map(|(d, _)| object(d, width, height)),
                status: found.and_then(|(_, s)| s.clone()),
                event,
            });
        }
    }
    Some(FrameAnalytics { events, counts })
}

/// The top-level objects of the frame (as rsanalytics reads them: a meta whose `parent_id`
/// names another meta of the buffer is a secondary result), with their `analytics`.
fn top_level(
    buf: &gst::BufferRef,
    width: u32,
    height: u32,
) -> Vec<(Detection, Option<ObjectStatus>)> {
    let metas: Vec<_> = buf.iter_meta::<VideoRegionOfInterestMeta>().collect();
    let ids: HashSet<i32> = metas.iter().map(|m| m.id()).collect();
    metas
        .iter()
        .filter(|m| {
            let pid = m.parent_id();
            !(pid >= 0 && pid != m.id() && ids.contains(&pid))
        })
        .map(|m| {
            let status = contract::of_roi(m).map(|a| ObjectStatus {
                zones: a.zones,
                lines_crossed: a.lines_crossed,
                directions: a.directions,
            });
            (detection::from_meta(m, width, height), status)
        })
        .collect()
}

/// The payload object of a detection, with the tracker's speed and direction when it has
/// them.
fn object(d: &Detection, width: u32, height: u32) -> Object {
    let mut o = Object::from_detection(d, width, height);
    if let Some(t) = &d.tracking {
        let (vx, vy) = t.velocity;
        let speed = vx.hypot(vy);
        o.speed = Some(speed);
        o.direction = Some(if speed > 0.0 {
            vy.atan2(vx).to_degrees().rem_euclid(360.0)
        } else {
            0.0
        });
    }
    o
}

/// An `rsanalytics-*` structure as an event; `None` for any other (or a malformed one).
fn event_from_structure(s: &gst::StructureRef) -> Option<AnalyticsEvent> {
    let text = |f: &str| s.get::<String>(f).ok();
    let u64_of = |f: &str| s.get::<u64>(f).ok();
    let event = text("event").unwrap_or_default();
    let kind = match s.name().as_str() {
        contract::CROSSING_MESSAGE => EventKind::Crossing {
            line: text("line")?,
            inward: match text("direction")?.as_str() {
                "in" => true,
                "out" => false,
                _ => return None,
            },
            in_count: u64_of("in-count").unwrap_or(0),
            out_count: u64_of("out-count").unwrap_or(0),
        },
        contract::ZONE_MESSAGE => EventKind::Zone {
            zone: text("zone")?,
            entry: match event.as_str() {
                "entry" => true,
                "exit" => false,
                _ => return None,
            },
            dwell_ms: u64_of("dwell-ms").unwrap_or(0),
        },
        contract::LOITERING_MESSAGE => EventKind::Loitering {
            zone: text("zone")?,
            start: match event.as_str() {
                "start" => true,
                "end" => false,
                _ => return None,
            },
            dwell_ms: u64_of("dwell-ms").unwrap_or(0),
        },
        contract::OVERCROWDING_MESSAGE => EventKind::Overcrowding {
            zone: text("zone").unwrap_or_default(),
            start: match event.as_str() {
                "start" => true,
                "end" => false,
                _ => return None,
            },
            count: u64_of("count").unwrap_or(0),
        },
        _ => return None,
    };
    Some(AnalyticsEvent {
        track_id: u64_of("track-id"),
        label: text("label").unwrap_or_default(),
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detection::analytics::{LineCounts, ZoneCounts};

    fn det(track: u64, label_id: i32) -> Detection {
        Detection {
            x: 10.0,
            y: 20.0,
            width: 30.0,
            height: 40.0,
            confidence: 0.9,
            label_id,
            label: "person".into(),
            track_id: Some(track),
            tracking: None,
            attributes: Vec::new(),
        }
    }

    /// The events of the meta with their objects (found by track id, or absent), the
    /// counts, and no analytics without the meta.
    #[test]
    fn events_objects_and_counts_from_the_metadata() {
        gst::init().unwrap();
        let mut b = gst::Buffer::with_size(16).unwrap();
        assert!(read(&b, 640, 480, true).is_none());
        {
            let b = b.get_mut().unwrap();
            detection::attach(b, &[det(4, 0), det(5, 2)], 640, 480, 0);
            let crossing = gst::Structure::builder(contract::CROSSING_MESSAGE)
                .field("line", "door")
                .field("track-id", 5u64)
                .field("direction", "out")
                .field("label", "person")
                .field("in-count", 3u64)
                .field("out-count", 1u64)
                .build();
            let exit = gst::Structure::builder(contract::ZONE_MESSAGE)
                .field("zone", "room")
                .field("track-id", 8u64)
                .field("event", "exit")
                .field("label", "car")
                .field("dwell-ms", 900u64)
                .build();
            let crowd = gst::Structure::builder(contract::OVERCROWDING_MESSAGE)
                .field("zone", "")
                .field("event", "start")
                .field("count", 2u64)
                .build();
            let other = gst::Structure::builder("rsanalytics-unknown").build();
            contract::mark_frame(
                b,
                &AnalyticsFrame {
                    element: "a0".into(),
                    objects: 2,
                    zones: vec![ZoneCounts {
                        name: "room".into(),
                        count: 1,
                        entries: 2,
                        overcrowded: false,
                    }],
                    lines: vec![LineCounts {
                        name: "door".into(),
                        in_count: 3,
                        out_count: 1,
                    }],
                    events: vec![crossing, exit, crowd, other],
                    ..Default::default()
                },
            );
        }
        let a = read(&b, 640, 480, true).expect("analytics");
        assert_eq!(a.events.len(), 3);
        let e = &a.events[0];
        assert_eq!(e.event.event_type(), "exit");
        assert_eq!(e.event.name(), "door");
        let o = e.object.as_ref().expect("track 5 is on the frame");
        assert_eq!(
            (o.track_id, o.left, o.top, o.right, o.bottom),
            (Some(5), 10, 20, 40, 60)
        );
        assert!(e.status.is_none(), "no analytics structure on the object");
        assert_eq!(a.events[1].event.track_id, Some(8));
        assert!(a.events[1].object.is_none(), "track 8 is not on the frame");
        assert_eq!(a.events[2].event.event_type(), "");
        assert_eq!(a.counts.objects, 2);
        assert_eq!(
            a.counts.class_counts.into_iter().collect::<Vec<_>>(),
            vec![(0, 1), (2, 1)]
        );
        assert_eq!(a.counts.zones[0].entries, 2);
        assert_eq!(a.counts.lines[0].in_count, 3);
    }
}
