/**
 * element-rsoverlay:
 *
 * Draws the detections on each buffer, in place: the box outline in the class colour, and a
 * label with a filled background above the box (inside it when the box touches the top of
 * the frame) reading `person 0.87`, or `person #12 0.87` when a tracker set a track id.
 * Detections are the `GstVideoRegionOfInterestMeta`s on the buffer: rsinfer's, or any
 * element's using the same layout (DL Streamer's `detection` structure); a bare region
 * without one is drawn with its `roi_type` as label. Metas stay on the buffer.
 *
 * Input: I420, NV12, RGB, BGR, RGBA, BGRA, RGBx, BGRx (the formats rsinfer reads), so
 * `decodebin ! rsinfer ! rsoverlay ! x264enc` needs no `videoconvert`. Colours look the same
 * in every format: the palette is converted once to the frame's Y'CbCr (BT.601/709/2020,
 * limited or full range, from the caps); in I420/NV12 a chroma sample shared by drawn and
 * undrawn pixels is blended in proportion. Buffers with nothing to draw (no box, label,
 * pixelation, trail or statistics) pass through untouched (not even made writable).
 *
 * Colours: class id `i` gets colour `i mod 20` of Ultralytics' palette; `colors` overrides
 * per label or class id (`person:#ff0000,car:#00ff00,3:#0000ff`). Text is black on light
 * colours, white on dark ones. Text uses the embedded DejaVu Sans (Latin, Greek, Cyrillic...),
 * anti-aliased, rasterised once per size; `font-location` loads another font (e.g. for CJK
 * labels).
 *
 * `classes` draws only the listed labels or class ids; `blur-classes` pixelates the inside of
 * the listed classes' boxes (privacy masking, drawn or not); `show-stats` writes the frame
 * rate and the object count in the top-left corner. Everything but `font-location` may
 * change while PLAYING. A `colors` value that does not parse is refused with a warning
 * (the previous colours stay) and makes a following start fail with a clear error.
 *
 * Tracked objects (rstracker's `tracking` structure):
 * - a box the tracker predicted (`predicted=true`: no detection matched it on this frame) is
 *   drawn in `predicted-style`: `dashed` (default) draws its outline in dashes of
 *   `max(4, 3 * line-width)` pixels with gaps of `max(3, 2 * line-width)`, running along
 *   each side from both corners (corners always drawn), in the class colour; `solid` draws
 *   it as a detected box, `thin` as a 1 px outline, `hidden` not at all (no box, no label,
 *   not counted by `show-stats`; `blur-classes` still pixelates it). The label is the same
 *   as a detected box's.
 * - `show-trails=true` draws, under the boxes, each track's path: a polyline through its box
 *   centres over the last `trail-length` frames (oldest to newest), `max(1, line-width / 2)`
 *   pixels thick, in the class colour of its latest box, for the classes `classes` draws
 *   (points of predicted boxes are left out when `predicted-style=hidden`). A trail stays
 *   after its object is gone and shortens by one point per frame; a track not seen for
 *   `trail-length` frames is forgotten, and at most 4096 tracks are remembered (the one seen
 *   longest ago goes first). Trails are forgotten on flush, on a new stream, on a change of
 *   frame size, when `show-trails` is turned off and on stop. A frame with no detection but
 *   a trail to draw is drawn; one with neither passes through untouched.
 *
 * Zone and line analytics (rsanalytics' `RsvisionAnalyticsMeta` and each object's
 * `analytics` structure; see `src/draw/analytics.rs` for the exact layout):
 * - `show-zones` (default on): each zone's outline (and its holes') in the zone's colour
 *   (`colors` may name the zone: `door:#00ff00`; otherwise a palette colour from its name),
 *   its inside blended at `zone-alpha` (0.25) while it holds objects, red when overcrowded,
 *   and its name and count at its topmost point;
 * - `show-lines` (default on): each line, an arrow from its middle to its `in` side and
 *   `name in N out M` on the other side;
 * - `show-dwell` (default on): under each tracked object's box, the time it has been in
 *   each of its zones (`door 12s`, `hall 1:05`), on red while loitering.
 *
 * The geometry is in the pixels rsanalytics saw, rescaled if the frame size differs here.
 * A frame whose only drawing is zones or lines is drawn (not passed through).
 *
 * ## Example launch lines
 * ```text
 * gst-launch-1.0 filesrc location=data/sample-shapes.mp4 ! decodebin ! rsinfer model-location=models/rsvision-shapes.onnx conf-threshold=0.5 ! rsoverlay show-stats=true ! videoconvert ! autovideosink
 * gst-launch-1.0 filesrc location=data/sample-shapes.mp4 ! decodebin ! rsinfer model-location=models/rsvision-shapes.onnx conf-threshold=0.5 inference-interval=3 ! rstracker ! rsoverlay show-trails=true trail-length=60 predicted-style=dashed ! videoconvert ! autovideosink
 * gst-launch-1.0 filesrc location=data/sample-shapes.mp4 ! decodebin ! rsinfer model-location=models/rsvision-shapes.onnx conf-threshold=0.5 ! rstracker ! rsanalytics lines="middle:0.5;0.1;0.5;0.9" zones="left:0.05;0.05;0.45;0.05;0.45;0.95;0.05;0.95" ! rsoverlay zone-alpha=0.3 ! videoconvert ! autovideosink
 * ```
 *
 * Since: plugins-rs-0.1.0
 */
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Instant;

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::prelude::*;

