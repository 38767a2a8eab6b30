//! Tests of the per-track cache ([`vote::TrackCache`]): each rule of its module
//! documentation, checked against hand-computed expectations.

use super::vote::*;
use super::Classification;

fn c(label_id: usize, confidence: f32) -> Option<Classification> {
    Some(Classification {
        label_id,
        confidence,
    })
}

/// A policy with only what a test sets: no interval, growth, cap, threshold, forgetting or
/// identity switch.
fn bare() -> Policy {
    Policy {
        interval_frames: u32::MAX,
        interval_ms: 0,
        growth: 0.0,
        max_attempts: 0,
        min_attempts: 1,
        min_agreement: 0.0,
        threshold: 0.0,
        capacity: 100,
        forget_after_frames: 0,
        switch_after: 0,
    }
}

const AREA: f64 = 100.0;

/// Records attempts on successive frames from `frame`, on track 1.
fn attempts(cache: &mut TrackCache, frame: u64, results: &[Option<Classification>]) {
    for (i, r) in results.iter().enumerate() {
        cache.record(1, frame + i as u64, None, AREA, *r);
    }
}

fn label(cache: &TrackCache, frame: u64) -> Option<usize> {
    cache.result(1, frame).map(|a| a.label_id)
}

#[test]
fn defaults() {
    let p = Policy::default();
    assert_eq!(p.interval_frames, 10);
    assert_eq!(p.interval_ms, 0);
    assert_eq!(p.growth, 0.2);
    assert_eq!(p.max_attempts, 16);
    assert_eq!(p.min_attempts, 1);
    assert_eq!(p.min_agreement, 0.0);
    assert_eq!(p.threshold, 0.5);
    assert_eq!(p.capacity, 1000);
    assert_eq!(p.forget_after_frames, 300);
    assert_eq!(p.switch_after, 2);
}

#[test]
fn a_new_track_is_due_then_every_interval_frames() {
    let mut cache = TrackCache::new(Policy {
        interval_frames: 10,
        ..bare()
    });
    assert!(cache.due(1, 0, None, AREA));
    // Not recorded yet: still due.
    assert!(cache.due(1, 1, None, AREA));
    cache.record(1, 1, None, AREA, c(3, 0.9));
    for f in 2..11 {
        assert!(!cache.due(1, f, None, AREA), "frame {f}");
    }
    assert!(cache.due(1, 11, None, AREA));
    // Other tracks are independent.
    assert!(cache.due(2, 11, None, AREA));
}

#[test]
fn interval_counts_from_weak_attempts_too() {
    let mut cache = TrackCache::new(Policy {
        interval_frames: 5,
        threshold: 0.5,
        ..bare()
    });
    cache.record(1, 0, None, AREA, c(3, 0.2));
    assert_eq!(cache.result(1, 0), None);
    assert!(!cache.due(1, 4, None, AREA));
    assert!(cache.due(1, 5, None, AREA));
}

#[test]
fn failed_attempts_are_not_counted() {
    let mut cache = TrackCache::new(Policy {
        interval_frames: 10,
        max_attempts: 2,
        ..bare()
    });
    for f in 0..5 {
        assert!(cache.due(1, f, None, AREA));
        cache.record(1, f, None, AREA, None);
    }
    assert_eq!(cache.result(1, 5), None);
    cache.record(1, 5, None, AREA, c(0, 0.9));
    assert_eq!(cache.result(1, 5).unwrap().attempts, 1);
}

#[test]
fn interval_zero_classifies_until_published_then_never() {
    let mut cache = TrackCache::new(Policy {
        interval_frames: 0,
        interval_ms: 100,
        growth: 0.2,
        threshold: 0.5,
        ..bare()
    });
    // Weak attempts: no result, due again on the next frame.
    for f in 0..3 {
        assert!(cache.due(1, f, Some(f * 33), AREA));
        cache.record(1, f, Some(f * 33), AREA, c(1, 0.3));
    }
    assert!(cache.due(1, 3, Some(99), AREA));
    cache.record(1, 3, Some(99), AREA, c(1, 0.8));
    assert_eq!(label(&cache, 3), Some(1));
    // Published: never again, whatever the time or the growth.
    assert!(!cache.due(1, 1000, Some(60_000), AREA * 4.0));
}

