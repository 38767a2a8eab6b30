//! Owns every source, runs them side by side, prints the periodic `perf` lines, and stops
//! them in order on a signal or at `--duration`: EOS into every pipeline (open clips are
//! finalised, tracks emit `exit`, brokers flush), a wait bounded by `shutdown-timeout`,
//! then a summary of what each source and sink did. A second signal exits at once (130).
//!
//! With the web console on (`[web]`), it creates the [`Hub`] the server reads, starts the
//! server before any source (a port it cannot bind is an error: status 1), opens each
//! source's JPEG branch while it has viewers (every tick), rebuilds the status document
//! every [`crate::status::EVERY`], and stops the server after the summary.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::{Config, Input};
use crate::source::SourceRunner;
use crate::state::State;
use crate::stats::Snapshot;
use crate::status::StatusBuilder;
use crate::web::Hub;

const TICK: Duration = Duration::from_millis(50);

/// Exit status of a clean stop.
pub const EXIT_OK: i32 = 0;
/// A source failed for good, or the shutdown deadline passed.
pub const EXIT_FAILED: i32 = 1;
/// Second signal.
pub const EXIT_INTERRUPTED: i32 = 130;

/// Counts SIGINT/SIGTERM (and keeps the first one's number); the second one exits at once.
fn install_signals() -> (Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let which = Arc::new(AtomicUsize::new(0));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let count = count.clone();
        let which = which.clone();
        // SAFETY: the handler only does an atomic add and, the second time, `_exit`, both
        // async-signal-safe.
        let registered = unsafe {
            signal_hook::low_level::register(signal, move || {
                if count.load(Ordering::SeqCst) == 0 {
                    which.store(signal as usize, Ordering::SeqCst);
                }
                if count.fetch_add(1, Ordering::SeqCst) >= 1 {
                    signal_hook::low_level::exit(EXIT_INTERRUPTED);
                }
            })
        };
        if let Err(e) = registered {
            log!("warning: cannot handle signal {signal}: {e}");
        }
    }
    (count, which)
}

/// Runs the deployment until a signal, `duration`, or (when every source is a file played
/// offline) the end of every file. Returns the exit status.
pub fn run(config: &Config, duration: Option<Duration>) -> i32 {
    let (signals, which) = install_signals();
    if let Err(e) = create_directories(config) {
        log!("error: {e}");
        return EXIT_FAILED;
    }
    let hub = config.web.enabled.then(|| {
        let ids: Vec<String> = config.sources.iter().map(|s| s.id.clone()).collect();
        Arc::new(Hub::new(
            &ids,
            config.web.events,
            config.record.as_ref().map(|r| r.location.clone()),
        ))
    });
    let started = Instant::now();
    let mut sources: Vec<SourceRunner> = (0..config.sources.len())
        .map(|i| SourceRunner::new(config, i, started, hub.as_ref()))
        .collect();
    log!(
        "rsvision {}: {} sources, {} models, config {}",
        env!("CARGO_PKG_VERSION"),
        sources.len(),
        config.models.len(),
        config.path.display()
    );
    let mut web = None;
    if let Some(hub) = &hub {
        match crate::web::start(&config.web, hub.clone()) {
            Ok(handle) => {
                log!("web: listening on {}", handle.url());
                web = Some(handle);
            }
            Err(e) => {
                log!("error: {e}");
                return EXIT_FAILED;
            }
        }
    }
    let mut status = StatusBuilder::new();
    let mut next_status = started;
    let stats_every = config.app.stats_interval;
    let mut next_stats = started + stats_every;
    let mut models_logged = false;
    let reason = loop {
        let now = Instant::now();
        for s in &mut sources {
            s.poll(now);
            s.update_web();
        }
        if let Some(hub) = &hub {
            if now >= next_status {
                next_status = now + crate::status::EVERY;
                hub.set_status(status.build(config, &sources, hub));
            }
        }
        if !models_logged && sources.iter().any(|s| s.is_running()) {
            models_logged = true;
            log_models(config);
        }
        if signals.load(Ordering::SeqCst) > 0 {
            break match which.load(Ordering::SeqCst) as i32 {
                signal_hook::consts::SIGTERM => "SIGTERM".to_string(),
                _ => "SIGINT".to_string(),
            };
        }
        if let Some(d) = duration {
            if now.duration_since(started) >= d {
                break format!("duration reached ({})", crate::format_duration(d));
            }
        }
        if sources
            .iter()
            .all(|s| matches!(s.machine.state, State::Ended | State::Failed { .. }))
        {
            break "every source has finished".to_string();
        }
        if !stats_every.is_zero() && now >= next_stats {
            next_stats = now + stats_every;
            for s in &mut sources {
                perf_line(s);
            }
        }
        std::thread::sleep(TICK);
    };
    let web = web.map(|handle| (handle, hub.as_deref().expect("a hub with a server"), status));
    shutdown(config, &mut sources, &reason, web)
}

/// The clip directory and the directories of file sinks, created when missing.
fn create_directories(config: &Config) -> Result<(), String> {
    let mut dirs: Vec<std::path::PathBuf> =
        config.record.iter().map(|r| r.location.clone()).collect();
    for sink in config.sinks.values() {
        let conn = sink.props.get("conn-str").unwrap_or("").trim_matches('"');
        if let Ok(gstrsvision::kafka::Endpoint::File(path)) =
            gstrsvision::kafka::parse_conn_str(conn)
        {
            dirs.extend(path.parent().map(|p| p.to_path_buf()));
        }
    }
    for dir in dirs {
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create the directory {}: {e}", dir.display()))?;
    }
    Ok(())
}

