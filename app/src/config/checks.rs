//! Cross-field checks, once every section is parsed: unique ids and rule names, references
//! to models, sinks and sources that exist, recording only where it is possible, rule labels
//! the models know, track events only from tracked sources (and a warning for analytics
//! without a tracker). Also fills the defaults that
//! depend on other sections (`events`, `record`).

use std::collections::{BTreeMap, HashMap};

use super::errors::suggest;
use super::sections::RuleAt;
use super::sources::RawSource;
use super::types::{Model, Record, Sink};
use super::walk::Ctx;

/// Everything parsed, before the cross-field checks.
pub(super) struct Parsed {
    pub models: BTreeMap<String, Model>,
    pub sinks: BTreeMap<String, Sink>,
    pub record: Option<Record>,
    pub rules_at: Vec<RuleAt>,
    pub sources: Vec<RawSource>,
}

fn names<T>(map: &BTreeMap<String, T>) -> impl Iterator<Item = &str> + Clone {
    map.keys().map(String::as_str)
}

pub(super) fn check(ctx: &mut Ctx, p: &mut Parsed) {
    let mut first: HashMap<String, usize> = HashMap::new();
    for (i, s) in p.sources.iter().enumerate() {
        let id = &s.source.id;
        if id.is_empty() {
            continue;
        }
        if let Some(&j) = first.get(id) {
            let message = format!(
                "duplicate source id \"{id}\" (already the id of {})",
                p.sources[j].path
            );
            ctx.error(s.id_at, &format!("{}.id", s.path), message);
        } else {
            first.insert(id.clone(), i);
        }
    }
    for s in &mut p.sources {
        source(ctx, s, &p.models, &p.sinks, p.record.is_some());
    }
    if let Some(record) = &p.record {
        rules(ctx, record, &p.rules_at, &p.sources, &p.models);
    }
}

fn source(
    ctx: &mut Ctx,
    s: &mut RawSource,
    models: &BTreeMap<String, Model>,
    sinks: &BTreeMap<String, Sink>,
    record: bool,
) {
    let why_not = s.not_recordable();
    let src = &mut s.source;
    for (i, (m, &at)) in src.models.iter().zip(&s.models_at).enumerate() {
        if !models.contains_key(m) {
            let message = if models.is_empty() {
                format!("unknown model \"{m}\": there is no [models.NAME] section")
            } else {
                format!(
                    "unknown model \"{m}\": expected one of the [models.NAME] sections ({})",
                    names(models).collect::<Vec<_>>().join(", ")
                )
            };
            ctx.error_hint(at, &s.models_key, message, suggest(m, names(models)));
        } else if src.models[..i].contains(m) {
            let message = format!("model \"{m}\" is listed twice");
            ctx.error(at, &s.models_key, message);
        }
    }

    let events_key = format!("{}.events", s.path);
    match &s.sinks_at {
        None => {
            if sinks.contains_key("events") {
                src.sinks = vec!["events".into()];
            }
        }
        Some(at) => {
            for (name, &at) in src.sinks.iter().zip(at) {
                if !sinks.contains_key(name) {
                    let message = if sinks.is_empty() {
                        format!("unknown sink \"{name}\": there is no [events] nor [sinks.NAME]")
                    } else {
                        format!(
                            "unknown sink \"{name}\": expected one of {}",
                            names(sinks).collect::<Vec<_>>().join(", ")
                        )
                    };
                    ctx.error_hint(at, &events_key, message, suggest(name, names(sinks)));
                }
            }
        }
    }
    if src.tracker.is_none() {
        for name in &src.sinks {
            if sinks.get(name).and_then(|k| k.props.get("publish")) == Some("tracks") {
                let message = format!(
                    "tracker = false, but sink \"{name}\" publishes tracks (publish = \"tracks\"), \
                     which come from rstracker"
                );
                ctx.error(
                    s.tracker_at.unwrap_or(s.at),
                    &format!("{}.tracker", s.path),
                    message,
                );
            }
        }
    }

    if src.tracker.is_none() && src.analytics.is_some() {
        let message = format!(
            "source \"{}\" runs analytics without a tracker (tracker = false): zones count \
             objects, but line crossings, dwell times, loitering and directions need track ids",
            src.id
        );
        let at = s.analytics_at.or(s.tracker_at).unwrap_or(s.at);
        ctx.warning(at, &format!("{}.analytics", s.path), message);
    }

    let record_key = format!("{}.record", s.path);
    src.record = match s.record {
        Some((true, at)) => {
            // After an error, the source counts as not recording: no rule errors follow.
            if !record {
                ctx.error(
                    at,
                    &record_key,
                    "record = true needs a [record] section (at least its location)",
                );
                false
            } else if let (true, Some(why)) = (s.input_ok, &why_not) {
                let message = format!("record = true, but this source cannot be recorded: {why}");
                ctx.error(at, &record_key, message);
                false
            } else {
                true
            }
        }
        Some((false, _)) => false,
        None => record && s.input_ok && why_not.is_none(),
    };
}

