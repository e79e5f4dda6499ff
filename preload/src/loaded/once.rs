//! Work done once, by whichever caller needs it first, in memory reserved at
//! load: the indexes over the inherited environment and snapshot.
//!
//! The first caller may be a `vfork` child sharing our memory, a thread of
//! a multithreaded program, or a signal handler, so the claim is one
//! compare-and-swap (no lock, nothing allocated) and a caller that finds the
//! work under way elsewhere does not wait: it is told to do without (the
//! callers then search linearly). The memory is the parent's in a `vfork`
//! child, so what the child builds serves the parent too.

use core::sync::atomic::{AtomicU32, Ordering};

use crate::syscall;

/// Not built yet.
const NOT_BUILT: u32 = 0;
/// Built and published.
const BUILT: u32 = u32::MAX;
// Any other value: the id of the thread (or vfork child) building it.

/// How many times a caller yields to a build under way elsewhere before it
/// does without (a build takes well under a millisecond; a builder that is
/// stopped, by a debugger or SIGSTOP, must not stop everyone else).
const WAIT: u32 = 1000;

pub struct Once {
    state: AtomicU32,
}

impl Once {
    pub const fn new() -> Once {
        Once { state: AtomicU32::new(NOT_BUILT) }
    }

    /// Whether the work is done: runs `build` first if nobody has, or if
    /// whoever claimed it died before finishing (a `vfork` child killed in
    /// the middle). When another thread is at it, waits for it a little
    /// (yielding); false if it has not finished by then, or if the build
    /// under way is this thread's own (a signal handler that interrupted it).
    #[inline(always)]
    pub fn ensure(&self, build: impl FnOnce()) -> bool {
        // The common case, inline: built, no system call.
        self.state.load(Ordering::Acquire) == BUILT || self.claim_and_build(build)
    }

    fn claim_and_build(&self, build: impl FnOnce()) -> bool {
        let tid = syscall::gettid() as u32;
        let mut build = Some(build);
        for _ in 0..WAIT {
            let claimed = match self.state.load(Ordering::Acquire) {
                BUILT => return true,
                owner if owner == tid => return false,
                NOT_BUILT => self.state.compare_exchange(NOT_BUILT, tid, Ordering::AcqRel, Ordering::Acquire).is_ok(),
                // A dead builder's partial work is redone from the start (`build` writes every
                // slot it uses).
                owner => {
                    !crate::lock::exists(owner)
                        && self.state.compare_exchange(owner, tid, Ordering::AcqRel, Ordering::Acquire).is_ok()
                }
            };
            if claimed {
                if let Some(build) = build.take() {
                    build();
                }
                self.state.store(BUILT, Ordering::Release);
                return true;
            }
            syscall::yield_now();
        }
        false
    }

    /// In a `fork` child: a build that another thread of the parent had under
    /// way will never finish here; it starts again at the next need.
    pub fn reset_after_fork(&self) {
        if self.state.load(Ordering::Relaxed) != BUILT {
            self.state.store(NOT_BUILT, Ordering::Release);
        }
    }
}
