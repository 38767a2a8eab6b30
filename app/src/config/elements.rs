//! Sections whose keys are an element's own properties (`[models.NAME]` for rsinfer,
//! `[tracker]` for rstracker, `[events]`/`[sinks.NAME]` for rsmsgbroker, `[record]` for
//! rssmartrecord): each key is checked against the registered element's property specs
//! (exists, writable, type, range, enum nicks) and converted to `gst-launch-1.0` syntax.

use gst::glib;
use gst::prelude::*;
use toml_edit::{Item, Value};

use super::errors::suggest;
use super::types::Props;
use super::walk::{describe, number, Ctx, Field, Section};

/// What a section allows beside the element's properties.
pub(super) struct Policy {
    /// The program's own keys of the section (handled by the caller, not properties).
    pub app_keys: &'static [&'static str],
    /// Properties that must not be given here, and what to do instead.
    pub forbidden: &'static [(&'static str, &'static str)],
    /// String properties that are file paths: relative ones are relative to the config
    /// file, and the file must exist.
    pub paths: &'static [&'static str],
}

/// Every element lets the program name it and place it.
const ALWAYS_FORBIDDEN: &[(&str, &str)] = &[
    ("name", "the program names the elements itself"),
    ("parent", "the program builds the pipeline itself"),
];

/// A property's type as the config sees it.
enum Kind {
    Bool(bool),
    Int { min: i128, max: i128, default: i128 },
    Float { min: f64, max: f64, default: f64 },
    Str(Option<String>),
    Enum { nicks: Vec<String>, default: String },
    Flags { nicks: Vec<String>, default: String },
    Other(String),
}

fn kind(p: &glib::ParamSpec) -> Kind {
    macro_rules! int {
        ($($t:ty),*) => {$(
            if let Some(s) = p.downcast_ref::<$t>() {
                return Kind::Int {
                    min: s.minimum() as i128,
                    max: s.maximum() as i128,
                    default: s.default_value() as i128,
                };
            }
        )*};
    }
    int!(
        glib::ParamSpecInt,
        glib::ParamSpecUInt,
        glib::ParamSpecInt64,
        glib::ParamSpecUInt64,
        glib::ParamSpecLong,
        glib::ParamSpecULong,
        glib::ParamSpecChar,
        glib::ParamSpecUChar
    );
    if let Some(s) = p.downcast_ref::<glib::ParamSpecFloat>() {
        // Through the shortest decimal form: 0.45f32 is 0.45, not 0.44999998807907104.
        let widen = |x: f32| x.to_string().parse().unwrap_or(f64::from(x));
        return Kind::Float {
            min: widen(s.minimum()),
            max: widen(s.maximum()),
            default: widen(s.default_value()),
        };
    }
    if let Some(s) = p.downcast_ref::<glib::ParamSpecDouble>() {
        return Kind::Float {
            min: s.minimum(),
            max: s.maximum(),
            default: s.default_value(),
        };
    }
    if let Some(s) = p.downcast_ref::<glib::ParamSpecBoolean>() {
        return Kind::Bool(s.default_value());
    }
    if let Some(s) = p.downcast_ref::<glib::ParamSpecString>() {
        return Kind::Str(s.default_value().map(str::to_string));
    }
    if let Some(s) = p.downcast_ref::<glib::ParamSpecEnum>() {
        let class = s.enum_class();
        let default = class
            .value(s.default_value_as_i32())
            .map(|v| v.nick().to_string())
            .unwrap_or_default();
        let nicks = class
            .values()
            .iter()
            .map(|v| v.nick().to_string())
            .collect();
        return Kind::Enum { nicks, default };
    }
    if let Some(s) = p.downcast_ref::<glib::ParamSpecFlags>() {
        let class = s.flags_class();
        let default = class
            .to_nick_string(s.default_value_as_u32())
            .replace('|', "+");
        let nicks = class
            .values()
            .iter()
            .map(|v| v.nick().to_string())
            .collect();
        return Kind::Flags { nicks, default };
    }
    Kind::Other(p.value_type().name().to_string())
}

