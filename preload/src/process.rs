//! Facts about the process the library runs in: whether a hook runs in a
//! child that shares our memory (a `vfork` child), and whether the process
//! still has the credentials it started with.

use core::sync::atomic::{AtomicI32, Ordering};

use envtrack_model::Credentials;

/// The pid of the process whose memory this is: set by the constructor and,
/// in a `fork` child, by the `pthread_atfork` child handler.
static PID: AtomicI32 = AtomicI32::new(0);

/// Notes this process's pid (the constructor, and a fork child).
pub fn note_pid() {
    PID.store(crate::syscall::getpid(), Ordering::Release);
}

/// Whether the caller is a child that shares this process's memory: a
/// `vfork` child (Python's subprocess, C `vfork` + `execve`), whose pid
/// differs from the one that owns the memory. What such a child maps or
/// leaves held stays with the parent after its exec.
///
/// A child made by a raw `clone` or `_Fork` (no atfork handlers) looks the
/// same; treating it as sharing only costs it a pool slot.
pub fn shares_parent_memory() -> bool {
    crate::syscall::getpid() != PID.load(Ordering::Acquire)
}

/// The credentials this process started with (the kernel's auxiliary vector).
pub fn credentials_at_start() -> Credentials {
    // SAFETY: getauxval has no preconditions; it reads the auxiliary vector.
    let id = |kind| unsafe { libc::getauxval(kind) } as u32;
    Credentials { ruid: id(libc::AT_UID), euid: id(libc::AT_EUID), rgid: id(libc::AT_GID), egid: id(libc::AT_EGID) }
}

/// The credentials this process has now.
pub fn credentials_now() -> Credentials {
    let [ruid, euid, _, rgid, egid, _] = crate::syscall::credentials();
    Credentials { ruid, euid, rgid, egid }
}
