//! The `metadata_props` of an ONNX file, read without ONNX Runtime or OpenVINO.
//!
//! OpenVINO's C API does not expose an ONNX model's metadata, yet the Ultralytics exports
//! keep their class names there (`names`: `{0: 'person', 1: 'bicycle', ...}`), with `imgsz`
//! and `task`. This reader walks the top level of the `ModelProto` protobuf message and
//! collects its field 14, `repeated StringStringEntryProto metadata_props` (`key` = 1,
//! `value` = 2); every other field, the graph with its weights included, is skipped with a
//! seek, so a large model costs a few reads.

use std::io::{BufReader, ErrorKind, Read, Seek};
use std::path::Path;

/// `ModelProto.metadata_props`.
const METADATA_PROPS: u64 = 14;
/// A metadata entry larger than this is not metadata: the file is not an ONNX model.
const MAX_ENTRY: u64 = 16 << 20;

/// The metadata key/value pairs of the ONNX file at `path`, in file order.
pub fn onnx_metadata(path: &Path) -> Result<Vec<(String, String)>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    read_metadata(BufReader::new(file)).map_err(|e| format!("{}: {e}", path.display()))
}

/// The value of `key` in metadata pairs read by [`onnx_metadata`] (the last one wins, as
/// with ONNX Runtime's custom metadata map).
pub fn lookup<'a>(metadata: &'a [(String, String)], key: &str) -> Option<&'a str> {
    metadata
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Reads the metadata of a serialised `ModelProto` from `reader`.
pub fn read_metadata<R: Read + Seek>(
    mut reader: BufReader<R>,
) -> Result<Vec<(String, String)>, String> {
    let mut props = Vec::new();
    loop {
        let Some(tag) = read_varint(&mut reader, true)? else {
            return Ok(props);
        };
        let (field, wire) = (tag >> 3, tag & 7);
        match wire {
            0 => {
                read_varint(&mut reader, false)?;
            }
            1 => skip(&mut reader, 8)?,
            5 => skip(&mut reader, 4)?,
            2 => {
                let len = read_varint(&mut reader, false)?.unwrap_or(0);
                if field == METADATA_PROPS {
                    if len > MAX_ENTRY {
                        return Err(format!("metadata entry of {len} bytes: not an ONNX model"));
                    }
                    let mut entry = vec![0u8; len as usize];
                    reader.read_exact(&mut entry).map_err(truncated)?;
                    props.push(parse_entry(&entry)?);
                } else {
                    skip(&mut reader, len)?;
                }
            }
            _ => {
                return Err(format!(
                    "protobuf wire type {wire} at the top level: not an ONNX model"
                ))
            }
        }
    }
}

/// One `StringStringEntryProto`: `key` (1) and `value` (2), other fields skipped.
fn parse_entry(mut bytes: &[u8]) -> Result<(String, String), String> {
    let (mut key, mut value) = (String::new(), String::new());
    while !bytes.is_empty() {
        let tag = read_varint(&mut bytes, false)?.unwrap_or(0);
        let (field, wire) = (tag >> 3, tag & 7);
        let len = match wire {
            0 => {
                read_varint(&mut bytes, false)?;
                continue;
            }
            1 => 8,
            5 => 4,
            2 => read_varint(&mut bytes, false)?.unwrap_or(0),
            _ => return Err(format!("protobuf wire type {wire} in a metadata entry")),
        };
        if len > bytes.len() as u64 {
            return Err("metadata entry truncated".into());
        }
        let (data, rest) = bytes.split_at(len as usize);
        match (field, wire) {
            (1, 2) => key = String::from_utf8_lossy(data).into_owned(),
            (2, 2) => value = String::from_utf8_lossy(data).into_owned(),
            _ => {}
        }
        bytes = rest;
    }
    Ok((key, value))
}

/// A base-128 varint. With `eof_ok`, an end of input before its first byte is `None`.
fn read_varint<R: Read>(reader: &mut R, eof_ok: bool) -> Result<Option<u64>, String> {
    let mut value = 0u64;
    for i in 0..10 {
        let mut byte = [0u8];
        match reader.read_exact(&mut byte) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::UnexpectedEof && i == 0 && eof_ok => return Ok(None),
            Err(e) => return Err(truncated(e)),
        }
        value |= u64::from(byte[0] & 0x7f) << (7 * i);
        if byte[0] & 0x80 == 0 {
            return Ok(Some(value));
        }
    }
    Err("protobuf varint longer than 10 bytes: not an ONNX model".into())
}