fn rules(
    ctx: &mut Ctx,
    record: &Record,
    marks: &[RuleAt],
    sources: &[RawSource],
    models: &BTreeMap<String, Model>,
) {
    let by_id: HashMap<&str, &RawSource> =
        sources.iter().map(|s| (s.source.id.as_str(), s)).collect();
    let ids = || sources.iter().map(|s| s.source.id.as_str());
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for (rule, at) in record.rules.iter().zip(marks) {
        if let Some(other) = seen.insert(&rule.name, &at.path) {
            let message = format!(
                "duplicate rule name \"{}\" (already the name of {other}); give each rule a \
                 unique name",
                rule.name
            );
            ctx.error(at.name, &format!("{}.name", at.path), message);
        }
        let sources_key = format!("{}.sources", at.path);
        let applies: Vec<&RawSource> = match &rule.sources {
            Some(list) => list
                .iter()
                .zip(&at.sources)
                .filter_map(|(id, &pos)| {
                    let Some(s) = by_id.get(id.as_str()) else {
                        let message =
                            format!("unknown source \"{id}\": no [[sources]] has this id");
                        ctx.error_hint(pos, &sources_key, message, suggest(id, ids()));
                        return None;
                    };
                    if !s.source.record {
                        let why = match (s.record, s.not_recordable()) {
                            (Some((false, _)), _) => "record = false".to_string(),
                            (_, Some(why)) => why,
                            _ => "it does not record".to_string(),
                        };
                        let message = format!("source \"{id}\" does not record clips: {why}");
                        ctx.error(pos, &sources_key, message);
                    }
                    Some(*s)
                })
                .collect(),
            None => sources.iter().filter(|s| s.source.record).collect(),
        };
        if rule.sources.is_none() && applies.is_empty() && !sources.is_empty() {
            let message = format!(
                "rule \"{}\" applies to the recording sources, but no source records clips",
                rule.name
            );
            ctx.error(at.at, &at.path, message);
        }
        let mut checked: Vec<&str> = Vec::new();
        for s in applies {
            if s.source.models.is_empty() {
                let message = format!(
                    "rule \"{}\" applies to source \"{}\", which has no model to detect \"{}\" \
                     (give the source a model, or the rule a sources list without it)",
                    rule.name, s.source.id, rule.label
                );
                ctx.error(at.at, &at.path, message);
            }
            for m in &s.source.models {
                let Some(model) = models.get(m) else { continue };
                // A classifier on objects names attributes, not the objects rules match.
                if model.on_objects()
                    || model.labels.is_empty()
                    || rule.label.is_empty()
                    || checked.contains(&m.as_str())
                {
                    continue;
                }
                checked.push(m);
                if !model.labels.contains(&rule.label) {
                    let message = format!(
                        "label \"{}\" is not a label of model \"{m}\" (used by source \"{}\"); its \
                         labels: {}",
                        rule.label,
                        s.source.id,
                        model.labels.join(", ")
                    );
                    let hint = suggest(&rule.label, model.labels.iter().map(String::as_str));
                    ctx.error_hint(at.label, &format!("{}.label", at.path), message, hint);
                }
            }
        }
    }
}
