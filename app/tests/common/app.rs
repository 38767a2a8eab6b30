//! The `rsvision` program as a child process, with its log read as it is written.
//!
//! The log contract (stdout, one line per event, `HH:MM:SS.mmm ` first): `source ID:
//! connecting (attempt N)`, `live`, `stalled (no buffer for X.X s)`, `lost (REASON)`,
//! `reconnecting in X.XX s (attempt N)`, `failed (...)`, `ended`; `clip ID: PATH (X.X s,
//! REASON)`; `rule ID RULE: recording ...`; `perf ID k=v ... | SINK k=v ...`; `shutdown: ...`;
//! `summary ID k=v ...`; `summary sink SINK ID k=v ...`; `exit STATUS`; with the web console
//! `web: listening on http://ADDR/` before any source starts (or `error: web: cannot listen
//! on ...` and status 1).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The program under test.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_rsvision")
}

/// One log line.
#[derive(Debug, Clone)]
pub struct Line {
    /// When the test read it.
    pub at: Instant,
    /// Its own timestamp, in seconds since midnight (UTC); `None` when the line does not
    /// start with `HH:MM:SS.mmm ` (which the contract forbids: see [`Rsvision::assert_timestamps`]).
    pub time: Option<f64>,
    /// The text after the timestamp.
    pub text: String,
    /// The whole line.
    pub raw: String,
}

