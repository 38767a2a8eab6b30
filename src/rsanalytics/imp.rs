/**
 * element-rsanalytics:
 *
 * Zone and line analytics on tracked objects: which zones each object is in and for how
 * long, which lines it crosses and which way, which named directions it moves in, zone
 * occupancy, loitering and overcrowding. A pass-through on raw video placed after
 * `rstracker`: pixels are never touched, results are added to the metadata (see
 * [`crate::detection::analytics`] for every structure and field). Zone occupancy works
 * without track ids; line crossings, dwell times, loitering and directions need them (a
 * warning says so once when objects come without ids).
 *
 * Geometry comes from `config-file` (rsvision's geometry file, or DeepStream's
 * nvdsanalytics configuration file unchanged, `stream-id` choosing its `*-stream-N` groups;
 * see [`crate::analytics::config`] for both formats) and from the `zones`, `lines` and
 * `directions` properties, written for a `reference-width` x `reference-height` frame (both
 * 0: the file's reference size, or normalised 0..1 without a file). Everything is rescaled
 * to the negotiated frame size; when the caps change size mid-stream, the geometry and the
 * tracks' remembered positions are rescaled and the counts go on (an info message says so).
 * The counting rules (hysteresis on lines, zone `inertia`,
 * dwell from the buffers' running time) are [`crate::analytics::count`]'s.
 *
 * Per frame it writes an `analytics` structure on every top-level region meta and an
 * `RsvisionAnalyticsMeta` custom meta (counts, events, and the geometry in frame pixels for
 * `rsoverlay` to draw), and (with `post-messages`) posts the element
 * messages `rsanalytics-crossing`, `rsanalytics-zone`, `rsanalytics-loitering` and
 * `rsanalytics-overcrowding`. The read-only `stats` property has the running counts; they
 * restart on a flush and with the `reset` action signal.
 *
 * ## Example launch line
 * ```text
 * gst-launch-1.0 -m filesrc location=data/sample-shapes.mp4 ! decodebin ! videoconvert ! rsinfer model-location=models/rsvision-shapes.onnx ! rstracker ! rsanalytics lines="middle:0.5;0;0.5;1" zones="left:0;0;0.5;0;0.5;1;0;1" ! fakesink
 * gst-launch-1.0 -m filesrc location=data/sample-shapes.mp4 ! decodebin ! videoconvert ! rsinfer model-location=models/rsvision-shapes.onnx ! rstracker ! rsanalytics config-file=data/rsanalytics-nvdsanalytics.txt ! fakesink
 * ```
 *
 * Since: plugins-rs-0.1.0
 */
use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::prelude::*;

use super::meta;
use super::settings::{self, LoadError, Settings, Sources};
use crate::analytics::count::{Analytics, FrameResult};
use crate::detection::analytics::FrameShapes;
use crate::video;

// Lock order: `settings` and `state` are leaf locks, each taken alone, never while posting
// a message.

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "rsanalytics",
        gst::DebugColorFlags::empty(),
        Some("rsvision zone and line analytics"),
    )
});

struct State {
    sources: Sources,
    /// The engine for the negotiated frame size (from the caps).
    engine: Option<Analytics>,
    width: u32,
    height: u32,
    /// The geometry's shapes in frame pixels, for the frame meta.
    shapes: FrameShapes,
    result: FrameResult,
    /// The warning about objects without track ids was given.
    warned_untracked: bool,
    /// Stream time of the latest buffer (ms), for buffers without timestamps.
    last_time_ms: u64,
}

#[derive(Default)]
pub struct RsAnalytics {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
}

#[glib::object_subclass]
impl ObjectSubclass for RsAnalytics {
    const NAME: &'static str = "GstRsAnalytics";
    type Type = super::RsAnalytics;
    type ParentType = gst_base::BaseTransform;
}

impl RsAnalytics {
    fn reset(&self, why: &str) {
        if let Some(engine) = self
            .state
            .lock()
            .unwrap()
            .as_mut()
            .and_then(|s| s.engine.as_mut())
        {
            engine.reset();
            gst::debug!(CAT, imp = self, "{}: counts reset", why);
        }
    }

    fn stats(&self) -> gst::Structure {
        let mut b = gst::Structure::builder("rsanalytics-stats");
        let guard = self.state.lock().unwrap();
        let Some(state) = guard.as_ref() else {
            return b.build();
        };
        // Before the caps: every zone and line at 0.
        let stats = match state.engine.as_ref() {
            Some(engine) => engine.stats(),
            None => Analytics::new(state.sources.for_frame(1.0, 1.0)).stats(),
        };
        drop(guard);
        for l in &stats.lines {
            b = b
                .field(format!("line-{}-in", l.name), l.in_count)
                .field(format!("line-{}-out", l.name), l.out_count);
        }
        for z in &stats.zones {
            b = b
                .field(format!("zone-{}-count", z.name), z.count)
                .field(format!("zone-{}-entries", z.name), z.entries);
        }
        b.build()
    }
}

impl ObjectImpl for RsAnalytics {
    fn properties() -> &'static [glib::ParamSpec] {
        settings::PROPERTIES.as_ref()
    }

    fn signals() -> &'static [glib::subclass::Signal] {
        static SIGNALS: LazyLock<Vec<glib::subclass::Signal>> = LazyLock::new(|| {
            vec![glib::subclass::Signal::builder("reset")
                .action()
                .class_handler(|args| {
                    let element = args[0].get::<super::RsAnalytics>().expect("signal arg");
                    element.imp().reset("reset signal");
                    None
                })
                .build()]
        });
        SIGNALS.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        self.settings.lock().unwrap().set(value, pspec.name());
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        if pspec.name() == "stats" {
            return self.stats().to_value();
        }
        self.settings.lock().unwrap().get(pspec.name())
    }
}

