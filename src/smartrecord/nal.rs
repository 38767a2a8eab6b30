//! Parameter sets (SPS/PPS, and VPS for H.265) in Annex B byte-streams.
//!
//! A byte-stream clip that starts on a key frame needs the parameter sets in front of it.
//! Parsers usually repeat them at every key frame, but a stream may carry them only once
//! (e.g. at its start): the element keeps the latest ones seen and the writer puts them in
//! front of a clip's first frame when that frame lacks them.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    H264,
    H265,
}

/// The NAL units of an Annex B buffer: (header index, end index), the end excluding the
/// next start code and its leading zero.
pub fn units(data: &[u8]) -> Vec<(usize, usize)> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    starts
        .iter()
        .enumerate()
        .map(|(k, &h)| {
            let end = match starts.get(k + 1) {
                // Back over this start code (3 bytes) and a leading zero byte.
                Some(&next) => {
                    let mut e = next - 3;
                    if e > h && data[e - 1] == 0 {
                        e -= 1;
                    }
                    e
                }
                None => data.len(),
            };
            (h, end)
        })
        .filter(|(h, e)| h < e)
        .collect()
}

fn nal_type(codec: Codec, header: u8) -> u8 {
    match codec {
        Codec::H264 => header & 0x1f,
        Codec::H265 => (header >> 1) & 0x3f,
    }
}

fn is_param_set(codec: Codec, t: u8) -> bool {
    match codec {
        Codec::H264 => t == 7 || t == 8,
        Codec::H265 => (32..=34).contains(&t),
    }
}

fn is_vcl(codec: Codec, t: u8) -> bool {
    match codec {
        Codec::H264 => (1..=5).contains(&t),
        Codec::H265 => t < 32,
    }
}

fn is_sps(codec: Codec, t: u8) -> bool {
    match codec {
        Codec::H264 => t == 7,
        Codec::H265 => t == 33,
    }
}

/// The parameter sets before the first slice of an access unit, each behind a 4-byte start
/// code; `None` if it has none.
pub fn param_sets(codec: Codec, data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for (h, e) in units(data) {
        let t = nal_type(codec, data[h]);
        if is_vcl(codec, t) {
            break;
        }
        if is_param_set(codec, t) {
            out.extend_from_slice(&[0, 0, 0, 1]);
            out.extend_from_slice(&data[h..e]);
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Whether an access unit carries a sequence parameter set before its first slice.
pub fn has_sps(codec: Codec, data: &[u8]) -> bool {
    for (h, _) in units(data) {
        let t = nal_type(codec, data[h]);
        if is_vcl(codec, t) {
            return false;
        }
        if is_sps(codec, t) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    // AUD, SPS, PPS, IDR slice with 3- and 4-byte start codes.
    const AU: &[u8] = &[
        0, 0, 0, 1, 0x09, 0xf0, //
        0, 0, 0, 1, 0x67, 1, 2, 3, //
        0, 0, 1, 0x68, 4, 5, //
        0, 0, 0, 1, 0x65, 9, 9, 9,
    ];

    #[test]
    fn splits_units() {
        let u = units(AU);
        assert_eq!(u.len(), 4);
        assert_eq!(&AU[u[1].0..u[1].1], &[0x67, 1, 2, 3]);
        assert_eq!(&AU[u[2].0..u[2].1], &[0x68, 4, 5]);
        assert_eq!(&AU[u[3].0..u[3].1], &[0x65, 9, 9, 9]);
    }

    #[test]
    fn finds_parameter_sets() {
        assert_eq!(
            param_sets(Codec::H264, AU).unwrap(),
            vec![0, 0, 0, 1, 0x67, 1, 2, 3, 0, 0, 0, 1, 0x68, 4, 5]
        );
        assert!(has_sps(Codec::H264, AU));
        let slice_only = &AU[20..];
        assert_eq!(param_sets(Codec::H264, slice_only), None);
        assert!(!has_sps(Codec::H264, slice_only));
    }

    #[test]
    fn h265_types() {
        // VPS (32), SPS (33), PPS (34), IDR_W_RADL (19).
        let au = [
            0, 0, 0, 1, 0x40, 1, 7, //
            0, 0, 0, 1, 0x42, 1, 8, //
            0, 0, 0, 1, 0x44, 1, 9, //
            0, 0, 0, 1, 0x26, 1, 5,
        ];
        let ps = param_sets(Codec::H265, &au).unwrap();
        assert_eq!(ps.len(), 21);
        assert!(has_sps(Codec::H265, &au));
        assert!(!has_sps(Codec::H265, &au[21..]));
    }
}