fn skip<R: Read + Seek>(reader: &mut BufReader<R>, len: u64) -> Result<(), String> {
    let len = i64::try_from(len).map_err(|_| "protobuf field too long: not an ONNX model")?;
    reader.seek_relative(len).map_err(|e| e.to_string())
}

fn truncated(e: std::io::Error) -> String {
    if e.kind() == ErrorKind::UnexpectedEof {
        "truncated protobuf: not a complete ONNX model".into()
    } else {
        e.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn varint(mut v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return out;
            }
            out.push(b | 0x80);
        }
    }

    fn len_field(field: u64, data: &[u8]) -> Vec<u8> {
        let mut out = varint(field << 3 | 2);
        out.extend(varint(data.len() as u64));
        out.extend_from_slice(data);
        out
    }

    fn entry(key: &str, value: &str) -> Vec<u8> {
        let mut e = len_field(1, key.as_bytes());
        e.extend(len_field(2, value.as_bytes()));
        len_field(METADATA_PROPS, &e)
    }

    fn read(bytes: Vec<u8>) -> Result<Vec<(String, String)>, String> {
        read_metadata(BufReader::new(Cursor::new(bytes)))
    }

    #[test]
    fn reads_entries_and_skips_every_other_field() {
        let mut m = varint(1 << 3); // ir_version = 8
        m.extend(varint(8));
        m.extend(len_field(2, b"pytorch")); // producer_name
        m.extend(len_field(7, &vec![0xAB; 100_000])); // graph: skipped unparsed
        m.extend(entry("task", "detect"));
        m.extend(varint(9 << 3 | 1)); // a fixed64 field
        m.extend([0; 8]);
        m.extend(varint(10 << 3 | 5)); // a fixed32 field
        m.extend([0; 4]);
        m.extend(entry("names", "{0: 'a', 1: 'b'}"));
        m.extend(entry("task", "pose"));
        let props = read(m).unwrap();
        assert_eq!(props.len(), 3);
        assert_eq!(lookup(&props, "names"), Some("{0: 'a', 1: 'b'}"));
        assert_eq!(lookup(&props, "task"), Some("pose"), "the last entry wins");
        assert_eq!(lookup(&props, "imgsz"), None);
    }

    #[test]
    fn entry_fields_in_any_order_and_unknown_ones() {
        let mut e = len_field(2, b"v");
        e.extend(varint(3 << 3));
        e.extend(varint(300));
        e.extend(len_field(1, b"k"));
        assert_eq!(
            read(len_field(14, &e)).unwrap(),
            vec![("k".into(), "v".into())]
        );
    }

    #[test]
    fn empty_input_has_no_metadata() {
        assert_eq!(read(Vec::new()).unwrap(), vec![]);
    }

    #[test]
    fn truncated_and_foreign_inputs_are_errors_not_panics() {
        let mut m = entry("names", "{0: 'a'}");
        m.truncate(m.len() - 2);
        assert!(read(m).unwrap_err().contains("truncated"));
        // A group (wire type 3) never appears in a ModelProto.
        assert!(read(varint(5 << 3 | 3)).is_err());
        assert!(read(vec![0xff; 11]).is_err());
        // An absurd metadata length.
        let mut m = varint(14 << 3 | 2);
        m.extend(varint(1 << 40));
        assert!(read(m).is_err());
        // Text: whatever comes out, it must not panic.
        let _ = read(b"<?xml version=\"1.0\"?>\n<net name=\"x\"></net>\n".to_vec());
        let _ = read((0..=255u8).cycle().take(5000).collect());
    }

    #[test]
    fn shipped_model_names() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/rsvision-shapes.onnx");
        let props = onnx_metadata(&path).unwrap();
        let names = lookup(&props, "names").expect("names metadata");
        let expected = ["circle", "square", "triangle", "star", "cross", "ring"];
        for (i, name) in expected.iter().enumerate() {
            assert!(names.contains(&format!("{i}: '{name}'")), "{names}");
        }
        assert_eq!(lookup(&props, "task"), Some("detect"));
        assert_eq!(lookup(&props, "imgsz"), Some("[320, 320]"));
    }

    #[test]
    fn missing_file_is_named() {
        let e = onnx_metadata(Path::new("/nonexistent/m.onnx")).unwrap_err();
        assert!(e.contains("/nonexistent/m.onnx"), "{e}");
    }
}