fn log_models(config: &Config) {
    for (name, model) in &config.models {
        let sessions = model
            .props
            .get("model-location")
            .map(|l| gstrsvision::onnx::sessions_for(std::path::Path::new(l.trim_matches('"'))))
            .unwrap_or(0);
        let users = config
            .sources
            .iter()
            .filter(|s| s.models.contains(name))
            .count();
        log!("model {name}: {users} sources share {sessions} loaded session(s)");
    }
}

fn perf_line(s: &mut SourceRunner) {
    let snap = Snapshot::take(&s.counters, s.queued(), &s.last);
    let r = snap.since(&s.last);
    s.last = snap;
    let ms = |v: Option<f64>| v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "-".into());
    let mut line = format!(
        "perf {} state={} fps-in={:.1} fps-out={:.1} frames={} dropped={} infer-ms={} latency-ms={} reconnects={}",
        s.id(),
        s.machine.state.name(),
        r.fps_in,
        r.fps_out,
        snap.frames_out,
        snap.dropped,
        ms(r.infer_ms),
        ms(r.latency_ms),
        s.machine.reconnects
    );
    for (name, f) in s.sink_figures() {
        line.push_str(&format!(
            " | {name} sent={} queued={} dropped={} failed={}",
            f.delivered, f.queued, f.dropped, f.failed
        ));
    }
    if let (
        Input::File {
            mode: crate::config::FileMode::Offline,
            ..
        },
        Some((pos, dur)),
    ) = (&s.source.input, s.progress())
    {
        line.push_str(&progress(pos, dur, r.fps_out, s));
    }
    log!("{line}");
}

/// ` | 45% 12.3/27.0 s 3.2x ETA 5 s` for an offline file.
fn progress(pos: gst::ClockTime, dur: gst::ClockTime, _fps: f64, s: &SourceRunner) -> String {
    let done = pos.seconds_f64();
    let total = dur.seconds_f64().max(1e-9);
    let elapsed = s.started_for().as_secs_f64().max(1e-9);
    let speed = done / elapsed;
    let eta = if speed > 0.0 {
        format!("{:.0} s", (total - done).max(0.0) / speed)
    } else {
        "-".into()
    };
    format!(
        " | progress {:.0}% {done:.1}/{total:.1} s {speed:.1}x ETA {eta}",
        100.0 * done / total
    )
}

fn shutdown(
    config: &Config,
    sources: &mut [SourceRunner],
    reason: &str,
    mut web: Option<(crate::web::WebHandle, &Hub, StatusBuilder)>,
) -> i32 {
    let timeout = config.app.shutdown_timeout;
    let running = sources.iter().filter(|s| s.is_running()).count();
    log!(
        "shutdown: {reason}, stopping {running} sources (deadline {:.0} s)",
        timeout.as_secs_f64()
    );
    let deadline = Instant::now() + timeout;
    for s in sources.iter_mut() {
        s.begin_drain();
    }
    let mut late = Vec::new();
    let mut next_status = Instant::now();
    loop {
        let now = Instant::now();
        for s in sources.iter_mut() {
            s.poll(now);
            s.update_web();
        }
        if let Some((_, hub, builder)) = &mut web {
            if now >= next_status {
                next_status = now + crate::status::EVERY;
                hub.set_status(builder.build(config, sources, hub));
            }
        }
        if sources.iter().all(|s| s.drained) {
            break;
        }
        if now >= deadline {
            late = sources
                .iter()
                .filter(|s| !s.drained)
                .map(|s| s.id().to_string())
                .collect();
            break;
        }
        std::thread::sleep(TICK);
    }
    // Every pipeline to NULL first: the sinks' figures are final then (what is still
    // queued could not be delivered).
    let mut finished = true;
    for s in sources.iter_mut() {
        finished &= s.finish(deadline.max(Instant::now() + Duration::from_secs(2)));
    }
    let figures: Vec<_> = sources.iter().map(|s| s.sink_figures()).collect();
    let mut failed = false;
    for (s, figures) in sources.iter_mut().zip(figures) {
        let snap = Snapshot::take(&s.counters, 0, &s.last);
        if matches!(s.machine.state, State::Failed { .. }) {
            failed = true;
        }
        log!(
            "summary {} frames={} dropped={} reconnects={} clips={}",
            s.id(),
            snap.frames_out,
            snap.dropped,
            s.machine.reconnects,
            s.clips
        );
        for (name, f) in figures {
            log!(
                "summary sink {name} {} delivered={} queued={} dropped={} failed={}",
                s.id(),
                f.delivered,
                f.queued,
                f.dropped,
                f.failed
            );
        }
    }
    let status = if !late.is_empty() {
        log!(
            "shutdown: deadline passed before {} finished",
            late.join(", ")
        );
        EXIT_FAILED
    } else if !finished {
        log!("shutdown: a pipeline did not stop in time");
        EXIT_FAILED
    } else if failed {
        EXIT_FAILED
    } else {
        EXIT_OK
    };
    // The server last: the console shows the shutdown until the end.
    if let Some((handle, _, _)) = web {
        handle.stop();
    }
    log!("exit {status}");
    status
}