#[test]
fn interval_in_milliseconds() {
    let mut cache = TrackCache::new(Policy {
        interval_ms: 500,
        ..bare()
    });
    cache.record(1, 0, Some(1000), AREA, c(0, 0.9));
    assert!(!cache.due(1, 1, Some(1499), AREA));
    assert!(cache.due(1, 2, Some(1500), AREA));
    // Without a time on either side, the time rule cannot fire.
    assert!(!cache.due(1, 3, None, AREA));
    cache.record(1, 3, None, AREA, c(0, 0.9));
    assert!(!cache.due(1, 4, Some(5000), AREA));
    // Time going backwards does not make a track due.
    cache.record(1, 5, Some(5000), AREA, c(0, 0.9));
    assert!(!cache.due(1, 6, Some(10), AREA));
}

#[test]
fn growth_of_the_box_area() {
    let mut cache = TrackCache::new(Policy {
        growth: 0.2,
        ..bare()
    });
    cache.record(1, 0, None, 100.0, c(0, 0.9));
    assert!(!cache.due(1, 1, None, 120.0)); // exactly 20 %: not more
    assert!(!cache.due(1, 2, None, 50.0)); // shrinking never triggers
    assert!(cache.due(1, 3, None, 120.5));
    // The reference is the area at the last attempt.
    cache.record(1, 3, None, 120.5, c(0, 0.9));
    assert!(!cache.due(1, 4, None, 140.0));
    assert!(cache.due(1, 5, None, 145.0));
    // Not numbers never trigger; a degenerate last box grows into any real one.
    assert!(!cache.due(1, 6, None, f64::NAN));
    cache.record(2, 6, None, 0.0, c(0, 0.9));
    assert!(cache.due(2, 7, None, 1.0));

    // growth = 0 is unused.
    let mut cache = TrackCache::new(bare());
    cache.record(1, 0, None, 100.0, c(0, 0.9));
    assert!(!cache.due(1, 1, None, 10_000.0));
}

#[test]
fn max_attempts_caps_the_track() {
    let mut cache = TrackCache::new(Policy {
        interval_frames: 1,
        max_attempts: 3,
        threshold: 0.5,
        ..bare()
    });
    // Weak attempts count towards the cap.
    attempts(&mut cache, 0, &[c(0, 0.9), c(0, 0.1), c(0, 0.9)]);
    assert!(!cache.due(1, 3, None, AREA));
    assert!(!cache.due(1, 100, None, AREA * 10.0));
    let a = cache.result(1, 3).unwrap();
    assert_eq!((a.attempts, a.votes), (3, 2));
    // 0 = unlimited.
    let mut cache = TrackCache::new(Policy {
        interval_frames: 1,
        ..bare()
    });
    attempts(&mut cache, 0, &[c(0, 0.9); 100]);
    assert!(cache.due(1, 100, None, AREA));
}

#[test]
fn weak_attempts_cast_no_vote() {
    let mut cache = TrackCache::new(Policy {
        threshold: 0.5,
        min_attempts: 2,
        ..bare()
    });
    attempts(&mut cache, 0, &[c(4, 0.49), c(4, 0.3), c(4, 0.7)]);
    // Three counted attempts, but one vote: min_attempts counts voting attempts.
    assert_eq!(cache.result(1, 2), None);
    cache.record(1, 3, None, AREA, c(4, 0.5)); // at the threshold: votes
    let a = cache.result(1, 3).unwrap();
    assert_eq!((a.label_id, a.attempts, a.votes), (4, 4, 2));
    assert!((a.confidence - 0.6).abs() < 1e-6, "{a:?}"); // mean of 0.7 and 0.5
                                                         // Not numbers and 0 never vote, even with a threshold of 0.
    let mut cache = TrackCache::new(bare());
    attempts(&mut cache, 0, &[c(1, f32::NAN), c(1, 0.0), c(1, -0.5)]);
    assert_eq!(cache.result(1, 2), None);
}

