//! One anonymous mapping made at load and carved into the regions the
//! inherited environment and snapshot need, for the life of the process.
//! Regions are only address space until written: the indexes built later
//! ([`super::once`]) touch their pages only when they are built.

use core::sync::atomic::{AtomicU32, AtomicU64};

use crate::syscall;

pub struct Reserve {
    at: *mut u8,
    left: usize,
    /// The whole mapping, for [`Reserve::release`].
    mapping: (*mut u8, usize),
}

impl Reserve {
    /// A fresh mapping of `len` zeroed bytes.
    pub fn map(len: usize) -> Option<Reserve> {
        let len = len.max(1);
        let at = syscall::map(len)?;
        Some(Reserve { at, left: len, mapping: (at, len) })
    }

    /// Gives the mapping back (nothing taken from it may be used after).
    pub fn release(self) {
        syscall::unmap(self.mapping.0, self.mapping.1);
    }

    /// `count` bytes, 8-aligned, or None when the mapping is used up (callers
    /// size the mapping for everything they take).
    fn take(&mut self, count: usize) -> Option<*mut u8> {
        let pad = self.at.align_offset(8);
        let total = pad.checked_add(count).filter(|&total| total <= self.left)?;
        // SAFETY: pad + count <= left: inside the mapping.
        let start = unsafe { self.at.add(pad) };
        // SAFETY: as above; one past the region at most.
        self.at = unsafe { start.add(count) };
        self.left -= total;
        Some(start)
    }

    /// `count` zeroed bytes, 8-aligned (empty when the mapping is used up).
    pub fn take_bytes(&mut self, count: usize) -> &'static mut [u8] {
        match self.take(count) {
            // SAFETY: `count` zeroed bytes of a mapping that is never unmapped once kept,
            // handed out once.
            Some(start) => unsafe { core::slice::from_raw_parts_mut(start, count) },
            None => Default::default(),
        }
    }

    pub fn take_u32(&mut self, count: usize) -> &'static mut [u32] {
        let bytes = self.take_bytes(count * 4);
        // SAFETY: 8-aligned zeroed bytes, a whole number of u32s, handed out once.
        unsafe { core::slice::from_raw_parts_mut(bytes.as_mut_ptr().cast(), bytes.len() / 4) }
    }

    pub fn take_atomic_u32(&mut self, count: usize) -> &'static [AtomicU32] {
        let words = self.take_u32(count);
        // SAFETY: AtomicU32 has u32's layout; zero is a valid value.
        unsafe { core::slice::from_raw_parts(words.as_ptr().cast(), words.len()) }
    }

    pub fn take_atomic_u64(&mut self, count: usize) -> &'static [AtomicU64] {
        let bytes = self.take_bytes(count * 8);
        // SAFETY: 8-aligned zeroed bytes, a whole number of u64s (AtomicU64 has u64's layout on
        // x86-64, and zero is a valid value), handed out once.
        unsafe { core::slice::from_raw_parts(bytes.as_ptr().cast(), bytes.len() / 8) }
    }
}
