//! The tracked changes this process inherited: its snapshot's `S`, `U` and
//! `L` records, read in place.
//!
//! Writers put them last (see [`super::state`]), so loading never reads
//! them. At the first need — the first exec, spawn or change of the
//! environment — one pass over them ([`Once`]) fills, in memory reserved at
//! load, each record's name and change and an index over the names. A
//! process that needs nothing pays nothing per inherited change.
//!
//! Record numbers are the order in the snapshot. A name recorded twice (no
//! envtrack writes that) keeps its last record, as decoding into a table did.

use core::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

use envtrack_model::codec::{Reader, Record};
use envtrack_model::Change;

use super::once::Once;
use super::reserve::Reserve;
use crate::sys::{self, Key};
use crate::table::{decode_change, encode_change};

/// The shortest record (`S1:A`): a snapshot of `n` bytes holds at most n / 4.
const SHORTEST: usize = 4;
/// A record's change when a later record of the same name replaced it.
const REPLACED: u64 = u64::MAX;

pub struct Records {
    state: &'static [u8],
    /// Where the tracked records begin.
    start: usize,
    once: Once,
    /// Filled by the build:
    count: AtomicUsize,
    name_at: &'static [AtomicU32],
    name_len: &'static [AtomicU32],
    change: &'static [AtomicU64],
    /// Open addressing over names: record number + 1. The first `mask + 1` are used.
    slots: &'static [AtomicU32],
    mask: AtomicUsize,
    /// Table entry + 1 once this process changed the record's variable
    /// (written under the environment lock, by [`crate::tracked`]).
    shadow: &'static [AtomicU32],
}

/// Bytes to reserve for the records of a snapshot of at most `bytes` bytes.
pub fn reservation(bytes: usize) -> usize {
    let most = bytes / SHORTEST + 1;
    most * (4 + 4 + 8 + 4) + slot_count(most) * 4 + 64
}

fn slot_count(records: usize) -> usize {
    (records * 2).next_power_of_two().max(16)
}

/// One inherited tracked change.
#[derive(Clone, Copy)]
pub struct Inherited {
    pub number: usize,
    pub name: &'static [u8],
    pub change: Change,
}

impl Records {
    /// No inherited changes.
    pub const fn none() -> Records {
        Records {
            state: &[],
            start: 0,
            once: Once::new(),
            count: AtomicUsize::new(0),
            name_at: &[],
            name_len: &[],
            change: &[],
            slots: &[],
            mask: AtomicUsize::new(0),
            shadow: &[],
        }
    }

    /// The records of `state` from byte `start`, with room taken from `reserve`.
    pub fn new(state: &'static [u8], start: usize, reserve: &mut Reserve) -> Records {
        let most = state.len().saturating_sub(start) / SHORTEST + 1;
        Records {
            state,
            start,
            once: Once::new(),
            count: AtomicUsize::new(0),
            name_at: reserve.take_atomic_u32(most),
            name_len: reserve.take_atomic_u32(most),
            change: reserve.take_atomic_u64(most),
            slots: reserve.take_atomic_u32(slot_count(most)),
            mask: AtomicUsize::new(0),
            shadow: reserve.take_atomic_u32(most),
        }
    }

    /// Reads every record once: names, changes and the index.
    fn build(&self) {
        let mut reader = Reader::resume(self.state, self.start);
        let mut count = 0;
        loop {
            let at = reader.position();
            let Some(record) = reader.next() else { break };
            match record {
                Ok(Record::Tracked { name, change }) => {
                    let (Some(name_at), Some(name_len), Some(bits)) =
                        (self.name_at.get(count), self.name_len.get(count), self.change.get(count))
                    else {
                        break;
                    };
                    let offset = name.as_ptr() as usize - self.state.as_ptr() as usize;
                    name_at.store(offset as u32, Ordering::Relaxed);
                    name_len.store(name.len() as u32, Ordering::Relaxed);
                    bits.store(encode_change(Some(change)), Ordering::Relaxed);
                    count += 1;
                }
                Ok(_) => {
                    let at = envtrack_model::Decimal::new(at as u64);
                    sys::warn(&[
                        b"ENVTRACK_STATE: a directive, carried value or owner after the tracked changes (byte ",
                        at.as_bytes(),
                        b") is ignored; envtrack writes them first",
                    ]);
                }
                Err(error) => {
                    super::state::warn_codec(&error, b"; the rest is ignored");
                    break;
                }
            }
        }
        let mask = slot_count(count).min(self.slots.len()) - 1;
        for slot in self.slots.iter().take(mask + 1) {
            slot.store(0, Ordering::Relaxed);
        }
        for number in 0..count {
            let name = self.name(number);
            let mut slot = Key::new(name).slot(mask);
            loop {
                let taken = self.slots[slot].load(Ordering::Relaxed) as usize;
                if taken == 0 {
                    self.slots[slot].store(number as u32 + 1, Ordering::Relaxed);
                    break;
                }
                if self.name(taken - 1) == name {
                    self.change[taken - 1].store(REPLACED, Ordering::Relaxed);
                    self.slots[slot].store(number as u32 + 1, Ordering::Relaxed);
                    break;
                }
                slot = (slot + 1) & mask;
            }
        }
        self.mask.store(mask, Ordering::Relaxed);
        self.count.store(count, Ordering::Relaxed);
    }

