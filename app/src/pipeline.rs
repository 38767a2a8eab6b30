//! One source's pipeline, as a `gst-launch-1.0` description: what `rsvision check` prints
//! and what `rsvision run` builds (with `gst::parse::launch`), so the two never differ.
//!
//! ```text
//! SOURCE ! parsebin ! rssmartrecord name=record ! decodebin ! videoconvert
//!   ! queue name=q ! rsinfer name=infer0 ... ! rstracker name=tracker
//!   ! [rsinfer name=inferN inference-region=objects ... !] [rsanalytics name=analytics ... !]
//!   ! rsmsgbroker name=sink-events ...
//!   ! fakesink name=out
//! ```
//! With the web console on (`[web]`), the end is a tee with a second branch that makes the
//! console's JPEGs (see [`web_branch`]):
//! ```text
//!   ! tee name=webtee ! fakesink name=out webtee. ! queue name=webq leaky=downstream ...
//!   ! valve name=webvalve ! rsoverlay ! videoscale ! CAPS ! jpegenc ! appsink name=web
//! ```
//! Live sources keep near real time: the queue before inference is leaky (it drops the
//! oldest frame when inference falls behind); a file played live is paced by `clocksync`
//! before it, like a camera. Offline files keep every frame (a plain queue) and run as fast as they
//! can. rssmartrecord sits before the decoder (it records the encoded stream) only when the
//! source records.

use crate::config::{Config, FileMode, Input, RtspTransport, Source};

/// Names of the elements the runtime looks up in every source's pipeline.
pub const SOURCE: &str = "src";
pub const RECORDER: &str = "record";
pub const QUEUE: &str = "q";
pub const CONVERT: &str = "convert";
pub const TRACKER: &str = "tracker";
pub const ANALYTICS: &str = "analytics";
pub const OUTPUT: &str = "out";
/// The web console's branch (only with `[web] enabled`).
pub const WEB_TEE: &str = "webtee";
pub const WEB_QUEUE: &str = "webq";
pub const WEB_VALVE: &str = "webvalve";
pub const WEB_ENCODER: &str = "webenc";
pub const WEB_SINK: &str = "web";

/// The name of the rsinfer element of the source's `index`th model.
pub fn infer_name(index: usize) -> String {
    format!("infer{index}")
}

/// The name of the rsmsgbroker element feeding the sink `sink`.
pub fn sink_name(sink: &str) -> String {
    format!("sink-{sink}")
}

