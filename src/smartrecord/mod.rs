//! Pure logic of `rssmartrecord` (no GStreamer types): the GOP-aligned cache
//! ([`cache::GopCache`]), DeepStream cloud-to-device command parsing and validation
//! ([`command`]), UTC time parsing and formatting ([`time`]) and safe file naming
//! ([`naming`]).

pub mod cache;
pub mod command;
pub mod naming;
pub mod time;
