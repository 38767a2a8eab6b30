//! The JSON-lines file transport: one message per line, appended to a file opened with
//! `O_APPEND`. The messages of one frame (or one event) are collected as whole lines and
//! written by a single `write(2)`, which the kernel appends in one piece: other writers
//! appending to the same file (other elements of this process, other processes: `rsvision
//! run`'s shared events file) never land inside a line, and the file costs one system call
//! per frame. No user-space buffer outlives the frame: a message counted `delivered` is in
//! the kernel's hands.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use super::stats::Counters;

/// A batch this large is written at once, before the frame is done.
const MAX_BATCH: usize = 1024 * 1024;

pub(super) struct JsonLines {
    path: PathBuf,
    file: std::fs::File,
    /// Whole lines (each ending in `\n`) not written yet.
    batch: Vec<u8>,
    lines: u64,
    /// A short write left part of a line without its newline (a full disk): the next
    /// batch starts with one, so only the torn line is lost.
    torn: bool,
    failed_once: bool,
}

impl JsonLines {
    /// Opens (creates) `path` for appending.
    pub(super) fn open(path: PathBuf) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        Ok(JsonLines {
            path,
            file,
            batch: Vec::with_capacity(16 * 1024),
            lines: 0,
            torn: false,
            failed_once: false,
        })
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Adds `payload` as a line of the current batch; returns a warning to post when a
    /// full batch had to be written and failed.
    pub(super) fn push(&mut self, counters: &Counters, payload: &str) -> Option<String> {
        counters.enqueued.fetch_add(1, Ordering::SeqCst);
        if self.batch.is_empty() && self.torn {
            self.batch.push(b'\n');
        }
        self.batch.extend_from_slice(payload.as_bytes());
        self.batch.push(b'\n');
        self.lines += 1;
        if self.batch.len() >= MAX_BATCH {
            return self.write(counters);
        }
        None
    }

    /// Writes the batch with one `write(2)` (more only after a short write) and counts its
    /// lines `delivered` or `failed`; returns a warning to post on the first failure.
    pub(super) fn write(&mut self, counters: &Counters) -> Option<String> {
        if self.lines == 0 {
            return None;
        }
        let (written, res) = write_all_once(&mut self.file, &self.batch);
        let whole = if written == self.batch.len() {
            self.lines
        } else {
            // The lines that made it whole (not the newline that ends a torn one).
            let lead = usize::from(self.batch.first() == Some(&b'\n') && self.torn);
            let ends = self.batch[..written].iter().skip(lead);
            ends.filter(|b| **b == b'\n').count() as u64
        };
        if written > 0 {
            // The file ends inside a line unless the last byte written ends one.
            self.torn = self.batch[written - 1] != b'\n';
        }
        counters.delivered.fetch_add(whole, Ordering::SeqCst);
        counters
            .failed
            .fetch_add(self.lines - whole, Ordering::SeqCst);
        self.batch.clear();
        self.lines = 0;
        match res {
            Ok(()) => None,
            Err(e) if !self.failed_once => {
                self.failed_once = true;
                Some(format!(
                    "Could not write to {}: {} (further failures are counted in stats)",
                    self.path.display(),
                    e
                ))
            }
            Err(_) => None,
        }
    }
}

/// Writes `data` with one `write(2)`; only a short write (a full disk, a signal) needs
/// more. Returns the bytes written and the outcome.
fn write_all_once(file: &mut std::fs::File, data: &[u8]) -> (usize, std::io::Result<()>) {
    let mut written = 0;
    while written < data.len() {
        match file.write(&data[written..]) {
            Ok(0) => return (written, Err(std::io::ErrorKind::WriteZero.into())),
            Ok(n) => written += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return (written, Err(e)),
        }
    }
    (written, Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_of_whole_lines_and_counts() {
        let dir = std::env::temp_dir().join(format!("rsv-lines-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("events.jsonl");
        let _ = std::fs::remove_file(&path);
        let c = Counters::default();
        let mut f = JsonLines::open(path.clone()).unwrap();
        assert_eq!(f.write(&c), None, "nothing to write");
        f.push(&c, "{\"a\":1}");
        f.push(&c, "{\"b\":2}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "",
            "written per batch"
        );
        assert_eq!(c.enqueued.load(Ordering::SeqCst), 2);
        assert_eq!(f.write(&c), None);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"a\":1}\n{\"b\":2}\n"
        );
        assert_eq!(c.delivered.load(Ordering::SeqCst), 2);
        // A batch past the bound is written at once.
        let big = "x".repeat(MAX_BATCH);
        f.push(&c, &big);
        assert_eq!(c.delivered.load(Ordering::SeqCst), 3);
        assert_eq!(c.failed.load(Ordering::SeqCst), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// /dev/full refuses every write: the lines are counted failed, one warning.
    #[test]
    fn failed_writes_are_counted_and_warned_once() {
        let c = Counters::default();
        let mut f = JsonLines::open(PathBuf::from("/dev/full")).unwrap();
        f.push(&c, "{}");
        f.push(&c, "{}");
        let w = f.write(&c).expect("a warning");
        assert!(w.starts_with("Could not write to /dev/full"), "{w}");
        f.push(&c, "{}");
        assert_eq!(f.write(&c), None, "warned once");
        assert_eq!(c.failed.load(Ordering::SeqCst), 3);
        assert_eq!(c.delivered.load(Ordering::SeqCst), 0);
    }
}