/// A string property value in launch syntax.
pub fn quote(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The description of `source`'s pipeline. `redact` hides credentials of RTSP URLs (for
/// printing); the pipeline that runs gets them.
pub fn describe(config: &Config, source: &Source, redact: bool) -> String {
    let mut parts: Vec<String> = Vec::new();
    let live = source.input.is_live();
    let encoded = match &source.input {
        Input::Rtsp {
            url,
            transport,
            latency,
        } => {
            let url = if redact {
                crate::config::redact_uri(url)
            } else {
                url.clone()
            };
            let protocols = match transport {
                RtspTransport::Tcp => "tcp",
                RtspTransport::Udp => "udp",
            };
            parts.push(format!(
                "rtspsrc name={SOURCE} location={} protocols={protocols} latency={}",
                quote(&url),
                latency.as_millis()
            ));
            true
        }
        Input::File { path, .. } => {
            parts.push(format!(
                "filesrc name={SOURCE} location={}",
                quote(&path.display().to_string())
            ));
            true
        }
        Input::V4l2 { device } => {
            parts.push(format!(
                "v4l2src name={SOURCE} device={}",
                quote(&device.display().to_string())
            ));
            false
        }
    };
    if encoded {
        if source.record {
            parts.push("parsebin".into());
            let record = config
                .record
                .as_ref()
                .expect("config validation: a recording source has [record]");
            parts.push(format!(
                "rssmartrecord name={RECORDER} location={} sensor-id={}{}",
                quote(&record.location.display().to_string()),
                quote(&source.id),
                record.props.launch()
            ));
        }
        parts.push("decodebin".into());
    }
    parts.push(format!("videoconvert name={CONVERT}"));
    if matches!(
        source.input,
        Input::File {
            mode: FileMode::Live,
            ..
        }
    ) {
        // A file decodes faster than real time: paced by the clock before the leaky queue,
        // it behaves like a camera (the queue then drops only what inference cannot take).
        parts.push("clocksync".into());
    }
    parts.push(if live {
        format!("queue name={QUEUE} leaky=downstream max-size-buffers=2 max-size-bytes=0 max-size-time=0")
    } else {
        format!("queue name={QUEUE} max-size-buffers=4 max-size-bytes=0 max-size-time=0")
    });
    // Detectors (and frame classifiers) first, then the tracker, then the models that run
    // on objects (secondary classifiers), so these see track ids and cache per track.
    // Elements are named in chain order: infer0 is the first, the last is the last.
    let chain = chain_models(config, source);
    let primary = chain
        .iter()
        .take_while(|m| !config.models[m.as_str()].on_objects())
        .count();
    for (index, name) in chain.iter().enumerate() {
        if index == primary {
            if let Some(tracker) = &source.tracker {
                parts.push(format!("rstracker name={TRACKER}{}", tracker.launch()));
            }
        }
        parts.push(format!(
            "rsinfer name={}{}",
            infer_name(index),
            config.models[name.as_str()].props.launch()
        ));
    }
    if primary == chain.len() {
        if let Some(tracker) = &source.tracker {
            parts.push(format!("rstracker name={TRACKER}{}", tracker.launch()));
        }
    }
    // Analytics last in the chain: on the tracks and every model's results, before the
    // brokers publish and the web branch draws them.
    if let Some(analytics) = &source.analytics {
        parts.push(format!(
            "rsanalytics name={ANALYTICS}{}",
            analytics.launch()
        ));
    }
    for sink in &source.sinks {
        let s = &config.sinks[sink];
        let index = source
            .source_index
            .map(|i| format!(" source-index={i}"))
            .unwrap_or_default();
        parts.push(format!(
            "rsmsgbroker name={} sensor-id={}{index}{}",
            sink_name(sink),
            quote(&source.id),
            s.props.launch()
        ));
    }
    // Never synchronised: live video arrives in real time anyway (a file in live mode is
    // paced by clocksync), and a sink waiting for each frame's running time plus the
    // pipeline latency (rtspsrc's 200 ms jitter buffer) would hold frames the two-frame
    // leaky queue then drops: a 30 fps camera came out at 10 fps.
    if config.web.enabled {
        parts.push(format!("tee name={WEB_TEE}"));
    }
    parts.push(format!("fakesink name={OUTPUT} sync=false"));
    let mut description = parts.join(" ! ");
    if config.web.enabled {
        description.push_str(&format!(" {WEB_TEE}. ! {}", web_branch(&config.web)));
    }
    description
}

/// The web console's branch off the tee before `out`: the annotated frames as JPEGs into
/// the appsink `web`, scaled down to fit `max-width` x `max-height` (videoscale keeps the
/// display aspect within the capsfilter's ranges, and never scales up).
///
/// - The queue holds one frame and drops the older one when the branch falls behind: the
///   main branch never waits for it.
/// - The valve is closed (`drop=true`) while no one watches ([`crate::web::tap`] opens it
///   for viewers): no drawing, scaling nor JPEG work then. `forward-sticky-events` lets the
///   caps, segment and EOS through while it drops buffers: the elements after it stay
///   configured for the moment it opens, and EOS still reaches the appsink (the default
///   `drop-all` drops EOS too, and the pipeline would never report its end).
/// - At most `fps` frames a second (of wall-clock time) get past the valve: a probe on its
///   source pad drops the others before any work ([`crate::web::tap`]). Not videorate:
///   with the variable frame rate (`framerate=0/1`) many cameras announce it passes every
///   frame, and it counts stream time, so an offline file would be encoded at its speed.
/// - The appsink does not wait for a buffer to preroll (`async=false`): with the valve
///   closed it gets none, and a non-live pipeline would stay in PAUSED.
pub fn web_branch(web: &crate::web::Settings) -> String {
    [
        format!(
            "queue name={WEB_QUEUE} leaky=downstream max-size-buffers=1 max-size-bytes=0 max-size-time=0"
        ),
        format!("valve name={WEB_VALVE} drop=true drop-mode=forward-sticky-events"),
        "rsoverlay".to_string(),
        "videoscale".to_string(),
        format!(
            "video/x-raw,width=[16,{}],height=[16,{}],pixel-aspect-ratio=1/1",
            web.max_width, web.max_height
        ),
        format!("jpegenc name={WEB_ENCODER} quality={}", web.quality),
        format!("appsink name={WEB_SINK} sync=false async=false max-buffers=1 drop=true"),
    ]
    .join(" ! ")
}

/// The source's models in chain order: those on whole frames (detectors) first, then
/// those on objects (after the tracker); the `index`th is element [`infer_name`]`(index)`.
pub fn chain_models(config: &Config, source: &Source) -> Vec<String> {
    let (secondary, primary): (Vec<&String>, Vec<&String>) = source
        .models
        .iter()
        .partition(|m| config.models[m.as_str()].on_objects());
    primary.into_iter().chain(secondary).cloned().collect()
}

/// Whether the source is a file played in real time and started again at its end.
pub fn loops(source: &Source) -> bool {
    matches!(
        source.input,
        Input::File {
            mode: FileMode::Live,
            looped: true,
            ..
        }
    )
}
