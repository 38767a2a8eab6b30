//! Pure logic of `rssmartrecord` (no GStreamer types): the GOP-aligned cache
//! ([`cache::GopCache`]), DeepStream cloud-to-device command parsing and validation
//! ([`command`]), decoding timestamps for PTS-only streams ([`dts`]), parameter sets of
//! byte-streams ([`nal`]), whether a cut-off MP4 holds samples ([`mp4`]) and safe file
//! naming ([`naming`]). UTC times are in [`crate::utc`].

pub mod cache;
pub mod command;
pub mod dts;
pub mod mp4;
pub mod nal;
pub mod naming;
