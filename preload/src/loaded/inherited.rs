//! A copy of the environment the process started with, and an index over
//! its names: programs may overwrite the original strings (setproctitle) or
//! drop them, and the tracked changes are relative to these values.
//!
//! Loading costs a few instructions per variable and nothing per byte: the
//! kernel lays the strings out back to back, so the copy is one
//! `process_vm_readv` of that range, and only the entries' offsets are
//! written. The index over names is built at the first lookup ([`Once`]),
//! which a process that never execs nor changes its environment never makes.

use core::ffi::c_char;
use core::sync::atomic::{AtomicU64, Ordering};

use super::once::Once;
use super::reserve::Reserve;
use crate::sys::{self, split_entry, CStrArray, Key};

pub struct Inherited {
    /// The strings: entry `i` starts at `storage[offsets[i]]` and ends at a NUL.
    storage: &'static [u8],
    offsets: &'static [u32],
    /// Open addressing over names, built once: the name's hash in the high
    /// half (so most probes compare no bytes), entry number + 1 in the low
    /// half, 0 for empty.
    slots: &'static [AtomicU64],
    once: Once,
}

/// Where the environment's strings are, found without reading them.
struct Span {
    count: usize,
    low: *const c_char,
    high: *const c_char,
}

fn span(envp: *const *const c_char) -> Span {
    let mut span = Span { count: 0, low: core::ptr::null(), high: core::ptr::null() };
    if envp.is_null() {
        return span;
    }
    loop {
        // SAFETY: environ at load time is a NULL-terminated array; we stop at its NULL.
        let entry = unsafe { *envp.add(span.count) };
        if entry.is_null() {
            return span;
        }
        if span.count == 0 || entry < span.low {
            span.low = entry;
        }
        if entry > span.high {
            span.high = entry;
        }
        span.count += 1;
    }
}

/// The largest range of environment strings copied in one piece. The kernel
/// takes at most a quarter of the stack limit of arguments and environment;
/// a range larger than this spans memory that is not the environment.
const MAX_RANGE: usize = 64 << 20;

/// What [`Inherited::compare`] found.
pub enum Compared {
    /// The entry is what the process started with.
    Same,
    /// The process started with this other value.
    Was(&'static [u8]),
    /// The process started without the variable.
    Absent,
}

/// The high half of an index slot: the hash's.
const TAG: u64 = 0xffff_ffff_0000_0000;

fn tag(key: Key<'_>) -> u64 {
    key.hash & TAG
}

/// The entry number a slot holds.
fn number(slot: u64) -> usize {
    (slot & !TAG) as usize - 1
}

impl Inherited {
    /// Copies `envp`, and reserves room for the snapshot's index after it.
    pub(super) fn copy(envp: *const *const c_char) -> Option<(Inherited, Reserve)> {
        let span = span(envp);
        if span.count == 0 {
            return Self::copy_packed(envp, 0);
        }
        // SAFETY: `high` is one of the array's NUL-terminated strings.
        let last = unsafe { sys::c_bytes(span.high) };
        let range = (span.high as usize - span.low as usize).saturating_add(last.len() + 1);
        if range <= MAX_RANGE {
            if let Some(copied) = Self::copy_range(envp, &span, range) {
                return Some(copied);
            }
        }
        Self::copy_packed(envp, span.count)
    }