#[test]
fn min_attempts_and_agreement_as_frigate() {
    let frigate = Policy {
        min_attempts: 3,
        min_agreement: 0.6,
        threshold: 0.8,
        ..bare()
    };
    let mut cache = TrackCache::new(frigate.clone());
    attempts(&mut cache, 0, &[c(0, 0.9), c(0, 0.9)]);
    assert_eq!(label(&cache, 1), None); // two attempts only
    cache.record(1, 2, None, AREA, c(1, 0.95));
    let a = cache.result(1, 2).unwrap();
    assert_eq!((a.label_id, a.votes, a.attempts), (0, 2, 3)); // 2 of 3 agree
    assert_eq!(a.frames_ago, 1); // its latest vote was on frame 1

    // No label reaches 60 %: nothing, until one does (3 of 5 is exactly 60 %).
    let mut cache = TrackCache::new(frigate);
    attempts(&mut cache, 0, &[c(0, 0.9), c(1, 0.9), c(2, 0.9)]);
    assert_eq!(label(&cache, 2), None);
    cache.record(1, 3, None, AREA, c(0, 0.9));
    assert_eq!(label(&cache, 3), None); // 2 of 4
    cache.record(1, 4, None, AREA, c(0, 0.9));
    let a = cache.result(1, 4).unwrap();
    assert_eq!((a.label_id, a.votes, a.frames_ago), (0, 3, 0));
}

#[test]
fn the_vote_is_weighted_by_confidence() {
    let mut cache = TrackCache::new(Policy {
        min_attempts: 5,
        ..bare()
    });
    // Label 2 has more votes (3 x 0.55 = 1.65), label 7 the higher score (2 x 0.95 = 1.9).
    attempts(
        &mut cache,
        0,
        &[c(7, 0.95), c(2, 0.55), c(7, 0.95), c(2, 0.55), c(2, 0.55)],
    );
    let a = cache.result(1, 4).unwrap();
    assert_eq!((a.label_id, a.votes), (7, 2));
    assert!((a.confidence - 0.95).abs() < 1e-6);
}

#[test]
fn ties_go_to_the_lowest_id_then_to_the_published_label() {
    let mut cache = TrackCache::new(Policy {
        min_attempts: 2,
        ..bare()
    });
    attempts(&mut cache, 0, &[c(5, 0.8), c(3, 0.8)]);
    assert_eq!(label(&cache, 1), Some(3));
    // Label 5 draws level again: the published label stays.
    attempts(&mut cache, 2, &[c(3, 0.7), c(5, 0.7)]);
    assert_eq!(label(&cache, 3), Some(3));
}

#[test]
fn a_confident_result_is_not_erased_by_weak_retries() {
    let mut cache = TrackCache::new(Policy {
        threshold: 0.5,
        ..bare()
    });
    cache.record(1, 0, None, AREA, c(2, 0.9));
    attempts(&mut cache, 1, &[c(6, 0.3), None, c(2, 0.2), c(6, 0.45)]);
    let a = cache.result(1, 10).unwrap();
    assert_eq!(
        (a.label_id, a.votes, a.attempts, a.frames_ago),
        (2, 1, 4, 10)
    );
    assert!((a.confidence - 0.9).abs() < 1e-6);
}

#[test]
fn a_winner_is_replaced_only_by_a_higher_score() {
    let mut cache = TrackCache::new(Policy {
        threshold: 0.5,
        ..bare()
    });
    cache.record(1, 0, None, AREA, c(0, 0.9));
    cache.record(1, 1, None, AREA, c(1, 0.8)); // 0.8 < 0.9: stays 0
    assert_eq!(label(&cache, 1), Some(0));
    cache.record(1, 2, None, AREA, c(1, 0.6)); // 1.4 > 0.9: now 1
    let a = cache.result(1, 2).unwrap();
    assert_eq!((a.label_id, a.votes, a.frames_ago), (1, 2, 0));
    assert!((a.confidence - 0.7).abs() < 1e-6);
    // A vote for the old label that does not overtake changes nothing.
    cache.record(1, 3, None, AREA, c(0, 0.5)); // level with 1.4: the published label stays
    assert_eq!(label(&cache, 3), Some(1));
}

