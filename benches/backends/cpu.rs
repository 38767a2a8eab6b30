//! Per-thread CPU time of this process (`/proc/self/task`), grouped by what the threads do:
//! the backends benchmark's `threads` part (`benches/backends.rs`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// utime + stime (clock ticks) of every thread of this process, by thread id.
pub(super) fn task_cpu() -> HashMap<u32, (String, u64)> {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return HashMap::new();
    };
    let thread = |e: std::fs::DirEntry| {
        let tid = e.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
        // `tid (comm) state ...`, comm may hold spaces and parentheses; utime and stime are
        // fields 14 and 15 of proc(5), the 12th and 13th after the comm.
        let (open, close) = (stat.find('(')?, stat.rfind(')')?);
        let mut f = stat[close + 1..].split_whitespace().skip(11);
        let mut next = || f.next()?.parse::<u64>().ok();
        let ticks = next()? + next()?;
        Some((tid, (stat[open + 1..close].to_string(), ticks)))
    };
    dir.flatten().filter_map(thread).collect()
}

/// CPU seconds per group of threads: (group, threads, seconds), most first.
pub(super) type CpuGroups = Vec<(String, usize, f64)>;

/// Labels of threads that cannot be told apart by name: ONNX Runtime's and OpenVINO's pool
/// threads inherit the name of the thread that made them (the bench's main thread).
static LABELS: Mutex<BTreeMap<u32, String>> = Mutex::new(BTreeMap::new());

/// Gives `label` to every thread alive now that has none yet and the main thread's name
/// (GStreamer's pooled streaming threads, alive between pipelines, keep names of their own).
pub(super) fn label_new_threads(label: &str) {
    let mut labels = LABELS.lock().unwrap();
    let threads = task_cpu();
    let main = &threads[&std::process::id()].0;
    for (tid, (name, _)) in &threads {
        if name == main {
            labels.entry(*tid).or_insert_with(|| label.to_string());
        }
    }
}

/// CPU seconds and thread count per group, between two [`task_cpu`] snapshots, most first.
/// A thread is grouped by its label, else by its name without digits (`qtdemux0:sink` and
/// `qtdemux1:sink` group). Threads with the name of a GStreamer streaming thread
/// (`element:pad`) are it and the threads it made, which inherit its name (the libav
/// decoder's): the oldest busy one of each name is the streaming thread.
pub(super) fn cpu_by_group(
    before: &HashMap<u32, (String, u64)>,
    after: &HashMap<u32, (String, u64)>,
) -> CpuGroups {
    // USER_HZ: 100 on every Linux architecture we run on.
    const TICK: f64 = 0.01;
    let labels = LABELS.lock().unwrap();
    let mut groups: BTreeMap<String, (usize, u64)> = BTreeMap::new();
    let mut seen: Vec<String> = Vec::new();
    let mut tids: Vec<_> = after.iter().collect();
    tids.sort_by_key(|(tid, _)| **tid);
    for (tid, (name, t)) in tids {
        let d = t - before.get(tid).map_or(0, |(_, b)| *b.min(t));
        if d == 0 {
            continue;
        }
        let base: String = name.chars().filter(|c| !c.is_ascii_digit()).collect();
        let key = match labels.get(tid) {
            Some(l) => l.clone(),
            None if base.contains(':') && seen.contains(&base) => {
                format!("{base} children (decoder threads)")
            }
            None if base.contains(':') => {
                seen.push(base.clone());
                format!("{base} (streaming thread)")
            }
            None => base,
        };
        let g = groups.entry(key).or_default();
        g.0 += 1;
        g.1 += d;
    }
    let mut v: Vec<_> = groups
        .into_iter()
        .map(|(k, (n, d))| (k, n, d as f64 * TICK))
        .collect();
    v.sort_by(|a, b| b.2.total_cmp(&a.2));
    v
}

/// A few lines: total CPU, then each group with at least 2% of it.
pub(super) fn cpu_lines(label: &str, wall: f64, groups: &CpuGroups) -> String {
    let total: f64 = groups.iter().map(|g| g.2).sum();
    let mut lines = vec![format!(
        "  {label}: {total:.1} CPU s over {wall:.1} s wall ({:.2} cores)",
        total / wall
    )];
    for (name, n, s) in groups.iter().filter(|g| g.2 >= 0.02 * total) {
        let share = 100.0 * s / total;
        lines.push(format!("    {name:<40} x{n:<2} {s:>6.2} s {share:>4.0}%"));
    }
    lines.join("\n")
}

// ---------------------------------------------------------------------------------------
// The measurements.
