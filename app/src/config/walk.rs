//! Walking the TOML document: where each key and value is (byte offsets from toml_edit's
//! spans), the dotted key paths, and typed reads that record an expected-vs-found error and
//! go on, so that one pass reports every problem.

use std::path::{Path, PathBuf};
use std::time::Duration;

use toml_edit::{Item, TableLike, Value};

use super::errors::{suggest, ConfigError, Lines};

/// The state of one validation: the file, its text and the errors found so far.
pub(super) struct Ctx {
    pub file: PathBuf,
    /// The config file's directory: relative paths in the config are relative to it.
    pub dir: PathBuf,
    text: String,
    lines: Lines,
    pub errors: Vec<ConfigError>,
    /// Valid but probably not meant (see [`super::Config::warnings`]).
    pub warnings: Vec<ConfigError>,
}

impl Ctx {
    pub fn new(file: &Path, text: String) -> Self {
        let dir = match file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Ctx {
            file: file.to_path_buf(),
            dir,
            lines: Lines::new(&text),
            text,
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Records an error at byte offset `at`.
    pub fn error(&mut self, at: usize, key: &str, message: impl Into<String>) {
        self.error_hint(at, key, message, None);
    }

    pub fn error_hint(
        &mut self,
        at: usize,
        key: &str,
        message: impl Into<String>,
        suggestion: Option<String>,
    ) {
        let (line, column) = self.lines.position(&self.text, at);
        self.errors.push(ConfigError {
            file: self.file.clone(),
            line,
            column,
            key: key.to_string(),
            message: message.into(),
            suggestion,
        });
    }

    /// Records a warning at byte offset `at`.
    pub fn warning(&mut self, at: usize, key: &str, message: impl Into<String>) {
        let (line, column) = self.lines.position(&self.text, at);
        self.warnings.push(ConfigError {
            file: self.file.clone(),
            line,
            column,
            key: key.to_string(),
            message: message.into(),
            suggestion: None,
        });
    }

    /// `written` made absolute against the config file's directory, `.` and `..` removed.
    pub fn path(&self, written: &str) -> PathBuf {
        let joined = self.dir.join(written);
        normalize(&std::path::absolute(&joined).unwrap_or(joined))
    }

    /// Reports every key of `section` not in `known` (with a suggestion among `known`).
    pub fn unknown_keys(&mut self, section: &Section, known: &[&str]) {
        for f in section.fields() {
            if !known.contains(&f.name) {
                self.unknown_key(section, &f, known.iter().copied());
            }
        }
    }

    pub fn unknown_key<'k>(
        &mut self,
        section: &Section,
        f: &Field,
        known: impl IntoIterator<Item = &'k str>,
    ) {
        let hint = suggest(f.name, known);
        self.error_hint(
            f.key_at,
            &f.path,
            format!("unknown key \"{}\" in {}", f.name, section.header()),
            hint,
        );
    }
}

/// `path` without `.` and `..` components (lexically: symbolic links are kept).
pub(super) fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() && !out.has_root() {
                    out.push(c);
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// A key and its value, with where they are.
#[derive(Clone)]
pub(super) struct Field<'a> {
    /// Dotted path, e.g. `sources[0].reconnect.jitter`.
    pub path: String,
    pub name: &'a str,
    pub key_at: usize,
    /// Where the value starts (for a table, its header or first key).
    pub at: usize,
    pub item: &'a Item,
}

/// A table (standard or inline) and its path.
#[derive(Clone)]
pub(super) struct Section<'a> {
    pub path: String,
    pub at: usize,
    pub table: &'a dyn TableLike,
}

impl<'a> Section<'a> {
    pub fn new(path: impl Into<String>, at: usize, table: &'a dyn TableLike) -> Self {
        Section {
            path: path.into(),
            at,
            table,
        }
    }

    /// How error messages name it: `[models.shapes]`; inside an array of tables, the path
    /// (`sources[1]`, `sources[1].reconnect`).
    pub fn header(&self) -> String {
        if self.path.is_empty() {
            "the top level".into()
        } else if self.path.contains('[') {
            self.path.clone()
        } else {
            format!("[{}]", self.path)
        }
    }

