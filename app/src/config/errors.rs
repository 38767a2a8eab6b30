//! What a bad config produces: one [`ConfigError`] per problem, each with its place in the
//! file, the dotted key path, what was expected and what was found, and a "did you mean"
//! when a valid name is close to what was written.

use std::fmt;
use std::path::PathBuf;

/// One problem in the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// Dotted path of the key, e.g. `sources[1].model` or `models.shapes.conf-treshold`
    /// (empty for a TOML syntax error or a file that cannot be read).
    pub key: String,
    /// What was expected and what was found.
    pub message: String,
    /// A close valid name, when there is one.
    pub suggestion: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file.display(), self.line, self.column)?;
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(&self.message)?;
        if let Some(s) = &self.suggestion {
            write!(f, "\n  did you mean `{s}`?")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found in one config file, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Line and column (both 1-based, the column in characters) of byte offsets in a text.
pub(super) struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    pub fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines { starts }
    }

    pub fn position(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let column = text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line, column + 1)
    }
}

/// The candidate closest to `word` when it is close enough to be a likely typo: Damerau-
/// Levenshtein distance (ignoring case, `_` read as `-`) at most 1 for words of up to 3
/// characters (0 for one character), 2 up to 6, a third of the length beyond; ties go to
/// the higher Jaro-Winkler similarity.
pub(super) fn suggest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let normal = |s: &str| s.to_lowercase().replace('_', "-");
    let w = normal(word);
    let len = w.chars().count();
    let limit = match len {
        0..=3 => 1,
        4..=6 => 2,
        n => (n / 3).max(2),
    }
    .min(len.saturating_sub(1));
    candidates
        .into_iter()
        .filter(|c| *c != word)
        .map(|c| {
            let n = normal(c);
            (
                strsim::damerau_levenshtein(&w, &n),
                strsim::jaro_winkler(&w, &n),
                c,
            )
        })
        .filter(|(d, _, _)| *d <= limit)
        .min_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)))
        .map(|(_, _, c)| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_in_characters() {
        let text = "ab\n\u{e9}x = 1\n";
        let lines = Lines::new(text);
        assert_eq!(lines.position(text, 0), (1, 1));
        assert_eq!(lines.position(text, 3), (2, 1));
        // 'x' comes after a two-byte character: column 2.
        assert_eq!(lines.position(text, 5), (2, 2));
        assert_eq!(lines.position(text, text.len()), (3, 1));
    }

    #[test]
    fn suggestions_only_when_close() {
        let keys = ["conf-threshold", "iou-threshold", "classes", "threads"];
        assert_eq!(
            suggest("conf-treshold", keys).as_deref(),
            Some("conf-threshold")
        );
        assert_eq!(
            suggest("conf_threshold", keys).as_deref(),
            Some("conf-threshold")
        );
        assert_eq!(suggest("thread", keys).as_deref(), Some("threads"));
        assert_eq!(suggest("colour", keys), None);
        assert_eq!(suggest("ab", ["xy"]), None);
        assert_eq!(suggest("cam", ["car"]).as_deref(), Some("car"));
        assert_eq!(suggest("b", ["a"]), None);
    }
}