/// `"text"` with `\` and `"` escaped: a string in launch syntax.
pub(super) fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The value of `item` for a property of kind `k`, in launch syntax; else the message and
/// a suggestion.
fn convert(k: &Kind, item: &Item) -> Result<String, (String, Option<String>)> {
    convert_value(k, item).map_err(|message| {
        let hint = match (k, item.as_str()) {
            (Kind::Enum { nicks, .. }, Some(s)) => suggest(s, nicks.iter().map(String::as_str)),
            _ => None,
        };
        (message, hint)
    })
}

fn convert_value(k: &Kind, item: &Item) -> Result<String, String> {
    let found = || describe(item);
    let v = item.as_value();
    match k {
        Kind::Bool(_) => match v {
            Some(Value::Boolean(b)) => Ok(b.value().to_string()),
            _ => Err(format!(
                "expected a boolean (true or false), found {}",
                found()
            )),
        },
        Kind::Int { min, max, .. } => match v {
            Some(Value::Integer(i)) if (*min..=*max).contains(&(*i.value() as i128)) => {
                Ok(i.value().to_string())
            }
            _ => Err(format!(
                "expected an integer from {min} to {max}, found {}",
                found()
            )),
        },
        Kind::Float { min, max, .. } => {
            let x = match v {
                Some(Value::Float(x)) => *x.value(),
                Some(Value::Integer(i)) => *i.value() as f64,
                _ => f64::NAN,
            };
            if x >= *min && x <= *max {
                Ok(number(x))
            } else {
                Err(format!(
                    "expected a number from {} to {}, found {}",
                    number(*min),
                    number(*max),
                    found()
                ))
            }
        }
        Kind::Str(_) => match v {
            Some(Value::String(s)) => Ok(quote(s.value())),
            _ => Err(format!("expected a string, found {}", found())),
        },
        Kind::Enum { nicks, .. } => match v {
            Some(Value::String(s)) if nicks.iter().any(|n| n == s.value()) => Ok(s.value().clone()),
            _ => Err(format!(
                "expected one of {}, found {}",
                nicks.join(", "),
                found()
            )),
        },
        Kind::Flags { nicks, .. } => {
            let words: Option<Vec<String>> = match v {
                Some(Value::String(s)) => Some(
                    s.value()
                        .split(['+', '|', ','])
                        .map(|w| w.trim().to_string())
                        .collect(),
                ),
                Some(Value::Array(a)) => a.iter().map(|w| w.as_str().map(str::to_string)).collect(),
                _ => None,
            };
            match words {
                Some(w) if w.iter().all(|w| nicks.contains(w)) => Ok(w.join("+")),
                _ => Err(format!(
                    "expected flags from {} (\"a+b\" or [\"a\", \"b\"]), found {}",
                    nicks.join(", "),
                    found()
                )),
            }
        }
        Kind::Other(t) => Err(format!(
            "this property (of type {t}) cannot be set from the config"
        )),
    }
}

/// One element type, introspected.
pub(super) struct Element {
    pub factory: &'static str,
    element: Option<gst::Element>,
}

impl Element {
    pub fn new(factory: &'static str) -> Self {
        Element {
            factory,
            element: gst::ElementFactory::make(factory).build().ok(),
        }
    }

    /// The properties a config may set (writable, not construct-only, not `name`/`parent`),
    /// by name.
    fn settable(&self) -> Vec<glib::ParamSpec> {
        let Some(e) = &self.element else {
            return Vec::new();
        };
        let mut v: Vec<glib::ParamSpec> = e
            .list_properties()
            .iter()
            .filter(|p| writable(p) && !ALWAYS_FORBIDDEN.iter().any(|(n, _)| *n == p.name()))
            .cloned()
            .collect();
        v.sort_by(|a, b| a.name().cmp(b.name()));
        v
    }

    /// Checks every key of `section` that is not one of `policy.app_keys` as a property,
    /// adding the valid ones to `props`.
    pub fn properties(&self, ctx: &mut Ctx, section: &Section, policy: &Policy, props: &mut Props) {
        let Some(element) = &self.element else {
            let message = format!(
                "element {} is not available (the rsvision plugin is not registered)",
                self.factory
            );
            ctx.error(section.at, &section.path, message);
            return;
        };
        for f in section.fields() {
            if !policy.app_keys.contains(&f.name) {
                self.property(ctx, element, section, policy, &f, props);
            }
        }
    }