    /// The path of key `name` in this table (quoted when not a bare TOML key).
    pub fn child(&self, name: &str) -> String {
        let name = if valid_name(name, "_-") {
            name.to_string()
        } else {
            format!("{name:?}")
        };
        if self.path.is_empty() {
            name
        } else {
            format!("{}.{name}", self.path)
        }
    }

    pub fn fields(&self) -> Vec<Field<'a>> {
        let table = self.table;
        table
            .iter()
            .filter(|(_, item)| !item.is_none())
            .filter_map(|(name, _)| self.get(name))
            .collect()
    }

    pub fn get(&self, name: &str) -> Option<Field<'a>> {
        let table = self.table;
        let (key, item) = table.get_key_value(name)?;
        if item.is_none() {
            return None;
        }
        let key_at = key.span().map_or(self.at, |s| s.start);
        Some(Field {
            path: self.child(key.get()),
            name: key.get(),
            key_at,
            at: item_at(item).unwrap_or(key_at),
            item,
        })
    }
}

/// Where an item starts: its span, else (an implicit table) its first child's.
pub(super) fn item_at(item: &Item) -> Option<usize> {
    if let Some(s) = item.span() {
        return Some(s.start);
    }
    let table = item.as_table_like()?;
    table.iter().find_map(|(name, child)| {
        let key = table.key(name).and_then(|k| k.span()).map(|s| s.start);
        key.or_else(|| item_at(child))
    })
}

/// `the integer -3`, `the string "x"`, `a table`: what was found, for messages.
pub(super) fn describe(item: &Item) -> String {
    match item {
        Item::None => "nothing".into(),
        Item::Value(v) => describe_value(v),
        Item::Table(_) => "a table".into(),
        Item::ArrayOfTables(_) => "an array of tables".into(),
    }
}

pub(super) fn describe_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("the string {:?}", s.value()),
        Value::Integer(i) => format!("the integer {}", i.value()),
        Value::Float(x) => format!("the float {}", x.value()),
        Value::Boolean(b) => format!("the boolean {}", b.value()),
        Value::Datetime(d) => format!("the date-time {}", d.value()),
        Value::Array(_) => "an array".into(),
        Value::InlineTable(_) => "a table".into(),
    }
}

/// A number for a message: `1`, `0.5`, `4294967295`.
pub(super) fn number(x: f64) -> String {
    if x.abs() >= 1e15 {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// Parses a duration: a number with unit `ms`, `s`, `m` or `h` (`"500ms"`, `"1.5s"`,
/// `"2m"`).
pub(super) fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| c.is_ascii_alphabetic())?;
    let (num, unit) = (s[..split].trim(), &s[split..]);
    if num.is_empty() || !num.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let n: f64 = num.parse().ok()?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(secs).ok()
}

const DURATION: &str = "a duration like \"5s\" or \"500ms\"";

impl Ctx {
    fn mismatch(&mut self, f: &Field, expected: &str) {
        let message = format!("expected {expected}, found {}", describe(f.item));
        self.error(f.at, &f.path, message);
    }

    pub fn string(&mut self, f: &Field) -> Option<String> {
        match f.item.as_str() {
            Some(s) => Some(s.to_string()),
            None => {
                self.mismatch(f, "a string");
                None
            }
        }
    }

    pub fn boolean(&mut self, f: &Field) -> Option<bool> {
        match f.item.as_bool() {
            Some(b) => Some(b),
            None => {
                self.mismatch(f, "a boolean (true or false)");
                None
            }
        }
    }

    /// A duration string, or a bare non-negative number of seconds.
    pub fn duration(&mut self, f: &Field) -> Option<Duration> {
        let parsed = match f.item.as_value() {
            Some(Value::String(s)) => parse_duration(s.value()),
            Some(Value::Integer(i)) if *i.value() >= 0 => Some(Duration::from_secs(
                u64::try_from(*i.value()).unwrap_or_default(),
            )),
            Some(Value::Float(x)) => Duration::try_from_secs_f64(*x.value()).ok(),
            _ => None,
        };
        if parsed.is_none() {
            self.mismatch(f, DURATION);
        }
        parsed
    }

