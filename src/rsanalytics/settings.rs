//! rsanalytics' properties, and the geometry they describe (read in `start()`).

use std::sync::LazyLock;

use gst::glib;
use gst::prelude::*;

use crate::analytics::config::{self, ConfigError};
use crate::analytics::geometry::{self, to_frame};
use crate::analytics::{Coordinates, Geometry};

pub const DEFAULT_STREAM_ID: u32 = 0;
pub const DEFAULT_REFERENCE_SIZE: u32 = 0;
pub const DEFAULT_POST_MESSAGES: bool = true;

#[derive(Debug, Clone)]
pub struct Settings {
    pub config_file: Option<String>,
    pub stream_id: u32,
    pub zones: Option<String>,
    pub lines: Option<String>,
    pub directions: Option<String>,
    pub reference_width: u32,
    pub reference_height: u32,
    pub post_messages: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            config_file: None,
            stream_id: DEFAULT_STREAM_ID,
            zones: None,
            lines: None,
            directions: None,
            reference_width: DEFAULT_REFERENCE_SIZE,
            reference_height: DEFAULT_REFERENCE_SIZE,
            post_messages: DEFAULT_POST_MESSAGES,
        }
    }
}

/// The geometry of the settings: the file's and the properties', each in its own
/// coordinates (merged per frame size by [`Sources::for_frame`]).
#[derive(Debug, Clone)]
pub struct Sources {
    pub file: Option<Geometry>,
    pub properties: Geometry,
}

/// Why the settings give no usable geometry.
#[derive(Debug)]
pub enum LoadError {
    /// The config file cannot be read.
    Read(String),
    /// Malformed file or property string, or no geometry at all.
    Config(String),
}

/// Whether a key file is DeepStream's nvdsanalytics configuration (it has a `[property]`
/// group or `*-stream-N` groups) rather than our geometry file.
pub fn is_nvdsanalytics(text: &str) -> bool {
    let Ok(groups) = crate::keyfile::parse(text) else {
        return false;
    };
    groups.iter().any(|g| {
        g.name == "property"
            || g.name
                .rsplit_once("-stream-")
                .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

fn config_err(what: &str) -> impl Fn(ConfigError) -> LoadError + '_ {
    move |e| LoadError::Config(format!("{what}: {e}"))
}

impl Settings {
    /// Reads the config file and parses the property strings.
    pub fn load(&self) -> Result<Sources, LoadError> {
        let file = match self.config_file.as_deref() {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| LoadError::Read(format!("Cannot read config-file {path}: {e}")))?;
                let g = if is_nvdsanalytics(&text) {
                    config::parse_nvdsanalytics(&text, self.stream_id).map_err(|e| e.in_file(path))
                } else {
                    config::parse_file(&text, path)
                };
                Some(g.map_err(|e| LoadError::Config(format!("Invalid config-file: {e}")))?)
            }
            None => None,
        };
        let coordinates = match (self.reference_width, self.reference_height) {
            (0, 0) => file
                .as_ref()
                .map_or(Coordinates::Normalised, |f| f.coordinates),
            (w, h) if w > 0 && h > 0 => Coordinates::Pixels {
                width: f64::from(w),
                height: f64::from(h),
            },
            (w, h) => {
                return Err(LoadError::Config(format!(
                    "reference-width {w} and reference-height {h}: give both (or neither)"
                )))
            }
        };
        let text = |s: &Option<String>| s.clone().unwrap_or_default();
        let properties = Geometry {
            coordinates,
            zones: config::parse_zone_property(&text(&self.zones))
                .map_err(config_err("Invalid zones"))?,
            lines: config::parse_line_property(&text(&self.lines))
                .map_err(config_err("Invalid lines"))?,
            directions: config::parse_direction_property(&text(&self.directions))
                .map_err(config_err("Invalid directions"))?,
            frame_max_objects: None,
        };
        let sources = Sources { file, properties };
        let merged = sources.for_frame(1920.0, 1080.0);
        let nothing = merged.zones.is_empty()
            && merged.lines.is_empty()
            && merged.directions.is_empty()
            && merged.frame_max_objects.is_none();
        if nothing {
            let why = if sources.file.is_some() {
                " (the config-file has none for this stream-id)"
            } else {
                ""
            };
            return Err(LoadError::Config(format!(
                "No geometry: give config-file, zones, lines or directions{why}"
            )));
        }
        geometry::validate(&merged).map_err(|e| {
            LoadError::Config(format!("The config-file and the properties disagree: {e}"))
        })?;
        Ok(sources)
    }
}

