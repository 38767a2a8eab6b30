//! Class names: a labels file, or the `names` dictionary Ultralytics stores in ONNX metadata.

/// Parses a labels file: one label per line; blank lines at the end are ignored, a blank
/// line in the middle keeps its index (as an empty label).
pub fn parse_labels_file(text: &str) -> Vec<String> {
    let mut labels: Vec<String> = text
        .lines()
        .map(|l| l.trim_end_matches('\r').trim().to_string())
        .collect();
    while labels.last().is_some_and(|l| l.is_empty()) {
        labels.pop();
    }
    labels
}

/// Parses the `names` metadata value of an Ultralytics ONNX export: the Python repr of a
/// dict `{0: 'person', 1: 'bicycle', ...}` (single or double quotes, escapes allowed). JSON
/// objects (`{"0": "person"}`) and lists (`['a', 'b']`) are accepted too. Returns labels
/// indexed by class id (missing ids become `class<N>`), or `None` if the text is not one of
/// these forms.
pub fn parse_ultralytics_names(text: &str) -> Option<Vec<String>> {
    let text = text.trim();
    let (open, close, is_dict) = match text.chars().next()? {
        '{' => ('{', '}', true),
        '[' => ('[', ']', false),
        _ => return None,
    };
    let inner = text.strip_prefix(open)?.strip_suffix(close)?;
    let mut chars = inner.chars().peekable();
    let mut entries: Vec<(usize, String)> = Vec::new();
    let mut next_index = 0usize;
    loop {
        skip_ws(&mut chars);
        if chars.peek().is_none() {
            break;
        }
        let index = if is_dict {
            let key = match chars.peek()? {
                '\'' | '"' => parse_string(&mut chars)?,
                _ => {
                    let mut k = String::new();
                    while let Some(c) = chars.peek() {
                        if c.is_ascii_digit() {
                            k.push(*c);
                            chars.next();
                        } else {
                            break;
                        }
                    }
                    k
                }
            };
            skip_ws(&mut chars);
            if chars.next()? != ':' {
                return None;
            }
            skip_ws(&mut chars);
            key.trim().parse::<usize>().ok()?
        } else {
            next_index
        };
        let value = parse_string(&mut chars)?;
        entries.push((index, value));
        next_index += 1;
        skip_ws(&mut chars);
        match chars.next() {
            Some(',') => continue,
            None => break,
            Some(_) => return None,
        }
    }
    let count = entries.iter().map(|(i, _)| i + 1).max()?;
    if count > 100_000 {
        return None;
    }
    let mut labels: Vec<String> = (0..count).map(|i| format!("class{i}")).collect();
    for (i, v) in entries {
        labels[i] = v;
    }
    Some(labels)
}

fn skip_ws(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while chars.peek().is_some_and(|c| c.is_whitespace()) {
        chars.next();
    }
}

fn parse_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<String> {
    let quote = chars.next()?;
    if quote != '\'' && quote != '"' {
        return None;
    }
    let mut out = String::new();
    loop {
        match chars.next()? {
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'x' => {
                    let hex: String = [chars.next()?, chars.next()?].iter().collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                'u' => {
                    let hex: String = (0..4).filter_map(|_| chars.next()).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                c => out.push(c),
            },
            c if c == quote => return Some(out),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ultralytics_dict_repr() {
        let names = parse_ultralytics_names(
            "{0: 'person', 1: 'bicycle', 2: \"traffic light\", 3: 'it\\'s', 4: 'caf\\xe9'}",
        )
        .unwrap();
        assert_eq!(
            names,
            vec!["person", "bicycle", "traffic light", "it's", "café"]
        );
    }

    #[test]
    fn sparse_dict_json_and_list() {
        assert_eq!(
            parse_ultralytics_names("{0: 'a', 2: 'c'}").unwrap(),
            vec!["a", "class1", "c"]
        );
        assert_eq!(
            parse_ultralytics_names("{\"0\": \"a\", \"1\": \"b\"}").unwrap(),
            vec!["a", "b"]
        );
        assert_eq!(
            parse_ultralytics_names("['x', 'y']").unwrap(),
            vec!["x", "y"]
        );
    }

    #[test]
    fn garbage_is_rejected() {
        for t in [
            "",
            "person",
            "{0 'a'}",
            "{0: a}",
            "{0: 'a' 1: 'b'}",
            "{}",
            "{0: 'a'",
        ] {
            assert!(parse_ultralytics_names(t).is_none(), "{t}");
        }
    }

    #[test]
    fn labels_file_lines() {
        assert_eq!(
            parse_labels_file("a\r\nb\n\nc\n\n\n"),
            vec!["a", "b", "", "c"]
        );
        assert!(parse_labels_file("").is_empty());
    }
}