#[test]
fn overtaking_needs_the_agreement_too() {
    let mut cache = TrackCache::new(Policy {
        min_agreement: 0.6,
        ..bare()
    });
    attempts(&mut cache, 0, &[c(0, 0.9), c(0, 0.9)]);
    assert_eq!(label(&cache, 1), Some(0));
    // Label 1's score (1.9) passes label 0's (1.8) at 2 of 4 votes: not enough agreement.
    attempts(&mut cache, 2, &[c(1, 0.95), c(1, 0.95)]);
    assert_eq!(label(&cache, 3), Some(0));
    // 3 of 5: label 1 now.
    cache.record(1, 4, None, AREA, c(1, 0.95));
    let a = cache.result(1, 4).unwrap();
    assert_eq!((a.label_id, a.votes, a.attempts), (1, 3, 5));
    // Label 0 no longer meets the agreement, yet nothing erases label 1's result either.
    attempts(&mut cache, 5, &[c(2, 0.6), c(3, 0.6), c(4, 0.6)]);
    assert_eq!(label(&cache, 7), Some(1));
}

#[test]
fn frames_ago_follows_the_published_labels_votes() {
    let mut cache = TrackCache::new(Policy {
        threshold: 0.5,
        ..bare()
    });
    cache.record(1, 10, None, AREA, c(0, 0.9));
    assert_eq!(cache.result(1, 10).unwrap().frames_ago, 0);
    assert_eq!(cache.result(1, 25).unwrap().frames_ago, 15);
    // Neither a weak attempt nor a vote for another label refreshes it ...
    cache.record(1, 30, None, AREA, c(0, 0.1));
    cache.record(1, 31, None, AREA, c(1, 0.6));
    assert_eq!(cache.result(1, 32).unwrap().frames_ago, 22);
    // ... a vote for it does.
    cache.record(1, 40, None, AREA, c(0, 0.6));
    assert_eq!(cache.result(1, 42).unwrap().frames_ago, 2);
    // An earlier frame than the vote gives 0, not an underflow.
    assert_eq!(cache.result(1, 5).unwrap().frames_ago, 0);
}

#[test]
fn end_drops_the_track() {
    let mut cache = TrackCache::new(Policy {
        interval_frames: 10,
        ..bare()
    });
    cache.record(1, 0, None, AREA, c(0, 0.9));
    cache.record(2, 0, None, AREA, c(0, 0.9));
    cache.end(1);
    cache.end(99); // unknown: nothing
    assert_eq!(cache.len(), 1);
    assert_eq!(cache.result(1, 1), None);
    assert!(cache.due(1, 1, None, AREA)); // a new track again
    assert!(cache.result(2, 1).is_some());
}

#[test]
fn sweep_forgets_tracks_not_seen() {
    let mut cache = TrackCache::new(Policy {
        forget_after_frames: 100,
        ..bare()
    });
    cache.record(1, 0, None, AREA, c(0, 0.9));
    cache.record(2, 0, None, AREA, c(0, 0.9));
    cache.due(2, 50, None, AREA); // seen (not classified) on frame 50
    cache.sweep(99);
    assert_eq!(cache.len(), 2);
    cache.sweep(100);
    assert_eq!(cache.len(), 1);
    assert!(cache.result(1, 100).is_none());
    assert!(cache.result(2, 100).is_some());
    cache.sweep(150);
    assert!(cache.is_empty());

    // 0: never forgotten by age.
    let mut cache = TrackCache::new(bare());
    cache.record(1, 0, None, AREA, c(0, 0.9));
    cache.sweep(u64::MAX);
    assert_eq!(cache.len(), 1);
}