    /// A number (integer or float) in `[min, max]`.
    pub fn float(&mut self, f: &Field, min: f64, max: f64) -> Option<f64> {
        let x = match f.item.as_value() {
            Some(Value::Float(x)) => *x.value(),
            Some(Value::Integer(i)) => *i.value() as f64,
            _ => f64::NAN,
        };
        if x >= min && x <= max {
            return Some(x);
        }
        let expected = match (min.is_finite(), max.is_finite()) {
            (true, true) => format!("a number from {} to {}", number(min), number(max)),
            (true, false) => format!("a number of at least {}", number(min)),
            (false, true) => format!("a number of at most {}", number(max)),
            (false, false) => "a number".into(),
        };
        self.mismatch(f, &expected);
        None
    }

    /// An integer in `[min, max]`.
    pub fn integer(&mut self, f: &Field, min: i64, max: i64) -> Option<i64> {
        match f.item.as_integer() {
            Some(i) if (min..=max).contains(&i) => Some(i),
            _ => {
                self.mismatch(f, &format!("an integer from {min} to {max}"));
                None
            }
        }
    }

    /// A string or an array of strings, each with where it is.
    pub fn names(&mut self, f: &Field) -> Option<Vec<(String, usize)>> {
        match f.item.as_value() {
            Some(Value::String(s)) => Some(vec![(s.value().clone(), f.at)]),
            Some(Value::Array(a)) => {
                let mut out = Vec::new();
                let mut ok = true;
                for (i, v) in a.iter().enumerate() {
                    let at = v.span().map_or(f.at, |s| s.start);
                    match v.as_str() {
                        Some(s) => out.push((s.to_string(), at)),
                        None => {
                            let message = format!("expected a string, found {}", describe_value(v));
                            self.error(at, &format!("{}[{i}]", f.path), message);
                            ok = false;
                        }
                    }
                }
                ok.then_some(out)
            }
            _ => {
                self.mismatch(f, "a string or an array of strings");
                None
            }
        }
    }

    /// A table (`[a.b]` or `{ ... }`).
    pub fn table<'a>(&mut self, f: &Field<'a>) -> Option<Section<'a>> {
        match f.item.as_table_like() {
            Some(t) => Some(Section::new(f.path.clone(), f.at, t)),
            None => {
                self.mismatch(f, "a table");
                None
            }
        }
    }

    /// An array of tables (`[[a]]` or `a = [{ ... }, ...]`), each with its path `a[i]`.
    pub fn tables<'a>(&mut self, f: &Field<'a>) -> Option<Vec<Section<'a>>> {
        let path = |i: usize| format!("{}[{i}]", f.path);
        if let Some(a) = f.item.as_array_of_tables() {
            return Some(
                a.iter()
                    .enumerate()
                    .map(|(i, t)| Section::new(path(i), t.span().map_or(f.at, |s| s.start), t))
                    .collect(),
            );
        }
        if let Some(a) = f.item.as_array() {
            let mut out = Vec::new();
            for (i, v) in a.iter().enumerate() {
                let at = v.span().map_or(f.at, |s| s.start);
                match v.as_inline_table() {
                    Some(t) => out.push(Section::new(path(i), at, t)),
                    None => {
                        let message = format!("expected a table, found {}", describe_value(v));
                        self.error(at, &path(i), message);
                    }
                }
            }
            return Some(out);
        }
        self.mismatch(f, "an array of tables");
        None
    }
}

/// `name` is made of `[A-Za-z0-9]` and the characters of `extra`.
pub(super) fn valid_name(name: &str, extra: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let ms = |s| parse_duration(s).map(|d| d.as_millis());
        assert_eq!(ms("500ms"), Some(500));
        assert_eq!(ms("1.5s"), Some(1500));
        assert_eq!(ms("2m"), Some(120_000));
        assert_eq!(ms("1h"), Some(3_600_000));
        assert_eq!(ms("0s"), Some(0));
        assert_eq!(ms("10 s"), Some(10_000));
        for bad in [
            "",
            "5",
            "-1s",
            "5 seconds",
            "s",
            "1e3s",
            "+2s",
            "1.2.3s",
            "5d",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn paths_are_normalised() {
        assert_eq!(
            normalize(Path::new("/a/b/../c/./d")),
            PathBuf::from("/a/c/d")
        );
        assert_eq!(normalize(Path::new("/../x")), PathBuf::from("/x"));
    }

    #[test]
    fn names() {
        assert!(valid_name("cam-1_a", "_-"));
        assert!(!valid_name("cam 1", "_-"));
        assert!(!valid_name("", "_-"));
        assert!(valid_name("a.b", "_.-"));
    }
}
