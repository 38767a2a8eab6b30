//! Classification results: attributes of an object, or of a whole frame.
//!
//! **On an object** (a secondary classifier, `rsinfer inference-region=objects`): one param
//! structure on the object's region meta, named after the attribute (`attribute-name`, e.g.
//! `color`), with the fields DL Streamer's `gvaclassify` writes, so `gvametaconvert` and
//! `gvawatermark` read ours:
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `label` | string | the class name |
//! | `label_id` | gint | the class index of the classifier |
//! | `confidence` | gdouble | its probability (with the per-track vote: the mean of the votes for it) |
//! | `model_name` | string | the classifier (file stem or the server's model name) |
//! | `attribute_name` | string | the structure's name again |
//! | `type` | string | `classification_result` |
//! | `frames_ago` | gint | 0 when inferred on this frame; else how many frames ago the result was decided (served from the per-track cache) |
//! | `attempts` | guint | inferences made on this track so far (ours) |
//! | `votes` | guint | attempts that voted for `label` (ours) |
//!
//! **On a frame** (a classifier on whole frames, `inference-region=frame`): a custom meta
//! `RsvisionClassificationMeta` per classifier element (Python:
//! `buffer.get_custom_meta("RsvisionClassificationMeta").get_structure()`) with the same
//! fields plus `element` (the classifier element's name).

use gst::meta::CustomMeta;
use gst_video::VideoRegionOfInterestMeta;

/// The frame-level custom meta's name.
pub const CLASSIFICATION_META: &str = "RsvisionClassificationMeta";
/// The `type` field's value (DL Streamer's).
pub const CLASSIFICATION_TYPE: &str = "classification_result";

/// One classification result.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    /// The structure's name (`color`, `make`, ...).
    pub name: String,
    pub label: String,
    pub label_id: i32,
    pub confidence: f64,
    pub model_name: String,
    /// 0 when inferred on this frame.
    pub frames_ago: u32,
    pub attempts: u32,
    pub votes: u32,
}

impl Attribute {
    /// The param structure of this attribute (named after it).
    pub fn to_structure(&self) -> gst::Structure {
        let mut s = gst::Structure::new_empty(self.name.as_str());
        self.fill(&mut s);
        s
    }

    fn fill(&self, s: &mut gst::StructureRef) {
        s.set("label", self.label.as_str());
        s.set("label_id", self.label_id);
        s.set("confidence", self.confidence);
        s.set("model_name", self.model_name.as_str());
        s.set("attribute_name", self.name.as_str());
        s.set("type", CLASSIFICATION_TYPE);
        s.set(
            "frames_ago",
            i32::try_from(self.frames_ago).unwrap_or(i32::MAX),
        );
        s.set("attempts", self.attempts);
        s.set("votes", self.votes);
    }

    /// Reads a classification structure (ours or gvaclassify's: it has `label` and
    /// `model_name`, or `type = classification_result`); `None` for any other structure.
    pub fn from_structure(s: &gst::StructureRef) -> Option<Attribute> {
        let label = s.get::<&str>("label").ok()?;
        let typed = s.get::<&str>("type").ok() == Some(CLASSIFICATION_TYPE);
        let model_name = s.get::<&str>("model_name").ok();
        if !typed && model_name.is_none() {
            return None;
        }
        if s.name() == super::DETECTION_STRUCTURE {
            return None;
        }
        let name = s
            .get::<&str>("attribute_name")
            .ok()
            .filter(|n| !n.is_empty())
            .unwrap_or(s.name().as_str());
        Some(Attribute {
            name: name.to_string(),
            label: label.to_string(),
            label_id: s.get::<i32>("label_id").unwrap_or(-1),
            confidence: s
                .get::<f64>("confidence")
                .ok()
                .or_else(|| s.get::<f32>("confidence").ok().map(f64::from))
                .unwrap_or(0.0),
            model_name: model_name.unwrap_or("").to_string(),
            frames_ago: s
                .get::<i32>("frames_ago")
                .ok()
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(0),
            attempts: s.get::<u32>("attempts").unwrap_or(0),
            votes: s.get::<u32>("votes").unwrap_or(0),
        })
    }
}

/// The attributes on one region meta, in param order.
pub fn of_roi(roi: &VideoRegionOfInterestMeta) -> Vec<Attribute> {
    roi.params().filter_map(Attribute::from_structure).collect()
}