impl GstObjectImpl for RsAnalytics {}

impl ElementImpl for RsAnalytics {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static ELEMENT_METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "rsvision zone and line analytics",
                "Filter/Analyzer/Video",
                "Counts line crossings, zone entries, dwell times, loitering and overcrowding of tracked objects",
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

impl BaseTransformImpl for RsAnalytics {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = self.settings.lock().unwrap().clone();
        let sources = settings.load().map_err(|e| match e {
            LoadError::Read(m) => gst::error_msg!(gst::ResourceError::OpenRead, ("{}", m)),
            LoadError::Config(m) => gst::error_msg!(gst::LibraryError::Settings, ("{}", m)),
        })?;
        gst::debug!(CAT, imp = self, "Started with {:?}", sources);
        *self.state.lock().unwrap() = Some(State {
            sources,
            engine: None,
            width: 0,
            height: 0,
            shapes: FrameShapes::default(),
            result: FrameResult::default(),
            warned_untracked: false,
            last_time_ms: 0,
        });
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        self.state.lock().unwrap().take();
        gst::debug!(CAT, imp = self, "Stopped");
        Ok(())
    }

    fn set_caps(&self, incaps: &gst::Caps, _outcaps: &gst::Caps) -> Result<(), gst::LoggableError> {
        let info = gst_video::VideoInfo::from_caps(incaps)
            .map_err(|_| gst::loggable_error!(CAT, "Invalid caps {}", incaps))?;
        let (w, h) = (info.width(), info.height());
        let restarted = {
            let mut guard = self.state.lock().unwrap();
            let Some(state) = guard.as_mut() else {
                return Err(gst::loggable_error!(CAT, "Caps before start"));
            };
            if state.engine.is_some() && (state.width, state.height) == (w, h) {
                return Ok(());
            }
            let geometry = state.sources.for_frame(f64::from(w), f64::from(h));
            state.shapes = meta::shapes(&geometry, w, h);
            let restarted = match state.engine.as_mut() {
                Some(engine) => {
                    let (sx, sy) = (
                        f64::from(w) / f64::from(state.width.max(1)),
                        f64::from(h) / f64::from(state.height.max(1)),
                    );
                    let rescaled = engine.rescale(geometry.clone(), sx, sy);
                    if !rescaled {
                        *engine = Analytics::new(geometry);
                    }
                    Some((state.width, state.height, rescaled))
                }
                None => {
                    state.engine = Some(Analytics::new(geometry));
                    None
                }
            };
            state.width = w;
            state.height = h;
            restarted
        };
        gst::debug!(CAT, imp = self, "Caps {}", incaps);
        if let Some((w0, h0, rescaled)) = restarted {
            let what = if rescaled {
                "geometry and tracks rescaled, counts go on"
            } else {
                "geometry rescaled, counts restart"
            };
            gst::element_imp_info!(
                self,
                gst::StreamError::Format,
                (
                    "Frame size changed from {}x{} to {}x{}: {}",
                    w0,
                    h0,
                    w,
                    h,
                    what
                )
            );
        }
        Ok(())
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        if let gst::EventView::FlushStop(_) = event.view() {
            self.reset("Flush");
        }
        self.parent_sink_event(event)
    }

    fn transform_ip(&self, buf: &mut gst::BufferRef) -> Result<gst::FlowSuccess, gst::FlowError> {
        let post_messages = self.settings.lock().unwrap().post_messages;
        let pts = buf.pts();
        let running_time = pts.and_then(|pts| {
            self.obj()
                .segment()
                .downcast_ref::<gst::ClockTime>()
                .and_then(|s| s.to_running_time(pts))
        });
        let (pts_ns, rt_ns) = (
            pts.map(|t| t.nseconds()),
            running_time.map(|t| t.nseconds()),
        );
        let name = self.obj().name();
        let mut warn_untracked = false;
        let events = {
            let mut guard = self.state.lock().unwrap();
            let Some(state) = guard.as_mut() else {
                return Err(gst::FlowError::Flushing);
            };
            let State {
                engine: Some(engine),
                width,
                height,
                shapes,
                result,
                ..
            } = state
            else {
                return Err(gst::FlowError::NotNegotiated);
            };
            let objects = meta::read(buf, *width, *height);
            let time_ms = rt_ns
                .or(pts_ns)
                .map_or(state.last_time_ms, |t| t / 1_000_000);
            engine.update_into(time_ms, &objects.engine_objects(), result);
            let geometry = engine.geometry();
            let per_object = meta::object_analytics(geometry, result);
            let events = meta::event_structures(geometry, result, pts_ns, rt_ns);
            let frame = meta::frame(
                name.as_str(),
                geometry,
                result,
                events.clone(),
                shapes.clone(),
            );
            meta::write(buf, &objects, &per_object, &frame);
            gst::trace!(
                CAT,
                imp = self,
                "{} objects, {} events at {} ms",
                objects.detections.len(),
                events.len(),
                time_ms
            );
            state.last_time_ms = time_ms;
            if !state.warned_untracked && objects.any_untracked() {
                state.warned_untracked = true;
                warn_untracked = true;
            }
            events
        };
        if warn_untracked {
            gst::element_imp_warning!(
                self,
                gst::StreamError::Format,
                (
                    "Objects without track ids: they count in zone occupancy only; line crossings, dwell times, loitering and directions need ids (put rstracker before rsanalytics)"
                )
            );
        }
        if post_messages {
            for s in events {
                let msg = gst::message::Element::builder(s).src(&*self.obj()).build();
                let _ = self.obj().post_message(msg);
            }
        }
        Ok(gst::FlowSuccess::Ok)
    }
}