use super::analytics;
use super::PredictedStyle;
use crate::detection::{self, Detection};
use crate::draw::{self, Canvas, ClassSet, ColorMap, Renderer, Scene, Style, TrailStore};
use crate::preprocess::{Colorimetry, PixelFormat};
use crate::video;

// Lock order: `settings` is a leaf lock, taken alone and released at once; `state` is only
// taken by the streaming thread and start/stop/set_caps/sink_event. No lock is held while
// posting or forwarding an event.

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "rsoverlay",
        gst::DebugColorFlags::empty(),
        Some("rsvision detection overlay"),
    )
});

const DEFAULT_SHOW_LABELS: bool = true;
const DEFAULT_SHOW_CONFIDENCE: bool = true;
const DEFAULT_LINE_WIDTH: u32 = 2;
const DEFAULT_FONT_SIZE: u32 = 16;
const DEFAULT_SHOW_STATS: bool = false;
const DEFAULT_PREDICTED_STYLE: PredictedStyle = PredictedStyle::Dashed;
const DEFAULT_SHOW_TRAILS: bool = false;
const DEFAULT_TRAIL_LENGTH: u32 = 30;
const MIN_TRAIL_LENGTH: u32 = 2;
const MAX_TRAIL_LENGTH: u32 = 1000;
/// Tracks whose trails are remembered at most (the one seen longest ago is dropped first).
const MAX_TRAIL_TRACKS: usize = draw::trails::DEFAULT_MAX_TRACKS;
const MAX_LINE_WIDTH: u32 = 1000;
const MIN_FONT_SIZE: u32 = 4;
const MAX_FONT_SIZE: u32 = 512;
const DEFAULT_SHOW_ZONES: bool = true;
const DEFAULT_SHOW_LINES: bool = true;
const DEFAULT_SHOW_DWELL: bool = true;
const DEFAULT_ZONE_ALPHA: f64 = 0.25;

#[derive(Debug, Clone)]
struct Settings {
    /// What the drawing reads, shared with the streaming thread without copying.
    style: Arc<Style>,
    colors: Option<String>,
    /// Why the last `colors` value was refused.
    colors_error: Option<String>,
    classes: Option<String>,
    blur_classes: Option<String>,
    show_stats: bool,
    show_trails: bool,
    trail_length: u32,
    font_location: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            style: Arc::new(Style {
                line_width: DEFAULT_LINE_WIDTH,
                font_size: DEFAULT_FONT_SIZE,
                show_labels: DEFAULT_SHOW_LABELS,
                show_confidence: DEFAULT_SHOW_CONFIDENCE,
                predicted: DEFAULT_PREDICTED_STYLE.into(),
                analytics: draw::AnalyticsStyle {
                    zones: DEFAULT_SHOW_ZONES,
                    lines: DEFAULT_SHOW_LINES,
                    dwell: DEFAULT_SHOW_DWELL,
                    zone_alpha: (DEFAULT_ZONE_ALPHA * 255.0).round() as u8,
                },
                ..Style::default()
            }),
            colors: None,
            colors_error: None,
            classes: None,
            blur_classes: None,
            show_stats: DEFAULT_SHOW_STATS,
            show_trails: DEFAULT_SHOW_TRAILS,
            trail_length: DEFAULT_TRAIL_LENGTH,
            font_location: None,
        }
    }
}

