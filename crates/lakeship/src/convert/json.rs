//! JSON output primitives: string escaping and number formatting, written
//! straight into a byte buffer.

/// Lookup table: the escape to use for each byte value, or 0 if none.
/// `u` means `\u00XX`.
static ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = b'u';
        byte += 1;
    }
    table[b'\n' as usize] = b'n';
    table[b'\r' as usize] = b'r';
    table[b'\t' as usize] = b't';
    table[0x08] = b'b';
    table[0x0c] = b'f';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

const LOW_BITS: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// True if any byte of `word` is below 0x20, or is `"` or `\`.
#[inline(always)]
fn word_needs_escape(word: u64) -> bool {
    let has_zero = |value: u64| value.wrapping_sub(LOW_BITS) & !value & HIGH_BITS;
    let below_space = word.wrapping_sub(LOW_BITS * 0x20) & !word & HIGH_BITS;
    let quote = has_zero(word ^ (LOW_BITS * b'"' as u64));
    let backslash = has_zero(word ^ (LOW_BITS * b'\\' as u64));
    (below_space | quote | backslash) != 0
}

/// Position of the first byte of `bytes` that needs escaping, if any.
#[inline]
fn first_escape(bytes: &[u8]) -> Option<usize> {
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        if word_needs_escape(word) {
            return chunk.iter().position(|&byte| ESCAPE[byte as usize] != 0).map(|i| offset + i);
        }
        offset += 8;
    }
    chunks.remainder().iter().position(|&byte| ESCAPE[byte as usize] != 0).map(|i| offset + i)
}

/// Appends `bytes` to `out`.
///
/// The encoder appends tens of small slices per row (keys, numbers, short
/// strings, pre-encoded dictionary entries); a call into `memcpy` for each
/// cost a fifth of the conversion time. Slices up to 64 bytes are copied
/// inline with overlapping unaligned moves; longer ones go through
/// `extend_from_slice`.
#[inline(always)]
#[allow(unsafe_code)]
pub fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = bytes.len();
    if len > 64 {
        out.extend_from_slice(bytes);
        return;
    }
    out.reserve(64);
    let start = out.len();
    // SAFETY: `reserve(64)` guarantees at least 64 writable bytes after
    // `start`. Each branch reads only inside `bytes` and writes only inside
    // `start..start + len`: overlapping moves of width w cover `[0, w)` and
    // `[len - w, len)` (and the 32..=64 case also `[16, 32)` and
    // `[len - 32, len - 16)`), all within `0..len` because `len >= w` in
    // that branch. `out` (mutable) and `bytes` (shared) cannot overlap.
    // `set_len` covers exactly the bytes written.
    unsafe {
        let src = bytes.as_ptr();
        let dst = out.as_mut_ptr().add(start);
        if len >= 32 {
            copy_u128(src, dst, 0);
            copy_u128(src, dst, 16);
            copy_u128(src, dst, len - 32);
            copy_u128(src, dst, len - 16);
        } else if len >= 16 {
            copy_u128(src, dst, 0);
            copy_u128(src, dst, len - 16);
        } else if len >= 8 {
            std::ptr::write_unaligned(dst.cast::<u64>(), std::ptr::read_unaligned(src.cast::<u64>()));
            std::ptr::write_unaligned(dst.add(len - 8).cast::<u64>(), std::ptr::read_unaligned(src.add(len - 8).cast::<u64>()));
        } else if len >= 4 {
            std::ptr::write_unaligned(dst.cast::<u32>(), std::ptr::read_unaligned(src.cast::<u32>()));
            std::ptr::write_unaligned(dst.add(len - 4).cast::<u32>(), std::ptr::read_unaligned(src.add(len - 4).cast::<u32>()));
        } else {
            for i in 0..len {
                *dst.add(i) = *src.add(i);
            }
        }
        out.set_len(start + len);
    }
}

/// Copies 16 bytes at `offset` from `src` to `dst`.
///
/// # Safety
/// `src + offset .. src + offset + 16` must be readable and the same range
/// of `dst` writable.
#[inline(always)]
#[allow(unsafe_code)]
unsafe fn copy_u128(src: *const u8, dst: *mut u8, offset: usize) {
    // SAFETY: guaranteed by the caller.
    unsafe {
        std::ptr::write_unaligned(dst.add(offset).cast::<u128>(), std::ptr::read_unaligned(src.add(offset).cast::<u128>()));
    }
}