#[test]
fn capacity_drops_the_least_recently_seen() {
    let mut cache = TrackCache::new(Policy {
        capacity: 3,
        ..bare()
    });
    for t in 1..=3 {
        cache.record(t, 0, None, AREA, c(t as usize, 0.9));
    }
    cache.due(1, 1, None, AREA); // 1 seen again: 2 is now the least recently seen
    cache.record(3, 1, None, AREA, c(3, 0.9));
    cache.due(4, 2, None, AREA);
    assert_eq!(cache.len(), 3);
    assert!(cache.result(2, 2).is_none());
    assert_eq!(cache.result(1, 2).map(|a| a.label_id), Some(1));
    assert_eq!(cache.result(3, 2).map(|a| a.label_id), Some(3));
    cache.record(5, 3, None, AREA, c(5, 0.9)); // drops 1
    assert!(cache.result(1, 3).is_none());
    assert!(cache.result(5, 3).is_some());
    assert_eq!(cache.len(), 3);

    // Shrinking the capacity while playing drops the oldest at once.
    let mut p = cache.policy().clone();
    p.capacity = 1;
    cache.set_policy(p);
    assert_eq!(cache.len(), 1);
    assert!(cache.result(5, 3).is_some());

    // 0 is taken as 1: the track being classified is kept.
    let mut cache = TrackCache::new(Policy {
        capacity: 0,
        ..bare()
    });
    cache.record(1, 0, None, AREA, c(0, 0.9));
    assert!(cache.result(1, 0).is_some());
    cache.record(2, 1, None, AREA, c(0, 0.9));
    assert_eq!(cache.len(), 1);
    assert!(cache.result(2, 1).is_some());
}

#[test]
fn many_labels_stay_bounded_and_keep_the_published_one() {
    let mut cache = TrackCache::new(bare());
    // Labels 0..30 once each, then label 31 twice: it overtakes label 0 and is the last
    // label kept.
    for l in 0..MAX_LABELS_PER_TRACK - 1 {
        cache.record(1, l as u64, None, AREA, c(l, 0.6));
    }
    let n = MAX_LABELS_PER_TRACK as u64;
    cache.record(1, n, None, AREA, c(31, 0.6));
    cache.record(1, n + 1, None, AREA, c(31, 0.6));
    assert_eq!(label(&cache, n + 1), Some(31));
    // New labels beyond the bound forget the weakest others, never the published one.
    for l in 100..200 {
        cache.record(1, n + l as u64, None, AREA, c(l, 0.55));
        let a = cache.result(1, n + l as u64).unwrap();
        assert_eq!((a.label_id, a.votes), (31, 2), "label {l}");
    }
    cache.clear();
    assert!(cache.is_empty());
}

#[test]
fn forgetting_labels_keeps_a_published_label_that_lost_on_score() {
    // The published label (31, the last one kept) is behind label 1 on score, but label 1
    // lacks the agreement: forgetting other labels must leave label 31 published.
    let mut cache = TrackCache::new(Policy {
        min_agreement: 0.5,
        ..bare()
    });
    let mut frame = 0;
    let vote = |cache: &mut TrackCache, frame: &mut u64, l: usize, conf: f32| {
        cache.record(1, *frame, None, AREA, c(l, conf));
        *frame += 1;
    };
    for l in 0..MAX_LABELS_PER_TRACK - 1 {
        vote(&mut cache, &mut frame, l, 0.6);
    }
    for _ in 0..31 {
        vote(&mut cache, &mut frame, 31, 0.6); // 31 votes of 62: 50 %
    }
    assert_eq!(
        cache.result(1, frame).map(|a| (a.label_id, a.votes)),
        Some((31, 31))
    );
    for _ in 0..19 {
        vote(&mut cache, &mut frame, 1, 1.0); // 19.6 > 18.6, but 20 of 81 votes
    }
    assert_eq!(label(&cache, frame), Some(31));
    for l in 100..110 {
        vote(&mut cache, &mut frame, l, 0.55);
        let a = cache.result(1, frame).unwrap();
        assert_eq!((a.label_id, a.votes), (31, 31), "label {l}");
    }
}