/// Frame rate over the last second of wall-clock time (the rate frames go through).
struct RateMeter {
    window_start: Option<Instant>,
    frames: u32,
    fps: Option<f64>,
}

impl RateMeter {
    fn tick(&mut self, now: Instant) {
        let start = *self.window_start.get_or_insert(now);
        self.frames += 1;
        let elapsed = now.duration_since(start).as_secs_f64();
        if elapsed >= 1.0 {
            self.fps = Some(f64::from(self.frames - 1) / elapsed);
            self.window_start = Some(now);
            self.frames = 1;
        }
    }
}

struct State {
    renderer: Renderer,
    format: Option<PixelFormat>,
    colorimetry: Colorimetry,
    info: Option<gst_video::VideoInfo>,
    rate: RateMeter,
    /// Recent box centres per track id (`show-trails`), updated on every frame.
    trails: TrailStore,
    /// The detections `before_transform` read, for `transform_ip` on the same buffer: keyed
    /// by its PTS and meta count.
    pending: Option<(Option<gst::ClockTime>, usize, Vec<Detection>)>,
    frames: u64,
    drawn: u64,
}

#[derive(Default)]
pub struct RsOverlay {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
}

#[glib::object_subclass]
impl ObjectSubclass for RsOverlay {
    const NAME: &'static str = "GstRsOverlay";
    type Type = super::RsOverlay;
    type ParentType = gst_base::BaseTransform;
}

impl RsOverlay {
    /// Applies `f` to a copy of the style and stores it.
    fn update_style(&self, f: impl FnOnce(&mut Style)) {
        let mut s = self.settings.lock().unwrap();
        let mut style = (*s.style).clone();
        f(&mut style);
        s.style = Arc::new(style);
    }
}