    fn property(
        &self,
        ctx: &mut Ctx,
        element: &gst::Element,
        section: &Section,
        policy: &Policy,
        f: &Field,
        props: &mut Props,
    ) {
        let forbidden = ALWAYS_FORBIDDEN.iter().chain(policy.forbidden);
        if let Some((_, why)) = forbidden.clone().find(|(n, _)| *n == f.name) {
            let hint = policy
                .app_keys
                .iter()
                .find(|k| why.contains(&format!("`{k}`")))
                .map(|k| k.to_string());
            let message = format!(
                "\"{}\" cannot be set in {}: {why}",
                f.name,
                section.header()
            );
            ctx.error_hint(f.key_at, &f.path, message, hint);
            return;
        }
        let Some(pspec) = element.find_property(f.name) else {
            let names: Vec<String> = self
                .settable()
                .iter()
                .map(|p| p.name().to_string())
                .collect();
            let candidates = names
                .iter()
                .map(String::as_str)
                .chain(policy.app_keys.iter().copied());
            let hint = suggest(f.name, candidates);
            let message = format!(
                "unknown key \"{}\" in {}: not a key of the section nor a property of {}",
                f.name,
                section.header(),
                self.factory
            );
            ctx.error_hint(f.key_at, &f.path, message, hint);
            return;
        };
        if !writable(&pspec) {
            let message = format!(
                "property \"{}\" of {} is read-only (a status, not a setting)",
                f.name, self.factory
            );
            ctx.error(f.key_at, &f.path, message);
            return;
        }
        let kind = kind(&pspec);
        if policy.paths.contains(&f.name) {
            if let Some(s) = f.item.as_str().filter(|s| !s.is_empty()) {
                let path = ctx.path(s);
                if !path.is_file() {
                    let message = format!("file not found: {}", path.display());
                    ctx.error(f.at, &f.path, message);
                } else {
                    props.set(f.name, quote(&path.to_string_lossy()));
                }
                return;
            }
        }
        match convert(&kind, f.item) {
            Ok(v) => props.set(f.name, v),
            Err((message, hint)) => ctx.error_hint(f.at, &f.path, message, hint),
        }
    }

    /// `name  type, default` and blurb lines for every property `policy` lets a config set.
    pub fn help(&self, policy: &Policy) -> String {
        if self.element.is_none() {
            return format!("    (element {} is not available)\n", self.factory);
        }
        let mut out = String::new();
        let hidden = |name: &str| {
            policy.app_keys.contains(&name) || policy.forbidden.iter().any(|(n, _)| *n == name)
        };
        for p in self.settable().into_iter().filter(|p| !hidden(p.name())) {
            let (ty, default) = match kind(&p) {
                Kind::Bool(d) => ("boolean".to_string(), d.to_string()),
                Kind::Int { min, max, default } => {
                    (format!("integer {min}..{max}"), default.to_string())
                }
                Kind::Float { min, max, default } => (
                    format!("number {}..{}", number(min), number(max)),
                    number(default),
                ),
                Kind::Str(d) => (
                    "string".to_string(),
                    d.map_or_else(|| "none".into(), |d| quote(&d)),
                ),
                Kind::Enum { nicks, default } => (format!("one of {}", nicks.join("|")), default),
                Kind::Flags { nicks, default } => (format!("flags {}", nicks.join("+")), default),
                Kind::Other(t) => (t, String::new()),
            };
            out.push_str(&format!(
                "    {:<22} {ty}, default {default}\n{:<27}{}\n",
                p.name(),
                "",
                p.blurb().unwrap_or("")
            ));
        }
        out
    }
}

fn writable(p: &glib::ParamSpec) -> bool {
    let flags = p.flags();
    flags.contains(glib::ParamFlags::WRITABLE) && !flags.contains(glib::ParamFlags::CONSTRUCT_ONLY)
}

/// A string property's value without its launch-syntax quotes.
pub(super) fn unquote(s: &str) -> String {
    let inner = s
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s);
    inner.replace("\\\"", "\"").replace("\\\\", "\\")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_round_trips() {
        for s in ["plain", "with space", "q\"uote", "back\\slash", ""] {
            assert_eq!(unquote(&quote(s)), s);
        }
        assert_eq!(quote("a\"b"), "\"a\\\"b\"");
    }
}
