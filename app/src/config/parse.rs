//! The top level of the document: which sections exist, each handed to its walker, then
//! the cross-field checks and the validated [`Config`].

use std::collections::BTreeMap;

use toml_edit::Table;

use super::checks::{self, Parsed};
use super::elements::Element;
use super::errors::suggest;
use super::models::model;
use super::schema::SECTIONS;
use super::sections::{self, TRACKER};
use super::sources::{source, Defaults, Elements};
use super::types::{App, Config, Props, Reconnect};
use super::walk::{valid_name, Ctx, Field, Section};

/// The `[NAME]` sub-tables of a section like `[models]`.
fn named<'a>(ctx: &mut Ctx, f: &Field<'a>) -> Vec<(String, Section<'a>)> {
    let Some(s) = ctx.table(f) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for g in s.fields() {
        if let Some(t) = ctx.table(&g) {
            out.push((g.name.to_string(), t));
        }
    }
    out
}

pub(super) fn document(ctx: &mut Ctx, root: &Table) -> Config {
    let top = Section::new("", 0, root);
    let rsinfer = Element::new("rsinfer");
    let rstracker = Element::new("rstracker");
    let rsmsgbroker = Element::new("rsmsgbroker");
    let rssmartrecord = Element::new("rssmartrecord");
    let rsanalytics = Element::new("rsanalytics");

    let mut app = App::default();
    let mut reconnect = Reconnect::default();
    let mut tracker = Props::default();
    // `[analytics]`: when present, every source runs rsanalytics with these properties.
    let mut analytics: Option<Props> = None;
    let mut web = crate::web::Settings::default();
    let mut parsed = Parsed {
        models: BTreeMap::new(),
        sinks: BTreeMap::new(),
        record: None,
        rules_at: Vec::new(),
        sources: Vec::new(),
    };
    for f in top.fields() {
        match f.name {
            "app" => {
                if let Some(s) = ctx.table(&f) {
                    app = sections::app(ctx, &s);
                }
            }
            "reconnect" => {
                if let Some(s) = ctx.table(&f) {
                    reconnect = sections::reconnect(ctx, &s, &Reconnect::default());
                }
            }
            "models" => {
                for (name, s) in named(ctx, &f) {
                    let m = model(ctx, &name, &s, &rsinfer);
                    parsed.models.insert(name, m);
                }
            }
            "tracker" => {
                if let Some(s) = ctx.table(&f) {
                    rstracker.properties(ctx, &s, &TRACKER, &mut tracker);
                }
            }
            "analytics" => {
                if let Some(s) = ctx.table(&f) {
                    let base = Props::default();
                    let props =
                        super::analytics::section(ctx, &s, &rsanalytics, &base, "[analytics]");
                    analytics = Some(props);
                }
            }
            "events" => {
                if let Some(s) = ctx.table(&f) {
                    let sink = sections::sink(ctx, &s, "events", &rsmsgbroker);
                    parsed.sinks.insert("events".into(), sink);
                }
            }
            "sinks" => {
                for (name, s) in named(ctx, &f) {
                    if name == "events" {
                        let message =
                            "the sink name \"events\" is reserved for the [events] section";
                        ctx.error(s.at, &s.path, message);
                        continue;
                    }
                    if !valid_name(&name, "_-") {
                        let message = format!(
                            "invalid sink name \"{name}\": expected letters, digits, '_' and '-' only"
                        );
                        ctx.error(s.at, &s.path, message);
                    }
                    let sink = sections::sink(ctx, &s, &name, &rsmsgbroker);
                    parsed.sinks.insert(name, sink);
                }
            }
            "record" => {
                if let Some(s) = ctx.table(&f) {
                    let (record, marks) = sections::record(ctx, &s, &rssmartrecord);
                    parsed.record = Some(record);
                    parsed.rules_at = marks;
                }
            }
            "web" => {
                if let Some(s) = ctx.table(&f) {
                    web = super::web::web(ctx, &s);
                }
            }
            "sources" => {}
            other => {
                let hint = suggest(other, SECTIONS.iter().copied());
                let message = if f.item.is_table_like() || f.item.is_array_of_tables() {
                    format!(
                        "unknown section [{other}]: expected one of {}",
                        SECTIONS.join(", ")
                    )
                } else {
                    format!("unknown key \"{other}\" at the top level: keys belong in a section like [app]")
                };
                ctx.error_hint(f.key_at, &f.path, message, hint);
            }
        }
    }
    match top.get("sources") {
        Some(f) => {
            for s in ctx.tables(&f).unwrap_or_default() {
                let elements = Elements {
                    tracker: &rstracker,
                    analytics: &rsanalytics,
                };
                let defaults = Defaults {
                    reconnect: &reconnect,
                    tracker: &tracker,
                    analytics: analytics.as_ref(),
                };
                let raw = source(ctx, &s, &defaults, &elements);
                parsed.sources.push(raw);
            }
        }
        None => ctx.error(
            0,
            "sources",
            "no [[sources]]: a deployment needs at least one camera or file",
        ),
    }
    checks::check(ctx, &mut parsed);
    let mut warnings = std::mem::take(&mut ctx.warnings);
    warnings.sort_by_key(|w| (w.line, w.column));
    Config {
        path: ctx.file.clone(),
        app,
        models: parsed.models,
        sinks: parsed.sinks,
        record: parsed.record,
        sources: parsed.sources.into_iter().map(|s| s.source).collect(),
        web,
        warnings,
    }
}