#[test]
fn the_default_policy_end_to_end() {
    // 30 fps, one track coming closer: classified on frame 0, every 10 frames, and when its
    // box grew more than 20 %; at most 16 times.
    let mut cache = TrackCache::new(Policy::default());
    let mut classified = Vec::new();
    for f in 0..400u64 {
        let area = if f < 5 { 100.0 } else { 200.0 };
        if cache.due(7, f, Some(f * 33), area) {
            classified.push(f);
            cache.record(7, f, Some(f * 33), area, c(1, 0.8));
        }
        cache.sweep(f);
    }
    assert_eq!(&classified[..4], &[0, 5, 15, 25]);
    assert_eq!(classified.len(), 16);
    let a = cache.result(7, 399).unwrap();
    assert_eq!((a.label_id, a.attempts, a.votes), (1, 16, 16));
    assert_eq!(a.frames_ago, 399 - classified[15]);
    // Not seen for 300 frames: forgotten.
    cache.sweep(399 + 300);
    assert!(cache.is_empty());
}

/// Identity switches: re-inferred every 10 frames, votes from 0.5, a switch after 2.
fn switching() -> Policy {
    Policy {
        interval_frames: 10,
        threshold: 0.5,
        switch_after: 2,
        ..bare()
    }
}

#[test]
fn two_confident_disagreements_switch_the_identity() {
    let mut cache = TrackCache::new(switching());
    cache.record(1, 0, None, AREA, c(0, 0.9));
    cache.record(1, 10, None, AREA, c(0, 0.8)); // label 0, score 1.7
    cache.record(1, 20, None, AREA, c(3, 0.7));
    assert_eq!(label(&cache, 20), Some(0));
    // Checked again at once, not 10 frames later.
    assert!(cache.due(1, 21, None, AREA));
    // 0.7 + 0.6 = 1.3 < 1.7 would not overtake: the switch replaces label 0.
    cache.record(1, 21, None, AREA, c(3, 0.6));
    let a = cache.result(1, 21).unwrap();
    assert_eq!(
        (a.label_id, a.attempts, a.votes, a.frames_ago),
        (3, 2, 2, 0)
    );
    assert!((a.confidence - 0.65).abs() < 1e-6, "{a:?}");
    // The new object is re-inferred by the interval again.
    assert!(!cache.due(1, 22, None, AREA));
    assert!(!cache.due(1, 30, None, AREA));
    assert!(cache.due(1, 31, None, AREA));
    // Label 0 is gone with the old object: one vote for it is a disagreement now.
    cache.record(1, 31, None, AREA, c(0, 0.9));
    let a = cache.result(1, 31).unwrap();
    assert_eq!((a.label_id, a.attempts, a.votes), (3, 3, 2));
    assert!(cache.due(1, 32, None, AREA));
}

#[test]
fn one_disagreement_then_agreement_keeps_the_label() {
    let mut cache = TrackCache::new(switching());
    cache.record(1, 0, None, AREA, c(0, 0.9));
    assert!(!cache.due(1, 1, None, AREA));
    cache.record(1, 10, None, AREA, c(3, 0.8));
    assert!(cache.due(1, 11, None, AREA)); // the interval alone waits until frame 20
    cache.record(1, 11, None, AREA, c(0, 0.9));
    let a = cache.result(1, 11).unwrap();
    assert_eq!(
        (a.label_id, a.attempts, a.votes, a.frames_ago),
        (0, 3, 2, 0)
    );
    // Agreement: back to the interval.
    assert!(!cache.due(1, 12, None, AREA));
    assert!(!cache.due(1, 20, None, AREA));
    assert!(cache.due(1, 21, None, AREA));
    // The agreement ended the run: another disagreement for label 3 is a run of 1.
    cache.record(1, 21, None, AREA, c(3, 0.8));
    let a = cache.result(1, 21).unwrap();
    assert_eq!((a.label_id, a.attempts, a.votes), (0, 4, 2));
}

