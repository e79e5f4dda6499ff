//! The tracked table: every variable this process changed (and the carried
//! values it inherited), readable from the exec path without locks or
//! allocation. The changes it inherited are read in place instead (see
//! [`crate::loaded`]); [`crate::tracked`] shows the two as one set.
//!
//! Entries are only ever added, never removed or moved, and live in chunks
//! that are never freed, so a reader (another thread, or a `vfork` child
//! sharing our memory) can never see freed memory. Memory is bounded by the
//! number of distinct names ever tracked. An entry's only mutable part, its
//! current change, is one atomic word.
//!
//! Writers (the setenv-family hooks) serialise on the environment lock
//! ([`crate::lock`]); readers take none.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use envtrack_model::{Change, Growth};

use crate::sys::Key;

/// An entry: a tracked name. `name` and `inherited` are written before the
/// entry is published and never change.
pub struct Entry {
    pub name: &'static [u8],
    /// The change the process inherited for this name (from its snapshot).
    pub inherited: Option<Change>,
    /// The inherited record this entry holds the current change of (see
    /// [`crate::tracked`]), if the name has one.
    pub record: Option<u32>,
    /// The current change, relative to the original base (see `encode_change`).
    change: AtomicU64,
}

const KIND_NONE: u64 = 0;
const KIND_SET: u64 = 1;
const KIND_UNSET: u64 = 2;
const KIND_LIST: u64 = 3;
const COUNT_BITS: u32 = 27;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;

pub fn encode_change(change: Option<Change>) -> u64 {
    match change {
        None => KIND_NONE,
        Some(Change::Set) => KIND_SET,
        Some(Change::Unset) => KIND_UNSET,
        Some(Change::List { sep, growth }) => {
            let prepended = (growth.prepended as u64).min(COUNT_MASK);
            let appended = (growth.appended as u64).min(COUNT_MASK);
            KIND_LIST | u64::from(sep) << 2 | prepended << 10 | appended << (10 + COUNT_BITS)
        }
    }
}

pub fn decode_change(bits: u64) -> Option<Change> {
    match bits & 3 {
        KIND_SET => Some(Change::Set),
        KIND_UNSET => Some(Change::Unset),
        KIND_LIST => Some(Change::List {
            sep: (bits >> 2) as u8,
            growth: Growth {
                prepended: ((bits >> 10) & COUNT_MASK) as usize,
                appended: ((bits >> (10 + COUNT_BITS)) & COUNT_MASK) as usize,
            },
        }),
        _ => None,
    }
}

impl Entry {
    /// The current change (None: the variable is back at its base).
    pub fn change(&self) -> Option<Change> {
        decode_change(self.change.load(Ordering::Acquire))
    }
}

const FIRST_CHUNK: usize = 64;
const CHUNKS: usize = 26;

/// Chunk k holds FIRST_CHUNK << k entries; chunks are never freed or moved.
static CHUNK: [AtomicPtr<Entry>; CHUNKS] = [const { AtomicPtr::new(core::ptr::null_mut()) }; CHUNKS];
/// Entries published so far.
static COUNT: AtomicUsize = AtomicUsize::new(0);
/// The name index (open addressing; slot = entry index + 1). Replaced, never
/// freed, when it grows.
static INDEX: AtomicPtr<Index> = AtomicPtr::new(core::ptr::null_mut());

struct Index {
    mask: usize,
    slots: Box<[AtomicU32]>,
}

fn locate(index: usize) -> (usize, usize) {
    // Chunk k starts at FIRST_CHUNK * (2^k - 1).
    let scaled = index / FIRST_CHUNK + 1;
    let chunk = (usize::BITS - 1 - scaled.leading_zeros()) as usize;
    (chunk, index - FIRST_CHUNK * ((1 << chunk) - 1))
}

/// Entry number `index` (< `len()`).
pub fn entry(index: usize) -> &'static Entry {
    let (chunk, offset) = locate(index);
    // SAFETY: index < COUNT, so its chunk was allocated and the entry initialised before
    // COUNT was raised past it (release/acquire); chunks are never freed.
    unsafe { &*CHUNK[chunk].load(Ordering::Acquire).add(offset) }
}

