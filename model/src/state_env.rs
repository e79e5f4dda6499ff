//! How an encoded state travels in a child's environment: in the environment
//! itself, never in a file.
//!
//! The kernel refuses any one environment string of 128 KiB or more, so a
//! state longer than [`PART`] bytes is split:
//!
//! ```text
//! ENVTRACK_STATE=ET1;…                                 at most PART bytes: inline
//! ENVTRACK_STATE=+<parts>,<length>,<checksum hex>;<chunk 0>   longer: split
//! ENVTRACK_STATE_1=<chunk 1> … ENVTRACK_STATE_<parts-1>=<chunk parts-1>
//! ```
//!
//! Every process that inherits the environment can read the state, as many
//! times as it likes (an intermediary that envtrack cannot see into — a static
//! or Go program — may start several children); nothing is left on disk, and
//! the state's lifetime is exactly the environment's. The header's length and
//! checksum catch parts that were dropped, reordered or mixed with another
//! state's.
//!
//! The preload writes the parts on the exec path through [`for_each_entry`]
//! (which allocates nothing); both sides read them with [`join`].

use alloc::vec::Vec;

use crate::sink::{ArrayBuf, Decimal, Full, Sink};
use crate::vars;

/// The most bytes of state one environment string carries.
pub const PART: usize = 120 * 1024;

/// The longest header (`+N,LEN,HASH;`).
const HEADER_MAX: usize = 1 + 20 + 1 + 20 + 1 + 16 + 1;

/// The parts' checksum: a 64-bit multiply-rotate hash of the state, eight
/// bytes (little-endian) at a time, then byte by byte for the last few. Not a
/// defence against an attacker, who could write any state they like; a check
/// that the parts belong together, cheap enough for a state of megabytes on
/// the exec path.
pub fn checksum(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut hash = bytes.len() as u64;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let word = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        hash = (hash ^ word).wrapping_mul(K).rotate_left(31);
    }
    for &byte in words.remainder() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(K).rotate_left(31);
    }
    hash ^ (hash >> 29)
}

/// How many environment entries a state of `len` bytes takes.
pub fn part_count(len: usize) -> usize {
    if len <= PART {
        1
    } else {
        len.div_ceil(PART)
    }
}

/// The bytes the entries of a state of `len` bytes take, each with its NUL.
pub fn entries_len(len: usize) -> usize {
    let parts = part_count(len);
    let names = vars::STATE.len() + 1; // "ENVTRACK_STATE="
    if parts == 1 {
        return names + len + 1;
    }
    // "_" and up to 20 digits per further part, and the header on the first.
    names * parts + (parts - 1) * 21 + HEADER_MAX + len + parts
}