    /// Every string lies in [low, high + its length]: one copy of that range
    /// holds them all, if the range is readable memory. It is as the kernel
    /// laid the strings out; if another library's constructor put a heap
    /// string into environ first, the range spans unmapped memory and the
    /// copy fails (None: the mapping is given back).
    fn copy_range(envp: *const *const c_char, span: &Span, range: usize) -> Option<(Inherited, Reserve)> {
        let mut reserve = Reserve::map(Self::reservation(span.count, range))?;
        let offsets = reserve.take_u32(span.count);
        let slots = reserve.take_atomic_u64(Self::slot_count(span.count));
        let storage = reserve.take_bytes(range);
        let read = crate::syscall::read_own_memory(span.low.cast(), storage);
        // The range's last byte is the last string's NUL (unless the string changed since).
        if read != Ok(range) || storage.last() != Some(&0) || offsets.len() != span.count {
            reserve.release();
            return None;
        }
        for (i, offset) in offsets.iter_mut().enumerate() {
            // SAFETY: the array is NULL-terminated with `count` entries (counted by `span`).
            let entry = unsafe { *envp.add(i) };
            *offset = (entry as usize - span.low as usize) as u32;
        }
        Some((Inherited { storage, offsets, slots, once: Once::new() }, reserve))
    }

    /// The slow way, for an environment whose strings are not laid out
    /// together: each string copied on its own, back to back.
    fn copy_packed(envp: *const *const c_char, count: usize) -> Option<(Inherited, Reserve)> {
        // SAFETY: environ at load time is null or a valid NULL-terminated array.
        let total: usize = unsafe { CStrArray::new(envp) }.map(|entry| entry.len() + 1).sum::<usize>().max(1);
        if total > u32::MAX as usize {
            return None;
        }
        let mut reserve = Reserve::map(Self::reservation(count, total))?;
        let offsets = reserve.take_u32(count);
        let slots = reserve.take_atomic_u64(Self::slot_count(count));
        let storage = reserve.take_bytes(total);
        let mut used = 0;
        // SAFETY: as above.
        for (entry, offset) in unsafe { CStrArray::new(envp) }.zip(offsets.iter_mut()) {
            let target = storage.get_mut(used..used + entry.len())?;
            target.copy_from_slice(entry);
            *offset = used as u32;
            used += entry.len() + 1;
        }
        Some((Inherited { storage, offsets, slots, once: Once::new() }, reserve))
    }

    /// Bytes to reserve for `count` entries in `bytes` bytes of strings, with
    /// room for the snapshot's index (the snapshot is at most `bytes` long).
    fn reservation(count: usize, bytes: usize) -> usize {
        count * 4 + Self::slot_count(count) * 8 + bytes + 64 + super::records::reservation(bytes)
    }

    fn slot_count(count: usize) -> usize {
        (count * 2).next_power_of_two().max(16)
    }

    /// Entry number `i`.
    fn entry(&self, i: usize) -> &'static [u8] {
        let storage = self.storage;
        let rest = self.offsets.get(i).and_then(|&at| storage.get(at as usize..)).unwrap_or_default();
        // SAFETY: `rest` is inside the copy, whose last byte is a NUL (checked at copy).
        let len = unsafe { libc::strlen(rest.as_ptr().cast()) }.min(rest.len());
        &rest[..len]
    }

    /// The bytes of the copy: no less than the entries and their NULs.
    pub fn bytes(&self) -> usize {
        self.storage.len()
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.offsets.len()
    }

    /// Every inherited entry, in order.
    pub fn entries(&self) -> impl Iterator<Item = &'static [u8]> + '_ {
        (0..self.len()).map(|i| self.entry(i))
    }

    pub fn names(&self) -> impl Iterator<Item = &'static [u8]> + '_ {
        self.entries().filter_map(|e| split_entry(e).map(|(name, _)| name))
    }

