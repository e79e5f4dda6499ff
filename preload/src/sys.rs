//! Small wrappers over libc for the rest of the library: errno, C strings,
//! `environ`, and the one-line warnings users see. All of it is
//! async-signal-safe: no allocation, no locks.

use core::ffi::{c_char, c_int};

extern "C" {
    static mut environ: *const *const c_char;
}

/// The calling thread's errno.
pub fn errno() -> c_int {
    // SAFETY: __errno_location returns the calling thread's errno slot, always valid.
    unsafe { *libc::__errno_location() }
}

pub fn set_errno(value: c_int) {
    // SAFETY: as in errno().
    unsafe { *libc::__errno_location() = value }
}

/// The process's current environment array (may be null).
pub fn current_environ() -> *const *const c_char {
    // SAFETY: reading the pointer value of the global is what getenv does; programs may
    // assign it at any time, and we read it once per call.
    unsafe { core::ptr::addr_of!(environ).read_volatile() }
}

/// The bytes of a NUL-terminated string, without the NUL.
///
/// # Safety
/// `ptr` must be null or point to a NUL-terminated string that outlives `'a`.
#[inline(always)]
pub unsafe fn c_bytes<'a>(ptr: *const c_char) -> &'a [u8] {
    if ptr.is_null() {
        return &[];
    }
    // SAFETY: the caller guarantees a NUL-terminated string.
    unsafe { core::slice::from_raw_parts(ptr.cast(), libc::strlen(ptr)) }
}

/// Iterates a NULL-terminated array of C strings (`envp`, `argv`) as bytes
/// that live for `'a`.
#[derive(Clone, Copy)]
pub struct CStrArray<'a> {
    at: *const *const c_char,
    strings: core::marker::PhantomData<&'a [u8]>,
}

impl<'a> CStrArray<'a> {
    /// # Safety
    /// `array` must be null or a NULL-terminated array of NUL-terminated
    /// strings, and the array and its strings must stay valid for `'a`.
    pub unsafe fn new(array: *const *const c_char) -> Self {
        CStrArray { at: array, strings: core::marker::PhantomData }
    }
}

/// A string of a [`CStrArray`] not measured yet: its first byte is read
/// without `strlen`, for filters that reject most strings by it.
#[derive(Clone, Copy)]
pub struct Unmeasured<'a> {
    at: *const c_char,
    strings: core::marker::PhantomData<&'a [u8]>,
}

impl<'a> Unmeasured<'a> {
    /// The first byte (0 for an empty string).
    #[inline]
    pub fn first(&self) -> u8 {
        // SAFETY: a NUL-terminated string from the array (CStrArray::new's contract) has at
        // least one byte.
        unsafe { *self.at.cast::<u8>() }
    }

    #[inline(always)]
    pub fn measure(self) -> &'a [u8] {
        // SAFETY: as above; valid for 'a.
        unsafe { c_bytes(self.at) }
    }
}

impl<'a> CStrArray<'a> {
    /// The next string, not measured; None at the end.
    #[inline]
    pub fn next_unmeasured(&mut self) -> Option<Unmeasured<'a>> {
        if self.at.is_null() {
            return None;
        }
        // SAFETY: `new`'s contract: a NULL-terminated array of valid strings.
        let entry = unsafe { *self.at };
        if entry.is_null() {
            return None;
        }
        // SAFETY: as above; advancing stays within the array up to its NULL.
        self.at = unsafe { self.at.add(1) };
        Some(Unmeasured { at: entry, strings: core::marker::PhantomData })
    }

    /// How many strings there are, none of them measured.
    pub fn count_unmeasured(mut self) -> usize {
        let mut count = 0;
        while self.next_unmeasured().is_some() {
            count += 1;
        }
        count
    }
}

impl<'a> Iterator for CStrArray<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        self.next_unmeasured().map(Unmeasured::measure)
    }
}

