//! A copy of the environment the process started with, and an index over
//! its names: programs may overwrite the original strings (setproctitle) or
//! drop them, and the tracked changes are relative to these values.

use envtrack_model::apply::split_entry;

use crate::sys::{self, CStrArray};
use core::ffi::c_char;

/// The environment this process started with: copied, because programs may
/// overwrite the original strings (setproctitle) or drop them. The copy and
/// its index live in one anonymous mapping, so loading allocates nothing
/// from the heap when nothing is tracked.
pub struct Inherited {
    /// The entries, each NUL-terminated, back to back.
    storage: &'static [u8],
    /// Open addressing over names: slot = offset of the entry in `storage` + 1.
    index: &'static [u32],
}

impl Inherited {
    /// Copies `envp`, calling `each` with every copied entry.
    pub(super) fn copy(envp: *const *const c_char, mut each: impl FnMut(&'static [u8])) -> Option<Inherited> {
        // One pass: copy into a mapping sized for common environments, and
        // start again in a larger one if the environment does not fit.
        let mut capacity = 64 * 1024;
        loop {
            if let Some(copy) = Self::copy_into(envp, capacity, &mut each)? {
                return Some(copy);
            }
            capacity *= 4;
        }
    }

    /// `None` when the mapping could not be made; `Some(None)` when
    /// `capacity` was too small (nothing was reported to `each`).
    fn copy_into(
        envp: *const *const c_char,
        capacity: usize,
        each: &mut impl FnMut(&'static [u8]),
    ) -> Option<Option<Inherited>> {
        let mapping = sys::map(capacity)?;
        // SAFETY: a fresh mapping of `capacity` zeroed bytes, ours alone, never unmapped
        // once the copy is published (readers may hold slices).
        let all = unsafe { core::slice::from_raw_parts_mut(mapping, capacity) };
        let mut used = 0;
        let mut count: usize = 0;
        // SAFETY: environ at load time is a valid NULL-terminated array.
        for entry in unsafe { CStrArray::new(envp) } {
            let Some(target) = all.get_mut(used..used + entry.len() + 1) else {
                sys::unmap(mapping, capacity);
                return Some(None);
            };
            target[..entry.len()].copy_from_slice(entry);
            used += entry.len() + 1;
            count += 1;
        }
        let storage_len = used.div_ceil(4) * 4;
        let slots = (count * 2).next_power_of_two().max(16);
        if storage_len + slots * 4 > capacity {
            sys::unmap(mapping, capacity);
            return Some(None);
        }
        let (storage, rest) = all.split_at_mut(storage_len);
        // SAFETY: `rest` starts at a multiple of 4 from a page-aligned mapping and holds
        // at least `slots` u32s (checked above).
        let index = unsafe { core::slice::from_raw_parts_mut(rest.as_mut_ptr().cast::<u32>(), slots) };
        let storage: &'static [u8] = storage;
        let mut offset = 0;
        while offset < used {
            let entry = Self::entry_at(storage, offset as u32 + 1);
            let at = offset;
            offset += entry.len() + 1;
            each(entry);
            let Some((name, _)) = split_entry(entry) else { continue };
            let mut slot = sys::hash(name) as usize & (slots - 1);
            loop {
                match index[slot] {
                    0 => {
                        index[slot] = at as u32 + 1;
                        break;
                    }
                    // getenv sees the first of duplicates: keep it.
                    taken if envtrack_model::apply::entry_value(Self::entry_at(storage, taken), name).is_some() => {
                        break
                    }
                    _ => slot = (slot + 1) & (slots - 1),
                }
            }
        }
        Some(Some(Inherited { storage, index }))
    }

    fn entry_at(storage: &[u8], slot_value: u32) -> &[u8] {
        let rest = storage.get(slot_value as usize - 1..).unwrap_or_default();
        &rest[..rest.iter().position(|&b| b == 0).unwrap_or(rest.len())]
    }

    /// The `NAME=VALUE` entry for `name` when the process started, and
    /// whether a NUL follows it in the copy (always).
    fn entry(&self, name: &[u8]) -> Option<&'static [u8]> {
        let mask = self.index.len() - 1;
        let mut slot = sys::hash(name) as usize & mask;
        loop {
            let value = *self.index.get(slot)?;
            if value == 0 {
                return None;
            }
            let entry = Self::entry_at(self.storage, value);
            if envtrack_model::apply::entry_value(entry, name).is_some() {
                return Some(entry);
            }
            slot = (slot + 1) & mask;
        }
    }

    /// The value `name` had when the process started.
    pub fn get(&self, name: &[u8]) -> Option<&'static [u8]> {
        self.entry(name).and_then(|entry| envtrack_model::apply::entry_value(entry, name))
    }

    /// Every inherited entry.
    pub fn entries(&self) -> impl Iterator<Item = &'static [u8]> + '_ {
        self.storage.split(|&b| b == 0).filter(|e| !e.is_empty())
    }

    pub fn names(&self) -> impl Iterator<Item = &'static [u8]> + '_ {
        self.entries().filter_map(|e| split_entry(e).map(|(name, _)| name))
    }
}
