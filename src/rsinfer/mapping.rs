//! Mapping a buffer as a frame and handing its planes to the converters
//! (`crate::preprocess`), the same for whole frames and object crops.

use gst_video::prelude::*;

use super::imp::StreamFailure;
use crate::preprocess::FrameData;

/// Maps `buf` for reading as a frame of `info`; a failure is a stream error.
pub(super) fn map_frame<'a>(
    buf: &'a gst::BufferRef,
    info: &gst_video::VideoInfo,
) -> Result<gst_video::VideoFrameRef<&'a gst::BufferRef>, StreamFailure> {
    gst_video::VideoFrameRef::from_buffer_ref_readable(buf, info).map_err(|_| {
        StreamFailure(
            gst::FlowError::Error,
            Some(gst::error_msg!(
                gst::StreamError::Format,
                ("Cannot map the frame")
            )),
        )
    })
}

/// The planes and strides of a mapped frame, as the converters read them.
pub(super) struct Planes<'a> {
    planes: [&'a [u8]; 3],
    strides: [usize; 3],
    n: usize,
}

impl<'a> Planes<'a> {
    pub(super) fn of(
        frame: &'a gst_video::VideoFrameRef<&gst::BufferRef>,
    ) -> Result<Self, StreamFailure> {
        let n = (frame.n_planes() as usize).min(3);
        let mut planes: [&[u8]; 3] = [&[], &[], &[]];
        let mut strides = [0usize; 3];
        for p in 0..n {
            planes[p] = frame.plane_data(p as u32).map_err(|_| {
                StreamFailure(
                    gst::FlowError::Error,
                    Some(gst::error_msg!(
                        gst::StreamError::Format,
                        ("Cannot map plane {}", p)
                    )),
                )
            })?;
            strides[p] = frame.plane_stride()[p] as usize;
        }
        Ok(Planes { planes, strides, n })
    }

    pub(super) fn data(&self) -> FrameData<'_> {
        FrameData {
            planes: &self.planes[..self.n],
            strides: &self.strides[..self.n],
        }
    }
}
