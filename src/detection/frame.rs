//! The frame marker: whether a detector ran on this frame.
//!
//! A custom meta (`gst_meta_register_custom`, readable from Python with
//! `buffer.get_custom_meta("RsvisionInferenceMeta").get_structure()`) that every rsvision
//! detector adds to every buffer it passes, one per detector element:
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `inferred` | boolean | the detector ran on this frame: its region metas are fresh (also when it found nothing) |
//! | `reason` | string | `inferred`, or why not: `interval` (not an Nth frame), `late` (QoS), `unavailable` (model server away or failing) |
//! | `element` | string | the detector element's name |
//! | `model` | string | its model (file stem, or the server's model name) |
//! | `frame_number` | guint64 | the detector's frame count, from 0 |
//! | `objects` | guint | region metas the detector attached (on frames it did not run on: copies of its latest detections) |
//!
//! A frame without any marker (a foreign detector) counts as a frame with fresh detections;
//! with several markers (several detectors), as fresh when any of them ran.

use gst::meta::CustomMeta;

/// The custom meta's name (also its structure's name).
pub const INFERENCE_META: &str = "RsvisionInferenceMeta";

/// Why a detector did or did not run on a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inference {
    Inferred,
    /// Not an `inference-interval`-th frame.
    Interval,
    /// Late in a live pipeline: passed without inference (QoS).
    Late,
    /// The model server is away or failed on this frame.
    Unavailable,
}

impl Inference {
    pub fn as_str(self) -> &'static str {
        match self {
            Inference::Inferred => "inferred",
            Inference::Interval => "interval",
            Inference::Late => "late",
            Inference::Unavailable => "unavailable",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "inferred" => Inference::Inferred,
            "interval" => Inference::Interval,
            "late" => Inference::Late,
            "unavailable" => Inference::Unavailable,
            _ => return None,
        })
    }
}

/// One detector's marker on a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    pub inference: Inference,
    pub element: String,
    pub model: String,
    pub frame_number: u64,
    pub objects: u32,
}

impl Marker {
    /// The detector ran on the frame.
    pub fn inferred(&self) -> bool {
        self.inference == Inference::Inferred
    }
}

/// Registers the custom metas of the contract (once per process; the plugin does it when it
/// loads, so applications can read them before any element exists).
pub fn register() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for name in [INFERENCE_META, super::tracking::TRACKER_META] {
            if !CustomMeta::is_registered(name) {
                // No tags: the metas describe the frame, not its pixels, so every element
                // keeps them (videoconvert, videoscale, ...).
                CustomMeta::register(name, &[]);
            }
        }
    });
    super::attribute::register();
    super::analytics::register();
}

/// Adds `marker` to `buffer`.
pub fn mark(buffer: &mut gst::BufferRef, marker: &Marker) {
    register();
    let Ok(mut meta) = CustomMeta::add(buffer, INFERENCE_META) else {
        return;
    };
    let s = meta.mut_structure();
    s.set("inferred", marker.inferred());
    s.set("reason", marker.inference.as_str());
    s.set("element", marker.element.as_str());
    s.set("model", marker.model.as_str());
    s.set("frame_number", marker.frame_number);
    s.set("objects", marker.objects);
}

/// Every detector marker on `buffer`, in meta order.
pub fn markers(buffer: &gst::BufferRef) -> Vec<Marker> {
    let mut out = Vec::new();
    for meta in buffer.iter_meta::<gst::Meta>() {
        let Some(custom) = meta.try_as_custom_meta() else {
            continue;
        };
        if !custom.has_name(INFERENCE_META) {
            continue;
        }
        let s = custom.structure();
        let inferred = s.get::<bool>("inferred").unwrap_or(true);
        let inference = s
            .get::<&str>("reason")
            .ok()
            .and_then(Inference::parse)
            .filter(|r| (*r == Inference::Inferred) == inferred)
            .unwrap_or(if inferred {
                Inference::Inferred
            } else {
                Inference::Interval
            });
        out.push(Marker {
            inference,
            element: s.get::<&str>("element").unwrap_or("").to_string(),
            model: s.get::<&str>("model").unwrap_or("").to_string(),
            frame_number: s.get::<u64>("frame_number").unwrap_or(0),
            objects: s.get::<u32>("objects").unwrap_or(0),
        });
    }
    out
}

/// Whether the detections on `buffer` are fresh: no marker at all (a foreign detector), or
/// a marker of a detector that ran on this frame.
pub fn has_fresh_detections(buffer: &gst::BufferRef) -> bool {
    let mut any = false;
    for meta in buffer.iter_meta::<gst::Meta>() {
        let Some(custom) = meta.try_as_custom_meta() else {
            continue;
        };
        if custom.has_name(INFERENCE_META) {
            any = true;
            if custom.structure().get::<bool>("inferred").unwrap_or(true) {
                return true;
            }
        }
    }
    !any
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip_and_decide_freshness() {
        gst::init().unwrap();
        let mut buffer = gst::Buffer::with_size(4).unwrap();
        assert!(
            has_fresh_detections(&buffer),
            "no marker: a foreign detector"
        );
        let stale = Marker {
            inference: Inference::Interval,
            element: "rsinfer0".into(),
            model: "yolov8n".into(),
            frame_number: 7,
            objects: 3,
        };
        mark(buffer.get_mut().unwrap(), &stale);
        assert!(!has_fresh_detections(&buffer));
        assert_eq!(markers(&buffer), vec![stale.clone()]);
        let fresh = Marker {
            inference: Inference::Inferred,
            element: "rsinfer1".into(),
            ..stale.clone()
        };
        mark(buffer.get_mut().unwrap(), &fresh);
        assert!(has_fresh_detections(&buffer), "a second detector ran");
        assert_eq!(markers(&buffer), vec![stale, fresh]);
        // Copies keep the marker.
        let copy = buffer.copy();
        assert_eq!(markers(&copy).len(), 2);
    }
}
