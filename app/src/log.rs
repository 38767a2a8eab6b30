//! The program's log: one line per event on stdout, each prefixed with the wall-clock time
//! (`HH:MM:SS.mmm`, UTC). Lines are written whole (one `write` each) so lines from several
//! threads never interleave; tests and scripts read them (see README's `rsvision run` log).

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// `HH:MM:SS.mmm` of now, UTC.
pub fn timestamp() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let ms = now.as_millis() % 86_400_000;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// Writes `message` as one log line.
pub fn line(message: impl std::fmt::Display) {
    let text = format!("{} {}\n", timestamp(), message);
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// `log!("source {}: live", id)`: [`line`] with `format!` arguments.
#[macro_export]
macro_rules! log {
    ($($arg:tt)*) => {
        $crate::log::line(format_args!($($arg)*))
    };
}