/// `HH:MM:SS.mmm ` at the start of `raw`, as seconds since midnight, and the rest.
pub fn split_timestamp(raw: &str) -> (Option<f64>, &str) {
    let b = raw.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<f64> {
        let s = raw.get(r)?;
        if s.bytes().all(|c| c.is_ascii_digit()) {
            s.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 13 || b[2] != b':' || b[5] != b':' || b[8] != b'.' || b[12] != b' ' {
        return (None, raw);
    }
    match (digits(0..2), digits(3..5), digits(6..8), digits(9..12)) {
        (Some(h), Some(m), Some(s), Some(ms)) if h < 24.0 && m < 60.0 && s < 61.0 => {
            (Some(h * 3600.0 + m * 60.0 + s + ms / 1000.0), &raw[13..])
        }
        _ => (None, raw),
    }
}

#[derive(Default)]
struct Log {
    lines: Vec<Line>,
    /// stdout closed (the program exited or closed it).
    eof: bool,
}

struct Shared {
    log: Mutex<Log>,
    changed: Condvar,
    stderr: Mutex<String>,
}

/// A running `rsvision run` (killed on drop).
pub struct Rsvision {
    child: Child,
    pid: u32,
    shared: Arc<Shared>,
    status: Option<ExitStatus>,
    readers: Vec<std::thread::JoinHandle<()>>,
    /// Midnight crossings seen while converting line times (see [`Rsvision::time_of`]).
    first_time: Mutex<Option<f64>>,
}

impl Rsvision {
    /// `rsvision run CONFIG EXTRA...` with its working directory in the config's directory.
    pub fn run(config: &Path, extra: &[&str]) -> Rsvision {
        Rsvision::run_with(config, extra, &[])
    }

    /// [`Rsvision::run`] with environment variables removed (e.g. `GST_DEBUG`).
    pub fn run_with(config: &Path, extra: &[&str], env_remove: &[&str]) -> Rsvision {
        let mut cmd = Command::new(binary());
        cmd.arg("run").arg(config).args(extra);
        if let Some(dir) = config.parent() {
            cmd.current_dir(dir);
        }
        for k in env_remove {
            cmd.env_remove(k);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", binary()));
        let pid = child.id();
        let shared = Arc::new(Shared {
            log: Mutex::new(Log::default()),
            changed: Condvar::new(),
            stderr: Mutex::new(String::new()),
        });
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let s = shared.clone();
        let out_reader = std::thread::Builder::new()
            .name("rsvision-stdout".into())
            .spawn(move || {
                let mut reader = BufReader::new(stdout);
                let mut buf = Vec::new();
                loop {
                    buf.clear();
                    match reader.read_until(b'\n', &mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {
                            let raw = String::from_utf8_lossy(&buf)
                                .trim_end_matches(['\n', '\r'])
                                .to_string();
                            let (time, text) = split_timestamp(&raw);
                            let line = Line {
                                at: Instant::now(),
                                time,
                                text: text.to_string(),
                                raw: raw.clone(),
                            };
                            s.log.lock().unwrap().lines.push(line);
                            s.changed.notify_all();
                        }
                    }
                }
                s.log.lock().unwrap().eof = true;
                s.changed.notify_all();
            })
            .unwrap();
        let s = shared.clone();
        let err_reader = std::thread::Builder::new()
            .name("rsvision-stderr".into())
            .spawn(move || {
                let mut stderr = stderr;
                let mut buf = [0u8; 4096];
                while let Ok(n) = stderr.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    s.stderr
                        .lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            })
            .unwrap();
        Rsvision {
            child,
            pid,
            shared,
            status: None,
            readers: vec![out_reader, err_reader],
            first_time: Mutex::new(None),
        }
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Every line so far.
    pub fn lines(&self) -> Vec<Line> {
        self.shared.log.lock().unwrap().lines.clone()
    }

    /// Number of lines so far (a mark for [`Rsvision::wait_for`]).
    pub fn mark(&self) -> usize {
        self.shared.log.lock().unwrap().lines.len()
    }

    /// What it wrote on stderr so far.
    pub fn stderr(&self) -> String {
        self.shared.stderr.lock().unwrap().clone()
    }

    /// Everything written so far (stdout then stderr).
    pub fn output(&self) -> String {
        let mut s: String = self
            .lines()
            .iter()
            .map(|l| format!("{}\n", l.raw))
            .collect();
        s.push_str(&self.stderr());
        s
    }

    /// The last lines and stderr, for assertion messages.
    pub fn transcript(&self) -> String {
        let lines = self.lines();
        let from = lines.len().saturating_sub(150);
        let mut s = format!("--- rsvision log (lines {}..{}) ---\n", from, lines.len());
        for l in &lines[from..] {
            s.push_str(&l.raw);
            s.push('\n');
        }
        let err = self.stderr();
        let tail = &err[err.len().saturating_sub(4000)..];
        s.push_str(&format!(
            "--- stderr (last {} bytes) ---\n{tail}",
            tail.len()
        ));
        s
    }

    /// Waits for the first line from index `from` on whose text `pred` holds; returns its
    /// index and the line. Panics with the transcript after `timeout` or if the program
    /// exits first.
    pub fn wait_for(
        &self,
        from: usize,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> (usize, Line) {
        match self.try_wait_for(from, timeout, pred) {
            Ok(found) => found,
            Err(exited) => panic!(
                "{} `{what}` within {timeout:?}\n{}",
                if exited {
                    "rsvision exited before logging"
                } else {
                    "rsvision did not log"
                },
                self.transcript()
            ),
        }
    }

    /// [`Rsvision::wait_for`] without panicking: `Err(true)` when the program's stdout
    /// closed first, `Err(false)` on timeout.
    pub fn try_wait_for(
        &self,
        from: usize,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Result<(usize, Line), bool> {
        let deadline = Instant::now() + timeout;
        let mut log = self.shared.log.lock().unwrap();
        let mut next = from;
        loop {
            while next < log.lines.len() {
                if pred(&log.lines[next].text) {
                    return Ok((next, log.lines[next].clone()));
                }
                next += 1;
            }
            if log.eof {
                return Err(true);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(false);
            }
            log = self
                .shared
                .changed
                .wait_timeout(log, deadline - now)
                .unwrap()
                .0;
        }
    }

    /// Lines from index `from` whose text satisfies `pred`.
    pub fn find(&self, from: usize, pred: impl Fn(&str) -> bool) -> Vec<(usize, Line)> {
        let log = self.shared.log.lock().unwrap();
        log.lines
            .iter()
            .enumerate()
            .skip(from)
            .filter(|(_, l)| pred(&l.text))
            .map(|(i, l)| (i, l.clone()))
            .collect()
    }

    /// The `perf ID ...` lines of source `id` from index `from`.
    pub fn perf(&self, from: usize, id: &str) -> Vec<Perf> {
        self.lines()
            .iter()
            .enumerate()
            .skip(from)
            .filter_map(|(i, l)| {
                let mut p = Perf::parse(&l.text)?;
                p.index = i;
                p.time = l.time.map(|t| self.time_of(t));
                (p.id == id).then_some(p)
            })
            .collect()
    }

    /// Waits until source `id` has logged `n` perf lines from index `from`; returns them.
    pub fn wait_perf(&self, from: usize, id: &str, n: usize, timeout: Duration) -> Vec<Perf> {
        let prefix = format!("perf {id} ");
        let mut at = from;
        for _ in 0..n {
            let (i, _) = self.wait_for(at, &format!("perf {id} (#{n})"), timeout, |t| {
                t.starts_with(&prefix)
            });
            at = i + 1;
        }
        self.perf(from, id)
    }

    /// A line's time on a clock that does not wrap at midnight (seconds since the first
    /// timed line's midnight).
    pub fn time_of(&self, t: f64) -> f64 {
        let mut first = self.first_time.lock().unwrap();
        let f = *first.get_or_insert(t);
        if t + 43_200.0 < f {
            t + 86_400.0
        } else {
            t
        }
    }

    /// Every line must start with `HH:MM:SS.mmm `.
    pub fn assert_timestamps(&self) {
        let bad: Vec<String> = self
            .lines()
            .iter()
            .filter(|l| l.time.is_none())
            .map(|l| l.raw.clone())
            .collect();
        assert!(
            bad.is_empty(),
            "log lines without a `HH:MM:SS.mmm ` timestamp: {bad:#?}"
        );
    }

    /// Sends `signal` (`INT`, `TERM`, `KILL`, ...).
    pub fn signal(&self, signal: &str) {
        super::send_signal(self.pid, signal);
    }

    /// Whether it is still running (reaps it when it exited).
    pub fn running(&mut self) -> bool {
        if self.status.is_some() {
            return false;
        }
        match self.child.try_wait() {
            Ok(Some(s)) => {
                self.status = Some(s);
                false
            }
            _ => true,
        }
    }

    /// Waits for the program to exit (and its output to be read); panics after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        while self.running() {
            if Instant::now() >= deadline {
                panic!(
                    "rsvision did not exit within {timeout:?}\n{}",
                    self.transcript()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Its stdout and stderr close with it (unless a grandchild holds them).
        let until = Instant::now() + Duration::from_secs(5);
        while self.readers.iter().any(|r| !r.is_finished()) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        for r in std::mem::take(&mut self.readers) {
            if r.is_finished() {
                let _ = r.join();
            }
        }
        self.status.unwrap()
    }

    /// Sends SIGINT, waits for the exit and checks the clean-stop contract: a
    /// `shutdown: SIGINT, stopping N sources (deadline X s)` line, a summary line per source
    /// in `sources`, `exit 0` last, status 0, within `timeout`.
    pub fn interrupt_and_check(&mut self, sources: &[&str], timeout: Duration) -> Summary {
        let mark = self.mark();
        self.signal("INT");
        let status = self.wait_exit(timeout);
        let transcript = self.transcript();
        assert_eq!(
            status.code(),
            Some(0),
            "exit status {status:?}\n{transcript}"
        );
        let summary = self.summary();
        for id in sources {
            assert!(
                summary.sources.contains_key(*id),
                "no `summary {id} ...`\n{transcript}"
            );
        }
        let after = self.find(mark, |_| true);
        assert_eq!(
            after.last().map(|(_, l)| l.text.as_str()),
            Some("exit 0"),
            "`exit 0` is not the last line\n{transcript}"
        );
        self.assert_timestamps();
        // Last, so that a failure here means everything above held.
        let n = sources.len();
        assert!(
            after.iter().any(|(_, l)| l.text.starts_with(&format!(
                "shutdown: SIGINT, stopping {n} sources (deadline "
            ))),
            "no `shutdown: SIGINT, stopping {n} sources (deadline X s)`\n{transcript}"
        );
        summary
    }

    /// The `summary ...` lines so far.
    pub fn summary(&self) -> Summary {
        Summary::parse(self.lines().iter().map(|l| l.text.as_str()))
    }
}

impl Drop for Rsvision {
    fn drop(&mut self) {
        if self.running() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `k=v` tokens of `s` (others ignored).
fn fields(s: &str) -> HashMap<String, String> {
    s.split_whitespace()
        .filter_map(|t| t.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn number(map: &HashMap<String, String>, key: &str, line: &str) -> f64 {
    map.get(key)
        .unwrap_or_else(|| panic!("no {key}= in `{line}`"))
        .trim_end_matches(['s', '%'])
        .parse()
        .unwrap_or_else(|e| panic!("{key}= in `{line}`: {e}"))
}

/// A `perf ID state=... fps-in=... frames=... dropped=... | SINK sent=... ...` line.
#[derive(Debug, Clone)]
pub struct Perf {
    pub id: String,
    pub fields: HashMap<String, String>,
    /// Per sink: its name and fields.
    pub sinks: Vec<(String, HashMap<String, String>)>,
    pub text: String,
    /// Index of the line.
    pub index: usize,
    /// Its log time (seconds, see [`Rsvision::time_of`]).
    pub time: Option<f64>,
}

impl Perf {
    pub fn parse(text: &str) -> Option<Perf> {
        let rest = text.strip_prefix("perf ")?;
        let mut parts = rest.split(" | ");
        let head = parts.next()?;
        let (id, kv) = head.split_once(' ')?;
        let sinks = parts
            .filter_map(|p| {
                let (name, kv) = p.trim().split_once(' ')?;
                Some((name.to_string(), fields(kv)))
            })
            .collect();
        Some(Perf {
            id: id.to_string(),
            fields: fields(kv),
            sinks,
            text: text.to_string(),
            index: 0,
            time: None,
        })
    }

    pub fn get(&self, key: &str) -> f64 {
        number(&self.fields, key, &self.text)
    }

    pub fn frames(&self) -> u64 {
        self.get("frames") as u64
    }

    pub fn dropped(&self) -> u64 {
        self.get("dropped") as u64
    }

    pub fn state(&self) -> &str {
        self.fields.get("state").map(|s| s.as_str()).unwrap_or("")
    }

    /// Field `key` of sink `sink`.
    pub fn sink(&self, sink: &str, key: &str) -> f64 {
        let (_, f) = self
            .sinks
            .iter()
            .find(|(n, _)| n == sink)
            .unwrap_or_else(|| panic!("no sink {sink} in `{}`", self.text));
        number(f, key, &self.text)
    }
}

/// The `summary ...` lines.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    /// `summary ID frames=N dropped=N reconnects=N clips=N`, by source id.
    pub sources: HashMap<String, HashMap<String, String>>,
    /// `summary sink SINK ID delivered=N queued=N dropped=N failed=N`, by (sink, source).
    pub sinks: HashMap<(String, String), HashMap<String, String>>,
    pub text: String,
}

impl Summary {
    pub fn parse<'a>(lines: impl Iterator<Item = &'a str>) -> Summary {
        let mut s = Summary::default();
        for l in lines {
            let Some(rest) = l.strip_prefix("summary ") else {
                continue;
            };
            s.text.push_str(l);
            s.text.push('\n');
            if let Some(rest) = rest.strip_prefix("sink ") {
                let mut t = rest.splitn(3, ' ');
                if let (Some(sink), Some(id), Some(kv)) = (t.next(), t.next(), t.next()) {
                    s.sinks
                        .insert((sink.to_string(), id.to_string()), fields(kv));
                }
            } else if let Some((id, kv)) = rest.split_once(' ') {
                s.sources.insert(id.to_string(), fields(kv));
            }
        }
        s
    }

    /// Field `key` of source `id`'s summary.
    pub fn source(&self, id: &str, key: &str) -> u64 {
        let f = self
            .sources
            .get(id)
            .unwrap_or_else(|| panic!("no summary for {id}:\n{}", self.text));
        number(f, key, &self.text) as u64
    }

    /// Field `key` of sink `sink` for source `id`.
    pub fn sink(&self, sink: &str, id: &str, key: &str) -> u64 {
        let f = self
            .sinks
            .get(&(sink.to_string(), id.to_string()))
            .unwrap_or_else(|| panic!("no summary for sink {sink} of {id}:\n{}", self.text));
        number(f, key, &self.text) as u64
    }

    /// `key` summed over every source of sink `sink`.
    pub fn sink_total(&self, sink: &str, key: &str) -> u64 {
        self.sinks
            .iter()
            .filter(|((s, _), _)| s == sink)
            .map(|(_, f)| number(f, key, &self.text) as u64)
            .sum()
    }
}

/// `rsvision ARGS...` to completion (at most `timeout`), for `check`.
pub fn run_to_end(args: &[&std::ffi::OsStr], env_remove: &[&str], timeout: Duration) -> Output {
    let mut cmd = Command::new(binary());
    cmd.args(args);
    for k in env_remove {
        cmd.env_remove(k);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", binary()));
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let o = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let e = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("rsvision {args:?} did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: o.join().unwrap(),
        stderr: e.join().unwrap(),
    }
}

/// `rsvision check CONFIG`.
pub fn check(config: &Path) -> Output {
    run_to_end(
        &["check".as_ref(), config.as_os_str()],
        &[],
        Duration::from_secs(60),
    )
}

/// A path as the program's log would print it (for comparing with `clip ID: PATH`).
pub fn same_file(a: &Path, b: &Path) -> bool {
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| PathBuf::from(p));
    canon(a) == canon(b)
}