impl ObjectImpl for RsOverlay {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecBoolean::builder("show-labels")
                    .nick("Show labels")
                    .blurb("Write the class name (and track id) in the label")
                    .default_value(DEFAULT_SHOW_LABELS)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("show-confidence")
                    .nick("Show confidence")
                    .blurb("Write the confidence in the label")
                    .default_value(DEFAULT_SHOW_CONFIDENCE)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("line-width")
                    .nick("Line width")
                    .blurb("Box outline thickness in pixels, drawn inside the box (0 = no outline)")
                    .maximum(MAX_LINE_WIDTH)
                    .default_value(DEFAULT_LINE_WIDTH)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("font-size")
                    .nick("Font size")
                    .blurb("Label text size in pixels")
                    .minimum(MIN_FONT_SIZE)
                    .maximum(MAX_FONT_SIZE)
                    .default_value(DEFAULT_FONT_SIZE)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("colors")
                    .nick("Colors")
                    .blurb(
                        "Class colours as label:#rrggbb or class-id:#rrggbb, comma-separated \
                         (e.g. person:#ff0000,car:#00ff00); others use the default palette",
                    )
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("classes")
                    .nick("Classes")
                    .blurb("Comma-separated labels (or class ids) to draw; empty draws all")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("blur-classes")
                    .nick("Blur classes")
                    .blurb(
                        "Comma-separated labels (or class ids) whose boxes are pixelated \
                         (privacy masking)",
                    )
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("show-stats")
                    .nick("Show statistics")
                    .blurb("Write the frame rate and the object count in the top-left corner")
                    .default_value(DEFAULT_SHOW_STATS)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecEnum::builder_with_default(
                    "predicted-style",
                    DEFAULT_PREDICTED_STYLE,
                )
                .nick("Predicted style")
                .blurb(
                    "How boxes a tracker predicted (no detection on this frame) are drawn: \
                         dashed outline, solid like detected boxes, thin 1 px outline, or hidden",
                )
                .mutable_playing()
                .build(),
                glib::ParamSpecBoolean::builder("show-trails")
                    .nick("Show trails")
                    .blurb(
                        "Draw each tracked object's path: its box centres over the last \
                         trail-length frames, in the class colour",
                    )
                    .default_value(DEFAULT_SHOW_TRAILS)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("trail-length")
                    .nick("Trail length")
                    .blurb(
                        "Frames of history in a trail; a track not seen for this many frames \
                         is forgotten",
                    )
                    .minimum(MIN_TRAIL_LENGTH)
                    .maximum(MAX_TRAIL_LENGTH)
                    .default_value(DEFAULT_TRAIL_LENGTH)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("show-zones")
                    .nick("Show zones")
                    .blurb(
                        "Draw rsanalytics' zones: outline, translucent fill while occupied, \
                         name and count",
                    )
                    .default_value(DEFAULT_SHOW_ZONES)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("show-lines")
                    .nick("Show lines")
                    .blurb("Draw rsanalytics' lines with their in direction and in/out counts")
                    .default_value(DEFAULT_SHOW_LINES)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("show-dwell")
                    .nick("Show dwell")
                    .blurb("Write the time each tracked object has been in its zones under its box")
                    .default_value(DEFAULT_SHOW_DWELL)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("zone-alpha")
                    .nick("Zone alpha")
                    .blurb("Opacity of an occupied zone's fill (0 = outline only)")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(DEFAULT_ZONE_ALPHA)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("font-location")
                    .nick("Font location")
                    .blurb("TrueType/OpenType font file for labels (empty = embedded DejaVu Sans)")
                    .mutable_ready()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let text = || {
            value
                .get::<Option<String>>()
                .expect("type checked upstream")
                .filter(|v| !v.trim().is_empty())
        };
        match pspec.name() {
            "show-labels" => {
                let v = value.get().expect("type checked upstream");
                self.update_style(|s| s.show_labels = v);
            }
            "show-confidence" => {
                let v = value.get().expect("type checked upstream");
                self.update_style(|s| s.show_confidence = v);
            }
            "line-width" => {
                let v = value.get().expect("type checked upstream");
                self.update_style(|s| s.line_width = v);
            }
            "font-size" => {
                let v = value.get().expect("type checked upstream");
                self.update_style(|s| s.font_size = v);
            }
            "colors" => {
                let v = text();
                match ColorMap::parse(v.as_deref().unwrap_or("")) {
                    Ok(map) => {
                        self.update_style(|s| s.colors = map);
                        let mut s = self.settings.lock().unwrap();
                        s.colors = v;
                        s.colors_error = None;
                    }
                    Err(e) => {
                        let msg = format!("Invalid colors '{}': {e}", v.unwrap_or_default());
                        gst::warning!(CAT, imp = self, "{msg}; keeping the previous colours");
                        self.settings.lock().unwrap().colors_error = Some(msg.clone());
                        gst::element_imp_warning!(
                            self,
                            gst::LibraryError::Settings,
                            ("{}; keeping the previous colours", msg)
                        );
                    }
                }
            }
            "classes" => {
                let v = text();
                let set = v.as_deref().and_then(ClassSet::parse);
                self.update_style(|s| s.classes = set);
                self.settings.lock().unwrap().classes = v;
            }
            "blur-classes" => {
                let v = text();
                let set = v.as_deref().and_then(ClassSet::parse);
                self.update_style(|s| s.blur_classes = set);
                self.settings.lock().unwrap().blur_classes = v;
            }
            "show-stats" => {
                self.settings.lock().unwrap().show_stats =
                    value.get().expect("type checked upstream")
            }
            "predicted-style" => {
                let v: PredictedStyle = value.get().expect("type checked upstream");
                self.update_style(|s| s.predicted = v.into());
            }
            "show-trails" => {
                self.settings.lock().unwrap().show_trails =
                    value.get().expect("type checked upstream")
            }
            "trail-length" => {
                self.settings.lock().unwrap().trail_length =
                    value.get().expect("type checked upstream")
            }
            "show-zones" => {
                let v = value.get().expect("type checked upstream");
                self.update_style(|s| s.analytics.zones = v);
            }
            "show-lines" => {
                let v = value.get().expect("type checked upstream");
                self.update_style(|s| s.analytics.lines = v);
            }
            "show-dwell" => {
                let v = value.get().expect("type checked upstream");
                self.update_style(|s| s.analytics.dwell = v);
            }
            "zone-alpha" => {
                let v: f64 = value.get().expect("type checked upstream");
                self.update_style(|s| s.analytics.zone_alpha = (v * 255.0).round() as u8);
            }
            "font-location" => self.settings.lock().unwrap().font_location = text(),
            _ => unimplemented!(),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let s = self.settings.lock().unwrap();
        match pspec.name() {
            "show-labels" => s.style.show_labels.to_value(),
            "show-confidence" => s.style.show_confidence.to_value(),
            "line-width" => s.style.line_width.to_value(),
            "font-size" => s.style.font_size.to_value(),
            "colors" => s.colors.to_value(),
            "classes" => s.classes.to_value(),
            "blur-classes" => s.blur_classes.to_value(),
            "show-stats" => s.show_stats.to_value(),
            "predicted-style" => PredictedStyle::from(s.style.predicted).to_value(),
            "show-trails" => s.show_trails.to_value(),
            "trail-length" => s.trail_length.to_value(),
            "show-zones" => s.style.analytics.zones.to_value(),
            "show-lines" => s.style.analytics.lines.to_value(),
            "show-dwell" => s.style.analytics.dwell.to_value(),
            "zone-alpha" => (f64::from(s.style.analytics.zone_alpha) / 255.0).to_value(),
            "font-location" => s.font_location.to_value(),
            _ => unimplemented!(),
        }
    }
}

