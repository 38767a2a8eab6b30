//! Unit tests of the rule engine, against a model of rssmartrecord's sessions.

use super::*;
use std::time::Duration;

const MS: u64 = 1_000_000;

fn rule(label: &str, min_duration_ms: u64, pre_ms: u64, post_ms: u64) -> Rule {
    Rule {
        name: label.to_string(),
        label: label.to_string(),
        min_confidence: 0.5,
        min_duration: Duration::from_millis(min_duration_ms),
        pre: Duration::from_millis(pre_ms),
        post: Duration::from_millis(post_ms),
        cooldown: Duration::ZERO,
        sources: None,
    }
}

fn seen(track: u64, label: &'static str) -> Seen<'static> {
    Seen {
        track_id: Some(track),
        label,
        confidence: 0.9,
    }
}

fn untracked(label: &'static str) -> Seen<'static> {
    Seen {
        track_id: None,
        label,
        confidence: 0.9,
    }
}

/// The engine beside a model of `rssmartrecord` as its source reads: one clip at a
/// time, a start while recording returns the open session, stop ends it and its
/// completion is reported.
struct Sim {
    engine: RuleEngine,
    active: Option<u32>,
    next: u32,
    refuse: bool,
    /// Every action with the frame time (ms) it was answered at.
    log: Vec<(u64, Action)>,
}

impl Sim {
    fn new(rules: Vec<Rule>) -> Self {
        Sim {
            engine: RuleEngine::new(rules).with_clip_limit(300.0),
            active: None,
            next: 0,
            refuse: false,
            log: Vec::new(),
        }
    }

    fn frame(&mut self, t_ms: u64, objects: &[Seen]) -> Vec<Action> {
        let actions = self.engine.on_frame(t_ms * MS, objects);
        for a in &actions {
            match *a {
                Action::Start { rule, .. } => {
                    let session = if self.refuse {
                        0
                    } else if let Some(s) = self.active {
                        s
                    } else {
                        self.next += 1;
                        self.active = Some(self.next);
                        self.next
                    };
                    self.engine.started(rule, session);
                }
                Action::Stop { session, .. } => {
                    if self.active == Some(session) {
                        self.active = None;
                        self.engine.session_done(session);
                    }
                }
                Action::Leave { .. } => {}
            }
            self.log.push((t_ms, a.clone()));
        }
        actions
    }

    /// Frames every `step_ms` in `[from_ms, to_ms)`, with `objects(t_ms)` on each.
    fn run(
        &mut self,
        from_ms: u64,
        to_ms: u64,
        step_ms: u64,
        objects: impl Fn(u64) -> Vec<Seen<'static>>,
    ) {
        let mut t = from_ms;
        while t < to_ms {
            self.frame(t, &objects(t));
            t += step_ms;
        }
    }

    fn starts(&self) -> Vec<(u64, Action)> {
        self.log
            .iter()
            .filter(|(_, a)| matches!(a, Action::Start { .. }))
            .cloned()
            .collect()
    }

    fn stops(&self) -> Vec<(u64, Action)> {
        self.log
            .iter()
            .filter(|(_, a)| matches!(a, Action::Stop { .. }))
            .cloned()
            .collect()
    }
}

fn start_times(sim: &Sim) -> Vec<u64> {
    sim.starts().iter().map(|(t, _)| *t).collect()
}

fn stop_times(sim: &Sim) -> Vec<u64> {
    sim.stops().iter().map(|(t, _)| *t).collect()
}

#[test]
fn fires_only_after_min_duration() {
    let mut sim = Sim::new(vec![rule("person", 1000, 0, 1000)]);
    // In view from 2 s, a frame every 40 ms: 1 s in view at 3.000 s exactly.
    sim.run(2000, 2960 + 1, 40, |_| vec![seen(7, "person")]);
    assert!(sim.log.is_empty(), "fired early: {:?}", sim.log);
    sim.run(3000, 3100, 40, |_| vec![seen(7, "person")]);
    assert_eq!(start_times(&sim), vec![3000]);
    let mut sim = Sim::new(vec![rule("person", 0, 0, 1000)]);
    sim.frame(500, &[seen(1, "person")]);
    assert_eq!(start_times(&sim), vec![500], "min-duration 0 fires at once");
}

#[test]
fn pre_maps_to_first_seen_minus_pre() {
    let mut sim = Sim::new(vec![rule("person", 1000, 5000, 1000)]);
    sim.run(10_000, 11_050, 50, |_| vec![seen(3, "person")]);
    let [(t, a)] = &sim.starts()[..] else {
        panic!("one start expected: {:?}", sim.log)
    };
    assert_eq!(*t, 11_000);
    assert_eq!(
        *a,
        Action::Start {
            rule: 0,
            seconds_before_now: 6.0,
            duration_s: 300.0,
            from_ns: 5000 * MS,
            first_seen_ns: 10_000 * MS,
            track: Some(3),
        }
    );
    // A pre reaching before running time 0 asks for everything since 0.
    let mut sim = Sim::new(vec![rule("person", 1000, 5000, 1000)]);
    sim.run(2000, 3050, 50, |_| vec![seen(3, "person")]);
    match &sim.starts()[0].1 {
        Action::Start {
            seconds_before_now,
            from_ns,
            ..
        } => {
            assert_eq!(*seconds_before_now, 3.0);
            assert_eq!(*from_ns, 0);
        }
        a => panic!("{a:?}"),
    }
}

#[test]
fn pre_roll_goes_back_to_the_longest_in_view_track() {
    let mut sim = Sim::new(vec![rule("car", 1000, 2000, 1000)]);
    // Track 1 from 10 s, track 2 from 10.5 s; track 1 fires at 11 s.
    sim.run(10_000, 11_500, 100, |t| {
        let mut v = vec![seen(1, "car")];
        if t >= 10_500 {
            v.push(seen(2, "car"));
        }
        v
    });
    match &sim.starts()[..] {
        [(11_000, Action::Start { track, from_ns, .. })] => {
            assert_eq!(*track, Some(1));
            assert_eq!(*from_ns, 8000 * MS);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn extends_while_in_view_and_stops_post_after_last_seen() {
    let mut sim = Sim::new(vec![rule("person", 1000, 1000, 10_000)]);
    // Track 1 from 10 s to 20 s; track 2 (never 1 s in view alone before the start
    // matters) appears at 15 s and stays to 25 s; then nothing.
    sim.run(10_000, 40_000, 100, |t| {
        let mut v = Vec::new();
        if t < 20_000 {
            v.push(seen(1, "person"));
        }
        if (15_000..25_000).contains(&t) {
            v.push(seen(2, "person"));
        }
        v
    });
    assert_eq!(start_times(&sim), vec![11_000]);
    // Last seen at 24.9 s: stopped at the first frame at or after 34.9 s.
    assert_eq!(stop_times(&sim), vec![34_900]);
    assert_eq!(
        sim.stops()[0].1,
        Action::Stop {
            rule: 0,
            session: 1,
            last_seen_ns: 24_900 * MS
        }
    );
    assert_eq!(sim.engine.recording(0), None);
}

#[test]
fn a_short_sighting_extends_a_clip_it_could_not_start() {
    let mut sim = Sim::new(vec![rule("person", 1000, 0, 2000)]);
    sim.run(0, 2000, 100, |_| vec![seen(1, "person")]);
    // Gone at 2 s; a different person glimpsed for 0.2 s at 3.5 s keeps the clip on.
    sim.run(2000, 10_000, 100, |t| {
        if (3500..3700).contains(&t) {
            vec![seen(2, "person")]
        } else {
            vec![]
        }
    });
    assert_eq!(start_times(&sim), vec![1000]);
    assert_eq!(stop_times(&sim), vec![5600]);
}

#[test]
fn cooldown_delays_the_next_clip() {
    let mut r = rule("person", 1000, 2000, 1000);
    r.cooldown = Duration::from_secs(10);
    let mut sim = Sim::new(vec![r]);
    // A first visit 0..3 s: clip 1 starts at 1 s, stops at 3.9 s (last seen 2.9 s).
    // A second person from 5 s to 30 s: ready at 6 s, but the cooldown runs to 13.9 s.
    sim.run(0, 40_000, 100, |t| {
        if t < 3000 {
            vec![seen(1, "person")]
        } else if (5000..30_000).contains(&t) {
            vec![seen(2, "person")]
        } else {
            vec![]
        }
    });
    assert_eq!(start_times(&sim), vec![1000, 13_900]);
    assert_eq!(stop_times(&sim), vec![3900, 30_900]);
    // The second clip goes back to the second person's arrival minus pre (3 s) but
    // not before the first clip's end (3.9 s).
    match &sim.starts()[1].1 {
        Action::Start { from_ns, track, .. } => {
            assert_eq!(*from_ns, 3900 * MS);
            assert_eq!(*track, Some(2));
        }
        a => panic!("{a:?}"),
    }
}

#[test]
fn confidence_gate() {
    let at = |c: f64| {
        move |_| {
            vec![Seen {
                track_id: Some(1),
                label: "person",
                confidence: c,
            }]
        }
    };
    let mut sim = Sim::new(vec![rule("person", 1000, 0, 1000)]);
    sim.run(0, 5000, 100, at(0.49));
    assert!(sim.log.is_empty());
    let mut sim = Sim::new(vec![rule("person", 1000, 0, 1000)]);
    sim.run(0, 1100, 100, at(0.5));
    assert_eq!(start_times(&sim), vec![1000], "min-confidence is inclusive");

    // Dips below the threshold count as gaps: 0.5 s keeps the time in view, 1.5 s
    // starts it over.
    let dips = |from: u64, to: u64| {
        move |t: u64| {
            vec![Seen {
                track_id: Some(1),
                label: "person",
                confidence: if (from..to).contains(&t) { 0.2 } else { 0.8 },
            }]
        }
    };
    let mut sim = Sim::new(vec![rule("person", 2000, 0, 1000)]);
    sim.run(0, 2500, 100, dips(500, 1000));
    assert_eq!(start_times(&sim), vec![2000]);
    let mut sim = Sim::new(vec![rule("person", 2000, 0, 1000)]);
    sim.run(0, 6000, 100, dips(500, 2000));
    assert_eq!(start_times(&sim), vec![4000]);
}

#[test]
fn label_gate() {
    let mut sim = Sim::new(vec![rule("circle", 1000, 0, 1000)]);
    sim.run(0, 5000, 100, |_| vec![seen(1, "square"), seen(2, "Circle")]);
    assert!(sim.log.is_empty());
    sim.run(5000, 7000, 100, |_| {
        vec![seen(1, "square"), seen(3, "circle")]
    });
    assert_eq!(start_times(&sim), vec![6000]);
    match &sim.starts()[0].1 {
        Action::Start { track, .. } => assert_eq!(*track, Some(3)),
        a => panic!("{a:?}"),
    }
}

#[test]
fn untracked_presence_tolerates_gaps() {
    let mut sim = Sim::new(vec![rule("person", 2000, 1000, 3000)]);
    // Seen 300 ms out of every 800 ms (gaps of 500 ms) from 1 s: in view since 1 s.
    let flicker = |t: u64| {
        if t >= 1000 && (t - 1000) % 800 < 300 {
            vec![untracked("person")]
        } else {
            vec![]
        }
    };
    sim.run(0, 10_000, 100, flicker);
    // Sightings at 1.0-1.2, 1.8-2.0, 2.6-2.8, 3.4-3.6 s...: 2 s in view at 3.4 s.
    assert_eq!(start_times(&sim), vec![3400]);
    match &sim.starts()[0].1 {
        Action::Start {
            track,
            first_seen_ns,
            from_ns,
            ..
        } => {
            assert_eq!(*track, None);
            assert_eq!(*first_seen_ns, 1000 * MS);
            assert_eq!(*from_ns, 0);
        }
        a => panic!("{a:?}"),
    }
    assert!(stop_times(&sim).is_empty(), "gaps shorter than post");

    // Gaps of 1.2 s start the time in view over: never 2 s in view.
    let mut sim = Sim::new(vec![rule("person", 2000, 1000, 3000)]);
    sim.run(0, 20_000, 100, |t| {
        if t % 2000 < 800 {
            vec![untracked("person")]
        } else {
            vec![]
        }
    });
    assert!(sim.log.is_empty(), "{:?}", sim.log);
}

#[test]
fn flickering_track_ids() {
    // One object reported under ids 1 and 2 on alternate frames: each id is in view
    // (gaps of one frame), so the rule fires on time, from the earlier id.
    let mut sim = Sim::new(vec![rule("person", 1000, 500, 1000)]);
    sim.run(0, 1500, 50, |t| vec![seen(1 + (t / 50) % 2, "person")]);
    assert_eq!(start_times(&sim), vec![1000]);
    match &sim.starts()[0].1 {
        Action::Start { track, .. } => assert_eq!(*track, Some(1)),
        a => panic!("{a:?}"),
    }

    // A new id every 0.5 s: no track is ever 1 s in view, and the old ids are let go.
    let mut sim = Sim::new(vec![rule("person", 1000, 500, 1000)]);
    for i in 0..200u64 {
        for k in 0..10 {
            sim.frame(i * 500 + k * 50, &[seen(100 + i, "person")]);
        }
        assert!(sim.engine.tracks() <= 3, "{}", sim.engine.tracks());
    }
    assert!(sim.log.is_empty());
}

#[test]
fn a_track_the_tracker_keeps_through_a_miss_stays_in_view() {
    let mut sim = Sim::new(vec![rule("person", 2000, 0, 1000)]);
    // Track 1 absent 0.9 s (within the gap) at 1 s, then back: 2 s in view at 2 s.
    sim.run(0, 2100, 100, |t| {
        if (1000..1900).contains(&t) {
            vec![]
        } else {
            vec![seen(1, "person")]
        }
    });
    assert_eq!(start_times(&sim), vec![2000]);
}

#[test]
fn refused_start_is_retried_once_a_second() {
    let mut sim = Sim::new(vec![rule("person", 1000, 0, 1000)]);
    sim.refuse = true;
    sim.run(0, 3500, 100, |_| vec![seen(1, "person")]);
    assert_eq!(start_times(&sim), vec![1000, 2000, 3000]);
    assert_eq!(sim.engine.recording(0), None);
    sim.refuse = false;
    sim.run(3500, 4500, 100, |_| vec![seen(1, "person")]);
    assert_eq!(start_times(&sim), vec![1000, 2000, 3000, 4000]);
    assert_eq!(sim.engine.recording(0), Some(1));
    // Refusals set no cooldown and stop nothing.
    assert!(stop_times(&sim).is_empty());
}

#[test]
fn clip_ended_by_the_element_mid_object() {
    let mut sim = Sim::new(vec![rule("person", 1000, 2000, 1000)]);
    sim.run(0, 5000, 100, |_| vec![seen(1, "person")]);
    assert_eq!(sim.engine.recording(0), Some(1));
    // max-duration ends session 1 (the element's done message) at 5 s.
    sim.active = None;
    sim.engine.session_done(1);
    assert_eq!(sim.engine.recording(0), None);
    sim.run(5000, 5300, 100, |_| vec![seen(1, "person")]);
    // The next frame starts a new clip where the previous one ended.
    match &sim.starts()[..] {
        [_, (
            5000,
            Action::Start {
                from_ns,
                seconds_before_now,
                ..
            },
        )] => {
            assert_eq!(*from_ns, 4900 * MS);
            assert!((seconds_before_now - 0.1).abs() < 1e-9);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.engine.recording(0), Some(2));
    // A repeated or late done of the old session changes nothing.
    sim.engine.session_done(1);
    assert_eq!(sim.engine.recording(0), Some(2));

    // With a cooldown the new clip waits for it.
    let mut r = rule("person", 1000, 2000, 1000);
    r.cooldown = Duration::from_secs(3);
    let mut sim = Sim::new(vec![r]);
    sim.run(0, 5000, 100, |_| vec![seen(1, "person")]);
    sim.active = None;
    sim.engine.session_done(1);
    sim.run(5000, 9000, 100, |_| vec![seen(1, "person")]);
    assert_eq!(start_times(&sim), vec![1000, 7900]);
}

#[test]
fn done_before_the_start_is_answered() {
    let mut e = RuleEngine::new(vec![rule("person", 0, 0, 1000)]);
    let a = e.on_frame(0, &[seen(1, "person")]);
    assert!(matches!(a[..], [Action::Start { .. }]));
    e.session_done(5);
    e.started(0, 5);
    assert_eq!(e.recording(0), None);
    let a = e.on_frame(100 * MS, &[seen(1, "person")]);
    assert!(matches!(a[..], [Action::Start { .. }]), "{a:?}");
}

#[test]
fn rules_are_independent_and_share_the_clip() {
    let mut sim = Sim::new(vec![
        rule("circle", 1000, 0, 2000),
        rule("square", 1000, 0, 5000),
    ]);
    sim.run(0, 20_000, 100, |t| {
        let mut v = Vec::new();
        if t < 4000 {
            v.push(seen(1, "circle"));
        }
        if (2000..6000).contains(&t) {
            v.push(seen(2, "square"));
        }
        v
    });
    // Both fire (1 s and 3 s) into the one clip the element writes.
    assert_eq!(start_times(&sim), vec![1000, 3000]);
    assert_eq!(sim.next, 1);
    assert_eq!(sim.engine.rules_of(1), vec![0, 1]);
    assert!(sim.engine.rules_of(2).is_empty());
    // The circle rule is done at 5.9 s but the square rule still holds the clip: it
    // leaves; the square rule stops it at 10.9 s.
    let rest: Vec<_> = sim
        .log
        .iter()
        .filter(|(_, a)| !matches!(a, Action::Start { .. }))
        .cloned()
        .collect();
    assert_eq!(
        rest,
        vec![
            (
                5900,
                Action::Leave {
                    rule: 0,
                    session: 1,
                    last_seen_ns: 3900 * MS
                }
            ),
            (
                10_900,
                Action::Stop {
                    rule: 1,
                    session: 1,
                    last_seen_ns: 5900 * MS
                }
            ),
        ]
    );
}

#[test]
fn a_stop_comes_before_a_start_on_the_same_frame() {
    let mut sim = Sim::new(vec![
        rule("circle", 0, 0, 1000),
        rule("square", 1000, 3000, 1000),
    ]);
    // The circle clip is due to stop at 1.8 s, when the square rule becomes ready.
    sim.run(0, 2000, 100, |t| {
        let mut v = Vec::new();
        if t < 900 {
            v.push(seen(1, "circle"));
        }
        if t >= 800 {
            v.push(seen(2, "square"));
        }
        v
    });
    let at: Vec<_> = sim.log.iter().filter(|(t, _)| *t == 1800).collect();
    assert!(
        matches!(
            at[..],
            [
                (_, Action::Stop { rule: 0, .. }),
                (_, Action::Start { rule: 1, .. })
            ]
        ),
        "{at:?}"
    );
    // So the square rule has a clip of its own.
    assert_eq!(sim.engine.recording(1), Some(2));
}

#[test]
fn many_tracks_bounded_state() {
    let mut e = RuleEngine::new(vec![rule("person", 1000, 0, 1000)]);
    // 20 new ids a frame, each seen once, for 100 s at 25 fps.
    let mut id = 0u64;
    for f in 0..2500u64 {
        let objs: Vec<_> = (0..20)
            .map(|_| {
                id += 1;
                seen(id, "person")
            })
            .collect();
        e.on_frame(f * 40 * MS, &objs);
        assert!(e.tracks() <= 20 * 26, "{}", e.tracks());
    }
    // A crowd beyond the bound on one frame.
    let crowd: Vec<_> = (0..5000).map(|i| seen(1_000_000 + i, "person")).collect();
    e.on_frame(200_000 * MS, &crowd);
    assert_eq!(e.tracks(), MAX_TRACKS);
    // All gone a second later.
    e.on_frame(201_100 * MS, &[]);
    assert_eq!(e.tracks(), 0);
}

#[test]
fn running_time_jumps() {
    let mut sim = Sim::new(vec![rule("person", 1000, 0, 2000)]);
    sim.run(50_000, 52_000, 100, |_| vec![seen(1, "person")]);
    assert_eq!(start_times(&sim), vec![51_000]);
    // Back to 0 (a flushing seek): stored times move with it; the clip goes on while
    // the object is seen and stops 2 s after it was last seen.
    sim.run(0, 6000, 100, |t| {
        if t < 1000 {
            vec![seen(1, "person")]
        } else {
            vec![]
        }
    });
    assert_eq!(stop_times(&sim), vec![2900]);
    // A jump forwards is a gap: the clip stops on the next frame.
    let mut sim = Sim::new(vec![rule("person", 1000, 0, 2000)]);
    sim.run(0, 2000, 100, |_| vec![seen(1, "person")]);
    sim.frame(60_000, &[]);
    assert_eq!(stop_times(&sim), vec![60_000]);
    assert_eq!(sim.engine.tracks(), 0);
}

#[test]
fn rules_for_a_source() {
    let mut a = rule("person", 1000, 0, 1000);
    a.sources = Some(vec!["cam1".into(), "cam2".into()]);
    let b = rule("car", 1000, 0, 1000);
    let only = for_source(&[a.clone(), b.clone()], "cam3");
    assert_eq!(only, vec![b.clone()]);
    assert_eq!(for_source(&[a.clone(), b.clone()], "cam2"), vec![a, b]);
}

#[test]
fn no_new_clip_for_a_track_that_is_gone() {
    // post shorter than the gap tolerance: the clip stops while the track is still
    // remembered, and that track, not seen, starts nothing.
    let mut sim = Sim::new(vec![rule("person", 1000, 0, 300)]);
    sim.run(0, 2700, 100, |t| {
        if t < 2000 {
            vec![seen(1, "person")]
        } else {
            vec![]
        }
    });
    assert_eq!(start_times(&sim), vec![1000]);
    assert_eq!(stop_times(&sim), vec![2200]);
    // Back 0.5 s later (within the gap): still the same time in view, a new clip at once,
    // starting where the previous one ended.
    sim.run(2700, 2800, 100, |_| vec![seen(1, "person")]);
    match &sim.starts()[..] {
        [_, (2700, Action::Start { from_ns, .. })] => assert_eq!(*from_ns, 2200 * MS),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_gap_is_measured_between_sightings_even_without_frames_between() {
    // Frames 0.9 s and 1 s apart (a stalled stream): seen at 0 and 1.9 s is a gap of
    // 1.9 s, so the time in view starts over at 1.9 s.
    let mut sim = Sim::new(vec![rule("person", 1000, 0, 5000)]);
    sim.frame(0, &[seen(1, "person")]);
    sim.frame(900, &[]);
    sim.frame(1900, &[seen(1, "person")]);
    sim.frame(2800, &[seen(1, "person")]);
    assert!(sim.log.is_empty(), "{:?}", sim.log);
    sim.frame(2900, &[seen(1, "person")]);
    assert_eq!(start_times(&sim), vec![2900]);
}

#[test]
fn a_cooldown_survives_running_time_going_back() {
    let mut r = rule("person", 1000, 0, 1000);
    r.cooldown = Duration::from_secs(10);
    let mut sim = Sim::new(vec![r]);
    // A clip from 51 s stopped at 53 s (last seen 51.9 s... 52 s): cooldown to 63 s.
    sim.run(50_000, 55_000, 100, |t| {
        if t < 52_000 {
            vec![seen(1, "person")]
        } else {
            vec![]
        }
    });
    assert_eq!(stop_times(&sim), vec![52_900]);
    // Running time restarts at 0 after the frame at 54.9 s: the cooldown has 8 s left,
    // so a person in view from 0 starts a clip at 8 s, not at 63 s.
    sim.run(0, 20_000, 100, |_| vec![seen(2, "person")]);
    assert_eq!(start_times(&sim), vec![51_000, 8000]);
}