    /// Entry `i` when it starts with a byte `wanted` accepts (cheap: one byte read).
    pub fn entry_if(&self, i: usize, wanted: impl Fn(u8) -> bool) -> Option<&'static [u8]> {
        let first = *self.offsets.get(i).and_then(|&at| self.storage.get(at as usize))?;
        wanted(first).then(|| self.entry(i))
    }

    fn build_index(&self) {
        let mask = self.slots.len() - 1;
        for slot in self.slots {
            slot.store(0, Ordering::Relaxed);
        }
        for i in 0..self.len() {
            let Some(rest) = self.offsets.get(i).and_then(|&at| self.storage.get(at as usize..)) else { continue };
            let Some(key) = sys::entry_key(rest) else { continue };
            let name = key.name;
            let mut slot = key.slot(mask);
            loop {
                let taken = self.slots[slot].load(Ordering::Relaxed);
                if taken == 0 {
                    self.slots[slot].store(tag(key) | (i as u64 + 1), Ordering::Relaxed);
                    break;
                }
                // getenv sees the first of duplicates: keep it.
                if taken & TAG == tag(key) && self.value_at(number(taken), name).is_some() {
                    break;
                }
                slot = (slot + 1) & mask;
            }
        }
    }

    /// The value of entry `i` if it is `name`'s, found without measuring the
    /// entry first (the comparison stops at its NUL, which no name holds).
    fn value_at(&self, i: usize, name: &[u8]) -> Option<&'static [u8]> {
        let storage = self.storage;
        let rest = storage.get(*self.offsets.get(i)? as usize..)?;
        if rest.get(..name.len())? != name || rest.get(name.len()) != Some(&b'=') {
            return None;
        }
        let value = rest.get(name.len() + 1..)?;
        // SAFETY: inside the copy, whose last byte is a NUL.
        let len = unsafe { libc::strlen(value.as_ptr().cast()) }.min(value.len());
        Some(&value[..len])
    }

    /// How `entry` (`NAME=VALUE` for `key`'s name, its NUL after it) stands
    /// to what the process started with: one lookup, and for the common case
    /// (as inherited) one comparison of the whole entry.
    #[inline(always)]
    pub fn compare(&self, key: Key<'_>, entry: &[u8]) -> Compared {
        if !self.once.ensure(|| self.build_index()) {
            return match self.get(key) {
                Some(value) if Some(value) == entry.get(key.name.len() + 1..) => Compared::Same,
                Some(value) => Compared::Was(value),
                None => Compared::Absent,
            };
        }
        let mask = self.slots.len() - 1;
        let mut slot = key.slot(mask);
        loop {
            let Some(taken) = self.slots.get(slot).map(|s| s.load(Ordering::Relaxed)) else { return Compared::Absent };
            if taken == 0 {
                return Compared::Absent;
            }
            if taken & TAG == tag(key) {
                let at = self.offsets.get(number(taken)).map_or(usize::MAX, |&at| at as usize);
                // The stored entry, with its NUL: equal bytes and a NUL right after.
                if let Some(stored) = self.storage.get(at..at.saturating_add(entry.len() + 1)) {
                    if stored[..entry.len()] == *entry && stored[entry.len()] == 0 {
                        return Compared::Same;
                    }
                }
                // Same tag: the name's own slot (its value changed), or another name's.
                if let Some(value) = self.value_at(number(taken), key.name) {
                    return Compared::Was(value);
                }
            }
            slot = (slot + 1) & mask;
        }
    }

    /// The value `key` had when the process started.
    #[inline(always)]
    pub fn get(&self, key: Key<'_>) -> Option<&'static [u8]> {
        if !self.once.ensure(|| self.build_index()) {
            // The index is being built elsewhere and did not finish: search.
            return (0..self.len()).find_map(|i| self.value_at(i, key.name));
        }
        let mask = self.slots.len() - 1;
        let mut slot = key.slot(mask);
        loop {
            let taken = self.slots.get(slot)?.load(Ordering::Relaxed);
            if taken == 0 {
                return None;
            }
            if taken & TAG == tag(key) {
                if let Some(value) = self.value_at(number(taken), key.name) {
                    return Some(value);
                }
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Builds the index over names now, if nobody has.
    pub fn ensure_index(&self) {
        let _ = self.once.ensure(|| self.build_index());
    }

    /// In a fork child: see [`Once::reset_after_fork`].
    pub fn reset_after_fork(&self) {
        self.once.reset_after_fork();
    }
}