/// Writes `envtrack: ` + the parts + a newline to stderr in one `write`.
/// Never allocates; a message longer than 1 KiB is cut.
pub fn warn(parts: &[&[u8]]) {
    let mut line = [0u8; 1024];
    let mut len = 0;
    for part in [&b"envtrack: "[..]].iter().chain(parts).chain([&b"\n"[..]].iter()) {
        let room = line.len() - len;
        let take = part.len().min(room);
        line[len..len + take].copy_from_slice(&part[..take]);
        len += take;
    }
    if len == line.len() {
        line[len - 1] = b'\n';
    }
    let _ = crate::syscall::write(2, &line[..len]);
}

const HASH_K: u64 = 0x9e37_79b9_7f4a_7c15;

#[inline(always)]
fn mix(hash: u64, word: u64) -> u64 {
    (hash ^ word).wrapping_mul(HASH_K).rotate_left(29)
}

#[inline(always)]
fn finish(hash: u64, len: usize) -> u64 {
    let hash = (hash ^ len as u64).wrapping_mul(HASH_K);
    (hash ^ (hash >> 32)).wrapping_mul(HASH_K)
}

/// Reads eight bytes at `at` (unaligned).
///
/// # Safety
/// `at..at + 8` must be readable.
#[inline(always)]
unsafe fn word_at(at: *const u8) -> u64 {
    // SAFETY: the caller's promise; read_unaligned needs no alignment.
    unsafe { at.cast::<u64>().read_unaligned() }
}

/// A hash of a variable name for the in-memory indexes (never stored or
/// sent anywhere): the name's bytes eight at a time (the last word
/// zero-padded), then its length. [`split_key`] computes the same value while
/// it looks for an entry's `=`.
#[inline]
pub fn hash(bytes: &[u8]) -> u64 {
    let mut hash = 0;
    let mut at = 0;
    while at + 8 <= bytes.len() {
        // SAFETY: at + 8 <= len.
        hash = mix(hash, unsafe { word_at(bytes.as_ptr().add(at)) });
        at += 8;
    }
    if at < bytes.len() {
        hash = mix(hash, tail_word(bytes, at));
    }
    finish(hash, bytes.len())
}

/// The bytes of `bytes` from `at` (fewer than 8 of them) as a word,
/// zero-padded, read without a byte loop.
#[inline(always)]
fn tail_word(bytes: &[u8], at: usize) -> u64 {
    let rest = bytes.len() - at;
    let end = bytes.as_ptr().wrapping_add(bytes.len());
    // SAFETY: each read is inside `bytes`: the last 8 bytes when there are 8 or more (they
    // overlap bytes before `at`, shifted out), else the first and last 4 of the tail, else
    // single bytes.
    unsafe {
        if bytes.len() >= 8 {
            word_at(end.sub(8)) >> (8 * (8 - rest))
        } else if rest >= 4 {
            let low = u64::from(bytes.as_ptr().add(at).cast::<u32>().read_unaligned());
            low | u64::from(end.sub(4).cast::<u32>().read_unaligned()) << (8 * (rest - 4))
        } else {
            let mut word = 0;
            for (i, &byte) in bytes[at..].iter().enumerate() {
                word |= u64::from(byte) << (8 * i);
            }
            word
        }
    }
}

/// Has a zero byte (the classic bit trick): the lowest set high bit marks the first.
#[inline(always)]
fn zero_bytes(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    word.wrapping_sub(ONES) & !word & HIGHS
}

const EQUALS: u64 = 0x3d3d_3d3d_3d3d_3d3d; // b'=' in every byte