impl Sources {
    /// The file's and the properties' geometry together, in pixels of a `w` x `h` frame.
    pub fn for_frame(&self, w: f64, h: f64) -> Geometry {
        let mut g = to_frame(&self.properties, w, h);
        if let Some(f) = &self.file {
            let f = to_frame(f, w, h);
            g.frame_max_objects = f.frame_max_objects;
            g.zones.splice(0..0, f.zones);
            g.lines.splice(0..0, f.lines);
            g.directions.splice(0..0, f.directions);
        }
        g
    }
}

pub fn properties() -> Vec<glib::ParamSpec> {
    let geometry = |name: &'static str, nick: &'static str, blurb: &'static str| {
        glib::ParamSpecString::builder(name)
            .nick(nick)
            .blurb(blurb)
            .mutable_ready()
            .build()
    };
    let size = |name: &'static str, nick: &'static str, blurb: &'static str| {
        glib::ParamSpecUInt::builder(name)
            .nick(nick)
            .blurb(blurb)
            .maximum(65_535)
            .default_value(DEFAULT_REFERENCE_SIZE)
            .mutable_ready()
            .build()
    };
    vec![
        geometry(
            "config-file",
            "Config file",
            "Geometry file (rsvision's [geometry]/[zone.NAME]/[line.NAME]/[direction.NAME] groups, or DeepStream's nvdsanalytics file, told apart by its [property] and *-stream-N groups)",
        ),
        glib::ParamSpecUInt::builder("stream-id")
            .nick("Stream id")
            .blurb("Which stream's groups (N of [roi-filtering-stream-N] ...) of a DeepStream nvdsanalytics config-file apply")
            .maximum(1023)
            .default_value(DEFAULT_STREAM_ID)
            .mutable_ready()
            .build(),
        geometry(
            "zones",
            "Zones",
            "Zones NAME:x;y;x;y;x;y[;...] separated by |, e.g. door:10;10;100;10;100;100;10;100",
        ),
        geometry(
            "lines",
            "Lines",
            "Lines NAME:x1;y1;x2;y2[;dx1;dy1;dx2;dy2] separated by |; the optional segment points to the 'in' side",
        ),
        geometry(
            "directions",
            "Directions",
            "Directions NAME:x1;y1;x2;y2 separated by |",
        ),
        size(
            "reference-width",
            "Reference width",
            "Width of the frame the zones/lines/directions properties are written for (0 with reference-height 0: the config-file's reference size, or normalised 0..1 without a file)",
        ),
        size(
            "reference-height",
            "Reference height",
            "Height of the frame the zones/lines/directions properties are written for (see reference-width)",
        ),
        glib::ParamSpecBoolean::builder("post-messages")
            .nick("Post messages")
            .blurb("Post rsanalytics-crossing, -zone, -loitering and -overcrowding element messages")
            .default_value(DEFAULT_POST_MESSAGES)
            .mutable_playing()
            .build(),
        glib::ParamSpecBoxed::builder::<gst::Structure>("stats")
            .nick("Statistics")
            .blurb("rsanalytics-stats: guint64 line-NAME-in, line-NAME-out per line, zone-NAME-count, zone-NAME-entries per zone")
            .read_only()
            .build(),
    ]
}

pub static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(properties);

fn text(value: &glib::Value) -> Option<String> {
    value
        .get::<Option<String>>()
        .expect("type checked upstream")
        .filter(|v| !v.trim().is_empty())
}

impl Settings {
    pub fn set(&mut self, value: &glib::Value, name: &str) {
        match name {
            "config-file" => self.config_file = text(value),
            "stream-id" => self.stream_id = value.get().expect("type checked upstream"),
            "zones" => self.zones = text(value),
            "lines" => self.lines = text(value),
            "directions" => self.directions = text(value),
            "reference-width" => self.reference_width = value.get().expect("type checked upstream"),
            "reference-height" => {
                self.reference_height = value.get().expect("type checked upstream")
            }
            "post-messages" => self.post_messages = value.get().expect("type checked upstream"),
            _ => unimplemented!(),
        }
    }

    pub fn get(&self, name: &str) -> glib::Value {
        match name {
            "config-file" => self.config_file.to_value(),
            "stream-id" => self.stream_id.to_value(),
            "zones" => self.zones.to_value(),
            "lines" => self.lines.to_value(),
            "directions" => self.directions.to_value(),
            "reference-width" => self.reference_width.to_value(),
            "reference-height" => self.reference_height.to_value(),
            "post-messages" => self.post_messages.to_value(),
            _ => unimplemented!(),
        }
    }
}
