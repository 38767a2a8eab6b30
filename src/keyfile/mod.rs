//! A parser for the GLib key-file (`[group]` + `key=value`) format that DeepStream uses for
//! its configuration files (msgconv `[sensorN]`/`[placeN]`/`[analyticsN]`, the broker's
//! `[message-broker]`, smart-record sensor lists).
//!
//! Plain Rust, no GStreamer types. Comments start with `#` or `;` at the beginning of a
//! line; blank lines are ignored; keys and values are trimmed; a key before any group, a
//! line that is neither a group, a comment nor `key=value`, and a repeated key in a group
//! are errors with their line number, so a malformed file is refused with a clear message.

use std::fmt;

/// One `[group]` with its keys in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The group name between the brackets.
    pub name: String,
    /// Line number (1-based) of the group header.
    pub line: usize,
    /// `(key, value, line)` in file order.
    pub entries: Vec<(String, String, usize)>,
}

impl Group {
    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, v, _)| v.as_str())
    }

    /// The line of `key`, if present.
    pub fn line_of(&self, key: &str) -> Option<usize> {
        self.entries
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, _, l)| *l)
    }
}

/// A syntax error in a key file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFileError {
    /// Line number (1-based).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for KeyFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for KeyFileError {}

/// Parses key-file text into its groups, in file order.
pub fn parse(text: &str) -> Result<Vec<Group>, KeyFileError> {
    let mut groups: Vec<Group> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let Some(name) = rest.strip_suffix(']') else {
                return Err(KeyFileError {
                    line: line_no,
                    message: format!("group header without closing ']': {line:?}"),
                });
            };
            let name = name.trim();
            if name.is_empty() {
                return Err(KeyFileError {
                    line: line_no,
                    message: "empty group name".into(),
                });
            }
            if groups.iter().any(|g| g.name == name) {
                return Err(KeyFileError {
                    line: line_no,
                    message: format!("group [{name}] appears twice"),
                });
            }
            groups.push(Group {
                name: name.to_string(),
                line: line_no,
                entries: Vec::new(),
            });
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(KeyFileError {
                line: line_no,
                message: format!("expected `key=value` or `[group]`, found {line:?}"),
            });
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(KeyFileError {
                line: line_no,
                message: format!("empty key in {line:?}"),
            });
        }
        let Some(group) = groups.last_mut() else {
            return Err(KeyFileError {
                line: line_no,
                message: format!("key {key:?} before any [group]"),
            });
        };
        if group.get(key).is_some() {
            return Err(KeyFileError {
                line: line_no,
                message: format!("key {key:?} repeated in group [{}]", group.name),
            });
        }
        group
            .entries
            .push((key.to_string(), value.trim().to_string(), line_no));
    }
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_keys_comments() {
        let g = parse("# c\n[a]\nx = 1\n; c2\n\n[b]\ny=two words\nz=\n").unwrap();
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].name, "a");
        assert_eq!(g[0].get("x"), Some("1"));
        assert_eq!(g[1].get("y"), Some("two words"));
        assert_eq!(g[1].get("z"), Some(""));
        assert_eq!(g[1].line_of("y"), Some(7));
    }

    #[test]
    fn errors_have_lines() {
        assert_eq!(parse("x=1\n").unwrap_err().line, 1);
        assert_eq!(parse("[a]\nnonsense\n").unwrap_err().line, 2);
        assert_eq!(parse("[a\n").unwrap_err().line, 1);
        assert_eq!(parse("[a]\nx=1\nx=2\n").unwrap_err().line, 3);
        assert_eq!(parse("[a]\n[a]\n").unwrap_err().line, 2);
        assert_eq!(parse("[a]\n=3\n").unwrap_err().line, 2);
    }
}
