//! GStreamer glue shared by the elements: the raw video formats rsinfer and rsoverlay work
//! on in place (caps, and their mapping to [`crate::preprocess`]'s pixel formats and
//! colorimetry), and the always-present sink/src pad templates of a one-in, one-out filter.

use crate::preprocess::{Colorimetry, PixelFormat, YuvMatrix};

/// The raw formats rsinfer reads and rsoverlay draws on: what decoders commonly output, so
/// `decodebin ! rsinfer ! rsoverlay` needs no `videoconvert`.
pub const RAW_FORMATS: [gst_video::VideoFormat; 8] = [
    gst_video::VideoFormat::I420,
    gst_video::VideoFormat::Nv12,
    gst_video::VideoFormat::Rgb,
    gst_video::VideoFormat::Bgr,
    gst_video::VideoFormat::Rgba,
    gst_video::VideoFormat::Bgra,
    gst_video::VideoFormat::Rgbx,
    gst_video::VideoFormat::Bgrx,
];

/// `video/x-raw` in [`RAW_FORMATS`], any size and frame rate.
pub fn raw_caps() -> gst::Caps {
    gst_video::VideoCapsBuilder::new()
        .format_list(RAW_FORMATS)
        .build()
}

/// The pixel format of a frame in one of [`RAW_FORMATS`].
pub fn pixel_format(format: gst_video::VideoFormat) -> Option<PixelFormat> {
    Some(match format {
        gst_video::VideoFormat::I420 => PixelFormat::I420,
        gst_video::VideoFormat::Nv12 => PixelFormat::Nv12,
        gst_video::VideoFormat::Rgb => PixelFormat::Rgb,
        gst_video::VideoFormat::Bgr => PixelFormat::Bgr,
        gst_video::VideoFormat::Rgba => PixelFormat::Rgba,
        gst_video::VideoFormat::Bgra => PixelFormat::Bgra,
        gst_video::VideoFormat::Rgbx => PixelFormat::Rgbx,
        gst_video::VideoFormat::Bgrx => PixelFormat::Bgrx,
        _ => return None,
    })
}

/// The Y'CbCr matrix and range of `info` (BT.601 unless the caps say BT.709 or BT.2020).
pub fn colorimetry(info: &gst_video::VideoInfo) -> Colorimetry {
    let c = info.colorimetry();
    Colorimetry {
        matrix: match c.matrix() {
            gst_video::VideoColorMatrix::Bt709 => YuvMatrix::Bt709,
            gst_video::VideoColorMatrix::Bt2020 => YuvMatrix::Bt2020,
            _ => YuvMatrix::Bt601,
        },
        full_range: c.range() == gst_video::VideoColorRange::Range0_255,
    }
}

/// The `sink` and `src` pad templates, always present, of a filter with `caps` on both.
pub fn filter_pad_templates(caps: &gst::Caps) -> Vec<gst::PadTemplate> {
    [
        ("sink", gst::PadDirection::Sink),
        ("src", gst::PadDirection::Src),
    ]
    .into_iter()
    .map(|(name, direction)| {
        gst::PadTemplate::new(name, direction, gst::PadPresence::Always, caps)
            .expect("valid pad template")
    })
    .collect()
}