#[test]
fn disagreements_for_two_labels_do_not_switch() {
    let mut cache = TrackCache::new(switching());
    cache.record(1, 0, None, AREA, c(0, 0.95));
    cache.record(1, 10, None, AREA, c(0, 0.95)); // score 1.9
    cache.record(1, 20, None, AREA, c(3, 0.6));
    assert!(cache.due(1, 21, None, AREA));
    cache.record(1, 21, None, AREA, c(5, 0.6)); // another label: a new run of 1
    let a = cache.result(1, 21).unwrap();
    assert_eq!((a.label_id, a.attempts, a.votes), (0, 4, 2));
    // Still a disagreement: checked again on the next frame.
    assert!(cache.due(1, 22, None, AREA));
    cache.record(1, 22, None, AREA, c(5, 0.6)); // label 5 twice in a row: a switch
    let a = cache.result(1, 22).unwrap();
    assert_eq!(
        (a.label_id, a.attempts, a.votes, a.frames_ago),
        (5, 2, 2, 0)
    );
    assert!((a.confidence - 0.6).abs() < 1e-6, "{a:?}");
}

#[test]
fn switch_after_zero_keeps_the_label_for_the_whole_track() {
    let run = |switch_after: u32| {
        let mut cache = TrackCache::new(Policy {
            switch_after,
            ..switching()
        });
        cache.record(1, 0, None, AREA, c(0, 0.9));
        cache.record(1, 10, None, AREA, c(0, 0.9)); // score 1.8
        cache.record(1, 20, None, AREA, c(3, 0.8));
        let due = cache.due(1, 21, None, AREA);
        cache.record(1, 21, None, AREA, c(3, 0.8)); // 1.6
        let a = cache.result(1, 21).unwrap();
        (due, a.label_id, a.attempts, a.votes)
    };
    assert_eq!(run(0), (false, 0, 4, 2));
    assert_eq!(run(2), (true, 3, 2, 2));
    // Without switches a label is replaced by score only: 2.4 > 1.8.
    let mut cache = TrackCache::new(Policy {
        switch_after: 0,
        ..switching()
    });
    attempts(&mut cache, 0, &[c(0, 0.9), c(0, 0.9), c(3, 0.8), c(3, 0.8)]);
    assert_eq!(label(&cache, 3), Some(0));
    cache.record(1, 4, None, AREA, c(3, 0.8));
    let a = cache.result(1, 4).unwrap();
    assert_eq!((a.label_id, a.attempts, a.votes), (3, 5, 3));
}

#[test]
fn a_switch_restarts_the_attempt_budget() {
    let mut cache = TrackCache::new(Policy {
        max_attempts: 4,
        ..switching()
    });
    cache.record(1, 0, None, AREA, c(0, 0.9));
    cache.record(1, 10, None, AREA, c(0, 0.9));
    cache.record(1, 20, None, AREA, c(3, 0.9));
    cache.record(1, 21, None, AREA, c(3, 0.9)); // 4 attempts, and a switch
    assert_eq!(cache.result(1, 21).unwrap().attempts, 2);
    // Two attempts left for the new object.
    assert!(cache.due(1, 31, None, AREA));
    cache.record(1, 31, None, AREA, c(3, 0.9));
    assert!(cache.due(1, 41, None, AREA));
    cache.record(1, 41, None, AREA, c(3, 0.9));
    assert!(!cache.due(1, 51, None, AREA));
    let a = cache.result(1, 51).unwrap();
    assert_eq!((a.label_id, a.attempts, a.votes), (3, 4, 4));

    // A disagreement on the last attempt of the budget is not checked: the known limit.
    let mut cache = TrackCache::new(Policy {
        max_attempts: 2,
        ..switching()
    });
    cache.record(1, 0, None, AREA, c(0, 0.9));
    cache.record(1, 10, None, AREA, c(3, 0.9));
    assert!(!cache.due(1, 11, None, AREA));
    assert_eq!(label(&cache, 11), Some(0));
}

