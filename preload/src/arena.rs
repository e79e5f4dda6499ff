//! Memory for one child-environment build: the caller's stack buffer when it
//! is enough, else a mapping from a small pool. Whatever an arena takes it
//! gives back, on every path:
//!
//! - when the hook returns (the exec failed, or a spawn is done), [`Drop`]
//!   releases the pool slot;
//! - when an exec succeeds, nothing of ours runs again. In a process of its
//!   own (the program itself, a `fork` child) that is fine: the exec
//!   replaces the whole address space. In a `vfork` child the mapping
//!   belongs to the parent, which goes on running: so the child points its
//!   `clear_child_tid` at the slot's owner word, and the kernel zeroes that
//!   word — releasing the slot — when the child execs or dies (it does so
//!   whenever another process shares the memory). The mapping stays in the
//!   pool for the next build: memory stays bounded by how many builds run
//!   at once, never by how many children were started.
//!
//! Allocation-free and lock-free: slots are claimed with one compare-and-swap.

use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize, Ordering};

use crate::syscall;

/// One pooled mapping. `owner` is the claiming thread's id, 0 when free.
struct Slot {
    owner: AtomicU32,
    mapping: AtomicPtr<u8>,
    len: AtomicUsize,
}

const SLOTS: usize = 256;

static POOL: [Slot; SLOTS] = [const {
    Slot { owner: AtomicU32::new(0), mapping: AtomicPtr::new(core::ptr::null_mut()), len: AtomicUsize::new(0) }
}; SLOTS];

/// A released mapping larger than this is unmapped rather than kept, unless
/// the kernel released it (a vfork child's exec), when only the next claimer
/// can trim it.
const KEEP: usize = 4 << 20;

/// Rounds a mapping's length up, so that slightly larger builds reuse it.
fn rounded(len: usize) -> usize {
    len.max(64 * 1024).next_power_of_two()
}

/// Where an arena's memory is.
enum Backing {
    Stack,
    Slot(&'static Slot),
    /// The pool was exhausted: a mapping of our own, unmapped on drop.
    Own(*mut u8, usize),
}

/// Memory for one build; see the module docs.
pub struct Arena<'s> {
    stack: &'s mut [u8],
    backing: Backing,
    /// Whether the caller is a vfork child (see [`crate::process`]).
    sharing: bool,
    /// The `clear_child_tid` to put back when a slot is released by us.
    saved_tid_address: Option<*mut u32>,
}

impl<'s> Arena<'s> {
    pub fn new(stack: &'s mut [u8]) -> Arena<'s> {
        Arena { stack, backing: Backing::Stack, sharing: false, saved_tid_address: None }
    }

    /// The memory: its start (aligned for pointers) and length.
    pub fn memory(&mut self) -> (*mut u8, usize) {
        match self.backing {
            Backing::Stack => (self.stack.as_mut_ptr(), self.stack.len()),
            Backing::Slot(slot) => (slot.mapping.load(Ordering::Relaxed), slot.len.load(Ordering::Relaxed)),
            Backing::Own(mapping, len) => (mapping, len),
        }
    }

    /// Makes at least `len` bytes available (what was in the arena is lost).
    pub fn reserve(&mut self, len: usize) -> Option<()> {
        if self.memory().1 >= len {
            return Some(());
        }
        if let Backing::Slot(slot) = self.backing {
            return grow(slot, len);
        }
        self.release();
        self.sharing = crate::process::shares_parent_memory();
        let tid = syscall::gettid() as u32;
        // Asked before the claim, so that only one system call separates the claim from the
        // kernel's promise to release it.
        let saved = if self.sharing { Some(syscall::tid_address().unwrap_or(core::ptr::null_mut())) } else { None };
        if saved.is_some_and(|address| !address.is_null()) {
            // A child made by clone(CLONE_VM | CLONE_CHILD_CLEARTID): its parent waits for the
            // kernel to clear that address at exec, so it cannot be lent to a slot. No build.
            return None;
        }
        let Some(slot) = claim(tid) else {
            if self.sharing {
                // A vfork child's own mapping would outlive its exec in the parent: no build.
                return None;
            }
            let mapping = syscall::map(len)?;
            self.backing = Backing::Own(mapping, len);
            return Some(());
        };
        if let Some(saved) = saved {
            // Until we release it, the kernel releases the slot if this vfork child execs or dies.
            syscall::set_tid_address(slot.owner.as_ptr());
            self.saved_tid_address = Some(saved);
        }
        self.backing = Backing::Slot(slot);
        if grow(slot, len).is_none() {
            self.release();
            return None;
        }
        Some(())
    }

    /// Gives back what the arena took (the stack buffer needs nothing).
    fn release(&mut self) {
        match core::mem::replace(&mut self.backing, Backing::Stack) {
            Backing::Stack => {}
            Backing::Own(mapping, len) => syscall::unmap(mapping, len),
            Backing::Slot(slot) => {
                if !self.sharing && slot.len.load(Ordering::Relaxed) > KEEP {
                    syscall::unmap(slot.mapping.load(Ordering::Relaxed), slot.len.load(Ordering::Relaxed));
                    slot.mapping.store(core::ptr::null_mut(), Ordering::Relaxed);
                    slot.len.store(0, Ordering::Relaxed);
                }
                if let Some(saved) = self.saved_tid_address.take() {
                    syscall::set_tid_address(saved);
                }
                slot.owner.store(0, Ordering::Release);
            }
        }
    }
}

/// Claims a free slot; when none is free, one whose owner has vanished (a
/// vfork child killed in the one system call between its claim and the
/// kernel's promise to release it).
fn claim(tid: u32) -> Option<&'static Slot> {
    let free = POOL.iter().find(|s| s.owner.compare_exchange(0, tid, Ordering::AcqRel, Ordering::Relaxed).is_ok());
    free.or_else(|| {
        POOL.iter().find(|s| {
            let owner = s.owner.load(Ordering::Acquire);
            owner != 0
                && !crate::lock::exists(owner)
                && s.owner.compare_exchange(owner, tid, Ordering::AcqRel, Ordering::Relaxed).is_ok()
        })
    })
}

/// Gives `slot` (claimed by us) a mapping of at least `len` bytes.
fn grow(slot: &Slot, len: usize) -> Option<()> {
    let have = slot.len.load(Ordering::Relaxed);
    if have >= len {
        return Some(());
    }
    let old = slot.mapping.load(Ordering::Relaxed);
    if !old.is_null() {
        syscall::unmap(old, have);
    }
    slot.mapping.store(core::ptr::null_mut(), Ordering::Relaxed);
    slot.len.store(0, Ordering::Relaxed);
    let size = rounded(len);
    let mapping = syscall::map(size)?;
    slot.mapping.store(mapping, Ordering::Relaxed);
    slot.len.store(size, Ordering::Relaxed);
    Some(())
}

impl Drop for Arena<'_> {
    fn drop(&mut self) {
        self.release();
    }
}

/// In a `fork` child: slots claimed by the parent's other threads will never
/// be released here (those threads do not exist in the child).
pub fn reset_after_fork() {
    for slot in &POOL {
        slot.owner.store(0, Ordering::Release);
    }
}