/// How many entries are published.
pub fn len() -> usize {
    COUNT.load(Ordering::Acquire)
}

/// The entry for `key`'s name and its number, if this process tracked it.
#[inline]
pub fn find(key: Key<'_>) -> Option<(usize, &'static Entry)> {
    let index = INDEX.load(Ordering::Acquire);
    if index.is_null() {
        return None;
    }
    // SAFETY: indexes are published fully built and never freed.
    let index = unsafe { &*index };
    let count = len();
    let mut slot = key.slot(index.mask);
    loop {
        let value = index.slots[slot].load(Ordering::Acquire) as usize;
        if value == 0 {
            return None;
        }
        if value - 1 < count {
            let candidate = entry(value - 1);
            if candidate.name == key.name {
                return Some((value - 1, candidate));
            }
        }
        slot = (slot + 1) & index.mask;
    }
}

fn insert_into(index: &Index, key: Key<'_>, entry_number: usize) {
    let mut slot = key.slot(index.mask);
    while index.slots[slot].load(Ordering::Relaxed) != 0 {
        slot = (slot + 1) & index.mask;
    }
    index.slots[slot].store(entry_number as u32 + 1, Ordering::Release);
}

fn new_index(capacity: usize) -> &'static Index {
    let slots: Vec<AtomicU32> = (0..capacity).map(|_| AtomicU32::new(0)).collect();
    Box::leak(Box::new(Index { mask: capacity - 1, slots: slots.into_boxed_slice() }))
}

/// What an entry starts with.
pub struct New {
    pub inherited: Option<Change>,
    pub record: Option<u32>,
}

/// Sets the change of `key`'s name, adding an entry if it has none and there
/// is a change to keep (or an inherited one). Returns the entry's number.
/// Callers hold the writer lock.
pub fn update(_guard: &crate::lock::Guard, key: Key<'_>, new: New, change: Option<Change>) -> Option<usize> {
    if let Some((number, entry)) = find(key) {
        entry.change.store(encode_change(change), Ordering::Release);
        return Some(number);
    }
    if change.is_none() && new.inherited.is_none() {
        return None;
    }
    let number = COUNT.load(Ordering::Relaxed);
    let (chunk, offset) = locate(number);
    if chunk >= CHUNKS {
        return None;
    }
    if CHUNK[chunk].load(Ordering::Relaxed).is_null() {
        let capacity = FIRST_CHUNK << chunk;
        let mut storage: Vec<Entry> = Vec::with_capacity(capacity);
        // Only the first `offset` (= 0) entries are read; the rest is filled below as entries arrive.
        storage.resize_with(capacity, || Entry { name: &[], inherited: None, record: None, change: AtomicU64::new(0) });
        CHUNK[chunk].store(Box::leak(storage.into_boxed_slice()).as_mut_ptr(), Ordering::Release);
    }
    let name: &'static [u8] = Box::leak(key.name.to_vec().into_boxed_slice());
    // SAFETY: the slot is past COUNT, so no reader looks at it until COUNT is raised below,
    // and we hold the writer lock, so no other writer touches it.
    let slot = unsafe { &mut *CHUNK[chunk].load(Ordering::Relaxed).add(offset) };
    slot.name = name;
    slot.inherited = new.inherited;
    slot.record = new.record;
    slot.change.store(encode_change(change), Ordering::Relaxed);
    let index_ptr = INDEX.load(Ordering::Relaxed);
    // SAFETY: indexes are never freed.
    let needs_growth = index_ptr.is_null() || unsafe { (number + 1) * 2 > (*index_ptr).mask + 1 };
    COUNT.store(number + 1, Ordering::Release);
    if needs_growth {
        let capacity = ((number + 1) * 4).next_power_of_two().max(64);
        let index = new_index(capacity);
        for existing in 0..=number {
            insert_into(index, Key::new(entry(existing).name), existing);
        }
        INDEX.store(index as *const Index as *mut Index, Ordering::Release);
    } else {
        // SAFETY: checked non-null above (needs_growth is false).
        insert_into(unsafe { &*index_ptr }, key, number);
    }
    Some(number)
}