#[test]
fn weak_attempts_neither_extend_nor_end_a_run() {
    let mut cache = TrackCache::new(switching());
    cache.record(1, 0, None, AREA, c(0, 0.9));
    cache.record(1, 10, None, AREA, c(0, 0.9));
    cache.record(1, 20, None, AREA, c(3, 0.8));
    // A failed attempt is not counted: the check is still due.
    cache.record(1, 21, None, AREA, None);
    assert!(cache.due(1, 22, None, AREA));
    // A weak attempt is the check, inconclusive: back to the interval, the run kept.
    cache.record(1, 22, None, AREA, c(3, 0.3));
    assert!(!cache.due(1, 23, None, AREA));
    assert!(cache.due(1, 32, None, AREA));
    cache.record(1, 32, None, AREA, c(0, 0.2)); // weak, for the published label
    assert_eq!(label(&cache, 32), Some(0));
    cache.record(1, 42, None, AREA, c(3, 0.7)); // the run's second vote: a switch
    let a = cache.result(1, 45).unwrap();
    // The weak attempts are not carried over to the new object.
    assert_eq!(
        (a.label_id, a.attempts, a.votes, a.frames_ago),
        (3, 2, 2, 3)
    );
    assert!((a.confidence - 0.75).abs() < 1e-6, "{a:?}");
}

#[test]
fn before_publication_there_are_no_disagreements() {
    let mut cache = TrackCache::new(Policy {
        min_attempts: 3,
        ..switching()
    });
    cache.record(1, 0, None, AREA, c(0, 0.9));
    cache.record(1, 10, None, AREA, c(3, 0.9));
    assert!(!cache.due(1, 11, None, AREA));
    cache.record(1, 20, None, AREA, c(3, 0.9));
    let a = cache.result(1, 20).unwrap();
    assert_eq!((a.label_id, a.attempts, a.votes), (3, 3, 2));
}

#[test]
fn a_switched_track_publishes_by_min_attempts() {
    let mut cache = TrackCache::new(Policy {
        min_attempts: 3,
        interval_frames: 1,
        ..switching()
    });
    attempts(&mut cache, 0, &[c(0, 0.9), c(0, 0.9), c(0, 0.9)]);
    assert_eq!(label(&cache, 2), Some(0));
    attempts(&mut cache, 3, &[c(3, 0.9), c(3, 0.8)]);
    // A new object with 2 votes of the 3 needed: nothing shown yet.
    assert_eq!(cache.result(1, 4), None);
    cache.record(1, 5, None, AREA, c(3, 0.7));
    let a = cache.result(1, 5).unwrap();
    assert_eq!((a.label_id, a.attempts, a.votes), (3, 3, 3));
    assert!((a.confidence - 0.8).abs() < 1e-6, "{a:?}");
}

#[test]
fn a_disagreement_that_wins_on_score_ends_the_run() {
    let mut cache = TrackCache::new(switching());
    cache.record(1, 0, None, AREA, c(0, 0.6));
    cache.record(1, 10, None, AREA, c(3, 0.9)); // 0.9 > 0.6: label 3 by score
    let a = cache.result(1, 10).unwrap();
    assert_eq!((a.label_id, a.attempts, a.votes), (3, 2, 1));
    // Nothing to check: the interval applies.
    assert!(!cache.due(1, 11, None, AREA));
    assert!(cache.due(1, 20, None, AREA));
}

#[test]
fn the_default_policy_follows_a_scene_cut() {
    // 30 fps, a track carried over a cut on frame 95 onto an object of another label.
    let mut cache = TrackCache::new(Policy::default());
    let mut classified = Vec::new();
    for f in 0..130u64 {
        if cache.due(7, f, Some(f * 33), AREA) {
            classified.push(f);
            let r = if f < 95 { c(1, 0.8) } else { c(2, 0.7) };
            cache.record(7, f, Some(f * 33), AREA, r);
        }
    }
    assert_eq!(&classified[8..], &[80, 90, 100, 101, 111, 121]);
    let a = cache.result(7, 129).unwrap();
    assert_eq!(
        (a.label_id, a.attempts, a.votes, a.frames_ago),
        (2, 4, 4, 8)
    );
}
