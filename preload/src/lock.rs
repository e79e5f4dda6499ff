//! The environment lock: held by the setenv-family hooks around the real
//! call and the table update, and briefly by the exec path while it copies
//! `environ`'s pointers. glibc's setenv frees the environment arrays it
//! replaces, so reading `environ` while another thread's setenv runs could
//! read freed memory.
//!
//! The lock word holds its holder's thread id. Holders can vanish: a `vfork`
//! child shares this lock with its parent and may be killed while it holds
//! the lock (or while it waits for it). So a writer that has waited long
//! checks whether the holder still exists — one of our threads, or a live
//! process — and takes over the lock of one that does not. The exec path
//! never waits unboundedly (see [`Guard::acquire_within`]).
//!
//! A fork child resets the lock (a `pthread_atfork` handler): its holder was
//! another thread of the parent.

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use crate::syscall;

static LOCK: AtomicU32 = AtomicU32::new(0);

/// The id of a thread whose exec waits for the lock (0: none). Writers stand
/// back while one does: setenv in a loop on other threads would otherwise
/// take the lock again and again and starve the exec (the lock is not fair).
/// A waiter that vanished is detected like a vanished holder.
static EXEC_WAITING: AtomicU32 = AtomicU32::new(0);

/// How many times a writer yields between checks that a holder still exists.
const CHECK_EVERY: u32 = 4096;

/// Holds the lock; released on drop (unless it was already this thread's:
/// see [`Guard::acquire`]).
pub struct Guard {
    release: bool,
}

fn try_take(tid: u32) -> bool {
    LOCK.compare_exchange_weak(0, tid, Ordering::Acquire, Ordering::Relaxed).is_ok()
}

impl Guard {
    /// The lock, for a writer: waits as long as the holder exists. A holder
    /// that is this very thread means a signal handler interrupted this
    /// thread while it held the lock (in an exec's copy of `environ`, or
    /// between fork's prepare and parent handlers): waiting would never end,
    /// so the handler goes on under the lock its thread already holds.
    pub fn acquire() -> Guard {
        let tid = syscall::gettid() as u32;
        let mut spins: u32 = 0;
        loop {
            let waiting = EXEC_WAITING.load(Ordering::Acquire);
            let holder = LOCK.load(Ordering::Relaxed);
            if holder == tid {
                return Guard { release: false };
            }
            if waiting == 0 && holder == 0 && try_take(tid) {
                return Guard { release: true };
            }
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(CHECK_EVERY) {
                if waiting != 0 && !exists(waiting) {
                    let _ = EXEC_WAITING.compare_exchange(waiting, 0, Ordering::AcqRel, Ordering::Relaxed);
                }
                if holder != 0 && !exists(holder) {
                    let _ = LOCK.compare_exchange(holder, 0, Ordering::AcqRel, Ordering::Relaxed);
                }
            }
            syscall::yield_now();
        }
    }

    /// The lock, waiting for its holder at most `tries` times. The exec path
    /// uses this: its holders are setenv calls that finish quickly, and a
    /// holder that never will (a thread a raw `clone` left behind) must not
    /// hang an exec.
    pub fn acquire_within(tries: u32) -> Option<Guard> {
        let tid = syscall::gettid() as u32;
        if LOCK.load(Ordering::Relaxed) == tid {
            return None; // this thread holds it, interrupted by the signal handler we run in
        }
        EXEC_WAITING.store(tid, Ordering::Release);
        let mut guard = None;
        for _ in 0..tries {
            if try_take(tid) {
                guard = Some(Guard { release: true });
                break;
            }
            syscall::yield_now();
        }
        let _ = EXEC_WAITING.compare_exchange(tid, 0, Ordering::AcqRel, Ordering::Relaxed);
        guard
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.release {
            LOCK.store(0, Ordering::Release);
        }
    }
}

/// Whether thread or process `tid` still exists and is not a zombie: one of
/// our threads, or a vfork child (whose id is its pid) that is still running.
pub fn exists(tid: u32) -> bool {
    if syscall::is_own_thread(tid as i32) {
        return true;
    }
    // /proc/PID/stat: "PID (COMM) STATE …"; the name may hold anything, so
    // the state is the byte after the last ')'.
    let mut path = [0u8; 32];
    let mut sink = envtrack_model::SliceSink::new(&mut path);
    let written = envtrack_model::Sink::put(&mut sink, b"/proc/")
        .and_then(|()| envtrack_model::Sink::put_decimal(&mut sink, tid as usize))
        .and_then(|()| envtrack_model::Sink::put(&mut sink, b"/stat\0"));
    if written.is_err() {
        return true;
    }
    let Ok(fd) = syscall::open(path.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC, 0) else {
        return false; // gone (and reaped)
    };
    let mut stat = [0u8; 512];
    let read = syscall::read(fd, &mut stat);
    syscall::close(fd);
    let Ok(len) = read else { return true };
    let text = stat.get(..len).unwrap_or_default();
    let state = text.iter().rposition(|&b| b == b')').and_then(|at| text.get(at + 2)).copied();
    !matches!(state, Some(b'Z' | b'X' | b'x'))
}

/// Whether `hold_for_fork` took the lock (and the parent must release it).
static HELD_FOR_FORK: AtomicBool = AtomicBool::new(false);

/// Takes the lock before a fork (waiting a bounded time: a fork from a signal
/// handler that interrupted this thread's own setenv must not hang).
pub fn hold_for_fork() {
    if let Some(guard) = Guard::acquire_within(1_000_000) {
        core::mem::forget(guard);
        HELD_FOR_FORK.store(true, Ordering::Release);
    }
}

/// In the parent after a fork: releases what `hold_for_fork` took.
pub fn release_after_fork() {
    if HELD_FOR_FORK.swap(false, Ordering::AcqRel) {
        LOCK.store(0, Ordering::Release);
    }
}

/// In a fork child: the lock's holder (if any) was this thread before the
/// fork, or another thread of the parent.
pub fn reset_after_fork() {
    HELD_FOR_FORK.store(false, Ordering::Release);
    EXEC_WAITING.store(0, Ordering::Release);
    LOCK.store(0, Ordering::Release);
}