/// Adds `attribute` to the region meta with `id` on `buffer`; returns whether that meta
/// was there. An attribute of the same name already on it is left alone (the first
/// classifier of that name wins), so a buffer passing twice keeps one result.
pub fn add_to_roi(buffer: &mut gst::BufferRef, id: i32, attribute: &Attribute) -> bool {
    for mut roi in buffer.iter_meta_mut::<VideoRegionOfInterestMeta>() {
        if roi.id() == id {
            if roi.param(&attribute.name).is_none() {
                roi.add_param(attribute.to_structure());
            }
            return true;
        }
    }
    false
}

/// Adds a frame-level classification by the classifier element `element`.
pub fn add_to_frame(buffer: &mut gst::BufferRef, element: &str, attribute: &Attribute) {
    register();
    let Ok(mut meta) = CustomMeta::add(buffer, CLASSIFICATION_META) else {
        return;
    };
    let s = meta.mut_structure();
    attribute.fill(s);
    s.set("element", element);
}

/// The frame-level classifications on `buffer` with the element that made each.
pub fn of_frame(buffer: &gst::BufferRef) -> Vec<(String, Attribute)> {
    let mut out = Vec::new();
    for meta in buffer.iter_meta::<gst::Meta>() {
        let Some(custom) = meta.try_as_custom_meta() else {
            continue;
        };
        if !custom.has_name(CLASSIFICATION_META) {
            continue;
        }
        let s = custom.structure();
        if let Some(a) = Attribute::from_structure(s) {
            out.push((s.get::<&str>("element").unwrap_or("").to_string(), a));
        }
    }
    out
}

/// Registers the frame-level meta (the plugin does it when it loads).
pub fn register() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if !CustomMeta::is_registered(CLASSIFICATION_META) {
            CustomMeta::register(CLASSIFICATION_META, &[]);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn colour() -> Attribute {
        Attribute {
            name: "color".into(),
            label: "red".into(),
            label_id: 2,
            confidence: 0.875,
            model_name: "colours".into(),
            frames_ago: 3,
            attempts: 4,
            votes: 3,
        }
    }

    #[test]
    fn object_attributes_have_gvaclassify_fields_and_round_trip() {
        gst::init().unwrap();
        let mut buffer = gst::Buffer::with_size(4).unwrap();
        {
            let b = buffer.get_mut().unwrap();
            let mut m = VideoRegionOfInterestMeta::add(b, "car", (1, 2, 30, 40));
            m.set_id(7);
        }
        let b = buffer.get_mut().unwrap();
        assert!(add_to_roi(b, 7, &colour()));
        assert!(!add_to_roi(b, 8, &colour()), "no such object");
        let mut other = colour();
        other.label = "blue".into();
        assert!(add_to_roi(b, 7, &other));
        let roi = buffer
            .iter_meta::<VideoRegionOfInterestMeta>()
            .next()
            .unwrap();
        let s = roi.param("color").unwrap();
        assert_eq!(s.get::<&str>("type").unwrap(), "classification_result");
        assert_eq!(s.get::<&str>("model_name").unwrap(), "colours");
        assert_eq!(s.get::<i32>("label_id").unwrap(), 2);
        assert_eq!(s.get::<i32>("frames_ago").unwrap(), 3);
        assert_eq!(
            of_roi(&roi),
            vec![colour()],
            "the first result of a name stays"
        );
    }

    #[test]
    fn reads_gvaclassify_structures_and_ignores_others() {
        gst::init().unwrap();
        let dls = gst::Structure::builder("age")
            .field("label", "adult")
            .field("label_id", 1i32)
            .field("confidence", 0.5f64)
            .field("model_name", "age-gender")
            .build();
        let a = Attribute::from_structure(&dls).unwrap();
        assert_eq!((a.name.as_str(), a.label.as_str()), ("age", "adult"));
        let detection = gst::Structure::builder("detection")
            .field("label", "car")
            .build();
        assert!(Attribute::from_structure(&detection).is_none());
        let tracking = gst::Structure::builder("tracking")
            .field("id", 3u64)
            .build();
        assert!(Attribute::from_structure(&tracking).is_none());
    }

    #[test]
    fn frame_classifications_round_trip() {
        gst::init().unwrap();
        let mut buffer = gst::Buffer::with_size(4).unwrap();
        add_to_frame(buffer.get_mut().unwrap(), "scene", &colour());
        assert_eq!(of_frame(&buffer), vec![("scene".to_string(), colour())]);
        assert_eq!(of_frame(&buffer.copy()).len(), 1, "copies keep it");
    }
}
