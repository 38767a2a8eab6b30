//! Soak: a few minutes of `rsvision run` with two cameras whose servers are killed and
//! restarted in turn, while a rule records a clip each time the shapes come into view.
//! After each reconnect the child's resident memory and thread count
//! (`/proc/PID/status`) are sampled; after a warm-up they must stay within a small bound
//! of where they were (no leak per reconnect cycle).
//!
//! Only with `RSVISION_SOAK=1` (`RSVISION_SOAK_SECS`, default 240, sets the length):
//!     RSVISION_SOAK=1 cargo test -p rsvision --test soak -- --nocapture

mod common;

use std::time::{Duration, Instant};

use common::app::Rsvision;
use common::camera::Camera;
use common::config::{Deployment, Timing};
use common::{init, media, proc_status, TempDir};

const WARM_UP_CYCLES: usize = 3;
const MAX_RSS_GROWTH_KB: u64 = 20 * 1024;
const MAX_THREAD_GROWTH: u64 = 5;

#[test]
fn reconnect_cycles_do_not_leak() {
    if std::env::var("RSVISION_SOAK").as_deref() != Ok("1") {
        eprintln!("soak test skipped: set RSVISION_SOAK=1 to run it");
        return;
    }
    let secs: u64 = std::env::var("RSVISION_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(240);
    init();
    let dir = TempDir::new("soak");
    // Shapes come and go (4 s in view every 12 s): clips start and end all along.
    let video = media::black_shapes_black();
    let mut cams = [
        Camera::start(&video, dir.path()),
        Camera::start(&video, dir.path()),
    ];
    let mut d = Deployment::new(dir.path(), &Timing::default());
    d.events_file();
    d.record("");
    d.rule("circle", "1s", "1s", "1s");
    d.source("cam1", &cams[0].url(), "");
    d.source("cam2", &cams[1].url(), "");
    let config = d.write("deployment.toml");
    let mut rsv = Rsvision::run(&config, &[]);
    for id in ["cam1", "cam2"] {
        rsv.wait_for(
            0,
            &format!("source {id}: live"),
            Duration::from_secs(30),
            |l| l == format!("source {id}: live"),
        );
    }
    let end = Instant::now() + Duration::from_secs(secs);
    let mut samples: Vec<(usize, u64, u64)> = Vec::new();
    let mut cycle = 0;
    while Instant::now() < end {
        let which = cycle % 2;
        let id = ["cam1", "cam2"][which];
        let mark = rsv.mark();
        cams[which].kill();
        rsv.wait_for(
            mark,
            &format!("source {id}: lost"),
            Duration::from_secs(15),
            |l| {
                l.starts_with(&format!("source {id}: lost ("))
                    || l.starts_with(&format!("source {id}: stalled"))
            },
        );
        std::thread::sleep(Duration::from_secs(2));
        cams[which].spawn();
        rsv.wait_for(
            mark,
            &format!("source {id}: live (cycle {cycle})"),
            Duration::from_secs(30),
            |l| l == format!("source {id}: live"),
        );
        // Let the new pipeline settle (and the old one be torn down) before sampling.
        std::thread::sleep(Duration::from_secs(3));
        let (rss, threads) = proc_status(rsv.pid()).expect("rsvision is running");
        samples.push((cycle, rss, threads));
        println!("cycle {cycle:3} ({id}): VmRSS {rss} kB, {threads} threads");
        cycle += 1;
    }
    assert!(
        samples.len() > WARM_UP_CYCLES + 2,
        "only {} cycles in {secs} s",
        samples.len()
    );
    let (_, rss0, threads0) = samples[WARM_UP_CYCLES];
    let max_rss = samples[WARM_UP_CYCLES..].iter().map(|s| s.1).max().unwrap();
    let max_threads = samples[WARM_UP_CYCLES..].iter().map(|s| s.2).max().unwrap();
    println!(
        "after warm-up: VmRSS {rss0} -> max {max_rss} kB (+{} kB), threads {threads0} -> max {max_threads}",
        max_rss.saturating_sub(rss0)
    );
    assert!(
        max_rss.saturating_sub(rss0) < MAX_RSS_GROWTH_KB,
        "resident memory grew by {} kB over {} reconnect cycles: {samples:?}",
        max_rss - rss0,
        samples.len() - WARM_UP_CYCLES
    );
    assert!(
        max_threads.saturating_sub(threads0) < MAX_THREAD_GROWTH,
        "threads grew from {threads0} to {max_threads}: {samples:?}"
    );
    rsv.interrupt_and_check(&["cam1", "cam2"], Duration::from_secs(30));
}