/// Splits a `NAME=VALUE` entry and hashes its name in the same pass, eight
/// bytes at a time: what every entry of a child environment goes through.
#[inline(always)]
pub fn split_key(entry: &[u8]) -> Option<(Key<'_>, &[u8])> {
    let mut hash = 0;
    let mut at = 0;
    while at + 8 <= entry.len() {
        // SAFETY: at + 8 <= len.
        let word = unsafe { word_at(entry.as_ptr().add(at)) };
        let found = zero_bytes(word ^ EQUALS);
        if found != 0 {
            let within = (found.trailing_zeros() / 8) as usize;
            if within > 0 {
                hash = mix(hash, word & (u64::MAX >> (8 * (8 - within))));
            }
            return Some(split_at(entry, at + within, hash));
        }
        hash = mix(hash, word);
        at += 8;
    }
    if at == entry.len() {
        return None;
    }
    let word = tail_word(entry, at);
    let rest = entry.len() - at;
    // Only the tail's own bytes (the padding is 0, which is not '=').
    let found = zero_bytes(word ^ EQUALS) & (u64::MAX >> (8 * (8 - rest)));
    if found == 0 {
        return None;
    }
    let within = (found.trailing_zeros() / 8) as usize;
    if within > 0 {
        hash = mix(hash, word & (u64::MAX >> (8 * (8 - within))));
    }
    Some(split_at(entry, at + within, hash))
}

/// The name of the NUL-terminated entry at the start of `bytes` (which holds
/// its NUL), hashed as [`split_key`] hashes it, found without measuring the
/// entry: None when a NUL comes before any `=`. Reads whole words of
/// `bytes` only.
#[inline(always)]
pub fn entry_key(bytes: &[u8]) -> Option<Key<'_>> {
    let mut hash = 0;
    let mut at = 0;
    loop {
        let (word, room) = if at + 8 <= bytes.len() {
            // SAFETY: at + 8 <= len.
            (unsafe { word_at(bytes.as_ptr().add(at)) }, u64::MAX)
        } else if at < bytes.len() {
            let rest = bytes.len() - at;
            (tail_word(bytes, at), u64::MAX >> (8 * (8 - rest)))
        } else {
            return None;
        };
        let equals = zero_bytes(word ^ EQUALS) & room;
        let nul = zero_bytes(word) & room;
        // The lowest flag of each is the first such byte (the trick flags nothing below it).
        let first_equals = equals.trailing_zeros();
        if nul.trailing_zeros() < first_equals {
            return None;
        }
        if equals != 0 {
            let within = (first_equals / 8) as usize;
            if within > 0 {
                hash = mix(hash, word & (u64::MAX >> (8 * (8 - within))));
            }
            return Some(split_at(bytes, at + within, hash).0);
        }
        hash = mix(hash, word);
        at += 8;
    }
}

#[inline(always)]
fn split_at(entry: &[u8], at: usize, hash: u64) -> (Key<'_>, &[u8]) {
    let (name, rest) = entry.split_at(at.min(entry.len()));
    let value = rest.get(1..).unwrap_or_default();
    (Key { name, hash: finish(hash, name.len()) }, value)
}

/// Where the first `byte` of `bytes` is: eight bytes at a time.
#[inline]
pub fn find_byte(bytes: &[u8], byte: u8) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let repeated = u64::from(byte) * ONES;
    let mut at = 0;
    while at + 8 <= bytes.len() {
        // SAFETY: at + 8 <= len.
        let found = zero_bytes(unsafe { word_at(bytes.as_ptr().add(at)) } ^ repeated);
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    bytes[at..].iter().position(|&b| b == byte).map(|i| at + i)
}

/// Splits a `NAME=VALUE` entry (as [`envtrack_model::apply::split_entry`], faster).
#[inline]
pub fn split_entry(entry: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = find_byte(entry, b'=')?;
    Some((&entry[..at], &entry[at + 1..]))
}

/// A variable name and its [`hash`], computed once per lookup.
#[derive(Clone, Copy)]
pub struct Key<'a> {
    pub name: &'a [u8],
    pub hash: u64,
}

impl<'a> Key<'a> {
    pub fn new(name: &'a [u8]) -> Key<'a> {
        Key { name, hash: hash(name) }
    }

    /// The first probe of an open-addressing table with `mask + 1` slots.
    pub fn slot(&self, mask: usize) -> usize {
        (self.hash >> 7) as usize & mask
    }
}