    fn name(&self, number: usize) -> &'static [u8] {
        let at = self.name_at.get(number).map_or(0, |a| a.load(Ordering::Relaxed) as usize);
        let len = self.name_len.get(number).map_or(0, |l| l.load(Ordering::Relaxed) as usize);
        self.state.get(at..at + len).unwrap_or_default()
    }

    /// Whether there is nothing to read (no state, or no tracked records in it).
    #[inline]
    fn is_empty(&self) -> bool {
        self.state.len() <= self.start
    }

    /// Whether the index is there to use (built now if nobody has).
    fn ready(&self) -> bool {
        self.once.ensure(|| self.build())
    }

    /// How many records are numbered (replaced ones included).
    pub fn count(&self) -> usize {
        if self.is_empty() {
            0
        } else if self.ready() {
            self.count.load(Ordering::Relaxed)
        } else {
            self.walk().count()
        }
    }

    /// Record `number`, unless a later record of its name replaced it.
    pub fn get(&self, number: usize) -> Option<Inherited> {
        if self.is_empty() {
            return None;
        }
        if !self.ready() {
            return self.walk().nth(number);
        }
        if number >= self.count.load(Ordering::Relaxed) {
            return None;
        }
        let bits = self.change.get(number)?.load(Ordering::Relaxed);
        let change = decode_change(bits).filter(|_| bits != REPLACED)?;
        Some(Inherited { number, name: self.name(number), change })
    }

    /// Every record, in order (replaced ones left out).
    pub fn iter(&self) -> impl Iterator<Item = Inherited> + '_ {
        let ready = !self.is_empty() && self.ready();
        let indexed = ready.then(|| (0..self.count.load(Ordering::Relaxed)).filter_map(|n| self.get(n)));
        let walked = (!ready).then(|| self.walk());
        indexed.into_iter().flatten().chain(walked.into_iter().flatten())
    }

    /// The record of `key`'s name.
    #[inline]
    pub fn find(&self, key: Key<'_>) -> Option<Inherited> {
        if self.is_empty() {
            return None;
        }
        if !self.ready() {
            return self.walk().filter(|r| r.name == key.name).last();
        }
        let mask = self.mask.load(Ordering::Relaxed);
        let mut slot = key.slot(mask);
        loop {
            let number = self.slots.get(slot)?.load(Ordering::Relaxed) as usize;
            if number == 0 {
                return None;
            }
            if self.name(number - 1) == key.name {
                return self.get(number - 1);
            }
            slot = (slot + 1) & mask;
        }
    }

    /// The records read one by one, for when the index is not there (being
    /// built by a thread that does not finish), numbered as the index numbers them.
    fn walk(&self) -> impl Iterator<Item = Inherited> + '_ {
        let mut reader = Reader::resume(self.state, self.start.min(self.state.len()));
        let mut number = 0;
        core::iter::from_fn(move || loop {
            match reader.next()? {
                Ok(Record::Tracked { name, change }) => {
                    number += 1;
                    return Some(Inherited { number: number - 1, name, change });
                }
                Ok(_) => continue,
                Err(_) => return None,
            }
        })
    }

    /// The table entry that holds record `number`'s current change, if this
    /// process changed its variable.
    pub fn shadow(&self, number: usize) -> Option<usize> {
        let value = self.shadow.get(number)?.load(Ordering::Acquire) as usize;
        value.checked_sub(1)
    }

    /// Notes that table entry `entry` now holds record `number`'s change.
    pub fn set_shadow(&self, number: usize, entry: usize) {
        if let Some(slot) = self.shadow.get(number) {
            slot.store(entry as u32 + 1, Ordering::Release);
        }
    }

    /// In a fork child: see [`Once::reset_after_fork`].
    pub fn reset_after_fork(&self) {
        self.once.reset_after_fork();
    }
}