impl GstObjectImpl for RsOverlay {}

impl ElementImpl for RsOverlay {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static ELEMENT_METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "rsvision detection overlay",
                "Filter/Effect/Video",
                "Draws detections (boxes, labels, confidence) on the video, in place",
                "rsvision developers",
            )
        });
        Some(&*ELEMENT_METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static PAD_TEMPLATES: LazyLock<Vec<gst::PadTemplate>> =
            LazyLock::new(|| video::filter_pad_templates(&video::raw_caps()));
        PAD_TEMPLATES.as_ref()
    }
}

impl BaseTransformImpl for RsOverlay {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let (font_location, font_size, colors_error) = {
            let s = self.settings.lock().unwrap();
            (
                s.font_location.clone(),
                s.style.font_size,
                s.colors_error.clone(),
            )
        };
        if let Some(e) = colors_error {
            return Err(gst::error_msg!(gst::LibraryError::Settings, ("{}", e)));
        }
        let font = match font_location {
            Some(path) => draw::load_font(std::path::Path::new(&path))
                .map_err(|e| gst::error_msg!(gst::ResourceError::OpenRead, ("Font: {}", e)))?,
            None => draw::embedded_font(),
        };
        *self.state.lock().unwrap() = Some(State {
            renderer: Renderer::new(font, font_size),
            format: None,
            colorimetry: Colorimetry::default(),
            info: None,
            rate: RateMeter {
                window_start: None,
                frames: 0,
                fps: None,
            },
            trails: TrailStore::new(MAX_TRAIL_TRACKS),
            pending: None,
            frames: 0,
            drawn: 0,
        });
        gst::debug!(CAT, imp = self, "Started");
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        if let Some(state) = self.state.lock().unwrap().take() {
            gst::debug!(
                CAT,
                imp = self,
                "Stopped after {} frames, {} detections drawn, {} glyphs cached",
                state.frames,
                state.drawn,
                state.renderer.glyphs().cached()
            );
        }
        Ok(())
    }

    fn set_caps(&self, incaps: &gst::Caps, _outcaps: &gst::Caps) -> Result<(), gst::LoggableError> {
        let info = gst_video::VideoInfo::from_caps(incaps)
            .map_err(|_| gst::loggable_error!(CAT, "Invalid caps {}", incaps))?;
        let format = video::pixel_format(info.format())
            .ok_or_else(|| gst::loggable_error!(CAT, "Unsupported format {:?}", info.format()))?;
        let colorimetry = video::colorimetry(&info);
        let mut guard = self.state.lock().unwrap();
        let Some(state) = guard.as_mut() else {
            return Err(gst::loggable_error!(CAT, "Caps before start"));
        };
        gst::debug!(CAT, imp = self, "Caps {:?}, {:?}", incaps, colorimetry);
        let resized = state
            .info
            .as_ref()
            .is_some_and(|old| (old.width(), old.height()) != (info.width(), info.height()));
        if resized {
            // Trails are in the old frame's pixels.
            state.trails.clear();
        }
        state.format = Some(format);
        state.colorimetry = colorimetry;
        state.info = Some(info);
        Ok(())
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        if let gst::EventView::FlushStop(_) | gst::EventView::StreamStart(_) = event.view() {
            if let Some(state) = self.state.lock().unwrap().as_mut() {
                gst::debug!(
                    CAT,
                    imp = self,
                    "{:?}: forgetting {} trails",
                    event.type_(),
                    state.trails.len()
                );
                state.trails.clear();
            }
        }
        self.parent_sink_event(event)
    }

    fn before_transform(&self, buf: &gst::BufferRef) {
        // Decide per buffer whether there is anything to draw: if not, the buffer passes
        // through without being made writable (no copy when it is shared, e.g. after a tee).
        // Trails are updated here, as every buffer comes by here, passed through or not.
        let (style, show_stats, show_trails, trail_length) = {
            let s = self.settings.lock().unwrap();
            (s.style.clone(), s.show_stats, s.show_trails, s.trail_length)
        };
        let count = detection::count(buf);
        let draw = match self.state.lock().unwrap().as_mut() {
            None => show_stats || count > 0,
            Some(state) => {
                state.frames += 1;
                state.rate.tick(Instant::now());
                state.pending = None;
                let size = state.info.as_ref().map(|i| (i.width(), i.height()));
                let detections = match size {
                    Some((w, h)) if count > 0 && (show_trails || !show_stats) => {
                        Some(detection::read(buf, w, h))
                    }
                    _ => None,
                };
                let mut draw = show_stats
                    || (size.is_none() && count > 0)
                    || analytics::has_drawable(buf, &style.analytics);
                if let Some(dets) = &detections {
                    draw |= dets.iter().any(|d| style.draws(d) || style.blurs(d));
                }
                if show_trails {
                    state
                        .trails
                        .push_frame(trail_length, detections.iter().flatten());
                    draw |= state.trails.has_drawable(&style);
                } else if !state.trails.is_empty() {
                    state.trails.clear();
                }
                if let Some(dets) = detections.filter(|_| draw) {
                    state.pending = Some((buf.pts(), count, dets));
                }
                draw
            }
        };
        if self.obj().is_passthrough() == draw {
            self.obj().set_passthrough(!draw);
        }
    }

    fn transform_ip(&self, buf: &mut gst::BufferRef) -> Result<gst::FlowSuccess, gst::FlowError> {
        let (style, show_stats, show_trails) = {
            let s = self.settings.lock().unwrap();
            (s.style.clone(), s.show_stats, s.show_trails)
        };
        let mut guard = self.state.lock().unwrap();
        let Some(state) = guard.as_mut() else {
            return Err(gst::FlowError::Flushing);
        };
        let (Some(info), Some(format)) = (state.info.as_ref(), state.format) else {
            return Err(gst::FlowError::NotNegotiated);
        };
        let detections = match state.pending.take() {
            Some((pts, count, dets)) if pts == buf.pts() && count == detection::count(buf) => dets,
            _ => detection::read(buf, info.width(), info.height()),
        };
        let view = analytics::read(buf, info.width(), info.height(), &style.analytics);
        let stats = show_stats.then(|| {
            let fps = match state.rate.fps {
                Some(fps) => format!("{fps:.1} fps"),
                None => "-- fps".to_string(),
            };
            let n = detections.iter().filter(|d| style.draws(d)).count();
            format!("{fps}  {n} object{}", if n == 1 { "" } else { "s" })
        });
        let mut frame = match gst_video::VideoFrameRef::from_buffer_ref_writable(buf, info) {
            Ok(frame) => frame,
            Err(_) => {
                drop(guard);
                gst::element_imp_error!(
                    self,
                    gst::CoreError::Failed,
                    ("Could not map the frame for writing")
                );
                return Err(gst::FlowError::Error);
            }
        };
        let strides: Vec<usize> = frame
            .plane_stride()
            .iter()
            .map(|&s| s.max(0) as usize)
            .collect();
        let (width, height) = (frame.width(), frame.height());
        let planes: Vec<&mut [u8]> = frame.planes_data_mut().into_iter().collect();
        let mut canvas = match Canvas::new(format, width, height, planes, &strides) {
            Ok(c) => c,
            Err(e) => {
                drop(guard);
                gst::element_imp_error!(self, gst::StreamError::Format, ("Bad frame: {}", e));
                return Err(gst::FlowError::Error);
            }
        };
        let scene = Scene {
            detections: &detections,
            trails: show_trails.then_some(&state.trails),
            stats: stats.as_deref(),
            analytics: view.as_ref(),
        };
        let drawn = state
            .renderer
            .draw_scene(&mut canvas, state.colorimetry, &scene, &style);
        state.drawn += drawn as u64;
        gst::trace!(
            CAT,
            imp = self,
            "Drew {drawn} of {} detections",
            detections.len()
        );
        Ok(gst::FlowSuccess::Ok)
    }
}