/// Appends `text` as a JSON string (with quotes), escaping what JSON requires.
#[inline]
pub fn write_str(out: &mut Vec<u8>, text: &[u8]) {
    out.reserve(text.len() + 2);
    out.push(b'"');
    write_escaped(out, text);
    out.push(b'"');
}

/// Appends the escaped content of a JSON string, without quotes.
#[inline]
pub(crate) fn write_escaped(out: &mut Vec<u8>, text: &[u8]) {
    let Some(first) = first_escape(text) else {
        put(out, text);
        return;
    };
    out.extend_from_slice(&text[..first]);
    let mut start = first;
    for (index, &byte) in text.iter().enumerate().skip(first) {
        let escape = ESCAPE[byte as usize];
        if escape == 0 {
            continue;
        }
        out.extend_from_slice(&text[start..index]);
        if escape == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(byte >> 4) as usize]);
            out.push(HEX[(byte & 0xf) as usize]);
        } else {
            out.push(b'\\');
            out.push(escape);
        }
        start = index + 1;
    }
    out.extend_from_slice(&text[start..]);
}

/// Appends an integer.
#[inline]
pub(crate) fn write_int<I: itoa::Integer>(out: &mut Vec<u8>, value: I) {
    let mut buffer = itoa::Buffer::new();
    let digits = buffer.format(value).as_bytes();
    put(out, digits);
}

/// Appends a float; non-finite values (which JSON cannot carry) become `null`.
#[inline]
pub(crate) fn write_float<F: ryu::Float + Copy + FloatCheck>(out: &mut Vec<u8>, value: F) {
    if value.finite() {
        let mut buffer = ryu::Buffer::new();
        put(out, buffer.format_finite(value).as_bytes());
    } else {
        put(out, b"null");
    }
}

/// Finiteness over `f32` and `f64`.
pub(crate) trait FloatCheck {
    /// True if neither infinite nor NaN.
    fn finite(self) -> bool;
}

impl FloatCheck for f32 {
    fn finite(self) -> bool {
        self.is_finite()
    }
}

impl FloatCheck for f64 {
    fn finite(self) -> bool {
        self.is_finite()
    }
}

/// The bytes `,"name":` for an object key (the leading comma is skipped for
/// the first key of an object).
pub(crate) fn key_with_comma(name: &str) -> Box<[u8]> {
    let mut key = Vec::with_capacity(name.len() + 4);
    key.push(b',');
    write_str(&mut key, name.as_bytes());
    key.push(b':');
    key.into_boxed_slice()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(text: &str) -> String {
        let mut out = Vec::new();
        write_str(&mut out, text.as_bytes());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escapes_like_serde_json() {
        let samples = [
            "",
            "plain text that is long enough for words",
            "quote\" and backslash\\",
            "tab\tnewline\ncarriage\rbell\u{7}nul\u{0}",
            "ünïcødé ☃ and \u{2028}",
            "12345678\"",
            "\u{1f}",
            "control\u{8}\u{c}",
        ];
        for sample in samples {
            assert_eq!(escaped(sample), serde_json::to_string(sample).unwrap(), "{sample:?}");
        }
    }

    #[test]
    fn writes_numbers() {
        let mut out = Vec::new();
        write_int(&mut out, -42i64);
        out.push(b' ');
        write_float(&mut out, 0.1f32);
        out.push(b' ');
        write_float(&mut out, f64::NAN);
        out.push(b' ');
        write_float(&mut out, 1e300f64);
        assert_eq!(String::from_utf8(out).unwrap(), "-42 0.1 null 1e300");
    }

    #[test]
    fn puts_slices_of_every_small_length() {
        let source: Vec<u8> = (0..100u8).collect();
        for len in 0..=100 {
            let mut out = vec![9u8; 3];
            put(&mut out, &source[..len]);
            assert_eq!(&out[..3], &[9, 9, 9]);
            assert_eq!(&out[3..], &source[..len], "length {len}");
        }
    }

    #[test]
    fn builds_keys() {
        assert_eq!(&*key_with_comma("a\"b"), b",\"a\\\"b\":");
    }
}
