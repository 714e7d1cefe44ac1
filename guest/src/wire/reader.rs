//! Protobuf wire-format primitives: varints, keys, lengths and skipping
//! unknown fields, with the same acceptance rules as prost's decoder.

/// A protobuf wire type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireType {
    /// Wire type 0.
    Varint,
    /// Wire type 1: eight little-endian bytes.
    Fixed64,
    /// Wire type 2: a varint length and that many bytes.
    Len,
    /// Wire type 3 (deprecated groups).
    StartGroup,
    /// Wire type 4 (deprecated groups).
    EndGroup,
    /// Wire type 5: four little-endian bytes.
    Fixed32,
}

/// Wire types by their number; 6 and 7 are invalid.
const WIRE_TYPES: [Option<WireType>; 8] = [
    Some(WireType::Varint),
    Some(WireType::Fixed64),
    Some(WireType::Len),
    Some(WireType::StartGroup),
    Some(WireType::EndGroup),
    Some(WireType::Fixed32),
    None,
    None,
];

/// Nesting depth at which decoding stops, as prost's default recursion limit.
pub const MAX_DEPTH: u32 = 100;

/// What is wrong with an encoded request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// A varint runs past its message.
    TruncatedVarint,
    /// A varint longer than ten bytes or beyond 64 bits.
    InvalidVarint,
    /// A key beyond 32 bits.
    InvalidKey,
    /// Wire type 6 or 7.
    InvalidWireType,
    /// Field number 0.
    FieldZero,
    /// A length that runs past its message.
    LengthPastEnd,
    /// A fixed-size value cut by the end of its message.
    Truncated,
    /// A group end without its start, or ending another group.
    UnmatchedGroupEnd,
    /// Messages nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// A known field with another wire type than its type's.
    WrongWireType {
        /// The field number.
        field: u32,
        /// The message it belongs to.
        message: &'static str,
    },
    /// A string field that is not UTF-8.
    NotUtf8 {
        /// The field number.
        field: u32,
        /// The message it belongs to.
        message: &'static str,
    },
    /// A packed repeated fixed64 whose length is not a multiple of 8.
    CutPacked {
        /// The field number.
        field: u32,
        /// The message it belongs to.
        message: &'static str,
    },
    /// A trace or span id of the wrong length.
    IdLength {
        /// `traceId` or `spanId`.
        name: &'static str,
        /// Its length.
        len: usize,
        /// The length OTLP requires.
        wanted: usize,
    },
}

/// A decoding error: what is wrong and at which byte. Small and `Copy`, so
/// the hot paths return it cheaply; it is put into words only when reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireError {
    /// Offset of the field or value at fault.
    pub at: usize,
    /// What is wrong.
    pub problem: Problem,
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = self.at;
        match self.problem {
            Problem::TruncatedVarint => write!(f, "truncated varint at byte {at}"),
            Problem::InvalidVarint => write!(f, "invalid varint at byte {at}"),
            Problem::InvalidKey => write!(f, "invalid field key at byte {at}"),
            Problem::InvalidWireType => write!(f, "invalid wire type at byte {at}"),
            Problem::FieldZero => write!(f, "field number 0 at byte {at}"),
            Problem::LengthPastEnd => write!(f, "length at byte {at} runs past the end of its message"),
            Problem::Truncated => write!(f, "truncated value at byte {at}"),
            Problem::UnmatchedGroupEnd => write!(f, "unmatched end of group at byte {at}"),
            Problem::TooDeep => write!(f, "messages nested deeper than {MAX_DEPTH} at byte {at}"),
            Problem::WrongWireType { field, message } => {
                write!(f, "field {field} of {message} has the wrong wire type at byte {at}")
            }
            Problem::NotUtf8 { field, message } => write!(f, "field {field} of {message} is not UTF-8 at byte {at}"),
            Problem::CutPacked { field, message } => {
                write!(f, "packed field {field} of {message} is cut at byte {at}")
            }
            Problem::IdLength { name, len, wanted } => {
                write!(f, "{name} at byte {at} is {len} bytes long; OTLP requires {wanted}")
            }
        }
    }
}

/// Shorthand for an error at `at`.
#[inline]
pub fn fail<T>(at: usize, problem: Problem) -> Result<T, WireError> {
    Err(WireError { at, problem })
}

/// Reads the varint at `pos`, which must end before `end`; returns the value
/// and the position after it.
#[inline(always)]
pub fn varint(buf: &[u8], pos: usize, end: usize) -> Result<(u64, usize), WireError> {
    // One and two bytes inline (keys, lengths below 16 KiB), the rest out of line.
    if pos + 1 < end {
        let first = buf[pos];
        if first < 0x80 {
            return Ok((u64::from(first), pos + 1));
        }
        let second = buf[pos + 1];
        if second < 0x80 {
            return Ok((u64::from(first & 0x7f) | u64::from(second) << 7, pos + 2));
        }
    } else if pos < end && buf[pos] < 0x80 {
        return Ok((u64::from(buf[pos]), pos + 1));
    }
    varint_long(buf, pos, end)
}

