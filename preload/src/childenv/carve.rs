//! Carving one build's arena into typed regions, and the per-build work
//! areas carved from it: which tracked entries the build has written, and
//! the value each directed variable starts from.

use core::marker::PhantomData;
use core::mem::{align_of, size_of};

/// A bump allocator over memory the caller owns for `'m`.
pub struct Carve<'m> {
    at: *mut u8,
    left: usize,
    memory: PhantomData<&'m mut [u8]>,
}

/// The arena was too small; the build needs about this many bytes more.
#[derive(Clone, Copy, Debug)]
pub struct Short(pub usize);

impl<'m> Carve<'m> {
    /// # Safety
    /// `at` must be `len` writable bytes that nothing else uses for `'m`.
    pub unsafe fn new(at: *mut u8, len: usize) -> Carve<'m> {
        Carve { at, left: len, memory: PhantomData }
    }

    /// Bytes left.
    pub fn left(&self) -> usize {
        self.left
    }

    /// Room for `count` values of `T`, aligned, handed out once (the bump
    /// pointer moves past it); not yet written.
    fn reserve<T>(&mut self, count: usize) -> Result<(*mut T, usize), Short> {
        let pad = self.at.align_offset(align_of::<T>());
        let bytes = count.checked_mul(size_of::<T>()).ok_or(Short(usize::MAX / 2))?;
        let total = pad.checked_add(bytes).ok_or(Short(usize::MAX / 2))?;
        if total > self.left {
            return Err(Short(total - self.left));
        }
        // SAFETY: pad + bytes <= left, so the region is inside our memory and aligned for T.
        let start = unsafe { self.at.add(pad).cast::<T>() };
        // SAFETY: total <= left: still inside (or one past) our memory.
        self.at = unsafe { self.at.add(total) };
        self.left -= total;
        Ok((start, count))
    }

    /// `count` values of `T`, each set to `value`.
    pub fn take<T: Copy>(&mut self, count: usize, value: T) -> Result<&'m mut [T], Short> {
        let (start, count) = self.reserve::<T>(count)?;
        // SAFETY: `reserve` handed out `count` Ts of our memory, aligned; each is written
        // before the slice is made.
        unsafe {
            for i in 0..count {
                start.add(i).write(value);
            }
            Ok(core::slice::from_raw_parts_mut(start, count))
        }
    }
}

/// Types whose all-zero bytes are a valid value (0, false, a null pointer,
/// None of a reference), so a region of them is made with one memset.
///
/// # Safety
/// Implementors must be valid when every byte is zero.
pub unsafe trait ZeroIsValid: Copy {}
// SAFETY: zero is 0 for u8, false for bool, null for a raw pointer, and None for an
// optional reference (the null-pointer niche).
unsafe impl ZeroIsValid for u8 {}
// SAFETY: as above.
unsafe impl ZeroIsValid for bool {}
// SAFETY: as above.
unsafe impl ZeroIsValid for *const core::ffi::c_char {}
// SAFETY: as above.
unsafe impl ZeroIsValid for Option<&[u8]> {}

impl<'m> Carve<'m> {
    /// `count` bytes as they are: the arena's memory is always initialised
    /// (the caller's stack array, or a mapping: zeroed, or written by an
    /// earlier build), and every use of these bytes writes before it reads.
    /// Not clearing them leaves the pages of a generous bound untouched.
    pub fn take_bytes(&mut self, count: usize) -> Result<&'m mut [u8], Short> {
        let (start, count) = self.reserve::<u8>(count)?;
        // SAFETY: `reserve` handed out `count` bytes of our memory, all initialised (above).
        Ok(unsafe { core::slice::from_raw_parts_mut(start, count) })
    }

    /// `count` values of `T` as the memory holds them: for regions every use
    /// writes before it reads (see [`Carve::take_bytes`]; any bytes are a
    /// valid value of a [`ZeroIsValid`] type, which holds no references).
    pub fn take_unwritten<T: ZeroIsValid + Plain>(&mut self, count: usize) -> Result<&'m mut [T], Short> {
        let (start, count) = self.reserve::<T>(count)?;
        // SAFETY: `reserve` handed out `count` Ts of our memory, aligned and initialised
        // (take_bytes); every bit pattern is a valid T (Plain).
        Ok(unsafe { core::slice::from_raw_parts_mut(start, count) })
    }

    /// `count` values of `T`, each zero (see [`ZeroIsValid`]).
    pub fn take_zeroed<T: ZeroIsValid>(&mut self, count: usize) -> Result<&'m mut [T], Short> {
        let (start, count) = self.reserve::<T>(count)?;
        // SAFETY: `reserve` handed out `count` Ts of our memory, aligned; all-zero bytes are a
        // valid T.
        unsafe {
            core::ptr::write_bytes(start, 0, count);
            Ok(core::slice::from_raw_parts_mut(start, count))
        }
    }
}

/// Types of which every bit pattern is a valid value: raw pointers.
///
/// # Safety
/// Implementors must be valid for any bytes.
pub unsafe trait Plain {}
// SAFETY: any bits are a raw pointer (never dereferenced before it is written).
unsafe impl Plain for *const core::ffi::c_char {}

/// A bit per tracked-table entry that existed when the build began: which of
/// them this build has written. Entries tracked after that (another thread's
/// setenv during the build) are [`Mark::New`]: the build treats them as the
/// untracked names they were when it began, so an entry the caller passes
/// explicitly is never dropped as a "duplicate".
pub struct Bitmap<'m> {
    bits: &'m mut [u8],
    capacity: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// First time this build writes the entry.
    First,
    /// Already written: a duplicate.
    Again,
    /// Tracked only since the build began.
    New,
}

impl<'m> Bitmap<'m> {
    pub fn carve(carve: &mut Carve<'m>, capacity: usize) -> Result<Bitmap<'m>, Short> {
        Ok(Bitmap { bits: carve.take_zeroed(capacity.div_ceil(8))?, capacity })
    }

    pub fn clear(&mut self) {
        self.bits.fill(0);
    }

    pub fn mark(&mut self, index: usize) -> Mark {
        if index >= self.capacity {
            return Mark::New;
        }
        let Some(byte) = self.bits.get_mut(index / 8) else { return Mark::New };
        let bit = 1 << (index % 8);
        let was = *byte & bit != 0;
        *byte |= bit;
        if was {
            Mark::Again
        } else {
            Mark::First
        }
    }

    pub fn is_marked(&self, index: usize) -> bool {
        self.bits.get(index / 8).is_some_and(|byte| byte & (1 << (index % 8)) != 0)
    }
}

/// Per directed variable (LD_PRELOAD and each job-level directive's name):
/// the value it starts from, and whether the build has written it.
pub struct Targets<'m> {
    pub chosen: &'m mut [Option<&'m [u8]>],
    pub written: &'m mut [bool],
}

impl<'m> Targets<'m> {
    pub fn carve(carve: &mut Carve<'m>, count: usize) -> Result<Targets<'m>, Short> {
        Ok(Targets { chosen: carve.take_zeroed(count)?, written: carve.take_zeroed(count)? })
    }

    pub fn clear(&mut self) {
        self.chosen.fill(None);
        self.written.fill(false);
    }
}
