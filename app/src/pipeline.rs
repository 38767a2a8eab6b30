//! One source's pipeline, as a `gst-launch-1.0` description: what `rsvision check` prints
//! and what `rsvision run` builds (with `gst::parse::launch`), so the two never differ.
//!
//! ```text
//! SOURCE ! parsebin ! rssmartrecord name=record ! decodebin ! videoconvert
//!   ! queue name=q ! rsinfer name=infer0 ... ! rstracker name=tracker
//!   ! [rsinfer name=inferN inference-region=objects ... !] rsmsgbroker name=sink-events ...
//!   ! fakesink name=out
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
pub const OUTPUT: &str = "out";

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
    let (secondary, primary): (Vec<&String>, Vec<&String>) = source
        .models
        .iter()
        .partition(|m| config.models[m.as_str()].on_objects());
    let mut index = 0;
    for name in primary {
        parts.push(format!(
            "rsinfer name={}{}",
            infer_name(index),
            config.models[name].props.launch()
        ));
        index += 1;
    }
    if let Some(tracker) = &source.tracker {
        parts.push(format!("rstracker name={TRACKER}{}", tracker.launch()));
    }
    for name in secondary {
        parts.push(format!(
            "rsinfer name={}{}",
            infer_name(index),
            config.models[name].props.launch()
        ));
        index += 1;
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
    parts.push(format!("fakesink name={OUTPUT} sync=false"));
    parts.join(" ! ")
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
