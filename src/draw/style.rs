//! What to draw and in which colours: the class palette, user colours (`colors`), class
//! filters (`classes`, `blur-classes`), how predicted boxes look (`predicted-style`) and the
//! label text.

use std::collections::{HashMap, HashSet};

use crate::detection::Detection;

/// The default class palette (Ultralytics' 20 colours): distinct hues, bright enough for
/// white or black text on top. Class id `i` gets `PALETTE[i % 20]`.
pub const PALETTE: [[u8; 3]; 20] = [
    [0xff, 0x38, 0x38],
    [0xff, 0x9d, 0x97],
    [0xff, 0x70, 0x1f],
    [0xff, 0xb2, 0x1d],
    [0xcf, 0xd2, 0x31],
    [0x48, 0xf9, 0x0a],
    [0x92, 0xcc, 0x17],
    [0x3d, 0xdb, 0x86],
    [0x1a, 0x93, 0x34],
    [0x00, 0xd4, 0xbb],
    [0x2c, 0x99, 0xa8],
    [0x00, 0xc2, 0xff],
    [0x34, 0x45, 0x93],
    [0x64, 0x73, 0xff],
    [0x00, 0x18, 0xec],
    [0x84, 0x38, 0xff],
    [0x52, 0x00, 0x85],
    [0xcb, 0x38, 0xff],
    [0xff, 0x95, 0xc8],
    [0xff, 0x37, 0xc7],
];

/// Colour of text drawn on a `background`: black on light colours, white on dark ones.
pub fn text_color(background: [u8; 3]) -> [u8; 3] {
    let [r, g, b] = background.map(u32::from);
    if 299 * r + 587 * g + 114 * b > 150_000 {
        [0, 0, 0]
    } else {
        [255, 255, 255]
    }
}

/// Parses `#rrggbb`, `rrggbb`, `#rgb` or `0xrrggbb`.
pub fn parse_color(s: &str) -> Result<[u8; 3], String> {
    let t = s.trim();
    let hex = t
        .strip_prefix('#')
        .or_else(|| t.strip_prefix("0x"))
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    let bad = || format!("'{s}' is not a colour (expected #rrggbb)");
    if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let v = u32::from_str_radix(hex, 16).map_err(|_| bad())?;
    match hex.len() {
        6 => Ok([(v >> 16) as u8, (v >> 8) as u8, v as u8]),
        3 => Ok([(v >> 8) & 0xf, (v >> 4) & 0xf, v & 0xf].map(|c| (c * 17) as u8)),
        _ => Err(bad()),
    }
}

/// Class colours: the palette by class id, overridden per label or class id by the user.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColorMap {
    by_label: HashMap<String, [u8; 3]>,
    by_id: HashMap<i32, [u8; 3]>,
}

impl ColorMap {
    /// Parses `label:#rrggbb,label2:#rrggbb,3:#rrggbb` (a number is a class id). Empty is the
    /// default palette.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut map = ColorMap::default();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (key, color) = entry
                .rsplit_once(':')
                .ok_or_else(|| format!("'{entry}' is not label:#rrggbb"))?;
            let key = key.trim();
            if key.is_empty() {
                return Err(format!("'{entry}' has no label"));
            }
            let color = parse_color(color)?;
            match key.parse::<i32>() {
                Ok(id) => map.by_id.insert(id, color),
                Err(_) => map.by_label.insert(key.to_string(), color),
            };
        }
        Ok(map)
    }

    /// The colour of a detection: the user's colour for its label, else for its class id,
    /// else the palette by class id (by a hash of the label when the id is unknown).
    pub fn color(&self, det: &Detection) -> [u8; 3] {
        self.class_color(&det.label, det.label_id)
    }

    /// The colour of class `label` / `label_id` (as [`ColorMap::color`]).
    pub fn class_color(&self, label: &str, label_id: i32) -> [u8; 3] {
        if let Some(c) = self.by_label.get(label) {
            return *c;
        }
        if let Some(c) = self.by_id.get(&label_id) {
            return *c;
        }
        let index = if label_id >= 0 {
            label_id as usize
        } else {
            // FNV-1a: stable across runs and platforms, unlike std's hasher.
            label.bytes().fold(0x811c_9dc5u32, |h, b| {
                (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
            }) as usize
        };
        PALETTE[index % PALETTE.len()]
    }
}

/// A set of classes given by label or class id (`person,car,3`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClassSet {
    labels: HashSet<String>,
    ids: HashSet<i32>,
}

impl ClassSet {
    /// Parses a comma-separated list; `None` when it names nothing.
    pub fn parse(spec: &str) -> Option<Self> {
        let mut set = ClassSet::default();
        for item in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            match item.parse::<i32>() {
                Ok(id) => set.ids.insert(id),
                Err(_) => set.labels.insert(item.to_string()),
            };
        }
        (!set.labels.is_empty() || !set.ids.is_empty()).then_some(set)
    }

    pub fn contains(&self, det: &Detection) -> bool {
        self.contains_class(&det.label, det.label_id)
    }

    pub fn contains_class(&self, label: &str, label_id: i32) -> bool {
        self.labels.contains(label) || self.ids.contains(&label_id)
    }
}

