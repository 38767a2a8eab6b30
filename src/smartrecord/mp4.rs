//! Whether a (possibly cut-off) MP4 file holds any sample data: its top-level boxes are
//! walked by their headers (no full read) looking for an `mdat` box with a payload that
//! lies entirely within the file. A fragmented MP4 cut off before its first fragment holds
//! only `ftyp`/`moov` and plays nothing.

use std::io::{self, Read, Seek, SeekFrom};

/// Whether `file` holds a complete, non-empty `mdat` box at its top level.
pub fn holds_samples<R: Read + Seek>(file: &mut R) -> io::Result<bool> {
    let len = file.seek(SeekFrom::End(0))?;
    let mut pos = 0u64;
    while pos + 8 <= len {
        file.seek(SeekFrom::Start(pos))?;
        let mut h = [0u8; 16];
        file.read_exact(&mut h[..8])?;
        let size32 = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as u64;
        let (size, header) = match size32 {
            // Up to the end of the file.
            0 => (len - pos, 8),
            1 => {
                if pos + 16 > len {
                    return Ok(false);
                }
                file.read_exact(&mut h[8..16])?;
                (
                    u64::from_be_bytes([h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]]),
                    16,
                )
            }
            s => (s, 8),
        };
        if size < header {
            return Ok(false);
        }
        let Some(end) = pos.checked_add(size) else {
            return Ok(false);
        };
        if end > len {
            return Ok(false);
        }
        if &h[4..8] == b"mdat" && size > header {
            return Ok(true);
        }
        pos = end;
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn boxed(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut v = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(payload);
        v
    }

    fn check(data: &[u8]) -> bool {
        holds_samples(&mut Cursor::new(data)).unwrap()
    }

    #[test]
    fn finds_complete_media_only() {
        let head = [boxed(b"ftyp", b"isom"), boxed(b"moov", &[0; 20])].concat();
        assert!(!check(&head), "no fragment yet");
        assert!(!check(&[]));
        let frag = [boxed(b"moof", &[0; 12]), boxed(b"mdat", &[1; 100])].concat();
        let full = [head.clone(), frag.clone()].concat();
        assert!(check(&full));
        // The mdat cut short: nothing complete.
        assert!(!check(&full[..full.len() - 1]));
        // An empty mdat holds nothing.
        assert!(!check(&[head.clone(), boxed(b"mdat", &[])].concat()));
        // Size 0: to the end of the file.
        let mut to_end = head.clone();
        to_end.extend_from_slice(&[0, 0, 0, 0]);
        to_end.extend_from_slice(b"mdat");
        to_end.extend_from_slice(&[1; 10]);
        assert!(check(&to_end));
        // 64-bit size.
        let mut large = head.clone();
        large.extend_from_slice(&1u32.to_be_bytes());
        large.extend_from_slice(b"mdat");
        large.extend_from_slice(&(16u64 + 4).to_be_bytes());
        large.extend_from_slice(&[1; 4]);
        assert!(check(&large));
        // Garbage sizes end the walk without a panic.
        assert!(!check(&[0, 0, 0, 3, b'm', b'd', b'a', b't']));
        assert!(!check(&[0xff; 40]));
    }
}