#[cold]
#[inline(never)]
fn varint_long(buf: &[u8], pos: usize, end: usize) -> Result<(u64, usize), WireError> {
    let mut value = 0u64;
    for i in 0..10 {
        let at = pos + i;
        if at >= end {
            return fail(pos, Problem::TruncatedVarint);
        }
        let byte = buf[at];
        if i == 9 && byte > 1 {
            return fail(pos, Problem::InvalidVarint);
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Ok((value, at + 1));
        }
    }
    fail(pos, Problem::InvalidVarint)
}

/// Reads a field key at `pos`: field number, wire type, position after it.
#[inline(always)]
pub fn key(buf: &[u8], pos: usize, end: usize) -> Result<(u32, WireType, usize), WireError> {
    let (key, next) = varint(buf, pos, end)?;
    let Ok(key) = u32::try_from(key) else {
        return fail(pos, Problem::InvalidKey);
    };
    // A table, not a `match`: compiled to wasm, a match becomes an indirect
    // jump that the CPU mispredicts on nearly every field.
    let Some(wire) = WIRE_TYPES[(key & 7) as usize] else {
        return fail(pos, Problem::InvalidWireType);
    };
    let number = key >> 3;
    if number == 0 {
        return fail(pos, Problem::FieldZero);
    }
    Ok((number, wire, next))
}

/// Reads a length prefix at `pos`; returns the range of the bytes it
/// announces, which must end by `end`.
#[inline(always)]
pub fn len_delimited(buf: &[u8], pos: usize, end: usize) -> Result<(usize, usize), WireError> {
    let (len, start) = varint(buf, pos, end)?;
    match usize::try_from(len).ok().and_then(|len| start.checked_add(len)) {
        Some(stop) if stop <= end => Ok((start, stop)),
        _ => fail(pos, Problem::LengthPastEnd),
    }
}

/// Position after `n` fixed bytes at `pos`, which must fit before `end`.
#[inline(always)]
pub fn fixed(pos: usize, n: usize, end: usize) -> Result<usize, WireError> {
    match pos.checked_add(n) {
        Some(next) if next <= end => Ok(next),
        _ => fail(pos, Problem::Truncated),
    }
}

/// Skips the value of an unknown field whose key was just read.
pub fn skip(buf: &[u8], pos: usize, end: usize, number: u32, wire: WireType, depth: u32) -> Result<usize, WireError> {
    match wire {
        WireType::Varint => Ok(varint(buf, pos, end)?.1),
        WireType::Fixed64 => fixed(pos, 8, end),
        WireType::Fixed32 => fixed(pos, 4, end),
        WireType::Len => Ok(len_delimited(buf, pos, end)?.1),
        WireType::StartGroup => {
            if depth >= MAX_DEPTH {
                return fail(pos, Problem::TooDeep);
            }
            let mut pos = pos;
            loop {
                let (inner, inner_wire, next) = key(buf, pos, end)?;
                if inner_wire == WireType::EndGroup {
                    if inner != number {
                        return fail(pos, Problem::UnmatchedGroupEnd);
                    }
                    return Ok(next);
                }
                pos = skip(buf, next, end, inner, inner_wire, depth + 1)?;
            }
        }
        WireType::EndGroup => fail(pos, Problem::UnmatchedGroupEnd),
    }
}

/// Appends `value` as a varint.
#[inline]
pub fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Bytes `value` takes as a varint.
#[inline]
pub fn varint_len(value: u64) -> usize {
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

/// Appends the key of a length-delimited field `number` and `len`.
#[inline]
pub fn put_len_header(out: &mut Vec<u8>, number: u32, len: usize) {
    put_varint(out, u64::from(number << 3 | 2));
    put_varint(out, len as u64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_and_refuse_overlong_and_truncated_ones() {
        for value in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, value);
            assert_eq!(out.len(), varint_len(value));
            assert_eq!(varint(&out, 0, out.len()), Ok((value, out.len())));
        }
        assert!(varint(&[0x80, 0x80], 0, 2).is_err());
        let mut eleven = vec![0xff; 10];
        eleven.push(0);
        assert!(varint(&eleven, 0, eleven.len()).is_err());
        assert!(varint(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02], 0, 10).is_err());
    }

    #[test]
    fn keys_refuse_field_zero_and_unknown_wire_types() {
        assert_eq!(key(&[0x0a], 0, 1), Ok((1, WireType::Len, 1)));
        assert!(key(&[0x02], 0, 1).is_err());
        assert!(key(&[0x0e], 0, 1).is_err());
    }

    #[test]
    fn groups_are_skipped_whole_and_must_be_closed() {
        // Group 5 holding a varint field 1, then its end.
        let group = [0x2b, 0x08, 0x01, 0x2c];
        assert_eq!(skip(&group, 1, group.len(), 5, WireType::StartGroup, 0), Ok(4));
        let wrong_end = [0x2b, 0x08, 0x01, 0x34];
        assert!(skip(&wrong_end, 1, wrong_end.len(), 5, WireType::StartGroup, 0).is_err());
        assert!(skip(&[0x2c], 1, 1, 5, WireType::EndGroup, 0).is_err());
    }
}