/// How boxes a tracker predicted (no detection on this frame) are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PredictedStyle {
    /// A dashed outline of `line_width` (see [`super::dash_pattern`]).
    #[default]
    Dashed,
    /// As detected boxes.
    Solid,
    /// A 1 px solid outline.
    Thin,
    /// Not drawn at all (no box, no label).
    Hidden,
}

/// Whether a tracker predicted `det`'s box on this frame (no detection matched it).
pub fn is_predicted(det: &Detection) -> bool {
    det.tracking.as_ref().is_some_and(|t| t.predicted)
}

/// Everything that decides how detections are drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct Style {
    /// Outline thickness in pixels, drawn inside the box (0: no outline).
    pub line_width: u32,
    /// Label text size in pixels.
    pub font_size: u32,
    /// Class name (and track id) in the label.
    pub show_labels: bool,
    /// Confidence in the label.
    pub show_confidence: bool,
    pub colors: ColorMap,
    /// Draw only these classes (all when `None`).
    pub classes: Option<ClassSet>,
    /// Pixelate the inside of these classes' boxes (drawn or not).
    pub blur_classes: Option<ClassSet>,
    /// How predicted boxes are drawn.
    pub predicted: PredictedStyle,
    /// What of zone and line analytics is drawn.
    pub analytics: super::AnalyticsStyle,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            line_width: 2,
            font_size: 16,
            show_labels: true,
            show_confidence: true,
            colors: ColorMap::default(),
            classes: None,
            blur_classes: None,
            predicted: PredictedStyle::default(),
            analytics: super::AnalyticsStyle::default(),
        }
    }
}

impl Style {
    /// The label text of a detection (`person #12 0.87`, with classification attributes
    /// after bars: `car #7 0.91 | red 0.88`), or `None` when labels and confidence are both
    /// hidden.
    pub fn label_text(&self, det: &Detection) -> Option<String> {
        let mut parts: Vec<String> = Vec::with_capacity(3);
        if self.show_labels {
            let name = if det.label.is_empty() {
                if det.label_id >= 0 {
                    det.label_id.to_string()
                } else {
                    "object".to_string()
                }
            } else {
                det.label.clone()
            };
            parts.push(name);
            if let Some(id) = det.track_id {
                parts.push(format!("#{id}"));
            }
        }
        // A region without a `detection` structure (e.g. from facedetect) has no confidence.
        let has_confidence = det.label_id >= 0 || det.confidence > 0.0;
        if self.show_confidence && has_confidence {
            parts.push(format!("{:.2}", det.confidence.clamp(0.0, 1.0)));
        }
        let mut text = parts.join(" ");
        for a in &det.attributes {
            let mut item = Vec::with_capacity(2);
            if self.show_labels {
                item.push(a.label.clone());
            }
            if self.show_confidence {
                item.push(format!("{:.2}", a.confidence.clamp(0.0, 1.0)));
            }
            if !item.is_empty() {
                if !text.is_empty() {
                    text.push_str(" | ");
                }
                text.push_str(&item.join(" "));
            }
        }
        (!text.is_empty()).then_some(text)
    }

    /// Whether a detection is drawn (boxes and labels): its class is, and it is not a
    /// predicted box with [`PredictedStyle::Hidden`].
    pub fn draws(&self, det: &Detection) -> bool {
        self.draws_class(&det.label, det.label_id)
            && !(self.predicted == PredictedStyle::Hidden && is_predicted(det))
    }

    /// Whether class `label` / `label_id` is drawn (`classes`).
    pub fn draws_class(&self, label: &str, label_id: i32) -> bool {
        self.classes
            .as_ref()
            .is_none_or(|c| c.contains_class(label, label_id))
    }

    /// Outline of a detection: `(line width, dashed)`; width 0 draws no outline.
    pub fn outline(&self, det: &Detection) -> (u32, bool) {
        let lw = self.line_width;
        if !is_predicted(det) {
            return (lw, false);
        }
        match self.predicted {
            PredictedStyle::Dashed => (lw, true),
            PredictedStyle::Solid => (lw, false),
            PredictedStyle::Thin => (lw.min(1), false),
            PredictedStyle::Hidden => (0, false),
        }
    }

    /// Thickness of trails: half the line width, at least 1 px.
    pub fn trail_width(&self) -> u32 {
        (self.line_width / 2).max(1)
    }

    /// Whether a detection's box is pixelated.
    pub fn blurs(&self, det: &Detection) -> bool {
        self.blur_classes.as_ref().is_some_and(|c| c.contains(det))
    }
}