/// Whether `name` is one of the state's entries (`ENVTRACK_STATE`, `ENVTRACK_STATE_<n>`).
pub fn is_state_name(name: &[u8]) -> bool {
    match name.strip_prefix(vars::STATE.as_bytes()) {
        Some([]) => true,
        Some([b'_', digits @ ..]) => !digits.is_empty() && digits.iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

/// The number `n` of an `ENVTRACK_STATE_<n>` name (`ENVTRACK_STATE` is 0).
pub fn part_number(name: &[u8]) -> Option<usize> {
    match name.strip_prefix(vars::STATE.as_bytes())? {
        [] => Some(0),
        [b'_', digits @ ..] if !digits.is_empty() && digits.len() <= 9 && digits[0] != b'0' => {
            digits.iter().try_fold(0usize, |n, &d| d.is_ascii_digit().then(|| n * 10 + usize::from(d - b'0')))
        }
        _ => None,
    }
}

/// Calls `entry` with the parts of each environment entry (`NAME=VALUE`,
/// without the NUL) that carries `state`. Allocates nothing.
pub fn for_each_entry<E>(state: &[u8], mut entry: impl FnMut(&[&[u8]]) -> Result<(), E>) -> Result<(), E> {
    let parts = part_count(state.len());
    let name = vars::STATE.as_bytes();
    if parts == 1 {
        return entry(&[name, b"=", state]);
    }
    let mut header = ArrayBuf::<HEADER_MAX>::default();
    let _: Result<(), Full> = (|| {
        header.put_byte(b'+')?;
        header.put_decimal(parts)?;
        header.put_byte(b',')?;
        header.put_decimal(state.len())?;
        header.put_byte(b',')?;
        put_hex(&mut header, checksum(state))?;
        header.put_byte(b';')
    })();
    for (k, chunk) in state.chunks(PART).enumerate() {
        if k == 0 {
            entry(&[name, b"=", header.as_bytes(), chunk])?;
        } else {
            let number = Decimal::new(k as u64);
            entry(&[name, b"_", number.as_bytes(), b"=", chunk])?;
        }
    }
    Ok(())
}

fn put_hex<S: Sink>(out: &mut S, value: u64) -> Result<(), Full> {
    let mut digits = [0u8; 16];
    for (i, digit) in digits.iter_mut().enumerate() {
        let nibble = (value >> (60 - 4 * i)) & 0xf;
        *digit = b"0123456789abcdef"[nibble as usize];
    }
    out.put(&digits)
}

/// Why the parts of a state do not make one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinError {
    /// The `+N,LEN,HASH;` header is malformed.
    Header,
    /// Part `n` is missing.
    Missing(usize),
    /// The parts do not add up to the length and checksum the header gives.
    Mismatch,
}

impl JoinError {
    /// Says what is wrong, for a one-line message.
    pub fn describe(self, out: &mut impl Sink) -> Result<(), Full> {
        match self {
            JoinError::Header => out.put(b"malformed header of a split state"),
            JoinError::Missing(n) => {
                out.put(b"ENVTRACK_STATE_")?;
                out.put_decimal(n)?;
                out.put(b" is missing")
            }
            JoinError::Mismatch => out.put(b"the parts do not match their header (length or checksum)"),
        }
    }
}

/// The state an environment carries, given `ENVTRACK_STATE`'s value and a
/// lookup of part `n`'s value. `Ok(None)`: the value is the state itself
/// (inline); `Ok(Some(bytes))`: the joined parts.
pub fn join<'a>(first: &'a [u8], part: impl Fn(usize) -> Option<&'a [u8]>) -> Result<Option<Vec<u8>>, JoinError> {
    let Some(rest) = first.strip_prefix(b"+") else { return Ok(None) };
    let end = rest.iter().position(|&b| b == b';').ok_or(JoinError::Header)?;
    let mut fields = rest[..end].split(|&b| b == b',');
    let mut number = || -> Option<u64> {
        let digits = fields.next()?;
        if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(digits.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')))
    };
    let parts = number().ok_or(JoinError::Header)? as usize;
    let len = number().ok_or(JoinError::Header)? as usize;
    let hash = fields.next().filter(|h| h.len() == 16).and_then(parse_hex).ok_or(JoinError::Header)?;
    if fields.next().is_some() || parts < 2 || part_count(len) != parts {
        return Err(JoinError::Header);
    }
    let mut state = Vec::new();
    state.try_reserve_exact(len).map_err(|_| JoinError::Mismatch)?;
    state.extend_from_slice(&rest[end + 1..]);
    for n in 1..parts {
        let chunk = part(n).ok_or(JoinError::Missing(n))?;
        if state.len() + chunk.len() > len {
            return Err(JoinError::Mismatch);
        }
        state.extend_from_slice(chunk);
    }
    if state.len() != len || checksum(&state) != hash {
        return Err(JoinError::Mismatch);
    }
    Ok(Some(state))
}

fn parse_hex(digits: &[u8]) -> Option<u64> {
    digits.iter().try_fold(0u64, |n, &d| {
        let v = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            _ => return None,
        };
        Some(n << 4 | u64::from(v))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn entries(state: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for_each_entry::<()>(state, |parts| {
            out.push(parts.concat());
            Ok(())
        })
        .unwrap();
        out
    }

    fn join_entries(entries: &[Vec<u8>]) -> Result<Vec<u8>, JoinError> {
        let value =
            |name: &[u8]| entries.iter().find_map(|e| e.strip_prefix(name).and_then(|rest| rest.strip_prefix(b"=")));
        let first = value(b"ENVTRACK_STATE").unwrap();
        let part = |n: usize| {
            let name = [&b"ENVTRACK_STATE_"[..], Decimal::new(n as u64).as_bytes()].concat();
            entries.iter().find_map(|e| e.strip_prefix(&name[..]).and_then(|r| r.strip_prefix(b"=")))
        };
        Ok(join(first, part)?.unwrap_or_else(|| first.to_vec()))
    }

    #[test]
    fn small_states_are_inline_and_large_ones_split_and_join() {
        for len in [0, 10, PART, PART + 1, 3 * PART, 3 * PART + 7] {
            let state: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let entries = entries(&state);
            assert_eq!(entries.len(), part_count(len), "{len}");
            let total: usize = entries.iter().map(|e| e.len() + 1).sum();
            assert!(total <= entries_len(len), "{len}: {total} > {}", entries_len(len));
            for e in &entries {
                assert!(e.len() < vars::MAX_STRING, "{len}: an entry of {}", e.len());
            }
            assert_eq!(join_entries(&entries).unwrap(), state, "{len}");
        }
    }

    #[test]
    fn damaged_parts_are_refused() {
        let state = vec![b'x'; 2 * PART + 5];
        let mut e = entries(&state);
        assert_eq!(join_entries(&e[..2]), Err(JoinError::Missing(2)));
        e[2].push(b'y');
        assert_eq!(join_entries(&e), Err(JoinError::Mismatch));
        e[2].pop();
        e[1].pop();
        e[1].push(b'z');
        assert_eq!(join_entries(&e), Err(JoinError::Mismatch));
        assert_eq!(join(b"+2,5;abc", |_| None), Err(JoinError::Header));
        assert_eq!(join(b"+1,5,0000000000000000;abc", |_| None), Err(JoinError::Header));
        assert_eq!(join(b"ET1;", |_| None), Ok(None));
    }

    #[test]
    fn state_names() {
        assert!(is_state_name(b"ENVTRACK_STATE"));
        assert!(is_state_name(b"ENVTRACK_STATE_12"));
        assert!(!is_state_name(b"ENVTRACK_STATE_"));
        assert!(!is_state_name(b"ENVTRACK_STATEX"));
        assert!(!is_state_name(b"ENVTRACK_STATE_1a"));
        assert_eq!(part_number(b"ENVTRACK_STATE_3"), Some(3));
        assert_eq!(part_number(b"ENVTRACK_STATE"), Some(0));
        assert_eq!(part_number(b"ENVTRACK_STATE_03"), None);
    }
}
