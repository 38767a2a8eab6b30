//! Deployment files for the tests, in the lead's TOML format (README's `rsvision run`).
//! A [`Deployment`] starts with the common sections; tests add sources and sections as
//! TOML text and write it next to their other files.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A TOML basic string.
pub fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub fn quote_path(p: &Path) -> String {
    quote(p.to_str().expect("UTF-8 path"))
}

/// Timings for the tests: 1 s stats, quick and deterministic reconnects (no jitter), a 3 s
/// stall watchdog.
pub struct Timing {
    pub stats_interval: &'static str,
    pub shutdown_timeout: &'static str,
    pub initial_delay: &'static str,
    pub max_delay: &'static str,
    pub stall_timeout: &'static str,
    pub connect_timeout: &'static str,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            stats_interval: "1s",
            shutdown_timeout: "10s",
            initial_delay: "500ms",
            max_delay: "4s",
            stall_timeout: "3s",
            connect_timeout: "5s",
        }
    }
}

/// A config file being written.
pub struct Deployment {
    pub dir: PathBuf,
    pub text: String,
    /// The keys of `[web]`, written last by [`Deployment::write`].
    pub web: String,
}

impl Deployment {
    /// `[app]`, `[reconnect]` with `timing`, `[models.shapes]` (the shipped detector,
    /// conf-threshold 0.25, every third frame), `[tracker]`, and the web console on any
    /// free port (`[web] listen = "127.0.0.1:0"`: tests running side by side never collide
    /// on the default 8080; see [`Deployment::web`]).
    pub fn new(dir: &Path, timing: &Timing) -> Deployment {
        let mut text = String::new();
        writeln!(
            text,
            "[app]\nstats-interval = {}\nshutdown-timeout = {}\n",
            quote(timing.stats_interval),
            quote(timing.shutdown_timeout)
        )
        .unwrap();
        writeln!(
            text,
            "[reconnect]\ninitial-delay = {}\nmax-delay = {}\nmultiplier = 2.0\njitter = 0.0\nstall-timeout = {}\nconnect-timeout = {}\n",
            quote(timing.initial_delay),
            quote(timing.max_delay),
            quote(timing.stall_timeout),
            quote(timing.connect_timeout)
        )
        .unwrap();
        writeln!(
            text,
            "[models.shapes]\nlocation = {}\nconf-threshold = 0.25\ninference-interval = 3\n\n[tracker]\n",
            quote_path(&super::shapes_model())
        )
        .unwrap();
        Deployment {
            dir: dir.to_path_buf(),
            text,
            web: "listen = \"127.0.0.1:0\"\n".into(),
        }
    }

    /// Replaces the keys of `[web]` (e.g. `enabled = false`, or a `listen` of the test's).
    pub fn web(&mut self, keys: &str) -> &mut Self {
        self.web = keys.to_string();
        if !self.web.ends_with('\n') {
            self.web.push('\n');
        }
        self
    }

    /// The whole file: what was added, then `[web]` (unless a `[web]` was added as text).
    pub fn toml(&self) -> String {
        if self.text.lines().any(|l| l.trim() == "[web]") {
            self.text.clone()
        } else {
            format!("{}[web]\n{}", self.text, self.web)
        }
    }

    /// Appends TOML text.
    pub fn add(&mut self, toml: &str) -> &mut Self {
        self.text.push_str(toml);
        if !toml.ends_with('\n') {
            self.text.push('\n');
        }
        self.text.push('\n');
        self
    }

    /// `[events]`: track events to `dir/events.jsonl` (returned).
    pub fn events_file(&mut self) -> PathBuf {
        let path = self.dir.join("events.jsonl");
        let conn = format!("file://{}", path.display());
        self.add(&format!(
            "[events]\nconn-str = {}\npublish = \"tracks\"",
            quote(&conn)
        ));
        path
    }

    /// `[record]` into `dir/clips` (returned), 1 s fragments, plus `extra` TOML lines.
    pub fn record(&mut self, extra: &str) -> PathBuf {
        let clips = self.dir.join("clips");
        self.add(&format!(
            "[record]\nlocation = {}\nfragment-duration = 1000\n{extra}",
            quote_path(&clips)
        ));
        clips
    }

    /// A `[[record.rules]]` for `label`.
    pub fn rule(&mut self, label: &str, min_duration: &str, pre: &str, post: &str) -> &mut Self {
        self.add(&format!(
            "[[record.rules]]\nlabel = {}\nmin-duration = {}\npre = {}\npost = {}",
            quote(label),
            quote(min_duration),
            quote(pre),
            quote(post)
        ))
    }

    /// A `[[sources]]` with `uri` running the shapes model, plus `extra` TOML lines.
    pub fn source(&mut self, id: &str, uri: &str, extra: &str) -> &mut Self {
        self.add(&format!(
            "[[sources]]\nid = {}\nuri = {}\nmodel = \"shapes\"\n{extra}",
            quote(id),
            quote(uri)
        ))
    }

    /// Writes `dir/NAME` and returns its path.
    pub fn write(&self, name: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, self.toml()).unwrap();
        path
    }
}

/// `file:///abs/path`.
pub fn file_uri(path: &Path) -> String {
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    format!("file://{}", abs.display())
}
